"""scikit-learn's 8x8 handwritten digits as torch tensors (shipped with sklearn: offline)."""
from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from ..validate import check_int


def digits_tensors(test_fraction: float = 0.25, seed: int = 0):
    """sklearn's 8x8 digits as float32 tensors in [0, 1], split with stratification.

    Returns x_train: (N, 1, 8, 8), y_train: (N,), x_test, y_test (int64 labels).
    """

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32)[:, None]
    y = torch.tensor(digits.target, dtype=torch.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                              stratify=y)
    return x_tr, y_tr, x_te, y_te


def digits_on_canvas(test_fraction: float = 0.25, seed: int = 0, scale: int = 2, margin: int = 2):
    """sklearn's digits enlarged ``scale`` times (nearest neighbour) with a dark ``margin``.

    Returns x_train: (N, 1, S, S), y_train, x_test, y_test with S = 8 * scale + 2 * margin
    (20 by default), the same stratified split as ``digits_tensors``.
    """
    scale, margin = check_int(scale, "scale", 1), check_int(margin, "margin", 0)
    x_tr, y_tr, x_te, y_te = digits_tensors(test_fraction, seed)

    def enlarge(x):
        x = x.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)
        return torch.nn.functional.pad(x, (margin,) * 4)

    return enlarge(x_tr), y_tr, enlarge(x_te), y_te


def frame_by_class(x: torch.Tensor, labels: torch.Tensor, width: int = 2, classes: int = 10
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Plant a shortcut: paint a ``width``-pixel border whose grey level encodes the class,
    0.25 + 0.5 * label / (classes - 1) (from 0.25 for class 0 to 0.75 for the last class).

    x: (N, C, H, W), labels: (N,). Returns (a framed copy of x, the cue region: (H, W) bool,
    True on the border).
    """
    width, classes = check_int(width, "width", 1), check_int(classes, "classes", 2)
    if x.ndim != 4 or labels.shape != x.shape[:1]:
        raise ValueError(f"x must be (N, C, H, W) and labels (N,), got {tuple(x.shape)} and "
                         f"{tuple(labels.shape)}")
    if 2 * width >= min(x.shape[2:]):
        raise ValueError(f"width must be < half the image size {tuple(x.shape[2:])}, got {width}")
    if labels.min() < 0 or labels.max() >= classes:
        raise ValueError(f"labels must lie in [0, {classes - 1}], got {labels.min()}..{labels.max()}")
    region = torch.ones(x.shape[2:], dtype=torch.bool)
    region[width:-width, width:-width] = False
    level = (0.25 + 0.5 * labels.to(x.dtype) / (classes - 1))[:, None, None, None]
    return torch.where(region, level.expand_as(x), x), region



def unpaired_domains(seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Two unpaired image domains built from the training digits of ``digits_tensors(seed=seed)``.

    Domain A: the first half, as they are (light strokes on black). Domain B: the *other*
    half, inverted (1 - x: dark strokes on white). No image of A has its counterpart in B, so
    a model sees no pairs. The notebook keeps what the model does not see: B's labels and the
    hidden pairing (B's originals; the counterpart of an A image a is 1 - a).
    Returns a: (Na, 1, 8, 8), a_labels, b: (Nb, 1, 8, 8), b_labels, b_originals: (Nb, 1, 8, 8).
    """
    x_tr, y_tr, _, _ = digits_tensors(seed=seed)
    half = len(x_tr) // 2
    return x_tr[:half], y_tr[:half], 1.0 - x_tr[half:], y_tr[half:], x_tr[half:]
