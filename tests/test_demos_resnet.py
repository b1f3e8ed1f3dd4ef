"""The degradation figure: one loss curve per history and the measured gradient norms."""
import pytest
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from course_utils.recognition import figures_resnet as demos  # noqa: E402

pytestmark = pytest.mark.chapter("04_object_recognition")


def test_show_degradation_plots_each_history_and_the_gradients():
    histories = {"a": {"train_loss": [2.3, 2.0, 1.5]}, "b": {"train_loss": [2.3, 2.3, 2.3]}}
    fig = demos.show_degradation(histories)
    assert len(fig.axes) == 1
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), [2.3, 2.0, 1.5])
    np.testing.assert_allclose(lines[1].get_ydata(), [2.3, 2.3, 2.3])
    np.testing.assert_allclose(lines[2].get_ydata(), [np.log(10)] * 2)      # chance level
    plt.close(fig)
    histories["a"]["first_layer_grad"], histories["b"]["first_layer_grad"] = [0.5], [1e-6]
    fig = demos.show_degradation(histories)
    assert len(fig.axes) == 2
    assert [bar.get_height() for bar in fig.axes[1].patches] == [0.5, 1e-6]
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["a", "b"]
    plt.close(fig)
