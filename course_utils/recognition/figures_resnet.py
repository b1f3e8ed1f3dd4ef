"""Figures for plain vs residual deep networks (chapter 04, the degradation problem)."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def show_degradation(histories: Mapping[str, Mapping[str, Sequence[float]]],
                     chance: float = float(np.log(10))) -> plt.Figure:
    """Left: training-loss curve per network (``train_on_digits`` histories), with the loss
    of guessing (``chance``) dashed. Right, when the histories hold "first_layer_grad": that
    gradient norm at initialisation per network (log scale)."""
    grads = {name: h["first_layer_grad"][0] for name, h in histories.items()
             if "first_layer_grad" in h}
    cols = 2 if grads else 1
    fig, axes = plt.subplots(1, cols, figsize=(5.2 * cols, 3.4), squeeze=False)
    ax = axes[0, 0]
    for name, history in histories.items():
        loss = history["train_loss"]
        ax.plot(np.arange(1, len(loss) + 1), loss, marker=".", label=name)
    ax.axhline(chance, color="grey", lw=0.8, ls="--", label=f"chance: {chance:.2f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=8)
    if grads:
        ax = axes[0, 1]
        ax.bar(list(grads), list(grads.values()), color="tab:blue")
        ax.set_yscale("log")
        ax.set_ylabel("first-layer gradient norm at init")
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    return fig
