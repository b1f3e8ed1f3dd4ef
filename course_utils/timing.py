"""Wall-clock timing shared by the benchmarks and the notebooks' speed tables."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def time_call(fn: Callable, *args, repeat: int = 5, warmup: int = 1, min_time: float = 0.0,
              **kwargs) -> float:
    """Median wall time in seconds of ``fn(*args, **kwargs)`` over ``repeat`` runs.

    ``warmup`` calls are made first and not timed. With ``min_time > 0`` each run loops the
    call until at least that long has passed and reports the time per call (for fast calls).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be an integer >= 1, got {repeat!r}")
    for _ in range(warmup):
        fn(*args, **kwargs)
    samples = []
    for _ in range(repeat):
        calls, start = 0, time.perf_counter()
        while True:
            fn(*args, **kwargs)
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        samples.append(elapsed / calls)
    return statistics.median(samples)


class Stopwatch:
    """Measures a notebook's total run time: create in the first cell, print in the last."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def __str__(self) -> str:
        return f"{self.elapsed():.1f} s"
