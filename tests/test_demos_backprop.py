"""Chapter 03 figures: each returns a Figure, and the widget functions respond to their knobs."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_utils import nn as cnn
from course_utils.data.points import blobs, noisy_line, sample_target, xor_points
from course_utils.demos import backprop as demo


pytestmark = pytest.mark.usefixtures("one_torch_thread")


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
    np.testing.assert_allclose(norms, demo.gradient_norms(14, "sigmoid"), rtol=1e-12)
    with pytest.raises(ValueError, match="activation"):
        demo.show_gradient_norms(activation="elu")


def test_layer_gradient_checks_pass_for_every_layer():
    rows = demo.layer_gradient_checks(seed=1)
    names = " ".join(r["layer"] for r in rows)
    for layer in ("linear", "conv2d", "max-pool", "relu", "sigmoid", "batch norm (train)",
                  "batch norm (eval)", "dropout", "softmax + cross-entropy"):
        assert layer in names
    for row in rows:
        assert row["forward vs torch"] < 1e-7, row
        assert row["backward vs torch.autograd"] < 1e-7, row
        assert row["backward vs numeric"] < 1e-6, row
        assert row["gradcheck"] is True, row
    table = demo.format_table(rows)
    assert len(table.splitlines()) == len(rows) + 1 and "gradcheck" in table.splitlines()[0]


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
    good = demo.dead_relus_after_training([1e-3, 1e-1], steps=100)
    bad = demo.dead_relus_after_training([1e-3], init="negative_bias", steps=100)
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
    models = {"wide": cnn.make_mlp(1, [30], 1, "tanh"), "deep": cnn.make_mlp(1, [5, 5], 1, "tanh")}
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
                               cnn.filter_spectra(weight, size=12)[2])
    assert fig.axes[7].images[0].get_array().shape == (12, 12)


def test_static_figures():
    assert isinstance(demo.show_losses(), Figure)
    x, y = noisy_line()
    fig = demo.show_linear_regression(x, y, cnn.fit_linear_regression(x, y, steps=50))
    assert "y = " in fig.axes[0].get_legend().get_texts()[1].get_text()
    x, y = blobs()
    fig = demo.show_logistic_regression(x, y, cnn.fit_logistic_regression(x, y, steps=50))
    assert "accuracy" in fig.axes[0].get_title()
    x, y = xor_points()
    fig = demo.show_logistic_regression(x, y, cnn.fit_logistic_regression(x, y, steps=50), "XOR")
    assert fig.axes[0].get_title().startswith("XOR")
