"""Seeded point sets for chapter 03: XOR, Gaussian blobs, a noisy line, a wiggly 1-D target.

Every generator takes a ``seed`` and returns the same arrays for the same arguments.
"""
from __future__ import annotations

import numpy as np

from ..validate import as_float_array, check_int, check_positive, check_real


def xor_points(n: int = 200, noise: float = 0.35, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four Gaussian clusters around (+-1, +-1); the label is 1 where the two signs differ.

    Returns x: (n, 2) float64 and y: (n,) int64 in {0, 1}. No straight line separates the
    classes: opposite corners share a label.
    """
    n = check_int(n, "n", 4)
    noise = check_positive(noise, "noise", allow_zero=True)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    corners = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    which = np.arange(n) % 4
    rng.shuffle(which)
    x = corners[which] + noise * rng.normal(size=(n, 2))
    y = (which >= 2).astype(np.int64)
    return x, y


def blobs(n: int = 200, distance: float = 3.0, spread: float = 1.0,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two round Gaussian clouds whose centres are ``distance`` apart (label 0 and 1).

    Returns x: (n, 2) float64 and y: (n,) int64. Small distance / spread -> overlapping classes.
    """
    n = check_int(n, "n", 2)
    distance = check_positive(distance, "distance", allow_zero=True)
    spread = check_positive(spread, "spread")
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    y = (np.arange(n) % 2).astype(np.int64)
    rng.shuffle(y)
    direction = np.array([1.0, 0.5]) / np.sqrt(1.25)
    centres = (y[:, None] - 0.5) * distance * direction
    return centres + spread * rng.normal(size=(n, 2)), y


def noisy_line(n: int = 50, slope: float = 2.0, intercept: float = -1.0, noise: float = 0.5,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Samples of y = slope x + intercept + Gaussian noise, x uniform in [-2, 2].

    Returns x: (n, 1) and y: (n,), float64.
    """
    n = check_int(n, "n", 1)
    noise = check_positive(noise, "noise", allow_zero=True)
    slope, intercept = check_real(slope, "slope"), check_real(intercept, "intercept")
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    x = rng.uniform(-2.0, 2.0, size=(n, 1))
    return x, slope * x[:, 0] + intercept + noise * rng.normal(size=n)


def target_function(x) -> np.ndarray:
    """The 1-D function of the width-vs-depth experiment: a few wiggles of growing frequency
    on [-1, 1], f(x) = sin(4 pi x^2 + 2 x) * (1 - 0.5 x^2). Works element-wise on any shape."""
    x = as_float_array(x, "x", allow_empty=True)
    return np.sin(4 * np.pi * x ** 2 + 2 * x) * (1 - 0.5 * x ** 2)


def sample_target(n: int = 256, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n evenly spaced x in [-1, 1] with y = target_function(x) + Gaussian noise.

    Returns x: (n, 1) and y: (n, 1), float64.
    """
    n = check_int(n, "n", 2)
    noise = check_positive(noise, "noise", allow_zero=True)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    x = np.linspace(-1.0, 1.0, n)[:, None]
    return x, target_function(x) + noise * rng.normal(size=x.shape)
