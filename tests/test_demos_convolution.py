"""Chapter 01 demos: widget functions return Figures whose data follows their parameters."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils import filters as F  # noqa: E402
from course_utils import load_image  # noqa: E402
from course_utils.demos import convolution as D  # noqa: E402


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
    clean, noisy = D.noisy_camera()
    np.testing.assert_allclose(panel(a, 3), F.gaussian_blur(noisy, 1.0))
    # the claim in the notebook: a moderate blur is closer to the clean image than the noise
    assert D.rmse(panel(a, 3), clean) < D.rmse(noisy, clean)


def test_show_sharpen_follows_amount():
    a, b = D.show_sharpen(amount=0.5), D.show_sharpen(amount=2.0)
    assert isinstance(a, Figure)
    assert not np.allclose(panel(a, 1), panel(b, 1))
    clean, _ = D.noisy_camera(0.02)
    np.testing.assert_allclose(panel(D.show_sharpen(amount=0.0), 1), clean)


def test_show_edges_follows_threshold():
    low, high = D.show_edges(threshold=0.1), D.show_edges(threshold=0.5)
    assert isinstance(low, Figure)
    assert panel(low, 2).sum() > panel(high, 2).sum() > 0
    np.testing.assert_array_equal(panel(high, 2),
                                  F.edge_map(load_image("coins", gray=True), 1.5, 0.5))


@pytest.mark.parametrize("amount", [0.0, 1.0, 3.0])
def test_sharpen_noise_gain_matches_measured_noise(amount):
    noise = np.random.default_rng(1).standard_normal((256, 256))
    measured = F.sharpen(noise, amount, 1.0, boundary="wrap").std() / noise.std()
    assert D.sharpen_noise_gain(amount, 1.0) == pytest.approx(measured, rel=0.03)
    assert D.sharpen_noise_gain(1.0) > 1.5


def test_template_matching_raw_fails_ncc_finds_patch():
    result = D.template_matching(load_image("camera"), 100, 230, 40, 40)
    assert result["ncc_best"] == result["truth"] == (100, 230)
    assert np.hypot(*np.subtract(result["raw_best"], result["truth"])) > 50
    assert result["raw"].shape == result["ncc"].shape == (512 - 39, 512 - 39)


def test_rotation_is_linear_but_not_a_convolution():
    r = D.rotation_is_not_convolution()
    assert r["linearity"] < 1e-12
    assert r["blur_shift_equivariance"] < 1e-12
    assert r["shift_equivariance"] > 0.5
    assert r["blur_fit"] < 1e-8  # a true convolution is recovered exactly by least squares
    assert r["rotation_fit"] > 0.9  # the best kernel explains almost nothing of a rotation


def test_patterns():
    imp = D.impulse_image(9, [(2, 3), (7, 7)])
    assert imp.sum() == 2 and imp[2, 3] == imp[7, 7] == 1
    step = D.step_image(8, column=5)
    np.testing.assert_array_equal(step[:, :5], 0)
    np.testing.assert_array_equal(step[:, 5:], 1)
    g = D.grating(40, frequency=0.1, theta=np.pi / 2)
    np.testing.assert_allclose(g[:, 0], 0.5 + 0.5 * np.cos(2 * np.pi * 0.1 * np.arange(40)),
                               atol=1e-12)
    np.testing.assert_allclose(g, g[:, :1] * np.ones((1, 40)), atol=1e-12)  # constant along x
    clean, noisy = D.noisy_camera(0.1, seed=3, size=128)
    assert clean.shape == (128, 128)
    assert abs((noisy - clean).std() - 0.1) < 0.005
    np.testing.assert_array_equal(noisy, D.noisy_camera(0.1, seed=3, size=128)[1])


def test_lesson_figures():
    camera = load_image("camera")
    assert isinstance(D.show_image_as_function(camera), Figure)
    fig = D.show_kernel_row([np.eye(3), -np.eye(3)], ["a", "b"], "row", signed=[False, True])
    assert isinstance(fig, Figure) and len(fig.axes) == 2


def test_speed_tables_small():
    rows = D.speed_table(size=32, kernel_sizes=(3, 5), repeat=1, naive_taps=2000)
    assert [r["kernel"] for r in rows] == [3, 5]
    for r in rows:
        assert all(r[k] > 0 for k in ("naive", "numpy", "torch", "scipy"))
        assert r["naive_extrapolated"] == (r["naive_crop"] < 32)
    sep = D.separable_speed_table(size=32, sigmas=(1, 2), repeat=1)
    assert [r["kernel"] for r in sep] == [7, 13]
    assert sep[1]["tap_ratio"] == pytest.approx(13 / 2)
    text = D.format_speed_tables(rows, sep)
    assert "conv2d/torch" in text and "separable ms" in text
    assert ("*" in text) == any(r["naive_extrapolated"] for r in rows)
    assert "naive_vs_numpy" not in rows[0]  # formatting does not modify the rows


def test_format_table_aligns_columns():
    text = D.format_table([{"a": 1, "b": 2.5}, {"a": 100, "b": 0.25}],
                          [("a", "A", "d"), ("b", "Bee", ".2f")])
    lines = text.splitlines()
    assert lines[0] == "  A   Bee"
    assert lines[2] == "100  0.25"
    assert len({len(line) for line in lines}) == 1
