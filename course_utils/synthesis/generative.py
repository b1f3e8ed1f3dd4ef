"""Chapter 09 (synthesis): the measurements and the small laws every generative model shares.

- the closed-form KL of a diagonal Gaussian from the standard normal, and the
  reparameterisation trick (the two pieces of a VAE's ELBO);
- counting the modes a 2-D sampler covers, and the share of its samples near a mode;
- judging image samples with a classifier trained on held-out digits (confident share,
  spread over classes) and by their distance to the nearest training image;
- the simplest generative classifier: one Gaussian per class, which can both label points and
  draw new ones (the discriminative counterpart is logistic regression).

The models live in ``vae.py`` (autoencoders), ``gan.py`` (GAN losses, networks, training) and
``cyclegan.py`` (unpaired translation).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ..networks import DigitsCNN
from ..train import fit_steps
from ..validate import check_int, check_positive


def _check_pair(mu: torch.Tensor, logvar: torch.Tensor) -> None:
    if not isinstance(mu, torch.Tensor) or not isinstance(logvar, torch.Tensor):
        raise TypeError(f"mu and logvar must be tensors, got {type(mu).__name__} and "
                        f"{type(logvar).__name__}")
    if mu.ndim != 2:
        raise ValueError(f"mu must be (N, D), got shape {tuple(mu.shape)}")
    if logvar.shape != mu.shape:
        raise ValueError(f"logvar must have mu's shape {tuple(mu.shape)}, got {tuple(logvar.shape)}")


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag exp(logvar)) || N(0, I) ) per row, in nats.

    mu, logvar: (N, D) -> (N,). Closed form: 0.5 * sum_d (mu^2 + exp(logvar) - 1 - logvar).
    """
    _check_pair(mu, logvar)
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + exp(logvar / 2) * eps with eps ~ N(0, I): a sample whose randomness sits in
    eps, so gradients reach mu and logvar.

    mu, logvar: (N, D) -> z: (N, D). ``generator`` (a CPU torch.Generator) makes eps repeatable.
    """
    _check_pair(mu, logvar)
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)
    return mu + (0.5 * logvar).exp() * eps


def modes_covered(samples, centers, radius: float) -> tuple[int, float]:
    """How well a 2-D sampler covers a mixture's modes.

    samples: (N, 2), centers: (K, 2). A sample is *good* when it lies within ``radius`` of some
    centre. Returns the pair (number of modes with at least one good sample near them, in
    0..K; share of samples that are good, in [0, 1]).
    """
    samples, centers = torch.as_tensor(samples), torch.as_tensor(centers)
    for name, value in (("samples", samples), ("centers", centers)):
        if value.ndim != 2 or value.shape[1] != 2 or len(value) == 0:
            raise ValueError(f"{name} must be a non-empty (N, 2) array, got shape "
                             f"{tuple(value.shape)}")
    radius = check_positive(radius, "radius")
    near = torch.cdist(samples.double(), centers.double()) < radius     # (N, K)
    return int(near.any(dim=0).sum()), float(near.any(dim=1).double().mean())


def nearest_distance(samples: torch.Tensor, data: torch.Tensor) -> torch.Tensor:
    """Euclidean distance from each sample to its nearest data point.

    samples: (N, ...) and data: (M, ...) with the same trailing shape (images are flattened)
    -> (N,).
    """
    if samples.ndim < 2 or data.ndim < 2 or samples.shape[1:] != data.shape[1:]:
        raise ValueError(f"samples and data must be (N, ...) and (M, ...) with the same item "
                         f"shape, got {tuple(samples.shape)} and {tuple(data.shape)}")
    return torch.cdist(samples.flatten(1).double(), data.flatten(1).double()).amin(dim=1)


def train_digit_judge(images: torch.Tensor, labels: torch.Tensor, steps: int = 600,
                      lr: float = 3e-3, batch: int = 64, seed: int = 0) -> torch.nn.Module:
    """A ``networks.DigitsCNN`` trained (``train.fit_steps``, cross-entropy on random batches)
    on ``images: (N, 1, 8, 8)`` with ``labels: (N,)``, returned in eval mode.

    Trained on digits the generative models never see, it judges their samples.
    """

    if images.ndim != 4 or labels.shape != images.shape[:1]:
        raise ValueError(f"images must be (N, 1, 8, 8) and labels (N,), got {tuple(images.shape)} "
                         f"and {tuple(labels.shape)}")
    batch = check_int(batch, "batch", 1)
    torch.manual_seed(check_int(seed, "seed", 0))
    judge = DigitsCNN()

    def batch_loss(generator: torch.Generator) -> torch.Tensor:
        index = torch.randint(0, len(images), (batch,), generator=generator)
        return F.cross_entropy(judge(images[index]), labels[index])

    fit_steps(judge, batch_loss, steps, lr, seed)
    return judge.eval()


@torch.no_grad()
def judge_samples(classifier: torch.nn.Module, images: torch.Tensor,
                  threshold: float = 0.9) -> dict[str, float]:
    """What a classifier trained on real data makes of generated ``images: (N, C, H, W)``.

    Returns ``confident``: the share of images whose top class probability is at least
    ``threshold`` (judged digit-like), and ``class_bits``: the entropy in bits of the
    histogram of those confident images' classes (log2(10) = 3.32 when the ten digits come
    equally often, 0 when every confident sample is the same class).
    """
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be a non-empty (N, C, H, W) batch, got {tuple(images.shape)}")
    threshold = check_positive(threshold, "threshold")
    if threshold > 1:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold}")
    probabilities = torch.softmax(classifier(images), dim=1)
    top, label = probabilities.max(dim=1)
    confident = top >= threshold
    counts = torch.bincount(label[confident], minlength=probabilities.shape[1]).double()
    share = counts[counts > 0] / counts.sum().clamp_min(1)
    return {"confident": float(confident.double().mean()),
            "class_bits": float((-(share * share.log2())).sum()) + 0.0}


# ---- a generative classifier: one Gaussian per class -----------------------------------------
def fit_class_gaussians(x: torch.Tensor, y: torch.Tensor, classes: int
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Maximum-likelihood Gaussian per class. x: (N, D), y: (N,) in 0..classes-1.

    Returns means (K, D), covariances (K, D, D) (the 1/n estimate) and priors (K,).
    """
    classes = check_int(classes, "classes", 1)
    if x.ndim != 2 or y.shape != x.shape[:1]:
        raise ValueError(f"x must be (N, D) and y (N,), got {tuple(x.shape)} and {tuple(y.shape)}")
    counts = torch.bincount(y, minlength=classes)
    if len(counts) > classes or (counts < 2).any():
        raise ValueError(f"y must hold at least two points of each class 0..{classes - 1}, got "
                         f"counts {counts.tolist()}")
    means = torch.stack([x[y == k].mean(dim=0) for k in range(classes)])
    covariances = torch.stack([torch.cov(x[y == k].T, correction=0) for k in range(classes)])
    return means, covariances, counts.to(x.dtype) / len(y)


def class_log_joint(points: torch.Tensor, means: torch.Tensor, covariances: torch.Tensor,
                    priors: torch.Tensor) -> torch.Tensor:
    """log p(x, y = k) = log N(x; mean_k, cov_k) + log prior_k. points: (N, D) -> (N, K).

    Its argmax over k labels a point (Bayes' rule); its logsumexp is the density log p(x).
    """
    density = torch.distributions.MultivariateNormal(means, covariance_matrix=covariances)
    return density.log_prob(points[:, None, :]) + priors.log()


def sample_class_gaussians(means: torch.Tensor, covariances: torch.Tensor, priors: torch.Tensor,
                           n: int, generator: torch.Generator | None = None
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` new labelled points: y ~ priors, then x ~ N(mean_y, cov_y) (via Cholesky).

    Returns x: (n, D) and y: (n,).
    """
    n = check_int(n, "n", 1)
    labels = torch.multinomial(priors, n, replacement=True, generator=generator)
    eps = torch.randn(n, means.shape[1], generator=generator, dtype=means.dtype)
    factors = torch.linalg.cholesky(covariances)[labels]                  # (n, D, D)
    return means[labels] + (factors @ eps[:, :, None])[:, :, 0], labels

