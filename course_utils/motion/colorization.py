"""Colour spaces and colorization (chapter 06): Lab in torch, quantized ab bins, a small
colorizing network trained by regression or by classification, the RGB image of a lightness
channel with predicted (a, b), and colourfulness.

Lab separates lightness L (0 to 100) from the two colour axes a (green - red) and b
(blue - yellow). Colorization predicts (a, b) from L. Regressing (a, b) with a squared error
predicts the *mean* colour, which for an object that may be red or blue is a dull grey;
classifying over quantized (a, b) bins keeps the modes, and picking one gives a vivid colour.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..device import model_device
from ..train import fit_steps
from ..validate import as_float_tensor, check_choice, check_int, check_positive

Tensor = torch.Tensor

# sRGB (D65) to CIE XYZ, and the D65 white point (2 degree observer), as in skimage.color.
RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                           [0.212671, 0.715160, 0.072169],
                           [0.019334, 0.119193, 0.950227]], dtype=torch.float64)
WHITE_D65 = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
_DELTA = 6 / 29


def _colour_tensor(x, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    if not x.dtype.is_floating_point:
        raise TypeError(f"{name} must hold floating-point values, got dtype {x.dtype}")
    if x.ndim < 1 or x.shape[-1] != 3:
        raise ValueError(f"{name} must have 3 channels on its last axis (..., 3), got shape "
                         f"{tuple(x.shape)}")
    return x


def rgb_to_lab(rgb) -> Tensor:
    """sRGB in [0, 1] to CIE Lab (D65): (..., 3) -> (..., 3), L in [0, 100]. Differentiable.

    Undo the sRGB gamma, map linear RGB to XYZ, divide by the white point, apply
    Lab's cube root (linear near zero).
    """
    rgb = _colour_tensor(rgb, "rgb")
    linear = torch.where(rgb > 0.04045, ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4,
                         rgb / 12.92)
    xyz = linear @ RGB_TO_XYZ.to(rgb).T / WHITE_D65.to(rgb)
    f = torch.where(xyz > _DELTA ** 3, xyz.clamp(min=_DELTA ** 3) ** (1 / 3),
                    xyz / (3 * _DELTA ** 2) + 4 / 29)
    return torch.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                        200 * (f[..., 1] - f[..., 2])], dim=-1)


def lab_to_rgb(lab) -> Tensor:
    """CIE Lab (D65) to sRGB: (..., 3) -> (..., 3), clipped to [0, 1] (out-of-gamut colours
    are clipped, as ``skimage.color.lab2rgb`` does)."""
    lab = _colour_tensor(lab, "lab")
    fy = (lab[..., 0] + 16) / 116
    f = torch.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], dim=-1)
    xyz = torch.where(f > _DELTA, f ** 3, 3 * _DELTA ** 2 * (f - 4 / 29)) * WHITE_D65.to(lab)
    linear = (xyz @ torch.linalg.inv(RGB_TO_XYZ).to(lab).T).clamp(min=0)
    rgb = torch.where(linear > 0.0031308, 1.055 * linear.clamp(min=0.0031308) ** (1 / 2.4) - 0.055,
                      12.92 * linear)
    return rgb.clamp(0.0, 1.0)


def lightness_ab_to_rgb(lightness, ab) -> Tensor:
    """The sRGB images of a lightness channel coloured by (a, b): what a colorizer reads and
    what it predicts, joined back into pictures.

    lightness: (N, 1, H, W) scaled to [0, 1] (L / 100, the network's input); ab: (N, 2, H, W)
    in Lab units (a prediction or the truth). Returns (N, H, W, 3) in [0, 1], channels last
    for display, through ``lab_to_rgb`` (out-of-gamut colours clipped).
    """
    lightness, ab = as_float_tensor(lightness, "lightness"), as_float_tensor(ab, "ab")
    if lightness.ndim != 4 or lightness.shape[1] != 1:
        raise ValueError(f"lightness must be (N, 1, H, W), got {tuple(lightness.shape)}")
    if ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"ab must be (N, 2, H, W), got {tuple(ab.shape)}")
    if ab.shape[0] != lightness.shape[0] or ab.shape[2:] != lightness.shape[2:]:
        raise ValueError(f"lightness and ab must have the same N, H, W, got "
                         f"{tuple(lightness.shape)} and {tuple(ab.shape)}")
    return lab_to_rgb(torch.cat([lightness * 100, ab], 1).permute(0, 2, 3, 1))


# ---------------------------------------------------------------- quantized ab
def ab_bin_centres(step: float = 20.0, limit: float = 110.0) -> Tensor:
    """(Q, 2) centres of a square grid of (a, b) bins of side ``step`` covering [-limit, limit]."""
    step, limit = check_positive(step, "step"), check_positive(limit, "limit")
    count = int(np.floor(2 * limit / step))
    centres = (torch.arange(count, dtype=torch.float32) - (count - 1) / 2) * step
    return torch.cartesian_prod(centres, centres)


def quantize_ab(ab: Tensor, centres: Tensor) -> Tensor:
    """Index of the nearest bin centre: ab (..., 2), centres (Q, 2) -> (...) int64."""
    if ab.shape[-1] != 2 or centres.ndim != 2 or centres.shape[1] != 2:
        raise ValueError(f"ab must be (..., 2) and centres (Q, 2), got {tuple(ab.shape)} and "
                         f"{tuple(centres.shape)}")
    distances = torch.cdist(ab.reshape(-1, 2).to(centres), centres)
    return distances.argmin(dim=1).reshape(ab.shape[:-1])


def decode_ab(logits: Tensor, centres: Tensor, temperature: float = 0.38) -> Tensor:
    """(a, b) from per-pixel bin scores: logits (N, Q, H, W) -> (N, 2, H, W).

    The *annealed mean* of Zhang et al.: ``softmax(logits / T) @ centres``. T = 1 gives the
    mean of the predicted distribution (as dull as regression), T -> 0 its mode.
    """
    temperature = check_positive(temperature, "temperature")
    if logits.ndim != 4 or logits.shape[1] != centres.shape[0]:
        raise ValueError(f"logits must be (N, Q, H, W) with Q = {centres.shape[0]} bins, got "
                         f"{tuple(logits.shape)}")
    weights = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("nqhw,qk->nkhw", weights, centres.to(logits))


def colourfulness(rgb) -> float:
    """Hasler and Suesstrunk's colourfulness of an sRGB image (..., 3) in [0, 1], scaled by 255:
    ``sqrt(var(rg) + var(yb)) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2)`` with rg = R - G and
    yb = (R + G) / 2 - B. 0 for any grey image; about 30 is 'moderately colourful'."""
    rgb = _colour_tensor(rgb, "rgb").double() * 255
    rg = rgb[..., 0] - rgb[..., 1]
    yb = (rgb[..., 0] + rgb[..., 1]) / 2 - rgb[..., 2]
    spread = torch.sqrt(rg.var(unbiased=False) + yb.var(unbiased=False))
    return float(spread + 0.3 * torch.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


def mean_chroma(ab: Tensor) -> float:
    """Mean chroma sqrt(a^2 + b^2) of (N, 2, H, W) colour channels: 0 for grey."""
    if ab.ndim != 4 or ab.shape[1] != 2:
        raise ValueError(f"ab must be (N, 2, H, W), got {tuple(ab.shape)}")
    return float(ab.double().pow(2).sum(1).sqrt().mean())


# ---------------------------------------------------------------- the colorizing network
def pixel_network(out_channels: int, hidden: int = 32) -> nn.Sequential:
    """A fully convolutional (N, 1, H, W) -> (N, out_channels, H, W) network: three 3x3
    convolutions (the middle one dilated, so each output sees 9 x 9 pixels) and a 1x1 one."""
    out_channels, hidden = check_int(out_channels, "out_channels", 1), check_int(hidden, "hidden", 1)
    return nn.Sequential(
        nn.Conv2d(1, hidden, 3, padding=1), nn.ReLU(),
        nn.Conv2d(hidden, hidden, 3, padding=2, dilation=2), nn.ReLU(),
        nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
        nn.Conv2d(hidden, out_channels, 1))


class Colorizer(nn.Module):
    """Lightness (N, 1, H, W), scaled to [0, 1], -> (N, out_channels, H, W): 2 for (a, b)
    regression, Q for bin classification (``pixel_network``)."""

    def __init__(self, out_channels: int, hidden: int = 32):
        super().__init__()
        self.net = pixel_network(out_channels, hidden)

    def forward(self, lightness: Tensor) -> Tensor:
        return self.net(lightness)


def rebalancing_weights(bins: Tensor, num_bins: int, mix: float = 0.5) -> Tensor:
    """Class-rebalancing weights for the bins (Zhang et al.'s, without their smoothing of the
    bin frequencies): ``w_q`` proportional to ``1 / ((1 - mix) p_q + mix / Q)``, with ``p`` the
    share of pixels in bin q over ``bins`` (any shape, int64), scaled so that the expected
    weight of a pixel, ``sum_q p_q w_q``, is 1. ``mix`` = 1 gives equal weights; smaller values
    weigh rare bins (vivid colours) up against the common one (the grey background)."""
    num_bins = check_int(num_bins, "num_bins", 1)
    if not 0 < mix <= 1:
        raise ValueError(f"mix must be in (0, 1], got {mix!r}")
    if bins.dtype.is_floating_point or (bins.numel() and (bins.min() < 0 or bins.max() >= num_bins)):
        raise ValueError(f"bins must be integer bin indices in [0, {num_bins}), got {bins.dtype}")
    share = torch.bincount(bins.flatten(), minlength=num_bins).double() / bins.numel()
    weights = 1.0 / ((1 - mix) * share + mix / num_bins)
    return (weights / (share * weights).sum()).float()


def train_colorizer(model: nn.Module, lightness: Tensor, ab: Tensor, mode: str,
                    centres: Tensor | None = None, steps: int = 200, batch_size: int = 16,
                    lr: float = 3e-3, seed: int = 0, rebalance: float | None = None) -> list[float]:
    """Fit ``model`` to colour lightness (N, 1, H, W) in [0, 1] with ab (N, 2, H, W).

    mode "regression": squared error on ab / 100; "classification": cross-entropy against
    the nearest of ``centres`` (Q, 2), its pixels weighted by ``rebalancing_weights`` with
    ``mix = rebalance`` when given (classification only). Returns the per-step losses.
    """
    check_choice(mode, "mode", ("regression", "classification"))
    steps = check_int(steps, "steps", 1)
    weight = None
    if mode == "classification":
        if centres is None:
            raise ValueError("centres must be given for mode='classification'")
        labels = quantize_ab(ab.movedim(1, -1), centres)
        if rebalance is not None:
            weight = rebalancing_weights(labels, len(centres), rebalance).to(model_device(model))
    elif rebalance is not None:
        raise ValueError("rebalance weighs colour bins: it needs mode='classification'")
    device = model_device(model)

    def batch_loss(generator):
        idx = torch.randint(0, lightness.shape[0], (batch_size,), generator=generator)
        out = model(lightness[idx].to(device))
        if mode == "regression":
            return F.mse_loss(out, ab[idx].to(device) / 100)
        return F.cross_entropy(out, labels[idx].to(device), weight=weight)
    return fit_steps(model, batch_loss, steps, check_positive(lr, "lr"), seed)


def bin_accuracy(predicted_bins: Tensor, ab: Tensor, centres: Tensor, balanced: bool = False) -> float:
    """Share of pixels whose predicted bin (N, H, W) is the bin of their true colour ab
    (N, 2, H, W) among ``centres`` (Q, 2). With ``balanced`` every true bin that occurs
    counts once (the mean over bins of the share right within the bin), so a rare vivid
    colour weighs as much as the dull background that covers most pixels."""
    truth = quantize_ab(ab.movedim(1, -1), centres)
    if predicted_bins.shape != truth.shape:
        raise ValueError(f"predicted_bins must be (N, H, W) = {tuple(truth.shape)}, got {tuple(predicted_bins.shape)}")
    right = (predicted_bins == truth).float()
    if not balanced:
        return float(right.mean())
    return float(torch.stack([right[truth == b].mean() for b in torch.unique(truth)]).mean())


COLOUR_MODES = ("regression", "classification", "classification, rebalanced")


def colour_arm(config: dict, seeds) -> dict[str, list[float]]:
    """One arm of "classification vs regression" (for ``evidence.compare.Comparison.run``) on
    the coloured-shapes sequences 0-59 (moved by the base seed): a ``Colorizer`` trained on the
    frames of sequences 0-39 with ``config["mode"]`` ("regression", "classification", or
    "classification, rebalanced": Zhang et al.'s class rebalancing with mix 0.5;
    ``config["steps"]`` steps of 16 frames,
    torch seed and batch order from ``seed``), scored on sequences 50-59. Classification is
    decoded with the annealed mean at ``config["temperature"]``. Returns per seed the
    colourfulness of the held-out colorizations, their bin accuracy, plain and balanced over
    bins (the most likely bin for classification, the bin nearest the predicted colour for
    regression; 121 bins of side 20) and their ab root-mean-square error."""
    from ..evidence.seeds import offset_seed
    from ..train import predict
    from .tracking import coloured_sequences

    mode = config["mode"]
    if mode not in COLOUR_MODES:
        raise ValueError(f"config['mode'] must be one of {COLOUR_MODES}, got {mode!r}")
    data = coloured_sequences([offset_seed(s) for s in range(60)])
    train_l, train_ab = data["grey"][:40].flatten(0, 1), data["ab"][:40].flatten(0, 1)
    test_l, test_ab = data["grey"][50:].flatten(0, 1), data["ab"][50:].flatten(0, 1)
    centres = ab_bin_centres(step=20.0)
    scores: dict[str, list[float]] = {"colourfulness": [], "bin accuracy": [], "balanced bin accuracy": [],
                                      "ab RMSE": []}
    for seed in seeds:
        torch.manual_seed(seed)
        model = Colorizer(2 if mode == "regression" else len(centres))
        train_colorizer(model, train_l, train_ab, "regression" if mode == "regression" else "classification",
                        centres=centres, steps=config["steps"], seed=seed,
                        rebalance=0.5 if mode.endswith("rebalanced") else None)
        out = predict(model, test_l)
        if mode == "regression":
            ab = out * 100
            bins = quantize_ab(ab.movedim(1, -1), centres)
        else:
            ab = decode_ab(out, centres, temperature=config["temperature"])
            bins = out.argmax(1)
        scores["colourfulness"].append(colourfulness(lightness_ab_to_rgb(test_l, ab)))
        scores["bin accuracy"].append(bin_accuracy(bins, test_ab, centres))
        scores["balanced bin accuracy"].append(bin_accuracy(bins, test_ab, centres, balanced=True))
        scores["ab RMSE"].append(float((ab - test_ab).pow(2).sum(1).mean().sqrt()))
    return scores
