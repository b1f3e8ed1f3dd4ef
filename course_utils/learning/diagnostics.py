"""Chapter 03's experiments on torch networks: full-batch fitting, gradient norms per layer
(vanishing gradients), dead ReLUs after training, and the Fourier amplitude of the digits
CNN's learned filters.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from ..data.digits import digits_tensors
from ..data.points import sample_target
from ..networks import DigitsCNN, make_mlp
from ..train import fit
from ..validate import as_float_array, check_int, check_model_input, check_positive


def _check_module(model) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return model


def fit_full_batch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float = 1e-2,
                   steps: int = 1000) -> list[float]:
    """Adam on the mean squared error, one full batch per step, via ``course_utils.train.fit``.

    x: (N, D), y: (N, out) on the model's device. Returns the loss before each step.
    """
    _check_module(model)
    x, y = check_model_input(x, "x", model), check_model_input(y, "y", model)
    lr, steps = check_positive(lr, "lr"), check_int(steps, "steps", 1)
    if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
        raise ValueError(f"x and y must be (N, D) and (N, out), got {tuple(x.shape)} "
                         f"and {tuple(y.shape)}")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = fit(model, [(x, y)], nn.functional.mse_loss, optimizer, epochs=steps,
                  progress=False)
    return history["train_loss"]


def late_loss(hidden: Sequence[int], lr: float, seed: int, steps: int = 1000,
              activation: str = "tanh") -> float:
    """The 1-D regression (``sample_target``, 256 points) fitted by an MLP with ``hidden``
    layer widths, initialised from torch seed ``seed``, by ``fit_full_batch`` at ``lr``: the
    median mean squared error over the last 100 steps (robust to late spikes)."""
    x, y = (torch.tensor(a, dtype=torch.float32) for a in sample_target(256))
    torch.manual_seed(check_int(seed, "seed", 0))
    model = make_mlp(1, list(hidden), 1, activation)
    curve = fit_full_batch(model, x, y, lr=lr, steps=check_int(steps, "steps", 100))
    return float(np.median(curve[-100:]))


def width_depth_arm(config: dict, seeds: Sequence[int]) -> dict[str, list[float]]:
    """One arm of the width-vs-depth comparison (for ``evidence.compare``): the architecture
    ``config["hidden"]`` (layer widths) gets its own learning rate, the one of
    ``config["lrs"]`` with the lowest ``late_loss`` from the initialisation
    ``config["selection_seed"]``, then is trained from every seed of ``seeds`` at that rate.
    Returns per seed log10 of the late loss and the chosen rate (the same for every seed)."""
    hidden, lrs = tuple(config["hidden"]), [check_positive(lr, "lrs") for lr in config["lrs"]]
    if not lrs:
        raise ValueError("config['lrs'] must hold at least one learning rate")
    steps = config["steps"]
    chosen = min(lrs, key=lambda lr: late_loss(hidden, lr, config["selection_seed"], steps))
    losses = [late_loss(hidden, chosen, seed, steps) for seed in seeds]
    return {"log10 late MSE": [float(np.log10(v)) for v in losses], "chosen lr": [chosen] * len(losses)}


def layer_gradient_norms(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Backpropagate the mean squared error once; return ||dL/dW|| for every Linear weight,
    input layer first. x: (N, D), y: (N, out)."""
    _check_module(model)
    x, y = check_model_input(x, "x", model), check_model_input(y, "y", model)
    model.zero_grad(set_to_none=True)
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    return np.array([m.weight.grad.norm().item() for m in model if isinstance(m, nn.Linear)])


def gradient_norms(depth: int = 12, activation: str = "sigmoid", width: int = 32,
                   seed: int = 0) -> np.ndarray:
    """||dL/dW|| per Linear layer (input first, depth + 1 values) of a freshly He-initialised
    MLP with ``depth`` hidden layers of ``width`` units, for one batch of 256 random inputs
    (16 features) and random targets."""
    depth, width = check_int(depth, "depth", 1), check_int(width, "width", 1)
    seed = check_int(seed, "seed", 0)
    torch.manual_seed(seed)
    model = make_mlp(16, [width] * depth, 1, activation, init="he")
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.randn(256, 16, generator=gen), torch.randn(256, 1, generator=gen)
    return layer_gradient_norms(model, x, y)


@torch.no_grad()
def dead_relu_fraction(model: nn.Sequential, x: torch.Tensor) -> np.ndarray:
    """For each ReLU of ``model``: the fraction of its units that output 0 for every row of x
    (a dead unit passes no gradient, so it can never learn again). x: (N, D) -> (num_relus,)."""
    _check_module(model)
    x = check_model_input(x, "x", model)
    fractions = []
    h = x
    for module in model:
        h = module(h)
        if isinstance(module, nn.ReLU):
            fractions.append((h <= 0).all(dim=0).float().mean().item())
    if not fractions:
        raise ValueError("model has no nn.ReLU layer")
    return np.array(fractions)


def never_fires(weight, bias, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """For ReLU units of one input, relu(w x + b): whether each is dead on the whole interval
    [low, high], i.e. w x + b <= 0 at both ends (a line's maximum on an interval is at an end).
    On [-1, 1] that is b <= -|w|. weight, bias: (U,) -> (U,) bool."""
    weight, bias = as_float_array(weight, "weight", ndim=1), as_float_array(bias, "bias", ndim=1)
    if weight.shape != bias.shape:
        raise ValueError(f"weight and bias must have the same shape, got {weight.shape} and {bias.shape}")
    if not low < high:
        raise ValueError(f"low must be below high, got [{low}, {high}]")
    return np.maximum(weight * low, weight * high) + bias <= 0


def dead_relus_after_training(lrs: Sequence[float], init: str = "he", steps: int = 200,
                              seed: int = 0) -> dict[float, dict]:
    """Train a 4 x 64 ReLU MLP on the 1-D target (256 points) with Adam at each learning rate.

    Returns {lr: {"dead": fraction of dead units per hidden layer (4,), "loss": final MSE}};
    the entry lr = 0.0 describes the network before training.
    """
    if not isinstance(lrs, (list, tuple, np.ndarray)):
        raise TypeError(f"lrs must be a list of learning rates, got {type(lrs).__name__}")
    lrs = [check_positive(lr, "lrs") for lr in lrs]
    steps, seed = check_int(steps, "steps", 1), check_int(seed, "seed", 0)
    x, y = (torch.tensor(a, dtype=torch.float32) for a in sample_target(256))
    result = {}
    for lr in (0.0, *lrs):
        torch.manual_seed(seed)
        model = make_mlp(1, [64] * 4, 1, "relu", init=init)
        if lr > 0:
            fit_full_batch(model, x, y, lr=lr, steps=steps)
        with torch.no_grad():
            loss = nn.functional.mse_loss(model(x), y).item()
        result[lr] = {"dead": dead_relu_fraction(model, x), "loss": loss}
    return result


def dead_units_arm(config: dict, seeds: Sequence[int]) -> dict[str, list[float]]:
    """One arm of the dead-ReLU comparison (for ``evidence.compare``): for every seed, the
    4 x 64 ReLU net of ``dead_relus_after_training`` trained at ``config["lr"]`` (init
    ``config["init"]``, ``config["steps"]`` steps); returns per seed the share of dead hidden
    units (all four layers) and the final loss."""
    lr = check_positive(config["lr"], "config['lr']")
    out: dict[str, list[float]] = {"dead share": [], "loss": []}
    for seed in seeds:
        result = dead_relus_after_training([lr], init=config["init"], steps=config["steps"],
                                           seed=seed)[lr]
        out["dead share"].append(float(result["dead"].mean()))
        out["loss"].append(result["loss"])
    return out


def filter_spectra(filters, size: int = 16) -> np.ndarray:
    """Fourier amplitude of each 2-D filter, zero-padded to size x size, centred (fftshift).

    filters: (F, KH, KW) (or (F, 1, KH, KW), a conv weight) -> (F, size, size).
    """
    if hasattr(filters, "detach"):
        filters = filters.detach().cpu().numpy()
    filters = as_float_array(filters, "filters", ndim=(3, 4))
    if filters.ndim == 4:
        if filters.shape[1] != 1:
            raise ValueError(f"filters must have one input channel, got {filters.shape}")
        filters = filters[:, 0]
    size = check_int(size, "size", 1)
    if size < max(filters.shape[1:]):
        raise ValueError(f"size must be at least the filter size {filters.shape[1:]}, got {size}")
    spectrum = np.fft.fft2(filters, s=(size, size))
    return np.abs(np.fft.fftshift(spectrum, axes=(-2, -1)))


def peak_frequency(spectra) -> np.ndarray:
    """Radius of each centred amplitude spectrum's maximum, in cycles per pixel.

    spectra: (F, S, S) from :func:`filter_spectra` -> (F,); 0 means the filter's strongest
    component is its mean (a blur), larger values mean it responds most to finer stripes.
    """
    spectra = as_float_array(spectra, "spectra", ndim=3)
    f, h, w = spectra.shape
    rows, cols = np.unravel_index(spectra.reshape(f, -1).argmax(axis=1), (h, w))
    return np.hypot((rows - h // 2) / h, (cols - w // 2) / w)


def orientation_concentration(spectra, half_width_deg: float = 22.5) -> np.ndarray:
    """How oriented each filter is: the share of its spectral power (zero frequency left out)
    within +-``half_width_deg`` of its best orientation (searched in steps of half the wedge).
    spectra: (F, S, S) centred, from :func:`filter_spectra` -> (F,) in (0, 1]. White noise
    spreads its power over all orientations (about 2 x half_width / 180 of it per wedge plus
    chance); a stripe or edge detector puts most of it in one wedge."""
    spectra = as_float_array(spectra, "spectra", ndim=3)
    half = np.deg2rad(check_positive(half_width_deg, "half_width_deg"))
    if half >= np.pi / 2:
        raise ValueError(f"half_width_deg must be below 90, got {half_width_deg}")
    _, h, w = spectra.shape
    fy, fx = np.meshgrid((np.arange(h) - h // 2) / h, (np.arange(w) - w // 2) / w, indexing="ij")
    angle = np.arctan2(fy, fx)
    power = spectra ** 2
    power[:, (fy == 0) & (fx == 0)] = 0.0
    total = power.sum(axis=(1, 2))
    if (total == 0).any():
        raise ValueError("spectra: a filter has no power away from zero frequency")
    best = np.zeros(len(spectra))
    for centre in np.arange(0, np.pi, half):
        # the distance of each bin's direction to the wedge's axis, on the half circle
        off = np.abs(np.angle(np.exp(2j * (angle - centre)))) / 2
        best = np.maximum(best, (power * (off <= half)).sum(axis=(1, 2)) / total)
    return best


def first_layer_arm(config: dict, seeds: Sequence[int]) -> dict[str, list[float]]:
    """One arm of the trained-vs-untrained comparison of chapter 03's digit CNN (for
    ``evidence.compare``): for every seed a ``networks.DigitsCNN`` (channels (8, 16)) from
    torch seed ``seed``, trained with Adam (lr ``config["lr"]``, batch 64) for
    ``config["epochs"]`` epochs on the digits (0 epochs: untrained). Returns per seed the mean
    over its first-layer filters of ``orientation_concentration`` and of ``peak_frequency``."""
    epochs = check_int(config["epochs"], "config['epochs']", 0)
    x_train, y_train, _, _ = digits_tensors(test_fraction=0.25, seed=0)
    out: dict[str, list[float]] = {"orientation concentration": [], "peak frequency": []}
    for seed in seeds:
        torch.manual_seed(seed)
        model = DigitsCNN(channels=(8, 16))
        if epochs:
            loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True,
                                generator=torch.Generator().manual_seed(seed))
            fit(model, loader, F.cross_entropy,
                torch.optim.Adam(model.parameters(), lr=check_positive(config["lr"], "lr")),
                epochs, progress=False)
        spectra = filter_spectra(model.conv1.weight, size=16)
        out["orientation concentration"].append(float(orientation_concentration(spectra).mean()))
        out["peak frequency"].append(float(peak_frequency(spectra).mean()))
    return out
