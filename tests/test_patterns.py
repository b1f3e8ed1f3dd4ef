"""Synthetic test patterns (course_utils.data.patterns) and the noisy camera image."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.filters import gabor_kernel as skimage_gabor

from course_utils.data.images import noisy_camera
from course_utils.data.patterns import bar_image, grating, impulse_image, step_image


def test_impulse_and_step_and_bar():
    imp = impulse_image(9, [(2, 3), (7, 7)])
    assert imp.sum() == 2 and imp[2, 3] == imp[7, 7] == 1
    step = step_image(8, column=5)
    np.testing.assert_array_equal(step[:, :5], 0)
    np.testing.assert_array_equal(step[:, 5:], 1)
    np.testing.assert_array_equal(np.diff(bar_image(16), axis=1)[0].nonzero()[0], [3, 11])


@pytest.mark.parametrize("angle", [0, 30, 90, 135])
def test_grating_follows_the_skimage_gabor_convention(angle):
    # skimage's Gabor kernel is a Gaussian envelope times the same cosine: divide it out
    f, sigma = 0.125, 3.0
    kernel = skimage_gabor(f, theta=np.deg2rad(angle), sigma_x=sigma, sigma_y=sigma,
                           n_stds=2).real
    h, c = kernel.shape[0], kernel.shape[0] // 2
    y, x = np.mgrid[:h, :h] - c
    envelope = np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2)) / (2 * np.pi * sigma ** 2)
    theta = np.deg2rad(angle)
    centred = grating(h, f, angle, phase=-2 * np.pi * f * c * (np.cos(theta) + np.sin(theta)))
    np.testing.assert_allclose(2 * centred - 1, kernel / envelope, atol=1e-9)


def test_grating_spectrum_has_two_spots_at_its_frequency_and_angle():
    g = grating((32, 32), 4 / 32, 90)  # varies down the rows: spots at (+-4, 0) in (row, col)
    amplitude = np.abs(np.fft.fft2(g - g.mean()))
    spots = {tuple(s) for s in np.argwhere(amplitude > 1e-6 * amplitude.max())}
    assert spots == {(4, 0), (28, 0)}
    assert 0 <= g.min() and g.max() <= 1


def test_noisy_camera_is_seeded():
    clean, noisy = noisy_camera(0.1, seed=3, size=128)
    assert clean.shape == (128, 128)
    assert abs((noisy - clean).std() - 0.1) < 0.005
    np.testing.assert_array_equal(noisy, noisy_camera(0.1, seed=3, size=128)[1])
    assert not np.array_equal(noisy, noisy_camera(0.1, seed=4, size=128)[1])


@pytest.mark.parametrize("call,match", [
    (lambda: impulse_image(0), "size"),
    (lambda: impulse_image(5, [(5, 0)]), "positions"),
    (lambda: impulse_image(5, 3), "positions"),
    (lambda: impulse_image(5, [(1.5, 0)]), "positions"),
    (lambda: step_image(1), "size"),
    (lambda: step_image(8, column=8), "column"),
    (lambda: bar_image(2), "size"),
    (lambda: grating((8, 0), 0.1), "shape"),
    (lambda: grating(2.5, 0.1), "shape"),
    (lambda: grating(8, -0.1), "frequency"),
    (lambda: noisy_camera(-0.1), "noise_std"),
    (lambda: noisy_camera(size=0), "size"),
    (lambda: noisy_camera(seed=-2), "seed"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
