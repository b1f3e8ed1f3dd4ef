"""Intervals over seeds: the mean of a metric and its 95% Student-t interval, and the paired
difference between two arms trained from the same seeds.

One training run is one draw from a distribution (another seed, another processor), so a
comparison is a statement about means over seeds. With n seeds and sample standard deviation s,
the interval is mean +- t_{0.975, n-1} s / sqrt(n). Paired: the arms' values are subtracted seed
by seed first, which removes what the seeds share. Intervals are never taken over test examples
(they are not independent draws of the training); a bootstrap only from 10 seeds up, where the
t quantile no longer dominates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_BOOTSTRAP_SEEDS = 10


@dataclass(frozen=True)
class Interval:
    """A mean over ``n`` seeds and its two-sided interval at ``confidence``."""

    mean: float
    low: float
    high: float
    n: int
    confidence: float = 0.95

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def within(self, margin: float) -> bool:
        """The whole interval lies in [-margin, margin]."""
        return -margin <= self.low and self.high <= margin

    def __str__(self) -> str:
        return format_interval(self.mean, self.low, self.high)


def format_interval(mean: float, low: float, high: float) -> str:
    """``mean [low, high]`` with at least 3 decimals, and enough that the half-width shows two
    significant digits (a narrow interval is not printed as a point)."""
    half = (high - low) / 2
    # a constant arm (a method with no seed) has width zero up to rounding: print it as a point
    decimals = 3 if not half > 1e-9 * max(1.0, abs(mean)) else int(min(8, max(3, 1 - np.floor(np.log10(half)))))
    return f"{mean:.{decimals}f} [{low:.{decimals}f}, {high:.{decimals}f}]"


def _values(values, name: str, minimum: int = 2) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a list of numbers, one per seed, got {values!r}") from None
    if array.ndim != 1 or len(array) < minimum:
        raise ValueError(f"{name} must hold one number per seed, at least {minimum}, "
                         f"got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite, got {array.tolist()}")
    return array


def _check_confidence(confidence: float) -> float:
    if not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    return float(confidence)


def t_interval(values, confidence: float = 0.95) -> Interval:
    """Mean of ``values`` (one per seed, at least two) with its Student-t interval."""
    x = _values(values, "values")
    confidence = _check_confidence(confidence)
    n, mean = len(x), float(x.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, confidence)


def paired_difference(a, b, confidence: float = 0.95) -> Interval:
    """The mean of ``a[i] - b[i]`` over seeds i (arm a minus arm b, the same seeds in the same
    order) with its Student-t interval."""
    x, y = _values(a, "a"), _values(b, "b")
    if len(x) != len(y):
        raise ValueError(f"a and b must come from the same seeds, got {len(x)} and {len(y)} values")
    return t_interval(x - y, confidence)


def bootstrap_interval(values, confidence: float = 0.95, resamples: int = 10_000,
                       seed: int = 0) -> Interval:
    """Percentile bootstrap interval of the mean, for ``MIN_BOOTSTRAP_SEEDS`` seeds or more."""
    x = _values(values, "values", MIN_BOOTSTRAP_SEEDS)
    confidence = _check_confidence(confidence)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), (resamples, len(x)))].mean(axis=1)
    low, high = np.quantile(means, [0.5 - confidence / 2, 0.5 + confidence / 2])
    return Interval(float(x.mean()), float(low), float(high), len(x), confidence)
