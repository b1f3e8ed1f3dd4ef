"""Chapter 03's layers, forward and backward, timed three ways (loops, vectorised numpy,
torch), side by side.

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
    """Chapter 03's convolution and 2x2 max-pool layers, forward and backward, three ways each:
    the loops (``layers.conv2d_loop`` / ``maxpool_loop``, ``conv2d_backward_loop`` /
    ``maxpool_backward_loop``), the vectorised layers (``conv2d_forward`` / ``maxpool_forward``,
    ``conv2d_backward`` / ``maxpool_backward``) and torch, all in float64 on the CPU. For the
    backward rows torch's time is its forward pass plus autograd's backward (torch has no
    public backward-only call for max-pooling), so it is an upper bound. x: (batch, channels,
    size, size); the conv has ``filters`` kernels of kernel x kernel with 'same' zero padding
    (odd kernel).

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
    xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    conv_out, conv_cache = layers.conv2d_forward(x, w, b, padding=pad)
    pool_out, pool_cache = layers.maxpool_forward(x, 2)
    conv_dout, pool_dout = rng.normal(size=conv_out.shape), rng.normal(size=pool_out.shape)
    conv_dout_t, pool_dout_t = torch.from_numpy(conv_dout), torch.from_numpy(pool_dout)

    def torch_conv_backward():
        return torch.autograd.grad(F.conv2d(xt, wt, bt, padding=pad), (xt, wt, bt), conv_dout_t)

    def torch_pool_backward():
        return torch.autograd.grad(F.max_pool2d(xt, 2), (xt,), pool_dout_t)

    candidates = [
        (f"conv2d {kernel}x{kernel}", lambda: layers.conv2d_loop(x, w, b, padding=pad),
         lambda: layers.conv2d_forward(x, w, b, padding=pad),
         lambda: F.conv2d(xt.detach(), wt.detach(), bt.detach(), padding=pad)),
        ("max-pool 2x2", lambda: layers.maxpool_loop(x, 2),
         lambda: layers.maxpool_forward(x, 2), lambda: F.max_pool2d(xt.detach(), 2)),
        (f"conv2d {kernel}x{kernel} backward", lambda: layers.conv2d_backward_loop(conv_dout, x, w, padding=pad),
         lambda: layers.conv2d_backward(conv_dout, conv_cache), torch_conv_backward),
        ("max-pool 2x2 backward", lambda: layers.maxpool_backward_loop(pool_dout, x, 2),
         lambda: layers.maxpool_backward(pool_dout, pool_cache), torch_pool_backward),
    ]
    rows = []
    for name, loop, vectorised, library in candidates:
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
