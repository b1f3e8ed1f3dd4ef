"""The comparison harness: intervals against scipy.stats, the base seed, arms that differ in
one factor only, the claim check on doctored arms, the claims record, and K stacked seeds
equal to K separate trainings."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from course_utils import seed_everything
from course_utils.evidence import compare, intervals, seeds, stacked

pytestmark = pytest.mark.chapter("08_self_supervised")

SAMPLE = [0.61, 0.58, 0.66, 0.63, 0.55]


# ---------------------------------------------------------------- intervals
def test_t_interval_matches_scipy():
    got = intervals.t_interval(SAMPLE)
    low, high = stats.t.interval(0.95, len(SAMPLE) - 1, loc=np.mean(SAMPLE), scale=stats.sem(SAMPLE))
    assert got.mean == pytest.approx(np.mean(SAMPLE))
    assert (got.low, got.high) == (pytest.approx(low), pytest.approx(high))
    wider = intervals.t_interval(SAMPLE, confidence=0.99)
    assert wider.low < got.low and wider.high > got.high


def test_paired_difference_matches_scipy_ttest_rel():
    other = [0.52, 0.57, 0.60, 0.59, 0.50]
    got = intervals.paired_difference(SAMPLE, other)
    ci = stats.ttest_rel(SAMPLE, other).confidence_interval(0.95)
    assert (got.low, got.high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert got.excludes_zero() and got.mean == pytest.approx(np.mean(np.subtract(SAMPLE, other)))
    # unpaired, the same numbers give a wider interval: the pairing removes what seeds share
    assert intervals.t_interval(SAMPLE).high - intervals.t_interval(SAMPLE).low > got.high - got.low


def test_bootstrap_needs_ten_seeds_and_brackets_the_mean():
    values = np.random.default_rng(0).normal(0.6, 0.03, 12)
    got = intervals.bootstrap_interval(values)
    assert got.low < values.mean() < got.high
    reference = stats.bootstrap((values,), np.mean, confidence_level=0.95, method="percentile",
                                random_state=0).confidence_interval
    assert got.low == pytest.approx(reference.low, abs=0.005)
    assert got.high == pytest.approx(reference.high, abs=0.005)
    with pytest.raises(ValueError, match="at least 10"):
        intervals.bootstrap_interval(SAMPLE)


@pytest.mark.parametrize("call, error, match", [
    (lambda: intervals.t_interval([0.5]), ValueError, "at least 2"),
    (lambda: intervals.t_interval([0.5, float("nan")]), ValueError, "finite"),
    (lambda: intervals.t_interval(["a", "b"]), TypeError, "list of numbers"),
    (lambda: intervals.t_interval(SAMPLE, confidence=1.5), ValueError, "confidence"),
    (lambda: intervals.paired_difference(SAMPLE, SAMPLE[:3]), ValueError, "same seeds"),
])
def test_interval_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- base seed
def test_base_seed_moves_every_seed(monkeypatch):
    monkeypatch.delenv(seeds.ENV, raising=False)
    assert seeds.base_seed() == 0 and seeds.experiment_seeds(3) == [0, 1, 2]
    monkeypatch.setenv(seeds.ENV, "2")
    assert seeds.experiment_seeds(3, first=5) == [2005, 2006, 2007]
    assert seed_everything(3) == 2003
    first = torch.rand(3)
    monkeypatch.setenv(seeds.ENV, "0")
    seed_everything(3)
    assert not torch.equal(torch.rand(3), first)
    for bad in ("x", "-1"):
        monkeypatch.setenv(seeds.ENV, bad)
        with pytest.raises(ValueError, match=seeds.ENV):
            seeds.base_seed()
    monkeypatch.delenv(seeds.ENV)
    with pytest.raises(ValueError, match="below 1000"):
        seeds.offset_seed(1000)


# ---------------------------------------------------------------- arms and claims
BASE = {"steps": 300, "batch": 128, "lr": 3e-3, "patches": "colour"}


def _comparison(**overrides):
    spec = dict(claim="grey patches undo the shortcut", base=BASE, factor="patches",
                values=["colour", "grey"], expect="greater", first="grey", second="colour",
                chapter="08_self_supervised")
    return compare.Comparison(**{**spec, **overrides})


def test_arms_differ_in_the_factor_only():
    arms = _comparison().arms()
    assert arms == [dict(BASE), {**BASE, "patches": "grey"}]
    with pytest.raises(ValueError, match=r"differs from arm 0 in \['steps'\]"):
        compare.matched_arms([BASE, {**BASE, "patches": "grey", "steps": 600}], "patches")
    with pytest.raises(ValueError, match="configured alike"):
        compare.matched_arms([BASE, {"patches": "grey"}], "patches")
    with pytest.raises(ValueError, match="its own value"):
        compare.matched_arms([BASE, dict(BASE)], "patches")
    with pytest.raises(ValueError, match="not a key"):
        compare.matched_arms([BASE, BASE], "width")


def test_claims_are_fixed_before_the_run():
    with pytest.raises(ValueError, match="needs a margin"):
        _comparison(expect="agree")
    with pytest.raises(ValueError, match="margin belongs"):
        _comparison(margin=0.1)
    with pytest.raises(ValueError, match="first must be one of"):
        _comparison(first="blue")
    with pytest.raises(ValueError, match="different arms"):
        _comparison(first="grey", second="grey")
    with pytest.raises(ValueError, match="at least 3 different seeds"):
        _comparison().run(lambda config, s: [0.5] * len(s), [0, 1])


def _doctored(grey_minus_colour):
    """Arms whose scores are set by hand: grey = colour + the given offsets, seed by seed."""
    colour = [0.50, 0.55, 0.52, 0.58, 0.49]

    def score(config, run_seeds):
        assert {k: v for k, v in config.items() if k != "patches"} == \
            {k: v for k, v in BASE.items() if k != "patches"}           # one factor changed
        base = colour[:len(run_seeds)]
        return base if config["patches"] == "colour" else [c + d for c, d in zip(base, grey_minus_colour)]
    return score


def test_the_sign_check_passes_a_real_gap_and_fails_a_doctored_one(tmp_path):
    result = _comparison().run(_doctored([0.08, 0.10, 0.07, 0.09, 0.11]), seeds=range(5))
    assert result.holds() and result.difference().low > 0
    result.assert_claim(tmp_path / "claims.json")
    [entry] = json.loads((tmp_path / "claims.json").read_text())
    assert entry["holds"] and entry["difference"]["mean"] == pytest.approx(0.09)
    assert entry["per_arm"]["grey"]["n"] == 5 and "holds" in result.table()
    assert entry["per_arm_metrics"]["grey"][entry["metric"]] == entry["per_arm"]["grey"]
    # the same mean gap, but one seed the other way: the interval reaches below zero
    doctored = _comparison().run(_doctored([0.30, 0.20, -0.10, 0.05, 0.0]), seeds=range(5))
    assert doctored.difference().mean > 0 and not doctored.holds()
    with pytest.raises(AssertionError, match="does not hold"):
        doctored.assert_claim(tmp_path / "claims.json")
    assert len(json.loads((tmp_path / "claims.json").read_text())) == 1   # replaced, not added


def test_a_reported_claim_is_recorded_either_way_without_failing(tmp_path):
    path = tmp_path / "claims.json"
    failing = _comparison().run(_doctored([0.30, 0.20, -0.10, 0.05, 0.0]), seeds=range(5))
    assert failing.record_claim(path) is False                  # no AssertionError
    [entry] = json.loads(path.read_text())
    assert entry["holds"] is False and entry["difference"]["low"] < 0 < entry["difference"]["mean"]
    holding = _comparison().run(_doctored([0.08, 0.10, 0.07, 0.09, 0.11]), seeds=range(5))
    assert holding.record_claim(path) is True
    [entry] = json.loads(path.read_text())                      # the same claim, replaced
    assert entry["holds"] is True


def test_agreement_within_a_margin():
    close = _comparison(expect="agree", margin=0.02).run(_doctored([0.004, -0.003, 0.002, 0.0, -0.001]),
                                                         seeds=range(5))
    assert close.holds()
    far = _comparison(expect="agree", margin=0.02).run(_doctored([0.03, 0.02, 0.04, 0.03, 0.02]),
                                                       seeds=range(5))
    assert not far.holds()


def test_arms_must_return_one_value_per_seed():
    with pytest.raises(ValueError, match="returned 2 values"):
        _comparison().run(lambda config, s: [0.5, 0.6], seeds=range(3))


# ---------------------------------------------------------------- stacked seeds
def _small_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.Tanh(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 8), nn.ReLU(),
                         nn.Linear(8, 3))


def _digits_like(n=120):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(n, 1, 8, 8, generator=g, dtype=torch.float64),
            torch.randint(0, 3, (n,), generator=g))


def test_stacked_seeds_equal_separate_trainings():
    images, labels = _digits_like()
    torch.set_default_dtype(torch.float64)
    try:
        together, losses = stacked.fit_classifier_seeds(_small_cnn, images, labels, [3, 5, 7],
                                                        steps=15, batch=16)
        apart, apart_losses = stacked.fit_classifier_seeds(_small_cnn, images, labels, [3, 5, 7],
                                                           steps=15, batch=16, stacked=False)
    finally:
        torch.set_default_dtype(torch.float32)
    np.testing.assert_allclose(losses, apart_losses, rtol=1e-10)
    for a, b in zip(together, apart):
        assert not a.training and not b.training
        for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
            torch.testing.assert_close(p, q, rtol=1e-8, atol=1e-10, msg=name)
        torch.testing.assert_close(a(images[:5]), b(images[:5]))


def test_stacked_forward_equals_each_model(device, dtype):
    torch.manual_seed(0)
    models = [_small_cnn().to(device=device, dtype=dtype).eval() for _ in range(3)]
    net = stacked.StackedSequential(models).eval()
    x = torch.randn(3, 4, 1, 8, 8, device=device, dtype=dtype)
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-12, rtol=1e-12)
    out = net(x)
    for k, model in enumerate(models):
        torch.testing.assert_close(out[k], model(x[k]), **tol)
        torch.testing.assert_close(net.model(k)(x[k]), model(x[k]), **tol)


def test_stacking_refuses_what_it_cannot_reproduce():
    with pytest.raises(ValueError, match="Dropout"):
        stacked.StackedSequential([nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))] * 2)
    with pytest.raises(ValueError, match="layer 1 differs"):
        stacked.StackedSequential([nn.Sequential(nn.Linear(2, 2), nn.ReLU()),
                                   nn.Sequential(nn.Linear(2, 2), nn.Tanh())])
    with pytest.raises(ValueError, match="groups=1"):
        stacked.StackedSequential([nn.Sequential(nn.Conv2d(2, 2, 3, groups=2))] * 2)
    with pytest.raises(TypeError, match="nn.Sequential"):
        stacked.StackedSequential([nn.Linear(2, 2)])
    net = stacked.StackedSequential([nn.Sequential(nn.Linear(2, 2))] * 2)
    with pytest.raises(ValueError, match="K = 2 seeds"):
        net(torch.zeros(3, 4, 2))


def _append_many(path, writer, count):
    from course_utils.evidence.compare import append_claim

    for i in range(count):
        append_claim(path, {"chapter": f"writer {writer}", "claim": f"claim {i}"})


def test_claims_written_side_by_side_are_all_kept(tmp_path):
    """Two notebooks record claims at the same time (xdist workers): no entry may be lost."""
    import multiprocessing

    from course_utils.evidence.compare import load_claims

    path = tmp_path / "claims.json"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(path, w, 15)) for w in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    entries = load_claims(path)
    assert sorted((e["chapter"], e["claim"]) for e in entries) == sorted(
        (f"writer {w}", f"claim {i}") for w in range(3) for i in range(15))


def test_a_damaged_claims_file_is_named(tmp_path):
    from course_utils.evidence.compare import load_claims

    (tmp_path / "claims.json").write_text('{"not": "a list"}')
    with pytest.raises(ValueError, match="claims.json: a claims file holds a JSON list"):
        load_claims(tmp_path / "claims.json")
    (tmp_path / "claims.json").write_text("[{")
    with pytest.raises(ValueError, match="not a claims file"):
        load_claims(tmp_path / "claims.json")


def test_one_training_judged_for_several_claims():
    """Arms trained once, judged for a second metric and another claim; arms that were not
    trained for this comparison are refused."""
    def two_metrics(config, run_seeds):
        grey = config["patches"] == "grey"
        return {"pretext": [0.4 if grey else 0.9 + 0.01 * s for s in run_seeds],
                "probe": [0.7 + 0.01 * s if grey else 0.45 for s in run_seeds]}

    first = _comparison(expect="less", metric="pretext")
    result = first.run(two_metrics, seeds=range(4))
    assert result.metric == "pretext" and result.holds()
    probe = _comparison(metric="probe").judge(result)
    assert probe.metric == "probe" and probe.holds()
    assert probe.difference().mean == pytest.approx(0.7 + 0.015 - 0.45)
    assert probe.seeds == result.seeds and probe.record()["metric"] == "probe"
    with pytest.raises(ValueError, match="arms differ"):
        compare.Comparison(claim="c", base={**BASE, "steps": 600}, factor="patches",
                           values=["colour", "grey"], expect="greater", first="grey",
                           second="colour").judge(result)
    with pytest.raises(ValueError, match="metric 'accuracy' was not measured"):
        _comparison(metric="accuracy").judge(result)
    with pytest.raises(ValueError, match="metric 'accuracy' was not measured"):
        _comparison(metric="accuracy").run(two_metrics, seeds=range(3))


@pytest.mark.slow
@pytest.mark.parametrize("base", [1, 2])
def test_a_real_claim_holds_from_other_base_seeds(base, monkeypatch, one_torch_thread):
    """The harness end to end on a small version of chapter 08's shortcut experiment, from base
    seeds 1 and 2 (COURSE_SEED): other draws of every network, the same verdicts."""
    from functools import partial

    from course_utils.selfsup import pretext
    from course_utils.selfsup.evaluation import shape_images

    monkeypatch.setenv(seeds.ENV, str(base))
    x, y = shape_images(400, seed=0)
    xt, yt = shape_images(150, seed=1)
    shared = dict(base={"training images": "clean", "strength": 0.3, "steps": 40, "batch": 64,
                        "per_class": 20}, factor="training images",
                  values=list(pretext.SHORTCUT_ARMS), chapter="test")
    easier = compare.Comparison(claim="the cast makes the context task easier", expect="greater",
                                first="colour cast", second="clean", metric="pretext accuracy",
                                **shared)
    blind = compare.Comparison(claim="grey patches hide the cast", expect="less",
                               first="grey patches", second="colour cast",
                               metric="pretext accuracy", **shared)
    used = seeds.experiment_seeds(3)
    assert used == [1000 * base, 1000 * base + 1, 1000 * base + 2]
    result = easier.run(partial(pretext.shortcut_arm, train_images=x, train_labels=y,
                                test_images=xt, test_labels=yt), seeds=used)
    assert result.holds() and blind.judge(result).holds(), result.table()


def test_a_narrow_interval_is_printed_with_the_digits_that_show_it():
    assert intervals.format_interval(0.5, 0.4, 0.6) == "0.500 [0.400, 0.600]"
    assert intervals.format_interval(-0.00551, -0.00562, -0.00540) == "-0.00551 [-0.00562, -0.00540]"
    assert intervals.format_interval(0.2, 0.2, 0.2) == "0.200 [0.200, 0.200]"   # no spread at all
    assert str(intervals.t_interval([0.06035, 0.06069, 0.06034])).count("[") == 1


def test_describe_record_reads_a_recorded_claim_back(tmp_path):
    from course_utils.evidence.compare import describe_record, load_claims

    result = _comparison().run(_doctored([0.08, 0.10, 0.07, 0.09, 0.11]), seeds=range(5))
    result.record_claim(tmp_path / "claims.json")
    [entry] = load_claims(tmp_path / "claims.json")
    line = describe_record(entry)
    assert line.startswith(result.comparison.claim + ": holds: grey - colour = ")
    assert str(result.difference()) in line and "5 seeds" in line
    with pytest.raises(ValueError, match="entry must be a recorded claim"):
        describe_record({"claim": "x"})


def test_a_constant_interval_prints_as_a_point():
    from course_utils.evidence.intervals import format_interval

    assert format_interval(0.9925453475, 0.9925453475 - 1e-16, 0.9925453475 + 1e-16) == "0.993 [0.993, 0.993]"
    assert format_interval(0.5, 0.49, 0.51) == "0.500 [0.490, 0.510]"
