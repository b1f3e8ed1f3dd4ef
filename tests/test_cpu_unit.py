"""The project's CPU unit against the course's reference tool (the same job, timed alike in one
run), and its argument checks."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import torch

from course_utils import cpu_unit

REFERENCE = Path(os.environ.get("COURSE_CPU_UNIT_REFERENCE",
                                Path(__file__).resolve().parents[2] / "shared" / "tools" / "cpu_unit.py"))


@pytest.mark.slow
@pytest.mark.skipif(not REFERENCE.is_file(),
                    reason=f"the course's reference tool is not at {REFERENCE} "
                           "(set COURSE_CPU_UNIT_REFERENCE to its path)")
def test_the_unit_agrees_with_the_course_reference_tool_within_ten_percent():
    spec = importlib.util.spec_from_file_location("reference_cpu_unit", REFERENCE)
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    threads = torch.get_num_threads()
    ours, theirs = [], []
    try:
        for _ in range(3):  # interleaved, so that both see the same load on a busy machine
            ours.append(cpu_unit.workload())
            theirs.append(reference.workload())
    finally:
        torch.set_num_threads(threads)  # the reference tool leaves one thread set
    ratio = min(ours) / min(theirs)
    assert 0.9 <= ratio <= 1.1, f"ours {ours} vs the reference's {theirs}: ratio {ratio:.3f}"
    assert torch.get_num_threads() == threads


def test_workload_restores_the_thread_count():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert cpu_unit.workload() > 0
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)


def test_current_unit_reads_the_environment(monkeypatch):
    monkeypatch.delenv(cpu_unit.ENV, raising=False)
    assert cpu_unit.current_unit() is None
    monkeypatch.setenv(cpu_unit.ENV, "2.75")
    assert cpu_unit.current_unit() == 2.75
    for bad in ("fast", "0", "-1"):
        monkeypatch.setenv(cpu_unit.ENV, bad)
        with pytest.raises(ValueError, match=cpu_unit.ENV):
            cpu_unit.current_unit()


def test_in_units_and_measure_check_their_arguments():
    assert cpu_unit.in_units(40.0, 2.5) == 16.0
    with pytest.raises(ValueError, match="unit must be > 0"):
        cpu_unit.in_units(1.0, 0.0)
    with pytest.raises(ValueError, match="seconds must be >= 0"):
        cpu_unit.in_units(-1.0, 2.0)
    with pytest.raises(ValueError, match="runs must be an integer >= 1"):
        cpu_unit.measure(0)
