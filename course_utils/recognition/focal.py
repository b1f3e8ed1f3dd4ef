"""Classification losses for dense detection: focal loss, anchor one-hot targets, and where
the loss of a batch comes from (positives, hard and easy negatives)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..validate import as_float_tensor, check_choice, check_int, check_positive

Tensor = torch.Tensor


def _check_alpha(alpha) -> float | None:
    if alpha is None:
        return None
    alpha = float(alpha) if isinstance(alpha, (int, float)) and not isinstance(alpha, bool) \
        else None
    if alpha is None or not (alpha < 0 or 0 <= alpha <= 1):
        raise ValueError("alpha must lie in [0, 1] (the weight of the positives), or be None "
                         "or negative to switch the weighting off")
    return None if alpha < 0 else alpha


def sigmoid_focal_loss(logits, targets, alpha: float | None = 0.25, gamma: float = 2.0,
                       reduction: str = "none") -> Tensor:
    """Focal loss FL = -alpha_t (1 - p_t)^gamma log(p_t) for independent sigmoid outputs.

    logits, targets: same shape, targets in [0, 1]. p_t is the probability given to the true
    label, so well-classified (easy) examples are down-weighted by (1 - p_t)^gamma.
    alpha_t = alpha for positives and 1 - alpha for negatives: alpha = 0.25 gives the
    positives a *smaller* weight (RetinaNet, torchvision). alpha None (or negative) switches
    the weighting off; with gamma = 0 as well this is binary cross-entropy.
    reduction: "none", "mean" or "sum".
    """
    logits, targets = as_float_tensor(logits, "logits"), as_float_tensor(targets, "targets")
    if logits.shape != targets.shape:
        raise ValueError(f"logits and targets must have the same shape, got "
                         f"{tuple(logits.shape)} and {tuple(targets.shape)}")
    alpha = _check_alpha(alpha)
    gamma = check_positive(gamma, "gamma", allow_zero=True)
    check_choice(reduction, "reduction", ("none", "mean", "sum"))
    targets = targets.to(logits.dtype)
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def onehot_targets(target_labels: Tensor, num_classes: int) -> Tensor:
    """Anchor labels (..., A) in {-1 ignored, 0 background, k + 1 class k} -> binary targets
    (..., A, num_classes) float32: one 1 at class k for a positive, all 0 otherwise."""
    if not isinstance(target_labels, Tensor) or target_labels.is_floating_point():
        raise TypeError("target_labels must be an integer tensor")
    num_classes = check_int(num_classes, "num_classes", 1)
    if target_labels.numel() and (target_labels.min() < -1 or target_labels.max() > num_classes):
        raise ValueError(f"target_labels must lie in [-1, {num_classes}]")
    return F.one_hot(target_labels.clamp(min=0).long(), num_classes + 1)[..., 1:].float()


@torch.no_grad()
def loss_by_group(logits: Tensor, target_labels: Tensor, easy: float = 0.1,
                  gamma: float = 2.0, alpha: float | None = 0.25
                  ) -> dict[str, dict[str, float]]:
    """Where the classification loss comes from: positives, hard and easy negatives.

    logits: (N, A, C), target_labels: (N, A). An (anchor, class) output whose target is 0 is a
    negative; it is *easy* when its predicted probability is below ``easy``. Returns the
    group sizes ("count") and, for "cross_entropy" and "focal" (with ``gamma``, ``alpha``),
    the summed loss of each group.
    """
    if not isinstance(logits, Tensor) or logits.ndim != 3:
        raise ValueError("logits must be an (N, A, C) tensor")
    if not isinstance(target_labels, Tensor) or target_labels.shape != logits.shape[:2]:
        raise ValueError(f"target_labels must have shape {tuple(logits.shape[:2])}, "
                         f"got {tuple(getattr(target_labels, 'shape', ()))}")
    easy = check_positive(easy, "easy")
    if easy >= 1:
        raise ValueError(f"easy must lie in (0, 1), got {easy}")
    valid = target_labels >= 0
    x, t = logits[valid], onehot_targets(target_labels, logits.shape[-1]).to(logits)[valid]
    p = torch.sigmoid(x)
    groups = {"positives": t == 1, "hard negatives": (t == 0) & (p >= easy),
              "easy negatives": (t == 0) & (p < easy)}
    result = {"count": {name: float(mask.sum()) for name, mask in groups.items()}}
    for kind, (a, g) in {"cross_entropy": (None, 0.0), "focal": (alpha, gamma)}.items():
        loss = sigmoid_focal_loss(x, t, a, g)
        result[kind] = {name: float(loss[mask].sum()) for name, mask in groups.items()}
    return result


def easy_negative_share(breakdown: dict, kind: str) -> float:
    """Share of the ``kind`` loss ("cross_entropy" or "focal") carried by the easy negatives
    in a ``loss_by_group`` result."""
    check_choice(kind, "kind", ("cross_entropy", "focal"))
    total = sum(breakdown[kind].values())
    return breakdown[kind]["easy negatives"] / total if total > 0 else float("nan")
