"""Chapter 01 demos: widget functions return Figures whose data follows their parameters."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils.filtering import filters as F  # noqa: E402
from course_utils.filtering import measurements  # noqa: E402
from course_utils import load_image  # noqa: E402
from course_utils.data.images import noisy_camera  # noqa: E402
from course_utils.data.patterns import grating  # noqa: E402
from course_utils.filtering import figures as D  # noqa: E402

pytestmark = pytest.mark.chapter("01_convolution")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def panel(fig, i) -> np.ndarray:
    """The image array drawn on the i-th axes of a figure."""
    return np.asarray(fig.axes[i].images[0].get_array(), dtype=float)


def test_show_denoise_follows_sigma_and_size():
    a, b = D.show_denoise(sigma=1.0, size=3), D.show_denoise(sigma=3.0, size=9)
    assert isinstance(a, Figure) and isinstance(b, Figure)
    assert not np.allclose(panel(a, 2), panel(b, 2))  # box size changed
    assert not np.allclose(panel(a, 3), panel(b, 3))  # sigma changed
    clean, noisy = noisy_camera()
    np.testing.assert_allclose(panel(a, 3), F.gaussian_blur(noisy, 1.0))
    # the claim in the notebook: a moderate blur is closer to the clean image than the noise
    assert measurements.rmse(panel(a, 3), clean) < measurements.rmse(noisy, clean)


def test_show_sharpen_follows_amount():
    a, b = D.show_sharpen(amount=0.5), D.show_sharpen(amount=2.0)
    assert isinstance(a, Figure)
    assert not np.allclose(panel(a, 1), panel(b, 1))
    clean, _ = noisy_camera(0.02)
    np.testing.assert_allclose(panel(D.show_sharpen(amount=0.0), 1), clean)


def test_show_edges_follows_threshold():
    low, high = D.show_edges(threshold=0.1), D.show_edges(threshold=0.5)
    assert isinstance(low, Figure)
    assert panel(low, 2).sum() > panel(high, 2).sum() > 0
    np.testing.assert_array_equal(panel(high, 2),
                                  F.edge_map(load_image("coins", gray=True), 1.5, 0.5))


def test_lesson_figures():
    camera = load_image("camera")
    fig = D.show_image_as_function(camera, top=200, left=240, side=8)
    np.testing.assert_array_equal(panel(fig, 0), camera)
    np.testing.assert_array_equal(panel(fig, 1), camera[200:208, 240:248])
    numbers = [float(t.get_text()) for t in fig.axes[1].texts]
    np.testing.assert_allclose(numbers, camera[200:208, 240:248].ravel(), atol=0.005)
    fig = D.show_kernel_row([np.eye(3), -np.eye(3)], ["a", "b"], "row", signed=[False, True])
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "b"
    np.testing.assert_array_equal(panel(fig, 1), -np.eye(3))


@pytest.mark.parametrize("boundary", ["zero", "reflect", "wrap"])
def test_show_padding_plots_the_padded_image_and_its_blur(boundary):
    fig = D.show_padding(boundary=boundary, sigma=2.0)
    camera = load_image("camera")[::2, ::2]
    np.testing.assert_allclose(panel(fig, 0), F.pad_image(camera, [(6, 6), (6, 6)], boundary))
    np.testing.assert_allclose(panel(fig, 1), F.gaussian_blur(camera, 2.0, boundary=boundary))
    band = float(fig.axes[2].get_title().split("border band ")[1].split(",")[0])
    if boundary == "zero":
        assert band > 0.02  # the invented black frame is an edge
    if boundary == "reflect":
        assert band < 0.02  # mirroring invents no edge


def test_show_padding_rejects_unknown_boundary():
    with pytest.raises(ValueError, match="boundary"):
        D.show_padding("mirror")


@pytest.mark.parametrize("angle,frequency", [(0, 0.1), (45, 0.1), (120, 0.15)])
def test_show_gabor_plots_the_kernel_and_peaks_at_its_angle(angle, frequency):
    fig = D.show_gabor(angle=angle, frequency=frequency)
    np.testing.assert_allclose(panel(fig, 0), F.gabor_kernel(frequency, np.deg2rad(angle), sigma=4.0))
    np.testing.assert_allclose(panel(fig, 1), grating(64, frequency, angle))
    line = fig.axes[2].lines[0]
    assert line.get_xdata()[np.argmax(line.get_ydata())] == angle
    assert np.max(line.get_ydata()) == pytest.approx(1.0)


def test_show_separable_scaling_fits_the_exponents():
    rows = [{"kernel": m, "dense": 1e-6 * m ** 2, "separable": 2e-6 * m} for m in (7, 13, 25, 49)]
    fig = D.show_separable_scaling(rows)
    dense, separable = fig.axes[0].lines[:2]
    np.testing.assert_allclose(dense.get_ydata(), [1e-3 * m ** 2 for m in (7, 13, 25, 49)])
    assert "m^2.0" in dense.get_label() and "m^1.0" in separable.get_label()


def test_show_template_matching_draws_the_maps_and_boxes():
    camera = load_image("camera")
    match = measurements.template_matching(camera, 100, 230, 40, 40)
    fig = D.show_template_matching(camera, match)
    np.testing.assert_array_equal(panel(fig, 3), match["ncc"])
    np.testing.assert_array_equal(panel(fig, 2), match["raw"])
    corners = sorted(p.get_xy() for p in fig.axes[0].patches)
    assert corners == sorted([(230, 100), match["raw_best"][::-1]])


@pytest.mark.parametrize("call,error,match", [
    (lambda: D.show_edges(image_name="lena"), ValueError, "image_name"),
    (lambda: D.show_image_as_function(np.ones(5)), ValueError, "image must have 2"),
    (lambda: D.show_image_as_function(np.ones((8, 8)), top=4, left=0, side=8), ValueError,
     "does not fit"),
    (lambda: D.show_kernel_row(np.eye(3), ["a"]), TypeError, "images must be"),
    (lambda: D.show_kernel_row([np.eye(3)], ["a", "b"]), ValueError, "titles must be"),
    (lambda: D.show_kernel_row([np.eye(3)], ["a"], signed=[True, False]), ValueError, "signed"),
    (lambda: D.show_gabor(angle="up"), TypeError, "angle"),
    (lambda: D.show_gabor(sigma=12.0), ValueError, "sigma"),
    (lambda: D.show_gabor(frequency=0.9), ValueError, "frequency"),
    (lambda: D.show_padding(sigma=0), ValueError, "sigma"),
    (lambda: D.show_separable_scaling([{"kernel": 3}]), TypeError, "sep_rows"),
    (lambda: D.show_template_matching(np.ones((8, 8)), {"raw": 1}), TypeError, "match must be"),
    (lambda: D.show_denoise(size=0), ValueError, "size"),
    (lambda: D.show_sharpen(amount=-1), ValueError, "amount"),
])
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
