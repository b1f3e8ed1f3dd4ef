"""Running nbgrader and its kernels under limits: the guarded executor, timeouts, processes.

Each (student, chapter) is graded by its own ``nbgrader autograde`` process under a
wall-clock limit, so a broken, endless or kernel-killing submission costs only its own row.
Every nbgrader command reads the ``nbgrader_config.py`` that :func:`_write_config` generates,
which loads this file by path for :class:`GuardedExecute`; so this module loads without torch
and imports nothing from ``course_utils`` at run time.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, default

if TYPE_CHECKING:  # annotations only: nbgrader loads this file by path, outside the package
    from .staging import Course

TIMEOUT = 1200           # s per ordinary cell: the slowest cell (04 training) took 490 s busy
EXERCISE_TIMEOUT = 60    # s per exercise cell: the slowest took 0.14 s on a busy machine
TOTAL_TIMEOUT = 3600     # s per (student, chapter): the whole nbgrader process, last resort
STARTUP_TIMEOUT = 120    # s for a kernel to start on a busy machine


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


# ------------------------------------------------------ nbgrader config and processes
def _write_config(course: Course, timeout: int, exercise_timeout: int) -> None:
    out = {name: str(course.root / name) for name in ("release", "submitted", "autograded",
                                                       "feedback")}
    course.build.mkdir(parents=True, exist_ok=True)
    (course.build / "nbgrader_config.py").write_text(f'''\
# Generated by course_utils.instructor.supervision for every command; edits are overwritten.
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
