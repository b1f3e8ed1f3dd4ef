"""Staging: the course folder layout and the files nbgrader works on.

nbgrader wants ``source/<assignment>/<notebook>.ipynb``; the chapters live flat in
``notebooks/``. So every command stages copies in a scratch course, ``build/nbgrader/``
(``source/<chapter>/<chapter>.ipynb`` and a generated ``nbgrader_config.py``), with
assignment id = notebook id = notebook stem, and points nbgrader's other folders at::

    release/<chapter>/<chapter>.ipynb              student versions (make release)
    submitted/<student>/<chapter>/<chapter>.ipynb  what students hand back
    autograded/<student>/<chapter>/...             executed copies; <chapter>.log beside them
    feedback/<student>/<chapter>/<chapter>.html    per-student feedback
    gradebook.db, grades.csv                       nbgrader's database and the grades table

This module chooses the chapters, checks submissions against them, stages the copies and
writes the student versions (:func:`release`).
"""
from __future__ import annotations

import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import nbformat
from nbformat.notebooknode import NotebookNode

from .supervision import (
    EXERCISE_TIMEOUT,
    TIMEOUT,
    TOTAL_TIMEOUT,
    _log_errors,
    _nbgrader,
    _write_config,
    is_exercise_cell,
)

EXERCISE_MARK = "BEGIN SOLUTION"
CSV_NAME = "grades.csv"
SHARD_CSV = "grades-shard-{index}-of-{count}.csv"


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


def _stage(course: Course, chapters: Iterable[str]) -> None:
    for chapter in chapters:
        dest = course.build / "source" / chapter
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        shutil.copyfile(course.chapter_source(chapter), dest / f"{chapter}.ipynb")


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
