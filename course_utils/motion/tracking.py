"""Self-supervised tracking by colorization (chapter 06), after Vondrick et al. 2018.

A network embeds every pixel of a *grey* frame. To colour a target frame it copies colours
from a reference frame, each target pixel j taking the attention-weighted mix
``sum_i softmax_i(f_i . g_j / T) colour_i`` (``flow.attention_copy``). Colours are free
labels, so training needs no annotation; to copy the right colour the embedding must find
the corresponding pixel, and the same pointers then carry anything else across frames: a
segmentation mask given in the first frame is propagated frame by frame.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..device import model_device
from ..metrics import confusion_matrix, iou_from_confusion
from ..train import fit_steps
from ..validate import check_int, check_positive
from .colorization import pixel_network
from .flow import attention_copy

Tensor = torch.Tensor


class PixelEmbedder(nn.Module):
    """Grey frames (N, 1, H, W) -> unit-length pixel embeddings (N, dim, H, W)."""

    def __init__(self, dim: int = 16, hidden: int = 32):
        super().__init__()
        self.net = pixel_network(dim, hidden)     # the colorizer's architecture

    def forward(self, grey: Tensor) -> Tensor:
        return F.normalize(self.net(grey), dim=1)


def pixel_table(embedding: Tensor, sigma: float | None, temperature: float, role: str) -> Tensor:
    """Flatten (N, D, H, W) embeddings to (N, H W, D') rows for ``attention_copy``.

    With ``sigma`` (pixels) the rows get 3 extra coordinates that turn the dot product into
    ``f_i . g_j - T |p_i - p_j|^2 / (2 sigma^2)`` (+ a term that depends on j only, which the
    softmax over i ignores): a Gaussian prior that pointers stay near their own position.
    ``role`` is "ref" (the i side) or "target" (the j side).
    """
    n, _, h, w = embedding.shape
    rows = embedding.flatten(2).transpose(1, 2)
    if sigma is None:
        return rows
    alpha = check_positive(temperature, "temperature") / (2 * check_positive(sigma, "sigma") ** 2)
    r, c = torch.meshgrid(torch.arange(h, dtype=rows.dtype, device=rows.device),
                          torch.arange(w, dtype=rows.dtype, device=rows.device), indexing="ij")
    pos = torch.stack([r.flatten(), c.flatten()], 1)                         # (H W, 2)
    if role == "ref":
        extra = torch.cat([2 * alpha * pos, -alpha * (pos ** 2).sum(1, keepdim=True)], 1)
    else:
        extra = torch.cat([pos, torch.ones_like(pos[:, :1])], 1)
    return torch.cat([rows, extra.expand(n, -1, -1)], 2)


def copy_from_reference(ref_embedding: Tensor, target_embedding: Tensor, ref_values: Tensor,
                        temperature: float, sigma: float | None = None) -> Tensor:
    """Per-pixel attention copy between two frames of embeddings.

    ref_embedding, target_embedding: (N, D, H, W); ref_values: (N, K, H, W) (one-hot colours,
    mask probabilities, ...) -> (N, K, H, W) values of the target frame. ``sigma``: optional
    locality prior in pixels (``pixel_table``).
    """
    n, _, h, w = target_embedding.shape
    if ref_values.shape[0] != n or ref_values.shape[2:] != ref_embedding.shape[2:]:
        raise ValueError(f"ref_values must be (N, K, H, W) matching ref_embedding "
                         f"{tuple(ref_embedding.shape)}, got {tuple(ref_values.shape)}")
    copied = attention_copy(pixel_table(ref_embedding, sigma, temperature, "ref"),
                            pixel_table(target_embedding, sigma, temperature, "target"),
                            ref_values.flatten(2).transpose(1, 2), temperature)
    return copied.transpose(1, 2).reshape(n, -1, h, w).contiguous()


def train_by_colorization(model: nn.Module, grey: Tensor, colour_bins: Tensor, num_bins: int,
                          steps: int = 200, batch_size: int = 8, max_gap: int = 3,
                          temperature: float = 0.05, sigma: float | None = None,
                          target_pixels: int = 256, lr: float = 3e-3, seed: int = 0
                          ) -> list[float]:
    """Train ``model`` to colour frame t + gap by copying the colours of frame t.

    grey: (S, T, 1, H, W) grey sequences; colour_bins: (S, T, H, W) int64 quantized colours
    in [0, num_bins). The gap is drawn from 1 to ``max_gap``; the loss is the cross-entropy of
    the copied colour distribution against the target frame's true bins, at
    ``target_pixels`` random pixels of each target frame (all reference pixels are used).
    Returns the per-step losses.
    """
    steps, num_bins = check_int(steps, "steps", 1), check_int(num_bins, "num_bins", 1)
    max_gap = check_int(max_gap, "max_gap", 1)
    if grey.ndim != 5 or colour_bins.shape != grey.shape[:2] + grey.shape[3:]:
        raise ValueError(f"grey must be (S, T, 1, H, W) and colour_bins (S, T, H, W), got "
                         f"{tuple(grey.shape)} and {tuple(colour_bins.shape)}")
    frames, pixels = grey.shape[1], grey.shape[3] * grey.shape[4]
    if frames <= max_gap:
        raise ValueError(f"sequences need more than max_gap={max_gap} frames, got {frames}")
    target_pixels = min(check_int(target_pixels, "target_pixels", 1), pixels)
    device = model_device(model)

    def batch_loss(generator):
        seq = torch.randint(0, grey.shape[0], (batch_size,), generator=generator)
        ref = torch.randint(0, frames - max_gap, (batch_size,), generator=generator)
        tgt = ref + torch.randint(1, max_gap + 1, (batch_size,), generator=generator)
        pick = torch.randperm(pixels, generator=generator)[:target_pixels]
        embed = model(torch.cat([grey[seq, ref], grey[seq, tgt]]).to(device))
        one_hot = F.one_hot(colour_bins[seq, ref].flatten(1), num_bins).float().to(device)
        copied = attention_copy(pixel_table(embed[:batch_size], sigma, temperature, "ref"),
                                pixel_table(embed[batch_size:], sigma, temperature,
                                            "target")[:, pick], one_hot, temperature)
        truth = colour_bins[seq, tgt].flatten(1)[:, pick].to(device)
        return F.nll_loss(torch.log(copied + 1e-6).transpose(1, 2), truth)
    return fit_steps(model, batch_loss, steps, check_positive(lr, "lr"), seed)


@torch.no_grad()
def propagate_mask(model: nn.Module, grey: Tensor, first_mask: Tensor, temperature: float = 0.05,
                   sigma: float | None = None) -> Tensor:
    """Carry a mask through a sequence with the embedding's pointers, frame to frame.

    grey: (T, 1, H, W); first_mask: (H, W) int64 labels in [0, K) of frame 0. Each frame's
    label probabilities are copied from the previous frame's. Returns (T, K, H, W)
    probabilities (frame 0 is the given mask, one-hot). ``sigma``: the locality prior.
    """
    if first_mask.ndim != 2 or first_mask.dtype.is_floating_point:
        raise ValueError(f"first_mask must be an (H, W) integer label map, got "
                         f"{tuple(first_mask.shape)} {first_mask.dtype}")
    if grey.ndim != 4 or grey.shape[2:] != first_mask.shape:
        raise ValueError(f"grey must be (T, 1, H, W) with H, W = {tuple(first_mask.shape)}, "
                         f"got {tuple(grey.shape)}")
    model.eval()
    embed = model(grey.to(model_device(model))).cpu()
    probs = [F.one_hot(first_mask.long(), int(first_mask.max()) + 1).permute(2, 0, 1).float()]
    for t in range(1, grey.shape[0]):
        probs.append(copy_from_reference(embed[t - 1:t], embed[t:t + 1], probs[-1][None],
                                         temperature, sigma)[0])
    return torch.stack(probs)


def mask_ious(pred_labels: Tensor, true_labels: Tensor, label: int) -> Tensor:
    """IoU of one object's mask per frame: pred_labels, true_labels (T, H, W) -> (T,)."""
    if pred_labels.shape != true_labels.shape or pred_labels.ndim != 3:
        raise ValueError(f"pred_labels and true_labels must be (T, H, W) of the same shape, got "
                         f"{tuple(pred_labels.shape)} and {tuple(true_labels.shape)}")
    return torch.stack([iou_from_confusion(confusion_matrix((p == label).long(),
                                                            (t == label).long(), 2))[1]
                        for p, t in zip(pred_labels, true_labels)])


def pca_colours(embedding: Tensor) -> np.ndarray:
    """Embedding (D, H, W) -> (H, W, 3) RGB in [0, 1]: the 3 leading principal components of
    the pixels' embeddings, each stretched to [0, 1]."""
    if embedding.ndim != 3 or embedding.shape[0] < 3:
        raise ValueError(f"embedding must be (D, H, W) with D >= 3, got {tuple(embedding.shape)}")
    pixels = embedding.flatten(1).T.double()
    pixels = pixels - pixels.mean(0)
    _, _, v = torch.linalg.svd(pixels, full_matrices=False)
    comps = pixels @ v[:3].T
    comps = (comps - comps.min(0).values) / (comps.max(0).values - comps.min(0).values + 1e-12)
    return comps.reshape(*embedding.shape[1:], 3).numpy()
