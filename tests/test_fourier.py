"""course_utils.frequency.fourier against numpy.fft, torch.fft, scipy and skimage (float64 throughout).

Tolerances: transforms and FFT convolutions agree with the references to atol 1e-9 (sums of
up to a few thousand products of O(1) numbers lose ~1e-13; 1e-9 leaves margin); the sampled
box transform is a Riemann sum whose error is bounded by the grid step dt.
"""
import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage.metrics import peak_signal_noise_ratio

from course_utils.filtering import filters
from course_utils.frequency import fourier
from course_utils.data import patterns
from course_utils import metrics
from course_utils.data.patterns import grating

pytestmark = pytest.mark.chapter("02_fourier")

ATOL = 1e-9
finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


def matrices(min_side=1, max_side=8):
    shapes = st.tuples(st.integers(min_side, max_side), st.integers(min_side, max_side))
    return shapes.flatmap(lambda s: arrays(np.float64, s, elements=finite))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ----------------------------------------------------------------------------- 1-D
@pytest.mark.parametrize("n", [1, 2, 7, 16, 33])
def test_dft_matches_numpy_and_torch(rng, n):
    x = rng.standard_normal(n)
    np.testing.assert_allclose(fourier.dft(x), np.fft.fft(x), atol=ATOL)
    np.testing.assert_allclose(fourier.dft(x), torch.fft.fft(torch.from_numpy(x)).numpy(),
                               atol=ATOL)


@given(arrays(np.float64, st.integers(1, 40), elements=finite))
def test_parseval(x):
    coeffs = fourier.dft(x)
    np.testing.assert_allclose(np.sum(x ** 2), np.sum(np.abs(coeffs) ** 2) / x.size,
                               rtol=1e-9, atol=1e-9)


@given(st.integers(1, 30).flatmap(lambda n: st.tuples(
    arrays(np.float64, n, elements=finite), arrays(np.float64, n, elements=finite))),
    finite, finite)
def test_dft_is_linear(xy, a, b):
    x, y = xy
    np.testing.assert_allclose(fourier.dft(a * x + b * y), a * fourier.dft(x) + b * fourier.dft(y),
                               atol=1e-8)


@given(arrays(np.float64, st.integers(2, 40), elements=finite))
def test_real_signal_has_symmetric_amplitude(x):
    coeffs = fourier.dft(x)
    mirrored = coeffs[(-np.arange(x.size)) % x.size]
    np.testing.assert_allclose(coeffs, np.conj(mirrored), atol=1e-8)


@pytest.mark.parametrize("amplitude, k, phase", [(1.0, 1, 0.0), (2.5, 5, 0.7), (0.3, 13, -2.9)])
def test_coefficient_gives_back_amplitude_and_phase(amplitude, k, phase):
    n = 32
    x = fourier.sinusoid(np.arange(n), amplitude, k / n, phase)
    got_amplitude, got_phase = fourier.coefficient_to_sinusoid(np.fft.fft(x)[k], n)
    assert got_amplitude == pytest.approx(amplitude, abs=1e-12)
    assert got_phase == pytest.approx(phase, abs=1e-12)


def test_sinusoid_is_the_cosine(rng):
    t = rng.random(20)
    np.testing.assert_allclose(fourier.sinusoid(t, 2.0, 3.0, 0.5),
                               2.0 * np.sin(2 * np.pi * 3.0 * t + 0.5 + np.pi / 2), atol=1e-12)


def test_winding_centre_is_the_scaled_dft(rng):
    n, duration = 50, 2.0
    t = np.arange(n) * duration / n
    g = rng.standard_normal(n)
    coeffs = np.fft.fft(g)
    for k in (0, 1, 7, 20):
        points, centre = fourier.winding(g, t, k / duration)
        assert points.shape == (n,)
        assert centre == pytest.approx(coeffs[k] / n, abs=1e-12)


def test_sampled_ft_matches_the_analytic_pairs():
    t = np.linspace(-8, 8, 1024, endpoint=False)
    dt = t[1] - t[0]
    f, values = fourier.sampled_ft(np.exp(-t ** 2 / (2 * 0.7 ** 2)), t)
    assert np.all(np.diff(f) > 0) and f[t.size // 2] == 0
    np.testing.assert_allclose(values, fourier.gaussian_ft(f, 0.7), atol=1e-12)
    f, values = fourier.sampled_ft((np.abs(t) <= 1.0).astype(float), t)
    assert np.abs(values - fourier.box_ft(f, 2.0)).max() < 2 * dt
    np.testing.assert_allclose(values.imag, 0, atol=1e-9)  # the box is even


def test_analytic_box_is_a_sinc():
    f = np.array([0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(fourier.box_ft(f, 2.0), [2.0, 2 * np.sin(np.pi / 2) / (np.pi / 2),
                                                          0.0, 0.0], atol=1e-12)


# ----------------------------------------------------------------------------- 2-D spectra
def test_spectrum_matches_torch_fft2(rng):
    image = rng.random((12, 17))
    expected = torch.fft.fftshift(torch.fft.fft2(torch.from_numpy(image))).numpy()
    log_amp, phase = fourier.spectrum(image)
    np.testing.assert_allclose(log_amp, np.log1p(np.abs(expected)), atol=ATOL)
    assert np.unravel_index(np.argmax(log_amp), log_amp.shape) == (6, 8)  # DC at the centre
    keep = np.abs(expected) > 1e-6
    np.testing.assert_allclose(np.exp(1j * phase[keep]), np.exp(1j * np.angle(expected[keep])),
                               atol=ATOL)


@pytest.mark.parametrize("cycles, angle", [(4, 0), (8, 30), (8, 90), (16, 135), (10, 170)])
def test_dominant_frequency_finds_the_grating(cycles, angle):
    got_frequency, got_angle = fourier.dominant_frequency(grating(64, cycles / 64, angle))
    got_cycles = 64 * got_frequency
    assert got_cycles == pytest.approx(cycles, abs=0.75)  # nearest bin: within half a diagonal
    assert min(abs(got_angle - angle), 180 - abs(got_angle - angle)) < 180 / np.pi * 0.75 / cycles


@given(matrices(2, 8), st.integers(0, 10**6))
def test_swap_phase_keeps_one_amplitude_and_the_other_phase(a, seed):
    b = np.random.default_rng(seed).standard_normal(a.shape)
    mixed = fourier.swap_phase(a, b)
    fa, fb, fm = np.fft.fft2(a), np.fft.fft2(b), np.fft.fft2(mixed)
    np.testing.assert_allclose(np.abs(fm), np.abs(fa), atol=1e-8)
    keep = (np.abs(fa) > 1e-6) & (np.abs(fb) > 1e-6)
    np.testing.assert_allclose(fm[keep] / np.abs(fm[keep]), fb[keep] / np.abs(fb[keep]), atol=1e-6)


def test_swap_phase_with_itself_is_identity(rng):
    image = rng.random((9, 14))
    np.testing.assert_allclose(fourier.swap_phase(image, image), image, atol=ATOL)


# ----------------------------------------------------------------------------- filters
def test_masks_match_a_direct_construction():
    shape = (10, 15)
    fy, fx = np.meshgrid(np.fft.fftfreq(10), np.fft.fftfreq(15), indexing="ij")
    r2 = fy ** 2 + fx ** 2
    np.testing.assert_allclose(fourier.radial_frequency(shape) ** 2, r2, atol=1e-15)
    np.testing.assert_array_equal(fourier.lowpass_mask(shape, 0.17, "box"), r2 <= 0.17 ** 2)
    np.testing.assert_allclose(fourier.lowpass_mask(shape, 0.1, "gaussian"),
                               np.exp(-r2 / 0.02), atol=1e-15)
    for kind in fourier.MASK_KINDS:
        zero = fourier.lowpass_mask(shape, 0, kind)
        assert zero[0, 0] == 1 and zero.sum() == 1  # only the mean survives


def test_low_plus_high_pass_gives_back_the_image(rng):
    image = rng.random((16, 20))
    mask = fourier.lowpass_mask(image.shape, 0.15, "box")
    low, high = fourier.apply_mask(image, mask), fourier.apply_mask(image, 1 - mask)
    np.testing.assert_allclose(low + high, image, atol=ATOL)
    np.testing.assert_allclose(low.mean(), image.mean(), atol=ATOL)  # DC kept
    np.testing.assert_allclose(high.mean(), 0, atol=ATOL)


@pytest.mark.parametrize("sigma", [2.0, 3.5])
def test_gaussian_blur_fft_matches_scipy_wrap(rng, sigma):
    # The sampled Gaussian's spectrum differs from the continuous one by aliasing,
    # exp(-2 pi^2 sigma^2 (1 - f)^2) <= 3e-9 for sigma >= 2.
    image = rng.random((48, 40))
    expected = scipy.ndimage.gaussian_filter(image, sigma, mode="wrap", truncate=10)
    np.testing.assert_allclose(fourier.gaussian_blur_fft(image, sigma), expected, atol=1e-7)
    np.testing.assert_array_equal(fourier.gaussian_blur_fft(image, 0), image)


def test_box_mask_rings_and_gaussian_mask_does_not():
    step = np.zeros((64, 64))
    step[:, 16:48] = 1
    box = fourier.apply_mask(step, fourier.lowpass_mask(step.shape, 0.1, "box"))
    gauss = fourier.apply_mask(step, fourier.lowpass_mask(step.shape, 0.1, "gaussian"))
    assert 0.05 < fourier.overshoot(box, step) < 0.15  # Gibbs: about 9 %
    # The Gaussian mask is cut at the Nyquist frequency, where it is exp(-12.5) = 4e-6:
    # that truncation is the only ringing left.
    assert fourier.overshoot(gauss, step) < 1e-5
    assert fourier.overshoot(np.array([0.0, 1.5]), np.array([0.0, 1.0])) == pytest.approx(0.5)


# ----------------------------------------------------------------------------- convolution
def circular_reference(image, kernel):
    """Wrap-around convolution as a sum of rolled copies (no FFT)."""
    out = np.zeros_like(image)
    for a in range(kernel.shape[0]):
        for b in range(kernel.shape[1]):
            out += kernel[a, b] * np.roll(image, (a, b), axis=(0, 1))
    return out


@pytest.mark.parametrize("image_shape, kernel_shape", [((8, 8), (3, 3)), ((9, 13), (4, 6)),
                                                       ((5, 7), (5, 7)), ((6, 6), (1, 1))])
def test_circular_convolve_matches_rolled_sum(rng, image_shape, kernel_shape):
    image, kernel = rng.random(image_shape), rng.random(kernel_shape)
    np.testing.assert_allclose(fourier.circular_convolve(image, kernel),
                               circular_reference(image, kernel), atol=ATOL)


def test_zero_padding_turns_circular_into_linear(rng):
    image, kernel = rng.random((10, 12)), rng.random((5, 3))
    full_shape = (14, 14)
    padded = np.zeros(full_shape)
    padded[:10, :12] = image
    linear = scipy.signal.convolve2d(image, kernel, mode="full")
    np.testing.assert_allclose(fourier.circular_convolve(padded, kernel), linear, atol=ATOL)
    unpadded = fourier.circular_convolve(image, kernel)
    assert np.abs(unpadded - linear[:10, :12]).max() > 0.1  # without padding: wrap-around


@given(matrices(2, 8), st.integers(0, 10**6))
def test_convolution_theorem(image, seed):
    rng = np.random.default_rng(seed)
    kernel = rng.standard_normal((rng.integers(1, image.shape[0] + 1),
                                  rng.integers(1, image.shape[1] + 1)))
    spatial = circular_reference(image, kernel)
    product = np.fft.fft2(image) * np.fft.fft2(kernel, s=image.shape)
    np.testing.assert_allclose(np.fft.fft2(spatial), product, atol=1e-7)
    np.testing.assert_allclose(fourier.circular_convolve(image, kernel), spatial, atol=1e-8)


@given(matrices(1, 8), st.integers(0, 10**6))
def test_product_in_space_is_circular_convolution_of_spectra(x, seed):
    y = np.random.default_rng(seed).standard_normal(x.shape)
    fx, fy = np.fft.fft2(x), np.fft.fft2(y)
    conv = np.zeros(x.shape, dtype=complex)  # circular convolution of the spectra, by rolls
    for a in range(x.shape[0]):
        for b in range(x.shape[1]):
            conv += fx[a, b] * np.roll(fy, (a, b), axis=(0, 1))
    np.testing.assert_allclose(np.fft.fft2(x * y), conv / x.size, atol=1e-7)


def test_circular_convolve_1d_matches_the_definition(rng):
    a = rng.standard_normal(9) + 1j * rng.standard_normal(9)
    b = rng.standard_normal(9)
    expected = [sum(a[m] * b[(n - m) % 9] for m in range(9)) for n in range(9)]
    np.testing.assert_allclose(fourier.circular_convolve_1d(a, b), expected, atol=ATOL)


@given(st.integers(1, 30).flatmap(lambda n: st.tuples(
    arrays(np.float64, n, elements=finite), arrays(np.float64, n, elements=finite))))
def test_convolution_theorem_both_ways_1d(xy):
    x, y = xy
    fx, fy = np.fft.fft(x), np.fft.fft(y)
    np.testing.assert_allclose(np.fft.fft(fourier.circular_convolve_1d(x, y)), fx * fy, atol=1e-7)
    np.testing.assert_allclose(np.fft.fft(x * y), fourier.circular_convolve_1d(fx, fy) / x.size,
                               atol=1e-7)


CASES = [((20, 30), (3, 3)), ((20, 30), (4, 6)), ((17, 9), (9, 9)), ((8, 8), (8, 8)),
         ((31, 12), (1, 5)), ((6, 40), (5, 2))]


@pytest.mark.parametrize("image_shape, kernel_shape", CASES)
@pytest.mark.parametrize("mode", fourier.CONV_MODES)
def test_fft_convolve_matches_scipy_and_chapter_01(rng, image_shape, kernel_shape, mode):
    image, kernel = rng.standard_normal(image_shape), rng.standard_normal(kernel_shape)
    got = fourier.fft_convolve(image, kernel, mode=mode)
    np.testing.assert_allclose(got, scipy.signal.convolve2d(image, kernel, mode=mode), atol=ATOL)
    np.testing.assert_allclose(got, scipy.signal.fftconvolve(image, kernel, mode=mode), atol=ATOL)
    np.testing.assert_allclose(got, filters.conv2d(image, kernel, mode=mode, boundary="zero"),
                               atol=ATOL)


def test_fft_convolve_with_a_gaussian_matches_conv2d(rng):
    image = rng.random((64, 64))
    kernel = filters.gaussian_kernel(3.0)
    np.testing.assert_allclose(fourier.fft_convolve(image, kernel),
                               filters.conv2d(image, kernel), atol=ATOL)


@given(matrices(1, 8), matrices(1, 5))
def test_fft_convolve_full_is_commutative_and_matches_direct(a, b):
    direct = scipy.signal.convolve2d(a, b, mode="full")
    np.testing.assert_allclose(fourier.fft_convolve(a, b, "full"), direct, atol=1e-8)
    np.testing.assert_allclose(fourier.fft_convolve(b, a, "full"), direct, atol=1e-8)


@given(matrices(3, 8), finite, finite, st.integers(0, 10**6))
def test_fft_convolve_is_linear(x, a, b, seed):
    rng = np.random.default_rng(seed)
    y, k = rng.standard_normal(x.shape), rng.standard_normal((3, 2))
    lhs = fourier.fft_convolve(a * x + b * y, k)
    rhs = a * fourier.fft_convolve(x, k) + b * fourier.fft_convolve(y, k)
    np.testing.assert_allclose(lhs, rhs, atol=1e-7)


# ----------------------------------------------------------------------------- applications
def test_hybrid_image_matches_a_scipy_construction(rng):
    low, high = rng.random((40, 48)), rng.random((40, 48))
    expected = (scipy.ndimage.gaussian_filter(low, 4.0, mode="wrap", truncate=10)
                + high - scipy.ndimage.gaussian_filter(high, 2.0, mode="wrap", truncate=10))
    np.testing.assert_allclose(fourier.hybrid_image(low, high, 4.0, 2.0), expected, atol=1e-7)
    np.testing.assert_allclose(fourier.hybrid_image(low, low, 3.0, 3.0), low, atol=ATOL)


def test_viewing_distance_halves_and_removes_detail(rng):
    image = rng.random((64, 50))
    copies = fourier.viewing_distance(image, levels=4)
    assert [c.shape for c in copies] == [(64, 50), (32, 25), (16, 13), (8, 7)]
    assert copies[0] is image or np.array_equal(copies[0], image)
    assert copies[1].std() < 0.5 * image.std()  # blurred noise loses most of its variance


def test_keep_largest(rng):
    image = rng.random((24, 30))
    coeffs = np.fft.rfft2(image)
    rebuilt, n_kept = fourier.keep_largest(image, 1.0)
    assert n_kept == coeffs.size
    np.testing.assert_allclose(rebuilt, image, atol=ATOL)
    rebuilt, n_kept = fourier.keep_largest(image, 0.1)
    assert n_kept == round(0.1 * coeffs.size)
    kept = np.fft.rfft2(rebuilt)
    largest = np.sort(np.abs(coeffs).ravel())[::-1][:n_kept]
    np.testing.assert_allclose(np.sort(np.abs(kept[np.abs(kept) > 1e-9]).ravel())[::-1][:n_kept],
                               largest, rtol=1e-6)
    _, one = fourier.keep_largest(image, 1e-9)
    assert one == 1
    psnrs = [metrics.psnr(image, fourier.keep_largest(image, f)[0]) for f in (0.01, 0.1, 0.5)]
    assert psnrs[0] < psnrs[1] < psnrs[2]


@pytest.mark.parametrize("data_range", [1.0, 2.0])
def test_psnr_matches_skimage(rng, data_range):
    a = rng.random((16, 16))
    b = np.clip(a + 0.05 * rng.standard_normal(a.shape), 0, 1)
    assert metrics.psnr(a, b, data_range) == pytest.approx(
        peak_signal_noise_ratio(a, b, data_range=data_range), rel=1e-12)
    assert metrics.psnr(a, a) == float("inf")


def test_campbell_robson_chart():
    chart = patterns.campbell_robson((64, 400), f_min=0.01, f_max=0.2, contrast_min=0.01)
    assert chart.shape == (64, 400) and 0 <= chart.min() and chart.max() <= 1
    row = chart[-1] - 0.5
    crossings = np.flatnonzero(np.diff(np.sign(row)))
    assert np.diff(crossings)[-5:].mean() < 0.5 * np.diff(crossings)[:5].mean()  # faster right
    contrast = chart.max(axis=1) - chart.min(axis=1)
    assert contrast[-1] == pytest.approx(1.0, abs=0.01) and contrast[0] < 0.02


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, match", [
    (lambda: fourier.spectrum(np.zeros(5)), "image must have 2 dimensions"),
    (lambda: fourier.spectrum(np.zeros((2, 3, 4))), "image must have 2 dimensions"),
    (lambda: fourier.dft(np.zeros((3, 3))), "x must have 1 dimensions"),
    (lambda: fourier.fft_convolve(np.zeros((4, 4, 3)), np.ones((3, 3))), "image must have 2"),
    (lambda: fourier.fft_convolve(np.zeros((4, 4)), np.ones(3)), "kernel must have 2"),
    (lambda: fourier.fft_convolve(np.zeros((4, 4)), np.ones((5, 3)), "valid"), "larger than"),
    (lambda: fourier.fft_convolve(np.zeros((4, 4)), np.ones((3, 3)), "circular"), "mode must be"),
    (lambda: fourier.circular_convolve(np.zeros((4, 4)), np.ones((5, 3))), "larger than"),
    (lambda: fourier.swap_phase(np.zeros((4, 4)), np.zeros((4, 5))), "same shape"),
    (lambda: fourier.hybrid_image(np.zeros((4, 4)), np.zeros((5, 4)), 1, 1), "same shape"),
    (lambda: fourier.apply_mask(np.zeros((4, 4)), np.ones((4, 3))), "mask must have"),
    (lambda: metrics.psnr(np.zeros((4, 4)), np.zeros((4, 3))), "same shape"),
    (lambda: fourier.circular_convolve_1d(np.zeros(5), np.zeros(4)), "same shape"),
    (lambda: fourier.circular_convolve_1d(np.zeros((2, 2)), np.zeros(4)), "a must be a non-empty"),
    (lambda: fourier.dominant_frequency(np.zeros(4)), "image must have 2"),
    (lambda: fourier.winding(np.zeros(5), np.zeros(4), 1.0), "same shape"),
    (lambda: fourier.sampled_ft(np.zeros(4), np.array([0, 1, 3, 4.0])), "uniformly spaced"),
    (lambda: fourier.lowpass_mask((8, 8), -0.1), "cutoff must be finite and >= 0"),
    (lambda: fourier.lowpass_mask((8, 8), 0.1, "ideal"), "kind must be one of"),
    (lambda: fourier.lowpass_mask((8, -8), 0.1), "shape must be two positive integers"),
    (lambda: fourier.radial_frequency(8), "shape must be two positive integers"),
    (lambda: fourier.gaussian_blur_fft(np.zeros((4, 4)), -1), "sigma must be"),
    (lambda: fourier.hybrid_image(np.zeros((4, 4)), np.zeros((4, 4)), -1, 1), "sigma must be"),
    (lambda: fourier.keep_largest(np.zeros((4, 4)), 0), "fraction must be"),
    (lambda: fourier.keep_largest(np.zeros((4, 4)), 1.5), "fraction must be in"),
    (lambda: fourier.viewing_distance(np.zeros((4, 4)), 0), "levels must be"),
    (lambda: fourier.overshoot(np.zeros(4), np.ones(4)), "original must not be constant"),
    (lambda: patterns.campbell_robson(f_min=0.3, f_max=0.2), "f_min < f_max"),
    (lambda: fourier.box_ft(1.0, -2), "width must be"),
    (lambda: fourier.gaussian_ft(1.0, 0), "sigma must be"),
    (lambda: fourier.coefficient_to_sinusoid(1j, 0), "n_samples"),
    (lambda: fourier.coefficient_to_sinusoid(1j, 2.5), "n_samples"),
    (lambda: fourier.viewing_distance(np.zeros((4, 4)), 1.5), "levels"),
    (lambda: fourier.radial_amplitude(np.zeros((8, 8)), n_bins=1), "n_bins"),
    (lambda: fourier.radial_amplitude(np.zeros((8, 8)), f_min=0.3, f_max=0.2), "f_min < f_max"),
    (lambda: fourier.spectrum_slope(np.zeros((4, 4)), f_min=0.3, f_max=0.31), "too small"),
    (lambda: fourier.sinusoid(np.zeros(3), amplitude=-1), "amplitude must be"),
])
def test_bad_input_raises_a_clear_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("amplitude,frequency,phase", [(2.0, 1.5, 0.8), (0.5, 3.0, 4.0),
                                                       (1.0, 2.0, 0.0)])
def test_read_sinusoid_recovers_the_parameters(amplitude, frequency, phase):
    t = np.linspace(0, 2, 20_000, endpoint=False)
    g = amplitude * np.cos(2 * np.pi * frequency * t + phase)
    got = fourier.read_sinusoid(t, g)
    assert got["amplitude"] == pytest.approx(amplitude, abs=1e-3)
    assert got["frequency"] == pytest.approx(frequency, abs=1e-9)
    assert min(abs(got["phase"] - phase % (2 * np.pi)),
               2 * np.pi - abs(got["phase"] - phase % (2 * np.pi))) < 1e-2
    # against scipy's least-squares fit of the same model
    from scipy.optimize import curve_fit

    model = lambda t, a, f, p: a * np.cos(2 * np.pi * f * t + p)  # noqa: E731
    (a, f, p), _ = curve_fit(model, t[::50], g[::50], p0=[got["amplitude"], got["frequency"],
                                                          got["phase"]])
    assert (a, f) == pytest.approx((got["amplitude"], got["frequency"]), abs=1e-2)


def test_read_sinusoid_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        fourier.read_sinusoid(np.arange(5.0), np.arange(4.0))
    with pytest.raises(ValueError, match="never crosses zero"):
        fourier.read_sinusoid(np.arange(5.0), np.ones(5))


def test_wrong_types_raise_type_errors():
    with pytest.raises(TypeError, match="phase must be a finite real"):
        fourier.sinusoid(np.zeros(3), phase="0.5")
    with pytest.raises(TypeError, match="frequency must be a finite real"):
        fourier.winding(np.zeros(3), np.zeros(3), None)
    with pytest.raises(TypeError, match="coefficient must be a complex"):
        fourier.coefficient_to_sinusoid("1+1j", 4)
    with pytest.raises(TypeError, match="f must be a numeric"):
        fourier.box_ft("a", 1.0)


def test_spectrum_slope_of_known_power_laws():
    # synthesise images whose amplitude spectrum is exactly f^a (random phases): slope a back
    rng = np.random.default_rng(0)
    r = fourier.radial_frequency((128, 128))
    r[0, 0] = 1.0
    for exponent in (0.0, -1.0, -2.0):
        spectrum = r ** exponent * np.exp(2j * np.pi * rng.random((128, 128)))
        image = np.fft.ifft2(spectrum).real
        # these images are periodic (no jump between opposite borders): the plain fit is exact
        # to the ring averaging, and the window costs a little leakage at most
        assert fourier.spectrum_slope(image, window=False) == pytest.approx(exponent, abs=0.1)
        assert fourier.spectrum_slope(image) == pytest.approx(exponent, abs=0.15)


def test_the_window_removes_what_the_borders_add():
    """A crop of a periodic power-law image jumps where the DFT wraps it around: without a
    window the jump adds a streak along the spectrum's axes and flattens the fitted slope
    towards -1; the Hann window recovers the image's own slope and no streak."""
    rng = np.random.default_rng(3)
    r = fourier.radial_frequency((256, 256))
    r[0, 0] = 1.0
    periodic = np.fft.ifft2(r ** -2.0 * np.exp(2j * np.pi * rng.random((256, 256)))).real
    crop = periodic[:128, :128]
    assert fourier.axis_excess(periodic) == pytest.approx(1.0, abs=0.1)   # no direction
    assert fourier.axis_excess(crop) > 5 and fourier.axis_excess(crop, window=True) == pytest.approx(1.0, abs=0.15)
    assert fourier.spectrum_slope(crop, window=False) > -1.85
    assert fourier.spectrum_slope(crop) == pytest.approx(-2.0, abs=0.3)
    with pytest.raises(ValueError, match="no content"):
        fourier.axis_excess(np.ones((8, 8)), f_min=0.6)


def test_hann_window_matches_scipy():
    from scipy.signal import windows

    w = fourier.hann_window((6, 9))
    np.testing.assert_allclose(w, np.outer(windows.hann(6), windows.hann(9)))
    image = np.arange(54.0).reshape(6, 9)
    np.testing.assert_allclose(fourier.windowed(image), (image - image.mean()) * w)


def test_radial_amplitude_averages_rings():
    image = np.random.default_rng(1).random((32, 32))
    f, amplitude = fourier.radial_amplitude(image, n_bins=4, f_min=0.1, f_max=0.5)
    full = np.abs(np.fft.fft2(image - image.mean()))
    r = fourier.radial_frequency(image.shape)
    edges = np.geomspace(0.1, 0.5, 5)
    ring = (r >= edges[0]) & (r < edges[1])
    assert amplitude[0] == pytest.approx(full[ring].mean())
    assert f[0] == pytest.approx(r[ring].mean())


def test_edge_error_share():
    rng = np.random.default_rng(2)
    image = np.zeros((32, 32))
    image[:, 16:] = 1.0  # one vertical edge: columns 15 and 16 carry all the gradient
    edges = np.zeros_like(image, bool)
    edges[:, 15:17] = True
    on_edges = image + np.where(edges, rng.normal(0, 0.1, image.shape), 0.0)
    assert fourier.edge_error_share(image, on_edges, top=0.0625) == pytest.approx(1.0)
    noise = rng.normal(0, 0.1, image.shape)
    expected = (noise[edges] ** 2).sum() / (noise ** 2).sum()
    assert fourier.edge_error_share(image, image + noise, top=0.0625) == pytest.approx(expected)
    assert fourier.edge_error_share(image, image) == 0.0
    with pytest.raises(ValueError, match="top must be a fraction"):
        fourier.edge_error_share(image, image, top=1.0)
    with pytest.raises(ValueError, match="same shape"):
        fourier.edge_error_share(image, image[:, :5])


def test_complex_or_text_input_raises_type_error():
    with pytest.raises(TypeError, match="image must be real-valued"):
        fourier.spectrum(np.zeros((4, 4), dtype=complex))
    with pytest.raises(TypeError, match="kernel must be a numeric array"):
        fourier.fft_convolve(np.zeros((4, 4)), [["a"]])


def test_the_ideal_mask_blurs_with_a_jinc():
    """The disc mask's blur kernel (its inverse DFT) against the analytic transform of a disc,
    cutoff J1(2 pi cutoff r) / r, on a grid fine enough for aliasing to stay small."""
    n, cutoff = 256, 0.1
    kernel = np.fft.fftshift(np.fft.ifft2(fourier.lowpass_mask((n, n), cutoff, "box")).real)
    y, x = np.mgrid[:n, :n] - n // 2
    jinc = fourier.disc_ft(np.hypot(x, y), cutoff)
    assert jinc[n // 2, n // 2] == pytest.approx(np.pi * cutoff ** 2)
    assert np.abs(kernel - jinc).max() < 0.02 * jinc.max()
    assert kernel.min() < -0.1 * kernel.max()          # negative rings: it overshoots edges
    # the first zero of J1 is at 3.8317: the kernel's first dark ring
    assert fourier.disc_ft(3.8317 / (2 * np.pi * cutoff), cutoff) == pytest.approx(0, abs=1e-5)


def test_with_amplitude_and_the_swap_study():
    rng = np.random.default_rng(5)
    a, p = rng.random((16, 16)), rng.random((16, 16))
    # its own amplitude gives the image back; another's is swap_phase
    np.testing.assert_allclose(fourier.with_amplitude(p, np.abs(np.fft.fft2(p))), p, atol=1e-12)
    np.testing.assert_allclose(fourier.swap_phase(a, p), fourier.with_amplitude(p, np.abs(np.fft.fft2(a))))
    np.testing.assert_allclose(fourier.mean_amplitude([a, p]),
                               (np.abs(np.fft.fft2(a)) + np.abs(np.fft.fft2(p))) / 2)
    # three images that differ only in amplitude scale share their spectrum's shape exactly:
    # the mean amplitude of the others rebuilds each one perfectly
    study = fourier.amplitude_swap_study({"x": p, "2x": 2 * p, "3x": 3 * p})
    assert all(r == pytest.approx(1.0) for r in study["own_phase_mean_amplitude"].values())
    assert set(study["pairs"]) == {(i, j) for i in ("x", "2x", "3x") for j in ("x", "2x", "3x") if i != j}
    with pytest.raises(ValueError, match="at least 3"):
        fourier.amplitude_swap_study({"x": p, "y": a})
    with pytest.raises(ValueError, match="one shape"):
        fourier.mean_amplitude([a, p[:8]])
    with pytest.raises(ValueError, match="amplitude must have the shape"):
        fourier.with_amplitude(p, np.ones((4, 4)))
