"""Tests for course_utils.synthesis.gan: both losses against their formulas on hand-made logits, where
each loss's gradient vanishes, minibatch features, the training loop, the gradient norm of
the generator, and the errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from course_utils.synthesis import gan

pytestmark = pytest.mark.chapter("09_synthesis")

LOGITS = [-3.0, -0.5, 0.0, 1.0, 4.0]


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_discriminator_loss_is_the_minimax_formula(dtype):
    real, fake = torch.tensor(LOGITS, dtype=dtype), torch.tensor(LOGITS[::-1][:3], dtype=dtype)
    expected = (np.mean([-math.log(_sigmoid(r)) for r in LOGITS])
                + np.mean([-math.log(1 - _sigmoid(f)) for f in LOGITS[::-1][:3]]))
    assert gan.discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    reference = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
    torch.testing.assert_close(gan.discriminator_loss(real, fake), reference)


def test_generator_losses_are_their_formulas(dtype):
    logits = torch.tensor(LOGITS, dtype=dtype)
    saturating = np.mean([math.log(1 - _sigmoid(x)) for x in LOGITS])
    non_saturating = np.mean([-math.log(_sigmoid(x)) for x in LOGITS])
    assert gan.generator_loss(logits, "saturating").item() == pytest.approx(saturating, rel=1e-6)
    assert gan.generator_loss(logits, "non_saturating").item() == pytest.approx(non_saturating, rel=1e-6)
    assert gan.generator_loss(logits).item() == pytest.approx(non_saturating, rel=1e-6)


def test_the_saturating_loss_loses_its_gradient_where_the_discriminator_wins():
    logits = torch.tensor([-200.0, -10.0, 0.0], requires_grad=True)
    grads = {kind: torch.autograd.grad(gan.generator_loss(logits, kind), logits)[0]
             for kind in gan.GENERATOR_LOSSES}
    # d/dl of mean(-softplus(l)) = -sigmoid(l) / n; of mean(softplus(-l)) = -(1 - sigmoid(l)) / n
    torch.testing.assert_close(grads["saturating"], -torch.sigmoid(logits.detach()) / 3)
    torch.testing.assert_close(grads["non_saturating"], -(1 - torch.sigmoid(logits.detach())) / 3)
    assert grads["saturating"][0].abs() < 1e-30 and grads["non_saturating"][0] == pytest.approx(-1 / 3)
    assert torch.isfinite(gan.generator_loss(logits, "non_saturating"))


def test_minibatch_std_appends_the_batch_spread():
    x = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    out = gan.MinibatchStd()(x)
    expected = (np.std([0, 2, 4], ddof=1) + np.std([1, 1, 4], ddof=1)) / 2
    assert out.shape == (3, 3)
    torch.testing.assert_close(out[:, :2], x)
    np.testing.assert_allclose(out[:, 2].numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"x must be \(N, F\) with N >= 2"):
        gan.MinibatchStd()(x[:1])


def test_networks_count_their_weights_and_minibatch_std_makes_d_see_the_batch(device):
    """Parameter counts from the layer widths by hand, and the one behavioural difference of
    MinibatchStd: a sample's logit depends on the other samples in its batch only with it."""
    torch.manual_seed(0)
    generator = gan.make_generator(latent=3, out_features=2, hidden=5, depth=2).to(device)
    assert sum(p.numel() for p in generator.parameters()) == (3 * 5 + 5) + (5 * 5 + 5) + (5 * 2 + 2)
    assert generator(torch.zeros(4, 3, device=device)).shape == (4, 2)
    plain = gan.make_discriminator(hidden=5, depth=1).to(device)
    with_std = gan.make_discriminator(hidden=5, depth=1, minibatch_std=True).to(device)
    assert sum(p.numel() for p in with_std.parameters()) == (3 * 5 + 5) + (5 + 1)
    x = torch.tensor([[0.5, -1.0], [0.2, 0.1], [0.3, 0.3]], device=device)
    spread = torch.cat([x[:1], 10 * x[1:]])          # row 0 unchanged, the others far apart
    with torch.no_grad():
        torch.testing.assert_close(plain(x)[0], plain(spread)[0])
        moved = (with_std(x)[0] - with_std(spread)[0]).abs().item()
        assert moved > 1e-4
        # the appended feature equals the hand-computed batch spread the layer documents
        std = with_std[0](spread)[:, 2]
        by_hand = spread.double().std(dim=0, unbiased=True).mean().item()
        assert std[0].item() == pytest.approx(by_hand, rel=1e-5)


def test_training_moves_the_generator_onto_the_data(one_torch_thread):
    target = torch.tensor([2.0, -1.0])
    sample = lambda n, g: target + 0.1 * torch.randn(n, 2, generator=g)
    torch.manual_seed(0)
    generator = gan.make_generator()
    with torch.no_grad():
        before = generator(torch.randn(200, 2)).mean(0)
    history = gan.train_gan(generator, gan.make_discriminator(), sample, steps=400,
                            snapshot_every=100, snapshot_size=200, seed=0)
    assert history["steps"] == [100, 200, 300, 400] and len(history["d_loss"]) == 400
    last = history["snapshots"][-1]
    assert last.shape == (200, 2)
    assert (last.mean(0) - target).norm() < 0.3 < 2.0 < (before - target).norm()


def test_generator_gradient_norm_matches_backward():
    torch.manual_seed(0)
    generator, discriminator = gan.make_generator(), gan.make_discriminator()
    codes = torch.randn(16, 2)
    for kind in gan.GENERATOR_LOSSES:
        generator.zero_grad()
        gan.generator_loss(discriminator(generator(codes)), kind).backward()
        expected = torch.sqrt(sum(p.grad.pow(2).sum() for p in generator.parameters())).item()
        assert gan.generator_gradient_norm(generator, discriminator, codes, kind) == pytest.approx(expected, rel=1e-5)


def test_a_stronger_discriminator_starves_only_the_saturating_loss(one_torch_thread):
    sample = lambda n, g: 2 + 0.05 * torch.randn(n, 2, generator=g)
    torch.manual_seed(0)
    rows = gan.strong_discriminator_gradients(gan.make_generator(), gan.make_discriminator(), sample,
                                              steps=200, every=100)
    assert [r["step"] for r in rows] == [0, 100, 200]
    assert rows[-1]["mean D(G(z))"] < 0.05 < rows[0]["mean D(G(z))"]
    ratio = [r["saturating"] / r["non_saturating"] for r in rows]
    assert ratio[-1] < 0.05 and ratio[-1] < ratio[0] / 10


@pytest.mark.parametrize("call, match", [
    (lambda: gan.generator_loss(torch.zeros(2), "minimax"), "kind must be one of"),
    (lambda: gan.generator_loss(torch.zeros(0)), "fake_logits must be a non-empty tensor"),
    (lambda: gan.discriminator_loss(torch.zeros(0), torch.zeros(2)), "real_logits must be a non-empty"),
    (lambda: gan.train_gan(gan.make_generator(), gan.make_discriminator(), None, steps=0), "steps must be"),
    (lambda: gan.train_gan(gan.make_generator(), gan.make_discriminator(), None, lr_g=0.0), "lr_g must be"),
    (lambda: gan.make_generator(depth=0), "depth must be an integer >= 1"),
    (lambda: gan.make_discriminator(depth=0), "depth must be an integer >= 1"),
    (lambda: gan.train_gan(gan.make_generator(), gan.make_discriminator(), None, snapshot_every=0),
     "snapshot_every must be an integer >= 1"),
    (lambda: gan.train_gan(gan.make_generator(), gan.make_discriminator(), None, batch=1), "batch must be"),
    (lambda: gan.train_gan(gan.make_generator(), gan.make_discriminator(), None, kind="wasserstein"),
     "kind must be one of"),
    (lambda: gan.strong_discriminator_gradients(gan.make_generator(), gan.make_discriminator(), None, every=0),
     "every must be an integer >= 1"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
