"""Chapter 01 (convolution): test patterns, figures, widget functions and the speed tables.

The ``show_*`` functions return a matplotlib Figure; the notebook wraps them in
``live(...)`` widgets and the tests call them directly.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import scipy.signal as sps

from .. import filters as F
from ..data import load_image
from ..timing import time_call
from ..validate import check_positive
from ..viz import show_image, show_images

# --------------------------------------------------------------------------- test patterns


def impulse_image(size: int = 32, positions=((16, 16),)) -> np.ndarray:
    """(size, size) zeros with a 1 at each (row, col) in ``positions``."""
    image = np.zeros((size, size))
    for r, c in positions:
        image[r, c] = 1.0
    return image


def step_image(size: int = 64, column: int | None = None) -> np.ndarray:
    """(size, size) image that is 0 left of ``column`` (default: the middle) and 1 from it on."""
    image = np.zeros((size, size))
    image[:, size // 2 if column is None else column:] = 1.0
    return image


def grating(size: int = 64, frequency: float = 0.1, theta: float = 0.0,
            phase: float = 0.0) -> np.ndarray:
    """(size, size) sinusoid ``0.5 + 0.5 cos(2 pi f (x cos theta + y sin theta) + phase)``."""
    y, x = np.mgrid[:size, :size].astype(float)
    return 0.5 + 0.5 * np.cos(2 * np.pi * frequency * (x * np.cos(theta) + y * np.sin(theta))
                              + phase)


def noisy_camera(noise_std: float = 0.1, seed: int = 0, size: int = 256
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Camera image downsampled to (size, size) and a copy with seeded Gaussian noise."""
    clean = load_image("camera")
    step = max(clean.shape[0] // size, 1)
    clean = clean[::step, ::step][:size, :size]
    noise = np.random.default_rng(seed).normal(0.0, noise_std, clean.shape)
    return clean, clean + noise


def rmse(a, b) -> float:
    """Root-mean-square difference of two arrays of the same shape."""
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


# --------------------------------------------------------------------------- widget functions
def show_denoise(sigma: float = 1.5, size: int = 5, noise_std: float = 0.1, seed: int = 0):
    """Noisy camera, a size x size box and a Gaussian of ``sigma``, each with its RMSE to clean."""
    clean, noisy = noisy_camera(noise_std, seed)
    box = F.conv2d(noisy, F.box_kernel(size), boundary="reflect")
    gauss = F.gaussian_blur(noisy, sigma)
    titles = ["clean", f"noisy  RMSE {rmse(noisy, clean):.3f}",
              f"box {size}x{size}  RMSE {rmse(box, clean):.3f}",
              f"Gaussian sigma={sigma:g}  RMSE {rmse(gauss, clean):.3f}"]
    return show_images([clean, noisy, box, gauss], titles, size=3.0, vmin=0, vmax=1)


def sharpen_noise_gain(amount: float, sigma: float = 1.0) -> float:
    """Factor by which sharpening multiplies white-noise std: the L2 norm of its kernel."""
    g = F.gaussian_kernel(sigma)
    kernel = (1 + amount) * F.identity_kernel(g.shape[0]) - amount * g
    return float(np.sqrt((kernel ** 2).sum()))


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
                                        f"{sharpen_noise_gain(amount, sigma):.2f}")


def show_edges(threshold: float = 0.2, sigma: float = 1.5, image_name: str = "coins"):
    """Derivative-of-Gaussian magnitude and the edge map above ``threshold`` * max."""
    image = load_image(image_name, gray=True)
    gx, gy = F.gaussian_gradient(image, sigma)
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
    signed = signed or [False] * len(images)
    fig, axes = plt.subplots(1, len(images), figsize=(2.7 * len(images), 2.9), squeeze=False)
    for ax, image, title, s in zip(axes[0], images, titles, signed):
        show_image(ax, image, title, signed=s)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def template_matching(image, top: int, left: int, height: int, width: int) -> dict:
    """Raw correlation vs NCC for a patch cut from ``image``: maps and best positions."""
    template = image[top:top + height, left:left + width]
    raw = F.correlate2d(image, template, "valid")
    ncc = F.match_template_ncc(image, template)
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
    rng = np.random.default_rng(seed)
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
            padded = F.pad_image(z, [(r, r), (r, r)], "wrap")
            windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel_size,) * 2)
            rows.append(windows.reshape(-1, kernel_size ** 2))
            targets.append(transform(z).ravel())
        design, target = np.concatenate(rows), np.concatenate(targets)
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        return rel(design @ coef, target)

    blur = F.gaussian_kernel(1.0)
    return {
        "linearity": rel(rotate(a * x + b * y), a * rotate(x) + b * rotate(y)),
        "shift_equivariance": rel(rotate(roll(x)), roll(rotate(x))),
        "blur_shift_equivariance": rel(F.conv2d(roll(x), blur, boundary="wrap"),
                                       roll(F.conv2d(x, blur, boundary="wrap"))),
        "rotation_fit": best_fit_residual(rotate),
        "blur_fit": best_fit_residual(lambda z: F.correlate2d(z, blur, boundary="wrap")),
    }


# --------------------------------------------------------------------------- speed tables
def speed_table(size: int = 512, kernel_sizes=(3, 7, 15, 31), repeat: int = 3,
                naive_taps: int = 200_000, seed: int = 0) -> list[dict]:
    """Time 'same' zero-padded convolution of a (size, size) float64 image, one row per kernel.

    Columns (seconds per call): ``naive`` (``conv2d_naive``; when size^2 * m^2 exceeds
    ``naive_taps`` it runs on a ``naive_crop`` x ``naive_crop`` crop and is extrapolated per
    pixel, ``naive_extrapolated`` says so), ``numpy`` (``conv2d``), ``torch``
    (``torch.nn.functional.conv2d`` on the flipped kernel, float64) and ``scipy``
    (``scipy.signal.convolve2d``). Outputs are checked to agree before timing.
    """
    import torch

    image = load_image("camera")
    image = np.tile(image, (math.ceil(size / image.shape[0]),) * 2)[:size, :size]
    rng = np.random.default_rng(seed)
    rows = []
    for m in kernel_sizes:
        kernel = rng.standard_normal((m, m))
        x = torch.from_numpy(np.ascontiguousarray(image))[None, None]
        k = torch.from_numpy(np.ascontiguousarray(kernel[::-1, ::-1]))[None, None]

        def torch_conv():
            with torch.no_grad():
                return torch.nn.functional.conv2d(x, k, padding=m // 2)[0, 0]

        ours = F.conv2d(image, kernel)
        if not np.allclose(ours, torch_conv().numpy(), atol=1e-8):
            raise RuntimeError(f"conv2d and torch disagree for a {m}x{m} kernel")
        crop = min(size, max(8, int(math.sqrt(naive_taps) / m)))
        naive = time_call(F.conv2d_naive, image[:crop, :crop], kernel, repeat=1, warmup=0)
        rows.append({
            "kernel": m, "naive": naive * (size / crop) ** 2, "naive_crop": crop,
            "naive_extrapolated": crop < size,
            "numpy": time_call(F.conv2d, image, kernel, repeat=repeat),
            "torch": time_call(torch_conv, repeat=repeat),
            "scipy": time_call(sps.convolve2d, image, kernel, "same", repeat=repeat),
        })
    return rows


def separable_speed_table(size: int = 512, sigmas=(1, 2, 4, 8), repeat: int = 3) -> list[dict]:
    """Dense 2-D Gaussian (m^2 taps per pixel) vs two 1-D passes (2m taps) on (size, size)."""
    image = load_image("camera")
    image = np.tile(image, (math.ceil(size / image.shape[0]),) * 2)[:size, :size]
    rows = []
    for sigma in sigmas:
        check_positive(sigma, "sigma")
        m = F.gaussian_kernel1d(sigma).size
        dense = time_call(F.gaussian_blur, image, sigma, separable=False, repeat=repeat)
        separable = time_call(F.gaussian_blur, image, sigma, separable=True, repeat=repeat)
        rows.append({"sigma": sigma, "kernel": m, "dense": dense, "separable": separable,
                     "speedup": dense / separable, "tap_ratio": m * m / (2 * m)})
    return rows


def format_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Plain-text table: ``columns`` are (key, header, format spec) triples."""
    headers = [h for _, h, _ in columns]
    body = [[format(row[key], spec) for key, _, spec in columns] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in body]
    return "\n".join(lines)


def format_speed_tables(conv_rows: list[dict], sep_rows: list[dict]) -> str:
    """Both speed tables as text, with ratios and a note on extrapolated naive times."""
    conv_rows = [dict(r, naive_vs_numpy=r["naive"] / r["numpy"],
                      numpy_vs_torch=r["numpy"] / r["torch"],
                      naive_ms=f"{r['naive'] * 1e3:.0f}" + ("*" if r["naive_extrapolated"] else ""),
                      **{k + "_ms": r[k] * 1e3 for k in ("numpy", "torch", "scipy")})
                 for r in conv_rows]
    sep_rows = [dict(r, dense_ms=r["dense"] * 1e3, separable_ms=r["separable"] * 1e3)
                for r in sep_rows]
    conv = format_table(conv_rows, [
        ("kernel", "m", "d"), ("naive_ms", "naive ms", "s"), ("numpy_ms", "conv2d ms", ".2f"),
        ("torch_ms", "torch ms", ".2f"), ("scipy_ms", "scipy ms", ".2f"),
        ("naive_vs_numpy", "naive/conv2d", ".0f"), ("numpy_vs_torch", "conv2d/torch", ".2f")])
    crops = ", ".join(f"m={r['kernel']}: {r['naive_crop']}x{r['naive_crop']}"
                      for r in conv_rows if r["naive_extrapolated"])
    note = (f"* naive loops timed on a crop and scaled by pixel count ({crops})"
            if crops else "naive loops timed on the full image")
    sep = format_table(sep_rows, [
        ("sigma", "sigma", "g"), ("kernel", "m", "d"), ("dense_ms", "dense ms", ".2f"),
        ("separable_ms", "separable ms", ".2f"), ("speedup", "speedup", ".1f"),
        ("tap_ratio", "m^2/(2m)", ".1f")])
    return f"{conv}\n{note}\n\n{sep}"
