"""Tests for course_utils.audit.fairness against fairlearn's MetricFrame and metrics, the weights,
the weighted/resampled trainer, the audited detector and its two experiments, and the model card."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate, selection_rate
from sklearn.metrics import accuracy_score, zero_one_loss

from course_utils.audit import camera, fairness
from course_utils.audit.population import make_population
from course_utils.train import fit_classifier

pytestmark = pytest.mark.chapter("10_ethics_audits")

OURS = {"acc": accuracy_score, "fpr": fairness.false_positive_rate,
        "fnr": fairness.false_negative_rate, "sel": fairness.selection_rate}
THEIRS = {"acc": accuracy_score, "fpr": false_positive_rate, "fnr": false_negative_rate, "sel": selection_rate}


@pytest.mark.parametrize("seed,n,names", [(0, 200, ["a", "b"]), (1, 37, ["x", "y", "z"]), (2, 50, [3, 1, 2]),
                                          (3, 20, ["only"])])
def test_by_group_equals_metricframe(seed, n, names):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    groups = rng.choice(names, n)
    ours = fairness.by_group(y_true, y_pred, groups, OURS)
    theirs = MetricFrame(metrics=THEIRS, y_true=y_true, y_pred=y_pred, sensitive_features=groups).by_group
    assert list(ours.index) == list(theirs.index)
    np.testing.assert_allclose(ours.to_numpy(dtype=float), theirs.to_numpy(dtype=float))
    np.testing.assert_allclose(fairness.gaps(ours).to_numpy(dtype=float),
                               MetricFrame(metrics=THEIRS, y_true=y_true, y_pred=y_pred,
                                           sensitive_features=groups).difference().to_numpy(dtype=float))


def test_a_group_missing_from_the_data_has_no_row_and_rates_without_cases_are_nan():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([1, 0, 1, 0])
    groups = np.array(["a", "a", "b", "b"])
    table = fairness.by_group(y_true, y_pred, groups, OURS)
    assert list(table.index) == ["a", "b"]            # a group never seen cannot appear
    assert np.isnan(table.loc["a", "fnr"]) and table.loc["a", "fpr"] == 0.5
    assert np.isnan(table.loc["b", "fpr"]) and table.loc["b", "fnr"] == 0.5


def test_by_group_errors_name_the_argument():
    with pytest.raises(ValueError, match="same length"):
        fairness.by_group([0, 1], [0], ["a", "b"], OURS)
    with pytest.raises(ValueError, match="groups must not be empty"):
        fairness.by_group([], [], [], OURS)
    with pytest.raises(ValueError, match="metrics"):
        fairness.by_group([0], [0], ["a"], {})
    with pytest.raises(ValueError, match="y_pred must be a 1-D"):
        fairness.by_group([0, 1], [[0, 1]], ["a", "b"], OURS)


def test_balancing_weights_equalise_group_totals():
    groups = np.array(["a"] * 7 + ["b"] * 2 + ["c"])
    weights = fairness.balancing_weights(groups)
    totals = [weights[groups == g].sum() for g in "abc"]
    np.testing.assert_allclose(totals, [totals[0]] * 3)
    assert weights.mean() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="groups"):
        fairness.balancing_weights([])


def test_resampling_draws_groups_equally_and_reweighting_weights_the_loss(one_torch_thread):
    # a model that outputs a constant: the trained constant reveals which examples counted
    class Constant(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.logits = torch.nn.Parameter(torch.zeros(2))

        def forward(self, x):
            return self.logits.expand(len(x), 2)

    labels = torch.tensor([0] * 90 + [1] * 10)
    groups = np.array([0] * 90 + [1] * 10)
    weights = fairness.balancing_weights(groups)
    results = {}
    for mode in ("plain", "reweight", "resample"):
        model = Constant()
        fit_classifier(model, torch.zeros(100, 1, 2, 2), labels, weights, mode, steps=400, lr=0.05)
        results[mode] = torch.softmax(model.logits, 0)[1].item()
    assert results["plain"] == pytest.approx(0.1, abs=0.05)
    assert results["reweight"] == pytest.approx(0.5, abs=0.05)
    assert results["resample"] == pytest.approx(0.5, abs=0.08)
    with pytest.raises(ValueError, match="mode"):
        fit_classifier(Constant(), torch.zeros(3, 1, 2, 2), torch.zeros(3, dtype=torch.long), mode="x")
    with pytest.raises(ValueError, match="weights"):
        fit_classifier(Constant(), torch.zeros(3, 1, 2, 2), torch.zeros(3, dtype=torch.long), [1.0, -1, 1])


def test_model_card_renders_the_table_and_the_gaps():
    table = pd.DataFrame({"accuracy": [0.9, 0.6]}, index=pd.Index(["light", "dark"], name="group"))
    card = fairness.model_card("m", "teaching", "simulated", table, ["misses dark findings"], notes=["n1"])
    assert card.startswith("# Model card: m")
    assert "| light | 0.900 |" in card and "| dark | 0.600 |" in card
    assert "| **largest gap** | 0.300 |" in card
    assert "- misses dark findings" in card and "## Notes" in card
    with pytest.raises(ValueError, match="table"):
        fairness.model_card("m", "", "", pd.DataFrame(), [])


def test_error_rates_match_scikit_learn_and_metricframe():
    rng = np.random.default_rng(4)
    y_true, y_pred = rng.integers(0, 2, 120), rng.integers(0, 2, 120)
    groups = rng.choice([2, 0, 1], 120)
    assert fairness.error_rate(y_true, y_pred) == pytest.approx(zero_one_loss(y_true, y_pred), abs=1e-15)
    theirs = MetricFrame(metrics=zero_one_loss, y_true=y_true, y_pred=y_pred, sensitive_features=groups).by_group
    np.testing.assert_allclose(fairness.error_by_group(y_true, y_pred, groups), theirs.to_numpy(dtype=float),
                               atol=1e-15)
    # by hand, the groups in sorted order whatever their order in the data
    errors = fairness.error_by_group([0, 0, 1, 1, 1], [1, 1, 1, 1, 0], [1, 1, 0, 0, 0])
    assert errors == [pytest.approx(1 / 3), 1.0]
    with pytest.raises(ValueError, match="y_true and y_pred"):
        fairness.error_rate([0, 1], [0])
    with pytest.raises(ValueError, match="same length"):
        fairness.error_by_group([0, 1], [0, 1], ["a"])


def test_detector_learns_the_spot_and_an_imbalanced_training_set_fails_the_minority(one_torch_thread):
    test = make_population(600, share_group1=0.5, seed=3)
    images = camera.as_images(camera.metered_capture(test["radiance"]))
    curve = fairness.imbalance_curve([0.02, 0.5], images, test["label"], test["group"])
    assert list(curve) == [0.02, 0.5]
    imbalanced, balanced = curve[0.02], curve[0.5]
    assert max(balanced) < 0.1                                  # both groups' findings are detected
    assert imbalanced[1] > balanced[1] + 0.15 and imbalanced[0] < 0.1
    with pytest.raises(ValueError, match="images must be"):
        fairness.train_detector(torch.zeros(4, 16, 16), [0, 1, 0, 1])
    for bad in ([], [0.0], [1.5], "0.1"):
        with pytest.raises(ValueError, match="shares must"):
            fairness.imbalance_curve(bad, images, test["label"], test["group"])


def test_train_detector_is_seeded_and_returns_an_eval_model(one_torch_thread):
    population = make_population(64, seed=0)
    images = camera.as_images(camera.metered_capture(population["radiance"]))
    first = fairness.train_detector(images, population["label"], steps=3, seed=1)
    again = fairness.train_detector(images, population["label"], steps=3, seed=1)
    other = fairness.train_detector(images, population["label"], steps=3, seed=2)
    assert not first.training
    for a, b in zip(first.parameters(), again.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(next(first.parameters()), next(other.parameters()))


@pytest.mark.parametrize("mode", ["plain", "resample"])
def test_train_detector_on_a_device_matches_the_cpu(device, mode, one_torch_thread):
    """Same seed, same batches: a few steps on ``device`` end at the CPU's weights (float32
    rounding apart), and the model stays on the images' device."""
    population = make_population(64, seed=0)
    images = camera.as_images(camera.metered_capture(population["radiance"]))
    weights = fairness.balancing_weights(population["group"])
    on_cpu = fairness.train_detector(images, population["label"], weights, mode, steps=5, seed=3)
    there = fairness.train_detector(images.to(device), population["label"], weights, mode, steps=5,
                                    seed=3)
    assert next(there.parameters()).device.type == device.type
    for a, b in zip(on_cpu.parameters(), there.parameters()):
        torch.testing.assert_close(b.cpu(), a, atol=1e-4, rtol=1e-3)


def test_a_confounded_predictor_scores_the_nuisance_agreement_and_chance_when_controlled():
    for agreement in (0.7, 0.95):
        same, controlled = fairness.confound_accuracies(agreement)
        # the label is invisible: the nuisance is all there is, and it is right at the rate it agrees
        assert same == pytest.approx(agreement, abs=0.03)
        assert controlled == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="agreement"):
        fairness.confound_accuracies(1.5)
    with pytest.raises(TypeError, match="agreement"):
        fairness.confound_accuracies("high")
