"""Point clouds sampled from the surfaces of five primitives, with noise and random rotations.

Each primitive is a unit-sized solid centred on the origin: a sphere of radius 1, a cube of
side 2, a cylinder and a cone of radius 1 and height 2 (the cone's apex at z = +1), and a torus
with radii 1 and 0.35. Points are spread uniformly over the surface *area* (caps and bases
included), so a cloud's density says nothing about its class; only its shape does.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from ..validate import check_choice, check_int, check_positive

PRIMITIVES: tuple[str, ...] = ("sphere", "cube", "cylinder", "cone", "torus")
TORUS_RADII = (1.0, 0.35)


def _on_disc(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Radius and angle of n points uniform on the unit disc (radius = sqrt of a uniform)."""
    return np.sqrt(rng.uniform(size=n)), rng.uniform(0, 2 * np.pi, n)


def sample_surface(shape: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniform over the area of one primitive's surface: (n, 3)."""
    shape = check_choice(shape, "shape", PRIMITIVES)
    n = check_int(n, "n", 1)
    if shape == "sphere":
        v = rng.normal(size=(n, 3))
        return v / np.linalg.norm(v, axis=1, keepdims=True)
    if shape == "cube":  # six equal faces: pick a face, then a point on it
        p = rng.uniform(-1, 1, (n, 3))
        p[np.arange(n), rng.integers(0, 3, n)] = rng.choice([-1.0, 1.0], n)
        return p
    if shape == "cylinder":  # side 4 pi, two caps 2 pi: a third of the points on the caps
        on_cap = rng.uniform(size=n) < 1 / 3
        r, angle = _on_disc(n, rng)
        r = np.where(on_cap, r, 1.0)
        z = np.where(on_cap, rng.choice([-1.0, 1.0], n), rng.uniform(-1, 1, n))
        return np.stack([r * np.cos(angle), r * np.sin(angle), z], axis=1)
    if shape == "cone":  # slant side pi sqrt(5), base pi; on the side, radius grows away from the apex
        on_base = rng.uniform(size=n) < 1 / (1 + np.sqrt(5))
        r, angle = _on_disc(n, rng)
        z = np.where(on_base, -1.0, 1.0 - 2.0 * r)
        return np.stack([r * np.cos(angle), r * np.sin(angle), z], axis=1)
    big, small = TORUS_RADII  # area element (big + small cos v): rejection sampling on v
    points = np.empty((0, 3))
    while len(points) < n:
        u, v = rng.uniform(0, 2 * np.pi, (2, 2 * n))
        keep = rng.uniform(size=2 * n) < (big + small * np.cos(v)) / (big + small)
        u, v = u[keep], v[keep]
        ring = big + small * np.cos(v)
        points = np.concatenate([points, np.stack([ring * np.cos(u), ring * np.sin(u),
                                                   small * np.sin(v)], axis=1)])
    return points[:n]


def primitive_clouds(count: int, points: int = 128, noise: float = 0.02, seed: int = 0,
                     rotate: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` labelled clouds: (clouds (count, points, 3) float32, labels (count,) int64).

    Classes are balanced in expectation and index ``PRIMITIVES``. Each cloud is rotated by a
    uniformly random rotation (scipy's ``Rotation.random``) when ``rotate``, then jittered with
    Gaussian noise of standard deviation ``noise`` (in units of the primitive's size).
    """
    count, points = check_int(count, "count", 1), check_int(points, "points", 1)
    noise = check_positive(noise, "noise", allow_zero=True)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(PRIMITIVES), count)
    clouds = np.stack([sample_surface(PRIMITIVES[k], points, rng) for k in labels])
    if rotate:
        rotations = Rotation.random(count, random_state=rng).as_matrix()  # (count, 3, 3)
        clouds = np.einsum("nij,npj->npi", rotations, clouds)
    clouds = clouds + rng.normal(scale=noise, size=clouds.shape)
    return torch.tensor(clouds, dtype=torch.float32), torch.tensor(labels, dtype=torch.int64)
