"""Chapter 01's speed comparisons: dense convolution five ways (loop, shifted slices,
vectorised, scipy, torch) and dense against separable Gaussian blur, timed side by side; ``benchmarks/bench_conv.py``
runs them larger.

Each table is a list of rows (dicts) of median wall times in seconds; times depend on the
machine, so nothing here asserts a speed.
"""
from __future__ import annotations

import math
import statistics

import numpy as np
import scipy.signal
import torch

from ..data import load_image
from ..timing import time_call, time_samples
from ..validate import check_int, check_positive
from ..viz import format_table
from . import filters


# ---- chapter 01: dense convolution four ways, dense vs separable --------------------------
def _as_list(values, name: str) -> list:
    if not isinstance(values, (list, tuple, np.ndarray, range)):
        raise TypeError(f"{name} must be a list, got {type(values).__name__}")
    return list(values)


def _tiled_camera(size: int) -> np.ndarray:
    image = load_image("camera")
    return np.tile(image, (math.ceil(size / image.shape[0]),) * 2)[:size, :size]


def speed_table(size: int = 512, kernel_sizes=(3, 7, 15, 31), repeat: int = 3,
                naive_taps: int = 200_000, seed: int = 0) -> list[dict]:
    """Time 'same' zero-padded convolution of a (size, size) float64 image, one row per kernel.

    Columns (seconds per call): ``naive`` (``conv2d_naive``; when size^2 * m^2 exceeds
    ``naive_taps`` it runs on a ``naive_crop`` x ``naive_crop`` crop and is extrapolated per
    pixel, ``naive_extrapolated`` says so), ``shifted`` (``conv2d_shifted``, one whole-image
    slice per tap), ``numpy`` (``conv2d``), ``torch``
    (``torch.nn.functional.conv2d`` on the flipped kernel, float64) and ``scipy``
    (``scipy.signal.convolve2d``). Outputs are checked to agree before timing.
    """
    size, repeat = check_int(size, "size", 8), check_int(repeat, "repeat", 1)
    naive_taps = check_int(naive_taps, "naive_taps", 1)
    kernel_sizes = [check_int(m, "kernel_sizes", 1) for m in _as_list(kernel_sizes, "kernel_sizes")]
    image = _tiled_camera(size)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    rows = []
    for m in kernel_sizes:
        kernel = rng.standard_normal((m, m))
        x = torch.from_numpy(np.ascontiguousarray(image))[None, None]
        k = torch.from_numpy(np.ascontiguousarray(kernel[::-1, ::-1]))[None, None]

        def torch_conv():
            with torch.no_grad():
                return torch.nn.functional.conv2d(x, k, padding=m // 2)[0, 0]

        ours = filters.conv2d(image, kernel)
        if not np.allclose(ours, torch_conv().numpy(), atol=1e-8):
            raise RuntimeError(f"conv2d and torch disagree for a {m}x{m} kernel")
        if not np.allclose(ours, filters.conv2d_shifted(image, kernel), atol=1e-8):
            raise RuntimeError(f"conv2d and conv2d_shifted disagree for a {m}x{m} kernel")
        crop = min(size, max(8, int(math.sqrt(naive_taps) / m)))
        naive = time_call(filters.conv2d_naive, image[:crop, :crop], kernel, repeat=1, warmup=0)
        rows.append({
            "kernel": m, "naive": naive * (size / crop) ** 2, "naive_crop": crop,
            "naive_extrapolated": crop < size,
            "shifted": time_call(filters.conv2d_shifted, image, kernel, repeat=repeat),
            "numpy": time_call(filters.conv2d, image, kernel, repeat=repeat),
            "torch": time_call(torch_conv, repeat=repeat),
            "scipy": time_call(scipy.signal.convolve2d, image, kernel, "same", repeat=repeat),
        })
    return rows


def _dense_and_separable(image: np.ndarray, sigma: float, repeat: int) -> dict:
    """Median, fastest and slowest of ``repeat`` runs of the dense and the separable Gaussian."""
    out = {}
    for name, separable in (("dense", False), ("separable", True)):
        runs = time_samples(filters.gaussian_blur, image, sigma, separable=separable, repeat=repeat)
        out.update({name: statistics.median(runs), f"{name}_min": min(runs), f"{name}_max": max(runs)})
    out["speedup"] = out["dense"] / out["separable"]
    return out


def separable_speed_table(size: int = 512, sigmas=(1, 2, 4, 8), repeat: int = 3) -> list[dict]:
    """Dense 2-D Gaussian (m^2 taps per pixel) vs two 1-D passes (2m taps) on (size, size), one
    row per sigma: median seconds of ``repeat`` runs, with the fastest and slowest run."""
    size, repeat = check_int(size, "size", 8), check_int(repeat, "repeat", 1)
    image = _tiled_camera(size)
    rows = []
    for sigma in _as_list(sigmas, "sigmas"):
        check_positive(sigma, "sigma")
        m = filters.gaussian_kernel1d(sigma).size
        rows.append({"sigma": sigma, "kernel": m, **_dense_and_separable(image, sigma, repeat),
                     "tap_ratio": m * m / (2 * m)})
    return rows


def separable_size_table(sizes=(64, 128, 256, 512), sigma: float = 4.0, repeat: int = 3) -> list[dict]:
    """The same two blurs at one ``sigma`` over image sizes (size, size): both cost grows with
    the pixel count n^2, so the speedup should stay near m^2 / (2m) whatever the size."""
    sigma, repeat = check_positive(sigma, "sigma"), check_int(repeat, "repeat", 1)
    m = filters.gaussian_kernel1d(sigma).size
    rows = []
    for size in _as_list(sizes, "sizes"):
        size = check_int(size, "sizes", 8)
        rows.append({"size": size, "kernel": m,
                     **_dense_and_separable(_tiled_camera(size), sigma, repeat)})
    return rows


def _spread_ms(row: dict, name: str) -> str:
    return (f"{row[name] * 1e3:.2f} ({row[name + '_min'] * 1e3:.2f}-{row[name + '_max'] * 1e3:.2f})")


def format_size_table(size_rows: list[dict]) -> str:
    """``separable_size_table`` as text (milliseconds, median with fastest-slowest)."""
    rows = [dict(r, dense_ms=_spread_ms(r, "dense"), separable_ms=_spread_ms(r, "separable"))
            for r in size_rows]
    return format_table(rows, [("size", "n", "d"), ("kernel", "m", "d"),
                               ("dense_ms", "dense ms (fastest-slowest)", "s"),
                               ("separable_ms", "separable ms (fastest-slowest)", "s"),
                               ("speedup", "speedup", ".1f")])


def format_speed_tables(conv_rows: list[dict], sep_rows: list[dict]) -> str:
    """Both chapter 01 speed tables as text (milliseconds), with ratios and a note on
    extrapolated naive times."""
    conv_rows = [dict(r, naive_vs_numpy=r["naive"] / r["numpy"],
                      numpy_vs_torch=r["numpy"] / r["torch"],
                      naive_ms=f"{r['naive'] * 1e3:.0f}" + ("*" if r["naive_extrapolated"] else ""),
                      **{k + "_ms": r[k] * 1e3 for k in ("shifted", "numpy", "torch", "scipy")})
                 for r in conv_rows]
    sep_rows = [dict(r, dense_ms=_spread_ms(r, "dense"), separable_ms=_spread_ms(r, "separable"))
                for r in sep_rows]
    conv = format_table(conv_rows, [
        ("kernel", "m", "d"), ("naive_ms", "naive ms", "s"), ("shifted_ms", "shifted ms", ".2f"),
        ("numpy_ms", "conv2d ms", ".2f"),
        ("torch_ms", "torch ms", ".2f"), ("scipy_ms", "scipy ms", ".2f"),
        ("naive_vs_numpy", "naive/conv2d", ".0f"), ("numpy_vs_torch", "conv2d/torch", ".2f")])
    crops = ", ".join(f"m={r['kernel']}: {r['naive_crop']}x{r['naive_crop']}"
                      for r in conv_rows if r["naive_extrapolated"])
    note = (f"* naive loops timed on a crop and scaled by pixel count ({crops})"
            if crops else "naive loops timed on the full image")
    sep = format_table(sep_rows, [
        ("sigma", "sigma", "g"), ("kernel", "m", "d"), ("dense_ms", "dense ms (fastest-slowest)", "s"),
        ("separable_ms", "separable ms (fastest-slowest)", "s"), ("speedup", "speedup", ".1f"),
        ("tap_ratio", "m^2/(2m)", ".1f")])
    return f"{conv}\n{note}\n\n{sep}"
