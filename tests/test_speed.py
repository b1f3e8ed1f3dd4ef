"""Speed tables (course_utils.filtering.speed, frequency.speed, learning.speed): structure and what the rows say; no wall-clock asserts."""
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
        assert all(r[k] > 0 for k in ("naive", "numpy", "torch", "scipy"))
        assert r["naive_extrapolated"] == (r["naive_crop"] < 32)
    sep = conv_speed.separable_speed_table(size=32, sigmas=(1, 2), repeat=1)
    assert [r["kernel"] for r in sep] == [7, 13]
    assert sep[1]["tap_ratio"] == pytest.approx(13 / 2)
    assert sep[0]["speedup"] == pytest.approx(sep[0]["dense"] / sep[0]["separable"])
    text = conv_speed.format_speed_tables(rows, sep)
    assert "conv2d/torch" in text and "separable ms" in text
    assert ("*" in text) == any(r["naive_extrapolated"] for r in rows)
    assert "naive_vs_numpy" not in rows[0]  # formatting does not modify the rows


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
    assert [r["layer"] for r in rows] == ["conv2d 3x3", "max-pool 2x2"]
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
