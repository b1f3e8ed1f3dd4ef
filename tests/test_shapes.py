"""Shape-scene generator: determinism, annotation consistency, argument errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from skimage.measure import regionprops
from torchvision.ops import box_iou, masks_to_boxes

from course_utils.data.shapes import BACKGROUNDS, CLASSES, make_dataset, make_scene

pytestmark = pytest.mark.chapter("04_object_recognition")


def _check_consistent(scene: dict, size: int) -> None:
    image, boxes, labels = scene["image"], scene["boxes"], scene["labels"]
    masks, semantic = scene["masks"], scene["semantic"]
    k = len(labels)
    assert image.shape == (3, size, size) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert boxes.shape == (k, 4) and boxes.dtype == np.float32
    assert labels.dtype == np.int64 and set(labels.tolist()) <= set(range(len(CLASSES)))
    assert masks.shape == (k, size, size) and masks.dtype == bool
    assert semantic.shape == (size, size) and semantic.dtype == np.int64
    # every object is visible, masks are disjoint and tile the foreground of the semantic map
    assert np.all(masks.reshape(k, -1).sum(1) > 0)
    assert np.all(masks.sum(0) <= 1)
    assert np.array_equal(masks.any(0), semantic > 0)
    expected = np.zeros((size, size), dtype=np.int64)
    for mask, label in zip(masks, labels):
        expected[mask] = label + 1
    assert np.array_equal(expected, semantic)
    # boxes are the tight boxes of the visible pixels (x2, y2 exclusive): two references
    if k:
        ref = masks_to_boxes(torch.from_numpy(masks)).numpy() + np.array([0, 0, 1, 1])
        np.testing.assert_array_equal(boxes, ref)
        for mask, box in zip(masks, boxes):
            r0, c0, r1, c1 = regionprops(mask.astype(np.uint8))[0].bbox
            np.testing.assert_array_equal(box, [c0, r0, c1, r1])


@pytest.mark.parametrize("background", BACKGROUNDS)
def test_scene_is_consistent(background):
    for seed in range(20):
        _check_consistent(make_scene(seed, background=background), 64)


@given(seed=st.integers(0, 2**31 - 1), size=st.sampled_from([32, 48, 64]),
       max_objects=st.integers(1, 5), overlap=st.booleans())
def test_scene_is_consistent_property(seed, size, max_objects, overlap):
    scene = make_scene(seed, size=size, max_objects=max_objects, min_size=6,
                       max_size=size // 2, overlap=overlap)
    _check_consistent(scene, size)
    assert 1 <= len(scene["labels"]) <= max_objects   # the first shape always fits


def test_same_seed_same_scene_and_different_seed_differs():
    a, b, c = make_scene(7), make_scene(7), make_scene(8)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["image"], c["image"])


def test_no_overlap_keeps_bounding_squares_apart():
    for seed in range(30):
        scene = make_scene(seed, max_objects=4, overlap=False)
        boxes = scene["boxes"]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                ix = min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0])
                iy = min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1])
                assert ix <= 0 or iy <= 0


def test_overlap_happens_and_occlusion_is_limited():
    overlapping = 0
    for seed in range(200):
        scene = make_scene(seed, max_objects=3)
        boxes = torch.from_numpy(scene["boxes"])
        if len(boxes) > 1:
            iou = box_iou(boxes, boxes).fill_diagonal_(0)
            overlapping += int((iou > 0).any())
    assert overlapping > 10   # occlusion really occurs in the default setting


def test_sizes_and_class_balance():
    data = make_dataset(300, seed=1)
    labels = torch.cat(data["labels"])
    counts = torch.bincount(labels, minlength=3)
    assert counts.min() > 0.2 * len(labels)            # all classes appear, roughly balanced
    sides = torch.cat([b[:, 2:] - b[:, :2] for b in data["boxes"]])
    assert sides.max() <= 28 and sides.min() >= 1


def test_make_dataset_matches_make_scene():
    data = make_dataset(5, seed=3, size=48, max_size=20, background="texture")
    assert data["images"].shape == (5, 3, 48, 48) and data["images"].dtype == torch.float32
    assert data["semantic"].shape == (5, 48, 48) and data["semantic"].dtype == torch.int64
    for i, s in enumerate(data["seeds"]):
        scene = make_scene(s, size=48, max_size=20, background="texture")
        np.testing.assert_array_equal(data["images"][i].numpy(), scene["image"])
        np.testing.assert_array_equal(data["boxes"][i].numpy(), scene["boxes"])
        np.testing.assert_array_equal(data["labels"][i].numpy(), scene["labels"])
        np.testing.assert_array_equal(data["masks"][i].numpy(), scene["masks"])
    again = make_dataset(5, seed=3, size=48, max_size=20, background="texture")
    assert torch.equal(again["images"], data["images"])
    assert not torch.equal(make_dataset(5, seed=4, size=48, max_size=20)["images"],
                           data["images"])


@pytest.mark.parametrize("kwargs, match", [
    (dict(seed=-1), "seed"), (dict(seed=1.5), "seed"), (dict(seed=0, size=4), "size"),
    (dict(seed=0, max_objects=0), "max_objects"), (dict(seed=0, min_size=2), "min_size"),
    (dict(seed=0, min_size=12, max_size=10), "max_size"),
    (dict(seed=0, size=32, max_size=40), "max_size"),
    (dict(seed=0, background="stripes"), "background"),
])
def test_make_scene_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_scene(**kwargs)


def test_make_dataset_errors():
    with pytest.raises(ValueError, match="n must"):
        make_dataset(0, seed=0)
    with pytest.raises(ValueError, match="seed"):
        make_dataset(3, seed=-2)
