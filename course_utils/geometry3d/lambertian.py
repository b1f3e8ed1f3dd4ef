"""Lambertian test surfaces (a sphere, a bumpy height field) and their rendering under lights.

Coordinates as in ``course_utils.geometry3d.photometric``: x along the columns, y along the rows, z
towards the camera. Each surface is a dict with ``height`` (H, W), ``normals`` (H, W, 3) unit
(exact, from the analytic gradient), ``albedo`` (H, W) in [0.45, 0.95] with a smooth
seeded texture, and ``mask`` (H, W) bool (the pixels the surface covers).
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from ..validate import as_float_array, check_int


def _texture(shape, seed: int) -> np.ndarray:
    noise = gaussian_filter(np.random.default_rng(seed).normal(size=shape), 5.0)
    noise = (noise - noise.min()) / (np.ptp(noise) or 1.0)
    return 0.45 + 0.5 * noise


def _normals_from_slopes(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    n = np.stack([-p, -q, np.ones_like(p)], axis=-1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def sphere(size: int = 64, seed: int = 0) -> dict[str, np.ndarray]:
    """A hemisphere of radius 0.45 size seen from above; normals NaN and albedo 0 outside."""
    size = check_int(size, "size", 8)
    c = (size - 1) / 2
    radius = 0.45 * size
    y, x = np.mgrid[0:size, 0:size] - c
    inside = x ** 2 + y ** 2 < (radius - 0.5) ** 2
    z = np.sqrt(np.clip(radius ** 2 - x ** 2 - y ** 2, 0, None))
    normals = np.stack([x, y, z], axis=-1) / radius
    normals[~inside] = np.nan
    albedo = np.where(inside, _texture((size, size), seed), 0.0)
    return {"height": np.where(inside, z, np.nan), "normals": normals, "albedo": albedo,
            "mask": inside}


def bumps(size: int = 64, count: int = 6, seed: int = 0) -> dict[str, np.ndarray]:
    """A height field made of ``count`` seeded Gaussian bumps and dents over the whole image."""
    size = check_int(size, "size", 8)
    count = check_int(count, "count", 1)
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    z = np.zeros((size, size))
    p = np.zeros((size, size))
    q = np.zeros((size, size))
    for _ in range(count):
        cx, cy = rng.uniform(0.15, 0.85, size=2) * size
        s = rng.uniform(0.08, 0.16) * size
        amp = rng.choice([-1.0, 1.0]) * rng.uniform(0.8, 1.4) * s
        g = amp * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s ** 2))
        z += g
        p += -g * (x - cx) / s ** 2  # dz/dx
        q += -g * (y - cy) / s ** 2  # dz/dy
    return {"height": z, "normals": _normals_from_slopes(p, q),
            "albedo": _texture((size, size), seed + 1), "mask": np.ones((size, size), bool)}


def light_directions(azimuth, elevation) -> np.ndarray:
    """Unit light directions (K, 3) from azimuths and elevations in degrees (scalars or (K,)).

    Elevation 90 is a light at the camera (straight on, +z); azimuth 0 points along +x (to the
    right), 90 along +y (down the rows).
    """
    az = np.radians(as_float_array(np.atleast_1d(azimuth), "azimuth", ndim=1))
    el = np.radians(as_float_array(np.atleast_1d(elevation), "elevation", ndim=1))
    if az.shape != el.shape:
        if 1 not in (az.size, el.size):
            raise ValueError(f"azimuth and elevation must have the same length (or one be a "
                             f"scalar), got {az.size} and {el.size}")
        az, el = np.broadcast_arrays(az, el)
    return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1)


def render_lambertian(normals, albedo, lights) -> np.ndarray:
    """Images (K, H, W) = albedo * max(0, n . l) for lights (K, 3); 0 where normals are NaN.

    Pixels facing away from a light get 0: an attached shadow (no cast shadows are modelled).
    """
    n = as_float_array(normals, "normals", ndim=3)
    a = as_float_array(albedo, "albedo", ndim=2)
    lights = as_float_array(lights, "lights", ndim=(1, 2))
    lights = np.atleast_2d(lights)
    if n.shape[2] != 3 or n.shape[:2] != a.shape:
        raise ValueError(f"normals must be (H, W, 3) and albedo (H, W), got {n.shape} and "
                         f"{a.shape}")
    if lights.shape[1] != 3:
        raise ValueError(f"lights must have shape (K, 3), got {lights.shape}")
    shading = np.einsum("hwc,kc->khw", np.nan_to_num(n), lights)
    return a[None] * np.clip(shading, 0, None)
