"""Linear filtering: convolution, correlation, Gaussian and derivative filters, Gabor, NCC,
and the measurements of chapter 01 (noise, stripe and edge gains, why a rotation is not a
convolution).

Dense convolution is written three times, to be read in this order and tested equal:
``conv2d_naive`` (four plain loops), ``conv2d_shifted`` (one whole-image multiply-add per
kernel tap) and ``conv2d`` (strided windows handed to BLAS, the one the chapter uses).

Conventions used by every function here:

* Images are ``(H, W)`` grey arrays or ``(H, W, C)`` colour arrays; kernels are ``(kh, kw)``.
  A colour image is filtered channel by channel with the same 2-D kernel, so the output
  keeps the trailing channel axis. Inputs are converted to float64; outputs are float64.
* ``mode`` chooses the output size, as in ``scipy.signal.convolve2d``:
  ``"valid"`` ``(H - kh + 1, W - kw + 1)`` (kernel fully inside), ``"same"`` ``(H, W)``,
  ``"full"`` ``(H + kh - 1, W + kw - 1)`` (every overlap).
  For ``"same"`` with an even kernel size the output is the centred crop of ``"full"`` that
  scipy takes: it starts at ``(kh - 1) // 2`` for convolution and ``kh // 2`` for correlation.
* ``boundary`` chooses how pixels outside the image are invented:
  ``"zero"`` (0; scipy's ``fill`` with fillvalue 0), ``"reflect"`` (mirror that repeats the
  edge pixel, ``d c b a | a b c d``; scipy.signal ``symm``, scipy.ndimage ``reflect``,
  ``np.pad(mode="symmetric")``), ``"replicate"`` (repeat the edge pixel, ``a a a | a b c``;
  scipy.ndimage ``nearest``, ``np.pad(mode="edge")``) and ``"wrap"`` (periodic, ``c d | a b c d``;
  scipy.signal ``wrap``, ``np.pad(mode="wrap")``).
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..validate import (
    as_float_array,
    check_choice,
    check_int,
    check_positive,
    check_real,
)

MODES = ("valid", "same", "full")
BOUNDARIES = ("zero", "reflect", "replicate", "wrap")
_NP_PAD_MODE = {"zero": "constant", "reflect": "symmetric", "replicate": "edge", "wrap": "wrap"}


# --------------------------------------------------------------------------- checks, sizes
def _check_inputs(image, kernel, mode: str, boundary: str) -> tuple[np.ndarray, np.ndarray]:
    image = as_float_array(image, "image", ndim=(2, 3))
    kernel = as_float_array(kernel, "kernel", ndim=2)
    check_choice(mode, "mode", MODES)
    check_choice(boundary, "boundary", BOUNDARIES)
    if mode == "valid" and (kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]):
        raise ValueError(f"kernel of shape {kernel.shape} is larger than image of shape "
                         f"{image.shape[:2]}; mode='valid' needs kernel <= image in both axes")
    return image, kernel


def output_shape(image_shape: tuple[int, int], kernel_shape: tuple[int, int],
                 mode: str = "same") -> tuple[int, int]:
    """Spatial output size ``(H_out, W_out)`` of a 2-D convolution in ``mode``."""
    check_choice(mode, "mode", MODES)
    for name, shape in (("image_shape", image_shape), ("kernel_shape", kernel_shape)):
        if (not isinstance(shape, (tuple, list)) or len(shape) < 2
                or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1
                           for d in shape[:2])):
            raise ValueError(f"{name} must start with two positive integers, got {shape!r}")
    (h, w), (kh, kw) = tuple(image_shape[:2]), tuple(kernel_shape[:2])
    if mode == "valid":
        return h - kh + 1, w - kw + 1
    if mode == "full":
        return h + kh - 1, w + kw - 1
    return h, w


def _pad_widths(kernel_shape: tuple[int, int], mode: str, flipped: bool) -> list[tuple[int, int]]:
    """Pixels to add (before, after) per axis so that a 'valid' correlation gives ``mode``."""
    widths = []
    for k in kernel_shape:
        if mode == "valid":
            widths.append((0, 0))
        elif mode == "full":
            widths.append((k - 1, k - 1))
        else:  # same: flipping the kernel moves its centre from (k - 1) // 2 to k // 2
            widths.append((k // 2, (k - 1) // 2) if flipped else ((k - 1) // 2, k // 2))
    return widths


def pad_image(image, pad_width: list[tuple[int, int]], boundary: str = "zero") -> np.ndarray:
    """Pad the spatial axes of ``image`` (H, W[, C]) by ``[(top, bottom), (left, right)]``."""
    image = as_float_array(image, "image", ndim=(2, 3))
    check_choice(boundary, "boundary", BOUNDARIES)
    try:
        widths = [(int(a), int(b)) for a, b in pad_width]
        ok = len(widths) == 2 and all(a == x and b == y and a >= 0 and b >= 0
                                      for (a, b), (x, y) in zip(widths, pad_width))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"pad_width must be [(top, bottom), (left, right)] of integers >= 0, "
                         f"got {pad_width!r}")
    widths = widths + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, widths, mode=_NP_PAD_MODE[boundary])


# --------------------------------------------------------------------------- convolution
def _correlate_valid(padded: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """'valid' correlation of a 2-D padded (Hp, Wp) with kernel (kh, kw) -> (Hp-kh+1, Wp-kw+1).

    For each kernel column b, the windows of kh rows form a strided view (no copy) whose
    rows are transposed-contiguous matrices, so ``windows @ kernel[:, b]`` runs as BLAS
    matrix-vector products: kw passes over the image instead of kh * kw shifted slices.
    A wide kernel (kw > kh) is handled on the transposed image so the loop is the short side.
    """
    kh, kw = kernel.shape
    if kw > kh:
        return _correlate_valid(np.ascontiguousarray(padded.T), kernel.T).T
    kernel = np.asfortranarray(kernel)  # contiguous columns (a flipped view would not use BLAS)
    w = padded.shape[1] - kw + 1
    out = sliding_window_view(padded[:, :w], kh, axis=0) @ kernel[:, 0]
    for b in range(1, kw):
        out += sliding_window_view(padded[:, b:b + w], kh, axis=0) @ kernel[:, b]
    return out


def _filter(image, kernel, mode: str, boundary: str, flip: bool) -> np.ndarray:
    image, kernel = _check_inputs(image, kernel, mode, boundary)
    if flip:
        kernel = kernel[::-1, ::-1]
    padded = pad_image(image, _pad_widths(kernel.shape, mode, flip), boundary)
    if image.ndim == 3:  # colour: each channel on its own with the same kernel
        return np.stack([_correlate_valid(np.ascontiguousarray(padded[..., c]), kernel)
                         for c in range(image.shape[2])], axis=-1)
    return np.ascontiguousarray(_correlate_valid(padded, kernel))


def correlate2d(image, kernel, mode: str = "same", boundary: str = "zero") -> np.ndarray:
    """Cross-correlation: ``out[i, j] = sum_ab kernel[a, b] * x[i + a - ci, j + b - cj]``.

    image: (H, W) or (H, W, C); kernel: (kh, kw) -> (H_out, W_out[, C]) (see ``output_shape``).
    The kernel slides over the image without flipping (what CNN "convolution" layers do).
    Offsets: ``ci = 0`` for 'valid', ``(kh - 1) // 2`` for 'same', ``kh - 1`` for 'full'
    (likewise cj with kw); x outside the image comes from ``boundary``.
    """
    return _filter(image, kernel, mode, boundary, flip=False)


def conv2d(image, kernel, mode: str = "same", boundary: str = "zero") -> np.ndarray:
    """True convolution: ``out[i, j] = sum_ab kernel[a, b] * x[i - a + ci, j - b + cj]``.

    Equals ``correlate2d`` with the kernel flipped in both axes.
    image: (H, W) or (H, W, C); kernel: (kh, kw) -> (H_out, W_out[, C]) (see ``output_shape``).
    Offsets: ``ci = kh - 1`` for 'valid', ``(kh - 1) // 2`` for 'same', ``0`` for 'full'
    (likewise cj with kw); x outside the image comes from ``boundary``.
    """
    return _filter(image, kernel, mode, boundary, flip=True)


def conv2d_naive(image, kernel, mode: str = "same", boundary: str = "zero") -> np.ndarray:
    """``conv2d`` written as four plain loops (output rows, columns, kernel rows, columns).

    Slow on purpose: it costs H_out * W_out * kh * kw Python steps. Same arguments and
    result as ``conv2d``.
    """
    image, kernel = _check_inputs(image, kernel, mode, boundary)
    if image.ndim == 3:
        return np.stack([conv2d_naive(image[..., c], kernel, mode, boundary)
                         for c in range(image.shape[2])], axis=-1)
    flipped = kernel[::-1, ::-1]
    padded = pad_image(image, _pad_widths(kernel.shape, mode, True), boundary)
    kh, kw = kernel.shape
    out = np.zeros((padded.shape[0] - kh + 1, padded.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    total += flipped[a, b] * padded[i + a, j + b]
            out[i, j] = total
    return out


def conv2d_shifted(image, kernel, mode: str = "same", boundary: str = "zero") -> np.ndarray:
    """``conv2d`` as a sum of shifted copies of the image, one per kernel tap.

    The step between the four loops of ``conv2d_naive`` and the strided BLAS products of
    ``conv2d``: the two loops over output pixels become array slices, so each of the
    kh * kw taps adds ``weight * (image shifted by that tap)`` to the whole output at once.
    Same arguments and result as ``conv2d``.
    """
    image, kernel = _check_inputs(image, kernel, mode, boundary)
    flipped = kernel[::-1, ::-1]
    padded = pad_image(image, _pad_widths(kernel.shape, mode, True), boundary)
    kh, kw = kernel.shape
    h, w = padded.shape[0] - kh + 1, padded.shape[1] - kw + 1
    out = np.zeros((h, w) + image.shape[2:])
    for a in range(kh):
        for b in range(kw):
            out += flipped[a, b] * padded[a:a + h, b:b + w]
    return out


def separable_conv2d(image, col_kernel, row_kernel, mode: str = "same",
                     boundary: str = "zero") -> np.ndarray:
    """Convolve with the rank-1 kernel ``outer(col_kernel, row_kernel)`` in two 1-D passes.

    col_kernel: (kh,) filters along rows (axis 0); row_kernel: (kw,) along columns (axis 1).
    Costs kh + kw multiplies per pixel instead of kh * kw; the result equals
    ``conv2d(image, np.outer(col_kernel, row_kernel), mode, boundary)``.
    """
    col = as_float_array(col_kernel, "col_kernel", ndim=1)
    row = as_float_array(row_kernel, "row_kernel", ndim=1)
    image, _ = _check_inputs(image, np.ones((col.size, row.size)), mode, boundary)
    return conv2d(conv2d(image, col[:, None], mode, boundary), row[None, :], mode, boundary)


# --------------------------------------------------------------------------- simple kernels
def _check_odd(size, name: str = "size") -> int:
    size = check_int(size, name, 1)
    if size % 2 == 0:
        raise ValueError(f"{name} must be odd (a kernel with a centre pixel), got {size}")
    return size


def box_kernel(size: int | tuple[int, int]) -> np.ndarray:
    """Moving-average kernel of ones / count: (size, size), or (h, w) for a tuple."""
    if isinstance(size, (tuple, list)) and len(size) != 2:
        raise ValueError(f"size must be an int or a pair (h, w), got {size!r}")
    h, w = (size, size) if not isinstance(size, (tuple, list)) else size
    h, w = check_int(h, "size", 1), check_int(w, "size", 1)
    return np.full((h, w), 1.0 / (h * w))


def identity_kernel(size: int = 3) -> np.ndarray:
    """(size, size) kernel with a single 1 in the centre: convolving returns the image."""
    size = _check_odd(size)
    kernel = np.zeros((size, size))
    kernel[size // 2, size // 2] = 1.0
    return kernel


def shift_kernel(dy: int, dx: int) -> np.ndarray:
    """Kernel whose convolution moves the image content down by ``dy`` and right by ``dx``:
    (2r + 1, 2r + 1) with r = max(|dy|, |dx|), zero except a 1 at (r + dy, r + dx)."""
    for name, value in (("dy", dy), ("dx", dx)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int (a whole number of pixels), got {value!r}")
    r = max(abs(int(dy)), abs(int(dx)))
    kernel = np.zeros((2 * r + 1, 2 * r + 1))
    kernel[r + int(dy), r + int(dx)] = 1.0
    return kernel


# --------------------------------------------------------------------------- Gaussian family
def _gaussian_support(sigma, size) -> tuple[float, np.ndarray]:
    sigma = check_positive(sigma, "sigma")
    size = 2 * math.ceil(3 * sigma) + 1 if size is None else _check_odd(size)
    return sigma, np.arange(size) - (size - 1) / 2


def gaussian_kernel1d(sigma: float, size: int | None = None) -> np.ndarray:
    """Sampled Gaussian ``exp(-x^2 / (2 sigma^2))`` normalized to sum 1: (size,).

    ``size`` defaults to ``2 * ceil(3 sigma) + 1`` (about +-3 sigma); it must be odd.
    """
    sigma, x = _gaussian_support(sigma, size)
    g = np.exp(-x ** 2 / (2 * sigma ** 2))
    return g / g.sum()


def gaussian_kernel(sigma: float, size: int | None = None) -> np.ndarray:
    """2-D Gaussian (size, size) = outer product of two ``gaussian_kernel1d``; sums to 1."""
    g = gaussian_kernel1d(sigma, size)
    return np.outer(g, g)


def gaussian_derivative_kernel1d(sigma: float, size: int | None = None,
                                 order: int = 1) -> np.ndarray:
    """Derivative of the normalized sampled Gaussian, as a convolution kernel: (size,).

    order 1: ``-x / sigma^2 * g``; order 2: ``(x^2 / sigma^4 - 1 / sigma^2) * g``.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    sigma, x = _gaussian_support(sigma, size)
    g = gaussian_kernel1d(sigma, x.size)
    if order == 1:
        return -x / sigma ** 2 * g
    return (x ** 2 / sigma ** 4 - 1 / sigma ** 2) * g


def gaussian_blur(image, sigma: float, separable: bool = True, size: int | None = None,
                  boundary: str = "reflect") -> np.ndarray:
    """Gaussian blur, 'same' size: (H, W[, C]) -> (H, W[, C]).

    ``separable=True`` runs two 1-D passes (O(m) per pixel); ``False`` one dense 2-D
    kernel (O(m^2) per pixel). Both give the same result.
    """
    g = gaussian_kernel1d(sigma, size)
    if separable:
        return separable_conv2d(image, g, g, "same", boundary)
    return conv2d(image, np.outer(g, g), "same", boundary)


def derivative_of_gaussian_kernels(sigma: float, size: int | None = None
                                ) -> tuple[np.ndarray, np.ndarray]:
    """2-D derivative-of-Gaussian convolution kernels ``(kx, ky)``, each (size, size)."""
    g, dg = gaussian_kernel1d(sigma, size), gaussian_derivative_kernel1d(sigma, size, 1)
    return np.outer(g, dg), np.outer(dg, g)


def image_gradients(image, boundary: str = "replicate") -> tuple[np.ndarray, np.ndarray]:
    """Central differences ``(gx, gy)``, each (H, W[, C]): correlation with ``[-1, 0, 1] / 2``.

    gx[i, j] = (x[i, j+1] - x[i, j-1]) / 2 (increases to the right); gy likewise downwards.
    """
    diff = np.array([[-0.5, 0.0, 0.5]])
    return (correlate2d(image, diff, "same", boundary),
            correlate2d(image, diff.T, "same", boundary))


def derivative_of_gaussian(image, sigma: float, boundary: str = "reflect"
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Derivative-of-Gaussian filtering ``(gx, gy)`` = the gradient of the image blurred with
    sigma, each (H, W[, C]); one separable kernel per direction (associativity)."""
    g, dg = gaussian_kernel1d(sigma), gaussian_derivative_kernel1d(sigma)
    return (separable_conv2d(image, g, dg, "same", boundary),
            separable_conv2d(image, dg, g, "same", boundary))


def laplacian_kernel() -> np.ndarray:
    """The 3x3 five-point Laplacian ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]``."""
    return np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def log_kernel(sigma: float, size: int | None = None) -> np.ndarray:
    """Laplacian of Gaussian ``(x^2 + y^2 - 2 sigma^2) / sigma^4 * G``: (size, size).

    Negative in the centre and positive on a ring around it: an *inverted* Mexican hat (the
    hat itself is -LoG).
    """
    g, d2g = gaussian_kernel1d(sigma, size), gaussian_derivative_kernel1d(sigma, size, 2)
    return np.outer(g, d2g) + np.outer(d2g, g)


def difference_of_gaussians_kernel(sigma: float, ratio: float = 1.6,
                                   size: int | None = None) -> np.ndarray:
    """Difference of Gaussians (DoG) ``G_sigma - G_(ratio sigma)``: (size, size), size by
    default that of the wider Gaussian. A Mexican hat (positive centre, negative ring) that
    approximates -(ratio - 1) sigma^2 LoG: the classic cheap stand-in for the -LoG."""
    ratio = check_positive(ratio, "ratio")
    if ratio <= 1:
        raise ValueError(f"ratio must be > 1, got {ratio!r}")
    sigma = check_positive(sigma, "sigma")
    size = gaussian_kernel1d(ratio * sigma).size if size is None else size
    return gaussian_kernel(sigma, size) - gaussian_kernel(ratio * sigma, size)


def laplacian_of_gaussian(image, sigma: float, boundary: str = "reflect") -> np.ndarray:
    """LoG response (H, W[, C]): blur with sigma, then the Laplacian, in separable passes."""
    g, d2g = gaussian_kernel1d(sigma), gaussian_derivative_kernel1d(sigma, order=2)
    return (separable_conv2d(image, g, d2g, "same", boundary)
            + separable_conv2d(image, d2g, g, "same", boundary))


def edge_map(image, sigma: float = 1.0, threshold: float = 0.2) -> np.ndarray:
    """Boolean edges (H, W): derivative-of-Gaussian magnitude > threshold * its maximum.

    ``threshold`` is a fraction in [0, 1] of the largest gradient magnitude in the image.
    """
    threshold = check_positive(threshold, "threshold", allow_zero=True)
    if threshold > 1:
        raise ValueError(f"threshold must be a fraction in [0, 1], got {threshold}")
    image = as_float_array(image, "image", ndim=2)
    magnitude = np.hypot(*derivative_of_gaussian(image, sigma))
    return magnitude > threshold * magnitude.max()


def sharpen(image, amount: float = 1.0, sigma: float = 1.0,
            boundary: str = "reflect") -> np.ndarray:
    """Unsharp masking ``x + amount * (x - blur(x))``; amount 1 is ``2 * identity - blur``."""
    amount = check_positive(amount, "amount", allow_zero=True)
    image = as_float_array(image, "image", ndim=(2, 3))
    return (1 + amount) * image - amount * gaussian_blur(image, sigma, boundary=boundary)


# --------------------------------------------------------------------------- Gabor, templates
def gabor_kernel(frequency: float, theta: float = 0.0, sigma: float | None = None,
                 phase: float = 0.0, size: int | None = None) -> np.ndarray:
    """Real Gabor kernel (size, size): a Gaussian envelope times a cosine grating.

    ``g = exp(-(u^2 + v^2) / (2 sigma^2)) cos(2 pi frequency u + phase) / (2 pi sigma^2)``
    with ``u = x cos(theta) + y sin(theta)``, ``v = -x sin(theta) + y cos(theta)``; x grows to
    the right and y downwards. ``frequency`` is in cycles per pixel (0 < f <= 0.5); sigma
    defaults to ``0.56 / frequency`` (about one octave); size to ``2 * ceil(3 sigma) + 1``.
    """
    frequency = check_positive(frequency, "frequency")
    theta, phase = check_real(theta, "theta"), check_real(phase, "phase")
    if frequency > 0.5:
        raise ValueError(f"frequency must be <= 0.5 cycles per pixel (Nyquist), got {frequency}")
    sigma = 0.56 / frequency if sigma is None else sigma
    sigma, x = _gaussian_support(sigma, size)
    y, x = np.meshgrid(x, x, indexing="ij")
    u = x * np.cos(theta) + y * np.sin(theta)
    v = -x * np.sin(theta) + y * np.cos(theta)
    envelope = np.exp(-(u ** 2 + v ** 2) / (2 * sigma ** 2)) / (2 * np.pi * sigma ** 2)
    return envelope * np.cos(2 * np.pi * frequency * u + phase)


def _window_sums(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Sum over every (h, w) window of a 2-D image, 'valid' layout: two 1-D box passes."""
    return separable_conv2d(image, np.ones(shape[0]), np.ones(shape[1]), "valid")


def match_template_ncc(image, template) -> np.ndarray:
    """Normalized cross-correlation of ``template`` with every window: (H-h+1, W-w+1).

    ``ncc = sum((x - mean_x)(t - mean_t)) / sqrt(sum((x - mean_x)^2) sum((t - mean_t)^2))``
    per window, in [-1, 1]; 1 means the window equals ``a * template + b`` with a > 0.
    Flat windows (or a flat template) score 0. Same layout as ``skimage.feature.match_template``.
    image: (H, W); template: (h, w) with h <= H, w <= W.
    """
    image, template = _check_inputs(image, template, "valid", "zero")
    if image.ndim != 2:
        raise ValueError(f"image must have 2 dimensions, got shape {image.shape}")
    image = image - image.mean()  # NCC ignores offsets; centring keeps the sums accurate
    t = template - template.mean()
    n = template.size
    numerator = correlate2d(image, t, "valid")
    sums = _window_sums(image, template.shape)
    x_var = np.maximum(_window_sums(image ** 2, template.shape) - sums ** 2 / n, 0.0)
    t_var = float((t ** 2).sum())
    ok = (x_var > 1e-12 * n * max(float(np.abs(image).max()) ** 2, 1e-300)) & (t_var > 0)
    denominator = np.sqrt(np.where(ok, x_var, 1.0) * (t_var if t_var > 0 else 1.0))
    return np.where(ok, numerator / denominator, 0.0)
