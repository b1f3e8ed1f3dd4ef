"""How big a network is: its trainable parameters and the multiply-adds of one forward pass."""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable scalars in ``model``."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_multiply_adds(model: torch.nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-adds of one forward pass ``model(*inputs)``, from torch's FLOP counter
    (``torch.utils.flop_counter``; one multiply-add = 2 FLOPs)."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(*inputs)
    return counter.get_total_flops() // 2


def width_for_multiply_adds(build: Callable[[int], torch.nn.Module], budget: int,
                            *inputs: torch.Tensor, widths: Iterable[int] = range(1, 65)) -> int:
    """The width ``w`` (from ``widths``) whose network ``build(w)`` comes closest to ``budget``
    multiply-adds on ``inputs``: how two architectures are given the same compute before they
    are compared. Ties go to the smaller width."""
    if not callable(build):
        raise TypeError(f"build must be a function width -> model, got {type(build).__name__}")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a number of multiply-adds >= 1, got {budget!r}")
    widths = list(widths)
    if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise ValueError(f"widths must be integers >= 1, got {widths!r}")
    gaps = [(abs(count_multiply_adds(build(w), *inputs) - budget), w) for w in sorted(widths)]
    return min(gaps)[1]
