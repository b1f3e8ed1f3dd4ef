"""Tests for course_utils.geometry3d.pointcloud and geometry3d.primitives: samples on the true surfaces and
uniform by area, PointNet's permutation invariance (hypothesis), the loop against the batched
network, critical points, the canonical pose against scikit-learn's PCA, a training claim,
and the errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from scipy import stats
from sklearn.decomposition import PCA

from course_utils.geometry3d import pointcloud as pc
from course_utils.geometry3d import primitives

pytestmark = pytest.mark.chapter("13_3d_vision")


def _surface_residual(shape, p):
    """How far each point is from the primitive's surface, from its implicit equation."""
    x, y, z = p.T
    if shape == "sphere":
        return np.abs(np.linalg.norm(p, axis=1) - 1)
    if shape == "cube":
        return np.abs(np.abs(p).max(axis=1) - 1)
    r = np.hypot(x, y)
    if shape == "cylinder":  # side (r = 1, |z| <= 1) or caps (|z| = 1, r <= 1)
        return np.minimum(np.abs(r - 1) + np.maximum(np.abs(z) - 1, 0),
                          np.abs(np.abs(z) - 1) + np.maximum(r - 1, 0))
    if shape == "cone":  # side r = (1 - z) / 2 or base z = -1, r <= 1
        return np.minimum(np.abs(r - (1 - z) / 2), np.abs(z + 1) + np.maximum(r - 1, 0))
    big, small = primitives.TORUS_RADII
    return np.abs(np.hypot(r - big, z) - small)


@pytest.mark.parametrize("shape", primitives.PRIMITIVES)
def test_samples_lie_on_the_surface(shape):
    p = primitives.sample_surface(shape, 2000, np.random.default_rng(0))
    assert p.shape == (2000, 3)
    assert _surface_residual(shape, p).max() < 1e-9


def test_samples_are_uniform_by_area():
    rng = np.random.default_rng(1)
    n = 20000
    # Archimedes: on the unit sphere, z is uniform on [-1, 1]
    z = primitives.sample_surface("sphere", n, rng)[:, 2]
    assert stats.kstest(z, "uniform", args=(-1, 2)).pvalue > 1e-3
    # cylinder: caps hold 2 pi of 6 pi of the area
    cyl = primitives.sample_surface("cylinder", n, rng)
    on_caps = np.mean(np.isclose(np.abs(cyl[:, 2]), 1) & (np.hypot(cyl[:, 0], cyl[:, 1]) < 1 - 1e-9))
    assert abs(on_caps - 1 / 3) < 4 * np.sqrt(1 / 3 * 2 / 3 / n)
    # cone: the base is pi of pi (1 + sqrt 5)
    cone = primitives.sample_surface("cone", n, rng)
    on_base = np.mean(np.isclose(cone[:, 2], -1))
    p = 1 / (1 + np.sqrt(5))
    assert abs(on_base - p) < 4 * np.sqrt(p * (1 - p) / n)
    # torus: the outer half (cos v > 0) holds (pi + 2 r / R) / (2 pi) of the area
    big, small = primitives.TORUS_RADII
    tor = primitives.sample_surface("torus", n, rng)
    outer = np.mean(np.hypot(tor[:, 0], tor[:, 1]) > big)
    p = (np.pi + 2 * small / big) / (2 * np.pi)
    assert abs(outer - p) < 4 * np.sqrt(p * (1 - p) / n)


def test_primitive_clouds_rotate_and_jitter():
    clouds, labels = primitives.primitive_clouds(200, points=64, noise=0.0, seed=3)
    assert clouds.shape == (200, 64, 3) and clouds.dtype == torch.float32
    assert set(labels.tolist()) == set(range(len(primitives.PRIMITIVES)))
    spheres = clouds[labels == 0].double()
    np.testing.assert_allclose(spheres.norm(dim=-1), 1, atol=1e-6)  # rotations keep lengths
    cubes = clouds[labels == 1].double()
    assert (cubes.abs().amax(dim=(1, 2)) > 1.05).float().mean() > 0.9  # turned away from the axes
    again, _ = primitives.primitive_clouds(200, points=64, noise=0.0, seed=3)
    torch.testing.assert_close(clouds, again)
    noisy, _ = primitives.primitive_clouds(200, points=64, noise=0.05, seed=3)
    assert 0.04 < (noisy - clouds).std().item() < 0.06


def test_primitive_errors():
    with pytest.raises(ValueError, match="shape"):
        primitives.sample_surface("pyramid", 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="count"):
        primitives.primitive_clouds(0)
    with pytest.raises(ValueError, match="noise"):
        primitives.primitive_clouds(3, noise=-0.1)


def _net(seed=0, width=8):
    torch.manual_seed(seed)
    return pc.PointNet(num_classes=5, width=width)


@given(seed=st.integers(0, 10_000), points=st.integers(1, 40))
def test_pointnet_is_invariant_to_point_order(seed, points):
    torch.manual_seed(seed)
    net = pc.PointNet(num_classes=4, width=8).double()
    clouds = torch.randn(3, points, 3, dtype=torch.float64)
    shuffled = clouds[:, torch.randperm(points)]
    torch.testing.assert_close(net(shuffled), net(clouds), rtol=0, atol=1e-12)


def test_pointnet_is_not_invariant_to_rotation():
    """The counterpart: nothing in the architecture makes it ignore the pose."""
    net = _net(width=16).double()
    clouds = torch.randn(4, 30, 3, dtype=torch.float64)
    turned = clouds[..., [1, 0, 2]] * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    assert (net(turned) - net(clouds)).abs().max() > 1e-3


def test_loop_matches_batched_pooling(device, dtype):
    net = _net(1).to(device=device, dtype=dtype)
    clouds = torch.randn(2, 17, 3, device=device, dtype=dtype)
    looped = torch.stack([pc.global_feature_loop(net, c) for c in clouds])
    torch.testing.assert_close(looped, net.global_feature(clouds))


def test_critical_points_alone_give_the_same_feature(device):
    net = _net(2, width=16).to(device)
    clouds = torch.randn(5, 64, 3, device=device)
    mask = pc.critical_points(net, clouds)
    assert mask.any(dim=1).all() and not mask.all()
    for cloud, keep in zip(clouds, mask):
        torch.testing.assert_close(net.global_feature(cloud[keep][None]), net.global_feature(cloud[None]))
        dropped = cloud[~keep][None]
        assert (net.global_feature(dropped) < net.global_feature(cloud[None])).any()
    kept = pc.keep_points(clouds, int(mask.sum(dim=1).max()), "critical", net)
    torch.testing.assert_close(net.global_feature(kept), net.global_feature(clouds))


def test_point_wins_counts_each_active_channel_once():
    net = _net(3)
    clouds = torch.randn(4, 20, 3)
    wins = pc.point_wins(net, clouds)
    with torch.no_grad():
        features = net.point_features(clouds).tolist()  # (N, P, F) as plain lists
    for cloud_wins, points in zip(wins.tolist(), features):
        expected = [0] * len(points)  # channel by channel: the first point holding the max
        for channel in range(len(points[0])):
            column = [p[channel] for p in points]
            if max(column) > 0:
                expected[column.index(max(column))] += 1
        assert cloud_wins == expected
    # the claim behind the count: points that win no channel do not shape the global feature
    for cloud, cloud_wins in zip(clouds, wins):
        winners = cloud[cloud_wins > 0][None]
        torch.testing.assert_close(net.global_feature(winners), net.global_feature(cloud[None]))


def test_keep_points_random_is_a_seeded_subset():
    clouds = torch.arange(2 * 10 * 3, dtype=torch.float32).reshape(2, 10, 3)
    kept = pc.keep_points(clouds, 4, seed=7)
    assert kept.shape == (2, 4, 3)
    for cloud, sub in zip(clouds, kept):
        rows = {tuple(r) for r in cloud.tolist()}
        assert {tuple(r) for r in sub.tolist()} <= rows and len({tuple(r) for r in sub.tolist()}) == 4
    torch.testing.assert_close(kept, pc.keep_points(clouds, 4, seed=7))


def test_canonical_pose_matches_pca():
    clouds, _ = primitives.primitive_clouds(6, points=200, noise=0.01, seed=4)
    aligned = pc.align_principal_axes(clouds.double())
    for raw, out in zip(clouds.double().numpy(), aligned.numpy()):
        centred = raw - raw.mean(axis=0)
        scale = np.linalg.norm(centred, axis=1).max()
        reference = PCA(n_components=3).fit(centred / scale)
        np.testing.assert_allclose(np.var(out, axis=0, ddof=1), reference.explained_variance_, rtol=1e-9)
        np.testing.assert_allclose(np.abs(out), np.abs(reference.transform(centred / scale)), atol=1e-9)
        assert np.all((out ** 3).sum(axis=0) >= 0)
        np.testing.assert_allclose(np.cov(out.T)[np.triu_indices(3, 1)], 0, atol=1e-12)


def test_normalize_centres_and_scales():
    clouds = torch.randn(3, 50, 3, dtype=torch.float64) * 4 + 7
    out = pc.normalize(clouds)
    torch.testing.assert_close(out.mean(dim=1), torch.zeros(3, 3, dtype=torch.float64))
    torch.testing.assert_close(out.norm(dim=-1).amax(dim=1), torch.ones(3, dtype=torch.float64))


@pytest.mark.slow
def test_pointnet_learns_aligned_primitives(one_torch_thread):
    train, train_labels = primitives.primitive_clouds(1500, points=128, seed=0)
    test, test_labels = primitives.primitive_clouds(300, points=128, seed=1)
    torch.manual_seed(0)
    net = pc.PointNet(width=32)
    losses = pc.train_pointnet(net, pc.align_principal_axes(train), train_labels, steps=500)
    accuracy = (pc.predict(net, pc.align_principal_axes(test)) == test_labels).float().mean().item()
    assert np.mean(losses[-30:]) < 0.5 * np.mean(losses[:30])
    assert accuracy > 0.85  # chance: 0.2


def test_pointcloud_errors():
    net = _net()
    with pytest.raises(ValueError, match=r"clouds must be a tensor of shape \(N, P, 3\)"):
        net(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="clouds"):
        pc.normalize(torch.zeros(2, 5, 2))
    with pytest.raises(ValueError, match="cloud must"):
        pc.global_feature_loop(net, torch.zeros(1, 4, 3))
    with pytest.raises(ValueError, match="keep"):
        pc.keep_points(torch.zeros(1, 4, 3), 5)
    with pytest.raises(ValueError, match="order"):
        pc.keep_points(torch.zeros(1, 4, 3), 2, order="best")
    with pytest.raises(ValueError, match="needs the model"):
        pc.keep_points(torch.zeros(1, 4, 3), 2, order="critical")
    with pytest.raises(ValueError, match="labels"):
        pc.train_pointnet(net, torch.zeros(4, 5, 3), torch.zeros(3, dtype=torch.long), steps=1)
    with pytest.raises(ValueError, match="num_classes"):
        pc.PointNet(num_classes=1)
