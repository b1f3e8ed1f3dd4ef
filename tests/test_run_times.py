"""Run times in one place: the title cells and the README carry the figures of the measured
record (notebooks/run_times.json, written by `make times`), and the writer / checker agree."""
from __future__ import annotations

import json
import shutil

import pytest

from course_utils.instructor import run_times


def test_title_cells_and_readme_carry_the_recorded_run_times():
    assert run_times.problems(run_times.load_record()) == []


def test_write_puts_the_figures_where_problems_looks(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    stems = ["01_convolution", "04_object_recognition"]         # list and string cell sources
    for stem in stems:
        shutil.copy(run_times.NOTEBOOKS / f"{stem}.ipynb", notebooks)
    readme = tmp_path / "README.md"
    shutil.copy(run_times.README, readme)
    record = {"chapters": {stems[0]: {"wall_s": 12.34, "cpu_s": 11.0, "units": 4.9, "cpu_unit_s": 2.5},
                           stems[1]: {"wall_s": 130.0, "cpu_s": 125.5, "units": 52.0, "cpu_unit_s": 2.5}}}
    before = {s: json.loads((notebooks / f"{s}.ipynb").read_text()) for s in stems}
    run_times.write(record, notebooks, readme)
    assert run_times.problems(record, notebooks, readme) == []
    assert "| 5 units (12 s wall) |" in readme.read_text()
    assert "| 52 units (2.2 min wall) |" in readme.read_text()
    for stem in stems:
        after = json.loads((notebooks / f"{stem}.ipynb").read_text())
        assert after["cells"][1:] == before[stem]["cells"][1:]          # only the title cell changed
        assert run_times.title_line(record["chapters"][stem]) in run_times._title_source(after)
    record["chapters"][stems[0]]["units"] = 8.0
    found = run_times.problems(record, notebooks, readme)
    assert len(found) == 3 and sum(stems[0] in line for line in found) == 2
    assert "course total" in found[-1]


def test_parse_total_reads_the_last_printed_total():
    text = "total run time: 1.0 s wall, 2.0 s CPU\nmore\ntotal run time: 12.5 s wall, 11 s CPU\n"
    assert run_times.parse_total(text) == (12.5, 11.0)
    with pytest.raises(ValueError, match="no 'total run time"):
        run_times.parse_total("total run time: 12.5 s")


def test_the_recorded_costs_are_in_units_of_the_same_run_and_the_overruns_are_named():
    """The record divides each chapter's seconds by the unit timed in its run; every chapter
    past its cap is named in budgets.OVER_CAP with the issue that brings it back, and nothing
    else is (a chapter that drops under its cap must leave the list)."""
    from course_utils.instructor import budgets

    record = run_times.load_record()
    for stem, entry in record["chapters"].items():
        assert entry["units"] == pytest.approx(entry["wall_s"] / entry["cpu_unit_s"], abs=0.06), stem
    costs = {s: e["units"] for s, e in record["chapters"].items()}
    over = {s for s, units in costs.items() if units > budgets.cap_units(s)}
    assert over == set(budgets.OVER_CAP), (
        "budgets.OVER_CAP must name exactly the chapters past their cap (with the issue that "
        f"fixes each): over {sorted(over)}, listed {sorted(budgets.OVER_CAP)}")
    if run_times.total_units(record) > budgets.COURSE_CAP_UNITS:
        assert budgets.OVER_CAP and budgets.COURSE_OVER_CAP


def test_cell_seconds_ranks_the_cells_by_nbclients_timestamps():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"),
                                         nbformat.v4.new_code_cell("# setup\nx = 1"),
                                         nbformat.v4.new_code_cell("y = x + 1")])
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    executed = run_times.cell_seconds(nb)
    assert [r["cell"] for r in sorted(executed, key=lambda r: r["cell"])] == [2, 3]   # code cells only
    assert {r["first_line"] for r in executed} == {"x = 1", "y = x + 1"}              # comments skipped
    # the timestamps nbclient writes (ISO 8601, UTC "Z"), set by hand: cell 3 took 2.5 s, cell 2 0.25 s
    nb.cells[1].metadata.execution = {"iopub.execute_input": "2026-12-03T10:00:00.000000Z",
                                      "shell.execute_reply": "2026-12-03T10:00:00.250000Z"}
    nb.cells[2].metadata.execution = {"iopub.execute_input": "2026-12-03T10:00:01.000000Z",
                                      "shell.execute_reply": "2026-12-03T10:00:03.500000Z"}
    assert [(r["cell"], r["s"]) for r in run_times.cell_seconds(nb)] == [(3, 2.5), (2, 0.2)]
    assert run_times.cell_seconds(nb, top=1)[0]["cell"] == 3
