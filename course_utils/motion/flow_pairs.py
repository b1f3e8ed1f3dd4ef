"""Seeded frame pairs and sequences with exact motion, for chapter 06 (tracking).

Every image here is a *function* evaluated at pixel centres, never an interpolated bitmap:
a texture is a sum of cosine waves, a shape is an inequality in its own coordinates. Moving
a layer by an affine map ``A`` therefore gives frame 1 exactly, ``frame1(A(x)) = frame0(x)``,
and the true flow of pixel ``x`` of frame 0 is ``A(x) - x``.

Conventions: ``image[row, col]``; a flow is ``(2, H, W)`` with the row displacement first
and the column displacement second (as ``skimage.registration.optical_flow_ilk``), so that
``frame1[r + flow[0, r, c], c + flow[1, r, c]] = frame0[r, c]``.
"""
from __future__ import annotations

import numpy as np
import torch
from skimage import color

from ..validate import check_choice, check_int, check_positive

MOTIONS: tuple[str, ...] = ("translation", "rotation", "affine")
SHAPES: tuple[str, ...] = ("ellipse", "rectangle", "triangle")


class Texture:
    """A smooth random texture: ``offset + sum_k amp_k cos(2 pi f_k . (r, c) + phase_k)``.

    Evaluate it anywhere (not only on the pixel grid) with ``texture(rows, cols)``.
    """

    def __init__(self, rng: np.random.Generator, waves: int = 16, min_period: float = 3.0,
                 max_period: float = 24.0, contrast: float = 0.35, offset: float = 0.5):
        periods = rng.uniform(min_period, max_period, waves)
        angles = rng.uniform(0.0, np.pi, waves)
        self.freqs = np.stack([np.sin(angles), np.cos(angles)], 1) / periods[:, None]  # (K, 2)
        self.phases = rng.uniform(0.0, 2 * np.pi, waves)
        self.amps = contrast * rng.uniform(0.5, 1.0, waves) / np.sqrt(waves)
        self.offset = offset

    def __call__(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        arg = (2 * np.pi) * (rows[..., None] * self.freqs[:, 0] + cols[..., None] * self.freqs[:, 1])
        return self.offset + np.cos(arg + self.phases) @ self.amps


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    return rows, cols


def _affine(matrix: np.ndarray, shift: np.ndarray, centre: np.ndarray):
    """The map x -> centre + matrix (x - centre) + shift and its inverse, on (..., 2) points."""
    inverse = np.linalg.inv(matrix)

    def forward(p):
        return centre + (p - centre) @ matrix.T + shift

    def backward(p):
        return centre + (p - centre - shift) @ inverse.T
    return forward, backward


def _rotation(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def textured_pair(size: int = 64, motion: str = "translation", magnitude: float = 3.0,
                  seed: int = 0) -> dict[str, np.ndarray]:
    """A textured image and its copy moved by a translation, rotation or affine map.

    ``magnitude`` is the largest displacement in pixels over the image (the length of the
    translation; for a rotation or an affine map, the displacement of the farthest pixel).
    Returns ``frame0``, ``frame1``: (size, size) float64 and ``flow``: (2, size, size).
    """
    size = check_int(size, "size", 8)
    check_choice(motion, "motion", MOTIONS)
    magnitude = check_positive(magnitude, "magnitude", allow_zero=True)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    texture = Texture(rng)
    centre = np.full(2, (size - 1) / 2)
    points = np.stack(_grid(size), -1)                              # (H, W, 2)
    if motion == "translation":
        matrix, direction = np.eye(2), rng.normal(size=2)
        shift = magnitude * direction / np.linalg.norm(direction)
    else:
        if motion == "rotation":
            matrix, shift = _rotation(rng.choice([-1, 1]) * 0.1), np.zeros(2)
        else:
            matrix, shift = np.eye(2) + rng.uniform(-0.08, 0.08, (2, 2)), rng.normal(size=2)
        # scale the motion (matrix - I, shift) so that the largest displacement is magnitude
        largest = np.abs(np.linalg.norm((points - centre) @ (matrix - np.eye(2)).T + shift, axis=-1)).max()
        factor = magnitude / largest
        matrix, shift = np.eye(2) + factor * (matrix - np.eye(2)), factor * shift
    forward, backward = _affine(matrix, shift, centre)
    flow = np.moveaxis(forward(points) - points, -1, 0)
    source = backward(points)
    return {"frame0": texture(points[..., 0], points[..., 1]),
            "frame1": texture(source[..., 0], source[..., 1]), "flow": flow}


def _inside(kind: str, u: np.ndarray, v: np.ndarray, radius: float) -> np.ndarray:
    """Boolean mask of a shape centred at 0 in its own coordinates (u, v), of the given radius."""
    if kind == "ellipse":
        return (u / radius) ** 2 + (v / (0.6 * radius)) ** 2 <= 1
    if kind == "rectangle":
        return (np.abs(u) <= radius) & (np.abs(v) <= 0.55 * radius)
    inside = np.ones(u.shape, dtype=bool)                           # equilateral triangle
    for angle in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3, np.pi / 2 + 4 * np.pi / 3):
        inside &= u * np.cos(angle) + v * np.sin(angle) <= radius / 2
    return inside


class _Layer:
    """One moving shape (or the background when ``kind`` is None) with its own texture."""

    def __init__(self, rng, size, kind, max_motion, radius_range):
        self.kind, self.texture = kind, Texture(rng, waves=8, min_period=5.0, max_period=20.0,
                                                offset=rng.uniform(0.25, 0.75))
        self.centre = rng.uniform(0.15, 0.85, 2) * (size - 1)
        self.radius = rng.uniform(*radius_range) * size
        self.pose = rng.uniform(0, np.pi)
        shift = rng.normal(size=2)
        shift *= rng.uniform(0.3, 1.0) * max_motion / np.linalg.norm(shift)
        angle = rng.uniform(-0.1, 0.1) if kind is not None else 0.0
        self.forward, self.backward = _affine(_rotation(angle), shift, self.centre)

    def covers(self, points: np.ndarray) -> np.ndarray:
        """Boolean (...,) whether this layer covers the given points of frame 0."""
        if self.kind is None:
            return np.ones(points.shape[:-1], dtype=bool)
        rel = (points - self.centre) @ _rotation(self.pose)
        return _inside(self.kind, rel[..., 0], rel[..., 1], self.radius)


def _render(layers, points, moved: bool):
    """Top layer index and intensity at ``points`` (H, W, 2) of frame 0 or frame 1."""
    top = np.zeros(points.shape[:-1], dtype=np.int64)
    image = np.zeros(points.shape[:-1])
    for k, layer in enumerate(layers):
        source = layer.backward(points) if moved else points
        hit = layer.covers(source)
        top[hit] = k
        image[hit] = layer.texture(source[hit][:, 0], source[hit][:, 1])
    return top, image


def flying_shapes_pair(size: int = 32, num_shapes: int = 3, max_motion: float = 3.0,
                       seed: int = 0) -> dict[str, np.ndarray]:
    """Textured shapes flying over a textured background, each with its own motion.

    The background translates; each shape translates and turns slightly about its centre,
    and later shapes pass in front of earlier ones. Returns ``frame0``, ``frame1``:
    (size, size) float64, ``flow``: (2, size, size), ``layers``: (size, size) int64 (0 for
    the background, k for shape k) and ``occluded``: (size, size) bool, True where the pixel
    of frame 0 is hidden (or has left the image) in frame 1.
    """
    size = check_int(size, "size", 8)
    num_shapes = check_int(num_shapes, "num_shapes", 0)
    max_motion = check_positive(max_motion, "max_motion", allow_zero=True)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    layers = [_Layer(rng, size, None, max_motion, (0, 0))]
    layers += [_Layer(rng, size, SHAPES[rng.integers(len(SHAPES))], max_motion, (0.12, 0.3))
               for _ in range(num_shapes)]
    points = np.stack(_grid(size), -1)
    top0, frame0 = _render(layers, points, moved=False)
    _, frame1 = _render(layers, points, moved=True)
    target = np.zeros_like(points)
    for k, layer in enumerate(layers):
        target[top0 == k] = layer.forward(points[top0 == k])
    top1, _ = _render(layers, target, moved=True)      # who is in front there in frame 1
    occluded = top1 != top0
    occluded |= np.any((target < 0) | (target > size - 1), axis=-1)
    return {"frame0": frame0, "frame1": frame1, "flow": np.moveaxis(target - points, -1, 0),
            "layers": top0, "occluded": occluded}


def flying_shapes_dataset(count: int, size: int = 32, max_motion: float = 3.0, seed: int = 0
                          ) -> dict[str, torch.Tensor]:
    """``count`` flying-shapes pairs as float32 tensors: ``frames`` (count, 2, size, size),
    ``flows`` (count, 2, size, size), ``occluded`` (count, size, size) bool and ``layers``
    (count, size, size) int64. Pair i is ``flying_shapes_pair(seed=seed * 100_003 + i)`` with
    1 to 3 shapes."""
    count = check_int(count, "count", 1)
    seed = check_int(seed, "seed", 0)
    pairs = [flying_shapes_pair(size, 1 + i % 3, max_motion, seed * 100_003 + i)
             for i in range(count)]
    return {"frames": torch.tensor(np.stack([np.stack([p["frame0"], p["frame1"]]) for p in pairs]),
                                   dtype=torch.float32),
            "flows": torch.tensor(np.stack([p["flow"] for p in pairs]), dtype=torch.float32),
            "occluded": torch.tensor(np.stack([p["occluded"] for p in pairs])),
            "layers": torch.tensor(np.stack([p["layers"] for p in pairs]))}


def layer_boundaries(layers, width: int = 1):
    """Pixels within ``width`` pixels (a square neighbourhood) of another layer: where two
    motions meet. layers: (..., H, W) integer labels (numpy or torch) -> bool of the same
    shape and kind. A window straddling two motions cannot match both, so flow errors are
    measured there apart."""
    width = check_int(width, "width", 1)
    is_torch = isinstance(layers, torch.Tensor)
    labels = layers.detach().cpu().numpy() if is_torch else np.asarray(layers)
    if labels.ndim < 2 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"layers must be (..., H, W) integer labels, got {labels.dtype} of shape {labels.shape}")
    pad = [(0, 0)] * (labels.ndim - 2) + [(width, width)] * 2
    padded = np.pad(labels, pad, mode="edge")
    h, w = labels.shape[-2:]
    edge = np.zeros(labels.shape, dtype=bool)
    for dr in range(2 * width + 1):
        for dc in range(2 * width + 1):
            edge |= padded[..., dr:dr + h, dc:dc + w] != labels
    return torch.from_numpy(edge) if is_torch else edge


def _soft_step(x: np.ndarray, width: float = 0.8) -> np.ndarray:
    return 0.5 * (1 + np.tanh(x / width))


def moving_bar(size: int = 64, motion=(1.0, 1.0), width: int = 12) -> dict[str, np.ndarray]:
    """A bright vertical bar with soft edges (tanh profile), long enough that a window on its
    side sees one straight edge, moved as a whole by ``motion`` = (rows, cols) pixels.
    Returns ``frame0``, ``frame1``: (size, size) float64 and the constant ``flow``."""
    size = check_int(size, "size", 16)
    width = check_int(width, "width", 2)
    motion = np.asarray(motion, dtype=np.float64)
    if motion.shape != (2,) or not np.all(np.isfinite(motion)):
        raise ValueError(f"motion must be two finite numbers (rows, cols), got {motion!r}")
    rows, cols = _grid(size)
    left, top = (size - width) / 2, size / 8

    def bar(r, c):
        return (_soft_step(c - left) * _soft_step(left + width - c)
                * _soft_step(r - top) * _soft_step(size - top - r))
    flow = np.broadcast_to(motion[:, None, None], (2, size, size)).copy()
    return {"frame0": bar(rows, cols), "frame1": bar(rows - motion[0], cols - motion[1]),
            "flow": flow}


def barber_pole(size: int = 64, period: float = 8.0, shift: float = 1.0) -> dict[str, np.ndarray]:
    """Diagonal stripes (constant along rows + cols = const) moved *sideways* by ``shift``
    pixels: the true flow is (0, shift), while the stripes alone only show the component
    along their normal, (shift / 2, shift / 2). Returns ``frame0``, ``frame1``, ``flow``."""
    size = check_int(size, "size", 8)
    period = check_positive(period, "period")
    rows, cols = _grid(size)

    def stripes(r, c):
        return 0.5 + 0.4 * np.sin(2 * np.pi * (r + c) / period)
    flow = np.zeros((2, size, size))
    flow[1] = shift
    return {"frame0": stripes(rows, cols), "frame1": stripes(rows, cols - shift), "flow": flow}


def coloured_shapes_sequence(frames: int = 8, size: int = 32, num_shapes: int = 3,
                             max_speed: float = 2.0, seed: int = 0) -> dict[str, np.ndarray]:
    """A short video of coloured, textured shapes gliding over a dim textured background.

    Every shape has one hue (from 8, at Lab lightness about 60 and chroma 55) with a grey
    texture on top, so its colour cannot be told from its grey level. Returns ``rgb``:
    (frames, size, size, 3) float64 in [0, 1], ``labels``: (frames, size, size) int64
    (0 background, k for shape k, later shapes in front) and ``back_flow``: (frames, 2, size,
    size), for each pixel of frame t where it was in frame t - 1 (rows first; zero at t = 0):
    the shapes and the background only translate, so it is minus the velocity of whatever
    is in front there.
    """
    frames = check_int(frames, "frames", 1)
    size = check_int(size, "size", 8)
    num_shapes = check_int(num_shapes, "num_shapes", 1)
    max_speed = check_positive(max_speed, "max_speed", allow_zero=True)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    points = np.stack(_grid(size), -1)
    background = Texture(rng, waves=6, contrast=0.25)
    back_ab = rng.uniform(-8, 8, 2)
    hues = rng.permutation(8)[:num_shapes] * (2 * np.pi / 8) + rng.uniform(0, 0.3)
    shapes = []
    for k in range(num_shapes):
        velocity = rng.normal(size=2)
        velocity *= rng.uniform(0.5, 1.0) * max_speed / np.linalg.norm(velocity)
        shapes.append(dict(kind=SHAPES[k % len(SHAPES)], texture=Texture(rng, waves=4, min_period=4,
                                                                        max_period=9, contrast=0.5),
                           start=rng.uniform(0.3, 0.7, 2) * (size - 1), velocity=velocity,
                           radius=rng.uniform(0.16, 0.24) * size, pose=rng.uniform(0, np.pi),
                           ab=55 * np.array([np.cos(hues[k]), np.sin(hues[k])])))
    lab = np.zeros((frames, size, size, 3))
    labels = np.zeros((frames, size, size), dtype=np.int64)
    back_flow = np.zeros((frames, 2, size, size))
    for t in range(frames):
        lab[t, ..., 0] = 30 + 40 * background(points[..., 0], points[..., 1] - 0.5 * t)
        lab[t, ..., 1:] = back_ab
        for k, s in enumerate(shapes, start=1):
            rel = points - s["start"] - t * s["velocity"]
            rel = rel @ _rotation(s["pose"])
            hit = _inside(s["kind"], rel[..., 0], rel[..., 1], s["radius"])
            labels[t][hit] = k
            lab[t][hit, 0] = 40 + 40 * s["texture"](rel[hit][:, 0], rel[hit][:, 1])
            lab[t][hit, 1:] = s["ab"]
        if t > 0:
            velocities = np.stack([[0.0, 0.5]] + [s["velocity"] for s in shapes])   # background first
            back_flow[t] = -np.moveaxis(velocities[labels[t]], -1, 0)
    rgb = np.clip(color.lab2rgb(lab.reshape(-1, size, 3)).reshape(lab.shape), 0.0, 1.0)
    return {"rgb": rgb, "labels": labels, "back_flow": back_flow}
