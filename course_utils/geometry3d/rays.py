"""Cameras and rays for chapter 13's rendered scenes: a camera that looks at the origin, one
ray per pixel, and where a ray enters and leaves a ball.

World frame: y up. A camera at (azimuth, elevation, distance) looks at the origin; its
rotation's columns are the camera's right, up and forward axes in world coordinates. Pixel
(row i, column j) of a size x size view looks along right * (j + 0.5 - size/2) / f
- up * (i + 0.5 - size/2) / f + forward, with f = size / (2 tan(fov / 2)).
"""
from __future__ import annotations

import math

import torch

from ..validate import check_int, check_positive, check_real


def look_at(azimuth: float, elevation: float, distance: float = 3.2) -> tuple[torch.Tensor, torch.Tensor]:
    """Camera centre (3,) and camera-to-world rotation (3, 3) looking at the origin (degrees)."""
    azimuth, elevation = math.radians(check_real(azimuth, "azimuth")), check_real(elevation, "elevation")
    if not -89.0 <= elevation <= 89.0:
        raise ValueError(f"elevation must lie in [-89, 89] degrees, got {elevation}")
    elevation, distance = math.radians(elevation), check_positive(distance, "distance")
    centre = distance * torch.tensor([math.cos(elevation) * math.sin(azimuth), math.sin(elevation),
                                      math.cos(elevation) * math.cos(azimuth)], dtype=torch.float64)
    forward = -centre / centre.norm()
    right = torch.linalg.cross(forward, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    right = right / right.norm()
    up = torch.linalg.cross(right, forward)
    return centre.float(), torch.stack([right, up, forward], dim=1).float()


def camera_rays(azimuth: float, elevation: float, size: int, fov: float = 40.0,
                distance: float = 3.2) -> tuple[torch.Tensor, torch.Tensor]:
    """One ray per pixel, row by row: origins (size^2, 3) and unit directions (size^2, 3)."""
    size = check_int(size, "size", 1)
    fov = check_positive(fov, "fov")
    if fov >= 180:
        raise ValueError(f"fov must be below 180 degrees, got {fov}")
    centre, rotation = look_at(azimuth, elevation, distance)
    focal = size / (2 * math.tan(math.radians(fov) / 2))
    rows, cols = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    local = torch.stack([(cols - size / 2) / focal, -(rows - size / 2) / focal,
                         torch.ones_like(cols)], dim=-1).reshape(-1, 3)
    directions = local @ rotation.T
    directions = directions / directions.norm(dim=-1, keepdim=True)
    return centre.expand_as(directions).clone(), directions


def sphere_bounds(origins: torch.Tensor, directions: torch.Tensor, radius: float
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where each ray enters and leaves the ball of ``radius`` about the origin.

    origins, directions (unit): (R, 3) -> near (R,), far (R,), hit (R,) bool. Rays that miss
    get near = far = the distance of closest approach.
    """
    check_rays(origins, directions)
    radius = check_positive(radius, "radius")
    b = (origins * directions).sum(-1)
    c = (origins * origins).sum(-1) - radius ** 2
    disc = b * b - c
    half = disc.clamp_min(0).sqrt()
    return -b - half, -b + half, disc > 0


def check_rays(origins, directions) -> None:
    """Raise unless origins and directions are tensors of the same shape (R, 3)."""
    if not (isinstance(origins, torch.Tensor) and isinstance(directions, torch.Tensor)):
        raise TypeError("origins and directions must be tensors")
    if origins.ndim != 2 or origins.shape[1] != 3 or origins.shape != directions.shape:
        raise ValueError(f"origins and directions must both have shape (R, 3), got "
                         f"{tuple(origins.shape)} and {tuple(directions.shape)}")
