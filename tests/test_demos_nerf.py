"""Chapter 13 NeRF figures: what each panel shows."""
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from course_utils.geometry3d import nerf, rays  # noqa: E402
from course_utils.geometry3d import scene3d  # noqa: E402
from course_utils.geometry3d import figures_nerf as demos  # noqa: E402
from course_utils.metrics import psnr  # noqa: E402

pytestmark = pytest.mark.chapter("13_3d_vision")


def _field(seed=0):
    torch.manual_seed(seed)
    return nerf.TinyNeRF(n_freqs=2, width=16)


def test_comparison_grid_holds_every_view():
    rows = {"exact": [np.full((4, 4, 3), 0.2), np.full((4, 4, 3), 0.4)],
            "model": [np.full((4, 4, 3), 0.6), np.full((4, 4, 3), 0.8)]}
    fig = demos.show_comparison(rows, ["v1", "v2"])
    shown = [ax.images[0].get_array()[0, 0, 0] for ax in fig.axes]
    np.testing.assert_allclose(shown, [0.2, 0.4, 0.6, 0.8])
    assert fig.axes[2].get_title() == "model\nv1"
    plt.close(fig)


def test_ray_figure_plots_the_rendering_weights_and_the_true_depth():
    field = _field()
    fig = demos.show_ray(field, 15.0, 22.0, 8, row=4, col=4, n_samples=32)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    origins, directions = rays.camera_rays(15.0, 22.0, 8)
    o, d = origins[36:37], directions[36:37]
    near, far, _ = rays.sphere_bounds(o, d, nerf.BOUND)
    depths, deltas = nerf.sample_along_rays(near, far, 32)
    with torch.no_grad():
        sigmas, colors = field(o[:, None] + depths[..., None] * d[:, None])
        _, weights = nerf.volume_render(sigmas, colors, deltas)
    np.testing.assert_allclose(lines["weight w = T alpha"].get_ydata(), weights[0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(lines["true surface"].get_xdata()[0], scene3d.trace(o, d)[1].item(), rtol=1e-6)
    assert f"{weights.sum().item():.3f}" in ax.get_title()
    plt.close(fig)


def test_novel_view_shows_the_render_the_truth_and_the_psnr():
    field = _field(1)
    fig = demos.show_novel_view(40.0, 10.0, field, size=8)
    rendered = nerf.render_view(field, 40.0, 10.0, 8).clamp(0, 1).numpy()
    truth = scene3d.render(40.0, 10.0, 8).numpy()
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), rendered, rtol=1e-6)
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), truth, rtol=1e-6)
    assert f"{psnr(truth, rendered):.1f} dB" in fig.axes[0].get_title()
    plt.close(fig)
