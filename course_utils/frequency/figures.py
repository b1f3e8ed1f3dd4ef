"""Figures and widget functions for chapter 02 (the Fourier transform).

Every ``show_*`` returns a matplotlib Figure; the numbers come from ``course_utils.frequency.fourier``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import metrics
from ..data import patterns
from ..data.images import face_pair
from ..data.patterns import bar_image, grating
from ..validate import as_float_array, check_int, check_positive, check_real
from ..viz import MAGNITUDE_CMAP, SIGNED_CMAP, show_image
from . import fourier

# The signal wound around the circle: a constant plus a cosine of 3 cycles per second.
WIND_T = np.linspace(0.0, 2.0, 800, endpoint=False)
WIND_SIGNAL = 1.0 + np.cos(2 * np.pi * 3.0 * WIND_T + 0.6)


# ----------------------------------------------------------------------------- 1-D
def show_sinusoid(amplitude: float = 1.0, frequency: float = 2.0, phase: float = 0.0):
    """Plot ``A cos(2 pi f t + phi)`` against the plain ``cos(2 pi t)`` on t in [0, 2) s."""
    check_real(phase, "phase")
    t = np.linspace(0, 2, 500)
    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.plot(t, fourier.sinusoid(t), color="0.7", label="cos(2 pi t)")
    ax.plot(t, fourier.sinusoid(t, amplitude, frequency, phase),
            label=f"A={amplitude:g}, f={frequency:g} Hz, phase={phase:.2f} rad")
    ax.set_xlabel("t (s)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def show_winding(frequency: float = 1.0):
    """Left: ``WIND_SIGNAL`` wound at ``frequency`` and its centre of mass.
    Right: the centre's distance from the origin as the frequency sweeps 0..5 Hz."""
    points, centre = fourier.winding(WIND_SIGNAL, WIND_T, frequency)
    sweep_f = np.linspace(0, 5, 251)
    sweep = np.abs(fourier.winding_centres(WIND_SIGNAL, WIND_T, sweep_f))
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.6))
    ax0.plot(points.real, points.imag, lw=0.8)
    ax0.plot([0, centre.real], [0, centre.imag], color="C3")
    ax0.scatter([centre.real], [centre.imag], color="C3", zorder=3,
                label=f"centre {centre.real:+.2f}{centre.imag:+.2f}i")
    ax0.set_aspect("equal")
    ax0.set_xlim(-2.1, 2.1)
    ax0.set_ylim(-2.1, 2.1)
    ax0.set_title(f"g(t) wound at f = {frequency:.2f} turns/s", fontsize=9)
    ax0.legend(loc="lower left", fontsize=8)
    ax1.plot(sweep_f, sweep)
    ax1.axvline(frequency, color="C3", ls="--")
    ax1.set_xlabel("winding frequency f (Hz)")
    ax1.set_ylabel("|centre of mass|")
    ax1.set_title("peaks at 0 Hz (the constant) and 3 Hz (the cosine)", fontsize=9)
    fig.tight_layout()
    return fig


def show_dft(signal, title: str = "") -> plt.Figure:
    """Signal, DFT amplitude and DFT phase against the frequency index k = 0..N-1."""
    x = as_float_array(signal, "signal", ndim=1)
    coeffs = fourier.dft(x)
    k = np.arange(x.size)
    fig, axes = plt.subplots(1, 3, figsize=(11, 2.8))
    axes[0].plot(k, x, ".-")
    axes[0].set_title(title or f"signal, N = {x.size} samples", fontsize=9)
    axes[1].stem(k, np.abs(coeffs))
    axes[1].set_title("|X[k]|: mirror-symmetric about N/2", fontsize=9)
    phase = np.where(np.abs(coeffs) > 1e-9 * np.abs(coeffs).max(), np.angle(coeffs), 0.0)
    axes[2].stem(k, phase)
    axes[2].set_title("angle X[k] (where |X[k]| > 0): odd-symmetric", fontsize=9)
    for ax in axes[1:]:
        ax.set_xlabel("frequency index k")
    fig.tight_layout()
    return fig


def show_ft_pairs(width: float = 1.0, sigma: float = 0.5):
    """Box -> sinc and Gaussian -> Gaussian: sampled transform (dots) vs the formula (line)."""
    width, sigma = check_positive(width, "width"), check_positive(sigma, "sigma")
    t = np.linspace(-8, 8, 2048, endpoint=False)
    box = (np.abs(t) <= width / 2).astype(float)
    gauss = np.exp(-t ** 2 / (2 * sigma ** 2))
    fig, axes = plt.subplots(2, 2, figsize=(9, 5))
    for row, (g, analytic, name) in enumerate([
            (box, lambda f: fourier.box_ft(f, width), f"box, width {width:g}"),
            (gauss, lambda f: fourier.gaussian_ft(f, sigma), f"Gaussian, sigma {sigma:g}")]):
        f, values = fourier.sampled_ft(g, t)
        keep = np.abs(f) <= 4
        axes[row, 0].plot(t, g)
        axes[row, 0].set_xlim(-3, 3)
        axes[row, 0].set_title(name, fontsize=9)
        axes[row, 1].plot(f[keep], analytic(f[keep]), color="0.6", lw=3, label="formula")
        axes[row, 1].plot(f[keep], values.real[keep], ".", ms=3, label="FFT of samples")
        error = np.abs(values - analytic(f)).max()
        axes[row, 1].set_title(f"its transform (max error {error:.1e})", fontsize=9)
        axes[row, 1].legend(fontsize=8)
    axes[1, 0].set_xlabel("t")
    axes[1, 1].set_xlabel("f")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- 2-D
def show_spectrum(image, title: str = "image", window: bool = False):
    """The image, its centred log-amplitude and its phase (of the Hann-windowed image with
    ``window``)."""
    log_amp, phase = fourier.spectrum(image, window=window)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    show_image(axes[0], image, title)
    show_image(axes[1], log_amp, "log(1 + |F|), centred" + (", windowed" if window else ""),
               cmap=MAGNITUDE_CMAP)
    show_image(axes[2], phase, "phase (rad), centred", cmap=SIGNED_CMAP, vmin=-np.pi, vmax=np.pi)
    fig.tight_layout()
    return fig


def show_gratings(settings, size: int = 64):
    """Gratings for (cycles per image, angle in degrees) pairs (top) and their centred
    amplitude spectra (bottom); angles as in ``data.patterns.grating``."""
    size = check_int(size, "size", 2)
    try:
        settings = [(float(c), float(a)) for c, a in settings]
    except (TypeError, ValueError):
        raise ValueError(f"settings must be (cycles, angle) pairs, got {settings!r}") from None
    if not settings:
        raise ValueError("settings must hold at least one (cycles, angle) pair")
    fig, axes = plt.subplots(2, len(settings), figsize=(2.2 * len(settings), 4.6), squeeze=False)
    for col, (cycles, angle) in enumerate(settings):
        g = grating(size, cycles / size, angle)
        show_image(axes[0, col], g, f"{cycles:g} cycles, {angle:g} deg")
        show_image(axes[1, col], np.abs(np.fft.fftshift(np.fft.fft2(g - g.mean()))),
                   cmap=MAGNITUDE_CMAP)
    fig.tight_layout()
    return fig


def show_grating(angle: float = 30.0, cycles: float = 8.0, size: int = 64):
    """One grating (angle in degrees, cycles per image) and its centred amplitude spectrum,
    with the spot found by ``fourier.dominant_frequency`` circled: turn the grating and the
    two spots turn with it."""
    size = check_int(size, "size", 2)
    cycles = check_positive(cycles, "cycles")
    g = grating(size, cycles / size, check_real(angle, "angle"))
    frequency, found = fourier.dominant_frequency(g)
    fig, (ax_g, ax_s) = plt.subplots(1, 2, figsize=(6.4, 3.2))
    show_image(ax_g, g, f"{cycles:g} cycles, {angle:g} deg", vmin=0, vmax=1)
    show_image(ax_s, np.abs(np.fft.fftshift(np.fft.fft2(g - g.mean()))),
               f"spot: {frequency * size:.1f} cycles, {found:.0f} deg", cmap=MAGNITUDE_CMAP)
    for sign in (1, -1):
        x = size // 2 + sign * frequency * size * np.cos(np.deg2rad(found))
        y = size // 2 + sign * frequency * size * np.sin(np.deg2rad(found))
        ax_s.add_patch(plt.Circle((x, y), 2.5, fill=False, color="C3", lw=1.2))
    fig.tight_layout()
    return fig


def show_spectrum_slopes(images: dict[str, np.ndarray]):
    """Radially averaged amplitude spectra on log-log axes, one line per image, each labelled
    with its fitted power-law exponent (``fourier.spectrum_slope``)."""
    if not isinstance(images, dict) or not images:
        raise TypeError(f"images must be a non-empty dict of name -> (H, W) image, "
                        f"got {type(images).__name__}")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, image in images.items():
        f, amplitude = fourier.radial_amplitude(image, window=True)
        ax.loglog(f, amplitude / amplitude[0], label=f"{name}: slope {fourier.spectrum_slope(image):.2f}")
    ax.set(xlabel="frequency (cycles/pixel)", ylabel="mean |F| / value at the lowest ring",
           title="radially averaged amplitude spectra")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def show_swap(image_a, image_b, names: tuple[str, str] = ("A", "B")):
    """Both images and the two amplitude/phase swaps, titled with correlations to the sources."""
    swaps = [(image_a, image_b), (image_b, image_a)]
    fig, axes = plt.subplots(1, 4, figsize=(11, 3.2))
    show_image(axes[0], image_a, names[0])
    show_image(axes[1], image_b, names[1])
    for ax, (amp, pha), (na, npha) in zip(axes[2:], swaps, [names, names[::-1]]):
        mixed = fourier.swap_phase(amp, pha)
        r_amp = np.corrcoef(mixed.ravel(), amp.ravel())[0, 1]
        r_pha = np.corrcoef(mixed.ravel(), pha.ravel())[0, 1]
        show_image(ax, mixed, f"|F {na}| + phase {npha}\n"
                              f"r({na}) = {r_amp:.2f}, r({npha}) = {r_pha:.2f}")
    fig.tight_layout()
    return fig


MASK_LABELS = {"box": "ideal (disc)", "gaussian": "Gaussian"}   # fourier.MASK_KINDS in words


def show_cutoff(cutoff: float = 0.05, image=None):
    """Low- and high-pass by the ideal (disc) and a Gaussian mask of the same cutoff
    (cycles/pixel)."""
    image = face_pair()[0] if image is None else as_float_array(image, "image", ndim=2)
    fig, axes = plt.subplots(2, 3, figsize=(8.4, 5.8))
    for row, kind in enumerate(fourier.MASK_KINDS):
        mask = fourier.lowpass_mask(image.shape, cutoff, kind)
        low = fourier.apply_mask(image, mask)
        show_image(axes[row, 0], np.fft.fftshift(mask), f"{MASK_LABELS[kind]} low-pass mask, cutoff {cutoff:g}",
                   vmin=0, vmax=1)
        show_image(axes[row, 1], low, f"low-pass: blur (overshoot "
                                      f"{fourier.overshoot(low, image):.3f})", vmin=0, vmax=1)
        show_image(axes[row, 2], fourier.apply_mask(image, 1 - mask), "high-pass: edges",
                   signed=True)
    fig.tight_layout()
    return fig


def show_ringing(cutoff: float = 0.05, size: int = 128):
    """One row through a low-passed bright bar: the ideal (disc) mask rings, the Gaussian does
    not."""
    step = bar_image(size)
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(step[0], color="0.6", lw=3, label="original row")
    for kind in fourier.MASK_KINDS:
        low = fourier.apply_mask(step, fourier.lowpass_mask(step.shape, cutoff, kind))
        ax.plot(low[0], label=f"{MASK_LABELS[kind]} mask: overshoot {fourier.overshoot(low, step):.3f}")
    ax.set_xlabel("column")
    ax.set_title(f"a bar low-passed at cutoff {cutoff:g} cycles/pixel", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_circular_vs_linear(image, kernel):
    """Circular convolution wraps around the border; zero padding removes the wrap."""
    kernel = as_float_array(kernel, "kernel", ndim=2)
    h, w = kernel.shape
    circular = fourier.circular_convolve(image, kernel)
    linear = fourier.fft_convolve(image, kernel, mode="full")[: image.shape[0], : image.shape[1]]
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    show_image(axes[0], circular, "circular: fft2(x) * fft2(k)")
    show_image(axes[1], linear, "linear: both zero-padded first")
    show_image(axes[2], circular - linear, f"difference: only the first {h - 1} rows / "
                                           f"{w - 1} cols", signed=True)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- applications
def show_hybrid(sigma_low: float = 6.0, sigma_high: float = 3.0, levels: int = 4):
    """The two filtered faces, their hybrid, and the hybrid seen from farther and farther."""
    sigma_low = check_positive(sigma_low, "sigma_low", allow_zero=True)
    sigma_high = check_positive(sigma_high, "sigma_high", allow_zero=True)
    astronaut, cat = face_pair()
    hybrid = fourier.hybrid_image(astronaut, cat, sigma_low, sigma_high)
    fig = plt.figure(figsize=(10, 6.4))
    low = fourier.gaussian_blur_fft(astronaut, sigma_low)
    high = cat - fourier.gaussian_blur_fft(cat, sigma_high)
    panels = [(low, f"low-pass, sigma {sigma_low:g}"), (high, f"high-pass, sigma {sigma_high:g}"),
              (hybrid, "hybrid")]
    aspect = 10 / 6.4  # figure width / height: keeps the axes square
    for i, (img, title) in enumerate(panels):
        show_image(fig.add_axes([0.03 + i * 0.33, 0.5, 0.28, 0.28 * aspect]), img, title,
                   signed=(i == 1))
    left = 0.03
    for k, copy in enumerate(fourier.viewing_distance(hybrid, levels)):
        width = 0.26 / 2 ** k
        ax = fig.add_axes([left, 0.03, width, width * aspect])
        show_image(ax, copy, f"{2 ** k}x farther" if k < 3 else None, vmin=0, vmax=1)
        left += width + 0.03
    return fig


def show_compression(fraction: float = 0.02, image=None):
    """The image rebuilt from its largest coefficients, the error, and PSNR vs kept fraction."""
    image = face_pair()[0] if image is None else as_float_array(image, "image", ndim=2)
    rebuilt, n_kept = fourier.keep_largest(image, fraction)
    fractions = np.geomspace(0.001, 0.5, 12)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    show_image(axes[0], rebuilt, f"kept {n_kept} coefficients ({fraction:.1%})", vmin=0, vmax=1)
    show_image(axes[1], image - rebuilt, f"error, PSNR {metrics.psnr(image, rebuilt):.1f} dB",
               signed=True)
    axes[2].semilogx(fractions, fourier.compression_psnr(image, fractions), "o-")
    axes[2].axvline(fraction, color="C3", ls="--")
    axes[2].set_xlabel("kept fraction of coefficients")
    axes[2].set_ylabel("PSNR (dB)")
    fig.tight_layout()
    return fig


def show_campbell_robson(shape: tuple[int, int] = (256, 512)):
    """The Campbell-Robson contrast-sensitivity chart."""
    fig, ax = plt.subplots(figsize=(8, 4))
    show_image(ax, patterns.campbell_robson(shape), "frequency grows to the right, contrast "
                                                   "grows downwards", vmin=0, vmax=1)
    fig.tight_layout()
    return fig


def show_crossover(rows: list[dict]):
    """Time per convolution against kernel size, log scale (rows of
    ``course_utils.frequency.speed.crossover_table``)."""
    if (not isinstance(rows, (list, tuple)) or not rows
            or not all(isinstance(r, dict) and "kernel" in r for r in rows)):
        raise TypeError("rows must be a non-empty list of dicts with a 'kernel' key "
                        "(from course_utils.frequency.speed.crossover_table)")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    sizes = [r["kernel"] for r in rows]
    for method in (m for m in rows[0] if m != "kernel"):
        ax.semilogy(sizes, [r[method] for r in rows], "o-", label=method)
    ax.set_xlabel("kernel size k (k x k)")
    ax.set_ylabel("seconds per convolution")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


