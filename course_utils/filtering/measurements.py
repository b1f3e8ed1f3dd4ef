"""The measurements of chapter 01 built on the filters: noise and stripe gains, edge
signal-to-noise, what padding invents at the border, template matching and why a rotation is
not a convolution."""
from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi

from ..data.images import noisy_camera
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
    gaussian_kernel1d,
    pad_image,
    separable_conv2d,
)


# --------------------------------------------------------------------------- measurements
def rmse(a, b) -> float:
    """Root-mean-square difference of two arrays of the same shape."""
    a, b = as_float_array(a, "a"), as_float_array(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return float(np.sqrt(np.mean((a - b) ** 2)))


def error_split(clean, noisy, kernel, boundary: str = "reflect") -> dict[str, float]:
    """Why a linear filter's output misses the clean image, in two parts.

    The filter is linear, so ``filter(noisy) - clean = (filter(clean) - clean) + filter(noise)``
    with ``noise = noisy - clean``: the first term is the detail the filter smears away, the
    second the noise it lets through. Returns the RMSE of the whole error (``"total"``) and of
    each part (``"detail lost"``, ``"noise left"``); clean, noisy: (H, W); kernel: (kh, kw).
    """
    clean, noisy = as_float_array(clean, "clean", ndim=2), as_float_array(noisy, "noisy", ndim=2)
    if clean.shape != noisy.shape:
        raise ValueError(f"clean and noisy must have the same shape, got {clean.shape} and {noisy.shape}")
    smooth = conv2d(clean, kernel, boundary=boundary)
    return {"total": rmse(conv2d(noisy, kernel, boundary=boundary), clean),
            "detail lost": rmse(smooth, clean),
            "noise left": rmse(conv2d(noisy - clean, kernel, boundary=boundary), np.zeros_like(clean))}


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


# ------------------------------------------------------------ box vs Gaussian, chosen fairly
BLUR_SHAPES = ("box", "Gaussian")
SCORING_OFFSET = 500   # the noise draw a width is scored on: its selection draw + 500


def spread_matched_sigma(width: int) -> float:
    """The Gaussian sigma with the spread of a ``width``-pixel box: the box's standard
    deviation sqrt((m^2 - 1) / 12)."""
    width = _check_odd(width, "width")
    if width < 3:
        raise ValueError(f"width must be at least 3 (a 1-pixel box has no spread), got {width}")
    return float(np.sqrt((width ** 2 - 1) / 12))


def blur_1d(shape: str, width: int) -> np.ndarray:
    """The 1-D factor of the blur of ``shape`` ("box" or "Gaussian") with the spread of a
    ``width``-pixel box (both 2-D blurs are separable)."""
    if shape not in BLUR_SHAPES:
        raise ValueError(f"shape must be one of {BLUR_SHAPES}, got {shape!r}")
    width = _check_odd(width, "width")
    if shape == "box":
        return np.full(width, 1.0 / width)
    return gaussian_kernel1d(spread_matched_sigma(width))


def denoise_arm(config: dict, seeds) -> dict[str, list[float]]:
    """One arm of the box-vs-Gaussian comparison (for ``evidence.compare``): for every seed,
    the blur of shape ``config["shape"]`` whose spread, among the box widths
    ``config["widths"]`` (Gaussians matched in spread), gives the lowest RMSE to the clean
    camera on the noise draw ``seed``, and that blur's RMSE on another draw, ``seed +
    SCORING_OFFSET`` (noise std ``config["noise_std"]``, reflect padding). Returns per seed
    the held-out RMSE and the chosen width."""
    shape = config["shape"]
    widths = [_check_odd(w, "widths") for w in config["widths"]]
    out: dict[str, list[float]] = {"held-out RMSE": [], "chosen width": []}
    for seed in seeds:
        clean, chooser = noisy_camera(config["noise_std"], seed=seed)
        _, scorer = noisy_camera(config["noise_std"], seed=seed + SCORING_OFFSET)
        factors = {w: blur_1d(shape, w) for w in widths}
        chosen = min(widths, key=lambda w: rmse(separable_conv2d(chooser, factors[w], factors[w],
                                                                  boundary="reflect"), clean))
        out["held-out RMSE"].append(rmse(separable_conv2d(scorer, factors[chosen], factors[chosen],
                                                          boundary="reflect"), clean))
        out["chosen width"].append(float(chosen))
    return out


def rotate_image(image: np.ndarray, angle: float) -> np.ndarray:
    """``image`` (H, W) turned by ``angle`` degrees anticlockwise about its centre: exact for
    multiples of 90 (``np.rot90``), else bilinear with wrap-around (``scipy.ndimage.rotate``,
    same size). Either way a linear map of the pixels."""
    image = as_float_array(image, "image")
    if image.ndim != 2:
        raise ValueError(f"image must be (H, W), got shape {image.shape}")
    angle = float(angle)
    if not np.isfinite(angle):
        raise ValueError(f"angle must be a finite number of degrees, got {angle}")
    if angle % 90 == 0:
        return np.rot90(image, int(angle // 90) % 4)
    return ndi.rotate(image, angle, reshape=False, order=1, mode="grid-wrap")


def kernel_fit_residual(transform, kernel_size: int, size: int = 24, n_images: int = 8,
                        seed: int = 0) -> float:
    """How much of ``transform`` (an (H, W) -> (H, W) map) the best kernel explains: the
    least-squares ``kernel_size`` x ``kernel_size`` kernel (wrap padding) fitted to map
    ``n_images`` random images to their transforms, scored on ``n_images`` others: the
    relative residual ||k * z - T(z)|| / ||T(z)|| on those (0: a convolution, 1: nothing)."""
    size, n_images = check_int(size, "size", 1), check_int(n_images, "n_images", 1)
    kernel_size = _check_odd(kernel_size, "kernel_size")
    if kernel_size > size:
        raise ValueError(f"kernel_size must be at most size {size}, got {kernel_size}")
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    r = kernel_size // 2

    def system(count):
        rows, targets = [], []
        for _ in range(count):
            z = rng.standard_normal((size, size))
            padded = pad_image(z, [(r, r), (r, r)], "wrap")
            windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel_size,) * 2)
            rows.append(windows.reshape(-1, kernel_size ** 2))
            targets.append(np.asarray(transform(z), dtype=float).ravel())
        return np.concatenate(rows), np.concatenate(targets)

    design, target = system(n_images)
    # the normal equations: random images make the design well conditioned, and this is many
    # times faster than an SVD-based lstsq for a few hundred unknowns
    coef = np.linalg.solve(design.T @ design, design.T @ target)
    held_design, held_target = system(n_images)
    return float(np.linalg.norm(held_design @ coef - held_target) / np.linalg.norm(held_target))


def rotation_is_not_convolution(size: int = 24, kernel_sizes=(3, 9, 15, 23), angle: float = 30.0,
                                n_images: int = 8, seed: int = 0) -> dict:
    """Measure why a rotation by ``angle`` degrees is linear but is not a convolution.

    Returns relative errors: ``linearity`` (rot(a x + b y) vs a rot(x) + b rot(y)),
    ``shift_equivariance`` (rot(shift(x)) vs shift(rot(x)), wrap shifts; a blur's is
    ``blur_shift_equivariance``), and per kernel size of ``kernel_sizes`` the held-out residual
    of the best kernel (``kernel_fit_residual``) for the rotation (``rotation_fit``) and, as a
    control, for a Gaussian blur (``blur_fit``, which a kernel reproduces exactly)."""
    size = check_int(size, "size", 1)
    kernel_sizes = [_check_odd(k, "kernel_sizes") for k in kernel_sizes]
    if not kernel_sizes or max(kernel_sizes) > size:
        raise ValueError(f"kernel_sizes must be odd sizes of at most size {size}, got {kernel_sizes}")
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    x, y = rng.standard_normal((2, size, size))
    a, b = 2.0, -0.7

    def rotate(z):
        return rotate_image(z, angle)

    def rel(p, q):
        return float(np.linalg.norm(p - q) / np.linalg.norm(q))

    def roll(z):
        return np.roll(z, (0, 3), axis=(0, 1))

    blur = gaussian_kernel(1.0)

    def blurred(z):
        return correlate2d(z, blur, boundary="wrap")

    return {
        "angle": float(angle),
        "linearity": rel(rotate(a * x + b * y), a * rotate(x) + b * rotate(y)),
        "shift_equivariance": rel(rotate(roll(x)), roll(rotate(x))),
        "blur_shift_equivariance": rel(conv2d(roll(x), blur, boundary="wrap"),
                                       roll(conv2d(x, blur, boundary="wrap"))),
        "rotation_fit": {k: kernel_fit_residual(rotate, k, size, n_images, seed + 1) for k in kernel_sizes},
        "blur_fit": {k: kernel_fit_residual(blurred, k, size, n_images, seed + 1) for k in kernel_sizes},
    }
