"""The Fourier transform for images: spectra, frequency-domain filters, FFT convolution.

Conventions (the same as ``numpy.fft``):
- ``X[k] = sum_n x[n] exp(-2 pi i k n / N)``; frequencies are in cycles per sample (pixel),
  ``np.fft.fftfreq(N)``, in [-0.5, 0.5).
- Frequency-domain masks use numpy's layout (zero frequency at index ``[0, 0]``); apply
  ``np.fft.fftshift`` only to *display* a spectrum with zero frequency in the centre.
"""
from __future__ import annotations

import numpy as np
from scipy import fft as sfft
from scipy import special
from scipy.stats import pearsonr

from ..metrics import psnr
from ..validate import (
    as_float_array,
    check_choice,
    check_int,
    check_positive,
    check_real,
    check_shape_2d,
    reject_tensor,
)

CONV_MODES = ("full", "same", "valid")
MASK_KINDS = ("box", "gaussian")


# ----------------------------------------------------------------------------- 1-D signals
def sinusoid(t, amplitude: float = 1.0, frequency: float = 1.0, phase: float = 0.0) -> np.ndarray:
    """``amplitude * cos(2 pi frequency t + phase)``; t: (N,) in seconds -> (N,)."""
    t = as_float_array(t, "t", ndim=1)
    check_positive(amplitude, "amplitude", allow_zero=True)
    check_positive(frequency, "frequency", allow_zero=True)
    phase = check_real(phase, "phase")
    return amplitude * np.cos(2 * np.pi * frequency * t + phase)


def read_sinusoid(t, signal) -> dict[str, float]:
    """Read amplitude, frequency and phase of ``A cos(2 pi f t + phi)`` off its samples, the
    way one would by eye: the peak value, the zero crossings per unit time divided by two,
    and the time of the first peak (phase = -2 pi f t_peak, in [0, 2 pi)).

    t, signal: (N,) on a uniform grid covering whole periods -> {"amplitude", "frequency",
    "phase"}.
    """
    t = as_float_array(t, "t", ndim=1)
    signal = as_float_array(signal, "signal", ndim=1)
    if signal.shape != t.shape or t.size < 3:
        raise ValueError(f"signal and t must have the same shape with >= 3 samples, "
                         f"got {signal.shape} and {t.shape}")
    duration = t[-1] - t[0] + (t[1] - t[0])
    crossings = np.count_nonzero(np.diff(np.sign(signal)) != 0)
    if crossings == 0:
        raise ValueError("signal never crosses zero: not a whole number of periods of a cosine")
    frequency = crossings / 2 / duration
    first_period = t < t[0] + 1 / frequency
    t_peak = t[first_period][np.argmax(signal[first_period])] - t[0]
    return {"amplitude": float(signal.max()), "frequency": float(frequency),
            "phase": float((-2 * np.pi * frequency * t_peak) % (2 * np.pi))}


def winding(signal, t, frequency: float) -> tuple[np.ndarray, complex]:
    """Wind ``signal`` around the origin at ``frequency`` turns per second.

    signal, t: (N,) samples g(t_n) at times t_n (uniform spacing).
    Returns the wound points ``g(t) exp(-2 pi i f t)`` (N,) complex and their centre of mass
    (their mean), which is the Fourier transform at ``f`` divided by the signal's duration.
    """
    signal = as_float_array(signal, "signal", ndim=1)
    t = as_float_array(t, "t", ndim=1)
    if signal.shape != t.shape:
        raise ValueError(f"signal and t must have the same shape, got {signal.shape} and {t.shape}")
    points = signal * np.exp(-2j * np.pi * check_real(frequency, "frequency") * t)
    return points, complex(points.mean())


def winding_centres(signal, t, frequencies) -> np.ndarray:
    """Centre of mass of ``signal`` wound at each frequency (see :func:`winding`):
    frequencies (F,) -> (F,) complex."""
    frequencies = as_float_array(frequencies, "frequencies", ndim=1)
    return np.array([winding(signal, t, float(f))[1] for f in frequencies])


def dft(x) -> np.ndarray:
    """The DFT written as a matrix product (O(N^2)); x: (N,) real -> X: (N,) complex.

    Row k of the matrix is the sampled wave ``exp(-2 pi i k n / N)``: N samples, N frequencies.
    """
    x = as_float_array(x, "x", ndim=1)
    n = np.arange(x.size)
    return np.exp(-2j * np.pi * np.outer(n, n) / x.size) @ x


def coefficient_to_sinusoid(coefficient: complex, n_samples: int) -> tuple[float, float]:
    """Amplitude and phase of the real cosine behind one DFT coefficient.

    For ``x[n] = A cos(2 pi k n / N + phi)`` with 0 < k < N/2, ``X[k] = (N A / 2) exp(i phi)``,
    so ``A = 2 |X[k]| / N`` and ``phi = angle(X[k])`` (radians, in (-pi, pi]).
    """
    n_samples = check_int(n_samples, "n_samples", 1)
    if not isinstance(coefficient, (complex, float, int, np.number)) or isinstance(coefficient, bool):
        raise TypeError(f"coefficient must be a complex number, got {type(coefficient).__name__}")
    return 2 * abs(coefficient) / n_samples, float(np.angle(coefficient))


def sampled_ft(signal, t) -> tuple[np.ndarray, np.ndarray]:
    """Approximate the continuous transform ``G(f) = integral g(t) exp(-2 pi i f t) dt``.

    signal, t: (N,) samples on a uniform grid. Returns ``f`` (N,) in cycles per unit of t,
    ascending (zero in the middle), and ``G(f)`` (N,) complex: a Riemann sum computed by FFT.
    """
    signal = as_float_array(signal, "signal", ndim=1)
    t = as_float_array(t, "t", ndim=1)
    if signal.shape != t.shape or t.size < 2:
        raise ValueError(f"signal and t must have the same shape with >= 2 samples, "
                         f"got {signal.shape} and {t.shape}")
    dt = t[1] - t[0]
    if dt <= 0 or not np.allclose(np.diff(t), dt, rtol=1e-6, atol=0):
        raise ValueError("t must be uniformly spaced and increasing")
    f = np.fft.fftfreq(t.size, d=dt)
    values = dt * np.exp(-2j * np.pi * f * t[0]) * np.fft.fft(signal)
    return np.fft.fftshift(f), np.fft.fftshift(values)


def box_ft(f, width: float) -> np.ndarray:
    """Analytic transform of a box of height 1 on |t| <= width/2: ``width sinc(width f)``."""
    width = check_positive(width, "width")
    return width * np.sinc(width * as_float_array(f, "f"))


def disc_ft(r, cutoff: float) -> np.ndarray:
    """Analytic 2-D transform of a disc of height 1 and radius ``cutoff``: the jinc
    ``cutoff J1(2 pi cutoff r) / r`` (``pi cutoff^2`` at r = 0), a function of the radius
    ``r`` only. It is the blur kernel of the ideal low-pass mask (``lowpass_mask(kind="box")``,
    a disc in the frequency plane): like the sinc it has negative rings."""
    cutoff = check_positive(cutoff, "cutoff")
    r = np.abs(as_float_array(r, "r"))
    safe = np.where(r > 0, r, 1.0)
    return np.where(r > 0, cutoff * special.j1(2 * np.pi * cutoff * safe) / safe, np.pi * cutoff ** 2)


def gaussian_ft(f, sigma: float) -> np.ndarray:
    """Analytic transform of ``exp(-t^2 / (2 sigma^2))``.

    It is again a Gaussian: ``sigma sqrt(2 pi) exp(-2 pi^2 sigma^2 f^2)``, of width 1 / (2 pi sigma).
    """
    sigma = check_positive(sigma, "sigma")
    f = as_float_array(f, "f")
    return sigma * np.sqrt(2 * np.pi) * np.exp(-2 * np.pi ** 2 * sigma ** 2 * f ** 2)


# ----------------------------------------------------------------------------- 2-D spectra
def hann_window(shape: tuple[int, int]) -> np.ndarray:
    """The 2-D Hann window (the outer product of two 1-D ones): 1 in the middle, 0 at the
    border, so a windowed image has no jump where the DFT wraps it around. (H, W)."""
    h, w = check_shape_2d(shape)
    return np.outer(np.hanning(h), np.hanning(w))


def windowed(image) -> np.ndarray:
    """``image`` minus its mean, times the Hann window: what to transform when the spectrum
    should describe the content rather than the jump between opposite borders."""
    image = as_float_array(image, "image", ndim=2)
    return (image - image.mean()) * hann_window(image.shape)


def spectrum(image, window: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Centred log-amplitude and phase images of ``image``: (H, W) -> two (H, W) arrays.

    ``log(1 + |F|)`` and ``angle(F)`` of ``F = fftshift(fft2(image))``: zero frequency sits at
    ``(H // 2, W // 2)``. With ``window`` the image is ``windowed`` first.
    """
    image = as_float_array(image, "image", ndim=2)
    f = np.fft.fftshift(np.fft.fft2(windowed(image) if window else image))
    return np.log1p(np.abs(f)), np.angle(f)


def axis_excess(image, window: bool = False, f_min: float = 1 / 32) -> float:
    """How much brighter the two axes of the spectrum (zero horizontal or zero vertical
    frequency) are than the rest at the same frequency: in each ring of frequency radius
    (width 1 / min(H, W)) from ``f_min`` to 0.5 cycles per pixel, mean |F| on the axes over
    mean |F| off them; the median over rings. About 1 for content without a preferred
    direction. The DFT treats the image as periodic, so a jump between opposite borders adds
    a streak along each axis (a ratio well above 1): compare with and without ``window``."""
    image = as_float_array(image, "image", ndim=2)
    f_min = check_positive(f_min, "f_min")
    amplitude = np.abs(np.fft.fft2(windowed(image) if window else image - image.mean()))
    radius = radial_frequency(image.shape)
    ring = np.floor(radius * min(image.shape)).astype(int)
    on_axis = np.zeros(image.shape, dtype=bool)
    on_axis[0, :] = on_axis[:, 0] = True
    ratios = []
    for k in np.unique(ring[(radius >= f_min) & (radius <= 0.5)]):
        here = ring == k
        on, off = amplitude[here & on_axis], amplitude[here & ~on_axis]
        if on.size and off.size and off.mean() > 0:
            ratios.append(on.mean() / off.mean())
    if not ratios:
        raise ValueError(f"image {image.shape} has no content in the rings from f_min={f_min}")
    return float(np.median(ratios))


def dominant_frequency(image) -> tuple[float, float]:
    """Where the strongest non-zero frequency of ``image`` (H, W) sits in its spectrum.

    Returns ``(frequency, angle)``: the distance of the largest-amplitude bin (the mean left
    out) from zero frequency in cycles per pixel, and its direction in degrees in [0, 180),
    from the x axis towards the y axis (clockwise on screen): the convention of
    ``course_utils.data.patterns.grating``, so a grating's own (frequency, angle) comes back.
    """
    image = as_float_array(image, "image", ndim=2)
    amplitude = np.abs(np.fft.fft2(image - image.mean()))
    row, col = np.unravel_index(np.argmax(amplitude), amplitude.shape)
    v, u = np.fft.fftfreq(image.shape[0])[row], np.fft.fftfreq(image.shape[1])[col]
    return float(np.hypot(u, v)), float(np.degrees(np.arctan2(v, u)) % 180)


def radial_amplitude(image, n_bins: int = 30, f_min: float = 1 / 128,
                     f_max: float = 0.5, window: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged amplitude spectrum: mean |F| over rings of frequency radius.

    image: (H, W). The rings are ``n_bins`` logarithmically spaced bins between ``f_min`` and
    ``f_max`` cycles per pixel (empty bins are dropped). Returns (frequency (B,), the mean
    ring radius; amplitude (B,)). The image's mean is removed first; with ``window`` it is
    also multiplied by the Hann window (``windowed``).
    """
    image = as_float_array(image, "image", ndim=2)
    n_bins = check_int(n_bins, "n_bins", 2)
    f_min, f_max = check_positive(f_min, "f_min"), check_positive(f_max, "f_max")
    if not f_min < f_max:
        raise ValueError(f"need f_min < f_max, got f_min={f_min}, f_max={f_max}")
    amplitude = np.abs(np.fft.fft2(windowed(image) if window else image - image.mean())).ravel()
    radius = radial_frequency(image.shape).ravel()
    edges = np.geomspace(f_min, f_max, n_bins + 1)
    which = np.digitize(radius, edges) - 1
    inside = (which >= 0) & (which < n_bins)
    counts = np.bincount(which[inside], minlength=n_bins)
    sums = np.bincount(which[inside], amplitude[inside], minlength=n_bins)
    mean_r = np.bincount(which[inside], radius[inside], minlength=n_bins)
    keep = counts > 0
    return mean_r[keep] / counts[keep], sums[keep] / counts[keep]


def spectrum_slope(image, f_min: float = 1 / 64, f_max: float = 0.25,
                   window: bool = True) -> float:
    """Exponent a of the power law |F(f)| ~ f^a fitted (least squares in log-log) to the
    radially averaged amplitude spectrum between ``f_min`` and ``f_max`` cycles per pixel,
    of the Hann-``windowed`` image unless ``window`` is False (the jump between opposite
    borders would add power falling as 1/f along the axes, biasing the fit).

    image: (H, W) -> a. Natural images give a near -1 or below (the amplitude at least halves
    when the frequency doubles); white noise gives 0.
    """
    f, amplitude = radial_amplitude(image, f_min=f_min, f_max=f_max, window=window)
    if f.size < 2:
        raise ValueError("image is too small for the frequency band [f_min, f_max]")
    return float(np.polyfit(np.log(f), np.log(amplitude), 1)[0])


def with_amplitude(phase_source, amplitude) -> np.ndarray:
    """The image whose Fourier phase is ``phase_source``'s and whose amplitude is
    ``amplitude`` (numpy's FFT layout). phase_source, amplitude: (H, W) -> (H, W) real."""
    p = as_float_array(phase_source, "phase_source", ndim=2)
    a = as_float_array(amplitude, "amplitude", ndim=2)
    if a.shape != p.shape:
        raise ValueError(f"amplitude must have the shape of phase_source {p.shape}, got {a.shape}")
    return np.fft.ifft2(a * np.exp(1j * np.angle(np.fft.fft2(p)))).real


def swap_phase(amplitude_source, phase_source) -> np.ndarray:
    """The image with the Fourier amplitude of one image and the phase of another.

    amplitude_source, phase_source: (H, W) -> (H, W) real.
    """
    a = as_float_array(amplitude_source, "amplitude_source", ndim=2)
    p = as_float_array(phase_source, "phase_source", ndim=2)
    if a.shape != p.shape:
        raise ValueError(f"amplitude_source and phase_source must have the same shape, "
                         f"got {a.shape} and {p.shape}")
    return with_amplitude(p, np.abs(np.fft.fft2(a)))


def mean_amplitude(images) -> np.ndarray:
    """The Fourier amplitude |F| averaged over ``images`` (a list of (H, W) of one shape)."""
    images = [as_float_array(im, "images", ndim=2) for im in images]
    if not images or len({im.shape for im in images}) != 1:
        raise ValueError("images must be a non-empty list of (H, W) images of one shape")
    return np.mean([np.abs(np.fft.fft2(im)) for im in images], axis=0)


def amplitude_swap_study(images: dict) -> dict:
    """What the amplitude carries, over a set of photographs of one shape (name -> (H, W)):

    - ``own_phase_mean_amplitude``: per photo, the correlation with the photo of the image built
      from its own phase and the *mean* amplitude of the others (leave-one-out): high when
      photographs share their amplitude spectrum;
    - ``own_phase_flat_amplitude``: the control, the same with a flat amplitude (every
      frequency at the photo's mean |F|): what the phase alone gives back;
    - ``pairs``: per ordered pair (amplitude source, phase source), the correlations of the
      swapped image with its phase source and with its amplitude source.
    """
    names = list(images)
    if len(names) < 3:
        raise ValueError(f"images must hold at least 3 photographs, got {len(names)}")
    own, flat = {}, {}
    for name in names:
        image = images[name]
        others = mean_amplitude([images[n] for n in names if n != name])
        own[name] = float(pearsonr(with_amplitude(image, others).ravel(), image.ravel()).statistic)
        level = np.full(image.shape, np.abs(np.fft.fft2(image)).mean())
        flat[name] = float(pearsonr(with_amplitude(image, level).ravel(), image.ravel()).statistic)
    pairs = {}
    for a in names:
        for p in names:
            if a != p:
                mixed = swap_phase(images[a], images[p])
                pairs[(a, p)] = {"r with phase source": float(pearsonr(mixed.ravel(), images[p].ravel()).statistic),
                                 "r with amplitude source": float(pearsonr(mixed.ravel(), images[a].ravel()).statistic)}
    return {"own_phase_mean_amplitude": own, "own_phase_flat_amplitude": flat, "pairs": pairs}


# ----------------------------------------------------------------------------- filters
def radial_frequency(shape: tuple[int, int]) -> np.ndarray:
    """Distance of every DFT bin from zero frequency, in cycles per pixel: (H, W), numpy layout."""
    h, w = check_shape_2d(shape)
    return np.hypot(np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :])


def lowpass_mask(shape: tuple[int, int], cutoff: float, kind: str = "gaussian") -> np.ndarray:
    """A low-pass mask in numpy's FFT layout: (H, W) in [0, 1].

    ``kind="box"``: 1 where the frequency radius is <= ``cutoff`` (cycles per pixel), else 0.
    ``kind="gaussian"``: ``exp(-r^2 / (2 cutoff^2))``, i.e. ``cutoff`` is the Gaussian's sigma.
    The high-pass mask is ``1 - lowpass_mask(...)``.
    """
    cutoff = check_positive(cutoff, "cutoff", allow_zero=True)
    check_choice(kind, "kind", MASK_KINDS)
    r = radial_frequency(shape)
    if kind == "box":
        return (r <= cutoff).astype(np.float64)
    if cutoff == 0:
        return (r == 0).astype(np.float64)
    return np.exp(-r ** 2 / (2 * cutoff ** 2))


def apply_mask(image, mask) -> np.ndarray:
    """Multiply the spectrum of ``image`` by ``mask`` and transform back: (H, W) -> (H, W).

    ``mask`` is in numpy's FFT layout (see ``lowpass_mask``); the imaginary rest of the inverse
    (round-off, or an asymmetric mask) is dropped.
    """
    image = as_float_array(image, "image", ndim=2)
    mask = np.asarray(mask)
    if mask.shape != image.shape:
        raise ValueError(f"mask must have the image's shape {image.shape}, got {mask.shape}")
    return np.fft.ifft2(np.fft.fft2(image) * mask).real


def gaussian_blur_fft(image, sigma: float) -> np.ndarray:
    """Blur with a Gaussian of spatial ``sigma`` pixels by multiplying spectra (periodic edges).

    The transform of a Gaussian of sigma s is a Gaussian of sigma 1 / (2 pi s) cycles per
    pixel. image: (H, W) -> (H, W).
    """
    sigma = check_positive(sigma, "sigma", allow_zero=True)
    image = as_float_array(image, "image", ndim=2)
    if sigma == 0:
        return image.copy()
    return apply_mask(image, lowpass_mask(image.shape, 1 / (2 * np.pi * sigma)))


def overshoot(filtered, original) -> float:
    """How far ``filtered`` leaves the range of ``original``, as a fraction of that range.

    0 means no ringing beyond the original's minimum and maximum (e.g. a blurred step).
    """
    filtered = as_float_array(filtered, "filtered", ndim=(1, 2))
    original = as_float_array(original, "original", ndim=(1, 2))
    lo, hi = original.min(), original.max()
    if hi == lo:
        raise ValueError("original must not be constant")
    return float(max(filtered.max() - hi, lo - filtered.min(), 0.0) / (hi - lo))


# ----------------------------------------------------------------------------- convolution
def circular_convolve_1d(a, b) -> np.ndarray:
    """Direct circular convolution of two (N,) sequences, real or complex (O(N^2)).

    ``out[n] = sum_m a[m] b[(n - m) % N]`` -- the definition, with no FFT inside.
    """
    a, b = np.asarray(reject_tensor(a, "a")), np.asarray(reject_tensor(b, "b"))
    for name, x in (("a", a), ("b", b)):
        if x.ndim != 1 or x.size == 0 or not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"{name} must be a non-empty 1-D numeric array, got shape {x.shape}")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    n = np.arange(a.size)
    return b[(n[:, None] - n[None, :]) % a.size] @ a


def circular_convolve(image, kernel) -> np.ndarray:
    """Circular (wrap-around) convolution via the convolution theorem: (H, W) -> (H, W).

    ``out[i, j] = sum_{a, b} kernel[a, b] image[(i - a) % H, (j - b) % W]``; kernel: (h, w)
    with h <= H, w <= W, zero-padded to the image's size with its origin at ``[0, 0]``.
    """
    image = as_float_array(image, "image", ndim=2)
    kernel = as_float_array(kernel, "kernel", ndim=2)
    if kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError(f"kernel {kernel.shape} must not be larger than image {image.shape}")
    spectrum_k = np.fft.rfft2(kernel, s=image.shape)
    return np.fft.irfft2(np.fft.rfft2(image) * spectrum_k, s=image.shape)


def fft_convolve(image, kernel, mode: str = "same") -> np.ndarray:
    """Linear 2-D convolution computed with FFTs; the same numbers as a direct convolution.

    image: (H, W), kernel: (h, w). Both are zero-padded to (H + h - 1, W + w - 1) so that the
    circular convolution of the padded arrays equals the linear one (no wrap-around).
    mode: "full" -> (H + h - 1, W + w - 1); "same" -> (H, W), centred as in scipy;
    "valid" -> (H - h + 1, W - w + 1), needs h <= H and w <= W.
    """
    image = as_float_array(image, "image", ndim=2)
    kernel = as_float_array(kernel, "kernel", ndim=2)
    check_choice(mode, "mode", CONV_MODES)
    (h_img, w_img), (h_k, w_k) = image.shape, kernel.shape
    if mode == "valid" and (h_k > h_img or w_k > w_img):
        raise ValueError(f"kernel {kernel.shape} must not be larger than image {image.shape} "
                         f"in mode 'valid'")
    full = (h_img + h_k - 1, w_img + w_k - 1)
    fast = tuple(sfft.next_fast_len(n, real=True) for n in full)  # pad more: faster sizes
    product = sfft.rfft2(image, s=fast) * sfft.rfft2(kernel, s=fast)
    out = sfft.irfft2(product, s=fast)[: full[0], : full[1]]
    if mode == "full":
        return out
    if mode == "same":
        top, left = (h_k - 1) // 2, (w_k - 1) // 2
        return out[top: top + h_img, left: left + w_img].copy()
    return out[h_k - 1: h_img, w_k - 1: w_img].copy()


# ----------------------------------------------------------------------------- applications
def hybrid_image(low_source, high_source, sigma_low: float, sigma_high: float) -> np.ndarray:
    """Low frequencies of one image plus high frequencies of another: (H, W) each -> (H, W).

    ``blur(low_source, sigma_low) + high_source - blur(high_source, sigma_high)``, blurs by
    ``gaussian_blur_fft`` (sigmas in pixels). Seen from afar the low-pass image dominates.
    """
    low = as_float_array(low_source, "low_source", ndim=2)
    high = as_float_array(high_source, "high_source", ndim=2)
    if low.shape != high.shape:
        raise ValueError(f"low_source and high_source must have the same shape, "
                         f"got {low.shape} and {high.shape}")
    return (gaussian_blur_fft(low, sigma_low)
            + high - gaussian_blur_fft(high, sigma_high))


def viewing_distance(image, levels: int = 4, sigma: float = 1.0) -> list[np.ndarray]:
    """Copies of ``image`` as if seen from 1, 2, 4, ... times farther: blur, keep every 2nd pixel.

    image: (H, W) -> ``levels`` arrays, (H, W), (ceil(H/2), ceil(W/2)), ...
    """
    image = as_float_array(image, "image", ndim=2)
    levels = check_int(levels, "levels", 1)
    copies = [image]
    for _ in range(levels - 1):
        copies.append(gaussian_blur_fft(copies[-1], sigma)[::2, ::2])
    return copies


def keep_largest(image, fraction: float) -> tuple[np.ndarray, int]:
    """Compress ``image`` by keeping only its largest Fourier coefficients.

    Works on ``rfft2`` (a real (H, W) image has H * (W // 2 + 1) independent complex
    coefficients, as many numbers as pixels). Keeps the ``fraction`` of them with the largest
    magnitude (at least one) and zeroes the rest. Returns the reconstruction (H, W) and the
    number of coefficients kept.
    """
    image = as_float_array(image, "image", ndim=2)
    fraction = check_positive(fraction, "fraction")
    if fraction > 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    coeffs = np.fft.rfft2(image)
    n_keep = max(1, int(round(fraction * coeffs.size)))
    order = np.argsort(np.abs(coeffs), axis=None)[::-1]
    kept = np.zeros_like(coeffs)
    kept.flat[order[:n_keep]] = coeffs.flat[order[:n_keep]]
    return np.fft.irfft2(kept, s=image.shape), n_keep


def compression_psnr(image, fractions) -> np.ndarray:
    """PSNR (dB) of ``keep_largest(image, f)`` against image for each kept fraction f:
    image (H, W), fractions (F,) -> (F,)."""
    fractions = as_float_array(fractions, "fractions", ndim=1)
    return np.array([psnr(image, keep_largest(image, float(f))[0]) for f in fractions])


def edge_error_share(reference, estimate, top: float = 0.1) -> float:
    """Share of the squared error ``(reference - estimate)^2`` that falls on the ``top``
    fraction of pixels with the largest gradient magnitude of ``reference`` (its edges).
    reference, estimate: (H, W) -> a number in [0, 1]; ``top`` when the error is spread evenly."""
    reference = as_float_array(reference, "reference", ndim=2)
    estimate = as_float_array(estimate, "estimate", ndim=2)
    if reference.shape != estimate.shape:
        raise ValueError(f"reference and estimate must have the same shape, "
                         f"got {reference.shape} and {estimate.shape}")
    top = check_positive(top, "top")
    if top >= 1:
        raise ValueError(f"top must be a fraction in (0, 1), got {top!r}")
    magnitude = np.hypot(*np.gradient(reference))
    edges = magnitude >= np.quantile(magnitude, 1 - top)
    error = (reference - estimate) ** 2
    total = error.sum()
    return 0.0 if total == 0 else float(error[edges].sum() / total)
