"""Run times in one place: measured, recorded, and written into the title cells and the README.

Every notebook prints its own total at its end (``total run time: 12.3 s wall, 11.9 s CPU``,
from :class:`course_utils.timing.Stopwatch`). ``measure`` times the CPU unit
(:mod:`course_utils.cpu_unit`) before and after, executes the notebooks one at a time (so they
do not slow each other down), reads that line back and writes the record,
``notebooks/run_times.json``: seconds and cost in CPU units per chapter. ``write`` puts the
record's figures into each notebook's title line and the README's chapter table; ``problems``
lists every place that disagrees with the record (the test suite calls it). Nobody types a run
time.

    python -m course_utils.instructor.run_times measure [--chapter STEM ...]   # = make times
    python -m course_utils.instructor.run_times measure --threads 2 --out FILE  # an experiment
    python -m course_utils.instructor.run_times write | check
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from pathlib import Path

from . import budgets
from .site import execute_notebook

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
RECORD = NOTEBOOKS / "run_times.json"
README = ROOT / "README.md"

_TOTAL = re.compile(r"total run time: (\d+(?:\.\d+)?) s wall, (\d+(?:\.\d+)?) s CPU")
_TITLE = re.compile(r"^\*(?:Runs top to bottom|Run time|Cost: )[^\n]*\*$", re.M)


def parse_total(text: str) -> tuple[float, float]:
    """(wall, CPU) seconds from the ``total run time: ...`` line in ``text``, else a ValueError."""
    found = _TOTAL.findall(text)
    if not found:
        raise ValueError("no 'total run time: X s wall, Y s CPU' line in the notebook's output")
    wall, cpu = found[-1]
    return float(wall), float(cpu)


def _outputs_text(nb) -> str:
    return "\n".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                     for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def cell_seconds(nb, top: int = 5) -> list[dict]:
    """The ``top`` slowest code cells of an executed notebook, slowest first: its number
    (1-based, as the site and nbval count), the seconds between the kernel starting and
    finishing it (nbclient's ``metadata.execution`` timestamps) and its first line of code."""
    rows = []
    for number, cell in enumerate(nb.cells, start=1):
        stamps = cell.get("metadata", {}).get("execution", {})
        start, end = stamps.get("iopub.execute_input"), stamps.get("shell.execute_reply")
        if cell.cell_type != "code" or not start or not end:
            continue
        seconds = (dt.datetime.fromisoformat(end.replace("Z", "+00:00"))
                   - dt.datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
        lines = [line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")]
        rows.append({"cell": number, "s": round(seconds, 1), "first_line": (lines or [""])[0][:80]})
    return sorted(rows, key=lambda r: -r["s"])[:top]


def measure(paths: list[Path], threads: int | None = None) -> dict:
    """Execute each notebook in turn and return the record: per stem the wall and CPU seconds
    it printed and its cost in CPU units, plus when, where and against which unit. The unit is
    timed before the first and after the last notebook and their mean divides the seconds.
    ``threads`` sets ``COURSE_TORCH_THREADS`` for the kernels (default: the notebooks' own)."""
    from .. import cpu_unit
    from ..device import THREADS_ENV

    before, _ = cpu_unit.measure()
    print(f"cpu unit before: {before:.2f} s", flush=True)
    saved = os.environ.get(THREADS_ENV)
    if threads is not None:
        os.environ[THREADS_ENV] = str(threads)
    try:
        seconds, slowest = {}, {}
        for path in paths:
            nb, _ = execute_notebook(path)
            seconds[path.stem] = parse_total(_outputs_text(nb))
            slowest[path.stem] = cell_seconds(nb)
            print(f"{path.stem}: {seconds[path.stem][0]:.1f} s wall, "
                  f"{seconds[path.stem][1]:.1f} s CPU", flush=True)
    finally:
        if threads is not None:
            os.environ.pop(THREADS_ENV) if saved is None else os.environ.update({THREADS_ENV: saved})
    after, _ = cpu_unit.measure()
    unit = (before + after) / 2
    print(f"cpu unit after: {after:.2f} s", flush=True)
    chapters = {stem: {"wall_s": wall, "cpu_s": cpu, "units": round(wall / unit, 1),
                       "cpu_unit_s": round(unit, 3),
                       "slowest_cells": [{**row, "units": round(row["s"] / unit, 1)} for row in slowest[stem]]}
                for stem, (wall, cpu) in seconds.items()}
    return {"measured": {"date": dt.date.today().isoformat(), "cpu_count": os.cpu_count(),
                         "cpu_unit_s": round(unit, 2), "cpu_unit_before_s": round(before, 2),
                         "cpu_unit_after_s": round(after, 2),
                         "torch_threads": threads if threads is not None else "the notebooks' own (1)",
                         "how": "one notebook at a time, python -m course_utils.instructor.run_times measure"},
            "chapters": chapters}


def total_units(record: dict) -> float:
    """The whole course's cost in CPU units."""
    return sum(entry["units"] for entry in record["chapters"].values())


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 100 else f"{value / 60:.1f} min"


def title_line(entry: dict) -> str:
    """The notebook's title-cell line for one record entry."""
    return (f"*Cost: {entry['units']:.0f} CPU units, measured by `make times` (on a 2-core laptop "
            f"CPU whose unit took {entry['cpu_unit_s']:.2f} s: {_seconds(entry['wall_s'])} wall, "
            f"{_seconds(entry['cpu_s'])} of CPU time). Your machine: multiply by the seconds "
            f"`python -m course_utils.cpu_unit` prints.*")


_COURSE_LINE = re.compile(r"^The whole course: [^\n]*$", re.M)


def course_line(record: dict) -> str:
    """The README's line under the chapter table: the course's total against its cap."""
    return (f"The whole course: {total_units(record):.0f} CPU units "
            f"(budget {budgets.COURSE_CAP_UNITS}; {_seconds(sum(e['wall_s'] for e in record['chapters'].values()))} "
            f"wall, one notebook after another, on the reference machine).")


def readme_cell(entry: dict) -> str:
    """The README table's cost cell for one record entry."""
    return f"{entry['units']:.0f} units ({_seconds(entry['wall_s'])} wall)"


def _read(path: Path) -> tuple[dict, int]:
    """The notebook's JSON and the indent it is stored with (kept on writing, so that only the
    changed line shows in a diff)."""
    raw = path.read_text()
    return json.loads(raw), 1 if raw.startswith('{\n "') else 2


def _title_source(nb: dict) -> str:
    cell = nb["cells"][0] if nb.get("cells") else None
    if cell is None or cell["cell_type"] != "markdown":
        return ""
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _set_title_source(nb: dict, text: str) -> None:
    cell = nb["cells"][0]
    if isinstance(cell["source"], str):
        cell["source"] = text
    else:
        lines = text.split("\n")
        cell["source"] = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def _readme_row(stem: str) -> re.Pattern:
    return re.compile(rf"^(\| \[{re.escape(stem)}\.ipynb\]\(notebooks/{re.escape(stem)}\.ipynb\) \|.*\| )([^|]*)( \|)$",
                      re.M)


def load_record(path: Path = RECORD) -> dict:
    """The record written by ``measure``."""
    record = json.loads(path.read_text())
    if not isinstance(record.get("chapters"), dict) or not record["chapters"]:
        raise ValueError(f"{path} has no chapters")
    return record


def write(record: dict, notebooks: Path = NOTEBOOKS, readme: Path = README) -> None:
    """Put the record's figures into the title cells and the README table."""
    text = readme.read_text()
    for stem, entry in record["chapters"].items():
        path = notebooks / f"{stem}.ipynb"
        nb, indent = _read(path)
        source = _title_source(nb)
        if _TITLE.search(source):
            source = _TITLE.sub(lambda _: title_line(entry), source, count=1)
        else:
            heading, _, rest = source.partition("\n")
            source = f"{heading}\n\n{title_line(entry)}\n{rest}"
        _set_title_source(nb, source)
        path.write_text(json.dumps(nb, indent=indent, ensure_ascii=False) + "\n")
        text, found = _readme_row(stem).subn(lambda m: m.group(1) + readme_cell(entry) + m.group(3), text)
        if not found:
            raise ValueError(f"README.md has no chapter-table row for {stem}")
    text, found = _COURSE_LINE.subn(lambda _: course_line(record), text)
    if not found:
        raise ValueError("README.md has no 'The whole course: ...' line under the chapter table")
    readme.write_text(text)


def problems(record: dict, notebooks: Path = NOTEBOOKS, readme: Path = README) -> list[str]:
    """Every title line or README cell that does not carry the record's figures."""
    found = []
    text = readme.read_text()
    on_disk = sorted(p.stem for p in notebooks.glob("[0-9][0-9]_*.ipynb"))
    missing = sorted(set(on_disk) - set(record["chapters"]))
    if missing:
        found.append(f"no measured run time for {', '.join(missing)} (run `make times`)")
    for stem, entry in record["chapters"].items():
        path = notebooks / f"{stem}.ipynb"
        if not path.exists():
            found.append(f"{stem}: in the record but not in notebooks/")
            continue
        titles = _TITLE.findall(_title_source(_read(path)[0]))
        if titles != [title_line(entry)]:
            found.append(f"{stem}: title cell says {titles or 'nothing'}, "
                         f"the record {title_line(entry)!r}")
        row = _readme_row(stem).search(text)
        if row is None or row.group(2) != readme_cell(entry):
            found.append(f"{stem}: README says {row.group(2) if row else 'nothing'!r}, "
                         f"the record {readme_cell(entry)!r}")
    if set(record["chapters"]) >= set(on_disk) and course_line(record) not in _COURSE_LINE.findall(text):
        found.append(f"README's course total is not {course_line(record)!r}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.run_times",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("measure", "write", "check"))
    parser.add_argument("--chapter", action="append", default=[], metavar="STEM",
                        help="measure only this chapter (the others keep their recorded figures)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for the kernels (COURSE_TORCH_THREADS); needs --out")
    parser.add_argument("--out", type=Path, default=None,
                        help="write the record here and leave notebooks, README and "
                             "notebooks/run_times.json alone")
    args = parser.parse_args(argv)
    if args.command == "measure":
        if args.threads is not None and args.out is None:
            parser.error("--threads is an experiment: give --out FILE for its record")
        paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
        if args.chapter:
            unknown = set(args.chapter) - {p.stem for p in paths}
            if unknown:
                parser.error(f"unknown chapter(s): {', '.join(sorted(unknown))}")
            paths = [p for p in paths if p.stem in args.chapter]
        record = measure(paths, args.threads)
        if args.out is not None:
            args.out.write_text(json.dumps(record, indent=1) + "\n")
            return 0
        if args.chapter and RECORD.exists():
            old = load_record()  # each chapter keeps the unit it was measured against
            record["chapters"] = {**old["chapters"], **record["chapters"]}
        RECORD.write_text(json.dumps(record, indent=1) + "\n")
        write(record)
        flagged = budgets.over_budget({s: e["units"] for s, e in record["chapters"].items()})
        print(f"the course: {total_units(record):.0f} units (cap {budgets.COURSE_CAP_UNITS})")
        print("\n".join(f"over budget: {line}" for line in flagged) or "every notebook within its cap")
        return 0
    record = load_record()
    if args.command == "write":
        write(record)
        return 0
    issues = problems(record)
    print("\n".join(issues) or "title cells and README agree with notebooks/run_times.json")
    return 1 if issues else 0


if __name__ == "__main__":
    sys.exit(main())
