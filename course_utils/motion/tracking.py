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


# ---------------------------------------------------------------- baselines for mask propagation
class GreyPatches(nn.Module):
    """Raw grey features, no learning: each pixel's 3 x 3 grey neighbourhood, minus its mean,
    scaled to unit length (so the dot product is a normalised cross-correlation of patches).
    (N, 1, H, W) -> (N, 9, H, W); a flat patch gives zeros. A drop-in for ``PixelEmbedder``
    in ``propagate_mask`` and ``copy_accuracy``: the baseline a learned embedding must beat."""

    def forward(self, grey: Tensor) -> Tensor:
        if grey.ndim != 4 or grey.shape[1] != 1:
            raise ValueError(f"grey must be (N, 1, H, W), got {tuple(grey.shape)}")
        n, _, h, w = grey.shape
        patches = F.unfold(F.pad(grey, (1, 1, 1, 1), mode="replicate"), 3).reshape(n, 9, h, w)
        return F.normalize(patches - patches.mean(1, keepdim=True), dim=1)


def copy_first_mask(first_mask: Tensor, frames: int) -> Tensor:
    """The baseline that ignores motion: frame 0's labels (H, W) kept in place for ``frames``
    frames, as one-hot probabilities (T, K, H, W) like ``propagate_mask`` returns."""
    if first_mask.ndim != 2 or first_mask.dtype.is_floating_point:
        raise ValueError(f"first_mask must be an (H, W) integer label map, got "
                         f"{tuple(first_mask.shape)} {first_mask.dtype}")
    one_hot = F.one_hot(first_mask.long(), int(first_mask.max()) + 1).permute(2, 0, 1).float()
    return one_hot[None].expand(check_int(frames, "frames", 1), -1, -1, -1)


def propagate_by_flow(first_mask: Tensor, back_flows) -> Tensor:
    """Carry a mask through a sequence by warping, frame to frame, with given flows.

    first_mask: (H, W) int64 labels of frame 0; back_flows: (T, 2, H, W), for each pixel of
    frame t where it was in frame t - 1 (``back_flows[0]`` is unused), e.g. the true flow or
    Lucas-Kanade's flow from frame t to frame t - 1. Frame t's label probabilities are frame
    t - 1's, backward-warped (``flow.warp``, bilinear). Returns (T, K, H, W), like
    ``propagate_mask``."""
    from .flow import warp

    if first_mask.ndim != 2 or first_mask.dtype.is_floating_point:
        raise ValueError(f"first_mask must be an (H, W) integer label map, got "
                         f"{tuple(first_mask.shape)} {first_mask.dtype}")
    flows = torch.as_tensor(back_flows, dtype=torch.float64)
    if flows.ndim != 4 or flows.shape[1] != 2 or flows.shape[2:] != first_mask.shape:
        raise ValueError(f"back_flows must be (T, 2, H, W) with H, W = {tuple(first_mask.shape)}, "
                         f"got {tuple(flows.shape)}")
    probs = [F.one_hot(first_mask.long(), int(first_mask.max()) + 1).permute(2, 0, 1).double()]
    for t in range(1, flows.shape[0]):
        probs.append(warp(probs[-1], flows[t]))
    return torch.stack(probs).float()


@torch.no_grad()
def copy_accuracy(model: nn.Module | None, grey: Tensor, colour_bins: Tensor, gap: int = 1,
                  temperature: float = 0.05, sigma: float | None = None) -> float:
    """How often copying colours from frame t colours frame t + ``gap`` with the right bin.

    grey: (S, T, 1, H, W), colour_bins: (S, T, H, W) int64. With a ``model`` each target pixel
    takes the most likely bin of ``copy_from_reference`` (one-hot reference bins); with
    ``None`` it takes the bin at its own position in the reference frame (the nearest-position
    copy: what a still scene would give). Returns the share of target pixels, over every
    frame pair t, t + gap of every sequence, whose bin is right."""
    gap = check_int(gap, "gap", 1)
    if grey.ndim != 5 or colour_bins.shape != grey.shape[:2] + grey.shape[3:]:
        raise ValueError(f"grey must be (S, T, 1, H, W) and colour_bins (S, T, H, W), got "
                         f"{tuple(grey.shape)} and {tuple(colour_bins.shape)}")
    s, t = colour_bins.shape[:2]
    if t <= gap:
        raise ValueError(f"sequences need more than gap={gap} frames, got {t}")
    ref_bins, tgt_bins = colour_bins[:, :-gap].flatten(0, 1), colour_bins[:, gap:].flatten(0, 1)
    if model is None:
        return float((ref_bins == tgt_bins).float().mean())
    model.eval()
    embed = model(grey.flatten(0, 1).to(model_device(model))).cpu().reshape(s, t, -1, *grey.shape[3:])
    num_bins = int(colour_bins.max()) + 1
    one_hot = F.one_hot(ref_bins, num_bins).permute(0, 3, 1, 2).float()
    copied = copy_from_reference(embed[:, :-gap].flatten(0, 1), embed[:, gap:].flatten(0, 1),
                                 one_hot, temperature, sigma)
    return float((copied.argmax(1) == tgt_bins).float().mean())


def coloured_sequences(seeds) -> dict[str, Tensor]:
    """``flow_pairs.coloured_shapes_sequence`` (8 frames of 32 x 32, 3 shapes, speed up to 2)
    for each seed, stacked: ``rgb`` (S, T, H, W, 3), ``lab`` (S, T, H, W, 3), ``grey``
    (S, T, 1, H, W) lightness / 100, ``ab`` (S, T, 2, H, W), ``labels`` (S, T, H, W) and
    ``back_flow`` (S, T, 2, H, W)."""
    from .colorization import rgb_to_lab
    from .flow_pairs import coloured_shapes_sequence

    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    runs = [coloured_shapes_sequence(frames=8, size=32, num_shapes=3, max_speed=2.0, seed=s) for s in seeds]
    rgb = torch.tensor(np.stack([r["rgb"] for r in runs]), dtype=torch.float32)
    lab = rgb_to_lab(rgb)
    return {"rgb": rgb, "lab": lab, "grey": (lab[..., 0] / 100)[:, :, None],
            "ab": lab[..., 1:].permute(0, 1, 4, 2, 3), "labels": torch.tensor(np.stack([r["labels"] for r in runs])),
            "back_flow": torch.tensor(np.stack([r["back_flow"] for r in runs]))}


def lucas_kanade_back_flows(grey: Tensor, window: int, levels: int) -> np.ndarray:
    """Lucas-Kanade's flow from every frame t of one sequence (T, 1, H, W) to frame t - 1:
    (T, 2, H, W), zero at t = 0 (what ``propagate_by_flow`` takes)."""
    from .flow import lucas_kanade

    frames = grey[:, 0].double().numpy()
    return np.stack([np.zeros((2,) + frames.shape[1:])]
                    + [lucas_kanade(frames[t], frames[t - 1], window=window, levels=levels)
                       for t in range(1, len(frames))])


def propagation_iou(propagate, labels: Tensor) -> float:
    """Mean IoU over frames 1..T-1 of every object (labels 1..3) of every sequence, for masks
    carried from frame 0 by ``propagate(s)`` -> (T, K, H, W) probabilities of sequence s.
    labels: (S, T, H, W)."""
    ious = []
    for s in range(labels.shape[0]):
        predicted = propagate(s).argmax(1)
        ious += [mask_ious(predicted, labels[s], k)[1:] for k in range(1, int(labels[s, 0].max()) + 1)]
    return float(torch.stack(ious).mean())


def tune_lucas_kanade_propagation(grey: Tensor, labels: Tensor, windows=(5, 9, 15), levels=(1, 2)
                                  ) -> tuple[dict, list[dict]]:
    """Choose Lucas-Kanade's window and pyramid depth for carrying masks by warping, on
    sequences kept apart from those it is scored on (grey (S, T, 1, H, W), labels (S, T, H, W)):
    the setting with the highest ``propagation_iou``. Returns it and one row per setting."""
    rows = []
    for w in windows:
        for l in levels:
            iou = propagation_iou(lambda s: propagate_by_flow(labels[s, 0], lucas_kanade_back_flows(grey[s], w, l)),
                                  labels)
            rows.append({"window": w, "levels": l, "mask IoU": iou})
    if not rows:
        raise ValueError("windows and levels must each hold at least one setting")
    best = max(rows, key=lambda r: r["mask IoU"])
    return {"window": best["window"], "levels": best["levels"]}, rows


PROPAGATIONS = ("first mask copied", "Lucas-Kanade warp (tuned)", "grey patches", "untrained embedder",
                "trained embedder")


def tracking_arm(config: dict, seeds) -> dict[str, list[float]]:
    """One arm of the mask-propagation comparison (for ``evidence.compare.Comparison.run``) on
    60 coloured-shapes sequences (seeds 0..59 moved by the base seed): the embedder trains on
    sequences 0-49, Lucas-Kanade is tuned on 40-49, everything is scored on 50-59.
    ``config["propagation"]`` is one of PROPAGATIONS; the embedders (``PixelEmbedder(16, 16)``
    from torch seed ``seed``) train ``config["steps"]`` steps by colorization, and every
    attention copy uses ``config["temperature"]`` and the locality prior ``config["sigma"]``.
    The methods without a seed give the same scores for every seed. Returns per seed the mean
    mask IoU over frames 1-7 of the 30 held-out objects."""
    from ..evidence.seeds import offset_seed
    from .colorization import ab_bin_centres, quantize_ab

    method = config["propagation"]
    if method not in PROPAGATIONS:
        raise ValueError(f"config['propagation'] must be one of {PROPAGATIONS}, got {method!r}")
    data = coloured_sequences([offset_seed(s) for s in range(60)])
    _, bins = torch.unique(quantize_ab(data["lab"][..., 1:], ab_bin_centres(20.0)), return_inverse=True)
    grey, labels = data["grey"], data["labels"]
    test = slice(50, 60)
    temperature, sigma = config["temperature"], config["sigma"]
    scores: dict[str, list[float]] = {"mask IoU": []}
    if method == "Lucas-Kanade warp (tuned)":
        options, _ = tune_lucas_kanade_propagation(grey[40:50], labels[40:50])
    for seed in seeds:
        if method == "first mask copied":
            iou = propagation_iou(lambda s: copy_first_mask(labels[test][s, 0], labels.shape[1]), labels[test])
        elif method == "Lucas-Kanade warp (tuned)":
            iou = propagation_iou(lambda s: propagate_by_flow(labels[test][s, 0], lucas_kanade_back_flows(
                grey[test][s], **options)), labels[test])
        else:
            torch.manual_seed(seed)
            model = GreyPatches() if method == "grey patches" else PixelEmbedder(dim=16, hidden=16)
            if method == "trained embedder":
                train_by_colorization(model, grey[:50], bins[:50], int(bins.max()) + 1, steps=config["steps"],
                                      batch_size=8, temperature=temperature, sigma=sigma, seed=seed)
            iou = propagation_iou(lambda s: propagate_mask(model, grey[test][s], labels[test][s, 0],
                                                           temperature, sigma), labels[test])
        scores["mask IoU"].append(iou)
    return scores
