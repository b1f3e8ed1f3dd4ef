"""PointNet on point clouds: a shared per-point MLP, a max pool over points, a classifier.

A cloud is an unordered set of P points, held as a tensor (N, P, 3). Applying the same MLP to
every point and pooling with a symmetric function (the max) makes the network's output the
same for every order of the points. The points that win the max in at least one feature
channel (the *critical points*) fix the pooled feature on their own.
"""
from __future__ import annotations

import torch
from torch import nn

from ..train import fit_steps
from ..validate import check_choice, check_int


def _check_clouds(clouds, name: str = "clouds") -> torch.Tensor:
    if not isinstance(clouds, torch.Tensor) or clouds.ndim != 3 or clouds.shape[-1] != 3:
        shape = tuple(clouds.shape) if isinstance(clouds, torch.Tensor) else type(clouds).__name__
        raise ValueError(f"{name} must be a tensor of shape (N, P, 3), got {shape}")
    if clouds.shape[0] == 0 or clouds.shape[1] == 0:
        raise ValueError(f"{name} must hold at least one cloud of one point, got {tuple(clouds.shape)}")
    return clouds


def normalize(clouds: torch.Tensor) -> torch.Tensor:
    """Centre each cloud on its mean and scale it into the unit ball: (N, P, 3) -> (N, P, 3)."""
    clouds = _check_clouds(clouds)
    centred = clouds - clouds.mean(dim=1, keepdim=True)
    return centred / centred.norm(dim=-1).amax(dim=1).clamp_min(1e-12)[:, None, None]


def align_principal_axes(clouds: torch.Tensor) -> torch.Tensor:
    """Normalise, then rotate each cloud onto its principal axes (a canonical pose).

    Axis 0 carries the largest variance, axis 2 the smallest; each axis's sign is chosen so
    that the cloud's third moment along it is positive. (N, P, 3) -> (N, P, 3).
    """
    centred = normalize(clouds)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)  # rows of vh: principal axes
    aligned = centred @ vh.transpose(1, 2)
    sign = torch.where((aligned ** 3).sum(dim=1, keepdim=True) < 0, -1.0, 1.0).to(aligned.dtype)
    return aligned * sign


class PointNet(nn.Module):
    """Shared MLP 3 -> w -> w -> 4w on every point, max over points, then 4w -> 2w -> classes.

    forward: clouds (N, P, 3) -> logits (N, num_classes).
    """

    def __init__(self, num_classes: int = 5, width: int = 64):
        super().__init__()
        num_classes, width = check_int(num_classes, "num_classes", 2), check_int(width, "width", 1)
        self.shared = nn.Sequential(nn.Linear(3, width), nn.ReLU(), nn.Linear(width, width),
                                    nn.ReLU(), nn.Linear(width, 4 * width), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(4 * width, 2 * width), nn.ReLU(),
                                  nn.Linear(2 * width, num_classes))

    def point_features(self, clouds: torch.Tensor) -> torch.Tensor:
        """The shared MLP on every point: (N, P, 3) -> (N, P, 4w)."""
        return self.shared(_check_clouds(clouds))

    def global_feature(self, clouds: torch.Tensor) -> torch.Tensor:
        """Max over the points of the per-point features: (N, P, 3) -> (N, 4w)."""
        return self.point_features(clouds).amax(dim=1)

    def forward(self, clouds: torch.Tensor) -> torch.Tensor:
        return self.head(self.global_feature(clouds))


def global_feature_loop(model: PointNet, cloud: torch.Tensor) -> torch.Tensor:
    """The pooled feature of one cloud (P, 3), one point at a time with a running max: (4w,)."""
    if not isinstance(cloud, torch.Tensor) or cloud.ndim != 2 or cloud.shape[1] != 3:
        raise ValueError(f"cloud must be a tensor of shape (P, 3), got {getattr(cloud, 'shape', cloud)}")
    pooled = None
    for point in cloud:
        feature = model.shared(point)  # the same weights for every point
        pooled = feature if pooled is None else torch.maximum(pooled, feature)
    return pooled


@torch.no_grad()
def point_wins(model: PointNet, clouds: torch.Tensor) -> torch.Tensor:
    """How many feature channels each point wins the max in: (N, P, 3) -> (N, P) int64.

    Channels whose maximum is 0 (no point activates them) are won by nobody.
    """
    features = model.point_features(clouds)  # (N, P, F)
    winner = features.argmax(dim=1)  # (N, F)
    active = features.amax(dim=1) > 0
    wins = torch.zeros(features.shape[:2], dtype=torch.int64, device=features.device)
    return wins.scatter_add_(1, winner, active.long())


def critical_points(model: PointNet, clouds: torch.Tensor) -> torch.Tensor:
    """Mask of the points that win the max in at least one channel: (N, P, 3) -> (N, P) bool."""
    return point_wins(model, clouds) > 0


def keep_points(clouds: torch.Tensor, keep: int, order: str = "random", model: PointNet | None = None,
                seed: int = 0) -> torch.Tensor:
    """The first ``keep`` points of every cloud in a chosen order: (N, P, 3) -> (N, keep, 3).

    ``order``: "random" (a seeded shuffle) or "critical" (most channels won first; needs
    ``model``).
    """
    clouds = _check_clouds(clouds)
    keep = check_int(keep, "keep", 1)
    if keep > clouds.shape[1]:
        raise ValueError(f"keep must be <= the number of points {clouds.shape[1]}, got {keep}")
    order = check_choice(order, "order", ("random", "critical"))
    if order == "critical":
        if model is None:
            raise ValueError("order='critical' needs the model whose critical points to keep")
        rank = point_wins(model, clouds).argsort(dim=1, descending=True, stable=True)
    else:
        generator = torch.Generator().manual_seed(seed)
        rank = torch.rand(clouds.shape[:2], generator=generator).argsort(dim=1).to(clouds.device)
    index = rank[:, :keep, None].expand(-1, -1, 3)
    return clouds.gather(1, index)


def train_pointnet(model: PointNet, clouds: torch.Tensor, labels: torch.Tensor, steps: int,
                   batch: int = 32, lr: float = 2e-3, seed: int = 0) -> list[float]:
    """Cross-entropy training on random minibatches (Adam, cosine schedule); the step losses.

    clouds: (N, P, 3), labels: (N,) class indices.
    """
    clouds = _check_clouds(clouds)
    if labels.shape != clouds.shape[:1]:
        raise ValueError(f"labels must have shape ({clouds.shape[0]},), got {tuple(labels.shape)}")
    batch = check_int(batch, "batch", 1)
    device = next(model.parameters()).device
    clouds, labels = clouds.to(device), labels.to(device)

    def batch_loss(generator: torch.Generator) -> torch.Tensor:
        index = torch.randint(len(clouds), (batch,), generator=generator).to(device)
        return nn.functional.cross_entropy(model(clouds[index]), labels[index])

    return fit_steps(model, batch_loss, steps, lr, seed=seed, cosine=True)


@torch.no_grad()
def predict(model: PointNet, clouds: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """Predicted class of every cloud: (N, P, 3) -> (N,) int64."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model(clouds[i:i + batch].to(device)).argmax(dim=1).cpu()
                      for i in range(0, len(clouds), batch)])
