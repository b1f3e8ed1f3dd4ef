"""Scores of predictions against ground truth, shared by the chapters.

Labelling: accuracy, the confusion matrix and (mean) intersection over union of label maps.
Motion: the end-point error of a flow. Embeddings: recall@1 and cluster purity. Images: PSNR.
Detection scores (AP, mAP, proposal recall) are chapter 04's:
:mod:`course_utils.recognition.detection_metrics`.
"""
from __future__ import annotations

import numpy as np
import torch

from .validate import as_float_array, check_int, check_positive

Tensor = torch.Tensor


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
    """Fraction of items whose predicted label equals the target. ``pred`` holds integer labels
    of ``target``'s shape, or scores with one more (last) axis, e.g. logits (N, K) for targets
    (N,), whose argmax along that axis is the predicted label."""
    if isinstance(pred, np.ndarray):
        pred = torch.from_numpy(pred)
    target = as_labels(target, "target")
    if isinstance(pred, torch.Tensor) and pred.ndim == target.ndim + 1:
        if pred.shape[:-1] != target.shape or pred.shape[-1] == 0:
            raise ValueError(f"scores pred must have shape {tuple(target.shape)} + (K,) with K >= 1 "
                             f"to match target, got {tuple(pred.shape)}")
        pred = pred.argmax(dim=-1)
    pred = as_labels(pred, "pred")
    if pred.shape != target.shape or pred.numel() == 0:
        raise ValueError(f"pred and target must be non-empty with the same shape, got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    return float((pred == target.to(pred.device)).double().mean())


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


def psnr(reference, estimate, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB: ``10 log10(data_range^2 / MSE)``; inf when equal."""
    reference = as_float_array(reference, "reference")
    estimate = as_float_array(estimate, "estimate")
    if reference.shape != estimate.shape:
        raise ValueError(f"reference and estimate must have the same shape, "
                         f"got {reference.shape} and {estimate.shape}")
    data_range = check_positive(data_range, "data_range")
    mse = float(np.mean((reference - estimate) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(data_range ** 2 / mse)
