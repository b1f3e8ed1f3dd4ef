"""Homework from the chapter notebooks with nbgrader: student versions and autograding.

The command line: ``python -m course_utils.instructor.cli release|autograde|merge-grades``
(``--help`` for each). The work is done in :mod:`.staging` (release), :mod:`.grades`
(autograde, merge-grades) and :mod:`.supervision` (nbgrader under limits).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from .grades import autograde, merge_grades
from .staging import CSV_NAME, _course, parse_shard, release
from .supervision import EXERCISE_TIMEOUT, TIMEOUT, TOTAL_TIMEOUT


# ----------------------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.cli",
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
