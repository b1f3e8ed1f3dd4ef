"""Instructor tooling: homework with nbgrader and the rendered course site (`site`).

The homework tooling is split by job: `staging` (the course folder layout, chapter selection,
submission checks, staged copies and student versions), `supervision` (nbgrader and its
kernels under timeouts; nbgrader loads it by path), `grades` (autograde into grades.csv and
feedback, merging shard tables) and `cli` (the command line:
``python -m course_utils.instructor.cli release|autograde|merge-grades``).

Nothing here is part of what a notebook needs: ``import course_utils`` never loads this
subpackage, and its modules import their heavy dependencies (nbconvert, nbclient) only when
called. Run the tools as modules, e.g. ``python -m course_utils.instructor.site --out site/``.
"""
