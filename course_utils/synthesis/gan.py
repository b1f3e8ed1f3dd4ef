"""GANs for chapter 09: the losses, small MLP generators and discriminators, the alternating
training loop with snapshots, and the gradient a too-strong discriminator leaves the generator.

A discriminator outputs a logit l; D = sigmoid(l) is its probability that a sample is real.
With softplus(t) = log(1 + e^t): -log D = softplus(-l) and -log(1 - D) = softplus(l).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..networks import make_mlp
from ..train import fit_steps
from ..validate import check_choice, check_int, check_positive

GENERATOR_LOSSES = ("saturating", "non_saturating")
Sampler = Callable[[int, torch.Generator], torch.Tensor]


def _check_logits(logits: torch.Tensor, name: str) -> None:
    if not isinstance(logits, torch.Tensor) or logits.numel() == 0:
        raise ValueError(f"{name} must be a non-empty tensor of logits, got {logits!r}")


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's side of the minimax game, to minimise:
    mean(-log D(x)) + mean(-log(1 - D(G(z)))), from logits of any shape."""
    _check_logits(real_logits, "real_logits")
    _check_logits(fake_logits, "fake_logits")
    return nn.functional.softplus(-real_logits).mean() + nn.functional.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """The generator's loss, to minimise, from the discriminator's logits on fakes.

    ``"saturating"``: mean(log(1 - D(G(z)))) = -mean(softplus(l)), the minimax game as written;
    its gradient vanishes when D confidently rejects the fakes (l very negative).
    ``"non_saturating"``: mean(-log D(G(z))) = mean(softplus(-l)), strongest exactly then.
    """
    check_choice(kind, "kind", GENERATOR_LOSSES)
    _check_logits(fake_logits, "fake_logits")
    if kind == "saturating":
        return -nn.functional.softplus(fake_logits).mean()
    return nn.functional.softplus(-fake_logits).mean()


class MinibatchStd(nn.Module):
    """Append one feature to every sample: the batch's standard deviation, averaged over
    features. x: (N, F) -> (N, F + 1). A discriminator that sees it can tell a collapsed
    batch (all fakes alike: small spread) from a real one, so collapsing stops paying."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"x must be (N, F) with N >= 2, got {tuple(x.shape)}")
        spread = x.std(dim=0).mean().expand(len(x), 1)
        return torch.cat([x, spread], dim=1)


def make_generator(latent: int = 2, out_features: int = 2, hidden: int = 64, depth: int = 2
                   ) -> nn.Sequential:
    """G: z (N, latent) -> samples (N, out_features); ``depth`` ReLU layers of width ``hidden``."""
    depth = check_int(depth, "depth", 1)
    return make_mlp(latent, [hidden] * depth, out_features)


def make_discriminator(in_features: int = 2, hidden: int = 64, depth: int = 2,
                       minibatch_std: bool = False) -> nn.Sequential:
    """D: x (N, in_features) -> logits (N, 1); with ``minibatch_std`` a ``MinibatchStd`` layer
    first (it needs whole batches, never single samples)."""
    depth = check_int(depth, "depth", 1)
    mlp = make_mlp(in_features + int(minibatch_std), [hidden] * depth, 1)
    return nn.Sequential(MinibatchStd(), *mlp) if minibatch_std else mlp


def train_gan(generator: nn.Module, discriminator: nn.Module, sample_real: Sampler, *,
              steps: int = 1500, lr_g: float = 1e-3, lr_d: float = 1e-3, batch: int = 128,
              latent: int = 2, kind: str = "non_saturating", snapshot_every: int = 150,
              snapshot_size: int = 1000, seed: int = 0) -> dict:
    """Alternate one discriminator step and one generator step (Adam, betas (0.5, 0.999)).

    ``sample_real(n, generator)`` returns n real samples (n, F). Every ``snapshot_every`` steps
    the generator's output on a fixed batch of ``snapshot_size`` codes is saved.
    Returns {"steps": [...], "snapshots": [(snapshot_size, F) tensors], "d_loss": [...],
    "g_loss": [...]} (losses per step).
    """
    steps, batch = check_int(steps, "steps", 1), check_int(batch, "batch", 2)
    snapshot_every = check_int(snapshot_every, "snapshot_every", 1)
    lr_g, lr_d = check_positive(lr_g, "lr_g"), check_positive(lr_d, "lr_d")
    check_choice(kind, "kind", GENERATOR_LOSSES)
    rng = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    fixed_codes = torch.randn(check_int(snapshot_size, "snapshot_size", 1), latent, generator=rng)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr_g, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=(0.5, 0.999))
    history: dict = {"steps": [], "snapshots": [], "d_loss": [], "g_loss": []}
    for step in range(1, steps + 1):
        fake = generator(torch.randn(batch, latent, generator=rng)).detach()
        d_loss = discriminator_loss(discriminator(sample_real(batch, rng)), discriminator(fake))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = generator_loss(discriminator(generator(torch.randn(batch, latent, generator=rng))),
                                kind)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        history["d_loss"].append(d_loss.item())
        history["g_loss"].append(g_loss.item())
        if step % snapshot_every == 0 or step == steps:
            with torch.no_grad():
                history["snapshots"].append(generator(fixed_codes).clone())
            history["steps"].append(step)
    return history


def generator_gradient_norm(generator: nn.Module, discriminator: nn.Module, codes: torch.Tensor,
                            kind: str) -> float:
    """L2 norm of d(generator_loss)/d(generator parameters) on the batch ``codes: (N, latent)``."""
    parameters = [p for p in generator.parameters() if p.requires_grad]
    loss = generator_loss(discriminator(generator(codes)), kind)
    grads = torch.autograd.grad(loss, parameters)
    return float(torch.sqrt(sum(g.pow(2).sum() for g in grads)))


def strong_discriminator_gradients(generator: nn.Module, discriminator: nn.Module,
                                   sample_real: Sampler, *, steps: int = 300, every: int = 50,
                                   lr: float = 1e-3, batch: int = 128, latent: int = 2,
                                   seed: int = 0) -> list[dict[str, float]]:
    """Train only the discriminator against a frozen generator and, every ``every`` steps,
    measure what each generator loss would give the generator.

    Returns rows {"step", "mean D(G(z))", "saturating", "non_saturating"} (the last two: the
    generator's gradient norm), starting with step 0 (before any training).
    """
    every = check_int(every, "every", 1)
    rng = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    probe = torch.randn(512, latent, generator=rng)
    rows: list[dict[str, float]] = []

    def measure(step: int) -> None:
        with torch.no_grad():
            realness = torch.sigmoid(discriminator(generator(probe))).mean().item()
        rows.append({"step": step, "mean D(G(z))": realness,
                     **{kind: generator_gradient_norm(generator, discriminator, probe, kind)
                        for kind in GENERATOR_LOSSES}})

    done = [0]   # discriminator steps taken so far (batch_loss runs once at the start of each)

    def batch_loss(g: torch.Generator) -> torch.Tensor:
        if done[0] % every == 0:
            measure(done[0])
        done[0] += 1
        with torch.no_grad():
            fake = generator(torch.randn(batch, latent, generator=g))
        return discriminator_loss(discriminator(sample_real(batch, g)), discriminator(fake))

    fit_steps(discriminator, batch_loss, steps, lr, seed)
    measure(steps)
    return rows
