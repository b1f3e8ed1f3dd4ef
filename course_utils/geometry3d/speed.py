"""Chapter 13's speed table: block matching as the taught loop, its vectorised twin (cost volume
plus box filter) and OpenCV, side by side (``benchmarks/bench_stereo.py`` runs it larger).
The loop is too slow for a whole image, so it and its twin are timed on a crop first."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..timing import speed_rows
from ..validate import check_choice, check_int
from . import stereo


def block_matching_table(left, right, crop: tuple[slice, slice], crop_disparity: int, crop_window: int,
                         max_disparity: int, window: int, costs: Sequence[str] = ("sad",),
                         opencv: Sequence[str] = ("bm",), repeat: int = 3) -> list[dict]:
    """Rows {"implementation", "ms"}: ``block_matching_loop`` (run once) and ``block_matching``
    on ``left[crop]`` / ``right[crop]`` with ``crop_disparity`` and ``crop_window`` (SAD; the
    two must give the same map, else a RuntimeError), then ``block_matching`` on the whole
    pair for each of ``costs`` and ``opencv_disparity`` for each OpenCV ``method``."""
    crop_disparity, crop_window = check_int(crop_disparity, "crop_disparity", 0), check_int(crop_window, "crop_window", 1)
    max_disparity, window = check_int(max_disparity, "max_disparity", 0), check_int(window, "window", 1)
    costs = [check_choice(c, "costs", stereo.COSTS) for c in costs]
    opencv = [check_choice(m, "opencv", ("bm", "sgbm")) for m in opencv]
    if not (isinstance(crop, tuple) and len(crop) == 2 and all(isinstance(s, slice) for s in crop)):
        raise TypeError(f"crop must be a (rows, columns) pair of slices, got {crop!r}")
    small = (left[crop], right[crop], crop_disparity, crop_window)
    if not np.array_equal(stereo.block_matching_loop(*small), stereo.block_matching(*small)):
        raise RuntimeError("the loop and the vectorised block matching disagree on the crop")
    size = "{} x {}".format(*small[0].shape)
    loop_name = f"loop, {size} crop"
    candidates = [(loop_name, stereo.block_matching_loop, small),
                  (f"vectorised, {size} crop", stereo.block_matching, small)]
    whole = "{} x {}".format(*np.shape(left))
    candidates += [(f"vectorised {cost.upper()}, {whole}", stereo.block_matching,
                    (left, right, max_disparity, window, cost)) for cost in costs]
    candidates += [(f"OpenCV Stereo{method.upper()}, {whole}", stereo.opencv_disparity,
                    (left, right, max_disparity, window, method)) for method in opencv]
    return speed_rows(candidates, check_int(repeat, "repeat", 1), once={loop_name})
