"""A one-stage anchor-based detector (a miniature RetinaNet) for the generated shape scenes.

Pipeline: a small CNN maps a (3, 64, 64) image to an 8 x 8 feature map; at every cell and
for every anchor a head predicts C class scores (sigmoids: "is this anchor an object of
class k?") and 4 box deltas that refine the anchor (classify, then refine). Training labels
come from matching anchors to ground-truth boxes by IoU; inference decodes the deltas,
drops low scores and runs class-aware NMS.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .detection import (as_boxes, batched_nms, box_iou, decode_boxes, encode_boxes,
                        make_anchors, sigmoid_focal_loss)
from .validate import check_choice, check_positive

Tensor = torch.Tensor
CLASSIFICATION_LOSSES = ("focal", "cross_entropy")
# Deltas are scaled so that centre shifts and log-size changes have similar magnitudes.
BOX_WEIGHTS = (1.0, 1.0, 1.0, 1.0)


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class TinyDetector(nn.Module):
    """Backbone (stride 8) + one shared head over ``len(scales) * len(ratios)`` anchors per cell.

    The defaults (3 square anchors of 12, 18 and 26 pixels, 16 base channels, about 33k
    parameters) fit the 64 x 64 shape scenes, whose objects have square bounding boxes.

    forward(images: (N, 3, S, S)) -> (class_logits (N, A_total, C), box_deltas (N, A_total, 4)),
    where A_total = (S / 8)^2 * anchors per cell, in the order of ``self.anchors`` (A_total, 4).
    """

    stride = 8

    def __init__(self, num_classes: int = 3, image_size: int = 64,
                 scales: Sequence[float] = (12.0, 18.0, 26.0), ratios: Sequence[float] = (1.0,),
                 width: int = 16, prior: float = 0.01) -> None:
        super().__init__()
        if image_size % self.stride:
            raise ValueError(f"image_size must be a multiple of {self.stride}, got {image_size}")
        self.num_classes, self.image_size = int(num_classes), int(image_size)
        self.scales, self.ratios = tuple(scales), tuple(ratios)
        self.anchors_per_cell = len(self.scales) * len(self.ratios)
        self.backbone = nn.Sequential(
            _conv(3, width // 2, 2), _conv(width // 2, width, 2), _conv(width, width),
            _conv(width, 2 * width, 2), _conv(2 * width, 2 * width))
        self.head = _conv(2 * width, 2 * width)
        self.classifier = nn.Conv2d(2 * width, self.anchors_per_cell * num_classes, 3, padding=1)
        self.regressor = nn.Conv2d(2 * width, self.anchors_per_cell * 4, 3, padding=1)
        self.reset_head(prior)
        self.register_buffer("anchors", make_anchors(image_size // self.stride, self.stride,
                                                     self.scales, self.ratios))

    def reset_head(self, prior: float = 0.01) -> None:
        """Re-initialise the head; class biases start at log(prior / (1 - prior)), so every
        anchor first predicts "background" with probability 1 - prior (RetinaNet's trick)."""
        for module in (self.classifier, self.regressor):
            nn.init.normal_(module.weight, std=0.01)
            nn.init.zeros_(module.bias)
        nn.init.constant_(self.classifier.bias, math.log(prior / (1 - prior)))
        for module in self.head.modules():
            if isinstance(module, (nn.Conv2d, nn.BatchNorm2d)):
                module.reset_parameters()

    def predict_head(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """features: (N, F, h, w) -> class logits (N, h*w*A, C), box deltas (N, h*w*A, 4)."""
        x = self.head(features)
        n = x.shape[0]
        logits = self.classifier(x).permute(0, 2, 3, 1).reshape(n, -1, self.num_classes)
        deltas = self.regressor(x).permute(0, 2, 3, 1).reshape(n, -1, 4)
        return logits, deltas

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        if images.ndim != 4 or images.shape[1:] != (3, self.image_size, self.image_size):
            raise ValueError(f"images must have shape (N, 3, {self.image_size}, "
                             f"{self.image_size}), got {tuple(images.shape)}")
        return self.predict_head(self.backbone(images))


def build_targets(anchors: Tensor, boxes: Sequence, labels: Sequence, fg_iou: float = 0.5,
                  bg_iou: float = 0.4) -> tuple[Tensor, Tensor]:
    """Label every anchor of N images by its IoU with that image's ground-truth boxes.

    anchors: (A, 4); boxes: N tensors (G_i, 4); labels: N tensors (G_i,) in 0..C-1 ->
    target_labels (N, A) int64: k + 1 for an anchor matched to a box of class k, 0 for
    background, -1 ignored; target_deltas (N, A, 4): the matched box encoded on the anchor
    (zeros elsewhere). An anchor is matched to the box it overlaps most when that IoU is
    >= fg_iou, is background below bg_iou and ignored in between; in addition the anchors
    with the highest IoU for each box are matched (so small boxes get an anchor too). This is
    the rule of torchvision's ``Matcher(fg_iou, bg_iou, allow_low_quality_matches=True)``.
    """
    if len(boxes) != len(labels):
        raise ValueError(f"boxes and labels must have the same length, got {len(boxes)} "
                         f"and {len(labels)}")
    n, num_anchors = len(boxes), anchors.shape[0]
    g = max([len(b) for b in boxes] + [1])
    gt = anchors.new_zeros(n, g, 4)
    gt_labels = torch.full((n, g), -1, dtype=torch.long, device=anchors.device)
    for i, (b, l) in enumerate(zip(boxes, labels)):
        b = as_boxes(b, f"boxes[{i}]")
        l = torch.as_tensor(l, dtype=torch.long)
        if l.shape != b.shape[:1]:
            raise ValueError(f"labels[{i}] must have shape ({b.shape[0]},), got {tuple(l.shape)}")
        gt[i, :len(b)], gt_labels[i, :len(b)] = b.to(gt), l.to(gt_labels.device)
    valid = gt_labels >= 0                                              # (N, G)
    iou = box_iou(anchors, gt.reshape(-1, 4)).reshape(num_anchors, n, g).permute(1, 0, 2)
    iou = iou.masked_fill(~valid[:, None, :], -1.0)                     # (N, A, G)
    best_iou, best_gt = iou.max(dim=2)                                  # (N, A)
    matched_labels = gt_labels.gather(1, best_gt) + 1
    target = torch.where(best_iou >= fg_iou, matched_labels, 0)
    target[(best_iou >= bg_iou) & (best_iou < fg_iou)] = -1
    highest = iou.max(dim=1, keepdim=True).values                       # (N, 1, G)
    is_best = ((iou == highest) & valid[:, None, :] & (highest > 0)).any(dim=2)
    target = torch.where(is_best, matched_labels, target)
    positive = target > 0
    deltas = torch.zeros(n, num_anchors, 4, dtype=anchors.dtype, device=anchors.device)
    matched = gt.gather(1, best_gt[..., None].expand(n, num_anchors, 4))
    deltas[positive] = encode_boxes(matched[positive], anchors.expand(n, -1, -1)[positive],
                                    BOX_WEIGHTS)
    return target, deltas


def detection_loss(logits: Tensor, deltas: Tensor, target_labels: Tensor, target_deltas: Tensor,
                   classification: str = "focal", alpha: float = 0.25,
                   gamma: float = 2.0) -> dict[str, Tensor]:
    """Classification + box loss, each summed and divided by the number of positive anchors.

    logits: (N, A, C), deltas: (N, A, 4), target_labels: (N, A) in {-1, 0, 1..C},
    target_deltas: (N, A, 4). ``classification`` is "focal" (sigmoid focal loss) or
    "cross_entropy" (plain binary cross-entropy, i.e. gamma = 0 and no alpha). The box loss
    is L1 on the deltas of positive anchors. Returns {"loss", "cls", "box"}.
    """
    check_choice(classification, "classification", CLASSIFICATION_LOSSES)
    if target_labels.shape != logits.shape[:2] or deltas.shape != target_deltas.shape:
        raise ValueError(f"targets must match the predictions: logits {tuple(logits.shape)}, "
                         f"target_labels {tuple(target_labels.shape)}, deltas "
                         f"{tuple(deltas.shape)}, target_deltas {tuple(target_deltas.shape)}")
    valid, positive = target_labels >= 0, target_labels > 0
    num_pos = positive.sum().clamp(min=1)
    onehot = F.one_hot(target_labels.clamp(min=0), logits.shape[-1] + 1)[..., 1:].to(logits)
    if classification == "focal":
        cls = sigmoid_focal_loss(logits[valid], onehot[valid], alpha, gamma, "sum")
    else:
        cls = sigmoid_focal_loss(logits[valid], onehot[valid], -1.0, 0.0, "sum")
    box = F.l1_loss(deltas[positive], target_deltas[positive], reduction="sum")
    cls, box = cls / num_pos, box / num_pos
    return {"loss": cls + box, "cls": cls, "box": box}


def train_detector(model: TinyDetector, images: Tensor, target_labels: Tensor,
                   target_deltas: Tensor, steps: int, batch_size: int = 32, lr: float = 4e-3,
                   classification: str = "focal", head_only: bool = False, seed: int = 0,
                   progress: bool = True) -> dict[str, list[float]]:
    """Train with AdamW and a one-cycle learning-rate schedule on random mini-batches.

    images: (N, 3, S, S) (moved batch by batch to the model's device), target_labels (N, A),
    target_deltas (N, A, 4) from ``build_targets``. With ``head_only`` the backbone is frozen
    and its features are computed once (fast, for comparing losses on the same features).
    Returns the per-step history {"loss", "cls", "box"}.
    """
    check_choice(classification, "classification", CLASSIFICATION_LOSSES)
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not (len(images) == len(target_labels) == len(target_deltas)):
        raise ValueError(f"images, target_labels and target_deltas must have the same length, "
                         f"got {len(images)}, {len(target_labels)}, {len(target_deltas)}")
    lr = check_positive(lr, "lr")
    device = model.anchors.device
    if head_only:
        model.backbone.eval()
        with torch.no_grad():
            inputs = torch.cat([model.backbone(images[i:i + 256].to(device))
                                for i in range(0, len(images), 256)])
        params = [p for m in (model.head, model.classifier, model.regressor)
                  for p in m.parameters()]
    else:
        inputs, params = images, list(model.parameters())
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps,
                                                   pct_start=0.2)
    generator = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {"loss": [], "cls": [], "box": []}
    model.train()
    if head_only:
        model.backbone.eval()
    for _ in tqdm(range(steps), desc="training", disable=not progress, leave=False):
        batch = torch.randint(0, len(inputs), (batch_size,), generator=generator)
        x = inputs[batch].to(device)
        logits, deltas = model.predict_head(x) if head_only else model(x)
        losses = detection_loss(logits, deltas, target_labels[batch].to(device),
                                target_deltas[batch].to(device), classification)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        optimizer.step()
        schedule.step()
        for key in history:
            history[key].append(float(losses[key].detach()))
    model.eval()
    return history


@torch.no_grad()
def raw_detections(model: TinyDetector, images: Tensor,
                   batch_size: int = 256) -> tuple[Tensor, Tensor]:
    """Every anchor's decoded box and class probabilities, before any thresholding or NMS.

    images: (N, 3, S, S) -> boxes (N, A, 4) clipped to the image, scores (N, A, C) (CPU).
    """
    model.eval()
    device = model.anchors.device
    boxes, scores = [], []
    for i in range(0, len(images), batch_size):
        logits, deltas = model(images[i:i + batch_size].to(device))
        boxes.append(decode_boxes(deltas, model.anchors, BOX_WEIGHTS)
                     .clamp(0, model.image_size).cpu())
        scores.append(torch.sigmoid(logits).cpu())
    return torch.cat(boxes), torch.cat(scores)


def postprocess(boxes: Tensor, scores: Tensor, score_threshold: float = 0.05,
                iou_threshold: float = 0.5, max_detections: int = 100) -> dict[str, Tensor]:
    """Turn one image's raw boxes (A, 4) and scores (A, C) into detections.

    Every (anchor, class) pair scoring above ``score_threshold`` is a candidate; class-aware
    NMS removes duplicates; the best ``max_detections`` remain.
    Returns {"boxes": (K, 4), "scores": (K,), "labels": (K,)}.
    """
    anchor_idx, labels = torch.nonzero(scores > score_threshold, as_tuple=True)
    cand_boxes, cand_scores = boxes[anchor_idx], scores[anchor_idx, labels]
    keep = batched_nms(cand_boxes, cand_scores, labels, iou_threshold)[:max_detections]
    return {"boxes": cand_boxes[keep], "scores": cand_scores[keep], "labels": labels[keep]}


def detect(model: TinyDetector, images: Tensor, score_threshold: float = 0.05,
           iou_threshold: float = 0.5, max_detections: int = 100) -> list[dict[str, Tensor]]:
    """Detections for each image of images: (N, 3, S, S): a list of ``postprocess`` dicts."""
    boxes, scores = raw_detections(model, images)
    return [postprocess(b, s, score_threshold, iou_threshold, max_detections)
            for b, s in zip(boxes, scores)]


@torch.no_grad()
def loss_by_group(logits: Tensor, target_labels: Tensor, easy: float = 0.1
                  ) -> dict[str, dict[str, float]]:
    """Where the classification loss comes from: positives, hard and easy negatives.

    logits: (N, A, C), target_labels: (N, A). An (anchor, class) output whose target is 0 is a
    negative; it is *easy* when its predicted probability is below ``easy``. Returns, for
    "cross_entropy" and "focal", the summed loss of each group plus the group sizes.
    """
    if target_labels.shape != logits.shape[:2]:
        raise ValueError(f"target_labels must have shape {tuple(logits.shape[:2])}, "
                         f"got {tuple(target_labels.shape)}")
    valid = target_labels >= 0
    onehot = F.one_hot(target_labels.clamp(min=0), logits.shape[-1] + 1)[..., 1:].to(logits)
    x, t = logits[valid], onehot[valid]
    p = torch.sigmoid(x)
    groups = {"positives": t == 1, "hard negatives": (t == 0) & (p >= easy),
              "easy negatives": (t == 0) & (p < easy)}
    result = {"count": {name: float(mask.sum()) for name, mask in groups.items()}}
    for kind, (alpha, gamma) in {"cross_entropy": (-1.0, 0.0), "focal": (0.25, 2.0)}.items():
        loss = sigmoid_focal_loss(x, t, alpha, gamma)
        result[kind] = {name: float(loss[mask].sum()) for name, mask in groups.items()}
    return result
