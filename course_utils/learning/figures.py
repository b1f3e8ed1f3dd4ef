"""Chapter 03 figures: losses, regression fits, XOR, the computational graph, gradient
routing, dropout, convolution as a matrix, vanishing gradients, dying ReLUs, width vs depth
and the digits CNN's filters.

The ``show_*`` functions and ``draw_graph`` return a matplotlib Figure; ``show_xor_mlp``,
``show_dropout`` and ``show_gradient_norms`` are the functions behind the chapter's widgets.
The experiments they draw live in :mod:`course_utils.networks` and :mod:`course_utils.learning.layers`.
"""
from __future__ import annotations

from typing import Callable

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import networks
from ..data.points import sample_target, xor_points
from ..device import model_device
from ..model_size import count_parameters
from ..validate import as_float_array, check_choice, check_int
from ..viz import MAGNITUDE_CMAP, show_image
from . import diagnostics, layers, numpy_models
from .autodiff import Value, topological_order

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


def _check_model(model) -> None:
    if not isinstance(model, numpy_models.LinearModel):
        raise TypeError(f"model must be a numpy_models.LinearModel (from fit_linear_regression or "
                        f"fit_logistic_regression), got {type(model).__name__}")


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


def show_linear_regression(x, y, model: numpy_models.LinearModel):
    """Data with the fitted line (left) and the loss per gradient-descent step (right)."""
    _check_model(model)
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


def show_logistic_regression(x, y, model: numpy_models.LinearModel, title: str = "logistic regression"):
    """Decision regions of a logistic-regression model on 2-D points, and its loss curve."""
    _check_model(model)
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
    model = numpy_models.train_mlp(x, y, hidden=hidden, lr=lr, steps=steps, seed=seed)
    acc = np.mean(model.predict(x) == y)
    fig, (ax, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.6))
    _decision_regions(ax, model.predict, x)
    _scatter_classes(ax, x, y)
    ax.set_title(f"{hidden} hidden ReLUs, lr {lr:g}: accuracy {acc:.1%}")
    ax_loss.semilogy(model.losses)
    ax_loss.set(xlabel="step", ylabel="cross-entropy", title=f"loss (final {model.losses[-1]:.3f})")
    fig.tight_layout()
    return fig


# ---- the computational graph of course_utils.learning.autodiff ---------------------------------
def _layout(order: list[Value]) -> dict[int, tuple[float, float]]:
    """(x, y) of every value box. Values sit in even columns (2 x longest path from the
    inputs); op circles go in the odd column in front of their result. An input is moved
    right to just before its first consumer, and each box is placed near its consumers."""
    consumers: dict[int, list[Value]] = {id(node): [] for node in order}
    level: dict[int, int] = {}
    for node in order:
        for child in node.inputs:
            consumers[id(child)].append(node)
        level[id(node)] = 1 + max((level[id(c)] for c in node.inputs), default=-1)
    for node in reversed(order):  # inputs: one step before their earliest consumer
        if not node.inputs:
            users = consumers[id(node)]
            level[id(node)] = min(level[id(u)] for u in users) - 1 if users else 0
    position: dict[int, tuple[float, float]] = {}
    for col in sorted(set(level.values()), reverse=True):  # right to left: consumers first
        nodes = [n for n in order if level[id(n)] == col]
        wanted = {id(n): sum(position[id(u)][1] for u in consumers[id(n)])
                  / max(len(consumers[id(n)]), 1) for n in nodes}
        nodes.sort(key=lambda n: wanted[id(n)])
        ys: list[float] = []
        for n in nodes:  # keep the wished-for height, but at least one unit apart
            ys.append(wanted[id(n)] if not ys else max(wanted[id(n)], ys[-1] + 1.0))
        shift = sum(wanted.values()) / len(nodes) - sum(ys) / len(ys)
        for n, y in zip(nodes, ys):
            position[id(n)] = (2.0 * col, y + shift)
    return position


def draw_graph(root: Value, ax=None, title: str | None = None):
    """Draw the computational graph behind ``root``: boxes hold label, value and gradient,
    circles the operation. Inputs are on the left, the output on the right.

    Run ``root.backward()`` first to see gradients. Returns the matplotlib Figure.
    """
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, got {type(root).__name__}")
    order = topological_order(root)
    position = _layout(order)
    xs = [p[0] for p in position.values()]
    ys = [p[1] for p in position.values()]
    if ax is None:
        _, ax = plt.subplots(figsize=(0.9 * (max(xs) - min(xs)) + 2.0,
                                      0.9 * (max(ys) - min(ys)) + 1.6))
    arrow = dict(arrowstyle="-|>", color="0.45", lw=1.0, shrinkA=0, shrinkB=0)
    boxes = {}  # inputs come before their consumers in `order`, so their boxes exist
    for node in order:
        x, y = position[id(node)]
        text = (f"{node.label}\n" if node.label else "") + \
            f"value {node.data:.3g}\ngrad {node.grad:.3g}"
        box = boxes[id(node)] = ax.text(x, y, text, ha="center", va="center", fontsize=8, zorder=2,
                      bbox=dict(boxstyle="round,pad=0.35", fc="#e8f0fb", ec="#3a6ea5"))
        if not node.op:
            continue
        op_x, op_y = x - 1.0, y
        circle = ax.text(op_x, op_y, node.op, ha="center", va="center", fontsize=9, zorder=2,
                         bbox=dict(boxstyle="circle,pad=0.3", fc="#fdf1dc", ec="#c98a1b"))
        ax.annotate("", xy=(x, y), xytext=(op_x, op_y), zorder=3,
                    arrowprops=dict(arrow, patchA=circle.get_bbox_patch(),
                                    patchB=box.get_bbox_patch()))
        for child in node.inputs:
            ax.annotate("", xy=(op_x, op_y), xytext=position[id(child)], zorder=3,
                        arrowprops=dict(arrow, patchA=boxes[id(child)].get_bbox_patch(),
                                        patchB=circle.get_bbox_patch()))
    ax.set_xlim(min(xs) - 0.9, max(xs) + 0.9)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.axis("off")
    if title:
        ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


# ---- layers: routing and gradient checks -------------------------------------------------
def show_pool_routing(seed: int = 0):
    """A 4x4 input, its 2x2 max-pool and where an all-ones upstream gradient lands."""
    x = np.random.default_rng(check_int(seed, "seed", 0)).integers(0, 10, size=(1, 1, 4, 4)).astype(float)
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


def show_dropout(p: float = 0.3, seed: int = 0):
    """Dropout on a batch of 200 x 50 activations (mean 1): the first 20 rows after dropout
    (left, zeros white) and the batch mean before, after and in evaluation mode (right)."""
    x = np.random.default_rng(0).normal(1.0, 1.0, size=(200, 50))
    dropped, _ = layers.dropout_forward(x, p, seed=seed)
    evaluated, _ = layers.dropout_forward(x, p, train=False)
    zero_fraction = float(np.mean(dropped == 0))
    fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(9, 3.0),
                                         gridspec_kw={"width_ratios": [2.2, 1]})
    limit = np.abs(dropped[:20]).max()
    ax_img.imshow(dropped[:20], cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax_img.set(xlabel="unit", ylabel="sample",
               title=f"p = {p:g}: {zero_fraction:.1%} zeroed, survivors x {1 / (1 - p):.2f}")
    means = [x.mean(), dropped.mean(), evaluated.mean()]
    ax_bar.bar(["input", "train", "eval"], means, color=["0.6", "C0", "C2"])
    ax_bar.set(ylabel="mean activation", title="the mean is kept", ylim=(0, 1.5))
    fig.tight_layout()
    return fig


def show_conv_matrix(size: int = 4, kernel: int = 3, stride: int = 1, pad: int = 0,
                     seed: int = 0):
    """One 1-channel convolution as a matrix: the image x (size x size), the kernel, the
    matrix M of ``layers.conv2d_matrix`` (one row per output pixel) and M @ x.ravel()
    reshaped, which equals the convolution layer's output."""
    size, kernel = check_int(size, "size", 1), check_int(kernel, "kernel", 1)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    x = rng.integers(0, 5, size=(1, 1, size, size)).astype(float)
    w = rng.integers(-2, 3, size=(1, 1, kernel, kernel)).astype(float)
    matrix = layers.conv2d_matrix(w, (1, size, size), stride=stride, pad=pad)
    out, _ = layers.conv2d_forward(x, w, np.zeros(1), stride=stride, padding=pad)
    product = (matrix @ x.ravel()).reshape(out.shape[2:])
    fig, axes = plt.subplots(1, 4, figsize=(11, 3.2),
                             gridspec_kw={"width_ratios": [1, 0.8, 2.6, 0.8]})
    panels = [(x[0, 0], "image x"), (w[0, 0], "kernel w"),
              (matrix, f"M: {matrix.shape[0]} x {matrix.shape[1]}"), (product, "M @ x, reshaped")]
    for ax, (image, title) in zip(axes, panels):
        limit = max(np.abs(image).max(), 1.0)
        ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[2].set(xlabel="input pixel", ylabel="output pixel")
    fig.tight_layout()
    return fig


# ---- deep nets: vanishing gradients and dying ReLUs ---------------------------------------
def show_gradient_norms(depth: int = 12, activation: str = "sigmoid", seed: int = 0):
    """Per-layer gradient norms on a log scale; the chosen activation in bold, the others
    faint for comparison."""
    check_choice(activation, "activation", tuple(networks.ACTIVATIONS))
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    for i, act in enumerate(networks.ACTIVATIONS):
        norms = diagnostics.gradient_norms(depth, act, seed=seed)
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


def show_dead_relus(results: dict[str, dict[float, dict]]):
    """Dead fraction and final loss against the learning rate, one line per initialisation;
    dotted lines show the value before training."""
    if (not isinstance(results, dict) or not results
            or not all(isinstance(v, dict) and 0.0 in v for v in results.values())):
        raise TypeError("results must map a name to the dict of "
                        "diagnostics.dead_relus_after_training (with the lr 0.0 entry)")
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
    if not isinstance(models, dict) or not isinstance(losses, dict) or set(models) != set(losses):
        raise TypeError("models and losses must be dicts with the same names")
    x, y = sample_target(256)
    fig, (ax_loss, ax_fit) = plt.subplots(1, 2, figsize=(10, 3.4))
    ax_fit.plot(x[:, 0], y[:, 0], "k", lw=3, alpha=0.3, label="target")
    with torch.no_grad():
        grid = torch.tensor(x, dtype=torch.float32)
        for name, model in models.items():
            device = model_device(model)
            label = f"{name} ({count_parameters(model)} params)"
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
    weight = as_float_array(weight.detach().cpu().numpy() if hasattr(weight, "detach") else weight,
                            "weight", ndim=4)
    if weight.shape[1] != 1:
        raise ValueError(f"weight must be (F, 1, KH, KW), one input channel; got {weight.shape}")
    spectra = diagnostics.filter_spectra(weight, size=size)
    filters = weight[:, 0]
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
