"""Budgets in CPU units: caps per notebook and for the course, and what is flagged."""
from __future__ import annotations

import pytest

from course_utils.instructor import budgets


def test_caps_and_flags(monkeypatch):
    monkeypatch.setattr(budgets, "STRETCHED", {"12_vqa": "seeds"})
    monkeypatch.setattr(budgets, "OVER_CAP", {})
    assert budgets.cap_units("01_convolution") == budgets.CAP_UNITS == 22
    assert budgets.cap_units("12_vqa") == budgets.SEED_CAP_UNITS == 30
    assert budgets.over_budget({"01_convolution": 21.9, "12_vqa": 29.0}) == []
    assert budgets.over_budget({"01_convolution": 22.5, "12_vqa": 29.0}) == [
        "01_convolution: 22.5 units, over its cap of 22"]
    many = {f"{k:02d}_x": 20.0 for k in range(11)}   # 220 units, none past its own cap
    assert budgets.over_budget(many) == ["the course: 220 units, over its cap of 200"]
    monkeypatch.setattr(budgets, "OVER_CAP", {"01_convolution": "issue 99"})
    assert budgets.over_budget({"01_convolution": 22.5}) == [
        "01_convolution: 22.5 units, over its cap of 22 (known: issue 99)"]
    with pytest.raises(ValueError, match="stem"):
        budgets.cap_units("")


def test_every_stretched_chapter_exists_and_says_why():
    from course_utils.instructor.run_times import NOTEBOOKS

    stems = {p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    for stem, why in budgets.STRETCHED.items():
        assert stem in stems and len(why) > 40, (stem, why)
