"""Stereo: depth from disparity, cost volumes against scipy / skimage, block matching against
the brute-force loop and known shifts, the OpenCV wrapper, disparity error measures."""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from scipy.signal import correlate2d
from skimage.feature import match_template

from course_utils.geometry3d import stereo

pytestmark = pytest.mark.chapter("13_3d_vision")


def _texture(shape, seed, sigma=1.0):
    image = gaussian_filter(np.random.default_rng(seed).random(shape), sigma)
    return (image - image.min()) / np.ptp(image)


def _shifted_pair(shape, shift, seed):
    """left[:, x] = right[:, x - shift]: a fronto-parallel plane at disparity ``shift``."""
    h, w = shape
    wide = _texture((h, w + shift), seed)
    return wide[:, :w], wide[:, shift:]


def test_depth_from_disparity_values_and_invalid():
    z = stereo.depth_from_disparity(np.array([[10.0, 0.0], [-1.0, np.nan]]), 500, 0.2)
    assert z[0, 0] == pytest.approx(10.0)
    assert np.isnan(z[0, 1]) and np.isnan(z[1, 0]) and np.isnan(z[1, 1])
    with pytest.raises(ValueError, match="focal"):
        stereo.depth_from_disparity([1.0], 0, 0.2)
    with pytest.raises(ValueError, match="baseline"):
        stereo.depth_from_disparity([1.0], 500, -1)


def test_depth_error_matches_finite_difference_of_fb_over_d():
    f, b, z = 700.0, 0.1, np.array([1.0, 4.0, 12.0])
    d = f * b / z
    numeric = np.abs(f * b / (d + 1e-6) - f * b / (d - 1e-6)) / 2e-6
    np.testing.assert_allclose(stereo.depth_error(z, f, b, 1.0), numeric, rtol=1e-6)
    with pytest.raises(ValueError, match="depth"):
        stereo.depth_error([0.0, 1.0], f, b)


def test_quantized_depth_error_is_the_rounding_error_and_grows_with_distance():
    f, b = 500.0, 0.1
    z = np.array([2.0, 3.3, 7.7, 40.0, 200.0])
    with np.errstate(divide="ignore"):
        expected = np.abs(f * b / np.round(f * b / z) - z)
    assert expected[-1] == np.inf  # disparity 0.25 rounds to 0: no depth
    np.testing.assert_allclose(stereo.quantized_depth_error(z, f, b), expected)
    zs = np.linspace(1, 20, 4000)
    err = stereo.quantized_depth_error(zs, f, b)
    # rounding moves d by at most half a pixel: |fB/(d -+ 0.5) - fB/d| <= first order * d/(d-1/2)
    d = f * b / zs
    assert np.all(err <= stereo.depth_error(zs, f, b, 0.5) * d / (d - 0.5) * (1 + 1e-9))
    assert err[zs > 15].max() > 20 * err[zs < 3].max()


def test_sad_and_ssd_cost_volume_match_scipy_window_sums():
    rng = np.random.default_rng(0)
    left, right = rng.random((12, 20)), rng.random((12, 20))
    window, r = 5, 2
    lp, rp = np.pad(left, r, mode="edge"), np.pad(right, r, mode="edge")
    for cost, power in (("sad", 1), ("ssd", 2)):
        volume = stereo.cost_volume(left, right, 6, window, cost)
        assert volume.shape == (7, 12, 20)
        for d in (0, 3, 6):
            diff = np.abs(lp[:, d:] - rp[:, :rp.shape[1] - d]) ** power  # columns x >= d
            sums = correlate2d(diff, np.ones((window, window)), mode="valid")
            np.testing.assert_allclose(volume[d][:, d:], sums, rtol=1e-10)
            assert np.all(np.isinf(volume[d][:, :d]))


def test_ncc_cost_matches_skimage_match_template_inside_the_image():
    rng = np.random.default_rng(1)
    left, right = rng.random((15, 30)), rng.random((15, 30))
    window, r, dmax = 5, 2, 8
    volume = stereo.cost_volume(left, right, dmax, window, "ncc")
    for y, x in ((5, 15), (7, 20), (10, 12)):
        patch = left[y - r:y + r + 1, x - r:x + r + 1]
        strip = right[y - r:y + r + 1, x - dmax - r:x + r + 1]
        ncc = match_template(strip, patch)[0]  # position j: centre column x - dmax + j
        np.testing.assert_allclose(volume[::-1, y, x], 1 - ncc, atol=1e-6)


@pytest.mark.parametrize("cost", ["sad", "ssd", "ncc"])
@pytest.mark.parametrize("window", [1, 3, 5])
def test_block_matching_equals_the_brute_force_loop(cost, window):
    rng = np.random.default_rng(window)
    left, right = rng.random((10, 16)), rng.random((10, 16))
    loop = stereo.block_matching_loop(left, right, 5, window, cost)
    fast = stereo.block_matching(left, right, 5, window, cost)
    np.testing.assert_array_equal(fast, loop)
    assert np.isfinite(fast).all() and fast.dtype == np.float64


@pytest.mark.parametrize("cost", ["sad", "ssd", "ncc"])
def test_block_matching_recovers_a_known_integer_shift(cost):
    left, right = _shifted_pair((30, 60), 7, seed=2)
    disparity = stereo.block_matching(left, right, 12, 5, cost)
    # x - 7 - 2 >= 0 and x + 2 < W: both windows inside their images
    assert np.all(disparity[:, 9:-2] == 7)
    assert np.all(disparity[:, :7] < 7)  # the true match lies outside the right image


def test_block_matching_nan_where_no_finite_candidate():
    rng = np.random.default_rng(3)
    left, right = rng.random((8, 12)), rng.random((8, 12))
    left[4, 6] = np.nan
    disparity = stereo.block_matching(left, right, 3, 1, "sad")
    assert np.isnan(disparity[4, 6]) and np.isfinite(np.delete(disparity.ravel(), 4 * 12 + 6)).all()


def test_bad_arguments_raise_naming_the_argument():
    img = np.zeros((8, 12))
    with pytest.raises(ValueError, match="same shape"):
        stereo.block_matching(img, np.zeros((8, 11)), 3, 3)
    with pytest.raises(ValueError, match="cost"):
        stereo.block_matching(img, img, 3, 3, cost="census")
    with pytest.raises(ValueError, match="window must be odd"):
        stereo.cost_volume(img, img, 3, 4)
    with pytest.raises(ValueError, match="window"):
        stereo.block_matching(img, img, 3, 0)
    with pytest.raises(ValueError, match="max_disparity"):
        stereo.block_matching(img, img, 0, 3)
    with pytest.raises(ValueError, match="max_disparity"):
        stereo.block_matching_loop(img, img, 12, 3)
    with pytest.raises(ValueError, match="left"):
        stereo.block_matching(np.zeros(5), img, 3, 3)
    with pytest.raises(ValueError, match="method"):
        stereo.opencv_disparity(img, img, 16, 5, method="sift")
    with pytest.raises(ValueError, match="StereoBM"):
        stereo.opencv_disparity(img, img, 3, 3)


@pytest.mark.parametrize("method", ["bm", "sgbm"])
def test_opencv_wrapper_recovers_a_synthetic_shift(method):
    left, right = _shifted_pair((60, 120), 9, seed=4)
    disparity = stereo.opencv_disparity(left, right, 20, 7, method)
    inner = disparity[10:-10, 40:-10]
    assert np.isfinite(inner).mean() > 0.9
    assert np.nanmedian(inner) == pytest.approx(9, abs=0.25)
    assert np.isnan(disparity).any()  # left border: OpenCV marks it invalid, we return NaN
    as_uint8 = stereo.opencv_disparity((left * 255).round().astype(np.uint8),
                                       (right * 255).round().astype(np.uint8), 20, 7, method)
    np.testing.assert_array_equal(as_uint8, disparity)


def test_disparity_errors_on_a_hand_built_case():
    truth = np.array([[1.0, 2.0, 3.0, np.inf], [5.0, 6.0, 7.0, 8.0]])
    estimate = np.array([[1.5, 4.0, np.nan, 0.0], [5.0, 6.0, 9.0, 8.0]])
    out = stereo.disparity_errors(estimate, truth, threshold=1.0)
    # 7 evaluated pixels; bad: 2.0 (err 2), 3.0 (missing), 7.0 (err 2)
    assert out["pixels"] == 7 and out["bad_rate"] == pytest.approx(3 / 7)
    assert out["coverage"] == pytest.approx(6 / 7)
    assert out["mean_error"] == pytest.approx((0.5 + 2 + 0 + 0 + 2 + 0) / 6)
    masked = stereo.disparity_errors(estimate, truth, mask=np.array([[True] * 4, [False] * 4]))
    assert masked["pixels"] == 3 and masked["bad_rate"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="same shape"):
        stereo.disparity_errors(estimate, truth[:, :3])
    with pytest.raises(ValueError, match="mask"):
        stereo.disparity_errors(estimate, truth, mask=np.ones((2, 4)))


def test_depth_and_error_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="depth"):
        stereo.quantized_depth_error([1.0, -2.0], 500, 0.1)
    with pytest.raises(ValueError, match="disparity_error"):
        stereo.depth_error([1.0], 500, 0.1, disparity_error=-0.5)
    with pytest.raises(TypeError, match="disparity"):
        stereo.depth_from_disparity(["a"], 500, 0.1)
    with pytest.raises(ValueError, match="threshold"):
        stereo.disparity_errors(np.ones((2, 2)), np.ones((2, 2)), threshold=-1)
    with pytest.raises(ValueError, match="no finite pixel"):
        stereo.disparity_errors(np.ones((2, 2)), np.full((2, 2), np.inf))


def test_near_depth_edges_marks_a_band_around_each_jump():
    truth = np.full((6, 20), 5.0)
    truth[:, 10:] = 10.0            # a vertical edge between columns 9 and 10
    truth[0, :] = np.inf            # an unknown row is never marked, nor makes edges
    truth[3, 3] = 6.0               # a jump of 1 px: below the threshold
    mask = stereo.near_depth_edges(truth, jump=2.0, width=2)
    expected = np.zeros((6, 20), bool)
    expected[1:, 7:13] = True
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_array_equal(stereo.near_depth_edges(truth, width=0)[1:, 8:12],
                                  np.tile([False, True, True, False], (5, 1)))
    with pytest.raises(ValueError, match="width"):
        stereo.near_depth_edges(truth, width=-1)
    with pytest.raises(ValueError, match="jump"):
        stereo.near_depth_edges(truth, jump=0)
