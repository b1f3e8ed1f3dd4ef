"""The small torch models that several chapters train: configurable MLPs (chapters 03 and 09),
the digits CNN (03, 09), the audited ``SmallCNN`` (07, 10, 11) and the pooled ``ConvEncoder``
(08).

Chapter 03's numpy models live in :mod:`course_utils.learning.numpy_models`, its experiments on
these networks in :mod:`course_utils.learning.diagnostics`. (Named ``networks`` so that it never
shadows ``torch.nn``.)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from .validate import check_choice, check_int

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


# ---- torch MLPs: depth, width, activations -------------------------------------------------
def make_mlp(in_features: int, hidden: Sequence[int], out_features: int,
             activation: str = "relu", init: str = "default") -> nn.Sequential:
    """Linear -> activation for each hidden width, then a final Linear.

    init: "default" (torch's), "he" (Kaiming normal weights, zero biases) or "negative_bias"
    (He weights, biases -1: a bad initialisation that leaves many ReLUs dead from the start).
    """
    in_features = check_int(in_features, "in_features", 1)
    out_features = check_int(out_features, "out_features", 1)
    check_choice(activation, "activation", tuple(ACTIVATIONS))
    check_choice(init, "init", ("default", "he", "negative_bias"))
    if (isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__len__") or len(hidden) == 0
            or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1
                   for h in hidden)):
        raise ValueError(f"hidden must be a non-empty list of positive widths, got {hidden!r}")
    modules: list[nn.Module] = []
    width = in_features
    for h in hidden:
        linear = nn.Linear(width, int(h))
        if init != "default":
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            nn.init.constant_(linear.bias, -1.0 if init == "negative_bias" else 0.0)
        modules += [linear, ACTIVATIONS[activation]()]
        width = int(h)
    modules.append(nn.Linear(width, out_features))
    return nn.Sequential(*modules)


# ---- the digits CNN -------------------------------------------------------------------------
class DigitsCNN(nn.Module):
    """conv5x5 -> ReLU -> maxpool2 -> conv3x3 -> ReLU -> maxpool2 -> linear, for 8x8 digits.

    x: (N, 1, 8, 8) -> logits: (N, 10). ``conv1.weight``: (channels[0], 1, 5, 5).
    """

    def __init__(self, channels: tuple[int, int] = (8, 16), num_classes: int = 10) -> None:
        super().__init__()
        if not isinstance(channels, (tuple, list)) or len(channels) != 2:
            raise ValueError(f"channels must be two positive integers, got {channels!r}")
        c1, c2 = (check_int(c, "channels", 1) for c in channels)
        num_classes = check_int(num_classes, "num_classes", 1)
        self.conv1 = nn.Conv2d(1, c1, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(c2 * 2 * 2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1:] != (1, 8, 8):
            raise ValueError(f"x must have shape (N, 1, 8, 8), got {tuple(x.shape)}")
        x = self.pool(torch.relu(self.conv1(x)))     # (N, c1, 4, 4)
        x = self.pool(torch.relu(self.conv2(x)))     # (N, c2, 2, 2)
        return self.head(x.flatten(1))


class SmallCNN(nn.Module):
    """conv3x3(16) -> ReLU -> maxpool2 -> conv3x3(32) -> ReLU -> maxpool2 -> linear(64) -> ReLU
    -> linear, built from modules (nn.ReLU layers, as attribution methods such as guided
    backprop expect).

    x: (N, C, S, S) -> logits (N, classes); ``embed(x)``: the 64 penultimate features (N, 64).
    ``layers`` names the stages whose outputs later chapters inspect: conv1, conv2, embedding.
    """

    def __init__(self, in_channels: int = 1, size: int = 20, classes: int = 10) -> None:
        super().__init__()
        size = check_int(size, "size", 4)
        self.conv1 = nn.Sequential(nn.Conv2d(check_int(in_channels, "in_channels", 1), 16, 3, padding=1),
                                   nn.ReLU())
        self.conv2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.embedding = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(),
                                       nn.Linear(32 * (size // 4) ** 2, 64), nn.ReLU())
        self.head = nn.Linear(64, check_int(classes, "classes", 2))
        self.size = size

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[2:] != (self.size, self.size):
            raise ValueError(f"x must be (N, C, {self.size}, {self.size}), got {tuple(x.shape)}")
        return self.embedding(self.conv2(self.conv1(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


class ConvEncoder(nn.Module):
    """Three 3x3 conv blocks (conv -> BatchNorm -> ReLU, the last two with stride 2), then
    global max (or mean) pooling: any (N, C, H, W) -> features (N, widths[-1]).

    The encoder of the self-supervised chapter: pooling makes it indifferent to the input size,
    so one encoder serves whole images and small patches alike.
    """

    def __init__(self, in_channels: int = 3, widths: tuple[int, ...] = (16, 32, 64),
                 pool: str = "max") -> None:
        super().__init__()
        self.pool = check_choice(pool, "pool", ("max", "mean"))
        if not widths:
            raise ValueError("widths must name at least one layer width")
        layers, previous = [], check_int(in_channels, "in_channels", 1)
        for i, width in enumerate(widths):
            width = check_int(width, "widths", 1)
            layers += [nn.Conv2d(previous, width, 3, stride=1 if i == 0 else 2, padding=1),
                       nn.BatchNorm2d(width), nn.ReLU()]
            previous = width
        self.layers = nn.Sequential(*layers)
        self.out_features = previous

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"x must be (N, C, H, W), got {tuple(x.shape)}")
        maps = self.layers(x)
        return maps.amax(dim=(2, 3)) if self.pool == "max" else maps.mean(dim=(2, 3))
