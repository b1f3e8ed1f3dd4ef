"""A small 3-D scene rendered exactly by ray tracing: four matte coloured spheres on white.

The scene fits inside the ball of radius ``EXTENT`` about the origin. A surface point with
normal n and colour c shows c (AMBIENT + (1 - AMBIENT) max(0, n . LIGHT)); rays that hit
nothing show the white background. Cameras come from ``course_utils.geometry3d.rays.camera_rays``.
"""
from __future__ import annotations

import torch

from ..validate import check_int
from .rays import camera_rays, check_rays

CENTRES = torch.tensor([[0.0, 0.0, 0.0], [0.7, 0.25, 0.1], [-0.45, -0.35, 0.5], [0.05, -0.55, -0.6]])
RADII = torch.tensor([0.45, 0.3, 0.3, 0.28])
COLOURS = torch.tensor([[0.9, 0.2, 0.2], [0.2, 0.7, 0.25], [0.2, 0.35, 0.9], [0.95, 0.8, 0.15]])
LIGHT = torch.nn.functional.normalize(torch.tensor([0.5, 0.8, 0.6]), dim=0)
AMBIENT = 0.25
BACKGROUND = 1.0
EXTENT = 1.15  # equal to course_utils.geometry3d.nerf.BOUND


def trace(origins: torch.Tensor, directions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First hit of each ray: colour (R, 3) and depth (R,) (inf where the ray hits nothing).

    origins, directions (unit): (R, 3). Solves |o + t d - c|^2 = r^2 for every sphere and
    keeps the nearest positive root.
    """
    check_rays(origins, directions)
    offset = origins[:, None, :] - CENTRES  # (R, K, 3)
    b = (offset * directions[:, None, :]).sum(-1)
    disc = b ** 2 - ((offset ** 2).sum(-1) - RADII ** 2)
    t = -b - disc.clamp_min(0).sqrt()
    t = torch.where((disc > 0) & (t > 0), t, torch.full_like(t, float("inf")))
    depth, which = t.min(dim=1)
    hit = torch.isfinite(depth)
    points = origins + torch.where(hit, depth, 0.0)[:, None] * directions
    normals = torch.nn.functional.normalize(points - CENTRES[which], dim=-1)
    shade = AMBIENT + (1 - AMBIENT) * (normals @ LIGHT).clamp_min(0)
    colour = torch.where(hit[:, None], COLOURS[which] * shade[:, None], torch.full_like(points, BACKGROUND))
    return colour, depth


def render(azimuth: float, elevation: float, size: int) -> torch.Tensor:
    """The exact view from a camera pose (degrees): (size, size, 3) in [0, 1]."""
    origins, directions = camera_rays(azimuth, elevation, check_int(size, "size", 1))
    return trace(origins, directions)[0].reshape(size, size, 3)


def posed_views(poses, size: int) -> dict[str, torch.Tensor]:
    """Every pixel of the views from ``poses`` [(azimuth, elevation), ...] as rays.

    Returns origins, directions, colors: (V * size^2, 3) and images (V, size, size, 3).
    """
    poses = list(poses)
    if not poses:
        raise ValueError("poses must list at least one (azimuth, elevation) pair")
    rays = [camera_rays(azimuth, elevation, check_int(size, "size", 1)) for azimuth, elevation in poses]
    origins = torch.cat([o for o, _ in rays])
    directions = torch.cat([d for _, d in rays])
    colors = trace(origins, directions)[0]
    return {"origins": origins, "directions": directions, "colors": colors,
            "images": colors.reshape(len(poses), size, size, 3)}
