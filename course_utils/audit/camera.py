"""A minimal camera pipeline: exposure, a black and white point, a tone curve (gamma) and
8-bit quantisation, with exposure calibrated on a reference reflectance or metered per image, and
the codes turned into a network's input.

Radiance and reflectance are linear, in [0, 1] for the reference light; outputs are integer
codes 0 .. 2^bits - 1. Codes 0 and 2^bits - 1 are *clipped*: every radiance below the black
point (or above the white point) lands there and its detail is gone.
"""
from __future__ import annotations

import numpy as np
import torch

from ..validate import as_float_array, check_int, check_positive


def capture(radiance, exposure: float, black: float = 0.08, white: float = 1.0,
            gamma: float = 2.2, bits: int = 8) -> np.ndarray:
    """Codes of a scene: round(((exposure * radiance - black) / (white - black)) clipped to
    [0, 1], raised to 1 / gamma, times 2^bits - 1). radiance: any shape -> int64 same shape.
    ``exposure`` is a number or an array broadcastable to radiance (one per image, say)."""
    radiance = as_float_array(radiance, "radiance")
    exposure = as_float_array(exposure, "exposure", allow_empty=False)
    if np.any(exposure <= 0):
        raise ValueError("exposure must be > 0")
    gamma = check_positive(gamma, "gamma")
    bits = check_int(bits, "bits", 1)
    if not 0 <= black < white:
        raise ValueError(f"black and white must satisfy 0 <= black < white, got {black} and {white}")
    linear = np.clip((exposure * radiance - black) / (white - black), 0.0, 1.0)
    return np.round(linear ** (1.0 / gamma) * (2 ** bits - 1)).astype(np.int64)


def calibrate_exposure(reference: float, target: float = 0.5, black: float = 0.08,
                       white: float = 1.0, gamma: float = 2.2) -> float:
    """The exposure that renders a surface of reflectance ``reference`` at output level
    ``target`` (a fraction of full scale): solves ((e r - black) / (white - black))^(1/gamma)
    = target for e."""
    reference = check_positive(reference, "reference")
    if not 0 < target < 1:
        raise ValueError(f"target must lie in (0, 1), got {target}")
    return (black + (white - black) * target ** check_positive(gamma, "gamma")) / reference


def metered_exposure(radiance, target: float = 0.5, **camera) -> np.ndarray:
    """Per-image auto-exposure: calibrate every image on its own mean radiance.
    radiance: (N, H, W) -> exposures (N, 1, 1), ready for ``capture``."""
    radiance = as_float_array(radiance, "radiance", ndim=3)
    means = radiance.mean(axis=(1, 2))
    return np.array([calibrate_exposure(m, target, **camera) for m in means])[:, None, None]


def metered_capture(radiance, target: float = 0.5, **camera) -> np.ndarray:
    """The metered camera: every image captured at its own ``metered_exposure``.
    radiance: (N, H, W) -> int64 codes (N, H, W)."""
    return capture(radiance, metered_exposure(radiance, target, **camera), **camera)


def as_images(codes, bits: int = 8) -> torch.Tensor:
    """Codes as a network's input: codes (N, H, W) in 0 .. 2^bits - 1 -> float32 tensor
    (N, 1, H, W) in [0, 1] (code / (2^bits - 1), one grey channel)."""
    codes = np.asarray(codes)
    if codes.ndim != 3:
        raise ValueError(f"codes must be (N, H, W), one image per row, got shape {codes.shape}")
    top = 2 ** check_int(bits, "bits", 1) - 1
    codes = as_float_array(codes, "codes")
    if codes.min() < 0 or codes.max() > top:
        raise ValueError(f"codes must lie in [0, {top}] for {bits} bits, got values in "
                         f"[{codes.min()}, {codes.max()}]")
    return torch.tensor(codes / top, dtype=torch.float32)[:, None]


def clipped_fraction(codes, bits: int = 8) -> float:
    """Share of codes at 0 or 2^bits - 1 (detail lost to black or to white)."""
    codes = np.asarray(codes)
    top = 2 ** check_int(bits, "bits", 1) - 1
    return float(np.mean((codes <= 0) | (codes >= top)))


def distinct_levels(codes) -> float:
    """Mean number of distinct codes per image: codes (N, ...) -> a number (how many grey
    levels the camera spent on each image's detail)."""
    codes = np.asarray(codes)
    if codes.ndim < 2:
        raise ValueError(f"codes must be (N, ...) with one row per image, got shape {codes.shape}")
    return float(np.mean([len(np.unique(image)) for image in codes]))
