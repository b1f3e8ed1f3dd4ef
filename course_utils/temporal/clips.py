"""Seeded clips of a handwritten digit sliding across a dark canvas.

The label is the direction of motion (``moving_digit_clips``), or the digit's class and the
direction together (``digit_and_direction_clips``). A clip moving left is a clip moving right played
backwards, so both classes contain exactly the same distribution of single frames: only the
*order* of the frames tells them apart, and a bag of frames cannot beat chance.
"""
from __future__ import annotations

import numpy as np
import torch

from ..validate import check_choice, check_int

DIRECTIONS: tuple[str, ...] = ("right", "left", "down", "up")
_DIGIT = 8  # sklearn's digits are 8 x 8


def _digit_images() -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().images / 16.0  # (1797, 8, 8) in [0, 1]


def _digit_targets() -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().target  # (1797,) the class of each digit image


def moving_digit_clips(n: int, frames: int = 8, size: int = 24,
                       directions: tuple[str, ...] = ("right", "left"), max_speed: int = 2,
                       noise: float = 0.05, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` clips of one digit moving in a straight line at 1..max_speed pixels per frame.

    Returns clips: (N, T, C=1, H, W) float32 and labels: (N,) int64, where label k means
    ``directions[k]`` (each one of DIRECTIONS). Every class is equally likely. Start positions
    are uniform over the places where the whole path fits, and a clip in the opposite
    direction is the same path reversed in time; Gaussian pixel noise (std ``noise``) is added.
    """
    clips, moves, _ = _draw_clips(n, frames, size, directions, max_speed, noise, seed, None)
    return clips, moves


def digit_and_direction_clips(n: int, digits: tuple[int, ...] = (0, 1, 2), frames: int = 8,
                              size: int = 24, directions: tuple[str, ...] = ("right", "left"),
                              max_speed: int = 2, noise: float = 0.05, seed: int = 0
                              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Clips as ``moving_digit_clips``, drawn only from the digit classes ``digits``, labelled
    by *what* moves and *where to*: label = i * len(directions) + k for ``digits[i]`` moving
    ``directions[k]``. A single frame shows the digit but not the direction; the direction
    needs the order of the frames, so a task with these labels needs appearance and motion.

    Returns clips: (N, T, 1, H, W) float32 and labels: (N,) int64.
    """
    if not isinstance(digits, (tuple, list)) or len(digits) < 2 or len(set(digits)) != len(digits):
        raise ValueError(f"digits must hold at least two different digit classes, got {digits!r}")
    if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d <= 9
           for d in digits):
        raise ValueError(f"digits must be digit classes 0..9, got {digits!r}")
    clips, moves, which = _draw_clips(n, frames, size, directions, max_speed, noise, seed,
                                      tuple(digits))
    return clips, which * len(directions) + moves


def _draw_clips(n, frames, size, directions, max_speed, noise, seed, digit_classes):
    """The clips, each clip's direction index and digit-class index (0 for every clip when
    ``digit_classes`` is None: any of the 1797 digits)."""
    n = check_int(n, "n", 1)
    frames = check_int(frames, "frames", 2)
    size = check_int(size, "size", _DIGIT + 1)
    max_speed = check_int(max_speed, "max_speed", 1)
    seed = check_int(seed, "seed", 0)
    if len(directions) < 2 or len(set(directions)) != len(directions):
        raise ValueError(f"directions must hold at least two distinct names, got {directions!r}")
    for name in directions:
        check_choice(name, "directions", DIRECTIONS)
    travel = (frames - 1) * max_speed
    if travel > size - _DIGIT:
        raise ValueError(f"size must be at least 8 + (frames - 1) * max_speed = "
                         f"{_DIGIT + travel} for the path to fit, got {size}")
    rng = np.random.default_rng(seed)
    digits = _digit_images()
    pools = None if digit_classes is None else [np.flatnonzero(_digit_targets() == d)
                                                for d in digit_classes]
    clips = np.zeros((n, frames, 1, size, size), dtype=np.float32)
    labels = rng.integers(0, len(directions), size=n)
    which = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if pools is None:
            digit = digits[rng.integers(len(digits))]
        else:
            which[i] = rng.integers(len(pools))
            digit = digits[rng.choice(pools[which[i]])]
        speed = int(rng.integers(1, max_speed + 1))
        along = int(rng.integers(0, size - _DIGIT - (frames - 1) * speed + 1))
        across = int(rng.integers(0, size - _DIGIT + 1))
        for t in range(frames):
            # "right" and "down" move forward in time; "left" and "up" are the reversed path
            step = t if directions[labels[i]] in ("right", "down") else frames - 1 - t
            position = along + speed * step
            if directions[labels[i]] in ("right", "left"):
                clips[i, t, 0, across:across + _DIGIT, position:position + _DIGIT] = digit
            else:
                clips[i, t, 0, position:position + _DIGIT, across:across + _DIGIT] = digit
    if noise:
        clips += rng.normal(0.0, noise, size=clips.shape).astype(np.float32)
    return (torch.from_numpy(clips), torch.from_numpy(labels.astype(np.int64)),
            torch.from_numpy(which))


def panning_clip(image: np.ndarray, frames: int = 8, crop: int = 64, step: int = 8) -> np.ndarray:
    """A camera panning right over ``image: (H, W, C)``: returns (T, crop, crop, C).

    Frame t is the window whose left edge sits at column ``t * step`` (top row 0).
    """
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W, C), got shape {image.shape}")
    frames = check_int(frames, "frames", 1)
    crop = check_int(crop, "crop", 1)
    step = check_int(step, "step", 0)
    height, width = image.shape[:2]
    if crop > height or crop + (frames - 1) * step > width:
        raise ValueError(f"crop={crop} with {frames} frames of step {step} does not fit in an "
                         f"image of shape {image.shape}")
    return np.stack([image[:crop, t * step:t * step + crop] for t in range(frames)])
