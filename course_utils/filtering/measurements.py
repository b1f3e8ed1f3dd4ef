"""The measurements of chapter 01 built on the filters: noise and stripe gains, edge
signal-to-noise, what padding invents at the border, template matching and why a rotation is
not a convolution."""
from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi

from ..data.patterns import grating
from ..validate import as_float_array, check_int, check_positive
from .filters import (
    BOUNDARIES,
    _check_odd,
    conv2d,
    correlate2d,
    gaussian_kernel,
    identity_kernel,
    image_gradients,
    match_template_ncc,
    pad_image,
)


# --------------------------------------------------------------------------- measurements
def rmse(a, b) -> float:
    """Root-mean-square difference of two arrays of the same shape."""
    a, b = as_float_array(a, "a"), as_float_array(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return float(np.sqrt(np.mean((a - b) ** 2)))


def sharpening_kernel(amount: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """The unsharp-masking kernel ``(1 + amount) identity - amount G_sigma``: (m, m)."""
    amount = check_positive(amount, "amount", allow_zero=True)
    g = gaussian_kernel(sigma)
    return (1 + amount) * identity_kernel(g.shape[0]) - amount * g


def sharpen_noise_gain(amount: float, sigma: float = 1.0) -> float:
    """Factor by which sharpening multiplies white-noise std: the L2 norm of its kernel."""
    return float(np.sqrt((sharpening_kernel(amount, sigma) ** 2).sum()))


def grating_gain(kernel, frequency: float, size: int = 64, margin: int = 10,
                 boundary: str = "reflect") -> float:
    """Signed contrast gain of ``kernel`` on a vertical-stripe grating of ``frequency`` cycles
    per pixel: the least-squares factor a in ``filtered - 0.5 = a (grating - 0.5)`` inside a
    ``margin`` away from the border. 1: unchanged; 0: erased; negative: contrast inverted.
    kernel: (kh, kw)."""
    size, margin = check_int(size, "size", 1), check_int(margin, "margin", 0)
    if 2 * margin >= size:
        raise ValueError(f"margin {margin} leaves nothing of a {size}x{size} grating")
    stripes = grating(size, frequency)
    inner = (slice(margin, size - margin),) * 2
    out = conv2d(stripes, kernel, boundary=boundary)[inner] - 0.5
    original = stripes[inner] - 0.5
    return float((out * original).sum() / (original ** 2).sum())


def edge_snr(response, column: int, width: int = 2, margin: int = 8) -> float:
    """Signal-to-noise ratio of a filter's response to a vertical step edge at ``column``:
    the mean response over ``width`` columns starting at ``column - width // 2``, divided by
    the std of the response more than ``margin`` columns away from the edge. response: (H, W).
    """
    response = as_float_array(response, "response", ndim=2)
    w = response.shape[1]
    column, width = check_int(column, "column", 1), check_int(width, "width", 1)
    margin = check_int(margin, "margin", 1)
    start = column - width // 2
    if start < 0 or start + width > w or column - margin < 2 or column + margin > w - 2:
        raise ValueError(f"column {column} with width {width} and margin {margin} does not fit "
                         f"an image {w} columns wide")
    away = np.r_[0:column - margin, column + margin:w]
    return float(response[:, start:start + width].mean() / response[:, away].std())


def border_gradient(image, width: int = 4) -> tuple[float, float]:
    """Mean central-difference gradient magnitude of ``image`` (H, W) in the band of ``width``
    pixels along its border, and inside that band: a fake edge invented by padding shows up as
    a band value far above the inside one."""
    image = as_float_array(image, "image", ndim=2)
    width = check_int(width, "width", 1)
    if 2 * width >= min(image.shape):
        raise ValueError(f"width {width} leaves no inside in an image of shape {image.shape}")
    magnitude = np.hypot(*image_gradients(image))
    band = np.ones(image.shape, bool)
    band[width:-width, width:-width] = False
    return float(magnitude[band].mean()), float(magnitude[~band].mean())


def padding_example(signal, width: int = 2) -> dict[str, np.ndarray]:
    """A 1-D signal extended by ``width`` samples on each side by every boundary of this module
    and by the same-named modes of numpy and scipy.ndimage, to compare them: keys
    ``"filters <boundary>"``, ``"np.pad <mode>"`` and ``"scipy.ndimage <mode>"``."""
    signal = as_float_array(signal, "signal", ndim=1)
    width = check_int(width, "width", 1)
    if width > signal.size:
        raise ValueError(f"width must be at most the signal's length {signal.size}, got {width}")
    out = {f"filters {b}": pad_image(signal[None, :], [(0, 0), (width, width)], b)[0]
           for b in BOUNDARIES}
    for mode in ("reflect", "symmetric", "edge", "wrap"):
        out[f"np.pad {mode}"] = np.pad(signal, width, mode=mode)
    identity = np.zeros(2 * width + 1)
    identity[0] = 1.0  # out[i] = x[i - width]: reads the extension left of the signal
    for mode in ("reflect", "mirror", "nearest", "wrap"):
        # shift by 'width' in both directions to read both extensions through scipy's own modes
        left = ndi.correlate1d(signal, identity, mode=mode)[:width]
        right = ndi.correlate1d(signal, identity[::-1], mode=mode)[-width:]
        out[f"scipy.ndimage {mode}"] = np.concatenate([left, signal, right])
    return out


def template_matching(image, top: int, left: int, height: int, width: int) -> dict:
    """Raw correlation vs NCC for the (height, width) patch cut from ``image`` (H, W) at
    (top, left). Returns {"template", "raw", "ncc" (maps, 'valid' layout), "truth",
    "raw_best", "ncc_best" ((row, col) of the cut and of each map's maximum)}."""
    image = as_float_array(image, "image", ndim=2)
    height, width = check_int(height, "height", 1), check_int(width, "width", 1)
    top, left = check_int(top, "top", 0), check_int(left, "left", 0)
    if top + height > image.shape[0] or left + width > image.shape[1]:
        raise ValueError(f"the patch at ({top}, {left}) of size {height}x{width} does not fit "
                         f"in the image {image.shape}")
    template = image[top:top + height, left:left + width]
    raw = correlate2d(image, template, "valid")
    ncc = match_template_ncc(image, template)
    return {"template": template, "raw": raw, "ncc": ncc, "truth": (top, left),
            "raw_best": tuple(int(i) for i in np.unravel_index(np.argmax(raw), raw.shape)),
            "ncc_best": tuple(int(i) for i in np.unravel_index(np.argmax(ncc), ncc.shape))}


def rotation_is_not_convolution(size: int = 24, kernel_size: int = 9, n_images: int = 8,
                                seed: int = 0) -> dict:
    """Measure why a 90-degree rotation is linear but is not a convolution.

    Returns relative errors: ``linearity`` (rot(a x + b y) vs a rot(x) + b rot(y)),
    ``shift_equivariance`` (rot(shift(x)) vs shift(rot(x)), wrap shifts), and the relative
    residual of the best least-squares kernel_size x kernel_size kernel fitted to map random
    images to their rotations (``rotation_fit``) and, as a control, to their blurs
    (``blur_fit``, which a kernel reproduces exactly).
    """
    size, n_images = check_int(size, "size", 1), check_int(n_images, "n_images", 1)
    kernel_size = _check_odd(kernel_size, "kernel_size")
    if kernel_size > size:
        raise ValueError(f"kernel_size must be at most size {size}, got {kernel_size}")
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    x, y = rng.standard_normal((2, size, size))
    a, b = 2.0, -0.7
    rotate = np.rot90

    def rel(p, q):
        return float(np.linalg.norm(p - q) / np.linalg.norm(q))

    def roll(z):
        return np.roll(z, (0, 3), axis=(0, 1))

    def best_fit_residual(transform) -> float:
        r = kernel_size // 2
        rows, targets = [], []
        for _ in range(n_images):
            z = rng.standard_normal((size, size))
            padded = pad_image(z, [(r, r), (r, r)], "wrap")
            windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel_size,) * 2)
            rows.append(windows.reshape(-1, kernel_size ** 2))
            targets.append(transform(z).ravel())
        design, target = np.concatenate(rows), np.concatenate(targets)
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        return rel(design @ coef, target)

    blur = gaussian_kernel(1.0)
    return {
        "linearity": rel(rotate(a * x + b * y), a * rotate(x) + b * rotate(y)),
        "shift_equivariance": rel(rotate(roll(x)), roll(rotate(x))),
        "blur_shift_equivariance": rel(conv2d(roll(x), blur, boundary="wrap"),
                                       roll(conv2d(x, blur, boundary="wrap"))),
        "rotation_fit": best_fit_residual(rotate),
        "blur_fit": best_fit_residual(lambda z: correlate2d(z, blur, boundary="wrap")),
    }
