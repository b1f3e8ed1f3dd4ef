"""Seeded scenes of coloured squares, circles and triangles with boxes, masks and labels.

Every scene is drawn from ``numpy.random.default_rng(seed)``, so the same seed always gives
the same image and annotations. Shapes are painted in order; a later shape occludes earlier
ones, and each object's mask and box describe only its *visible* pixels.
"""
from __future__ import annotations

import numpy as np
import torch

from ..validate import check_choice, check_int

CLASSES: tuple[str, ...] = ("square", "circle", "triangle")  # label k -> CLASSES[k]
BACKGROUNDS: tuple[str, ...] = ("noise", "texture", "plain")

_MAX_TRIES = 30           # placements tried per object before it is skipped
_MAX_HIDDEN = 0.4         # a new shape may hide at most this fraction of an earlier one


def _background(rng: np.random.Generator, size: int, kind: str) -> np.ndarray:
    """A dim, low-saturation background: (3, H, W) float64 in [0, 0.6]."""
    base = rng.uniform(0.15, 0.4) + rng.uniform(-0.05, 0.05, size=(3, 1, 1))
    if kind == "plain":
        return np.broadcast_to(base, (3, size, size)).copy()
    if kind == "noise":
        return base + rng.uniform(-0.12, 0.12, size=(1, size, size)) \
            + rng.normal(0.0, 0.03, size=(3, size, size))
    # texture: two random sinusoidal gratings plus a little noise
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    texture = np.zeros((size, size))
    for _ in range(2):
        angle, freq = rng.uniform(0, np.pi), rng.uniform(0.15, 0.6)
        phase = rng.uniform(0, 2 * np.pi)
        texture += np.sin(freq * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
    return base + 0.06 * texture[None] + rng.normal(0.0, 0.03, size=(3, size, size))


def _shape_mask(kind: int, x0: int, y0: int, side: int, direction: int, size: int) -> np.ndarray:
    """Boolean (H, W) mask of one shape whose bounding square is [x0, x0+side) x [y0, y0+side).

    Pixel centres sit at half-integer coordinates; ``direction`` (0-3) turns triangles.
    """
    ys, xs = np.mgrid[0:size, 0:size]
    u = (xs + 0.5 - x0) / side          # coordinates inside the bounding square, in [0, 1]
    v = (ys + 0.5 - y0) / side
    inside = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
    if kind == 0:                        # square
        return inside
    if kind == 1:                        # circle inscribed in the square
        return (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
    # triangle: apex at the middle of one side, base on the opposite side
    along, across = [(v, u), (1 - v, u), (u, v), (1 - u, v)][direction]
    return inside & (np.abs(across - 0.5) <= along / 2)


def _colour(rng: np.random.Generator) -> np.ndarray:
    """A bright, saturated RGB colour (3,) from a random hue."""
    hue, sat, val = rng.uniform(0, 1), rng.uniform(0.55, 1.0), rng.uniform(0.65, 1.0)
    rgb = np.clip(np.abs(((hue * 6 + np.array([0.0, 4.0, 2.0])) % 6) - 3) - 1, 0, 1)
    return val * (1 - sat + sat * rgb)


def make_scene(seed: int, size: int = 64, max_objects: int = 3, min_size: int = 10,
               max_size: int = 28, background: str = "noise", overlap: bool = True) -> dict:
    """Draw one scene of 1..max_objects shapes.

    Returns a dict of numpy arrays:
      image: (3, H, W) float32 in [0, 1]      (H = W = size)
      boxes: (K, 4) float32, xyxy pixels with exclusive x2, y2 (tight around visible pixels)
      labels: (K,) int64, class index into CLASSES
      masks: (K, H, W) bool, visible pixels of each object
      semantic: (H, W) int64, 0 = background and k + 1 = class k
    ``background`` is one of BACKGROUNDS; with ``overlap=False`` bounding squares never touch.
    A later shape never hides more than 40% of an earlier one (placements are re-drawn).
    """
    seed = check_int(seed, "seed", 0)
    size = check_int(size, "size", 8)
    max_objects = check_int(max_objects, "max_objects", 1)
    min_size = check_int(min_size, "min_size", 3)
    max_size = check_int(max_size, "max_size", min_size)
    if max_size > size:
        raise ValueError(f"max_size must be <= size ({size}), got {max_size}")
    check_choice(background, "background", BACKGROUNDS)

    rng = np.random.default_rng(seed)
    image = _background(rng, size, background)
    owner = np.full((size, size), -1, dtype=np.int64)     # index of the visible object
    squares: list[tuple[int, int, int]] = []
    labels: list[int] = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        kind, direction = int(rng.integers(0, len(CLASSES))), int(rng.integers(0, 4))
        colour = _colour(rng)
        for _ in range(_MAX_TRIES):
            side = int(rng.integers(min_size, max_size + 1))
            x0, y0 = (int(v) for v in rng.integers(0, size - side + 1, size=2))
            if not overlap and any(x0 < bx + bs and bx < x0 + side and y0 < by + bs
                                   and by < y0 + side for bx, by, bs in squares):
                continue
            mask = _shape_mask(kind, x0, y0, side, direction, size)
            hidden = np.bincount(owner[mask & (owner >= 0)], minlength=len(labels))
            visible = np.bincount(owner[owner >= 0], minlength=len(labels))
            if np.all(hidden <= _MAX_HIDDEN * visible):
                break
        else:
            continue
        shade = colour[:, None] * (1 + rng.normal(0.0, 0.04, size=(1, int(mask.sum()))))
        image[:, mask] = shade
        owner[mask] = len(labels)
        squares.append((x0, y0, side))
        labels.append(kind)

    k = len(labels)
    masks = owner[None] == np.arange(k)[:, None, None]
    boxes = np.zeros((k, 4), dtype=np.float32)
    for i in range(k):
        cols, rows = np.flatnonzero(masks[i].any(0)), np.flatnonzero(masks[i].any(1))
        boxes[i] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    labels_arr = np.asarray(labels, dtype=np.int64)
    semantic = np.where(owner >= 0, labels_arr[np.maximum(owner, 0)] + 1 if k else 0, 0)
    return {"image": np.clip(image, 0, 1).astype(np.float32), "boxes": boxes,
            "labels": labels_arr, "masks": masks, "semantic": semantic.astype(np.int64)}


def make_dataset(n: int, seed: int, **scene_kwargs) -> dict:
    """Draw ``n`` scenes (scene i uses a seed derived from ``seed`` and i).

    Returns a dict:
      images: (n, 3, H, W) float32 tensor;  semantic: (n, H, W) int64 tensor
      boxes: list of n (K_i, 4) float32 tensors;  labels: list of n (K_i,) int64 tensors
      masks: list of n (K_i, H, W) bool tensors;  seeds: list of the n scene seeds
    ``scene_kwargs`` are passed to ``make_scene``.
    """
    n = check_int(n, "n", 1)
    seed = check_int(seed, "seed", 0)
    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(n)]
    scenes = [make_scene(s, **scene_kwargs) for s in seeds]
    return {
        "images": torch.from_numpy(np.stack([s["image"] for s in scenes])),
        "semantic": torch.from_numpy(np.stack([s["semantic"] for s in scenes])),
        "boxes": [torch.from_numpy(s["boxes"]) for s in scenes],
        "labels": [torch.from_numpy(s["labels"]) for s in scenes],
        "masks": [torch.from_numpy(s["masks"]) for s in scenes],
        "seeds": seeds,
    }
