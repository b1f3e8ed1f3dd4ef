"""Run times in one place: measured, recorded, and written into the title cells and the README.

Every notebook prints its own total at its end (``total run time: 12.3 s wall, 11.9 s CPU``,
from :class:`course_utils.timing.Stopwatch`). ``measure`` executes the notebooks one at a time
(so they do not slow each other down), reads that line back and writes the record,
``notebooks/run_times.json``. ``write`` puts the record's figures into each notebook's title
line and the README's chapter table; ``problems`` lists every place that disagrees with the
record (the test suite calls it). Nobody types a run time.

    python -m course_utils.instructor.run_times measure [--chapter STEM ...]   # = make times
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

from .site import execute_notebook

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
RECORD = NOTEBOOKS / "run_times.json"
README = ROOT / "README.md"

_TOTAL = re.compile(r"total run time: (\d+(?:\.\d+)?) s wall, (\d+(?:\.\d+)?) s CPU")
_TITLE = re.compile(r"^\*(?:Runs top to bottom|Run time)[^\n]*\*$", re.M)


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


def measure(paths: list[Path]) -> dict:
    """Execute each notebook in turn and return the record: per stem the wall and CPU seconds
    it printed, plus when and where they were measured."""
    chapters = {}
    for path in paths:
        nb, _ = execute_notebook(path)
        wall, cpu = parse_total(_outputs_text(nb))
        chapters[path.stem] = {"wall_s": wall, "cpu_s": cpu}
        print(f"{path.stem}: {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
    return {"measured": {"date": dt.date.today().isoformat(), "cpu_count": os.cpu_count(),
                         "how": "one notebook at a time, python -m course_utils.instructor.run_times measure"},
            "chapters": chapters}


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 100 else f"{value / 60:.1f} min"


def title_line(entry: dict) -> str:
    """The notebook's title-cell line for one record entry."""
    return (f"*Run time, measured by `make times` on a 2-core laptop CPU: {_seconds(entry['wall_s'])} wall, "
            f"{_seconds(entry['cpu_s'])} of CPU time.*")


def readme_cell(entry: dict) -> str:
    """The README table's run-time cell for one record entry."""
    return f"{_seconds(entry['wall_s'])} wall, {_seconds(entry['cpu_s'])} CPU"


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
            found.append(f"{stem}: title cell says {titles or 'nothing'}, the record {title_line(entry)!r}")
        row = _readme_row(stem).search(text)
        if row is None or row.group(2) != readme_cell(entry):
            found.append(f"{stem}: README says {row.group(2) if row else 'nothing'!r}, "
                         f"the record {readme_cell(entry)!r}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.run_times",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("measure", "write", "check"))
    parser.add_argument("--chapter", action="append", default=[], metavar="STEM",
                        help="measure only this chapter (the others keep their recorded figures)")
    args = parser.parse_args(argv)
    if args.command == "measure":
        paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
        if args.chapter:
            unknown = set(args.chapter) - {p.stem for p in paths}
            if unknown:
                parser.error(f"unknown chapter(s): {', '.join(sorted(unknown))}")
            paths = [p for p in paths if p.stem in args.chapter]
        record = measure(paths)
        if args.chapter and RECORD.exists():
            old = load_record()
            record["chapters"] = {**old["chapters"], **record["chapters"]}
        RECORD.write_text(json.dumps(record, indent=1) + "\n")
        write(record)
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
