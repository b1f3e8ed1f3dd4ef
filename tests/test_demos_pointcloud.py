"""Chapter 13 PointNet figures: what each panel shows."""
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from course_utils.geometry3d import pointcloud  # noqa: E402
from course_utils.geometry3d import figures_pointcloud as demos  # noqa: E402

pytestmark = pytest.mark.chapter("13_3d_vision")


def _points(collection) -> np.ndarray:
    return np.stack([np.asarray(v, dtype=float) for v in collection._offsets3d], axis=1)


def test_clouds_are_scattered_one_per_panel():
    clouds = torch.rand(2, 10, 3)
    fig = demos.show_clouds(clouds, ["a", "b"])
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    for ax, cloud in zip(fig.axes, clouds):
        np.testing.assert_allclose(_points(ax.collections[0]), cloud.numpy(), rtol=1e-6)
    plt.close(fig)
    with pytest.raises(ValueError, match="titles"):
        demos.show_clouds(clouds, ["a"])


def test_critical_points_are_drawn_in_red_with_their_count():
    torch.manual_seed(0)
    net = pointcloud.PointNet(width=8)
    clouds = torch.randn(2, 30, 3)
    mask = pointcloud.critical_points(net, clouds)
    fig = demos.show_critical_points(clouds, mask, ["x", "y"])
    for ax, cloud, keep in zip(fig.axes, clouds, mask):
        grey, red = ax.collections
        np.testing.assert_allclose(_points(red), cloud[keep].numpy(), rtol=1e-6)
        np.testing.assert_allclose(_points(grey), cloud[~keep].numpy(), rtol=1e-6)
        assert ax.get_title().endswith(f"{int(keep.sum())} of 30")
    plt.close(fig)


def test_points_kept_widget_shows_the_subset_its_prediction_and_the_curves():
    torch.manual_seed(1)
    net = pointcloud.PointNet(num_classes=3, width=8)
    cloud = torch.randn(40, 3)
    curves = {"random": [0.2, 0.5], "critical": [0.6, 0.9]}
    fig = demos.show_points_kept(5, net, cloud, "b", ["a", "b", "c"], curves, [4, 16])
    ax3d, ax = fig.axes
    subset = pointcloud.keep_points(cloud[None], 5, "critical", net)[0]
    np.testing.assert_allclose(_points(ax3d.collections[1]), subset.numpy(), rtol=1e-6)
    with torch.no_grad():
        guess = ["a", "b", "c"][int(net(subset[None]).argmax())]
    assert f"'{guess}'" in ax3d.get_title() and "5 points kept" in ax3d.get_title()
    lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    np.testing.assert_allclose(lines["random"], curves["random"])
    np.testing.assert_allclose(lines["critical"], curves["critical"])
    plt.close(fig)
