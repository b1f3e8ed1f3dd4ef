"""The camera pipeline against its formula, exposure calibration and metering, clipping measures,
codes as network input (against torchvision), and the simulated population's attributes and
composition."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torchvision.transforms.functional import to_tensor

from course_utils.audit import camera
from course_utils.audit.population import REFLECTANCE, SIZE, composition, make_population

pytestmark = pytest.mark.chapter("10_ethics_audits")


def test_capture_follows_its_formula_and_clips():
    radiance = np.array([0.0, 0.05, 0.3, 0.6, 2.0])
    codes = camera.capture(radiance, 1.5, black=0.08, white=1.0, gamma=2.2)
    linear = np.clip((1.5 * radiance - 0.08) / 0.92, 0, 1)
    np.testing.assert_array_equal(codes, np.round(linear ** (1 / 2.2) * 255).astype(int))
    assert codes[0] == 0 and codes[-1] == 255
    assert camera.capture(radiance, 1.5, bits=4).max() == 15
    per_image = camera.capture(np.ones((2, 3, 3)) * 0.2, np.array([1.0, 3.0])[:, None, None])
    assert per_image[0, 0, 0] < per_image[1, 0, 0]


def test_calibration_puts_the_reference_at_its_target():
    for reference, target in ((0.6, 0.75), (0.1, 0.5), (0.3, 0.2)):
        exposure = camera.calibrate_exposure(reference, target)
        assert abs(camera.capture(np.array([reference]), exposure)[0] - target * 255) <= 0.5 + 1e-6
    with pytest.raises(ValueError, match="target"):
        camera.calibrate_exposure(0.5, 1.0)
    with pytest.raises(ValueError, match="reference"):
        camera.calibrate_exposure(0.0)
    with pytest.raises(ValueError, match="exposure"):
        camera.capture(np.ones(3), -1.0)
    with pytest.raises(ValueError, match="black and white"):
        camera.capture(np.ones(3), 1.0, black=1.0, white=0.5)


def test_metering_clipping_and_levels():
    radiance = np.stack([np.full((4, 4), 0.6), np.full((4, 4), 0.05)])
    exposures = camera.metered_exposure(radiance)
    codes = camera.capture(radiance, exposures)
    assert np.all(np.abs(codes - 127.5) <= 0.5)       # both at mid-grey, whatever their reflectance
    assert camera.clipped_fraction(np.array([0, 5, 255, 100])) == 0.5
    assert camera.distinct_levels(np.array([[0, 0, 1], [2, 3, 4]])) == 2.5
    with pytest.raises(ValueError, match="one row per image"):
        camera.distinct_levels(np.array([1, 2]))


def test_population_attributes():
    population = make_population(3000, share_group1=0.2, nuisance_agreement=0.9, seed=0)
    assert population["radiance"].shape == (3000, SIZE, SIZE)
    assert abs(population["group"].mean() - 0.2) < 0.03
    assert abs(np.mean(population["nuisance"] == population["label"]) - 0.9) < 0.02
    for g in (0, 1):
        assert abs(population["reflectance"][population["group"] == g].mean() - REFLECTANCE[g]) < 0.01
    # spots: darker than the skin in group 0, lighter in group 1, absent when invisible
    centre = population["radiance"][:, 4:12, 4:12]
    ratio = centre.min(axis=(1, 2)) / population["reflectance"]
    dark_spot = (population["label"] == 1) & (population["group"] == 0)
    assert np.median(ratio[dark_spot]) < np.median(ratio[(population["label"] == 0) & (population["group"] == 0)])
    invisible = make_population(50, visible=False, nuisance_agreement=0.5, seed=1)
    border = np.ones((SIZE, SIZE), bool)
    border[2:-2, 2:-2] = False
    inner = invisible["radiance"][:, ~border] / invisible["reflectance"][:, None]
    assert np.abs(inner - 1).max() < 0.8          # texture only, no spot
    with pytest.raises(ValueError, match="share_group1"):
        make_population(10, share_group1=1.5)


def test_metered_capture_puts_every_image_at_mid_grey():
    radiance = np.stack([np.full((4, 4), r) for r in (0.6, 0.3, 0.05)])
    assert np.all(np.abs(camera.metered_capture(radiance) - 127.5) <= 0.5)
    # the camera's settings reach both the metering and the capture
    assert np.all(np.abs(camera.metered_capture(radiance, gamma=1.0, black=0.0) - 127.5) <= 0.5)
    assert np.all(np.abs(camera.metered_capture(radiance, target=0.25) - 0.25 * 255) <= 0.5)
    with pytest.raises(ValueError, match="radiance must have 3 dimensions"):
        camera.metered_capture(np.ones((4, 4)))


def test_as_images_matches_torchvision_to_tensor():
    codes = np.random.default_rng(0).integers(0, 256, (3, 5, 6))
    images = camera.as_images(codes)
    assert images.dtype == torch.float32 and images.shape == (3, 1, 5, 6)
    for image, code in zip(images, codes):
        torch.testing.assert_close(image, to_tensor(code.astype(np.uint8)), rtol=0, atol=1e-7)
    assert camera.as_images(np.array([[[0, 15]]]), bits=4).tolist() == [[[[0.0, 1.0]]]]
    with pytest.raises(ValueError, match="codes must be \\(N, H, W\\)"):
        camera.as_images(np.zeros((5, 6)))
    with pytest.raises(ValueError, match="codes must lie in \\[0, 255\\]"):
        camera.as_images(np.full((1, 2, 2), 300))


def test_composition_counts_groups_and_findings():
    table = composition({"group": np.array([0, 0, 1, 0, 1]), "label": np.array([1, 0, 1, 1, 0])},
                        {0: "light", 1: "dark"})
    assert list(table.index) == ["dark", "light"]
    assert table.loc["dark", "images"] == 2 and table.loc["dark", "share_with_finding"] == 0.5
    assert table.loc["light", "images"] == 3 and table.loc["light", "share_with_finding"] == pytest.approx(2 / 3)
    population = make_population(500, share_group1=0.3, seed=1)
    table = composition(population, {0: "a", 1: "b"})
    counts = pd.crosstab(population["group"], population["label"])
    np.testing.assert_array_equal(table["images"], counts.sum(axis=1))
    np.testing.assert_allclose(table["share_with_finding"], counts[1] / counts.sum(axis=1))
    with pytest.raises(ValueError, match="names must name every group"):
        composition(population, {0: "a"})
    with pytest.raises(ValueError, match="population must hold a 'label'"):
        composition({"group": population["group"]}, {0: "a", 1: "b"})
