"""Block-matching speed: the taught loop, its vectorised twin and OpenCV, side by side.

Run with ``python -m benchmarks stereo``. The table chapter 13 prints
(``geometry3d.speed.block_matching_table``), larger: skimage's motorcycle pair averaged over
2 x 2 blocks (250 x 370), disparities d <= 32, a 9 x 9 window; the loop on a 40 x 60 crop (it
is too slow for the whole pair), the vectorised version on the crop and on the whole pair for
each cost, and OpenCV's StereoBM / StereoSGBM on the whole pair.
"""
from __future__ import annotations

from course_utils.data import load_stereo_pair
from course_utils.geometry3d import stereo
from course_utils.geometry3d.speed import block_matching_table
from course_utils.viz import format_table

COLUMNS = [("implementation", "implementation", ""), ("ms", "median ms", ".2f")]


def main(repeat: int = 5) -> dict[str, float]:
    """Print the table; return the loop / vectorised and vectorised / StereoBM time ratios."""
    left, right, _ = load_stereo_pair(factor=2)
    rows = block_matching_table(left, right, (slice(100, 140), slice(150, 210)), 32, 9, 32, 9,
                                costs=stereo.COSTS, opencv=("bm", "sgbm"), repeat=repeat)
    print("SAD, SSD and NCC block matching, window 9, d <= 32")
    print(format_table(rows, COLUMNS))
    ms = [row["ms"] for row in rows]
    return {"loop_ratio": ms[0] / ms[1], "opencv_ratio": ms[2] / ms[2 + len(stereo.COSTS)]}


if __name__ == "__main__":
    main()
