"""What a trained classifier looks at: the audited model's training, attribution maps and how
much they depend on the weights, masks, class visualisation and adversarial steps.

Every attribution takes ``x: (N, C, H, W)`` and the class to explain, ``target`` (an int for
all images or an (N,) tensor), and returns a map shaped like ``x``. They match captum's
``Occlusion``, ``Saliency`` and ``GuidedBackprop`` (tested), written out here to be read.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..device import get_device, seed_everything
from ..networks import SmallCNN
from ..train import fit
from ..validate import check_int, check_model_input, check_positive, check_real


def train_small_cnn(images: torch.Tensor, labels: torch.Tensor, epochs: int = 8, seed: int = 0,
                    classes: int = 10, device: torch.device | str | None = None) -> SmallCNN:
    """The audited model: a ``SmallCNN`` trained with Adam (lr 3e-3) on the cross-entropy for
    ``epochs`` passes over shuffled minibatches of 64 (``train.fit``).

    images: (N, C, S, S), labels: (N,) in [0, classes). ``seed`` seeds everything first
    (``seed_everything``, so the initial weights are reproducible) and the loader's shuffling.
    The model is built on ``device`` (``get_device()`` when None) and returned in eval mode.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[2] != images.shape[3]:
        raise ValueError(f"images must be a (N, C, S, S) tensor of square images, got "
                         f"{tuple(getattr(images, 'shape', ()))}")
    if not isinstance(labels, torch.Tensor) or labels.shape != (len(images),):
        raise ValueError(f"labels must be an (N,) tensor with N = {len(images)}, got "
                         f"{tuple(getattr(labels, 'shape', ()))}")
    epochs = check_int(epochs, "epochs", 1)
    seed_everything(seed)
    device = get_device() if device is None else device
    model = SmallCNN(images.shape[1], images.shape[2], classes).to(device)
    loader = DataLoader(TensorDataset(images, labels), batch_size=64, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    fit(model, loader, F.cross_entropy, torch.optim.Adam(model.parameters(), lr=3e-3), epochs,
        progress=False)
    return model.eval()


def _check(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Validate the inputs; return target as an (N,) int64 tensor on x's device."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a (N, C, H, W) tensor, got {tuple(getattr(x, 'shape', ()))}")
    check_model_input(x, "x", model)          # float32 model, float64 input (or back): say so
    target = torch.as_tensor(target, device=x.device).long()
    if target.ndim == 0:
        target = target.expand(len(x))
    if target.shape != (len(x),):
        raise ValueError(f"target must be an int or an (N,) tensor with N = {len(x)}, "
                         f"got shape {tuple(target.shape)}")
    with torch.no_grad():
        classes = model(x[:1]).shape[1]
    if target.min() < 0 or target.max() >= classes:
        raise ValueError(f"target must lie in [0, {classes - 1}] (the model's classes), "
                         f"got {target.tolist()}")
    return target


def _score(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The target class's logit per image: (N,)."""
    return model(x).gather(1, target[:, None])[:, 0]


def _input_gradient(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():  # works inside a caller's torch.no_grad() too
        grad, = torch.autograd.grad(_score(model, x, target).sum(), x)
    return grad


def saliency(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Vanilla gradient saliency: |d score_target / d x|, shaped like x (captum's Saliency)."""
    return _input_gradient(model, x, _check(model, x, target)).abs()


def guided_backprop(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Gradient of the target score where every nn.ReLU passes back only *positive* gradient
    (and only where its input was positive, as ReLU's own backward does). Shaped like x.

    The model's ReLUs must be ``nn.ReLU`` modules (a functional ``torch.relu`` is invisible).
    """
    target = _check(model, x, target)
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError("model has no nn.ReLU modules for guided backprop to modify")
    hooks = [m.register_full_backward_hook(lambda _m, grad_in, _out: (grad_in[0].clamp_min(0),))
             for m in relus]
    try:
        return _input_gradient(model, x, target)
    finally:
        for hook in hooks:
            hook.remove()


def occlusion(model: nn.Module, x: torch.Tensor, target, window: int, stride: int,
              baseline: float = 0.0) -> torch.Tensor:
    """Slide a ``window x window`` patch of ``baseline`` over every channel of x (top-left
    corners 0, stride, 2 stride, ... until a patch reaches the last row / column; that last
    patch may overhang the edge, so every pixel is covered) and record the drop of the target
    score; each pixel gets the mean drop over the patches that covered it.

    Returns (N, C, H, W), the same numbers as captum's Occlusion with
    ``sliding_window_shapes=(C, window, window)``, ``strides=(C, stride, stride)``.
    """
    target = _check(model, x, target)
    window, stride = check_int(window, "window", 1), check_int(stride, "stride", 1)
    baseline = check_real(baseline, "baseline")
    height, width = x.shape[2:]
    if window > min(height, width):
        raise ValueError(f"window must fit in the image {height} x {width}, got {window}")
    total = torch.zeros_like(x)
    count = torch.zeros_like(x)
    with torch.no_grad():
        reference = _score(model, x, target)
        for top in range(0, height - window + stride, stride):
            for left in range(0, width - window + stride, stride):
                occluded = x.clone()
                occluded[:, :, top:top + window, left:left + window] = baseline
                drop = reference - _score(model, occluded, target)
                total[:, :, top:top + window, left:left + window] += drop[:, None, None, None]
                count[:, :, top:top + window, left:left + window] += 1
    return total / count.clamp_min(1)


def fgsm(model: nn.Module, x: torch.Tensor, y, epsilon: float,
         valid_range: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    """Fast gradient sign method: x + epsilon * sign(d cross-entropy / d x), clipped to
    ``valid_range``, so |x_adv - x|_inf <= epsilon. x: (N, C, H, W), y: labels (N,)."""
    y = _check(model, x, y)
    epsilon = check_positive(epsilon, "epsilon", allow_zero=True)
    x_leaf = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        grad, = torch.autograd.grad(F.cross_entropy(model(x_leaf), y), x_leaf)
    return (x + epsilon * grad.sign()).clamp(*valid_range).detach()


def mass_in_region(attribution: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Share of each map's total |attribution| that falls inside ``region``.

    attribution: (N, C, H, W), region: (H, W) bool -> (N,) in [0, 1].
    """
    if attribution.ndim != 4 or region.shape != attribution.shape[2:]:
        raise ValueError(f"attribution must be (N, C, H, W) and region (H, W), got "
                         f"{tuple(attribution.shape)} and {tuple(region.shape)}")
    mass = attribution.abs().sum(dim=1)
    return (mass * region).sum(dim=(1, 2)) / mass.sum(dim=(1, 2)).clamp_min(1e-30)


@torch.enable_grad()
def smallest_mask(model: nn.Module, x: torch.Tensor, target, sparsity: float = 0.05,
                  steps: int = 300, lr: float = 0.1, baseline: float = 0.0
                  ) -> tuple[torch.Tensor, dict[str, list[float]]]:
    """Learn a mask m in [0, 1] (one per pixel, shared by the channels) that keeps the target
    class while keeping as little of the image as possible.

    Minimises cross-entropy(model(m * x + (1 - m) * baseline), target) + sparsity * mean(m)
    with Adam on the mask's logits (started at m = 0.5). Returns the mask (N, 1, H, W) and
    the history of both terms.
    """
    target = _check(model, x, target)
    sparsity = check_positive(sparsity, "sparsity", allow_zero=True)
    logits = torch.zeros(len(x), 1, *x.shape[2:], device=x.device, dtype=x.dtype, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=check_positive(lr, "lr"))
    history = {"cross_entropy": [], "mask_mean": []}
    for _ in range(check_int(steps, "steps", 1)):
        mask = torch.sigmoid(logits)
        kept = mask * x + (1 - mask) * baseline
        ce = F.cross_entropy(model(kept), target)
        loss = ce + sparsity * mask.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history["cross_entropy"].append(ce.item())
        history["mask_mean"].append(mask.mean().item())
    return torch.sigmoid(logits).detach(), history


@torch.enable_grad()
def class_visualization(model: nn.Module, classes: int, shape: tuple[int, int, int],
                        steps: int = 200, lr: float = 0.05, l2: float = 0.01, jitter: int = 1,
                        seed: int = 0) -> tuple[torch.Tensor, list[float]]:
    """Gradient ascent from faint noise on score_k(x) - l2 * ||x||^2, one image per class.

    Each step shifts the images by a random offset of up to ``jitter`` pixels (and back), which
    discourages pixel-level noise patterns. shape: (C, H, W). Returns images (classes, C, H, W)
    and the mean target score per step.
    """
    classes = check_int(classes, "classes", 1)
    l2 = check_positive(l2, "l2", allow_zero=True)
    jitter = check_int(jitter, "jitter", 0)
    generator = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    parameter = next(model.parameters())
    device = parameter.device
    images = (0.01 * torch.randn(classes, *shape, generator=generator, dtype=torch.float64)
              ).to(device=device, dtype=parameter.dtype).requires_grad_(True)
    optimizer = torch.optim.Adam([images], lr=check_positive(lr, "lr"))
    target = torch.arange(classes, device=device)
    scores = []
    for _ in range(check_int(steps, "steps", 1)):
        dy, dx = (torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
                  if jitter else (0, 0))
        shifted = torch.roll(images, shifts=(dy, dx), dims=(2, 3))
        score = _score(model, shifted, target)
        loss = -(score - l2 * (images ** 2).sum(dim=(1, 2, 3))).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scores.append(score.mean().item())
    return images.detach(), scores


def mean_rank_correlation(maps: torch.Tensor, others: torch.Tensor) -> float:
    """Spearman's rank correlation between each map and its partner, averaged over the items.

    maps, others: (N, ...) (e.g. attribution maps of a trained and a randomised model, or maps
    and their images); item i of each is flattened and the two are rank-correlated
    (``scipy.stats.spearmanr``, on the CPU). 1: the same ordering of pixels; near 0: unrelated
    orderings.
    """
    if not isinstance(maps, torch.Tensor) or not isinstance(others, torch.Tensor):
        raise TypeError(f"maps and others must be torch.Tensors, got {type(maps).__name__} and "
                        f"{type(others).__name__}")
    if maps.shape != others.shape or maps.ndim < 2 or maps[0].numel() < 2:
        raise ValueError(f"maps and others must have the same shape (N, ...) with at least 2 "
                         f"values per item, got {tuple(maps.shape)} and {tuple(others.shape)}")
    maps, others = maps.detach().cpu(), others.detach().cpu()
    return float(np.mean([spearmanr(maps[i].flatten(), others[i].flatten()).statistic
                          for i in range(len(maps))]))


def randomized_copy(model: nn.Module, seed: int = 0, layers: list[str] | None = None) -> nn.Module:
    """A copy of ``model`` with its layers' parameters re-drawn from their initialisation (the
    "model randomisation" sanity check for attribution methods): every layer, or only the
    direct children named in ``layers`` (e.g. ``["head", "embedding"]``), the rest kept."""
    torch.manual_seed(check_int(seed, "seed", 0))
    fresh = copy.deepcopy(model)
    names = dict(fresh.named_children())
    if layers is not None:
        unknown = sorted(set(layers) - set(names))
        if unknown:
            raise ValueError(f"layers must name children of the model {sorted(names)}, got {unknown}")
    for name, child in names.items():
        if layers is not None and name not in layers:
            continue
        for module in child.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    return fresh.eval()


ATTRIBUTIONS = {"gradient": saliency,
                "guided backprop": lambda model, x, target: guided_backprop(model, x, target).abs()}


def cascading_randomization(model: nn.Module, method: str, x: torch.Tensor, target, seed: int = 0
                            ) -> list[dict]:
    """Adebayo et al.'s cascade: re-draw the layers from the top (the output) down, one more
    each row, and measure how much the attribution map still agrees with the trained model's
    (``mean_rank_correlation``). ``method`` is a key of ATTRIBUTIONS: both give *absolute*
    values, so the two are post-processed alike. Returns one row per step."""
    if method not in ATTRIBUTIONS:
        raise ValueError(f"method must be one of {sorted(ATTRIBUTIONS)}, got {method!r}")
    attribute = ATTRIBUTIONS[method]
    trained = attribute(model, x, target)
    children = [name for name, child in model.named_children() if any(True for _ in child.parameters())]
    rows = []
    for k in range(1, len(children) + 1):
        randomised = children[-k:]
        maps = attribute(randomized_copy(model, seed, randomised), x, target)
        rows.append({"re-drawn from the top": ", ".join(reversed(randomised)),
                     "rank correlation with the trained map": mean_rank_correlation(trained, maps)})
    return rows
