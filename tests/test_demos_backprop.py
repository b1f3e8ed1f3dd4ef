"""Chapter 03 figures: each returns a Figure, and the widget functions respond to their knobs."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_utils import networks
from course_utils.learning import diagnostics
from course_utils.learning import numpy_models
from course_utils.data.points import blobs, noisy_line, sample_target, xor_points
from course_utils.learning import layers
from course_utils.learning.autodiff import Value
from course_utils.learning import figures as demo


pytestmark = [pytest.mark.chapter("03_backprop"), pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def bold_line(fig):
    """The highlighted curve of show_gradient_norms (drawn with markers 'o')."""
    return next(line for line in fig.axes[0].lines if line.get_marker() == "o")


def test_show_xor_mlp_responds_to_width_and_learning_rate():
    wide = demo.show_xor_mlp(hidden=8, lr=0.5, steps=300)
    narrow = demo.show_xor_mlp(hidden=1, lr=0.5, steps=300)
    slow = demo.show_xor_mlp(hidden=8, lr=0.01, steps=300)
    assert all(isinstance(f, Figure) for f in (wide, narrow, slow))
    title = wide.axes[0].get_title()
    assert title.startswith("8 hidden") and "accuracy 100.0%" in title
    accuracy = float(narrow.axes[0].get_title().split("accuracy ")[1].rstrip("%"))
    assert accuracy < 80  # one hidden unit draws a single line
    final = [f.axes[1].lines[0].get_ydata()[-1] for f in (wide, slow)]
    assert final[0] < final[1]  # the larger step size gets further in 300 steps


def test_show_gradient_norms_responds_to_depth_and_activation():
    fig = demo.show_gradient_norms(depth=6, activation="relu")
    assert len(bold_line(fig).get_xdata()) == 7
    assert bold_line(fig).get_label().startswith("relu")
    fig = demo.show_gradient_norms(depth=14, activation="sigmoid")
    norms = bold_line(fig).get_ydata()
    assert len(norms) == 15 and bold_line(fig).get_label().startswith("sigmoid")
    assert norms[0] / norms[-1] < 1e-5
    np.testing.assert_allclose(norms, diagnostics.gradient_norms(14, "sigmoid"), rtol=1e-12)
    with pytest.raises(ValueError, match="activation"):
        demo.show_gradient_norms(activation="elu")


def test_show_pool_routing_puts_one_gradient_per_window():
    fig = demo.show_pool_routing(seed=2)
    x, out, dx = (ax.images[0].get_array() for ax in fig.axes)
    assert dx.sum() == 4 and out.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            window, grads = x[2 * i:2 * i + 2, 2 * j:2 * j + 2], dx[2 * i:2 * i + 2, 2 * j:2 * j + 2]
            assert window[grads == 1].item() == window.max() == out[i, j]


@pytest.mark.slow
def test_dead_relus_grow_with_learning_rate_and_bad_init():
    good = diagnostics.dead_relus_after_training([1e-3, 1e-1], steps=100)
    bad = diagnostics.dead_relus_after_training([1e-3], init="negative_bias", steps=100)
    assert set(good) == {0.0, 1e-3, 1e-1} and good[0.0]["dead"].shape == (4,)
    assert good[1e-1]["dead"].mean() > good[1e-3]["dead"].mean() + 0.3
    assert bad[0.0]["dead"].mean() > 0.8
    np.testing.assert_array_equal(bad[1e-3]["dead"], bad[0.0]["dead"])  # dead units stay dead
    # a layer that is entirely dead makes the output a constant: the best it can reach is
    # the target's variance, while the healthy net goes well below it
    target_variance = sample_target(256)[1].var()
    assert bad[1e-3]["dead"][-1] == 1.0 and bad[1e-3]["loss"] >= target_variance - 1e-6
    assert good[1e-3]["loss"] < 0.7 * target_variance
    fig = demo.show_dead_relus({"He": good, "bias -1": bad})
    assert len(fig.axes) == 2
    assert fig.axes[0].lines[0].get_ydata()[-1] == pytest.approx(good[1e-1]["dead"].mean())


def test_show_width_vs_depth_labels_parameter_counts():
    models = {"wide": networks.make_mlp(1, [30], 1, "tanh"), "deep": networks.make_mlp(1, [5, 5], 1, "tanh")}
    losses = {"wide": [1.0, 0.5], "deep": [1.0, 0.25]}
    fig = demo.show_width_vs_depth(models, losses)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["wide (91 params)", "deep (46 params)"]
    assert len(fig.axes[1].lines) == 3  # target + both fits


def test_show_filters_draws_filters_and_spectra():
    weight = torch.randn(5, 1, 5, 5)
    fig = demo.show_filters(weight, size=12)
    assert len(fig.axes) == 10  # row 0: filters, row 1: spectra
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), weight[2, 0].numpy())
    np.testing.assert_allclose(fig.axes[5 + 2].images[0].get_array(),
                               diagnostics.filter_spectra(weight, size=12)[2])
    assert fig.axes[7].images[0].get_array().shape == (12, 12)


def test_static_figures():
    fig = demo.show_losses()
    squared, absolute = fig.axes[0].get_lines()[:2]
    r = squared.get_xdata()
    np.testing.assert_allclose(squared.get_ydata(), r ** 2)
    np.testing.assert_allclose(absolute.get_ydata(), np.abs(r))
    logistic = fig.axes[1].get_lines()[0]
    z = torch.tensor(logistic.get_xdata())
    reference = torch.nn.functional.binary_cross_entropy_with_logits(
        z, torch.ones_like(z), reduction="none").numpy()
    np.testing.assert_allclose(logistic.get_ydata(), reference, rtol=1e-10)
    x, y = noisy_line()
    fig = demo.show_linear_regression(x, y, numpy_models.fit_linear_regression(x, y, steps=50))
    assert "y = " in fig.axes[0].get_legend().get_texts()[1].get_text()
    x, y = blobs()
    fig = demo.show_logistic_regression(x, y, numpy_models.fit_logistic_regression(x, y, steps=50))
    assert "accuracy" in fig.axes[0].get_title()
    x, y = xor_points()
    fig = demo.show_logistic_regression(x, y, numpy_models.fit_logistic_regression(x, y, steps=50), "XOR")
    assert fig.axes[0].get_title().startswith("XOR")


def test_draw_graph_shows_values_and_gradients():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    y = (a * b).tanh()
    y.label = "y"
    y.backward()
    fig = demo.draw_graph(y, title="tanh(a b)")
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]  # arrows have no text
    assert len(texts) == 4 + 2  # value boxes a, b, ab, y and op circles *, tanh
    assert "*" in texts and "tanh" in texts
    grad_a = (1 - math.tanh(-6.0) ** 2) * -3.0  # dy/da = (1 - tanh(ab)^2) b
    assert any(t.startswith("a\n") and f"grad {grad_a:.3g}" in t for t in texts)
    arrows = [c for c in fig.axes[0].get_children() if type(c).__name__ == "Annotation"]
    assert len(arrows) == 5  # a -> *, b -> *, * -> ab, ab -> tanh, tanh -> y
    with pytest.raises(TypeError, match="root"):
        demo.draw_graph(3.0)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.7])
def test_show_dropout_plots_the_dropped_batch_and_its_mean(p):
    fig = demo.show_dropout(p=p, seed=1)
    image = fig.axes[0].images[0].get_array()
    x = np.random.default_rng(0).normal(1.0, 1.0, size=(200, 50))
    expected, _ = layers.dropout_forward(x, p, seed=1)
    np.testing.assert_allclose(image, expected[:20])
    heights = [bar.get_height() for bar in fig.axes[1].patches]
    assert heights[0] == pytest.approx(x.mean())
    assert heights[1] == pytest.approx(x.mean(), abs=0.06)  # inverted dropout keeps the mean
    assert heights[2] == heights[0]                          # evaluation is the identity
    assert float(fig.axes[0].get_title().split(": ")[1].split("%")[0]) == pytest.approx(
        100 * np.mean(expected == 0), abs=0.05)
    assert np.mean(expected == 0) == pytest.approx(p, abs=0.02)


@pytest.mark.parametrize("stride,pad", [(1, 0), (2, 1)])
def test_show_conv_matrix_plots_the_matrix_and_its_product(stride, pad):
    fig = demo.show_conv_matrix(size=5, kernel=3, stride=stride, pad=pad, seed=3)
    x, w, matrix, product = (ax.images[0].get_array() for ax in fig.axes)
    np.testing.assert_array_equal(matrix, layers.conv2d_matrix(w[None, None], (1, 5, 5),
                                                               stride=stride, pad=pad))
    reference = torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None],
                                           stride=stride, padding=pad)[0, 0].numpy()
    np.testing.assert_allclose(product, reference, atol=1e-12)


@pytest.mark.parametrize("call,error,match", [
    (lambda: demo.show_conv_matrix(size=0), ValueError, "size"),
    (lambda: demo.show_conv_matrix(kernel=0), ValueError, "kernel"),
    (lambda: demo.show_conv_matrix(size=2, kernel=3), ValueError, "w's kernel"),
    (lambda: demo.show_conv_matrix(seed=-1), ValueError, "seed"),
    (lambda: demo.show_pool_routing(seed="a"), ValueError, "seed"),
    (lambda: demo.show_dropout(p=1.0), ValueError, "p must"),
    (lambda: demo.show_filters(np.ones((2, 3, 5, 5))), ValueError, "one input channel"),
    (lambda: demo.show_filters(np.ones((5, 5))), ValueError, "weight must have 4"),
    (lambda: demo.show_dead_relus({"a": {1e-3: {}}}), TypeError, "results"),
    (lambda: demo.show_linear_regression(np.ones((3, 1)), np.ones(3), None), TypeError, "model"),
    (lambda: demo.show_logistic_regression(np.ones((3, 2)), np.ones(3), "m"), TypeError, "model"),
    (lambda: demo.show_width_vs_depth({"a": None}, {}), TypeError, "models and losses"),
    (lambda: demo.show_xor_mlp(hidden=0), ValueError, "hidden"),
    (lambda: demo.show_gradient_norms(depth=0), ValueError, "depth"),
])
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_never_fires_matches_a_dense_sweep_of_the_interval():
    from course_utils.learning.diagnostics import never_fires

    rng = np.random.default_rng(0)
    w, b = rng.normal(size=2000), rng.normal(size=2000)
    x = np.linspace(-1, 1, 4001)[:, None]
    fires = ((x * w + b) > 0).any(axis=0)                   # brute force over the interval
    assert np.array_equal(never_fires(w, b), ~fires)
    assert np.array_equal(never_fires(w, b), b <= -np.abs(w))
    # both negative is not enough: w = -1, b = -0.5 fires at x = -1
    assert not never_fires([-1.0], [-0.5])[0] and never_fires([-1.0], [-1.0])[0]
    x2 = np.linspace(0, 3, 3001)[:, None]
    assert np.array_equal(never_fires(w, b, 0, 3), ~((x2 * w + b) > 0).any(axis=0))
    with pytest.raises(ValueError, match="low must be below high"):
        never_fires(w, b, 1, 1)
    with pytest.raises(ValueError, match="same shape"):
        never_fires(w, b[:3])


def test_width_depth_arm_chooses_its_rate_on_another_initialisation():
    config = {"hidden": (8,), "lrs": (1e-3, 3e-2), "steps": 120, "selection_seed": 500}
    out = diagnostics.width_depth_arm(config, [0, 1])
    # the rate is the one with the lower late loss from the selection seed, not the scored seeds
    by_rate = {lr: diagnostics.late_loss((8,), lr, 500, 120) for lr in config["lrs"]}
    assert out["chosen lr"] == [min(by_rate, key=by_rate.get)] * 2
    expected = [np.log10(diagnostics.late_loss((8,), out["chosen lr"][0], s, 120)) for s in (0, 1)]
    assert out["log10 late MSE"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="lrs"):
        diagnostics.width_depth_arm({**config, "lrs": ()}, [0])


def test_dead_units_arm_is_dead_relus_after_training_per_seed():
    out = diagnostics.dead_units_arm({"lr": 0.1, "init": "he", "steps": 30}, [0, 3])
    for i, seed in enumerate((0, 3)):
        direct = diagnostics.dead_relus_after_training([0.1], init="he", steps=30, seed=seed)[0.1]
        assert out["dead share"][i] == pytest.approx(direct["dead"].mean())
        assert out["loss"][i] == pytest.approx(direct["loss"])
    with pytest.raises(ValueError, match="lr"):
        diagnostics.dead_units_arm({"lr": -1, "init": "he", "steps": 30}, [0])


def test_orientation_concentration_of_a_grating_and_of_an_isotropic_blob():
    yy, xx = np.mgrid[-2:3, -2:3]
    grating = np.cos(2 * np.pi * 0.25 * xx)[None].astype(float)          # vertical stripes
    blob = np.exp(-(xx ** 2 + yy ** 2) / 2.0)[None]
    spectra = diagnostics.filter_spectra(np.concatenate([grating, blob]), size=16)
    stripes, round_blob = diagnostics.orientation_concentration(spectra)
    assert stripes > 0.7 and stripes > 2 * round_blob      # most power in one direction (a 5-px window leaks)
    assert 0.2 < round_blob < 0.45                         # a 45-degree wedge of a round spectrum
    rotated = diagnostics.filter_spectra(np.rot90(grating, axes=(1, 2)).copy(), size=16)
    assert diagnostics.orientation_concentration(rotated)[0] == pytest.approx(stripes)
    with pytest.raises(ValueError, match="below 90"):
        diagnostics.orientation_concentration(spectra, half_width_deg=90)


@pytest.mark.slow
def test_first_layer_arm_trains_only_when_asked(one_torch_thread):
    untrained = diagnostics.first_layer_arm({"epochs": 0, "lr": 1e-2}, [4])
    torch.manual_seed(4)
    fresh = networks.DigitsCNN(channels=(8, 16))
    spectra = diagnostics.filter_spectra(fresh.conv1.weight, size=16)
    assert untrained["peak frequency"] == [pytest.approx(diagnostics.peak_frequency(spectra).mean())]
    trained = diagnostics.first_layer_arm({"epochs": 1, "lr": 1e-2}, [4])
    assert trained["peak frequency"] != untrained["peak frequency"]
