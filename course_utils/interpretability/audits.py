"""Chapter 07's audits as comparisons over seeds (arms for ``evidence.compare.Comparison``).

A model trained from one seed is one draw, so each audit is repeated on models trained from
several seeds. ``TrainedModels`` trains a model the first time a seed is asked for and keeps
it, so the three audits share their trainings:

- ``sanity_arm``: does an attribution map change when the model's weights are re-drawn?
- ``shortcut_arm``: does a model trained with a planted cue put its saliency on the cue?
- ``similarity_arm``: does a representation's class similarity follow the confusions of a
  *different* trained classifier (so that agreement is not the classifier reading itself)?
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from ..metrics import accuracy
from ..validate import check_int
from .interpret import ATTRIBUTIONS, mass_in_region, mean_rank_correlation, randomized_copy, saliency, train_small_cnn
from .representations import class_similarity

PARTNER = 500   # the reference classifier for seed s is the model of seed s + PARTNER


class TrainedModels(dict):
    """seed -> ``train_small_cnn(images, labels, epochs, seed)``, trained on first use."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, epochs: int = 8):
        super().__init__()
        self.images, self.labels, self.epochs = images, labels, check_int(epochs, "epochs", 1)

    def __missing__(self, seed: int) -> nn.Module:
        with torch.enable_grad():           # asked for inside a caller's torch.no_grad() too
            model = train_small_cnn(self.images, self.labels, epochs=self.epochs, seed=seed, device="cpu")
        self[seed] = model
        return model


def soft_confusion(logits: torch.Tensor, labels: torch.Tensor, classes: int) -> np.ndarray:
    """The mean predicted probability of class j over the images of class i, symmetrised:
    (classes, classes). Sees near-misses that hard errors of a good classifier would not."""
    classes = check_int(classes, "classes", 2)
    if logits.ndim != 2 or logits.shape != (len(labels), classes):
        raise ValueError(f"logits must be (N, {classes}) with N = {len(labels)}, got {tuple(logits.shape)}")
    probabilities = torch.softmax(logits.double(), dim=1)
    matrix = torch.stack([probabilities[labels == c].mean(dim=0) for c in range(classes)]).numpy()
    return (matrix + matrix.T) / 2


def similarity_agreement(similarity: np.ndarray, confusion: np.ndarray) -> float:
    """Spearman's rank correlation of two (K, K) matrices over the K (K - 1) / 2 class pairs."""
    if similarity.shape != confusion.shape or similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ValueError(f"similarity and confusion must be (K, K) alike, got {similarity.shape} and {confusion.shape}")
    pairs = np.triu_indices(len(similarity), k=1)
    return float(spearmanr(similarity[pairs], confusion[pairs]).statistic)


SANITY_METHODS = tuple(ATTRIBUTIONS)


def sanity_arm(config: dict, seeds, models: TrainedModels, images: torch.Tensor, targets: torch.Tensor
               ) -> dict[str, list[float]]:
    """``config["method"]`` (a key of ``interpret.ATTRIBUTIONS``, absolute maps) on the first
    ``config["images"]`` images, for the model of every seed and for a copy of it with every
    layer re-drawn (``randomized_copy``): the rank correlation between the two maps (low: the
    map depends on what the model learned) and between the trained map and the image."""
    method = config["method"]
    if method not in ATTRIBUTIONS:
        raise ValueError(f"config['method'] must be one of {SANITY_METHODS}, got {method!r}")
    n = check_int(config["images"], "config['images']", 2)
    x, target = images[:n], targets[:n]
    scores: dict[str, list[float]] = {"agreement with the re-drawn model's map": [],
                                      "agreement with the image": []}
    for seed in seeds:
        model = models[seed]
        trained = ATTRIBUTIONS[method](model, x, target)
        redrawn = ATTRIBUTIONS[method](randomized_copy(model, seed=seed + PARTNER), x, target)
        scores["agreement with the re-drawn model's map"].append(mean_rank_correlation(trained, redrawn))
        scores["agreement with the image"].append(mean_rank_correlation(trained, x))
    return scores


SHORTCUT_DATA = ("clean", "framed")


def shortcut_arm(config: dict, seeds, models: TrainedModels, framed_models: TrainedModels,
                 clean_test: tuple[torch.Tensor, torch.Tensor], framed_test: torch.Tensor,
                 region: torch.Tensor) -> dict[str, list[float]]:
    """The model of every seed trained on ``config["training data"]`` ("clean" digits, or
    "framed" ones whose border encodes the class), scored on the framed test digits and on the
    clean ones, with the share of its gradient saliency that falls on the border ``region``
    (framed test digits)."""
    data = config["training data"]
    if data not in SHORTCUT_DATA:
        raise ValueError(f"config['training data'] must be one of {SHORTCUT_DATA}, got {data!r}")
    x, y = clean_test
    scores: dict[str, list[float]] = {"saliency share on the border": [], "accuracy, framed test": [],
                                      "accuracy, clean test": []}
    for seed in seeds:
        model = (models if data == "clean" else framed_models)[seed]
        scores["saliency share on the border"].append(
            float(mass_in_region(saliency(model, framed_test, y), region).mean()))
        with torch.no_grad():
            scores["accuracy, framed test"].append(accuracy(model(framed_test), y))
            scores["accuracy, clean test"].append(accuracy(model(x), y))
    return scores


REPRESENTATIONS = ("pixels", "untrained network", "trained network")


def similarity_arm(config: dict, seeds, models: TrainedModels, images: torch.Tensor, labels: torch.Tensor
                   ) -> dict[str, list[float]]:
    """The class similarity (``representations.class_similarity``) of ``config["representation"]``
    on the test images: the raw pixels, the embedding of the seed's network with its weights
    re-drawn, or its trained embedding; scored by its rank agreement with the soft confusion
    of the classifier trained from seed + PARTNER, another draw, so a trained embedding is not
    compared with its own read-out."""
    kind = config["representation"]
    if kind not in REPRESENTATIONS:
        raise ValueError(f"config['representation'] must be one of {REPRESENTATIONS}, got {kind!r}")
    classes = int(labels.max()) + 1
    scores: dict[str, list[float]] = {"agreement with another model's confusions": []}
    for seed in seeds:
        with torch.no_grad():
            reference = soft_confusion(models[seed + PARTNER](images), labels, classes)
            if kind == "pixels":
                features = images.flatten(1)
            else:
                model = models[seed] if kind == "trained network" else randomized_copy(models[seed], seed=seed)
                features = model.embed(images)
        scores["agreement with another model's confusions"].append(
            similarity_agreement(class_similarity(features, labels, classes), reference))
    return scores
