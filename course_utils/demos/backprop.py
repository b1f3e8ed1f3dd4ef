"""Chapter 03 figures: losses, regression fits, XOR, gradient routing and checks, vanishing
gradients, dying ReLUs, width vs depth and the digits CNN's filters.

The ``show_*`` functions return a matplotlib Figure; ``show_xor_mlp`` and
``show_gradient_norms`` are the functions behind the chapter's widgets.
"""
from __future__ import annotations

from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from .. import layers
from .. import nn as cnn
from ..data.points import sample_target, xor_points
from ..validate import check_choice
from ..viz import MAGNITUDE_CMAP, show_image

CLASS_COLOURS = ("#2b6cb0", "#dd6b20")


# ---- losses and linear models ------------------------------------------------------------
def show_losses():
    """Regression losses against the residual, classification losses against the margin."""
    fig, (ax_r, ax_c) = plt.subplots(1, 2, figsize=(9, 3.3))
    r = np.linspace(-3, 3, 241)
    ax_r.plot(r, [layers.mse_loss(np.array([v]), np.zeros(1))[0] for v in r], label="squared")
    ax_r.plot(r, np.abs(r), label="absolute")
    ax_r.set(xlabel="residual  prediction - target", ylabel="loss", title="regression", ylim=(0, 5))
    m = np.linspace(-3, 3, 241)  # margin: z for a positive example
    bce = [layers.binary_cross_entropy_with_logits(np.array([v]), np.ones(1))[0] for v in m]
    ax_c.plot(m, bce, label="logistic (cross-entropy)")
    ax_c.plot(m, (m <= 0).astype(float), label="0-1 (not differentiable)")
    ax_c.plot(m, (1 - layers.sigmoid_forward(m)[0]) ** 2, label="squared error of sigmoid")
    ax_c.set(xlabel="score of the true class  z (label 1)", title="classification", ylim=(0, 3.5))
    for ax in (ax_r, ax_c):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _scatter_classes(ax, x, y) -> None:
    for k in (0, 1):
        ax.scatter(*x[y == k].T, s=12, c=CLASS_COLOURS[k], edgecolors="white", linewidths=0.3,
                   label=f"class {k}")


def _decision_regions(ax, predict: Callable[[np.ndarray], np.ndarray], x, steps: int = 150):
    lo, hi = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    ax.contourf(g0, g1, predict(grid).reshape(g0.shape), levels=[-0.5, 0.5, 1.5],
                colors=["#c6dcf3", "#fbdcc0"])
    ax.set_aspect("equal")


def show_linear_regression(x, y, model: cnn.LinearModel):
    """Data with the fitted line (left) and the loss per gradient-descent step (right)."""
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.3))
    ax.scatter(x[:, 0], y, s=12, label="data")
    grid = np.linspace(x.min(), x.max(), 2)[:, None]
    ax.plot(grid[:, 0], model.scores(grid), "C3",
            label=f"y = {model.w[0]:.2f} x + {model.b:.2f}")
    ax.set(xlabel="x", ylabel="y", title="linear regression by gradient descent")
    ax.legend(fontsize=8)
    ax_loss.semilogy(model.losses)
    ax_loss.set(xlabel="step", ylabel="mean squared error", title="loss")
    fig.tight_layout()
    return fig


def show_logistic_regression(x, y, model: cnn.LinearModel, title: str = "logistic regression"):
    """Decision regions of a logistic-regression model on 2-D points, and its loss curve."""
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.6))
    _decision_regions(ax, lambda g: (model.scores(g) > 0).astype(int), x)
    _scatter_classes(ax, x, y)
    acc = np.mean((model.scores(x) > 0) == y)
    ax.set_title(f"{title}: accuracy {acc:.1%}")
    ax.legend(fontsize=8, loc="upper right")
    ax_loss.plot(model.losses)
    ax_loss.set(xlabel="step", ylabel="binary cross-entropy", title="loss")
    fig.tight_layout()
    return fig


def show_xor_mlp(hidden: int = 8, lr: float = 0.5, steps: int = 500, seed: int = 0):
    """Train the numpy MLP on XOR points and draw its decision regions and loss curve."""
    x, y = xor_points(200, seed=seed)
    model = cnn.train_mlp(x, y, hidden=hidden, lr=lr, steps=steps, seed=seed)
    acc = np.mean(model.predict(x) == y)
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.6))
    _decision_regions(ax, model.predict, x)
    _scatter_classes(ax, x, y)
    ax.set_title(f"{hidden} hidden ReLUs, lr {lr:g}: accuracy {acc:.1%}")
    ax_loss.semilogy(model.losses)
    ax_loss.set(xlabel="step", ylabel="cross-entropy", title=f"loss (final {model.losses[-1]:.3f})")
    fig.tight_layout()
    return fig


# ---- layers: routing and gradient checks -------------------------------------------------
def show_pool_routing(seed: int = 0):
    """A 4x4 input, its 2x2 max-pool and where an all-ones upstream gradient lands."""
    x = np.random.default_rng(seed).integers(0, 10, size=(1, 1, 4, 4)).astype(float)
    x += np.arange(16).reshape(1, 1, 4, 4) * 1e-3  # break ties so every window has one max
    out, cache = layers.maxpool_forward(x, 2)
    dx = layers.maxpool_backward(np.ones_like(out), cache)
    fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
    for ax, img, title in zip(axes, (x[0, 0], out[0, 0], dx[0, 0]),
                              ("input x", "max-pool 2x2", "dL/dx for dL/dout = 1")):
        ax.imshow(img, cmap="Greys", vmin=0, vmax=max(img.max(), 1) * 1.6)
        for (i, j), v in np.ndenumerate(img):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=9)
    for ax in (axes[0], axes[2]):  # the four pooling windows
        ax.axhline(1.5, color="C3")
        ax.axvline(1.5, color="C3")
    fig.tight_layout()
    return fig


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
    """For every layer: the worst relative error of its backward against torch.autograd and
    against centred differences (h = 1e-5), and whether torch.autograd.gradcheck passes."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, forward, backward, torch_fn, inputs in _layer_cases(rng):
        out, cache = forward(*inputs)
        dout = rng.normal(size=np.shape(out))
        grads = backward(dout, cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        reference = layers.torch_gradients(torch_fn, inputs, dout)
        numeric = []
        for i, value in enumerate(inputs):
            def f(v, i=i):
                args = list(inputs)
                args[i] = v
                return forward(*args)[0]
            numeric.append(layers.numeric_gradient(f, value, dout=dout))
        tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
        rows.append({
            "layer": name,
            "forward vs torch": layers.relative_error(out, torch_fn(
                *[torch.tensor(a) for a in inputs]).detach().numpy()),
            "backward vs torch.autograd": max(layers.relative_error(g, r)
                                              for g, r in zip(grads, reference)),
            "backward vs numeric": max(layers.relative_error(g, n)
                                       for g, n in zip(grads, numeric)),
            "gradcheck": torch.autograd.gradcheck(layers.as_torch_function(forward, backward),
                                                  tensors),
        })
    return rows


def format_table(rows: Sequence[dict]) -> str:
    """Rows of equal keys as an aligned text table (floats in scientific notation)."""
    keys = list(rows[0])
    cells = [[f"{r[k]:.1e}" if isinstance(r[k], float) else str(r[k]) for k in keys]
             for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


# ---- deep nets: vanishing gradients and dying ReLUs ---------------------------------------
def gradient_norms(depth: int = 12, activation: str = "sigmoid", width: int = 32,
                   seed: int = 0) -> np.ndarray:
    """||dL/dW|| per Linear layer (input first) of a freshly He-initialised MLP with ``depth``
    hidden layers, for one batch of 256 random inputs (16 features) and random targets."""
    torch.manual_seed(seed)
    model = cnn.make_mlp(16, [width] * depth, 1, activation, init="he")
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.randn(256, 16, generator=gen), torch.randn(256, 1, generator=gen)
    return cnn.layer_gradient_norms(model, x, y)


def show_gradient_norms(depth: int = 12, activation: str = "sigmoid", seed: int = 0):
    """Per-layer gradient norms on a log scale; the chosen activation in bold, the others
    faint for comparison."""
    check_choice(activation, "activation", tuple(cnn.ACTIVATIONS))
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for i, act in enumerate(cnn.ACTIVATIONS):
        norms = gradient_norms(depth, act, seed=seed)
        chosen = act == activation
        ax.semilogy(np.arange(1, len(norms) + 1), norms, marker="o" if chosen else ".",
                    lw=2.2 if chosen else 1, alpha=1 if chosen else 0.35, color=f"C{i}",
                    label=f"{act}: first/last = {norms[0] / norms[-1]:.1e}")
    ax.set(xlabel="layer (1 = next to the input)", ylabel="||dL/dW||",
           title=f"gradient norm per layer, {depth} hidden layers")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def dead_relus_after_training(lrs: Sequence[float], init: str = "he", steps: int = 200,
                              seed: int = 0) -> dict[float, dict]:
    """Train a 4 x 64 ReLU MLP on the 1-D target with Adam at each learning rate.

    Returns {lr: {"dead": fraction of dead units per hidden layer, "loss": final MSE}};
    the entry lr = 0.0 describes the network before training.
    """
    x, y = (torch.tensor(a, dtype=torch.float32) for a in sample_target(256))
    result = {}
    for lr in (0.0, *lrs):
        torch.manual_seed(seed)
        model = cnn.make_mlp(1, [64] * 4, 1, "relu", init=init)
        if lr > 0:
            cnn.fit_full_batch(model, x, y, lr=lr, steps=steps)
        with torch.no_grad():
            loss = F.mse_loss(model(x), y).item()
        result[lr] = {"dead": cnn.dead_relu_fraction(model, x), "loss": loss}
    return result


def show_dead_relus(results: dict[str, dict[float, dict]]):
    """Dead fraction and final loss against the learning rate, one line per initialisation;
    dotted lines show the value before training."""
    fig, (ax_dead, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.3))
    for i, (name, by_lr) in enumerate(results.items()):
        lrs = [lr for lr in by_lr if lr > 0]
        for ax, key, value in ((ax_dead, "dead", lambda r: r["dead"].mean()),
                               (ax_loss, "loss", lambda r: r["loss"])):
            ax.semilogx(lrs, [value(by_lr[lr]) for lr in lrs], marker="o", color=f"C{i}",
                        label=name)
            ax.axhline(value(by_lr[0.0]), ls=":", color=f"C{i}", lw=1)
    ax_dead.set(xlabel="Adam learning rate", ylabel="fraction of dead ReLUs", ylim=(0, 1.02),
                title="dead units after training (dotted: at init)")
    ax_loss.set(xlabel="Adam learning rate", ylabel="final mean squared error", yscale="log",
                title="what the network learned")
    for ax in (ax_dead, ax_loss):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ---- width vs depth and the CNN -------------------------------------------------------------
def show_width_vs_depth(models: dict[str, torch.nn.Module], losses: dict[str, list[float]]):
    """Loss curves (left) and the fitted functions against the target (right)."""
    x, y = sample_target(256)
    fig, (ax_loss, ax_fit) = plt.subplots(1, 2, figsize=(10, 3.4))
    ax_fit.plot(x[:, 0], y[:, 0], "k", lw=3, alpha=0.3, label="target")
    with torch.no_grad():
        grid = torch.tensor(x, dtype=torch.float32)
        for name, model in models.items():
            device = next(model.parameters()).device
            label = f"{name} ({cnn.count_parameters(model)} params)"
            ax_loss.semilogy(losses[name], label=label)
            ax_fit.plot(x[:, 0], model(grid.to(device)).cpu().numpy()[:, 0], label=label)
    ax_loss.set(xlabel="Adam step", ylabel="mean squared error", title="training loss")
    ax_fit.set(xlabel="x", title="fit after training")
    for ax in (ax_loss, ax_fit):
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_filters(weight, size: int = 16):
    """First-layer filters (top, zero = white) and their centred Fourier amplitude (bottom).

    weight: (F, 1, KH, KW), e.g. ``DigitsCNN().conv1.weight``.
    """
    spectra = cnn.filter_spectra(weight, size=size)
    filters = weight.detach().cpu().numpy()[:, 0] if hasattr(weight, "detach") else weight[:, 0]
    n = len(filters)
    fig, axes = plt.subplots(2, n, figsize=(1.35 * n, 3.0), squeeze=False)
    for i in range(n):
        show_image(axes[0, i], filters[i], title=f"filter {i}", signed=True)
        show_image(axes[1, i], spectra[i], cmap=MAGNITUDE_CMAP)
    axes[1, 0].set_ylabel("|FFT|", fontsize=9)
    fig.suptitle("first-layer filters and their amplitude spectra (centre = low frequency)",
                 fontsize=10)
    fig.tight_layout()
    return fig
