"""Auditing a classifier by group: per-group metrics (the same table as fairlearn's
MetricFrame), gaps, sample weights for rebalancing, a small trainer with weights or
resampling, and a model card built from the audit's numbers.

Labels and predictions are 0/1 arrays (N,); ``groups`` holds any hashable group names (N,).
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..validate import check_int, check_positive


def _as_binary(values, name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {values.shape}")
    return values


def false_positive_rate(y_true, y_pred) -> float:
    """Share of true negatives (y = 0) predicted positive; NaN when there are none."""
    y_true, y_pred = _as_binary(y_true, "y_true"), _as_binary(y_pred, "y_pred")
    negatives = y_true == 0
    return float(np.mean(y_pred[negatives] == 1)) if negatives.any() else float("nan")


def false_negative_rate(y_true, y_pred) -> float:
    """Share of true positives (y = 1) predicted negative; NaN when there are none."""
    y_true, y_pred = _as_binary(y_true, "y_true"), _as_binary(y_pred, "y_pred")
    positives = y_true == 1
    return float(np.mean(y_pred[positives] == 0)) if positives.any() else float("nan")


def accuracy(y_true, y_pred) -> float:
    """Share of predictions equal to the labels."""
    return float(np.mean(_as_binary(y_true, "y_true") == _as_binary(y_pred, "y_pred")))


def selection_rate(y_true, y_pred) -> float:
    """Share predicted positive (y_true is ignored, as in fairlearn)."""
    return float(np.mean(_as_binary(y_pred, "y_pred") == 1))


def by_group(y_true, y_pred, groups, metrics: Mapping[str, Callable]) -> pd.DataFrame:
    """One row per group (sorted), one column per metric: ``metric(y_true[g], y_pred[g])``.

    The same table as ``fairlearn.metrics.MetricFrame(metrics=metrics, y_true=y_true,
    y_pred=y_pred, sensitive_features=groups).by_group`` (a pandas DataFrame indexed by group).
    """
    y_true, y_pred, groups = (_as_binary(v, n) for v, n in ((y_true, "y_true"), (y_pred, "y_pred"),
                                                               (groups, "groups")))
    if not (len(y_true) == len(y_pred) == len(groups)):
        raise ValueError(f"y_true, y_pred and groups must have the same length, got {len(y_true)}, "
                         f"{len(y_pred)} and {len(groups)}")
    if len(groups) == 0:
        raise ValueError("groups must not be empty")
    if not metrics:
        raise ValueError("metrics must name at least one metric")
    names = sorted(set(groups.tolist()))
    rows = {name: {metric: fn(y_true[groups == name], y_pred[groups == name])
                   for metric, fn in metrics.items()} for name in names}
    table = pd.DataFrame.from_dict(rows, orient="index")[list(metrics)]
    table.index.name = "group"
    return table


def gaps(table: pd.DataFrame) -> pd.Series:
    """Largest minus smallest value of every metric over the groups (fairlearn's difference())."""
    return table.max() - table.min()


def balancing_weights(groups) -> np.ndarray:
    """Sample weights that give every group the same total weight, scaled to mean 1:
    w_i = N / (G * count(group of i)). groups: (N,) -> (N,)."""
    groups = _as_binary(groups, "groups")
    if len(groups) == 0:
        raise ValueError("groups must not be empty")
    names, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    return len(groups) / (len(names) * counts[inverse])


def train_classifier(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
                     weights=None, mode: str = "plain", steps: int = 300, batch: int = 64,
                     lr: float = 3e-3, seed: int = 0) -> list[float]:
    """Adam on cross-entropy. ``mode``: "plain" (uniform batches), "reweight" (uniform batches,
    loss weighted by ``weights``) or "resample" (batches drawn with probability proportional to
    ``weights``, unweighted loss). images: (N, C, H, W), labels: (N,). Returns the losses."""
    from ..train import fit_steps
    from ..validate import check_choice

    check_choice(mode, "mode", ("plain", "reweight", "resample"))
    n = len(images)
    if labels.shape != (n,):
        raise ValueError(f"labels must be (N,) = ({n},), got {tuple(labels.shape)}")
    w = torch.ones(n) if weights is None else torch.as_tensor(np.asarray(weights), dtype=torch.float32)
    if w.shape != (n,) or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"weights must be (N,) = ({n},), non-negative, not all zero")
    batch = check_int(batch, "batch", 1)

    def batch_loss(generator):
        if mode == "resample":
            idx = torch.multinomial(w, batch, replacement=True, generator=generator)
        else:
            idx = torch.randint(0, n, (batch,), generator=generator)
        losses = F.cross_entropy(model(images[idx]), labels[idx], reduction="none")
        return (losses * w[idx]).sum() / w[idx].sum() if mode == "reweight" else losses.mean()

    return fit_steps(model, batch_loss, check_int(steps, "steps", 1), check_positive(lr, "lr"), seed)


def model_card(name: str, intended_use: str, data: str, table: pd.DataFrame,
               failure_modes: Sequence[str], notes: Sequence[str] = ()) -> str:
    """A model card in Markdown: intended use, data, the disaggregated metrics (``table``, one
    row per group, with a row of gaps added) and known failure modes."""
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError("table must be a non-empty DataFrame of per-group metrics")
    header = "| group | " + " | ".join(table.columns) + " |"
    rule = "|---" * (len(table.columns) + 1) + "|"
    rows = [f"| {group} | " + " | ".join(f"{v:.3f}" for v in values) + " |"
            for group, values in zip(table.index, table.to_numpy())]
    rows.append("| **largest gap** | " + " | ".join(f"{v:.3f}" for v in gaps(table)) + " |")
    lines = [f"# Model card: {name}", "", "## Intended use", intended_use, "", "## Data", data, "",
             "## Disaggregated evaluation", header, rule, *rows, "", "## Known failure modes",
             *[f"- {mode}" for mode in failure_modes]]
    if notes:
        lines += ["", "## Notes", *[f"- {note}" for note in notes]]
    return "\n".join(lines) + "\n"
