"""scikit-learn's 8x8 handwritten digits as torch tensors (shipped with sklearn: offline)."""
from __future__ import annotations

import torch


def digits_tensors(test_fraction: float = 0.25, seed: int = 0):
    """sklearn's 8x8 digits as float32 tensors in [0, 1], split with stratification.

    Returns x_train: (N, 1, 8, 8), y_train: (N,), x_test, y_test (int64 labels).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32)[:, None]
    y = torch.tensor(digits.target, dtype=torch.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                              stratify=y)
    return x_tr, y_tr, x_te, y_te
