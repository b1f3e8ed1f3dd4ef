"""The chapter-06 figures: each show_* returns a Figure that shows what it claims."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import rgb_to_hsv  # noqa: E402

from course_utils.metrics import endpoint_error  # noqa: E402
from course_utils.motion import figures as demos  # noqa: E402
from course_utils.motion import flow, flow_pairs  # noqa: E402

pytestmark = pytest.mark.chapter("06_tracking")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _images(fig) -> list[np.ndarray]:
    return [np.asarray(im.get_array()) for ax in fig.axes for im in ax.get_images()]


def _titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes]


def test_flow_to_rgb_encodes_direction_as_hue_and_length_as_saturation():
    field = np.zeros((2, 1, 5))
    field[:, 0, 0] = (0, 2)        # right
    field[:, 0, 1] = (-2, 0)       # up (rows decrease)
    field[:, 0, 2] = (0, -2)       # left
    field[:, 0, 3] = (0, 1)        # right, half as long
    rgb = demos.flow_to_rgb(field)
    hsv = rgb_to_hsv(rgb[0])
    np.testing.assert_allclose(hsv[:3, 0], [0.0, 0.25, 0.5], atol=1e-12)    # counter-clockwise
    np.testing.assert_allclose(hsv[[0, 3, 4], 1], [1.0, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(rgb[0, 4], [1, 1, 1])                         # still: white
    np.testing.assert_allclose(rgb[0, 0], [1, 0, 0])                         # right: red
    with pytest.raises(ValueError, match=r"flow must be \(2, H, W\)"):
        demos.flow_to_rgb(np.zeros((3, 4, 4)))


def test_colour_wheel_is_the_key_of_flow_to_rgb():
    wheel = demos.colour_wheel(33)
    np.testing.assert_allclose(wheel[16, 16], [1, 1, 1])
    np.testing.assert_allclose(wheel[16, 32], [1, 0, 0])                     # right edge: red
    np.testing.assert_allclose(wheel[0, 0], [1, 1, 1])                       # outside the disc


def test_show_flow_draws_frames_arrows_and_colours():
    pair = flow_pairs.textured_pair(24, "rotation", 2.0, seed=0)
    fig = demos.show_flow(pair["frame0"], pair["frame1"], pair["flow"], step=6)
    images = _images(fig)
    np.testing.assert_allclose(images[0], pair["frame0"])
    np.testing.assert_allclose(images[2], demos.flow_to_rgb(pair["flow"]))
    quiver = fig.axes[0].collections[0]
    np.testing.assert_allclose(quiver.U, pair["flow"][1, 3::6, 3::6].ravel())
    np.testing.assert_allclose(quiver.V, pair["flow"][0, 3::6, 3::6].ravel())
    assert "max 2.0 px" in _titles(fig)[2]


def test_show_flow_estimates_titles_carry_the_epe():
    truth = np.ones((2, 8, 8))
    fig = demos.show_flow_estimates(truth, {"zero": np.zeros((2, 8, 8)), "exact": truth.copy()})
    titles = _titles(fig)
    assert titles[0] == "true flow"
    assert "EPE 1.41 px" in titles[1] and "EPE 0.00 px" in titles[2]


def test_show_lucas_kanade_reports_the_epe_of_flow_lucas_kanade():
    pair = flow_pairs.textured_pair(32, "translation", 2.0, seed=1)
    fig = demos.show_lucas_kanade(pair["frame0"], pair["frame1"], pair["flow"], window=9, levels=2)
    expected = endpoint_error(flow.lucas_kanade(pair["frame0"], pair["frame1"], window=9, levels=2),
                                   pair["flow"])
    assert fig._suptitle.get_text() == f"mean EPE {expected:.3f} px"
    assert "window 9, 2 level(s)" in _titles(fig)[1]
    other = demos.show_lucas_kanade(pair["frame0"], pair["frame1"], pair["flow"], window=3, levels=1)
    assert other._suptitle.get_text() != fig._suptitle.get_text()


def test_show_epe_curves_and_training_curves_plot_the_numbers():
    fig = demos.show_epe_curves([1, 2, 3], {"a": [0.1, 0.2, 0.4]}, "shift")
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [0.1, 0.2, 0.4])
    fig = demos.show_training_curves({"loss": [4.0, 2.0, 0.0, 2.0]}, smooth=2)
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [3.0, 1.0, 1.0])


def test_show_aperture_draws_the_eigenvalue_ratio():
    bar = flow_pairs.moving_bar(32, motion=(0.5, 0.5))
    eigen = flow.structure_tensor_eigenvalues(bar["frame0"], 5)
    fig = demos.show_aperture(bar["frame0"], eigen, {"side": (0.0, 0.5)}, {"side": (16, 10)}, (0.5, 0.5))
    ratio = _images(fig)[1]
    np.testing.assert_allclose(ratio, eigen[1] / (eigen[0] + 1e-12))
    assert len(fig.axes[0].texts) == 3          # two arrows and the label


def test_show_colorization_titles_the_scores():
    grey = np.zeros((4, 4))
    fig = demos.show_colorization(grey, {"a": np.zeros((4, 4, 3))}, {"a": 12.3})
    assert _titles(fig)[1] == "a\ncolourfulness 12"


def test_show_attention_copy_shows_one_pixels_attention_summing_to_one():
    gen = torch.Generator().manual_seed(0)
    emb0, emb1 = torch.randn(4, 6, 6, generator=gen), torch.randn(4, 6, 6, generator=gen)
    rgb = np.random.default_rng(0).uniform(0, 1, (6, 6, 3))
    fig = demos.show_attention_copy(rgb, rgb, emb0, emb1, temperature=0.5, pixel=(2, 3))
    weights = _images(fig)[3]
    assert weights.sum() == pytest.approx(1.0, abs=1e-5)
    expected = torch.softmax(emb1[:, 2, 3] @ emb0.flatten(1) / 0.5, dim=0).reshape(6, 6)
    np.testing.assert_allclose(weights, expected.numpy(), atol=1e-6)


def test_show_propagation_plots_the_ious_and_marks_the_frame():
    labels = torch.zeros(3, 5, 5, dtype=torch.int64)
    labels[:, 1:3, 1:3] = 1
    probs = torch.nn.functional.one_hot(labels, 2).permute(0, 3, 1, 2).float()
    rgb = np.zeros((3, 5, 5, 3))
    fig = demos.show_propagation(rgb, probs, labels, frame=2, label=1,
                                 ious={"propagated": [1.0, 0.8, 0.6], "copied": [1.0, 0.5, 0.2]})
    lines = fig.axes[3].get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), [1.0, 0.8, 0.6])
    np.testing.assert_allclose(lines[2].get_xdata(), [2, 2])            # the frame marker
    assert _titles(fig)[0] == "frame 2"
