"""Convolution speed: naive loops vs vectorized conv2d vs torch vs scipy; dense vs separable;
chapter 03's convolution and max-pool layers as loops vs vectorised vs torch.

Run with ``python -m benchmarks conv`` (or ``make bench`` for every benchmark). The measuring
code is ``course_utils.filtering.speed.speed_table``, ``separable_speed_table`` and ``layer_speed_table``; the
chapter 01 notebook shows the same tables on a smaller image.
"""
from __future__ import annotations

import platform

import numpy as np
import torch

from course_utils.filtering.speed import (format_size_table, format_speed_tables, separable_size_table,
                                          separable_speed_table, speed_table)
from course_utils.learning.speed import LAYER_COLUMNS, layer_speed_table
from course_utils.timing import time_call
from course_utils.viz import format_table


def main(size: int = 512, repeat: int = 5) -> None:
    print(f"float64 everywhere; image {size}x{size}, 'same' output, zero padding for the "
          f"conv table and reflect for the Gaussian table; median of {repeat} runs")
    print(f"numpy {np.__version__}, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), {platform.processor() or platform.machine()}")
    conv_rows = speed_table(size, (3, 7, 15, 31), repeat=repeat)
    sep_rows = separable_speed_table(size, (1, 2, 4, 8), repeat=repeat)
    print(format_speed_tables(conv_rows, sep_rows))
    print("\ndense vs separable at sigma 4 over image sizes n x n:")
    print(format_size_table(separable_size_table((64, 128, 256, 512, 1024), 4.0, repeat)))
    seven = next(r for r in conv_rows if r["kernel"] == 7)
    ratio = seven["numpy"] / seven["torch"]
    print(f"\n7x7: conv2d / torch.nn.functional.conv2d = {ratio:.2f} "
          f"(target <= 3): {'met' if ratio <= 3 else 'NOT met'}")
    x32, k32 = torch.rand(1, 1, size, size), torch.rand(1, 1, 7, 7)
    with torch.no_grad():
        t32 = time_call(torch.nn.functional.conv2d, x32, k32, padding=3, repeat=repeat)
    print(f"for reference only (not like with like): torch float32 7x7 takes {t32 * 1e3:.2f} ms, "
          f"so conv2d in float64 / torch in float32 = {seven['numpy'] / t32:.1f}")
    print("\nchapter 03 layers, forward, x (16, 8, 32, 32), 16 filters 3x3, float64:")
    print(format_table(layer_speed_table(batch=16, channels=8, filters=16, size=32,
                                         repeat=repeat), LAYER_COLUMNS))


if __name__ == "__main__":
    main()
