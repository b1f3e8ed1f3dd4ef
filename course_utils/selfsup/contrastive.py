"""Self-supervised learning: contrastive losses (NT-Xent, pairs, triplets), hard negatives, SimCLR
views and training. Representations are scored by :func:`course_utils.logistic.linear_probe`.

Shapes: embeddings ``(N, D)``, images ``(N, C, H, W)`` in [0, 1].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import roi_align

from ..train import fit_steps
from ..validate import check_choice, check_int, check_positive


def _check_pair(a: torch.Tensor, b: torch.Tensor, names: str) -> None:
    first, second = names.split(",")
    for name, value in ((first, a), (second.strip(), b)):
        if not isinstance(value, torch.Tensor) or value.ndim != 2:
            raise ValueError(f"{name} must be an (N, D) tensor, got {tuple(getattr(value, 'shape', ()))}")
    if a.shape != b.shape:
        raise ValueError(f"{names} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def nt_xent_loop(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """NT-Xent written anchor by anchor, the definition as a student reads it.

    For each of the 2N views i: the cosine similarity to every other view k != i divided by
    the temperature, and the loss -(s_ip / t - log sum_k exp(s_ik / t)) where p is the other
    view of the same image. Returns the mean over anchors. Same result as ``nt_xent``;
    slow (2N Python steps, each over 2N - 1 views).
    """
    _check_pair(z1, z2, "z1, z2")
    temperature = check_positive(temperature, "temperature")
    z = torch.cat([z1, z2])
    n, total = len(z1), z1.new_zeros(())
    for i in range(2 * n):
        partner = (i + n) % (2 * n)
        logits = torch.stack([F.cosine_similarity(z[i], z[k], dim=0) / temperature
                              for k in range(2 * n) if k != i])
        positive = F.cosine_similarity(z[i], z[partner], dim=0) / temperature
        total = total - (positive - torch.logsumexp(logits, dim=0))
    return total / (2 * n)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """SimCLR's normalised-temperature cross-entropy. z1, z2: (N, D), row i of each is a view
    of image i. Every one of the 2N views is an anchor; its positive is the other view of its
    image and the 2N - 2 views of other images are negatives (its own copy is excluded):
    loss_i = -log( exp(s_ip / t) / sum_{k != i} exp(s_ik / t) ) with cosine similarities s.
    Returns the mean over the 2N anchors. All anchors at once: one (2N, 2N) similarity matrix
    with its diagonal masked, and cross-entropy against each row's partner column
    (``nt_xent_loop`` is the anchor-by-anchor twin).
    """
    _check_pair(z1, z2, "z1, z2")
    temperature = check_positive(temperature, "temperature")
    z = F.normalize(torch.cat([z1, z2]), dim=1)              # (2N, D)
    similarity = z @ z.T / temperature                        # (2N, 2N)
    n = len(z1)
    similarity = similarity.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    positive = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(similarity, positive)


def contrastive_pair_loss(a: torch.Tensor, b: torch.Tensor, same: torch.Tensor,
                          margin: float = 1.0) -> torch.Tensor:
    """Pairs (a_i, b_i): (N, D) each, ``same``: (N,) bool. Pull same pairs together (d^2),
    push different pairs until they are ``margin`` apart (max(0, margin - d)^2). Mean over N."""
    _check_pair(a, b, "a, b")
    if same.shape != (len(a),):
        raise ValueError(f"same must be (N,) = ({len(a)},), got {tuple(same.shape)}")
    margin = check_positive(margin, "margin")
    return _pair_rows(a, b, same, margin).mean()


def _pair_rows(a, b, same, margin):
    d = (a - b).norm(dim=1)
    return torch.where(same.bool(), d ** 2, F.relu(margin - d) ** 2)


def _triplet_rows(anchor, positive, negative, margin):
    return F.relu((anchor - positive).norm(dim=1) - (anchor - negative).norm(dim=1) + margin)


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                 margin: float = 1.0) -> torch.Tensor:
    """mean over rows of max(0, |a - p| - |a - n| + margin); each argument (N, D)."""
    _check_pair(anchor, positive, "anchor, positive")
    _check_pair(anchor, negative, "anchor, negative")
    margin = check_positive(margin, "margin")
    return _triplet_rows(anchor, positive, negative, margin).mean()


def hardest_negatives(embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """For every row, the index of the closest row with a *different* label (batch-hard
    mining). embeddings: (N, D), labels: (N,) -> (N,) int64."""
    if embeddings.ndim != 2 or labels.shape != embeddings.shape[:1]:
        raise ValueError(f"embeddings must be (N, D) and labels (N,), got "
                         f"{tuple(embeddings.shape)} and {tuple(labels.shape)}")
    distance = torch.cdist(embeddings, embeddings)
    distance = distance.masked_fill(labels[:, None] == labels[None, :], float("inf"))
    if torch.isinf(distance).all(dim=1).any():
        raise ValueError("every row needs at least one row with another label in the batch")
    return distance.argmin(dim=1)


def simclr_views(images: torch.Tensor, generator: torch.Generator, min_scale: float = 0.6,
                 noise: float = 0.05) -> torch.Tensor:
    """One random view of each image: resized crop (area share in [min_scale, 1], via
    torchvision's roi_align), horizontal flip, colour jitter (a random gain per channel and a
    brightness shift), and fresh pixel noise. images: (N, C, H, W) -> (N, C, H, W)."""
    n, _, height, width = images.shape
    rand = lambda *shape: torch.rand(*shape, generator=generator)  # noqa: E731
    side = torch.sqrt(min_scale + (1 - min_scale) * rand(n))          # crop side / image side
    x0, y0 = rand(n) * (1 - side) * width, rand(n) * (1 - side) * height
    boxes = torch.stack([torch.arange(n, dtype=torch.float32), x0, y0, x0 + side * width,
                         y0 + side * height], dim=1).to(images)
    views = roi_align(images, boxes, (height, width), aligned=True)
    flip = rand(n) < 0.5
    views = torch.where(flip[:, None, None, None].to(images.device), views.flip(3), views)
    channels = images.shape[1]
    if channels > 1:   # a random order of the colour channels: colour alone cannot identify an image
        order = torch.argsort(rand(n, channels), dim=1).to(images.device)
        views = torch.gather(views, 1, order[:, :, None, None].expand_as(views))
    gain = (0.6 + 0.8 * rand(n, channels, 1, 1)).to(images)
    shift = (0.2 * rand(n, 1, 1, 1) - 0.1).to(images)
    views = views * gain + shift
    views = views + noise * torch.randn(views.shape, generator=generator).to(images)
    return views.clamp(0, 1)


class SimCLR(nn.Module):
    """An encoder plus a projection head (Linear-ReLU-Linear); the loss is computed on the
    head's output z, the representation kept for downstream tasks is the encoder's h."""

    def __init__(self, encoder: nn.Module, projection: int = 32):
        super().__init__()
        self.encoder = encoder
        features = encoder.out_features
        self.head = nn.Sequential(nn.Linear(features, features), nn.ReLU(),
                                  nn.Linear(features, check_int(projection, "projection", 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def train_simclr(model: SimCLR, images: torch.Tensor, steps: int = 300, batch: int = 128,
                 temperature: float = 0.5, lr: float = 3e-3, seed: int = 0) -> list[float]:
    """Adam on nt_xent of two simclr_views of random mini-batches. Returns the loss per step."""
    batch = check_int(batch, "batch", 2)
    temperature = check_positive(temperature, "temperature")

    def batch_loss(generator):
        x = images[torch.randint(0, len(images), (batch,), generator=generator)]
        return nt_xent(model(simclr_views(x, generator)), model(simclr_views(x, generator)), temperature)

    return fit_steps(model, batch_loss, check_int(steps, "steps", 1), check_positive(lr, "lr"), seed)


@torch.no_grad()
def encode(encoder: nn.Module, images: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """Features of ``images`` from a frozen encoder in eval mode: (N, F) on the CPU."""
    was_training = encoder.training
    encoder.eval()
    device = next(encoder.parameters()).device
    out = torch.cat([encoder(images[i:i + batch].to(device)).cpu() for i in range(0, len(images), batch)])
    encoder.train(was_training)
    return out


def train_embedding(net: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "triplet",
                    mining: str = "random", steps: int = 300, batch: int = 128, margin: float = 1.0,
                    lr: float = 3e-3, seed: int = 0) -> dict[str, list[float]]:
    """Metric learning on labelled data x: (N, ...), y: (N,).

    ``loss="pair"``: contrastive_pair_loss on pairs that share the label half of the time;
    ``loss="triplet"``: triplet_loss with a random positive (same label) and a negative chosen
    at random (``mining="random"``) or the hardest one in the batch (``mining="hard"``).
    Returns the loss and the share of active rows (loss > 0) per step.
    """

    check_choice(loss, "loss", ("pair", "triplet"))
    check_choice(mining, "mining", ("random", "hard"))
    batch = check_int(batch, "batch", 2)
    by_class = [torch.nonzero(y == c)[:, 0] for c in range(int(y.max()) + 1)]
    history = {"loss": [], "active": []}

    def partner(anchor_labels, same, generator):
        """An index with the same label where ``same`` is True, another label elsewhere."""
        picks = []
        for label, want_same in zip(anchor_labels.tolist(), same.tolist()):
            if want_same:
                pool = by_class[label]
            else:
                other = [c for c in range(len(by_class)) if c != label and len(by_class[c])]
                pool = by_class[other[int(torch.randint(0, len(other), (1,), generator=generator))]]
            picks.append(pool[int(torch.randint(0, len(pool), (1,), generator=generator))])
        return torch.stack(picks)

    def batch_loss(generator):
        idx = torch.randint(0, len(x), (batch,), generator=generator)
        anchor = net(x[idx])
        if loss == "pair":
            same = torch.rand(batch, generator=generator) < 0.5
            rows = _pair_rows(anchor, net(x[partner(y[idx], same, generator)]), same, margin)
        else:
            positive = net(x[partner(y[idx], torch.ones(batch, dtype=torch.bool), generator)])
            if mining == "random":
                negative = net(x[partner(y[idx], torch.zeros(batch, dtype=torch.bool), generator)])
            else:
                negative = anchor[hardest_negatives(anchor.detach(), y[idx])]
            rows = _triplet_rows(anchor, positive, negative, margin)
        history["loss"].append(rows.mean().item())
        history["active"].append((rows > 0).float().mean().item())
        return rows.mean()

    fit_steps(net, batch_loss, check_int(steps, "steps", 1), check_positive(lr, "lr"), seed)
    return history


MINING = ("random", "hard")


def mining_arm(config: dict, seeds, train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
               test_y: torch.Tensor) -> dict[str, list[float]]:
    """One arm of "random vs hard negatives" (for ``evidence.compare.Comparison.run``): for
    every seed an MLP (64 -> 64 -> ReLU -> 8, from torch seed ``seed``) trained by
    ``train_embedding`` with the triplet loss, negatives ``config["mining"]``, for
    ``config["steps"]`` steps (batches from ``seed``). Returns per seed the test recall@1 and
    the share of triplets still active (loss > 0) over the last 50 steps."""
    from ..metrics import recall_at_1

    mining = config["mining"]
    if mining not in MINING:
        raise ValueError(f"config['mining'] must be one of {MINING}, got {mining!r}")
    steps = check_int(config["steps"], "config['steps']", 1)
    scores: dict[str, list[float]] = {"recall@1": [], "active triplets, last 50 steps": []}
    for seed in seeds:
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(train_x.shape[1], 64), nn.ReLU(), nn.Linear(64, 8))
        history = train_embedding(net, train_x, train_y, "triplet", mining, steps=steps, seed=seed)
        with torch.no_grad():
            scores["recall@1"].append(float(recall_at_1(net(test_x), test_y)))
        tail = history["active"][-50:]
        scores["active triplets, last 50 steps"].append(float(sum(tail) / len(tail)))
    return scores
