"""Detection metrics against pycocotools / torchmetrics and by hand."""
import contextlib
import math
import io

import numpy as np
import pytest
import torch
from hypothesis import assume, example, given, settings, strategies as st
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from torchmetrics.detection import MeanAveragePrecision

from course_utils import metrics as M
from course_utils.recognition import detection_metrics

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
    coco = detection_metrics.mean_average_precision(preds, targets, method="coco101")["map"]
    assert coco == pytest.approx(pycocotools_map50(preds, targets), abs=1e-9)
    # torchmetrics samples recall at float32-rounded thresholds, so it may differ slightly
    reference = torchmetrics_map50(preds, targets)
    assert abs(coco - reference) < 0.01
    all_point = detection_metrics.mean_average_precision(preds, targets)["map"]
    assert abs(all_point - reference) < 0.01             # all-point vs 101 samples: close


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), n_images=st.integers(1, 12))
@example(seed=10, n_images=10)      # recall exactly 0.7: needs numpy's linspace thresholds
def test_map_matches_pycocotools_property(seed, n_images):
    preds, targets = noisy_predictions(seed, n_images)
    # mAP is undefined without ground truth; COCO needs one detection
    assume(sum(len(t["labels"]) for t in targets) > 0 and sum(len(p["labels"]) for p in preds) > 0)
    assert detection_metrics.mean_average_precision(preds, targets, method="coco101")["map"] == \
        pytest.approx(pycocotools_map50(preds, targets), abs=1e-9)


def test_average_precision_by_hand():
    # ranked hits TP, FP, TP with 3 objects: precision 1, 1/2, 2/3 at recall 1/3, 1/3, 2/3
    precision, recall = detection_metrics.precision_recall(torch.tensor([0.9, 0.8, 0.7]),
                                           torch.tensor([True, False, True]), 3)
    torch.testing.assert_close(precision, torch.tensor([1, 1 / 2, 2 / 3], dtype=torch.float64))
    torch.testing.assert_close(recall, torch.tensor([1 / 3, 1 / 3, 2 / 3], dtype=torch.float64))
    # envelope 1, 2/3, 2/3 -> area 1/3 * 1 + 1/3 * 2/3
    assert detection_metrics.average_precision(precision, recall) == pytest.approx(1 / 3 + 2 / 9)
    # 101 samples: recall 0..0.33 (34 points) at 1, 0.34..0.66 (33 points) at 2/3, rest 0
    assert detection_metrics.average_precision(precision, recall, "coco101") == pytest.approx((34 + 22) / 101)


def test_ap_laws():
    preds, targets = noisy_predictions(11)
    perfect = [{"boxes": t["boxes"], "scores": torch.rand(len(t["labels"])),
                "labels": t["labels"]} for t in targets]
    assert detection_metrics.mean_average_precision(perfect, targets)["map"] == pytest.approx(1.0)
    base = detection_metrics.mean_average_precision(preds, targets)
    # a false positive ranked below every detection leaves AP unchanged
    extra = [dict(p) for p in preds]
    extra[0] = {"boxes": torch.cat([preds[0]["boxes"], torch.tensor([[90.0, 90, 99, 99]])]),
                "scores": torch.cat([preds[0]["scores"], torch.tensor([-1.0])]),
                "labels": torch.cat([preds[0]["labels"], torch.tensor([0])])}
    assert detection_metrics.mean_average_precision(extra, targets)["map"] == pytest.approx(base["map"])
    # image order does not matter
    order = list(reversed(range(len(preds))))
    shuffled = detection_metrics.mean_average_precision([preds[i] for i in order], [targets[i] for i in order])
    assert shuffled["map"] == pytest.approx(base["map"])
    assert all(0 <= v <= 1 for v in base["ap"].values())


def test_match_detections_rules():
    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    preds = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0]])
    # the duplicate (lower score) is a false positive; IoU exactly 0.5 counts as a match
    assert detection_metrics.match_detections(preds[:2], [0.5, 0.9], gt).tolist() == [False, True]
    assert detection_metrics.match_detections(preds[2:], [0.5], gt, 0.5).tolist() == [True]
    assert detection_metrics.match_detections(preds[2:], [0.5], gt, 0.51).tolist() == [False]
    assert detection_metrics.match_detections(torch.zeros(0, 4), torch.zeros(0), gt).shape == (0,)
    assert detection_metrics.match_detections(preds, [1, 2, 3], torch.zeros(0, 4)).tolist() == [False] * 3


def test_ap_errors():
    preds, targets = noisy_predictions(0, 3)
    with pytest.raises(ValueError, match="same length"):
        detection_metrics.mean_average_precision(preds, targets[:2])
    with pytest.raises(ValueError, match="num_gt"):
        detection_metrics.precision_recall(torch.ones(2), torch.ones(2, dtype=torch.bool), 0)
    with pytest.raises(ValueError, match="is_tp"):
        detection_metrics.precision_recall(torch.ones(2), torch.ones(3, dtype=torch.bool), 2)
    with pytest.raises(ValueError, match="method"):
        detection_metrics.average_precision(torch.ones(2), torch.ones(2), "11-point")
    with pytest.raises(ValueError, match="equal length"):
        detection_metrics.average_precision(torch.ones(2), torch.ones(3))
    bad = [dict(preds[0], scores=torch.zeros(len(preds[0]["boxes"]) + 1))] + preds[1:]
    with pytest.raises(ValueError, match=r"preds\[0\]\['scores'\]"):
        detection_metrics.mean_average_precision(bad, targets)
    with pytest.raises(ValueError, match="pred_scores"):
        detection_metrics.match_detections(torch.zeros(2, 4), torch.zeros(3), torch.zeros(1, 4))


# ----------------------------------------------------------------------------- proposal recall
def test_proposal_recall_by_hand():
    gt = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]]), torch.zeros(0, 4)]
    proposals = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [40.0, 40.0, 50.0, 50.0],
                               [21.0, 21.0, 31.0, 31.0]]), torch.tensor([[0.0, 0.0, 5.0, 5.0]])]
    scores = [torch.tensor([0.9, 0.8, 0.1]), torch.tensor([0.5])]
    # top 1 covers the first object, top 2 adds a miss, top 3 covers the second (IoU 81/119)
    recall = detection_metrics.proposal_recall(proposals, scores, gt, ks=[1, 2, 3])
    torch.testing.assert_close(recall, torch.tensor([0.5, 0.5, 1.0]))
    assert detection_metrics.proposal_recall(proposals, scores, gt, ks=[3], iou_threshold=0.7).item() == 0.5
    with pytest.raises(ValueError, match="same length"):
        detection_metrics.proposal_recall(proposals, scores[:1], gt, ks=[1])
    with pytest.raises(ValueError, match="at least one box"):
        detection_metrics.proposal_recall(proposals[1:], scores[1:], gt[1:], ks=[1])


# ----------------------------------------------------------------------------- recall by size
def test_recall_by_size_by_hand():
    gt = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [30.0, 30.0, 54.0, 54.0]])]
    dets = [{"boxes": torch.tensor([[30.0, 30.0, 54.0, 53.0], [1.0, 0.0, 11.0, 10.0],
                                    [0.0, 40.0, 8.0, 48.0]]),
             "scores": torch.tensor([0.9, 0.2, 0.95])}]
    bins = {"small": (0, 14), "large": (14, 65), "huge": (65, 100)}
    confident = detection_metrics.recall_by_size(dets, gt, bins, min_score=0.5)
    assert confident["small"] == {"objects": 1, "recall": 0.0, "min_side": 10.0, "max_side": 10.0}
    assert confident["large"]["recall"] == 1.0 and confident["large"]["objects"] == 1
    assert confident["huge"]["objects"] == 0 and math.isnan(confident["huge"]["recall"])
    assert detection_metrics.recall_by_size(dets, gt, bins, min_score=0.1)["small"]["recall"] == 1.0
    nothing = [{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0)}]
    assert detection_metrics.recall_by_size(nothing, gt, bins)["large"]["recall"] == 0.0
    with pytest.raises(ValueError, match="same length"):
        detection_metrics.recall_by_size(dets * 2, gt, bins)


def test_accuracy_matches_sklearn():
    from sklearn.metrics import accuracy_score

    gen = torch.Generator().manual_seed(0)
    pred, target = torch.randint(0, 4, (200,), generator=gen), torch.randint(0, 4, (200,),
                                                                              generator=gen)
    assert M.accuracy(pred, target) == pytest.approx(accuracy_score(target, pred))
    with pytest.raises(ValueError, match="same shape"):
        M.accuracy(pred, target[:5])
    with pytest.raises(TypeError, match="pred"):
        M.accuracy(pred.float(), target)


def test_accuracy_of_scores_is_the_accuracy_of_their_argmax():
    from sklearn.metrics import accuracy_score

    rng = np.random.default_rng(0)
    logits, targets = rng.normal(size=(50, 4)), rng.integers(0, 4, size=50)
    expected = accuracy_score(targets, logits.argmax(1))
    assert 0.1 < expected < 0.5
    assert M.accuracy(logits, targets) == pytest.approx(expected)
    assert M.accuracy(torch.tensor(logits), torch.tensor(targets)) == pytest.approx(expected)
    maps = rng.normal(size=(2, 3, 5, 4))                  # per-pixel scores (N, H, W, K)
    truth = rng.integers(0, 4, size=(2, 3, 5))
    assert M.accuracy(maps, truth) == pytest.approx(accuracy_score(truth.ravel(), maps.argmax(-1).ravel()))
    with pytest.raises(ValueError, match="scores pred must have shape"):
        M.accuracy(logits[:10], targets)
    with pytest.raises(TypeError, match="target"):
        M.accuracy(torch.zeros(5), torch.zeros(5))


def test_curves_carry_the_ranked_scores():
    preds, targets = noisy_predictions(2)
    result = detection_metrics.mean_average_precision(preds, targets)
    for c, (precision, recall, scores) in result["curves"].items():
        assert len(precision) == len(recall) == len(scores)
        assert torch.all(scores[:-1] >= scores[1:])


@pytest.mark.parametrize("call, match", [
    (lambda p, t: detection_metrics.proposal_recall([torch.zeros(1, 4)], [torch.zeros(1)], [torch.ones(1, 4)],
                                    ks=[0]), "ks"),
    (lambda p, t: detection_metrics.proposal_recall([torch.zeros(1, 4)], [torch.zeros(1)], [torch.ones(1, 4)],
                                    ks=3), "ks"),
    (lambda p, t: detection_metrics.proposal_recall([torch.zeros(1, 4)], [torch.zeros(1)], [torch.ones(1, 4)],
                                    ks=[1], iou_threshold=2), "iou_threshold"),
    (lambda p, t: detection_metrics.mean_average_precision(p, t, iou_threshold=1.5), "iou_threshold"),
    (lambda p, t: detection_metrics.mean_average_precision(p, t, method="voc"), "method"),
    (lambda p, t: detection_metrics.mean_average_precision(p, t, max_detections=0), "max_detections"),
    (lambda p, t: detection_metrics.recall_by_size([], [], {}), "bins"),
    (lambda p, t: detection_metrics.match_detections(torch.zeros(1, 4), [1.0], torch.zeros(1, 4), -0.1),
     "iou_threshold"),
    (lambda p, t: detection_metrics.precision_recall(torch.ones(2, 2), torch.ones(2), 1), "scores"),
    (lambda p, t: M.confusion_matrix(torch.tensor([0, 5]), torch.tensor([0, 1]), 3), "pred"),
    (lambda p, t: M.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 3), "same shape"),
])
def test_metric_argument_errors(call, match):
    preds, targets = noisy_predictions(0, 3)
    with pytest.raises(ValueError, match=match):
        call(preds, targets)


def test_recall_at_1_matches_scikit_learn_neighbours():
    from sklearn.neighbors import NearestNeighbors

    from course_utils.metrics import recall_at_1

    g = torch.Generator().manual_seed(0)
    embeddings, labels = torch.randn(50, 3, generator=g), torch.randint(0, 4, (50,), generator=g)
    _, index = NearestNeighbors(n_neighbors=2).fit(embeddings.numpy()).kneighbors(embeddings.numpy())
    expected = np.mean(labels.numpy()[index[:, 1]] == labels.numpy())
    assert recall_at_1(embeddings, labels) == pytest.approx(expected)
    with pytest.raises(ValueError, match="N >= 2"):
        recall_at_1(embeddings[:1], labels[:1])


def test_cluster_purity_brute_force_and_bounds():
    from course_utils.metrics import cluster_purity

    assignments = np.array([0, 0, 0, 1, 1, 2])
    labels = np.array([5, 5, 1, 1, 1, 0])
    assert cluster_purity(assignments, labels) == pytest.approx((2 + 2 + 1) / 6)
    assert cluster_purity(labels, labels) == 1.0
    assert cluster_purity(np.zeros(6, dtype=int), labels) == pytest.approx(3 / 6)
    with pytest.raises(ValueError, match="assignments and labels"):
        cluster_purity(assignments, labels[:3])
