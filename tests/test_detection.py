"""Detection building blocks against torchvision.ops, torchmetrics / pycocotools and laws."""
import contextlib
import io
import math

import numpy as np
import pytest
import torch
import torchvision
from hypothesis import example, given, settings, strategies as st
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from torchmetrics.detection import MeanAveragePrecision
from torchvision.models.detection._utils import BoxCoder

from course_utils import detection as D

# ----------------------------------------------------------------------------- helpers
def random_boxes(n, seed, size=100.0, max_side=50.0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    corner = torch.rand(n, 2, generator=gen, dtype=dtype) * size
    side = torch.rand(n, 2, generator=gen, dtype=dtype) * max_side
    return torch.cat([corner, corner + side], dim=1)


coordinate = st.integers(0, 30)


@st.composite
def box_sets(draw, min_size=0, max_size=40, integer=True):
    """(N, 4) float64 boxes; small integer grids make ties, duplicates and zero areas common."""
    n = draw(st.integers(min_size, max_size))
    value = coordinate if integer else st.floats(0, 100, allow_nan=False, width=64)
    raw = draw(st.lists(st.tuples(value, value, value, value), min_size=n, max_size=n))
    boxes = torch.tensor(raw, dtype=torch.float64).reshape(-1, 4)
    x1, x2 = torch.minimum(boxes[:, 0], boxes[:, 2]), torch.maximum(boxes[:, 0], boxes[:, 2])
    y1, y2 = torch.minimum(boxes[:, 1], boxes[:, 3]), torch.maximum(boxes[:, 1], boxes[:, 3])
    return torch.stack([x1, y1, x2, y2], dim=1)


# ----------------------------------------------------------------------------- IoU
def test_box_iou_matches_torchvision():
    a, b = random_boxes(40, 0), random_boxes(30, 1)
    torch.testing.assert_close(D.box_iou(a, b), torchvision.ops.box_iou(a, b),
                               rtol=0, atol=1e-12)
    assert D.box_iou(a.float(), b.float()).dtype == torch.float32


@given(a=box_sets(), b=box_sets())
def test_box_iou_property(a, b):
    ours = D.box_iou(a, b)
    ref = torchvision.ops.box_iou(a, b)      # NaN where both boxes have zero area (0 / 0)
    assert ours.shape == (len(a), len(b))
    assert torch.all((ours >= 0) & (ours <= 1))
    torch.testing.assert_close(ours, ref.nan_to_num(0.0), rtol=0, atol=1e-12)
    torch.testing.assert_close(D.box_iou(b, a), ours.T, rtol=0, atol=0)
    positive = D.box_area(a) > 0
    assert torch.all(D.box_iou(a, a).diagonal()[positive] == 1)


def test_box_iou_degenerate_and_empty():
    point = torch.tensor([[5.0, 5.0, 5.0, 5.0]])
    square = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    assert D.box_iou(point, point).item() == 0.0          # no union: defined as 0
    assert D.box_iou(point, square).item() == 0.0
    assert D.box_iou(torch.zeros(0, 4), square).shape == (0, 1)
    assert D.box_iou(square, np.zeros((0, 4))).shape == (1, 0)
    assert D.box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3]]).item() == pytest.approx(1 / 7)


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(3, 5), r"shape \(N, 4\)"), (torch.zeros(4), r"shape \(N, 4\)"),
    (torch.tensor([[5.0, 0.0, 1.0, 3.0]]), "x1 <= x2"),
    (torch.tensor([[0.0, 5.0, 1.0, 3.0]]), "y1 <= y2"),
    (torch.tensor([[0.0, 0.0, math.inf, 3.0]]), "finite"),
])
def test_box_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        D.box_iou(bad, torch.zeros(1, 4))
    with pytest.raises(ValueError, match="boxes_b"):
        D.box_iou(torch.zeros(1, 4), bad)
    with pytest.raises(ValueError, match="boxes"):
        D.nms(bad, torch.zeros(len(bad)), 0.5)


def test_box_type_error():
    with pytest.raises(TypeError, match="boxes_a"):
        D.box_iou(np.array([["a", "b", "c", "d"]]), torch.zeros(1, 4))


# ----------------------------------------------------------------------------- anchors
def test_make_anchors_layout():
    scales, ratios = (8.0, 16.0), (0.5, 1.0, 2.0)
    anchors = D.make_anchors((2, 3), stride=4, scales=scales, ratios=ratios)
    assert anchors.shape == (2 * 3 * 6, 4)
    w, h = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    torch.testing.assert_close(w * h, torch.tensor([s * s for s in scales for _ in ratios]
                                                   * 6), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(h / w, torch.tensor(list(ratios) * 2 * 6), rtol=1e-5, atol=0)
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    # row-major cells, 6 anchors each: cell (i, j) is centred at ((j + .5) 4, (i + .5) 4)
    expected = torch.tensor([[(j + 0.5) * 4, (i + 0.5) * 4] for i in range(2) for j in range(3)
                             for _ in range(6)])
    torch.testing.assert_close(centres, expected)


def test_make_anchors_errors():
    with pytest.raises(ValueError, match="stride"):
        D.make_anchors(4, 0, (8,), (1,))
    with pytest.raises(ValueError, match="scales"):
        D.make_anchors(4, 8, (-8,), (1,))
    with pytest.raises(ValueError, match="ratios"):
        D.make_anchors(4, 8, (8,), (0,))
    with pytest.raises(ValueError, match="feature_size"):
        D.make_anchors(0, 8, (8,), (1,))
    with pytest.raises(ValueError, match="at least one"):
        D.make_anchors(4, 8, (), (1,))


# ----------------------------------------------------------------------------- box coding
@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)])
def test_encode_decode_match_torchvision(weights):
    boxes, anchors = random_boxes(50, 2) + 0.5, random_boxes(50, 3) + 0.5
    boxes[:, 2:] += 1
    anchors[:, 2:] += 1
    coder = BoxCoder(weights)
    deltas = D.encode_boxes(boxes, anchors, weights)
    torch.testing.assert_close(deltas, coder.encode_single(boxes, anchors), rtol=1e-10,
                               atol=1e-10)
    torch.testing.assert_close(D.decode_boxes(deltas, anchors, weights),
                               coder.decode_single(deltas, anchors), rtol=1e-10, atol=1e-10)


@given(boxes=box_sets(min_size=1, integer=False), shift=st.floats(-5, 5), seed=st.integers(0, 99))
def test_encode_decode_round_trip(boxes, shift, seed):
    boxes = boxes + torch.tensor([0.0, 0.0, 0.5, 0.5], dtype=torch.float64)  # positive sizes
    anchors = random_boxes(len(boxes), seed) + shift
    anchors[:, 2:] += 2.0     # box / anchor size ratios stay below decode's exp() clip (62.5)
    decoded = D.decode_boxes(D.encode_boxes(boxes, anchors), anchors)
    torch.testing.assert_close(decoded, boxes, rtol=0, atol=1e-9)


def test_decode_broadcasts_and_clips_huge_scales():
    anchors = random_boxes(7, 4) + torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=torch.float64)
    deltas = torch.randn(3, 7, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    batched = D.decode_boxes(deltas, anchors)
    assert batched.shape == (3, 7, 4)
    torch.testing.assert_close(batched[1], D.decode_boxes(deltas[1], anchors))
    huge = D.decode_boxes(torch.tensor([[0.0, 0.0, 100.0, 100.0]]), torch.tensor([[0.0, 0, 1, 1]]))
    assert torch.isfinite(huge).all() and huge[0, 2] - huge[0, 0] == pytest.approx(1000 / 16)


def test_encode_decode_errors():
    good = torch.tensor([[0.0, 0.0, 4.0, 4.0]])
    with pytest.raises(ValueError, match="same shape"):
        D.encode_boxes(good, torch.cat([good, good]))
    with pytest.raises(ValueError, match="positive width"):
        D.encode_boxes(torch.tensor([[1.0, 1.0, 1.0, 5.0]]), good)
    with pytest.raises(ValueError, match="anchors"):
        D.encode_boxes(good, torch.tensor([[4.0, 0.0, 0.0, 4.0]]))
    with pytest.raises(ValueError, match="end in 4"):
        D.decode_boxes(torch.zeros(2, 3), good)


# ----------------------------------------------------------------------------- NMS
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nms_matches_torchvision(threshold, seed):
    boxes = random_boxes(500, seed, size=200)
    scores = torch.rand(500, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    ours = D.nms(boxes, scores, threshold)
    assert ours.dtype == torch.int64
    assert torch.equal(ours, torchvision.ops.nms(boxes, scores, threshold))
    for block in (7, 1000):   # the block size changes speed, never the answer
        assert torch.equal(D.nms(boxes, scores, threshold, block=block), ours)


def test_nms_leaves_the_thread_count_alone():
    threads = torch.get_num_threads()
    boxes = random_boxes(300, 3)
    D.nms(boxes, torch.rand(300, dtype=torch.float64), 0.5)
    assert torch.get_num_threads() == threads
    with pytest.raises(ValueError):
        D.nms(boxes, torch.rand(300), 2.0)
    assert torch.get_num_threads() == threads


def test_nms_float32_matches_torchvision():
    boxes = random_boxes(3000, 5, size=300, max_side=80, dtype=torch.float32)
    scores = torch.rand(3000, generator=torch.Generator().manual_seed(5))
    assert torch.equal(D.nms(boxes, scores, 0.5), torchvision.ops.nms(boxes, scores, 0.5))


@given(boxes=box_sets(), data=st.data(), threshold=st.sampled_from([0.0, 0.2, 0.5, 0.8]))
def test_nms_property(boxes, data, threshold):
    # few distinct scores -> many ties; integer boxes -> duplicates and zero areas
    scores = torch.tensor(data.draw(st.lists(st.integers(0, 3), min_size=len(boxes),
                                             max_size=len(boxes))), dtype=torch.float64)
    keep = D.nms(boxes, scores, threshold)
    assert torch.equal(keep, torchvision.ops.nms(boxes, scores, threshold))
    assert torch.all(scores[keep][:-1] >= scores[keep][1:])            # descending scores
    iou = D.box_iou(boxes[keep], boxes[keep]).fill_diagonal_(0)
    assert torch.all(iou <= threshold)                                  # survivors are apart
    rank = torch.empty(len(boxes), dtype=torch.long)
    rank[torch.sort(scores, descending=True, stable=True).indices] = torch.arange(len(boxes))
    removed = torch.ones(len(boxes), dtype=torch.bool)
    removed[keep] = False
    for r in torch.nonzero(removed).flatten():                          # each drop is explained
        blockers = keep[(D.box_iou(boxes[r:r + 1], boxes[keep])[0] > threshold)
                        & (rank[keep] < rank[r])]
        assert len(blockers) > 0


def test_nms_empty_and_degenerate():
    empty = D.nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert empty.shape == (0,) and empty.dtype == torch.int64
    # zero-area boxes never overlap anything, so they are all kept
    points = torch.tensor([[1.0, 1.0, 1.0, 1.0]] * 3 + [[0.0, 0.0, 2.0, 2.0]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    assert D.nms(points, scores, 0.0).tolist() == torchvision.ops.nms(points, scores, 0.0).tolist()
    assert D.nms(points, scores, 0.0).tolist() == [0, 1, 2, 3]


def test_nms_errors():
    boxes = random_boxes(4, 0)
    with pytest.raises(ValueError, match=r"scores must have shape \(4,\)"):
        D.nms(boxes, torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match="iou_threshold"):
        D.nms(boxes, torch.zeros(4), 1.5)
    with pytest.raises(ValueError, match="iou_threshold"):
        D.nms(boxes, torch.zeros(4), -0.1)
    with pytest.raises(ValueError, match="block"):
        D.nms(boxes, torch.zeros(4), 0.5, block=0)
    with pytest.raises(ValueError, match="idxs"):
        D.batched_nms(boxes, torch.zeros(4), torch.zeros(5), 0.5)
    with pytest.raises(ValueError, match="scores"):
        D.batched_nms(boxes, torch.zeros(2), torch.zeros(4), 0.5)


@pytest.mark.parametrize("n", [300, 2000])      # torchvision switches algorithm above 1000 boxes
def test_batched_nms_matches_torchvision(n):
    boxes = random_boxes(n, 7, size=150)
    gen = torch.Generator().manual_seed(7)
    scores = torch.rand(n, generator=gen, dtype=torch.float64)
    idxs = torch.randint(0, 4, (n,), generator=gen)
    ours = D.batched_nms(boxes, scores, idxs, 0.5)
    assert torch.equal(ours, torchvision.ops.batched_nms(boxes, scores, idxs, 0.5))


@given(boxes=box_sets(), data=st.data())
def test_batched_nms_property(boxes, data):
    n = len(boxes)
    scores = torch.tensor(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
                          dtype=torch.float64)
    idxs = torch.tensor(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
                        dtype=torch.long)
    keep = D.batched_nms(boxes, scores, idxs, 0.5)
    # reference: torchvision NMS per class, merged
    expected = torch.cat([torch.nonzero(idxs == c).flatten()[
        torchvision.ops.nms(boxes[idxs == c], scores[idxs == c], 0.5)] for c in range(3)])
    assert sorted(keep.tolist()) == sorted(expected.tolist())
    assert torch.all(scores[keep][:-1] >= scores[keep][1:])
    assert set(keep.tolist()) == set(torchvision.ops.batched_nms(boxes, scores, idxs, 0.5).tolist())


def test_batched_nms_only_within_class():
    box = torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 2)
    scores = torch.tensor([0.9, 0.8])
    assert D.batched_nms(box, scores, torch.tensor([0, 1]), 0.5).tolist() == [0, 1]
    assert D.batched_nms(box, scores, torch.tensor([2, 2]), 0.5).tolist() == [0]
    assert D.batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0), 0.5).numel() == 0


# ----------------------------------------------------------------------------- focal loss
@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (0.5, 0.0), (-1.0, 2.0), (0.75, 1.5)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_focal_loss_matches_torchvision(alpha, gamma, reduction):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 3, generator=gen, dtype=torch.float64) * 4
    targets = (torch.rand(64, 3, generator=gen) < 0.2).double()
    ours = D.sigmoid_focal_loss(logits, targets, alpha, gamma, reduction)
    ref = torchvision.ops.sigmoid_focal_loss(logits, targets, alpha, gamma, reduction)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


def test_focal_loss_gradients_and_special_cases():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(10, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    targets = (torch.rand(10, 2, generator=gen) < 0.5).double()
    torch.autograd.gradcheck(lambda x: D.sigmoid_focal_loss(x, targets, 0.25, 2.0, "sum"),
                             (logits,))
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    torch.testing.assert_close(D.sigmoid_focal_loss(logits, targets, -1, 0.0), bce)
    # an easy example (p_t = 0.99) is down-weighted by (1 - 0.99)^2 = 1e-4 relative to CE
    easy = torch.tensor([math.log(99.0)], dtype=torch.float64)
    ratio = D.sigmoid_focal_loss(easy, torch.ones(1, dtype=torch.float64), -1, 2.0) / \
        D.sigmoid_focal_loss(easy, torch.ones(1, dtype=torch.float64), -1, 0.0)
    assert ratio.item() == pytest.approx(1e-4)


def test_focal_loss_errors():
    with pytest.raises(ValueError, match="same shape"):
        D.sigmoid_focal_loss(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="gamma"):
        D.sigmoid_focal_loss(torch.zeros(3), torch.zeros(3), gamma=-1)
    with pytest.raises(ValueError, match="reduction"):
        D.sigmoid_focal_loss(torch.zeros(3), torch.zeros(3), reduction="max")


# ----------------------------------------------------------------------------- AP / mAP
def noisy_predictions(seed, n_images=40, n_classes=3):
    """Ground truth and imperfect detections: jittered copies, wrong labels, pure noise."""
    gen = torch.Generator().manual_seed(seed)
    preds, targets = [], []
    for _ in range(n_images):
        k = int(torch.randint(0, 5, (1,), generator=gen))
        corner = torch.rand(k, 2, generator=gen) * 80
        gt = torch.cat([corner, corner + 8 + torch.rand(k, 2, generator=gen) * 30], 1)
        gt_labels = torch.randint(0, n_classes, (k,), generator=gen)
        m = int(torch.randint(0, 9, (1,), generator=gen))
        if k:
            src = torch.randint(0, k, (m,), generator=gen)
            boxes = gt[src] + torch.randn(m, 4, generator=gen) * 3
            labels = torch.where(torch.rand(m, generator=gen) < 0.8, gt_labels[src],
                                 torch.randint(0, n_classes, (m,), generator=gen))
        else:
            corner = torch.rand(m, 2, generator=gen) * 80
            boxes = torch.cat([corner, corner + 10], 1)
            labels = torch.randint(0, n_classes, (m,), generator=gen)
        boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        preds.append({"boxes": boxes, "scores": torch.rand(m, generator=gen), "labels": labels})
        targets.append({"boxes": gt, "labels": gt_labels})
    return preds, targets


def torchmetrics_map50(preds, targets):
    metric = MeanAveragePrecision(iou_thresholds=[0.5], backend="pycocotools")
    metric.update(preds, targets)
    return float(metric.compute()["map_50"])


def pycocotools_map50(preds, targets):
    """mAP@0.5 straight from pycocotools' COCOeval (101 recall samples, 100 detections)."""
    annotations, detections = [], []
    for i, (pred, target) in enumerate(zip(preds, targets)):
        for (x1, y1, x2, y2), label in zip(target["boxes"].tolist(), target["labels"].tolist()):
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": label,
                                "bbox": [x1, y1, x2 - x1, y2 - y1],
                                "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
        for (x1, y1, x2, y2), label, score in zip(pred["boxes"].tolist(),
                                                  pred["labels"].tolist(),
                                                  pred["scores"].tolist()):
            detections.append({"image_id": i, "category_id": label, "score": score,
                               "bbox": [x1, y1, x2 - x1, y2 - y1]})
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO()
        ground_truth.dataset = {"images": [{"id": i} for i in range(len(preds))],
                                "annotations": annotations,
                                "categories": [{"id": c} for c in range(3)]}
        ground_truth.createIndex()
        evaluator = COCOeval(ground_truth, ground_truth.loadRes(detections) if detections
                             else COCO(), "bbox")
        evaluator.params.iouThrs = np.array([0.5])
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][0, :, :, 0, -1]          # (recall, class)
    per_class = [precision[:, k].mean() for k in range(3) if precision[0, k] > -1]
    return float(np.mean(per_class))


@pytest.mark.parametrize("seed", range(4))
def test_map_matches_pycocotools_and_torchmetrics(seed):
    preds, targets = noisy_predictions(seed)
    coco = D.mean_average_precision(preds, targets, method="coco101")["map"]
    assert coco == pytest.approx(pycocotools_map50(preds, targets), abs=1e-9)
    # torchmetrics samples recall at float32-rounded thresholds, so it may differ slightly
    reference = torchmetrics_map50(preds, targets)
    assert abs(coco - reference) < 0.01
    all_point = D.mean_average_precision(preds, targets)["map"]
    assert abs(all_point - reference) < 0.01             # all-point vs 101 samples: close


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), n_images=st.integers(1, 12))
@example(seed=10, n_images=10)      # recall exactly 0.7: needs numpy's linspace thresholds
def test_map_matches_pycocotools_property(seed, n_images):
    preds, targets = noisy_predictions(seed, n_images)
    if sum(len(t["labels"]) for t in targets) == 0 or sum(len(p["labels"]) for p in preds) == 0:
        return      # mAP is undefined without ground truth; COCO needs one detection
    assert D.mean_average_precision(preds, targets, method="coco101")["map"] == \
        pytest.approx(pycocotools_map50(preds, targets), abs=1e-9)


def test_average_precision_by_hand():
    # ranked hits TP, FP, TP with 3 objects: precision 1, 1/2, 2/3 at recall 1/3, 1/3, 2/3
    precision, recall = D.precision_recall(torch.tensor([0.9, 0.8, 0.7]),
                                           torch.tensor([True, False, True]), 3)
    torch.testing.assert_close(precision, torch.tensor([1, 1 / 2, 2 / 3], dtype=torch.float64))
    torch.testing.assert_close(recall, torch.tensor([1 / 3, 1 / 3, 2 / 3], dtype=torch.float64))
    # envelope 1, 2/3, 2/3 -> area 1/3 * 1 + 1/3 * 2/3
    assert D.average_precision(precision, recall) == pytest.approx(1 / 3 + 2 / 9)
    # 101 samples: recall 0..0.33 (34 points) at 1, 0.34..0.66 (33 points) at 2/3, rest 0
    assert D.average_precision(precision, recall, "coco101") == pytest.approx((34 + 22) / 101)


def test_ap_laws():
    preds, targets = noisy_predictions(11)
    perfect = [{"boxes": t["boxes"], "scores": torch.rand(len(t["labels"])),
                "labels": t["labels"]} for t in targets]
    assert D.mean_average_precision(perfect, targets)["map"] == pytest.approx(1.0)
    base = D.mean_average_precision(preds, targets)
    # a false positive ranked below every detection leaves AP unchanged
    extra = [dict(p) for p in preds]
    extra[0] = {"boxes": torch.cat([preds[0]["boxes"], torch.tensor([[90.0, 90, 99, 99]])]),
                "scores": torch.cat([preds[0]["scores"], torch.tensor([-1.0])]),
                "labels": torch.cat([preds[0]["labels"], torch.tensor([0])])}
    assert D.mean_average_precision(extra, targets)["map"] == pytest.approx(base["map"])
    # image order does not matter
    order = list(reversed(range(len(preds))))
    shuffled = D.mean_average_precision([preds[i] for i in order], [targets[i] for i in order])
    assert shuffled["map"] == pytest.approx(base["map"])
    assert all(0 <= v <= 1 for v in base["ap"].values())


def test_match_detections_rules():
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    preds = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0]])
    # the duplicate (lower score) is a false positive; IoU exactly 0.5 counts as a match
    assert D.match_detections(preds[:2], [0.5, 0.9], gt).tolist() == [False, True]
    assert D.match_detections(preds[2:], [0.5], gt, 0.5).tolist() == [True]
    assert D.match_detections(preds[2:], [0.5], gt, 0.51).tolist() == [False]
    assert D.match_detections(torch.zeros(0, 4), torch.zeros(0), gt).shape == (0,)
    assert D.match_detections(preds, [1, 2, 3], torch.zeros(0, 4)).tolist() == [False] * 3


def test_ap_errors():
    preds, targets = noisy_predictions(0, 3)
    with pytest.raises(ValueError, match="same length"):
        D.mean_average_precision(preds, targets[:2])
    with pytest.raises(ValueError, match="num_gt"):
        D.precision_recall(torch.ones(2), torch.ones(2, dtype=torch.bool), 0)
    with pytest.raises(ValueError, match="is_tp"):
        D.precision_recall(torch.ones(2), torch.ones(3, dtype=torch.bool), 2)
    with pytest.raises(ValueError, match="method"):
        D.average_precision(torch.ones(2), torch.ones(2), "11-point")
    with pytest.raises(ValueError, match="equal length"):
        D.average_precision(torch.ones(2), torch.ones(3))
    bad = [dict(preds[0], scores=torch.zeros(len(preds[0]["boxes"]) + 1))] + preds[1:]
    with pytest.raises(ValueError, match=r"preds\[0\]\['scores'\]"):
        D.mean_average_precision(bad, targets)
    with pytest.raises(ValueError, match="pred_scores"):
        D.match_detections(torch.zeros(2, 4), torch.zeros(3), torch.zeros(1, 4))


# ----------------------------------------------------------------------------- sliding windows
def test_sliding_windows():
    windows = D.sliding_windows(64, sizes=(16, 32), stride=8)
    assert windows.shape == (((64 - 16) // 8 + 1) ** 2 + ((64 - 32) // 8 + 1) ** 2, 4)
    assert windows.min() >= 0 and windows.max() <= 64
    sides = windows[:, 2:] - windows[:, :2]
    assert set(sides.flatten().tolist()) == {16.0, 32.0}
    with pytest.raises(ValueError, match="sizes"):
        D.sliding_windows(64, sizes=(80,), stride=8)
    with pytest.raises(ValueError, match="stride"):
        D.sliding_windows(64, sizes=(16,), stride=0)


# ----------------------------------------------------------------------------- loop NMS, recall
@given(boxes=box_sets(), data=st.data(), threshold=st.sampled_from([0.0, 0.5, 0.9]))
def test_nms_loop_matches_torchvision(boxes, data, threshold):
    scores = torch.tensor(data.draw(st.lists(st.integers(0, 3), min_size=len(boxes),
                                             max_size=len(boxes))), dtype=torch.float64)
    assert torch.equal(D.nms_loop(boxes, scores, threshold),
                       torchvision.ops.nms(boxes, scores, threshold))


def test_proposal_recall_by_hand():
    gt = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]]), torch.zeros(0, 4)]
    proposals = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [40.0, 40.0, 50.0, 50.0],
                               [21.0, 21.0, 31.0, 31.0]]), torch.tensor([[0.0, 0.0, 5.0, 5.0]])]
    scores = [torch.tensor([0.9, 0.8, 0.1]), torch.tensor([0.5])]
    # top 1 covers the first object, top 2 adds a miss, top 3 covers the second (IoU 81/119)
    recall = D.proposal_recall(proposals, scores, gt, ks=[1, 2, 3])
    torch.testing.assert_close(recall, torch.tensor([0.5, 0.5, 1.0]))
    assert D.proposal_recall(proposals, scores, gt, ks=[3], iou_threshold=0.7).item() == 0.5
    with pytest.raises(ValueError, match="same length"):
        D.proposal_recall(proposals, scores[:1], gt, ks=[1])
    with pytest.raises(ValueError, match="at least one box"):
        D.proposal_recall(proposals[1:], scores[1:], gt[1:], ks=[1])
