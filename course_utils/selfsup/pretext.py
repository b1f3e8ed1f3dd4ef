"""Pretext tasks: labels made from the images themselves.

- context prediction: where does patch B sit relative to patch A (8 neighbours of a 3 x 3 grid)?
- counting: the features of the four tiles must add up to the features of the whole image;
- reconstruction: an autoencoder (trained by ``train.fit_autoencoder``, mean squared error).
Plus a planted shortcut for the first one: a position-dependent colour cast that makes the
patch position readable from colour alone, and the grey conversion that removes it.
Images are (N, C, H, W) in [0, 1].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..logistic import fit_logistic_model
from ..networks import ConvEncoder
from ..train import fit_steps
from ..validate import check_int, check_positive, check_real
from .evaluation import probe_encoder

# (row, column) offset of the second patch for each of the 8 context classes
NEIGHBOURS: tuple[tuple[int, int], ...] = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1),
                                           (1, -1), (1, 0), (1, 1))


def _check_images(images: torch.Tensor, name: str = "images") -> None:
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"{name} must be an (N, C, H, W) tensor, got {tuple(getattr(images, 'shape', ()))}")


def colour_cast(images: torch.Tensor, strength: float) -> torch.Tensor:
    """A planted stand-in for chromatic aberration: red grows to the right, green downwards,
    blue falls by their sum, so the cast encodes position but every pixel keeps its channel
    mean (grey value). images: (N, 3, H, W) -> same shape (not clipped)."""
    _check_images(images)
    if images.shape[1] != 3:
        raise ValueError(f"images must have 3 colour channels, got shape {tuple(images.shape)}")
    strength = check_real(strength, "strength")
    height, width = images.shape[2:]
    v = torch.linspace(-1, 1, height, device=images.device)[:, None].expand(height, width)
    u = torch.linspace(-1, 1, width, device=images.device)[None, :].expand(height, width)
    cast = strength * torch.stack([u, v, -(u + v)])
    return images + cast.to(images.dtype)


def to_grey(images: torch.Tensor) -> torch.Tensor:
    """Replace every channel by the channel mean: (N, C, H, W) -> same shape."""
    _check_images(images)
    return images.mean(dim=1, keepdim=True).expand_as(images).contiguous()


def context_pairs(images: torch.Tensor, patch: int, gap: int, generator: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cut a 3 x 3 grid of ``patch``-pixel cells with ``gap`` pixels between them from the
    top-left of each image; return the centre patch, one random neighbour and its class
    (index into NEIGHBOURS): (N, C, p, p), (N, C, p, p), (N,)."""
    _check_images(images)
    patch, gap = check_int(patch, "patch", 1), check_int(gap, "gap", 0)
    if 3 * patch + 2 * gap > min(images.shape[2:]):
        raise ValueError(f"a 3 x 3 grid of {patch}-pixel patches with gap {gap} needs "
                         f"{3 * patch + 2 * gap} pixels, the images are {tuple(images.shape[2:])}")
    step = patch + gap
    labels = torch.randint(0, 8, (len(images),), generator=generator)
    offsets = torch.tensor(NEIGHBOURS)[labels]
    centre = images[:, :, step:step + patch, step:step + patch]
    rows, cols = (1 + offsets[:, 0]) * step, (1 + offsets[:, 1]) * step
    neighbour = torch.stack([images[i, :, r:r + patch, c:c + patch]
                             for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist()))])
    return centre, neighbour, labels.to(images.device)


class ContextNet(nn.Module):
    """A shared patch encoder for both patches, their features concatenated, an MLP to 8
    relative positions: (N, C, p, p) x 2 -> logits (N, 8)."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        features = encoder.out_features
        self.head = nn.Sequential(nn.Linear(2 * features, 64), nn.ReLU(), nn.Linear(64, 8))

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.encoder(first), self.encoder(second)], dim=1))


def train_context(model: ContextNet, images: torch.Tensor, steps: int = 300, batch: int = 128,
                  patch: int = 7, gap: int = 1, lr: float = 3e-3, grey: bool = False,
                  seed: int = 0) -> list[float]:
    """Adam on the 8-way relative-position cross-entropy, fresh pairs every step. With
    ``grey`` the patches are converted by ``to_grey`` first. Returns the loss per step."""
    batch = check_int(batch, "batch", 1)

    def batch_loss(generator):
        idx = torch.randint(0, len(images), (batch,), generator=generator)
        first, second, labels = context_pairs(images[idx], patch, gap, generator)
        if grey:
            first, second = to_grey(first), to_grey(second)
        return F.cross_entropy(model(first, second), labels)

    return fit_steps(model, batch_loss, check_int(steps, "steps", 1), check_positive(lr, "lr"), seed)


@torch.no_grad()
def context_accuracy(model: ContextNet, images: torch.Tensor, patch: int = 7, gap: int = 1,
                     grey: bool = False, seed: int = 0) -> float:
    """Share of held-out pairs whose relative position the model gets right (chance 1/8)."""
    model.eval()
    first, second, labels = context_pairs(images, patch, gap, torch.Generator().manual_seed(seed))
    if grey:
        first, second = to_grey(first), to_grey(second)
    return (model(first, second).argmax(1) == labels).float().mean().item()


SHORTCUT_ARMS = ("clean", "colour cast", "grey patches")


def shortcut_arm(config: dict, seeds, train_images: torch.Tensor, train_labels: torch.Tensor,
                 test_images: torch.Tensor, test_labels: torch.Tensor) -> dict[str, list[float]]:
    """One arm of the colour-cast experiment (for ``evidence.compare.Comparison.run``): for
    every seed, a ``ContextNet`` with a ``ConvEncoder`` initialised from torch seed ``seed``,
    trained by ``train_context`` (``config["steps"]``, ``config["batch"]``, batches drawn with
    ``seed``) on the images ``config["training images"]`` names:

    - "clean": the images as they are;
    - "colour cast": ``colour_cast(images, config["strength"])``;
    - "grey patches": the cast images, every patch turned grey before the network sees it.

    Returns per seed the pretext accuracy on the test images of the same kind (the same
    held-out pairs for every arm) and the linear probe with ``config["per_class"]`` labels per
    class, fitted and tested on that arm's kind of images (grey for the grey arm)."""
    kind = config["training images"]
    if kind not in SHORTCUT_ARMS:
        raise ValueError(f"config['training images'] must be one of {SHORTCUT_ARMS}, got {kind!r}")
    strength = check_real(config["strength"], "config['strength']")
    cast = kind != "clean"
    train = colour_cast(train_images, strength) if cast else train_images
    test = colour_cast(test_images, strength) if cast else test_images
    grey = kind == "grey patches"
    probe_train, probe_test = (to_grey(train), to_grey(test)) if grey else (train, test)
    scores: dict[str, list[float]] = {"pretext accuracy": [], "probe": []}
    for seed in seeds:
        torch.manual_seed(seed)
        net = ContextNet(ConvEncoder())
        train_context(net, train, steps=config["steps"], batch=config["batch"], grey=grey,
                      seed=seed)
        scores["pretext accuracy"].append(context_accuracy(net, test, grey=grey))
        scores["probe"].append(probe_encoder(net.encoder, probe_train, train_labels, probe_test,
                                             test_labels, per_class=config["per_class"]))
    return scores


def tiles(images: torch.Tensor) -> torch.Tensor:
    """The four quadrants of each image: (N, C, H, W) -> (4, N, C, H/2, W/2)."""
    _check_images(images)
    height, width = images.shape[2] // 2 * 2, images.shape[3] // 2 * 2
    h, w = height // 2, width // 2
    return torch.stack([images[:, :, r:r + h, c:c + w] for r in (0, h) for c in (0, w)])


def counting_terms(encoder: nn.Module, images: torch.Tensor, others: torch.Tensor,
                   margin: float = 10.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The two terms of the counting loss, batch means:
    equality = |phi(down(x)) - sum_j phi(tile_j(x))|^2 and
    contrast = max(0, margin - |phi(down(y)) - sum_j phi(tile_j(x))|^2) for another image y.
    ``down`` halves the resolution (area averaging) so the whole image matches a tile's size."""
    _check_images(images)
    _check_images(others, "others")
    if images.shape != others.shape:
        raise ValueError(f"others must have the shape of images {tuple(images.shape)}, got "
                         f"{tuple(others.shape)}")
    parts = tiles(images)
    tile_sum = encoder(parts.flatten(0, 1)).reshape(4, len(images), -1).sum(dim=0)
    size = parts.shape[-2:]
    whole = encoder(F.adaptive_avg_pool2d(images, size))
    other = encoder(F.adaptive_avg_pool2d(others, size))
    equality = ((whole - tile_sum) ** 2).sum(dim=1).mean()
    contrast = F.relu(check_positive(margin, "margin") - ((other - tile_sum) ** 2).sum(dim=1)).mean()
    return equality, contrast


def train_counting(encoder: nn.Module, images: torch.Tensor, steps: int = 200, batch: int = 64,
                   margin: float = 10.0, contrast: bool = True, lr: float = 1e-3, seed: int = 0
                   ) -> dict[str, list[float]]:
    """Adam on equality (+ contrast, unless ``contrast=False``); the other image y of each
    example is the next image of the batch. Returns both terms and the mean norm of the
    whole-image features per step."""
    batch = check_int(batch, "batch", 2)
    history = {"equality": [], "contrast": [], "feature_norm": []}

    def batch_loss(generator):
        x = images[torch.randint(0, len(images), (batch,), generator=generator)]
        equality, contrast_term = counting_terms(encoder, x, x.roll(1, dims=0), margin)
        history["equality"].append(equality.item())
        history["contrast"].append(contrast_term.item())
        with torch.no_grad():
            whole = encoder(F.adaptive_avg_pool2d(x, tiles(x).shape[-2:]))
        history["feature_norm"].append(whole.norm(dim=1).mean().item())
        return equality + contrast_term if contrast else equality

    fit_steps(encoder, batch_loss, check_int(steps, "steps", 1), check_positive(lr, "lr"), seed)
    return history


class ConvAutoencoder(nn.Module):
    """Encoder (any module with ``out_features``) to a code, a decoder back to the image:
    code -> linear -> (64, S/4, S/4) -> two stride-2 transposed convolutions -> (C, S, S)."""

    def __init__(self, encoder: nn.Module, channels: int = 3, size: int = 24):
        super().__init__()
        self.encoder, self.size = encoder, check_int(size, "size", 4)
        if size % 4:
            raise ValueError(f"size must be a multiple of 4, got {size}")
        self.expand = nn.Linear(encoder.out_features, 64 * (size // 4) ** 2)
        self.decode = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),
                                    nn.ReLU(), nn.ConvTranspose2d(32, check_int(channels, "channels", 1), 4,
                                                                  stride=2, padding=1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        code = self.expand(self.encoder(x)).reshape(len(x), 64, self.size // 4, self.size // 4)
        return self.decode(code)


def position_from_colour(images: torch.Tensor, strength: float, patch: int = 7, gap: int = 1) -> float:
    """How much the colour cast gives away: cut the 3 x 3 grid from ``colour_cast(images,
    strength)``, describe every patch by its mean colour only (3 numbers), and fit a logistic
    regression from colour to the patch's grid cell on the first half of the images; return
    its accuracy on the second half (chance 1/9)."""
    _check_images(images)
    if len(images) < 2:
        raise ValueError("images must hold at least 2 images (half to fit, half to test)")
    cast = colour_cast(images, strength)
    step = patch + gap
    colours = torch.stack([cast[:, :, r * step:r * step + patch, c * step:c * step + patch].mean(dim=(2, 3))
                           for r in range(3) for c in range(3)], dim=1)       # (N, 9, 3)
    cells = torch.arange(9).expand(len(images), 9)
    half = len(images) // 2
    model = fit_logistic_model(colours[:half].reshape(-1, 3), cells[:half].reshape(-1), standardise=True,
                               classes=9, max_iter=100)
    return model.accuracy(colours[half:].reshape(-1, 3), cells[half:].reshape(-1))
