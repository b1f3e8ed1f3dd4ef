"""Every chapter notebook, run in JupyterLab in headless Chromium: widgets render and respond.

For each notebook: start a private JupyterLab, open a copy, Run > Run All Cells, wait until
the kernel is idle and no cell is queued, then fail on any cell error, any cell left
unexecuted, any "Error displaying widget", and any JavaScript error of the page. Then move
every slider of every live widget a few steps with the keyboard, one press at a time, timing
each move in the kernel and end to end (course_utils/instructor/widget_latency.py gathers the table); the first
slider of each widget must change its figure or text. Screenshots and the timings go to
test-artifacts/browser/.
COURSE_BROWSER_RUN_TIMEOUT_S (default 300) bounds the Run All of one notebook.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parents[2]

FIXTURE = REPO / "tests" / "fixtures" / "widgets_demo.ipynb"
NOTEBOOKS = [FIXTURE] + sorted((REPO / "notebooks").glob("*.ipynb"))

KERNEL_READY_TIMEOUT_S = 180   # page load + kernel start on a busy 2-core machine
# Chapters run in up to ~90 s on the CPU; keep a wide margin (a slower machine may raise it).
RUN_TIMEOUT_S = float(os.environ.get("COURSE_BROWSER_RUN_TIMEOUT_S", "300"))
SLIDER_TIMEOUT_S = 120         # one redraw of a widget, queued behind the others
IDLE_GRACE_S = 5               # kernel idle this long after a move and nothing changed: unchanged
UNCHANGED_GRACE_S = 1.5        # the kernel logged its redraw this long ago, the page is the same
SLIDER_PRESSES = 3             # moves per slider, each timed
POLL_S = 0.02

# The hard stop (pytest-timeout) leaves room for the server, the page and every slider.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(RUN_TIMEOUT_S + 900)]

# Console errors that are not defects of the notebook under test. Each entry: (pattern, why).
ALLOWED_CONSOLE_ERRORS: list[tuple[re.Pattern, str]] = [
]

_STATE_JS = """() => {
  const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
  const bar = document.querySelector('.jp-StatusBar-Widget');
  const dialog = document.querySelector('.jp-Dialog');
  return {
    indicator: indicator ? indicator.getAttribute('data-status') : null,
    kernel: bar ? bar.textContent : '',
    dialog: dialog ? dialog.textContent.trim() : null,
    prompts: Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell')).map(cell => ({
      prompt: (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
      empty: !((cell.querySelector('.cm-content') || {}).textContent || '').trim(),
    })),
  };
}"""

_PROBLEMS_JS = """() => {
  const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell'));
  const errors = [], widgetErrors = [];
  cells.forEach((cell, i) => {
    for (const out of cell.querySelectorAll(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")) {
      const text = out.textContent;
      if (/Traceback \\(most recent call last\\)/.test(text) ||
          /^\\w*(Error|Exception)\\b/m.test(text)) {
        const lines = text.trim().split('\\n').filter(l => l.trim());
        errors.push({cell: i + 1, text: lines.slice(-3).join(' | ').slice(0, 600),
                     traceback: text.slice(-3000)});
      }
    }
    const area = cell.querySelector('.jp-Cell-outputArea');
    if (area && area.textContent.includes('Error displaying widget')) {
      const line = area.textContent.split('\\n').find(l => l.includes('Error displaying widget'));
      widgetErrors.push({cell: i + 1, text: line.trim().slice(0, 200)});
    }
    if (cell.querySelector('.jupyter-widgets-error-widget')) {
      widgetErrors.push({cell: i + 1, text: 'widget failed to render (error placeholder shown)'});
    }
  });
  return {errors, widgetErrors};
}"""

# The figure or text a live widget shows: image data, text, svg or canvas pixels.
_OUTPUT_JS = """el => Array.from(el.querySelectorAll('img, pre, svg, canvas')).map(n =>
  n.tagName === 'IMG' ? n.src : n.tagName === 'PRE' ? n.textContent :
  n.tagName === 'CANVAS' ? n.toDataURL() : n.outerHTML).join('\\n')"""


@dataclass
class Findings:
    """Everything one browser run of a notebook saw; ``problems()`` is what fails a test."""

    notebook: str
    timings_s: dict[str, float] = field(default_factory=dict)
    cell_errors: list[str] = field(default_factory=list)
    unexecuted_cells: list[int] = field(default_factory=list)
    widget_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    allowed_console_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    sliders_moved: list[str] = field(default_factory=list)
    sliders_without_effect: list[str] = field(default_factory=list)
    latency: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    aborted: str = ""

    def problems(self) -> list[str]:
        out = [f"the browser run stopped early: {self.aborted}"] if self.aborted else []
        out += [f"error in code cell {e}" for e in self.cell_errors]
        if self.unexecuted_cells:
            out.append(f"code cells {_ranges(self.unexecuted_cells)} were not executed "
                       "(Run All stops at the first error)")
        out += [f"widget error in code cell {e}" for e in self.widget_errors]
        out += [f"JavaScript console error: {e[:500]}" for e in self.console_errors]
        out += [f"request to a non-loopback address: {u}" for u in self.blocked_requests]
        out += [f"slider had no visible effect: {s}" for s in self.sliders_without_effect]
        if not (self.aborted or self.sliders_moved or self.sliders_without_effect):
            out.append("no live widget with a slider and a figure or text output was found")
        return out


def _ranges(numbers: list[int]) -> str:
    """[3, 4, 5, 9] -> '3-5, 9'."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)


def _state(page) -> dict:
    return page.evaluate(_STATE_JS)


def _wait_for_kernel(page, timeout_s: float) -> None:
    """Wait until the notebook is shown and its kernel is connected and idle."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = _state(page)
        if state["dialog"]:
            raise AssertionError(f"JupyterLab showed a dialog: {state['dialog'][:500]}")
        if state["indicator"] == "idle" and "| Idle" in state["kernel"] and state["prompts"]:
            return
        time.sleep(0.25)
    raise TimeoutError(f"the kernel was not ready within {timeout_s} s: {_state(page)}")


def _run_all(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()


def _started(state: dict) -> bool:
    return any(p["prompt"].strip() not in ("", "[ ]:") for p in state["prompts"])


def _run_all_and_wait(page, findings: Findings, timeout_s: float) -> None:
    """Run > Run All Cells; wait until the kernel is idle and no cell queued, 3 polls in a row."""
    _run_all(page)
    started_by = time.monotonic() + 30
    while not _started(_state(page)) and time.monotonic() < started_by:
        time.sleep(0.25)
    if not _started(_state(page)):  # seen once while the kernel was still connecting
        findings.notes.append("Run All had not started any cell after 30 s; clicked it again")
        _run_all(page)
    deadline, quiet = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline:
        state = _state(page)
        if state["dialog"]:
            raise AssertionError(f"JupyterLab showed a dialog: {state['dialog'][:500]}")
        busy = state["indicator"] != "idle" or any(
            p["prompt"].strip() == "[*]:" for p in state["prompts"])
        quiet = 0 if busy or not _started(state) else quiet + 1
        if quiet >= 3:
            break
        time.sleep(0.5)
    else:
        prompts = [p["prompt"].strip() for p in _state(page)["prompts"]]
        running = [i + 1 for i, p in enumerate(prompts) if p == "[*]:"]
        done = sum(bool(re.match(r"\[\d+\]:", p)) for p in prompts)
        raise TimeoutError(f"the notebook was still running after {timeout_s} s: "
                           f"{done} of {len(prompts)} code cells done, code cell "
                           f"{running[0] if running else '?'} running")
    findings.unexecuted_cells = [i + 1 for i, p in enumerate(_state(page)["prompts"])
                                 if not p["empty"] and not re.match(r"\[\d+\]:", p["prompt"])]


def _collect_errors(page, findings: Findings) -> None:
    found = page.evaluate(_PROBLEMS_JS)
    findings.cell_errors = sorted({f"{e['cell']}: {e['text']}" for e in found["errors"]})
    findings.tracebacks = [f"code cell {e['cell']}:\n{e['traceback']}" for e in found["errors"]]
    findings.widget_errors = sorted({f"{e['cell']}: {e['text']}" for e in found["widgetErrors"]})


def _live_widgets(page):
    """Locators of every live widget (an ``interactive``) that has a slider."""
    return page.locator(".jp-Notebook .jp-Cell-outputArea .widget-interact").filter(
        has=page.locator(".widget-slider"))


def _wait_for_change(page, output, before: str, timeout_s: float) -> str | None:
    """The output once it differs from ``before`` and has settled; None if it never changes.

    Settled: the kernel was idle and the output the same at three polls in a row (one redraw
    per key press is queued, so a single idle poll may fall between two of them).
    """
    deadline, idle_since, last, settled = time.monotonic() + timeout_s, None, None, 0
    while time.monotonic() < deadline:
        now = output.evaluate(_OUTPUT_JS)
        idle = _state(page)["indicator"] == "idle"
        settled = settled + 1 if idle and now == last else 0
        if now and now != before and settled >= 2:
            return now
        idle_since = (idle_since or time.monotonic()) if idle else None
        if idle_since and now == before and time.monotonic() - idle_since > IDLE_GRACE_S:
            return None
        last = now
        time.sleep(0.5)
    return None


def _log_lines(path: Path | None) -> list[dict]:
    """The kernel's widget-update log (course_utils.widgets, COURSE_WIDGET_LOG)."""
    if path is None or not path.exists():
        return []
    # only whole lines: the kernel may be writing the last one while we read
    complete = path.read_text().split("\n")[:-1]
    return [json.loads(line) for line in complete if line.strip()]


def _one_move(page, origin, output, key: str, shown: str, widget_log: Path | None) -> dict | None:
    """Press ``key`` once on the focused slider; None if the handle did not move. Otherwise
    the kernel's seconds for the update it ran, the seconds from the key press until the
    widget showed a new output (None if it never changed) and what it shows now."""
    logged = len(_log_lines(widget_log))
    position = origin.get_attribute("style")
    t0 = time.monotonic()
    page.keyboard.press(key)
    while origin.get_attribute("style") == position and time.monotonic() < t0 + 5:
        time.sleep(POLL_S)
    if origin.get_attribute("style") == position:
        return None
    changed_at, now, kernel_s, logged_at = None, shown, None, None
    while time.monotonic() < t0 + SLIDER_TIMEOUT_S:
        current = output.evaluate(_OUTPUT_JS)
        if changed_at is None and current and current != shown:
            changed_at, now = time.monotonic(), current
        new = _log_lines(widget_log)[logged:]
        if new and logged_at is None:
            kernel_s, logged_at = new[-1]["seconds"], time.monotonic()
        if changed_at is not None and (new or widget_log is None):
            break
        if logged_at is not None and time.monotonic() - logged_at > UNCHANGED_GRACE_S:
            break  # the kernel has redrawn and the page still shows the same
        if (widget_log is None and changed_at is None and _state(page)["indicator"] == "idle"
                and time.monotonic() - t0 > IDLE_GRACE_S):
            break
        time.sleep(POLL_S)
    return {"kernel_s": kernel_s, "browser_s": None if changed_at is None else changed_at - t0,
            "shown": now}


def _move_sliders(page, findings: Findings, shots: Path, stem: str,
                  widget_log: Path | None = None) -> None:
    """Move every slider of each live widget a few steps, one key press at a time, each to a
    value not shown before; time every move (kernel and end to end). The first slider of a
    widget must change its output."""
    widgets = _live_widgets(page)
    for k in range(widgets.count()):
        widget = widgets.nth(k)
        output = widget.locator(":scope > .widget-output")
        if output.count() == 0:
            continue
        shown = output.first.evaluate(_OUTPUT_JS)
        if not shown.strip():
            continue  # nothing shown yet to compare with
        cell = widget.evaluate("""el => 1 + Array.from(document.querySelectorAll(
            '.jp-Notebook .jp-CodeCell')).findIndex(c => c.contains(el))""")
        widget.locator(".noUi-handle").first.scroll_into_view_if_needed()
        widget.screenshot(path=shots / f"{stem}-widget{k + 1}-before.png")
        sliders = widget.locator(".widget-slider")
        for s in range(sliders.count()):
            slider = sliders.nth(s)
            handle, origin = slider.locator(".noUi-handle").first, slider.locator(".noUi-origin").first
            readout = slider.locator(".widget-readout").first
            label = (slider.locator(".widget-label").first.text_content() or "?").strip()
            now, low, high = (float(handle.get_attribute(a)) for a in
                              ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
            key = "ArrowRight" if high - now >= now - low else "ArrowLeft"
            value = readout.text_content().strip()
            handle.focus()
            moves, changed = [], False
            for _ in range(SLIDER_PRESSES):
                move = _one_move(page, origin, output.first, key, shown, widget_log)
                if move is None:
                    break
                changed = changed or move["browser_s"] is not None
                shown = move.pop("shown")
                moves.append(move)
            what = f"code cell {cell}, slider '{label}' from {value}"
            if not moves:
                if s == 0:
                    findings.sliders_without_effect.append(f"{what}: the keyboard did not move it")
                continue
            what += f" to {readout.text_content().strip()}"
            function = next((line["function"] for line in reversed(_log_lines(widget_log))), "?")
            findings.latency.append({
                "cell": cell, "slider": label, "function": function,
                "kernel_s": [m["kernel_s"] for m in moves],
                "browser_s": [m["browser_s"] for m in moves]})
            if changed:
                findings.sliders_moved.append(what)
            elif s == 0:
                findings.sliders_without_effect.append(f"{what}: the output stayed the same")
            else:
                findings.notes.append(f"{what}: the output stayed the same")
        widget.screenshot(path=shots / f"{stem}-widget{k + 1}-after.png")


def exercise_notebook(page, log, server, notebook: Path, shots: Path) -> Findings:
    """Open ``notebook`` on ``server``, run it, check it, move its sliders, take a screenshot."""
    findings, stem = Findings(notebook=notebook.name), notebook.stem
    findings.timings_s["server_start"] = round(server.started_in_s, 1)
    t0 = time.monotonic()
    try:
        page.goto(server.notebook_url(notebook.name), timeout=KERNEL_READY_TIMEOUT_S * 1000)
        _wait_for_kernel(page, KERNEL_READY_TIMEOUT_S)
        t1 = time.monotonic()
        findings.timings_s["open_and_kernel_ready"] = round(t1 - t0, 1)
        _run_all_and_wait(page, findings, RUN_TIMEOUT_S)
        t2 = time.monotonic()
        findings.timings_s["run_all"] = round(t2 - t1, 1)
        _move_sliders(page, findings, shots, stem, server.widget_log)
        findings.timings_s["sliders"] = round(time.monotonic() - t2, 1)
    except Exception as exc:  # report it with whatever else the page shows
        findings.aborted = f"{type(exc).__name__}: {str(exc)[:1000]}"
    finally:
        findings.timings_s["total_in_browser"] = round(time.monotonic() - t0, 1)
        try:
            _collect_errors(page, findings)  # after the moves: a redraw may raise too
            widget = page.locator(".jp-Notebook .widget-interact").first
            if widget.count():
                widget.scroll_into_view_if_needed()
            page.screenshot(path=shots / f"{stem}.png")
        except Exception as exc:  # the page itself is gone; keep the first error
            findings.notes.append(f"could not inspect the page at the end: {exc!r}"[:500])
        for message in log.console_errors:
            allowed = any(pattern.search(message) for pattern, _ in ALLOWED_CONSOLE_ERRORS)
            (findings.allowed_console_errors if allowed else findings.console_errors).append(
                message)
        findings.blocked_requests = list(log.blocked_requests)
        (shots / f"{stem}.json").write_text(json.dumps(asdict(findings), indent=2))
    return findings


def _check_kernel_and_network(server) -> None:
    """The notebook ran on this environment's python3 kernel; nothing reached for the network."""
    commands = server.kernel_commands()
    if Path("/proc").is_dir():
        assert commands, "no kernel process was found under the JupyterLab server"
    for cmd in commands:
        assert cmd and Path(cmd[0]).parent == Path(sys.executable).parent, (
            f"the kernel does not run on this environment's Python {sys.executable}: {cmd}")
    attempts = server.network_attempts()
    assert not attempts, f"JupyterLab or its kernel tried to reach the network:\n{attempts}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_widgets_respond(notebook, lab_server, lab_page, artifacts):
    page, log = lab_page
    server = lab_server(notebook)
    findings = exercise_notebook(page, log, server, notebook, artifacts)
    print(json.dumps(findings.timings_s))
    problems = findings.problems()
    assert not problems, (f"{notebook.name} in JupyterLab (screenshot: "
                          f"{artifacts / (notebook.stem + '.png')}):\n- " + "\n- ".join(problems))
    _check_kernel_and_network(server)


def _broken_notebook(path: Path) -> Path:
    """A notebook with one of each defect the suite must catch, and a harmless warning."""
    cells = [
        "import sys, warnings\n"
        "warnings.warn('a harmless warning')\n"
        "print('harmless text on stderr', file=sys.stderr)",
        "from course_utils.widgets import live, slider\n"
        "ignores_its_slider = live(lambda n: print('always the same'), n=slider(1, 0, 5))",
        "follows_its_slider = live(lambda n: print('n is', n), n=slider(1, 0, 5))",
        "from IPython.display import display\n"
        "view = {'model_id': 'no-such-model', 'version_major': 2, 'version_minor': 0}\n"
        "display({'application/vnd.jupyter.widget-view+json': view}, raw=True)",
        "1 / 0",
        "print('never reached')",
    ]
    nb = new_notebook(cells=[new_code_cell(c) for c in cells], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, path)
    return path


def test_the_checks_catch_a_broken_notebook(tmp_path, lab_server, lab_page, artifacts):
    """The suite can fail: each defect of a broken notebook is reported, warnings are not."""
    page, log = lab_page
    notebook = _broken_notebook(tmp_path / "broken_demo.ipynb")
    server = lab_server(notebook)
    findings = exercise_notebook(page, log, server, notebook, artifacts)
    assert findings.aborted == "", findings.aborted
    [error] = findings.cell_errors
    assert error.startswith("5: ") and error.endswith("ZeroDivisionError: division by zero")
    assert findings.unexecuted_cells == [6]
    assert any("Error displaying widget" in e for e in findings.widget_errors), findings
    assert any("widget model not found" in e for e in findings.console_errors), findings
    assert findings.sliders_moved == ["code cell 3, slider 'n' from 1 to 4"]
    assert findings.sliders_without_effect == [
        "code cell 2, slider 'n' from 1 to 4: the output stayed the same"]
    assert findings.blocked_requests == []
    problems = "\n".join(findings.problems())
    assert "harmless" not in problems
    _check_kernel_and_network(server)
