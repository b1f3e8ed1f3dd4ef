"""Plain deep CNN vs residual CNN of the same depth, built from the same blocks.

A block computes ``F(x) = conv(relu(norm(conv(relu(norm(x))))))`` (pre-activation order) and
returns ``x + F(x)`` when ``residual=True`` or just ``F(x)`` when ``residual=False``. The
shortcut adds no parameters, so the two networks have identical parameter counts and depth;
only the path the signal (and its gradient) can take differs.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..data.digits import digits_tensors
from ..device import model_device, seed_everything
from ..metrics import accuracy
from ..train import evaluate, fit
from ..validate import check_int, check_model_input, check_positive


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
        check_model_input(x, "x", self)
        features = torch.relu(self.norm(self.blocks(self.stem(x))))
        return self.head(features.mean(dim=(2, 3)))


@torch.no_grad()
def activation_scales(model: DeepCNN, x: torch.Tensor) -> list[float]:
    """How much the features still differ between images, after the stem and each block.

    x: (N, C, H, W) with N >= 2. For each stage the standard deviation over the batch is
    taken per feature (channel, pixel) and averaged: a feature that is the same for every
    input (e.g. only a bias) scores 0. Returns ``num_blocks + 1`` floats.

    BatchNorm layers normalise with the statistics of ``x`` itself, as in a training step (at
    initialisation their running statistics are 0 and 1, so evaluation mode would not normalise
    at all); this runs on a copy, so the model's running statistics are left as they were.
    """
    if not isinstance(model, DeepCNN):
        raise TypeError(f"model must be a DeepCNN, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or len(x) < 2:
        raise ValueError(f"x must be an (N, C, H, W) tensor with N >= 2, got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x)}")
    probe = copy.deepcopy(model).train()
    with torch.no_grad():
        h = probe.stem(x.to(model_device(model)))
        scales = [float(h.std(dim=0).mean())]
        for block in probe.blocks:
            h = block(h)
            scales.append(float(h.std(dim=0).mean()))
    return scales


def first_layer_gradient_norm(model: DeepCNN, x: torch.Tensor, y: torch.Tensor) -> float:
    """L2 norm of the cross-entropy gradient with respect to the stem's weights.

    x: (N, C, H, W), y: (N,) int64. How strongly the first layer is told to change: when the
    signal or its gradient fades on the way through the blocks, this is tiny. The model's
    parameters and mode are left as they were (its gradients are cleared).
    """
    if not isinstance(model, DeepCNN):
        raise TypeError(f"model must be a DeepCNN, got {type(model).__name__}")
    if not isinstance(y, torch.Tensor) or y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"y must be an (N,) tensor of labels with N = len(x) = {len(x)}")
    device = model_device(model)
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x.to(device)), y.to(device)).backward()
    norm = float(model.stem.weight.grad.norm())
    model.zero_grad(set_to_none=True)
    return norm


def train_on_digits(model: DeepCNN, epochs: int = 6, lr: float = 3e-3, batch_size: int = 64,
                    seed: int = 0, progress: bool = True) -> dict[str, list[float]]:
    """Train ``model`` on scikit-learn's 8x8 digits (``data.digits.digits_tensors``, 75%
    for training) with Adam; seeded batch order.

    Returns ``fit``'s per-epoch history ({"train_loss", "train_metric"} with the accuracy),
    plus "test_accuracy": [accuracy on the held-out 25% after training] and
    "first_layer_grad": [stem gradient norm on 256 training images at initialisation].
    """
    if not isinstance(model, DeepCNN):
        raise TypeError(f"model must be a DeepCNN, got {type(model).__name__}")
    epochs, batch_size = check_int(epochs, "epochs", 1), check_int(batch_size, "batch_size", 1)
    lr, seed = check_positive(lr, "lr"), check_int(seed, "seed", 0)
    x_train, y_train, x_test, y_test = digits_tensors()
    grad_at_init = first_layer_gradient_norm(model, x_train[:256], y_train[:256])
    seed_everything(seed)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True,
        generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = fit(model, loader, F.cross_entropy, optimizer, epochs, metric=accuracy,
                  progress=progress)
    test = evaluate(model, [(x_test, y_test)], F.cross_entropy, accuracy)
    history["test_accuracy"] = [test["metric"]]
    history["first_layer_grad"] = [grad_at_init]
    return history


# The three nets of chapter 04's depth comparison: name -> (num_blocks, residual).
DEPTH_NETS = {"plain, 5 layers": (2, False), "plain, 21 layers": (10, False),
              "residual, 21 layers": (10, True)}


def depth_arm(config: dict, seeds) -> dict[str, list[float]]:
    """One arm of the plain-vs-residual comparison (for ``evidence.compare``): the net
    ``config["net"]`` (a key of ``DEPTH_NETS``; 8 channels, BatchNorm) from every seed of
    ``seeds`` (initialisation and batch order), trained by ``train_on_digits`` for
    ``config["epochs"]`` epochs. Per seed: the training loss averaged over the last
    ``min(5, epochs)`` epochs (one epoch's loss jitters) and the held-out accuracy."""
    if config.get("net") not in DEPTH_NETS:
        raise ValueError(f"config['net'] must be one of {list(DEPTH_NETS)}, got {config.get('net')!r}")
    blocks, residual = DEPTH_NETS[config["net"]]
    epochs = check_int(config["epochs"], "config['epochs']", 1)
    out: dict[str, list[float]] = {"late training loss": [], "test accuracy": []}
    for seed in seeds:
        seed_everything(seed)
        net = DeepCNN(num_blocks=blocks, channels=8, residual=residual, norm=True)
        history = train_on_digits(net, epochs=epochs, seed=seed, progress=False)
        late = history["train_loss"][-min(5, epochs):]
        out["late training loss"].append(sum(late) / len(late))
        out["test accuracy"].append(history["test_accuracy"][0])
    return out
