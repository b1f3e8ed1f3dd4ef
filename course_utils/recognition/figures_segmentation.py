"""Figures for the segmentation part of chapter 04 (upsampling, U-Net predictions).

Each ``show_*`` returns a matplotlib Figure; the notebook wraps some of them in widgets.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from ..metrics import mean_iou
from ..viz import IMAGE_CMAP, MAGNITUDE_CMAP, show_image
from .segmentation import (
    max_unpool,
    transposed_conv2d,
    transposed_conv_output_size,
    upsample_nearest,
)

#: Label map colours: background, square, circle, triangle.
LABEL_NAMES = ("background", "square", "circle", "triangle")
LABEL_CMAP = ListedColormap(["#202020", "#e6550d", "#31a354", "#3182bd"])


def bilinear_kernel(factor: int) -> torch.Tensor:
    """(2 * factor, 2 * factor) tent kernel: a transposed convolution with stride ``factor``,
    padding ``factor // 2`` and this kernel is bilinear interpolation (away from the border)."""
    size = 2 * factor
    centre = (size - 1) / 2
    tent = 1 - torch.abs(torch.arange(size, dtype=torch.float32) - centre) / factor
    return tent[:, None] * tent[None, :]


def upsample_three_ways(x: torch.Tensor, factor: int = 2) -> dict[str, torch.Tensor]:
    """Max-pool ``x: (H, W)`` by ``factor`` and bring it back to (H, W) three ways.

    Returns a dict of (H, W) tensors: ``input``, ``pooled`` (H/f, W/f), ``nearest``,
    ``max-unpool`` (values return to the argmax positions) and ``transposed conv`` (a stride-f
    transposed convolution with the bilinear tent kernel). H and W must be multiples of f.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 2:
        raise ValueError(f"x must be an (H, W) tensor, got {getattr(x, 'shape', type(x))}")
    if x.shape[0] % factor or x.shape[1] % factor:
        raise ValueError(f"x's height and width must be multiples of factor={factor}, "
                         f"got shape {tuple(x.shape)}")
    x4 = x.float()[None, None]
    pooled, indices = F.max_pool2d(x4, factor, return_indices=True)
    kernel = bilinear_kernel(factor)[None, None]
    return {
        "input": x4[0, 0],
        "pooled": pooled[0, 0],
        "nearest": upsample_nearest(pooled, factor)[0, 0],
        "max-unpool": max_unpool(pooled, indices, tuple(x.shape))[0, 0],
        "transposed conv": transposed_conv2d(pooled, kernel, stride=factor,
                                             padding=factor // 2)[0, 0],
    }


def show_upsampling(x: torch.Tensor, factor: int = 2, annotate: bool = False,
                    size: float = 2.4) -> plt.Figure:
    """Input, its max-pooled version and the three upsamplings side by side (one row)."""
    results = upsample_three_ways(x, factor)
    fig, axes = plt.subplots(1, len(results), figsize=(size * len(results), size + 0.3))
    vmin, vmax = float(results["input"].min()), float(results["input"].max())
    for ax, (name, img) in zip(axes, results.items()):
        show_image(ax, img, f"{name} {tuple(img.shape)}", cmap=IMAGE_CMAP, vmin=vmin, vmax=vmax)
        if annotate:
            for (r, c), v in np.ndenumerate(img.numpy()):
                ax.text(c, r, f"{v:.3g}", ha="center", va="center", fontsize=7,
                        color="white" if v < (vmin + vmax) / 2 else "black")
    fig.tight_layout()
    return fig


def show_transposed_conv(stride: int = 2, kernel_size: int = 3, padding: int = 0,
                         input_size: int = 3) -> plt.Figure:
    """Transposed convolution of an all-ones input with an all-ones kernel.

    Each output pixel counts how many kernel "stamps" overlap it: the checkerboard of a
    stride larger than the kernel allows, and the output size from the formula.
    """
    x = torch.ones(1, 1, input_size, input_size)
    weight = torch.ones(1, 1, kernel_size, kernel_size)
    out = transposed_conv2d(x, weight, stride=stride, padding=padding)[0, 0]
    predicted = transposed_conv_output_size(input_size, kernel_size, stride, padding)
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.6), gridspec_kw={"width_ratios": [1, 2]})
    show_image(axes[0], x[0, 0], f"input {input_size}x{input_size} (ones)", cmap=IMAGE_CMAP,
               vmin=0, vmax=1)
    show_image(axes[1], out, f"output {tuple(out.shape)}: overlapping stamps", cmap=MAGNITUDE_CMAP,
               vmin=0, vmax=max(float(out.max()), 1))
    for ax, values in ((axes[0], x[0, 0]), (axes[1], out)):
        for (r, c), v in np.ndenumerate(values.numpy().astype(int)):
            ax.text(c, r, str(v), ha="center", va="center", fontsize=7, color="grey")
    fig.suptitle(f"(n-1)s - 2p + k = ({input_size}-1)*{stride} - 2*{padding} + {kernel_size} "
                 f"= {predicted}", fontsize=10)
    fig.tight_layout()
    return fig


def show_label_map(ax, labels, title: str | None = None) -> None:
    """Draw an (H, W) label map with the fixed class colours."""
    show_image(ax, labels, title, cmap=LABEL_CMAP, vmin=-0.5, vmax=len(LABEL_NAMES) - 0.5,
               interpolation="nearest")


def show_segmentation(images: torch.Tensor, truth: torch.Tensor,
                      predictions: Mapping[str, torch.Tensor], index: int = 0,
                      size: float = 2.4) -> plt.Figure:
    """One held-out scene: image, ground truth and each model's predicted label map.

    images: (N, 3, H, W); truth: (N, H, W); predictions: name -> (N, H, W) label maps.
    Each prediction's title carries its mIoU on this scene.
    """
    n = len(images)
    if not 0 <= index < n:
        raise ValueError(f"index must lie in [0, {n}), got {index}")
    for name, pred in predictions.items():
        if pred.shape != truth.shape:
            raise ValueError(f"prediction {name!r} must have shape {tuple(truth.shape)}, "
                             f"got {tuple(pred.shape)}")
    cols = 2 + len(predictions)
    fig, axes = plt.subplots(1, cols + 1, figsize=(size * cols + 0.9, size + 0.3),
                             gridspec_kw={"width_ratios": [1] * cols + [0.35]})
    show_image(axes[0], images[index], f"scene {index}")
    show_label_map(axes[1], truth[index], "ground truth")
    for ax, (name, pred) in zip(axes[2:], predictions.items()):
        score = mean_iou(pred[index], truth[index], len(LABEL_NAMES))
        show_label_map(ax, pred[index], f"{name}\nmIoU {score:.2f}")
    legend = axes[-1]
    legend.axis("off")
    for k, name in enumerate(LABEL_NAMES):
        legend.add_patch(plt.Rectangle((0, 0.8 - 0.2 * k), 0.25, 0.12, color=LABEL_CMAP(k),
                                       transform=legend.transAxes))
        legend.text(0.35, 0.86 - 0.2 * k, name, transform=legend.transAxes, fontsize=8,
                    va="center")
    fig.tight_layout()
    return fig


def show_segmentations(images: torch.Tensor, truth: torch.Tensor,
                       predictions: Mapping[str, torch.Tensor],
                       indices: Sequence[int] = (0, 1, 2, 3), size: float = 1.8) -> plt.Figure:
    """A grid: one row per scene in ``indices``; columns image, truth, each prediction,
    with a colour key for the classes underneath."""
    names, indices = list(predictions), list(indices)
    cols = 2 + len(names)
    key_cols = len(LABEL_NAMES) if cols >= 3 else 2
    key_height = 0.25 * -(-len(LABEL_NAMES) // key_cols) + 0.15       # inches for the key
    fig, axes = plt.subplots(len(indices), cols,
                             figsize=(size * cols, size * len(indices) + key_height),
                             squeeze=False)
    for row, i in zip(axes, indices):
        show_image(row[0], images[i])
        show_label_map(row[1], truth[i])
        for ax, name in zip(row[2:], names):
            show_label_map(ax, predictions[name][i])
    for ax, title in zip(axes[0], ["image", "ground truth"] + names):
        ax.set_title(title, fontsize=9)
    key = [Patch(color=LABEL_CMAP(k), label=name) for k, name in enumerate(LABEL_NAMES)]
    fig.legend(handles=key, loc="lower center", ncol=key_cols, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, key_height / fig.get_figheight(), 1, 1))
    return fig
