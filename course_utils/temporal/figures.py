"""Figures for chapter 05 (video): clips, space-time responses, recurrent gradients, futures,
tree embeddings. Drawing only: the numbers come from video.py, rnn.py, future.py and
hyperbolic.py."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from ..viz import show_image
from .rnn import gradient_vs_distance


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def show_clip(frames, title: str = "", max_frames: int = 8) -> plt.Figure:
    """A strip of frames: (T, H, W) or (T, H, W, C)."""
    frames = _numpy(frames)
    if frames.ndim not in (3, 4):
        raise ValueError(f"frames must be (T, H, W) or (T, H, W, C), got shape {frames.shape}")
    shown = min(len(frames), max_frames)
    fig, axes = plt.subplots(1, shown, figsize=(1.5 * shown, 1.8), squeeze=False)
    for t, ax in enumerate(axes[0]):
        image = frames[t]
        if image.dtype == np.uint8:
            image = image / 255.0
        show_image(ax, image, title=f"t = {t}")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def show_motion_response(clip, response, t: int = 0) -> plt.Figure:
    """Frame t of ``clip`` (T, H, W) beside the space-time filters' outputs at t.

    ``response``: (2, T, H, W), the rightward and leftward filters' outputs (motion_kernels).
    """
    clip, response = _numpy(clip), _numpy(response)
    if clip.ndim != 3 or response.ndim != 4 or response.shape[1:] != clip.shape:
        raise ValueError(f"clip must be (T, H, W) and response (2, T, H, W), got {clip.shape} "
                         f"and {response.shape}")
    if not 0 <= t < len(clip):
        raise ValueError(f"t must lie in [0, {len(clip) - 1}], got {t}")
    limit = float(np.abs(response).max()) or 1.0
    fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.7))
    show_image(axes[0], clip[t], title=f"frame t = {t}")
    for ax, r, name in zip(axes[1:], response, ("rightward", "leftward")):
        show_image(ax, r[t], signed=True, vmin=-limit, vmax=limit,
                   title=f"{name} filter: sum of positive part {np.clip(r[t], 0, None).sum():.1f}")
    fig.tight_layout()
    return fig


def show_future_leak(leaks: Mapping[str, Sequence[float]], frame: int) -> plt.Figure:
    """Bars per output frame: the largest output change after input ``frame`` was changed."""
    fig, ax = plt.subplots(figsize=(6.4, 2.8))
    width = 0.8 / len(leaks)
    for i, (name, leak) in enumerate(leaks.items()):
        leak = _numpy(leak)
        ax.bar(np.arange(len(leak)) + i * width - 0.4 + width / 2, leak, width, label=name)
    ax.axvline(frame - 0.5, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("output frame t")
    ax.set_ylabel("max |change of output|")
    ax.set_title(f"input frame {frame} changed: which outputs move?", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_gradient_distance(curves: Mapping[str, Sequence[float]], title: str = "") -> plt.Figure:
    """||dL/dx_t|| against the distance T - 1 - t from the end, log scale, one curve per model."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    for name, norms in curves.items():
        norms = _numpy(norms)
        ax.semilogy(np.arange(len(norms)), norms, label=name)
    ax.set_xlabel("distance in time from the last step (T - 1 - t)")
    ax.set_ylabel("||dL / dx_t||")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_rnn_vs_lstm(steps: int = 60, forget_bias: float = 0.0) -> plt.Figure:
    """Widget: gradient vs distance for a tanh RNN and an LSTM whose forget-gate bias is
    raised by ``forget_bias`` (hidden 32, seeded weights)."""

    torch.manual_seed(0)
    models = {"vanilla RNN": nn.RNN(1, 32), f"LSTM, forget bias +{forget_bias:g}": nn.LSTM(1, 32)}
    lstm = models[f"LSTM, forget bias +{forget_bias:g}"]
    with torch.no_grad():
        lstm.bias_hh_l0[32:64] += forget_bias  # gates i, f, g, o: f is the second block
    curves = {name: gradient_vs_distance(model, int(steps)) for name, model in models.items()}
    return show_gradient_distance(curves, f"T = {int(steps)} steps")


def show_clipping(histories: Mapping[str, Mapping[str, Sequence[float]]]) -> plt.Figure:
    """Loss and gradient norm per SGD step for each training run (``train_recall_rnn``)."""
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.1))
    for name, history in histories.items():
        axes[0].plot(history["loss"], lw=0.8,
                     label=f"{name}: accuracy {history['accuracy']:.0%}")
        axes[1].semilogy(history["grad_norm"], lw=0.8, label=name)
    axes[0].axhline(np.log(2), color="grey", ls="--", lw=0.8, label="chance: ln 2")
    axes[0].set_xlabel("SGD step")
    axes[0].set_ylabel("training loss")
    axes[1].set_xlabel("SGD step")
    axes[1].set_ylabel("gradient norm (before clipping)")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_futures(past, futures, predictions, title: str = "", examples: Sequence[int] = (0, 1, 2)
                 ) -> plt.Figure:
    """Each panel: the observed track, the possible futures (green) and the guesses (red x).

    past: (N, 2P), futures: (N, M, 2), predictions: (N, K, 2).
    """
    past, futures, predictions = _numpy(past), _numpy(futures), _numpy(predictions)
    fig, axes = plt.subplots(1, len(examples), figsize=(2.8 * len(examples), 2.8), squeeze=False)
    for ax, i in zip(axes[0], examples):
        track = past[i].reshape(-1, 2)
        ax.plot(track[:, 0], track[:, 1], "o-", color="tab:blue", ms=3, label="past")
        for future in futures[i]:
            ax.plot([track[-1, 0], future[0]], [track[-1, 1], future[1]], color="tab:green", lw=0.8)
        ax.plot(futures[i, :, 0], futures[i, :, 1], "o", color="tab:green", ms=6,
                label="possible futures")
        ax.plot(predictions[i, :, 0], predictions[i, :, 1], "x", color="tab:red", ms=9, mew=2,
                label="guesses")
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def show_heads(results: Mapping[int, Mapping], heads: int = 3) -> plt.Figure:
    """Widget: the futures predicted by the model with ``heads`` heads (precomputed ``results``
    maps K to {"past", "futures", "predictions", "errors"})."""
    if heads not in results:
        raise ValueError(f"heads must be one of {sorted(results)}, got {heads}")
    r = results[heads]
    e = r["errors"]
    return show_futures(r["past"], r["futures"], r["predictions"],
                        title=f"K = {heads}: guess to nearest future {e['guess_to_nearest_future']:.3f}, "
                              f"future to nearest guess {e['future_to_nearest_guess']:.3f}")


def show_tree_embeddings(parent, embeddings: Mapping[str, np.ndarray],
                         distortions: Mapping[str, Mapping[str, float]]) -> plt.Figure:
    """The tree's edges drawn in each embedding (the Poincare disk with its unit circle)."""
    parent = np.asarray(parent)
    fig, axes = plt.subplots(1, len(embeddings), figsize=(4.2 * len(embeddings), 4.2), squeeze=False)
    for ax, (name, points) in zip(axes[0], embeddings.items()):
        points = _numpy(points)
        for child in range(1, len(parent)):
            ax.plot(*points[[parent[child], child]].T, color="grey", lw=0.8)
        ax.scatter(points[:, 0], points[:, 1], c=np.arange(len(points)) == 0, cmap="coolwarm", s=12,
                   zorder=3)
        if name == "poincare":
            ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="black", lw=0.8))
        d = distortions[name]
        ax.set_title(f"{name}: average distortion {d['average']:.3f}, worst {d['worst']:.2f}",
                     fontsize=9)
        ax.set_aspect("equal")
    fig.tight_layout()
    return fig
