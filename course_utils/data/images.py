"""Offline sample images from scikit-image, as float arrays in [0, 1]."""
from __future__ import annotations

import numpy as np
from skimage import color, data, util

# Images that ship inside the scikit-image wheel (nothing is downloaded).
AVAILABLE_IMAGES: tuple[str, ...] = (
    "astronaut", "camera", "cat", "checkerboard", "chelsea", "clock", "coffee", "coins",
    "horse", "moon", "page", "rocket", "text",
)
_ALIASES = {"cat": "chelsea"}


def load_image(name: str, gray: bool = False) -> np.ndarray:
    """Load a bundled image as float64 in [0, 1].

    Returns ``(H, W)`` for grey images (or when ``gray=True``) and ``(H, W, 3)`` for colour.
    Raises ValueError listing the available names for an unknown ``name``.
    """
    if name not in AVAILABLE_IMAGES:
        raise ValueError(f"name must be one of {', '.join(AVAILABLE_IMAGES)}; got {name!r}")
    image = getattr(data, _ALIASES.get(name, name))()
    image = util.img_as_float64(image)
    if image.ndim == 3 and image.shape[2] == 4:
        image = color.rgba2rgb(image)
    if gray and image.ndim == 3:
        image = color.rgb2gray(image)
    return np.clip(image, 0.0, 1.0)


def load_stereo_pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return skimage's motorcycle stereo pair as grey floats and its disparity map.

    left, right: (H, W) in [0, 1]; disparity: (H, W) in pixels (may hold inf where unknown).
    """
    left, right, disparity = data.stereo_motorcycle()
    return (color.rgb2gray(util.img_as_float64(left)),
            color.rgb2gray(util.img_as_float64(right)), np.asarray(disparity, dtype=np.float64))
