"""What K seeds cost against one: the stacked trainer beside the plain loop, on one thread.

``seeds_table`` trains a small MLP and a small CNN on random 8x8 images for ``steps`` Adam
steps of ``batch`` examples: one seed, K seeds stacked (``stacked.fit_classifier_seeds``) and K
seeds one after another (the loop), and gives each time as a multiple of one seed's. Times
depend on the machine; nothing here asserts a speed (``make bench`` prints the table).
"""
from __future__ import annotations

import time

import torch
from torch import nn

from ..validate import check_int
from .stacked import fit_classifier_seeds


def _mlp() -> nn.Sequential:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                         nn.Linear(64, 10))


def _cnn() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(32, 10))


MODELS = {"MLP 64-64-64-10": _mlp, "CNN conv16-conv32-linear": _cnn}


def seeds_table(k: int = 5, steps: int = 150, batch: int = 64, n: int = 1000) -> list[dict]:
    """One row per model: seconds for one seed, and K stacked and K looped seeds as multiples
    of it (one torch thread, restored after)."""
    k, steps = check_int(k, "k", 2), check_int(steps, "steps", 1)
    batch, n = check_int(batch, "batch", 1), check_int(n, "n", 2)
    g = torch.Generator().manual_seed(0)
    images, labels = torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        for name, make in MODELS.items():
            fit_classifier_seeds(make, images, labels, [0], steps=2, batch=batch)  # warm-up
            seconds = {}
            for label, seed_list, together in (("one", [0], True), ("stacked", list(range(k)), True),
                                               ("loop", list(range(k)), False)):
                start = time.perf_counter()
                fit_classifier_seeds(make, images, labels, seed_list, steps=steps, batch=batch,
                                     stacked=together)
                seconds[label] = time.perf_counter() - start
            rows.append({"model": name, "one seed s": seconds["one"],
                         f"{k} stacked / one": seconds["stacked"] / seconds["one"],
                         f"{k} looped / one": seconds["loop"] / seconds["one"]})
    finally:
        torch.set_num_threads(threads)
    return rows
