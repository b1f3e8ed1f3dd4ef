"""Lucas-Kanade speed: the taught loop, its dense twin and skimage, side by side.

Run with ``python -m benchmarks flow``. One Lucas-Kanade step (one linearisation, no pyramid)
on a 64 x 64 textured pair with a 15 x 15 window: ``flow.lucas_kanade_loop`` (one least-squares
solve per pixel) against ``flow.lucas_kanade_step`` (box-filtered window sums, closed-form
solves); then the full coarse-to-fine ``flow.lucas_kanade`` against
``skimage.registration.optical_flow_ilk`` on 256 x 256, which computes the same flow.
"""
from __future__ import annotations

import numpy as np
from skimage.registration import optical_flow_ilk

from course_utils.motion import flow
from course_utils.motion.flow_pairs import textured_pair
from course_utils.timing import time_call
from course_utils.viz import format_table

COLUMNS = [("implementation", "implementation", ""), ("ms", "median ms", ".2f")]


def main(repeat: int = 5) -> dict[str, float]:
    """Print both tables; return the loop / dense and ours / skimage time ratios."""
    small = textured_pair(64, "translation", 0.5, seed=0)
    zero = np.zeros((2, 64, 64))
    loop = flow.lucas_kanade_loop(small["frame0"], small["frame1"], 15)
    dense = flow.lucas_kanade_step(small["frame0"], small["frame1"], zero, 15)
    if np.abs(loop - dense).max() > 1e-9:
        raise AssertionError("the loop and the dense Lucas-Kanade step disagree")
    t_loop = time_call(flow.lucas_kanade_loop, small["frame0"], small["frame1"], 15, repeat=1)
    t_dense = time_call(flow.lucas_kanade_step, small["frame0"], small["frame1"], zero, 15,
                        repeat=repeat)
    print("one Lucas-Kanade step, 64 x 64, window 15")
    print(format_table([{"implementation": "loop (lucas_kanade_loop)", "ms": t_loop * 1e3},
                        {"implementation": "dense (lucas_kanade_step)", "ms": t_dense * 1e3}],
                       COLUMNS))
    large = textured_pair(256, "affine", 5.0, seed=1)
    args = large["frame0"], large["frame1"]
    ours = flow.lucas_kanade(*args, window=15, levels=4, iterations=5)
    theirs = optical_flow_ilk(*args, radius=7, num_warp=5, dtype=np.float64)
    if np.abs(ours - theirs).max() > 1e-8:
        raise AssertionError("flow.lucas_kanade and skimage's optical_flow_ilk disagree")
    t_ours = time_call(flow.lucas_kanade, *args, window=15, levels=4, iterations=5, repeat=repeat)
    t_ref = time_call(optical_flow_ilk, *args, radius=7, num_warp=5, dtype=np.float64,
                      repeat=repeat)
    print("\ncoarse-to-fine, 256 x 256, 4 levels, 5 warps per level")
    print(format_table([{"implementation": "flow.lucas_kanade", "ms": t_ours * 1e3},
                        {"implementation": "skimage optical_flow_ilk", "ms": t_ref * 1e3}],
                       COLUMNS))
    return {"loop_ratio": t_loop / t_dense, "skimage_ratio": t_ours / t_ref}


if __name__ == "__main__":
    main()
