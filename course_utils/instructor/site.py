"""Build the static HTML course site: every chapter executed, rendered, and listed in an index.

Run ``python -m course_utils.instructor.site --out site/ [--chapter NAME ...] [--jobs 2]``.

Each chapter notebook is executed headless with nbclient (two at a time by default), its
widgets' last outputs are put into the page (a static page cannot run the kernel, so each live
widget shows its controls' last values and the figure it last drew), and the notebook is
rendered by nbconvert's ``HTMLExporter`` with the JupyterLab template. The pages load nothing
from the network (no CDN scripts: no MathJax, RequireJS or widget manager), so the site works
offline and from ``file://``; formulas stay as TeX source. ``index.html`` lists the chapters
with their title, first learning goal and the run time measured by this build. Every claim a
chapter asserts through the comparison harness (``course_utils.evidence.compare``) is recorded
by its kernel in ``claims.json``, and ``claims.html`` shows them as one table: arms, seeds,
intervals, paired difference and verdict.

A failing cell, or a live widget whose function raised, fails the build with a
:class:`SiteBuildError` naming the notebook and the cell.
"""
from __future__ import annotations

import argparse
import html
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter

from course_utils.evidence.compare import CLAIMS_ENV, load_claims
from course_utils.evidence.intervals import format_interval
from course_utils.validate import check_int

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"
DEFAULT_TIMEOUT_S = 600  # per cell, as for nbval in pyproject.toml
CLAIMS_JSON = "claims.json"   # written by the chapters' kernels during the build
LONG_RUNS_JSON = NOTEBOOKS / "long_runs.json"   # the measured record of make long-runs (committed)
CLAIMS_PAGE = "claims.html"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# The lab template, minus everything it would fetch from a CDN.
PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}
<link rel="icon" href="data:,">
<style>
.course-nav { padding: 8px 16px; font-family: var(--jp-ui-font-family); font-size: 14px; }
.course-widget-controls { font-family: var(--jp-ui-font-family); color: var(--jp-ui-font-color2);
                          padding: 4px 0; }
</style>
{% endblock extra_css %}
{%- block body_header -%}
{{ super() }}
<nav class="course-nav"><a href="index.html">&larr; Course index</a></nav>
{%- endblock body_header -%}
"""

INDEX_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: 0.5rem; border-bottom: 1px solid #ddd; vertical-align: top; }}
td.time {{ text-align: right; white-space: nowrap; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>Every chapter notebook, executed by this build on {built}; run times measured while building.</p>
<table id="chapters">
<thead><tr><th>Chapter</th><th>You will be able to</th><th>Run time</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
{claims}
</body>
</html>
"""

CLAIMS_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}: claims checked over seeds</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 75rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.9rem; }}
th, td {{ text-align: left; padding: 0.4rem; border-bottom: 1px solid #ddd; vertical-align: top; }}
</style>
</head>
<body>
<nav><a href="index.html">&larr; Course index</a></nav>
<h1>Claims checked over seeds</h1>
<p>Every comparison a chapter asserted in this build: the arms differ in one factor, each is
trained with the same seeds, each arm shows its mean and 95% Student-t interval over seeds, and
the claim is judged on the paired difference (its interval must lie on the claimed side of zero,
or within the stated margin). The same records are in <a href="claims.json">claims.json</a>.
Rows marked <em>long run</em> were measured by <code>make long-runs</code> at a budget too large
for a notebook (the chapter shows a short illustration instead); a long run reports its verdict
whichever way it goes.</p>
<table id="claims">
<thead><tr><th>Chapter</th><th>Claim</th><th>Factor</th><th>Arms: mean [95% interval]</th>
<th>Seeds</th><th>Paired difference</th><th>Verdict</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""


class SiteBuildError(RuntimeError):
    """A chapter could not be executed or rendered (the message names notebook and cell)."""


@dataclass
class Chapter:
    """One rendered chapter: where its page is and what the index says about it."""

    name: str          # notebook stem, e.g. "02_fourier"
    title: str         # its first heading
    goal: str          # its first learning goal ("" if it lists none)
    run_time_s: float  # wall time of executing it in this build
    page: str          # file name of its page in the site folder


# --------------------------------------------------------------------------- notebook facts
def notebook_title(nb) -> str:
    """The text of the notebook's first markdown heading (its stem's fallback is the caller's)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = re.match(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$", line)
                if match:
                    return match.group(1)
    return ""


def first_learning_goal(nb) -> str:
    """The first item of the list that follows "After this notebook you can" (or "Learning goals").

    A list item may wrap over several lines; they are joined. "" if there is no such list.
    """
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if re.search(r"after this (notebook|chapter) you can|learning goals", line, re.I):
                item: list[str] = []
                for follow in lines[i + 1:]:
                    bullet = re.match(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)", follow)
                    if not item:
                        if bullet:
                            item.append(bullet.group(1).strip())
                        continue
                    if bullet or not follow.strip():
                        break
                    item.append(follow.strip())
                return " ".join(item).rstrip(";,.") if item else ""
    return ""


# ------------------------------------------------------------------------------- widgets
def _widget_models(nb) -> dict:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _children(state: dict) -> list[str]:
    return [c[len("IPY_MODEL_"):] for c in state.get("children", [])
            if isinstance(c, str) and c.startswith("IPY_MODEL_")]


def _walk(models: dict, model_id: str) -> Iterable[dict]:
    """The model ``model_id`` and everything below it (children of boxes), depth first."""
    model = models.get(model_id)
    if model is None:
        return
    yield model
    for child in _children(model.get("state", {})):
        yield from _walk(models, child)


def inline_widget_outputs(nb, notebook: str) -> None:
    """Replace every widget view in ``nb``'s outputs by what the widget last showed.

    For each widget: one line with its controls' last values, then the outputs of its
    Output widget(s) (the figure the live widget drew last). The widget state is then dropped
    from the metadata: the page needs no widget manager. Raises :class:`SiteBuildError` if a
    widget's output holds an error (its function raised).
    """
    models = _widget_models(nb)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW) if out.get("output_type") in (
                "display_data", "execute_result") else None
            if view is None:
                outputs.append(out)
                continue
            if view.get("model_id") not in models:
                raise SiteBuildError(f"{notebook}: cell {index + 1}: the state of its widget was "
                                     "not saved (executed without widget state?)")
            controls, shown = [], []
            for model in _walk(models, view.get("model_id", "")):
                state = model.get("state", {})
                if model.get("model_name") == "OutputModel":
                    shown.extend(state.get("outputs", []))
                elif "value" in state and state.get("description") is not None \
                        and not _children(state):
                    controls.append(f"{state.get('description') or 'value'} = {state['value']}")
            for shown_out in shown:
                if shown_out.get("output_type") == "error":
                    raise SiteBuildError(
                        f"{notebook}: cell {index + 1}: a live widget's "
                        f"function raised {shown_out.get('ename')}: {shown_out.get('evalue')}")
            if controls:
                text = "Widget, controls at their last values: " + ", ".join(controls)
                outputs.append({"output_type": "display_data", "metadata": {}, "data": {
                    "text/html": f'<div class="course-widget-controls">{html.escape(text)}</div>',
                    "text/plain": text}})
            outputs.extend(shown)
        if outputs != cell.get("outputs", []):
            cell.outputs = [nbformat.from_dict(o) for o in outputs]
    nb.metadata.pop("widgets", None)


# ------------------------------------------------------------------------------ one chapter
def _kernel_env(claims_file: Path | None = None) -> dict[str, str]:
    """The environment for the kernel: ours, minus a non-inline matplotlib backend; with
    ``claims_file`` the claims the notebook asserts are recorded there."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # figures must come out inline, as for a student
    if claims_file is not None:
        env[CLAIMS_ENV] = str(claims_file)
    return env


def execute_notebook(path: Path, timeout: int | None = DEFAULT_TIMEOUT_S,
                     claims_file: Path | None = None):
    """Execute the notebook at ``path`` (kernel in its folder); return (nb, wall seconds).
    With ``claims_file`` the claims it asserts are recorded in that file.

    Raises :class:`SiteBuildError` naming the notebook and the first failing cell.
    """

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute(env=_kernel_env(claims_file))
    except CellExecutionError as exc:
        where = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and any(
            o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        cell = f"cell {where + 1}" if where is not None else "a cell"
        raise SiteBuildError(f"{path.name}: {cell} failed: {exc.ename}: {exc.evalue}") from exc
    except (CellTimeoutError, DeadKernelError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SiteBuildError(f"{path.name}: {first_line}") from exc
    return nb, time.perf_counter() - t0


def render_page(nb, name: str) -> str:
    """HTML of the executed notebook ``nb`` (lab template, no CDN scripts, widgets inlined)."""
    inline_widget_outputs(nb, f"{name}.ipynb")
    nb.metadata.setdefault("title", notebook_title(nb) or name)
    exporter = HTMLExporter(template_name="lab")
    exporter.raw_template = PAGE_TEMPLATE
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    return body


def build_chapter(path: Path, out: Path, timeout: int | None = DEFAULT_TIMEOUT_S) -> Chapter:
    """Execute and render one chapter into ``out`` (its claims into ``out/claims.json``);
    return its index entry."""
    nb, seconds = execute_notebook(path, timeout, out / CLAIMS_JSON)
    title = notebook_title(nb) or path.stem
    goal = first_learning_goal(nb)
    page = f"{path.stem}.html"
    (out / page).write_text(render_page(nb, path.stem), encoding="utf-8")
    return Chapter(path.stem, title, goal, seconds, page)


# ------------------------------------------------------------------------------ the site
def select_chapters(notebooks_dir: Path, chapters: Sequence[str] | None = None) -> list[Path]:
    """The chapter notebooks to build: all (``NN_name.ipynb``) or those named (stem or number)."""
    found = sorted(Path(notebooks_dir).glob(CHAPTER_GLOB))
    if not found:
        raise ValueError(f"notebooks_dir: no chapter notebooks ({CHAPTER_GLOB}) in {notebooks_dir}")
    if not chapters:
        return found
    picked = []
    for name in chapters:
        match = [p for p in found if p.stem == name or p.stem.split("_", 1)[0] == name]
        if len(match) != 1:
            raise ValueError(f"chapter: {name!r} names no single chapter; choose from "
                             f"{', '.join(p.stem for p in found)}")
        if match[0] not in picked:
            picked.append(match[0])
    return picked


def write_index(out: Path, chapters: Sequence[Chapter], title: str = "Computer Vision II",
                claims: Sequence[dict] = ()) -> Path:
    """Write ``out/index.html``: the chapter table, each row linking to the chapter's page,
    and a line linking the claims page."""
    rows = "\n".join(
        f'<tr><td><a href="{html.escape(c.page)}">{html.escape(c.title)}</a></td>'
        f"<td>{html.escape(c.goal)}</td><td class=\"time\">{c.run_time_s:.1f} s</td></tr>"
        for c in chapters)
    held = sum(bool(e.get("holds")) for e in claims)
    claims_line = (f'<p><a href="{CLAIMS_PAGE}">The claims these chapters check over seeds</a>: '
                   f"{len(claims)} recorded by this build, {held} hold.</p>")
    built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    path = out / "index.html"
    path.write_text(INDEX_PAGE.format(title=html.escape(title), built=built, rows=rows,
                                      claims=claims_line), encoding="utf-8")
    return path


def _interval_text(entry: Mapping) -> str:
    return format_interval(entry["mean"], entry["low"], entry["high"])


def _arm_text(entry: Mapping, arm: str, interval: Mapping) -> str:
    """One arm's cell line: the claim's metric, then any other metric the run recorded."""
    others = {m: iv for m, iv in entry.get("per_arm_metrics", {}).get(arm, {}).items()
              if m != entry["metric"]}
    return (f"{html.escape(arm)}: {_interval_text(interval)}"
            + "".join(f"; {html.escape(m)} {_interval_text(iv)}" for m, iv in others.items()))


def write_claims_page(out: Path, claims: Sequence[dict], title: str = "Computer Vision II") -> Path:
    """Write ``out/claims.html``: one row per claim a chapter asserted in this build (chapter,
    claim, factor and arms, seeds, each arm's mean and 95% interval, the paired difference and
    the verdict), the audit trail of ``claims.json`` beside it."""
    rows = []
    for e in sorted(claims, key=lambda e: (e.get("chapter", ""), e.get("claim", ""))):
        arms = "<br>".join(_arm_text(e, arm, iv) for arm, iv in e["per_arm"].items())
        d = e["difference"]
        expect = {"greater": "above 0", "less": "below 0"}.get(
            e["expect"], f"within &plusmn;{e.get('margin')}")
        rows.append(
            f"<tr><td>{html.escape(e.get('chapter', ''))}</td><td>{html.escape(e['claim'])}"
            f"{' <em>(long run)</em>' if e.get('long_run') else ''}</td>"
            f"<td>{html.escape(e['factor'])}</td><td>{arms}</td><td>{len(e['seeds'])}</td>"
            f"<td>{html.escape(d['first'])} &minus; {html.escape(d['second'])} = "
            f"{_interval_text(d)}<br>({html.escape(e['metric'])}; claimed {expect})</td>"
            f"<td>{'holds' if e['holds'] else '<strong>does not hold</strong>'}</td></tr>")
    path = out / CLAIMS_PAGE
    path.write_text(CLAIMS_TEMPLATE.format(title=html.escape(title), rows="\n".join(rows) or
                                           '<tr><td colspan="7">No claims recorded.</td></tr>'),
                    encoding="utf-8")
    return path


def build_site(out: str | Path, chapters: Sequence[str] | None = None, jobs: int = 2,
               notebooks_dir: str | Path = NOTEBOOKS,
               timeout: int | None = DEFAULT_TIMEOUT_S, log=print) -> list[Chapter]:
    """Execute and render the chapters into ``out`` (``jobs`` at a time); write the index last.

    Raises :class:`SiteBuildError` (after the running chapters finished) if any chapter failed;
    the index is then not written.
    """
    jobs = check_int(jobs, "jobs", 1)
    if timeout is not None:
        timeout = check_int(timeout, "timeout", 1)
    paths = select_chapters(Path(notebooks_dir), chapters)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / CLAIMS_JSON).unlink(missing_ok=True)  # this build's claims only

    def one(path: Path) -> Chapter:
        chapter = build_chapter(path, out, timeout)
        log(f"{chapter.name}: executed in {chapter.run_time_s:.1f} s -> {out / chapter.page}")
        return chapter

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(one, p) for p in paths]
    built, errors = [], []
    for future in futures:
        try:
            built.append(future.result())
        except SiteBuildError as exc:
            errors.append(str(exc))
    if errors:
        raise SiteBuildError("the site was not built:\n  " + "\n  ".join(errors))
    claims = load_claims(out / CLAIMS_JSON)
    write_claims_page(out, claims + load_claims(LONG_RUNS_JSON))
    index = write_index(out, built, claims=claims)
    log(f"index: {index}")
    return built


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.site",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the site (created)")
    parser.add_argument("--chapter", action="append", default=None,
                        help="a chapter to build (notebook stem or number); repeatable")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at a time")
    parser.add_argument("--notebooks-dir", default=str(NOTEBOOKS))
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT_S,
                        help="seconds per cell")
    args = parser.parse_args(argv)
    try:
        build_site(args.out, args.chapter, args.jobs, args.notebooks_dir, args.timeout)
    except (SiteBuildError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
