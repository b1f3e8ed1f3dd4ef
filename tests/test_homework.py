"""Homework tooling: release and autograde every chapter that has exercises (nbgrader).

Per notebook ONE autograde batch grades a set of made-up students and the tests below read
its results (grades.csv, autograded notebooks, feedback/). Students are started in name
order, so the trouble makers (killer, runaway) come before students whose rows must survive.
"""
from __future__ import annotations

import copy
import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest
from nbgrader.preprocessors import ClearSolutions

from course_utils import homework

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "homework_demo.ipynb"
NOTEBOOKS = [REPO / "notebooks" / f"{c}.ipynb"
             for c in homework.chapters_with_exercises(REPO / "notebooks")] + [FIXTURE]

# Exercise cells must run well under a second (CONTRIBUTING.md; the slowest took 0.14 s on a
# busy machine), so 10 s is safe and is what each runaway exercise costs. Ordinary cells keep
# the long production limit: only a broken chapter would reach it.
EXERCISE_TIMEOUT = 10
CELL_TIMEOUT = homework.TIMEOUT
TOTAL_TIMEOUT = homework.TOTAL_TIMEOUT
JOBS = 2  # two submissions at a time: also exercises the shared gradebook
STUB = ClearSolutions().code_stub["python"]        # nbgrader's own "raise NotImplementedError()"
RUNAWAY = "while True:\n    pass"
KILL = "import os\nos.kill(os.getpid(), 9)"
DEAF = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"

FULL, KILLER, KILLER_IN_SOLUTION, UNINTERRUPTIBLE, PARTIAL = "s1_full", "s2_killer", \
    "s3_killer_in_solution", "s3_uninterruptible", "s4_partial_runaway"
NOT_JSON, MISSING_CELL, RENAMED, BLANK, WRONG_NAME = "s5_not_json", "s6_missing_cell", \
    "s7_renamed_grade_id", "s8_blank", "s9_wrong_file_name"


def _nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def exercises(nb) -> list[tuple[int, list[int]]]:
    """(solution cell index, [test cell indices]) per exercise: tests follow their solution."""
    out: list[tuple[int, list[int]]] = []
    for i, cell in enumerate(nb.cells):
        if _nbgrader_meta(cell).get("solution"):
            out.append((i, []))
        elif _nbgrader_meta(cell).get("grade") and out:
            out[-1][1].append(i)
    return out


def with_solutions(nb, stubs: dict[int, str]):
    """Copy of ``nb`` with the solution block of exercise k replaced by ``stubs[k]``."""
    nb = copy.deepcopy(nb)
    for k, (index, _) in enumerate(exercises(nb)):
        if k in stubs:
            ClearSolutions(code_stub={"python": stubs[k]})._replace_solution_region(
                nb.cells[index], "python")
    return nb


def points_of(nb, solved: set[int]) -> float:
    """Points a submission earns when exactly the exercises in ``solved`` are correct."""
    owner = {i: k for k, (_, tests) in enumerate(exercises(nb)) for i in tests}
    return sum(float(_nbgrader_meta(c)["points"]) for i, c in enumerate(nb.cells)
               if _nbgrader_meta(c).get("grade") and owner.get(i, -1) in solved | {-1})


def block_lines(cells, begin: str, end: str) -> tuple[list[str], list[str]]:
    """Non-blank stripped lines inside ``begin``/``end`` blocks, and those outside them."""
    inside, outside = [], []
    for cell in cells:
        in_block = False
        for line in cell.source.splitlines():
            if begin in line:
                in_block = True
            elif end in line:
                in_block = False
            elif line.strip():
                (inside if in_block else outside).append(line.strip())
    return inside, outside


@dataclass
class Batch:
    chapter: str
    source: nbformat.NotebookNode
    released: nbformat.NotebookNode
    root: Path
    rows: dict[str, dict]
    expected: dict[str, float]

    def graded(self, student: str):
        path = self.root / "autograded" / student / self.chapter / f"{self.chapter}.ipynb"
        return nbformat.read(path, as_version=4)


def _submit(root: Path, student: str, chapter: str, nb=None, text: str | None = None,
            name: str | None = None) -> None:
    folder = root / "submitted" / student / chapter
    folder.mkdir(parents=True)
    path = folder / (name or f"{chapter}.ipynb")
    if text is not None:
        path.write_text(text)
    else:
        nbformat.write(nb, path)


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=lambda p: p.stem)
def batch(request, tmp_path_factory) -> Batch:
    notebook: Path = request.param
    chapter, root = notebook.stem, tmp_path_factory.mktemp(f"course_{notebook.stem}")
    common = ["--root", str(root), "--notebooks", str(notebook.parent), "--chapter", chapter]
    assert homework.main(["release", *common]) == 0
    source = nbformat.read(notebook, as_version=4)
    released = nbformat.read(root / "release" / chapter / f"{chapter}.ipynb", as_version=4)
    n = len(exercises(source))
    assert n >= 1, f"{chapter}: solution blocks but no nbgrader solution cell"

    killer = copy.deepcopy(source)  # a student cell at the top that kills the kernel: cheap
    killer.cells.insert(0, nbformat.v4.new_code_cell(KILL))
    runaway = 1 if n > 1 else 0
    solved = {k for k in range(0, n, 2) if k != runaway}
    partial = with_solutions(source, {k: (RUNAWAY if k == runaway else STUB)
                                      for k in range(n) if k not in solved})
    missing = copy.deepcopy(source)
    del missing.cells[exercises(source)[-1][1][-1]]
    renamed = copy.deepcopy(released)
    first_test = exercises(source)[0][1][0]
    renamed.cells[first_test].metadata.nbgrader["grade_id"] += "_renamed"

    total = sum(homework.exercise_points(source).values())
    expected = {FULL: total, KILLER: 0.0, PARTIAL: points_of(source, solved), BLANK: 0.0}
    _submit(root, FULL, chapter, source)
    _submit(root, KILLER, chapter, killer)
    if notebook == FIXTURE and n > 1:  # cheap here; a real chapter would run in full again
        _submit(root, KILLER_IN_SOLUTION, chapter, with_solutions(source, {n - 1: KILL}))
        expected[KILLER_IN_SOLUTION] = points_of(source, set(range(n - 1)))
        _submit(root, UNINTERRUPTIBLE, chapter, with_solutions(source, {1: DEAF}))
        expected[UNINTERRUPTIBLE] = points_of(source, {0})  # later cells cannot run
    _submit(root, PARTIAL, chapter, partial)
    _submit(root, NOT_JSON, chapter, text=json.dumps(source)[:500])
    _submit(root, MISSING_CELL, chapter, missing)
    _submit(root, RENAMED, chapter, renamed)
    _submit(root, BLANK, chapter, released)
    _submit(root, WRONG_NAME, chapter, released, name=f"{chapter}-Copy1.ipynb")

    assert homework.main(["autograde", *common, "--exercise-timeout", str(EXERCISE_TIMEOUT),
                          "--timeout", str(CELL_TIMEOUT), "--total-timeout",
                          str(TOTAL_TIMEOUT), "--jobs", str(JOBS)]) == 0
    with open(root / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return Batch(chapter, source, released, root, rows, expected)


def _row(batch: Batch, student: str) -> tuple[float, float, str, str]:
    r = batch.rows[student]
    assert r["chapter"] == batch.chapter
    return float(r["score"]), float(r["max_score"]), r["status"], r["message"]


def _errors(cell) -> list[str]:
    return [o.get("ename", "") for o in cell.get("outputs", []) if o.output_type == "error"]


def _seconds(cell) -> float:
    from datetime import datetime

    t = cell.metadata.get("execution", {})
    if "iopub.execute_input" not in t or "shell.execute_reply" not in t:
        return 0.0
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(t["shell.execute_reply"]) - parse(t["iopub.execute_input"])).total_seconds()


# 1 ------------------------------------------------------------------------------ release
def test_release_has_no_solution_or_hidden_test_text(batch: Batch):
    released_lines = [ln.strip() for c in batch.released.cells for ln in c.source.splitlines()]
    for begin, end in (("BEGIN SOLUTION", "END SOLUTION"),
                       ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")):
        secret, public = block_lines(batch.source.cells, begin, end)
        assert secret, f"{batch.chapter}: no {begin} block found"
        for line in set(secret):
            # a line may appear only as often as it does outside the blocks of the source
            assert released_lines.count(line) <= public.count(line), \
                f"{batch.chapter}: released notebook leaks {begin} line {line!r}"
        assert not any(begin in ln or end in ln for ln in released_lines)


def test_release_stubs_solutions_and_keeps_visible_tests(batch: Batch):
    source_ids = {_nbgrader_meta(c).get("grade_id"): c for c in batch.source.cells}
    seen = 0
    for cell in batch.released.cells:
        meta = _nbgrader_meta(cell)
        assert cell.cell_type != "code" or not cell.outputs
        if meta.get("solution"):
            assert "raise NotImplementedError()" in cell.source
        if meta.get("grade"):
            seen += 1
            _, visible = block_lines([source_ids[meta["grade_id"]]], "BEGIN HIDDEN TESTS",
                                     "END HIDDEN TESTS")
            assert block_lines([cell], "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")[1] == visible
            assert meta["locked"]
    assert seen == len(homework.exercise_points(batch.source))


# 2 -------------------------------------------------------------------------- full marks
def test_source_notebook_gets_full_marks(batch: Batch):
    score, max_score, status, message = _row(batch, FULL)
    assert status == "graded" and max_score == batch.expected[FULL] > 0
    graded = batch.graded(FULL)
    slow = {c.metadata.nbgrader["grade_id"]: round(_seconds(c), 1) for c in graded.cells
            if homework.is_exercise_cell(c) and _seconds(c) > EXERCISE_TIMEOUT / 3}
    assert score == max_score, f"{batch.chapter}: {message}; slow exercise cells: {slow}"
    assert not slow, f"{batch.chapter}: exercise cells near the {EXERCISE_TIMEOUT} s limit: {slow}"
    assert not [i for i, c in enumerate(graded.cells) if c.cell_type == "code" and _errors(c)]


# 3 ----------------------------------------------------------------- blank student version
def test_released_notebook_scores_zero_and_other_cells_run(batch: Batch):
    score, max_score, status, message = _row(batch, BLANK)
    assert (status, score, max_score) == ("graded", 0.0, batch.expected[FULL]), message
    graded = batch.graded(BLANK)
    assert len(graded.cells) == len(batch.released.cells)
    for i, cell in enumerate(graded.cells):
        if cell.cell_type != "code":
            continue
        if _nbgrader_meta(cell).get("grade"):
            assert _errors(cell), f"test cell {cell.metadata.nbgrader['grade_id']} passed unsolved"
        elif not _nbgrader_meta(cell).get("solution"):
            assert not _errors(cell), f"{batch.chapter}: ordinary cell {i + 1} fails in the " \
                f"student version (does it use an exercise's function?):\n{cell.source[:300]}"


# 4 ------------------------------------------------------------------------ partial credit
def test_partial_submission_gets_exactly_the_solved_points(batch: Batch):
    score, max_score, status, message = _row(batch, PARTIAL)
    assert status == "graded", message
    assert score == batch.expected[PARTIAL], message
    assert 0 < score < max_score or len(exercises(batch.source)) < 2


# 5 ------------------------------------------------------------------ runaway and killer
def test_runaway_exercise_is_stopped_by_the_exercise_timeout(batch: Batch):
    score, _, status, message = _row(batch, PARTIAL)
    assert "timed out" in message
    timed_out = [c for c in batch.graded(PARTIAL).cells if "CellTimeoutError" in _errors(c)]
    runaway = 1 if len(exercises(batch.source)) > 1 else 0
    first_test = exercises(batch.source)[runaway][1][0]
    assert len(timed_out) == 1
    assert timed_out[0].metadata.nbgrader["grade_id"] == \
        batch.source.cells[first_test].metadata.nbgrader["grade_id"]
    if UNINTERRUPTIBLE in batch.expected:  # ignores the interrupt: the rest is not run
        score, _, status, message = _row(batch, UNINTERRUPTIBLE)
        assert (status, score) == ("graded", batch.expected[UNINTERRUPTIBLE]), message
        assert "timed out" in message
        cells = [c for c in batch.graded(UNINTERRUPTIBLE).cells if c.cell_type == "code"]
        stuck = next(i for i, c in enumerate(cells) if "CellTimeoutError" in _errors(c))
        assert cells[stuck + 1:] and all(_errors(c) == ["NotRun"] for c in cells[stuck + 1:])


def test_killed_kernel_is_scored_and_later_cells_marked_not_run(batch: Batch):
    for student in (KILLER, KILLER_IN_SOLUTION):
        if student not in batch.expected:
            continue
        score, max_score, status, message = _row(batch, student)
        assert (status, score) == ("graded", batch.expected[student]), message
        assert "kernel died" in message
        cells = [c for c in batch.graded(student).cells if c.cell_type == "code"
                 and c.source.strip()]
        dead = next(i for i, c in enumerate(cells) if "DeadKernelError" in _errors(c))
        assert all(_errors(c) == ["NotRun"] for c in cells[dead + 1:])


def test_batch_goes_on_and_keeps_every_result(batch: Batch):
    students = sorted(p.name for p in (batch.root / "submitted").iterdir())
    assert sorted(batch.rows) == students
    for student, expected in batch.expected.items():
        assert float(batch.rows[student]["score"]) == expected, batch.rows[student]
    for student in students:
        page = batch.root / "feedback" / student / batch.chapter / f"{batch.chapter}.html"
        assert page.stat().st_size > 0, f"no feedback for {student}"
    full_page = (batch.root / "feedback" / FULL / batch.chapter / f"{batch.chapter}.html")
    assert re.search(r"Score: *[\d.]+ */ *[\d.]+", full_page.read_text())  # nbgrader's page


# 6 ---------------------------------------------------------------------------- malformed
@pytest.mark.parametrize("student, status, words", [
    (NOT_JSON, "malformed", "not valid JSON"),
    (MISSING_CELL, "malformed", "exercise cells missing"),
    (RENAMED, "malformed", "renamed"),
    (WRONG_NAME, "missing", "-Copy1.ipynb"),
])
def test_malformed_submission_gets_a_clear_message(batch: Batch, student, status, words):
    score, max_score, got_status, message = _row(batch, student)
    assert (got_status, score, max_score) == (status, 0.0, batch.expected[FULL])
    assert words in message
    page = batch.root / "feedback" / student / batch.chapter / f"{batch.chapter}.html"
    assert words in page.read_text()


# ----------------------------------------------------- the wall-clock limit (fixture only)
def test_wall_clock_limit_kills_grader_and_kernel(tmp_path):
    chapter = FIXTURE.stem
    source = nbformat.read(FIXTURE, as_version=4)
    pid_file = tmp_path / "kernel.pid"
    stuck = copy.deepcopy(source)  # ignores interrupts, so only the wall clock can stop it
    stuck.cells.insert(0, nbformat.v4.new_code_cell(
        "import os, signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(3600)"))
    _submit(tmp_path, "a_stuck", chapter, stuck)
    _submit(tmp_path, "b_not_json", chapter, text="{")
    rows = homework.autograde(tmp_path, FIXTURE.parent, [chapter], timeout=CELL_TIMEOUT,
                              total_timeout=45, log=lambda line: None)
    assert [(r.student, r.status, r.score) for r in rows] == [
        ("a_stuck", "timeout", 0.0), ("b_not_json", "malformed", 0.0)]
    assert "45 s wall-clock limit" in rows[0].message
    assert pid_file.exists(), "the stuck cell never started: is the machine very busy?"
    kernel = int(pid_file.read_text())
    assert not psutil.pid_exists(kernel) or psutil.Process(kernel).status() == "zombie"
    assert not (tmp_path / "autograded" / "a_stuck" / chapter).exists()


# ------------------------------------------------------------------ arguments and grades.csv
def test_bad_arguments_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="chapters"):
        homework.release(tmp_path, FIXTURE.parent, ["no_such_chapter"])
    with pytest.raises(ValueError, match="notebooks_dir"):
        homework.release(tmp_path, tmp_path / "nowhere")
    with pytest.raises(ValueError, match="exercise_timeout"):
        homework.autograde(tmp_path, FIXTURE.parent, exercise_timeout=0)
    with pytest.raises(ValueError, match="jobs"):
        homework.autograde(tmp_path, FIXTURE.parent, jobs=0)
    with pytest.raises(ValueError, match="root: no submissions"):
        homework.autograde(tmp_path, FIXTURE.parent)
    with pytest.raises(SystemExit):
        homework.main(["grade"])


def test_grades_csv_merges_runs(tmp_path):
    path = tmp_path / "grades.csv"
    homework._write_rows(path, [homework.GradeRow("ann", "01_a", 1.0, 2.0, "graded"),
                                homework.GradeRow("bob", "01_a", 0.0, 2.0, "malformed", "x, y")])
    homework._write_rows(path, [homework.GradeRow("ann", "01_a", 2.0, 2.0, "graded"),
                                homework.GradeRow("ann", "02_b", 0.5, 1.0, "graded")])
    with open(path, newline="") as f:
        rows = [(r["student"], r["chapter"], r["score"], r["message"]) for r in csv.DictReader(f)]
    assert rows == [("ann", "01_a", "2", ""), ("ann", "02_b", "0.5", ""),
                    ("bob", "01_a", "0", "x, y")]
