"""Where a detector looks: sliding windows and anchor boxes (scales x ratios per cell)."""
from __future__ import annotations

from typing import Sequence

import torch

from ..validate import check_int, check_positive
from .boxes import as_boxes, box_iou

Tensor = torch.Tensor


def _check_sequence(values, name: str) -> list[float]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be a sequence of numbers (e.g. (12, 18)), got {values!r}")
    if len(values) == 0:
        raise ValueError(f"{name} must contain at least one value")
    return [check_positive(v, name) for v in values]


def _check_feature_size(feature_size) -> tuple[int, int]:
    if isinstance(feature_size, (tuple, list)):
        if len(feature_size) != 2:
            raise ValueError(f"feature_size must be an int or an (H, W) pair, got {feature_size!r}")
        return tuple(check_int(v, "feature_size", 1) for v in feature_size)
    size = check_int(feature_size, "feature_size", 1)
    return size, size


def sliding_windows(image_size: int, sizes: Sequence[int], stride: int) -> Tensor:
    """Every square window of each size in ``sizes`` whose top-left corner lies on a
    ``stride`` grid and which fits inside an ``image_size`` square image -> (N, 4)."""
    image_size = check_int(image_size, "image_size", 1)
    stride = check_int(stride, "stride", 1)
    windows = []
    for size in _check_sequence(sizes, "sizes"):
        if size > image_size:
            raise ValueError(f"sizes must not exceed image_size ({image_size}), got {size}")
        start = torch.arange(0, image_size - size + 1, stride, dtype=torch.float32)
        y0, x0 = torch.meshgrid(start, start, indexing="ij")
        corners = torch.stack([x0, y0, x0, y0], dim=-1).reshape(-1, 4)
        windows.append(corners + torch.tensor([0.0, 0.0, size, size]))
    return torch.cat(windows)


def make_anchors(feature_size: int | tuple[int, int], stride: float,
                 scales: Sequence[float], ratios: Sequence[float]) -> Tensor:
    """Anchor boxes centred on every cell of a feature map.

    An anchor of scale s and ratio r = height / width has width s / sqrt(r) and height
    s * sqrt(r) (area s^2). Cell (i, j) is centred at ((j + 0.5) * stride, (i + 0.5) * stride).
    Returns (H * W * A, 4) with A = len(scales) * len(ratios), ordered by row, column, then
    scale-major over (scale, ratio).
    """
    fh, fw = _check_feature_size(feature_size)
    stride = check_positive(stride, "stride")
    s = torch.tensor(_check_sequence(scales, "scales"), dtype=torch.float32)
    r = torch.tensor(_check_sequence(ratios, "ratios"), dtype=torch.float32)
    widths = (s[:, None] / r.sqrt()).flatten()              # (A,)
    heights = (s[:, None] * r.sqrt()).flatten()
    half = torch.stack([-widths, -heights, widths, heights], dim=1) / 2   # (A, 4)
    cy, cx = torch.meshgrid((torch.arange(fh) + 0.5) * stride,
                            (torch.arange(fw) + 0.5) * stride, indexing="ij")
    centres = torch.stack([cx, cy, cx, cy], dim=-1).reshape(-1, 1, 4)  # (H*W, 1, 4)
    return (centres + half).reshape(-1, 4)


def best_iou_per_object(candidates, gt_boxes: Sequence) -> Tensor:
    """For every ground-truth box of every image, the best IoU any candidate box reaches.

    candidates: (W, 4) boxes shared by all images (windows or anchors); gt_boxes: list of
    (G_i, 4) -> (sum G_i,). How good a detector restricted to these boxes could at best be.
    """
    candidates = as_boxes(candidates, "candidates")
    if len(candidates) == 0:
        raise ValueError("candidates must contain at least one box")
    best = [box_iou(candidates, as_boxes(g, "gt_boxes")).max(dim=0).values
            for g in gt_boxes if len(g)]
    if not best:
        raise ValueError("gt_boxes must contain at least one box")
    return torch.cat(best)
