"""Figures for chapter 13's NeRF: the posed training views, rendered against exact views, the
quantities along one ray, and the camera-pose widget. Drawing only: rendering is
``course_utils.geometry3d.nerf``, the exact views ``course_utils.geometry3d.scene3d``."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..metrics import psnr
from ..viz import show_image
from . import nerf, rays, scene3d


def show_comparison(rows: dict[str, Sequence], titles: Sequence[str]) -> plt.Figure:
    """A grid of views: one row per entry of ``rows`` (name -> images (H, W, 3)), one column
    per title."""
    names = list(rows)
    fig, axes = plt.subplots(len(names), len(titles), figsize=(1.9 * len(titles), 2.0 * len(names)),
                             squeeze=False)
    for i, name in enumerate(names):
        for j, image in enumerate(rows[name]):
            show_image(axes[i, j], np.asarray(image), title=f"{name}\n{titles[j]}" if j == 0 else titles[j])
    fig.tight_layout()
    return fig


@torch.no_grad()
def show_ray(model, azimuth: float, elevation: float, size: int, row: int, col: int,
             n_samples: int = 64) -> plt.Figure:
    """Density, transmittance and rendering weights along one pixel's ray, with the exact
    depth of the surface it hits (from the ray tracer)."""
    origins, directions = rays.camera_rays(azimuth, elevation, size)
    k = row * size + col
    o, d = origins[k:k + 1], directions[k:k + 1]
    points, depths, deltas, _ = nerf.ray_samples(o, d, n_samples)
    sigmas, colors = model(points)
    _, weights = nerf.volume_render(sigmas, colors, deltas)
    transmittance = nerf.transmittance(sigmas, deltas)
    true_depth = float(scene3d.trace(o, d)[1])
    fig, ax = plt.subplots(figsize=(6.0, 2.8))
    t = depths[0].numpy()
    ax.plot(t, sigmas[0].numpy() / max(float(sigmas.max()), 1e-9), label="density (scaled to 1)")
    ax.plot(t, transmittance[0].numpy(), label="transmittance T")
    ax.plot(t, weights[0].numpy(), label="weight w = T alpha")
    if np.isfinite(true_depth):
        ax.axvline(true_depth, color="black", ls="--", label="true surface")
    ax.set_xlabel("depth along the ray")
    ax.set_title(f"pixel ({row}, {col}): weights sum to {float(weights.sum()):.3f}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def show_novel_view(azimuth: float, elevation: float, model, size: int = 32) -> plt.Figure:
    """Widget: the field rendered from a camera pose beside the exact view, with the PSNR."""
    rendered = nerf.render_view(model, azimuth, elevation, size).clamp(0, 1).numpy()
    truth = scene3d.render(azimuth, elevation, size).numpy()
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.6))
    show_image(axes[0], rendered, title=f"NeRF, PSNR {psnr(truth, rendered):.1f} dB")
    show_image(axes[1], truth, title="exact (ray traced)")
    show_image(axes[2], np.abs(rendered - truth).mean(axis=-1), title="|error|", cmap="magma",
               vmin=0, vmax=0.5)
    fig.suptitle(f"azimuth {azimuth:.0f} deg, elevation {elevation:.0f} deg", fontsize=9)
    fig.tight_layout()
    return fig
