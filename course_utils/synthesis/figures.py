"""Figures for chapter 09 (synthesis): two views of the same data, training curves, rows of
images, the VAE's latent space, the beta trade-off, GAN snapshots and gradients.
Drawing only: the numbers come from generative.py, vae.py, gan.py and cyclegan.py."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torchvision.utils import make_grid

from ..viz import show_image
from .generative import class_log_joint, modes_covered

COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red")


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _smooth(values: Sequence[float], window: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


def show_two_views(x, y, linear_model, means, covariances, priors, samples, sample_labels,
                   extent: float = 5.0) -> plt.Figure:
    """Left: the data and logistic regression's boundary (score 0). Right: the density of the
    per-class Gaussians (contours of log p(x)) with points sampled from them.

    x: (N, 2), y: (N,); linear_model has ``scores(points (M, 2)) -> (M,)``; means (K, 2),
    covariances (K, 2, 2), priors (K,); samples: (S, 2) with sample_labels (S,).
    """
    ticks = np.linspace(-extent, extent, 121)
    gx, gy = np.meshgrid(ticks, ticks)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
    x, y = _numpy(x), _numpy(y)
    for k in np.unique(y):
        axes[0].scatter(*x[y == k].T, s=8, color=COLORS[k % 4], label=f"class {k}")
    axes[0].contour(gx, gy, linear_model.scores(grid).reshape(gx.shape), levels=[0.0], colors="k")
    axes[0].set_title("discriminative: p(y | x), a boundary only")
    log_joint = class_log_joint(torch.as_tensor(grid, dtype=means.dtype), means, covariances, priors)
    density = torch.logsumexp(log_joint, dim=1).reshape(gx.shape).numpy()
    axes[1].contour(gx, gy, density, levels=np.linspace(density.max() - 8, density.max(), 6),
                    cmap="Greys")
    samples, sample_labels = _numpy(samples), _numpy(sample_labels)
    for k in np.unique(sample_labels):
        axes[1].scatter(*samples[sample_labels == k].T, s=8, marker="x", color=COLORS[k % 4],
                        label=f"sampled class {k}")
    axes[1].set_title("generative: p(x, y), contours of p(x) and new samples")
    for ax in axes:
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_aspect("equal")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def show_training_curves(history: Mapping[str, Sequence[float]], title: str = "",
                         smooth: int = 25, ylabel: str = "nats per image") -> plt.Figure:
    """One line per curve (moving average over ``smooth`` steps), on its own axes."""
    if not history:
        raise ValueError("history must hold at least one curve")
    fig, axes = plt.subplots(1, len(history), figsize=(4.2 * len(history), 3.0), squeeze=False)
    for ax, (name, values) in zip(axes[0], history.items()):
        curve = _smooth(values, smooth)
        ax.plot(np.arange(len(curve)) + (len(values) - len(curve)) + 1, curve)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_rows(rows: Mapping[str, torch.Tensor], size: float = 1.0, highlight: int | None = None
              ) -> plt.Figure:
    """A grid of images, one labelled row per entry: rows: name -> (N, 1, H, W) in [0, 1].
    ``highlight`` frames that column in red."""
    if not rows:
        raise ValueError("rows must hold at least one row of images")
    cols = max(len(images) for images in rows.values())
    fig, axes = plt.subplots(len(rows), cols, figsize=(size * cols + 1.4, size * len(rows) + 0.3),
                             squeeze=False)
    for r, (name, images) in enumerate(rows.items()):
        for c in range(cols):
            ax = axes[r, c]
            if c >= len(images):
                ax.axis("off")
                continue
            show_image(ax, _numpy(images[c, 0]), vmin=0, vmax=1)
            if c == highlight:
                for spine in ax.spines.values():
                    spine.set(color="red", linewidth=2.5)
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig


@torch.no_grad()
def show_interpolation(model, start: torch.Tensor, end: torch.Tensor, t: float = 0.5,
                       steps: int = 9) -> plt.Figure:
    """Widget: decode (1 - t) mu(start) + t mu(end) for a VAE / autoencoder ``model``; the row
    shows ``steps`` evenly spaced points of the path with the nearest one to ``t`` framed, and
    the large panel the decoded image at exactly ``t``. start, end: (1, H, W)."""
    codes, _ = model.encode(torch.stack([start, end]))
    ts = torch.linspace(0, 1, steps)[:, None]
    path = model.decode((1 - ts) * codes[:1] + ts * codes[1:])
    here = model.decode((1 - t) * codes[:1] + t * codes[1:])
    fig = plt.figure(figsize=(1.0 * steps + 2.6, 2.4))
    grid = fig.add_gridspec(1, steps + 3)
    big = fig.add_subplot(grid[0, :3])
    show_image(big, _numpy(here[0, 0]), vmin=0, vmax=1, title=f"decoded at t = {t:.2f}")
    for i in range(steps):
        ax = fig.add_subplot(grid[0, 3 + i])
        show_image(ax, _numpy(path[i, 0]), vmin=0, vmax=1, title=f"{float(ts[i]):.2f}")
        if i == int(round(t * (steps - 1))):
            for spine in ax.spines.values():
                spine.set(color="red", linewidth=2.5)
    return fig


@torch.no_grad()
def show_prior_decodes(models: Mapping[str, torch.nn.Module], z1: float = 0.0, z2: float = 0.0
                       ) -> plt.Figure:
    """Widget: each model decodes the code z = (z1, z2, 0, ..., 0), one panel per model."""
    fig, axes = plt.subplots(1, len(models), figsize=(2.4 * len(models), 2.6), squeeze=False)
    for ax, (name, model) in zip(axes[0], models.items()):
        z = torch.zeros(1, model.latent)
        z[0, 0], z[0, 1 % model.latent] = z1, z2
        show_image(ax, _numpy(model.decode(z)[0, 0]), vmin=0, vmax=1, title=name)
    fig.suptitle(f"z = ({z1:.1f}, {z2:.1f}, 0, ...)", fontsize=10)
    fig.tight_layout()
    return fig


def show_beta(results: Mapping[float, Mapping], index: int = 0) -> plt.Figure:
    """Widget over precomputed VAE runs: results: beta -> {"reconstruction", "kl",
    "confident", "samples": (S, 1, H, W)}; ``index`` picks a beta in increasing order.
    Left: test reconstruction error and the share of samples judged digit-like against beta,
    the chosen beta marked; right: its first 24 samples."""
    betas = sorted(results)
    if not 0 <= index < len(betas):
        raise ValueError(f"index must lie in [0, {len(betas) - 1}], got {index}")
    beta = betas[index]
    fig = plt.figure(figsize=(10, 3.6))
    grid = fig.add_gridspec(4, 10)
    ax = fig.add_subplot(grid[:, :4])
    ax.plot(betas, [results[b]["reconstruction"] for b in betas], "o-")
    ax.axvline(beta, color="red", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("beta")
    ax.set_ylabel("test reconstruction error (nats)")
    twin = ax.twinx()
    twin.plot(betas, [results[b]["confident"] for b in betas], "s--", color="tab:green")
    twin.set_ylabel("share judged digit-like", color="tab:green")
    twin.set_ylim(0, 1.05)
    ax.set_title(f"beta = {beta:g}: KL {results[beta]['kl']:.1f} nats", fontsize=10)
    samples = torch.as_tensor(results[beta]["samples"][:24]).float().clamp(0, 1)
    mosaic = make_grid(samples, nrow=6, padding=1, pad_value=1.0)[0]  # one image, one draw
    show_image(fig.add_subplot(grid[:, 4:]), _numpy(mosaic), vmin=0, vmax=1)
    fig.tight_layout()
    return fig


def show_gan_training(runs: Mapping[str, Mapping], centers, radius: float, snapshot: int = 0,
                      real=None) -> plt.Figure:
    """Widget over saved GAN snapshots: runs: name -> ``gan.train_gan``'s history.

    Top: each run's samples at snapshot index ``snapshot`` with the mode centres (and
    ``real`` samples in grey); bottom: modes covered over training, the snapshot marked.
    """
    first = next(iter(runs.values()))
    if not 0 <= snapshot < len(first["snapshots"]):
        raise ValueError(f"snapshot must lie in [0, {len(first['snapshots']) - 1}], got {snapshot}")
    centers = _numpy(centers)
    fig, axes = plt.subplots(1, len(runs) + 1, figsize=(3.6 * (len(runs) + 1), 3.5))
    for ax, (name, run) in zip(axes, runs.items()):
        if real is not None:
            ax.scatter(*_numpy(real).T, s=2, color="0.8")
        points = _numpy(run["snapshots"][snapshot])
        covered, share = modes_covered(points, centers, radius)
        ax.scatter(*points.T, s=3, color="tab:blue")
        ax.scatter(*centers.T, s=40, marker="+", color="red")
        ax.set_title(f"{name}\nstep {run['steps'][snapshot]}: {covered}/{len(centers)} modes, "
                     f"{share:.0%} good", fontsize=9)
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_aspect("equal")
    for name, run in runs.items():
        counts = [modes_covered(_numpy(s), centers, radius)[0] for s in run["snapshots"]]
        axes[-1].plot(run["steps"], counts, "o-", ms=3, label=name)
    axes[-1].axvline(first["steps"][snapshot], color="red", lw=1)
    axes[-1].set_xlabel("training step")
    axes[-1].set_ylabel("modes covered")
    axes[-1].set_ylim(-0.3, len(centers) + 0.3)
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def show_gradient_norms(rows: Sequence[Mapping[str, float]]) -> plt.Figure:
    """The generator's gradient norm under both losses while the discriminator is trained
    against a frozen generator (rows from ``gan.strong_discriminator_gradients``), log scale,
    with the discriminator's mean D(G(z)) beside it."""
    steps = [r["step"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for kind in ("saturating", "non_saturating"):
        axes[0].semilogy(steps, [r[kind] for r in rows], "o-", label=kind)
    axes[0].set_xlabel("discriminator steps")
    axes[0].set_ylabel("|grad of generator loss|")
    axes[0].legend()
    axes[1].semilogy(steps, [r["mean D(G(z))"] for r in rows], "o-", color="k")
    axes[1].set_xlabel("discriminator steps")
    axes[1].set_ylabel("mean D(G(z))")
    fig.tight_layout()
    return fig
