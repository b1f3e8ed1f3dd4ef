"""Figures for chapter 10 (audits): per-group bars, camera captures, confound curves, and the
widgets that rerun an experiment. Drawing only: the numbers come from fairness.py and camera.py."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..viz import show_image
from .camera import calibrate_exposure, capture, clipped_fraction
from .fairness import confound_accuracies


def show_group_bars(values: Mapping[str, Sequence[float]], groups: Sequence[str], ylabel: str,
                    title: str = "") -> plt.Figure:
    """Grouped bars: one cluster per condition (key), one bar per group inside it."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    width = 0.8 / len(groups)
    for j, group in enumerate(groups):
        heights = [v[j] for v in values.values()]
        ax.bar(np.arange(len(values)) + (j - (len(groups) - 1) / 2) * width, heights, width, label=group)
    ax.set_xticks(np.arange(len(values)))
    ax.set_xticklabels(list(values), fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_captures(codes_by_setting: Mapping[str, np.ndarray], groups: np.ndarray,
                  per_group: int = 3) -> plt.Figure:
    """Rows: camera settings; columns: a few images of each group (codes (N, H, W), 0..255),
    clipped pixels marked red (black clipping) or blue (white clipping)."""
    settings = list(codes_by_setting)
    names = sorted(set(np.asarray(groups).tolist()))
    cols = per_group * len(names)
    fig, axes = plt.subplots(len(settings), cols, figsize=(1.3 * cols, 1.45 * len(settings)), squeeze=False)
    for r, setting in enumerate(settings):
        codes = np.asarray(codes_by_setting[setting])
        for k, name in enumerate(names):
            for j, i in enumerate(np.flatnonzero(np.asarray(groups) == name)[:per_group]):
                rgb = np.repeat(codes[i][..., None] / 255.0, 3, axis=2)
                rgb[codes[i] == 0] = (0.85, 0.1, 0.1)
                rgb[codes[i] == 255] = (0.1, 0.3, 0.9)
                ax = axes[r, k * per_group + j]
                show_image(ax, rgb, title=f"group {name}" if r == 0 else None)
                if k == 0 and j == 0:
                    ax.set_ylabel(setting, fontsize=8)
    fig.tight_layout()
    return fig


def show_exposure(radiance, groups, stops: float = 0.0, reference: float = 0.6) -> plt.Figure:
    """Widget: capture the scenes with exposure ``stops`` away from the calibration on the
    ``reference`` reflectance; bars of the clipped fraction per group and example images."""
    exposure = calibrate_exposure(reference, target=0.75) * 2.0 ** stops
    codes = capture(radiance, exposure)
    names = sorted(set(np.asarray(groups).tolist()))
    fig = plt.figure(figsize=(8.4, 2.8))
    ax = fig.add_subplot(1, 3, 1)
    fractions = [clipped_fraction(codes[np.asarray(groups) == g]) for g in names]
    ax.bar([f"group {g}" for g in names], fractions, color=["tab:orange", "tab:brown"][:len(names)])
    ax.set_ylim(0, 1)
    ax.set_ylabel("clipped fraction")
    ax.set_title(f"exposure {stops:+.1f} stops", fontsize=9)
    for k, g in enumerate(names):
        i = int(np.flatnonzero(np.asarray(groups) == g)[0])
        show_image(fig.add_subplot(1, 3, 2 + k), codes[i] / 255.0, title=f"group {g}", vmin=0, vmax=1)
    fig.tight_layout()
    return fig


def show_confound(strengths: Sequence[float], confounded: Sequence[float], controlled: Sequence[float],
                  chance: float = 0.5) -> plt.Figure:
    """Accuracy of the 'predictor' against the nuisance's agreement with the label, on a test
    set with the same agreement and on one where the nuisance is controlled."""
    fig, ax = plt.subplots(figsize=(5.6, 3.2))
    ax.plot(strengths, confounded, marker="o", label="test set with the same nuisance")
    ax.plot(strengths, controlled, marker="o", label="nuisance controlled")
    ax.axhline(chance, color="grey", ls="--", lw=0.8, label="chance")
    ax.set_xlabel("agreement of nuisance and label in training")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.3, 1.02)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_imbalance(curve: Mapping[float, Sequence[float]], names: Sequence[str] = ("light", "dark"),
                   share_dark: float = 0.05) -> plt.Figure:
    """Widget: the detector's test error per group against the share of group 1 in training
    (``curve`` from ``fairness.imbalance_curve``: share -> errors in sorted group order,
    ``names`` the groups), the share ``share_dark`` marked, and its errors as bars with the gap
    in the title. Drawing only: the slider scrubs through shares trained beforehand."""
    shares = sorted(curve)
    if share_dark not in curve:
        raise ValueError(f"share_dark must be one of the trained shares {shares}, got {share_dark!r}")
    errors = list(curve[share_dark])
    fig, (line_ax, bar_ax) = plt.subplots(1, 2, figsize=(9.0, 3.2), width_ratios=[3, 2])
    for j, name in enumerate(names):
        line_ax.plot(shares, [curve[s][j] for s in shares], "o-", label=name)
    line_ax.axvline(share_dark, color="0.5", ls="--", lw=1)
    line_ax.set_xscale("log")
    line_ax.set_xlabel("share of the dark group in training")
    line_ax.set_ylabel("test error")
    line_ax.legend(fontsize=8)
    width = 0.8 / len(names)
    for j, name in enumerate(names):
        bar_ax.bar((j - (len(names) - 1) / 2) * width, errors[j], width, label=name,
                   color=f"C{j}")
    bar_ax.set_xticks([0])
    bar_ax.set_xticklabels([f"dark share {share_dark:.2f}"], fontsize=8)
    bar_ax.set_title(f"gap {errors[1] - errors[0]:+.3f}", fontsize=10)
    fig.tight_layout()
    return fig


def show_confound_strength(agreement: float = 0.95) -> plt.Figure:
    """Widget: the confound audit (``fairness.confound_accuracies``) at one nuisance-label
    agreement: accuracy on data collected the same way and with the nuisance controlled."""
    same, controlled = confound_accuracies(float(agreement))
    return show_group_bars({"same collection": [same], "nuisance controlled": [controlled]}, ["predictor"],
                           "accuracy", f"nuisance agrees with the label {float(agreement):.0%}")
