"""Auditing a classifier by group: per-group metrics (the same table as fairlearn's
MetricFrame), gaps and error rates by group, sample weights for rebalancing, the audited spot
detector and the two experiments run on it (training-set imbalance, a confounded "predictor"),
and a model card built from the audit's numbers.

Labels and predictions are 0/1 arrays (N,); ``groups`` holds any hashable group names (N,).
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ..logistic import fit_logistic_model
from ..networks import SmallCNN
from ..train import fit_classifier, predict
from ..validate import check_int, check_real
from .camera import as_images, metered_capture
from .population import SIZE, make_population


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


def selection_rate(y_true, y_pred) -> float:
    """Share predicted positive (y_true is ignored, as in fairlearn)."""
    return float(np.mean(_as_binary(y_pred, "y_pred") == 1))


def error_rate(y_true, y_pred) -> float:
    """Share of predictions that differ from the label (scikit-learn's zero_one_loss)."""
    y_true, y_pred = _as_binary(y_true, "y_true"), _as_binary(y_pred, "y_pred")
    if y_true.shape != y_pred.shape or len(y_true) == 0:
        raise ValueError(f"y_true and y_pred must be non-empty with the same length, got {len(y_true)} "
                         f"and {len(y_pred)}")
    return float(np.mean(y_pred != y_true))


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


def error_by_group(y_true, y_pred, groups) -> list[float]:
    """The error rate of every group, in sorted group order: the ``error_rate`` column of
    ``by_group``. y_true, y_pred, groups: (N,) -> one float per group."""
    return by_group(y_true, y_pred, groups, {"error": error_rate})["error"].tolist()


def balancing_weights(groups) -> np.ndarray:
    """Sample weights that give every group the same total weight, scaled to mean 1:
    w_i = N / (G * count(group of i)). groups: (N,) -> (N,)."""
    groups = _as_binary(groups, "groups")
    if len(groups) == 0:
        raise ValueError("groups must not be empty")
    names, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    return len(groups) / (len(names) * counts[inverse])


def train_detector(images: torch.Tensor, labels, weights=None, mode: str = "plain", seed: int = 0,
                   steps: int = 500, lr: float = 1e-3) -> SmallCNN:
    """The audited spot detector: a ``SmallCNN`` (two classes) initialised from torch seed
    ``seed`` and trained by ``fit_classifier`` (``mode`` "plain", "reweight" or "resample" with
    ``weights``). images: (N, 1, 16, 16) float; labels: (N,) 0/1. The model trains on the
    images' device. Returns the model in eval mode."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1:] != (1, SIZE, SIZE):
        raise ValueError(f"images must be a (N, 1, {SIZE}, {SIZE}) tensor, got "
                         f"{type(images).__name__} of shape {tuple(getattr(images, 'shape', ()))}")
    torch.manual_seed(check_int(seed, "seed", 0))
    model = SmallCNN(in_channels=1, size=SIZE, classes=2).to(images.device)
    labels = torch.as_tensor(labels).to(images.device)
    fit_classifier(model, images, labels, weights, mode, steps=steps, lr=lr, seed=seed)
    return model.eval()


def imbalance_errors(share_group1: float, images: torch.Tensor, labels, groups, n: int = 2000,
                     seed: int = 2) -> list[float]:
    """Train the detector (plain) on ``n`` metered scenes of which a share ``share_group1`` is
    group 1, and return its error rate per group on the test ``images`` (M, 1, 16, 16) with
    ``labels`` and ``groups`` (M,)."""
    population = make_population(n, share_group1=float(share_group1), seed=seed)
    model = train_detector(as_images(metered_capture(population["radiance"])), population["label"])
    return error_by_group(labels, predict(model, images).argmax(1).numpy(), groups)


def imbalance_curve(shares, images: torch.Tensor, labels, groups, n: int = 2000,
                    seed: int = 2) -> dict[float, list[float]]:
    """``imbalance_errors`` at each training share of group 1 in ``shares``: share -> error
    per group. Computed once so that a slider can scrub through the results."""
    if not isinstance(shares, (list, tuple)) or not shares:
        raise ValueError(f"shares must be a non-empty list of numbers in (0, 1), got {shares!r}")
    curve = {}
    for share in shares:
        share = check_real(share, "shares")
        if not 0 < share < 1:
            raise ValueError(f"shares must lie in (0, 1), got {share}")
        curve[share] = imbalance_errors(share, images, labels, groups, n, seed)
    return curve


def _pixels(population: dict) -> np.ndarray:
    """Metered codes of a population as rows of pixels in [0, 1]: (N, 256) float64."""
    return metered_capture(population["radiance"]).reshape(len(population["label"]), -1) / 255.0


def confound_accuracies(agreement: float, n: int = 2000, seeds: tuple[int, int, int] = (5, 6, 7)
                        ) -> tuple[float, float]:
    """The confound audit. The label is invisible (no spot drawn), but a nuisance that agrees
    with it with probability ``agreement`` brightens the border. A logistic regression on the
    metered pixels of ``n`` such scenes is scored on ``n`` scenes collected the same way and on
    ``n`` where the nuisance is independent of the label (agreement 0.5). ``seeds``: of the
    training, same-collection and controlled populations. Returns (same, controlled) accuracy."""
    agreement = check_real(agreement, "agreement")
    if not 0 <= agreement <= 1:
        raise ValueError(f"agreement must lie in [0, 1], got {agreement}")
    train_seed, same_seed, controlled_seed = seeds
    train = make_population(n, nuisance_agreement=agreement, visible=False, seed=train_seed)
    same = make_population(n, nuisance_agreement=agreement, visible=False, seed=same_seed)
    controlled = make_population(n, nuisance_agreement=0.5, visible=False, seed=controlled_seed)
    predictor = fit_logistic_model(_pixels(train), train["label"], standardise=False)
    return predictor.accuracy(_pixels(same), same["label"]), predictor.accuracy(_pixels(controlled),
                                                                               controlled["label"])


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
