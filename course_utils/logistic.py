"""Multinomial logistic regression with scikit-learn's objective, and the linear probe built on it.

The one logistic regression the chapters share: a frozen representation's linear probe
(chapter 08), the predictor of a confound audit (10), the vision teacher of a sound network
(11) and the colour-cue check of chapter 08's shortcut. Chapter 03 writes the binary case by
hand in numpy (``learning.numpy_models``) as the lesson; this is the fast, tested tool.

Features are (N, D) tensors or numpy arrays, labels (N,) integers in 0 .. K-1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .validate import as_float_tensor, check_int, check_positive


def _features(x, name: str) -> torch.Tensor:
    x = as_float_tensor(x.detach() if isinstance(x, torch.Tensor) else x, name).double().cpu()
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty (N, D) array, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite")
    return x


def _labels(y, name: str, n: int) -> torch.Tensor:
    y = torch.from_numpy(np.asarray(y)) if not isinstance(y, torch.Tensor) else y.detach().cpu()
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one label per row, got {tuple(y.shape)}")
    if n and int(y.min()) < 0:
        raise ValueError(f"{name} must be class indices >= 0, got {int(y.min())}")
    return y.long()


def fit_logistic(features, labels, c: float = 1.0, classes: int | None = None,
                 max_iter: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise scikit-learn's multinomial objective 0.5 |W|^2 + c * sum_i cross-entropy_i
    (the bias is not penalised) by L-BFGS in float64. features: (N, D), labels: (N,) ->
    weight (K, D), bias (K,); ``classes`` K defaults to the largest label + 1; ``max_iter``
    caps L-BFGS's iterations (lower it for a quick, approximate fit)."""
    x = _features(features, "features")
    y = _labels(labels, "labels", len(x))
    c = check_positive(c, "c")
    classes = int(y.max()) + 1 if classes is None else check_int(classes, "classes", 2)
    if int(y.max()) >= classes:
        raise ValueError(f"labels must be below classes = {classes}, got {int(y.max())}")
    weight = torch.zeros(classes, x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1, max_iter=check_int(max_iter, "max_iter", 1),
                                  tolerance_grad=1e-10, tolerance_change=1e-12, history_size=20,
                                  line_search_fn="strong_wolfe")

    def objective():
        optimizer.zero_grad()
        loss = 0.5 * (weight ** 2).sum() + c * F.cross_entropy(x @ weight.T + bias, y, reduction="sum")
        loss.backward()
        return loss

    optimizer.step(objective)
    return weight.detach(), bias.detach()


@dataclass(frozen=True)
class LogisticModel:
    """A fitted logistic regression: features are shifted by ``mean`` and divided by ``scale``
    (0 and 1 when fitted without standardising), then scored by ``weight`` (K, D), ``bias`` (K,)."""
    mean: torch.Tensor
    scale: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor

    def logits(self, features) -> torch.Tensor:
        """(M, D) -> (M, K) float64 class scores."""
        x = _features(features, "features")
        if x.shape[1] != self.weight.shape[1]:
            raise ValueError(f"features must have D = {self.weight.shape[1]} columns as in the fit, "
                             f"got {tuple(x.shape)}")
        return ((x - self.mean) / self.scale) @ self.weight.T + self.bias

    def probabilities(self, features) -> torch.Tensor:
        """(M, D) -> (M, K) class probabilities (softmax of the logits), float32."""
        return torch.softmax(self.logits(features), dim=1).float()

    def predict(self, features) -> torch.Tensor:
        """(M, D) -> (M,) the most probable class."""
        return self.logits(features).argmax(dim=1)

    def accuracy(self, features, labels) -> float:
        """Share of rows whose predicted class is the label."""
        predicted = self.predict(features)
        return (predicted == _labels(labels, "labels", len(predicted))).double().mean().item()


def fit_logistic_model(features, labels, c: float = 1.0, standardise: bool = True,
                       classes: int | None = None, max_iter: int = 500) -> LogisticModel:
    """``fit_logistic`` on the features, standardised first with their own mean and std when
    ``standardise`` (a column that does not vary keeps scale 1)."""
    x = _features(features, "features")
    if standardise:
        mean, scale = x.mean(dim=0), x.std(dim=0) if len(x) > 1 else torch.ones(x.shape[1], dtype=x.dtype)
        scale = torch.where(scale > 1e-8, scale, torch.ones_like(scale))
    else:
        mean, scale = torch.zeros(x.shape[1], dtype=x.dtype), torch.ones(x.shape[1], dtype=x.dtype)
    weight, bias = fit_logistic((x - mean) / scale, labels, c, classes, max_iter)
    return LogisticModel(mean, scale, weight, bias)


def linear_probe(train_features, train_labels, test_features, test_labels, c: float = 1.0) -> float:
    """Freeze the features, standardise them with the training rows' mean and std, fit the
    logistic regression on the training rows and return its accuracy on the test rows."""
    test_y = _labels(test_labels, "test_labels", len(_features(test_features, "test_features")))
    train_y = _labels(train_labels, "train_labels", len(_features(train_features, "train_features")))
    classes = max(int(train_y.max()), int(test_y.max())) + 1
    model = fit_logistic_model(train_features, train_y, c, standardise=True, classes=max(classes, 2))
    if _features(test_features, "test_features").shape[1] != model.weight.shape[1]:
        raise ValueError(f"test_features must be (M, D) with D = {model.weight.shape[1]}, got "
                         f"{tuple(np.shape(test_features))}")
    return model.accuracy(test_features, test_y)
