"""Tests for course_utils.selfsup.evaluation: the shape labels read back from the pictures, the
few-label subset by hand, the probe of an encoder against scikit-learn, fine-tuning against a
hand-written minibatch loop and logistic regression, k-means purity against scikit-learn, and
the errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.metrics.cluster import contingency_matrix
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.nn import functional as F

from course_utils.data.shapes import CLASSES
from course_utils.logistic import linear_probe
from course_utils.selfsup import evaluation

pytestmark = pytest.mark.chapter("08_self_supervised")


class _Projection(nn.Module):
    """A fixed random linear encoder of flattened images with ``out_features`` like ConvEncoder."""

    def __init__(self, inputs: int, out_features: int, seed: int = 0):
        super().__init__()
        self.out_features = out_features
        self.linear = nn.Linear(inputs, out_features)
        with torch.no_grad():
            g = torch.Generator().manual_seed(seed)
            self.linear.weight.copy_(torch.randn(out_features, inputs, generator=g) / inputs ** 0.5)
            self.linear.bias.zero_()

    def forward(self, x):
        return self.linear(x.flatten(1))


def _first_per_class(labels, per_class):
    """The subset written as a loop: walk the rows once per class, keep the first ones."""
    labels = np.asarray(labels)
    picked = []
    for c in range(labels.max() + 1):
        picked += [i for i in range(len(labels)) if labels[i] == c][:per_class]
    return np.array(picked)


def _blobs(seed, n, classes=3, spread=0.4):
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])[:classes]
    y = torch.randint(0, classes, (n,), generator=g)
    return centres[y] + spread * torch.randn(n, 2, generator=g), y


def test_shape_images_label_the_shape_drawn():
    images, labels = evaluation.shape_images(90, seed=5)
    assert images.shape == (90, 3, 24, 24) and labels.dtype == torch.int64
    assert set(labels.tolist()) == set(range(len(CLASSES)))
    # read the shape back from the picture: the plain background is its most common colour, and
    # the object's share of its bounding box is 1 for a square, about pi / 4 for a circle and
    # about 1 / 2 for a triangle
    for image, label in zip(images.numpy(), labels.tolist()):
        _, inverse, counts = np.unique(image.reshape(3, -1).T, axis=0, return_inverse=True, return_counts=True)
        shape = (inverse.ravel() != counts.argmax()).reshape(24, 24)
        rows, cols = np.flatnonzero(shape.any(1)), np.flatnonzero(shape.any(0))
        fill = shape.sum() / ((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1))
        seen = "square" if fill > 0.95 else "circle" if fill > 0.65 else "triangle"
        assert seen == CLASSES[label], f"fill {fill:.2f} drawn as {seen}, labelled {CLASSES[label]}"
    again, again_labels = evaluation.shape_images(90, seed=5)
    assert torch.equal(again, images) and torch.equal(again_labels, labels)
    assert not torch.equal(evaluation.shape_images(90, seed=6)[0], images)


def test_labelled_subset_takes_the_first_rows_of_each_class():
    labels = torch.tensor([2, 0, 1, 0, 2, 1, 0, 2])
    assert evaluation.labelled_subset(labels, 2).tolist() == [1, 3, 2, 5, 0, 4]
    assert evaluation.labelled_subset(labels, 1, classes=2).tolist() == [1, 2]
    assert evaluation.labelled_subset(labels, 5).tolist() == [1, 3, 6, 2, 5, 0, 4, 7]   # all there are
    g = torch.Generator().manual_seed(0)
    many = torch.randint(0, 4, (200,), generator=g)
    np.testing.assert_array_equal(evaluation.labelled_subset(many, 7).numpy(), _first_per_class(many, 7))
    np.testing.assert_array_equal(evaluation.labelled_subset(many.numpy(), 7).numpy(), _first_per_class(many, 7))


def test_probe_encoder_matches_scikit_learn_on_the_encoded_subset():
    g = torch.Generator().manual_seed(2)
    labels = torch.randint(0, 3, (400,), generator=g)
    images = 0.5 * torch.rand(400, 1, 4, 4, generator=g)
    images[:, 0, 0, 0] += 0.4 * labels                     # the class is linearly readable, with noise
    encoder = _Projection(16, 6)
    ours = evaluation.probe_encoder(encoder, images[:250], labels[:250], images[250:], labels[250:], per_class=20)
    subset = _first_per_class(labels[:250], 20)
    with torch.no_grad():
        train, test = encoder(images[subset]).double().numpy(), encoder(images[250:]).double().numpy()
    mean, std = train.mean(0), train.std(0, ddof=1)
    theirs = LogisticRegression(max_iter=10_000, tol=1e-10).fit((train - mean) / std, labels[subset].numpy()) \
        .score((test - mean) / std, labels[250:].numpy())
    assert 0.5 < theirs < 0.99
    assert ours == pytest.approx(theirs, abs=1 / 150)      # at most one test row may differ
    assert encoder.training                                # encoding left the encoder's mode alone


def test_probe_frozen_features_probes_each_representation_on_the_same_rows():
    g = torch.Generator().manual_seed(3)
    labels = torch.randint(0, 3, (300,), generator=g)
    good = torch.randn(300, 4, generator=g) + 4.0 * nn.functional.one_hot(labels, 4).float()   # classes 4 sd apart
    noise = torch.randn(300, 4, generator=g)
    features = {"good": (good[:200], good[200:]), "noise": (noise[:200], noise[200:])}
    result = evaluation.probe_frozen_features(features, labels[:200], labels[200:], per_class=15)
    subset = _first_per_class(labels[:200], 15)
    assert list(result) == ["good", "noise"]
    for name, (train, test) in features.items():
        assert result[name] == pytest.approx(linear_probe(train[subset], labels[:200][subset], test, labels[200:]))
    assert result["good"] > 0.8 and result["noise"] < 0.6   # the probe tells the two apart


def test_train_and_test_draws_uniform_minibatches_and_learns_separable_classes():
    x, y = _blobs(4, 300)
    torch.manual_seed(0)
    model = evaluation.linear_classifier(_Projection(2, 2), 3)
    reference = evaluation.linear_classifier(_Projection(2, 2), 3)
    reference.load_state_dict(model.state_dict())
    score = evaluation.train_and_test(model, x[:90], y[:90], x[90:], y[90:], steps=30, batch=128, lr=0.05)
    # the same training written out: Adam, a seeded generator, batches of min(batch, N) rows
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(reference.parameters(), lr=0.05)
    for _ in range(30):
        idx = torch.randint(0, 90, (90,), generator=generator)
        loss = F.cross_entropy(reference(x[:90][idx]), y[:90][idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for ours, theirs in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(ours, theirs)
    with torch.no_grad():
        predicted = reference(x[90:]).argmax(1)
    assert score == pytest.approx(accuracy_score(y[90:].numpy(), predicted.numpy()))
    logistic = LogisticRegression().fit(x[:90].numpy(), y[:90].numpy()).score(x[90:].numpy(), y[90:].numpy())
    assert logistic > 0.95 and score >= logistic - 0.02
    assert model(x[:5]).shape == (5, 3)


def test_kmeans_purity_standardises_and_matches_scikit_learn():
    g = torch.Generator().manual_seed(5)
    labels = torch.randint(0, 2, (200,), generator=g)
    # column 0: the two classes at -1 and +1; column 1: noise a thousand times larger
    features = torch.stack([2.0 * labels - 1 + 0.1 * torch.randn(200, generator=g),
                            1000 * torch.randn(200, generator=g)], dim=1)
    assert evaluation.kmeans_purity(features, labels, 2) == 1.0
    raw = KMeans(n_clusters=2, n_init=10, random_state=0).fit_predict(features.numpy())
    assert contingency_matrix(labels.numpy(), raw).max(axis=0).sum() / 200 < 0.7   # unstandardised: noise wins
    x, y = _blobs(6, 150, spread=1.2)
    for clusters in (3, 5):
        assignments = KMeans(n_clusters=clusters, n_init=10, random_state=0).fit_predict(
            StandardScaler().fit_transform(x.double().numpy()))
        expected = contingency_matrix(y.numpy(), assignments).max(axis=0).sum() / 150
        assert evaluation.kmeans_purity(x, y, clusters) == pytest.approx(expected)
    assert evaluation.kmeans_purity(x, y, 150) == 1.0                           # one point per cluster


def test_errors_name_the_argument():
    labels = torch.tensor([0, 1, 1, 0])
    with pytest.raises(ValueError, match="per_class must be an integer >= 1"):
        evaluation.labelled_subset(labels, 0)
    with pytest.raises(TypeError, match="labels must hold integer class labels"):
        evaluation.labelled_subset(labels.float(), 2)
    with pytest.raises(ValueError, match=r"labels must be a non-empty \(N,\)"):
        evaluation.labelled_subset(labels[None], 2)
    with pytest.raises(ValueError, match="classes must be an integer >= 1"):
        evaluation.labelled_subset(labels, 2, classes=0)
    with pytest.raises(ValueError, match="train_images and train_labels must have the same length"):
        evaluation.probe_encoder(_Projection(4, 2), torch.rand(5, 1, 2, 2), labels, torch.rand(3, 1, 2, 2), labels[:3])
    with pytest.raises(ValueError, match="features must name at least one"):
        evaluation.probe_frozen_features({}, labels, labels, 1)
    with pytest.raises(ValueError, match="classes must be an integer >= 2"):
        evaluation.linear_classifier(_Projection(4, 2), 1)
    features = torch.rand(4, 3)
    with pytest.raises(ValueError, match=r"features must be a non-empty \(N, D\)"):
        evaluation.kmeans_purity(features[:, 0], labels, 2)
    with pytest.raises(ValueError, match=r"labels must have shape \(4,\)"):
        evaluation.kmeans_purity(features, labels[:3], 2)
    with pytest.raises(ValueError, match="clusters must be at most the number of rows 4"):
        evaluation.kmeans_purity(features, labels, 5)
    with pytest.raises(TypeError, match="features must be a numeric"):
        evaluation.kmeans_purity(np.array([["a"]] * 4), labels, 2)


def test_random_partition_purity_is_the_mean_purity_of_random_groups():
    from course_utils.metrics import cluster_purity

    labels = torch.arange(60) % 3
    generator = torch.Generator().manual_seed(5)
    expected = np.mean([cluster_purity(torch.randint(0, 4, (60,), generator=generator).numpy(), labels.numpy())
                        for _ in range(7)])
    assert evaluation.random_partition_purity(labels, 4, draws=7, seed=5) == pytest.approx(expected)
    assert evaluation.random_partition_purity(labels, 1) == pytest.approx(1 / 3)     # one group: the majority share
    # purity rises with the number of groups even for groups drawn at random
    assert evaluation.random_partition_purity(labels, 30) > evaluation.random_partition_purity(labels, 3)
    with pytest.raises(ValueError, match="clusters"):
        evaluation.random_partition_purity(labels, 0)
