"""The one-stage detector: target assignment, loss, a short seeded training run, inference."""
import pytest
import torch
from torchvision.models.detection._utils import Matcher
from torchvision.ops import sigmoid_focal_loss

from course_utils.recognition import boxes as B, detection_metrics, one_stage as M
from course_utils.recognition.boxes import box_iou, decode_boxes
from course_utils.data.shapes import make_dataset

pytestmark = pytest.mark.chapter("04_object_recognition")


@pytest.fixture(scope="module")
def scenes():
    return make_dataset(48, seed=5)


@pytest.fixture(scope="module")
def trained():
    """A detector after a short seeded training run (400 scenes, 250 steps) and its raw output
    on 40 held-out scenes."""
    torch.manual_seed(0)
    train, test = make_dataset(400, seed=11), make_dataset(40, seed=12)
    model = M.TinyDetector()
    labels, deltas = M.build_targets(model.anchors, train["boxes"], train["labels"])
    history = M.train_detector(model, train["images"], labels, deltas, steps=250,
                               batch_size=16, lr=1e-2, progress=False)
    boxes, scores = M.raw_detections(model, test["images"])
    return {"model": model, "history": history, "test": test, "boxes": boxes, "scores": scores}


@pytest.fixture(scope="module")
def raw(trained):
    return trained["test"], trained["boxes"], trained["scores"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return M.TinyDetector(width=16)


def test_output_shapes_and_anchor_order(model):
    logits, deltas = model(torch.rand(2, 3, 64, 64))
    anchors_total = 8 * 8 * model.anchors_per_cell
    assert logits.shape == (2, anchors_total, 3) and deltas.shape == (2, anchors_total, 4)
    assert model.anchors.shape == (anchors_total, 4)
    # the prior makes every anchor start as "background" with probability 0.99
    torch.testing.assert_close(torch.sigmoid(logits).mean(), torch.tensor(0.01), atol=2e-3,
                               rtol=0)
    with pytest.raises(ValueError, match="images"):
        model(torch.rand(2, 3, 32, 32))
    with pytest.raises(ValueError, match="image_size"):
        M.TinyDetector(image_size=60)


def test_targets_follow_torchvision_matcher(model, scenes):
    labels, deltas = M.build_targets(model.anchors, scenes["boxes"], scenes["labels"])
    assert labels.shape == (48, len(model.anchors)) and deltas.shape == (48, len(model.anchors), 4)
    matcher = Matcher(0.5, 0.4, allow_low_quality_matches=True)
    for i, (boxes, classes) in enumerate(zip(scenes["boxes"], scenes["labels"])):
        matches = matcher(box_iou(boxes, model.anchors))
        expected = torch.where(matches >= 0, classes[matches.clamp(min=0)] + 1,
                               torch.where(matches == Matcher.BELOW_LOW_THRESHOLD, 0, -1))
        assert torch.equal(labels[i], expected)
        positive = labels[i] > 0
        # decoding the stored deltas recovers the matched box exactly
        torch.testing.assert_close(decode_boxes(deltas[i][positive], model.anchors[positive]),
                                   boxes[matches[positive]], atol=1e-4, rtol=0)
        # every object gets at least one anchor
        assert set(matches[positive].tolist()) == set(range(len(boxes)))


def test_targets_without_objects_and_errors(model):
    labels, deltas = M.build_targets(model.anchors, [torch.zeros(0, 4)], [torch.zeros(0)])
    assert torch.all(labels == 0) and torch.all(deltas == 0)
    with pytest.raises(ValueError, match="same length"):
        M.build_targets(model.anchors, [torch.zeros(0, 4)], [])
    with pytest.raises(ValueError, match=r"labels\[0\]"):
        M.build_targets(model.anchors, [torch.tensor([[0.0, 0, 9, 9]])], [torch.zeros(2)])
    with pytest.raises(ValueError, match=r"boxes\[0\]"):
        M.build_targets(model.anchors, [torch.tensor([[9.0, 0, 0, 9]])], [torch.zeros(1)])


def test_detection_loss_matches_focal_loss_by_hand():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 10, 3, generator=gen)
    deltas = torch.randn(2, 10, 4, generator=gen)
    labels = torch.randint(-1, 4, (2, 10), generator=gen)
    target_deltas = torch.randn(2, 10, 4, generator=gen)
    valid, positive = labels >= 0, labels > 0
    onehot = torch.nn.functional.one_hot(labels.clamp(min=0), 4)[..., 1:].float()
    num_pos = positive.sum()
    for kind, alpha, gamma in [("focal", 0.25, 2.0), ("cross_entropy", -1, 0.0)]:
        loss = M.detection_loss(logits, deltas, labels, target_deltas, kind)
        cls = sigmoid_focal_loss(logits[valid], onehot[valid], alpha, gamma, "sum") / num_pos
        box = (deltas - target_deltas).abs()[positive].sum() / num_pos
        torch.testing.assert_close(loss["cls"], cls)
        torch.testing.assert_close(loss["box"], box)
        torch.testing.assert_close(loss["loss"], cls + box)
    with pytest.raises(ValueError, match="classification"):
        M.detection_loss(logits, deltas, labels, target_deltas, "hinge")
    with pytest.raises(ValueError, match="targets must match"):
        M.detection_loss(logits, deltas, labels[:, :5], target_deltas)


def test_short_training_reaches_a_minimum_quality(trained):
    history = trained["history"]
    assert len(history["loss"]) == 250
    first, last = sum(history["loss"][:10]) / 10, sum(history["loss"][-10:]) / 10
    assert last < 0.5 * first
    test = trained["test"]
    detections = [M.postprocess(b, s) for b, s in zip(trained["boxes"], trained["scores"])]
    targets = [{"boxes": b, "labels": l} for b, l in zip(test["boxes"], test["labels"])]
    # 250 steps on 400 scenes: far from the notebook's detector, far above chance
    assert detection_metrics.mean_average_precision(detections, targets)["map"] >= 0.3


def test_refinement_improves_the_confident_anchors(trained):
    before, after = M.refinement_gain(trained["model"].anchors, trained["boxes"],
                                      trained["scores"], trained["test"]["boxes"], 0.3)
    assert len(before) >= 20
    assert after.mean() > before.mean() + 0.1
    empty = M.refinement_gain(trained["model"].anchors, trained["boxes"], trained["scores"],
                              trained["test"]["boxes"], min_score=2.0)
    assert empty[0].numel() == 0


def test_detect_output_is_sorted_thresholded_and_capped(trained):
    images = trained["test"]["images"][:4]
    detections = M.detect(trained["model"], images, score_threshold=0.05, iou_threshold=0.5,
                          max_detections=7)
    assert len(detections) == 4
    for det in detections:
        k = len(det["scores"])
        assert k <= 7 and det["boxes"].shape == (k, 4) and det["labels"].shape == (k,)
        assert torch.all(det["scores"] > 0.05)
        assert torch.all(det["scores"][:-1] >= det["scores"][1:])
        assert torch.all((det["boxes"] >= 0) & (det["boxes"] <= 64))
        assert set(det["labels"].tolist()) <= {0, 1, 2}


def test_head_only_training_keeps_backbone(scenes):
    torch.manual_seed(0)
    model = M.TinyDetector(width=16)
    before = [p.clone() for p in model.backbone.parameters()]
    running = model.backbone[0][1].running_mean.clone()
    labels, deltas = M.build_targets(model.anchors, scenes["boxes"], scenes["labels"])
    head = model.classifier.weight.clone()
    M.train_detector(model, scenes["images"], labels, deltas, steps=3, batch_size=8,
                     head_only=True, classification="cross_entropy", progress=False)
    assert all(torch.equal(a, b) for a, b in zip(before, model.backbone.parameters()))
    assert torch.equal(running, model.backbone[0][1].running_mean)
    assert not torch.equal(head, model.classifier.weight)


def test_train_errors(scenes, model):
    labels, deltas = M.build_targets(model.anchors, scenes["boxes"], scenes["labels"])
    with pytest.raises(ValueError, match="steps"):
        M.train_detector(model, scenes["images"], labels, deltas, steps=0)
    with pytest.raises(ValueError, match="same length"):
        M.train_detector(model, scenes["images"][:3], labels, deltas, steps=1)
    with pytest.raises(ValueError, match="lr"):
        M.train_detector(model, scenes["images"], labels, deltas, steps=1, lr=-1)
    with pytest.raises(ValueError, match="gamma"):
        M.train_detector(model, scenes["images"], labels, deltas, steps=1, gamma=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        M.train_detector(model, scenes["images"], labels, deltas, steps=1, alpha=1.5)


@pytest.mark.parametrize("alpha, gamma", [(None, 0.0), (0.25, 2.0), (None, 2.0), (0.5, 1.0)])
def test_train_detector_uses_the_focal_loss_it_is_given(scenes, alpha, gamma):
    """The first step's classification loss is torchvision's sigmoid focal loss with these
    alpha and gamma (alpha None = -1 there: no weighting); None and 0 is the cross-entropy run."""
    torch.manual_seed(0)
    model = M.TinyDetector(width=16)
    labels, deltas = M.build_targets(model.anchors, scenes["boxes"], scenes["labels"])
    batch = torch.randint(0, len(scenes["images"]), (8,), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        logits, _ = model.train()(scenes["images"][batch])
    valid = labels[batch] >= 0
    onehot = torch.nn.functional.one_hot(labels[batch].clamp(min=0), 4)[..., 1:].float()
    expected = sigmoid_focal_loss(logits[valid], onehot[valid], -1 if alpha is None else alpha, gamma,
                                  "sum") / (labels[batch] > 0).sum()
    history = M.train_detector(model, scenes["images"], labels, deltas, steps=1, batch_size=8,
                               alpha=alpha, gamma=gamma, seed=3, progress=False)
    assert history["cls"][0] == pytest.approx(expected.item(), rel=1e-5)
    if alpha is None and gamma == 0.0:
        torch.manual_seed(0)
        twin = M.TinyDetector(width=16)
        ce = M.train_detector(twin, scenes["images"], labels, deltas, steps=1, batch_size=8,
                              classification="cross_entropy", seed=3, progress=False)
        assert ce["cls"][0] == pytest.approx(history["cls"][0], rel=1e-6)


def test_postprocess_thresholds_and_nms():
    boxes = torch.tensor([[0.0, 0, 10, 10], [1, 1, 11, 11], [30, 30, 40, 40]])
    scores = torch.tensor([[0.9, 0.0, 0.0], [0.8, 0.7, 0.0], [0.02, 0.0, 0.6]])
    out = M.postprocess(boxes, scores, score_threshold=0.05, iou_threshold=0.5)
    # box 1 duplicates box 0 in class 0 (removed) but is the only class-1 box (kept)
    assert out["labels"].tolist() == [0, 1, 2]
    torch.testing.assert_close(out["scores"], torch.tensor([0.9, 0.7, 0.6]))
    assert len(M.postprocess(boxes, scores, 0.05, 0.5, max_detections=2)["scores"]) == 2
    assert len(M.postprocess(boxes, scores, 0.95, 0.5)["scores"]) == 0


def test_training_on_device(scenes, device):
    torch.manual_seed(0)
    model = M.TinyDetector(width=16).to(device)
    labels, deltas = M.build_targets(model.anchors, [b.to(device) for b in scenes["boxes"]],
                                     scenes["labels"])
    history = M.train_detector(model, scenes["images"], labels, deltas, steps=5, batch_size=8,
                               progress=False)
    assert len(history["loss"]) == 5
    assert M.detect(model, scenes["images"][:2])[0]["boxes"].device.type == "cpu"
    # the same weights give the same output on the CPU
    cpu = M.TinyDetector(width=16)
    cpu.load_state_dict({k: v.cpu() for k, v in model.state_dict().items()})
    ours = M.raw_detections(model, scenes["images"][:4])[1]
    torch.testing.assert_close(ours, M.raw_detections(cpu, scenes["images"][:4])[1],
                               atol=1e-4, rtol=1e-4)


def test_recall_by_size_against_brute_force(raw):
    scenes, boxes, scores = raw
    dets = [M.postprocess(b, s, score_threshold=0.01) for b, s in zip(boxes, scores)]
    bins = {"small": (0, 16), "large": (16, 65)}
    all_scores = torch.cat([d["scores"] for d in dets])
    for min_score in all_scores.quantile(torch.tensor([0.0, 0.5, 0.9])).tolist():
        result = detection_metrics.recall_by_size(dets, scenes["boxes"], bins, min_score)
        for name, (low, high) in bins.items():
            found = []
            for d, g in zip(dets, scenes["boxes"]):
                keep = d["boxes"][d["scores"] >= min_score]
                for box in g:
                    side = float((box[2:] - box[:2]).max())
                    if low <= side < high:
                        found.append(any(B.box_iou(k[None], box[None]).item() >= 0.5 for k in keep))
            assert result[name]["objects"] == len(found)
            assert result[name]["recall"] == pytest.approx(sum(found) / len(found))



@pytest.mark.parametrize("call, error, match", [
    (lambda s: M.TinyDetector(width=1), ValueError, "width"),
    (lambda s: M.TinyDetector(num_classes=0), ValueError, "num_classes"),
    (lambda s: M.TinyDetector(scales=12), TypeError, "scales must be a sequence"),
    (lambda s: M.TinyDetector(prior=1.0), ValueError, "prior"),
    (lambda s: M.build_targets(torch.zeros(2, 4), [], [], fg_iou=0.3, bg_iou=0.6), ValueError,
     "bg_iou must be <= fg_iou"),
    (lambda s: M.build_targets(torch.zeros(2, 4), [], [], fg_iou=1.5), ValueError, "fg_iou"),
    (lambda s: M.build_targets(torch.zeros(2, 3), [], []), ValueError, "anchors"),
    (lambda s: M.train_detector(M.TinyDetector(), s["images"], s["labels_t"], s["deltas_t"],
                                steps=True), ValueError, "steps"),
    (lambda s: M.train_detector(M.TinyDetector(), s["images"], s["labels_t"], s["deltas_t"],
                                steps=1, batch_size=0), ValueError, "batch_size"),
    (lambda s: M.train_detector(M.TinyDetector(), s["images"], s["labels_t"], s["deltas_t"],
                                steps=1, head_only=1), TypeError, "head_only"),
    (lambda s: M.train_detector(torch.nn.Linear(2, 2), s["images"], s["labels_t"],
                                s["deltas_t"], steps=1), TypeError, "model must be"),
    (lambda s: M.raw_detections(M.TinyDetector(), s["images"], batch_size=0), ValueError,
     "batch_size"),
    (lambda s: M.postprocess(torch.zeros(3, 4), torch.zeros(2, 3)), ValueError,
     r"scores must have shape \(3, C\)"),
    (lambda s: M.postprocess(torch.zeros(3, 4), torch.zeros(3, 3), score_threshold=2),
     ValueError, "score_threshold"),
    (lambda s: M.postprocess(torch.zeros(3, 4), torch.zeros(3, 3), max_detections=0),
     ValueError, "max_detections"),
    (lambda s: M.refinement_gain(torch.zeros(3, 4), torch.zeros(2, 4, 4), torch.zeros(2, 4, 3),
                                 [torch.zeros(0, 4)] * 2), ValueError, "boxes must have shape"),
    (lambda s: M.refinement_gain(torch.zeros(3, 4), torch.zeros(2, 3, 4), torch.zeros(2, 3, 3),
                                 [torch.zeros(0, 4)]), ValueError, "gt_boxes"),
])
def test_argument_errors(scenes, call, error, match):
    model = M.TinyDetector()
    labels, deltas = M.build_targets(model.anchors, scenes["boxes"], scenes["labels"])
    with pytest.raises(error, match=match):
        call(dict(scenes, labels_t=labels, deltas_t=deltas))


def test_backbone_features_are_the_first_blocks(device):
    torch.manual_seed(0)
    model = M.TinyDetector().to(device).train()
    images = torch.rand(5, 3, 64, 64)
    features = M.backbone_features(model, images, stages=3, batch_size=2)
    assert features.shape == (5, 16, 16, 16) and model.training          # mode restored
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(features, model.backbone[:3](images.to(device)))
        assert M.backbone_features(model, images).shape == (5, 32, 8, 8)
    with pytest.raises(ValueError, match="stages"):
        M.backbone_features(model, images, stages=6)
    with pytest.raises(TypeError, match="model must be"):
        M.backbone_features(torch.nn.Linear(2, 2), images)
