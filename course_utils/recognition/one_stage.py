"""A one-stage anchor-based detector (a miniature RetinaNet) for the generated shape scenes.

Pipeline: a small CNN maps a (3, 64, 64) image to an 8 x 8 feature map; at every cell and
for every anchor a head predicts C class scores (sigmoids: "is this anchor an object of
class k?") and 4 box deltas that refine the anchor (classify, then refine). Training labels
come from matching anchors to ground-truth boxes by IoU; inference decodes the deltas,
drops low scores and runs class-aware NMS. The building blocks live in ``boxes``,
``anchors``, ``nms``, ``focal`` and ``detection_metrics``.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..data.shapes import make_dataset
from ..device import model_device, seed_everything
from ..validate import check_choice, check_fraction, check_int, check_model_input, check_positive
from .anchors import _check_sequence, make_anchors
from .boxes import as_boxes, box_iou, decode_boxes, encode_boxes
from .detection_metrics import mean_average_precision
from .focal import easy_negative_share, loss_by_group, onehot_targets, sigmoid_focal_loss
from .nms import batched_nms

Tensor = torch.Tensor
CLASSIFICATION_LOSSES = ("focal", "cross_entropy")
BOX_WEIGHTS = (1.0, 1.0, 1.0, 1.0)


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return value


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class TinyDetector(nn.Module):
    """Backbone (stride 8) + one shared head over ``len(scales) * len(ratios)`` anchors per cell.

    The defaults (3 square anchors of 12, 18 and 26 pixels, 16 base channels, about 33k
    parameters) fit the 64 x 64 shape scenes, whose objects have square bounding boxes.
    ``num_classes=1`` makes it a class-agnostic objectness network (a region proposal net).

    forward(images: (N, 3, S, S)) -> (class_logits (N, A_total, C), box_deltas (N, A_total, 4)),
    where A_total = (S / 8)^2 * anchors per cell, in the order of ``self.anchors`` (A_total, 4).
    """

    stride = 8

    def __init__(self, num_classes: int = 3, image_size: int = 64,
                 scales: Sequence[float] = (12.0, 18.0, 26.0), ratios: Sequence[float] = (1.0,),
                 width: int = 16, prior: float = 0.01) -> None:
        super().__init__()
        image_size = check_int(image_size, "image_size", self.stride)
        if image_size % self.stride:
            raise ValueError(f"image_size must be a multiple of {self.stride}, got {image_size}")
        self.num_classes = check_int(num_classes, "num_classes", 1)
        self.image_size = image_size
        self.scales = tuple(_check_sequence(scales, "scales"))
        self.ratios = tuple(_check_sequence(ratios, "ratios"))
        width = check_int(width, "width", 2)
        self.anchors_per_cell = len(self.scales) * len(self.ratios)
        self.backbone = nn.Sequential(
            _conv(3, width // 2, 2), _conv(width // 2, width, 2), _conv(width, width),
            _conv(width, 2 * width, 2), _conv(2 * width, 2 * width))
        self.head = _conv(2 * width, 2 * width)
        self.classifier = nn.Conv2d(2 * width, self.anchors_per_cell * self.num_classes, 3,
                                    padding=1)
        self.regressor = nn.Conv2d(2 * width, self.anchors_per_cell * 4, 3, padding=1)
        self.reset_head(prior)
        self.register_buffer("anchors", make_anchors(image_size // self.stride, self.stride,
                                                     self.scales, self.ratios))

    def reset_head(self, prior: float = 0.01) -> None:
        """Re-initialise the head; class biases start at log(prior / (1 - prior)), so every
        anchor first predicts "background" with probability 1 - prior (RetinaNet's trick;
        prior = 0.5 is the naive start, bias 0)."""
        prior = check_positive(prior, "prior")
        if prior >= 1:
            raise ValueError(f"prior must lie in (0, 1), got {prior}")
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
        if not isinstance(images, Tensor) or images.ndim != 4 or \
                images.shape[1:] != (3, self.image_size, self.image_size):
            raise ValueError(f"images must have shape (N, 3, {self.image_size}, "
                             f"{self.image_size}), got {tuple(getattr(images, 'shape', ()))}")
        check_model_input(images, "images", self)
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
    anchors = as_boxes(anchors, "anchors")
    fg_iou, bg_iou = check_fraction(fg_iou, "fg_iou"), check_fraction(bg_iou, "bg_iou")
    if bg_iou > fg_iou:
        raise ValueError(f"bg_iou must be <= fg_iou, got bg_iou={bg_iou}, fg_iou={fg_iou}")
    if len(boxes) != len(labels):
        raise ValueError(f"boxes and labels must have the same length, got {len(boxes)} "
                         f"and {len(labels)}")
    n, num_anchors = len(boxes), anchors.shape[0]
    g = max([len(b) for b in boxes] + [1])
    gt = anchors.new_zeros(n, g, 4)
    gt_labels = torch.full((n, g), -1, dtype=torch.long, device=anchors.device)
    for i, (b, lab) in enumerate(zip(boxes, labels)):
        b = as_boxes(b, f"boxes[{i}]")
        lab = torch.as_tensor(lab, dtype=torch.long)
        if lab.shape != b.shape[:1]:
            raise ValueError(f"labels[{i}] must have shape ({b.shape[0]},), got "
                             f"{tuple(lab.shape)}")
        gt[i, :len(b)], gt_labels[i, :len(b)] = b.to(gt), lab.to(gt_labels.device)
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
    onehot = onehot_targets(target_labels, logits.shape[-1]).to(logits)
    if classification == "focal":
        cls = sigmoid_focal_loss(logits[valid], onehot[valid], alpha, gamma, "sum")
    else:
        cls = sigmoid_focal_loss(logits[valid], onehot[valid], None, 0.0, "sum")
    box = F.l1_loss(deltas[positive], target_deltas[positive], reduction="sum")
    cls, box = cls / num_pos, box / num_pos
    return {"loss": cls + box, "cls": cls, "box": box}


def train_detector(model: TinyDetector, images: Tensor, target_labels: Tensor,
                   target_deltas: Tensor, steps: int, batch_size: int = 32, lr: float = 4e-3,
                   classification: str = "focal", head_only: bool = False, seed: int = 0,
                   progress: bool = True, alpha: float | None = 0.25,
                   gamma: float = 2.0) -> dict[str, list[float]]:
    """Train with AdamW and a one-cycle learning-rate schedule on random mini-batches.

    images: (N, 3, S, S) (moved batch by batch to the model's device), target_labels (N, A),
    target_deltas (N, A, 4) from ``build_targets``. With ``head_only`` the backbone is frozen
    and its features are computed once (fast, for heads that share a trained backbone).
    ``alpha`` (None: no class weighting) and ``gamma`` set the focal loss (``classification``
    "focal"; alpha None with gamma 0 is plain cross-entropy). Returns the per-step history
    {"loss", "cls", "box"}.
    """
    if not isinstance(model, TinyDetector):
        raise TypeError(f"model must be a TinyDetector, got {type(model).__name__}")
    check_choice(classification, "classification", CLASSIFICATION_LOSSES)
    steps = check_int(steps, "steps", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    seed = check_int(seed, "seed", 0)
    _check_bool(head_only, "head_only")
    _check_bool(progress, "progress")
    if not (len(images) == len(target_labels) == len(target_deltas)):
        raise ValueError(f"images, target_labels and target_deltas must have the same length, "
                         f"got {len(images)}, {len(target_labels)}, {len(target_deltas)}")
    lr = check_positive(lr, "lr")
    gamma = check_positive(gamma, "gamma", allow_zero=True)
    if alpha is not None:
        alpha = check_fraction(alpha, "alpha")
    device = model_device(model)
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
    if steps >= 10:   # warm up over the first 20% of the steps, then anneal
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps,
                                                       pct_start=0.2)
    else:             # too few steps for a schedule: a constant rate
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
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
                                target_deltas[batch].to(device), classification, alpha, gamma)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        optimizer.step()
        schedule.step()
        for key in history:
            history[key].append(float(losses[key].detach()))
    model.eval()
    return history


@torch.no_grad()
def backbone_features(model: TinyDetector, images: Tensor, stages: int | None = None,
                      batch_size: int = 256) -> Tensor:
    """Feature maps after the first ``stages`` backbone blocks (all five by default), in eval
    mode: images (N, 3, S, S) -> (N, F, S / s, S / s), on the model's device. Blocks 1, 2
    and 4 halve the resolution: 3 blocks give stride 4 with ``width`` channels."""
    if not isinstance(model, TinyDetector):
        raise TypeError(f"model must be a TinyDetector, got {type(model).__name__}")
    stages = len(model.backbone) if stages is None else check_int(stages, "stages", 1)
    if stages > len(model.backbone):
        raise ValueError(f"stages must be <= {len(model.backbone)}, got {stages}")
    batch_size = check_int(batch_size, "batch_size", 1)
    was_training = model.training
    model.eval()
    device = model_device(model)
    features = torch.cat([model.backbone[:stages](images[i:i + batch_size].to(device))
                          for i in range(0, len(images), batch_size)])
    model.train(was_training)
    return features


@torch.no_grad()
def raw_detections(model: TinyDetector, images: Tensor,
                   batch_size: int = 256) -> tuple[Tensor, Tensor]:
    """Every anchor's decoded box and class probabilities, before any thresholding or NMS.

    images: (N, 3, S, S) -> boxes (N, A, 4) clipped to the image, scores (N, A, C) (CPU).
    """
    if not isinstance(model, TinyDetector):
        raise TypeError(f"model must be a TinyDetector, got {type(model).__name__}")
    batch_size = check_int(batch_size, "batch_size", 1)
    model.eval()
    device = model_device(model)
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
    boxes = as_boxes(boxes)
    if not isinstance(scores, Tensor) or scores.ndim != 2 or len(scores) != len(boxes):
        raise ValueError(f"scores must have shape ({len(boxes)}, C) to match boxes, got "
                         f"{tuple(getattr(scores, 'shape', ()))}")
    score_threshold = check_fraction(score_threshold, "score_threshold")
    check_fraction(iou_threshold, "iou_threshold")
    max_detections = check_int(max_detections, "max_detections", 1)
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


def refinement_gain(anchors, boxes, scores, gt_boxes: Sequence, min_score: float = 0.5
                    ) -> tuple[Tensor, Tensor]:
    """IoU with the best-overlapping ground-truth box of every confident anchor, before
    (the anchor itself) and after refinement (its decoded box).

    anchors: (A, 4); boxes: (N, A, 4) decoded; scores: (N, A, C); gt_boxes: N tensors (G_i, 4).
    An anchor is confident when its best class probability is >= ``min_score``.
    Returns two (M,) tensors over the M confident anchors.
    """
    anchors = as_boxes(anchors, "anchors")
    if boxes.ndim != 3 or boxes.shape[1:] != (len(anchors), 4):
        raise ValueError(f"boxes must have shape (N, {len(anchors)}, 4), got "
                         f"{tuple(boxes.shape)}")
    if scores.ndim != 3 or scores.shape[:2] != boxes.shape[:2]:
        raise ValueError(f"scores must have shape ({boxes.shape[0]}, {len(anchors)}, C), got "
                         f"{tuple(scores.shape)}")
    if len(gt_boxes) != len(boxes):
        raise ValueError(f"gt_boxes must hold one entry per image ({len(boxes)}), got "
                         f"{len(gt_boxes)}")
    before, after = [], []
    for b, s, g in zip(boxes, scores, gt_boxes):
        chosen = s.max(dim=1).values >= min_score
        if len(g) == 0 or not chosen.any():
            continue
        before.append(box_iou(anchors[chosen], g).max(dim=1).values)
        after.append(box_iou(b[chosen], g).max(dim=1).values)
    if not before:
        return torch.zeros(0), torch.zeros(0)
    return torch.cat(before), torch.cat(after)


def imbalance_arm(config: dict, seeds) -> dict[str, list[float]]:
    """One arm of chapter 04's class-imbalance comparisons (for ``evidence.compare``): a
    ``TinyDetector`` with head prior ``config["prior"]`` trained on the chapter's 2,000 scenes
    (``data.shapes.make_dataset`` seed 1) for ``config["steps"]`` steps of 32 images at
    ``config["lr"]`` with the focal loss of ``config["alpha"]`` and ``config["gamma"]`` (None and
    0: cross-entropy), from every seed of ``seeds`` (initialisation and batches). Per seed: mAP@0.5
    on the 300 held-out scenes (seed 2), and the share of the trained detector's cross-entropy
    on 200 training scenes that its easy negatives carry (``focal.easy_negative_share``)."""
    train, test = make_dataset(2000, seed=1), make_dataset(300, seed=2)
    targets = [{"boxes": b, "labels": lab} for b, lab in zip(test["boxes"], test["labels"])]
    out: dict[str, list[float]] = {"mAP@0.5": [], "easy-negative share of CE": []}
    for seed in seeds:
        seed_everything(seed)
        model = TinyDetector(prior=config["prior"]).to(memory_format=torch.channels_last)
        labels, deltas = build_targets(model.anchors, train["boxes"], train["labels"])
        train_detector(model, train["images"], labels, deltas, steps=config["steps"], lr=config["lr"],
                       classification="focal", alpha=config["alpha"], gamma=config["gamma"],
                       seed=seed, progress=False)
        with torch.no_grad():
            logits, _ = model(train["images"][:200])
        parts = loss_by_group(logits, labels[:200])
        out["mAP@0.5"].append(mean_average_precision(detect(model, test["images"]), targets)["map"])
        out["easy-negative share of CE"].append(easy_negative_share(parts, "cross_entropy"))
    return out
