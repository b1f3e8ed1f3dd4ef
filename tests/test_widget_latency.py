"""The widget latency tables (course_utils.instructor.widget_latency): goals judged on the
right column, reasons for named widgets, and the kernel-alone probe on a small notebook."""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_utils.instructor import widget_latency as wl


def _finding(function, kernel, browser, notebook="05_video.ipynb"):
    return {"notebook": notebook, "latency": [{"cell": 7, "function": function, "slider": "T",
                                               "kernel_s": kernel, "browser_s": browser}]}


def test_end_to_end_rows_judge_the_browser_time_and_name_the_reason(monkeypatch):
    rows = wl.widget_rows([_finding("fast", [0.1, 0.2, None], [0.4, 0.9, 0.5]),
                           _finding("slow", [0.2, 0.2, 0.2], [0.5, 1.4, 0.6]),
                           _finding("named", [0.8, 0.9, 0.7], [1.2, 1.3, 1.1])])
    fast, slow, named = rows
    assert (fast["kernel_median_s"], fast["kernel_worst_s"], fast["browser_worst_s"]) == pytest.approx((0.15, 0.2, 0.9))
    assert fast["status"] == "within goal" and fast["moves"] == 3
    assert slow["status"] == "OVER GOAL (no reason recorded)"
    monkeypatch.setitem(wl.SLOW_WIDGETS, ("05_video", "named"), "trains on every move")
    named = wl.widget_rows([_finding("named", [0.8], [1.2])])[0]
    assert named["status"] == "over goal: trains on every move"
    table = wl.markdown(rows, cpu_unit_s=2.0)
    assert "| 05_video | 7 | `fast` | T | 3 | 0.15 / 0.20 | 0.50 / 0.90 | within goal |" in table
    assert "CPU unit took 2.00 s" in table


def test_kernel_rows_judge_the_kernel_time():
    rows = wl.kernel_rows("11_sound", [{"function": "show_mix", "slider": "loudness",
                                        "seconds": [0.3, 0.6, 0.2], "values": ["1", "2", "3"]},
                                       {"function": "show_tradeoff", "slider": "hop",
                                        "seconds": [0.1, 0.1], "values": ["1", "2"]}])
    assert [(r["kernel_median_s"], r["kernel_worst_s"], r["status"]) for r in rows] == [
        (0.3, 0.6, "OVER GOAL (no reason recorded)"), (0.1, 0.1, "within goal")]
    assert "2 sliders, 1 past the goal." in wl.kernel_markdown(rows)


@pytest.mark.slow
def test_the_kernel_probe_moves_every_slider_to_values_not_shown_before(tmp_path):
    nb = new_notebook(cells=[new_code_cell(
        "import time\nimport matplotlib.pyplot as plt\n"
        "from course_utils.widgets import live, slider, choice_slider\n"
        "def show(n, pause):\n"
        "    time.sleep(pause * 0.1)\n"
        "    fig, ax = plt.subplots(figsize=(2, 2))\n"
        "    ax.plot(range(n))\n"
        "    return fig\n"
        "ui = live(show, n=slider(2, 1, 4), pause=choice_slider([0, 1, 2, 3], 2))")])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "00_demo.ipynb")
    rows = wl.measure_kernel(tmp_path / "00_demo.ipynb")
    assert not list(tmp_path.glob(".widget-probe-*"))      # the probe copy is gone
    n_row, pause_row = rows
    assert (n_row["function"], n_row["slider"]) == ("show", "n")
    assert n_row["values"] == ["3", "4"]                    # up from 2, within the range
    assert pause_row["values"] == ["3", "1", "0"]           # up to the top, then down
    # each move is timed: the sleep the function was asked for is in its seconds
    assert all(s >= 0.1 * int(v) for s, v in zip(pause_row["seconds"], pause_row["values"]))
    assert pause_row["seconds"][0] > pause_row["seconds"][2] + 0.2


def test_a_contended_run_is_recorded_but_not_judged(tmp_path):
    import json

    browser = tmp_path / "browser"
    browser.mkdir()
    (browser / "05_video.json").write_text(json.dumps(_finding("slow", [0.9], [1.4])))
    (browser / "06_tracking.json").write_text(json.dumps(_finding("fast", [0.1], [0.3], "06_tracking.ipynb")))
    rows = wl.write_table(browser, tmp_path, side_by_side=2)
    assert [r["status"] for r in rows] == ["not judged (2 at a time): over 1 s here",
                                           "not judged (2 at a time): within 1 s here"]
    assert "2 notebooks (and browsers) sharing the machine" in (tmp_path / "widget-latency.md").read_text()
    alone = wl.write_table(browser, tmp_path)
    assert [r["status"] for r in alone] == ["OVER GOAL (no reason recorded)", "within goal"]
