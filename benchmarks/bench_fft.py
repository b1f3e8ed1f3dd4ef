"""Direct vs FFT convolution on a 512 x 512 image: where does the FFT start to win?

Run with ``python -m benchmarks fft`` (or ``python benchmarks/bench_fft.py``). Direct methods:
scipy.signal.convolve2d and chapter 01's filters.conv2d; FFT methods: fourier.fft_convolve and
scipy.signal.fftconvolve. All compute the same 'same'-size linear convolution.
"""
from __future__ import annotations

import argparse

from course_utils.frequency.speed import (CONV_METHODS, DIRECT_METHODS, crossover,
                                          crossover_table, format_crossover_table)

KERNEL_SIZES = (3, 5, 9, 15, 21, 31, 41, 63)


def main(size: int = 512, kernel_sizes=KERNEL_SIZES, repeat: int = 3) -> list[dict]:
    """Print the timing table and the measured crossover kernel sizes; return the table."""
    print(f"'same' convolution of a {size} x {size} float64 image, median of {repeat} runs")
    table = crossover_table(size, kernel_sizes, repeat=repeat)
    print(format_crossover_table(table))
    for direct in DIRECT_METHODS:
        for fast in (m for m in CONV_METHODS if m not in DIRECT_METHODS):
            k = crossover(table, direct, fast)
            where = f"k >= {k}" if k is not None else f"never up to k = {max(kernel_sizes)}"
            print(f"{fast} beats {direct}: {where}")
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    main(args.size, repeat=args.repeat)
