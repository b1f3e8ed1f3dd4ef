"""Chapter 13 stereo / photometric figures: what each panel shows (arrays, lines, titles), and
the widgets' plain functions."""
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from course_utils.geometry3d import stereo  # noqa: E402
from course_utils.geometry3d import lambertian  # noqa: E402
from course_utils.geometry3d import figures_stereo as demos  # noqa: E402

pytestmark = pytest.mark.chapter("13_3d_vision")


def _pair(h=24, w=48, shift=5, seed=0):
    wide = np.random.default_rng(seed).random((h, w + shift))
    return wide[:, :w], wide[:, shift:], np.full((h, w), float(shift))


def test_show_stereo_geometry_draws_rays_and_both_error_curves():
    depths = np.linspace(1, 10, 50)
    measured = stereo.quantized_depth_error(depths, 500, 0.1)
    predicted = stereo.depth_error(depths, 500, 0.1, 0.5)
    fig = demos.show_stereo_geometry(500, 0.1, 2.0, depths, measured, predicted)
    ax, ax_err = fig.axes
    assert "d = f B / Z = 25.0 px" in ax.get_title()
    rays = [line for line in ax.lines if line.get_color() == "C0"]
    assert len(rays) == 2
    for ray in rays:  # both rays end at the point (B / 2, Z)
        np.testing.assert_allclose(ray.get_xydata()[-1], [0.05, 2.0])
    np.testing.assert_allclose(ax_err.lines[0].get_ydata(), measured)
    np.testing.assert_allclose(ax_err.lines[1].get_ydata(), predicted)
    assert ax_err.get_xscale() == "log" and ax_err.get_yscale() == "log"
    plt.close(fig)


def test_show_stereogram_panels():
    left, right, truth = _pair()
    estimate = truth.copy()
    fig = demos.show_stereogram(left, right, truth, estimate, title="97% exact")
    assert len(fig.axes) == 4
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), right)
    np.testing.assert_array_equal(fig.axes[3].images[0].get_array(), estimate)
    assert fig.axes[3].get_title() == "97% exact"
    plt.close(fig)
    assert len(demos.show_stereogram(left, right, truth).axes) == 3
    plt.close("all")


def test_show_block_matching_shows_the_estimate_and_its_bad_pixel_rate():
    left, right, truth = _pair()
    truth[:, :10] = np.inf  # unknown truth is not scored
    fig = demos.show_block_matching(5, "ssd", left, right, truth, max_disparity=8)
    expected = stereo.block_matching(left, right, 8, 5, "ssd")
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), expected)
    rate = stereo.disparity_errors(expected, truth)["bad_rate"]
    title = fig.axes[1].get_title()
    assert f"{rate:.1%} bad" in title and "SSD, window 5" in title
    shown_truth = np.ma.filled(fig.axes[0].images[0].get_array(), np.nan)
    assert np.isnan(shown_truth[:, :10]).all() and (shown_truth[:, 10:] == 5).all()
    plt.close(fig)
    with pytest.raises(ValueError, match="fixed"):
        demos.show_block_matching(5, "sad")


def test_show_lit_surface_renders_the_light_and_marks_the_shadow():
    ball = lambertian.sphere(32)
    fig = demos.show_lit_surface(0.0, 30.0, ball["normals"], ball["albedo"])
    light = lambertian.light_directions(0.0, 30.0)
    expected = lambertian.render_lambertian(ball["normals"], ball["albedo"], light)[0]
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), expected)
    shadow = np.asarray(fig.axes[2].images[0].get_array())
    facing_away = ball["mask"] & (np.nan_to_num(ball["normals"]) @ light[0] <= 0)
    np.testing.assert_array_equal(shadow, facing_away.astype(float))
    assert facing_away.sum() > 0 and f"{facing_away.sum()} pixels" in fig.axes[2].get_title()
    assert np.all(shadow[:, 16:] == 0)  # light from +x: the shadow is on the left half
    plt.close(fig)
    with pytest.raises(ValueError, match="fixed"):
        demos.show_lit_surface(0.0, 30.0)


def test_show_photometric_and_disparity_maps_panels():
    surface = lambertian.bumps(16)
    lights = lambertian.light_directions([0, 120, 240], 60)
    images = lambertian.render_lambertian(surface["normals"], surface["albedo"], lights)
    error = np.full((16, 16), 0.5)
    fig = demos.show_photometric(images, surface["normals"], surface["albedo"], error,
                                 height=surface["height"])
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 3 + 4
    np.testing.assert_allclose(shown[2].images[0].get_array(), images[2])
    np.testing.assert_allclose(shown[4].images[0].get_array(), surface["albedo"])
    assert "(mean 0.5)" in shown[5].get_title() and "degrees" in shown[5].get_title()
    plt.close(fig)
    truth = np.arange(12.0).reshape(3, 4)
    fig = demos.show_disparity_maps({"a": truth + 1, "b": truth * 0}, truth)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["ground truth", "a", "b"]
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), truth + 1)
    plt.close(fig)
    with pytest.raises(ValueError, match="titles"):
        demos.show_disparity_maps({"a": truth}, truth, titles=["x", "y"])
