"""Detection building blocks: boxes and IoU, anchors, box-delta coding, NMS, focal loss, AP.

Boxes are ``(N, 4)`` tensors in ``xyxy`` pixel coordinates (``x1 <= x2``, ``y1 <= y2``).
Functions accept torch tensors or anything ``torch.as_tensor`` takes and return tensors.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .validate import check_choice, check_positive

Tensor = torch.Tensor
# exp() of a width/height delta is clipped here when decoding (a box at most 1000/16 times
# larger than its anchor), as in Faster R-CNN, so a wild prediction cannot overflow.
MAX_LOG_SCALE = math.log(1000.0 / 16)


def _as_tensor(x, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        arr = np.asarray(x)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{name} must be a numeric tensor or array, got dtype {arr.dtype}")
        x = torch.as_tensor(arr)
    if x.is_complex():
        raise TypeError(f"{name} must be real-valued, got dtype {x.dtype}")
    return x if x.is_floating_point() else x.float()


def as_boxes(boxes, name: str = "boxes") -> Tensor:
    """Return ``boxes`` as a floating (N, 4) tensor after checking shape and corner order.

    Raises ValueError naming ``name`` for a wrong shape, non-finite values or x2 < x1 / y2 < y1.
    Empty ``(0, 4)`` input is allowed.
    """
    boxes = _as_tensor(boxes, name)
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


def _as_vector(x, name: str, length: int, floating: bool = True) -> Tensor:
    x = _as_tensor(x, name) if floating else torch.as_tensor(x)
    if x.ndim != 1 or x.shape[0] != length:
        raise ValueError(f"{name} must have shape ({length},) to match the boxes, "
                         f"got {tuple(x.shape)}")
    return x


def box_area(boxes) -> Tensor:
    """boxes: (N, 4) -> areas (N,)."""
    boxes = as_boxes(boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _pairwise_iou(a: Tensor, b: Tensor) -> Tensor:
    """Unchecked IoU of a: (N, 4) with b: (M, 4) -> (N, M); 0/0 (two empty boxes) stays NaN."""
    w = torch.minimum(a[:, None, 2], b[:, 2]) - torch.maximum(a[:, None, 0], b[:, 0])
    h = torch.minimum(a[:, None, 3], b[:, 3]) - torch.maximum(a[:, None, 1], b[:, 1])
    w.clamp_(min=0)
    h.clamp_(min=0)
    inter = w.mul_(h)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = (area_a[:, None] + area_b).sub_(inter)
    return inter.div_(union)


def box_iou(boxes_a, boxes_b) -> Tensor:
    """Intersection over union of every pair: boxes_a: (N, 4), boxes_b: (M, 4) -> (N, M).

    Two zero-area boxes have no union; their IoU is defined as 0.
    """
    a, b = as_boxes(boxes_a, "boxes_a"), as_boxes(boxes_b, "boxes_b")
    dtype = torch.promote_types(a.dtype, b.dtype)
    return _pairwise_iou(a.to(dtype), b.to(dtype)).nan_to_num_(0.0)


def make_anchors(feature_size: int | tuple[int, int], stride: float,
                 scales: Sequence[float], ratios: Sequence[float]) -> Tensor:
    """Anchor boxes centred on every cell of a feature map.

    An anchor of scale s and ratio r = height / width has width s / sqrt(r) and height
    s * sqrt(r) (area s^2). Cell (i, j) is centred at ((j + 0.5) * stride, (i + 0.5) * stride).
    Returns (H * W * A, 4) with A = len(scales) * len(ratios), ordered by row, column, then
    scale-major over (scale, ratio).
    """
    fh, fw = (feature_size, feature_size) if isinstance(feature_size, int) else feature_size
    if int(fh) < 1 or int(fw) < 1:
        raise ValueError(f"feature_size must be positive, got {feature_size!r}")
    stride = check_positive(stride, "stride")
    if len(scales) == 0 or len(ratios) == 0:
        raise ValueError("scales and ratios must each contain at least one value")
    s = torch.tensor([check_positive(v, "scales") for v in scales], dtype=torch.float32)
    r = torch.tensor([check_positive(v, "ratios") for v in ratios], dtype=torch.float32)
    widths = (s[:, None] / r.sqrt()).flatten()              # (A,)
    heights = (s[:, None] * r.sqrt()).flatten()
    half = torch.stack([-widths, -heights, widths, heights], dim=1) / 2   # (A, 4)
    cy, cx = torch.meshgrid((torch.arange(int(fh)) + 0.5) * stride,
                            (torch.arange(int(fw)) + 0.5) * stride, indexing="ij")
    centres = torch.stack([cx, cy, cx, cy], dim=-1).reshape(-1, 1, 4)  # (H*W, 1, 4)
    return (centres + half).reshape(-1, 4)


def _centre_size(boxes: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return boxes[:, 0] + 0.5 * w, boxes[:, 1] + 0.5 * h, w, h


def encode_boxes(boxes, anchors, weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0)) -> Tensor:
    """Box deltas of ``boxes`` relative to ``anchors`` (both (N, 4), positive sizes) -> (N, 4).

    (dx, dy, dw, dh) = weights * ((x - xa) / wa, (y - ya) / ha, log(w / wa), log(h / ha)) with
    (x, y) box centres and (w, h) sizes: shifts in anchor units, scales on a log axis.
    """
    boxes, anchors = as_boxes(boxes), as_boxes(anchors, "anchors")
    if boxes.shape != anchors.shape:
        raise ValueError(f"boxes and anchors must have the same shape, got "
                         f"{tuple(boxes.shape)} and {tuple(anchors.shape)}")
    x, y, w, h = _centre_size(boxes)
    xa, ya, wa, ha = _centre_size(anchors.to(boxes.dtype))
    if (w <= 0).any() or (h <= 0).any() or (wa <= 0).any() or (ha <= 0).any():
        raise ValueError("boxes and anchors must have positive width and height to be encoded")
    wx, wy, ww, wh = weights
    return torch.stack([wx * (x - xa) / wa, wy * (y - ya) / ha,
                        ww * torch.log(w / wa), wh * torch.log(h / ha)], dim=1)


def decode_boxes(deltas, anchors, weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0)) -> Tensor:
    """Inverse of ``encode_boxes``: deltas (..., 4) on anchors (..., 4) -> boxes (..., 4).

    Leading dimensions broadcast, e.g. deltas (B, A, 4) with anchors (A, 4).
    """
    deltas, anchors = _as_tensor(deltas, "deltas"), _as_tensor(anchors, "anchors")
    if deltas.shape[-1] != 4 or anchors.shape[-1] != 4:
        raise ValueError(f"deltas and anchors must end in 4 values, got {tuple(deltas.shape)} "
                         f"and {tuple(anchors.shape)}")
    anchors = anchors.to(deltas.dtype)
    wa, ha = anchors[..., 2] - anchors[..., 0], anchors[..., 3] - anchors[..., 1]
    xa, ya = anchors[..., 0] + 0.5 * wa, anchors[..., 1] + 0.5 * ha
    wx, wy, ww, wh = weights
    x = deltas[..., 0] / wx * wa + xa
    y = deltas[..., 1] / wy * ha + ya
    w = torch.exp((deltas[..., 2] / ww).clamp(max=MAX_LOG_SCALE)) * wa
    h = torch.exp((deltas[..., 3] / wh).clamp(max=MAX_LOG_SCALE)) * ha
    return torch.stack([x - 0.5 * w, y - 0.5 * h, x + 0.5 * w, y + 0.5 * h], dim=-1)


def _check_threshold(value, name: str) -> float:
    value = check_positive(value, name, allow_zero=True)
    if value > 1:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


def _check_block(block) -> int:
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block must be a positive integer, got {block!r}")
    return int(block)


@contextmanager
def _one_cpu_thread(device: torch.device):
    """Run torch on one CPU thread inside the block: the NMS loop issues many small tensor
    operations, for which waking a second thread costs more than it saves (and stalls badly
    when other processes keep the cores busy)."""
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _greedy_nms(boxes: Tensor, threshold: float, block: int) -> Tensor:
    """Greedy NMS on boxes already sorted by descending score; returns kept positions.

    Boxes are visited in blocks: first every box of a block is compared with all boxes kept
    so far (one (B, K) IoU matrix); the survivors then suppress each other inside the block.
    Inside a block, ``keep[j] = no kept i < j overlaps j`` is solved by repeating that update
    until nothing changes (at most one round per link of the longest suppression chain).
    """
    with _one_cpu_thread(boxes.device):
        return _greedy_blocks(boxes, threshold, block)


def _greedy_blocks(boxes: Tensor, threshold: float, block: int) -> Tensor:
    n = boxes.shape[0]
    kept = torch.empty(n, dtype=torch.long, device=boxes.device)
    count = 0
    for start in range(0, n, block):
        idx = torch.arange(start, min(start + block, n), device=boxes.device)
        if count:
            over = _pairwise_iou(boxes[idx], boxes[kept[:count]]) > threshold
            idx = idx[~over.any(dim=1)]
            if idx.numel() == 0:
                continue
        over = (_pairwise_iou(boxes[idx], boxes[idx]) > threshold).triu_(diagonal=1)
        keep = torch.ones(idx.numel(), dtype=torch.bool, device=boxes.device)
        while True:
            new_keep = ~(over & keep[:, None]).any(dim=0)
            if torch.equal(new_keep, keep):
                break
            keep = new_keep
        idx = idx[keep]
        kept[count:count + idx.numel()] = idx
        count += idx.numel()
    return kept[:count]


def nms(boxes, scores, iou_threshold: float, block: int = 128) -> Tensor:
    """Non-maximum suppression: keep the best box, drop boxes overlapping it, repeat.

    boxes: (N, 4), scores: (N,). A box is dropped when its IoU with a higher-scoring kept box
    is > ``iou_threshold``. Returns int64 indices of the kept boxes, by descending score
    (ties keep input order). ``block`` only trades memory for speed.
    """
    boxes = as_boxes(boxes)
    scores = _as_vector(scores, "scores", boxes.shape[0])
    threshold = _check_threshold(iou_threshold, "iou_threshold")
    block = _check_block(block)
    order = torch.sort(scores, descending=True, stable=True).indices
    return order[_greedy_nms(boxes[order], threshold, block)]


def batched_nms(boxes, scores, idxs, iou_threshold: float, block: int = 128) -> Tensor:
    """Class-aware NMS: boxes only suppress boxes with the same ``idxs`` (N,) category.

    Runs ``nms`` separately on each category (each one is smaller, so this is faster than
    masking cross-class pairs) and merges the survivors. Returns int64 indices of the kept
    boxes, by descending score (ties keep input order).
    """
    boxes = as_boxes(boxes)
    scores = _as_vector(scores, "scores", boxes.shape[0])
    idxs = _as_vector(idxs, "idxs", boxes.shape[0], floating=False).to(boxes.device)
    threshold = _check_threshold(iou_threshold, "iou_threshold")
    block = _check_block(block)
    kept = []
    for category in torch.unique(idxs):
        members = torch.nonzero(idxs == category).flatten()
        order = members[torch.sort(scores[members], descending=True, stable=True).indices]
        kept.append(order[_greedy_nms(boxes[order], threshold, block)])
    if not kept:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    kept = torch.sort(torch.cat(kept)).values          # input order, then a stable score sort
    return kept[torch.sort(scores[kept], descending=True, stable=True).indices]


def nms_loop(boxes, scores, iou_threshold: float) -> Tensor:
    """The textbook greedy loop (one Python step per kept box), kept to time against ``nms``.

    Same inputs and output as ``nms``.
    """
    boxes = as_boxes(boxes)
    scores = _as_vector(scores, "scores", boxes.shape[0])
    threshold = _check_threshold(iou_threshold, "iou_threshold")
    order = torch.sort(scores, descending=True, stable=True).indices.tolist()
    keep = []
    while order:
        best, order = order[0], order[1:]
        keep.append(best)
        if order:
            iou = _pairwise_iou(boxes[best:best + 1], boxes[order])[0]
            order = [i for i, o in zip(order, (iou > threshold).tolist()) if not o]
    return torch.tensor(keep, dtype=torch.long, device=boxes.device)


def sigmoid_focal_loss(logits, targets, alpha: float = 0.25, gamma: float = 2.0,
                       reduction: str = "none") -> Tensor:
    """Focal loss FL = -alpha_t (1 - p_t)^gamma log(p_t) for independent sigmoid outputs.

    logits, targets: same shape, targets in [0, 1]. p_t is the probability given to the true
    label, so well-classified (easy) examples are down-weighted by (1 - p_t)^gamma; gamma = 0
    and alpha < 0 give plain binary cross-entropy. alpha_t = alpha for positives, 1 - alpha
    for negatives. reduction: "none", "mean" or "sum".
    """
    logits, targets = _as_tensor(logits, "logits"), _as_tensor(targets, "targets")
    if logits.shape != targets.shape:
        raise ValueError(f"logits and targets must have the same shape, got "
                         f"{tuple(logits.shape)} and {tuple(targets.shape)}")
    gamma = check_positive(gamma, "gamma", allow_zero=True)
    check_choice(reduction, "reduction", ("none", "mean", "sum"))
    targets = targets.to(logits.dtype)
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def sliding_windows(image_size: int, sizes: Sequence[int], stride: int) -> Tensor:
    """Every square window of each size in ``sizes`` whose top-left corner lies on a
    ``stride`` grid and which fits inside an ``image_size`` square image -> (N, 4)."""
    image_size = int(check_positive(image_size, "image_size"))
    stride = int(check_positive(stride, "stride"))
    windows = []
    for size in sizes:
        size = int(check_positive(size, "sizes"))
        if size > image_size:
            raise ValueError(f"sizes must not exceed image_size ({image_size}), got {size}")
        start = torch.arange(0, image_size - size + 1, stride, dtype=torch.float32)
        y0, x0 = torch.meshgrid(start, start, indexing="ij")
        corners = torch.stack([x0, y0, x0, y0], dim=-1).reshape(-1, 4)
        windows.append(corners + torch.tensor([0.0, 0.0, size, size]))
    if not windows:
        raise ValueError("sizes must contain at least one window size")
    return torch.cat(windows)


# ---------------------------------------------------------------- precision, recall and AP
def match_detections(pred_boxes, pred_scores, gt_boxes, iou_threshold: float = 0.5) -> Tensor:
    """Mark each detection of one image and one class as true (1) or false (0) positive.

    pred_boxes: (N, 4), pred_scores: (N,), gt_boxes: (G, 4) -> (N,) bool. In descending score
    order each detection takes the still unmatched ground-truth box it overlaps most, if that
    IoU is >= iou_threshold (COCO's rule; a second detection of the same object is a false
    positive).
    """
    pred_boxes, gt_boxes = as_boxes(pred_boxes, "pred_boxes"), as_boxes(gt_boxes, "gt_boxes")
    scores = _as_vector(pred_scores, "pred_scores", pred_boxes.shape[0])
    threshold = _check_threshold(iou_threshold, "iou_threshold")
    is_tp = np.zeros(pred_boxes.shape[0], dtype=bool)
    if pred_boxes.shape[0] == 0 or gt_boxes.shape[0] == 0:
        return torch.from_numpy(is_tp)
    ious = box_iou(pred_boxes.double(), gt_boxes.double()).cpu().numpy()
    taken = np.zeros(gt_boxes.shape[0], dtype=bool)
    for d in torch.sort(scores, descending=True, stable=True).indices.tolist():
        candidates = np.where(taken, -1.0, ious[d])
        g = len(candidates) - 1 - int(np.argmax(candidates[::-1]))   # ties: the last one wins
        if candidates[g] >= threshold:
            taken[g], is_tp[d] = True, True
    return torch.from_numpy(is_tp)


def precision_recall(scores, is_tp, num_gt: int) -> tuple[Tensor, Tensor]:
    """Precision and recall after each detection, ranked by descending score.

    scores: (N,), is_tp: (N,) bool, num_gt: number of ground-truth objects -> two (N,) tensors.
    """
    scores = _as_tensor(scores, "scores")
    if scores.ndim != 1:
        raise ValueError(f"scores must have shape (N,), got {tuple(scores.shape)}")
    is_tp = _as_vector(is_tp, "is_tp", scores.shape[0], floating=False).bool()
    if isinstance(num_gt, bool) or int(num_gt) != num_gt or num_gt < 1:
        raise ValueError(f"num_gt must be a positive integer, got {num_gt!r}")
    order = torch.sort(scores.double(), descending=True, stable=True).indices
    tp = torch.cumsum(is_tp[order].double(), 0)
    fp = torch.cumsum((~is_tp[order]).double(), 0)
    return tp / (tp + fp), tp / num_gt


def average_precision(precision, recall, method: str = "all-point") -> float:
    """Area under the interpolated precision-recall curve.

    precision, recall: (N,) as returned by ``precision_recall``. Precision is first replaced
    by its running maximum from the right (the best precision at this recall or more).
    "all-point" integrates that envelope exactly over recall (PASCAL VOC 2010+);
    "coco101" averages it at recall 0, 0.01, ..., 1 (COCO, pycocotools, torchmetrics).
    """
    check_choice(method, "method", ("all-point", "coco101"))
    precision, recall = _as_tensor(precision, "precision"), _as_tensor(recall, "recall")
    if precision.ndim != 1 or precision.shape != recall.shape:
        raise ValueError(f"precision and recall must be (N,) of equal length, got "
                         f"{tuple(precision.shape)} and {tuple(recall.shape)}")
    if precision.numel() == 0:
        return 0.0
    envelope = precision.double().flip(0).cummax(0).values.flip(0)
    recall = recall.double()
    if method == "all-point":
        steps = torch.diff(recall, prepend=recall.new_zeros(1))
        return float((steps * envelope).sum())
    thresholds = torch.from_numpy(np.linspace(0.0, 1.0, 101))    # exactly pycocotools' values
    idx = torch.searchsorted(recall.contiguous(), thresholds, side="left")
    sampled = torch.where(idx < len(recall), envelope[idx.clamp(max=len(recall) - 1)], 0.0)
    return float(sampled.mean())


def mean_average_precision(preds: Sequence[dict], targets: Sequence[dict],
                           iou_threshold: float = 0.5, method: str = "all-point",
                           max_detections: int = 100) -> dict:
    """mAP over a dataset: the mean over classes (with ground truth) of each class's AP.

    preds: per image a dict with boxes (N, 4), scores (N,), labels (N,);
    targets: per image a dict with boxes (G, 4), labels (G,) (torchmetrics' format).
    Per image and class only the ``max_detections`` best-scoring detections count (as COCO).
    Returns {"map": float, "ap": {class: AP}, "curves": {class: (precision, recall)}}.
    """
    if len(preds) != len(targets):
        raise ValueError(f"preds and targets must have the same length, got {len(preds)} "
                         f"and {len(targets)}")
    scores, hits, num_gt = {}, {}, {}
    for i, (pred, target) in enumerate(zip(preds, targets)):
        boxes = as_boxes(pred["boxes"], f"preds[{i}]['boxes']")
        pred_scores = _as_vector(pred["scores"], f"preds[{i}]['scores']", boxes.shape[0])
        pred_labels = _as_vector(pred["labels"], f"preds[{i}]['labels']", boxes.shape[0], False)
        gt = as_boxes(target["boxes"], f"targets[{i}]['boxes']")
        gt_labels = _as_vector(target["labels"], f"targets[{i}]['labels']", gt.shape[0], False)
        for c in torch.cat([pred_labels, gt_labels]).unique().tolist():
            keep = torch.nonzero(pred_labels == c).flatten()
            keep = keep[torch.sort(pred_scores[keep], descending=True, stable=True).indices]
            keep = keep[:max_detections]
            tp = match_detections(boxes[keep], pred_scores[keep], gt[gt_labels == c],
                                  iou_threshold)
            scores.setdefault(c, []).append(pred_scores[keep].double().cpu())
            hits.setdefault(c, []).append(tp)
            num_gt[c] = num_gt.get(c, 0) + int((gt_labels == c).sum())
    ap, curves = {}, {}
    for c in sorted(c for c, n in num_gt.items() if n > 0):
        precision, recall = precision_recall(torch.cat(scores[c]), torch.cat(hits[c]), num_gt[c])
        ap[c], curves[c] = average_precision(precision, recall, method), (precision, recall)
    mean = float(np.mean(list(ap.values()))) if ap else float("nan")
    return {"map": mean, "ap": ap, "curves": curves}


def proposal_recall(boxes, scores, gt_boxes, ks: Sequence[int], iou_threshold: float = 0.5
                    ) -> Tensor:
    """Fraction of ground-truth objects covered (IoU >= threshold) by the k best proposals.

    boxes: list of (N_i, 4) proposals per image, scores: list of (N_i,), gt_boxes: list of
    (G_i, 4); returns (len(ks),) recalls, one per k (the top k of each image are used).
    """
    if not (len(boxes) == len(scores) == len(gt_boxes)):
        raise ValueError(f"boxes, scores and gt_boxes must have the same length, got "
                         f"{len(boxes)}, {len(scores)}, {len(gt_boxes)}")
    threshold = _check_threshold(iou_threshold, "iou_threshold")
    covered, total = torch.zeros(len(ks)), 0
    for b, s, g in zip(boxes, scores, gt_boxes):
        b, g = as_boxes(b), as_boxes(g, "gt_boxes")
        s = _as_vector(s, "scores", b.shape[0])
        total += g.shape[0]
        if g.shape[0] == 0 or b.shape[0] == 0:
            continue
        best = box_iou(b[torch.sort(s, descending=True, stable=True).indices], g)   # (N, G)
        for j, k in enumerate(ks):
            covered[j] += (best[:int(k)].max(dim=0).values >= threshold).sum()
    if total == 0:
        raise ValueError("gt_boxes must contain at least one box")
    return covered / total
