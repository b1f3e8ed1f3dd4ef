"""Chapter 01 (convolution): figures and the functions behind its widgets.

The ``show_*`` functions return a matplotlib Figure; the notebook wraps some of them in
``live(...)`` widgets and the tests call them directly. The measurements they draw live in
``course_utils.filtering.filters``, the test patterns in ``course_utils.data.patterns``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..data import AVAILABLE_IMAGES, load_image
from ..data.images import noisy_camera
from ..data.patterns import grating
from ..validate import as_float_array, check_choice, check_int, check_positive
from ..viz import show_image, show_images
from . import filters as F
from . import measurements


# --------------------------------------------------------------------------- widget functions
def show_denoise(sigma: float = 1.5, size: int = 5, noise_std: float = 0.1, seed: int = 0):
    """Noisy camera, a size x size box and a Gaussian of ``sigma``, each with its RMSE to clean."""
    clean, noisy = noisy_camera(noise_std, seed)
    box = F.conv2d(noisy, F.box_kernel(size), boundary="reflect")
    gauss = F.gaussian_blur(noisy, sigma)
    titles = ["clean", f"noisy  RMSE {measurements.rmse(noisy, clean):.3f}",
              f"box {size}x{size}  RMSE {measurements.rmse(box, clean):.3f}",
              f"Gaussian sigma={sigma:g}  RMSE {measurements.rmse(gauss, clean):.3f}"]
    return show_images([clean, noisy, box, gauss], titles, size=3.0, vmin=0, vmax=1)


def show_sharpen(amount: float = 1.0, sigma: float = 1.0, noise_std: float = 0.02,
                 seed: int = 0):
    """Sharpen a clean and a slightly noisy image; titles give the noise std before and after."""
    clean, noisy = noisy_camera(noise_std, seed)
    sharp_clean = F.sharpen(clean, amount, sigma)
    sharp_noisy = F.sharpen(noisy, amount, sigma)
    # sharpening is linear, so sharpen(noisy) - sharpen(clean) is exactly the sharpened noise
    noise_before = float((noisy - clean).std())
    noise_after = float((sharp_noisy - sharp_clean).std())
    titles = ["clean", f"sharpened, amount {amount:g}", f"noisy: noise std {noise_before:.3f}",
              f"sharpened noisy: noise std {noise_after:.3f}"]
    return show_images([clean, sharp_clean, noisy, sharp_noisy], titles, size=3.0, vmin=0,
                       vmax=1, suptitle=f"predicted noise gain ||kernel||_2 = "
                                        f"{measurements.sharpen_noise_gain(amount, sigma):.2f}")


def show_edges(threshold: float = 0.2, sigma: float = 1.5, image_name: str = "coins"):
    """Derivative-of-Gaussian magnitude and the edge map above ``threshold`` * max."""
    image = load_image(check_choice(image_name, "image_name", AVAILABLE_IMAGES), gray=True)
    gx, gy = F.derivative_of_gaussian(image, sigma)
    magnitude = np.hypot(gx, gy)
    edges = F.edge_map(image, sigma, threshold)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    show_image(axes[0], image, image_name)
    show_image(axes[1], magnitude, f"|gradient|, sigma={sigma:g}", cmap="magma")
    show_image(axes[2], edges, f"edges > {threshold:g} max: {edges.mean():.1%} of pixels")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- lesson figures
def show_image_as_function(image, top: int = 200, left: int = 240, side: int = 8):
    """An image as an array of numbers (a side x side crop) and as a surface z = f(x, y)."""
    image = as_float_array(image, "image", ndim=2)
    top, left, side = check_int(top, "top", 0), check_int(left, "left", 0), check_int(side, "side", 1)
    if top + side > image.shape[0] or left + side > image.shape[1]:
        raise ValueError(f"the {side}x{side} crop at ({top}, {left}) does not fit in {image.shape}")
    patch = image[top:top + side, left:left + side]
    fig = plt.figure(figsize=(12, 3.8))
    ax = fig.add_subplot(1, 3, 1)
    show_image(ax, image, "image f(x, y)")
    ax.add_patch(plt.Rectangle((left, top), side, side, fill=False, color="red", lw=1.5))
    ax = fig.add_subplot(1, 3, 2)
    show_image(ax, patch, f"{side}x{side} crop as numbers", vmin=0, vmax=1)
    for (r, c), v in np.ndenumerate(patch):
        ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=6,
                color="white" if v < 0.5 else "black")
    ax = fig.add_subplot(1, 3, 3, projection="3d")
    crop = image[::4, ::4]
    y, x = np.mgrid[:crop.shape[0], :crop.shape[1]]
    ax.plot_surface(x, y, crop, cmap="gray", linewidth=0)
    ax.set_title("as a surface (every 4th pixel)", fontsize=9)
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def show_kernel_row(images, titles, suptitle: str | None = None, signed=None):
    """A row of images or kernels; ``signed[i]`` uses the diverging map for panel i."""
    if not isinstance(images, (list, tuple)) or not images:
        raise TypeError("images must be a non-empty list of 2-D arrays")
    if not isinstance(titles, (list, tuple)) or len(titles) != len(images):
        raise ValueError(f"titles must be a list of {len(images)} strings, one per image")
    signed = signed or [False] * len(images)
    if len(signed) != len(images):
        raise ValueError(f"signed must hold {len(images)} flags, one per image")
    fig, axes = plt.subplots(1, len(images), figsize=(2.7 * len(images), 2.9), squeeze=False)
    for ax, image, title, s in zip(axes[0], images, titles, signed):
        show_image(ax, image, title, signed=s)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def show_padding(boundary: str = "zero", sigma: float = 4.0):
    """What one padding mode invents: the camera image padded by 3 sigma (left), blurred with
    that boundary (middle), and the gradient magnitude of the blur (right), whose mean in the
    4-pixel border band is in the title."""
    check_choice(boundary, "boundary", F.BOUNDARIES)
    sigma = check_positive(sigma, "sigma")
    camera = load_image("camera")[::2, ::2]
    r = int(np.ceil(3 * sigma))
    padded = F.pad_image(camera, [(r, r), (r, r)], boundary)
    blurred = F.gaussian_blur(camera, sigma, boundary=boundary)
    gradient = np.hypot(*F.image_gradients(blurred))
    in_band, inside = measurements.border_gradient(blurred, width=4)
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
    show_image(axes[0], padded, f"padded by {r} px ({boundary})", vmin=0, vmax=1)
    axes[0].add_patch(plt.Rectangle((r - 0.5, r - 0.5), camera.shape[1], camera.shape[0],
                                    fill=False, color="red", lw=1))
    show_image(axes[1], blurred, f"Gaussian blur, sigma={sigma:g}", vmin=0, vmax=1)
    show_image(axes[2], gradient, f"|gradient|: border band {in_band:.4f}, inside {inside:.4f}",
               cmap="magma")
    fig.tight_layout()
    return fig


def show_gabor(angle: float = 45.0, frequency: float = 0.1, sigma: float = 4.0):
    """A Gabor kernel (angle in degrees, frequency in cycles per pixel) and its mean response
    energy to gratings of the same frequency at every angle 0..175 degrees (right): the
    tuning curve peaks at the kernel's own angle."""
    if isinstance(angle, bool) or not isinstance(angle, (int, float, np.integer, np.floating)):
        raise TypeError(f"angle must be a number of degrees, got {angle!r}")
    kernel = F.gabor_kernel(frequency, np.deg2rad(angle), sigma=sigma)
    if kernel.shape[0] > 64:
        raise ValueError(f"sigma {sigma} gives a {kernel.shape[0]}-pixel kernel; at most 64 fit "
                         f"the 64x64 test gratings")
    angles = np.arange(0, 180, 5)
    energy = np.array([np.mean(F.conv2d(grating(64, frequency, a) - 0.5, kernel, mode="valid") ** 2)
                       for a in angles])
    fig, (ax_k, ax_g, ax_e) = plt.subplots(1, 3, figsize=(10.5, 3.2),
                                           gridspec_kw={"width_ratios": [1, 1, 1.6]})
    show_image(ax_k, kernel, f"Gabor {angle:g} deg, f={frequency:g}", signed=True)
    show_image(ax_g, grating(64, frequency, angle), f"grating {angle:g} deg", vmin=0, vmax=1)
    ax_e.plot(angles, energy / energy.max(), "o-", ms=3)
    ax_e.axvline(angle % 180, color="C3", ls="--", lw=1)
    ax_e.set(xlabel="grating angle (deg)", ylabel="response energy / max",
             title=f"tuning: peak at {angles[np.argmax(energy)]} deg")
    fig.tight_layout()
    return fig


def show_separable_scaling(sep_rows: list[dict]):
    """Log-log time per image against kernel side m for the dense and the separable Gaussian
    (rows of ``course_utils.filtering.speed.separable_speed_table``); the legend gives the fitted
    exponent p of time ~ m^p (2 and 1 by the multiply count); bars span the fastest to the
    slowest run where the rows carry them."""
    if (not isinstance(sep_rows, (list, tuple)) or not sep_rows or not all(
            isinstance(r, dict) and {"kernel", "dense", "separable"} <= set(r) for r in sep_rows)):
        raise TypeError("sep_rows must be a non-empty list of dicts with 'kernel', 'dense' and "
                        "'separable' (from course_utils.filtering.speed.separable_speed_table)")
    m = np.array([r["kernel"] for r in sep_rows], dtype=float)
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for key, marker in (("dense", "o"), ("separable", "s")):
        times = np.array([r[key] for r in sep_rows]) * 1e3
        slope = np.polyfit(np.log(m), np.log(times), 1)[0] if len(m) > 1 else float("nan")
        lines = ax.loglog(m, times, marker=marker, label=f"{key}: time ~ m^{slope:.1f}")
        if all(f"{key}_min" in r and f"{key}_max" in r for r in sep_rows):   # fastest-slowest run
            low = times - np.array([r[f"{key}_min"] for r in sep_rows]) * 1e3
            high = np.array([r[f"{key}_max"] for r in sep_rows]) * 1e3 - times
            ax.errorbar(m, times, yerr=[low, high], fmt="none", color=lines[0].get_color(), capsize=3)
    ax.set_xlabel("kernel side m")
    ax.set_ylabel("ms per image")
    ax.legend()
    fig.tight_layout()
    return fig


def show_template_matching(image, match: dict):
    """The image with the true (green) and raw-correlation best (red) windows, the template,
    and the raw correlation and NCC maps (``match`` from ``filters.template_matching``)."""
    image = as_float_array(image, "image", ndim=2)
    keys = {"template", "raw", "ncc", "truth", "raw_best"}
    if not isinstance(match, dict) or not keys <= set(match):
        raise TypeError(f"match must be the dict of filters.template_matching (keys {sorted(keys)})")
    height, width = match["template"].shape
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.3))
    panels = [(image, "image: true (green), raw best (red)", "gray"),
              (match["template"], f"template {height}x{width}", "gray"),
              (match["raw"], "raw correlation", "magma"), (match["ncc"], "NCC", "magma")]
    for ax, (panel, title, cmap) in zip(axes, panels):
        ax.imshow(panel, cmap=cmap)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    for (r, c), color in ((match["truth"], "lime"), (match["raw_best"], "red")):
        axes[0].add_patch(plt.Rectangle((c, r), width, height, fill=False, color=color, lw=2))
    fig.tight_layout()
    return fig
