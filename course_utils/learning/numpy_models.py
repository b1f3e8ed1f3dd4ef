"""Chapter 03's models in numpy, built from the hand-written layers in
:mod:`course_utils.learning.layers`: linear and logistic regression by gradient descent, and a
one-hidden-layer MLP (the XOR solver).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..validate import as_float_array, check_choice, check_int, check_positive
from . import layers


def _check_xy(x, y, y_ndim: int = 1) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_array(x, "x", ndim=2)
    y = as_float_array(y, "y", ndim=y_ndim)
    if len(y) != len(x):
        raise ValueError(f"x and y must have the same number of rows, got {len(x)} and {len(y)}")
    return x, y


# ---- regression and classification by gradient descent (numpy) ---------------------------
@dataclass
class LinearModel:
    """score = x @ w + b; w: (D,), b: float; ``losses`` holds the loss before every step."""
    w: np.ndarray
    b: float
    losses: list[float] = field(default_factory=list)

    def scores(self, x) -> np.ndarray:
        """x: (N, D) -> (N,) raw scores (regression output, or logits)."""
        x = as_float_array(x, "x", ndim=2)
        if x.shape[1] != len(self.w):
            raise ValueError(f"x must have {len(self.w)} columns, got {x.shape}")
        return x @ self.w + self.b


def _gradient_descent(x, y, loss_fn, lr: float, steps: int) -> LinearModel:
    """Full-batch gradient descent on a linear model; loss_fn(scores, y) -> (loss, dscores)."""
    lr, steps = check_positive(lr, "lr"), check_int(steps, "steps", 1)
    w, b = np.zeros((1, x.shape[1])), np.zeros(1)
    losses = []
    for _ in range(steps):
        scores, cache = layers.linear_forward(x, w, b)        # (N, 1)
        loss, dscores = loss_fn(scores[:, 0], y)
        _, dw, db = layers.linear_backward(dscores[:, None], cache)
        w -= lr * dw
        b -= lr * db
        losses.append(loss)
    return LinearModel(w[0].copy(), float(b[0]), losses)


def fit_linear_regression(x, y, lr: float = 0.1, steps: int = 200) -> LinearModel:
    """Least squares by gradient descent on the mean squared error. x: (N, D), y: (N,)."""
    x, y = _check_xy(x, y)
    return _gradient_descent(x, y, layers.mse_loss, lr, steps)


def fit_logistic_regression(x, y, lr: float = 0.5, steps: int = 500) -> LinearModel:
    """Logistic regression (sigmoid + binary cross-entropy) by gradient descent.

    x: (N, D), y: (N,) labels in {0, 1}; predict class 1 where ``model.scores(x) > 0``.
    """
    x, y = _check_xy(x, y)
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold binary labels 0 and 1")
    return _gradient_descent(x, y, layers.binary_cross_entropy_with_logits, lr, steps)


# ---- a one-hidden-layer MLP from the hand-written layers (numpy) -------------------------
@dataclass
class MLP:
    """x -> linear(w1, b1) -> activation -> linear(w2, b2) -> class scores.

    w1: (H, D), b1: (H,), w2: (K, H), b2: (K,); ``losses`` per training step.
    """
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    activation: str = "relu"
    losses: list[float] = field(default_factory=list)

    def forward(self, x) -> tuple[np.ndarray, tuple]:
        """x: (N, D) -> scores: (N, K) and the caches for :meth:`backward`."""
        act = layers.relu_forward if self.activation == "relu" else layers.sigmoid_forward
        h, c1 = layers.linear_forward(x, self.w1, self.b1)
        a, c2 = act(h)
        scores, c3 = layers.linear_forward(a, self.w2, self.b2)
        return scores, (c1, c2, c3)

    def backward(self, dscores, caches) -> dict[str, np.ndarray]:
        """Back through the three layers in reverse order: dL/d(each parameter)."""
        act = layers.relu_backward if self.activation == "relu" else layers.sigmoid_backward
        c1, c2, c3 = caches
        da, dw2, db2 = layers.linear_backward(dscores, c3)
        dh = act(da, c2)
        _, dw1, db1 = layers.linear_backward(dh, c1)
        return {"w1": dw1, "b1": db1, "w2": dw2, "b2": db2}

    def predict(self, x) -> np.ndarray:
        """x: (N, D) -> predicted class (N,)."""
        return self.forward(x)[0].argmax(axis=1)


def train_mlp(x, y, hidden: int = 8, lr: float = 0.5, steps: int = 1000,
              activation: str = "relu", seed: int = 0) -> MLP:
    """Fit an :class:`MLP` with softmax cross-entropy by full-batch gradient descent.

    x: (N, D), y: (N,) integer labels. Weights start as He-scaled Gaussians (seeded).
    """
    x = as_float_array(x, "x", ndim=2)
    y = np.asarray(y)
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be integer labels of shape ({len(x)},), got {y.dtype} {y.shape}")
    hidden = check_int(hidden, "hidden", 1)
    seed = check_int(seed, "seed", 0)
    check_choice(activation, "activation", ("relu", "sigmoid"))
    lr, steps = check_positive(lr, "lr"), check_int(steps, "steps", 1)
    rng = np.random.default_rng(seed)
    d, k = x.shape[1], int(y.max()) + 1
    model = MLP(rng.normal(0, np.sqrt(2 / d), (hidden, d)), np.zeros(hidden),
                rng.normal(0, np.sqrt(2 / hidden), (k, hidden)), np.zeros(k), activation)
    for _ in range(steps):
        scores, caches = model.forward(x)
        loss, dscores = layers.softmax_cross_entropy(scores, y)
        for name, grad in model.backward(dscores, caches).items():
            getattr(model, name)[...] -= lr * grad
        model.losses.append(loss)
    return model
