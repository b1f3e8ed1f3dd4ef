"""CycleGAN in miniature (chapter 09): two small convolutional translators between image
domains A and B, two discriminators, and the cycle-consistency loss.

Images are (N, 1, H, W) in [0, 1]. Without the cycle loss each translator only has to produce
images that *look like* the other domain; with it, A -> B -> A must give the input back.
"""
from __future__ import annotations

import torch
from torch import nn

from ..networks import make_mlp
from ..validate import check_int, check_positive
from .gan import discriminator_loss, generator_loss


class ConvTranslator(nn.Module):
    """Three same-size convolutions (``kernel`` x ``kernel``, ReLU between) and a sigmoid.

    x: (N, 1, H, W) -> (N, 1, H, W) in [0, 1]. Each output pixel sees a window of
    3 * (kernel - 1) + 1 input pixels: the translator is local.
    """

    def __init__(self, channels: int = 8, kernel: int = 5) -> None:
        super().__init__()
        channels, kernel = check_int(channels, "channels", 1), check_int(kernel, "kernel", 1)
        if kernel % 2 == 0:
            raise ValueError(f"kernel must be odd (same-size output), got {kernel}")
        pad = kernel // 2
        self.net = nn.Sequential(nn.Conv2d(1, channels, kernel, padding=pad), nn.ReLU(),
                                 nn.Conv2d(channels, channels, kernel, padding=pad), nn.ReLU(),
                                 nn.Conv2d(channels, 1, kernel, padding=pad))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"x must be (N, 1, H, W), got {tuple(x.shape)}")
        return torch.sigmoid(self.net(x))


def image_discriminator(pixels: int = 64, hidden: int = 64) -> nn.Sequential:
    """x: (N, 1, H, W) with H * W = ``pixels`` -> logits (N, 1): flatten, one hidden layer."""
    return nn.Sequential(nn.Flatten(), *make_mlp(pixels, [hidden], 1))


def cycle_loss(x: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between images and their round trips (any equal shapes)."""
    if x.shape != reconstructed.shape:
        raise ValueError(f"reconstructed must have x's shape {tuple(x.shape)}, got "
                         f"{tuple(reconstructed.shape)}")
    return (x - reconstructed).abs().mean()


def train_cyclegan(domain_a: torch.Tensor, domain_b: torch.Tensor, *, cycle_weight: float = 10.0,
                   steps: int = 500, lr: float = 2e-3, batch: int = 64, channels: int = 8,
                   kernel: int = 5, seed: int = 0
                   ) -> tuple[ConvTranslator, ConvTranslator, dict[str, list[float]]]:
    """Train translators a_to_b and b_to_a on *unpaired* batches of ``domain_a: (Na, 1, H, W)``
    and ``domain_b: (Nb, 1, H, W)``.

    Translators are ``ConvTranslator(channels, kernel)``. Each step: the translators minimise
    the non-saturating GAN loss against both discriminators plus ``cycle_weight`` times the
    cycle loss of both round trips; then the discriminators take one step (Adam, betas
    (0.5, 0.999)). ``cycle_weight=0`` is the ablation. Returns (a_to_b, b_to_a, history with per-step "adversarial" and "cycle").
    """
    if domain_a.ndim != 4 or domain_b.ndim != 4 or domain_a.shape[1:] != domain_b.shape[1:]:
        raise ValueError(f"domain_a and domain_b must be (N, 1, H, W) with the same image size, "
                         f"got {tuple(domain_a.shape)} and {tuple(domain_b.shape)}")
    cycle_weight = check_positive(cycle_weight, "cycle_weight", allow_zero=True)
    steps, batch = check_int(steps, "steps", 1), check_int(batch, "batch", 1)
    lr = check_positive(lr, "lr")
    torch.manual_seed(check_int(seed, "seed", 0))
    rng = torch.Generator().manual_seed(seed)
    a_to_b, b_to_a = ConvTranslator(channels, kernel), ConvTranslator(channels, kernel)
    pixels = domain_a[0].numel()
    d_a, d_b = image_discriminator(pixels), image_discriminator(pixels)
    opt_g = torch.optim.Adam([*a_to_b.parameters(), *b_to_a.parameters()], lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], lr, betas=(0.5, 0.999))
    history: dict[str, list[float]] = {"adversarial": [], "cycle": []}
    for _ in range(steps):
        a = domain_a[torch.randint(0, len(domain_a), (batch,), generator=rng)]
        b = domain_b[torch.randint(0, len(domain_b), (batch,), generator=rng)]
        fake_b, fake_a = a_to_b(a), b_to_a(b)
        adversarial = generator_loss(d_b(fake_b)) + generator_loss(d_a(fake_a))
        cycle = cycle_loss(a, b_to_a(fake_b)) + cycle_loss(b, a_to_b(fake_a))
        opt_g.zero_grad(set_to_none=True)
        (adversarial + cycle_weight * cycle).backward()
        opt_g.step()
        d_loss = (discriminator_loss(d_b(b), d_b(fake_b.detach()))
                  + discriminator_loss(d_a(a), d_a(fake_a.detach())))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        history["adversarial"].append(adversarial.item())
        history["cycle"].append(cycle.item())
    return a_to_b.eval(), b_to_a.eval(), history
