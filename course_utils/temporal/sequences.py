"""Seeded toy sequences for recurrent nets, and the branching-future toy of chapter 05."""
from __future__ import annotations

import numpy as np
import torch

from ..validate import check_int, check_positive


def recall_first_sequences(n: int, steps: int, noise: float = 0.1, seed: int = 0
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences whose label is the sign of the *first* input; the rest is noise.

    Returns xs: (T, N, 1) float32 (time first, as torch.nn.RNN expects) and labels: (N,) int64.
    x_0 = +noise for label 1 and -noise for label 0; x_1 .. x_{T-1} ~ N(0, noise^2). To answer
    at the last step, the network must carry one bit across all T steps.
    """
    n, steps = check_int(n, "n", 1), check_int(steps, "steps", 1)
    noise = check_positive(noise, "noise")
    generator = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    labels = torch.randint(0, 2, (n,), generator=generator)
    xs = noise * torch.randn(steps, n, 1, generator=generator)
    xs[0, :, 0] = noise * (2.0 * labels - 1)
    return xs, labels


def fork_angles(k: int, spread_degrees: float = 150.0) -> np.ndarray:
    """K turning angles (radians) spread evenly over ``spread_degrees``, centred on 0."""
    k = check_int(k, "k", 1)
    if k == 1:
        return np.zeros(1)
    half = np.deg2rad(check_positive(spread_degrees, "spread_degrees")) / 2
    return np.linspace(-half, half, k)


def branching_futures(n: int, k: int = 3, past: int = 4, noise: float = 0.02, seed: int = 0
                      ) -> dict[str, torch.Tensor]:
    """A point walks ``past`` unit steps in a straight line, then reaches a fork with k exits.

    The next position turns the heading by one of ``fork_angles(k)`` (chosen uniformly), so
    the same past has k equally likely futures. Positions are relative to the present p_0
    (the origin). Returns a dict of float32 / int64 tensors:
      past: (N, 2 * past) positions p_{-past+1} .. p_0, flattened (x, y pairs), with noise;
      future: (N, 2) the future that happened; choice: (N,) which exit it took;
      futures: (N, k, 2) all k possible futures (the ground truth a single video never shows).
    """
    n, k = check_int(n, "n", 1), check_int(k, "k", 1)
    past = check_int(past, "past", 2)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    heading = rng.uniform(0, 2 * np.pi, size=n)
    direction = np.stack([np.cos(heading), np.sin(heading)], axis=1)
    track = np.arange(1 - past, 1)[None, :, None] * direction[:, None]            # (N, past, 2)
    angles = heading[:, None] + fork_angles(k)[None]                              # (N, k)
    futures = track[:, -1:] + np.stack([np.cos(angles), np.sin(angles)], axis=2)  # (N, k, 2)
    choice = rng.integers(0, k, size=n)
    observed = track + rng.normal(0.0, noise, size=track.shape) if noise else track
    return {"past": torch.tensor(observed.reshape(n, -1), dtype=torch.float32),
            "future": torch.tensor(futures[np.arange(n), choice], dtype=torch.float32),
            "choice": torch.tensor(choice, dtype=torch.int64),
            "futures": torch.tensor(futures, dtype=torch.float32)}
