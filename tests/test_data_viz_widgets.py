"""Bundled images, plot helpers, widgets and the student self-check."""
import matplotlib
import numpy as np
import pytest
from skimage import data as skdata

from course_utils import (AVAILABLE_IMAGES, check_function, check_raises, live, load_image,
                          plot_history, show_images, slider)
from course_utils.data import load_stereo_pair


@pytest.mark.parametrize("name", AVAILABLE_IMAGES)
def test_every_listed_image_loads_offline_in_unit_range(name):
    image = load_image(name)
    assert image.dtype == np.float64 and image.ndim in (2, 3)
    assert 0.0 <= image.min() and image.max() <= 1.0
    gray = load_image(name, gray=True)
    assert gray.ndim == 2 and gray.shape == image.shape[:2]


def test_load_image_matches_skimage():
    np.testing.assert_allclose(load_image("camera"), skdata.camera() / 255.0)
    np.testing.assert_allclose(load_image("astronaut"), skdata.astronaut() / 255.0)


def test_unknown_image_lists_available_names():
    with pytest.raises(ValueError, match="name must be one of .*camera.*coins"):
        load_image("lena")


def test_stereo_pair_has_disparity():
    left, right, disparity = load_stereo_pair()
    assert left.shape == right.shape == disparity.shape
    assert np.nanmax(disparity[np.isfinite(disparity)]) > 10


def test_stereo_pair_downscaled_by_block_means():
    left, right, disparity = load_stereo_pair()
    small_left, small_right, small_disparity = load_stereo_pair(factor=2)
    assert small_left.shape == small_right.shape == small_disparity.shape == (250, 370)
    np.testing.assert_allclose(small_left[3, 5], left[6:8, 10:12].mean())
    np.testing.assert_allclose(small_right[-1, -1], right[498:500, 738:740].mean())
    np.testing.assert_array_equal(small_disparity, disparity[:500:2, :740:2] / 2)
    with pytest.raises(ValueError, match="factor"):
        load_stereo_pair(factor=0)


def test_show_images_builds_a_grid_with_titles():
    fig = show_images([np.zeros((4, 4)), np.ones((4, 4, 3)), np.eye(4)], titles=["a", "b", "c"],
                      cols=2)
    assert isinstance(fig, matplotlib.figure.Figure)
    visible = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in visible] == ["a", "b", "c"]
    assert len(fig.axes) == 4  # 2 x 2 grid, the last axis switched off
    with pytest.raises(ValueError, match="titles must have one entry per image"):
        show_images([np.zeros((2, 2))], titles=["a", "b"])
    with pytest.raises(ValueError, match="images must contain"):
        show_images([])


def test_show_images_passes_display_range_to_every_panel():
    fig = show_images([np.full((2, 2), 0.25), np.eye(2)], vmin=0, vmax=1)
    assert [ax.images[0].get_clim() for ax in fig.axes] == [(0, 1), (0, 1)]
    default = show_images([np.full((2, 2), 0.25), np.eye(2)])
    assert default.axes[1].images[0].get_clim() == (0, 1)
    assert default.axes[0].images[0].get_clim() != (0, 1)  # autoscaled to a constant image


def test_signed_images_are_centred_on_zero():
    fig = show_images([np.array([[-1.0, 3.0]])], signed=True)
    vmin, vmax = fig.axes[0].images[0].get_clim()
    assert vmin == -3.0 and vmax == 3.0


def test_plot_history_plots_each_key():
    fig = plot_history({"train_loss": [3, 2, 1], "val_loss": [3.5, 2.5, 2]})
    lines = fig.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in lines] == [[3, 2, 1], [3.5, 2.5, 2]]
    with pytest.raises(KeyError, match="missing"):
        plot_history({"a": [1]}, keys=["missing"])


def test_slider_types_and_range():
    assert type(slider(3, 1, 9, 2)).__name__ == "IntSlider"
    s = slider(1.5, 0.5, 5.0, 0.5, description="sigma")
    assert type(s).__name__ == "FloatSlider" and s.continuous_update is False
    with pytest.raises(ValueError, match="value must lie in"):
        slider(10, 0, 5)


def test_live_redraws_when_a_control_changes():
    import matplotlib.pyplot as plt

    calls = []

    def show_line(slope):
        calls.append(slope)
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, slope])
        return fig

    ui = live(show_line, slope=slider(1.0, 0.0, 2.0, 0.5))
    ui.children[0].value = 2.0
    assert calls == [1.0, 2.0]
    assert list(ui.result.axes[0].get_lines()[0].get_ydata()) == [0, 2.0]
    with pytest.raises(ValueError, match="at least one control"):
        live(show_line)


def test_live_logs_each_update_with_its_kernel_time(tmp_path, monkeypatch):
    import functools
    import json

    import matplotlib.pyplot as plt

    from course_utils import widgets

    log = tmp_path / "latency.jsonl"
    monkeypatch.setenv(widgets.LOG_ENV, str(log))

    def show_line(slope, offset):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [offset, offset + slope])
        return fig

    ui = live(functools.partial(show_line, offset=0.5), slope=slider(1.0, 0.0, 2.0, 0.5))
    ui.children[0].value = 1.5
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["controls"] for line in lines] == [{"slope": 1.0}, {"slope": 1.5}]
    assert all(line["function"].endswith("show_line") for line in lines)
    assert ui.last_update_s > 0
    assert lines[-1]["seconds"] == pytest.approx(ui.last_update_s, abs=1e-4)


def test_check_function_passes_and_fails_with_details(capsys):
    cases = [(np.arange(4.0),), {"args": (np.ones(3),), "label": "ones"}]
    assert check_function(np.cumsum, cases, reference=np.cumsum)
    out = capsys.readouterr().out
    assert "PASS cumsum case 1" in out and "PASS cumsum ones" in out

    with pytest.raises(AssertionError, match="values differ"):
        check_function(lambda x: x * 2, cases, reference=np.cumsum, name="double")
    out = capsys.readouterr().out
    assert "FAIL double case 1" in out and "max |got - expected|" in out

    with pytest.raises(AssertionError, match=r"shape \(2,\), expected \(4,\)"):
        check_function(lambda x: x[:2], cases[:1], reference=np.cumsum)

    def stub(x):
        raise NotImplementedError()

    assert not check_function(stub, cases, reference=np.cumsum, raise_on_fail=False)
    assert "not implemented yet" in capsys.readouterr().out
    assert check_function(len, [{"args": ([1, 2],), "expected": 2}])
    with pytest.raises(AssertionError, match="got None"):
        check_function(lambda x: None, [{"args": (1,), "expected": 1.0}])


def test_check_raises_reports_both_outcomes(capsys):
    assert check_raises(int, ("x",), exception=ValueError, label="int of text")
    with pytest.raises(AssertionError, match="did not raise"):
        check_raises(int, ("3",), exception=ValueError)
    assert "FAIL" in capsys.readouterr().out


def test_format_table_aligns_columns_and_applies_formats():
    from course_utils import format_table

    text = format_table([{"name": "a", "ms": 1.23456}, {"name": "long", "ms": 120.0}],
                        [("name", "method", ""), ("ms", "time ms", ".1f")])
    lines = text.splitlines()
    assert lines == ["method  time ms", "     a      1.2", "  long    120.0"]
    assert format_table([{"x": 0.123456, "n": 3}]).splitlines() == ["    x  n", "0.123  3"]
    with pytest.raises(ValueError, match="rows"):
        format_table([])
    with pytest.raises(ValueError, match="columns"):
        format_table([{"x": 1}], [("y", "y", "")])


@pytest.mark.parametrize("call, error, words", [
    (lambda: show_images([np.zeros((2, 2))], cols=0), ValueError, "cols must be an integer"),
    (lambda: show_images([np.zeros(4)]), ValueError, "image must be"),
    (lambda: show_images([np.zeros((2, 2, 5))]), ValueError, "image must be"),
    (lambda: plot_history({}), ValueError, "history must hold"),
    (lambda: slider(1, 2, 0), ValueError, "min must be smaller than max"),
    (lambda: slider(1, 0, 2, step=0), ValueError, "step must lie"),
    (lambda: slider(1, 0, 2, step=5), ValueError, "step must lie"),
])
def test_plot_and_widget_helpers_name_the_bad_argument(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_time_call_and_fit_name_the_bad_argument():
    import torch

    from course_utils import fit
    from course_utils.timing import time_call

    with pytest.raises(TypeError, match="fn must be callable"):
        time_call(1)
    with pytest.raises(ValueError, match="repeat must be an integer"):
        time_call(lambda: None, repeat=True)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        fit(torch.nn.Linear(2, 2), [], torch.nn.functional.mse_loss, None, epochs=True)


def test_plot_series_draws_each_named_curve():
    import matplotlib.pyplot as plt

    from course_utils.viz import plot_series

    fig = plot_series([1, 10, 100], {"a": [0.1, 0.2, 0.3], "b": [0.5, 0.4, 0.3]}, "x", "y", logx=True,
                      ylim=(0, 1))
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [0.5, 0.4, 0.3])
    assert ax.get_xscale() == "log" and ax.get_ylim() == (0, 1) and ax.get_xlabel() == "x"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    plt.close(fig)
    with pytest.raises(ValueError, match="series"):
        plot_series([1], {}, "x", "y")


def test_choice_slider_scrubs_precomputed_values():
    from course_utils.widgets import choice_slider

    s = choice_slider([0.01, 0.05, 0.5], 0.05, "share")
    assert type(s).__name__ == "SelectionSlider" and s.continuous_update is False
    assert s.value == 0.05 and list(s.options) == [0.01, 0.05, 0.5]
    with pytest.raises(ValueError, match="value must be one of options"):
        choice_slider([0.01, 0.5], 0.05)
    with pytest.raises(ValueError, match="options must be a non-empty list"):
        choice_slider([], 0.05)
