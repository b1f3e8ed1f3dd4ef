"""The CPU unit: one fixed, single-threaded workload whose time says how fast this machine is
today, so that a notebook's cost can be stated as a ratio that means the same on any machine.

The workload is the course's reference job (``shared/tools/cpu_unit.py`` of the course
materials): 150 Adam steps of a two-layer CNN on one batch of 64 random 28x28 images with one
torch thread, then 40 passes of a 5x5 box filter written as shifted numpy slices over a 256x256
image. One unit is the median of three timed runs. A notebook that takes 40 s where the unit
takes 2.5 s costs 16 units; on a laptop whose unit takes 4 s it will take about 64 s.

    python -m course_utils.cpu_unit           # prints "cpu unit: 2.63 s (runs: ...)"
    python -m course_utils.cpu_unit --seconds # prints only the median, for scripts

``COURSE_CPU_UNIT`` (seconds), when set, is the unit measured earlier in the same run (``make
test`` and ``make bench`` measure it first and pass it on); ``current_unit`` reads it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

ENV = "COURSE_CPU_UNIT"
TRAIN_STEPS, BATCH, IMAGE_SIZE = 150, 64, 28
FILTER_PASSES, FILTER_IMAGE, BOX = 40, 256, 5


def _network() -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(32, 10))


def workload() -> float:
    """Seconds one run of the reference job takes here (one torch thread, restored after)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        net = _network()
        optimizer = torch.optim.Adam(net.parameters(), 1e-3)
        x = torch.randn(BATCH, 1, IMAGE_SIZE, IMAGE_SIZE)
        y = torch.randint(0, 10, (BATCH,))
        image = np.random.default_rng(0).random((FILTER_IMAGE, FILTER_IMAGE))
        half = BOX // 2
        start = time.perf_counter()
        for _ in range(TRAIN_STEPS):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            optimizer.step()
        for _ in range(FILTER_PASSES):
            padded = np.pad(image, half)
            box = sum(padded[a:a + FILTER_IMAGE, b:b + FILTER_IMAGE]
                      for a in range(BOX) for b in range(BOX)) / BOX ** 2
            image = 0.5 * image + 0.5 * box
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)


def measure(runs: int = 3) -> tuple[float, list[float]]:
    """(median seconds, every run's seconds) over ``runs`` runs of ``workload``."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be an integer >= 1, got {runs!r}")
    times = [workload() for _ in range(runs)]
    return statistics.median(times), times


def current_unit() -> float | None:
    """The unit passed on in ``COURSE_CPU_UNIT`` (seconds), or None when it is not set."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{ENV} must be a number of seconds, got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"{ENV} must be > 0 seconds, got {raw!r}")
    return value


def in_units(seconds: float, unit: float) -> float:
    """``seconds`` as a multiple of the CPU unit ``unit`` (both in seconds)."""
    if not unit > 0:
        raise ValueError(f"unit must be > 0 seconds, got {unit!r}")
    if not seconds >= 0:
        raise ValueError(f"seconds must be >= 0, got {seconds!r}")
    return seconds / unit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.cpu_unit",
                                     description="Time the reference workload (one CPU unit).")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", action="store_true", help="print only the median")
    args = parser.parse_args(argv)
    median, times = measure(args.runs)
    if args.seconds:
        print(f"{median:.3f}")
    else:
        print(f"cpu unit: {median:.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
