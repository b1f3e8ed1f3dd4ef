"""Random-dot stereograms with a known disparity map (Julesz): depth without any object cue.

The left image is random black/white dots. Each left pixel (y, x) with disparity D(y, x) is
copied to column x - D in the right image, nearer surfaces (larger D) overwriting farther ones;
right pixels nobody lands on get fresh random dots. A left pixel is non-occluded when its own
dot is the one the right image shows at (y, x - D).
"""
from __future__ import annotations

import numpy as np

from ..validate import check_int, check_positive


def disparity_scene(height: int = 96, width: int = 128, background: int = 2, square: int = 6,
                    disc: int = 10) -> np.ndarray:
    """Integer disparity map (H, W): a background plane, a raised square and a nearer disc."""
    height = check_int(height, "height", 16)
    width = check_int(width, "width", 16)
    background = check_int(background, "background", 0)
    square = check_int(square, "square", 0)
    disc = check_int(disc, "disc", 0)
    disparity = np.full((height, width), background, dtype=np.int64)
    disparity[height // 5:height // 5 + height // 3, width // 6:width // 6 + height // 3] = square
    y, x = np.mgrid[0:height, 0:width]
    cy, cx, r = 0.62 * height, 0.66 * width, 0.2 * height
    disparity[(y - cy) ** 2 + (x - cx) ** 2 < r ** 2] = disc
    return disparity


def random_dot_stereogram(disparity=None, density: float = 0.5, seed: int = 0
                          ) -> dict[str, np.ndarray]:
    """Render a random-dot pair for an integer disparity map (H, W) (default ``disparity_scene``).

    Returns a dict: ``left``, ``right`` (H, W) float images of 0 / 1 dots (``density`` the share
    of white dots), ``disparity`` (H, W) float (the truth for the left image) and
    ``visible`` (H, W) bool, the non-occluded left pixels.
    """
    if disparity is None:
        disparity = disparity_scene()
    disparity = np.asarray(disparity)
    if disparity.ndim != 2 or not np.issubdtype(disparity.dtype, np.integer):
        raise ValueError(f"disparity must be an integer (H, W) array, got {disparity.dtype} "
                         f"{disparity.shape}")
    if disparity.min() < 0:
        raise ValueError("disparity must be >= 0")
    density = check_positive(density, "density")
    if density >= 1:
        raise ValueError(f"density must lie in (0, 1), got {density}")
    seed = check_int(seed, "seed", 0)
    h, w = disparity.shape
    rng = np.random.default_rng(seed)
    left = (rng.random((h, w)) < density).astype(np.float64)
    right = (rng.random((h, w)) < density).astype(np.float64)
    owner = np.full((h, w), -1, dtype=np.int64)
    ys, xs = np.mgrid[0:h, 0:w]
    for d in np.unique(disparity):  # farther first, so nearer surfaces overwrite
        sel = (disparity == d) & (xs - d >= 0)
        right[ys[sel], xs[sel] - d] = left[sel]
        owner[ys[sel], xs[sel] - d] = d
    target = np.clip(xs - disparity, 0, None)
    visible = (xs - disparity >= 0) & (owner[ys, target] == disparity)
    return {"left": left, "right": right, "disparity": disparity.astype(np.float64),
            "visible": visible}
