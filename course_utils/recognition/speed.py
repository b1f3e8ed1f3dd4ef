"""Chapter 04's speed table: greedy NMS as the taught loop, its vectorised twin and
``torchvision.ops.nms`` on the same boxes (``benchmarks/bench_nms.py`` runs it larger)."""
from __future__ import annotations

import torchvision

from ..timing import speed_rows
from ..validate import check_fraction, check_int
from .boxes import random_boxes
from .nms import nms, nms_loop


def nms_table(n_boxes: int = 2000, iou_threshold: float = 0.5, repeat: int = 3, seed: int = 0) -> list[dict]:
    """Median times of ``nms_loop`` (run once: it is the slow one), ``nms`` and
    ``torchvision.ops.nms`` on ``random_boxes(n_boxes, seed)``; each row also says how many boxes
    the implementation kept: {"implementation", "ms", "kept"}."""
    n_boxes, repeat = check_int(n_boxes, "n_boxes", 1), check_int(repeat, "repeat", 1)
    iou_threshold = check_fraction(iou_threshold, "iou_threshold")
    boxes, scores = random_boxes(n_boxes, check_int(seed, "seed", 0))
    candidates = [("loop (nms.nms_loop)", nms_loop, (boxes, scores, iou_threshold)),
                  ("vectorised (nms.nms)", nms, (boxes, scores, iou_threshold)),
                  ("torchvision.ops.nms (C++)", torchvision.ops.nms, (boxes, scores, iou_threshold))]
    rows = speed_rows(candidates, repeat, once={"loop (nms.nms_loop)"})
    for row, (_, fn, args) in zip(rows, candidates):
        row["kept"] = len(fn(*args))
    return rows
