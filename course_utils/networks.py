"""Small models, fitting helpers and the experiments of chapter 03 built on them.

* numpy, built from the hand-written layers in :mod:`course_utils.layers`: linear and logistic
  regression by gradient descent, and a one-hidden-layer MLP (the XOR solver);
* torch: configurable MLPs (deep nets for gradient norms, wide vs deep), dead-ReLU counting,
  the digits CNN and the Fourier amplitude of its filters;
* experiments: gradient norms per layer (vanishing gradients) and dead ReLUs after training.

(Named ``networks`` so that it never shadows ``torch.nn``.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from . import layers
from .data.points import sample_target
from .validate import as_float_array, check_choice, check_int, check_positive

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


def _check_module(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


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


# ---- torch MLPs: depth, width, activations -------------------------------------------------
def make_mlp(in_features: int, hidden: Sequence[int], out_features: int,
             activation: str = "relu", init: str = "default") -> nn.Sequential:
    """Linear -> activation for each hidden width, then a final Linear.

    init: "default" (torch's), "he" (Kaiming normal weights, zero biases) or "negative_bias"
    (He weights, biases -1: a bad initialisation that leaves many ReLUs dead from the start).
    """
    in_features = check_int(in_features, "in_features", 1)
    out_features = check_int(out_features, "out_features", 1)
    check_choice(activation, "activation", tuple(ACTIVATIONS))
    check_choice(init, "init", ("default", "he", "negative_bias"))
    if (isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__len__") or len(hidden) == 0
            or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1
                   for h in hidden)):
        raise ValueError(f"hidden must be a non-empty list of positive widths, got {hidden!r}")
    modules: list[nn.Module] = []
    width = in_features
    for h in hidden:
        linear = nn.Linear(width, int(h))
        if init != "default":
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.constant_(linear.bias, -1.0 if init == "negative_bias" else 0.0)
        modules += [linear, ACTIVATIONS[activation]()]
        width = int(h)
    modules.append(nn.Linear(width, out_features))
    return nn.Sequential(*modules)


def fit_full_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float = 1e-2,
                   steps: int = 1000) -> list[float]:
    """Adam on the mean squared error, one full batch per step, via ``course_utils.train.fit``.

    x: (N, D), y: (N, out) on the model's device. Returns the loss before each step.
    """
    from .train import fit

    _check_module(model)
    lr, steps = check_positive(lr, "lr"), check_int(steps, "steps", 1)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError(f"x and y must be (N, D) and (N, out), got {tuple(x.shape)} "
                         f"and {tuple(y.shape)}")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = fit(model, [(x, y)], nn.functional.mse_loss, optimizer, epochs=steps,
                  progress=False)
    return history["train_loss"]


def layer_gradient_norms(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Backpropagate the mean squared error once; return ||dL/dW|| for every Linear weight,
    input layer first. x: (N, D), y: (N, out)."""
    _check_module(model)
    model.zero_grad(set_to_none=True)
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    return np.array([m.weight.grad.norm().item() for m in model if isinstance(m, nn.Linear)])


def gradient_norms(depth: int = 12, activation: str = "sigmoid", width: int = 32,
                   seed: int = 0) -> np.ndarray:
    """||dL/dW|| per Linear layer (input first, depth + 1 values) of a freshly He-initialised
    MLP with ``depth`` hidden layers of ``width`` units, for one batch of 256 random inputs
    (16 features) and random targets."""
    depth, width = check_int(depth, "depth", 1), check_int(width, "width", 1)
    seed = check_int(seed, "seed", 0)
    torch.manual_seed(seed)
    model = make_mlp(16, [width] * depth, 1, activation, init="he")
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.randn(256, 16, generator=gen), torch.randn(256, 1, generator=gen)
    return layer_gradient_norms(model, x, y)


@torch.no_grad()
def dead_relu_fraction(model: nn.Sequential, x: torch.Tensor) -> np.ndarray:
    """For each ReLU of ``model``: the fraction of its units that output 0 for every row of x
    (a dead unit passes no gradient, so it can never learn again). x: (N, D) -> (num_relus,)."""
    _check_module(model)
    fractions = []
    h = x
    for module in model:
        h = module(h)
        if isinstance(module, nn.ReLU):
            fractions.append((h <= 0).all(dim=0).float().mean().item())
    if not fractions:
        raise ValueError("model has no nn.ReLU layer")
    return np.array(fractions)


def dead_relus_after_training(lrs: Sequence[float], init: str = "he", steps: int = 200,
                              seed: int = 0) -> dict[float, dict]:
    """Train a 4 x 64 ReLU MLP on the 1-D target (256 points) with Adam at each learning rate.

    Returns {lr: {"dead": fraction of dead units per hidden layer (4,), "loss": final MSE}};
    the entry lr = 0.0 describes the network before training.
    """
    if not isinstance(lrs, (list, tuple, np.ndarray)):
        raise TypeError(f"lrs must be a list of learning rates, got {type(lrs).__name__}")
    lrs = [check_positive(lr, "lrs") for lr in lrs]
    steps, seed = check_int(steps, "steps", 1), check_int(seed, "seed", 0)
    x, y = (torch.tensor(a, dtype=torch.float32) for a in sample_target(256))
    result = {}
    for lr in (0.0, *lrs):
        torch.manual_seed(seed)
        model = make_mlp(1, [64] * 4, 1, "relu", init=init)
        if lr > 0:
            fit_full_batch(model, x, y, lr=lr, steps=steps)
        with torch.no_grad():
            loss = nn.functional.mse_loss(model(x), y).item()
        result[lr] = {"dead": dead_relu_fraction(model, x), "loss": loss}
    return result


# ---- the digits CNN -------------------------------------------------------------------------
class DigitsCNN(nn.Module):
    """conv5x5 -> ReLU -> maxpool2 -> conv3x3 -> ReLU -> maxpool2 -> linear, for 8x8 digits.

    x: (N, 1, 8, 8) -> logits: (N, 10). ``conv1.weight``: (channels[0], 1, 5, 5).
    """

    def __init__(self, channels: tuple[int, int] = (8, 16), num_classes: int = 10) -> None:
        super().__init__()
        if not isinstance(channels, (tuple, list)) or len(channels) != 2:
            raise ValueError(f"channels must be two positive integers, got {channels!r}")
        c1, c2 = (check_int(c, "channels", 1) for c in channels)
        num_classes = check_int(num_classes, "num_classes", 1)
        self.conv1 = nn.Conv2d(1, c1, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(c2 * 2 * 2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1:] != (1, 8, 8):
            raise ValueError(f"x must have shape (N, 1, 8, 8), got {tuple(x.shape)}")
        x = self.pool(torch.relu(self.conv1(x)))     # (N, c1, 4, 4)
        x = self.pool(torch.relu(self.conv2(x)))     # (N, c2, 2, 2)
        return self.head(x.flatten(1))


def filter_spectra(filters, size: int = 16) -> np.ndarray:
    """Fourier amplitude of each 2-D filter, zero-padded to size x size, centred (fftshift).

    filters: (F, KH, KW) (or (F, 1, KH, KW), a conv weight) -> (F, size, size).
    """
    if hasattr(filters, "detach"):
        filters = filters.detach().cpu().numpy()
    filters = as_float_array(filters, "filters", ndim=(3, 4))
    if filters.ndim == 4:
        if filters.shape[1] != 1:
            raise ValueError(f"filters must have one input channel, got {filters.shape}")
        filters = filters[:, 0]
    size = check_int(size, "size", 1)
    if size < max(filters.shape[1:]):
        raise ValueError(f"size must be at least the filter size {filters.shape[1:]}, got {size}")
    spectrum = np.fft.fft2(filters, s=(size, size))
    return np.abs(np.fft.fftshift(spectrum, axes=(-2, -1)))


def peak_frequency(spectra) -> np.ndarray:
    """Radius of each centred amplitude spectrum's maximum, in cycles per pixel.

    spectra: (F, S, S) from :func:`filter_spectra` -> (F,); 0 means the filter's strongest
    component is its mean (a blur), larger values mean it responds most to finer stripes.
    """
    spectra = as_float_array(spectra, "spectra", ndim=3)
    f, h, w = spectra.shape
    rows, cols = np.unravel_index(spectra.reshape(f, -1).argmax(axis=1), (h, w))
    return np.hypot((rows - h // 2) / h, (cols - w // 2) / w)


class SmallCNN(nn.Module):
    """conv3x3(16) -> ReLU -> maxpool2 -> conv3x3(32) -> ReLU -> maxpool2 -> linear(64) -> ReLU
    -> linear, built from modules (nn.ReLU layers, as attribution methods such as guided
    backprop expect).

    x: (N, C, S, S) -> logits (N, classes); ``embed(x)``: the 64 penultimate features (N, 64).
    ``layers`` names the stages whose outputs later chapters inspect: conv1, conv2, embedding.
    """

    def __init__(self, in_channels: int = 1, size: int = 20, classes: int = 10) -> None:
        super().__init__()
        size = check_int(size, "size", 4)
        self.conv1 = nn.Sequential(nn.Conv2d(check_int(in_channels, "in_channels", 1), 16, 3, padding=1),
                                   nn.ReLU())
        self.conv2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.embedding = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(),
                                       nn.Linear(32 * (size // 4) ** 2, 64), nn.ReLU())
        self.head = nn.Linear(64, check_int(classes, "classes", 2))
        self.size = size

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[2:] != (self.size, self.size):
            raise ValueError(f"x must be (N, C, {self.size}, {self.size}), got {tuple(x.shape)}")
        return self.embedding(self.conv2(self.conv1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class ConvEncoder(nn.Module):
    """Three 3x3 conv blocks (conv -> BatchNorm -> ReLU, the last two with stride 2), then
    global max (or mean) pooling: any (N, C, H, W) -> features (N, widths[-1]).

    The encoder of the self-supervised chapter: pooling makes it indifferent to the input size,
    so one encoder serves whole images and small patches alike.
    """

    def __init__(self, in_channels: int = 3, widths: tuple[int, ...] = (16, 32, 64),
                 pool: str = "max") -> None:
        super().__init__()
        self.pool = check_choice(pool, "pool", ("max", "mean"))
        if not widths:
            raise ValueError("widths must name at least one layer width")
        layers, previous = [], check_int(in_channels, "in_channels", 1)
        for i, width in enumerate(widths):
            width = check_int(width, "widths", 1)
            layers += [nn.Conv2d(previous, width, 3, stride=1 if i == 0 else 2, padding=1),
                       nn.BatchNorm2d(width), nn.ReLU()]
            previous = width
        self.layers = nn.Sequential(*layers)
        self.out_features = previous

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"x must be (N, C, H, W), got {tuple(x.shape)}")
        maps = self.layers(x)
        return maps.amax(dim=(2, 3)) if self.pool == "max" else maps.mean(dim=(2, 3))
