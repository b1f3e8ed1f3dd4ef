"""Chapter 04 detection figures and widget functions: each returns a Figure and its numbers."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils.recognition import detection_metrics  # noqa: E402
from course_utils.recognition import anchors as A, boxes as B, focal as L  # noqa: E402
from course_utils.recognition import nms as N, one_stage as M  # noqa: E402
from course_utils.data.shapes import make_dataset  # noqa: E402
from course_utils.recognition import figures_detection as demos  # noqa: E402

pytestmark = pytest.mark.chapter("04_object_recognition")


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
    expected = B.box_iou([[10, 10, 26, 26]], [[14, 14, 30, 30]]).item()
    assert f"{expected:.3f}" in fig.axes[0].get_title()
    assert len(fig.axes[0].patches) == 3         # two boxes and the shaded intersection
    _close(fig)
    apart = demos.show_iou(shift=40)             # disjoint boxes: IoU 0, nothing shaded
    assert "0.000" in apart.axes[0].get_title() and len(apart.axes[0].patches) == 2
    _close(apart)




def test_anchor_config_and_show_anchors(scenes):
    scales, ratios = demos.anchor_config(10, 3, 2.0)
    assert scales == (10.0, 15.0, 22.5) and ratios == (0.5, 1.0, 2.0)
    assert demos.anchor_config(10, 1, 1.0) == ((10.0,), (1.0,))
    fig = demos.show_anchors(scenes["images"][0], scenes["boxes"], min_scale=12, num_scales=2,
                             max_ratio=2.0, row=2, col=5)
    ax = fig.axes[0]
    assert "6 anchors per cell" in ax.get_title()
    best = A.best_iou_per_object(A.make_anchors(8, 8, (12.0, 18.0), (0.5, 1.0, 2.0)),
                                     scenes["boxes"])
    assert f"{(best >= 0.5).float().mean():.0%}" in ax.get_title()
    # 6 anchors + the dashed ground-truth boxes of image 0
    assert len(ax.patches) == 6 + len(scenes["boxes"][0])
    _close(fig)


def test_show_sliding_windows_and_scenes(scenes):
    windows = A.sliding_windows(64, (16,), 16)
    fig = demos.show_sliding_windows(scenes["images"][0], scenes["boxes"][0], windows)
    assert fig.axes[0].get_title() == f"{len(windows)} windows"
    assert len(fig.axes[0].patches) == len(windows)
    # right panel: ground truth plus the best window per object, each labelled with its IoU
    best = B.box_iou(windows, scenes["boxes"][0]).max(dim=0).values
    assert len(fig.axes[1].patches) == 2 * len(scenes["boxes"][0])
    assert [t.get_text() for t in fig.axes[1].texts] == [f"IoU {v:.2f}" for v in best]
    _close(fig)
    fig = demos.show_scenes(scenes["images"], scenes["boxes"], scenes["labels"], n=5, cols=3)
    for i, (ax, boxes, labels) in enumerate(zip(fig.axes, scenes["boxes"][:5], scenes["labels"])):
        np.testing.assert_allclose(ax.images[0].get_array(),
                                   scenes["images"][i].permute(1, 2, 0).numpy(), atol=1e-6)
        assert len(ax.patches) == len(boxes)
        assert [t.get_text() for t in ax.texts] == [demos.CLASSES[int(l)] for l in labels]
    _close(fig)


def test_refinement_gain_and_figures(scenes, raw):
    anchors, boxes, scores = raw
    before, after = M.refinement_gain(anchors, boxes, scores, scenes["boxes"], min_score=0.0)
    assert len(before) == len(after) == len(scenes["boxes"]) * len(anchors)
    assert torch.all((before >= 0) & (before <= 1))
    empty = M.refinement_gain(anchors, boxes, scores, scenes["boxes"], min_score=2.0)
    assert empty[0].numel() == 0
    fig = demos.show_refinement(scenes["images"][0], anchors, boxes[0], scores[0],
                                scenes["boxes"][0], k=3, min_score=0.0)
    best = scores[0].max(dim=1).values
    top = torch.tensor([i for i in N.nms(boxes[0], best, 0.3).tolist()][:3])
    for ax, chosen in zip(fig.axes, (anchors[top], boxes[0][top])):
        iou = B.box_iou(chosen, scenes["boxes"][0]).max(dim=1).values.mean()
        assert ax.get_title().endswith(f"{iou:.2f}")
        assert len(ax.patches) == len(scenes["boxes"][0]) + 3
    _close(fig)
    objectness = scores[0].max(dim=1).values
    fig = demos.show_objectness(scenes["images"][0], objectness, boxes[0], scenes["boxes"][0], k=4)
    heat = fig.axes[1].images[0].get_array()
    torch.testing.assert_close(torch.as_tensor(heat.data).float(),
                               objectness.reshape(8, 8, -1).max(dim=2).values)
    proposals_ax = next(ax for ax in fig.axes if ax.get_title().startswith("top 4"))
    assert len(proposals_ax.patches) == 4
    _close(fig)
    fig = demos.show_proposal_recall([1, 5], {"a": [0.2, 0.5]})
    assert fig.axes[0].lines[0].get_ydata().tolist() == [0.2, 0.5]
    _close(fig)
    fig = demos.show_training({"loss": [3.0, 2.0, 1.0] * 10, "cls": [1.0] * 30}, window=3)
    assert fig.axes[0].lines[0].get_ydata() == pytest.approx([2.0] * 28)   # moving average
    _close(fig)


@pytest.mark.parametrize("iou_threshold, score_threshold", [(0.5, 0.005), (0.2, 0.0), (0.9, 0.5)])
def test_show_nms_counts(scenes, raw, iou_threshold, score_threshold):
    _, boxes, scores = raw
    fig = demos.show_nms(scenes["images"][1], boxes[1], scores[1], iou_threshold,
                         score_threshold, gt_boxes=scenes["boxes"][1])
    idx, labels = torch.nonzero(scores[1] > score_threshold, as_tuple=True)
    kept = N.batched_nms(boxes[1][idx], scores[1][idx, labels], labels, iou_threshold)
    assert fig.axes[0].get_title().startswith(f"{len(idx)} boxes")
    assert fig.axes[1].get_title().startswith(f"{len(kept)} kept")
    _close(fig)


def test_pr_curves_detections_and_breakdown(scenes, raw):
    anchors, boxes, scores = raw
    detections = [M.postprocess(b, s, 0.001, 0.5) for b, s in zip(boxes, scores)]
    targets = [{"boxes": b, "labels": l} for b, l in zip(scenes["boxes"], scenes["labels"])]
    result = detection_metrics.mean_average_precision(detections, targets)
    fig = demos.show_pr_curves({"a": result, "b": result})
    assert len(fig.axes) == 2 and f"{result['map']:.3f}" in fig.axes[0].get_title()
    _close(fig)
    fig = demos.show_detections(scenes["images"], detections, scenes["boxes"], n=3,
                                min_score=0.01)
    for ax, det, gt in zip(fig.axes[:3], detections, scenes["boxes"]):
        assert len(ax.patches) == len(gt) + int((det["scores"] >= 0.01).sum())
    _close(fig)
    labels, _ = M.build_targets(anchors, scenes["boxes"], scenes["labels"])
    logits = torch.logit(scores.clamp(1e-6, 1 - 1e-6))
    breakdown = L.loss_by_group(logits, labels)
    fig = demos.show_pr_threshold(result, score_threshold=0.5)
    for c, line in zip(result["curves"], [l for l in fig.axes[0].lines if l.get_marker() == "o"]):
        precision, recall, ranked = result["curves"][c]
        kept = int((ranked >= 0.5).sum())
        expected = (float(recall[kept - 1]), float(precision[kept - 1])) if kept else (0.0, 1.0)
        assert (line.get_xdata()[0], line.get_ydata()[0]) == pytest.approx(expected)
    _close(fig)
    assert sum(breakdown["count"].values()) == (labels >= 0).sum().item() * 3
    fig = demos.show_loss_breakdown(breakdown)
    heights = [bar.get_height() for bar in fig.axes[1].patches]
    assert sum(heights) == pytest.approx(2.0)          # shares of each loss sum to one
    _close(fig)






def test_draw_boxes_rejects_bad_boxes():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="boxes"):
        demos.draw_boxes(ax, torch.tensor([[5.0, 0.0, 1.0, 1.0]]))
    plt.close(fig)





@pytest.mark.parametrize("gamma", [0.0, 2.0, 5.0])
def test_show_focal_loss_plots_the_loss_and_the_shares(raw, scenes, gamma):
    anchors, boxes, scores = raw
    labels, _ = M.build_targets(anchors, scenes["boxes"], scenes["labels"])
    logits = torch.logit(scores.clamp(1e-6, 1 - 1e-6))
    fig = demos.show_focal_loss(gamma, logits, labels)
    ce, focal = fig.axes[0].lines[:2]
    p_t = torch.as_tensor(ce.get_xdata())
    torch.testing.assert_close(torch.as_tensor(ce.get_ydata()), -torch.log(p_t))
    torch.testing.assert_close(torch.as_tensor(focal.get_ydata()),
                               -(1 - p_t) ** gamma * torch.log(p_t))
    assert f"{0.1 ** gamma:.3g}" in fig.axes[0].get_title()
    shares = [bar.get_height() for bar in fig.axes[1].patches]
    breakdown = L.loss_by_group(logits, labels, gamma=gamma, alpha=None)
    total = sum(breakdown["focal"].values())
    assert shares == pytest.approx([v / total for v in breakdown["focal"].values()])
    _close(fig)
