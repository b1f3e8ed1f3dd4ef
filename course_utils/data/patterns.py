"""Synthetic test images for chapters 01 and 02: impulses, a step edge, a bar, gratings, the
Campbell-Robson chart.

Coordinates as everywhere in the course: x is the column (to the right), y the row
(downwards); ``image[y, x]``. Every pattern is float64 in [0, 1].
"""
from __future__ import annotations

import numpy as np

from ..validate import check_int, check_positive, check_shape_2d


def _check_shape(shape) -> tuple[int, int]:
    """An int n means (n, n); otherwise two positive integers (H, W)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape, shape)
    if (not isinstance(shape, (tuple, list)) or len(shape) != 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1
                       for s in shape)):
        raise ValueError(f"shape must be a positive integer or two positive integers (H, W), "
                         f"got {shape!r}")
    return int(shape[0]), int(shape[1])


def impulse_image(size: int = 32, positions=((16, 16),)) -> np.ndarray:
    """(size, size) zeros with a 1 at each (row, col) in ``positions``."""
    size = check_int(size, "size", 1)
    image = np.zeros((size, size))
    try:
        positions = [tuple(p) for p in positions]
    except TypeError:
        raise ValueError(f"positions must be (row, col) pairs, got {positions!r}") from None
    for position in positions:
        if len(position) != 2 or not all(isinstance(p, (int, np.integer)) and 0 <= p < size
                                         for p in position):
            raise ValueError(f"positions must be (row, col) pairs inside the {size}x{size} "
                             f"image, got {position!r}")
        image[int(position[0]), int(position[1])] = 1.0
    return image


def step_image(size: int = 64, column: int | None = None) -> np.ndarray:
    """(size, size) image that is 0 left of ``column`` (default: the middle) and 1 from it on:
    one vertical step edge."""
    size = check_int(size, "size", 2)
    column = size // 2 if column is None else check_int(column, "column", 1)
    if column >= size:
        raise ValueError(f"column must lie in [1, {size - 1}], got {column}")
    image = np.zeros((size, size))
    image[:, column:] = 1.0
    return image


def bar_image(size: int = 128) -> np.ndarray:
    """(size, size) bright vertical bar on black, columns size // 4 to 3 size // 4: two step
    edges, one rising and one falling (chapter 02's ringing test)."""
    size = check_int(size, "size", 4)
    image = np.zeros((size, size))
    image[:, size // 4: 3 * size // 4] = 1.0
    return image


def grating(shape, frequency: float, angle: float = 0.0, phase: float = 0.0) -> np.ndarray:
    """Cosine grating ``0.5 + 0.5 cos(2 pi frequency (x cos a + y sin a) + phase)``.

    shape: n or (H, W) -> (H, W). ``frequency`` in cycles per pixel; ``angle`` a in degrees:
    the direction in which the intensity varies (across the stripes), measured from the x axis
    towards the y axis, i.e. clockwise on screen because rows point down. This is the
    convention of ``filters.gabor_kernel`` (theta = radians(angle)) and of skimage. The
    grating's spectrum is two spots at +-frequency (cos a, sin a) in (x, y) frequency
    coordinates; they fall exactly on bins when ``frequency * W cos a`` and
    ``frequency * H sin a`` are integers.
    """
    h, w = _check_shape(shape)
    frequency = check_positive(frequency, "frequency", allow_zero=True)
    theta = np.deg2rad(float(angle))
    y, x = np.mgrid[0:h, 0:w].astype(float)
    return 0.5 + 0.5 * np.cos(2 * np.pi * frequency * (x * np.cos(theta) + y * np.sin(theta))
                              + float(phase))


def campbell_robson(shape: tuple[int, int] = (256, 512), f_min: float = 0.005,
                    f_max: float = 0.25, contrast_min: float = 0.003) -> np.ndarray:
    """Campbell-Robson chart in [0, 1]: (H, W).

    Spatial frequency grows exponentially left to right from ``f_min`` to ``f_max`` cycles per
    pixel; contrast falls exponentially bottom to top from 1 to ``contrast_min``. Where the
    stripes seem to end traces your contrast sensitivity curve.
    """
    h, w = check_shape_2d(shape)
    f_min, f_max = check_positive(f_min, "f_min"), check_positive(f_max, "f_max")
    if not f_min < f_max <= 0.5:
        raise ValueError(f"need f_min < f_max <= 0.5, got f_min={f_min}, f_max={f_max}")
    contrast_min = check_positive(contrast_min, "contrast_min")
    x = np.arange(w)
    rate = np.log(f_max / f_min) / max(w - 1, 1)
    phase = 2 * np.pi * f_min * np.expm1(rate * x) / rate  # integral of f_min exp(rate x)
    contrast = np.geomspace(contrast_min, 1.0, h)[:, None]
    return 0.5 + 0.5 * contrast * np.cos(phase)[None, :]
