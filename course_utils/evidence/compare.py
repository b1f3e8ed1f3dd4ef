"""Comparisons that change one factor: arms declared as one base configuration plus the values
of the factor, run over the same seeds, reported as means with intervals and paired
differences, and checked against a claim fixed before the run.

    comparison = Comparison(
        claim="grey patches undo the colour-cast shortcut",
        base={"steps": 300, "batch": 128, "patches": "colour"}, factor="patches",
        values=["colour", "grey"], expect="greater", first="grey", second="colour")
    result = comparison.run(train_and_probe, seeds=experiment_seeds(5))
    print(result.table()); result.assert_claim()

``train_and_probe(config, seeds)`` trains one arm for every seed (together, where the model
allows) and returns the metric per seed (a list, or a dict of such lists by metric name; the
first metric is the one the claim is about).
"""
from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .intervals import Interval, format_interval, paired_difference, t_interval

EXPECTATIONS = ("greater", "less", "agree")
MIN_SEEDS = 3
CLAIMS_ENV = "COURSE_CLAIMS_FILE"


def matched_arms(arms: Sequence[Mapping[str, Any]], factor: str) -> list[dict]:
    """Check that hand-written arms differ in ``factor`` only (the same keys, the same values
    elsewhere) and that every arm has its own value of it; return them as dicts."""
    if len(arms) < 2:
        raise ValueError(f"arms must hold at least two configurations, got {len(arms)}")
    arms = [dict(arm) for arm in arms]
    keys = set(arms[0])
    if factor not in keys:
        raise ValueError(f"factor {factor!r} is not a key of the arms ({sorted(keys)})")
    for i, arm in enumerate(arms[1:], 1):
        if set(arm) != keys:
            raise ValueError(f"arm {i} has keys {sorted(arm)}, arm 0 has {sorted(keys)}: "
                             "arms must be configured alike")
        differing = sorted(k for k in keys if k != factor and arm[k] != arms[0][k])
        if differing:
            raise ValueError(f"arm {i} differs from arm 0 in {differing} besides the factor "
                             f"{factor!r}: a comparison changes one factor")
    values = [arm[factor] for arm in arms]
    if len({repr(v) for v in values}) != len(values):
        raise ValueError(f"every arm needs its own value of {factor!r}, got {values}")
    return arms


@dataclass(frozen=True)
class Comparison:
    """One claim about one factor. ``expect``: "greater" (arm ``first`` scores above arm
    ``second``: the paired difference's interval lies above zero), "less", or "agree" (the
    interval lies within +- ``margin``). Arms are ``base`` with ``factor`` set to each value."""

    claim: str
    base: Mapping[str, Any]
    factor: str
    values: Sequence[Any]
    expect: str
    first: Any
    second: Any
    margin: float | None = None
    chapter: str = ""
    metric: str | None = None      # the metric the claim is about (default: the first returned)

    def __post_init__(self):
        if not isinstance(self.claim, str) or not self.claim.strip():
            raise ValueError("claim must say in words what the comparison shows")
        if self.expect not in EXPECTATIONS:
            raise ValueError(f"expect must be one of {EXPECTATIONS}, got {self.expect!r}")
        for name in ("first", "second"):
            if getattr(self, name) not in list(self.values):
                raise ValueError(f"{name} must be one of values {list(self.values)}, "
                                 f"got {getattr(self, name)!r}")
        if self.first == self.second:
            raise ValueError("first and second must be different arms")
        if self.expect == "agree" and not (isinstance(self.margin, (int, float)) and self.margin > 0):
            raise ValueError("expect='agree' needs a margin > 0, fixed before the run")
        if self.expect != "agree" and self.margin is not None:
            raise ValueError(f"margin belongs to expect='agree', not {self.expect!r}")
        matched_arms(self.arms(), self.factor)

    def judge(self, result: "Result") -> "Result":
        """This claim judged on arms already trained for another claim about the same arms
        (the same base, factor and values): one training serves several claims, e.g. about
        another metric or another pair of arms."""
        other = result.comparison
        if (dict(other.base), other.factor, list(other.values)) != (dict(self.base), self.factor,
                                                                   list(self.values)):
            raise ValueError("result: its arms differ from this comparison's (base, factor or "
                             "values); train these arms with run()")
        if self.metric is not None and self.metric not in next(iter(result.scores.values())):
            raise ValueError(f"metric {self.metric!r} was not measured; the arms returned "
                             f"{sorted(next(iter(result.scores.values())))}")
        return Result(self, list(result.seeds), result.scores)

    def arms(self) -> list[dict]:
        """The configuration of every arm: the base with the factor set to each value."""
        return [{**self.base, self.factor: value} for value in self.values]

    def run(self, train_and_score: Callable[[dict, list[int]], Any], seeds: Sequence[int]
            ) -> "Result":
        """Train and score every arm on the same ``seeds`` (at least ``MIN_SEEDS``)."""
        seeds = list(seeds)
        if len(seeds) < MIN_SEEDS or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be at least {MIN_SEEDS} different seeds, got {seeds}")
        scores = {}
        for value, config in zip(self.values, self.arms()):
            scores[_label(value)] = _per_seed(train_and_score(config, seeds), len(seeds), value)
        if self.metric is not None and self.metric not in next(iter(scores.values())):
            raise ValueError(f"metric {self.metric!r} was not measured; the arms returned "
                             f"{sorted(next(iter(scores.values())))}")
        return Result(self, seeds, scores)


def _label(value) -> str:
    return value if isinstance(value, str) else repr(value)


def _per_seed(output, n: int, value) -> dict[str, list[float]]:
    metrics = output if isinstance(output, Mapping) else {"score": output}
    if not metrics:
        raise ValueError(f"the arm {value!r} returned no metric")
    out = {}
    for name, values in metrics.items():
        values = [float(v) for v in values]
        if len(values) != n:
            raise ValueError(f"the arm {value!r} returned {len(values)} values of {name!r} "
                             f"for {n} seeds")
        out[str(name)] = values
    return out


@dataclass
class Result:
    """Per arm and metric the values over seeds; intervals, paired differences, the verdict."""

    comparison: Comparison
    seeds: list[int]
    scores: dict[str, dict[str, list[float]]]
    metric: str = field(default="")

    def __post_init__(self):
        if not self.metric:
            self.metric = self.comparison.metric or next(iter(next(iter(self.scores.values()))))

    def interval(self, arm, metric: str | None = None) -> Interval:
        return t_interval(self.scores[_label(arm)][metric or self.metric])

    def difference(self, first=None, second=None, metric: str | None = None) -> Interval:
        """first minus second (the claim's arms by default), paired by seed."""
        first = self.comparison.first if first is None else first
        second = self.comparison.second if second is None else second
        metric = metric or self.metric
        return paired_difference(self.scores[_label(first)][metric],
                                 self.scores[_label(second)][metric])

    def holds(self) -> bool:
        d = self.difference()
        expect = self.comparison.expect
        if expect == "greater":
            return d.low > 0
        if expect == "less":
            return d.high < 0
        return d.within(self.comparison.margin)

    def verdict(self) -> str:
        c = self.comparison
        words = {"greater": "above", "less": "below", "agree": f"within +-{c.margin}"}[c.expect]
        status = "holds" if self.holds() else "does not hold"
        return (f"{status}: {_label(c.first)} - {_label(c.second)} = {self.difference()} "
                f"({self.metric}, {len(self.seeds)} seeds; claimed {words}"
                f"{' zero' if c.expect != 'agree' else ''})")

    def table(self) -> str:
        """Mean [95% interval] per arm and metric, then the claim's paired difference."""
        metrics = list(next(iter(self.scores.values())))
        width = max(len(self.comparison.factor), *(len(arm) for arm in self.scores)) + 2
        columns = {m: max(26, len(m) + 2) for m in metrics}
        lines = [f"{self.comparison.factor:<{width}}" + "".join(f"{m:>{columns[m]}}" for m in metrics)]
        for arm in self.scores:
            lines.append(f"{arm:<{width}}" + "".join(f"{str(self.interval(arm, m)):>{columns[m]}}"
                                                     for m in metrics))
        lines.append(f"claim: {self.comparison.claim}: {self.verdict()}")
        return "\n".join(lines)

    def record(self) -> dict:
        """The claim as a machine-readable entry (what ``claims.json`` holds)."""
        c = self.comparison
        return {"chapter": c.chapter, "claim": c.claim, "factor": c.factor,
                "arms": [_label(v) for v in c.values], "base": {k: repr(v) for k, v in c.base.items()},
                "seeds": self.seeds, "metric": self.metric, "expect": c.expect, "margin": c.margin,
                "per_arm": {arm: vars(self.interval(arm)) for arm in self.scores},
                "per_arm_metrics": {arm: {m: vars(self.interval(arm, m)) for m in metrics}
                                    for arm, metrics in self.scores.items()},
                "difference": {"first": _label(c.first), "second": _label(c.second),
                               **vars(self.difference())},
                "holds": self.holds()}

    def record_claim(self, path: str | os.PathLike | None = None) -> bool:
        """Record the claim (``COURSE_CLAIMS_FILE`` or ``path``, when given) whichever way it
        went, and return whether it holds: for a comparison whose answer a notebook reports
        rather than asserts (the claims page shows its verdict with the others)."""
        target = path or os.environ.get(CLAIMS_ENV)
        if target:
            append_claim(Path(target), self.record())
        return self.holds()

    def assert_claim(self, path: str | os.PathLike | None = None) -> None:
        """Record the claim (``COURSE_CLAIMS_FILE`` or ``path``, when given) and fail with the
        table if it does not hold."""
        if not self.record_claim(path):
            raise AssertionError(f"the claim does not hold:\n{self.table()}")


def append_claim(path: Path, entry: dict) -> None:
    """Add ``entry`` to the JSON list at ``path`` (created when missing), replacing an entry
    with the same chapter and claim. Notebooks run side by side share the file: the update
    holds an exclusive lock on ``path`` + ".lock" from reading to writing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = load_claims(path)
        entries = [e for e in entries
                   if (e.get("chapter"), e.get("claim")) != (entry["chapter"], entry["claim"])]
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(entries + [entry], indent=1) + "\n")
        tmp.replace(path)


def describe_record(entry: Mapping[str, Any]) -> str:
    """One line for a recorded claim (an entry of ``claims.json`` or ``long_runs.json``): the
    claim, its verdict, the paired difference with its interval, the metric and the seeds."""
    try:
        d = entry["difference"]
        verdict = "holds" if entry["holds"] else "does not hold"
        return (f"{entry['claim']}: {verdict}: {d['first']} - {d['second']} = "
                f"{format_interval(d['mean'], d['low'], d['high'])} ({entry['metric']}, "
                f"{len(entry['seeds'])} seeds)")
    except (KeyError, TypeError) as exc:
        raise ValueError(f"entry must be a recorded claim (a claims-file entry), missing {exc}") from None


def load_claims(path: str | os.PathLike) -> list[dict]:
    """The entries of a claims file (empty when there is none); a ValueError naming the file
    when it is not a JSON list."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a claims file ({exc})") from None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: a claims file holds a JSON list, got {type(entries).__name__}")
    return entries
