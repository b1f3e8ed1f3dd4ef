"""The static course site (course_utils.instructor.site): index, chapter pages, failures."""
from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_utils.instructor import site

REPO = Path(__file__).resolve().parents[1]
CHAPTER = REPO / "notebooks" / "02_fourier.ipynb"
IMG_PNG = re.compile(r'<img[^>]+src="data:image/png;base64,([^"]+)"')
ERROR_OUTPUT = 'data-mime-type="application/vnd.jupyter.stderr"'


def _notebook(*sources: str, intro: str = "# 00 Demo\n\nAfter this notebook you can\n"
              "- draw bars,\n  counted;\n- and more.") -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_markdown_cell(intro)] + [new_code_cell(s) for s in sources])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                              "language": "python"}
    return nb


def _write(folder: Path, name: str, nb) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def _png_pixels(b64: str) -> np.ndarray:
    import matplotlib.image as mpimg

    return mpimg.imread(io.BytesIO(base64.b64decode(b64)), format="png")


# --------------------------------------------------------------------- fast: no kernel
def test_title_and_first_learning_goal():
    nb = _notebook()
    assert site.notebook_title(nb) == "00 Demo"
    assert site.first_learning_goal(nb) == "draw bars, counted"
    chapter = nbformat.read(CHAPTER, as_version=4)
    assert site.notebook_title(chapter) == "02 The Fourier transform"
    assert site.first_learning_goal(chapter).startswith("read amplitude, frequency and phase")
    assert site.first_learning_goal(_notebook(intro="# Only a title")) == ""
    assert site.notebook_title(new_notebook(cells=[new_code_cell("1")])) == ""


def test_select_chapters_by_stem_or_number_and_bad_names(tmp_path):
    for name in ("01_a.ipynb", "02_b.ipynb"):
        _write(tmp_path, name, _notebook())
    assert [p.name for p in site.select_chapters(tmp_path)] == ["01_a.ipynb", "02_b.ipynb"]
    assert [p.name for p in site.select_chapters(tmp_path, ["02", "01_a", "02_b"])] == [
        "02_b.ipynb", "01_a.ipynb"]
    with pytest.raises(ValueError, match="chapter: '03' names no single chapter"):
        site.select_chapters(tmp_path, ["03"])
    with pytest.raises(ValueError, match="notebooks_dir: no chapter notebooks"):
        site.select_chapters(tmp_path / "empty")


@pytest.mark.parametrize("kwargs, message", [({"jobs": 0}, "jobs must be an integer >= 1"),
                                             ({"jobs": 1.5}, "jobs must be an integer"),
                                             ({"timeout": 0}, "timeout must be an integer")])
def test_build_site_rejects_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        site.build_site(tmp_path / "out", notebooks_dir=REPO / "notebooks", **kwargs)


def _widget_nb(outputs: list[dict]) -> nbformat.NotebookNode:
    """A notebook whose one code cell shows a live widget (VBox: slider + Output), as executed."""
    nb = _notebook("ui = live(show, n=slider(3, 1, 5))")
    nb.cells[1].outputs = [nbformat.from_dict({
        "output_type": "display_data", "metadata": {},
        "data": {"text/plain": "interactive(...)", site.WIDGET_VIEW: {
            "version_major": 2, "version_minor": 0, "model_id": "box"}}})]
    nb.metadata.widgets = {site.WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": {
        "box": {"model_name": "VBoxModel", "state": {
            "children": ["IPY_MODEL_slider", "IPY_MODEL_out"]}},
        "slider": {"model_name": "IntSliderModel", "state": {"description": "n", "value": 4}},
        "out": {"model_name": "OutputModel", "state": {"outputs": outputs}},
    }}}
    return nb


def test_inline_widget_outputs_puts_the_last_figure_in_place_of_the_widget():
    figure = {"output_type": "display_data", "metadata": {},
              "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}}
    nb = _widget_nb([figure])
    site.inline_widget_outputs(nb, "demo.ipynb")
    outs = nb.cells[1].outputs
    assert [o["output_type"] for o in outs] == ["display_data", "display_data"]
    assert outs[0]["data"]["text/plain"].endswith("n = 4")
    assert outs[1]["data"]["image/png"] == "iVBORw0KGgo="
    assert "widgets" not in nb.metadata


def test_inline_widget_outputs_fails_on_a_widget_error():
    error = {"output_type": "error", "ename": "ValueError", "evalue": "bad n", "traceback": []}
    with pytest.raises(site.SiteBuildError, match=r"demo.ipynb: cell 2: .*ValueError: bad n"):
        site.inline_widget_outputs(_widget_nb([error]), "demo.ipynb")


def _claim(mean_gap: float, claim: str, chapter: str = "08_self_supervised") -> dict:
    from course_utils.evidence.compare import Comparison

    comparison = Comparison(claim=claim, base={"arm": "a"}, factor="arm", values=["a", "b"],
                            expect="greater", first="b", second="a", chapter=chapter)
    return comparison.run(lambda arm, seeds: [(mean_gap if arm["arm"] == "b" else 0.0) + 0.01 * s
                                              for s in seeds], seeds=[0, 1, 2, 3]).record()


def test_claims_page_lists_every_claim_with_its_intervals_and_verdict(tmp_path):
    entries = [_claim(0.2, "b beats a"), _claim(-0.1, "b <beats> a too", chapter="02_fourier")]
    page = site.write_claims_page(tmp_path, entries).read_text()
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td>.*?<td>(holds|<strong>does not hold</strong>)</td></tr>",
                      page)
    assert rows == [("02_fourier", "b &lt;beats&gt; a too", "<strong>does not hold</strong>"),
                    ("08_self_supervised", "b beats a", "holds")]
    assert "b &minus; a = 0.200 [0.200, 0.200]" in page and "a: 0.015 [" in page
    index = site.write_index(tmp_path, [], claims=entries).read_text()
    assert "2 recorded by this build, 1 hold" in index
    assert "No claims recorded" in site.write_claims_page(tmp_path, []).read_text()


def test_claims_page_shows_every_metric_an_arm_recorded(tmp_path):
    from course_utils.evidence.compare import Comparison

    comparison = Comparison(claim="b scores higher", base={"arm": "a"}, factor="arm", values=["a", "b"],
                            expect="greater", first="b", second="a", metric="score", chapter="04_x")
    entry = comparison.run(lambda arm, seeds: {"score": [1.0 + s + (arm["arm"] == "b") for s in seeds],
                                               "share": [0.5] * len(seeds)}, seeds=[0, 1, 2]).record()
    page = site.write_claims_page(tmp_path, [entry]).read_text()
    assert "a: 2.000 [" in page and "; share 0.500 [0.500, 0.500]" in page
    assert "; score" not in page          # the claim's metric is not listed twice


# ------------------------------------------------------------------ slow: executes notebooks
WIDGET_CELLS = (
    "import matplotlib.pyplot as plt\nfrom course_utils.widgets import live, slider\n\n"
    "def show_bars(n: int) -> plt.Figure:\n"
    "    fig, ax = plt.subplots(figsize=(3, 2))\n"
    "    ax.bar(range(n), range(1, n + 1))\n"
    "    ax.set_title(f'{n} bars')\n"
    "    return fig",
    "# NBVAL_IGNORE_OUTPUT\nmoved = live(show_bars, n=slider(1, 1, 5))",
    "moved.children[0].value = 4",
    "# NBVAL_IGNORE_OUTPUT\ndirect = live(show_bars, n=slider(4, 1, 5))",
    "# NBVAL_IGNORE_OUTPUT\nother = live(show_bars, n=slider(2, 1, 5))",
    "from course_utils.evidence.compare import Comparison\n"
    "bars = Comparison(claim='four bars reach higher than one', base={'n': 1}, factor='n',\n"
    "                  values=[1, 4], expect='greater', first=4, second=1, chapter='00_demo')\n"
    "bars.run(lambda arm, seeds: [arm['n'] + 0.1 * s * arm['n'] for s in seeds],\n"
    "         seeds=[0, 1, 2]).assert_claim()",
    "print('done')",
)


@pytest.mark.slow
def test_site_for_a_widget_notebook_shows_each_widgets_last_figure(tmp_path):
    _write(tmp_path / "nb", "00_demo.ipynb", _notebook(*WIDGET_CELLS))
    built = site.build_site(tmp_path / "site", notebooks_dir=tmp_path / "nb", jobs=1,
                            timeout=120, log=lambda *_: None)
    assert [c.name for c in built] == ["00_demo"]
    page = (tmp_path / "site" / "00_demo.html").read_text()
    assert ERROR_OUTPUT not in page and "Traceback" not in page
    assert "https://" not in re.sub(r"/\*.*?\*/", "", page, flags=re.S)  # nothing from a CDN
    assert "controls at their last values: n = 4" in page
    moved, direct, other = [_png_pixels(b64) for b64 in IMG_PNG.findall(page)]
    # the moved widget shows what n = 4 draws, not its first figure (n = 1)
    assert moved.shape == direct.shape and np.array_equal(moved, direct)
    assert moved.shape != other.shape or not np.array_equal(moved, other)
    index = (tmp_path / "site" / "index.html").read_text()
    assert '<a href="00_demo.html">00 Demo</a>' in index
    assert "draw bars, counted" in index
    assert re.search(r'class="time">\d+\.\d s<', index)
    # the claim the notebook asserted, recorded by its kernel and shown on the claims page
    assert '<a href="claims.html">' in index and "1 recorded by this build, 1 hold" in index
    claims = (tmp_path / "site" / "claims.html").read_text()
    assert "four bars reach higher than one" in claims and "4 &minus; 1 = 3.300" in claims


@pytest.mark.slow
def test_site_for_a_real_chapter(tmp_path):
    built = site.build_site(tmp_path, chapters=["02"], log=lambda *_: None)
    assert [(c.name, c.title) for c in built] == [("02_fourier", "02 The Fourier transform")]
    page = (tmp_path / "02_fourier.html").read_text()
    nb = nbformat.read(CHAPTER, as_version=4)
    widget_cells = sum("live(" in c.source for c in nb.cells if c.cell_type == "code")
    images = IMG_PNG.findall(page)
    assert widget_cells >= 1 and len(images) > widget_cells  # plain figures and widget figures
    assert all(_png_pixels(b64).size > 0 for b64 in images)
    assert page.count("controls at their last values") == widget_cells
    assert "Traceback" not in page and ERROR_OUTPUT not in page
    assert '<a href="02_fourier.html">02 The Fourier transform</a>' in (
        tmp_path / "index.html").read_text()


@pytest.mark.slow
def test_a_failing_cell_fails_the_build_naming_notebook_and_cell(tmp_path, capsys):
    nb_dir = tmp_path / "nb"
    _write(nb_dir, "01_fine.ipynb", _notebook("x = 1"))
    _write(nb_dir, "02_broken.ipynb", _notebook("x = 1", "y = x / 0", "print('never')"))
    with pytest.raises(site.SiteBuildError,
                       match=r"02_broken.ipynb: cell 3 failed: ZeroDivisionError: division by zero"):
        site.build_site(tmp_path / "site", notebooks_dir=nb_dir, timeout=60,
                        log=lambda *_: None)
    assert not (tmp_path / "site" / "index.html").exists()
    assert site.main(["--out", str(tmp_path / "site"), "--notebooks-dir", str(nb_dir),
                      "--chapter", "02", "--jobs", "1"]) == 1
    assert "02_broken.ipynb: cell 3 failed: ZeroDivisionError" in capsys.readouterr().err


def test_inline_widget_outputs_fails_when_the_widget_state_is_missing():
    nb = _widget_nb([])
    del nb.metadata["widgets"]
    with pytest.raises(site.SiteBuildError, match="demo.ipynb: cell 2: the state of its widget"):
        site.inline_widget_outputs(nb, "demo.ipynb")
