"""NMS speed: course_utils.detection.nms against torchvision.ops.nms on 5,000 random boxes.

Run with ``python -m benchmarks nms``. Prints both median times and their ratio; the course
implementation is expected to stay within 3x of torchvision's compiled kernel.
"""
from __future__ import annotations

import torch
import torchvision

from course_utils.detection import batched_nms, nms
from course_utils.timing import time_call

N_BOXES = 5000
IMAGE_SIZE = 512.0
IOU_THRESHOLD = 0.5


def random_boxes(n: int = N_BOXES, seed: int = 0
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n boxes with uniform corners in a 512 x 512 image and sides of 8 to 128 pixels,
    uniform scores and 3 random class ids: boxes (n, 4), scores (n,), idxs (n,)."""
    gen = torch.Generator().manual_seed(seed)
    corner = torch.rand(n, 2, generator=gen) * IMAGE_SIZE
    size = 8 + torch.rand(n, 2, generator=gen) * 120
    return (torch.cat([corner, corner + size], dim=1), torch.rand(n, generator=gen),
            torch.randint(0, 3, (n,), generator=gen))


def _compare(boxes, scores, idxs, repeat: int) -> tuple[float, float]:
    t_ours = time_call(nms, boxes, scores, IOU_THRESHOLD, repeat=repeat)
    t_ref = time_call(torchvision.ops.nms, boxes, scores, IOU_THRESHOLD, repeat=repeat)
    tb_ours = time_call(batched_nms, boxes, scores, idxs, IOU_THRESHOLD, repeat=repeat)
    tb_ref = time_call(torchvision.ops.batched_nms, boxes, scores, idxs, IOU_THRESHOLD,
                       repeat=repeat)
    threads = torch.get_num_threads()
    print(f"nms          {threads} thread(s): course_utils {t_ours * 1e3:6.1f} ms | "
          f"torchvision {t_ref * 1e3:6.1f} ms | ratio {t_ours / t_ref:.2f}x")
    print(f"batched_nms  {threads} thread(s): course_utils {tb_ours * 1e3:6.1f} ms | "
          f"torchvision {tb_ref * 1e3:6.1f} ms | ratio {tb_ours / tb_ref:.2f}x")
    return t_ours / t_ref, tb_ours / tb_ref


def main(repeat: int = 15) -> dict[str, float]:
    """Time both implementations with torch's default thread count and with one thread
    (torchvision's CPU kernel is single-threaded; the course version uses torch ops)."""
    boxes, scores, idxs = random_boxes()
    ours = nms(boxes, scores, IOU_THRESHOLD)
    if not torch.equal(ours, torchvision.ops.nms(boxes, scores, IOU_THRESHOLD)):
        raise AssertionError("course_utils nms and torchvision nms disagree")
    print(f"{N_BOXES} random boxes, IoU threshold {IOU_THRESHOLD}: {len(ours)} kept")
    ratio, batched_ratio = _compare(boxes, scores, idxs, repeat)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ratio_1, batched_ratio_1 = _compare(boxes, scores, idxs, repeat)
    finally:
        torch.set_num_threads(threads)
    return {"ratio": ratio, "batched_ratio": batched_ratio, "ratio_1_thread": ratio_1,
            "batched_ratio_1_thread": batched_ratio_1}


if __name__ == "__main__":
    main()
