"""Tests for the moving-digit clips: shapes, determinism, direction, and the property the
chapter rests on: both directions contain the same frames, only in reverse order."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sklearn.datasets import load_digits

from course_utils.temporal.clips import digit_and_direction_clips, moving_digit_clips, panning_clip

pytestmark = pytest.mark.chapter("05_video")


def _centre_of_mass(frame):
    ys, xs = np.mgrid[0:frame.shape[0], 0:frame.shape[1]]
    total = frame.sum()
    return (ys * frame).sum() / total, (xs * frame).sum() / total


@pytest.mark.parametrize("directions", [("right", "left"), ("right", "left", "down", "up")])
def test_clips_move_in_their_labelled_direction(directions):
    clips, labels = moving_digit_clips(40, frames=6, size=20, directions=directions, noise=0.0, seed=1)
    assert clips.shape == (40, 6, 1, 20, 20) and clips.dtype == torch.float32
    assert labels.dtype == torch.int64 and set(labels.tolist()) <= set(range(len(directions)))
    step = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}
    for clip, label in zip(clips.numpy(), labels.tolist()):
        first, last = _centre_of_mass(clip[0, 0]), _centre_of_mass(clip[-1, 0])
        moved = np.array(last) - np.array(first)
        dy, dx = step[directions[label]]
        assert np.sign(np.round(moved, 6)).tolist() == [dy, dx]


def test_left_is_right_reversed_in_time():
    # with one seed the random draws are identical; a left clip is the right clip's path reversed
    clips, labels = moving_digit_clips(200, noise=0.0, seed=3)
    frames = clips.numpy()
    for c, label in zip(frames, labels.tolist()):
        col = [_centre_of_mass(f[0])[1] for f in c]
        assert (np.diff(col) > 0).all() if label == 0 else (np.diff(col) < 0).all()
    # single frames carry no direction: the mean image of each class over many clips is alike
    many, y = moving_digit_clips(3000, noise=0.0, seed=4)
    mean_right, mean_left = many[y == 0].mean(dim=(0, 1)), many[y == 1].mean(dim=(0, 1))
    assert (mean_right - mean_left).abs().max() < 0.05


def test_clips_are_seeded_and_noisy():
    a, _ = moving_digit_clips(4, seed=0)
    b, _ = moving_digit_clips(4, seed=0)
    c, _ = moving_digit_clips(4, seed=1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    clean, _ = moving_digit_clips(4, noise=0.0, seed=0)
    assert 0.03 < (a - clean).std() < 0.07


def test_clip_errors_name_the_argument():
    with pytest.raises(ValueError, match="size must be at least"):
        moving_digit_clips(2, frames=8, size=16, max_speed=2)
    with pytest.raises(ValueError, match="directions"):
        moving_digit_clips(2, directions=("right",))
    with pytest.raises(ValueError, match="directions"):
        moving_digit_clips(2, directions=("right", "sideways"))
    with pytest.raises(ValueError, match="frames"):
        moving_digit_clips(2, frames=1)


def test_digit_and_direction_labels_name_the_digit_and_its_motion():
    digits = (3, 7, 0)
    clips, labels = digit_and_direction_clips(20, digits=digits, size=16, max_speed=1, noise=0.0, seed=2)
    assert clips.shape == (20, 8, 1, 16, 16) and set(labels.tolist()) <= set(range(6))
    reference = load_digits()
    images = (reference.images / 16.0).reshape(len(reference.images), 64).astype(np.float32)
    for clip, label in zip(clips.numpy(), labels.tolist()):
        frame = clip[0, 0]
        windows = np.lib.stride_tricks.sliding_window_view(frame, (8, 8)).reshape(-1, 64)
        # which of the 1797 digits is painted somewhere in the first frame, and of which class
        found = (windows[:, None, :] == images[None, :, :]).all(axis=2).any(axis=0)
        assert found.any() and digits[label // 2] in set(reference.target[found].tolist())
        moved = _centre_of_mass(clip[-1, 0])[1] - _centre_of_mass(clip[0, 0])[1]
        assert (moved > 0) if label % 2 == 0 else (moved < 0)
    with pytest.raises(ValueError, match="digits"):
        digit_and_direction_clips(4, digits=(3,))
    with pytest.raises(ValueError, match="digits"):
        digit_and_direction_clips(4, digits=(3, 10))
    with pytest.raises(ValueError, match="digits"):
        digit_and_direction_clips(4, digits=(3, 3))


def test_panning_clip_windows():
    image = np.arange(10 * 30 * 3, dtype=float).reshape(10, 30, 3)
    clip = panning_clip(image, frames=3, crop=8, step=5)
    assert clip.shape == (3, 8, 8, 3)
    np.testing.assert_array_equal(clip[2], image[:8, 10:18])
    with pytest.raises(ValueError, match="does not fit"):
        panning_clip(image, frames=5, crop=8, step=6)
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        panning_clip(image[..., 0])
