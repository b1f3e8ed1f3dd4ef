"""Chapter 02's speed comparison: direct against FFT convolution over kernel sizes, and where
the two cross over.

Rows are median wall times in seconds; times depend on the machine, so nothing here asserts a
speed. ``benchmarks/bench_fft.py`` runs the table larger.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.signal

from ..filtering import filters
from ..filtering.speed import _as_list
from ..timing import time_call
from ..validate import check_int
from ..viz import format_table
from . import fourier


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
