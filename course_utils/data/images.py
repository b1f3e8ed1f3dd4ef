"""Offline sample images from scikit-image, as float arrays in [0, 1]."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from skimage import color, data, util
from skimage.transform import downscale_local_mean, resize

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
    if not isinstance(name, str) or name not in AVAILABLE_IMAGES:
        raise ValueError(f"name must be one of {', '.join(AVAILABLE_IMAGES)}; got {name!r}")
    image = getattr(data, _ALIASES.get(name, name))()
    image = util.img_as_float64(image)
    if image.ndim == 3 and image.shape[2] == 4:
        image = color.rgba2rgb(image)
    if gray and image.ndim == 3:
        image = color.rgb2gray(image)
    return np.clip(image, 0.0, 1.0)


def noisy_camera(noise_std: float = 0.1, seed: int = 0, size: int = 256
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The camera image downsampled to (size, size) and a copy plus seeded Gaussian noise of
    std ``noise_std`` (not clipped): returns (clean, noisy), each (size, size) float64."""
    if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float, np.number)) \
            or not np.isfinite(noise_std) or noise_std < 0:
        raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= 512:
        raise ValueError(f"size must be an integer in [1, 512], got {size!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    clean = load_image("camera")
    step = max(clean.shape[0] // size, 1)
    clean = clean[::step, ::step][:size, :size]
    noise = np.random.default_rng(seed).normal(0.0, noise_std, clean.shape)
    return clean, clean + noise


def face_pair(size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Two grey faces cropped to the same square size, eyes roughly aligned.

    Returns (astronaut, cat), each (size, size) float64 in [0, 1], from skimage's bundled
    astronaut and chelsea images (fresh copies: callers may modify them).
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}")
    return tuple(image.copy() for image in _face_pair(size))


@lru_cache(maxsize=4)
def _face_pair(size: int) -> tuple[np.ndarray, np.ndarray]:
    astronaut = load_image("astronaut", gray=True)[20:260, 95:335]
    cat = load_image("chelsea", gray=True)[0:300, 80:380]
    return (resize(astronaut, (size, size), anti_aliasing=True),
            resize(cat, (size, size), anti_aliasing=True))


PHOTOGRAPHS = ("camera", "astronaut", "chelsea", "coffee", "coins", "moon", "rocket", "horse")


def photo_set(size: int = 256, names=PHOTOGRAPHS) -> dict[str, np.ndarray]:
    """Grey square photographs of one size: each bundled image's central square, resized to
    (size, size), float64 in [0, 1]; name -> image."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}")
    out = {}
    for name in names:
        image = load_image(name, gray=True)
        side = min(image.shape)
        top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
        out[name] = resize(image[top:top + side, left:left + side], (size, size), anti_aliasing=True)
    return out


def load_stereo_pair(factor: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return skimage's motorcycle stereo pair as grey floats and its disparity map.

    left, right: (H, W) in [0, 1]; disparity: (H, W) in pixels (inf where unknown). With
    ``factor`` > 1 both images are averaged over factor x factor blocks (the edge rows and
    columns that do not fill a block are dropped) and the disparity map keeps the top-left
    value of each block, divided by ``factor``: a pair ``factor`` times smaller in every
    dimension, disparities included.
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be an integer >= 1, got {factor!r}")
    left, right, disparity = data.stereo_motorcycle()
    left = color.rgb2gray(util.img_as_float64(left))
    right = color.rgb2gray(util.img_as_float64(right))
    disparity = np.asarray(disparity, dtype=np.float64)
    if factor == 1:
        return left, right, disparity
    h, w = left.shape[0] // factor * factor, left.shape[1] // factor * factor
    return (downscale_local_mean(left[:h, :w], (factor, factor)),
            downscale_local_mean(right[:h, :w], (factor, factor)),
            disparity[:h:factor, :w:factor] / factor)
