"""How big a network is: its trainable parameters and the multiply-adds of one forward pass."""
from __future__ import annotations

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
