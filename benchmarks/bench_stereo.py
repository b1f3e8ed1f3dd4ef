"""Block-matching speed: the taught loop, its vectorised twin and OpenCV, side by side.

Run with ``python -m benchmarks stereo``. SAD block matching with a 9 x 9 window on skimage's
motorcycle pair averaged over 2 x 2 blocks (250 x 370, disparities d <= 32): the loop
``stereo.block_matching_loop`` on a 40 x 60 crop (it is too slow for the whole pair), the
vectorised ``stereo.block_matching`` (cost volume + box filter) on the crop and on the whole
pair, for each cost, and OpenCV's StereoBM / StereoSGBM on the whole pair.
"""
from __future__ import annotations

import numpy as np

from course_utils.geometry3d import stereo
from course_utils.data import load_stereo_pair
from course_utils.timing import time_call
from course_utils.viz import format_table

COLUMNS = [("implementation", "implementation", ""), ("ms", "median ms", ".2f")]


def main(repeat: int = 5) -> dict[str, float]:
    """Print the tables; return the loop / vectorised and vectorised / StereoBM time ratios."""
    left, right, _ = load_stereo_pair(factor=2)
    crop = (slice(100, 140), slice(150, 210))
    dmax, window = 32, 9
    loop = stereo.block_matching_loop(left[crop], right[crop], dmax, window)
    fast = stereo.block_matching(left[crop], right[crop], dmax, window)
    if not np.array_equal(loop, fast):
        raise AssertionError("the loop and the vectorised block matching disagree")
    t_loop = time_call(stereo.block_matching_loop, left[crop], right[crop], dmax, window,
                       repeat=1, warmup=0)
    t_crop = time_call(stereo.block_matching, left[crop], right[crop], dmax, window,
                       repeat=repeat)
    print(f"SAD, window {window}, d <= {dmax}, 40 x 60 crop")
    print(format_table([{"implementation": "loop (block_matching_loop)", "ms": t_loop * 1e3},
                        {"implementation": "vectorised (block_matching)", "ms": t_crop * 1e3}],
                       COLUMNS))
    rows, times = [], {}
    for cost in stereo.COSTS:
        times[cost] = time_call(stereo.block_matching, left, right, dmax, window, cost,
                                repeat=repeat)
        rows.append({"implementation": f"block_matching, {cost}", "ms": times[cost] * 1e3})
    for method in ("bm", "sgbm"):
        times[method] = time_call(stereo.opencv_disparity, left, right, dmax, window, method,
                                  repeat=repeat)
        rows.append({"implementation": f"OpenCV Stereo{method.upper()}", "ms": times[method] * 1e3})
    print(f"\nwhole pair {left.shape[0]} x {left.shape[1]}, window {window}, d <= {dmax}")
    print(format_table(rows, COLUMNS))
    return {"loop_ratio": t_loop / t_crop, "opencv_ratio": times["sad"] / times["bm"]}


if __name__ == "__main__":
    main()
