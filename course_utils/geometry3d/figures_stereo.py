"""Figures for chapter 13's stereo and photometric stereo: the stereo geometry and its
depth error, stereograms, disparity maps, and the widgets' plain functions. Drawing only: the
numbers come from stereo.py, photometric.py and lambertian.py."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..viz import show_image
from .lambertian import light_directions, render_lambertian
from .stereo import block_matching, disparity_errors

DISPARITY_CMAP = "magma"


def _normal_rgb(normals: np.ndarray) -> np.ndarray:
    """Unit normals (H, W, 3) -> colours (n + 1) / 2, black where NaN."""
    return np.nan_to_num((np.asarray(normals) + 1) / 2)


def show_stereo_geometry(focal: float, baseline: float, depth: float, depths: Sequence[float],
                         measured_error: Sequence[float],
                         predicted_error: Sequence[float]) -> plt.Figure:
    """Left: two rectified cameras seen from above, a point at ``depth`` and its two rays;
    right: depth error against distance, measured (dots) and predicted Z^2 / (f B) dd (line).

    ``focal`` in pixels, ``baseline`` and depths in metres; the image planes are drawn at a
    display distance (the true f is in pixels), the title gives d = f B / Z.
    """
    fig, (ax, ax_err) = plt.subplots(1, 2, figsize=(10, 3.8))
    screen = 0.18 * depth
    px = baseline / 2
    for cx, name in ((0.0, "left"), (baseline, "right")):
        ax.plot([cx - 0.35 * baseline, cx + 0.35 * baseline], [screen, screen], color="grey")
        ax.plot([cx, px], [0, depth], color="C0", lw=1)
        hit = cx + (px - cx) * screen / depth
        ax.plot(hit, screen, "o", color="C1", ms=4)
        ax.plot(cx, 0, "ks", ms=7)
        outward = -1 if name == "left" else 1
        ax.annotate(f"{name} camera", (cx, 0), textcoords="offset points",
                    xytext=(8 * outward, -3), ha="right" if outward < 0 else "left", fontsize=8)
    ax.plot(px, depth, "r*", ms=12)
    ax.annotate(f"point, Z = {depth:g} m", (px, depth), textcoords="offset points",
                xytext=(8, -4), fontsize=8)
    ax.annotate("", xy=(baseline, -0.07 * depth), xytext=(0, -0.07 * depth),
                arrowprops={"arrowstyle": "<->"})
    ax.text(baseline / 2, -0.14 * depth, f"baseline B = {baseline:g} m", ha="center", fontsize=8)
    ax.set_ylim(-0.2 * depth, 1.1 * depth)
    ax.set_xlim(-0.9 * baseline, 1.9 * baseline)
    ax.set_ylabel("depth Z (m)")
    ax.set_title(f"f = {focal:g} px: disparity d = f B / Z = {focal * baseline / depth:.1f} px",
                 fontsize=9)
    ax_err.loglog(depths, measured_error, ".", ms=3, label="measured (disparity rounded)")
    ax_err.loglog(depths, predicted_error, "-", color="C3", label="Z^2 / (f B) x 0.5 px")
    ax_err.set_xlabel("distance Z (m)")
    ax_err.set_ylabel("|depth error| (m)")
    ax_err.set_title("depth error grows with the square of the distance", fontsize=9)
    ax_err.legend(fontsize=8)
    ax_err.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def show_stereogram(left, right, truth, estimate=None, title: str = "") -> plt.Figure:
    """The random-dot pair, the true disparity and (optionally) the recovered one, (H, W) each;
    ``title`` goes above the recovered map (e.g. the share of correct pixels)."""
    panels = [(left, "left image", "gray"), (right, "right image", "gray"),
              (truth, "true disparity", DISPARITY_CMAP)]
    if estimate is not None:
        panels.append((estimate, title or "block matching", DISPARITY_CMAP))
    limit = float(np.nanmax(truth))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.8 * len(panels), 2.6))
    for ax, (image, name, cmap) in zip(axes, panels):
        kwargs = {"vmin": 0, "vmax": limit} if cmap == DISPARITY_CMAP else {"vmin": 0, "vmax": 1}
        show_image(ax, np.asarray(image, dtype=float), title=name, cmap=cmap, **kwargs)
    fig.tight_layout()
    return fig


def show_disparity_maps(maps: Mapping[str, np.ndarray], truth, titles: Sequence[str] | None = None
                        ) -> plt.Figure:
    """The true disparity, then each named map (H, W) on the same colour scale (NaN: white)."""
    names = ["ground truth"] + list(maps)
    images = [np.asarray(truth, dtype=float)] + [np.asarray(m, dtype=float) for m in maps.values()]
    titles = ["ground truth"] + list(titles if titles is not None else maps)
    if len(titles) != len(names):
        raise ValueError(f"titles must have one entry per map ({len(maps)}), got {len(titles) - 1}")
    vmax = float(np.nanmax(np.where(np.isfinite(images[0]), images[0], np.nan)))
    cols = min(len(images), 4)
    rows = -(-len(images) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, image, name in zip(axes.flat, images, titles):
        show_image(ax, np.where(np.isfinite(image), image, np.nan), title=name,
                   cmap=DISPARITY_CMAP, vmin=0, vmax=vmax)
    for ax in list(axes.flat)[len(images):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def show_block_matching(window: int = 9, cost: str = "sad", left=None, right=None, truth=None,
                        max_disparity: int = 32) -> plt.Figure:
    """Widget: block matching of (left, right) with this window and cost beside the truth;
    the title gives the bad-pixel rate (|error| > 1 px) and the mean error on valid pixels."""
    if left is None or right is None or truth is None:
        raise ValueError("left, right and truth must be given (pass them with fixed(...))")
    estimate = block_matching(left, right, max_disparity, window, cost)
    scores = disparity_errors(estimate, truth)
    fig = show_disparity_maps({"estimate": estimate}, truth, titles=[
        f"{cost.upper()}, window {window}: {scores['bad_rate']:.1%} bad, "
        f"mean error {scores['mean_error']:.2f} px"])
    return fig


def show_lit_surface(azimuth: float = 45.0, elevation: float = 45.0, normals=None,
                     albedo=None) -> plt.Figure:
    """Widget: the Lambertian surface rendered under one light (azimuth, elevation in degrees),
    beside its normal map (colours (n + 1) / 2) and its attached shadow (n . l <= 0)."""
    if normals is None or albedo is None:
        raise ValueError("normals and albedo must be given (pass them with fixed(...))")
    normals = np.asarray(normals, dtype=float)
    light = light_directions(azimuth, elevation)
    image = render_lambertian(normals, albedo, light)[0]
    surface = np.all(np.isfinite(normals), axis=2)
    shadow = surface & (np.nan_to_num(normals) @ light[0] <= 0)
    fig, axes = plt.subplots(1, 3, figsize=(8.4, 2.9))
    show_image(axes[0], _normal_rgb(normals), title="normal map (n + 1) / 2")
    show_image(axes[1], image, title=f"light ({light[0, 0]:.2f}, {light[0, 1]:.2f}, "
                                     f"{light[0, 2]:.2f})", cmap="gray", vmin=0, vmax=1)
    show_image(axes[2], shadow.astype(float), title=f"attached shadow: {shadow.sum()} pixels",
               cmap="gray", vmin=0, vmax=1)
    fig.tight_layout()
    return fig


def show_photometric(images, normals, albedo, error, height=None) -> plt.Figure:
    """Top: the K input images (K, H, W); bottom: estimated normal map, albedo, angular error
    (degrees, (H, W)) and, if given, the integrated height."""
    images = np.asarray(images)
    k = len(images)
    bottom = [(_normal_rgb(normals), "estimated normals", None),
              (np.asarray(albedo), "estimated albedo", "gray"),
              (np.asarray(error), f"angular error, degrees\n(mean {np.nanmean(error):.2g})",
               "viridis")]
    if height is not None:
        bottom.append((np.asarray(height), "integrated height", "viridis"))
    cols = max(k, len(bottom))
    fig, axes = plt.subplots(2, cols, figsize=(2.2 * cols, 4.6), squeeze=False)
    for i, ax in enumerate(axes[0]):
        if i < k:
            show_image(ax, images[i], title=f"light {i + 1}", cmap="gray", vmin=0, vmax=1)
        else:
            ax.axis("off")
    for i, ax in enumerate(axes[1]):
        if i < len(bottom):
            image, name, cmap = bottom[i]
            show_image(ax, image, title=name, cmap=cmap, colorbar=cmap == "viridis")
        else:
            ax.axis("off")
    fig.tight_layout()
    return fig
