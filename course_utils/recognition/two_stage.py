"""The two-stage idea in miniature (R-CNN -> Faster R-CNN): propose, crop, classify.

Stage 1, a region proposal network: a ``TinyDetector`` with one class-agnostic output per
anchor, its **objectness** ("is there any object here?"), trained on anchor labels that
forget the class; its refined anchors, ranked by objectness after class-agnostic NMS, are
the proposals. Stage 2: every proposal is cut out of a shared feature map with
``torchvision.ops.roi_align`` (any box size -> the same small grid of feature vectors) and
a small classifier names its class, or "background" for a proposal that hits no object.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import roi_align

from ..device import model_device
from ..train import fit_steps
from ..validate import check_fraction, check_int, check_model_input, check_positive
from .boxes import as_boxes, box_iou
from .nms import nms
from .one_stage import TinyDetector, raw_detections

Tensor = torch.Tensor


def objectness_labels(target_labels: Tensor) -> Tensor:
    """Class labels of anchors (N, A) in {-1 ignored, 0 background, k + 1 class k} ->
    class-agnostic labels (N, A) in {-1, 0, 1}: every object class becomes "object"."""
    if not isinstance(target_labels, Tensor) or target_labels.is_floating_point():
        raise TypeError("target_labels must be an integer tensor")
    if target_labels.numel() and target_labels.min() < -1:
        raise ValueError("target_labels must be >= -1 (-1 ignored, 0 background, k + 1 class k)")
    return target_labels.clamp(max=1)


def propose(rpn: TinyDetector, images: Tensor, k: int = 10, nms_threshold: float = 0.7
            ) -> tuple[list[Tensor], list[Tensor]]:
    """The ``k`` best proposals of each image: refined anchors ranked by objectness after
    class-agnostic NMS at ``nms_threshold``.

    rpn: a TinyDetector with num_classes=1; images: (N, 3, S, S) -> N boxes (<=k, 4) and
    N objectness scores (<=k,), best first (CPU).
    """
    if not isinstance(rpn, TinyDetector) or rpn.num_classes != 1:
        raise ValueError("rpn must be a TinyDetector with num_classes=1 (objectness only)")
    k = check_int(k, "k", 1)
    check_fraction(nms_threshold, "nms_threshold")
    boxes, scores = raw_detections(rpn, images)
    proposals, objectness = [], []
    for b, s in zip(boxes, scores[..., 0]):
        keep = nms(b, s, nms_threshold)[:k]
        proposals.append(b[keep])
        objectness.append(s[keep])
    return proposals, objectness


def label_proposals(proposals: Sequence, gt_boxes: Sequence, gt_labels: Sequence,
                    iou_threshold: float = 0.5) -> list[Tensor]:
    """Training label of each proposal: k + 1 when it overlaps an object of class k at
    IoU >= ``iou_threshold`` (the object it overlaps most), else 0 (background).

    proposals, gt_boxes: N tensors (P_i, 4) and (G_i, 4); gt_labels: N tensors (G_i,) ->
    N int64 tensors (P_i,).
    """
    if not (len(proposals) == len(gt_boxes) == len(gt_labels)):
        raise ValueError(f"proposals, gt_boxes and gt_labels must have the same length, got "
                         f"{len(proposals)}, {len(gt_boxes)}, {len(gt_labels)}")
    threshold = check_fraction(iou_threshold, "iou_threshold")
    out = []
    for p, g, lab in zip(proposals, gt_boxes, gt_labels):
        p, g = as_boxes(p, "proposals"), as_boxes(g, "gt_boxes")
        labels = torch.zeros(len(p), dtype=torch.long)
        if len(g) and len(p):
            best_iou, best = box_iou(p, g).max(dim=1)
            labels = torch.where(best_iou >= threshold, torch.as_tensor(lab)[best].long() + 1,
                                 labels)
        out.append(labels)
    return out


def roi_features(features: Tensor, proposals: Sequence, output_size: int = 4,
                 spatial_scale: float = 1.0) -> Tensor:
    """Crop every proposal out of its image's feature map onto an output_size^2 grid.

    features: (N, F, h, w); proposals: N tensors (P_i, 4) in image pixels; spatial_scale:
    feature cells per pixel (1 / stride). Returns (sum P_i, F, output_size, output_size),
    bilinear samples as in Mask R-CNN (``torchvision.ops.roi_align(..., aligned=True)``).
    """
    if not isinstance(features, Tensor) or features.ndim != 4:
        raise ValueError("features must be an (N, F, h, w) tensor")
    if len(proposals) != len(features):
        raise ValueError(f"proposals must hold one tensor per image ({len(features)}), got "
                         f"{len(proposals)}")
    output_size = check_int(output_size, "output_size", 1)
    spatial_scale = check_positive(spatial_scale, "spatial_scale")
    boxes = [as_boxes(p, "proposals").to(features) for p in proposals]
    return roi_align(features, boxes, output_size=(output_size, output_size),
                     spatial_scale=spatial_scale, sampling_ratio=2, aligned=True)


class RoIHead(nn.Module):
    """The second stage: a small MLP on each RoI-aligned crop.

    crops: (R, in_channels, s, s) -> logits (R, num_classes + 1); class 0 is background.
    """

    def __init__(self, in_channels: int, output_size: int = 4, num_classes: int = 3,
                 hidden: int = 64) -> None:
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", 1)
        output_size = check_int(output_size, "output_size", 1)
        num_classes = check_int(num_classes, "num_classes", 1)
        hidden = check_int(hidden, "hidden", 1)
        self.input_shape = (in_channels, output_size, output_size)
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * output_size ** 2, hidden),
                                 nn.ReLU(inplace=True), nn.Linear(hidden, num_classes + 1))

    def forward(self, crops: Tensor) -> Tensor:
        if not isinstance(crops, Tensor) or crops.ndim != 4 or \
                tuple(crops.shape[1:]) != self.input_shape:
            raise ValueError(f"crops must have shape (R, {', '.join(map(str, self.input_shape))})"
                             f", got {tuple(getattr(crops, 'shape', ()))}")
        check_model_input(crops, "crops", self)
        return self.mlp(crops)


def train_roi_head(head: RoIHead, crops: Tensor, labels: Tensor, steps: int = 300,
                   batch_size: int = 128, lr: float = 3e-3, seed: int = 0) -> list[float]:
    """Fit ``head`` to crops (R, F, s, s) and labels (R,) with Adam and cross-entropy on
    random mini-batches; returns the per-step loss."""
    if not isinstance(head, RoIHead):
        raise TypeError(f"head must be a RoIHead, got {type(head).__name__}")
    if len(crops) != len(labels) or len(crops) == 0:
        raise ValueError(f"crops and labels must be non-empty and of the same length, got "
                         f"{len(crops)} and {len(labels)}")
    steps, batch_size = check_int(steps, "steps", 1), check_int(batch_size, "batch_size", 1)
    lr, seed = check_positive(lr, "lr"), check_int(seed, "seed", 0)
    device = model_device(head)

    def batch_loss(generator: torch.Generator) -> Tensor:
        batch = torch.randint(0, len(crops), (batch_size,), generator=generator)
        return F.cross_entropy(head(crops[batch].to(device)), labels[batch].to(device))

    history = fit_steps(head, batch_loss, steps, lr, seed)
    head.eval()
    return history


@torch.no_grad()
def classify_rois(head: RoIHead, crops: Tensor) -> Tensor:
    """Predicted label (0 background, k + 1 class k) of each crop (R, F, s, s) -> (R,) CPU."""
    if not isinstance(head, RoIHead):
        raise TypeError(f"head must be a RoIHead, got {type(head).__name__}")
    head.eval()
    return head(crops.to(model_device(head))).argmax(dim=1).cpu()
