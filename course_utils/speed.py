"""Speed comparisons shown in the notebooks and run larger by ``benchmarks/``: the same
computation done by a plain loop, by vectorised numpy and by a library, timed side by side.

Each table is a list of rows (dicts) of median wall times in seconds; times depend on the
machine, so nothing here asserts a speed.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import scipy.signal
import torch
import torch.nn.functional as F

from . import filters, fourier, layers
from .data import load_image
from .timing import time_call
from .validate import check_int, check_positive
from .viz import format_table

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
    pixel, ``naive_extrapolated`` says so), ``numpy`` (``conv2d``), ``torch``
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
        crop = min(size, max(8, int(math.sqrt(naive_taps) / m)))
        naive = time_call(filters.conv2d_naive, image[:crop, :crop], kernel, repeat=1, warmup=0)
        rows.append({
            "kernel": m, "naive": naive * (size / crop) ** 2, "naive_crop": crop,
            "naive_extrapolated": crop < size,
            "numpy": time_call(filters.conv2d, image, kernel, repeat=repeat),
            "torch": time_call(torch_conv, repeat=repeat),
            "scipy": time_call(scipy.signal.convolve2d, image, kernel, "same", repeat=repeat),
        })
    return rows


def separable_speed_table(size: int = 512, sigmas=(1, 2, 4, 8), repeat: int = 3) -> list[dict]:
    """Dense 2-D Gaussian (m^2 taps per pixel) vs two 1-D passes (2m taps) on (size, size)."""
    size, repeat = check_int(size, "size", 8), check_int(repeat, "repeat", 1)
    image = _tiled_camera(size)
    rows = []
    for sigma in _as_list(sigmas, "sigmas"):
        check_positive(sigma, "sigma")
        m = filters.gaussian_kernel1d(sigma).size
        dense = time_call(filters.gaussian_blur, image, sigma, separable=False, repeat=repeat)
        separable = time_call(filters.gaussian_blur, image, sigma, separable=True, repeat=repeat)
        rows.append({"sigma": sigma, "kernel": m, "dense": dense, "separable": separable,
                     "speedup": dense / separable, "tap_ratio": m * m / (2 * m)})
    return rows


def format_speed_tables(conv_rows: list[dict], sep_rows: list[dict]) -> str:
    """Both chapter 01 speed tables as text (milliseconds), with ratios and a note on
    extrapolated naive times."""
    conv_rows = [dict(r, naive_vs_numpy=r["naive"] / r["numpy"],
                      numpy_vs_torch=r["numpy"] / r["torch"],
                      naive_ms=f"{r['naive'] * 1e3:.0f}" + ("*" if r["naive_extrapolated"] else ""),
                      **{k + "_ms": r[k] * 1e3 for k in ("numpy", "torch", "scipy")})
                 for r in conv_rows]
    sep_rows = [dict(r, dense_ms=r["dense"] * 1e3, separable_ms=r["separable"] * 1e3)
                for r in sep_rows]
    conv = format_table(conv_rows, [
        ("kernel", "m", "d"), ("naive_ms", "naive ms", "s"), ("numpy_ms", "conv2d ms", ".2f"),
        ("torch_ms", "torch ms", ".2f"), ("scipy_ms", "scipy ms", ".2f"),
        ("naive_vs_numpy", "naive/conv2d", ".0f"), ("numpy_vs_torch", "conv2d/torch", ".2f")])
    crops = ", ".join(f"m={r['kernel']}: {r['naive_crop']}x{r['naive_crop']}"
                      for r in conv_rows if r["naive_extrapolated"])
    note = (f"* naive loops timed on a crop and scaled by pixel count ({crops})"
            if crops else "naive loops timed on the full image")
    sep = format_table(sep_rows, [
        ("sigma", "sigma", "g"), ("kernel", "m", "d"), ("dense_ms", "dense ms", ".2f"),
        ("separable_ms", "separable ms", ".2f"), ("speedup", "speedup", ".1f"),
        ("tap_ratio", "m^2/(2m)", ".1f")])
    return f"{conv}\n{note}\n\n{sep}"


# ---- chapter 02: direct vs FFT convolution -------------------------------------------------
def _conv2d(image, kernel):
    return filters.conv2d(image, kernel, mode="same")  # chapter 01's direct convolution


CONV_METHODS: dict[str, Callable] = {
    "scipy convolve2d": lambda x, k: scipy.signal.convolve2d(x, k, mode="same"),
    "filters.conv2d": _conv2d,
    "fft_convolve": lambda x, k: fourier.fft_convolve(x, k, mode="same"),
    "scipy fftconvolve": lambda x, k: scipy.signal.fftconvolve(x, k, mode="same"),
}
DIRECT_METHODS = ("scipy convolve2d", "filters.conv2d")


def crossover_table(size: int = 512, kernel_sizes=(3, 5, 9, 15, 21, 31, 41, 63),
                    methods=tuple(CONV_METHODS), repeat: int = 3, seed: int = 0) -> list[dict]:
    """Median seconds per 'same' convolution of a (size, size) image, per kernel size and method.

    Returns one row per kernel size: ``{"kernel": k, method: seconds, ...}``.
    """
    size, repeat = check_int(size, "size", 1), check_int(repeat, "repeat", 1)
    methods = _as_list(methods, "methods")
    unknown = [m for m in methods if m not in CONV_METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be among {tuple(CONV_METHODS)}, got {list(methods)}")
    sizes = [check_int(k, "kernel_sizes", 1) for k in _as_list(kernel_sizes, "kernel_sizes")]
    if not sizes or max(sizes) > size:
        raise ValueError(f"kernel_sizes must be non-empty and at most size {size}, got {sizes}")
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    image = rng.random((size, size))
    rows = []
    for k in sizes:
        kernel = rng.random((k, k))
        rows.append({"kernel": k, **{m: time_call(CONV_METHODS[m], image, kernel, repeat=repeat)
                                     for m in methods}})
    return rows


def crossover(rows: list[dict], direct: str, fast: str) -> int | None:
    """Smallest kernel size from which ``fast`` beats ``direct`` at every larger size (or None).

    rows: from :func:`crossover_table`, in increasing kernel size.
    """
    if not isinstance(rows, (list, tuple)) or not rows or not all(isinstance(r, dict) for r in rows):
        raise TypeError("rows must be a non-empty list of dicts (from crossover_table)")
    for name in (direct, fast):
        if name not in rows[0]:
            raise ValueError(f"{name!r} is not a column of rows: {list(rows[0])}")
    for i, row in enumerate(rows):
        if all(r[fast] < r[direct] for r in rows[i:]):
            return row["kernel"]
    return None


def format_crossover_table(rows: list[dict]) -> str:
    """The crossover table as aligned text in milliseconds."""
    if not isinstance(rows, (list, tuple)) or not rows or not all(isinstance(r, dict) for r in rows):
        raise TypeError("rows must be a non-empty list of dicts (from crossover_table)")
    methods = [m for m in rows[0] if m != "kernel"]
    ms = [{"kernel": r["kernel"], **{m: 1e3 * r[m] for m in methods}} for r in rows]
    return format_table(ms, [("kernel", "kernel", "d")] + [(m, f"{m} ms", ".2f") for m in methods])


# ---- chapter 03: the layers as loops vs vectorised vs torch ---------------------------------
def layer_speed_table(batch: int = 8, channels: int = 4, filters: int = 8, size: int = 16,
                      kernel: int = 3, repeat: int = 3, seed: int = 0) -> list[dict]:
    """Chapter 03's convolution and 2x2 max-pool layers, forward pass only, three ways each:
    the loops (``layers.conv2d_loop`` / ``maxpool_loop``), the vectorised layers
    (``conv2d_forward`` / ``maxpool_forward``) and torch.nn.functional, all in float64 on
    the CPU. x: (batch, channels, size, size); the conv has ``filters`` kernels of
    kernel x kernel with 'same' zero padding (odd kernel).

    Returns [{"layer", "loop", "vectorised", "torch", "loop / vectorised"}] (seconds).
    """
    batch, channels = check_int(batch, "batch", 1), check_int(channels, "channels", 1)
    filters, size = check_int(filters, "filters", 1), check_int(size, "size", 2)
    kernel, repeat = check_int(kernel, "kernel", 1), check_int(repeat, "repeat", 1)
    if kernel % 2 == 0 or kernel > size:
        raise ValueError(f"kernel must be odd and at most size {size}, got {kernel}")
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    x = rng.normal(size=(batch, channels, size, size))
    w, b = rng.normal(size=(filters, channels, kernel, kernel)), rng.normal(size=filters)
    pad = kernel // 2
    xt, wt, bt = (torch.from_numpy(a) for a in (x, w, b))
    rows = []
    with torch.no_grad():
        for name, loop, vectorised, library in [
            (f"conv2d {kernel}x{kernel}", lambda: layers.conv2d_loop(x, w, b, padding=pad),
             lambda: layers.conv2d_forward(x, w, b, padding=pad),
             lambda: F.conv2d(xt, wt, bt, padding=pad)),
            ("max-pool 2x2", lambda: layers.maxpool_loop(x, 2),
             lambda: layers.maxpool_forward(x, 2), lambda: F.max_pool2d(xt, 2)),
        ]:
            row = {"layer": name, "loop": time_call(loop, repeat=repeat, warmup=0),
                   "vectorised": time_call(vectorised, repeat=repeat),
                   "torch": time_call(library, repeat=repeat, min_time=0.01)}
            row["loop / vectorised"] = row["loop"] / row["vectorised"]
            rows.append(row)
    return rows


LAYER_COLUMNS = [("layer", "layer", ""), ("loop", "loops s", ".4f"),
                 ("vectorised", "vectorised s", ".5f"), ("torch", "torch s", ".5f"),
                 ("loop / vectorised", "loops / vectorised", ".0f")]
"""Columns for ``format_table(layer_speed_table(), LAYER_COLUMNS)``."""
