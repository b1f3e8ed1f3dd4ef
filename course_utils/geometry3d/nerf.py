"""A tiny neural radiance field: stratified samples along rays, positional encoding, volume
rendering, the field itself, and its training on posed views. The cameras and rays it renders
from are :mod:`course_utils.geometry3d.rays`.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..train import fit_steps
from ..validate import check_int
from .rays import camera_rays, check_rays, sphere_bounds

BOUND = 1.15  # default radius of the ball that holds the scene (nothing is sampled outside)


def sample_along_rays(near: torch.Tensor, far: torch.Tensor, n_samples: int,
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Stratified depths: one per equal bin of [near, far] (bin centres without ``generator``,
    uniform within each bin with it). near, far: (R,) -> depths (R, S), bin lengths (R, S)."""
    n_samples = check_int(n_samples, "n_samples", 1)
    if near.shape != far.shape or near.ndim != 1:
        raise ValueError(f"near and far must both have shape (R,), got {tuple(near.shape)} and {tuple(far.shape)}")
    if generator is None:
        offset = torch.full((len(near), n_samples), 0.5, device=near.device)
    else:
        offset = torch.rand(len(near), n_samples, generator=generator).to(near.device)
    span = (far - near)[:, None] / n_samples
    depths = near[:, None] + span * (torch.arange(n_samples, device=near.device) + offset)
    return depths, span.expand(-1, n_samples)


def positional_encoding(x: torch.Tensor, n_freqs: int) -> torch.Tensor:
    """x and sin, cos of 2^k pi x for k < n_freqs: (..., D) -> (..., D (1 + 2 n_freqs))."""
    n_freqs = check_int(n_freqs, "n_freqs", 0)
    if n_freqs == 0:
        return x
    angles = x[..., None] * (math.pi * 2.0 ** torch.arange(n_freqs, device=x.device, dtype=x.dtype))
    return torch.cat([x, torch.sin(angles).flatten(-2), torch.cos(angles).flatten(-2)], dim=-1)


def transmittance(sigmas: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """Light reaching each sample: T_i = exp(-sum_{j<i} sigma_j delta_j) = prod_{j<i} (1 - alpha_j).

    sigmas, deltas: (R, S) -> (R, S); T_1 = 1. (An exclusive cumulative sum: no division.)
    """
    optical_depth = sigmas * deltas
    return torch.exp(-(torch.cumsum(optical_depth, dim=1) - optical_depth))


def volume_render(sigmas: torch.Tensor, colors: torch.Tensor, deltas: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """The volume-rendering sum along each ray.

    alpha_i = 1 - exp(-sigma_i delta_i), T_i = prod_{j<i} (1 - alpha_j), w_i = T_i alpha_i,
    rgb = sum_i w_i c_i. sigmas (R, S) >= 0, colors (R, S, 3), deltas (R, S) -> (rgb (R, 3),
    weights (R, S)). 1 - sum_i w_i is the light that passes the whole ray.
    """
    if sigmas.ndim != 2 or deltas.shape != sigmas.shape or colors.shape != (*sigmas.shape, 3):
        raise ValueError(f"sigmas (R, S), colors (R, S, 3) and deltas (R, S) must agree, got "
                         f"{tuple(sigmas.shape)}, {tuple(colors.shape)} and {tuple(deltas.shape)}")
    alpha = 1 - torch.exp(-sigmas * deltas)
    weights = transmittance(sigmas, deltas) * alpha
    return (weights[..., None] * colors).sum(dim=1), weights


class TinyNeRF(nn.Module):
    """Point (..., 3) -> density (...,) >= 0 and colour (..., 3) in [0, 1].

    An MLP of ``depth`` hidden layers of ``width`` on the positional encoding of the point.
    Colours do not depend on the viewing direction (the scene it is built for is matte).
    """

    def __init__(self, n_freqs: int = 6, width: int = 64, depth: int = 3):
        super().__init__()
        self.n_freqs = check_int(n_freqs, "n_freqs", 0)
        width, depth = check_int(width, "width", 1), check_int(depth, "depth", 1)
        layers, size = [], 3 * (1 + 2 * self.n_freqs)
        for _ in range(depth):
            layers += [nn.Linear(size, width), nn.ReLU()]
            size = width
        self.mlp = nn.Sequential(*layers, nn.Linear(width, 4))

    def forward(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.mlp(positional_encoding(points, self.n_freqs))
        return nn.functional.softplus(out[..., 0] - 1.0), torch.sigmoid(out[..., 1:])


def ray_samples(origins: torch.Tensor, directions: torch.Tensor, n_samples: int, bound: float = BOUND,
                generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stratified samples of each ray inside the ball of radius ``bound``.

    origins, directions: (R, 3) -> points (R, S, 3), depths (R, S), bin lengths (R, S) and
    hit (R,) (whether the ray crosses the ball at all).
    """
    near, far, hit = sphere_bounds(origins, directions, bound)
    depths, deltas = sample_along_rays(near, far, n_samples, generator)
    points = origins[:, None, :] + depths[..., None] * directions[:, None, :]
    return points, depths, deltas, hit


def render_rays(model: TinyNeRF, origins: torch.Tensor, directions: torch.Tensor, n_samples: int = 16,
                bound: float = BOUND, background: float = 1.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Colour of each ray (R, 3): the field sampled inside the ball of radius ``bound`` (the
    scene's extent: nothing outside it is sampled), over a uniform ``background``."""
    points, _, deltas, hit = ray_samples(origins, directions, n_samples, bound, generator)
    sigmas, colors = model(points)
    rgb, weights = volume_render(sigmas * hit[:, None], colors, deltas)
    return rgb + (1 - weights.sum(dim=1, keepdim=True)) * background


@torch.no_grad()
def render_view(model: TinyNeRF, azimuth: float, elevation: float, size: int, chunk: int = 4096,
                **render_kwargs) -> torch.Tensor:
    """The field seen from a camera pose: (size, size, 3) in [0, 1], on the CPU."""
    device = next(model.parameters()).device
    origins, directions = (t.to(device) for t in camera_rays(azimuth, elevation, size))
    rgb = torch.cat([render_rays(model, origins[i:i + chunk], directions[i:i + chunk], **render_kwargs)
                     for i in range(0, len(origins), chunk)])
    return rgb.reshape(size, size, 3).cpu()


def train_nerf(model: TinyNeRF, origins: torch.Tensor, directions: torch.Tensor, colors: torch.Tensor,
               steps: int, batch: int = 512, lr: float = 5e-3, seed: int = 0, n_samples: int = 16,
               bound: float = BOUND, background: float = 1.0) -> list[float]:
    """Fit the field to posed pixels: mean squared error of random ray batches, Adam with a
    cosine schedule, stratified samples. origins, directions, colors: (R, 3). The step losses.

    Rays that miss the ball of radius ``bound`` render the background whatever the field
    holds (they carry no gradient), so batches are drawn from the other rays only.
    """
    check_rays(origins, directions)
    if colors.shape != origins.shape:
        raise ValueError(f"colors must have shape {tuple(origins.shape)}, got {tuple(colors.shape)}")
    batch = check_int(batch, "batch", 1)
    device = next(model.parameters()).device
    inside = sphere_bounds(origins, directions, bound)[2]
    origins, directions, colors = (t[inside].to(device) for t in (origins, directions, colors))

    def batch_loss(generator: torch.Generator) -> torch.Tensor:
        index = torch.randint(len(origins), (batch,), generator=generator).to(device)
        rgb = render_rays(model, origins[index], directions[index], n_samples, bound, background,
                          generator=generator)
        return ((rgb - colors[index]) ** 2).mean()

    return fit_steps(model, batch_loss, steps, lr, seed=seed, cosine=True)
