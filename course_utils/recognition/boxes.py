"""Boxes as numbers: checks, conversions, IoU and the box-delta code of anchor detectors.

Boxes are ``(N, 4)`` tensors in ``xyxy`` pixel coordinates (``x1 <= x2``, ``y1 <= y2``).
Functions accept torch tensors or anything ``torch.as_tensor`` takes and return tensors.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from ..validate import as_float_tensor, check_int, check_positive

Tensor = torch.Tensor
# exp() of a width/height delta is clipped here when decoding (a box at most 1000/16 times
# larger than its anchor), as in Faster R-CNN, so a wild prediction cannot overflow.
MAX_LOG_SCALE = math.log(1000.0 / 16)


def as_boxes(boxes, name: str = "boxes") -> Tensor:
    """Return ``boxes`` as a floating (N, 4) tensor after checking shape and corner order.

    Raises ValueError naming ``name`` for a wrong shape, non-finite values or x2 < x1 / y2 < y1.
    Empty ``(0, 4)`` input is allowed.
    """
    boxes = as_float_tensor(boxes, name)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4) in xyxy order, got {tuple(boxes.shape)}")
    if boxes.numel():
        if not torch.isfinite(boxes).all():
            raise ValueError(f"{name} must be finite")
        bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
        if bad.any():
            i = int(bad.nonzero()[0])
            raise ValueError(f"{name} must satisfy x1 <= x2 and y1 <= y2; box {i} is "
                             f"{boxes[i].tolist()}")
    return boxes


def box_area(boxes) -> Tensor:
    """boxes: (N, 4) -> areas (N,)."""
    boxes = as_boxes(boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def xyxy_to_cxcywh(boxes) -> Tensor:
    """Corners (N, 4) -> centre and size (cx, cy, w, h) (N, 4)."""
    boxes = as_boxes(boxes)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return torch.stack([boxes[:, 0] + 0.5 * w, boxes[:, 1] + 0.5 * h, w, h], dim=1)


def cxcywh_to_xyxy(boxes) -> Tensor:
    """Centre and size (N, 4) with w, h >= 0 -> corners (x1, y1, x2, y2) (N, 4)."""
    boxes = as_float_tensor(boxes, "boxes")
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4) as (cx, cy, w, h), got "
                         f"{tuple(boxes.shape)}")
    if (boxes[:, 2:] < 0).any():
        raise ValueError("boxes must have non-negative width and height")
    half = boxes[:, 2:] / 2
    return torch.cat([boxes[:, :2] - half, boxes[:, :2] + half], dim=1)


def pairwise_iou_unchecked(a: Tensor, b: Tensor) -> Tensor:
    """Unchecked IoU of a: (N, 4) with b: (M, 4) -> (N, M); 0/0 (two empty boxes) stays NaN.
    For inner loops that already checked their boxes; everything else calls ``box_iou``."""
    w = torch.minimum(a[:, None, 2], b[:, 2]) - torch.maximum(a[:, None, 0], b[:, 0])
    h = torch.minimum(a[:, None, 3], b[:, 3]) - torch.maximum(a[:, None, 1], b[:, 1])
    inter = w.clamp(min=0) * h.clamp(min=0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b - inter)


def box_iou(boxes_a, boxes_b) -> Tensor:
    """Intersection over union of every pair: boxes_a: (N, 4), boxes_b: (M, 4) -> (N, M).

    Two zero-area boxes have no union; their IoU is defined as 0.
    """
    a, b = as_boxes(boxes_a, "boxes_a"), as_boxes(boxes_b, "boxes_b")
    dtype = torch.promote_types(a.dtype, b.dtype)
    return pairwise_iou_unchecked(a.to(dtype), b.to(dtype)).nan_to_num_(0.0)


def _check_weights(weights) -> tuple[float, float, float, float]:
    weights = tuple(weights) if isinstance(weights, (list, tuple)) else None
    if weights is None or len(weights) != 4:
        raise ValueError("weights must be a sequence of 4 positive numbers (wx, wy, ww, wh)")
    return tuple(check_positive(w, "weights") for w in weights)


def encode_boxes(boxes, anchors, weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0)) -> Tensor:
    """Box deltas of ``boxes`` relative to ``anchors`` (both (N, 4), positive sizes) -> (N, 4).

    (dx, dy, dw, dh) = weights * ((x - xa) / wa, (y - ya) / ha, log(w / wa), log(h / ha)) with
    (x, y) box centres and (w, h) sizes: shifts in anchor units, scales on a log axis.
    """
    boxes, anchors = as_boxes(boxes), as_boxes(anchors, "anchors")
    if boxes.shape != anchors.shape:
        raise ValueError(f"boxes and anchors must have the same shape, got "
                         f"{tuple(boxes.shape)} and {tuple(anchors.shape)}")
    wx, wy, ww, wh = _check_weights(weights)
    x, y, w, h = xyxy_to_cxcywh(boxes).unbind(1)
    xa, ya, wa, ha = xyxy_to_cxcywh(anchors.to(boxes.dtype)).unbind(1)
    if (w <= 0).any() or (h <= 0).any() or (wa <= 0).any() or (ha <= 0).any():
        raise ValueError("boxes and anchors must have positive width and height to be encoded")
    return torch.stack([wx * (x - xa) / wa, wy * (y - ya) / ha,
                        ww * torch.log(w / wa), wh * torch.log(h / ha)], dim=1)


def decode_boxes(deltas, anchors, weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0)) -> Tensor:
    """Inverse of ``encode_boxes``: deltas (..., 4) on anchors (..., 4) -> boxes (..., 4).

    Leading dimensions broadcast, e.g. deltas (B, A, 4) with anchors (A, 4).
    """
    deltas, anchors = as_float_tensor(deltas, "deltas"), as_float_tensor(anchors, "anchors")
    if deltas.shape[-1:] != (4,) or anchors.shape[-1:] != (4,):
        raise ValueError(f"deltas and anchors must end in 4 values, got {tuple(deltas.shape)} "
                         f"and {tuple(anchors.shape)}")
    wx, wy, ww, wh = _check_weights(weights)
    anchors = anchors.to(deltas.dtype)
    wa, ha = anchors[..., 2] - anchors[..., 0], anchors[..., 3] - anchors[..., 1]
    xa, ya = anchors[..., 0] + 0.5 * wa, anchors[..., 1] + 0.5 * ha
    x = deltas[..., 0] / wx * wa + xa
    y = deltas[..., 1] / wy * ha + ya
    w = torch.exp((deltas[..., 2] / ww).clamp(max=MAX_LOG_SCALE)) * wa
    h = torch.exp((deltas[..., 3] / wh).clamp(max=MAX_LOG_SCALE)) * ha
    return torch.stack([x - 0.5 * w, y - 0.5 * h, x + 0.5 * w, y + 0.5 * h], dim=-1)


def random_boxes(n: int, seed: int = 0, image_size: float = 512.0, min_side: float = 8.0,
                 max_side: float = 128.0, dtype: torch.dtype = torch.float32
                 ) -> tuple[Tensor, Tensor]:
    """``n`` seeded random boxes and scores: top-left corners uniform in the image, sides
    uniform in [min_side, max_side] -> boxes (n, 4), scores (n,) uniform in [0, 1)."""
    n, seed = check_int(n, "n", 0), check_int(seed, "seed", 0)
    image_size = check_positive(image_size, "image_size")
    min_side = check_positive(min_side, "min_side", allow_zero=True)
    max_side = check_positive(max_side, "max_side", allow_zero=True)
    if max_side < min_side:
        raise ValueError(f"max_side must be >= min_side ({min_side}), got {max_side}")
    gen = torch.Generator().manual_seed(seed)
    corner = torch.rand(n, 2, generator=gen, dtype=dtype) * image_size
    side = min_side + torch.rand(n, 2, generator=gen, dtype=dtype) * (max_side - min_side)
    return torch.cat([corner, corner + side], dim=1), torch.rand(n, generator=gen, dtype=dtype)
