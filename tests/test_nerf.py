"""Tests for course_utils.geometry3d.nerf, rays and scene3d: volume rendering against the closed form for
constant density and against a finely resolved integral (scipy.integrate), the encoding, the
rays and cameras, the ray tracer against points on the spheres, a training claim, the errors."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from scipy import integrate
from skimage.metrics import peak_signal_noise_ratio

from course_utils.geometry3d import nerf, rays
from course_utils.geometry3d import scene3d
from course_utils.metrics import psnr

pytestmark = pytest.mark.chapter("13_3d_vision")


@pytest.mark.parametrize("samples", [1, 7, 64])
def test_constant_density_matches_closed_form(samples, dtype):
    """Constant sigma over length L with colour c: rgb = c (1 - exp(-sigma L)), for any S."""
    sigma = torch.tensor([0.1, 1.0, 3.0, 20.0], dtype=dtype)
    length = 1.7
    sigmas = sigma[:, None].expand(-1, samples)
    deltas = torch.full((4, samples), length / samples, dtype=dtype)
    colors = torch.tensor([0.2, 0.5, 0.9], dtype=dtype).expand(4, samples, 3)
    rgb, weights = nerf.volume_render(sigmas, colors, deltas)
    expected = (1 - torch.exp(-sigma * length))[:, None] * colors[:, 0]
    torch.testing.assert_close(rgb, expected)
    torch.testing.assert_close(weights.sum(dim=1), 1 - torch.exp(-sigma * length))


def test_weights_follow_the_product_form():
    """w_i = prod_{j<i} (1 - alpha_j) alpha_i, written as a loop."""
    g = torch.Generator().manual_seed(0)
    sigmas = torch.rand(3, 9, generator=g, dtype=torch.float64) * 4
    deltas = torch.rand(3, 9, generator=g, dtype=torch.float64) * 0.3
    colors = torch.rand(3, 9, 3, generator=g, dtype=torch.float64)
    _, weights = nerf.volume_render(sigmas, colors, deltas)
    for r in range(3):
        transmitted = 1.0
        for i in range(9):
            alpha = 1 - math.exp(-sigmas[r, i].item() * deltas[r, i].item())
            assert weights[r, i].item() == pytest.approx(transmitted * alpha, abs=1e-14)
            transmitted *= 1 - alpha


def test_transmittance_is_the_product_of_what_each_sample_lets_through():
    g = torch.Generator().manual_seed(2)
    sigmas = torch.rand(4, 7, generator=g, dtype=torch.float64) * 5
    deltas = torch.rand(4, 7, generator=g, dtype=torch.float64) * 0.4
    passed = torch.exp(-sigmas * deltas)  # 1 - alpha
    expected = torch.cat([torch.ones(4, 1, dtype=torch.float64), torch.cumprod(passed, dim=1)[:, :-1]], dim=1)
    torch.testing.assert_close(nerf.transmittance(sigmas, deltas), expected)


def test_ray_samples_lie_on_the_rays_inside_the_ball():
    origins, directions = rays.camera_rays(0.0, 0.0, 4, distance=3.0)
    points, depths, deltas, hit = nerf.ray_samples(origins, directions, 5, bound=1.0)
    assert points.shape == (16, 5, 3) and depths.shape == deltas.shape == (16, 5)
    torch.testing.assert_close(points, origins[:, None] + depths[..., None] * directions[:, None])
    assert hit.any() and (points[hit].norm(dim=-1) <= 1.0 + 1e-6).all()


def test_varying_density_converges_to_the_integral():
    """C = int_0^L T(t) sigma(t) c(t) dt, T(t) = exp(-int_0^t sigma): the sum approaches it."""
    length = 2.0
    sigma = lambda t: 3.0 * np.exp(-((t - 1.0) / 0.3) ** 2)  # a soft slab in the middle
    red = lambda t: 0.5 + 0.5 * np.sin(3 * t)
    optical = lambda t: integrate.quad(sigma, 0, t)[0]
    exact = integrate.quad(lambda t: np.exp(-optical(t)) * sigma(t) * red(t), 0, length, limit=200)[0]
    errors = []
    for samples in (16, 256, 4096):
        t = (np.arange(samples) + 0.5) * length / samples
        sig = torch.tensor(sigma(t))[None]
        col = torch.tensor(np.stack([red(t)] * 3, axis=-1))[None]
        rgb, _ = nerf.volume_render(sig, col, torch.full_like(sig, length / samples))
        errors.append(abs(rgb[0, 0].item() - exact))
    assert errors[2] < 1e-5
    assert errors[0] > errors[1] > errors[2]


def test_positional_encoding_layout():
    x = torch.tensor([[0.25, -0.5, 1.0]], dtype=torch.float64)
    out = nerf.positional_encoding(x, 3)
    assert out.shape == (1, 21)
    torch.testing.assert_close(out[:, :3], x)
    for k in range(3):  # sin block then cos block, frequency-major within each coordinate
        torch.testing.assert_close(out[0, 3 + k::3][:3], torch.sin(2 ** k * math.pi * x[0]))
        torch.testing.assert_close(out[0, 12 + k::3][:3], torch.cos(2 ** k * math.pi * x[0]))
    assert nerf.positional_encoding(x, 0) is x


def test_camera_rays_look_at_the_origin():
    origins, directions = rays.camera_rays(30.0, 20.0, 8, fov=40, distance=3.0)
    assert origins.shape == directions.shape == (64, 3)
    torch.testing.assert_close(origins.norm(dim=-1), torch.full((64,), 3.0))
    torch.testing.assert_close(directions.norm(dim=-1), torch.ones(64))
    centre = directions.mean(dim=0)
    torch.testing.assert_close(centre / centre.norm(), -origins[0] / 3.0, atol=1e-6, rtol=0)
    # corner rays span the field of view: the angle between opposite edge centres is ~fov
    d = directions.reshape(8, 8, 3)
    left, right = d[3:5, 0].mean(0), d[3:5, -1].mean(0)
    angle = math.degrees(math.acos(float(left @ right / left.norm() / right.norm())))
    assert abs(angle - 40 * 7 / 8) < 1.0  # pixel centres sit half a pixel inside the edges
    top = d[0].mean(0)
    assert float(top @ torch.tensor([0.0, 1.0, 0.0])) > float(d[-1].mean(0) @ torch.tensor([0.0, 1.0, 0.0]))


def test_sphere_bounds_enter_and_leave():
    origins = torch.tensor([[0.0, 0.0, 5.0], [0.0, 2.0, 5.0]])
    directions = torch.tensor([[0.0, 0.0, -1.0], [0.0, 0.0, -1.0]])
    near, far, hit = rays.sphere_bounds(origins, directions, 1.0)
    torch.testing.assert_close(near[0], torch.tensor(4.0))
    torch.testing.assert_close(far[0], torch.tensor(6.0))
    assert hit.tolist() == [True, False]


def test_stratified_samples_stay_in_their_bins():
    near, far = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 2.5])
    depths, deltas = nerf.sample_along_rays(near, far, 4, torch.Generator().manual_seed(0))
    bins = (depths - near[:, None]) / deltas
    assert torch.all((bins >= torch.arange(4)) & (bins <= torch.arange(4) + 1))
    centres, _ = nerf.sample_along_rays(near, far, 4)
    torch.testing.assert_close(centres[0], torch.tensor([1.25, 1.75, 2.25, 2.75]))


def test_trace_hits_the_spheres_exactly():
    g = torch.Generator().manual_seed(1)
    k = torch.randint(len(scene3d.RADII), (200,), generator=g)
    normals = torch.nn.functional.normalize(torch.randn(200, 3, generator=g), dim=-1)
    targets = scene3d.CENTRES[k] + scene3d.RADII[k, None] * normals
    origins = targets + 4.0 * normals  # outside, looking back along the normal
    colour, depth = scene3d.trace(origins, -normals)
    visible = torch.isclose(depth, torch.full_like(depth, 4.0), atol=1e-4)
    assert visible.float().mean() > 0.5  # others are hidden behind another sphere
    shade = scene3d.AMBIENT + (1 - scene3d.AMBIENT) * (normals @ scene3d.LIGHT).clamp_min(0)
    torch.testing.assert_close(colour[visible], (scene3d.COLOURS[k] * shade[:, None])[visible], atol=1e-5, rtol=0)
    away = scene3d.trace(torch.tensor([[0.0, 0.0, 3.0]]), torch.tensor([[0.0, 0.0, 1.0]]))
    assert away[0].tolist() == [[scene3d.BACKGROUND] * 3] and math.isinf(away[1].item())


def test_scene_fits_its_extent():
    assert float((scene3d.CENTRES.norm(dim=1) + scene3d.RADII).max()) < scene3d.EXTENT
    assert scene3d.EXTENT == nerf.BOUND


def test_posed_views_and_render_agree():
    views = scene3d.posed_views([(0.0, 10.0), (90.0, 30.0)], 12)
    assert views["origins"].shape == (288, 3) and views["images"].shape == (2, 12, 12, 3)
    torch.testing.assert_close(views["images"][1], scene3d.render(90.0, 30.0, 12))
    white = (views["images"] == 1.0).all(dim=-1).float().mean()
    assert 0.2 < white < 0.9  # both background and spheres in view


def test_psnr_matches_skimage():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(size=(8, 8, 3)), rng.uniform(size=(8, 8, 3))
    assert psnr(a, b) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=1.0))


def test_field_and_view_agree_across_devices_and_chunks(device):
    """The same weights give the same field on every device; each point's density and colour
    depend on that point alone; a view rendered in chunks of 5 rays on ``device`` equals one
    call of render_rays over all rays on the CPU."""
    torch.manual_seed(0)
    cpu_model = nerf.TinyNeRF(n_freqs=4, width=16)
    model = copy.deepcopy(cpu_model).to(device)
    points = torch.randn(5, 7, 3)
    with torch.no_grad():
        sigma, rgb = model(points.to(device))
        ref_sigma, ref_rgb = cpu_model(points)
        alone_sigma, alone_rgb = cpu_model(points[2, 3][None])
        origins, directions = rays.camera_rays(10.0, 20.0, 6)
        expected = nerf.render_rays(cpu_model, origins, directions).reshape(6, 6, 3)
    torch.testing.assert_close(sigma.cpu(), ref_sigma, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(rgb.cpu(), ref_rgb, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(alone_sigma[0], ref_sigma[2, 3])
    torch.testing.assert_close(alone_rgb[0], ref_rgb[2, 3])
    assert (ref_sigma >= 0).all() and ((ref_rgb >= 0) & (ref_rgb <= 1)).all()
    image = nerf.render_view(model, 10.0, 20.0, 6, chunk=5)
    assert image.device.type == "cpu"
    torch.testing.assert_close(image, expected, atol=1e-5, rtol=1e-4)


def test_empty_field_renders_the_background():
    model = nerf.TinyNeRF(n_freqs=2, width=8)
    torch.nn.init.zeros_(model.mlp[-1].weight)
    torch.nn.init.constant_(model.mlp[-1].bias, -30.0)  # density softplus(-31) ~ 0
    origins, directions = rays.camera_rays(0.0, 0.0, 4)
    torch.testing.assert_close(nerf.render_rays(model, origins, directions, background=0.3),
                               torch.full((16, 3), 0.3), atol=1e-6, rtol=0)


@pytest.mark.slow
def test_tiny_nerf_learns_the_scene(one_torch_thread):
    train = scene3d.posed_views([(az, el) for el in (10, 35) for az in range(0, 360, 45)], 16)
    torch.manual_seed(0)
    model = nerf.TinyNeRF(n_freqs=4, width=32)
    losses = nerf.train_nerf(model, train["origins"], train["directions"], train["colors"], steps=300)
    truth = scene3d.render(20.0, 22.0, 16)
    mean_image = train["colors"].mean(dim=0).expand_as(truth)  # the best constant guess
    got = psnr(truth.numpy(), nerf.render_view(model, 20.0, 22.0, 16).clamp(0, 1).numpy())
    assert got > psnr(truth.numpy(), mean_image.numpy()) + 6
    assert np.mean(losses[-20:]) < 0.3 * np.mean(losses[:20])


def test_nerf_errors():
    with pytest.raises(ValueError, match="sigmas"):
        nerf.volume_render(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="origins and directions"):
        rays.sphere_bounds(torch.zeros(4, 3), torch.zeros(4, 2), 1.0)
    with pytest.raises(ValueError, match="radius"):
        rays.sphere_bounds(torch.zeros(4, 3), torch.zeros(4, 3), 0.0)
    with pytest.raises(ValueError, match="elevation"):
        rays.look_at(0.0, 90.0)
    with pytest.raises(ValueError, match="size"):
        rays.camera_rays(0.0, 0.0, 0)
    with pytest.raises(ValueError, match="fov"):
        rays.camera_rays(0.0, 0.0, 4, fov=180)
    with pytest.raises(ValueError, match="n_freqs"):
        nerf.positional_encoding(torch.zeros(2, 3), -1)
    with pytest.raises(ValueError, match="n_samples"):
        nerf.sample_along_rays(torch.zeros(2), torch.ones(2), 0)
    with pytest.raises(ValueError, match="colors"):
        nerf.train_nerf(nerf.TinyNeRF(1, 4), torch.zeros(3, 3), torch.ones(3, 3), torch.zeros(2, 3), steps=1)
    with pytest.raises(ValueError, match="poses"):
        scene3d.posed_views([], 8)
