"""Lucas-Kanade speed: the taught loop, its dense twin and skimage, side by side.

Run with ``python -m benchmarks flow``. The tables chapter 06 prints
(``motion.speed.step_table`` and ``pyramid_table``), larger: one Lucas-Kanade step (one
linearisation, no pyramid) on a 64 x 64 textured pair with a 15 x 15 window, the per-pixel loop
against the dense step; then the coarse-to-fine ``flow.lucas_kanade`` against
``skimage.registration.optical_flow_ilk`` on 256 x 256 (4 levels, 5 warps per level), which
computes the same flow.
"""
from __future__ import annotations

from course_utils.motion.flow_pairs import textured_pair
from course_utils.motion.speed import pyramid_table, step_table
from course_utils.viz import format_table

COLUMNS = [("implementation", "implementation", ""), ("ms", "median ms", ".2f")]


def main(repeat: int = 5) -> dict[str, float]:
    """Print both tables; return the loop / dense and ours / skimage time ratios."""
    step = step_table(textured_pair(64, "translation", 0.5, seed=0), window=15, repeat=repeat)
    print("one Lucas-Kanade step, 64 x 64, window 15")
    print(format_table(step, COLUMNS))
    pyramid = pyramid_table(textured_pair(256, "affine", 5.0, seed=1), window=15, levels=4, iterations=5,
                            repeat=repeat)
    print("\ncoarse-to-fine, 256 x 256, 4 levels, 5 warps per level")
    print(format_table(pyramid, COLUMNS))
    return {"loop_ratio": step[0]["ms"] / step[1]["ms"], "skimage_ratio": pyramid[0]["ms"] / pyramid[1]["ms"]}


if __name__ == "__main__":
    main()
