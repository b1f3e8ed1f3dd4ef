"""Boxes (IoU, conversions, box deltas) and anchors against torchvision and by hand."""
import math

import numpy as np
import pytest
import torch
import torchvision
from box_strategies import box_sets
from hypothesis import given, strategies as st
from torchvision.models.detection._utils import BoxCoder

from course_utils.recognition import anchors as A, boxes as B, nms as N
from course_utils.data.shapes import make_dataset

pytestmark = pytest.mark.chapter("04_object_recognition")


@pytest.fixture(scope="module")
def scenes():
    return make_dataset(6, seed=3)


def random_boxes(n, seed, size=100.0, max_side=50.0, dtype=torch.float64):
    """Seeded boxes from the shared generator: corners in [0, size), sides in [0, max_side)."""
    return B.random_boxes(n, seed, size, 0.0, max_side, dtype)[0]

# ----------------------------------------------------------------------------- IoU
def test_box_iou_matches_torchvision():
    a, b = random_boxes(40, 0), random_boxes(30, 1)
    torch.testing.assert_close(B.box_iou(a, b), torchvision.ops.box_iou(a, b),
                               rtol=0, atol=1e-12)
    assert B.box_iou(a.float(), b.float()).dtype == torch.float32


@given(a=box_sets(), b=box_sets())
def test_box_iou_property(a, b):
    ours = B.box_iou(a, b)
    ref = torchvision.ops.box_iou(a, b)      # NaN where both boxes have zero area (0 / 0)
    assert ours.shape == (len(a), len(b))
    assert torch.all((ours >= 0) & (ours <= 1))
    torch.testing.assert_close(ours, ref.nan_to_num(0.0), rtol=0, atol=1e-12)
    torch.testing.assert_close(B.box_iou(b, a), ours.T, rtol=0, atol=0)
    positive = B.box_area(a) > 0
    assert torch.all(B.box_iou(a, a).diagonal()[positive] == 1)


def test_box_iou_degenerate_and_empty():
    point = torch.tensor([[5.0, 5.0, 5.0, 5.0]])
    square = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    assert B.box_iou(point, point).item() == 0.0          # no union: defined as 0
    assert B.box_iou(point, square).item() == 0.0
    assert B.box_iou(torch.zeros(0, 4), square).shape == (0, 1)
    assert B.box_iou(square, np.zeros((0, 4))).shape == (1, 0)
    assert B.box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3]]).item() == pytest.approx(1 / 7)


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(3, 5), r"shape \(N, 4\)"), (torch.zeros(4), r"shape \(N, 4\)"),
    (torch.tensor([[5.0, 0.0, 1.0, 3.0]]), "x1 <= x2"),
    (torch.tensor([[0.0, 5.0, 1.0, 3.0]]), "y1 <= y2"),
    (torch.tensor([[0.0, 0.0, math.inf, 3.0]]), "finite"),
])
def test_box_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        B.box_iou(bad, torch.zeros(1, 4))
    with pytest.raises(ValueError, match="boxes_b"):
        B.box_iou(torch.zeros(1, 4), bad)
    with pytest.raises(ValueError, match="boxes"):
        N.nms(bad, torch.zeros(len(bad)), 0.5)


def test_box_type_error():
    with pytest.raises(TypeError, match="boxes_a"):
        B.box_iou(np.array([["a", "b", "c", "d"]]), torch.zeros(1, 4))


# ----------------------------------------------------------------------------- anchors
def test_make_anchors_layout():
    scales, ratios = (8.0, 16.0), (0.5, 1.0, 2.0)
    anchors = A.make_anchors((2, 3), stride=4, scales=scales, ratios=ratios)
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
        A.make_anchors(4, 0, (8,), (1,))
    with pytest.raises(ValueError, match="scales"):
        A.make_anchors(4, 8, (-8,), (1,))
    with pytest.raises(ValueError, match="ratios"):
        A.make_anchors(4, 8, (8,), (0,))
    with pytest.raises(ValueError, match="feature_size"):
        A.make_anchors(0, 8, (8,), (1,))
    with pytest.raises(ValueError, match="at least one"):
        A.make_anchors(4, 8, (), (1,))


# ----------------------------------------------------------------------------- box coding
@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)])
def test_encode_decode_match_torchvision(weights):
    boxes, anchors = random_boxes(50, 2) + 0.5, random_boxes(50, 3) + 0.5
    boxes[:, 2:] += 1
    anchors[:, 2:] += 1
    coder = BoxCoder(weights)
    deltas = B.encode_boxes(boxes, anchors, weights)
    torch.testing.assert_close(deltas, coder.encode_single(boxes, anchors), rtol=1e-10,
                               atol=1e-10)
    torch.testing.assert_close(B.decode_boxes(deltas, anchors, weights),
                               coder.decode_single(deltas, anchors), rtol=1e-10, atol=1e-10)


@given(boxes=box_sets(min_size=1, integer=False), shift=st.floats(-5, 5), seed=st.integers(0, 99))
def test_encode_decode_round_trip(boxes, shift, seed):
    boxes = boxes + torch.tensor([0.0, 0.0, 0.5, 0.5], dtype=torch.float64)  # positive sizes
    anchors = random_boxes(len(boxes), seed) + shift
    anchors[:, 2:] += 2.0     # box / anchor size ratios stay below decode's exp() clip (62.5)
    decoded = B.decode_boxes(B.encode_boxes(boxes, anchors), anchors)
    torch.testing.assert_close(decoded, boxes, rtol=0, atol=1e-9)


def test_decode_broadcasts_and_clips_huge_scales():
    anchors = random_boxes(7, 4) + torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=torch.float64)
    deltas = torch.randn(3, 7, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    batched = B.decode_boxes(deltas, anchors)
    assert batched.shape == (3, 7, 4)
    torch.testing.assert_close(batched[1], B.decode_boxes(deltas[1], anchors))
    huge = B.decode_boxes(torch.tensor([[0.0, 0.0, 100.0, 100.0]]), torch.tensor([[0.0, 0, 1, 1]]))
    assert torch.isfinite(huge).all() and huge[0, 2] - huge[0, 0] == pytest.approx(1000 / 16)


def test_encode_decode_errors():
    good = torch.tensor([[0.0, 0.0, 4.0, 4.0]])
    with pytest.raises(ValueError, match="same shape"):
        B.encode_boxes(good, torch.cat([good, good]))
    with pytest.raises(ValueError, match="positive width"):
        B.encode_boxes(torch.tensor([[1.0, 1.0, 1.0, 5.0]]), good)
    with pytest.raises(ValueError, match="anchors"):
        B.encode_boxes(good, torch.tensor([[4.0, 0.0, 0.0, 4.0]]))
    with pytest.raises(ValueError, match="end in 4"):
        B.decode_boxes(torch.zeros(2, 3), good)


# ----------------------------------------------------------------------------- sliding windows
def test_sliding_windows():
    windows = A.sliding_windows(64, sizes=(16, 32), stride=8)
    assert windows.shape == (((64 - 16) // 8 + 1) ** 2 + ((64 - 32) // 8 + 1) ** 2, 4)
    assert windows.min() >= 0 and windows.max() <= 64
    sides = windows[:, 2:] - windows[:, :2]
    assert set(sides.flatten().tolist()) == {16.0, 32.0}
    with pytest.raises(ValueError, match="sizes"):
        A.sliding_windows(64, sizes=(80,), stride=8)
    with pytest.raises(ValueError, match="stride"):
        A.sliding_windows(64, sizes=(16,), stride=0)


def test_best_iou_per_object_against_brute_force(scenes):
    windows = A.sliding_windows(64, (12, 20), 8)
    best = A.best_iou_per_object(windows, scenes["boxes"])
    expected = [max(B.box_iou(w[None], g[None]).item() for w in windows)
                for boxes in scenes["boxes"] for g in boxes]
    torch.testing.assert_close(best, torch.tensor(expected))


def test_conversions_match_torchvision_box_convert():
    boxes = random_boxes(30, 9)
    cxcywh = B.xyxy_to_cxcywh(boxes)
    torch.testing.assert_close(cxcywh, torchvision.ops.box_convert(boxes, "xyxy", "cxcywh"))
    torch.testing.assert_close(B.cxcywh_to_xyxy(cxcywh), boxes)
    with pytest.raises(ValueError, match="non-negative width"):
        B.cxcywh_to_xyxy(torch.tensor([[5.0, 5.0, -1.0, 2.0]]))
    with pytest.raises(ValueError, match="boxes must have shape"):
        B.cxcywh_to_xyxy(torch.zeros(2, 3))


def test_random_boxes_is_seeded_and_inside_its_ranges():
    boxes, scores = B.random_boxes(500, seed=3, image_size=100, min_side=5, max_side=20)
    again, _ = B.random_boxes(500, seed=3, image_size=100, min_side=5, max_side=20)
    assert torch.equal(boxes, again) and not torch.equal(boxes, B.random_boxes(500, 4)[0])
    sides = boxes[:, 2:] - boxes[:, :2]
    assert boxes[:, :2].min() >= 0 and boxes[:, :2].max() < 100
    assert sides.min() >= 5 and sides.max() <= 20 and scores.shape == (500,)
    for kwargs, match in [({"n": -1}, "n must"), ({"n": 3, "seed": -1}, "seed"),
                          ({"n": 3, "max_side": 2.0}, "max_side"),
                          ({"n": 3, "image_size": 0}, "image_size")]:
        with pytest.raises(ValueError, match=match):
            B.random_boxes(**kwargs)


@pytest.mark.parametrize("weights", [(1.0, 1.0, 1.0), (1.0, 0.0, 1.0, 1.0), 2.0])
def test_box_coding_weights_errors(weights):
    good = torch.tensor([[0.0, 0.0, 4.0, 4.0]])
    with pytest.raises((ValueError, TypeError), match="weights"):
        B.encode_boxes(good, good, weights)
    with pytest.raises((ValueError, TypeError), match="weights"):
        B.decode_boxes(torch.zeros(1, 4), good, weights)


@pytest.mark.parametrize("call, error, match", [
    (lambda: A.make_anchors(8, 8, 12, (1.0,)), TypeError, "scales must be a sequence"),
    (lambda: A.make_anchors(8, 8, (12.0,), 1.0), TypeError, "ratios must be a sequence"),
    (lambda: A.make_anchors((8, 8, 8), 8, (12.0,), (1.0,)), ValueError, "feature_size"),
    (lambda: A.make_anchors(8.5, 8, (12.0,), (1.0,)), ValueError, "feature_size"),
    (lambda: A.sliding_windows(64, 16, 8), TypeError, "sizes must be a sequence"),
    (lambda: A.sliding_windows(64, (), 8), ValueError, "sizes must contain"),
    (lambda: A.sliding_windows(0, (16,), 8), ValueError, "image_size"),
    (lambda: A.best_iou_per_object(torch.zeros(0, 4), [torch.zeros(1, 4)]), ValueError,
     "candidates"),
    (lambda: A.best_iou_per_object(torch.ones(1, 4), [torch.zeros(0, 4)]), ValueError,
     "gt_boxes"),
])
def test_anchor_argument_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
