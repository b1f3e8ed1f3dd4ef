"""Tests for course_utils.synthesis.vae: the ELBO terms against their formulas, training that lowers
both, interpolation end points, prior samples, and the errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.synthesis import generative, vae
from course_utils.data.digits import digits_tensors
from course_utils.train import fit_autoencoder

pytestmark = pytest.mark.chapter("09_synthesis")


@pytest.fixture
def images():
    return torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("variational", [False, True])
def test_shapes_and_ranges(images, variational):
    torch.manual_seed(0)
    model = vae.Autoencoder(latent=3, hidden=16, variational=variational)
    mu, logvar = model.encode(images)
    assert mu.shape == (5, 3) and (logvar is None) == (not variational)
    decoded = model.decode(mu)
    assert decoded.shape == (5, 1, 8, 8) and decoded.min() >= 0 and decoded.max() <= 1


def test_elbo_terms_are_the_formulas(images):
    torch.manual_seed(0)
    model = vae.Autoencoder(latent=3, hidden=16).double()
    x = images.double()
    reconstruction, kl = vae.elbo_terms(model, x, torch.Generator().manual_seed(1))
    mu, logvar = model.encode(x)
    z = generative.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    p = torch.sigmoid(model.decode_logits(z))
    flat = x.flatten(1)
    expected = -(flat * p.log() + (1 - flat) * (1 - p).log()).sum(1)
    torch.testing.assert_close(reconstruction, expected)
    torch.testing.assert_close(kl, generative.gaussian_kl(mu, logvar))


def test_plain_autoencoder_has_no_kl_and_decodes_its_code(images):
    torch.manual_seed(0)
    model = vae.Autoencoder(latent=3, hidden=16, variational=False)
    reconstruction, kl = vae.elbo_terms(model, images)
    assert torch.equal(kl, torch.zeros(5))
    code, _ = model.encode(images)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        model.decode_logits(code), images.flatten(1), reduction="none").sum(1)
    torch.testing.assert_close(reconstruction, expected)


def test_training_lowers_reconstruction_and_beta_controls_the_kl(one_torch_thread):
    x, _, _, _ = digits_tensors()
    runs = {}
    for beta in (0.1, 3.0):
        torch.manual_seed(0)
        model = vae.Autoencoder(latent=4, hidden=64)
        runs[beta] = fit_autoencoder(model, x, vae.elbo, {"kl": beta}, steps=300, lr=2e-3, seed=0)
    history = runs[0.1]
    assert len(history["reconstruction"]) == len(history["kl"]) == 300
    assert np.mean(history["reconstruction"][-30:]) < 0.8 * np.mean(history["reconstruction"][:30])
    assert np.mean(runs[3.0]["kl"][-30:]) < 0.5 * np.mean(runs[0.1]["kl"][-30:])


def test_interpolation_starts_and_ends_at_the_two_codes(images):
    torch.manual_seed(0)
    model = vae.Autoencoder(latent=3, hidden=16)
    path = vae.interpolate(model, images[0], images[1], steps=5)
    assert path.shape == (5, 1, 8, 8)
    with torch.no_grad():
        mu, _ = model.encode(images[:2])
        torch.testing.assert_close(path[[0, -1]], model.decode(mu))
        torch.testing.assert_close(path[2], model.decode(mu.mean(0, keepdim=True))[0])


def test_prior_samples_are_seeded():
    torch.manual_seed(0)
    model = vae.Autoencoder(latent=3, hidden=16)
    a, b = vae.sample_prior(model, 4, seed=2), vae.sample_prior(model, 4, seed=2)
    assert torch.equal(a, b) and a.shape == (4, 1, 8, 8)
    assert not torch.equal(a, vae.sample_prior(model, 4, seed=3))


def test_errors(images):
    model = vae.Autoencoder(latent=3, hidden=16)
    with pytest.raises(ValueError, match=r"x must be \(N, C, H, W\) with C \* H \* W = 64"):
        model.encode(torch.zeros(2, 1, 4, 4))
    with pytest.raises(ValueError, match=r"z must be \(N, 3\)"):
        model.decode(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="latent must be an integer >= 1"):
        vae.Autoencoder(latent=0)
    with pytest.raises(ValueError, match=r"weights\['kl'\] must be finite and >= 0"):
        fit_autoencoder(model, images, vae.elbo, {"kl": -1.0}, steps=1)
    with pytest.raises(ValueError, match="weights names no loss term"):
        fit_autoencoder(model, images, vae.elbo, {"beta": 1.0}, steps=1)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        fit_autoencoder(model, images, vae.elbo, steps=0)
    with pytest.raises(ValueError, match="batch must be an integer >= 1"):
        fit_autoencoder(model, images, vae.elbo, steps=1, batch=0)
    with pytest.raises(ValueError, match="hidden must be an integer >= 1"):
        vae.Autoencoder(hidden=0)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        vae.sample_prior(model, 0)
    with pytest.raises(ValueError, match="steps must be an integer >= 2"):
        vae.interpolate(model, images[0], images[1], steps=1)
