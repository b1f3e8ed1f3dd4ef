"""Speed tables (timing.speed_rows and the chapters' speed modules: filtering, frequency, learning, recognition, geometry3d): structure, what the rows say and that the twins agree; no wall-clock asserts."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils.filtering import speed as conv_speed
from course_utils.frequency import speed as fft_speed
from course_utils.learning import speed as layer_speed
from course_utils.viz import format_table


def test_conv_speed_tables_small():
    rows = conv_speed.speed_table(size=32, kernel_sizes=(3, 5), repeat=1, naive_taps=2000)
    assert [r["kernel"] for r in rows] == [3, 5]
    for r in rows:
        assert all(r[k] > 0 for k in ("naive", "shifted", "numpy", "torch", "scipy"))
        assert r["naive_extrapolated"] == (r["naive_crop"] < 32)
    sep = conv_speed.separable_speed_table(size=32, sigmas=(1, 2), repeat=1)
    assert [r["kernel"] for r in sep] == [7, 13]
    assert sep[1]["tap_ratio"] == pytest.approx(13 / 2)
    assert sep[0]["speedup"] == pytest.approx(sep[0]["dense"] / sep[0]["separable"])
    text = conv_speed.format_speed_tables(rows, sep)
    assert "conv2d/torch" in text and "separable ms" in text
    assert ("*" in text) == any(r["naive_extrapolated"] for r in rows)
    assert "naive_vs_numpy" not in rows[0]  # formatting does not modify the rows
    # every timing carries its spread: fastest <= median <= slowest of the runs
    sep3 = conv_speed.separable_speed_table(size=32, sigmas=(1,), repeat=3)
    for name in ("dense", "separable"):
        assert sep3[0][f"{name}_min"] <= sep3[0][name] <= sep3[0][f"{name}_max"]
    sizes = conv_speed.separable_size_table(sizes=(16, 32), sigma=1.0, repeat=2)
    assert [r["size"] for r in sizes] == [16, 32] and all(r["kernel"] == 7 for r in sizes)
    assert sizes[1]["speedup"] == pytest.approx(sizes[1]["dense"] / sizes[1]["separable"])
    size_text = conv_speed.format_size_table(sizes)
    assert "fastest-slowest" in size_text and len(size_text.splitlines()) == 3


def test_crossover_table_times_every_method():
    rows = fft_speed.crossover_table(size=32, kernel_sizes=(3, 9), repeat=1)
    assert [r["kernel"] for r in rows] == [3, 9]
    for method in fft_speed.CONV_METHODS:
        assert all(r[method] > 0 for r in rows)
    text = fft_speed.format_crossover_table(rows)
    assert "fft_convolve ms" in text.splitlines()[0] and len(text.splitlines()) == 3


def test_every_method_computes_the_same_convolution():
    import scipy.signal

    rng = np.random.default_rng(3)
    image, kernel = rng.random((20, 24)), rng.random((5, 4))
    reference = scipy.signal.convolve2d(image, kernel, mode="same")
    for name, method in fft_speed.CONV_METHODS.items():
        np.testing.assert_allclose(method(image, kernel), reference, atol=1e-9, err_msg=name)


def test_crossover_reads_the_table():
    rows = [{"kernel": k, "direct": d, "fft": f}
            for k, d, f in zip([3, 9, 15, 31], [1.0, 2.0, 4.0, 9.0], [3.0, 2.5, 3.0, 3.0])]
    assert fft_speed.crossover(rows, "direct", "fft") == 15
    rows[0]["fft"] = 0.5  # a fast small size before a slow one does not count
    assert fft_speed.crossover(rows, "direct", "fft") == 15
    for r in rows:
        r["fft"] = 99.0
    assert fft_speed.crossover(rows, "direct", "fft") is None


def test_layer_speed_table_rows():
    rows = layer_speed.layer_speed_table(batch=1, channels=1, filters=2, size=6, kernel=3, repeat=1)
    assert [r["layer"] for r in rows] == ["conv2d 3x3", "max-pool 2x2", "conv2d 3x3 backward", "max-pool 2x2 backward"]
    for r in rows:
        assert all(r[k] > 0 for k in ("loop", "vectorised", "torch"))
        assert r["loop / vectorised"] == pytest.approx(r["loop"] / r["vectorised"])
    assert "loops / vectorised" in format_table(rows, layer_speed.LAYER_COLUMNS).splitlines()[0]


@pytest.mark.parametrize("call,match", [
    (lambda: fft_speed.crossover_table(size=8, kernel_sizes=(3,), methods=("opencv",)),
     "methods must be among"),
    (lambda: fft_speed.crossover_table(size=8, kernel_sizes=(9,)), "kernel_sizes"),
    (lambda: fft_speed.crossover_table(size=0), "size"),
    (lambda: fft_speed.crossover([{"kernel": 3, "a": 1.0}], "a", "b"), "'b' is not a column"),
    (lambda: conv_speed.speed_table(size=4), "size"),
    (lambda: conv_speed.speed_table(size=16, kernel_sizes=(0,)), "kernel_sizes"),
    (lambda: conv_speed.separable_speed_table(size=16, sigmas=(-1,)), "sigma"),
    (lambda: conv_speed.separable_speed_table(size=16, repeat=0), "repeat"),
    (lambda: conv_speed.separable_size_table(sizes=(4,)), "sizes"),
    (lambda: conv_speed.separable_size_table(sigma=0), "sigma"),
    (lambda: layer_speed.layer_speed_table(kernel=4), "kernel must be odd"),
    (lambda: layer_speed.layer_speed_table(batch=0), "batch"),
])
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call,match", [
    (lambda: fft_speed.crossover_table(size=8, methods=3), "methods must be a list"),
    (lambda: fft_speed.crossover_table(size=8, kernel_sizes=3), "kernel_sizes must be a list"),
    (lambda: conv_speed.speed_table(size=16, kernel_sizes=3), "kernel_sizes must be a list"),
    (lambda: conv_speed.separable_speed_table(size=16, sigmas=2.0), "sigmas must be a list"),
    (lambda: fft_speed.crossover("rows", "a", "b"), "rows must be"),
    (lambda: fft_speed.format_crossover_table([]), "rows must be"),
])
def test_wrong_types_name_the_argument(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_speed_rows_time_each_candidate_the_stated_number_of_times():
    from course_utils.timing import speed_rows

    calls = {"slow": 0, "fast": 0}

    def count(name):
        calls[name] += 1
        return name

    rows = speed_rows([("slow", count, ("slow",)), ("fast", count, ("fast",))], repeat=4, once={"slow"})
    assert [r["implementation"] for r in rows] == ["slow", "fast"]
    assert calls == {"slow": 1, "fast": 1 + 4}                # once: no warm-up; others: 1 warm-up + 4
    assert all(r["ms"] >= 0 for r in rows)
    with pytest.raises(ValueError, match="once names no candidate"):
        speed_rows([("fast", count, ("fast",))], once={"loop"})
    with pytest.raises(TypeError, match="candidates must be"):
        speed_rows([("fast", count, "fast")])
    with pytest.raises(ValueError, match="repeat"):
        speed_rows([("fast", count, ("fast",))], repeat=0)


def test_block_matching_table_checks_the_twins_before_timing(monkeypatch):
    from course_utils.data.images import load_stereo_pair
    from course_utils.geometry3d import speed as stereo_speed, stereo

    left, right, _ = load_stereo_pair(factor=4)
    left, right = left[:40, :60], right[:40, :60]
    rows = stereo_speed.block_matching_table(left, right, (slice(5, 20), slice(10, 30)), 6, 3, 8, 5,
                                             costs=("sad", "ncc"), opencv=("bm",), repeat=1)
    assert [r["implementation"] for r in rows] == ["loop, 15 x 20 crop", "vectorised, 15 x 20 crop",
                                                   "vectorised SAD, 40 x 60", "vectorised NCC, 40 x 60",
                                                   "OpenCV StereoBM, 40 x 60"]
    monkeypatch.setattr(stereo, "block_matching", lambda *args: np.zeros((15, 20)) - 1)
    with pytest.raises(RuntimeError, match="disagree"):
        stereo_speed.block_matching_table(left, right, (slice(5, 20), slice(10, 30)), 6, 3, 8, 5)
    with pytest.raises(TypeError, match="crop must be"):
        stereo_speed.block_matching_table(left, right, (5, 20), 6, 3, 8, 5)
    with pytest.raises(ValueError, match="costs"):
        stereo_speed.block_matching_table(left, right, (slice(5, 20), slice(10, 30)), 6, 3, 8, 5, costs=("l1",))


def test_flow_tables_check_the_twins_before_timing(monkeypatch):
    from course_utils.motion import flow, flow_pairs, speed as flow_speed

    pair = flow_pairs.textured_pair(32, "translation", 0.7, seed=2)
    rows = flow_speed.step_table(pair, window=5, repeat=1)
    assert [r["implementation"] for r in rows] == ["loop (flow.lucas_kanade_loop)", "dense (flow.lucas_kanade_step)"]
    rows = flow_speed.pyramid_table(pair, window=7, levels=1, iterations=2, repeat=1)
    assert [r["implementation"] for r in rows] == ["flow.lucas_kanade", "skimage optical_flow_ilk"]
    monkeypatch.setattr(flow, "lucas_kanade_step", lambda frame0, frame1, flow, window: flow + 0.1)
    with pytest.raises(RuntimeError, match="disagree"):
        flow_speed.step_table(pair, window=5, repeat=1)
    with pytest.raises(RuntimeError, match="disagree"):       # lucas_kanade is built on the broken step
        flow_speed.pyramid_table(pair, window=7, levels=1, iterations=2, repeat=1)
    with pytest.raises(TypeError, match="pair must be"):
        flow_speed.step_table(pair["frame0"], window=5)
    with pytest.raises(ValueError, match="window must be odd"):
        flow_speed.pyramid_table(pair, window=6)


def test_stft_table_checks_the_three_agree(monkeypatch):
    from course_utils.sound import audio, speed as sound_speed

    signal = np.random.default_rng(0).standard_normal(1000)
    rows = sound_speed.stft_table(signal, 128, 32, repeat=1)
    assert [r["implementation"] for r in rows] == ["loop (numpy rfft per frame)", "framed (unfold + rfft)", "torch.stft"]
    monkeypatch.setattr(audio, "stft_loop", lambda x, n_fft, hop: np.zeros((n_fft // 2 + 1, 1 + len(x) // hop)))
    with pytest.raises(RuntimeError, match="disagree"):
        sound_speed.stft_table(signal, 128, 32, repeat=1)
    with pytest.raises(ValueError, match="signal must be one-dimensional"):
        sound_speed.stft_table(signal.reshape(10, 100))


def test_seeds_table_runs_both_models_and_names_bad_arguments():
    from course_utils.evidence.speed import MODELS, seeds_table

    rows = seeds_table(k=2, steps=1, batch=4, n=8)
    assert [r["model"] for r in rows] == list(MODELS)
    assert all(r["one seed s"] > 0 and r["2 stacked / one"] > 0 for r in rows)
    with pytest.raises(ValueError, match="k must be"):
        seeds_table(k=1)
