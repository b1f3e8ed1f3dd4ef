"""Device choice and seeding, used in every notebook's setup cell."""
from __future__ import annotations

import os
import random
import warnings

import numpy as np
import torch

from .evidence.seeds import STRIDE, base_seed
from .validate import check_int, env_int


def get_device() -> torch.device:
    """Return CUDA if available, else Apple MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of ``model``'s first parameter (or buffer); the CPU for a module with none."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


THREADS_ENV = "COURSE_TORCH_THREADS"


def set_torch_threads(default: int = 1) -> int:
    """Set the number of threads torch's CPU kernels use and return it: ``COURSE_TORCH_THREADS``
    where it is set (for example 2 on a laptop that runs one notebook alone), else
    ``default``. The notebooks default to one: their networks are small, and the test suite
    runs two notebooks side by side on two cores."""
    threads = env_int(THREADS_ENV, 1)
    if threads is None:
        threads = check_int(default, "default", 1)
    torch.set_num_threads(threads)
    return threads


def seed_everything(seed: int = 0, deterministic: bool = True) -> int:
    """Seed Python, NumPy and torch (all devices) with ``seed`` moved by the run's base seed
    (``COURSE_SEED``, see ``evidence.seeds``: ``seed + 1000 * base``); return the seed used.

    With ``deterministic=True`` cuDNN autotuning is switched off and torch is asked for
    deterministic kernels where one exists (``warn_only`` so nothing raises on CPU).
    """
    seed = check_int(seed, "seed", 0) + STRIDE * base_seed()
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
        # Max-unpooling has no kernel flagged deterministic, but indices from max-pooling
        # only ever send copies of one input value to a position: the result cannot vary.
        warnings.filterwarnings("ignore", message="max_unpooling2d_forward_out does not have "
                                "a deterministic implementation")
    return seed
