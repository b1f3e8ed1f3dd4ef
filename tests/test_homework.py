"""Homework tooling: release and autograde every chapter that has exercises (nbgrader).

Per notebook ONE autograde batch grades a set of made-up students and the tests below read
its results (grades.csv, autograded notebooks, feedback/). Each notebook is executed as few
times as the evidence needs:
- every chapter: its blank student version (scores zero, every ordinary cell runs) and one
  half-solved copy (exactly the solved points); the malformed submissions cost no execution.
  Full marks on the solved notebook are the nbval run's evidence: it executes the chapter
  with its hidden tests, and any failing test cell fails that run.
- the small fixture notebook, once: everything that holds for any notebook (full marks are
  scored as such, runaway and uninterruptible exercises, killed kernels).
Students are started in name order, so the trouble makers (killer, runaway) come before
students whose rows must survive. The check functions return problems instead of asserting,
so the last tests can show that each check fails on a doctored result.
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

from course_utils.instructor import cli, grades, staging, supervision

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "homework_demo.ipynb"
CHAPTERS = [REPO / "notebooks" / f"{c}.ipynb"
            for c in staging.chapters_with_exercises(REPO / "notebooks")]
NOTEBOOKS = CHAPTERS + [FIXTURE]
# Tests of what holds for any notebook run on the fixture's batch only.
fixture_only = pytest.mark.parametrize("batch", [FIXTURE], indirect=True, ids=[FIXTURE.stem])

# Exercise cells must run well under a second (CONTRIBUTING.md; the slowest took 0.14 s on a
# busy machine), so 10 s is safe and is what each runaway exercise costs. Ordinary cells keep
# the long production limit: only a broken chapter would reach it.
EXERCISE_TIMEOUT = 10
CELL_TIMEOUT = supervision.TIMEOUT
TOTAL_TIMEOUT = supervision.TOTAL_TIMEOUT
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
    total: float                # points of the whole chapter
    runaway: int | None = None  # the exercise whose solution never ends (fixture only)

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
    assert cli.main(["release", *common]) == 0
    source = nbformat.read(notebook, as_version=4)
    released = nbformat.read(root / "release" / chapter / f"{chapter}.ipynb", as_version=4)
    n = len(exercises(source))
    assert n >= 1, f"{chapter}: solution blocks but no nbgrader solution cell"

    is_fixture = notebook == FIXTURE
    runaway = (1 if n > 1 else 0) if is_fixture else None  # a runaway costs 10 s: fixture only
    solved = {k for k in range(0, n, 2) if k != runaway}
    partial = with_solutions(source, {k: (RUNAWAY if k == runaway else STUB)
                                      for k in range(n) if k not in solved})
    missing = copy.deepcopy(source)
    del missing.cells[exercises(source)[-1][1][-1]]
    renamed = copy.deepcopy(released)
    first_test = exercises(source)[0][1][0]
    renamed.cells[first_test].metadata.nbgrader["grade_id"] += "_renamed"

    total = sum(staging.exercise_points(source).values())
    expected = {PARTIAL: points_of(source, solved), BLANK: 0.0}
    if is_fixture:
        killer = copy.deepcopy(source)  # a student cell at the top that kills the kernel
        killer.cells.insert(0, nbformat.v4.new_code_cell(KILL))
        _submit(root, FULL, chapter, source)
        _submit(root, KILLER, chapter, killer)
        expected.update({FULL: total, KILLER: 0.0})
        if n > 1:
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

    assert cli.main(["autograde", *common, "--exercise-timeout", str(EXERCISE_TIMEOUT),
                     "--timeout", str(CELL_TIMEOUT), "--total-timeout",
                     str(TOTAL_TIMEOUT), "--jobs", str(JOBS)]) == 0
    with open(root / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return Batch(chapter, source, released, root, rows, expected, total, runaway)


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


# The checks: each returns the problems it finds (empty: the property holds) ---------------
def release_problems(source, released) -> list[str]:
    """Solution or hidden-test text leaked, a solution not stubbed, a visible test changed."""
    problems = []
    released_lines = [ln.strip() for c in released.cells for ln in c.source.splitlines()]
    for begin, end in (("BEGIN SOLUTION", "END SOLUTION"),
                       ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")):
        secret, public = block_lines(source.cells, begin, end)
        if not secret:
            problems.append(f"no {begin} block found")
        for line in sorted(set(secret)):
            # a line may appear only as often as it does outside the blocks of the source
            if released_lines.count(line) > public.count(line):
                problems.append(f"released notebook leaks {begin} line {line!r}")
        if any(begin in ln or end in ln for ln in released_lines):
            problems.append(f"released notebook still has {begin} markers")
    source_ids = {_nbgrader_meta(c).get("grade_id"): c for c in source.cells}
    seen = 0
    for cell in released.cells:
        meta = _nbgrader_meta(cell)
        if cell.cell_type == "code" and cell.outputs:
            problems.append("released notebook has outputs")
        if meta.get("solution") and "raise NotImplementedError()" not in cell.source:
            problems.append(f"solution {meta.get('grade_id')} is not stubbed")
        if meta.get("grade"):
            seen += 1
            _, visible = block_lines([source_ids[meta["grade_id"]]], "BEGIN HIDDEN TESTS",
                                     "END HIDDEN TESTS")
            if block_lines([cell], "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")[1] != visible:
                problems.append(f"visible tests of {meta['grade_id']} changed")
            if not meta.get("locked"):
                problems.append(f"test cell {meta['grade_id']} is not locked")
    if seen != len(staging.exercise_points(source)):
        problems.append(f"{seen} test cells released, source has "
                        f"{len(staging.exercise_points(source))}")
    return problems


def blank_problems(batch: Batch, graded) -> list[str]:
    """The blank student version: zero points, every test cell fails, every other cell runs."""
    score, max_score, status, message = _row(batch, BLANK)
    problems = [] if (status, score, max_score) == ("graded", 0.0, batch.total) else [
        f"blank version graded {status} {score}/{max_score} (expected 0/{batch.total}): "
        f"{message}"]
    if len(graded.cells) != len(batch.released.cells):
        problems.append("graded notebook has a different number of cells")
    for i, cell in enumerate(graded.cells):
        if cell.cell_type != "code":
            continue
        if _nbgrader_meta(cell).get("grade"):
            if not _errors(cell):
                problems.append(f"test cell {cell.metadata.nbgrader['grade_id']} passed unsolved")
        elif not _nbgrader_meta(cell).get("solution") and _errors(cell):
            problems.append(f"ordinary cell {i + 1} fails in the student version (does it use "
                            f"an exercise's function?):\n{cell.source[:300]}")
    return problems


def score_problems(batch: Batch, student: str) -> list[str]:
    """The student's row: graded, with exactly the expected score out of the chapter's total."""
    score, max_score, status, message = _row(batch, student)
    if (status, score, max_score) != ("graded", batch.expected[student], batch.total):
        return [f"{student}: {status} {score}/{max_score}, expected "
                f"{batch.expected[student]}/{batch.total}: {message}"]
    return []


def malformed_problems(batch: Batch, student: str, status: str, words: str) -> list[str]:
    """Score 0 of the total, the given status, and ``words`` in the message and feedback."""
    score, max_score, got_status, message = _row(batch, student)
    problems = []
    if (got_status, score, max_score) != (status, 0.0, batch.total):
        problems.append(f"{student}: {got_status} {score}/{max_score}, expected {status} "
                        f"0/{batch.total}")
    page = batch.root / "feedback" / student / batch.chapter / f"{batch.chapter}.html"
    if words not in message or words not in page.read_text():
        problems.append(f"{student}: {words!r} missing from the message or feedback page")
    return problems


# 1 ------------------------------------------------------------------------------ release
def test_release_removes_solutions_and_hidden_tests_and_keeps_visible_tests(batch: Batch):
    assert not release_problems(batch.source, batch.released), batch.chapter


# 2 -------------------------------------------------------------------------- full marks
@fixture_only
def test_solved_notebook_gets_full_marks(batch: Batch):
    assert not score_problems(batch, FULL)
    graded = batch.graded(FULL)
    assert batch.total > 0
    assert not [i for i, c in enumerate(graded.cells) if c.cell_type == "code" and _errors(c)]


# 3 ----------------------------------------------------------------- blank student version
def test_released_notebook_scores_zero_and_other_cells_run(batch: Batch):
    problems = blank_problems(batch, batch.graded(BLANK))
    assert not problems, f"{batch.chapter}:\n" + "\n".join(problems)


# 4 ------------------------------------------------------------------------ partial credit
def test_partial_submission_gets_exactly_the_solved_points(batch: Batch):
    assert not score_problems(batch, PARTIAL)
    score = batch.expected[PARTIAL]
    assert 0 < score < batch.total or len(exercises(batch.source)) < 2
    slow = {c.metadata.nbgrader["grade_id"]: round(_seconds(c), 1)
            for c in batch.graded(PARTIAL).cells if supervision.is_exercise_cell(c)}
    print(f"{batch.chapter}: exercise cell seconds in the partial grading: {slow}")


# 5 ------------------------------------------------------------------ runaway and killer
@fixture_only
def test_runaway_exercise_is_stopped_by_the_exercise_timeout(batch: Batch):
    score, _, status, message = _row(batch, PARTIAL)
    assert "timed out" in message
    timed_out = [c for c in batch.graded(PARTIAL).cells if "CellTimeoutError" in _errors(c)]
    first_test = exercises(batch.source)[batch.runaway][1][0]
    assert len(timed_out) == 1
    assert timed_out[0].metadata.nbgrader["grade_id"] == \
        batch.source.cells[first_test].metadata.nbgrader["grade_id"]
    assert UNINTERRUPTIBLE in batch.expected, "the fixture needs two exercises"
    assert not score_problems(batch, UNINTERRUPTIBLE)  # ignores the interrupt: rest not run
    assert "timed out" in _row(batch, UNINTERRUPTIBLE)[3]
    cells = [c for c in batch.graded(UNINTERRUPTIBLE).cells if c.cell_type == "code"]
    stuck = next(i for i, c in enumerate(cells) if "CellTimeoutError" in _errors(c))
    assert cells[stuck + 1:] and all(_errors(c) == ["NotRun"] for c in cells[stuck + 1:])


@fixture_only
def test_killed_kernel_is_scored_and_later_cells_marked_not_run(batch: Batch):
    for student in (KILLER, KILLER_IN_SOLUTION):
        assert not score_problems(batch, student)
        assert "kernel died" in _row(batch, student)[3]
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
    page = (batch.root / "feedback" / PARTIAL / batch.chapter / f"{batch.chapter}.html")
    assert re.search(r"Score: *[\d.]+ */ *[\d.]+", page.read_text())  # nbgrader's page


# 6 ---------------------------------------------------------------------------- malformed
MALFORMED = [(NOT_JSON, "malformed", "not valid JSON"),
             (MISSING_CELL, "malformed", "exercise cells missing"),
             (RENAMED, "malformed", "renamed"),
             (WRONG_NAME, "missing", "-Copy1.ipynb")]


@pytest.mark.parametrize("student, status, words", MALFORMED)
def test_malformed_submission_gets_a_clear_message(batch: Batch, student, status, words):
    assert not malformed_problems(batch, student, status, words)


# 7 ----------------------------------------------- each check fails on a doctored result
@fixture_only
def test_each_check_finds_what_it_is_for(batch: Batch):
    def doctored(**changes) -> Batch:
        return Batch(**{**batch.__dict__, **changes})

    secret = block_lines(batch.source.cells, "BEGIN SOLUTION", "END SOLUTION")[0][0]
    leaky = copy.deepcopy(batch.released)
    leaky.cells.append(nbformat.v4.new_markdown_cell(secret))
    assert any("leaks BEGIN SOLUTION" in p for p in release_problems(batch.source, leaky))
    unstubbed = copy.deepcopy(batch.released)
    index = exercises(batch.source)[0][0]
    unstubbed.cells[index].source = "pass"
    assert any("not stubbed" in p for p in release_problems(batch.source, unstubbed))
    test_cell = exercises(batch.source)[0][1][0]
    changed = copy.deepcopy(batch.released)
    changed.cells[test_cell].source += "\nassert True"
    assert any("visible tests" in p for p in release_problems(batch.source, changed))

    graded = batch.graded(BLANK)
    assert not blank_problems(batch, graded)
    passing = copy.deepcopy(graded)  # a test cell that passes on a stub
    passing.cells[test_cell].outputs = []
    assert any("passed unsolved" in p for p in blank_problems(batch, passing))
    broken = copy.deepcopy(graded)  # an ordinary cell that needs an exercise's function
    ordinary = next(i for i, c in enumerate(broken.cells) if c.cell_type == "code"
                    and not supervision.is_exercise_cell(c))
    broken.cells[ordinary].outputs = [nbformat.v4.new_output(
        "error", ename="NotImplementedError", evalue="", traceback=[])]
    assert any("ordinary cell" in p for p in blank_problems(batch, broken))
    rows = {**batch.rows, BLANK: {**batch.rows[BLANK], "score": "1"}}
    assert blank_problems(doctored(rows=rows), graded)

    assert not score_problems(batch, PARTIAL)
    rows = {**batch.rows, PARTIAL: {**batch.rows[PARTIAL], "score": str(batch.total)}}
    assert score_problems(doctored(rows=rows), PARTIAL)
    assert malformed_problems(batch, RENAMED, "malformed", "not valid JSON")
    assert malformed_problems(batch, RENAMED, "missing", "renamed")


# ------------------------------------------------------------- grading in shards (cluster)
@fixture_only
def test_two_shards_grade_like_one_run(batch: Batch, tmp_path):
    import shutil

    students = [FULL, KILLER, BLANK, NOT_JSON, RENAMED, WRONG_NAME]
    for student in students:
        shutil.copytree(batch.root / "submitted" / student, tmp_path / "submitted" / student)
    shards = [[s for s in students if staging.in_shard(s, (i, 2))] for i in (1, 2)]
    assert sorted(shards[0] + shards[1]) == sorted(students)
    assert all({FULL, BLANK} & set(part) or KILLER in part for part in shards), shards
    common = ["--root", str(tmp_path), "--notebooks", str(FIXTURE.parent), "--chapter",
              batch.chapter, "--exercise-timeout", str(EXERCISE_TIMEOUT), "--jobs", "2"]
    for i in (1, 2):
        assert cli.main(["autograde", *common, "--shard", f"{i}/2"]) == 0
        with open(tmp_path / f"grades-shard-{i}-of-2.csv", newline="") as f:
            assert sorted(r["student"] for r in csv.DictReader(f)) == sorted(shards[i - 1])
    assert cli.main(["merge-grades", "--root", str(tmp_path)]) == 0
    with open(tmp_path / "grades.csv", newline="") as f:
        merged = {r["student"]: r for r in csv.DictReader(f)}
    assert merged == {s: batch.rows[s] for s in students}
    for student in students:
        assert (tmp_path / "feedback" / student / batch.chapter).is_dir(), student


def test_shard_arguments_and_merge_errors(tmp_path, capsys):
    assert staging.parse_shard("2/8") == (2, 8) and staging.parse_shard(None) is None
    for bad in ("0/2", "3/2", "a/b", "2"):
        with pytest.raises(ValueError, match="shard"):
            staging.parse_shard(bad)
    assert sum(staging.in_shard(f"student{k}", (i, 3)) for k in range(30) for i in (1, 2, 3)) \
        == 30  # every student in exactly one shard
    with pytest.raises(ValueError, match="no grades-shard"):
        grades.merge_grades(tmp_path)
    grades._write_rows(tmp_path / "grades-shard-1-of-2.csv",
                       [grades.GradeRow("ann", "01_a", 1.0, 2.0, "graded")])
    with pytest.raises(ValueError, match=r"shards \[2\] of 2"):
        grades.merge_grades(tmp_path)
    grades._write_rows(tmp_path / "grades-shard-2-of-2.csv",
                       [grades.GradeRow("ann", "01_a", 2.0, 2.0, "graded")])
    with pytest.raises(ValueError, match="graded by shards 1 and 2"):
        grades.merge_grades(tmp_path)
    (tmp_path / "grades-shard-2-of-2.csv").unlink()  # _write_rows merges into a table
    grades._write_rows(tmp_path / "grades-shard-2-of-2.csv",
                       [grades.GradeRow("bob", "01_a", 2.0, 2.0, "graded")])
    assert [r.student for r in grades.merge_grades(tmp_path)] == ["ann", "bob"]
    assert cli.main(["autograde", "--root", str(tmp_path), "--shard", "5/2"]) == 2
    assert "shard must satisfy" in capsys.readouterr().err


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
    rows = grades.autograde(tmp_path, FIXTURE.parent, [chapter], timeout=CELL_TIMEOUT,
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
        staging.release(tmp_path, FIXTURE.parent, ["no_such_chapter"])
    with pytest.raises(ValueError, match="notebooks_dir"):
        staging.release(tmp_path, tmp_path / "nowhere")
    with pytest.raises(ValueError, match="exercise_timeout"):
        grades.autograde(tmp_path, FIXTURE.parent, exercise_timeout=0)
    with pytest.raises(ValueError, match="jobs"):
        grades.autograde(tmp_path, FIXTURE.parent, jobs=0)
    with pytest.raises(ValueError, match="root: no submissions"):
        grades.autograde(tmp_path, FIXTURE.parent)
    with pytest.raises(SystemExit):
        cli.main(["grade"])


def test_grades_csv_merges_runs(tmp_path):
    path = tmp_path / "grades.csv"
    grades._write_rows(path, [grades.GradeRow("ann", "01_a", 1.0, 2.0, "graded"),
                              grades.GradeRow("bob", "01_a", 0.0, 2.0, "malformed", "x, y")])
    grades._write_rows(path, [grades.GradeRow("ann", "01_a", 2.0, 2.0, "graded"),
                              grades.GradeRow("ann", "02_b", 0.5, 1.0, "graded")])
    with open(path, newline="") as f:
        rows = [(r["student"], r["chapter"], r["score"], r["message"]) for r in csv.DictReader(f)]
    assert rows == [("ann", "01_a", "2", ""), ("ann", "02_b", "0.5", ""),
                    ("bob", "01_a", "0", "x, y")]
