"""Chapter 10 figures: what each panel shows, and the widgets' plain functions."""
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from course_utils.audit import camera  # noqa: E402
from course_utils.audit import figures as demos  # noqa: E402

pytestmark = pytest.mark.chapter("10_ethics_audits")


def test_group_bars_and_confound_curve():
    fig = demos.show_group_bars({"a": [0.1, 0.3], "b": [0.2, 0.2]}, ["light", "dark"], "error")
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    assert heights == [0.1, 0.2, 0.3, 0.2]
    plt.close(fig)
    fig = demos.show_confound([0.5, 0.9], [0.5, 0.9], [0.5, 0.49])
    np.testing.assert_allclose(fig.axes[0].get_lines()[1].get_ydata(), [0.5, 0.49])
    plt.close(fig)


def test_captures_mark_clipped_pixels_and_exposure_widget():
    codes = np.full((2, 4, 4), 100)
    codes[0, 0, 0], codes[1, 1, 1] = 0, 255
    fig = demos.show_captures({"s": codes}, np.array([0, 1]), per_group=1)
    first = np.asarray(fig.axes[0].images[0].get_array())
    np.testing.assert_allclose(first[0, 0], (0.85, 0.1, 0.1))
    np.testing.assert_allclose(np.asarray(fig.axes[1].images[0].get_array())[1, 1], (0.1, 0.3, 0.9))
    plt.close(fig)
    radiance = np.stack([np.full((4, 4), 0.6), np.full((4, 4), 0.02)])
    fig = demos.show_exposure(radiance, np.array([0, 1]), stops=0.0)
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    codes = camera.capture(radiance, camera.calibrate_exposure(0.6, target=0.75))
    assert heights == [camera.clipped_fraction(codes[:1]), camera.clipped_fraction(codes[1:])]
    assert heights[1] == 1.0
    plt.close(fig)


def test_experiment_widgets_draw_what_the_experiments_return(monkeypatch):
    curve = {0.01: [0.05, 0.6], 0.2: [0.1, 0.35], 0.5: [0.08, 0.1]}
    fig = demos.show_imbalance(curve, ["light", "dark"], share_dark=0.2)
    line_ax, bar_ax = fig.axes
    lines = line_ax.get_lines()
    assert [list(line.get_ydata()) for line in lines[:2]] == [[0.05, 0.1, 0.08], [0.6, 0.35, 0.1]]
    assert list(lines[0].get_xdata()) == [0.01, 0.2, 0.5]
    assert list(lines[2].get_xdata()) == [0.2, 0.2]          # the marked share
    assert [bar.get_height() for bar in bar_ax.patches] == [0.1, 0.35]
    assert bar_ax.get_title() == "gap +0.250"
    assert [t.get_text() for t in bar_ax.get_xticklabels()] == ["dark share 0.20"]
    plt.close(fig)
    with pytest.raises(ValueError, match="share_dark must be one of the trained shares"):
        demos.show_imbalance(curve, share_dark=0.3)
    monkeypatch.setattr(demos, "confound_accuracies", lambda agreement: (agreement, 0.5))
    fig = demos.show_confound_strength(0.8)
    assert [bar.get_height() for bar in fig.axes[0].patches] == [0.8, 0.5]
    assert fig.axes[0].get_title() == "nuisance agrees with the label 80%"
    plt.close(fig)
