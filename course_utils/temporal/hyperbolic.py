"""The Poincare ball: distance, the map from the origin's tangent space, tree embeddings and
the Frechet mean.

Points are tensors ``(..., D)`` with norm < 1. Near the boundary distances grow without
bound, so there is room for exponentially many well-separated points: the volume of a
hyperbolic ball grows exponentially with its radius, like the number of nodes of a tree with
its depth.
"""
from __future__ import annotations

import numpy as np
import torch

from ..validate import check_choice, check_int, check_positive
from .trees import balanced_tree, tree_distances

GEOMETRIES = ("euclidean", "poincare")


def _check_points(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"{name} must be (..., D) with D >= 1, got shape {tuple(x.shape)}")
    return x


def poincare_distance(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Geodesic distance in the Poincare ball. u, v: (..., D), broadcastable, norms < 1.

    d(u, v) = arcosh(1 + 2 |u - v|^2 / ((1 - |u|^2) (1 - |v|^2))); returns (...).
    """
    _check_points(u, "u")
    _check_points(v, "v")
    if u.shape[-1] != v.shape[-1]:
        raise ValueError(f"u and v must have the same last dimension D, got {tuple(u.shape)} "
                         f"and {tuple(v.shape)}")
    uu, vv = (u * u).sum(-1), (v * v).sum(-1)
    for name, norm2 in (("u", uu), ("v", vv)):
        if bool((norm2 >= 1).any()):
            raise ValueError(f"{name} must lie strictly inside the unit ball (norm < 1), got a "
                             f"point of norm {norm2.max().sqrt().item():.6g}")
    gap = ((u - v) ** 2).sum(-1)
    argument = 1 + 2 * gap / ((1 - uu) * (1 - vv))
    # arcosh has an infinite slope at 1: keep gradients finite for (nearly) equal points
    return torch.acosh(argument.clamp_min(1 + 1e-12))


def expmap0(w: torch.Tensor) -> torch.Tensor:
    """Map a tangent vector at the origin into the ball: w: (..., D) -> tanh(|w|) w / |w|.

    The point lies at hyperbolic distance 2 |w| from the origin (1 - 1e-7 caps the norm, so
    float64 keeps points strictly inside).
    """
    _check_points(w, "w")
    norm = w.norm(dim=-1, keepdim=True).clamp_min(1e-15)
    return torch.tanh(norm).clamp_max(1 - 1e-7) * w / norm


def mobius_add(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mobius addition a (+) x in the Poincare ball; a, x: (..., D), broadcastable, norms < 1.

    a (+) x = ((1 + 2<a, x> + |x|^2) a + (1 - |a|^2) x) / (1 + 2<a, x> + |a|^2 |x|^2).
    For a fixed ``a`` the map x -> a (+) x is an isometry of the ball (every distance is kept)
    that sends the origin to ``a``: the disk has no special centre.
    """
    _check_points(a, "a")
    _check_points(x, "x")
    for name, point in (("a", a), ("x", x)):
        if bool(((point * point).sum(-1) >= 1).any()):
            raise ValueError(f"{name} must lie strictly inside the unit ball (norm < 1)")
    ax = (a * x).sum(-1, keepdim=True)
    aa, xx = (a * a).sum(-1, keepdim=True), (x * x).sum(-1, keepdim=True)
    return ((1 + 2 * ax + xx) * a + (1 - aa) * x) / (1 + 2 * ax + aa * xx)


def pairwise_distances(points: torch.Tensor, geometry: str) -> torch.Tensor:
    """points: (..., V, D) -> (..., V, V) distances in ``geometry`` ("euclidean" or "poincare")."""
    check_choice(geometry, "geometry", GEOMETRIES)
    _check_points(points, "points")
    if points.ndim < 2:
        raise ValueError(f"points must be (..., V, D), got shape {tuple(points.shape)}")
    if geometry == "euclidean":
        return torch.cdist(points, points)
    return poincare_distance(points[..., :, None, :], points[..., None, :, :])


def distortion(embedded: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """How far embedded distances are from target ones, up to one global scale.

    embedded, target: (V, V) distance matrices; only pairs i < j count. With r_ij the ratio
    embedded / target and r_bar its mean: ``average`` = mean |r_ij / r_bar - 1| (0 = perfect),
    ``worst`` = max r / min r (1 = perfect).
    """
    embedded, target = np.asarray(embedded, dtype=float), np.asarray(target, dtype=float)
    if embedded.shape != target.shape or embedded.ndim != 2 or embedded.shape[0] != embedded.shape[1]:
        raise ValueError(f"embedded and target must be square matrices of the same shape, got "
                         f"{embedded.shape} and {target.shape}")
    i, j = np.triu_indices(len(target), k=1)
    if np.any(target[i, j] <= 0):
        raise ValueError("target distances between distinct points must be > 0")
    ratio = embedded[i, j] / target[i, j]
    return {"average": float(np.mean(np.abs(ratio / ratio.mean() - 1))),
            "worst": float(ratio.max() / max(ratio.min(), 1e-300))}


def _pair_distances(points: torch.Tensor, geometry: str, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
    """Distances of the point pairs (i, j) only: points (..., V, D) -> (..., P). No pair is a
    point with itself, so the Euclidean norm keeps a finite gradient."""
    a, b = points[..., i, :], points[..., j, :]
    if geometry == "euclidean":
        return ((a - b) ** 2).sum(-1).sqrt()
    return poincare_distance(a, b)


def embed_distances(target: np.ndarray, geometry: str, dim: int = 2, steps: int = 1500,
                    lr: float = 0.03, seed: int = 0) -> tuple[np.ndarray, list[float]]:
    """Place V points in ``geometry`` so that their distances match ``target`` (V, V).

    Minimises mean_{i<j} (d(x_i, x_j) / (s t_ij) - 1)^2 with Adam over the points and a global
    scale s, in float64. Poincare points are expmap0 of free tangent vectors, so they always
    stay inside the ball. Returns points (V, dim) and the loss per step.
    """
    check_choice(geometry, "geometry", GEOMETRIES)
    target = torch.as_tensor(np.asarray(target, dtype=float))
    if target.ndim != 2 or target.shape[0] != target.shape[1] or len(target) < 2:
        raise ValueError(f"target must be a square (V, V) matrix with V >= 2, got {tuple(target.shape)}")
    steps, dim = check_int(steps, "steps", 1), check_int(dim, "dim", 1)
    generator = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    free = (0.1 * torch.randn(len(target), dim, generator=generator, dtype=torch.float64)
            ).requires_grad_(True)
    log_scale = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([free, log_scale], lr=check_positive(lr, "lr"))
    i, j = torch.triu_indices(len(target), len(target), offset=1)
    losses = []
    for _ in range(steps):
        points = free if geometry == "euclidean" else expmap0(free)
        d = _pair_distances(points, geometry, i, j)
        loss = ((d / (log_scale.exp() * target[i, j]) - 1) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    points = free if geometry == "euclidean" else expmap0(free)
    return points.detach().numpy(), losses


def embed_distances_seeds(target: np.ndarray, geometry: str, seeds, dim: int = 2,
                          steps: int = 1500, lr: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """``embed_distances`` from every seed of ``seeds`` at once: points (S, V, dim) and each
    seed's loss at the last step (S,).

    The seeds' points and scales are stacked in one tensor and the per-seed losses summed, so
    each seed gets exactly its own gradient, and Adam, which updates every number from its own
    gradients, follows each seed's solo trajectory: one optimiser loop instead of S.
    """
    check_choice(geometry, "geometry", GEOMETRIES)
    target = torch.as_tensor(np.asarray(target, dtype=float))
    if target.ndim != 2 or target.shape[0] != target.shape[1] or len(target) < 2:
        raise ValueError(f"target must be a square (V, V) matrix with V >= 2, got {tuple(target.shape)}")
    seeds = [check_int(seed, "seeds", 0) for seed in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    steps, dim = check_int(steps, "steps", 1), check_int(dim, "dim", 1)
    free = torch.stack([0.1 * torch.randn(len(target), dim, dtype=torch.float64,
                                          generator=torch.Generator().manual_seed(seed))
                        for seed in seeds]).requires_grad_(True)
    log_scale = torch.zeros(len(seeds), 1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([free, log_scale], lr=check_positive(lr, "lr"))
    i, j = torch.triu_indices(len(target), len(target), offset=1)
    for _ in range(steps):
        points = free if geometry == "euclidean" else expmap0(free)
        d = _pair_distances(points, geometry, i, j)
        per_seed = ((d / (log_scale.exp() * target[i, j]) - 1) ** 2).mean(dim=1)
        optimizer.zero_grad(set_to_none=True)
        per_seed.sum().backward()
        optimizer.step()
    points = free if geometry == "euclidean" else expmap0(free)
    return points.detach().numpy(), per_seed.detach().numpy()


def frechet_mean(points: torch.Tensor, steps: int = 300, lr: float = 0.05) -> torch.Tensor:
    """The point of the Poincare ball minimising the sum of squared distances to ``points`` (V, D).

    Found by Adam on a free tangent vector (expmap0), started at the origin. Returns (D,).
    """
    _check_points(points, "points")
    if points.ndim != 2:
        raise ValueError(f"points must be (V, D), got shape {tuple(points.shape)}")
    free = torch.zeros(points.shape[1], dtype=points.dtype, requires_grad=True)
    optimizer = torch.optim.Adam([free], lr=check_positive(lr, "lr"))
    for _ in range(check_int(steps, "steps", 1)):
        loss = (poincare_distance(expmap0(free), points) ** 2).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return expmap0(free).detach()


def tree_embedding_arm(config: dict, seeds) -> dict[str, list[float]]:
    """One arm of chapter 05's geometry comparison (for ``evidence.compare``): the balanced
    tree of ``config["branching"]`` and ``config["depth"]`` embedded in ``config["geometry"]``
    by ``embed_distances_seeds`` (``config["steps"]``, ``config["lr"]``), from every seed of
    ``seeds``. Per seed: the embedding's ``distortion`` ("average", then "worst") and the loss
    at the last step (the objective, by which a restart would be chosen)."""
    parent, _ = balanced_tree(config["branching"], config["depth"])
    tree = tree_distances(parent)
    points, losses = embed_distances_seeds(tree, config["geometry"], seeds, steps=config["steps"],
                                           lr=config["lr"])
    scores = [distortion(pairwise_distances(torch.from_numpy(p), config["geometry"]).numpy(), tree)
              for p in points]
    return {"average distortion": [s["average"] for s in scores],
            "worst stretch": [s["worst"] for s in scores], "final loss": [float(v) for v in losses]}
