"""One small training loop shared by all chapters."""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from tqdm.auto import tqdm

from .device import model_device

Batch = tuple[torch.Tensor, ...]
Metric = Callable[[torch.Tensor, torch.Tensor], float]


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of rows of ``logits: (N, K)`` whose argmax equals ``targets: (N,)``."""
    if logits.ndim != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(f"logits must be (N, K) and targets (N,), got {tuple(logits.shape)} "
                         f"and {tuple(targets.shape)}")
    from .metrics import accuracy as label_accuracy

    return label_accuracy(logits.argmax(dim=1), targets)


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
