"""Scores of detections against ground-truth boxes: matching detections to objects,
precision-recall, AP and mAP (VOC all-point or COCO 101-point), proposal recall@k and recall by
object size."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..validate import (
    as_float_tensor,
    as_vector,
    check_choice,
    check_fraction,
    check_int,
)
from .boxes import as_boxes, box_iou

Tensor = torch.Tensor


# ---------------------------------------------------------------- detection: AP and mAP
def match_detections(pred_boxes, pred_scores, gt_boxes, iou_threshold: float = 0.5) -> Tensor:
    """Mark each detection of one image and one class as true (1) or false (0) positive.

    pred_boxes: (N, 4), pred_scores: (N,), gt_boxes: (G, 4) -> (N,) bool. In descending score
    order each detection takes the still unmatched ground-truth box it overlaps most, if that
    IoU is >= iou_threshold (COCO's rule; a second detection of the same object is a false
    positive).
    """
    pred_boxes, gt_boxes = as_boxes(pred_boxes, "pred_boxes"), as_boxes(gt_boxes, "gt_boxes")
    scores = as_vector(pred_scores, "pred_scores", pred_boxes.shape[0])
    threshold = check_fraction(iou_threshold, "iou_threshold")
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
    scores = as_float_tensor(scores, "scores")
    if scores.ndim != 1:
        raise ValueError(f"scores must have shape (N,), got {tuple(scores.shape)}")
    is_tp = as_vector(is_tp, "is_tp", scores.shape[0], floating=False).bool()
    num_gt = check_int(num_gt, "num_gt", 1)
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
    precision, recall = as_float_tensor(precision, "precision"), as_float_tensor(recall, "recall")
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
    Returns {"map": float, "ap": {class: AP}, "curves": {class: (precision, recall, scores)}}
    with the curves ranked by descending score.
    """
    if len(preds) != len(targets):
        raise ValueError(f"preds and targets must have the same length, got {len(preds)} "
                         f"and {len(targets)}")
    check_fraction(iou_threshold, "iou_threshold")
    check_choice(method, "method", ("all-point", "coco101"))
    max_detections = check_int(max_detections, "max_detections", 1)
    scores, hits, num_gt = {}, {}, {}
    for i, (pred, target) in enumerate(zip(preds, targets)):
        boxes = as_boxes(pred["boxes"], f"preds[{i}]['boxes']")
        pred_scores = as_vector(pred["scores"], f"preds[{i}]['scores']", boxes.shape[0])
        pred_labels = as_vector(pred["labels"], f"preds[{i}]['labels']", boxes.shape[0], False)
        gt = as_boxes(target["boxes"], f"targets[{i}]['boxes']")
        gt_labels = as_vector(target["labels"], f"targets[{i}]['labels']", gt.shape[0], False)
        for c in torch.cat([pred_labels.cpu(), gt_labels.cpu()]).unique().tolist():
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
        ranked = torch.cat(scores[c])
        precision, recall = precision_recall(ranked, torch.cat(hits[c]), num_gt[c])
        ranked = torch.sort(ranked, descending=True, stable=True).values
        ap[c], curves[c] = average_precision(precision, recall, method), (precision, recall,
                                                                          ranked)
    mean = float(np.mean(list(ap.values()))) if ap else float("nan")
    return {"map": mean, "ap": ap, "curves": curves}


# ---------------------------------------------------------------- detection: recall
def _check_ks(ks) -> list[int]:
    if isinstance(ks, (int, str)) or not hasattr(ks, "__len__") or len(ks) == 0:
        raise ValueError(f"ks must be a non-empty sequence of positive integers, got {ks!r}")
    return [check_int(k, "ks", 1) for k in ks]


def proposal_recall(boxes, scores, gt_boxes, ks: Sequence[int], iou_threshold: float = 0.5
                    ) -> Tensor:
    """Fraction of ground-truth objects covered (IoU >= threshold) by the k best proposals.

    boxes: list of (N_i, 4) proposals per image, scores: list of (N_i,), gt_boxes: list of
    (G_i, 4); returns (len(ks),) recalls, one per k (the top k of each image are used).
    """
    if not (len(boxes) == len(scores) == len(gt_boxes)):
        raise ValueError(f"boxes, scores and gt_boxes must have the same length, got "
                         f"{len(boxes)}, {len(scores)}, {len(gt_boxes)}")
    ks = _check_ks(ks)
    threshold = check_fraction(iou_threshold, "iou_threshold")
    covered, total = torch.zeros(len(ks)), 0
    for b, s, g in zip(boxes, scores, gt_boxes):
        b, g = as_boxes(b), as_boxes(g, "gt_boxes")
        s = as_vector(s, "scores", b.shape[0])
        total += g.shape[0]
        if g.shape[0] == 0 or b.shape[0] == 0:
            continue
        best = box_iou(b[torch.sort(s, descending=True, stable=True).indices], g)   # (N, G)
        for j, k in enumerate(ks):
            covered[j] += (best[:k].max(dim=0).values >= threshold).sum()
    if total == 0:
        raise ValueError("gt_boxes must contain at least one box")
    return covered / total


def recall_by_size(detections: Sequence[dict], gt_boxes: Sequence,
                   bins: dict[str, tuple[float, float]], min_score: float = 0.5,
                   iou_threshold: float = 0.5) -> dict[str, dict[str, float]]:
    """Recall of ground-truth objects grouped by size, counting only confident detections.

    detections: per image {"boxes": (K, 4), "scores": (K,)}; gt_boxes: per image (G, 4);
    bins: name -> [low, high) range of an object's longer side in pixels. An object is found
    when a detection with score >= ``min_score`` overlaps it at IoU >= ``iou_threshold``
    (class-agnostic). Returns name -> {"objects", "min_side", "max_side", "recall"} (recall
    is NaN for an empty bin).
    """
    if len(detections) != len(gt_boxes):
        raise ValueError(f"detections and gt_boxes must have the same length, got "
                         f"{len(detections)} and {len(gt_boxes)}")
    if not isinstance(bins, dict) or not bins:
        raise ValueError(f"bins must be a non-empty dict name -> (low, high), got {bins!r}")
    gt_boxes = [as_boxes(g, "gt_boxes") for g in gt_boxes]
    sides = [(g[:, 2:] - g[:, :2]).amax(dim=1) for g in gt_boxes]
    kept = [d["scores"] >= min_score for d in detections]
    boxes = [d["boxes"][k] for d, k in zip(detections, kept)]
    scores = [d["scores"][k] for d, k in zip(detections, kept)]
    every = [max((len(b) for b in boxes), default=0) or 1]     # use all kept detections
    result = {}
    for name, (low, high) in bins.items():
        in_bin = [(s >= low) & (s < high) for s in sides]
        objects = [g[m] for g, m in zip(gt_boxes, in_bin)]
        count = sum(len(o) for o in objects)
        chosen = torch.cat([s[m] for s, m in zip(sides, in_bin)])
        recall = (proposal_recall(boxes, scores, objects, every, iou_threshold).item()
                  if count else float("nan"))
        result[name] = {"objects": count, "recall": recall,
                        "min_side": float(chosen.min()) if count else float("nan"),
                        "max_side": float(chosen.max()) if count else float("nan")}
    return result
