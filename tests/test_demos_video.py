"""Chapter 05 figures: what each panel shows (arrays, bars, titles), and the widgets' plain
functions."""
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from course_utils.temporal import figures as demos  # noqa: E402

pytestmark = pytest.mark.chapter("05_video")


def test_show_clip_draws_each_frame():
    frames = np.random.default_rng(0).random((5, 6, 7))
    fig = demos.show_clip(frames, "x", max_frames=4)
    assert len(fig.axes) == 4
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), frames[2])
    assert fig.axes[3].get_title() == "t = 3"
    plt.close(fig)
    with pytest.raises(ValueError, match="frames must be"):
        demos.show_clip(np.zeros((4, 4)))


def test_show_motion_response_shows_frame_t_and_both_filters():
    clip = np.random.default_rng(1).random((4, 5, 5))
    response = np.random.default_rng(2).normal(size=(2, 4, 5, 5))
    fig = demos.show_motion_response(clip, response, t=2)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), clip[2])
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), response[1, 2])
    assert f"{np.clip(response[0, 2], 0, None).sum():.1f}" in fig.axes[1].get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="t must lie"):
        demos.show_motion_response(clip, response, t=4)


def test_show_future_leak_bars():
    leaks = {"a": [0.0, 1.0, 2.0], "b": [0.0, 0.0, 3.0]}
    fig = demos.show_future_leak(leaks, frame=2)
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    assert heights == [0.0, 1.0, 2.0, 0.0, 0.0, 3.0]
    plt.close(fig)


def test_gradient_and_clipping_figures():
    fig = demos.show_gradient_distance({"x": torch.tensor([1.0, 0.1, 0.01])})
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [1.0, 0.1, 0.01], rtol=1e-6)
    assert fig.axes[0].get_yscale() == "log"
    plt.close(fig)
    fig = demos.show_rnn_vs_lstm(steps=20, forget_bias=3.0)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 and len(lines[0].get_ydata()) == 20
    assert lines[1].get_ydata()[-1] > 100 * lines[0].get_ydata()[-1]   # the LSTM keeps more
    plt.close(fig)
    runs = {"r": {"loss": [0.7, 0.5], "grad_norm": [3.0, 1.0], "accuracy": 0.9}}
    fig = demos.show_clipping(runs)
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [0.7, 0.5])
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), [3.0, 1.0])
    plt.close(fig)


def test_show_heads_and_tree_embeddings():
    past = torch.zeros(3, 8)
    futures = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]] * 3)
    results = {2: {"past": past, "futures": futures, "predictions": futures.clone(),
                   "errors": {"guess_to_nearest_future": 0.0, "future_to_nearest_guess": 0.0}}}
    fig = demos.show_heads(results, heads=2)
    guesses = [line for line in fig.axes[0].get_lines() if line.get_marker() == "x"][0]
    np.testing.assert_allclose(guesses.get_xdata(), [1.0, 0.0])
    assert "K = 2" in fig._suptitle.get_text()
    plt.close(fig)
    with pytest.raises(ValueError, match="heads must be one of"):
        demos.show_heads(results, heads=3)
    parent = np.array([-1, 0, 0])
    points = np.array([[0.0, 0.0], [0.5, 0.0], [-0.5, 0.0]])
    fig = demos.show_tree_embeddings(parent, {"euclidean": points, "poincare": points},
                                     {"euclidean": {"average": 0.2, "worst": 3.0},
                                      "poincare": {"average": 0.1, "worst": 2.0}})
    assert len(fig.axes[0].get_lines()) == 2 and len(fig.axes[1].patches) == 1   # unit circle
    assert "0.100" in fig.axes[1].get_title()
    plt.close(fig)
