"""Test-session setup: offline guard, headless plotting, hypothesis profile, GPU skips, and
the suite's shape: heavy work first, one notebook's cells on one xdist worker, ``--chapter``
for one chapter's tests, and each notebook's execution time in the summary."""
from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import pytest

GUARD_DIR = Path(__file__).parent / "netguard"

# Every process started from here (notebook kernels, graders, servers) inherits the guard.
os.environ["COURSE_NETGUARD"] = "1"
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(GUARD_DIR), os.environ.get("PYTHONPATH", "")) if p)
os.environ.setdefault("MPLBACKEND", "Agg")
# Every claim a notebook asserts through the comparison harness is recorded in one file per
# run and base seed (course_utils.evidence.compare; claims-seed-N.json under COURSE_SEED=N);
# the controller starts it afresh, workers and kernels inherit the path.
_BASE_SEED = os.environ.get("COURSE_SEED", "0").strip() or "0"
CLAIMS_FILE = Path(__file__).resolve().parents[1] / "test-artifacts" / (
    "claims.json" if _BASE_SEED == "0" else f"claims-seed-{_BASE_SEED}.json")
if "PYTEST_XDIST_WORKER" not in os.environ:
    CLAIMS_FILE.unlink(missing_ok=True)
    os.environ["COURSE_CLAIMS_FILE"] = str(CLAIMS_FILE)
# xdist workers inherit the controller's log, so that the controller sees every attempt.
_IS_WORKER = "PYTEST_XDIST_WORKER" in os.environ
if _IS_WORKER and os.environ.get("COURSE_NETGUARD_LOG"):
    _log_path = os.environ["COURSE_NETGUARD_LOG"]
else:
    _log_fd, _log_path = tempfile.mkstemp(prefix="netguard-", suffix=".log")
    os.close(_log_fd)
    os.environ["COURSE_NETGUARD_LOG"] = _log_path
_site = sys.modules.get("sitecustomize")
if _site is not None and Path(getattr(_site, "__file__", "")).parent == GUARD_DIR:
    sys.modules["course_netguard"] = _site  # an xdist worker: the guard is already in place
else:
    _spec = importlib.util.spec_from_file_location("course_netguard",
                                                   GUARD_DIR / "sitecustomize.py")
    _guard = importlib.util.module_from_spec(_spec)
    sys.modules["course_netguard"] = _guard
    _spec.loader.exec_module(_guard)  # installs itself: COURSE_NETGUARD is set above

try:
    from hypothesis import settings

    settings.register_profile("course", deadline=None, max_examples=60, derandomize=True)
    settings.load_profile("course")
except ImportError:  # pragma: no cover
    pass


# The pattern every chapter's torch tests reuse: parametrize over ``device`` (the CPU, plus
# CUDA when present; the gpu mark skips it elsewhere) and, where precision is part of the
# claim, over ``dtype``.
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = ["float32", "float64"]


@pytest.fixture(params=DEVICES)
def device(request):
    """torch.device to run a test on: "cpu", and "cuda" where a GPU is present."""
    import torch

    return torch.device(request.param)


@pytest.fixture(params=DTYPES)
def dtype(request):
    """Floating dtype to run a test in: torch.float32 and torch.float64."""
    import torch

    return getattr(torch, request.param)


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread (tiny networks gain nothing from more); restore after."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_addoption(parser):
    parser.addoption("--chapter", action="append", default=[], metavar="STEM",
                     help="run only this chapter's tests (e.g. 04_object_recognition; "
                          "repeatable): its notebook, homework and browser runs, the unit tests "
                          "marked with its chapter, and the fast unit tests of no chapter")
    parser.addoption("--notebooks-only", action="store_true",
                     help="run only the notebooks under nbval (make test-seeds)")


def item_chapter(item) -> str | None:
    """The chapter (notebook stem) a test is about, or None for shared code.

    A notebook cell under nbval belongs to its notebook; a test parametrized with a notebook
    path (homework, browser) to that notebook; a unit test to its module's ``chapter`` mark.
    """
    path = Path(str(item.fspath))
    if path.suffix == ".ipynb":
        return path.stem
    for value in getattr(getattr(item, "callspec", None), "params", {}).values():
        if isinstance(value, (str, Path)) and str(value).endswith(".ipynb"):
            return Path(value).stem
    mark = item.get_closest_marker("chapter")
    return mark.args[0] if mark else None


# Heavy work first, so that two workers finish together (longest-first list scheduling):
# notebook executions under nbval, then homework gradings, then the browser runs, then the
# slow unit tests, then the rest. Within a kind, later chapters (larger) first.
def _weight(item) -> tuple[int, str]:
    chapter = item_chapter(item) or ""
    if Path(str(item.fspath)).suffix == ".ipynb":
        kind = 0
    elif "homework" in item.nodeid:
        kind = 1
    elif "browser" in item.keywords:
        kind = 2
    elif "slow" in item.keywords:
        kind = 3
    else:
        kind = 4
    return kind, "".join(chr(0x10FFFF - ord(c)) for c in chapter)  # chapter descending


def pytest_xdist_make_scheduler(config, log):
    """xdist: hand out whole work units -- all cells of one notebook (they share a kernel), all
    homework tests of one chapter (they share its grading batch) -- in collection order,
    which ``pytest_collection_modifyitems`` sorts heaviest first; every other test alone."""
    from xdist.scheduler import LoadScopeScheduling

    known = sorted({p.stem for p in (Path(config.rootpath) / "notebooks").glob("*.ipynb")}
                   | {p.stem for p in (Path(config.rootpath) / "tests" / "fixtures").glob(
                       "*.ipynb")}, key=len, reverse=True)

    class ChapterUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path, _, rest = nodeid.partition("::")
            if path.endswith(".ipynb"):
                return path
            if path.endswith("test_homework.py") and "[" in rest:
                params = rest[rest.index("["):]
                stem = next((s for s in known if s in params), None)
                return f"homework-{stem}" if stem else nodeid
            return nodeid

    config.option.loadscopereorder = False  # keep the heaviest-first order
    return ChapterUnits(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if config.getoption("--notebooks-only"):
        drop = [item for item in items if not str(item.path).endswith(".ipynb")]
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if str(item.path).endswith(".ipynb")]
    chapters = config.getoption("--chapter")
    if chapters:
        known = {p.stem for p in (Path(config.rootpath) / "notebooks").glob("*.ipynb")}
        unknown = sorted(set(chapters) - known)
        if unknown:
            raise pytest.UsageError(f"--chapter: no notebook named {unknown}; "
                                    f"available: {sorted(known)}")
        keep, drop = [], []
        for item in items:
            chapter = item_chapter(item)
            mine = chapter in chapters or (chapter is None and not {"slow", "browser"}
                                           & set(item.keywords))
            (keep if mine else drop).append(item)
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    items.sort(key=_weight)  # stable: cells of a notebook stay in order

    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


# ---- each notebook's execution time under nbval, in CPU units, in the summary and a file ------
# A plugin object, not conftest hooks: hooks in this file apply only to items under tests/,
# and the notebooks live in notebooks/.
NOTEBOOK_TIMES = Path(__file__).resolve().parents[1] / "test-artifacts" / "notebook-times.json"


def _cpu_unit() -> tuple[float, str]:
    """The unit ``make test`` measured before the tests, or one measured now (idle by now)."""
    from course_utils import cpu_unit

    unit = cpu_unit.current_unit()
    if unit is not None:
        return unit, "measured by make test before the tests"
    return cpu_unit.measure()[0], "measured after the tests, COURSE_CPU_UNIT being unset"


class NotebookTimes:
    """Adds up each notebook's cells (setup, call, teardown), reads the total the notebook
    prints in its last cell, and reports both in CPU units at the end."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.printed: dict[str, tuple[float, float]] = {}  # the notebook's "total run time"

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        """Carry the printed total (wall and kernel CPU seconds) from the worker that ran the
        cell to the controller, on the cell's report."""
        outcome = yield
        outputs = getattr(item, "test_outputs", None) if call.when == "call" else None
        if outputs:
            from course_utils.instructor.run_times import parse_total

            text = "".join(o.get("text", "") for o in outputs
                           if o.get("output_type") == "stream")
            try:
                total = parse_total(text)
            except ValueError:
                return
            outcome.get_result().user_properties.append(("notebook_total", list(total)))

    def pytest_runtest_logreport(self, report):
        path = report.nodeid.split("::", 1)[0]
        if path.endswith(".ipynb"):
            self.seconds[path] = self.seconds.get(path, 0.0) + report.duration
            for name, value in report.user_properties:
                if name == "notebook_total":
                    self.printed[path] = tuple(value)

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        if not self.seconds or _IS_WORKER:
            return
        import json

        from course_utils.instructor import budgets

        unit, source = _cpu_unit()
        rows = {}
        for path, seconds in sorted(self.seconds.items()):
            printed = self.printed.get(path)
            rows[path] = {"wall_s": round(seconds, 1),
                          "printed_wall_s": round(printed[0], 1) if printed else None,
                          "cpu_s": round(printed[1], 1) if printed else None,
                          "units": round(seconds / unit, 1),
                          "cap_units": budgets.cap_units(Path(path).stem)}
        write = terminalreporter.write_line
        terminalreporter.section("notebook execution times (nbval, two notebooks at a time)")
        write(f"one CPU unit = {unit:.2f} s ({source})")
        write(f"{'wall s':>7} {'CPU s':>7} {'units':>6} {'cap':>4}  notebook")
        for path, row in rows.items():
            cpu = f"{row['cpu_s']:7.1f}" if row["cpu_s"] is not None else f"{'-':>7}"
            flag = "  OVER ITS CAP" if row["units"] > row["cap_units"] else ""
            write(f"{row['wall_s']:7.1f} {cpu} {row['units']:6.1f} {row['cap_units']:4d}  "
                  f"{path}{flag}")
        chapters = {Path(p).stem: r["units"] for p, r in rows.items() if p.startswith("notebooks/")}
        total = sum(chapters.values())
        write(f"{'':>15} {total:6.1f} {budgets.COURSE_CAP_UNITS:4d}  the chapters together")
        flagged = budgets.over_budget(chapters)
        for line in flagged:
            write(f"over budget: {line}", yellow=True)
        NOTEBOOK_TIMES.parent.mkdir(parents=True, exist_ok=True)
        NOTEBOOK_TIMES.write_text(json.dumps(
            {"cpu_unit_s": round(unit, 3), "cpu_unit": source,
             "how": "nbval on the pytest-xdist workers, two notebooks at a time; wall_s sums "
                    "the cells (kernel start included), printed_wall_s and cpu_s are the "
                    "wall and kernel CPU seconds the notebook prints in its last cell; "
                    "units = wall_s / cpu_unit_s",
             "notebooks": rows, "course_units": round(total, 1), "over_budget": flagged},
            indent=2) + "\n")
        write(f"(also in {NOTEBOOK_TIMES.relative_to(config.rootpath)})")


class WidgetLatency:
    """After a run that moved sliders in the browser, the per-widget latency table
    (course_utils/instructor/widget_latency.py) in test-artifacts/ and a one-line summary."""

    def __init__(self) -> None:
        import time

        self.started = time.time()

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        if _IS_WORKER:
            return
        from course_utils import cpu_unit
        from course_utils.instructor import widget_latency as latency

        out = NOTEBOOK_TIMES.parent
        workers = getattr(config.option, "numprocesses", None) or 1   # pytest-xdist's -n
        side_by_side = max(1, int(workers)) if str(workers).isdigit() else 2
        rows = latency.write_table(out / "browser", out, self.started, cpu_unit.current_unit(),
                                   side_by_side)
        if not rows:
            return
        over = [r for r in rows if r["status"] not in ("within goal", f"not judged ({side_by_side} "
                                                        "at a time): within 1 s here")]
        terminalreporter.section("widget latency (kernel / end to end, worst move)")
        if side_by_side > 1:
            terminalreporter.write_line(
                f"{len(rows)} sliders timed with {side_by_side} notebooks at a time, so not judged "
                f"(`make latency` judges, one at a time); {len(over)} took over "
                f"{latency.BROWSER_GOAL_S} s here")
        else:
            terminalreporter.write_line(f"{len(rows)} sliders timed; {len(over)} past the end-to-end "
                                        f"goal of {latency.BROWSER_GOAL_S} s")
        for r in over:
            terminalreporter.write_line(
                f"  {r['notebook']} cell {r['cell']} '{r['slider']}' ({r['function']}): "
                f"{r['kernel_worst_s'] or 0:.2f} s / {r['browser_worst_s'] or 0:.2f} s, {r['status']}")
        terminalreporter.write_line(f"(table in {(out / 'widget-latency.md').relative_to(config.rootpath)})")


class Claims:
    """At the end, the claims the notebooks asserted in this run: how many hold."""

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        if _IS_WORKER or not CLAIMS_FILE.exists():
            return
        from course_utils.evidence.compare import load_claims

        entries = load_claims(CLAIMS_FILE)
        failing = [e for e in entries if not e.get("holds")]
        terminalreporter.section("claims checked over seeds")
        terminalreporter.write_line(f"{len(entries)} claims recorded, {len(entries) - len(failing)} "
                                    f"hold (base seed {_BASE_SEED})")
        for e in failing:
            terminalreporter.write_line(f"  does not hold: {e['chapter']}: {e['claim']}")
        terminalreporter.write_line(f"(in {CLAIMS_FILE.relative_to(config.rootpath)})")


def pytest_configure(config):
    config.pluginmanager.register(NotebookTimes(), "course-notebook-times")
    config.pluginmanager.register(Claims(), "course-claims")
    config.pluginmanager.register(WidgetLatency(), "course-widget-latency")


def pytest_sessionfinish(session, exitstatus):
    if _IS_WORKER:  # the controller reads the shared log once every worker is done
        return
    attempts = Path(_log_path).read_text() if Path(_log_path).exists() else ""
    Path(_log_path).unlink(missing_ok=True)
    if attempts:
        print("\nNetwork access was attempted during the tests:\n" + attempts, file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
