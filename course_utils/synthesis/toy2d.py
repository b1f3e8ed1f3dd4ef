"""Seeded 2-D mixtures for chapter 09's GANs: a ring of Gaussians and a square grid of them.

Each sampler takes ``n`` and a seed or a ``torch.Generator`` and returns float32 points
(n, 2) with the index of the mode each point was drawn from; ``points_sampler`` makes the
points-only sampler the GAN trainers take.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from ..validate import check_int, check_positive


def _generator(seed: int | torch.Generator) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    return torch.Generator().manual_seed(check_int(seed, "seed", 0))


def ring_centers(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """(modes, 2) centres evenly spaced on a circle, the first at (radius, 0)."""
    modes, radius = check_int(modes, "modes", 1), check_positive(radius, "radius")
    angles = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def grid_centers(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    """(side * side, 2) centres on a square grid centred on the origin, row by row."""
    side, spacing = check_int(side, "side", 1), check_positive(spacing, "spacing")
    ticks = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    rows, cols = torch.meshgrid(ticks, ticks, indexing="ij")
    return torch.stack([cols.flatten(), rows.flatten()], dim=1)


def mixture_samples(centers: torch.Tensor, n: int, std: float = 0.05,
                    seed: int | torch.Generator = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n points from an equal-weight mixture of round Gaussians (std ``std``) at ``centers``.

    centers: (K, 2). Returns points (n, 2) float32 and mode indices (n,) int64.
    """
    if centers.ndim != 2 or centers.shape[1] != 2 or len(centers) == 0:
        raise ValueError(f"centers must be a non-empty (K, 2) tensor, got {tuple(centers.shape)}")
    n, std = check_int(n, "n", 1), check_positive(std, "std", allow_zero=True)
    generator = _generator(seed)
    modes = torch.randint(0, len(centers), (n,), generator=generator)
    return centers[modes] + std * torch.randn(n, 2, generator=generator), modes


def ring_of_gaussians(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05,
                      seed: int | torch.Generator = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n points from ``modes`` Gaussians on a circle of ``radius`` (see ``ring_centers``)."""
    return mixture_samples(ring_centers(modes, radius), n, std, seed)


def grid_of_gaussians(n: int, side: int = 5, spacing: float = 2.0, std: float = 0.05,
                      seed: int | torch.Generator = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n points from side x side Gaussians on a grid (see ``grid_centers``)."""
    return mixture_samples(grid_centers(side, spacing), n, std, seed)


def points_sampler(centers: torch.Tensor, std: float = 0.05) -> Callable[[int, torch.Generator], torch.Tensor]:
    """The points-only sampler a GAN trainer draws real data from: ``(n, generator) -> (n, 2)``
    points of ``mixture_samples(centers, n, std, generator)`` (the mode indices dropped)."""
    if not isinstance(centers, torch.Tensor) or centers.ndim != 2 or centers.shape[1] != 2 or len(centers) == 0:
        raise ValueError(f"centers must be a non-empty (K, 2) tensor, got {getattr(centers, 'shape', type(centers))}")
    std = check_positive(std, "std", allow_zero=True)

    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        return mixture_samples(centers, n, std, generator)[0]

    return sample
