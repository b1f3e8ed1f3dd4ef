"""Optical flow: brightness constancy, Lucas-Kanade (one window, dense, coarse-to-fine),
backward warping with ``grid_sample``, the structure tensor, OpenCV's Farneback flow in this
module's convention, the mean end-point error of a flow method over pairs, and the attention
copy.

Conventions (those of ``skimage.registration.optical_flow_ilk``): images are ``(H, W)``
float arrays indexed ``image[row, col]``; a flow is ``(2, H, W)``, row displacement first,
column displacement second, and says where each pixel of frame 0 went in frame 1:
``frame1[r + flow[0, r, c], c + flow[1, r, c]] ~ frame0[r, c]``.

Brightness constancy ``I1(x + u) = I0(x)``, linearised around the current guess, gives one
equation per pixel, ``grad I1 . u = I0 - I1``: one equation, two unknowns. Lucas-Kanade
assumes ``u`` constant over a window and solves the window's equations by least squares,
a 2 x 2 system whose matrix is the *structure tensor*.
"""
from __future__ import annotations

from typing import Callable, Iterable, Mapping

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi
from skimage.transform import pyramid_reduce

from ..metrics import endpoint_error
from ..validate import as_float_array, check_int, check_positive

__all__ = ["attention_copy", "brightness_terms", "farneback_flow", "gaussian_pyramid",
           "lucas_kanade", "lucas_kanade_loop", "lucas_kanade_step", "lucas_kanade_window",
           "mean_endpoint_error", "structure_tensor", "structure_tensor_eigenvalues", "warp"]

_SINGULAR = 1e-14   # |det| of a window's 2x2 system below this: no flow (as skimage)


def _grey(image, name: str) -> np.ndarray:
    image = as_float_array(image, name)
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        raise ValueError(f"{name} must be a grey (H, W) image, got a colour image of shape "
                         f"{image.shape}; convert it first, e.g. skimage.color.rgb2gray")
    if image.ndim != 2 or min(image.shape) < 2:
        raise ValueError(f"{name} must be a grey (H, W) image with H, W >= 2, got shape "
                         f"{image.shape}")
    return image


def _frames(frame0, frame1) -> tuple[np.ndarray, np.ndarray]:
    frame0, frame1 = _grey(frame0, "frame0"), _grey(frame1, "frame1")
    if frame0.shape != frame1.shape:
        raise ValueError(f"frame0 and frame1 must have the same shape, got {frame0.shape} "
                         f"and {frame1.shape}")
    return frame0, frame1


# ---------------------------------------------------------------- warping
def warp_loop(image, flow) -> np.ndarray:
    """``warp`` for one grey (H, W) image, one output pixel at a time (the readable twin).

    For pixel (r, c) the sample point is (r + flow[0, r, c], c + flow[1, r, c]), clamped into
    the image (border replication). Its value mixes the four surrounding pixels with the
    bilinear weights (1 - fy)(1 - fx), (1 - fy) fx, fy (1 - fx) and fy fx, where (fy, fx) is
    the point's offset from the top-left one. Same result as ``warp``; H * W Python steps.
    """
    image = as_float_array(image, "image", 2)
    flow = as_float_array(flow, "flow", 3)
    h, w = image.shape
    if flow.shape != (2, h, w):
        raise ValueError(f"flow must have shape (2, H, W) = {(2, h, w)}, got {flow.shape}")
    if min(h, w) < 2:
        raise ValueError(f"image must be at least 2 x 2 pixels, got {(h, w)}")
    out = np.zeros_like(image)
    for r in range(h):
        for c in range(w):
            y = min(max(r + flow[0, r, c], 0.0), h - 1.0)
            x = min(max(c + flow[1, r, c], 0.0), w - 1.0)
            top, left = min(int(y), h - 2), min(int(x), w - 2)  # y, x >= 0: int() is floor
            fy, fx = y - top, x - left
            out[r, c] = ((1 - fy) * (1 - fx) * image[top, left]
                         + (1 - fy) * fx * image[top, left + 1]
                         + fy * (1 - fx) * image[top + 1, left]
                         + fy * fx * image[top + 1, left + 1])
    return out


def warp(image, flow):
    """Backward warp: ``out[r, c] = image[r + flow[0, r, c], c + flow[1, r, c]]``, bilinear.

    image: (H, W), (C, H, W) or (N, C, H, W); flow: (2, H, W) or (N, 2, H, W). Numpy in,
    numpy out; tensors in, a tensor out (differentiable in both). Samples outside the image
    take the value of the nearest border pixel. Built on ``F.grid_sample`` with
    ``align_corners=True``: normalised -1 and +1 are the *centres* of the first and last
    pixels, so pixel column c maps to ``2 c / (W - 1) - 1``. ``warp_loop`` is the
    pixel-by-pixel twin it is tested against.
    """
    is_numpy = not isinstance(image, torch.Tensor)
    img = torch.from_numpy(as_float_array(image, "image", (2, 3, 4))) if is_numpy else image
    flo = flow if isinstance(flow, torch.Tensor) else torch.from_numpy(
        as_float_array(flow, "flow", (3, 4)))
    ndim = img.ndim
    img = img.reshape((1, 1) + img.shape if ndim == 2 else (1,) + img.shape if ndim == 3
                      else img.shape)
    flo = flo[None] if flo.ndim == 3 else flo
    n, _, h, w = img.shape
    if flo.ndim != 4 or flo.shape[1] != 2 or flo.shape[2:] != (h, w) or flo.shape[0] not in (1, n):
        raise ValueError(f"flow must have shape (2, H, W) or (N, 2, H, W) matching image "
                         f"(H, W) = {(h, w)}, got {tuple(flo.shape)}")
    if min(h, w) < 2:
        raise ValueError(f"image must be at least 2 x 2 pixels, got {(h, w)}")
    flo = flo.to(img.dtype).expand(n, -1, -1, -1)
    rows = torch.arange(h, dtype=img.dtype, device=img.device)[:, None] + flo[:, 0]
    cols = torch.arange(w, dtype=img.dtype, device=img.device)[None, :] + flo[:, 1]
    grid = torch.stack([2 * cols / (w - 1) - 1, 2 * rows / (h - 1) - 1], dim=-1)  # (x, y)
    out = F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=True)
    out = out.reshape(out.shape[2:] if ndim == 2 else out.shape[1:] if ndim == 3 else out.shape)
    return out.numpy() if is_numpy else out


# ---------------------------------------------------------------- one window (the lesson)
def brightness_terms(frame0, frame1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The terms of the linearised brightness constancy ``Ir u_r + Ic u_c + It = 0``.

    frame0, frame1: (H, W). Returns three (H, W) arrays: the row and column derivatives of
    frame 1 (``np.gradient``: central differences) and the temporal difference frame1 - frame0.
    """
    frame0, frame1 = _frames(frame0, frame1)
    grad_r, grad_c = np.gradient(frame1)
    return grad_r, grad_c, frame1 - frame0


def lucas_kanade_window(grad_r, grad_c, grad_t, rcond: float = 1e-6, atol: float = 1e-12
                        ) -> np.ndarray:
    """Least-squares flow of one window: minimise sum (Ir u_r + Ic u_c + It)^2 over u.

    grad_r, grad_c, grad_t: the window's derivatives, any equal shape (e.g. (w, w)).
    Returns u = (u_r, u_c). The normal equations are ``A u = b`` with the structure tensor
    ``A = [[sum Ir Ir, sum Ir Ic], [sum Ir Ic, sum Ic Ic]]`` and ``b = -[sum Ir It, sum Ic It]``.
    A is solved through its eigen-decomposition, dropping eigenvalues below ``rcond`` times
    the largest or below ``atol``: on an edge (one eigenvalue ~0, the aperture problem) this
    gives the smallest u that fits, the component along the gradient; on a flat patch
    (both ~0) it gives zero.
    """
    grad_r = as_float_array(grad_r, "grad_r")
    grad_c, grad_t = as_float_array(grad_c, "grad_c"), as_float_array(grad_t, "grad_t")
    if not grad_r.shape == grad_c.shape == grad_t.shape:
        raise ValueError(f"grad_r, grad_c and grad_t must have the same shape, got "
                         f"{grad_r.shape}, {grad_c.shape}, {grad_t.shape}")
    a = np.array([[np.sum(grad_r * grad_r), np.sum(grad_r * grad_c)],
                  [np.sum(grad_r * grad_c), np.sum(grad_c * grad_c)]])
    b = -np.array([np.sum(grad_r * grad_t), np.sum(grad_c * grad_t)])
    eigenvalues, eigenvectors = np.linalg.eigh(a)
    keep = eigenvalues > max(rcond * eigenvalues.max(), atol)
    kept = eigenvectors[:, keep]
    return kept @ ((kept.T @ b) / eigenvalues[keep])


def lucas_kanade_loop(frame0, frame1, window: int = 5) -> np.ndarray:
    """Dense single-level Lucas-Kanade, one window at a time (slow: for small images).

    frame0, frame1: (H, W); window: odd side of the square window. Returns flow (2, H, W).
    Borders are mirrored (as ``lucas_kanade_step``), so every pixel has a full window.
    """
    window = check_int(window, "window", 1)
    if window % 2 == 0:
        raise ValueError(f"window must be odd, got {window}")
    terms = brightness_terms(frame0, frame1)
    half = window // 2
    padded = [np.pad(t, half, mode="reflect") for t in terms]
    flow = np.zeros((2,) + terms[0].shape)
    for r in range(flow.shape[1]):
        for c in range(flow.shape[2]):
            patches = [p[r:r + window, c:c + window] for p in padded]
            flow[:, r, c] = lucas_kanade_window(*patches)
    return flow


# ---------------------------------------------------------------- dense and coarse-to-fine
def structure_tensor(image, window: int = 5) -> np.ndarray:
    """Window means of Ir^2, Ir Ic and Ic^2 at every pixel: (3, H, W) for image (H, W).

    Derivatives by central differences (``np.gradient``); a box window of side ``window``
    with mirrored borders.
    """
    image = _grey(image, "image")
    window = check_int(window, "window", 1)
    grad_r, grad_c = np.gradient(image)
    return np.stack([ndi.uniform_filter(p, window, mode="mirror")
                     for p in (grad_r * grad_r, grad_r * grad_c, grad_c * grad_c)])


def structure_tensor_eigenvalues(image, window: int = 5) -> np.ndarray:
    """Eigenvalues of the structure tensor, largest first: (2, H, W) for image (H, W).

    Both large: a corner or texture (flow recoverable); one large, one ~0: a straight edge
    (only the flow across it); both ~0: a flat patch (no flow information).
    """
    rr, rc, cc = structure_tensor(image, window)
    mean, gap = (rr + cc) / 2, np.sqrt(((rr - cc) / 2) ** 2 + rc ** 2)
    return np.stack([mean + gap, np.maximum(mean - gap, 0.0)])


def lucas_kanade_step(frame0, frame1, flow, window: int) -> np.ndarray:
    """One Lucas-Kanade iteration at every pixel at once: (2, H, W) flow in and out.

    Frame 1 is warped back by the current flow, the brightness constancy is linearised
    around it, and every pixel's 2 x 2 system (window means by ``ndi.uniform_filter``) is
    solved in closed form (Cramer's rule). Pixels whose system is singular get zero flow.
    """
    moved = warp(frame1, flow)
    grad_r, grad_c = np.gradient(moved)
    error = grad_r * flow[0] + grad_c * flow[1] + frame0 - moved

    def mean(x):
        return ndi.uniform_filter(x, window, mode="mirror")
    a, b, d = mean(grad_r * grad_r), mean(grad_r * grad_c), mean(grad_c * grad_c)
    e, f = mean(grad_r * error), mean(grad_c * error)
    det = a * d - b * b
    ok = np.abs(det) >= _SINGULAR
    det = np.where(ok, det, 1.0)
    return np.where(ok, np.stack([(d * e - b * f) / det, (a * f - b * e) / det]), 0.0)


def gaussian_pyramid(image, levels: int) -> list[np.ndarray]:
    """``levels`` images, coarsest first: each level is the next finer one blurred
    (Gaussian, sigma 2/3) and halved (``skimage.transform.pyramid_reduce``)."""
    image = _grey(image, "image")
    levels = check_int(levels, "levels", 1)
    if min(image.shape) / 2 ** (levels - 1) < 4:
        raise ValueError(f"levels={levels} would shrink the {image.shape} image below 4 pixels; "
                         f"use at most {int(np.log2(min(image.shape) / 4)) + 1} levels")
    pyramid = [image]
    for _ in range(levels - 1):
        pyramid.append(pyramid_reduce(pyramid[-1], 2, channel_axis=None))
    return pyramid[::-1]


def _upsample_flow(flow: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Flow of a coarser level brought to ``shape``: nearest-neighbour, displacements scaled."""
    scale = [n / o for n, o in zip(shape, flow.shape[1:])]
    zoomed = ndi.zoom(flow, [1] + scale, order=0, mode="nearest", prefilter=False)
    return np.asarray(scale)[:, None, None] * zoomed


def lucas_kanade(frame0, frame1, window: int = 15, levels: int = 3, iterations: int = 5
                 ) -> np.ndarray:
    """Coarse-to-fine iterative Lucas-Kanade: flow (2, H, W) from frame0 to frame1.

    frame0, frame1: grey (H, W) float images of the same shape. ``window``: side of the box
    window; ``levels``: pyramid levels (1 = single level); ``iterations``: warps per level.
    The flow found at a coarse level (where displacements are 2^level times smaller) is
    upsampled and refined at the next. With ``levels`` set to skimage's pyramid depth, the
    result is ``optical_flow_ilk(frame0, frame1, radius=window // 2, num_warp=iterations)``.
    """
    frame0, frame1 = _frames(frame0, frame1)
    window = check_int(window, "window", 1)
    iterations = check_int(iterations, "iterations", 1)
    pyramid = list(zip(gaussian_pyramid(frame0, levels), gaussian_pyramid(frame1, levels)))
    flow = np.zeros((2,) + pyramid[0][0].shape)
    for k, (level0, level1) in enumerate(pyramid):
        if k:
            flow = _upsample_flow(flow, level0.shape)
        for _ in range(iterations):
            flow = lucas_kanade_step(level0, level1, flow, window)
    return flow


# ---------------------------------------------------------------- other methods, and scoring them
def _to_uint8(image: np.ndarray) -> np.ndarray:
    """A [0, 1] float image as 8-bit grey levels (rounded, clipped to 0..255)."""
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)


def farneback_flow(frame0, frame1, levels: int = 3, window: int = 15, iterations: int = 3
                   ) -> np.ndarray:
    """OpenCV's Farneback flow from frame0 to frame1, as a (2, H, W) (row, col) flow.

    frame0, frame1: grey (H, W) images with values in [0, 1] (quantised to 8 bits, values
    outside clipped). ``cv2.calcOpticalFlowFarneback`` fits a quadratic polynomial to each
    neighbourhood (5 pixels, sigma 1.2) on a pyramid of ``levels`` levels halving the image,
    with ``window``-pixel averaging windows and ``iterations`` per level. OpenCV returns
    (x, y) = (col, row) displacements as an (H, W, 2) float32 array; they are reordered to
    this module's row-first (2, H, W) convention.
    """
    frame0, frame1 = _frames(frame0, frame1)
    levels = check_int(levels, "levels", 1)
    window = check_int(window, "window", 1)
    iterations = check_int(iterations, "iterations", 1)
    xy = cv2.calcOpticalFlowFarneback(_to_uint8(frame0), _to_uint8(frame1), None, 0.5, levels,
                                      window, iterations, 5, 1.2, 0)
    return np.stack([xy[..., 1], xy[..., 0]])


def mean_endpoint_error(method: Callable[..., np.ndarray], pairs: Iterable[Mapping],
                        **options) -> float:
    """The end-point error of a flow method averaged over frame pairs with known flow.

    ``method(frame0, frame1, **options)`` returns a (2, H, W) flow (e.g. ``lucas_kanade``
    with ``window=15, levels=3``); each pair is a mapping with ``frame0``, ``frame1``: (H, W)
    and its true ``flow``: (2, H, W), as ``flow_pairs.textured_pair`` returns. Each pair's
    mean end-point error (``metrics.endpoint_error``) counts once, whatever its size.
    """
    if not callable(method):
        raise TypeError(f"method must be callable as method(frame0, frame1), got "
                        f"{type(method).__name__}")
    pairs = list(pairs)
    if not pairs:
        raise ValueError("pairs must hold at least one pair")
    for i, pair in enumerate(pairs):
        if not isinstance(pair, Mapping) or not {"frame0", "frame1", "flow"} <= set(pair):
            raise ValueError(f"pairs[{i}] must be a mapping with keys 'frame0', 'frame1' and "
                             f"'flow', got {type(pair).__name__}"
                             + (f" with keys {sorted(pair)}" if isinstance(pair, Mapping) else ""))
    return float(np.mean([endpoint_error(method(p["frame0"], p["frame1"], **options), p["flow"])
                          for p in pairs]))


def lucas_kanade_batch(frames, window: int = 15, levels: int = 3) -> torch.Tensor:
    """``lucas_kanade`` on every pair of frames (N, 2, H, W) (a tensor) -> flows (N, 2, H, W)."""
    if not isinstance(frames, torch.Tensor) or frames.ndim != 4 or frames.shape[1] != 2:
        raise ValueError(f"frames must be an (N, 2, H, W) tensor, got {tuple(getattr(frames, 'shape', ()))}")
    pairs = frames.double().numpy()
    return torch.tensor(np.stack([lucas_kanade(f0, f1, window=window, levels=levels) for f0, f1 in pairs]))


def tune_lucas_kanade(frames, flows, windows=(5, 9, 15), levels=(1, 2)
                      ) -> tuple[dict, list[dict]]:
    """Choose Lucas-Kanade's window and pyramid depth on pairs with known flow: the setting
    with the lowest mean end-point error. frames: (N, 2, H, W), flows: (N, 2, H, W) tensors
    (pairs kept apart from the ones it will be scored on). Returns the chosen options
    ``{"window": w, "levels": l}`` and one row per setting tried."""
    if not isinstance(flows, torch.Tensor) or flows.shape != frames.shape:
        raise ValueError(f"flows must be a tensor shaped like frames {tuple(frames.shape)}, "
                         f"got {tuple(getattr(flows, 'shape', ()))}")
    rows = [{"window": w, "levels": l, "EPE": endpoint_error(lucas_kanade_batch(frames, w, l), flows)}
            for w in windows for l in levels]
    if not rows:
        raise ValueError("windows and levels must each hold at least one setting")
    best = min(rows, key=lambda r: r["EPE"])
    return {"window": best["window"], "levels": best["levels"]}, rows


# ---------------------------------------------------------------- attention copy
def attention_copy(ref_features: torch.Tensor, target_features: torch.Tensor,
                   ref_values: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Copy values from reference pixels to target pixels by feature similarity.

    ref_features: (N, D), target_features: (M, D), ref_values: (N, K) -> (M, K), with
    ``A[i, j] = softmax_i(f_i . g_j / temperature)`` (a distribution over reference pixels i
    for each target pixel j) and ``out[j] = sum_i A[i, j] ref_values[i]``. A leading batch
    dimension (B, N, D) etc. is allowed. Differentiable.
    """
    temperature = check_positive(temperature, "temperature")
    names = ("ref_features", "target_features", "ref_values")
    tensors = (ref_features, target_features, ref_values)
    for name, t in zip(names, tensors):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim not in (2, 3):
            raise ValueError(f"{name} must be (N, D) or (B, N, D), got {tuple(t.shape)}")
    if ref_features.shape[-1] != target_features.shape[-1]:
        raise ValueError(f"ref_features and target_features must have the same feature size D, "
                         f"got {tuple(ref_features.shape)} and {tuple(target_features.shape)}")
    if ref_values.shape[-2] != ref_features.shape[-2]:
        raise ValueError(f"ref_values must have one row per reference pixel "
                         f"({ref_features.shape[-2]}), got {tuple(ref_values.shape)}")
    logits = target_features @ ref_features.transpose(-1, -2) / temperature   # (M, N)
    return torch.softmax(logits, dim=-1) @ ref_values
