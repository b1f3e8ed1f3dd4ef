"""Wall-clock timing shared by the benchmarks and the notebooks' speed tables.

The one speed-table pattern: a chapter's ``speed.py`` builds its candidates (the taught loop,
its vectorised twin, the library) on the same inputs, checks that they agree, and times them
with ``speed_rows``; the notebook prints that table and ``make bench`` calls the same function
with larger inputs. Nothing asserts a speed: times depend on the machine."""
from __future__ import annotations

import statistics
import time
from typing import Callable, Collection, Sequence


def time_call(fn: Callable, *args, repeat: int = 5, warmup: int = 1, min_time: float = 0.0,
              **kwargs) -> float:
    """Median wall time in seconds of ``fn(*args, **kwargs)`` over ``repeat`` runs
    (``time_samples``, whose arguments it takes)."""
    return statistics.median(time_samples(fn, *args, repeat=repeat, warmup=warmup,
                                          min_time=min_time, **kwargs))


def time_samples(fn: Callable, *args, repeat: int = 5, warmup: int = 1, min_time: float = 0.0,
                 **kwargs) -> list[float]:
    """Wall time in seconds of each of ``repeat`` runs of ``fn(*args, **kwargs)``: the spread
    of a timing, where ``time_call`` gives its median.

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
    return samples


def speed_rows(candidates: Sequence[tuple[str, Callable, tuple]], repeat: int = 3,
               once: Collection[str] = ()) -> list[dict]:
    """Time each candidate ``(name, fn, args)`` as ``fn(*args)``: one row per candidate,
    ``{"implementation": name, "ms": median milliseconds over repeat runs}``. Candidates named
    in ``once`` (the slow loops) run a single time without a warm-up call."""
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be an integer >= 1, got {repeat!r}")
    rows = []
    for entry in candidates:
        if not (isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[0], str)
                and isinstance(entry[2], tuple)):
            raise TypeError(f"candidates must be (name, fn, args) tuples, got {entry!r}")
        name, fn, args = entry
        slow = name in once
        seconds = time_call(fn, *args, repeat=1 if slow else repeat, warmup=0 if slow else 1)
        rows.append({"implementation": name, "ms": seconds * 1e3})
    unknown = set(once) - {entry[0] for entry in candidates}
    if unknown:
        raise ValueError(f"once names no candidate: {sorted(unknown)}")
    return rows


class Stopwatch:
    """Measures a notebook's total run time, wall clock and the CPU time of its process (the
    kernel): create it in the first cell, print it in the last ("12.3 s wall, 11.9 s CPU", the
    line ``course_utils.instructor.run_times`` reads back)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()

    def elapsed(self) -> float:
        """Wall-clock seconds since the start."""
        return time.perf_counter() - self.start

    def cpu(self) -> float:
        """CPU seconds this process used since the start (all its threads)."""
        return time.process_time() - self.cpu_start

    def __str__(self) -> str:
        return f"{self.elapsed():.1f} s wall, {self.cpu():.1f} s CPU"
