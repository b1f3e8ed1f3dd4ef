"""Figures for chapter 07 (interpretability): attribution maps side by side, top patches of
a unit, similarity matrices, adversarial examples, class visualisations. Drawing only: the
numbers come from interpret.py and representations.py."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..viz import show_image
from .interpret import fgsm, occlusion


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def show_attributions(images, maps: Mapping[str, torch.Tensor], titles: Sequence[str] | None = None
                      ) -> plt.Figure:
    """Rows: images; columns: the input, then one map per method (channel-summed |value|).

    images: (N, 1, H, W); maps: name -> (N, C, H, W).
    """
    images = _numpy(images)
    n, cols = len(images), 1 + len(maps)
    fig, axes = plt.subplots(n, cols, figsize=(1.9 * cols, 1.9 * n), squeeze=False)
    for i in range(n):
        show_image(axes[i, 0], images[i, 0], title=titles[i] if titles else "input")
        for j, (name, attribution) in enumerate(maps.items(), start=1):
            show_image(axes[i, j], np.abs(_numpy(attribution[i])).sum(axis=0), cmap="inferno",
                       title=name if i == 0 else None)
    fig.tight_layout()
    return fig


def show_occlusion(model, images, targets, window: int = 4, stride: int = 2) -> plt.Figure:
    """Widget: occlusion maps of ``images`` (N, 1, H, W) for their ``targets``, live window
    and stride (interpret.occlusion, baseline 0)."""
    maps = occlusion(model, images, targets, int(window), int(stride))
    fig, axes = plt.subplots(2, len(images), figsize=(1.9 * len(images), 4.0), squeeze=False)
    limit = float(maps.abs().max()) or 1.0
    for i in range(len(images)):
        show_image(axes[0, i], _numpy(images[i, 0]), title=f"class {int(targets[i])}")
        show_image(axes[1, i], _numpy(maps[i, 0]), signed=True, vmin=-limit, vmax=limit,
                   title="score drop")
    fig.suptitle(f"occlusion: {int(window)} x {int(window)} patch, stride {int(stride)}", fontsize=10)
    fig.tight_layout()
    return fig


def show_top_patches(patches: Mapping[int, Sequence], unit: int = 0) -> plt.Figure:
    """Widget: the input patches that activate ``unit`` most (precomputed: unit -> list of
    (patch (1, s, s), label, value))."""
    if unit not in patches:
        raise ValueError(f"unit must be one of {sorted(patches)}, got {unit}")
    chosen = patches[unit]
    fig, axes = plt.subplots(1, len(chosen), figsize=(1.3 * len(chosen), 1.7), squeeze=False)
    for ax, (patch, label, value) in zip(axes[0], chosen):
        show_image(ax, _numpy(patch)[0], title=f"{label}: {value:.1f}")
    fig.suptitle(f"unit {unit}: strongest patches (true class: activation)", fontsize=9)
    fig.tight_layout()
    return fig


def show_matrices(matrices: Mapping[str, np.ndarray]) -> plt.Figure:
    """Class-by-class matrices side by side (e.g. embedding similarity and confusion)."""
    fig, axes = plt.subplots(1, len(matrices), figsize=(4.1 * len(matrices), 3.6), squeeze=False)
    for ax, (name, matrix) in zip(axes[0], matrices.items()):
        matrix = _numpy(matrix)
        im = ax.imshow(matrix, cmap="viridis")
        ax.set_title(name, fontsize=9)
        ax.set_xticks(range(len(matrix)))
        ax.set_yticks(range(len(matrix)))
        ax.set_xlabel("class")
        ax.set_ylabel("class")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def show_fgsm(model, images, labels, epsilon: float = 0.1) -> plt.Figure:
    """Widget: clean images, FGSM images at ``epsilon`` and the perturbation (amplified to
    the full grey range), with the model's predictions."""
    adversarial = fgsm(model, images, labels, float(epsilon))
    with torch.no_grad():
        clean_pred = model(images).argmax(1)
        adv_pred = model(adversarial).argmax(1)
    n = len(images)
    fig, axes = plt.subplots(3, n, figsize=(1.8 * n, 5.6), squeeze=False)
    for i in range(n):
        show_image(axes[0, i], _numpy(images[i, 0]), title=f"predicted {int(clean_pred[i])}")
        show_image(axes[1, i], _numpy(adversarial[i, 0]), title=f"predicted {int(adv_pred[i])}")
        show_image(axes[2, i], _numpy(adversarial[i, 0] - images[i, 0]), signed=True,
                   title="perturbation")
    fig.suptitle(f"FGSM, epsilon = {float(epsilon):.3f}: clean / adversarial / difference",
                 fontsize=10)
    fig.tight_layout()
    return fig


def show_accuracy_curve(epsilons: Sequence[float], accuracies: Sequence[float]) -> plt.Figure:
    """Accuracy against the FGSM epsilon."""
    fig, ax = plt.subplots(figsize=(5.2, 3.0))
    ax.plot(epsilons, accuracies, marker="o")
    ax.set_xlabel("epsilon (max change per pixel)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    fig.tight_layout()
    return fig


def show_class_images(images, cls: int | None = None) -> plt.Figure:
    """Class visualisations (K, 1, H, W): all of them, or one large (widget)."""
    images = _numpy(images)
    if cls is not None:
        if not 0 <= cls < len(images):
            raise ValueError(f"cls must lie in [0, {len(images) - 1}], got {cls}")
        fig, ax = plt.subplots(figsize=(3, 3))
        show_image(ax, images[cls, 0], signed=True, title=f"class {cls}")
        return fig
    fig, axes = plt.subplots(1, len(images), figsize=(1.4 * len(images), 1.7), squeeze=False)
    for k, ax in enumerate(axes[0]):
        show_image(ax, images[k, 0], signed=True, title=str(k))
    fig.tight_layout()
    return fig
