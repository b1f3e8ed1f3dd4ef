"""Gradient checking: is a hand-written backward pass right?

Three independent references, all in float64:

* :func:`numeric_gradient` -- centred differences (f(x + h) - f(x - h)) / 2h, one entry at a
  time; needs nothing but the forward pass;
* :func:`torch_gradients` -- torch.autograd on the same computation written with torch;
* :func:`as_torch_function` -- wraps a (forward, backward) pair so that
  ``torch.autograd.gradcheck`` can test our backward against its own finite differences.

:func:`relative_error` compares the results and :func:`layer_gradient_checks` runs all three
on every layer of :mod:`course_utils.learning.layers` (the table of chapter 03).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..validate import as_float_array, check_int, check_positive
from . import layers


def _check_callable(fn, name: str) -> Callable:
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    return fn


def numeric_gradient(f: Callable[[np.ndarray], float | np.ndarray], x, h: float = 1e-5,
                     dout=None) -> np.ndarray:
    """Centred-difference gradient of f at x, one entry at a time: (f(x+h) - f(x-h)) / 2h.

    f maps an array shaped like x to a scalar, or to an array; then ``dout`` (shaped like
    f(x)) weights the outputs and the gradient of sum(f(x) * dout) is returned. x: any shape,
    copied to float64 (the caller's x is not touched). Error is O(h^2) until round-off
    (~eps / h) takes over.
    """
    _check_callable(f, "f")
    x = np.array(as_float_array(x, "x"))  # a float64 copy we may perturb
    h = check_positive(h, "h")
    if dout is not None:
        dout = as_float_array(dout, "dout")

    def scalar(v: np.ndarray) -> float:
        out = np.asarray(f(v), dtype=np.float64)
        if dout is None:
            if out.size != 1:
                raise ValueError(f"f returned shape {out.shape}; pass dout to weight it")
            return float(out.reshape(()))
        if out.shape != dout.shape:
            raise ValueError(f"dout must have the shape of f(x) {out.shape}, got {dout.shape}")
        return float(np.sum(out * dout))

    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        plus = scalar(x)
        x[idx] = old - h
        minus = scalar(x)
        x[idx] = old
        grad[idx] = (plus - minus) / (2.0 * h)
    return grad


def relative_error(a, b) -> float:
    """max |a - b| / max(|a|, |b|) over all entries (0 when both are all zero).

    a, b: arrays of the same shape -> a number; ~1e-10 means agreement, ~1 a bug.
    """
    a = as_float_array(a, "a", allow_empty=True)
    b = as_float_array(b, "b", allow_empty=True)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def torch_gradients(fn: Callable, inputs, dout) -> list[np.ndarray]:
    """Reference gradients from torch.autograd: d sum(fn(*inputs) * dout) / d inputs.

    fn takes and returns float64 torch tensors (e.g. torch.nn.functional.linear);
    inputs: a list of numpy arrays; dout: shaped like fn's output (or a scalar for a loss).
    Returns one numpy gradient per input (zeros where fn does not use it).
    """
    _check_callable(fn, "fn")
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise TypeError(f"inputs must be a non-empty list of arrays, got {type(inputs).__name__}")
    tensors = [torch.tensor(as_float_array(a, f"inputs[{i}]"), requires_grad=True)
               for i, a in enumerate(inputs)]
    out = fn(*tensors)
    dout = as_float_array(dout, "dout")
    if dout.size != out.numel():
        raise ValueError(f"dout must have fn's output shape {tuple(out.shape)}, got {dout.shape}")
    out.backward(torch.as_tensor(dout).reshape(out.shape))
    return [t.grad.numpy() if t.grad is not None else np.zeros(t.shape) for t in tensors]


def as_torch_function(forward: Callable, backward: Callable) -> Callable:
    """Wrap a (forward, backward) pair as a torch.autograd.Function whose backward is ours,
    so ``torch.autograd.gradcheck`` can compare it with its own finite differences.

    forward(*arrays) -> (out, cache); backward(dout, cache) -> one gradient or a tuple.
    The returned function takes and returns float64 tensors (any device; numpy runs on the CPU).
    """
    _check_callable(forward, "forward")
    _check_callable(backward, "backward")

    class Layer(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *tensors):
            ctx.device = tensors[0].device
            out, ctx.cache = forward(*[t.detach().cpu().numpy() for t in tensors])
            return torch.from_numpy(np.ascontiguousarray(out)).to(ctx.device)

        @staticmethod
        def backward(ctx, dout):
            grads = backward(dout.detach().cpu().numpy(), ctx.cache)
            grads = grads if isinstance(grads, tuple) else (grads,)
            return tuple(torch.from_numpy(np.ascontiguousarray(g)).to(ctx.device) for g in grads)

    return Layer.apply


# ---- every layer of course_utils.learning.layers, checked three ways -----------------------------
def _layer_cases(rng: np.random.Generator):
    """(name, forward(*arrays), backward, torch reference, input arrays) for every layer."""
    mask = layers.dropout_mask((4, 6), 0.5, seed=1)
    stats = layers.RunningStats(rng.normal(size=3), rng.uniform(0.5, 2, size=3))
    bn_eval = (torch.tensor(stats.mean), torch.tensor(stats.var))
    y = rng.integers(0, 5, size=4)
    return [
        ("linear", layers.linear_forward, layers.linear_backward, F.linear,
         [rng.normal(size=(4, 5)), rng.normal(size=(3, 5)), rng.normal(size=3)]),
        ("conv2d (stride 2, pad 1)", lambda x, w, b: layers.conv2d_forward(x, w, b, 2, 1),
         layers.conv2d_backward, lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
         [rng.normal(size=(2, 3, 6, 6)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)]),
        ("max-pool 2x2", lambda x: layers.maxpool_forward(x, 2), layers.maxpool_backward,
         lambda x: F.max_pool2d(x, 2), [rng.normal(size=(2, 2, 6, 6))]),
        ("relu", layers.relu_forward, layers.relu_backward, F.relu, [rng.normal(size=(4, 6))]),
        ("sigmoid", layers.sigmoid_forward, layers.sigmoid_backward, torch.sigmoid,
         [rng.normal(size=(4, 6))]),
        ("batch norm (train)",
         lambda x, g, b: layers.batchnorm_forward(x, g, b, layers.RunningStats.create(3)),
         layers.batchnorm_backward,
         lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True),
         [rng.normal(size=(4, 3, 2, 2)), rng.normal(size=3), rng.normal(size=3)]),
        ("batch norm (eval)",
         lambda x, g, b: layers.batchnorm_forward(x, g, b, stats, train=False),
         layers.batchnorm_backward,
         lambda x, g, b: F.batch_norm(x, *bn_eval, g, b, training=False),
         [rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=3)]),
        ("dropout p=0.5 (fixed mask)", lambda x: layers.dropout_forward(x, 0.5, mask=mask),
         layers.dropout_backward, lambda x: x * torch.tensor(mask) / 0.5,
         [rng.normal(size=(4, 6))]),
        ("softmax + cross-entropy", lambda s: _loss_as_layer(s, y), _loss_backward,
         lambda s: F.cross_entropy(s, torch.tensor(y)), [rng.normal(size=(4, 5))]),
    ]


def _loss_as_layer(scores, y):
    loss, dscores = layers.softmax_cross_entropy(scores, y)
    return np.array(loss), dscores


def _loss_backward(dout, dscores):
    return np.asarray(dout) * dscores


def layer_gradient_checks(seed: int = 0) -> list[dict]:
    """For every layer: the relative error of its forward against torch, the worst relative
    error of its backward against torch.autograd and against centred differences (h = 1e-5),
    and whether torch.autograd.gradcheck passes. One dict per layer."""
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    rows = []
    for name, forward, backward, torch_fn, inputs in _layer_cases(rng):
        out, cache = forward(*inputs)
        dout = rng.normal(size=np.shape(out))
        grads = backward(dout, cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        reference = torch_gradients(torch_fn, inputs, dout)
        numeric = []
        for i, value in enumerate(inputs):
            def f(v, i=i):
                args = list(inputs)
                args[i] = v
                return forward(*args)[0]
            numeric.append(numeric_gradient(f, value, dout=dout))
        tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
        rows.append({
            "layer": name,
            "forward vs torch": relative_error(out, torch_fn(
                *[torch.tensor(a) for a in inputs]).detach().numpy()),
            "backward vs torch.autograd": max(relative_error(g, r)
                                              for g, r in zip(grads, reference)),
            "backward vs numeric": max(relative_error(g, n) for g, n in zip(grads, numeric)),
            "gradcheck": torch.autograd.gradcheck(as_torch_function(forward, backward), tensors),
        })
    return rows


CHECK_COLUMNS = [("layer", "layer", ""), ("forward vs torch", "forward vs torch", ".1e"),
                 ("backward vs torch.autograd", "backward vs autograd", ".1e"),
                 ("backward vs numeric", "backward vs numeric", ".1e"),
                 ("gradcheck", "gradcheck", "")]
"""Columns for ``course_utils.viz.format_table(layer_gradient_checks(), CHECK_COLUMNS)``."""
