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

from ..device import model_device, seed_everything
from ..train import fit_steps
from ..validate import check_fraction, check_int, check_model_input, check_positive
from .boxes import as_boxes, box_iou
from .nms import nms
from ..data.shapes import make_dataset
from .detection_metrics import mean_average_precision
from .one_stage import (TinyDetector, backbone_features, build_targets, imbalance_arm, postprocess,
                        raw_detections, train_detector)

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


FEATURE_STAGES = 3   # the RoI head reads the backbone after 3 blocks (stride 4)


def stage_two_crops(rpn: TinyDetector, images: Tensor, proposals: Sequence,
                    output_size: int = 4) -> Tensor:
    """The RoI-aligned crops of ``proposals`` (N tensors (P_i, 4), image pixels) from ``rpn``'s
    own backbone after ``FEATURE_STAGES`` blocks: (sum P_i, F, output_size, output_size)."""
    features = backbone_features(rpn, images, stages=FEATURE_STAGES)
    return roi_features(features, proposals, output_size,
                        spatial_scale=features.shape[-1] / images.shape[-1])


@torch.no_grad()
def detect(rpn: TinyDetector, head: RoIHead, images: Tensor, k: int = 10,
           score_threshold: float = 0.05, iou_threshold: float = 0.5) -> list[dict[str, Tensor]]:
    """The two-stage pipeline end to end: ``k`` proposals per image (``propose``), each named by
    ``head`` from the crops of the RPN's own features (softmax over background and the classes);
    every (proposal, class) pair is a candidate scored by that class's probability, and
    ``one_stage.postprocess`` keeps those above ``score_threshold`` after class-aware NMS at
    ``iou_threshold``. The boxes are the proposals' (one refinement, by the RPN). Returns one
    {"boxes", "scores", "labels"} dict per image, as ``one_stage.detect`` does."""
    if not isinstance(head, RoIHead):
        raise TypeError(f"head must be a RoIHead, got {type(head).__name__}")
    proposals, _ = propose(rpn, images, k)
    head.eval()
    crops = stage_two_crops(rpn, images, proposals, head.input_shape[-1])
    probs = F.softmax(head(crops.to(model_device(head))), dim=1)[:, 1:].cpu()
    per_image = probs.split([len(p) for p in proposals])
    return [postprocess(p, s, score_threshold, iou_threshold) for p, s in zip(proposals, per_image)]


def train_two_stage(images: Tensor, boxes: Sequence, labels: Sequence, steps: int, lr: float,
                    roi_images: int = 1000, roi_steps: int = 400, k: int = 10, seed: int = 0
                    ) -> tuple[TinyDetector, RoIHead]:
    """Train both stages on their own backbone: an RPN (``TinyDetector`` with one objectness
    output) from scratch for ``steps`` steps of 32 images at ``lr`` (focal loss, as the
    one-stage detector), then a ``RoIHead`` for ``roi_steps`` steps on the labelled crops of the
    RPN's ``k`` best proposals on the first ``roi_images`` training images."""
    seed_everything(check_int(seed, "seed", 0))
    rpn = TinyDetector(num_classes=1).to(memory_format=torch.channels_last)
    target_labels, target_deltas = build_targets(rpn.anchors, boxes, labels)
    train_detector(rpn, images, objectness_labels(target_labels), target_deltas, steps=steps, lr=lr,
                   seed=seed, progress=False)
    n = min(check_int(roi_images, "roi_images", 1), len(images))
    proposals, _ = propose(rpn, images[:n], k)
    crops = stage_two_crops(rpn, images[:n], proposals)
    head = RoIHead(crops.shape[1], output_size=crops.shape[-1])
    train_roi_head(head, crops, torch.cat(label_proposals(proposals, boxes[:n], labels[:n])),
                   steps=roi_steps, seed=seed)
    return rpn, head


def pipeline_arm(config: dict, seeds) -> dict[str, list[float]]:
    """One arm of chapter 04's one-stage vs two-stage comparison (for ``evidence.compare``), on
    the chapter's 2,000 training and 300 held-out scenes (seeds 1 and 2). ``config["pipeline"]``
    "one-stage": the focal detector (alpha 0.25, gamma 2, prior 0.01; ``imbalance_arm``);
    "two-stage": ``train_two_stage`` with the same backbone, steps and rate, plus its RoI head's
    ``config["roi_steps"]``. Per seed: mAP@0.5 on the held-out scenes."""
    pipeline = config["pipeline"]
    if pipeline == "one-stage":
        mAP = imbalance_arm({"prior": 0.01, "alpha": 0.25, "gamma": 2.0, "steps": config["steps"],
                             "lr": config["lr"]}, seeds)["mAP@0.5"]
        return {"mAP@0.5": mAP}
    if pipeline != "two-stage":
        raise ValueError(f"config['pipeline'] must be 'one-stage' or 'two-stage', got {pipeline!r}")
    train, test = make_dataset(2000, seed=1), make_dataset(300, seed=2)
    targets = [{"boxes": b, "labels": lab} for b, lab in zip(test["boxes"], test["labels"])]
    out: dict[str, list[float]] = {"mAP@0.5": []}
    for seed in seeds:
        rpn, head = train_two_stage(train["images"], train["boxes"], train["labels"], config["steps"],
                                    config["lr"], roi_steps=config["roi_steps"], seed=seed)
        out["mAP@0.5"].append(mean_average_precision(detect(rpn, head, test["images"]), targets)["map"])
    return out
