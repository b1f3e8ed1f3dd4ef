"""Chapter 06's speed tables: one Lucas-Kanade step as the taught per-pixel loop and its dense
twin, and the coarse-to-fine ``flow.lucas_kanade`` beside skimage's ``optical_flow_ilk``
(``benchmarks/bench_flow.py`` runs both larger). Each pair must agree before it is timed."""
from __future__ import annotations

import numpy as np
from skimage.registration import optical_flow_ilk

from ..timing import speed_rows
from ..validate import check_int
from . import flow

LOOP = "loop (flow.lucas_kanade_loop)"


def _frames(pair) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(pair, dict) and "frame0" in pair and "frame1" in pair):
        raise TypeError("pair must be a dict with 'frame0' and 'frame1' (flow_pairs.textured_pair)")
    return pair["frame0"], pair["frame1"]


def step_table(pair, window: int = 5, repeat: int = 3) -> list[dict]:
    """Rows {"implementation", "ms"}: ``lucas_kanade_loop`` (run once, it is the slow one) and
    ``lucas_kanade_step`` from zero flow on ``pair`` (a ``flow_pairs.textured_pair`` dict) with a
    ``window`` x ``window`` window. The two must give the same flow (1e-9 px), else a
    RuntimeError."""
    frame0, frame1 = _frames(pair)
    window, repeat = check_int(window, "window", 1), check_int(repeat, "repeat", 1)
    zero = np.zeros((2,) + np.shape(frame0))
    if np.abs(flow.lucas_kanade_loop(frame0, frame1, window) - flow.lucas_kanade_step(frame0, frame1, zero, window)).max() > 1e-9:
        raise RuntimeError("the loop and the dense Lucas-Kanade step disagree")
    return speed_rows([(LOOP, flow.lucas_kanade_loop, (frame0, frame1, window)),
                       ("dense (flow.lucas_kanade_step)", flow.lucas_kanade_step, (frame0, frame1, zero, window))],
                      repeat, once={LOOP})


def pyramid_table(pair, window: int = 15, levels: int = 4, iterations: int = 5, repeat: int = 3) -> list[dict]:
    """Rows {"implementation", "ms"}: ``flow.lucas_kanade`` (``levels``, ``iterations`` warps per
    level) and ``optical_flow_ilk`` with the same window (radius ``window // 2``) on ``pair``.
    The two must give the same flow (1e-8 px), else a RuntimeError."""
    frame0, frame1 = _frames(pair)
    window, repeat = check_int(window, "window", 1), check_int(repeat, "repeat", 1)
    levels, iterations = check_int(levels, "levels", 1), check_int(iterations, "iterations", 1)
    if window % 2 == 0:
        raise ValueError(f"window must be odd (skimage takes a radius), got {window}")

    def ours(a, b):
        return flow.lucas_kanade(a, b, window=window, levels=levels, iterations=iterations)

    def skimage(a, b):
        return optical_flow_ilk(a, b, radius=window // 2, num_warp=iterations, dtype=np.float64)

    if np.abs(ours(frame0, frame1) - skimage(frame0, frame1)).max() > 1e-8:
        raise RuntimeError("flow.lucas_kanade and skimage's optical_flow_ilk disagree")
    return speed_rows([("flow.lucas_kanade", ours, (frame0, frame1)),
                       ("skimage optical_flow_ilk", skimage, (frame0, frame1))], repeat)
