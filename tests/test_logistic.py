"""Tests for course_utils.logistic against scikit-learn's LogisticRegression (the same objective):
coefficients, probabilities, the standardised probe, numpy input and the errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from course_utils import logistic


def _three_classes(seed, n=90):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g, dtype=torch.float64)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    return x, y


def test_fit_logistic_matches_scikit_learn():
    x, y = _three_classes(2)
    weight, bias = logistic.fit_logistic(x, y, c=0.7)
    reference = LogisticRegression(C=0.7, tol=1e-12, max_iter=10_000).fit(x.numpy(), y.numpy())
    # multinomial logits are defined up to a shared shift per feature: compare centred
    np.testing.assert_allclose((weight - weight.mean(0)).numpy(), reference.coef_ - reference.coef_.mean(0), atol=2e-4)
    np.testing.assert_allclose((bias - bias.mean()).numpy(), reference.intercept_ - reference.intercept_.mean(), atol=2e-4)


def test_unstandardised_model_gives_scikit_learns_probabilities_from_numpy_input():
    x, y = _three_classes(5, n=120)
    x = x.numpy() * np.array([1.0, 3.0, 0.5, 2.0, 1.0]) + 4.0       # unscaled, off-centre columns
    model = logistic.fit_logistic_model(x[:80], y[:80].numpy(), standardise=False)
    reference = LogisticRegression(tol=1e-12, max_iter=10_000).fit(x[:80], y[:80].numpy())
    np.testing.assert_allclose(model.probabilities(x[80:]).numpy(), reference.predict_proba(x[80:]), atol=1e-4)
    assert model.accuracy(x[80:], y[80:]) == pytest.approx(reference.score(x[80:], y[80:].numpy()))
    np.testing.assert_array_equal(model.predict(x[80:]).numpy(), reference.predict(x[80:]))


def test_linear_probe_matches_scikit_learn_on_standardised_features():
    g = torch.Generator().manual_seed(3)
    features, labels = torch.randn(300, 8, generator=g), torch.randint(0, 3, (300,), generator=g)
    features[:, 0] += labels * 1.5
    ours = logistic.linear_probe(features[:60], labels[:60], features[60:], labels[60:])
    mean, std = features[:60].double().mean(0), features[:60].double().std(0)
    model = LogisticRegression(max_iter=10_000, tol=1e-10).fit(((features[:60] - mean) / std).numpy(), labels[:60].numpy())
    theirs = model.score(((features[60:] - mean) / std).numpy(), labels[60:].numpy())
    assert 0.45 < theirs < 0.95
    assert ours == pytest.approx(theirs, abs=1 / 240)       # at most one test row may differ
    assert logistic.linear_probe(features[:60].numpy(), labels[:60].numpy(), features[60:].numpy(),
                                 labels[60:].numpy()) == pytest.approx(ours)


def test_a_constant_training_column_does_not_blow_up_the_test_rows():
    x, y = _three_classes(7, n=100)
    x = torch.cat([x, torch.zeros(100, 1, dtype=x.dtype)], dim=1)       # a dead feature
    test = x[60:].clone()
    test[:, -1] = 5.0                                                    # alive at test time only
    without = logistic.linear_probe(x[:60, :-1], y[:60], x[60:, :-1], y[60:])
    assert logistic.linear_probe(x[:60], y[:60], test, y[60:]) == pytest.approx(without)


def test_errors_name_the_argument():
    x, y = _three_classes(1)
    with pytest.raises(ValueError, match="test_features must be"):
        logistic.linear_probe(x[:60], y[:60], x[60:, :3], y[60:])
    with pytest.raises(ValueError, match="train_labels must have shape"):
        logistic.linear_probe(x[:60], y[:50], x[60:], y[60:])
    with pytest.raises(TypeError, match="labels must hold integer"):
        logistic.fit_logistic(x, y.double())
    with pytest.raises(TypeError, match="features must be a numeric"):
        logistic.fit_logistic([["a"]], [0])
    with pytest.raises(ValueError, match="features must be finite"):
        logistic.fit_logistic(torch.full((3, 2), float("nan")), torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match="labels must be below classes"):
        logistic.fit_logistic(x, y, classes=2)
    with pytest.raises(ValueError, match="features must have D = 5"):
        logistic.fit_logistic_model(x, y).predict(x[:, :2])
