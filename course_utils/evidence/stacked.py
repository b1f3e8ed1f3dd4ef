"""K seeds of one small network trained together: the seeds' weights stacked along a new first
axis and run as one grouped network, so that K trainings cost little more than one.

``StackedSequential(models)`` takes K ``nn.Sequential`` models of one architecture (built from
``Conv2d``, ``Linear``, ``BatchNorm1d/2d``, pooling, ``Flatten`` and elementwise activations)
and computes all K at once: convolutions as one grouped convolution (seed k's channels are
group k), linear layers as one batched matrix product. Input ``(K, B, ...)``, one batch per
seed; output ``(K, B, ...)``. Adam is elementwise, so one Adam over the stacked parameters is K
independent Adams, and the sum over seeds of each seed's mean loss gives each seed its own
gradient: the result equals K separate trainings (``fit_classifier_seeds`` is tested against
``train.fit_classifier`` run seed by seed, the plain loop it falls back to).

Speed on the CPU: the K seeds' images travel channels-last, and so do their gradients. In the
default layout oneDNN's grouped convolution with one input channel per group, max-pooling and
the ReLU's backward pass (fed a gradient in the other layout) each ran 5-30 times slower than
the same work for one seed, and K stacked seeds of a small CNN cost more than the loop.
"""
from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..train import fit_classifier
from ..validate import check_int, check_positive

ELEMENTWISE = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.GELU, nn.Identity)
POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def _flat_layers(model: nn.Module) -> list[nn.Module]:
    """The leaf modules of a (possibly nested) Sequential, in order."""
    if isinstance(model, nn.Sequential):
        return [leaf for child in model for leaf in _flat_layers(child)]
    return [model]


class _Stack(nn.Module):
    """One layer of K models, with its parameters stacked: (K, ...) each."""

    def __init__(self, layers: Sequence[nn.Module]):
        super().__init__()
        first = layers[0]
        self.kind, self.template = type(first), first
        for name, _ in first.named_parameters(recurse=False):
            self.register_parameter(name, nn.Parameter(torch.stack(
                [getattr(layer, name).detach().clone() for layer in layers])))
        for name, buffer in first.named_buffers(recurse=False):
            if buffer is None:
                continue
            if buffer.ndim > 0:
                self.register_buffer(name, torch.stack([getattr(layer, name).clone() for layer in layers]))
            else:  # a counter such as num_batches_tracked: the same for every seed
                self.register_buffer(name, buffer.clone())


def _channels_last(grad: torch.Tensor) -> torch.Tensor:
    return grad.contiguous(memory_format=torch.channels_last)


class StackedSequential(nn.Module):
    """K ``nn.Sequential`` models of one architecture computed as one (see the module text).

    x: (K, B, C, H, W) or (K, B, F) -> (K, B, ...). ``model(k)`` gives seed k's network back as
    an ordinary module with its current weights.
    """

    def __init__(self, models: Sequence[nn.Module]):
        super().__init__()
        models = list(models)
        if len(models) < 1 or not all(isinstance(m, nn.Sequential) for m in models):
            raise TypeError("models must be a non-empty list of nn.Sequential models")
        per_model = [_flat_layers(m) for m in models]
        if len({len(layers) for layers in per_model}) != 1:
            raise ValueError("models must share one architecture (different numbers of layers)")
        self.k = len(models)
        self.prototype = models[0]
        stacks = []
        for position, layers in enumerate(zip(*per_model)):
            kinds = {type(layer) for layer in layers}
            if len(kinds) != 1:
                raise ValueError(f"layer {position} differs between the models: {sorted(k.__name__ for k in kinds)}")
            layer = layers[0]
            if isinstance(layer, nn.Conv2d) and (layer.groups != 1 or layer.padding_mode != "zeros"):
                raise ValueError(f"layer {position}: only zero-padded Conv2d with groups=1 can be stacked")
            if isinstance(layer, (nn.Dropout, nn.Dropout2d)):
                raise ValueError(f"layer {position}: Dropout draws its own masks per seed; "
                                 "stacked seeds would not equal separate runs")
            if not isinstance(layer, (nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d,
                                      nn.Flatten) + ELEMENTWISE + POOLING):
                raise ValueError(f"layer {position}: {type(layer).__name__} cannot be stacked")
            stacks.append(_Stack(layers))
        self.stacks = nn.ModuleList(stacks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] != self.k:
            raise ValueError(f"x must be (K, B, ...) with K = {self.k} seeds, got {tuple(x.shape)}")
        k, b = x.shape[:2]
        image = x.ndim == 5
        h = x.transpose(0, 1).reshape(b, k * x.shape[2], *x.shape[3:]) if image else x
        if image:  # oneDNN's grouped convolution and max-pooling are many times faster channels-last
            h = h.contiguous(memory_format=torch.channels_last)
        for stack in self.stacks:
            layer = stack.template
            if isinstance(layer, nn.Conv2d):
                weight = stack.weight.reshape(-1, *stack.weight.shape[2:])
                bias = getattr(stack, "bias", None)
                bias = None if bias is None else bias.reshape(-1)
                h = F.conv2d(h, weight, bias, layer.stride, layer.padding, layer.dilation, groups=k)
            elif isinstance(layer, nn.Linear):
                h = torch.bmm(h, stack.weight.transpose(1, 2))
                if getattr(stack, "bias", None) is not None:
                    h = h + stack.bias[:, None, :]
            elif isinstance(layer, nn.Flatten):
                if image:
                    h = h.reshape(b, k, -1).transpose(0, 1)
                    image = False
                else:
                    h = h.flatten(2)
            elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
                h = self._batch_norm(stack, layer, h, image)
            else:  # elementwise or pooling: per channel, so per seed
                h = layer(h)
            if image and h.requires_grad:  # gradients in the activations' layout: mixing the
                h.register_hook(_channels_last)  # two sends oneDNN's kernels down slow paths
        if image:
            h = h.reshape(b, k, -1, *h.shape[2:]).transpose(0, 1)
        return h

    def _batch_norm(self, stack, layer, h, image):
        k = self.k
        if not image:  # (K, B, F) -> (B, K * F): each seed's features are its own channels
            h = h.transpose(0, 1).reshape(h.shape[1], -1)
        flat = {name: None if getattr(stack, name, None) is None else getattr(stack, name).reshape(-1)
                for name in ("weight", "bias", "running_mean", "running_var")}
        out = F.batch_norm(h, flat["running_mean"], flat["running_var"], flat["weight"], flat["bias"],
                           self.training or not layer.track_running_stats, layer.momentum, layer.eps)
        if self.training and layer.track_running_stats:
            stack.num_batches_tracked += 1
        return out if image else out.reshape(out.shape[0], k, -1).transpose(0, 1)

    def model(self, index: int) -> nn.Sequential:
        """Seed ``index``'s network as an ordinary module (a copy with the current weights)."""
        index = check_int(index, "index", 0)
        if index >= self.k:
            raise ValueError(f"index must be below K = {self.k}, got {index}")
        model = copy.deepcopy(self.prototype)
        for leaf, stack in zip(_flat_layers(model), self.stacks):
            with torch.no_grad():
                for name, parameter in leaf.named_parameters(recurse=False):
                    parameter.copy_(getattr(stack, name)[index])
                for name, buffer in leaf.named_buffers(recurse=False):
                    if buffer is not None and buffer.ndim > 0:
                        buffer.copy_(getattr(stack, name)[index])
                    elif name == "num_batches_tracked":
                        buffer.copy_(stack.num_batches_tracked)
        return model.train(self.training)


def _build(make_model: Callable[[], nn.Module], seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return make_model()


def fit_classifier_seeds(make_model: Callable[[], nn.Sequential], images: torch.Tensor,
                         labels: torch.Tensor, seeds: Sequence[int], steps: int = 300,
                         batch: int = 64, lr: float = 3e-3, stacked: bool = True
                         ) -> tuple[list[nn.Module], list[list[float]]]:
    """``train.fit_classifier`` (plain mode) for every seed: seed s builds its model after
    ``torch.manual_seed(s)`` and draws its batches from a generator seeded with s. With
    ``stacked`` the seeds train together (``StackedSequential``), else one after another.
    Returns the K trained models and each seed's loss per step."""
    seeds = [check_int(s, "seeds", 0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    steps, lr = check_int(steps, "steps", 1), check_positive(lr, "lr")
    if labels.shape != (len(images),):
        raise ValueError(f"labels must be (N,) = ({len(images)},), got {tuple(labels.shape)}")
    models = [_build(make_model, s) for s in seeds]
    if not stacked:
        losses = [fit_classifier(m, images, labels, steps=steps, batch=batch, lr=lr, seed=s)
                  for m, s in zip(models, seeds)]
        return [m.eval() for m in models], losses
    n, batch = len(images), min(check_int(batch, "batch", 1), len(images))
    net = StackedSequential(models).to(images.device)
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    losses = [[] for _ in seeds]
    for _ in range(steps):
        idx = torch.stack([torch.randint(0, n, (batch,), generator=g) for g in generators])
        idx = idx.to(images.device)
        logits = net(images[idx])                                      # (K, B, classes)
        per_seed = F.cross_entropy(logits.flatten(0, 1), labels[idx].flatten(),
                                   reduction="none").view(len(seeds), batch).mean(dim=1)
        optimizer.zero_grad(set_to_none=True)
        per_seed.sum().backward()
        optimizer.step()
        for history, value in zip(losses, per_seed.tolist()):
            history.append(value)
    return [net.model(i).eval() for i in range(len(seeds))], losses
