"""Plot helpers with consistent colour maps, shared by every notebook."""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from .validate import check_int

IMAGE_CMAP = "gray"        # intensities
SIGNED_CMAP = "RdBu_r"     # kernels, derivatives: zero is white
MAGNITUDE_CMAP = "magma"   # spectra, saliency, error maps


def _to_numpy(image) -> np.ndarray:
    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    return np.asarray(image)


def show_image(ax, image, title: str | None = None, cmap: str | None = None,
               signed: bool = False, colorbar: bool = False, **kwargs):
    """Draw ``image`` ((H, W) or (H, W, 3)) on ``ax`` without ticks.

    ``signed=True`` uses a diverging map centred on zero (for kernels and derivatives).
    """
    image = _to_numpy(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[0] not in (1, 3)
                                    and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"image must be (H, W), (H, W, C) or (C, H, W) with C = 1 or 3, got "
                         f"shape {image.shape}")
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[2] not in (1, 3):
        image = np.moveaxis(image, 0, -1)  # (C, H, W) -> (H, W, C)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        if signed:
            limit = float(np.abs(image).max()) or 1.0
            kwargs.setdefault("vmin", -limit)
            kwargs.setdefault("vmax", limit)
            cmap = cmap or SIGNED_CMAP
        cmap = cmap or IMAGE_CMAP
    else:
        image = np.clip(image, 0, 1)
    im = ax.imshow(image, cmap=cmap if image.ndim == 2 else None, **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im


def show_images(images: Sequence, titles: Sequence[str] | None = None, cols: int | None = None,
                size: float = 2.6, cmap: str | None = None, signed: bool = False,
                suptitle: str | None = None, **imshow_kwargs):
    """Show images in a grid; return the matplotlib Figure.

    Extra keyword arguments (e.g. ``vmin=0, vmax=1``) go to every panel's ``imshow``.
    """
    images = list(images)
    if not images:
        raise ValueError("images must contain at least one image")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), "
                         f"got {len(titles)}")
    cols = min(len(images), 4) if cols is None else check_int(cols, "cols", 1)
    rows = math.ceil(len(images) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i < len(images):
            show_image(ax, images[i], titles[i] if titles else None, cmap=cmap, signed=signed,
                       **imshow_kwargs)
        else:
            ax.axis("off")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_history(history: dict[str, Sequence[float]], keys: Sequence[str] | None = None,
                 ax=None, logy: bool = False, title: str | None = None):
    """Plot per-epoch curves from ``fit``'s history; return the Figure."""
    keys = list(keys or history.keys())
    if not keys:
        raise ValueError("history must hold at least one curve, e.g. fit's {'train_loss': [...]}")
    missing = [k for k in keys if k not in history]
    if missing:
        raise KeyError(f"keys not in history: {missing}; available: {list(history)}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    for key in keys:
        ax.plot(np.arange(1, len(history[key]) + 1), history[key], marker=".", label=key)
    ax.set_xlabel("epoch")
    if logy:
        ax.set_yscale("log")
    ax.legend()
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


def plot_series(x: Sequence[float], series: dict[str, Sequence[float]], xlabel: str, ylabel: str,
                logx: bool = False, ylim: tuple[float, float] | None = None,
                figsize: tuple[float, float] = (5.6, 3.3)):
    """One line with markers per named series against the shared ``x``; return the Figure."""
    if not series:
        raise ValueError("series must hold at least one named curve")
    fig, ax = plt.subplots(figsize=figsize)
    for name, values in series.items():
        ax.plot(x, values, marker="o", label=name)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def format_table(rows: Sequence[dict], columns: Sequence[tuple[str, str, str]] | None = None
                 ) -> str:
    """Rows of dicts as an aligned plain-text table, one line per row.

    columns: (key, header, format spec) triples, e.g. ``("ms", "time ms", ".2f")``; by default
    every key of the first row, floats as ``.3g``. Numbers are right-aligned.
    """
    rows = list(rows)
    if not rows or not all(isinstance(r, dict) for r in rows):
        raise ValueError("rows must be a non-empty sequence of dicts")
    if columns is None:
        columns = [(k, k, ".3g" if isinstance(rows[0][k], float) else "") for k in rows[0]]
    missing = sorted({k for k, _, _ in columns} - set().union(*rows))
    if missing:
        raise ValueError(f"columns name keys that no row has: {missing}")
    headers = [h for _, h, _ in columns]
    body = [[format(row.get(key, ""), spec if key in row else "") for key, _, spec in columns]
            for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in body]
    return "\n".join(lines)
