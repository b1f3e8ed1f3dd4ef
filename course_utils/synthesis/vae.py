"""Autoencoders for chapter 09: the plain one, the VAE, and the pieces of the ELBO.

Both map a small grey image ``x: (N, 1, H, W)`` in [0, 1] through an MLP encoder to a code of
``latent`` numbers and back through an MLP decoder to per-pixel logits. The plain autoencoder's
code is a point; the VAE's encoder gives a Gaussian ``N(mu, diag exp(logvar))`` and the
decoder sees a reparameterised sample of it. Both are trained by ``train.fit_autoencoder``
on the terms of ``elbo`` (weights {"kl": beta}).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..networks import make_mlp
from ..validate import check_int
from .generative import gaussian_kl, reparameterize


class Autoencoder(nn.Module):
    """MLP autoencoder (``variational=False``) or VAE (``variational=True``).

    x: (N, 1, H, W) with H * W = ``pixels``. ``encode(x)`` -> (mu, logvar), each (N, latent)
    (logvar is None for the plain autoencoder); ``decode(z: (N, latent))`` -> images
    (N, 1, H, W) in [0, 1]; ``decode_logits`` the same before the sigmoid, flattened (N, pixels).
    """

    def __init__(self, latent: int = 8, hidden: int = 128, pixels: int = 64,
                 variational: bool = True) -> None:
        super().__init__()
        self.latent = check_int(latent, "latent", 1)
        self.pixels = check_int(pixels, "pixels", 1)
        self.variational = bool(variational)
        hidden = check_int(hidden, "hidden", 1)
        self.encoder = make_mlp(self.pixels, [hidden], self.latent * (2 if variational else 1))
        self.decoder = make_mlp(self.latent, [hidden], self.pixels)

    def _flat(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x[0].numel() != self.pixels:
            raise ValueError(f"x must be (N, C, H, W) with C * H * W = {self.pixels}, got "
                             f"{tuple(x.shape)}")
        return x.flatten(1)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.encoder(self._flat(x))
        if self.variational:
            mu, logvar = h.chunk(2, dim=1)
            return mu, logvar
        return h, None

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent:
            raise ValueError(f"z must be (N, {self.latent}), got {tuple(z.shape)}")
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        side = int(round(self.pixels ** 0.5))
        return torch.sigmoid(self.decode_logits(z)).reshape(len(z), 1, side, side)


def elbo_terms(model: Autoencoder, x: torch.Tensor, generator: torch.Generator | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of the negative ELBO, per image: x: (N, 1, H, W) -> two (N,) tensors.

    reconstruction: binary cross-entropy between x and the decoded logits, summed over pixels
    (the VAE decodes a reparameterised sample, the plain autoencoder its code);
    kl: ``gaussian_kl(mu, logvar)`` (zeros for the plain autoencoder).
    ELBO = -(reconstruction + kl); training minimises reconstruction + beta * kl.
    """
    mu, logvar = model.encode(x)
    if model.variational:
        z, kl = reparameterize(mu, logvar, generator), gaussian_kl(mu, logvar)
    else:
        z, kl = mu, torch.zeros(len(x), dtype=x.dtype, device=x.device)
    reconstruction = F.binary_cross_entropy_with_logits(model.decode_logits(z), x.flatten(1),
                                                        reduction="none").sum(dim=1)
    return reconstruction, kl


def elbo(model: Autoencoder, x: torch.Tensor, generator: torch.Generator | None = None
         ) -> dict[str, torch.Tensor]:
    """``elbo_terms`` by name, the loss terms ``train.fit_autoencoder`` takes:
    {"reconstruction": (N,), "kl": (N,)}. Training the VAE with weights {"kl": beta} minimises
    mean(reconstruction + beta * kl)."""
    reconstruction, kl = elbo_terms(model, x, generator)
    return {"reconstruction": reconstruction, "kl": kl}


@torch.no_grad()
def interpolate(model: Autoencoder, start: torch.Tensor, end: torch.Tensor, steps: int = 8
                ) -> torch.Tensor:
    """Decode evenly spaced points on the segment between the codes (means) of two images.

    start, end: (1, H, W) images -> (steps, 1, H, W), first and last decode the two codes.
    """
    steps = check_int(steps, "steps", 2)
    codes, _ = model.encode(torch.stack([start, end]))
    t = torch.linspace(0, 1, steps, dtype=codes.dtype)[:, None]
    return model.decode((1 - t) * codes[:1] + t * codes[1:])


@torch.no_grad()
def sample_prior(model: Autoencoder, n: int, seed: int = 0) -> torch.Tensor:
    """Decode ``n`` codes z ~ N(0, I): (n, 1, H, W). For a VAE this is how it generates; for a
    plain autoencoder the prior is a guess its training never asked it to honour."""
    n = check_int(n, "n", 1)
    z = torch.randn(n, model.latent, generator=torch.Generator().manual_seed(check_int(seed, "seed", 0)))
    return model.decode(z)
