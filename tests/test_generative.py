"""Tests for course_utils.synthesis.generative: the Gaussian KL against torch.distributions, the
reparameterisation (moments and gradients), mode counting against a brute-force loop, the
sample judge, the per-class Gaussians against numpy/scipy, and the errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import multivariate_normal

from course_utils.synthesis import generative

pytestmark = pytest.mark.chapter("09_synthesis")


# ---- gaussian_kl ---------------------------------------------------------------------------
def test_gaussian_kl_matches_torch_distributions(device, dtype):
    generator = torch.Generator().manual_seed(0)
    mu = (2 * torch.randn(6, 5, generator=generator, dtype=dtype)).to(device)
    logvar = (1.5 * torch.randn(6, 5, generator=generator, dtype=dtype)).to(device)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = torch.distributions.kl_divergence(q, p).sum(dim=1)
    got = generative.gaussian_kl(mu, logvar)
    assert got.shape == (6,) and got.dtype == dtype and got.device.type == device.type
    tol = 1e-12 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(got, expected, atol=tol, rtol=tol)


def test_gaussian_kl_gradients_are_the_analytic_ones():
    mu = torch.tensor([[0.3, -1.2], [2.0, 0.0]], dtype=torch.float64, requires_grad=True)
    logvar = torch.tensor([[0.5, -0.7], [0.0, 1.3]], dtype=torch.float64, requires_grad=True)
    grad_mu, grad_logvar = torch.autograd.grad(generative.gaussian_kl(mu, logvar).sum(), (mu, logvar))
    torch.testing.assert_close(grad_mu, mu.detach())
    torch.testing.assert_close(grad_logvar, 0.5 * (logvar.detach().exp() - 1))


@given(st.lists(st.floats(-3, 3), min_size=2, max_size=8), st.lists(st.floats(-3, 3), min_size=2, max_size=8))
def test_gaussian_kl_is_non_negative_and_zero_only_at_the_prior(mus, logvars):
    n = min(len(mus), len(logvars))
    mu = torch.tensor([mus[:n]], dtype=torch.float64)
    logvar = torch.tensor([logvars[:n]], dtype=torch.float64)
    kl = generative.gaussian_kl(mu, logvar).item()
    assert kl >= -1e-12
    if kl < 1e-12:
        assert mu.abs().max() < 1e-5 and logvar.abs().max() < 1e-3
    assert generative.gaussian_kl(torch.zeros_like(mu), torch.zeros_like(mu)).item() == 0.0


@pytest.mark.parametrize("mu, logvar, match", [
    (torch.zeros(3, 2), torch.zeros(3, 3), "logvar must have mu's shape"),
    (torch.zeros(3), torch.zeros(3), r"mu must be \(N, D\)"),
    (np.zeros((2, 2)), torch.zeros(2, 2), "must be tensors"),
])
def test_gaussian_kl_and_reparameterize_reject_bad_shapes(mu, logvar, match):
    error = TypeError if match == "must be tensors" else ValueError
    with pytest.raises(error, match=match):
        generative.gaussian_kl(mu, logvar)
    with pytest.raises(error, match=match):
        generative.reparameterize(mu, logvar)


# ---- reparameterize ------------------------------------------------------------------------
def test_reparameterized_samples_have_the_right_mean_and_variance(device):
    n = 200_000
    mu = torch.tensor([1.5, -2.0, 0.0], dtype=torch.float64, device=device).expand(n, 3)
    logvar = torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64, device=device).expand(n, 3)
    z = generative.reparameterize(mu, logvar, torch.Generator().manual_seed(0))
    variance = logvar[0].exp()
    # 5 standard errors: the mean's is sqrt(var / n), the sample variance's sqrt(2 var^2 / n)
    assert ((z.mean(0) - mu[0]).abs() < 5 * (variance / n).sqrt()).all()
    assert ((z.var(0) - variance).abs() < 5 * variance * (2 / n) ** 0.5).all()


def test_reparameterization_passes_gradients_to_mu_and_logvar():
    mu = torch.tensor([[0.5, -1.0]], dtype=torch.float64, requires_grad=True)
    logvar = torch.tensor([[0.3, -0.4]], dtype=torch.float64, requires_grad=True)
    z = generative.reparameterize(mu, logvar, torch.Generator().manual_seed(3))
    eps = (z.detach() - mu.detach()) / (0.5 * logvar.detach()).exp()
    grad_mu, grad_logvar = torch.autograd.grad(z.sum(), (mu, logvar))
    torch.testing.assert_close(grad_mu, torch.ones_like(mu))
    torch.testing.assert_close(grad_logvar, 0.5 * (0.5 * logvar.detach()).exp() * eps)
    again = generative.reparameterize(mu, logvar, torch.Generator().manual_seed(3))
    torch.testing.assert_close(again, z)


# ---- modes_covered, nearest_distance --------------------------------------------------------
def _brute_force_modes(samples, centers, radius):
    covered, good = set(), 0
    for s in samples.tolist():
        near = [k for k, c in enumerate(centers.tolist())
                if ((s[0] - c[0]) ** 2 + (s[1] - c[1]) ** 2) ** 0.5 < radius]
        covered.update(near)
        good += bool(near)
    return len(covered), good / len(samples)


@given(st.integers(0, 10_000), st.integers(1, 60), st.integers(1, 9), st.floats(0.05, 2.0))
def test_modes_covered_matches_a_brute_force_count(seed, n, k, radius):
    generator = torch.Generator().manual_seed(seed)
    samples = 3 * torch.randn(n, 2, generator=generator)
    centers = 3 * torch.randn(k, 2, generator=generator)
    covered, share = generative.modes_covered(samples, centers, radius)
    expected_covered, expected_share = _brute_force_modes(samples, centers, radius)
    assert covered == expected_covered and isinstance(covered, int)
    assert share == pytest.approx(expected_share)


def test_modes_covered_counts_a_collapsed_and_a_spread_sampler():
    centers = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    collapsed = torch.zeros(10, 2) + torch.tensor([4.05, 0.0])
    assert generative.modes_covered(collapsed, centers, 0.1) == (1, 1.0)
    spread = torch.cat([centers, torch.tensor([[2.0, 2.0]])])
    assert generative.modes_covered(spread, centers, 0.1) == (3, 0.75)


@pytest.mark.parametrize("samples, centers, radius, error, match", [
    (torch.zeros(4, 2), torch.zeros(2, 2), 0.0, ValueError, "radius must be finite and > 0"),
    (torch.zeros(4, 2), torch.zeros(2, 2), -1.0, ValueError, "radius"),
    (torch.zeros(4, 3), torch.zeros(2, 2), 1.0, ValueError, r"samples must be a non-empty \(N, 2\)"),
    (torch.zeros(4, 2), torch.zeros(2), 1.0, ValueError, r"centers must be a non-empty \(N, 2\)"),
    (torch.zeros(0, 2), torch.zeros(2, 2), 1.0, ValueError, "samples"),
])
def test_modes_covered_errors(samples, centers, radius, error, match):
    with pytest.raises(error, match=match):
        generative.modes_covered(samples, centers, radius)


def test_nearest_distance_matches_a_loop():
    generator = torch.Generator().manual_seed(0)
    samples, data = torch.rand(5, 1, 3, 3, generator=generator), torch.rand(7, 1, 3, 3, generator=generator)
    expected = [min(float((s - d).pow(2).sum().sqrt()) for d in data) for s in samples]
    np.testing.assert_allclose(generative.nearest_distance(samples, data).numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="same item shape"):
        generative.nearest_distance(samples, torch.rand(7, 1, 4, 4))


# ---- judge_samples -------------------------------------------------------------------------
class _FixedLogits(torch.nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits[: len(x)]


def test_judge_samples_counts_confident_images_and_their_class_spread():
    big = 10.0
    logits = torch.tensor([[big, 0, 0], [0, big, 0], [0, big, 0], [0.1, 0, 0]])
    verdict = generative.judge_samples(_FixedLogits(logits), torch.zeros(4, 1, 2, 2))
    assert verdict["confident"] == pytest.approx(0.75)
    p = np.array([1 / 3, 2 / 3])
    assert verdict["class_bits"] == pytest.approx(-(p * np.log2(p)).sum())
    one_class = generative.judge_samples(_FixedLogits(logits[:1].repeat(3, 1)), torch.zeros(3, 1, 2, 2))
    assert one_class == {"confident": 1.0, "class_bits": 0.0}
    none = generative.judge_samples(_FixedLogits(logits[3:]), torch.zeros(1, 1, 2, 2))
    assert none == {"confident": 0.0, "class_bits": 0.0}


@pytest.mark.parametrize("images, threshold, match", [
    (torch.zeros(2, 4), 0.9, r"images must be a non-empty \(N, C, H, W\)"),
    (torch.zeros(2, 1, 2, 2), 1.5, r"threshold must lie in \(0, 1\]"),
    (torch.zeros(2, 1, 2, 2), 0.0, "threshold must be finite and > 0"),
])
def test_judge_samples_errors(images, threshold, match):
    with pytest.raises(ValueError, match=match):
        generative.judge_samples(_FixedLogits(torch.zeros(2, 3)), images, threshold)


# ---- class Gaussians -----------------------------------------------------------------------
def test_class_gaussians_match_numpy_and_scipy():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal([0, 0], [1, 0.5], (30, 2)), rng.normal([3, 1], [0.7, 1.2], (50, 2))])
    y = np.repeat([0, 1], [30, 50])
    means, covariances, priors = generative.fit_class_gaussians(torch.tensor(x), torch.tensor(y), 2)
    for k in (0, 1):
        np.testing.assert_allclose(means[k].numpy(), x[y == k].mean(0))
        np.testing.assert_allclose(covariances[k].numpy(), np.cov(x[y == k].T, bias=True))
    np.testing.assert_allclose(priors.numpy(), [30 / 80, 50 / 80])
    points = rng.normal(size=(6, 2))
    expected = np.stack([multivariate_normal(means[k].numpy(), covariances[k].numpy()).logpdf(points)
                         + np.log(priors[k].item()) for k in (0, 1)], axis=1)
    got = generative.class_log_joint(torch.tensor(points), means, covariances, priors)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


def test_sampled_class_gaussians_reproduce_the_moments():
    means = torch.tensor([[0.0, 0.0], [3.0, -1.0]], dtype=torch.float64)
    covariances = torch.tensor([[[1.0, 0.5], [0.5, 2.0]], [[0.3, 0.0], [0.0, 0.1]]], dtype=torch.float64)
    priors = torch.tensor([0.25, 0.75], dtype=torch.float64)
    x, y = generative.sample_class_gaussians(means, covariances, priors, 40_000, torch.Generator().manual_seed(0))
    assert abs((y == 1).double().mean().item() - 0.75) < 0.01
    for k in (0, 1):
        np.testing.assert_allclose(x[y == k].mean(0).numpy(), means[k].numpy(), atol=0.05)
        np.testing.assert_allclose(np.cov(x[y == k].numpy().T), covariances[k].numpy(), atol=0.06)


def test_class_gaussians_errors():
    with pytest.raises(ValueError, match="at least two points of each class"):
        generative.fit_class_gaussians(torch.zeros(3, 2), torch.tensor([0, 0, 1]), 2)
    with pytest.raises(ValueError, match=r"x must be \(N, D\) and y \(N,\)"):
        generative.fit_class_gaussians(torch.zeros(3, 2), torch.tensor([0, 1]), 2)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        generative.sample_class_gaussians(torch.zeros(1, 2), torch.eye(2)[None], torch.ones(1), 0)


def test_the_digit_judge_reads_digits_it_was_not_trained_on(one_torch_thread):
    from course_utils.data.digits import digits_tensors
    from course_utils.metrics import accuracy

    x_train, y_train, x_held, y_held = digits_tensors(seed=0)
    judge = generative.train_digit_judge(x_held, y_held, steps=300)
    assert not judge.training
    with torch.no_grad():
        assert accuracy(judge(x_train), y_train) > 0.85
    with pytest.raises(ValueError, match=r"images must be \(N, 1, 8, 8\) and labels \(N,\)"):
        generative.train_digit_judge(x_held, y_held[:3])
