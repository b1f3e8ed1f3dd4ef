"""course_utils.filtering.filters against scipy.signal, scipy.ndimage, torch and scikit-image.

Tolerances: float64 throughout; results that are the same sums in another order agree to
atol = rtol = 1e-10 (values are O(1) to O(100)); NCC (a ratio of sums) to atol = 1e-8.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal as sps
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage.feature import match_template
from skimage.filters import gabor_kernel as skimage_gabor

from course_utils.filtering import filters as F
from course_utils.filtering import measurements

pytestmark = pytest.mark.chapter("01_convolution")

TOL = dict(atol=1e-10, rtol=1e-10)
SCIPY_BOUNDARY = {"zero": "fill", "reflect": "symm", "wrap": "wrap"}
KERNEL_SHAPES = [(1, 1), (3, 3), (2, 2), (4, 4), (5, 3), (2, 5), (4, 7)]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# --------------------------------------------------------------------------- conv / correlate
@pytest.mark.parametrize("kshape", KERNEL_SHAPES)
@pytest.mark.parametrize("mode", F.MODES)
@pytest.mark.parametrize("boundary", list(SCIPY_BOUNDARY))
def test_conv2d_and_correlate2d_match_scipy_signal(kshape, mode, boundary):
    image, kernel = rand(11, 14, seed=1), rand(*kshape, seed=2)
    kw = dict(mode=mode, boundary=SCIPY_BOUNDARY[boundary])
    np.testing.assert_allclose(F.conv2d(image, kernel, mode, boundary),
                               sps.convolve2d(image, kernel, **kw), **TOL)
    np.testing.assert_allclose(F.correlate2d(image, kernel, mode, boundary),
                               sps.correlate2d(image, kernel, **kw), **TOL)


@pytest.mark.parametrize("mode", F.MODES)
def test_kernel_as_large_as_image_and_pads_wider_than_image(mode):
    """'full' with a kernel bigger than the image needs repeated reflection / wrapping."""
    image = rand(4, 5, seed=3)
    kernel = rand(4, 5, seed=4) if mode == "valid" else rand(9, 12, seed=4)
    for boundary in SCIPY_BOUNDARY:
        np.testing.assert_allclose(
            F.conv2d(image, kernel, mode, boundary),
            sps.convolve2d(image, kernel, mode, boundary=SCIPY_BOUNDARY[boundary]), **TOL)


@pytest.mark.parametrize("kshape", [(3, 3), (5, 3), (1, 7)])
def test_replicate_matches_ndimage_nearest(kshape):
    image, kernel = rand(12, 10, seed=5), rand(*kshape, seed=6)
    np.testing.assert_allclose(F.correlate2d(image, kernel, "same", "replicate"),
                               ndi.correlate(image, kernel, mode="nearest"), **TOL)
    np.testing.assert_allclose(F.conv2d(image, kernel, "same", "replicate"),
                               ndi.convolve(image, kernel, mode="nearest"), **TOL)


@pytest.mark.parametrize("kshape", KERNEL_SHAPES)
@pytest.mark.parametrize("mode", ["same", "full"])
def test_replicate_matches_edge_padding_then_valid(kshape, mode):
    image, kernel = rand(9, 8, seed=7), rand(*kshape, seed=8)
    kh, kw = kshape
    if mode == "full":
        widths = ((kh - 1, kh - 1), (kw - 1, kw - 1))
    else:  # scipy's centring of 'same' for a convolution
        widths = ((kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2))
    expected = sps.convolve2d(np.pad(image, widths, mode="edge"), kernel, "valid")
    np.testing.assert_allclose(F.conv2d(image, kernel, mode, "replicate"), expected, **TOL)


@pytest.mark.parametrize("mode", F.MODES)
@pytest.mark.parametrize("boundary", F.BOUNDARIES)
def test_colour_image_is_filtered_per_channel(mode, boundary):
    image, kernel = rand(10, 9, 3, seed=9), rand(4, 3, seed=10)
    out = F.conv2d(image, kernel, mode, boundary)
    for c in range(3):
        np.testing.assert_allclose(out[..., c], F.conv2d(image[..., c], kernel, mode, boundary),
                                   **TOL)
    assert out.shape == F.output_shape(image.shape, kernel.shape, mode) + (3,)


@pytest.mark.parametrize("kshape", [(3, 3), (4, 2), (1, 5), (6, 6)])
def test_matches_torch_conv2d_which_is_a_correlation(kshape):
    image, kernel = rand(16, 13, seed=11), rand(*kshape, seed=12)
    x = torch.from_numpy(image)[None, None]
    k = torch.from_numpy(kernel)[None, None]
    torch_valid = torch.nn.functional.conv2d(x, k)[0, 0].numpy()
    np.testing.assert_allclose(F.correlate2d(image, kernel, "valid"), torch_valid, **TOL)
    flipped = torch.from_numpy(kernel[::-1, ::-1].copy())[None, None]
    np.testing.assert_allclose(F.conv2d(image, kernel, "valid"),
                               torch.nn.functional.conv2d(x, flipped)[0, 0].numpy(), **TOL)
    kh, kw = kshape  # 'same' correlation with zeros: pad (k-1)//2 before, k//2 after
    padded = torch.nn.functional.pad(x, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2))
    np.testing.assert_allclose(F.correlate2d(image, kernel, "same"),
                               torch.nn.functional.conv2d(padded, k)[0, 0].numpy(), **TOL)


@pytest.mark.parametrize("mode", F.MODES)
@pytest.mark.parametrize("boundary", F.BOUNDARIES)
@pytest.mark.parametrize("kshape", [(3, 3), (2, 4)])
def test_naive_loops_and_shifted_slices_agree_with_scipy(mode, boundary, kshape):
    """All three forms of conv2d against scipy.signal.convolve2d (an independent reference)."""
    image, kernel = rand(7, 9, seed=13), rand(*kshape, seed=14)
    scipy_boundary = {"zero": "fill", "reflect": "symm", "wrap": "wrap"}.get(boundary)
    for fn in (F.conv2d_naive, F.conv2d_shifted, F.conv2d):
        out = fn(image, kernel, mode, boundary)
        if scipy_boundary is not None:
            np.testing.assert_allclose(out, sps.convolve2d(image, kernel, mode, scipy_boundary),
                                       **TOL)
        np.testing.assert_allclose(out, F.conv2d(image, kernel, mode, boundary), **TOL)
    colour = rand(5, 6, 2, seed=15)
    for fn in (F.conv2d_naive, F.conv2d_shifted):
        np.testing.assert_allclose(fn(colour, kernel, mode, boundary),
                                   F.conv2d(colour, kernel, mode, boundary), **TOL)


@pytest.mark.parametrize("mode", F.MODES)
def test_output_shape_matches_scipy(mode):
    for kshape in KERNEL_SHAPES:
        expected = sps.convolve2d(np.ones((11, 14)), np.ones(kshape), mode).shape
        assert F.output_shape((11, 14), kshape, mode) == expected


def test_integer_input_gives_float64_and_input_is_not_modified():
    image = np.arange(30).reshape(5, 6)
    before = image.copy()
    out = F.conv2d(image, np.ones((3, 3), dtype=np.int32), boundary="reflect")
    assert out.dtype == np.float64
    np.testing.assert_array_equal(image, before)
    np.testing.assert_allclose(out, sps.convolve2d(image, np.ones((3, 3)), "same", "symm"), **TOL)


@pytest.mark.parametrize("mode", F.MODES)
@pytest.mark.parametrize("boundary", F.BOUNDARIES)
def test_separable_equals_dense_outer_product(mode, boundary):
    image, col, row = rand(12, 11, seed=16), rand(5, seed=17), rand(4, seed=18)
    np.testing.assert_allclose(F.separable_conv2d(image, col, row, mode, boundary),
                               F.conv2d(image, np.outer(col, row), mode, boundary), **TOL)


# --------------------------------------------------------------------------- simple kernels
def test_identity_shift_and_box_kernels():
    image = rand(10, 12, seed=19)
    np.testing.assert_allclose(F.conv2d(image, F.identity_kernel(5), "same", "zero"), image)
    for dy, dx in [(1, 0), (0, -2), (3, 2)]:
        np.testing.assert_allclose(F.conv2d(image, F.shift_kernel(dy, dx), "same", "wrap"),
                                   np.roll(image, (dy, dx), axis=(0, 1)), **TOL)
    np.testing.assert_allclose(F.conv2d(image, F.box_kernel(3), "same", "reflect"),
                               ndi.uniform_filter(image, 3, mode="reflect"), **TOL)
    np.testing.assert_allclose(F.box_kernel((2, 5)).sum(), 1.0)
    assert F.box_kernel((2, 5)).shape == (2, 5)


# --------------------------------------------------------------------------- Gaussian family
@pytest.mark.parametrize("sigma", [0.3, 1.0, 1.7, 4.0])
def test_gaussian_kernel_size_sum_and_shape(sigma):
    g = F.gaussian_kernel(sigma)
    radius = math.ceil(3 * sigma)
    assert g.shape == (2 * radius + 1, 2 * radius + 1)
    np.testing.assert_allclose(g.sum(), 1.0, atol=1e-12)
    np.testing.assert_allclose(g, g[::-1, ::-1], atol=1e-15)
    window = sps.windows.gaussian(2 * radius + 1, std=sigma)
    np.testing.assert_allclose(g, np.outer(window, window) / window.sum() ** 2, **TOL)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.5])
@pytest.mark.parametrize("separable", [True, False])
def test_gaussian_blur_matches_ndimage(sigma, separable):
    """Truncation matched by passing scipy radius = ceil(3 sigma), our default half-size."""
    image = rand(20, 17, seed=20)
    radius = math.ceil(3 * sigma)
    expected = ndi.gaussian_filter(image, sigma, mode="reflect", radius=radius)
    np.testing.assert_allclose(F.gaussian_blur(image, sigma, separable=separable), expected,
                               **TOL)
    colour = rand(9, 8, 3, seed=21)
    np.testing.assert_allclose(
        F.gaussian_blur(colour, sigma, separable=separable),
        ndi.gaussian_filter(colour, (sigma, sigma, 0), mode="reflect", radius=(radius, radius, 0)),
        **TOL)


@pytest.mark.parametrize("sigma", [0.8, 2.0])
def test_derivative_of_gaussian_and_log_match_ndimage(sigma):
    image = rand(18, 21, seed=22)
    r = math.ceil(3 * sigma)
    gx, gy = F.derivative_of_gaussian(image, sigma)
    np.testing.assert_allclose(gx, ndi.gaussian_filter(image, sigma, order=(0, 1),
                                                       mode="reflect", radius=r), **TOL)
    np.testing.assert_allclose(gy, ndi.gaussian_filter(image, sigma, order=(1, 0),
                                                       mode="reflect", radius=r), **TOL)
    kx, ky = F.derivative_of_gaussian_kernels(sigma)
    np.testing.assert_allclose(F.conv2d(image, kx, boundary="reflect"), gx, **TOL)
    np.testing.assert_allclose(F.conv2d(image, ky, boundary="reflect"), gy, **TOL)
    expected_log = ndi.gaussian_laplace(image, sigma, mode="reflect", radius=r)
    np.testing.assert_allclose(F.laplacian_of_gaussian(image, sigma), expected_log, **TOL)
    np.testing.assert_allclose(F.conv2d(image, F.log_kernel(sigma), boundary="reflect"),
                               expected_log, **TOL)


def test_laplacian_and_central_differences():
    image = rand(15, 16, seed=23)
    np.testing.assert_allclose(F.conv2d(image, F.laplacian_kernel(), boundary="reflect"),
                               ndi.laplace(image, mode="reflect"), **TOL)
    gx, gy = F.image_gradients(image)
    ref_gy, ref_gx = np.gradient(image)  # central differences inside, one-sided at edges
    np.testing.assert_allclose(gx[:, 1:-1], ref_gx[:, 1:-1], **TOL)
    np.testing.assert_allclose(gy[1:-1, :], ref_gy[1:-1, :], **TOL)


def test_edge_map_thresholds_gradient_magnitude():
    image = rand(30, 30, seed=24)
    magnitude = ndi.gaussian_gradient_magnitude(image, 1.5, mode="reflect", radius=5)
    for threshold in (0.1, 0.4, 0.7):
        edges = F.edge_map(image, sigma=1.5, threshold=threshold)
        np.testing.assert_array_equal(edges, magnitude > threshold * magnitude.max())
    assert F.edge_map(image, 1.5, 0.1).sum() > F.edge_map(image, 1.5, 0.7).sum() > 0


def test_sharpen_is_two_identity_minus_blur():
    image = rand(14, 13, seed=25)
    kernel = 2 * F.identity_kernel(7) - F.gaussian_kernel(1.0)
    np.testing.assert_allclose(F.sharpen(image, amount=1.0, sigma=1.0),
                               F.conv2d(image, kernel, boundary="reflect"), **TOL)
    blurred = ndi.gaussian_filter(image, 1.0, mode="reflect", radius=3)
    np.testing.assert_allclose(F.sharpen(image, 2.5), image + 2.5 * (image - blurred), **TOL)
    np.testing.assert_allclose(F.sharpen(image, 0.0), image, **TOL)


# --------------------------------------------------------------------------- Gabor, NCC
@pytest.mark.parametrize("theta", [0.0, 0.4, np.pi / 2, 2.0])
@pytest.mark.parametrize("phase", [0.0, 1.1])
def test_gabor_matches_skimage_real_part(theta, phase):
    frequency, sigma = 0.15, 3.0
    reference = skimage_gabor(frequency, theta=theta, sigma_x=sigma, sigma_y=sigma,
                              offset=phase).real
    ours = F.gabor_kernel(frequency, theta, sigma, phase, size=19)
    r0, c0 = (19 - reference.shape[0]) // 2, (19 - reference.shape[1]) // 2
    np.testing.assert_allclose(ours[r0:r0 + reference.shape[0], c0:c0 + reference.shape[1]],
                               reference, atol=1e-12)


@pytest.mark.parametrize("tshape", [(5, 5), (4, 7), (8, 3)])
def test_ncc_matches_skimage_match_template(tshape):
    rng = np.random.default_rng(26)
    image = rng.random((40, 45))
    image[:8, :10] = 0.3  # flat region: zero variance windows
    template = image[20:20 + tshape[0], 11:11 + tshape[1]].copy()
    ncc, reference = F.match_template_ncc(image, template), match_template(image, template)
    flat = np.lib.stride_tricks.sliding_window_view(image, tshape).std(axis=(2, 3)) < 1e-9
    assert flat.sum() > 0
    # flat windows: we return exactly 0, skimage returns round-off of order 1e-8
    np.testing.assert_array_equal(ncc[flat], 0.0)
    np.testing.assert_allclose(reference[flat], 0.0, atol=1e-6)
    np.testing.assert_allclose(ncc[~flat], reference[~flat], atol=1e-8)
    assert np.unravel_index(np.argmax(ncc), ncc.shape) == (20, 11)
    np.testing.assert_allclose(ncc.max(), 1.0, atol=1e-10)
    # invariant to brightness and contrast changes of the image
    np.testing.assert_allclose(F.match_template_ncc(3 * image + 7, template), ncc, atol=1e-8)


# --------------------------------------------------------------------------- laws (hypothesis)
def small_arrays(max_side=6):
    shapes = st.tuples(st.integers(1, max_side), st.integers(1, max_side))
    return shapes.flatmap(lambda s: arrays(np.float64, s, elements=st.floats(-10, 10)))


@given(small_arrays(8), small_arrays(8), small_arrays(4), st.floats(-3, 3), st.floats(-3, 3),
       st.sampled_from(F.BOUNDARIES))
def test_linearity(x, y_raw, kernel, a, b, boundary):
    y = np.resize(y_raw, x.shape)
    lhs = F.conv2d(a * x + b * y, kernel, "full", boundary)
    rhs = a * F.conv2d(x, kernel, "full", boundary) + b * F.conv2d(y, kernel, "full", boundary)
    np.testing.assert_allclose(lhs, rhs, atol=1e-8, rtol=1e-8)


@given(small_arrays(), small_arrays())
def test_commutativity_full_mode(f, g):
    np.testing.assert_allclose(F.conv2d(f, g, "full"), F.conv2d(g, f, "full"),
                               atol=1e-9, rtol=1e-9)


@given(small_arrays(5), small_arrays(4), small_arrays(4))
def test_associativity_full_mode(f, g, h):
    lhs = F.conv2d(F.conv2d(f, g, "full"), h, "full")
    rhs = F.conv2d(f, F.conv2d(g, h, "full"), "full")
    np.testing.assert_allclose(lhs, rhs, atol=1e-7, rtol=1e-9)


@given(small_arrays(5), small_arrays(4), small_arrays(4))
def test_distributivity_full_mode(f, g_raw, h):
    g = np.resize(g_raw, h.shape)
    np.testing.assert_allclose(F.conv2d(f, g + h, "full"),
                               F.conv2d(f, g, "full") + F.conv2d(f, h, "full"),
                               atol=1e-9, rtol=1e-9)


@given(small_arrays(8), small_arrays(4), st.integers(-5, 5), st.integers(-5, 5),
       st.sampled_from(["conv", "corr"]))
def test_shift_equivariance_with_wrap(x, kernel, dy, dx, which):
    fn = F.conv2d if which == "conv" else F.correlate2d
    shifted_then_filtered = fn(np.roll(x, (dy, dx), axis=(0, 1)), kernel, "same", "wrap")
    filtered_then_shifted = np.roll(fn(x, kernel, "same", "wrap"), (dy, dx), axis=(0, 1))
    np.testing.assert_allclose(shifted_then_filtered, filtered_then_shifted,
                               atol=1e-9, rtol=1e-9)


# --------------------------------------------------------------------------- bad input
GOOD = np.ones((6, 6))


@pytest.mark.parametrize("fn", [F.conv2d, F.correlate2d, F.conv2d_naive, F.conv2d_shifted])
def test_conv_bad_inputs(fn):
    with pytest.raises(ValueError, match="image must have 2 or 3 dimensions"):
        fn(np.ones(6), np.ones((3, 3)))
    with pytest.raises(ValueError, match="image must have 2 or 3 dimensions"):
        fn(np.ones((2, 6, 6, 3)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="kernel must have 2 dimensions"):
        fn(GOOD, np.ones((3, 3, 1)))
    with pytest.raises(TypeError, match="image must be a numeric array"):
        fn(np.full((4, 4), "a"), np.ones((3, 3)))
    with pytest.raises(TypeError, match="kernel must be a numeric array"):
        fn(GOOD, np.array([[None, 1]], dtype=object))
    with pytest.raises(TypeError, match="image must be real-valued"):
        fn(GOOD.astype(complex), np.ones((3, 3)))
    with pytest.raises(ValueError, match="image must not be empty"):
        fn(np.ones((0, 5)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="kernel must not be empty"):
        fn(GOOD, np.ones((3, 0)))
    with pytest.raises(ValueError, match="kernel of shape .* is larger than image"):
        fn(np.ones((4, 9)), np.ones((5, 3)), mode="valid")
    with pytest.raises(ValueError, match="mode must be one of"):
        fn(GOOD, np.ones((3, 3)), mode="SAME")
    with pytest.raises(ValueError, match="boundary must be one of"):
        fn(GOOD, np.ones((3, 3)), boundary="symm")


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="mode must be one of"):
        F.output_shape((5, 5), (3, 3), "half")
    with pytest.raises(ValueError, match="col_kernel must have 1 dimensions"):
        F.separable_conv2d(GOOD, np.ones((3, 1)), np.ones(3))
    with pytest.raises(ValueError, match="kernel of shape .* is larger"):
        F.separable_conv2d(GOOD, np.ones(7), np.ones(3), mode="valid")
    with pytest.raises(ValueError, match="boundary must be one of"):
        F.pad_image(GOOD, [(1, 1), (1, 1)], "mirror")
    for fn in (F.gaussian_kernel, F.gaussian_kernel1d, F.log_kernel,
               lambda s: F.gaussian_blur(GOOD, s), lambda s: F.derivative_of_gaussian(GOOD, s),
               lambda s: F.laplacian_of_gaussian(GOOD, s), lambda s: F.edge_map(GOOD, s),
               lambda s: F.gaussian_blur(GOOD, s, separable=False)):
        for bad in (0, -1.5, float("nan")):
            with pytest.raises(ValueError, match="sigma must be finite and > 0"):
                fn(bad)
        with pytest.raises(TypeError, match="sigma must be a number"):
            fn("wide")
    with pytest.raises(ValueError, match="size must be odd"):
        F.gaussian_kernel(1.0, size=4)
    with pytest.raises(ValueError, match="size must be an integer >= 1"):
        F.gaussian_kernel(1.0, size=5.0)
    with pytest.raises(ValueError, match="size must be an integer >= 1"):
        F.box_kernel(0)
    with pytest.raises(ValueError, match="size must be odd"):
        F.identity_kernel(4)
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        F.gaussian_derivative_kernel1d(1.0, order=3)
    with pytest.raises(ValueError, match="threshold must be a fraction"):
        F.edge_map(GOOD, 1.0, threshold=1.5)
    with pytest.raises(ValueError, match="threshold must be finite and >= 0"):
        F.edge_map(GOOD, 1.0, threshold=-0.1)
    with pytest.raises(ValueError, match="image must have 2 dimensions"):
        F.edge_map(np.ones((6, 6, 3)), 1.0)
    with pytest.raises(ValueError, match="amount must be finite and >= 0"):
        F.sharpen(GOOD, amount=-1)
    with pytest.raises(ValueError, match="frequency must be <= 0.5"):
        F.gabor_kernel(0.8)
    with pytest.raises(ValueError, match="frequency must be finite and > 0"):
        F.gabor_kernel(0.0)
    with pytest.raises(ValueError, match="kernel of shape .* is larger than image"):
        F.match_template_ncc(np.ones((5, 5)), np.ones((6, 2)))
    with pytest.raises(ValueError, match="image must have 2 dimensions"):
        F.match_template_ncc(np.ones((6, 6, 3)), np.ones((2, 2)))


@pytest.mark.parametrize("call,error,match", [
    (lambda: F.box_kernel((3,)), ValueError, "size must be an int or a pair"),
    (lambda: F.box_kernel((3, 3, 3)), ValueError, "size must be an int or a pair"),
    (lambda: F.shift_kernel(1.5, 0), TypeError, "dy must be an int"),
    (lambda: F.shift_kernel(0, "2"), TypeError, "dx must be an int"),
    (lambda: F.output_shape((5,), (3, 3)), ValueError, "image_shape must start with two"),
    (lambda: F.output_shape((5, 5), (3, 0)), ValueError, "kernel_shape must start with two"),
    (lambda: F.pad_image(GOOD, [(1, 1)]), ValueError, "pad_width must be"),
    (lambda: F.pad_image(GOOD, [(1, -1), (0, 0)]), ValueError, "pad_width must be"),
    (lambda: F.pad_image(GOOD, [(1.5, 1), (0, 0)]), ValueError, "pad_width must be"),
    (lambda: F.gabor_kernel(0.1, theta="45"), TypeError, "theta must be a finite real number"),
    (lambda: F.gabor_kernel(0.1, phase=None), TypeError, "phase must be a finite real number"),
    (lambda: F.difference_of_gaussians_kernel(1.0, ratio=1.0), ValueError, "ratio must be > 1"),
    (lambda: F.difference_of_gaussians_kernel(0.0), ValueError, "sigma"),
    (lambda: measurements.rmse(np.ones(3), np.ones(4)), ValueError, "a and b must have the same shape"),
    (lambda: measurements.sharpening_kernel(-1.0), ValueError, "amount"),
    (lambda: measurements.grating_gain(np.ones((3, 3)), 0.2, size=16, margin=8), ValueError, "margin"),
    (lambda: measurements.grating_gain(np.ones((3, 3)), -0.2), ValueError, "frequency"),
    (lambda: measurements.edge_snr(np.ones((8, 64)), column=2), ValueError, "does not fit"),
    (lambda: measurements.edge_snr(np.ones(64), column=32), ValueError, "response must have 2"),
    (lambda: measurements.padding_example(np.ones(3), width=4), ValueError, "width must be at most"),
    (lambda: measurements.border_gradient(np.ones((6, 6)), width=3), ValueError, "width 3 leaves no inside"),
    (lambda: measurements.border_gradient(np.ones(6)), ValueError, "image must have 2"),
    (lambda: measurements.padding_example(np.ones((3, 3))), ValueError, "signal must have 1"),
    (lambda: measurements.template_matching(np.ones((20, 20)), 15, 0, 10, 10), ValueError, "does not fit"),
    (lambda: measurements.template_matching(np.ones((20, 20)), -1, 0, 4, 4), ValueError, "top must be"),
    (lambda: measurements.template_matching(np.ones((20, 20)), 0, 0, 0, 4), ValueError, "height must be"),
    (lambda: measurements.rotation_is_not_convolution(size=8, kernel_sizes=(9,)), ValueError, "kernel_sizes"),
    (lambda: measurements.rotation_is_not_convolution(kernel_sizes=(4,)), ValueError, "kernel_sizes"),
    (lambda: measurements.kernel_fit_residual(np.rot90, 9, size=8), ValueError, "kernel_size"),
    (lambda: measurements.rotation_is_not_convolution(seed=-1), ValueError, "seed"),
    (lambda: measurements.error_split(np.ones((8, 8)), np.ones((8, 9)), np.ones((3, 3))), ValueError,
     "clean and noisy must have the same shape"),
    (lambda: measurements.error_split(np.ones(8), np.ones(8), np.ones((3, 3))), ValueError, "clean must have 2"),
])
def test_more_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- measurements
def test_error_split_parts_against_scipy_and_the_noise_law():
    """Detail lost = scipy's box filter of the clean image against it; noise left: averaging m*m
    independent values divides their std by m (statistical, 256 x 256 pixels: 3 % tolerance)."""
    rng = np.random.default_rng(3)
    clean = ndi.gaussian_filter(rng.random((256, 256)), 4.0)
    noisy = clean + rng.normal(0.0, 0.1, clean.shape)
    for m in (3, 5):
        split = measurements.error_split(clean, noisy, F.box_kernel(m), boundary="reflect")
        smeared = ndi.uniform_filter(clean, m, mode="reflect")
        assert split["detail lost"] == pytest.approx(np.sqrt(np.mean((smeared - clean) ** 2)), rel=1e-10)
        assert split["noise left"] == pytest.approx(0.1 / m, rel=0.03)
        total = np.sqrt(np.mean((ndi.uniform_filter(noisy, m, mode="reflect") - clean) ** 2))
        assert split["total"] == pytest.approx(total, rel=1e-10)
    flat = np.full((32, 32), 0.4)
    assert measurements.error_split(flat, flat, F.gaussian_kernel(1.5))["detail lost"] < 1e-12


def test_log_kernel_is_an_inverted_mexican_hat_and_dog_the_hat():
    log = F.log_kernel(2.0)
    c = log.shape[0] // 2
    assert log[c, c] < 0 and log.max() > 0  # negative centre, positive ring
    dog = F.difference_of_gaussians_kernel(2.0, ratio=1.6)
    c = dog.shape[0] // 2
    assert dog[c, c] > 0 and dog.min() < 0  # the hat: positive centre, negative ring
    log_same = F.log_kernel(2.0, size=dog.shape[0])
    r = np.corrcoef(dog.ravel(), -log_same.ravel())[0, 1]
    assert r > 0.9  # DoG approximates -LoG
    # reference: scipy's own LoG of an impulse has the same sign pattern
    impulse = np.zeros((25, 25))
    impulse[12, 12] = 1.0
    assert ndi.gaussian_laplace(impulse, 2.0)[12, 12] < 0


@pytest.mark.parametrize("amount", [0.0, 1.0, 3.0])
def test_sharpen_noise_gain_matches_measured_noise(amount):
    noise = np.random.default_rng(1).standard_normal((256, 256))
    measured = F.sharpen(noise, amount, 1.0, boundary="wrap").std() / noise.std()
    assert measurements.sharpen_noise_gain(amount, 1.0) == pytest.approx(measured, rel=0.03)
    np.testing.assert_allclose(F.conv2d(noise, measurements.sharpening_kernel(amount), boundary="wrap"),
                               F.sharpen(noise, amount, 1.0, boundary="wrap"), atol=1e-12)


def test_grating_gain_against_the_transfer_function():
    # a symmetric kernel multiplies a cosine of frequency f by its DTFT at f (scipy reference)
    for kernel in (F.box_kernel(7), F.gaussian_kernel(2.0), F.box_kernel((1, 5))):
        row = kernel.sum(axis=0)  # vertical stripes vary along x only
        _, response = sps.freqz(row, worN=[2 * np.pi * 0.2])
        expected = float(np.real(response[0] * np.exp(1j * 2 * np.pi * 0.2 * (row.size // 2))))
        assert measurements.grating_gain(kernel, 0.2) == pytest.approx(expected, abs=1e-9)
    assert measurements.grating_gain(F.box_kernel(7), 0.2) < -0.1 < 0 < measurements.grating_gain(F.gaussian_kernel(2.0), 0.2)


def test_edge_snr_on_a_clean_and_a_noisy_step():
    from course_utils.data.patterns import step_image

    rng = np.random.default_rng(0)
    noisy = step_image(64) + rng.normal(0, 0.2, (64, 64))
    plain = F.image_gradients(noisy)[0]
    smooth = F.derivative_of_gaussian(noisy, 2.0)[0]
    snr_plain, snr_smooth = measurements.edge_snr(plain, 32), measurements.edge_snr(smooth, 32)
    assert snr_smooth > 4 * snr_plain > 0
    away = np.r_[0:24, 40:64]
    assert snr_plain == pytest.approx(plain[:, 31:33].mean() / plain[:, away].std())


def test_padding_example_names_each_librarys_reflect():
    out = measurements.padding_example(np.arange(1.0, 5.0), width=2)
    np.testing.assert_array_equal(out["filters reflect"], [2, 1, 1, 2, 3, 4, 4, 3])
    np.testing.assert_array_equal(out["filters reflect"], out["np.pad symmetric"])
    np.testing.assert_array_equal(out["filters reflect"], out["scipy.ndimage reflect"])
    np.testing.assert_array_equal(out["np.pad reflect"], out["scipy.ndimage mirror"])
    np.testing.assert_array_equal(out["np.pad reflect"], [3, 2, 1, 2, 3, 4, 3, 2])
    np.testing.assert_array_equal(out["filters replicate"], out["scipy.ndimage nearest"])
    np.testing.assert_array_equal(out["filters wrap"], out["scipy.ndimage wrap"])


def test_border_gradient_against_numpy_gradient():
    rng = np.random.default_rng(4)
    image = rng.random((20, 24))
    magnitude = np.hypot(*np.gradient(image))  # central differences inside, one-sided at edges
    band, inside = measurements.border_gradient(image, width=3)
    assert inside == pytest.approx(magnitude[3:-3, 3:-3].mean())
    frame = np.pad(np.ones((16, 20)), 2)  # a black frame: the band holds the only edges
    band, inside = measurements.border_gradient(frame, width=3)
    assert band > 0 and inside == 0


def test_template_matching_raw_fails_ncc_finds_patch():
    from course_utils import load_image

    result = measurements.template_matching(load_image("camera"), 100, 230, 40, 40)
    assert result["ncc_best"] == result["truth"] == (100, 230)
    assert np.hypot(*np.subtract(result["raw_best"], result["truth"])) > 50
    assert result["raw"].shape == result["ncc"].shape == (512 - 39, 512 - 39)


@pytest.mark.parametrize("angle", [30.0, 90.0])
def test_rotation_is_linear_but_not_a_convolution(angle):
    r = measurements.rotation_is_not_convolution(size=16, kernel_sizes=(3, 9, 15), angle=angle)
    assert r["linearity"] < 1e-12
    assert r["blur_shift_equivariance"] < 1e-12
    assert r["shift_equivariance"] > 0.5
    # a true convolution is recovered exactly by least squares once the kernel holds it
    # (the Gaussian of sigma 1 is 7 x 7), on images the fit never saw
    assert r["blur_fit"][3] > 0.05 and r["blur_fit"][9] < 1e-8 and r["blur_fit"][15] < 1e-8
    # the best kernel of any size explains nothing of a rotation on held-out images
    assert min(r["rotation_fit"].values()) > 0.95


def test_kernel_fit_recovers_a_shift_once_the_kernel_reaches_it():
    def shift(z):
        return np.roll(z, (2, -3), axis=(0, 1))   # a convolution with a displaced impulse

    assert measurements.kernel_fit_residual(shift, 7, size=16) < 1e-10   # reach 3: exact
    assert measurements.kernel_fit_residual(shift, 5, size=16) > 0.95    # reach 2: nothing


def test_rotate_image_by_quarter_turns_and_in_between():
    rng = np.random.default_rng(0)
    image = rng.random((9, 9))
    assert np.array_equal(measurements.rotate_image(image, 90), np.rot90(image))
    assert np.array_equal(measurements.rotate_image(image, -90), np.rot90(image, 3))
    # bilinear turns compose approximately, and the centre pixel of an odd image stays put
    turned = measurements.rotate_image(image, 30)
    assert turned[4, 4] == pytest.approx(image[4, 4])
    assert measurements.rotate_image(image, 45)[4, 4] == pytest.approx(image[4, 4])
    with pytest.raises(ValueError, match="image must be"):
        measurements.rotate_image(image[None], 30)
    with pytest.raises(ValueError, match="angle must be"):
        measurements.rotate_image(image, float("nan"))


def test_rmse_against_sklearn():
    from sklearn.metrics import mean_squared_error

    rng = np.random.default_rng(3)
    a, b = rng.random((5, 7)), rng.random((5, 7))
    assert measurements.rmse(a, b) == pytest.approx(np.sqrt(mean_squared_error(a, b)))


def test_spread_matched_sigma_is_the_box_standard_deviation():
    for width in (3, 5, 7, 15):
        # the std of a width-m box = the std of m equally weighted positions
        assert measurements.spread_matched_sigma(width) == pytest.approx(np.std(np.arange(width)))
    g = measurements.blur_1d("Gaussian", 7)
    positions = np.arange(len(g)) - len(g) // 2
    assert g.sum() == pytest.approx(1) and np.sqrt(g @ positions ** 2) == pytest.approx(2.0, rel=0.02)
    assert np.allclose(measurements.blur_1d("box", 5), 0.2)
    with pytest.raises(ValueError, match="width must be at least 3"):
        measurements.spread_matched_sigma(1)
    with pytest.raises(ValueError, match="shape must be one of"):
        measurements.blur_1d("disc", 5)


def test_denoise_arm_picks_on_one_draw_and_scores_on_another():
    import scipy.ndimage as ndi

    from course_utils.data.images import noisy_camera

    config = {"shape": "box", "widths": (3, 5, 9), "noise_std": 0.2}
    out = measurements.denoise_arm(config, [4, 7])
    for seed, width, score in zip([4, 7], out["chosen width"], out["held-out RMSE"]):
        clean, chooser = noisy_camera(0.2, seed=seed)
        _, scorer = noisy_camera(0.2, seed=seed + measurements.SCORING_OFFSET)
        # the reference: scipy's box filter (its "reflect" is this package's "reflect")
        errors = {w: measurements.rmse(ndi.uniform_filter(chooser, w, mode="reflect"), clean)
                  for w in config["widths"]}
        assert width == min(errors, key=errors.get)
        assert score == pytest.approx(measurements.rmse(
            ndi.uniform_filter(scorer, int(width), mode="reflect"), clean))
        assert score != pytest.approx(errors[int(width)])     # another draw than the choice
