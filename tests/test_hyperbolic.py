"""Tests for course_utils.temporal.hyperbolic: the Poincare distance against its closed forms and the
metric laws, the exponential map, distortion, tree embeddings and the Frechet mean."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.temporal import hyperbolic
from course_utils.temporal.trees import balanced_tree, leaves_under, tree_distances

pytestmark = pytest.mark.chapter("05_video")


def _ball_points(seed, *shape, radius=0.95):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(*shape, generator=g, dtype=torch.float64)
    r = radius * torch.rand(*shape[:-1], 1, generator=g, dtype=torch.float64)
    return r * w / w.norm(dim=-1, keepdim=True)


def _mobius_distance(u, v):
    """2 artanh |(-u) (+) v| with Mobius addition: an independent closed form."""
    x, y = -u, v
    xy, xx, yy = (x * y).sum(-1, keepdim=True), (x * x).sum(-1, keepdim=True), (y * y).sum(-1, keepdim=True)
    num = (1 + 2 * xy + yy) * x + (1 - xx) * y
    den = 1 + 2 * xy + xx * yy
    return 2 * torch.atanh((num / den).norm(dim=-1))


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_distance_matches_the_mobius_closed_form(dim):
    u, v = _ball_points(0, 50, dim), _ball_points(1, 50, dim)
    torch.testing.assert_close(hyperbolic.poincare_distance(u, v), _mobius_distance(u, v))


def test_distance_from_origin_is_two_artanh_of_the_norm_and_broadcasts():
    u = _ball_points(2, 7, 3)
    origin = torch.zeros(3, dtype=torch.float64)
    torch.testing.assert_close(hyperbolic.poincare_distance(u, origin), 2 * torch.atanh(u.norm(dim=-1)))
    table = hyperbolic.poincare_distance(u[:, None], u[None])
    assert table.shape == (7, 7)
    torch.testing.assert_close(table.diagonal(), torch.zeros(7, dtype=torch.float64), atol=2e-6, rtol=0)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10**6), dim=st.integers(1, 4))
def test_metric_laws(seed, dim):
    u, v, w = (_ball_points(seed + k, 1, dim)[0] for k in range(3))
    d = hyperbolic.poincare_distance
    torch.testing.assert_close(d(u, v), d(v, u))
    assert d(u, w) <= d(u, v) + d(v, w) + 1e-9
    assert d(u, v) >= 0


def test_distance_is_invariant_under_rotation():
    u, v = _ball_points(3, 10, 2), _ball_points(4, 10, 2)
    angle = torch.tensor(0.7, dtype=torch.float64)
    rotation = torch.stack([torch.stack([angle.cos(), -angle.sin()]), torch.stack([angle.sin(), angle.cos()])])
    torch.testing.assert_close(hyperbolic.poincare_distance(u @ rotation.T, v @ rotation.T),
                               hyperbolic.poincare_distance(u, v))


def test_points_on_or_outside_the_sphere_are_refused():
    inside = torch.tensor([0.1, 0.2], dtype=torch.float64)
    for bad in ([1.0, 0.0], [0.8, 0.8]):
        with pytest.raises(ValueError, match="u must lie strictly inside"):
            hyperbolic.poincare_distance(torch.tensor(bad, dtype=torch.float64), inside)
        with pytest.raises(ValueError, match="v must lie strictly inside"):
            hyperbolic.poincare_distance(inside, torch.tensor(bad, dtype=torch.float64))
    with pytest.raises(ValueError, match="same last dimension"):
        hyperbolic.poincare_distance(inside, torch.zeros(3, dtype=torch.float64))
    with pytest.raises(TypeError, match="u must be a torch.Tensor"):
        hyperbolic.poincare_distance([0.1, 0.1], inside)


def test_expmap0_gives_distance_twice_the_tangent_norm():
    w = torch.randn(20, 3, dtype=torch.float64) * 0.8
    points = hyperbolic.expmap0(w)
    assert bool((points.norm(dim=-1) < 1).all())
    origin = torch.zeros(3, dtype=torch.float64)
    torch.testing.assert_close(hyperbolic.poincare_distance(points, origin), 2 * w.norm(dim=-1))


def test_distortion_is_scale_free_and_detects_a_bad_embedding():
    target = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]], dtype=float)
    perfect = hyperbolic.distortion(3.0 * target, target)
    assert perfect["average"] == pytest.approx(0) and perfect["worst"] == pytest.approx(1)
    squashed = target.copy()
    squashed[0, 2] = squashed[2, 0] = 1.0
    bad = hyperbolic.distortion(squashed, target)
    assert bad["average"] > 0.1 and bad["worst"] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="same shape"):
        hyperbolic.distortion(target[:2, :2], target)
    with pytest.raises(ValueError, match="> 0"):
        hyperbolic.distortion(target, np.zeros((3, 3)))


def test_tree_embeds_with_less_distortion_in_the_disk(one_torch_thread):
    parent, _ = balanced_tree(2, 4)
    tree = tree_distances(parent)
    result = {}
    for geometry in hyperbolic.GEOMETRIES:
        points, losses = hyperbolic.embed_distances(tree, geometry, steps=800)
        assert losses[-1] < losses[0]
        embedded = hyperbolic.pairwise_distances(torch.from_numpy(points), geometry).numpy()
        result[geometry] = hyperbolic.distortion(embedded, tree)["average"]
    assert result["poincare"] < 0.7 * result["euclidean"]
    with pytest.raises(ValueError, match="geometry"):
        hyperbolic.embed_distances(tree, "spherical")


@pytest.mark.parametrize("geometry", hyperbolic.GEOMETRIES)
def test_seeds_embedded_together_follow_their_solo_runs(geometry, one_torch_thread):
    parent, _ = balanced_tree(2, 3)
    tree = tree_distances(parent)
    together, last_losses = hyperbolic.embed_distances_seeds(tree, geometry, seeds=[0, 3, 7], steps=300, lr=0.05)
    for row, last, seed in zip(together, last_losses, [0, 3, 7]):
        alone, losses = hyperbolic.embed_distances(tree, geometry, steps=300, lr=0.05, seed=seed)
        np.testing.assert_allclose(row, alone, atol=1e-9, rtol=0)
        assert last == pytest.approx(losses[-1], abs=1e-12)
    batched = hyperbolic.pairwise_distances(torch.from_numpy(together), geometry)
    torch.testing.assert_close(batched[1], hyperbolic.pairwise_distances(torch.from_numpy(together[1]), geometry))
    with pytest.raises(ValueError, match="seeds"):
        hyperbolic.embed_distances_seeds(tree, geometry, seeds=[])
    with pytest.raises(ValueError, match="seeds"):
        hyperbolic.embed_distances_seeds(tree, geometry, seeds=[-1])


def test_mobius_addition_is_an_isometry_that_moves_the_origin():
    a = torch.tensor([0.5, -0.3], dtype=torch.float64)
    u, v = _ball_points(5, 40, 2), _ball_points(6, 40, 2)
    moved_u, moved_v = hyperbolic.mobius_add(a, u), hyperbolic.mobius_add(a, v)
    torch.testing.assert_close(hyperbolic.poincare_distance(moved_u, moved_v), hyperbolic.poincare_distance(u, v))
    origin = torch.zeros(2, dtype=torch.float64)
    torch.testing.assert_close(hyperbolic.mobius_add(a, origin), a)
    torch.testing.assert_close(hyperbolic.mobius_add(origin, u), u)
    torch.testing.assert_close(hyperbolic.mobius_add(-a, moved_u), u)     # left cancellation
    assert bool((moved_u.norm(dim=-1) < 1).all())
    with pytest.raises(ValueError, match="a must lie strictly inside"):
        hyperbolic.mobius_add(torch.tensor([1.0, 0.0], dtype=torch.float64), u)


def test_frechet_mean_of_symmetric_points_is_the_origin_and_of_one_point_itself():
    angles = torch.arange(4, dtype=torch.float64) * np.pi / 2
    square = 0.7 * torch.stack([angles.cos(), angles.sin()], dim=1)
    torch.testing.assert_close(hyperbolic.frechet_mean(square), torch.zeros(2, dtype=torch.float64),
                               atol=1e-3, rtol=0)
    single = torch.tensor([[0.3, -0.4]], dtype=torch.float64)
    torch.testing.assert_close(hyperbolic.frechet_mean(single, steps=600), single[0], atol=1e-3, rtol=0)


def test_tree_helpers():
    parent, level = balanced_tree(3, 2)
    assert len(parent) == 13 and list(level).count(2) == 9
    d = tree_distances(parent)
    assert d[0, 4] == 2 and d[4, 5] == 2 and d[4, 12] == 4 and np.all(d == d.T)
    assert list(leaves_under(parent, 1)) == [4, 5, 6]
    assert len(leaves_under(parent, 0)) == 9
    with pytest.raises(ValueError, match="parent"):
        tree_distances(np.array([0, 0]))
    with pytest.raises(ValueError, match="node"):
        leaves_under(parent, 13)
