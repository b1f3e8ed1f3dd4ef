"""Figures for chapter 06 (tracking): flow as arrows and as colours, Lucas-Kanade errors,
the aperture problem, colorization, the attention copy and propagated masks.

Each ``show_*`` returns a matplotlib Figure; the numbers they print in titles come from the
topical modules (``flow``, ``metrics``, ``tracking``).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import hsv_to_rgb

from ..metrics import endpoint_error
from ..validate import as_float_array
from ..viz import IMAGE_CMAP, MAGNITUDE_CMAP, show_image
from .flow import lucas_kanade
from .tracking import copy_from_reference


def flow_to_rgb(flow, max_norm: float | None = None) -> np.ndarray:
    """The usual colour coding of a flow (2, H, W) -> (H, W, 3) RGB: the hue gives the
    direction (0 = moving right, red), the saturation the length relative to ``max_norm``
    (default: the longest vector); still pixels are white."""
    flow = as_float_array(flow, "flow", 3)
    if flow.shape[0] != 2:
        raise ValueError(f"flow must be (2, H, W), got shape {flow.shape}")
    norm = np.hypot(flow[0], flow[1])
    max_norm = float(norm.max()) if max_norm is None else float(max_norm)
    hue = (np.arctan2(-flow[0], flow[1]) / (2 * np.pi)) % 1.0      # counter-clockwise on screen
    saturation = np.clip(norm / max_norm, 0, 1) if max_norm > 0 else np.zeros_like(norm)
    return hsv_to_rgb(np.stack([hue, saturation, np.ones_like(norm)], -1))


def colour_wheel(size: int = 64) -> np.ndarray:
    """(size, size, 3) key of ``flow_to_rgb``: each pixel coloured by its offset from the centre
    (white outside the unit disc)."""
    r, c = np.mgrid[0:size, 0:size] - (size - 1) / 2
    wheel = flow_to_rgb(np.stack([r, c]), max_norm=(size - 1) / 2)
    wheel[np.hypot(r, c) > (size - 1) / 2] = 1.0
    return wheel


def _arrows(ax, flow: np.ndarray, step: int, colour: str = "yellow", scale: float = 1.0):
    rows, cols = np.mgrid[step // 2:flow.shape[1]:step, step // 2:flow.shape[2]:step]
    u = flow[1, rows, cols] * scale
    v = flow[0, rows, cols] * scale
    ax.quiver(cols, rows, u, v, color=colour, angles="xy", scale_units="xy", scale=1, width=0.006)


def show_flow(frame0, frame1, flow, step: int = 6, title: str = "true flow") -> plt.Figure:
    """Both frames, the flow as arrows over frame 0, its colour coding and the colour key."""
    flow = as_float_array(flow, "flow", 3)
    fig, axes = plt.subplots(1, 4, figsize=(11, 3.0),
                             gridspec_kw={"width_ratios": [1, 1, 1, 0.5]})
    show_image(axes[0], frame0, "frame 0", cmap=IMAGE_CMAP)
    show_image(axes[1], frame1, "frame 1", cmap=IMAGE_CMAP)
    _arrows(axes[0], flow, step)
    show_image(axes[2], flow_to_rgb(flow), f"{title} (max {np.hypot(*flow).max():.1f} px)")
    show_image(axes[3], colour_wheel(), "key")
    fig.tight_layout()
    return fig


def show_flow_estimates(true_flow, estimates: Mapping[str, np.ndarray]) -> plt.Figure:
    """The true flow and each estimate colour-coded on the same scale, EPE in each title."""
    true_flow = as_float_array(true_flow, "true_flow", 3)
    scale = float(np.hypot(*true_flow).max()) or 1.0
    panels = [("true flow", true_flow)] + list(estimates.items())
    fig, axes = plt.subplots(1, len(panels), figsize=(2.5 * len(panels), 2.8))
    for ax, (name, est) in zip(np.atleast_1d(axes), panels):
        epe = endpoint_error(est, true_flow)
        show_image(ax, flow_to_rgb(est, scale), name if est is true_flow else f"{name}\nEPE {epe:.2f} px")
    fig.tight_layout()
    return fig


def show_epe_curves(xs: Sequence[float], curves: Mapping[str, Sequence[float]], xlabel: str,
                    title: str = "") -> plt.Figure:
    """End-point error against one knob, one line per method."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, ys in curves.items():
        ax.plot(xs, ys, marker="o", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean EPE (pixels)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def show_lucas_kanade(frame0, frame1, true_flow, window: int = 15, levels: int = 3
                      ) -> plt.Figure:
    """Lucas-Kanade at the chosen window and pyramid depth: its flow, the true flow, and the
    per-pixel end-point error, with the mean EPE in the title (the widget's live number)."""
    flow = lucas_kanade(frame0, frame1, window=window, levels=levels)
    true_flow = as_float_array(true_flow, "true_flow", 3)
    error = np.sqrt(((flow - true_flow) ** 2).sum(0))
    scale = float(np.hypot(*true_flow).max()) or 1.0
    fig, axes = plt.subplots(1, 3, figsize=(8.4, 3.0))
    show_image(axes[0], flow_to_rgb(true_flow, scale), "true flow")
    show_image(axes[1], flow_to_rgb(flow, scale), f"Lucas-Kanade, window {window}, {levels} level(s)")
    show_image(axes[2], error, "end-point error (px)", cmap=MAGNITUDE_CMAP, vmin=0, vmax=1,
               colorbar=True)
    fig.suptitle(f"mean EPE {endpoint_error(flow, true_flow):.3f} px", fontsize=10)
    fig.tight_layout()
    return fig


def show_aperture(frame0, eigenvalues, recovered: Mapping[str, Sequence[float]],
                  points: Mapping[str, tuple[int, int]], true_motion) -> plt.Figure:
    """The moving bar and the ratio of the structure tensor's eigenvalues (2, H, W), with the
    flow one Lucas-Kanade window recovered at named (row, col) points: arrows 12x longer, true
    motion in cyan, recovered in red."""
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4))
    show_image(axes[0], frame0, "moving bar, frame 0", cmap=IMAGE_CMAP)
    ratio = eigenvalues[1] / (eigenvalues[0] + 1e-12)
    show_image(axes[1], ratio, "smaller / larger eigenvalue", cmap=MAGNITUDE_CMAP, vmin=0,
               vmax=1, colorbar=True)
    for name, (r, c) in points.items():
        u = recovered[name]
        for ax in axes:
            ax.annotate("", (c + 12 * true_motion[1], r + 12 * true_motion[0]), (c, r),
                        arrowprops=dict(color="cyan", width=1.5, headwidth=6))
            ax.annotate("", (c + 12 * u[1], r + 12 * u[0]), (c, r),
                        arrowprops=dict(color="red", width=1.5, headwidth=6))
        axes[0].text(c - 12, r - 3, name, color="yellow", fontsize=8)
    fig.tight_layout()
    return fig


def show_colorization(grey, panels: Mapping[str, np.ndarray], scores: Mapping[str, float]
                      ) -> plt.Figure:
    """Grey input and RGB colorizations side by side, each titled with its colourfulness."""
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(2.6 * (len(panels) + 1), 2.9))
    show_image(axes[0], grey, "grey input", cmap=IMAGE_CMAP, vmin=0, vmax=1)
    for ax, (name, rgb) in zip(axes[1:], panels.items()):
        show_image(ax, rgb, f"{name}\ncolourfulness {scores[name]:.0f}")
    fig.tight_layout()
    return fig


def show_attention_copy(ref_rgb, target_rgb, ref_embedding: torch.Tensor,
                        target_embedding: torch.Tensor, temperature: float = 0.05,
                        pixel: tuple[int, int] = (16, 16), sigma: float | None = None
                        ) -> plt.Figure:
    """Colour the target frame from the reference at temperature T: the copied colours, and
    the attention of one target pixel (marked) over the reference frame. ref_rgb, target_rgb:
    (H, W, 3); embeddings (D, H, W); ``sigma``: the locality prior of ``copy_from_reference``."""
    ref = torch.as_tensor(np.asarray(ref_rgb), dtype=torch.float32).permute(2, 0, 1)[None]
    copied = copy_from_reference(ref_embedding[None], target_embedding[None], ref, temperature,
                                 sigma)
    h, w = ref.shape[2:]
    where = torch.eye(h * w).reshape(1, h * w, h, w)     # copying pixel indices gives A itself
    weights = copy_from_reference(ref_embedding[None], target_embedding[None], where,
                                  temperature, sigma)[0, :, pixel[0], pixel[1]].reshape(h, w)
    fig, axes = plt.subplots(1, 4, figsize=(10, 2.9))
    show_image(axes[0], ref_rgb, "reference frame")
    show_image(axes[1], target_rgb, "target frame (true colours)")
    show_image(axes[2], copied[0].permute(1, 2, 0).numpy(), f"copied colours, T = {temperature:g}")
    show_image(axes[3], weights.numpy(), f"attention of the marked pixel\n(max {weights.max():.2f})",
               cmap=MAGNITUDE_CMAP)
    for ax in axes[1:3]:
        ax.plot(pixel[1], pixel[0], "x", color="white", ms=8)
    fig.tight_layout()
    return fig


def show_propagation(rgb, probs: torch.Tensor, true_labels, frame: int, label: int,
                     ious: Mapping[str, Sequence[float]]) -> plt.Figure:
    """One frame of a sequence: the image, the propagated mask of ``label``, the first-frame mask
    (the copy baseline), and the IoU of both over the sequence with this frame marked."""
    pred = (probs.argmax(1) == label).numpy()
    truth = np.asarray(true_labels) == label
    fig, axes = plt.subplots(1, 4, figsize=(11, 2.9), gridspec_kw={"width_ratios": [1, 1, 1, 1.6]})
    show_image(axes[0], rgb[frame], f"frame {frame}")
    show_image(axes[1], pred[frame] * 1.0 + 0.4 * truth[frame], "propagated mask (+ truth)",
               cmap=MAGNITUDE_CMAP, vmin=0, vmax=1.4)
    show_image(axes[2], truth[0] * 1.0 + 0.4 * truth[frame], "first-frame mask (+ truth)",
               cmap=MAGNITUDE_CMAP, vmin=0, vmax=1.4)
    for name, values in ious.items():
        axes[3].plot(range(len(values)), values, marker=".", label=name)
    axes[3].axvline(frame, color="grey", ls=":")
    axes[3].set_xlabel("frame")
    axes[3].set_ylabel("mask IoU")
    axes[3].set_ylim(0, 1.05)
    axes[3].legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_training_curves(curves: Mapping[str, Sequence[float]], ylabel: str = "loss",
                         smooth: int = 10) -> plt.Figure:
    """Per-step training losses (a running mean over ``smooth`` steps), one panel per curve."""
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 2.8), squeeze=False)
    for ax, (name, values) in zip(axes[0], curves.items()):
        values = np.asarray(values, dtype=np.float64)
        k = max(1, min(smooth, len(values)))
        ax.plot(np.arange(k, len(values) + 1), np.convolve(values, np.ones(k) / k, "valid"))
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
