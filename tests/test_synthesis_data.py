"""Tests for chapter 09's data: the 2-D Gaussian mixtures (course_utils.synthesis.toy2d) and the
two unpaired digit domains (course_utils.data.digits)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils.synthesis import toy2d
from course_utils.data.digits import digits_tensors, unpaired_domains

pytestmark = pytest.mark.chapter("09_synthesis")


def test_ring_centers_lie_evenly_on_the_circle():
    centers = toy2d.ring_centers(8, radius=2.0)
    np.testing.assert_allclose(centers.norm(dim=1).numpy(), 2.0, rtol=1e-6)
    angles = np.sort(np.mod(torch.atan2(centers[:, 1], centers[:, 0]).numpy(), 2 * math.pi))
    np.testing.assert_allclose(np.diff(angles), 2 * math.pi / 8, rtol=1e-5)
    np.testing.assert_allclose(centers[0].numpy(), [2.0, 0.0], atol=1e-7)


def test_grid_centers_are_a_centred_square_grid():
    centers = toy2d.grid_centers(5, spacing=2.0)
    assert centers.shape == (25, 2)
    np.testing.assert_allclose(centers.mean(0).numpy(), [0, 0], atol=1e-6)
    assert sorted(set(centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(c) for c in centers.tolist()}) == 25


@pytest.mark.parametrize("sampler", [toy2d.ring_of_gaussians, toy2d.grid_of_gaussians])
def test_mixture_samples_come_from_their_mode_and_are_seeded(sampler):
    points, modes = sampler(4000, std=0.05, seed=3)
    centers = toy2d.ring_centers() if sampler is toy2d.ring_of_gaussians else toy2d.grid_centers()
    offsets = points - centers[modes]
    assert offsets.norm(dim=1).max() < 0.05 * 6
    assert abs(offsets.std().item() - 0.05) < 0.003
    counts = torch.bincount(modes, minlength=len(centers)).double()
    assert counts.min() > 0.6 * counts.mean()
    again, _ = sampler(4000, std=0.05, seed=3)
    assert torch.equal(points, again)
    generator = torch.Generator().manual_seed(3)
    assert torch.equal(sampler(4000, std=0.05, seed=generator)[0], points)


def test_points_sampler_draws_fresh_points_near_the_centres():
    centers = toy2d.ring_centers(4, radius=3.0)
    sample = toy2d.points_sampler(centers, std=0.01)
    generator = torch.Generator().manual_seed(1)
    first, second = sample(500, generator), sample(500, generator)
    assert first.shape == (500, 2) and not torch.equal(first, second)     # the generator moves on
    nearest = torch.cdist(first, centers).min(dim=1).values
    assert nearest.max() < 0.01 * 6
    assert len(torch.cdist(first, centers).argmin(dim=1).unique()) == 4  # every mode is drawn
    assert torch.equal(toy2d.points_sampler(centers, std=0.01)(500, torch.Generator().manual_seed(1)), first)


@pytest.mark.parametrize("call, match", [
    (lambda: toy2d.ring_centers(0), "modes must be an integer >= 1"),
    (lambda: toy2d.ring_centers(8, radius=0.0), "radius must be finite and > 0"),
    (lambda: toy2d.ring_of_gaussians(0), "n must be an integer >= 1"),
    (lambda: toy2d.ring_of_gaussians(5, std=-0.1), "std must be finite and >= 0"),
    (lambda: toy2d.mixture_samples(torch.zeros(3), 5), r"centers must be a non-empty \(K, 2\)"),
    (lambda: toy2d.ring_of_gaussians(5, seed=-1), "seed must be an integer >= 0"),
    (lambda: toy2d.grid_centers(0), "side must be an integer >= 1"),
    (lambda: toy2d.points_sampler(torch.zeros(3)), r"centers must be a non-empty \(K, 2\)"),
    (lambda: toy2d.points_sampler(toy2d.ring_centers(), std=-1.0), "std must be finite and >= 0"),
    (lambda: toy2d.grid_of_gaussians(5, spacing=-2.0), "spacing must be finite and > 0"),
])
def test_toy2d_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_unpaired_domains_share_no_digit_and_keep_the_hidden_pairing():
    a, a_labels, b, b_labels, b_originals = unpaired_domains(seed=0)
    x_train, y_train, _, _ = digits_tensors(seed=0)
    assert len(a) + len(b) == len(x_train) and a.shape[1:] == b.shape[1:] == (1, 8, 8)
    assert torch.equal(torch.cat([a, b_originals]), x_train)
    assert torch.equal(torch.cat([a_labels, b_labels]), y_train)
    assert torch.equal(b, 1 - b_originals)
    assert b.mean() > 0.5 > a.mean()    # dark strokes on white vs light strokes on black
