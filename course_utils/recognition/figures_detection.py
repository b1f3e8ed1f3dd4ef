"""Chapter 04 (detection): figures and the plain functions behind the detection widgets.

Every ``show_*`` function returns a matplotlib Figure; the notebook wraps some of them in
``live(...)`` and the tests call them directly. Images are (3, H, W) tensors in [0, 1].
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle
from matplotlib.ticker import LogFormatter, NullFormatter

from ..data.shapes import CLASSES
from ..viz import plot_series, show_image
from .anchors import best_iou_per_object, make_anchors
from .boxes import as_boxes, box_iou
from .focal import loss_by_group, sigmoid_focal_loss
from .nms import batched_nms, nms

CLASS_COLOURS = ("#ffd400", "#00e5ff", "#ff4fd8")   # square, circle, triangle
GT_COLOUR = "white"


def draw_boxes(ax, boxes, labels=None, scores=None, colour: str | None = None,
               style: str = "-", linewidth: float = 1.5, text: bool = True) -> None:
    """Draw xyxy ``boxes`` (K, 4) on ``ax``; colour by class unless ``colour`` is given."""
    boxes = as_boxes(boxes).detach().cpu()
    for i, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        label = None if labels is None else int(labels[i])
        if colour is not None:
            edge = colour
        else:
            edge = CLASS_COLOURS[label % 3] if label is not None else GT_COLOUR
        # pixel (i, j) covers [j - 0.5, j + 0.5] in imshow coordinates
        ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False,
                               edgecolor=edge, linestyle=style, linewidth=linewidth))
        if text and (label is not None or scores is not None):
            name = CLASSES[label] if label is not None else ""
            score = "" if scores is None else f" {float(scores[i]):.2f}"
            ax.text(x1 - 0.5, y1 - 1.5, name + score, color=edge, fontsize=7)


def _image_axes(n: int, cols: int, size: float = 2.6):
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes.flat


def show_scenes(images, boxes: Sequence, labels: Sequence, n: int = 8, cols: int = 4):
    """The first ``n`` scenes with their ground-truth boxes and class names."""
    n = min(n, len(images))
    fig, axes = _image_axes(n, cols)
    for i in range(n):
        show_image(axes[i], images[i])
        draw_boxes(axes[i], boxes[i], labels[i])
    fig.suptitle("generated scenes with ground-truth boxes")
    fig.tight_layout()
    return fig


def show_iou(shift: float = 4.0, size: float = 16.0, scale: float = 1.0):
    """Two boxes, the second moved right and down by ``shift`` and resized by ``scale``;
    the intersection is shaded and the IoU is in the title."""
    a = torch.tensor([[10.0, 10.0, 10.0 + size, 10.0 + size]])
    side = size * scale
    b = torch.tensor([[10.0 + shift, 10.0 + shift, 10.0 + shift + side, 10.0 + shift + side]])
    iou = float(box_iou(a, b))
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.set_xlim(0, 64)
    ax.set_ylim(64, 0)
    ax.set_aspect("equal")
    draw_boxes(ax, a, colour="tab:blue", text=False, linewidth=2)
    draw_boxes(ax, b, colour="tab:red", text=False, linewidth=2)
    x1, y1 = torch.maximum(a[0, :2], b[0, :2]).tolist()
    x2, y2 = torch.minimum(a[0, 2:], b[0, 2:]).tolist()
    if x2 > x1 and y2 > y1:
        ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, color="tab:purple",
                               alpha=0.4))
    ax.set_title(f"IoU = intersection / union = {iou:.3f}")
    return fig


def show_sliding_windows(image, gt_boxes, windows):
    """Left: every sliding window (thin lines). Right: the best window for each object."""
    windows = as_boxes(windows, "windows")
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    show_image(axes[0], image, title=f"{len(windows)} windows")
    draw_boxes(axes[0], windows, colour="white", linewidth=0.3, text=False)
    show_image(axes[1], image, title="best window per object (dashed: ground truth)")
    draw_boxes(axes[1], gt_boxes, style="--", text=False)
    if len(gt_boxes):
        iou = box_iou(windows, gt_boxes)
        best = iou.argmax(dim=0)
        draw_boxes(axes[1], windows[best], colour="tab:red", text=False)
        for (x1, y1, _, _), value in zip(windows[best].tolist(), iou.max(dim=0).values):
            axes[1].text(x1, y1 - 1.5, f"IoU {value:.2f}", color="tab:red", fontsize=8)
    fig.tight_layout()
    return fig


def anchor_config(min_scale: float, num_scales: int, max_ratio: float,
                  step: float = 1.5) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Scales min_scale * step^k (k < num_scales) and ratios (1/max_ratio, 1, max_ratio)."""
    scales = tuple(float(min_scale * step ** k) for k in range(int(num_scales)))
    ratios = (1.0,) if max_ratio <= 1 else (1.0 / max_ratio, 1.0, float(max_ratio))
    return scales, ratios


def show_anchors(image, gt_boxes: Sequence, min_scale: float = 12.0, num_scales: int = 3,
                 max_ratio: float = 1.0, row: int = 3, col: int = 3, image_index: int = 0,
                 stride: int = 8):
    """Anchors of every scale x ratio at one cell of the stride-``stride`` grid, drawn on
    ``image``; the title reports, over all boxes in ``gt_boxes`` (a list per image), the
    share with some anchor at IoU >= 0.5 and the mean best-anchor IoU."""
    size = image.shape[-1]
    scales, ratios = anchor_config(min_scale, num_scales, max_ratio)
    anchors = make_anchors(size // stride, stride, scales, ratios)
    per_cell = len(scales) * len(ratios)
    cell = (row * (size // stride) + col) * per_cell
    best = best_iou_per_object(anchors, gt_boxes)
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    show_image(ax, image)
    centres = (anchors[::per_cell, :2] + anchors[::per_cell, 2:]) / 2 - 0.5
    ax.plot(centres[:, 0], centres[:, 1], ".", color="white", markersize=2)
    draw_boxes(ax, gt_boxes[image_index], style="--", text=False, linewidth=1)
    colours = [to_hex(c) for c in plt.cm.autumn(np.linspace(0, 1, per_cell))]
    for k in range(per_cell):
        draw_boxes(ax, anchors[cell + k:cell + k + 1], colour=colours[k], text=False)
    ax.set_xlim(-0.5, size - 0.5)
    ax.set_ylim(size - 0.5, -0.5)
    ax.set_title(f"{per_cell} anchors per cell x {(size // stride) ** 2} cells\n"
                 f"objects with an anchor at IoU >= 0.5: {(best >= 0.5).float().mean():.0%}, "
                 f"mean best IoU {best.mean():.2f}", fontsize=9)
    return fig


def show_training(history: dict[str, Sequence[float]], window: int = 20):
    """Per-step training losses (``train_detector`` history), smoothed by a moving average."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for name, values in history.items():
        values = np.asarray(values, dtype=float)
        w = max(1, min(window, len(values)))
        smooth = np.convolve(values, np.ones(w) / w, mode="valid")
        ax.plot(np.arange(w, len(values) + 1), smooth, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.set_title(f"training loss ({window}-step moving average)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def show_refinement(image, anchors, boxes, scores, gt_boxes, k: int = 4,
                    min_score: float = 0.3):
    """Classify, then refine: up to ``k`` confident anchors (A, 4) (best class probability
    >= ``min_score``, one per object after NMS) before and after their predicted deltas are
    applied (boxes (A, 4), scores (A, C))."""
    best = scores.max(dim=1).values
    top = nms(boxes, best, 0.3)
    top = top[best[top] >= min_score][:k]
    fig, axes = plt.subplots(1, 2, figsize=(8, 4))
    for ax, chosen, name in [(axes[0], anchors[top], "classify: best anchors"),
                             (axes[1], boxes[top], "refine: anchors + predicted deltas")]:
        iou = box_iou(chosen, gt_boxes).max(dim=1).values if len(gt_boxes) else \
            torch.zeros(len(chosen))
        show_image(ax, image, title=f"{name}\nmean IoU with ground truth {iou.mean():.2f}")
        draw_boxes(ax, gt_boxes, style="--", text=False, linewidth=1)
        draw_boxes(ax, chosen, scores.argmax(dim=1)[top], best[top])
    fig.tight_layout()
    return fig


def show_objectness(image, objectness, boxes, gt_boxes, feature_size: int = 8, k: int = 10):
    """A proposal network's objectness (A,) per anchor. Left: the image; middle: the best
    objectness of each cell of the feature map; right: the ``k`` most object-like anchors'
    refined boxes (A, 4) before NMS."""
    objectness = torch.as_tensor(objectness).flatten()
    heat = objectness.reshape(feature_size, feature_size, -1).max(dim=2).values
    top = torch.sort(objectness, descending=True).indices[:k]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
    show_image(axes[0], image, title="image")
    draw_boxes(axes[0], gt_boxes, style="--", text=False)
    show_image(axes[1], heat, title="objectness per cell (max over anchors)", cmap="magma",
               vmin=0, vmax=1, colorbar=True)
    show_image(axes[2], image, title=f"top {k} proposals before NMS")
    draw_boxes(axes[2], boxes[top], colour="tab:red", text=False, linewidth=1)
    fig.tight_layout()
    return fig


def show_proposal_recall(ks: Sequence[int], recalls: dict[str, Sequence[float]]):
    """Recall of ground-truth objects against the number of proposals kept per image."""
    return plot_series(ks, recalls, "proposals per image", "recall at IoU 0.5", logx=True,
                       ylim=(0, 1.02), figsize=(5, 3.5))


def show_nms(image, boxes, scores, iou_threshold: float = 0.5, score_threshold: float = 0.3,
             gt_boxes=None):
    """Raw detections (A, 4) with class probabilities (A, C) above ``score_threshold``
    (left) and what class-aware NMS at ``iou_threshold`` keeps (right)."""
    anchor_idx, labels = torch.nonzero(scores > score_threshold, as_tuple=True)
    cand, cand_scores = boxes[anchor_idx], scores[anchor_idx, labels]
    keep = batched_nms(cand, cand_scores, labels, iou_threshold)
    fig, axes = plt.subplots(1, 2, figsize=(8, 4.2))
    show_image(axes[0], image, title=f"{len(cand)} boxes with score > {score_threshold:.2f}")
    draw_boxes(axes[0], cand, labels, text=False, linewidth=0.8)
    show_image(axes[1], image, title=f"{len(keep)} kept by NMS at IoU {iou_threshold:.2f}")
    if gt_boxes is not None:
        draw_boxes(axes[1], gt_boxes, style="--", text=False, linewidth=1)
    draw_boxes(axes[1], cand[keep], labels[keep], cand_scores[keep])
    fig.tight_layout()
    return fig


def show_detections(images, detections: Sequence[dict], gt_boxes: Sequence, n: int = 8,
                    cols: int = 4, min_score: float = 0.5):
    """Detections scoring at least ``min_score`` (solid) and ground truth (dashed)."""
    n = min(n, len(images))
    fig, axes = _image_axes(n, cols)
    for i in range(n):
        det = detections[i]
        keep = det["scores"] >= min_score
        show_image(axes[i], images[i])
        draw_boxes(axes[i], gt_boxes[i], style="--", text=False, linewidth=1)
        draw_boxes(axes[i], det["boxes"][keep], det["labels"][keep], det["scores"][keep])
    fig.suptitle(f"detections with score >= {min_score} (dashed: ground truth)")
    fig.tight_layout()
    return fig


def show_pr_curves(results: dict[str, dict]):
    """Precision-recall curve of each class, one panel per run in ``results`` (name ->
    ``mean_average_precision`` output): raw curves faint, the interpolated envelope (whose
    area is the AP) solid."""
    fig, axes = plt.subplots(1, len(results), figsize=(4.4 * len(results), 3.8), squeeze=False)
    for ax, (name, result) in zip(axes[0], results.items()):
        for c, (precision, recall, *_) in result["curves"].items():
            envelope = precision.flip(0).cummax(0).values.flip(0)
            r = torch.cat([torch.zeros(1, dtype=recall.dtype), recall])
            p = torch.cat([envelope[:1], envelope])
            colour = CLASS_COLOURS[c % 3]
            ax.plot(recall, precision, color=colour, alpha=0.4, linewidth=0.8)
            ax.step(r, p, where="pre", color=colour,
                    label=f"{CLASSES[c]}: AP {result['ap'][c]:.3f}")
        _pr_axes(ax, f"{name}: mAP@0.5 = {result['map']:.3f}")
    fig.tight_layout()
    return fig


def _pr_axes(ax, title: str) -> None:
    """Label, limit and title a precision-recall panel; legend at the lower left."""
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)


def show_loss_breakdown(breakdown: dict):
    """Bar chart of the classification loss of positives, hard and easy negatives under
    cross-entropy and focal loss (``detector.loss_by_group`` output), as shares of each."""
    groups = list(breakdown["count"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    counts = [breakdown["count"][g] for g in groups]
    axes[0].bar(groups, counts, color=["tab:green", "tab:orange", "tab:gray"])
    axes[0].set_yscale("log")
    axes[0].set_title("number of (anchor, class) outputs", fontsize=10)
    width = 0.38
    x = np.arange(len(groups))
    for j, kind in enumerate(("cross_entropy", "focal")):
        total = sum(breakdown[kind].values())
        share = [breakdown[kind][g] / total for g in groups]
        axes[1].bar(x + (j - 0.5) * width, share, width, label=kind.replace("_", "-"))
    axes[1].set_xticks(x, groups)
    axes[1].set_ylabel("share of the classification loss")
    axes[1].legend()
    axes[1].set_title("who the loss listens to", fontsize=10)
    fig.tight_layout()
    return fig


def show_pr_threshold(result: dict, score_threshold: float = 0.5):
    """Precision-recall curve of each class (a ``mean_average_precision`` result), with the
    operating point of ``score_threshold`` marked: keeping only detections scoring at least
    that much gives this precision and recall (listed in the legend)."""
    fig, ax = plt.subplots(figsize=(5.4, 4))
    for c, (precision, recall, scores) in result["curves"].items():
        colour = CLASS_COLOURS[c % 3]
        ax.plot(recall, precision, color=colour, linewidth=1)
        kept = int((scores >= score_threshold).sum())
        p, r = (float(precision[kept - 1]), float(recall[kept - 1])) if kept else (1.0, 0.0)
        ax.plot([r], [p], "o", color=colour, markeredgecolor="black",
                label=f"{CLASSES[c]}: precision {p:.2f}, recall {r:.2f} ({kept} kept)")
    _pr_axes(ax, f"keep detections with score >= {score_threshold:.2f}")
    fig.tight_layout()
    return fig


def show_focal_loss(gamma: float = 2.0, logits=None, target_labels=None, alpha=None):
    """Left: loss of one output against p_t (the probability of the right answer) for
    cross-entropy and focal loss with ``gamma``. Right (given a detector's logits (N, A, C)
    and target_labels (N, A)): the share of each group in that focal loss."""
    cols = 1 if logits is None else 2
    fig, axes = plt.subplots(1, cols, figsize=(5.2 * cols, 3.6), squeeze=False)
    ax = axes[0, 0]
    p_t = torch.linspace(0.01, 0.999, 200, dtype=torch.float64)
    logit = torch.logit(p_t)
    ones = torch.ones_like(p_t)
    ce = sigmoid_focal_loss(logit, ones, None, 0.0)
    focal = sigmoid_focal_loss(logit, ones, alpha, gamma)
    ax.plot(p_t, ce, label="cross-entropy (gamma 0)", color="grey")
    ax.plot(p_t, focal, label=f"focal, gamma {gamma:g}", color="tab:red")
    easy = float(sigmoid_focal_loss(torch.logit(torch.tensor(0.9, dtype=torch.float64)),
                                    torch.tensor(1.0, dtype=torch.float64), None, gamma)
                 / sigmoid_focal_loss(torch.logit(torch.tensor(0.9, dtype=torch.float64)),
                                      torch.tensor(1.0, dtype=torch.float64), None, 0.0))
    ax.set_yscale("log")
    # one y range for every gamma, so the curves compare across moves; plain-text tick labels
    # (matplotlib's default log labels are maths text, parsed again on every draw)
    ax.set_ylim(1e-12, 10)
    ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=True))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("p_t (probability of the right answer)")
    ax.set_ylabel("loss")
    ax.set_title(f"an easy output (p_t = 0.9) keeps {easy:.3g} of its loss", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if logits is not None:
        breakdown = loss_by_group(logits, target_labels, gamma=gamma, alpha=alpha)
        groups = list(breakdown["focal"])
        total = sum(breakdown["focal"].values())
        shares = [breakdown["focal"][g] / total for g in groups]
        axes[0, 1].bar(groups, shares, color=["tab:green", "tab:orange", "tab:gray"])
        axes[0, 1].set_ylim(0, 1)
        axes[0, 1].set_ylabel(f"share of the focal loss (gamma {gamma:g})")
        axes[0, 1].set_title("who the loss listens to, on the trained detector", fontsize=10)
    fig.tight_layout()
    return fig
