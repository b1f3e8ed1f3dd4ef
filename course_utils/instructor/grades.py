"""Grade tables: autograde the submissions into grades.csv and feedback/, merge shard tables.

For a cluster, ``autograde --shard i/n`` grades only the students whose name hashes to shard i
(crc32 of the name, mod n) and keeps its own scratch course, gradebook and table
(``grades-shard-i-of-n.csv``), so n array-job tasks can share one folder; ``merge-grades``
then joins the shard tables into ``grades.csv``.
"""
from __future__ import annotations

import csv
import html
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Sequence

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook

from .staging import (
    CSV_NAME,
    Course,
    _course,
    _generate,
    _select,
    _stage,
    check_submission,
    exercise_points,
    in_shard,
    parse_shard,
)
from .supervision import (
    EXERCISE_TIMEOUT,
    TIMEOUT,
    TOTAL_TIMEOUT,
    _log_errors,
    _nbgrader,
    _stop_all,
    _write_config,
)


@dataclass
class GradeRow:
    """One line of grades.csv. status: graded | malformed | missing | timeout | error."""

    student: str
    chapter: str
    score: float
    max_score: float
    status: str
    message: str = ""


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
