"""The long runs (``make long-runs``): each registered comparison runs end to end at its smoke
budget and records a claims entry the site can show; bad selections name what is wrong."""
from __future__ import annotations

import html
import math

import pytest

from course_utils.evidence.compare import Comparison, load_claims
from course_utils.instructor import long_runs
from course_utils.instructor.site import write_claims_page

pytestmark = pytest.mark.chapter("04_object_recognition")


def test_every_long_run_runs_at_its_smoke_budget_and_records_its_claim(tmp_path):
    record = tmp_path / "long-runs.json"
    smoke = [long_runs.LongRun(run.smoke_comparison(), run.arm, 3, {}) for run in long_runs.LONG_RUNS]
    entries = long_runs.run_all(smoke, record, log=lambda *_: None, unit=1.0)
    assert [e["claim"] for e in load_claims(record)] == [run.comparison.claim for run in smoke]
    for run, entry in zip(long_runs.LONG_RUNS, entries):
        assert entry["long_run"] and entry["cpu_unit_s"] == 1.0 and len(entry["seeds"]) == 3
        assert set(entry["per_arm"]) == {str(v) for v in run.comparison.values}
        assert all(math.isfinite(iv["mean"]) for iv in entry["per_arm"].values())
        assert entry["metric"] == run.comparison.metric
    # the two depth claims share their arms: the second is judged on the first one's training
    depth = [e for e in entries if e["factor"] == "net"]
    assert depth[0]["per_arm"] == depth[1]["per_arm"]
    page = write_claims_page(tmp_path, entries).read_text()
    assert all(html.escape(run.comparison.claim) in page for run in smoke)


def test_selection_and_declarations_name_what_is_wrong():
    with pytest.raises(ValueError, match=r"chapters without long runs: \['99_nothing'\]"):
        long_runs.selected(["99_nothing"])
    assert long_runs.selected([]) == long_runs.LONG_RUNS
    c = long_runs.LONG_RUNS[0].comparison
    with pytest.raises(ValueError, match="seeds must be an integer >= 3"):
        long_runs.LongRun(c, long_runs.LONG_RUNS[0].arm, 2, {})
    with pytest.raises(ValueError, match=r"smoke may only override keys of the comparison's base, got \['steps'\]"):
        long_runs.LongRun(c, long_runs.LONG_RUNS[0].arm, 3, {"steps": 1})
    assert isinstance(long_runs.LONG_RUNS[0].smoke_comparison(), Comparison)


def test_the_arms_refuse_unknown_configurations():
    from course_utils.recognition.resnet import depth_arm

    with pytest.raises(ValueError, match=r"config\['net'\] must be one of"):
        depth_arm({"net": "plain, 7 layers", "epochs": 1}, [0])
