"""Chapter 03's layers timed three ways (loops, vectorised numpy, torch), side by side.

Rows are median wall times in seconds; times depend on the machine, so nothing here asserts a
speed. ``benchmarks/bench_conv.py`` runs the table larger.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..timing import time_call
from ..validate import check_int
from . import layers


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
