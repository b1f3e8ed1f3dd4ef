"""Homework from the chapter notebooks with nbgrader: student versions and autograding.

nbgrader wants ``source/<assignment>/<notebook>.ipynb``; the chapters live flat in
``notebooks/``. So every command stages copies in a scratch course, ``build/nbgrader/``
(``source/<chapter>/<chapter>.ipynb`` and a generated ``nbgrader_config.py``), with
assignment id = notebook id = notebook stem, and points nbgrader's other folders at::

    release/<chapter>/<chapter>.ipynb              student versions (make release)
    submitted/<student>/<chapter>/<chapter>.ipynb  what students hand back
    autograded/<student>/<chapter>/...             executed copies; <chapter>.log beside them
    feedback/<student>/<chapter>/<chapter>.html    per-student feedback
    gradebook.db, grades.csv                       nbgrader's database and the grades table

For a cluster, ``autograde --shard i/n`` grades only the students whose name hashes to shard i
(crc32 of the name, mod n) and keeps its own scratch course, gradebook and table
(``grades-shard-i-of-n.csv``), so n array-job tasks can share one folder; ``merge-grades``
then joins the shard tables into ``grades.csv``.

Each (student, chapter) is graded by its own ``nbgrader autograde`` process under a
wall-clock limit, so a broken, endless or kernel-killing submission costs only its own row.
This module loads without torch: nbgrader imports it by path for :class:`GuardedExecute`.
"""
from __future__ import annotations

import argparse
import csv
import html
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from queue import Empty
from typing import Iterable, Sequence

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, default

EXERCISE_MARK = "BEGIN SOLUTION"
TIMEOUT = 1200           # s per ordinary cell: the slowest cell (04 training) took 490 s busy
EXERCISE_TIMEOUT = 60    # s per exercise cell: the slowest took 0.14 s on a busy machine
TOTAL_TIMEOUT = 3600     # s per (student, chapter): the whole nbgrader process, last resort
STARTUP_TIMEOUT = 120    # s for a kernel to start on a busy machine
CSV_NAME = "grades.csv"
SHARD_CSV = "grades-shard-{index}-of-{count}.csv"


@dataclass
class GradeRow:
    """One line of grades.csv. status: graded | malformed | missing | timeout | error."""

    student: str
    chapter: str
    score: float
    max_score: float
    status: str
    message: str = ""


# ---------------------------------------------------------------- execution guard (in nbgrader)
def _error_output(ename: str, evalue: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"{ename}: {evalue}"])


def is_exercise_cell(cell: NotebookNode) -> bool:
    """True for nbgrader solution or grade (test) cells."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("solution") or meta.get("grade"))


def _poll_in_slices(kc, step: float = 0.5) -> None:
    """Make ``kc``'s shell and iopub ``get_msg`` re-poll every ``step`` s until their timeout.

    Works around lost wake-ups of one long asyncio zmq poll (jupyter/nbclient#312): a widget
    cell with a large figure could otherwise wait for its reply until the cell timeout.
    """
    for channel in (kc.shell_channel, kc.iopub_channel):
        def sliced(timeout=None, _get_msg=channel.get_msg):
            async def poll():
                deadline = None if timeout is None else time.monotonic() + timeout
                while True:
                    left = step if deadline is None else \
                        min(step, max(0.0, deadline - time.monotonic()))
                    try:
                        return await _get_msg(timeout=left)
                    except Empty:
                        if deadline is not None and time.monotonic() >= deadline:
                            raise
            return poll()
        channel.get_msg = sliced
    kc._polls_in_slices = True


class GuardedExecute(Execute):
    """nbgrader's Execute with a short timeout for exercise cells and no crash on a dead kernel.

    If the kernel dies (``os.kill``, ``os._exit``, out of memory) or ignores the interrupt
    after a timeout, that cell gets an error output, every later code cell gets a ``NotRun``
    error, and grading goes on, so the tests that already ran keep their points.
    """

    exercise_timeout = Integer(EXERCISE_TIMEOUT, help="Seconds per solution or test cell."
                               ).tag(config=True)

    @default("timeout_func")
    def _default_timeout_func(self):
        return self._cell_timeout

    def _cell_timeout(self, cell: NotebookNode) -> int | None:
        if is_exercise_cell(cell):
            return min(self.timeout, self.exercise_timeout) if self.timeout else \
                self.exercise_timeout
        return self.timeout

    def preprocess(self, nb, resources=None, km=None):
        self._stopped_because: str | None = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if self.kc is not None and not getattr(self.kc, "_polls_in_slices", False):
            _poll_in_slices(self.kc)
        if self._stopped_because is not None:
            if cell.cell_type == "code" and cell.source.strip():
                cell.outputs = [_error_output("NotRun", f"not run: {self._stopped_because}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._stopped_because = f"the kernel died in cell {index + 1}"
            cell.outputs.append(_error_output(
                "DeadKernelError", "the kernel died while running this cell "
                "(os.kill, os._exit, a crash in compiled code, or out of memory)"))
        except CellTimeoutError:
            self._stopped_because = f"the kernel ignored the interrupt in cell {index + 1}"
            cell.outputs.append(_error_output(
                "CellTimeoutError", "timed out and the kernel ignored the interrupt"))
        return cell, resources


def autograde_preprocessors() -> list:
    """nbgrader's autograde preprocessors with :class:`GuardedExecute` for ``Execute``."""
    from nbgrader.converters import Autograde

    return [GuardedExecute if pp is Execute else pp
            for pp in Autograde.autograde_preprocessors.default()]


# ---------------------------------------------------------------------------- notebooks
def chapters_with_exercises(notebooks_dir: str | Path) -> list[str]:
    """Stems of the ``*.ipynb`` in ``notebooks_dir`` that contain a solution block."""
    return sorted(p.stem for p in Path(notebooks_dir).glob("*.ipynb")
                  if EXERCISE_MARK in p.read_text(encoding="utf-8"))


def exercise_points(nb: NotebookNode) -> dict[str, float]:
    """Points of every test (grade) cell, keyed by grade id, in notebook order."""
    return {c.metadata.nbgrader["grade_id"]: float(c.metadata.nbgrader.get("points", 0))
            for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


def _grade_ids(nb: NotebookNode) -> list[str]:
    return [c.metadata.nbgrader.get("grade_id", "?") for c in nb.cells if is_exercise_cell(c)]


def check_submission(path: str | Path, source: NotebookNode) -> str | None:
    """Why the notebook at ``path`` cannot be graded against ``source``, or None if it can."""
    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)  # schema warnings are nbgrader's business
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
    except nbformat.reader.NotJSONError:
        return f"{path.name} is not valid JSON (damaged or not saved from Jupyter)"
    except Exception as exc:  # noqa: BLE001 - any reason a notebook cannot be read
        return f"{path.name} is not a valid notebook: {type(exc).__name__}: " \
               f"{str(exc).splitlines()[0][:200] if str(exc) else ''}"
    expected, found = _grade_ids(source), _grade_ids(nb)
    missing = [g for g in expected if g not in found]
    unknown = [g for g in found if g not in expected]
    problems = []
    if missing:
        problems.append(f"exercise cells missing: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown grade ids (renamed cells?): {', '.join(unknown)}")
    if problems:
        return "; ".join(problems) + " - copy those cells back from the released notebook"
    return None


# ------------------------------------------------------------------------- the nbgrader course
@dataclass
class Course:
    """Where everything lives. ``root``: output folders; ``notebooks``: chapter sources."""

    root: Path
    notebooks: Path
    shard: tuple[int, int] | None = None  # (i, n): this process grades shard i of n

    @property
    def _suffix(self) -> str:
        return f"-shard-{self.shard[0]}-of-{self.shard[1]}" if self.shard else ""

    @property
    def build(self) -> Path:
        return self.root / "build" / f"nbgrader{self._suffix}"

    @property
    def gradebook(self) -> str:
        return "sqlite:///" + str(self.root / f"gradebook{self._suffix}.db")

    @property
    def grades_csv(self) -> Path:
        return self.root / (SHARD_CSV.format(index=self.shard[0], count=self.shard[1])
                            if self.shard else CSV_NAME)

    def chapter_source(self, chapter: str) -> Path:
        return self.notebooks / f"{chapter}.ipynb"

    def released(self, chapter: str) -> Path:
        return self.root / "release" / chapter / f"{chapter}.ipynb"

    def autograded(self, student: str, chapter: str) -> Path:
        return self.root / "autograded" / student / chapter / f"{chapter}.ipynb"

    def feedback(self, student: str, chapter: str) -> Path:
        return self.root / "feedback" / student / chapter / f"{chapter}.html"


def _course(root: str | Path, notebooks_dir: str | Path | None,
            shard: tuple[int, int] | None = None) -> Course:
    root = Path(root).resolve()
    notebooks = Path(notebooks_dir).resolve() if notebooks_dir else root / "notebooks"
    if not notebooks.is_dir():
        raise ValueError(f"notebooks_dir: {notebooks} is not a folder")
    return Course(root, notebooks, shard)


def parse_shard(text: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"i/n"`` (1 <= i <= n) or ``(i, n)`` -> (i, n); None -> None (grade everyone)."""
    if text is None:
        return None
    try:
        i, n = (int(v) for v in (text.split("/") if isinstance(text, str) else text))
    except (TypeError, ValueError):
        raise ValueError(f"shard must look like 'i/n' with integers, e.g. '2/8', "
                         f"got {text!r}") from None
    if not 1 <= i <= n:
        raise ValueError(f"shard must satisfy 1 <= i <= n, got {text!r}")
    return i, n


def in_shard(student: str, shard: tuple[int, int] | None) -> bool:
    """True if ``student`` is graded by ``shard`` (crc32 of the name, mod n, is i - 1)."""
    import zlib

    return shard is None or zlib.crc32(student.encode("utf-8")) % shard[1] == shard[0] - 1


def _select(course: Course, chapters: Sequence[str] | None) -> list[str]:
    available = chapters_with_exercises(course.notebooks)
    if not chapters:
        return available
    unknown = [c for c in chapters if c not in available]
    if unknown:
        raise ValueError(f"chapters: no notebook with exercises named {unknown} in "
                         f"{course.notebooks}; available: {available}")
    return list(chapters)


def _write_config(course: Course, timeout: int, exercise_timeout: int) -> None:
    out = {name: str(course.root / name) for name in ("release", "submitted", "autograded",
                                                       "feedback")}
    course.build.mkdir(parents=True, exist_ok=True)
    (course.build / "nbgrader_config.py").write_text(f'''\
# Generated by course_utils.instructor.homework for every command; edits are overwritten.
import importlib.util, sys
_spec = importlib.util.spec_from_file_location("course_homework", {str(Path(__file__))!r})
_homework = importlib.util.module_from_spec(_spec)
sys.modules["course_homework"] = _homework
_spec.loader.exec_module(_homework)  # by path: importing course_utils would load torch

c = get_config()
c.CourseDirectory.root = {str(course.build)!r}
c.CourseDirectory.release_directory = {out["release"]!r}
c.CourseDirectory.submitted_directory = {out["submitted"]!r}
c.CourseDirectory.autograded_directory = {out["autograded"]!r}
c.CourseDirectory.feedback_directory = {out["feedback"]!r}
c.CourseDirectory.db_url = {course.gradebook!r}
c.Autograde.autograde_preprocessors = _homework.autograde_preprocessors()
c.Execute.timeout = {int(timeout)}
c.Execute.startup_timeout = {STARTUP_TIMEOUT}
c.GuardedExecute.exercise_timeout = {int(exercise_timeout)}
''')


def _stage(course: Course, chapters: Iterable[str]) -> None:
    for chapter in chapters:
        dest = course.build / "source" / chapter
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        shutil.copyfile(course.chapter_source(chapter), dest / f"{chapter}.ipynb")


def _kill_tree(pid: int) -> None:
    """Kill a process and all its descendants (kernels run in their own session)."""
    import psutil

    try:
        parent = psutil.Process(pid)
        family = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        return
    for proc in family:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=10)


_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()


def _stop_all() -> None:
    """Kill every nbgrader process this module still runs (on Ctrl-C or an error)."""
    with _RUNNING_LOCK:
        procs = list(_RUNNING)
    for proc in procs:
        _kill_tree(proc.pid)


def _nbgrader(course: Course, args: list[str], log: Path, limit: float) -> int | None:
    """Run ``nbgrader ARGS`` in the scratch course; return its exit code, None on timeout."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)  # nbgrader runs the `alembic` script: put this venv's bin first
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=course.build,
                                env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        with _RUNNING_LOCK:
            _RUNNING.add(proc)
        try:
            return proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_tree(proc.pid)
            return None
        except BaseException:
            _kill_tree(proc.pid)
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)


def _log_errors(log: Path, limit: int = 3) -> str:
    lines = [ln.split("ERROR |", 1)[-1].strip() for ln in
             log.read_text(encoding="utf-8", errors="replace").splitlines() if "ERROR" in ln]
    lines = [ln for ln in lines if ln and not ln.startswith("Please see")]
    return " / ".join(lines[:limit]) or f"see {log}"


# ----------------------------------------------------------------------------------- release
def _generate(course: Course, chapters: Sequence[str], release_dir: Path) -> None:
    """nbgrader generate_assignment: student versions in ``release_dir``, gradebook entries."""
    for chapter in chapters:
        log = course.build / "logs" / f"generate_{chapter}.log"
        code = _nbgrader(course, ["generate_assignment", chapter, "--force",
                                  f"--CourseDirectory.release_directory={release_dir}"],
                         log, TOTAL_TIMEOUT)
        if code != 0 or not (release_dir / chapter / f"{chapter}.ipynb").exists():
            raise RuntimeError(f"nbgrader generate_assignment failed for {chapter}: "
                               f"{_log_errors(log)} (log: {log})")


def release(root: str | Path = ".", notebooks_dir: str | Path | None = None,
            chapters: Sequence[str] | None = None) -> list[Path]:
    """Write student versions ``release/<chapter>/<chapter>.ipynb``; return their paths.

    Solution blocks become ``raise NotImplementedError()`` stubs and hidden tests are
    removed (nbgrader generate_assignment); the chapter is registered in ``gradebook.db``.
    """
    course = _course(root, notebooks_dir)
    chapters = _select(course, chapters)
    if not chapters:
        raise ValueError(f"notebooks_dir: no notebook in {course.notebooks} has exercises")
    _write_config(course, TIMEOUT, EXERCISE_TIMEOUT)
    _stage(course, chapters)
    _generate(course, chapters, course.root / "release")
    return [course.released(chapter) for chapter in chapters]


# --------------------------------------------------------------------------------- autograde
def _failures(nb: NotebookNode) -> str:
    """Short account of what went wrong in an autograded notebook."""
    failed, events = [], []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        names = {o.get("ename") or "error" for o in cell.get("outputs", [])
                 if o.get("output_type") == "error"}
        meta = cell.metadata.get("nbgrader", {})
        where = meta.get("grade_id") or f"cell {i + 1}"
        if meta.get("grade") and names:
            failed.append(f"{where} ({', '.join(sorted(names))})")
        if "CellTimeoutError" in names:
            events.append(f"{where} timed out")
        if "DeadKernelError" in names:
            events.append(f"the kernel died in {where}; later cells were not run")
    return ". ".join(events + ([f"failed: {'; '.join(failed)}"] if failed else []))


def _score(course: Course, student: str, chapter: str) -> tuple[float, float]:
    from nbgrader.api import Gradebook

    with Gradebook(course.gradebook) as gb:
        sub = gb.find_submission(chapter, student)
        return float(sub.score), float(sub.max_score)


def _grade_one(course: Course, student: str, chapter: str, source: NotebookNode,
               total_timeout: float) -> GradeRow:
    max_score = sum(exercise_points(source).values())
    folder = course.root / "submitted" / student / chapter
    for stale in (course.autograded(student, chapter).parent,
                  course.feedback(student, chapter).parent):
        shutil.rmtree(stale, ignore_errors=True)
    notebook = folder / f"{chapter}.ipynb"
    if not notebook.exists():
        found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        return GradeRow(student, chapter, 0.0, max_score, "missing",
                        f"no {chapter}.ipynb in {folder.relative_to(course.root)} "
                        f"(found: {', '.join(found) or 'nothing'})")
    problem = check_submission(notebook, source)
    if problem:
        return GradeRow(student, chapter, 0.0, max_score, "malformed", problem)
    log = course.root / "autograded" / student / f"{chapter}.log"
    for _attempt in range(2):  # parallel jobs share gradebook.db: retry once if it was busy
        code = _nbgrader(course, ["autograde", chapter, "--student", student, "--force"], log,
                         total_timeout)
        if code in (0, None) or "database is locked" not in log.read_text(errors="replace"):
            break
    if code is None:
        shutil.rmtree(course.autograded(student, chapter).parent, ignore_errors=True)
        return GradeRow(student, chapter, 0.0, max_score, "timeout",
                        f"grading stopped after the {total_timeout:g} s wall-clock limit")
    graded = course.autograded(student, chapter)
    if code != 0 or not graded.exists():
        return GradeRow(student, chapter, 0.0, max_score, "error",
                        f"nbgrader could not grade it: {_log_errors(log)}")
    score, max_score = _score(course, student, chapter)
    return GradeRow(student, chapter, score, max_score, "graded",
                    _failures(nbformat.read(graded, as_version=4)))


def _write_rows(path: Path, rows: Sequence[GradeRow]) -> None:
    """Merge ``rows`` into the CSV at ``path`` (same student and chapter: replaced)."""
    keep: dict[tuple[str, str], list[str]] = {}
    if path.exists():
        with open(path, newline="", encoding="utf-8") as f:
            for old in csv.DictReader(f):
                keep[(old["student"], old["chapter"])] = [old.get(k.name, "")
                                                          for k in fields(GradeRow)]
    for row in rows:
        keep[(row.student, row.chapter)] = [f"{v:g}" if isinstance(v, float) else v
                                            for v in astuple(row)]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([k.name for k in fields(GradeRow)])
        writer.writerows(keep[k] for k in sorted(keep))
    os.replace(tmp, path)


def _feedback(course: Course, chapter: str, rows: Sequence[GradeRow]) -> None:
    """nbgrader generate_feedback for graded rows, a plain page with the reason for the rest.

    A shard's gradebook knows only its own students while autograded/ holds everyone's, so a
    shard asks for each of its students by name.
    """
    graded = [r.student for r in rows if r.status == "graded"]
    for student in (graded if course.shard else [None] if graded else []):
        log = course.build / "logs" / f"feedback_{chapter}_{student or 'all'}.log"
        _nbgrader(course, ["generate_feedback", chapter, "--force",
                           *(["--student", student] if student else [])], log, TOTAL_TIMEOUT)
    for row in rows:
        page = course.feedback(row.student, chapter)
        if row.status == "graded" and page.exists():
            continue
        if row.status == "graded":
            row.message = "; ".join(filter(None, [row.message, "feedback not generated"]))
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{chapter}"
                        f"</title></head><body><h1>{html.escape(chapter)}: not graded "
                        f"automatically</h1><p>Score: {row.score:g} / {row.max_score:g} "
                        f"({html.escape(row.status)})</p><p>{html.escape(row.message)}</p>"
                        "</body></html>", encoding="utf-8")


def autograde(root: str | Path = ".", notebooks_dir: str | Path | None = None,
              chapters: Sequence[str] | None = None, timeout: int = TIMEOUT,
              exercise_timeout: int = EXERCISE_TIMEOUT, total_timeout: float = TOTAL_TIMEOUT,
              jobs: int = 1, feedback: bool = True, log=print,
              shard: str | tuple[int, int] | None = None) -> list[GradeRow]:
    """Grade every ``submitted/<student>/<chapter>/``; write grades.csv and feedback/.

    timeout: seconds per ordinary cell; exercise_timeout: per solution or test cell;
    total_timeout: wall clock per (student, chapter); jobs: submissions graded at once;
    shard: ``"i/n"`` grades only shard i of n of the students (see :func:`in_shard`), into
    ``grades-shard-i-of-n.csv`` with a gradebook of its own (join them with :func:`merge_grades`).
    Returns this run's rows; each row is merged into the table as soon as it is known.
    """
    for name, value in (("timeout", timeout), ("exercise_timeout", exercise_timeout),
                        ("total_timeout", total_timeout), ("jobs", jobs)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
    course = _course(root, notebooks_dir, parse_shard(shard))
    selected = _select(course, chapters)
    submitted = course.root / "submitted"
    folders = sorted(p.relative_to(submitted).parts for p in submitted.glob("[!.]*/[!.]*")
                     if p.is_dir()) if submitted.is_dir() else []
    if not folders:
        raise ValueError(f"root: no submissions under {submitted} "
                         "(expected submitted/<student>/<chapter>/<chapter>.ipynb)")
    folders = [(student, name) for student, name in folders if in_shard(student, course.shard)]
    all_rows = [] if chapters else [  # a folder named after no chapter, when grading all
        GradeRow(student, name, 0.0, 0.0, "error",
                 f"no chapter {name!r} with exercises in {course.notebooks}")
        for student, name in folders if name not in selected]
    _write_rows(course.grades_csv, all_rows)
    chapters = [c for c in selected if any(name == c for _, name in folders)]
    if not chapters:
        return all_rows
    _write_config(course, timeout, exercise_timeout)
    _stage(course, chapters)  # grade against the current chapter; release/ stays untouched
    _generate(course, chapters, course.build / "release")
    for chapter in chapters:
        source = nbformat.read(course.chapter_source(chapter), as_version=4)
        rows = []
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            pending = [pool.submit(_grade_one, course, student, chapter, source, total_timeout)
                       for student, name in folders if name == chapter]
            try:
                for done in as_completed(pending):
                    row = done.result()
                    rows.append(row)
                    _write_rows(course.grades_csv, [row])
                    log(f"{row.student:>16} {chapter:<24} {row.score:g}/{row.max_score:g} "
                        f"{row.status}" + (f": {row.message}" if row.message else ""))
            except BaseException:
                for future in pending:
                    future.cancel()
                _stop_all()
                raise
        rows.sort(key=lambda r: r.student)
        if feedback and rows:
            _feedback(course, chapter, rows)
            _write_rows(course.grades_csv, rows)
        all_rows += rows
    return all_rows


def _read_rows(path: Path) -> list[GradeRow]:
    with open(path, newline="", encoding="utf-8") as f:
        return [GradeRow(r["student"], r["chapter"], float(r["score"]), float(r["max_score"]),
                         r["status"], r.get("message", "")) for r in csv.DictReader(f)]


def merge_grades(root: str | Path = ".") -> list[GradeRow]:
    """Join every ``grades-shard-i-of-n.csv`` under ``root`` into ``grades.csv``; return its rows.

    All n shards of one n must be there (a missing one is a failed array task: rerun it), and
    no (student, chapter) may come from two shards. Rows already in grades.csv for other
    students stay; rows for the same student and chapter are replaced.
    """
    import re

    root = Path(root).resolve()
    shards: dict[int, dict[int, Path]] = {}
    for path in root.glob("grades-shard-*-of-*.csv"):
        match = re.fullmatch(r"grades-shard-(\d+)-of-(\d+)\.csv", path.name)
        if match:
            shards.setdefault(int(match[2]), {})[int(match[1])] = path
    if not shards:
        raise ValueError(f"root: no grades-shard-i-of-n.csv files in {root}")
    if len(shards) > 1:
        raise ValueError(f"root: shard tables of different counts n={sorted(shards)} in {root}; "
                         "remove the stale ones")
    [(count, found)] = shards.items()
    missing = sorted(set(range(1, count + 1)) - set(found))
    if missing:
        raise ValueError(f"root: shards {missing} of {count} have no table yet in {root} "
                         "(did their jobs fail? rerun them with --shard i/n)")
    rows, owner = [], {}
    for index in sorted(found):
        for row in _read_rows(found[index]):
            key = (row.student, row.chapter)
            if key in owner:
                raise ValueError(f"{row.student}/{row.chapter} was graded by shards "
                                 f"{owner[key]} and {index}")
            owner[key] = index
            rows.append(row)
    _write_rows(root / CSV_NAME, rows)
    return _read_rows(root / CSV_NAME)


# ----------------------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.homework",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    merge = sub.add_parser("merge-grades", help="join grades-shard-i-of-n.csv into grades.csv")
    merge.add_argument("--root", default=".", help="folder holding the shard tables")
    for name in ("release", "autograde"):
        p = sub.add_parser(name)
        p.add_argument("--chapter", action="append", help="notebook stem, e.g. 01_convolution "
                       "(repeatable; default: every chapter with exercises)")
        p.add_argument("--root", default=".", help="folder holding release/, submitted/, ...")
        p.add_argument("--notebooks", default=None, help="chapter folder (default ROOT/notebooks)")
        if name == "autograde":
            p.add_argument("--timeout", type=int, default=TIMEOUT,
                           help=f"seconds per ordinary cell (default {TIMEOUT})")
            p.add_argument("--exercise-timeout", type=int, default=EXERCISE_TIMEOUT,
                           help=f"seconds per solution or test cell (default {EXERCISE_TIMEOUT})")
            p.add_argument("--jobs", type=int, default=1,
                           help="submissions graded at the same time (default 1)")
            p.add_argument("--total-timeout", type=float, default=TOTAL_TIMEOUT,
                           help=f"wall-clock seconds per student and chapter "
                                f"(default {TOTAL_TIMEOUT})")
            p.add_argument("--shard", default=None, metavar="I/N",
                           help="grade only shard I of N of the students (e.g. an array job's "
                                "task); then run merge-grades")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except ValueError as exc:  # bad arguments or folders: one clear line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.command == "merge-grades":
        rows = merge_grades(args.root)
        print(f"{len(rows)} rows in {Path(args.root) / CSV_NAME}")
        return 0
    chapters = [c for c in (args.chapter or []) if c] or None
    if args.command == "release":
        for path in release(args.root, args.notebooks, chapters):
            print(f"released {path}")
        return 0
    rows = autograde(args.root, args.notebooks, chapters, args.timeout, args.exercise_timeout,
                     args.total_timeout, args.jobs, shard=args.shard)
    table = _course(args.root, args.notebooks, parse_shard(args.shard)).grades_csv
    print(f"{sum(r.status == 'graded' for r in rows)} of {len(rows)} submissions graded; "
          f"see {table} and {Path(args.root) / 'feedback'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
