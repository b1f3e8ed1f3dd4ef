"""Scores of predictions against ground truth, shared by the chapters.

Detection: matching detections to objects, precision-recall, AP and mAP (VOC all-point or
COCO 101-point), proposal recall@k, recall by object size. Labelling: the confusion matrix
and (mean) intersection over union of label maps. Motion: the end-point error of a flow.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .boxes import as_boxes, as_tensor, as_vector, box_iou, check_fraction
from .validate import check_choice, check_int

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
    scores = as_tensor(scores, "scores")
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
    precision, recall = as_tensor(precision, "precision"), as_tensor(recall, "recall")
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


# ---------------------------------------------------------------- labels: confusion and IoU
def as_labels(x, name: str) -> Tensor:
    """``x`` (tensor or numpy array) as an integer label tensor, else a TypeError."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array of integer labels, "
                        f"got {type(x).__name__}")
    if x.dtype.is_floating_point or x.dtype.is_complex or x.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels, got dtype {x.dtype} "
                        f"(take argmax over the class axis of logits first)")
    return x


def confusion_matrix(pred, target, num_classes: int) -> Tensor:
    """Count items (pixels, objects, images) by (true class, predicted class).

    pred, target: integer labels of the same shape, e.g. (N, H, W) label maps or (N,)
    classes, values in [0, num_classes). Returns (num_classes, num_classes) int64 with
    rows = target, columns = pred.
    """
    pred, target = as_labels(pred, "pred"), as_labels(target, "target")
    num_classes = check_int(num_classes, "num_classes", 1)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} "
                         f"and {tuple(target.shape)}")
    if pred.numel() == 0:
        raise ValueError("pred and target must not be empty")
    for name, labels in (("pred", pred), ("target", target)):
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= num_classes:
            raise ValueError(f"{name} labels must lie in [0, {num_classes}), got values in "
                             f"[{low}, {high}]")
    flat = target.reshape(-1).long() * num_classes + pred.reshape(-1).long()
    return torch.bincount(flat.cpu(), minlength=num_classes ** 2).view(num_classes, num_classes)


def iou_from_confusion(confusion: Tensor) -> Tensor:
    """Per-class IoU = TP / (TP + FP + FN) from a (K, K) confusion matrix (rows = target).

    Returns (K,) float64; a class absent from both prediction and target (TP + FP + FN = 0)
    gets NaN, since its IoU is undefined.
    """
    if not isinstance(confusion, torch.Tensor):
        raise TypeError(f"confusion must be a torch.Tensor, got {type(confusion).__name__}")
    if confusion.ndim != 2:
        raise ValueError(f"confusion must have 2 dimensions, got shape {tuple(confusion.shape)}")
    if confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion must be square, got shape {tuple(confusion.shape)}")
    confusion = confusion.double()
    tp = confusion.diag()
    union = confusion.sum(0) + confusion.sum(1) - tp
    return torch.where(union > 0, tp / union.clamp(min=1), torch.full_like(tp, float("nan")))


def accuracy(pred, target) -> float:
    """Fraction of items whose predicted label equals the target: pred, target same shape."""
    pred, target = as_labels(pred, "pred"), as_labels(target, "target")
    if pred.shape != target.shape or pred.numel() == 0:
        raise ValueError(f"pred and target must be non-empty with the same shape, got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    return float((pred == target).double().mean())


def mean_iou(pred, target, num_classes: int, per_class: bool = False):
    """Mean intersection-over-union over classes, pooled over all pixels of all images.

    pred, target: integer label maps of the same shape (e.g. (N, H, W)) in [0, num_classes).
    Convention: classes absent from both ``pred`` and ``target`` are left out of the mean
    (their IoU would be 0 / 0); a class present in only one of them counts with IoU 0.
    Returns a float, or ``(mean, iou)`` with the (num_classes,) per-class tensor (NaN for
    absent classes) when ``per_class=True``.
    """
    iou = iou_from_confusion(confusion_matrix(pred, target, num_classes))
    mean = float(torch.nanmean(iou))
    return (mean, iou) if per_class else mean


# ---------------------------------------------------------------- motion: end-point error
def endpoint_error(flow, true_flow, mask=None) -> float:
    """Mean end-point error in pixels: the average length of ``flow - true_flow``.

    flow, true_flow: (2, H, W) or (N, 2, H, W) displacement fields (numpy or torch), the two
    components on axis -3; mask: optional boolean (H, W) or (N, H, W), True where to average.
    """
    def as_array(x, name):
        x = x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
        if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
        return x
    flow, true_flow = as_array(flow, "flow"), as_array(true_flow, "true_flow")
    if flow.ndim not in (3, 4) or flow.shape[-3] != 2:
        raise ValueError(f"flow must be (2, H, W) or (N, 2, H, W), got shape {flow.shape}")
    if flow.shape != true_flow.shape:
        raise ValueError(f"flow and true_flow must have the same shape, got {flow.shape} and "
                         f"{true_flow.shape}")
    flow, true_flow = flow.astype(np.float64), true_flow.astype(np.float64)
    errors = np.sqrt(((flow - true_flow) ** 2).sum(axis=-3))
    if mask is None:
        return float(errors.mean())
    mask = as_array(mask, "mask") != 0
    if mask.shape != errors.shape:
        raise ValueError(f"mask must have shape {errors.shape}, got {mask.shape}")
    if not mask.any():
        raise ValueError("mask must select at least one pixel")
    return float(errors[mask].mean())


# ---------------------------------------------------------------- embeddings and clusters
def recall_at_1(embeddings, labels) -> float:
    """Share of rows whose nearest other row (Euclidean) has the same label.
    embeddings: (N, D), labels: (N,)."""
    embeddings = torch.as_tensor(embeddings, dtype=torch.float64)
    labels = torch.as_tensor(labels)
    if embeddings.ndim != 2 or labels.shape != embeddings.shape[:1] or len(labels) < 2:
        raise ValueError(f"embeddings must be (N, D) with N >= 2 and labels (N,), got "
                         f"{tuple(embeddings.shape)} and {tuple(labels.shape)}")
    distance = torch.cdist(embeddings, embeddings)
    distance.fill_diagonal_(float("inf"))
    return (labels[distance.argmin(dim=1)] == labels).double().mean().item()


def cluster_purity(assignments, labels) -> float:
    """Each cluster votes for its most frequent label; the share of points that agree with
    their cluster's vote. assignments, labels: (N,) integer arrays."""
    assignments, labels = np.asarray(assignments), np.asarray(labels)
    if assignments.shape != labels.shape or assignments.ndim != 1 or assignments.size == 0:
        raise ValueError(f"assignments and labels must be non-empty (N,) arrays, got "
                         f"{assignments.shape} and {labels.shape}")
    agree = sum(np.bincount(labels[assignments == c]).max() for c in np.unique(assignments))
    return float(agree / len(labels))
