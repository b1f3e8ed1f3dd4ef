"""Inside a trained network: unit activations and one response per unit at each stage,
receptive fields, the inputs a unit likes best, how selective units are, and how the
network's embedding groups the classes."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..validate import check_int


def layer_activations(model: nn.Module, layer: nn.Module, x: torch.Tensor,
                      batch: int = 512) -> torch.Tensor:
    """The output of ``layer`` (a submodule of ``model``) for inputs x, e.g. (N, C, h, w)."""
    if not any(m is layer for m in model.modules()):
        raise ValueError("layer must be a submodule of model")
    captured = []
    hook = layer.register_forward_hook(lambda _m, _in, out: captured.append(out.detach()))
    try:
        with torch.no_grad():
            for start in range(0, len(x), check_int(batch, "batch", 1)):
                model(x[start:start + batch])
    finally:
        hook.remove()
    return torch.cat(captured)


def layer_responses(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """One number per image and unit at each stage of a ``SmallCNN``: (N, U) tensors under
    ``conv1`` and ``conv2`` (each channel's spatial maximum, so U = channels), ``embedding``
    (the 64 features) and ``logits`` (the model's output), in that order.

    x: (N, C, S, S). The stages are the model's ``conv1``, ``conv2`` and ``embedding``
    submodules (``layer_activations``), the logits its forward pass without gradients.
    """
    missing = [name for name in ("conv1", "conv2", "embedding")
               if not isinstance(getattr(model, name, None), nn.Module)]
    if missing:
        raise ValueError(f"model must have the stages conv1, conv2 and embedding (a SmallCNN), "
                         f"missing {missing}")
    out = {name: layer_activations(model, getattr(model, name), x).flatten(2).amax(2)
           for name in ("conv1", "conv2")}
    out["embedding"] = layer_activations(model, model.embedding, x)
    with torch.no_grad():
        out["logits"] = model(x)
    return out


def receptive_field(layers: Sequence[nn.Module]) -> tuple[int, int, int]:
    """Receptive field of one output unit after ``layers`` (Conv2d / MaxPool2d / elementwise).

    Returns (size, jump, start): the unit at output row i sees input rows
    start + i * jump .. start + i * jump + size - 1 (start may be negative: padding).
    Each layer with kernel k, stride s, padding p updates
    start += -p * jump, size += (k - 1) * jump, jump *= s.
    """
    size, jump, start = 1, 1, 0
    for layer in layers:
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
            k, s, p = (v if isinstance(v, int) else v[0]
                       for v in (layer.kernel_size, layer.stride, layer.padding))
            dilation = layer.dilation if isinstance(layer.dilation, int) else layer.dilation[0]
            start -= p * jump
            size += (k - 1) * dilation * jump
            jump *= s
        elif isinstance(layer, nn.Sequential):
            inner_size, inner_jump, inner_start = receptive_field(list(layer))
            start += inner_start * jump
            size += (inner_size - 1) * jump
            jump *= inner_jump
        elif not isinstance(layer, (nn.ReLU, nn.Identity, nn.BatchNorm2d, nn.Dropout)):
            raise ValueError(f"layers must be Conv2d, MaxPool2d or elementwise layers, got "
                             f"{type(layer).__name__}")
    return size, jump, start


def top_activations(activations: torch.Tensor, unit: int, k: int = 9) -> list[tuple[int, int, int, float]]:
    """The k strongest responses of channel ``unit`` over all images and positions.

    activations: (N, C, h, w). Returns [(image, row, col, value), ...], strongest first, at
    most one per image (its best position).
    """
    if activations.ndim != 4:
        raise ValueError(f"activations must be (N, C, h, w), got {tuple(activations.shape)}")
    unit = check_int(unit, "unit", 0)
    if unit >= activations.shape[1]:
        raise ValueError(f"unit must be < {activations.shape[1]} (channels), got {unit}")
    maps = activations[:, unit].flatten(1)               # (N, h * w)
    best, where = maps.max(dim=1)
    order = torch.argsort(best, descending=True)[:check_int(k, "k", 1)]
    width = activations.shape[3]
    return [(int(n), int(where[n]) // width, int(where[n]) % width, float(best[n])) for n in order]


def input_patch(x: torch.Tensor, image: int, row: int, col: int,
                field: tuple[int, int, int]) -> torch.Tensor:
    """The input window (C, size, size) that unit (row, col) of a layer with receptive
    ``field`` = (size, jump, start) sees in image ``image`` of x: (N, C, H, W); zero outside."""
    size, jump, start = field
    top, left = start + row * jump, start + col * jump
    padded = torch.nn.functional.pad(x[image], (size, size, size, size))
    return padded[:, top + size:top + 2 * size, left + size:left + 2 * size]


def unit_selectivity(responses: torch.Tensor, labels: torch.Tensor, k: int = 50) -> torch.Tensor:
    """For each unit, the share of its k most activating images that belong to its most
    frequent class among them (1 = a "grandmother" unit for that class).

    responses: (N, U) one number per image and unit (e.g. a channel's spatial maximum).
    Returns (U,).
    """
    if responses.ndim != 2 or labels.shape != responses.shape[:1]:
        raise ValueError(f"responses must be (N, U) and labels (N,), got {tuple(responses.shape)} "
                         f"and {tuple(labels.shape)}")
    k = min(check_int(k, "k", 1), len(responses))
    top = torch.topk(responses, k, dim=0).indices                      # (k, U)
    top_labels = labels[top]                                           # (k, U)
    counts = torch.nn.functional.one_hot(top_labels).sum(dim=0)        # (U, classes)
    return counts.max(dim=1).values.float() / k


def class_similarity(embeddings: torch.Tensor, labels: torch.Tensor, classes: int) -> np.ndarray:
    """Representational similarity matrix: the Pearson correlation between every two classes'
    mean embeddings (each centred by the mean over classes). embeddings: (N, F) -> (K, K)."""
    if embeddings.ndim != 2 or labels.shape != embeddings.shape[:1]:
        raise ValueError(f"embeddings must be (N, F) and labels (N,), got "
                         f"{tuple(embeddings.shape)} and {tuple(labels.shape)}")
    classes = check_int(classes, "classes", 2)
    means = torch.stack([embeddings[labels == c].mean(dim=0) for c in range(classes)])
    means = means - means.mean(dim=0)
    return np.corrcoef(means.double().numpy())
