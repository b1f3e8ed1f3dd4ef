"""The install files agree with each other and the repository keeps its conventions."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _requirement_lines(path: Path) -> list[str]:
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def _conda_pip_lines(path: Path) -> list[str]:
    text = path.read_text()
    block = text.split("- pip:", 1)[1]
    return [m.group(1).strip() for m in re.finditer(r"^\s+-\s+(\S.*)$", block, re.M)
            if not m.group(1).startswith("-")]


def test_environment_yml_installs_exactly_requirements_txt():
    reqs = _requirement_lines(ROOT / "requirements.txt")
    conda = _conda_pip_lines(ROOT / "environment.yml")
    assert sorted(conda) == sorted(reqs), (
        f"only in requirements.txt: {sorted(set(reqs) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(reqs))}")
    assert "python=3.11" in (ROOT / "environment.yml").read_text()


def test_every_requirement_is_pinned():
    for path in ("requirements.txt", "requirements-test.txt"):
        for line in _requirement_lines(ROOT / path):
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][\w.+]*", line), f"{path}: {line!r}"


def test_torch_pins_match_the_tested_versions():
    reqs = _requirement_lines(ROOT / "requirements.txt")
    assert "torch==2.14.1" in reqs and "torchvision==0.29.1" in reqs


def test_readme_gives_the_two_commands_first():
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```", 2)[1]
    assert "make lab" in first_block and "make test" in first_block


def test_ci_runs_the_readme_test_command():
    assert re.search(r"^make test\b", (ROOT / ".ci/run").read_text(), re.M)


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")),
                         ids=lambda p: p.name)
def test_notebooks_are_committed_clean(notebook):
    nb = json.loads(notebook.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, \
                f"{notebook.name} has stored outputs; clear them before committing"


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.ipynb")),
                         ids=lambda p: p.name)
def test_notebooks_are_listed_in_the_readme(notebook):
    assert notebook.name in (ROOT / "README.md").read_text()


def test_importing_course_utils_loads_no_instructor_tooling():
    """What a student imports: never nbgrader, nbconvert or the instructor subpackage."""
    import subprocess
    import sys

    code = ("import sys, course_utils\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('nbgrader', 'nbconvert', 'nbclient') or m.startswith('course_utils.instructor'))\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == "", f"import course_utils loaded {out}"
