"""Non-maximum suppression: the greedy loop as taught, its vectorised twin, and per class.

Greedy NMS: sort by score, keep the best box, drop every box overlapping it by more than
``iou_threshold``, repeat with the next survivor. ``nms_loop`` is that sentence in code;
``nms`` computes the same result block by block with tensor operations (tested against the
loop and ``torchvision.ops.nms``; ``recognition.speed.nms_table`` times all three side by side).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from ..validate import as_vector, check_fraction, check_int
from .boxes import as_boxes, pairwise_iou_unchecked

Tensor = torch.Tensor


def nms_loop(boxes, scores, iou_threshold: float) -> Tensor:
    """Greedy non-maximum suppression, one Python step per kept box.

    boxes: (N, 4), scores: (N,). A box is dropped when its IoU with a higher-scoring kept box
    is > ``iou_threshold``. Returns int64 indices of the kept boxes, by descending score
    (ties keep input order), like ``torchvision.ops.nms``.
    """
    boxes = as_boxes(boxes)
    scores = as_vector(scores, "scores", boxes.shape[0])
    threshold = check_fraction(iou_threshold, "iou_threshold")
    order = torch.sort(scores, descending=True, stable=True).indices.tolist()
    keep = []
    while order:
        best, order = order[0], order[1:]
        keep.append(best)
        if order:
            iou = pairwise_iou_unchecked(boxes[best:best + 1], boxes[order])[0]
            order = [i for i, over in zip(order, (iou > threshold).tolist()) if not over]
    return torch.tensor(keep, dtype=torch.long, device=boxes.device)


@contextmanager
def _one_cpu_thread(device: torch.device):
    """Run torch on one CPU thread inside the block: the blocked NMS issues many small tensor
    operations, for which waking a second thread costs more than it saves."""
    threads = torch.get_num_threads()
    if device.type != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _greedy_blocks(boxes: Tensor, threshold: float, block: int) -> Tensor:
    """Greedy NMS on boxes already sorted by descending score; returns kept positions.

    Boxes are visited in blocks: first every box of a block is compared with all boxes kept
    so far (one (B, K) IoU matrix); the survivors then suppress each other inside the block.
    Inside a block, ``keep[j] = no kept i < j overlaps j`` is solved by repeating that update
    until nothing changes (at most one round per link of the longest suppression chain).
    """
    n = boxes.shape[0]
    kept = torch.empty(n, dtype=torch.long, device=boxes.device)
    count = 0
    for start in range(0, n, block):
        idx = torch.arange(start, min(start + block, n), device=boxes.device)
        if count:
            over = pairwise_iou_unchecked(boxes[idx], boxes[kept[:count]]) > threshold
            idx = idx[~over.any(dim=1)]
            if idx.numel() == 0:
                continue
        over = (pairwise_iou_unchecked(boxes[idx], boxes[idx]) > threshold).triu_(diagonal=1)
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
    """The vectorised twin of ``nms_loop``: same inputs, same output, far fewer Python steps.

    boxes: (N, 4), scores: (N,) -> int64 indices of the kept boxes by descending score.
    ``block`` (boxes compared at once) only trades memory for speed.
    """
    boxes = as_boxes(boxes)
    scores = as_vector(scores, "scores", boxes.shape[0])
    threshold = check_fraction(iou_threshold, "iou_threshold")
    block = check_int(block, "block", 1)
    order = torch.sort(scores, descending=True, stable=True).indices
    with _one_cpu_thread(boxes.device):
        return order[_greedy_blocks(boxes[order], threshold, block)]


def batched_nms(boxes, scores, idxs, iou_threshold: float, block: int = 128) -> Tensor:
    """Class-aware NMS: boxes only suppress boxes with the same ``idxs`` (N,) category.

    Runs ``nms`` separately on each category and merges the survivors. Returns int64 indices
    of the kept boxes, by descending score (ties keep input order).
    """
    boxes = as_boxes(boxes)
    scores = as_vector(scores, "scores", boxes.shape[0])
    idxs = as_vector(idxs, "idxs", boxes.shape[0], floating=False).to(boxes.device)
    check_fraction(iou_threshold, "iou_threshold")
    kept = []
    for category in torch.unique(idxs):
        members = torch.nonzero(idxs == category).flatten()
        kept.append(members[nms(boxes[members], scores[members], iou_threshold, block)])
    if not kept:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    kept = torch.sort(torch.cat(kept)).values          # input order, then a stable score sort
    return kept[torch.sort(scores[kept], descending=True, stable=True).indices]
