"""Instructor tooling: homework with nbgrader (`homework`) and the rendered course site (`site`).

Nothing here is part of what a notebook needs: ``import course_utils`` never loads this
subpackage, and its modules import their heavy dependencies (nbconvert, nbclient) only when
called. Run the tools as modules, e.g. ``python -m course_utils.instructor.site --out site/``.
"""
