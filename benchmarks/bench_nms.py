"""NMS speed: the taught loop, its vectorised twin and torchvision.ops.nms, side by side.

Run with ``python -m benchmarks nms``. On 5,000 random boxes prints the median time of each
implementation (``recognition.speed.nms_table``, the table chapter 04 prints), then the class-aware ``batched_nms`` against
torchvision's; the vectorised version is expected to stay within 3x of torchvision's
compiled kernel, the loop far behind both.
"""
from __future__ import annotations

import torch
import torchvision

from course_utils.recognition.boxes import random_boxes
from course_utils.recognition.nms import batched_nms
from course_utils.recognition.speed import nms_table
from course_utils.timing import time_call
from course_utils.viz import format_table

N_BOXES = 5000
IOU_THRESHOLD = 0.5
COLUMNS = [("implementation", "implementation", ""), ("ms", "median ms", ".1f"),
           ("kept", "kept", "d")]


def main(repeat: int = 15) -> dict[str, float]:
    """Time the three NMS implementations and the two class-aware ones on one thread
    (torchvision's CPU kernel is single-threaded). Returns the time ratios to torchvision."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows = nms_table(N_BOXES, IOU_THRESHOLD, repeat=repeat)
        if len({row["kept"] for row in rows}) != 1:
            raise AssertionError("the NMS implementations disagree on the number kept")
        print(f"{N_BOXES} random boxes, IoU threshold {IOU_THRESHOLD}")
        print(format_table(rows, COLUMNS))
        boxes, scores = random_boxes(N_BOXES, seed=0)
        idxs = torch.randint(0, 3, (N_BOXES,), generator=torch.Generator().manual_seed(1))
        if not torch.equal(batched_nms(boxes, scores, idxs, IOU_THRESHOLD),
                           torchvision.ops.batched_nms(boxes, scores, idxs, IOU_THRESHOLD)):
            raise AssertionError("course_utils batched_nms and torchvision's disagree")
        t_ours = time_call(batched_nms, boxes, scores, idxs, IOU_THRESHOLD, repeat=repeat)
        t_ref = time_call(torchvision.ops.batched_nms, boxes, scores, idxs, IOU_THRESHOLD,
                          repeat=repeat)
        print(f"batched_nms: course_utils {t_ours * 1e3:.1f} ms | torchvision "
              f"{t_ref * 1e3:.1f} ms | ratio {t_ours / t_ref:.2f}x")
    finally:
        torch.set_num_threads(threads)
    by_name = {row["implementation"].split()[0]: row["ms"] for row in rows}
    return {"loop_ratio": by_name["loop"] / by_name["torchvision.ops.nms"],
            "ratio": by_name["vectorised"] / by_name["torchvision.ops.nms"],
            "batched_ratio": t_ours / t_ref}


if __name__ == "__main__":
    main()
