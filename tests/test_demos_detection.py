"""Chapter 04 detection figures and widget functions: each returns a Figure and its numbers."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils import detection as D, detector as M  # noqa: E402
from course_utils.data.shapes import make_dataset  # noqa: E402
from course_utils.demos import detection as demos  # noqa: E402


@pytest.fixture(scope="module")
def scenes():
    return make_dataset(6, seed=3)


@pytest.fixture(scope="module")
def raw(scenes):
    torch.manual_seed(0)
    model = M.TinyDetector()
    boxes, scores = M.raw_detections(model, scenes["images"])
    return model.anchors, boxes, scores


def _close(fig):
    assert isinstance(fig, Figure)
    plt.close(fig)


def test_show_iou_title_matches_box_iou():
    fig = demos.show_iou(shift=4, size=16, scale=1.0)
    expected = D.box_iou([[10, 10, 26, 26]], [[14, 14, 30, 30]]).item()
    assert f"{expected:.3f}" in fig.axes[0].get_title()
    assert len(fig.axes[0].patches) == 3         # two boxes and the shaded intersection
    _close(fig)
    apart = demos.show_iou(shift=40)             # disjoint boxes: IoU 0, nothing shaded
    assert "0.000" in apart.axes[0].get_title() and len(apart.axes[0].patches) == 2
    _close(apart)


def test_best_iou_per_object_against_brute_force(scenes):
    windows = D.sliding_windows(64, (12, 20), 8)
    best = demos.best_iou_per_object(windows, scenes["boxes"])
    expected = [max(D.box_iou(w[None], g[None]).item() for w in windows)
                for boxes in scenes["boxes"] for g in boxes]
    torch.testing.assert_close(best, torch.tensor(expected))


def test_anchor_config_and_show_anchors(scenes):
    scales, ratios = demos.anchor_config(10, 3, 2.0)
    assert scales == (10.0, 15.0, 22.5) and ratios == (0.5, 1.0, 2.0)
    assert demos.anchor_config(10, 1, 1.0) == ((10.0,), (1.0,))
    fig = demos.show_anchors(scenes["images"][0], scenes["boxes"], min_scale=12, num_scales=2,
                             max_ratio=2.0, row=2, col=5)
    ax = fig.axes[0]
    assert "6 anchors per cell" in ax.get_title()
    best = demos.best_iou_per_object(D.make_anchors(8, 8, (12.0, 18.0), (0.5, 1.0, 2.0)),
                                     scenes["boxes"])
    assert f"{(best >= 0.5).float().mean():.0%}" in ax.get_title()
    # 6 anchors + the dashed ground-truth boxes of image 0
    assert len(ax.patches) == 6 + len(scenes["boxes"][0])
    _close(fig)


def test_show_sliding_windows_and_scenes(scenes):
    windows = D.sliding_windows(64, (16,), 16)
    fig = demos.show_sliding_windows(scenes["images"][0], scenes["boxes"][0], windows)
    assert fig.axes[0].get_title() == f"{len(windows)} windows"
    _close(fig)
    _close(demos.show_scenes(scenes["images"], scenes["boxes"], scenes["labels"], n=5, cols=3))


def test_refinement_gain_and_figures(scenes, raw):
    anchors, boxes, scores = raw
    before, after = demos.refinement_gain(anchors, boxes, scores, scenes["boxes"], min_score=0.0)
    assert len(before) == len(after) == len(scenes["boxes"]) * len(anchors)
    assert torch.all((before >= 0) & (before <= 1))
    empty = demos.refinement_gain(anchors, boxes, scores, scenes["boxes"], min_score=2.0)
    assert empty[0].numel() == 0
    _close(demos.show_refinement(scenes["images"][0], anchors, boxes[0], scores[0],
                                 scenes["boxes"][0], min_score=0.0))
    _close(demos.show_objectness(scenes["images"][0], scores[0], boxes[0], scenes["boxes"][0]))
    _close(demos.show_proposal_recall([1, 5], {"a": [0.2, 0.5]}))
    _close(demos.show_training({"loss": [3.0, 2.0, 1.0] * 10, "cls": [1.0] * 30}, window=5))


@pytest.mark.parametrize("iou_threshold, score_threshold", [(0.5, 0.005), (0.2, 0.0), (0.9, 0.5)])
def test_show_nms_counts(scenes, raw, iou_threshold, score_threshold):
    _, boxes, scores = raw
    fig = demos.show_nms(scenes["images"][1], boxes[1], scores[1], iou_threshold,
                         score_threshold, gt_boxes=scenes["boxes"][1])
    idx, labels = torch.nonzero(scores[1] > score_threshold, as_tuple=True)
    kept = D.batched_nms(boxes[1][idx], scores[1][idx, labels], labels, iou_threshold)
    assert fig.axes[0].get_title().startswith(f"{len(idx)} boxes")
    assert fig.axes[1].get_title().startswith(f"{len(kept)} kept")
    _close(fig)


def test_pr_curves_detections_and_breakdown(scenes, raw):
    anchors, boxes, scores = raw
    detections = [M.postprocess(b, s, 0.001, 0.5) for b, s in zip(boxes, scores)]
    targets = [{"boxes": b, "labels": l} for b, l in zip(scenes["boxes"], scenes["labels"])]
    result = D.mean_average_precision(detections, targets)
    fig = demos.show_pr_curves({"a": result, "b": result})
    assert len(fig.axes) == 2 and f"{result['map']:.3f}" in fig.axes[0].get_title()
    _close(fig)
    _close(demos.show_detections(scenes["images"], detections, scenes["boxes"], n=3,
                                 min_score=0.0))
    labels, _ = M.build_targets(anchors, scenes["boxes"], scenes["labels"])
    logits = torch.logit(scores.clamp(1e-6, 1 - 1e-6))
    breakdown = M.loss_by_group(logits, labels)
    assert sum(breakdown["count"].values()) == (labels >= 0).sum().item() * 3
    fig = demos.show_loss_breakdown(breakdown)
    heights = [bar.get_height() for bar in fig.axes[1].patches]
    assert sum(heights) == pytest.approx(2.0)          # shares of each loss sum to one
    _close(fig)


def test_loss_by_group_matches_focal_loss():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 20, 3, generator=gen) * 3
    labels = torch.randint(-1, 4, (2, 20), generator=gen)
    out = M.loss_by_group(logits, labels, easy=0.1)
    valid = labels >= 0
    onehot = torch.nn.functional.one_hot(labels.clamp(min=0), 4)[..., 1:].float()[valid]
    total_focal = D.sigmoid_focal_loss(logits[valid], onehot).sum().item()
    assert sum(out["focal"].values()) == pytest.approx(total_focal, rel=1e-5)
    with pytest.raises(ValueError, match="target_labels"):
        M.loss_by_group(logits, labels[:, :5])


def test_nms_speed_table_rows():
    rows = demos.nms_speed_table(n_boxes=200, repeat=1)
    assert [r["implementation"].split()[0] for r in rows] == ["python", "vectorized",
                                                              "torchvision.ops.nms"]
    assert len({r["kept"] for r in rows}) == 1 and all(r["ms"] > 0 for r in rows)


def test_draw_boxes_rejects_bad_boxes():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="boxes"):
        demos.draw_boxes(ax, torch.tensor([[5.0, 0.0, 1.0, 1.0]]))
    plt.close(fig)


def test_recall_by_size_by_hand():
    gt = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [30.0, 30.0, 54.0, 54.0]])]
    dets = [{"boxes": torch.tensor([[30.0, 30.0, 54.0, 53.0], [1.0, 0.0, 11.0, 10.0],
                                    [0.0, 40.0, 8.0, 48.0]]),
             "scores": torch.tensor([0.9, 0.2, 0.95])}]
    bins = {"small": (0, 14), "large": (14, 65), "huge": (65, 100)}
    confident = demos.recall_by_size(dets, gt, bins, min_score=0.5)
    assert confident["small"] == {"objects": 1, "recall": 0.0, "min_side": 10.0, "max_side": 10.0}
    assert confident["large"]["recall"] == 1.0 and confident["large"]["objects"] == 1
    assert confident["huge"]["objects"] == 0 and math.isnan(confident["huge"]["recall"])
    assert demos.recall_by_size(dets, gt, bins, min_score=0.1)["small"]["recall"] == 1.0
    nothing = [{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0)}]
    assert demos.recall_by_size(nothing, gt, bins)["large"]["recall"] == 0.0
    with pytest.raises(ValueError, match="same length"):
        demos.recall_by_size(dets * 2, gt, bins)


def test_recall_by_size_against_brute_force(scenes, raw):
    _, boxes, scores = raw
    dets = [M.postprocess(b, s, score_threshold=0.01) for b, s in zip(boxes, scores)]
    bins = {"small": (0, 16), "large": (16, 65)}
    all_scores = torch.cat([d["scores"] for d in dets])
    for min_score in all_scores.quantile(torch.tensor([0.0, 0.5, 0.9])).tolist():
        result = demos.recall_by_size(dets, scenes["boxes"], bins, min_score)
        for name, (low, high) in bins.items():
            found = []
            for d, g in zip(dets, scenes["boxes"]):
                keep = d["boxes"][d["scores"] >= min_score]
                for box in g:
                    side = float((box[2:] - box[:2]).max())
                    if low <= side < high:
                        found.append(any(D.box_iou(k[None], box[None]).item() >= 0.5 for k in keep))
            assert result[name]["objects"] == len(found)
            assert result[name]["recall"] == pytest.approx(sum(found) / len(found))
