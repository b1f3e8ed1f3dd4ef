"""Plain deep CNN vs residual CNN of the same depth, built from the same blocks.

A block computes ``F(x) = conv(relu(norm(conv(relu(norm(x))))))`` (pre-activation order) and
returns ``x + F(x)`` when ``residual=True`` or just ``F(x)`` when ``residual=False``. The
shortcut adds no parameters, so the two networks have identical parameter counts and depth;
only the path the signal (and its gradient) can take differs.
"""
from __future__ import annotations

import torch
from torch import nn

from .validate import check_int


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return value


class Block(nn.Module):
    """Two 3x3 convolutions with an optional identity shortcut.

    x: (N, C, H, W) -> (N, C, H, W). ``norm=True`` puts a BatchNorm2d before each ReLU.
    With ``residual=True`` and the last convolution's weight and bias at zero, the block is
    exactly the identity, which is what makes "do nothing" easy for a deep residual net.
    """

    def __init__(self, channels: int, residual: bool = True, norm: bool = False):
        super().__init__()
        channels = check_int(channels, "channels", 1)
        self.residual = _check_bool(residual, "residual")
        _check_bool(norm, "norm")
        self.norm1 = nn.BatchNorm2d(channels) if norm else nn.Identity()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.norm2 = nn.BatchNorm2d(channels) if norm else nn.Identity()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(torch.relu(self.norm1(x)))
        out = self.conv2(torch.relu(self.norm2(out)))
        return x + out if self.residual else out


class DeepCNN(nn.Module):
    """Stem convolution, ``num_blocks`` blocks (2 convolutions each), global average pool and
    a linear classifier: ``1 + 2 * num_blocks`` convolution layers in all.

    x: (N, in_channels, H, W) -> logits (N, num_classes). The ``residual`` switch only turns
    the identity shortcuts on or off; weights, depth and parameter count are the same.
    """

    def __init__(self, num_blocks: int = 10, channels: int = 16, in_channels: int = 1,
                 num_classes: int = 10, residual: bool = True, norm: bool = False):
        super().__init__()
        num_blocks = check_int(num_blocks, "num_blocks", 0)
        channels = check_int(channels, "channels", 1)
        in_channels = check_int(in_channels, "in_channels", 1)
        num_classes = check_int(num_classes, "num_classes", 2)
        self.residual = _check_bool(residual, "residual")
        self.stem = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.blocks = nn.Sequential(*(Block(channels, residual, norm) for _ in range(num_blocks)))
        self.norm = nn.BatchNorm2d(channels) if norm else nn.Identity()
        self.head = nn.Linear(channels, num_classes)

    @property
    def num_conv_layers(self) -> int:
        """Number of convolution layers (the depth that the comparison keeps equal)."""
        return sum(isinstance(m, nn.Conv2d) for m in self.modules())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 4:
            raise ValueError(f"x must be a (N, C, H, W) tensor, got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x)}")
        if x.shape[1] != self.stem.in_channels:
            raise ValueError(f"x must have {self.stem.in_channels} channels, got shape "
                             f"{tuple(x.shape)}")
        features = torch.relu(self.norm(self.blocks(self.stem(x))))
        return self.head(features.mean(dim=(2, 3)))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def activation_scales(model: DeepCNN, x: torch.Tensor) -> list[float]:
    """How much the features still differ between images, after the stem and each block.

    x: (N, C, H, W) with N >= 2. For each stage the standard deviation over the batch is
    taken per feature (channel, pixel) and averaged: a feature that is the same for every
    input (e.g. only a bias) scores 0. Returns ``num_blocks + 1`` floats; in a plain net
    without normalization they shrink block by block.
    """
    if not isinstance(model, DeepCNN):
        raise TypeError(f"model must be a DeepCNN, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or len(x) < 2:
        raise ValueError(f"x must be an (N, C, H, W) tensor with N >= 2, got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x)}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    h = model.stem(x.to(device))
    scales = [float(h.std(dim=0).mean())]
    for block in model.blocks:
        h = block(h)
        scales.append(float(h.std(dim=0).mean()))
    model.train(was_training)
    return scales
