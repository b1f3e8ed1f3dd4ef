"""Two-view stereo: depth from disparity, window matching costs and block matching.

Convention: rectified grey images ``left`` and ``right`` of shape (H, W); a scene point seen at
column ``x`` in the left image appears at column ``x - d`` in the right image, ``d >= 0`` its
disparity. Disparity maps belong to the left image. Photometric stereo (one camera, several lights)
is in ``course_utils.geometry3d.photometric``.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import binary_dilation, uniform_filter

from ..validate import as_float_array, check_choice, check_int, check_positive

COSTS = ("sad", "ssd", "ncc")
_NCC_EPS = 1e-12  # windows whose variance product is below this count as flat (ncc = 0)


def depth_from_disparity(disparity, focal, baseline) -> np.ndarray:
    """Depth Z = f B / d of each disparity (same shape); NaN where d <= 0 or d is NaN.

    ``focal`` in pixels and ``baseline`` in metres give Z in metres.
    """
    d = as_float_array(disparity, "disparity")
    f = check_positive(focal, "focal")
    b = check_positive(baseline, "baseline")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, f * b / d, np.nan)


def depth_error(depth, focal, baseline, disparity_error=1.0) -> np.ndarray:
    """First-order depth error |dZ| = Z^2 / (f B) * |dd| for a disparity error ``dd`` (pixels).

    Differentiating Z = f B / d gives dZ/dd = -f B / d^2 = -Z^2 / (f B): the error grows with
    the square of the distance.
    """
    z = as_float_array(depth, "depth")
    if np.any(~(z > 0)):
        raise ValueError("depth must be positive everywhere")
    f = check_positive(focal, "focal")
    b = check_positive(baseline, "baseline")
    dd = check_positive(disparity_error, "disparity_error", allow_zero=True)
    return z ** 2 / (f * b) * dd


def quantized_depth_error(depth, focal, baseline) -> np.ndarray:
    """Measured depth error when disparities are rounded to whole pixels (same shape as depth).

    Each true depth Z gives the disparity f B / Z; rounding it to the nearest integer (a matcher
    without sub-pixel refinement) and converting back gives Z'; returns |Z' - Z|. Depths whose
    rounded disparity is 0 (too far to measure) give inf.
    """
    z = as_float_array(depth, "depth")
    if np.any(~(z > 0)):
        raise ValueError("depth must be positive everywhere")
    f = check_positive(focal, "focal")
    b = check_positive(baseline, "baseline")
    rounded = np.round(f * b / z)
    with np.errstate(divide="ignore"):
        estimate = np.where(rounded > 0, f * b / np.maximum(rounded, 1), np.inf)
    return np.abs(estimate - z)


def _check_pair(left, right, max_disparity, window, cost):
    left = as_float_array(left, "left", ndim=2)
    right = as_float_array(right, "right", ndim=2)
    if left.shape != right.shape:
        raise ValueError(f"left and right must have the same shape, got {left.shape} and "
                         f"{right.shape}")
    max_disparity = check_int(max_disparity, "max_disparity", 1)
    if max_disparity >= left.shape[1]:
        raise ValueError(f"max_disparity must be smaller than the image width {left.shape[1]}, "
                         f"got {max_disparity}")
    window = check_int(window, "window", 1)
    if window % 2 == 0:
        raise ValueError(f"window must be odd (a centred square), got {window}")
    check_choice(cost, "cost", COSTS)
    return left, right, max_disparity, window


def cost_volume(left, right, max_disparity: int, window: int, cost: str = "sad") -> np.ndarray:
    """Window-aggregated matching costs, shape (D + 1, H, W) for d = 0 .. D = max_disparity.

    ``cost[d, y, x]`` compares the ``window`` x ``window`` patch of ``left`` centred on (y, x)
    with the patch of ``right`` centred on (y, x - d); lower is better:

    - ``"sad"``: sum of absolute differences, ``"ssd"``: sum of squared differences,
    - ``"ncc"``: 1 - normalised cross-correlation (in [0, 2]; 1 where a patch is flat).

    Borders: both images are extended by replicating their edge pixels (numpy ``"edge"``
    padding), so every pixel has a full window. A candidate whose centre falls outside the
    right image (x - d < 0) costs +inf. Vectorised: one shifted difference image per d, then a
    box filter (scipy.ndimage.uniform_filter) over the whole volume. Memory: a few float64
    arrays of (D + 1) H W values (NCC needs the most), so halve large images first.
    """
    left, right, dmax, window = _check_pair(left, right, max_disparity, window, cost)
    h, w = left.shape
    r = window // 2
    lp = np.pad(left, r, mode="edge")
    rp = np.pad(right, r, mode="edge")
    shifted = np.zeros((dmax + 1,) + lp.shape)
    for d in range(dmax + 1):  # shifted[d, :, x] = rp[:, x - d]
        shifted[d, :, d:] = rp[:, :lp.shape[1] - d]
    size = (1, window, window)
    area = float(window * window)
    if cost in ("sad", "ssd"):
        diff = np.abs(lp[None] - shifted) if cost == "sad" else (lp[None] - shifted) ** 2
        volume = uniform_filter(diff, size=size, mode="constant") * area
    else:
        mean_l = uniform_filter(lp, size=window, mode="constant")
        var_l = uniform_filter(lp * lp, size=window, mode="constant") - mean_l ** 2
        mean_r = uniform_filter(shifted, size=size, mode="constant")
        var_r = uniform_filter(shifted * shifted, size=size, mode="constant") - mean_r ** 2
        cov = uniform_filter(lp[None] * shifted, size=size, mode="constant") - mean_l * mean_r
        denom = np.clip(var_l, 0, None) * np.clip(var_r, 0, None)
        ncc = np.where(denom > _NCC_EPS, cov / np.sqrt(np.maximum(denom, _NCC_EPS)), 0.0)
        volume = 1.0 - ncc
    volume = volume[:, r:r + h, r:r + w]
    columns = np.arange(w)
    for d in range(1, dmax + 1):
        volume[d, :, columns < d] = np.inf
    return volume


def _patch_cost(a: np.ndarray, b: np.ndarray, cost: str) -> float:
    if cost == "sad":
        return float(np.sum(np.abs(a - b)))
    if cost == "ssd":
        return float(np.sum((a - b) ** 2))
    a0, b0 = a - a.mean(), b - b.mean()
    denom = np.sum(a0 * a0) * np.sum(b0 * b0) / a.size ** 2
    if denom <= _NCC_EPS:
        return 1.0
    return 1.0 - float(np.sum(a0 * b0) / np.sqrt(np.sum(a0 * a0) * np.sum(b0 * b0)))


def block_matching_loop(left, right, max_disparity: int, window: int,
                        cost: str = "sad") -> np.ndarray:
    """Block matching written as loops (tiny images only): disparity (H, W), float.

    For every left pixel and every candidate d with x - d >= 0, compare the two windows
    (edge-replicated borders, as in ``cost_volume``) and keep the d of lowest cost (the first
    one on ties).
    """
    left, right, dmax, window = _check_pair(left, right, max_disparity, window, cost)
    h, w = left.shape
    r = window // 2
    lp = np.pad(left, r, mode="edge")
    rp = np.pad(right, r, mode="edge")
    disparity = np.full((h, w), np.nan)
    for y in range(h):
        for x in range(w):
            patch = lp[y:y + window, x:x + window]
            best, best_d = np.inf, np.nan
            for d in range(min(dmax, x) + 1):
                c = _patch_cost(patch, rp[y:y + window, x - d:x - d + window], cost)
                if c < best:
                    best, best_d = c, d
            disparity[y, x] = best_d
    return disparity


def block_matching(left, right, max_disparity: int, window: int, cost: str = "sad") -> np.ndarray:
    """Winner-takes-all block matching: disparity (H, W) of the left image, float.

    ``left``, ``right``: grey (H, W); candidates d = 0 .. max_disparity; ``window`` odd;
    ``cost`` in {"sad", "ssd", "ncc"} (see ``cost_volume``, which also states the border
    handling). Each pixel takes the d of lowest window cost (the smallest d on ties); NaN where
    no candidate has a finite cost (e.g. NaN in the input).
    """
    volume = cost_volume(left, right, max_disparity, window, cost)
    finite = np.isfinite(volume)
    best = np.argmin(np.where(finite, volume, np.inf), axis=0).astype(np.float64)
    best[~finite.any(axis=0)] = np.nan
    return best


def near_depth_edges(truth, jump: float = 2.0, width: int = 4) -> np.ndarray:
    """Mask (H, W) of the known pixels within ``width`` pixels of a depth edge.

    A depth edge lies between two horizontally or vertically adjacent pixels whose known
    disparities (finite values of ``truth`` (H, W)) differ by more than ``jump``; both pixels
    are marked, then the marks are dilated ``width`` times (4-neighbourhood).
    """
    gt = as_float_array(truth, "truth", ndim=2)
    jump = check_positive(jump, "jump")
    width = check_int(width, "width", 0)
    known = np.isfinite(gt)
    filled = np.where(known, gt, 0.0)
    across = (np.abs(np.diff(filled, axis=1)) > jump) & known[:, 1:] & known[:, :-1]
    down = (np.abs(np.diff(filled, axis=0)) > jump) & known[1:] & known[:-1]
    edges = np.zeros_like(known)
    edges[:, 1:] |= across
    edges[:, :-1] |= across
    edges[1:] |= down
    edges[:-1] |= down
    if width > 0:
        edges = binary_dilation(edges, iterations=width)
    return edges & known


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def opencv_disparity(left, right, max_disparity: int, window: int,
                     method: str = "bm") -> np.ndarray:
    """OpenCV's StereoBM (``"bm"``) or StereoSGBM (``"sgbm"``) disparity (H, W), float.

    ``left``, ``right``: grey (H, W) uint8, or floats in [0, 1] (scaled to uint8).
    ``numDisparities`` is ``max_disparity`` rounded up to a multiple of 16; ``window`` is the
    block size (odd; StereoBM needs 5 .. 255). OpenCV returns 16 x the disparity as int16;
    the result is divided by 16 and pixels OpenCV marks invalid (negative) are NaN.
    SGBM uses the usual smoothness penalties P1 = 8 w^2 and P2 = 32 w^2.
    """
    check_choice(method, "method", ("bm", "sgbm"))
    left_arr, right_arr = np.asarray(left), np.asarray(right)
    lf, rf, dmax, window = _check_pair(left_arr, right_arr, max_disparity, window, "sad")
    if left_arr.dtype != np.uint8:
        if lf.min() < 0 or lf.max() > 1 or rf.min() < 0 or rf.max() > 1:
            raise ValueError("left and right must be uint8 or floats in [0, 1]")
    if method == "bm" and not 5 <= window <= 255:
        raise ValueError(f"window must lie in [5, 255] for StereoBM, got {window}")
    num = int(np.ceil(dmax / 16.0) * 16)
    if method == "bm":
        matcher = cv2.StereoBM_create(numDisparities=num, blockSize=window)
    else:
        matcher = cv2.StereoSGBM_create(minDisparity=0, numDisparities=num, blockSize=window,
                                        P1=8 * window ** 2, P2=32 * window ** 2)
    raw = matcher.compute(_to_uint8(left_arr if left_arr.dtype == np.uint8 else lf),
                          _to_uint8(right_arr if right_arr.dtype == np.uint8 else rf))
    disparity = raw.astype(np.float64) / 16.0
    disparity[raw < 0] = np.nan
    return disparity


def disparity_errors(estimate, truth, threshold: float = 1.0, mask=None) -> dict[str, float]:
    """Compare a disparity map with the ground truth (both (H, W)).

    Evaluated pixels: finite ``truth`` (and ``mask`` True, if given). Returns
    - ``bad_rate``: share of evaluated pixels with |estimate - truth| > ``threshold`` or no
      estimate (NaN / inf counts as bad),
    - ``mean_error``: mean |estimate - truth| over evaluated pixels with a finite estimate,
    - ``coverage``: share of evaluated pixels with a finite estimate,
    - ``pixels``: the number of evaluated pixels.
    """
    est = as_float_array(estimate, "estimate", ndim=2)
    gt = as_float_array(truth, "truth", ndim=2)
    if est.shape != gt.shape:
        raise ValueError(f"estimate and truth must have the same shape, got {est.shape} and "
                         f"{gt.shape}")
    t = check_positive(threshold, "threshold", allow_zero=True)
    valid = np.isfinite(gt)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != gt.shape or mask.dtype != bool:
            raise ValueError(f"mask must be a boolean array of shape {gt.shape}, got "
                             f"{mask.dtype} {mask.shape}")
        valid &= mask
    n = int(valid.sum())
    if n == 0:
        raise ValueError("truth has no finite pixel to evaluate (inside mask)")
    has = valid & np.isfinite(est)
    err = np.abs(est[has] - gt[has])
    bad = n - int(has.sum()) + int(np.sum(err > t))
    return {"bad_rate": bad / n, "mean_error": float(err.mean()) if err.size else float("nan"),
            "coverage": float(has.sum()) / n, "pixels": float(n)}
