"""NMS: the loop, its vectorised twin and the class-aware version against torchvision.ops."""
import pytest
import torch
import torchvision
from box_strategies import box_sets
from hypothesis import given, strategies as st

from course_utils.recognition import boxes as B, nms as N
from course_utils.recognition.speed import nms_table

pytestmark = pytest.mark.chapter("04_object_recognition")


def random_boxes(n, seed, size=100.0, max_side=50.0, dtype=torch.float64):
    """Seeded boxes from the shared generator: corners in [0, size), sides in [0, max_side)."""
    return B.random_boxes(n, seed, size, 0.0, max_side, dtype)[0]

# ----------------------------------------------------------------------------- NMS
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nms_matches_torchvision(threshold, seed):
    boxes = random_boxes(500, seed, size=200)
    scores = torch.rand(500, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    ours = N.nms(boxes, scores, threshold)
    assert ours.dtype == torch.int64
    assert torch.equal(ours, torchvision.ops.nms(boxes, scores, threshold))
    for block in (7, 1000):   # the block size changes speed, never the answer
        assert torch.equal(N.nms(boxes, scores, threshold, block=block), ours)


def test_nms_leaves_the_thread_count_alone():
    threads = torch.get_num_threads()
    boxes = random_boxes(300, 3)
    N.nms(boxes, torch.rand(300, dtype=torch.float64), 0.5)
    assert torch.get_num_threads() == threads
    with pytest.raises(ValueError):
        N.nms(boxes, torch.rand(300), 2.0)
    assert torch.get_num_threads() == threads


def test_nms_float32_matches_torchvision():
    boxes = random_boxes(3000, 5, size=300, max_side=80, dtype=torch.float32)
    scores = torch.rand(3000, generator=torch.Generator().manual_seed(5))
    assert torch.equal(N.nms(boxes, scores, 0.5), torchvision.ops.nms(boxes, scores, 0.5))


@given(boxes=box_sets(), data=st.data(), threshold=st.sampled_from([0.0, 0.2, 0.5, 0.8]))
def test_nms_property(boxes, data, threshold):
    # few distinct scores -> many ties; integer boxes -> duplicates and zero areas
    scores = torch.tensor(data.draw(st.lists(st.integers(0, 3), min_size=len(boxes),
                                             max_size=len(boxes))), dtype=torch.float64)
    keep = N.nms(boxes, scores, threshold)
    assert torch.equal(keep, torchvision.ops.nms(boxes, scores, threshold))
    assert torch.all(scores[keep][:-1] >= scores[keep][1:])            # descending scores
    iou = B.box_iou(boxes[keep], boxes[keep]).fill_diagonal_(0)
    assert torch.all(iou <= threshold)                                  # survivors are apart
    rank = torch.empty(len(boxes), dtype=torch.long)
    rank[torch.sort(scores, descending=True, stable=True).indices] = torch.arange(len(boxes))
    removed = torch.ones(len(boxes), dtype=torch.bool)
    removed[keep] = False
    for r in torch.nonzero(removed).flatten():                          # each drop is explained
        blockers = keep[(B.box_iou(boxes[r:r + 1], boxes[keep])[0] > threshold)
                        & (rank[keep] < rank[r])]
        assert len(blockers) > 0


def test_nms_empty_and_degenerate():
    empty = N.nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert empty.shape == (0,) and empty.dtype == torch.int64
    # zero-area boxes never overlap anything, so they are all kept
    points = torch.tensor([[1.0, 1.0, 1.0, 1.0]] * 3 + [[0.0, 0.0, 2.0, 2.0]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    assert N.nms(points, scores, 0.0).tolist() == torchvision.ops.nms(points, scores, 0.0).tolist()
    assert N.nms(points, scores, 0.0).tolist() == [0, 1, 2, 3]


def test_nms_errors():
    boxes = random_boxes(4, 0)
    with pytest.raises(ValueError, match=r"scores must have shape \(4,\)"):
        N.nms(boxes, torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match="iou_threshold"):
        N.nms(boxes, torch.zeros(4), 1.5)
    with pytest.raises(ValueError, match="iou_threshold"):
        N.nms(boxes, torch.zeros(4), -0.1)
    with pytest.raises(ValueError, match="block"):
        N.nms(boxes, torch.zeros(4), 0.5, block=0)
    with pytest.raises(ValueError, match="idxs"):
        N.batched_nms(boxes, torch.zeros(4), torch.zeros(5), 0.5)
    with pytest.raises(ValueError, match="scores"):
        N.batched_nms(boxes, torch.zeros(2), torch.zeros(4), 0.5)


@pytest.mark.parametrize("n", [300, 2000])      # torchvision switches algorithm above 1000 boxes
def test_batched_nms_matches_torchvision(n):
    boxes = random_boxes(n, 7, size=150)
    gen = torch.Generator().manual_seed(7)
    scores = torch.rand(n, generator=gen, dtype=torch.float64)
    idxs = torch.randint(0, 4, (n,), generator=gen)
    ours = N.batched_nms(boxes, scores, idxs, 0.5)
    assert torch.equal(ours, torchvision.ops.batched_nms(boxes, scores, idxs, 0.5))


@given(boxes=box_sets(), data=st.data())
def test_batched_nms_property(boxes, data):
    n = len(boxes)
    scores = torch.tensor(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
                          dtype=torch.float64)
    idxs = torch.tensor(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
                        dtype=torch.long)
    keep = N.batched_nms(boxes, scores, idxs, 0.5)
    # reference: torchvision NMS per class, merged
    expected = torch.cat([torch.nonzero(idxs == c).flatten()[
        torchvision.ops.nms(boxes[idxs == c], scores[idxs == c], 0.5)] for c in range(3)])
    assert sorted(keep.tolist()) == sorted(expected.tolist())
    assert torch.all(scores[keep][:-1] >= scores[keep][1:])
    assert set(keep.tolist()) == set(torchvision.ops.batched_nms(boxes, scores, idxs, 0.5).tolist())


def test_batched_nms_only_within_class():
    box = torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 2)
    scores = torch.tensor([0.9, 0.8])
    assert N.batched_nms(box, scores, torch.tensor([0, 1]), 0.5).tolist() == [0, 1]
    assert N.batched_nms(box, scores, torch.tensor([2, 2]), 0.5).tolist() == [0]
    assert N.batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0), 0.5).numel() == 0


# ----------------------------------------------------------------------------- loop NMS
@given(boxes=box_sets(), data=st.data(), threshold=st.sampled_from([0.0, 0.5, 0.9]))
def test_nms_loop_matches_torchvision(boxes, data, threshold):
    scores = torch.tensor(data.draw(st.lists(st.integers(0, 3), min_size=len(boxes),
                                             max_size=len(boxes))), dtype=torch.float64)
    assert torch.equal(N.nms_loop(boxes, scores, threshold),
                       torchvision.ops.nms(boxes, scores, threshold))


def test_nms_table_rows_agree_on_the_result():
    rows = nms_table(n_boxes=200, repeat=1)
    assert [r["implementation"].split()[0] for r in rows] == ["loop", "vectorised",
                                                              "torchvision.ops.nms"]
    boxes, scores = B.random_boxes(200, seed=0)
    expected = len(torchvision.ops.nms(boxes, scores, 0.5))
    assert [r["kept"] for r in rows] == [expected] * 3


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.7])
def test_vectorised_nms_matches_the_loop(threshold):
    boxes, scores = B.random_boxes(400, seed=4, image_size=200, max_side=60, dtype=torch.float64)
    assert torch.equal(N.nms(boxes, scores, threshold), N.nms_loop(boxes, scores, threshold))


@pytest.mark.parametrize("call, match", [
    (lambda: N.nms_loop(torch.zeros(2, 4), torch.zeros(3), 0.5), "scores"),
    (lambda: N.nms_loop(torch.zeros(2, 4), torch.zeros(2), 1.5), "iou_threshold"),
    (lambda: N.nms_loop(torch.zeros(2, 5), torch.zeros(2), 0.5), "boxes"),
    (lambda: N.batched_nms(torch.zeros(2, 4), torch.zeros(2), torch.zeros(2), -1), "iou_threshold"),
    (lambda: N.nms(torch.zeros(2, 4), torch.zeros(2), 0.5, block=True), "block"),
    (lambda: nms_table(n_boxes=0), "n_boxes"),
    (lambda: nms_table(repeat=0), "repeat"),
    (lambda: nms_table(iou_threshold=2.0), "iou_threshold"),
])
def test_nms_argument_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
