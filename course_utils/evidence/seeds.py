"""The base seed of a run, from the environment, and the seeds of an experiment built on it.

``COURSE_SEED`` (default 0) moves every seed a notebook draws through ``seed_everything`` and
the comparison harness, so a notebook can be rerun from another base seed without editing it:
``COURSE_SEED=1 make test`` asks whether its claims hold for other draws.
"""
from __future__ import annotations

from ..validate import env_int

ENV = "COURSE_SEED"
STRIDE = 1000   # seeds of different base seeds never overlap for fewer than 1000 seeds


def base_seed() -> int:
    """The base seed from ``COURSE_SEED`` (an integer >= 0; 0 when unset)."""
    value = env_int(ENV, 0)
    return 0 if value is None else value


def offset_seed(seed: int) -> int:
    """``seed`` moved by the base seed: ``seed + STRIDE * base_seed()``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if seed >= STRIDE:
        raise ValueError(f"seed must be below {STRIDE} (the stride between base seeds), got {seed}")
    return seed + STRIDE * base_seed()


def experiment_seeds(count: int, first: int = 0) -> list[int]:
    """``count`` consecutive seeds from ``first``, moved by the base seed."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be an integer >= 1, got {count!r}")
    return [offset_seed(first + i) for i in range(count)]
