"""Figures for chapter 13's PointNet: example clouds, critical points, and the widget on how
many points the classifier needs. Drawing only: the numbers come from ``course_utils.geometry3d.pointcloud``."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..validate import check_int
from . import pointcloud


def _scatter(ax, points, title: str, **kwargs) -> None:
    p = np.asarray(points)
    ax.scatter(p[:, 0], p[:, 1], p[:, 2], s=kwargs.pop("s", 4), depthshade=False, **kwargs)
    for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
        setter(-1, 1)
    ax.set_box_aspect((1, 1, 1))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])
    ax.set_title(title, fontsize=9)


def show_clouds(clouds: torch.Tensor, titles: Sequence[str]) -> plt.Figure:
    """One 3-D scatter per cloud: clouds (K, P, 3)."""
    if len(clouds) != len(titles):
        raise ValueError(f"titles must name each of the {len(clouds)} clouds, got {len(titles)}")
    fig = plt.figure(figsize=(2.3 * len(clouds), 2.5))
    for k, (cloud, title) in enumerate(zip(clouds, titles)):
        _scatter(fig.add_subplot(1, len(clouds), k + 1, projection="3d"), cloud, title)
    fig.tight_layout()
    return fig


def show_critical_points(clouds: torch.Tensor, masks: torch.Tensor, titles: Sequence[str]) -> plt.Figure:
    """Each cloud (K, P, 3) in grey with its critical points (mask (K, P)) in red."""
    fig = plt.figure(figsize=(2.3 * len(clouds), 2.5))
    for k, (cloud, mask, title) in enumerate(zip(clouds, masks, titles)):
        ax = fig.add_subplot(1, len(clouds), k + 1, projection="3d")
        _scatter(ax, cloud[~mask], f"{title}: {int(mask.sum())} of {len(cloud)}", c="lightgrey", s=3)
        _scatter(ax, cloud[mask], ax.get_title(), c="tab:red", s=9)
    fig.tight_layout()
    return fig


def show_points_kept(keep: int, model, cloud: torch.Tensor, name: str, class_names: Sequence[str],
                     curves: Mapping[str, Sequence[float]], kept_counts: Sequence[int]) -> plt.Figure:
    """Widget: one test cloud (P, 3) cut to its ``keep`` most-winning points, its prediction,
    and the measured accuracy against the number of points kept (``curves``: order -> accuracy
    at each of ``kept_counts``)."""
    keep = check_int(keep, "keep", 1)
    subset = pointcloud.keep_points(cloud[None], min(keep, len(cloud)), "critical", model)[0]
    with torch.no_grad():
        probabilities = torch.softmax(model(subset[None]), dim=1)[0]
    guess = int(probabilities.argmax())
    fig = plt.figure(figsize=(8.0, 3.0))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    _scatter(ax, cloud, "", c="lightgrey", s=2)
    _scatter(ax, subset, f"{name}, {len(subset)} points kept: '{class_names[guess]}' "
             f"({probabilities[guess]:.2f})", c="tab:green" if class_names[guess] == name else "tab:red", s=9)
    ax2 = fig.add_subplot(1, 2, 2)
    for label, accuracy in curves.items():
        ax2.plot(kept_counts, accuracy, "o-", label=label)
    ax2.axvline(keep, color="grey", ls="--")
    ax2.set_xscale("log", base=2)
    ax2.set_xlabel("points kept per cloud")
    ax2.set_ylabel("test accuracy")
    ax2.set_ylim(0, 1.02)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig
