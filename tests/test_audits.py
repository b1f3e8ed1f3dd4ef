"""Chapter 07's audits over seeds: the model cache, the soft confusion, the agreement of a
similarity matrix with it, and the three arms on a small set of digits."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from course_utils.data.digits import digits_on_canvas, frame_by_class
from course_utils.interpretability import audits, interpret

pytestmark = pytest.mark.chapter("07_interpretability")


@pytest.fixture(scope="module")
def digits():
    x, y, x_test, y_test = digits_on_canvas(seed=0)
    return x[:300], y[:300], x_test[:120], y_test[:120]


def test_trained_models_train_each_seed_once_as_train_small_cnn_does(digits, one_torch_thread):
    x, y, _, _ = digits
    models = audits.TrainedModels(x, y, epochs=1)
    first = models[3]
    assert models[3] is first and list(models) == [3]
    with torch.no_grad():                      # asked for inside no_grad: still trains
        second = models[4]
    reference = interpret.train_small_cnn(x, y, epochs=1, seed=4, device="cpu")
    for a, b in zip(second.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)


def test_soft_confusion_is_the_symmetrised_mean_probability_per_class():
    gen = torch.Generator().manual_seed(0)
    logits, labels = torch.randn(30, 3, generator=gen, dtype=torch.float64), torch.arange(30) % 3
    p = torch.softmax(logits, 1).numpy()
    expected = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            expected[i, j] = p[labels.numpy() == i, j].mean()
    np.testing.assert_allclose(audits.soft_confusion(logits, labels, 3), (expected + expected.T) / 2)
    with pytest.raises(ValueError, match="logits"):
        audits.soft_confusion(logits[:, :2], labels, 3)


def test_similarity_agreement_ranks_the_class_pairs():
    gen = np.random.default_rng(1)
    a, b = gen.normal(size=(5, 5)), gen.normal(size=(5, 5))
    pairs = np.triu_indices(5, k=1)
    assert audits.similarity_agreement(a, b) == pytest.approx(spearmanr(a[pairs], b[pairs]).statistic)
    assert audits.similarity_agreement(a, 3 * a + 1) == pytest.approx(1.0)     # any increasing map of it
    with pytest.raises(ValueError, match="similarity"):
        audits.similarity_agreement(a, b[:4, :4])


def test_the_three_arms_score_every_seed_and_refuse_unknown_arms(digits, one_torch_thread):
    x, y, x_test, y_test = digits
    models = audits.TrainedModels(x, y, epochs=1)
    framed_train, region = frame_by_class(x, y, width=1)
    framed_models = audits.TrainedModels(framed_train, y, epochs=1)
    framed_test, _ = frame_by_class(x_test, y_test, width=1)
    sanity = audits.sanity_arm({"method": "gradient", "images": 10}, [0, 1], models, x_test, y_test)
    trained_map = interpret.saliency(models[0], x_test[:10], y_test[:10])
    assert sanity["agreement with the image"][0] == pytest.approx(interpret.mean_rank_correlation(trained_map, x_test[:10]))
    shortcut = audits.shortcut_arm({"training data": "framed"}, [0], models, framed_models, (x_test, y_test),
                                   framed_test, region)
    share = interpret.mass_in_region(interpret.saliency(framed_models[0], framed_test, y_test), region).mean()
    assert shortcut["saliency share on the border"] == [pytest.approx(float(share))]
    similarity = audits.similarity_arm({"representation": "pixels"}, [0], models, x_test, y_test)
    assert audits.PARTNER in models and -1 <= similarity["agreement with another model's confusions"][0] <= 1
    for arm, config in ((audits.sanity_arm, {"method": "lime", "images": 10}),
                        (audits.similarity_arm, {"representation": "words"})):
        with pytest.raises(ValueError, match="config"):
            arm(config, [0], models, x_test, y_test)
    with pytest.raises(ValueError, match="config"):
        audits.shortcut_arm({"training data": "noisy"}, [0], models, framed_models, (x_test, y_test), framed_test, region)
