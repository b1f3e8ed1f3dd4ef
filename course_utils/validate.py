"""Input checks shared by every module: each raises a clear error naming the argument."""
from __future__ import annotations

import os
from typing import Iterable

import numpy as np
import torch


def reject_tensor(x, name: str):
    """``x`` unchanged unless it is a torch tensor, which gets a TypeError naming ``name`` and
    saying how to convert it: the numpy code never moves data off a device silently."""
    if isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a numpy array, got a torch.Tensor ({x.dtype}, on {x.device}); "
                        f"convert it with .detach().cpu().numpy()")
    return x


def as_float_array(x, name: str, ndim: int | Iterable[int] | None = None,
                   allow_empty: bool = False) -> np.ndarray:
    """Return ``x`` as a float64 numpy array after checking rank, dtype and size.

    Raises TypeError for non-numeric input and ValueError for a wrong rank or an empty array,
    always naming ``name`` in the message; a torch tensor is refused (``reject_tensor``).
    """
    arr = np.asarray(reject_tensor(x, name))
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real-valued, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimensions, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr.astype(np.float64, copy=False)


def check_real(value, name: str) -> float:
    """Return ``value`` as float after checking it is a finite real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value):
        raise TypeError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def check_positive(value, name: str, allow_zero: bool = False) -> float:
    """Return ``value`` as float after checking it is finite and > 0 (or >= 0)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def check_int(value, name: str, minimum: int) -> int:
    """Return ``value`` as int after checking it is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_choice(value, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` after checking it is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_shape_2d(shape) -> tuple[int, int]:
    """``shape`` as two positive integers ``(H, W)``, else a ValueError naming it."""
    try:
        ok = len(shape) == 2 and all(int(s) == s and s >= 1 for s in shape)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"shape must be two positive integers (H, W), got {shape!r}")
    return int(shape[0]), int(shape[1])


def as_float_tensor(x, name: str) -> torch.Tensor:
    """``x`` as a real floating tensor (integers and bools become float32); names ``name``
    in the TypeError raised for non-numeric or complex input."""
    if not isinstance(x, torch.Tensor):
        arr = np.asarray(x)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{name} must be a numeric tensor or array, got dtype {arr.dtype}")
        x = torch.as_tensor(arr)
    if x.is_complex():
        raise TypeError(f"{name} must be real-valued, got dtype {x.dtype}")
    return x if x.is_floating_point() else x.float()


def check_model_input(x, name: str, model: torch.nn.Module) -> torch.Tensor:
    """``x`` after checking it is a floating tensor with the dtype and device of ``model``'s
    parameters; a numpy array or a float32/float64 mismatch gets an error naming ``name`` and
    saying how to convert (torch itself only reports the failing matrix product)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}; "
                        f"convert it with torch.as_tensor({name})")
    parameter = next(model.parameters(), None)
    if parameter is None:
        return x
    if x.dtype != parameter.dtype:
        raise TypeError(f"{name} is {x.dtype} but the model's parameters are {parameter.dtype}: "
                        f"use {name}.to({parameter.dtype}) or convert the model")
    if x.device != parameter.device:
        raise ValueError(f"{name} is on {x.device} but the model is on {parameter.device}: "
                         f"use {name}.to(device)")
    return x


def as_vector(x, name: str, length: int, floating: bool = True) -> torch.Tensor:
    """``x`` as a (length,) tensor (one value per item, e.g. per box), else a ValueError naming
    ``name``; ``floating`` makes it a real floating tensor as ``as_float_tensor`` does."""
    x = as_float_tensor(x, name) if floating else torch.as_tensor(x)
    if x.ndim != 1 or x.shape[0] != length:
        raise ValueError(f"{name} must have shape ({length},), got {tuple(x.shape)}")
    return x


def check_fraction(value, name: str) -> float:
    """``value`` as a float in [0, 1] (an IoU or score threshold), else a ValueError."""
    value = check_positive(value, name, allow_zero=True)
    if value > 1:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")
    return value


def env_int(name: str, minimum: int) -> int | None:
    """The integer in environment variable ``name`` (>= ``minimum``), or None when it is unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {raw!r}")
    return value
