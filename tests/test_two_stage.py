"""The two-stage pieces: objectness labels, proposals, RoI crops against an exact case, the
RoI head and its training."""
import pytest
import torch
import torchvision

from course_utils.recognition import one_stage, two_stage as T
from course_utils.data.shapes import make_dataset

pytestmark = pytest.mark.chapter("04_object_recognition")


@pytest.fixture(scope="module")
def scenes():
    return make_dataset(8, seed=21)


def test_objectness_labels_forget_the_class():
    labels = torch.tensor([[-1, 0, 1, 2, 3], [3, 3, 0, -1, 1]])
    expected = torch.tensor([[-1, 0, 1, 1, 1], [1, 1, 0, -1, 1]])
    assert torch.equal(T.objectness_labels(labels), expected)
    with pytest.raises(TypeError, match="target_labels"):
        T.objectness_labels(labels.float())
    with pytest.raises(ValueError, match="target_labels"):
        T.objectness_labels(torch.tensor([[-2, 0]]))


def test_propose_is_class_agnostic_nms_of_the_raw_output(scenes):
    torch.manual_seed(0)
    rpn = one_stage.TinyDetector(num_classes=1)
    proposals, objectness = T.propose(rpn, scenes["images"], k=5, nms_threshold=0.6)
    raw_boxes, raw_scores = one_stage.raw_detections(rpn, scenes["images"])
    assert len(proposals) == len(objectness) == len(scenes["images"])
    for p, s, b, r in zip(proposals, objectness, raw_boxes, raw_scores[..., 0]):
        keep = torchvision.ops.nms(b, r, 0.6)[:5]
        torch.testing.assert_close(p, b[keep])
        torch.testing.assert_close(s, r[keep])


def test_propose_errors(scenes):
    with pytest.raises(ValueError, match="num_classes=1"):
        T.propose(one_stage.TinyDetector(num_classes=3), scenes["images"])
    rpn = one_stage.TinyDetector(num_classes=1)
    with pytest.raises(ValueError, match="k must"):
        T.propose(rpn, scenes["images"], k=0)
    with pytest.raises(ValueError, match="nms_threshold"):
        T.propose(rpn, scenes["images"], nms_threshold=1.5)


def test_label_proposals_by_hand():
    gt = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])]
    labels = [torch.tensor([2, 0])]
    proposals = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 4.0],
                               [21.0, 21.0, 31.0, 31.0], [40.0, 40.0, 50.0, 50.0]])]
    # IoU 1 -> class 2 (+1); 0.4 -> background; 81/119 -> class 0 (+1); none -> background
    assert T.label_proposals(proposals, gt, labels)[0].tolist() == [3, 0, 1, 0]
    assert T.label_proposals(proposals, gt, labels, 0.7)[0].tolist() == [3, 0, 0, 0]
    empty = T.label_proposals([torch.zeros(0, 4)], gt, labels)
    assert empty[0].shape == (0,)
    with pytest.raises(ValueError, match="same length"):
        T.label_proposals(proposals, gt * 2, labels)
    with pytest.raises(ValueError, match="iou_threshold"):
        T.label_proposals(proposals, gt, labels, -0.5)


@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_roi_features_of_a_linear_map_are_its_values_at_the_bin_centres(scale, device, dtype):
    # bilinear sampling is exact on a linear function, so each bin's average is its centre value
    h = w = 16
    ys, xs = torch.meshgrid(torch.arange(h, dtype=dtype), torch.arange(w, dtype=dtype),
                            indexing="ij")
    feature = torch.stack([2 * xs + 3 * ys + 1, xs - ys])[None].to(device)      # (1, 2, h, w)
    box = torch.tensor([[12.0, 8.0, 36.0, 40.0]]) if scale == 0.25 else \
        torch.tensor([[3.0, 2.0, 9.0, 10.0]])
    crops = T.roi_features(feature, [box.to(dtype)], output_size=4, spatial_scale=scale)
    assert crops.shape == (1, 2, 4, 4) and crops.dtype == dtype
    x1, y1, x2, y2 = (box[0] * scale - 0.5).tolist()
    cx = x1 + (torch.arange(4, dtype=dtype) + 0.5) * (x2 - x1) / 4
    cy = y1 + (torch.arange(4, dtype=dtype) + 0.5) * (y2 - y1) / 4
    gy, gx = torch.meshgrid(cy, cx, indexing="ij")
    expected = torch.stack([2 * gx + 3 * gy + 1, gx - gy])[None]
    torch.testing.assert_close(crops.cpu(), expected, atol=1e-4, rtol=1e-4)


def test_roi_features_errors():
    features = torch.zeros(2, 3, 8, 8)
    with pytest.raises(ValueError, match="features"):
        T.roi_features(torch.zeros(3, 8, 8), [torch.zeros(0, 4)])
    with pytest.raises(ValueError, match="one tensor per image"):
        T.roi_features(features, [torch.zeros(1, 4)])
    with pytest.raises(ValueError, match="output_size"):
        T.roi_features(features, [torch.zeros(1, 4)] * 2, output_size=0)
    with pytest.raises(ValueError, match="spatial_scale"):
        T.roi_features(features, [torch.zeros(1, 4)] * 2, spatial_scale=0)
    with pytest.raises(ValueError, match="proposals"):
        T.roi_features(features, [torch.tensor([[5.0, 0, 1, 1]])] * 2)


def test_roi_head_learns_a_separable_problem(device):
    # class = which of 3 channels is bright, background = none: a linear head must get it
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 4, (600,), generator=gen)
    crops = 0.1 * torch.randn(600, 3, 2, 2, generator=gen)
    for k in range(1, 4):
        crops[labels == k, k - 1] += 1.0
    torch.manual_seed(0)
    head = T.RoIHead(3, output_size=2, num_classes=3, hidden=16).to(device)
    history = T.train_roi_head(head, crops[:500], labels[:500], steps=200, batch_size=64)
    assert history[-1] < 0.2 * history[0]
    pred = T.classify_rois(head, crops[500:])
    assert pred.device.type == "cpu"
    assert (pred == labels[500:]).float().mean() > 0.95


def test_roi_head_errors():
    head = T.RoIHead(3, output_size=2)
    with pytest.raises(ValueError, match=r"crops must have shape \(R, 3, 2, 2\)"):
        head(torch.zeros(5, 3, 4, 4))
    with pytest.raises(ValueError, match="in_channels"):
        T.RoIHead(0)
    with pytest.raises(ValueError, match="hidden"):
        T.RoIHead(3, hidden=0)
    with pytest.raises(ValueError, match="same length"):
        T.train_roi_head(head, torch.zeros(4, 3, 2, 2), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="steps"):
        T.train_roi_head(head, torch.zeros(4, 3, 2, 2), torch.zeros(4, dtype=torch.long), steps=0)
    with pytest.raises(TypeError, match="head must be a RoIHead"):
        T.train_roi_head(torch.nn.Linear(2, 2), torch.zeros(4, 2), torch.zeros(4))
    with pytest.raises(TypeError, match="head must be a RoIHead"):
        T.classify_rois(torch.nn.Linear(2, 2), torch.zeros(4, 2))


def test_detect_matches_the_pipeline_built_from_torchvision_ops(scenes):
    torch.manual_seed(3)
    rpn = one_stage.TinyDetector(num_classes=1).eval()
    head = T.RoIHead(rpn.backbone[T.FEATURE_STAGES - 1][0].out_channels, output_size=4).eval()
    images = scenes["images"]
    ours = T.detect(rpn, head, images, k=6, score_threshold=0.2, iou_threshold=0.4)
    raw_boxes, raw_scores = one_stage.raw_detections(rpn, images)
    with torch.no_grad():
        features = rpn.backbone[:T.FEATURE_STAGES](images)
        proposals = [b[torchvision.ops.nms(b, s, 0.7)[:6]] for b, s in zip(raw_boxes, raw_scores[..., 0])]
        crops = torchvision.ops.roi_align(features, proposals, (4, 4), spatial_scale=features.shape[-1] / 64,
                                          sampling_ratio=2, aligned=True)
        probs = torch.softmax(head(crops), dim=1)[:, 1:].split([len(p) for p in proposals])
    for det, p, s in zip(ours, proposals, probs):
        box_idx, label = torch.nonzero(s > 0.2, as_tuple=True)
        keep = torchvision.ops.batched_nms(p[box_idx], s[box_idx, label], label, 0.4)
        torch.testing.assert_close(det["scores"], s[box_idx, label][keep])
        torch.testing.assert_close(det["boxes"], p[box_idx][keep])
        assert torch.equal(det["labels"], label[keep])
    assert sum(len(d["scores"]) for d in ours) > 0      # the case is not empty


def test_detect_errors(scenes):
    rpn = one_stage.TinyDetector(num_classes=1)
    with pytest.raises(TypeError, match="head must be a RoIHead"):
        T.detect(rpn, torch.nn.Linear(2, 2), scenes["images"])
    with pytest.raises(ValueError, match="num_classes=1"):
        T.detect(one_stage.TinyDetector(num_classes=3), T.RoIHead(16), scenes["images"])


def test_pipeline_arm_names_a_wrong_pipeline():
    with pytest.raises(ValueError, match="config\\['pipeline'\\]"):
        T.pipeline_arm({"pipeline": "three-stage", "steps": 1, "lr": 1e-2, "roi_steps": 1}, [0])
