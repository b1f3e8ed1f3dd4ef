"""Comparisons too costly for a notebook's CPU budget, run over seeds by ``make long-runs``.

A notebook shows such a comparison as a one-run illustration at a short budget and asserts
nothing about it; the measurement that decides the claim lives here: the same harness
(``evidence.compare.Comparison``) at the full budget over several seeds. Each run prints its
table and records the claim, whether it holds or not, in ``notebooks/long_runs.json``
(entries like ``claims.json``'s, plus the seconds and CPU unit of the run; committed, like
``run_times.json``, so that the measurement behind a notebook's sentence travels with it),
which the site's claims page lists beside the notebooks' own claims. A long run states what it measured; it
does not fail when a claim turns out not to hold.

    python -m course_utils.instructor.long_runs [--chapter STEM ...] [--list]   # = make long-runs
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .. import cpu_unit
from ..evidence.compare import Comparison, append_claim
from ..evidence.seeds import experiment_seeds
from ..motion.colorization import COLOUR_MODES, colour_arm
from ..motion.flow_net import FLOW_METHODS, flow_arm
from ..motion.tracking import PROPAGATIONS, tracking_arm
from ..recognition.one_stage import imbalance_arm
from ..recognition.resnet import depth_arm
from ..recognition.segmentation import skip_arm
from ..recognition.two_stage import pipeline_arm
from ..temporal.hyperbolic import tree_embedding_arm
from ..temporal.rnn import recall_arm
from .site import LONG_RUNS_JSON

RECORD = LONG_RUNS_JSON


@dataclass(frozen=True)
class LongRun:
    """One claim measured at full budget: the comparison, the arm function that trains and
    scores one arm over seeds, how many seeds, and the overrides of the comparison's base that
    make a seconds-long version of it for the test suite (``smoke``)."""

    comparison: Comparison
    arm: Callable[[dict, list[int]], dict]
    seeds: int
    smoke: dict

    def __post_init__(self):
        if not isinstance(self.seeds, int) or self.seeds < 3:
            raise ValueError(f"seeds must be an integer >= 3, got {self.seeds!r}")
        unknown = set(self.smoke) - set(self.comparison.base)
        if unknown:
            raise ValueError(f"smoke may only override keys of the comparison's base, got {sorted(unknown)}")

    def smoke_comparison(self) -> Comparison:
        """The same comparison with the ``smoke`` budget (for tests; its verdict means nothing)."""
        c = self.comparison
        return Comparison(claim=c.claim + " (smoke budget)", base={**c.base, **self.smoke},
                          factor=c.factor, values=list(c.values), expect=c.expect, first=c.first,
                          second=c.second, margin=c.margin, chapter=c.chapter, metric=c.metric)


CH04 = "04_object_recognition"
_DEPTH = dict(base={"epochs": 60}, factor="net", values=["plain, 5 layers", "plain, 21 layers",
                                                         "residual, 21 layers"], chapter=CH04)

_DETECTOR = {"steps": 600, "lr": 1e-2}        # the headline detector's budget and rate


def _detector_run(claim: str, fixed: dict, factor: str, baseline, changed) -> LongRun:
    """A class-imbalance claim: ``changed`` raises the mAP over ``baseline`` for ``factor``,
    the other loss settings ``fixed``, at the headline detector's budget."""
    return LongRun(Comparison(claim=claim, base={**_DETECTOR, **fixed}, factor=factor,
                              values=[baseline, changed], expect="greater", first=changed,
                              second=baseline, metric="mAP@0.5", chapter=CH04),
                   imbalance_arm, seeds=5, smoke={"steps": 2})


LONG_RUNS: list[LongRun] = [
    LongRun(Comparison(claim="trained until its loss stops falling (60 epochs), the plain 21-layer net "
                             "ends with a higher training loss than the plain 5-layer net (degradation)",
                       expect="greater", first="plain, 21 layers", second="plain, 5 layers",
                       metric="late training loss", **_DEPTH),
            depth_arm, seeds=5, smoke={"epochs": 1}),
    LongRun(Comparison(claim="trained until its loss stops falling (60 epochs), the residual 21-layer net "
                             "ends with a lower training loss than the plain 21-layer net",
                       expect="less", first="residual, 21 layers", second="plain, 21 layers",
                       metric="late training loss", **_DEPTH),
            depth_arm, seeds=5, smoke={"epochs": 1}),
    # class imbalance at the headline detector's budget (600 steps), one factor per claim
    _detector_run("at 600 steps with the prior p = 0.01, the focal term alone (gamma 2 against 0, "
                  "no alpha) raises the detector's mAP", {"alpha": None, "prior": 0.01}, "gamma", 0.0, 2.0),
    _detector_run("at 600 steps with gamma 2 and the prior p = 0.01, alpha = 0.25 raises the "
                  "detector's mAP over no alpha", {"gamma": 2.0, "prior": 0.01}, "alpha", None, 0.25),
    _detector_run("at 600 steps, under cross-entropy, the prior p = 0.01 raises the detector's mAP "
                  "over the start p = 0.5", {"alpha": None, "gamma": 0.0}, "prior", 0.5, 0.01),
    _detector_run("at 600 steps, under focal loss (alpha 0.25, gamma 2), the prior p = 0.01 raises "
                  "the detector's mAP over the start p = 0.5", {"alpha": 0.25, "gamma": 2.0}, "prior", 0.5, 0.01),
    # the two-stage pipeline end to end, on a backbone of its own (not the notebook's probe)
    LongRun(Comparison(claim="at 600 steps for each backbone, the two-stage pipeline (RPN on its own backbone, "
                             "then a RoI head trained 400 steps more) scores a higher mAP than the one-stage "
                             "focal detector",
                       base={**_DETECTOR, "roi_steps": 400}, factor="pipeline", values=["one-stage", "two-stage"],
                       expect="greater", first="two-stage", second="one-stage", metric="mAP@0.5", chapter=CH04),
            pipeline_arm, seeds=5, smoke={"steps": 2, "roi_steps": 2}),
    LongRun(Comparison(claim="at the notebook's full budget (1500 scenes, 4 epochs), skip connections raise "
                             "the pixel accuracy near object edges (decoders of matched width)",
                       base={"epochs": 4, "n_train": 1500}, factor="skip_connections", values=[True, False],
                       expect="greater", first=True, second=False, metric="edge accuracy", chapter=CH04),
            skip_arm, seeds=5, smoke={"epochs": 1, "n_train": 16}),
]

CH05 = "05_video"


def _geometry_run(lr: float) -> LongRun:
    """Chapter 05's tree-embedding claim at another learning rate of the same optimiser (ten
    seeds, as in the notebook)."""
    return LongRun(Comparison(claim=f"at learning rate {lr:g} (1500 Adam steps), the Poincare disk embeds the "
                                    "depth-4 binary tree with less average distortion than the plane",
                              base={"geometry": "euclidean", "branching": 2, "depth": 4, "steps": 1500, "lr": lr},
                              factor="geometry", values=["euclidean", "poincare"], expect="less",
                              first="poincare", second="euclidean", metric="average distortion", chapter=CH05),
                   tree_embedding_arm, seeds=10, smoke={"steps": 5})


LONG_RUNS += [_geometry_run(0.01), _geometry_run(0.1),
              LongRun(Comparison(claim="trained beside the RNN on the 50-step recall task (SGD at 0.1, clipped at norm 1, "
                                       "200 steps), the LSTM with forget-gate bias +3 reaches a higher accuracy than the "
                                       "tanh RNN started at spectral radius 1.2",
                                 base={"cell": "rnn", "hidden": 32, "radius": 1.2, "forget_bias": 3.0, "lr": 0.1,
                                       "clip": 1.0, "steps": 200, "length": 50, "optimizer": "sgd"},
                                 factor="cell", values=["rnn", "lstm"], expect="greater", first="lstm", second="rnn",
                                 metric="accuracy", chapter=CH05),
                      recall_arm, seeds=5, smoke={"steps": 2})]

CH06 = "06_tracking"
_PROPAGATION = dict(base={"propagation": "trained embedder", "steps": 150, "temperature": 0.05, "sigma": 4.0},
                    factor="propagation", values=list(PROPAGATIONS), chapter=CH06, metric="mask IoU")

_COLOUR = dict(base={"mode": "regression", "steps": 150, "temperature": 0.05}, factor="mode",
               values=list(COLOUR_MODES), metric="colourfulness", chapter=CH06)

LONG_RUNS += [
    LongRun(Comparison(claim="trained 400 steps on 1000 flying-shapes pairs, the flow network has a lower held-out "
                             "end-point error than Lucas-Kanade with its window and pyramid depth tuned on training pairs",
                       base={"method": "flow network", "train": 1000, "steps": 400}, factor="method",
                       values=list(FLOW_METHODS), expect="less", first="flow network", second="Lucas-Kanade (tuned)",
                       metric="EPE all", chapter=CH06),
            flow_arm, seeds=5, smoke={"train": 30, "steps": 2}),
    LongRun(Comparison(claim="trained 150 steps by colorization, the pixel embedding carries masks through held-out "
                             "sequences with a higher IoU than warping them with Lucas-Kanade's flow (tuned on other "
                             "sequences)", expect="greater", first="trained embedder",
                       second="Lucas-Kanade warp (tuned)", **_PROPAGATION),
            tracking_arm, seeds=5, smoke={"steps": 1}),
    LongRun(Comparison(claim="trained 150 steps by colorization, the pixel embedding carries masks with a higher IoU "
                             "than the same network untrained", expect="greater", first="trained embedder",
                       second="untrained embedder", **_PROPAGATION),
            tracking_arm, seeds=5, smoke={"steps": 1}),
    LongRun(Comparison(claim="trained 150 steps on the same frames, a colorizer that classifies colour bins, decoded "
                             "near its mode (T = 0.05), gives more colourful held-out colorizations than one trained "
                             "by regression", expect="greater", first="classification", second="regression", **_COLOUR),
            colour_arm, seeds=5, smoke={"steps": 1}),
    LongRun(Comparison(claim="trained 150 steps on the same frames, a colorizer that classifies colour bins with class "
                             "rebalancing (mix 0.5), decoded near its mode (T = 0.05), gives more colourful held-out "
                             "colorizations than one trained by regression", expect="greater",
                       first="classification, rebalanced", second="regression", **_COLOUR),
            colour_arm, seeds=5, smoke={"steps": 1}),
]


def selected(chapters: Sequence[str] | None = None) -> list[LongRun]:
    """The long runs of ``chapters`` (notebook stems), all of them when None or empty."""
    known = {run.comparison.chapter for run in LONG_RUNS}
    unknown = set(chapters or ()) - known
    if unknown:
        raise ValueError(f"chapters without long runs: {sorted(unknown)}; long runs exist for {sorted(known)}")
    return [run for run in LONG_RUNS if not chapters or run.comparison.chapter in chapters]


def run_all(runs: Sequence[LongRun], record: Path = RECORD, log=print,
            unit: float | None = None) -> list[dict]:
    """Run each comparison over its seeds (an arm that several comparisons share is trained once);
    print its table and record the claim in ``record``. Returns the recorded entries.
    ``unit``: the CPU unit in seconds to record (timed here when None)."""
    if unit is None:
        unit, _ = cpu_unit.measure()
    trained: dict[tuple, dict] = {}   # an arm shared by several comparisons is trained once

    def cached(arm):
        def train(config: dict, seeds: list[int]) -> dict:
            key = (arm.__qualname__, repr(sorted(config.items())), tuple(seeds))
            if key not in trained:
                trained[key] = arm(config, seeds)
            return trained[key]
        return train

    entries = []
    for run in runs:
        start = time.perf_counter()
        result = run.comparison.run(cached(run.arm), experiment_seeds(run.seeds))
        seconds = time.perf_counter() - start
        entry = {**result.record(), "long_run": True, "seconds": round(seconds, 1), "cpu_unit_s": round(unit, 2)}
        append_claim(record, entry)
        entries.append(entry)
        log(f"{result.table()}\n({seconds:.0f} s, CPU unit {unit:.2f} s)\n")
    return entries


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.long_runs",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapter", action="append", default=[], metavar="STEM",
                        help="only this chapter's long runs (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the long runs and stop")
    parser.add_argument("--record", type=Path, default=RECORD, help="the claims file to update")
    args = parser.parse_args(argv)
    try:
        runs = selected(args.chapter)
    except ValueError as exc:
        parser.error(str(exc))
    if args.list:
        for run in runs:
            print(f"{run.comparison.chapter}: {run.comparison.claim} ({run.seeds} seeds)")
        return 0
    run_all(runs, args.record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
