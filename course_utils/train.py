"""The training loops shared by all chapters: ``fit`` (epochs over a loader), ``fit_steps`` (Adam
for a number of steps on batches drawn by a function), ``fit_classifier`` (cross-entropy on
random minibatches, optionally weighted), ``fit_autoencoder`` (named loss terms of random
minibatches, weighted), and ``evaluate`` / ``predict`` to read a model out."""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .device import model_device
from .validate import check_choice, check_int, check_positive

Batch = tuple[torch.Tensor, ...]
Metric = Callable[[torch.Tensor, torch.Tensor], float]


@torch.no_grad()
def predict(model: torch.nn.Module, inputs: torch.Tensor, batch: int | None = None) -> torch.Tensor:
    """``model``'s outputs for ``inputs`` (N, ...), in eval mode and without gradients, computed
    on the model's device (``batch`` rows at a time, or all at once) and returned on the CPU.
    The model's training mode is restored afterwards."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(inputs, torch.Tensor) or inputs.ndim == 0 or len(inputs) == 0:
        raise ValueError(f"inputs must be a non-empty (N, ...) tensor, got {type(inputs).__name__} "
                         f"of shape {tuple(getattr(inputs, 'shape', ()))}")
    size = len(inputs) if batch is None else check_int(batch, "batch", 1)
    device, was_training = model_device(model), model.training
    model.eval()
    try:
        return torch.cat([model(inputs[i:i + size].to(device)).cpu() for i in range(0, len(inputs), size)])
    finally:
        model.train(was_training)


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader: Iterable[Batch], loss_fn: Callable,
             metric: Metric | None = None) -> dict[str, float]:
    """Mean loss (and metric) of ``model`` over ``loader``, weighted by batch size."""
    device = model_device(model)
    was_training = model.training
    model.eval()
    total, loss_sum, metric_sum = 0, 0.0, 0.0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        outputs = model(inputs)
        n = len(inputs)
        total += n
        loss_sum += loss_fn(outputs, targets).item() * n
        if metric is not None:
            metric_sum += metric(outputs, targets) * n
    model.train(was_training)
    if total == 0:
        raise ValueError("loader yielded no batches")
    result = {"loss": loss_sum / total}
    if metric is not None:
        result["metric"] = metric_sum / total
    return result


def fit(model: torch.nn.Module, train_loader: Iterable[Batch], loss_fn: Callable,
        optimizer: torch.optim.Optimizer, epochs: int = 1, *,
        val_loader: Iterable[Batch] | None = None, metric: Metric | None = None,
        scheduler=None, progress: bool = True) -> dict[str, list[float]]:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; return the history.

    Each batch is ``(inputs, targets)``, moved to the model's device. The history holds one
    value per epoch under ``train_loss`` (mean over batches), plus ``train_metric``,
    ``val_loss`` and ``val_metric`` when a metric / validation loader is given.
    ``scheduler`` (if any) is stepped once per epoch.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    device = model_device(model)
    history: dict[str, list[float]] = {"train_loss": []}
    if metric is not None:
        history["train_metric"] = []
    if val_loader is not None:
        history["val_loss"] = []
        if metric is not None:
            history["val_metric"] = []
    bar = tqdm(range(epochs), desc="epochs", disable=not progress, leave=False)
    for _ in bar:
        model.train()
        total, loss_sum, metric_sum = 0, 0.0, 0.0
        for inputs, targets in train_loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            n = len(inputs)
            total += n
            loss_sum += loss.item() * n
            if metric is not None:
                metric_sum += metric(outputs.detach(), targets) * n
        if total == 0:
            raise ValueError("train_loader yielded no batches")
        if scheduler is not None:
            scheduler.step()
        history["train_loss"].append(loss_sum / total)
        if metric is not None:
            history["train_metric"].append(metric_sum / total)
        if val_loader is not None:
            val = evaluate(model, val_loader, loss_fn, metric)
            history["val_loss"].append(val["loss"])
            if metric is not None:
                history["val_metric"].append(val["metric"])
        bar.set_postfix(loss=f"{history['train_loss'][-1]:.4f}")
    return history


def fit_steps(model: torch.nn.Module, batch_loss: Callable[[torch.Generator], torch.Tensor],
              steps: int, lr: float, seed: int = 0, cosine: bool = False) -> list[float]:
    """Adam on ``model`` for ``steps`` steps; return the loss of every step.

    ``batch_loss(generator)`` draws one random batch with the seeded ``generator`` and returns
    its scalar loss (on the model's device). With ``cosine`` the learning rate decays from
    ``lr`` to zero along a cosine.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps) if cosine else None
    model.train()
    losses = []
    for _ in range(steps):
        loss = batch_loss(generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
        losses.append(loss.item())
    return losses


def fit_classifier(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
                   weights=None, mode: str = "plain", steps: int = 300, batch: int = 64,
                   lr: float = 3e-3, seed: int = 0) -> list[float]:
    """Adam on the cross-entropy of random minibatches of ``images`` (N, ...) with ``labels``
    (N,), through ``fit_steps``. ``mode``: "plain" (uniform batches), "reweight" (uniform
    batches, loss weighted by ``weights``) or "resample" (batches drawn with probability
    proportional to ``weights``, unweighted loss). ``batch`` is capped at N. Returns the losses."""

    check_choice(mode, "mode", ("plain", "reweight", "resample"))
    n = len(images)
    if labels.shape != (n,):
        raise ValueError(f"labels must be (N,) = ({n},), got {tuple(labels.shape)}")
    w = torch.ones(n, device=images.device) if weights is None else torch.as_tensor(np.asarray(weights), dtype=torch.float32).to(images.device)
    if w.shape != (n,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be (N,) = ({n},), non-negative, not all zero")
    batch = min(check_int(batch, "batch", 1), n)

    def batch_loss(generator):
        if mode == "resample":
            idx = torch.multinomial(w.cpu(), batch, replacement=True, generator=generator)
        else:
            idx = torch.randint(0, n, (batch,), generator=generator)
        idx = idx.to(images.device)  # drawn on the CPU generator, used where the data lives
        losses = F.cross_entropy(model(images[idx]), labels[idx], reduction="none")
        return (losses * w[idx]).sum() / w[idx].sum() if mode == "reweight" else losses.mean()

    return fit_steps(model, batch_loss, check_int(steps, "steps", 1), check_positive(lr, "lr"), seed)


def squared_error_terms(model: torch.nn.Module, images: torch.Tensor,
                        generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """The plain autoencoder's loss term for ``fit_autoencoder``: {"reconstruction": the mean
    squared error between ``model(images)`` and ``images``} (``generator`` is not used)."""
    return {"reconstruction": F.mse_loss(model(images), images)}


def fit_autoencoder(model: torch.nn.Module, images: torch.Tensor,
                    terms: Callable[..., dict[str, torch.Tensor]] = squared_error_terms,
                    weights: dict[str, float] | None = None, steps: int = 300, batch: int = 128,
                    lr: float = 3e-3, seed: int = 0) -> dict[str, list[float]]:
    """The one autoencoder trainer (the plain one of chapter 08, the VAE of chapter 09): Adam
    through ``fit_steps`` on uniform minibatches of ``batch`` rows of ``images`` (N, ...).

    ``terms(model, x, generator)`` returns the loss terms of a minibatch ``x`` by name, each a
    scalar or one value per image (the seeded ``generator`` is there for a model that samples,
    e.g. ``synthesis.vae.elbo``); the loss is the sum over terms of ``weights[name]`` (1 where
    not given) times the term's mean. Returns the history of every term's batch mean, one value
    per step; the model is left in eval mode."""
    batch = check_int(batch, "batch", 1)
    weights = dict(weights or {})
    for name, weight in weights.items():
        check_positive(weight, f"weights[{name!r}]", allow_zero=True)
    history: dict[str, list[float]] = {}

    def batch_loss(generator: torch.Generator) -> torch.Tensor:
        x = images[torch.randint(0, len(images), (batch,), generator=generator)]
        parts = terms(model, x, generator)
        unknown = set(weights) - set(parts)
        if unknown:
            raise ValueError(f"weights names no loss term: {sorted(unknown)} (terms: {sorted(parts)})")
        loss = 0
        for name, value in parts.items():
            history.setdefault(name, []).append(value.mean().item())
            loss = loss + weights.get(name, 1.0) * value.mean()
        return loss

    fit_steps(model, batch_loss, check_int(steps, "steps", 1), check_positive(lr, "lr"), seed)
    model.eval()
    return history
