"""Figures for chapter 08 (self-supervised learning): views, similarity matrices under a
temperature, probe curves and bars, training terms, patches. Drawing only: the numbers come from
contrastive.py, pretext.py, evaluation.py and metrics.py."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from ..viz import plot_series, show_image
from .contrastive import nt_xent
from .evaluation import probe_frozen_features
from .pretext import colour_cast, position_from_colour, to_grey


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def show_views(images, views: Sequence, titles: Sequence[str] = ("image", "view 1", "view 2")
               ) -> plt.Figure:
    """Rows: images (N, 3, H, W); columns: the image and each of its views."""
    columns = [images, *views]
    n = len(images)
    fig, axes = plt.subplots(n, len(columns), figsize=(1.6 * len(columns), 1.6 * n), squeeze=False)
    for i in range(n):
        for j, column in enumerate(columns):
            show_image(axes[i, j], _numpy(column[i]), title=titles[j] if i == 0 else None)
    fig.tight_layout()
    return fig


def show_temperature(z1, z2, temperature: float = 0.5) -> plt.Figure:
    """Widget: the 2N x 2N cosine similarities of a batch of view pairs, turned into each
    anchor's softmax over the other views at ``temperature``, and the NT-Xent loss."""
    z = F.normalize(torch.cat([torch.as_tensor(z1), torch.as_tensor(z2)]), dim=1)
    n = len(z1)
    logits = (z @ z.T / temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    weights = torch.softmax(logits, dim=1)
    positive = weights[torch.arange(2 * n), torch.cat([torch.arange(n, 2 * n), torch.arange(n)])]
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.6))
    im = axes[0].imshow(_numpy(weights), cmap="viridis", vmin=0, vmax=1)
    axes[0].set_title("softmax weight of every other view (row: anchor)", fontsize=9)
    fig.colorbar(im, ax=axes[0], fraction=0.046, pad=0.04)
    axes[1].hist(_numpy(positive), bins=20, range=(0, 1), color="tab:green")
    axes[1].set_xlabel("weight on the positive (the other view of the same image)")
    axes[1].set_ylabel("anchors")
    loss = nt_xent(torch.as_tensor(z1), torch.as_tensor(z2), temperature).item()
    fig.suptitle(f"temperature {temperature:.2f}: NT-Xent {loss:.3f}, mean weight on the positive "
                 f"{positive.mean():.2f}", fontsize=10)
    fig.tight_layout()
    return fig


def show_probe_curve(curves: Mapping[str, Sequence[float]], labels_per_class: Sequence[int]
                     ) -> plt.Figure:
    """Linear-probe accuracy against the number of labels per class, one line per feature."""
    return plot_series(labels_per_class, curves, "labels per class for the probe", "test accuracy",
                       logx=True)


def show_probe_bars(accuracy: Mapping[str, float], labels_per_class: int, chance: float) -> plt.Figure:
    """Widget-ready bars: probe accuracy per representation at one label budget."""
    fig, ax = plt.subplots(figsize=(6.8, 3.0))
    ax.barh(list(accuracy), list(accuracy.values()), color="tab:blue")
    ax.axvline(chance, color="grey", ls="--", lw=0.8, label=f"chance {chance:.2f}")
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"linear-probe test accuracy, {labels_per_class} labels per class")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_label_budget(features: Mapping[str, tuple[torch.Tensor, torch.Tensor]], train_labels,
                      test_labels, per_class: int = 30) -> plt.Figure:
    """Widget: the probe bars of every frozen representation in ``features`` (name -> (train
    (N, D), test (M, D)) features) with ``per_class`` labels per class
    (``evaluation.probe_frozen_features``); the dashed line is chance, one over the number of
    classes."""
    per_class = int(per_class)
    accuracy = probe_frozen_features(features, train_labels, test_labels, per_class)
    return show_probe_bars(accuracy, per_class, chance=1 / (int(train_labels.max()) + 1))


def show_curves(curves: Mapping[str, Sequence[float]], ylabel: str, log: bool = False,
                title: str = "") -> plt.Figure:
    """One line per named series against the training step."""
    fig, ax = plt.subplots(figsize=(5.8, 3.1))
    for name, values in curves.items():
        ax.plot(values, lw=0.9, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_colour_cast(images, strength: float, patch: int = 7, gap: int = 1) -> plt.Figure:
    """Widget: the first of ``images`` (N, 3, H, W) with the planted colour cast and its 3 x 3
    patch grid, next to its grey version; the title gives how well a patch's mean colour alone
    tells its grid cell over all the images (``pretext.position_from_colour``)."""
    images = torch.as_tensor(images)
    cast = colour_cast(images[:1], strength)
    fig, axes = plt.subplots(1, 2, figsize=(5.6, 3.0))
    show_image(axes[0], _numpy(cast[0].clamp(0, 1)), title=f"colour cast {strength:.2f}")
    show_image(axes[1], _numpy(to_grey(cast)[0].clamp(0, 1)), title="grey")
    step = patch + gap
    for ax in axes:
        for r in range(3):
            for c in range(3):
                ax.add_patch(plt.Rectangle((c * step - 0.5, r * step - 0.5), patch, patch, fill=False,
                                           color="white", lw=0.8))
    accuracy = position_from_colour(images, strength, patch, gap)
    fig.suptitle(f"grid cell from a patch's mean colour: {accuracy:.0%} (chance 11%)", fontsize=10)
    fig.tight_layout()
    return fig
