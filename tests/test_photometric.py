"""Photometric stereo against numpy.linalg.lstsq and exact normals; shadows; angular error;
normal integration; the Lambertian test surfaces and renderer."""
import numpy as np
import pytest

from course_utils.geometry3d import photometric
from course_utils.geometry3d import lambertian

pytestmark = pytest.mark.chapter("13_3d_vision")


def _lights(k, elevation=50.0):
    return lambertian.light_directions(np.arange(k) * 360.0 / k + 10, elevation)


def test_matches_numpy_lstsq_per_pixel_on_noisy_data():
    rng = np.random.default_rng(0)
    lights = _lights(5)
    images = rng.uniform(0.1, 1.0, size=(5, 4, 6))  # not a Lambertian image: a pure LS check
    normals, albedo = photometric.photometric_stereo(images, lights)
    for y in range(4):
        for x in range(6):
            g = np.linalg.lstsq(lights, images[:, y, x], rcond=None)[0]
            assert albedo[y, x] == pytest.approx(np.linalg.norm(g), rel=1e-10)
            np.testing.assert_allclose(normals[y, x], g / np.linalg.norm(g), atol=1e-10)


@pytest.mark.parametrize("k", [3, 4, 8])
def test_exact_normals_and_albedo_without_noise_or_shadow(k):
    surface = lambertian.bumps(48, seed=3)
    lights = _lights(k, elevation=60.0)
    images = lambertian.render_lambertian(surface["normals"], surface["albedo"], lights)
    assert images.min() > 0  # every pixel lit by every light
    normals, albedo = photometric.photometric_stereo(images, lights)
    assert np.max(photometric.angular_error(normals, surface["normals"])) < 1e-6
    np.testing.assert_allclose(albedo, surface["albedo"], atol=1e-10)


def test_shadow_threshold_repairs_shadowed_pixels_with_three_lit_lights():
    surface = lambertian.sphere(48)
    lights = _lights(6, elevation=35.0)
    images = lambertian.render_lambertian(surface["normals"], surface["albedo"], lights)
    lit = (images > 0).sum(axis=0)
    shadowed = surface["mask"] & (lit < 6) & (lit >= 3)
    assert shadowed.sum() > 50
    plain, _ = photometric.photometric_stereo(images, lights)
    aware, albedo = photometric.photometric_stereo(images, lights, shadow_threshold=0.0)
    err_plain = photometric.angular_error(plain, surface["normals"], shadowed)
    err_aware = photometric.angular_error(aware, surface["normals"], shadowed)
    assert np.nanmean(err_plain) > 1.0
    assert np.nanmax(err_aware) < 1e-6
    np.testing.assert_allclose(albedo[shadowed], surface["albedo"][shadowed], atol=1e-10)
    everywhere = surface["mask"] & (lit == 6)  # unshadowed pixels: the same solution
    np.testing.assert_allclose(aware[everywhere], plain[everywhere], atol=1e-12)


def test_background_pixels_get_nan_normals_and_zero_albedo():
    surface = lambertian.sphere(24)
    lights = _lights(4)
    images = lambertian.render_lambertian(surface["normals"], surface["albedo"], lights)
    normals, albedo = photometric.photometric_stereo(images, lights)
    assert np.all(albedo[~surface["mask"]] == 0)
    assert np.all(np.isnan(normals[~surface["mask"]]))


def test_bad_lights_and_images_raise_naming_the_argument():
    images = np.ones((3, 4, 4))
    lights = _lights(3)
    with pytest.raises(ValueError, match="at least 3 lights"):
        photometric.photometric_stereo(images[:2], lights[:2])
    with pytest.raises(ValueError, match="same number"):
        photometric.photometric_stereo(images, _lights(4))
    with pytest.raises(ValueError, match="unit"):
        photometric.photometric_stereo(images, 2 * lights)
    with pytest.raises(ValueError, match=r"lights must have shape \(K, 3\)"):
        photometric.photometric_stereo(images, lights[:, :2])
    with pytest.raises(ValueError, match="span"):
        photometric.photometric_stereo(images, lambertian.light_directions([0, 90, 180], 0))
    with pytest.raises(ValueError, match="images"):
        photometric.photometric_stereo(np.ones((3, 4)), lights)
    with pytest.raises(ValueError, match="shadow_threshold"):
        photometric.photometric_stereo(images, lights, shadow_threshold=-1)


def test_angular_error_known_angles_and_mask():
    n = np.array([[[1.0, 0, 0], [0, 0, 1.0]]])
    m = np.array([[[0, 1.0, 0], [0, np.sin(1e-7), np.cos(1e-7)]]])
    err = photometric.angular_error(n, m)
    assert err[0, 0] == pytest.approx(90.0)
    assert err[0, 1] == pytest.approx(np.degrees(1e-7), rel=1e-6)  # arccos would lose this
    masked = photometric.angular_error(n, m, mask=np.array([[True, False]]))
    assert masked[0, 0] == pytest.approx(90.0) and np.isnan(masked[0, 1])
    with pytest.raises(ValueError, match="true_normals"):
        photometric.angular_error(n, m[:, :1])
    with pytest.raises(ValueError, match="mask"):
        photometric.angular_error(n, m, mask=np.ones((1, 2)))


def test_integrate_normals_recovers_a_periodic_height_field():
    h, w = 32, 40
    y, x = np.mgrid[0:h, 0:w]
    kx, ky = 2 * np.pi * 2 / w, 2 * np.pi * 1 / h
    z = 1.5 * np.sin(kx * x) + 0.8 * np.cos(ky * y + 0.3)
    p, q = 1.5 * kx * np.cos(kx * x), -0.8 * ky * np.sin(ky * y + 0.3)
    n = np.stack([-p, -q, np.ones_like(p)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    height = photometric.integrate_normals(n)
    np.testing.assert_allclose(height, z - z.mean(), atol=1e-10)
    masked = photometric.integrate_normals(n, mask=x < 20)
    assert np.isnan(masked[:, 20:]).all() and abs(np.nanmean(masked)) < 1e-12


def test_bumps_normals_match_finite_differences_of_the_height():
    surface = lambertian.bumps(64, seed=1)
    dz_dy, dz_dx = np.gradient(surface["height"])
    n = np.stack([-dz_dx, -dz_dy, np.ones_like(dz_dx)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    err = photometric.angular_error(n, surface["normals"])
    assert np.max(err[2:-2, 2:-2]) < 2.0  # central differences on a smooth field
    assert np.ptp(surface["height"]) > 3  # not flat: the test can fail


def test_sphere_normals_unit_and_pointing_outwards():
    surface = lambertian.sphere(40)
    n = surface["normals"][surface["mask"]]
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-12)
    assert np.all(n[:, 2] > 0)
    assert surface["normals"][20, 39, 0] != surface["normals"][20, 39, 0]  # NaN outside
    c = 19.5
    assert surface["normals"][20, 35, 0] == pytest.approx((35 - c) / (0.45 * 40))
    albedo = surface["albedo"][surface["mask"]]
    assert 0.3 < albedo.min() < albedo.max() < 1.0 and np.ptp(albedo) > 0.3


def test_render_lambertian_is_albedo_times_clamped_cosine():
    surface = lambertian.bumps(16, seed=2)
    lights = lambertian.light_directions([0.0, 180.0], [10.0, 10.0])
    images = lambertian.render_lambertian(surface["normals"], surface["albedo"], lights)
    y, x = 5, 7
    for k in range(2):
        cos = float(surface["normals"][y, x] @ lights[k])
        assert images[k, y, x] == pytest.approx(surface["albedo"][y, x] * max(cos, 0.0))
    assert (images == 0).any()  # grazing lights: some attached shadow
    with pytest.raises(ValueError, match="lights"):
        lambertian.render_lambertian(surface["normals"], surface["albedo"], np.ones((2, 2)))


def test_light_directions_unit_and_known_values():
    lights = lambertian.light_directions([0.0, 90.0, 45.0], [0.0, 0.0, 90.0])
    np.testing.assert_allclose(lights[0], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(lights[1], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(lights[2], [0, 0, 1], atol=1e-12)
    assert lambertian.light_directions([0, 90, 180], 45).shape == (3, 3)
    with pytest.raises(ValueError, match="azimuth and elevation"):
        lambertian.light_directions([0, 90], [10, 20, 30])


def test_surfaces_renderer_and_integration_reject_bad_input():
    with pytest.raises(ValueError, match="size"):
        lambertian.sphere(4)
    with pytest.raises(ValueError, match="count"):
        lambertian.bumps(16, count=0)
    with pytest.raises(ValueError, match="albedo"):
        lambertian.render_lambertian(np.zeros((4, 4, 3)), np.zeros((4, 5)), _lights(3))
    with pytest.raises(ValueError, match="normals"):
        photometric.integrate_normals(np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="mask"):
        photometric.integrate_normals(np.zeros((4, 4, 3)), mask=np.ones((4, 4)))
