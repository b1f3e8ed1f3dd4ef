"""How chapter 08 judges a representation: the labelled shape images it is run on, the few
labels (the first ``per_class`` images of every class), the linear probe of a frozen encoder,
fine-tuning a network with a linear head, and the purity of k-means clusters.

Images are (N, 3, 24, 24) in [0, 1]; labels (N,) int64 index ``data.shapes.CLASSES``; features
(N, D). The probe itself is :func:`course_utils.logistic.linear_probe`, the training loop
:func:`course_utils.train.fit_classifier`.
"""
from __future__ import annotations

from typing import Mapping

import torch
from sklearn.cluster import KMeans
from torch import nn

from ..data.shapes import make_dataset
from ..logistic import linear_probe
from ..metrics import accuracy, as_labels, cluster_purity
from ..train import fit_classifier, predict
from ..validate import as_float_tensor, check_int
from .contrastive import encode


def shape_images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` seeded 24 x 24 images of one shape each (square, circle or triangle, at a random
    position, size 8 to 16 pixels, random colours on a plain background) and the shape's class:
    images (n, 3, 24, 24) float32, labels (n,) int64."""
    data = make_dataset(n, seed, size=24, max_objects=1, min_size=8, max_size=16, background="plain")
    return data["images"], torch.tensor([int(labels[0]) for labels in data["labels"]])


def labelled_subset(labels: torch.Tensor, per_class: int, classes: int | None = None) -> torch.Tensor:
    """The few labelled rows: the indices of the first ``per_class`` rows of every class, class 0
    first (fewer for a class with fewer rows). labels: (N,) -> (<= classes * per_class,) int64;
    ``classes`` defaults to the largest label + 1."""
    labels = as_labels(labels, "labels")
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError(f"labels must be a non-empty (N,) tensor, got shape {tuple(labels.shape)}")
    per_class = check_int(per_class, "per_class", 1)
    classes = int(labels.max()) + 1 if classes is None else check_int(classes, "classes", 1)
    return torch.cat([torch.nonzero(labels == c)[:per_class, 0] for c in range(classes)])


def probe_encoder(encoder: nn.Module, train_images: torch.Tensor, train_labels: torch.Tensor,
                  test_images: torch.Tensor, test_labels: torch.Tensor, per_class: int = 30) -> float:
    """The protocol's score of a frozen ``encoder``: the linear probe's test accuracy when it is
    fitted on the encoder's features of the ``labelled_subset`` of ``train_images`` (N, C, H, W)
    with ``train_labels`` (N,), and tested on the features of ``test_images`` (M, C, H, W) with
    ``test_labels`` (M,)."""
    if len(train_images) != len(train_labels):
        raise ValueError(f"train_images and train_labels must have the same length, got "
                         f"{len(train_images)} and {len(train_labels)}")
    subset = labelled_subset(train_labels, per_class)
    return linear_probe(encode(encoder, train_images[subset]), train_labels[subset],
                        encode(encoder, test_images), test_labels)


def probe_frozen_features(features: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
                          train_labels: torch.Tensor, test_labels: torch.Tensor,
                          per_class: int) -> dict[str, float]:
    """The linear probe at one label budget for several frozen representations: ``features``
    maps a name to its (train (N, D), test (M, D)) features; each probe is fitted on the
    ``labelled_subset`` rows of the training features. Returns name -> test accuracy."""
    if not features:
        raise ValueError("features must name at least one representation")
    subset = labelled_subset(train_labels, per_class)
    return {name: linear_probe(train[subset], train_labels[subset], test, test_labels)
            for name, (train, test) in features.items()}


def linear_classifier(encoder: nn.Module, classes: int) -> nn.Sequential:
    """``encoder`` (anything -> (N, encoder.out_features)) followed by a linear layer to
    ``classes`` logits: the network that is fine-tuned end to end."""
    return nn.Sequential(encoder, nn.Linear(encoder.out_features, check_int(classes, "classes", 2)))


def train_and_test(model: nn.Module, train_images: torch.Tensor, train_labels: torch.Tensor,
                       test_images: torch.Tensor, test_labels: torch.Tensor, steps: int,
                       batch: int = 128, lr: float = 3e-3) -> float:
    """Train all of ``model`` (images -> (N, K) logits) on ``train_images`` (N, ...) with
    ``train_labels`` (N,) by ``fit_classifier`` (Adam on the cross-entropy of ``steps`` uniform
    minibatches of ``batch`` rows, seed 0) and return its accuracy on the test rows."""
    fit_classifier(model, train_images, train_labels, steps=steps, batch=batch, lr=lr)
    return accuracy(predict(model, test_images), test_labels)


def kmeans_purity(features, labels, clusters: int) -> float:
    """Cluster the standardised ``features`` (N, D) (each column shifted to mean 0 and divided
    by its standard deviation) with k-means into ``clusters`` groups (10 restarts, seed 0) and
    return the clusters' purity against ``labels`` (N,)."""
    features = as_float_tensor(features, "features").detach().cpu()
    if features.ndim != 2 or len(features) == 0:
        raise ValueError(f"features must be a non-empty (N, D) array, got shape {tuple(features.shape)}")
    labels = as_labels(labels, "labels").cpu()
    if labels.shape != features.shape[:1]:
        raise ValueError(f"labels must have shape ({len(features)},), one label per row, got "
                         f"{tuple(labels.shape)}")
    clusters = check_int(clusters, "clusters", 1)
    if clusters > len(features):
        raise ValueError(f"clusters must be at most the number of rows {len(features)}, got {clusters}")
    features = (features - features.mean(0)) / features.std(0).clamp_min(1e-8)
    assignments = KMeans(n_clusters=clusters, n_init=10, random_state=0).fit_predict(features.numpy())
    return cluster_purity(assignments, labels.numpy())


def random_partition_purity(labels, clusters: int, draws: int = 20, seed: int = 0) -> float:
    """The purity of ``clusters`` groups drawn at random (each point to a uniformly random
    group), averaged over ``draws`` draws: the bar that any clustering's purity must be read
    against, since purity rises with the number of clusters whatever the features."""
    labels = as_labels(labels, "labels").cpu().numpy()
    clusters, draws = check_int(clusters, "clusters", 1), check_int(draws, "draws", 1)
    generator = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    return float(sum(cluster_purity(torch.randint(0, clusters, (len(labels),), generator=generator).numpy(), labels)
                     for _ in range(draws)) / draws)
