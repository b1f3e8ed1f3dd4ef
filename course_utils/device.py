"""Device choice and seeding, used in every notebook's setup cell."""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def get_device() -> torch.device:
    """Return CUDA if available, else Apple MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0, deterministic: bool = True) -> int:
    """Seed Python, NumPy and torch (all devices); return the seed.

    With ``deterministic=True`` cuDNN autotuning is switched off and torch is asked for
    deterministic kernels where one exists (``warn_only`` so nothing raises on CPU).
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    return seed
