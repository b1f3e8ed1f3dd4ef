"""Shared plumbing: device choice, seeding, argument checks, timing."""
import random

import numpy as np
import pytest
import torch

from course_utils import get_device, seed_everything
from course_utils.timing import Stopwatch, time_call
from course_utils.validate import as_float_array, check_choice, check_int, check_positive


def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")


def test_seed_everything_repeats_python_numpy_and_torch():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first


def test_seed_everything_silences_only_the_max_unpool_determinism_warning():
    import warnings

    x = torch.randn(1, 2, 6, 6)
    pooled, indices = torch.nn.functional.max_pool2d(x, 3, stride=2, return_indices=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seed_everything(0)
        first = torch.nn.functional.max_unpool2d(pooled, indices, 3, stride=2, output_size=(6, 6))
        warnings.warn("another warning", UserWarning)
    assert [str(w.message) for w in caught] == ["another warning"]
    # overlapping windows may pick the same position twice; both copies hold one value
    again = torch.nn.functional.max_unpool2d(pooled, indices, 3, stride=2, output_size=(6, 6))
    assert torch.equal(first, again)
    assert torch.equal(first[first != 0], x[first != 0])


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_seed_everything_rejects_bad_seed(bad):
    with pytest.raises(ValueError, match="seed"):
        seed_everything(bad)


def test_as_float_array_converts_and_checks():
    out = as_float_array([[1, 2], [3, 4]], "image", ndim=2)
    assert out.dtype == np.float64 and out.shape == (2, 2)
    assert as_float_array(np.ones((2, 2, 3), np.uint8), "image", ndim=(2, 3)).shape == (2, 2, 3)
    with pytest.raises(ValueError, match="image must have 2 dimensions"):
        as_float_array(np.ones(3), "image", ndim=2)
    with pytest.raises(TypeError, match="kernel must be a numeric array"):
        as_float_array(np.array([["a"]]), "kernel")
    with pytest.raises(TypeError, match="kernel must be real"):
        as_float_array(np.ones((2, 2), complex), "kernel")
    with pytest.raises(ValueError, match="image must not be empty"):
        as_float_array(np.ones((0, 3)), "image", ndim=2)


def test_check_positive_and_choice():
    assert check_positive(2, "sigma") == 2.0
    assert check_positive(0, "cutoff", allow_zero=True) == 0.0
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="sigma must be finite and > 0"):
            check_positive(bad, "sigma")
    with pytest.raises(TypeError, match="sigma must be a number"):
        check_positive("big", "sigma")
    assert check_choice("same", "mode", ("valid", "same")) == "same"
    with pytest.raises(ValueError, match=r"mode must be one of \('valid', 'same'\)"):
        check_choice("samee", "mode", ("valid", "same"))


def test_check_int_accepts_python_and_numpy_integers_only():
    assert check_int(3, "epochs", 1) == 3
    assert type(check_int(np.int64(0), "padding", 0)) is int
    for bad in (0, -2, 2.0, True, "3", None):
        with pytest.raises(ValueError, match=r"epochs must be an integer >= 1"):
            check_int(bad, "epochs", 1)


def test_time_call_measures_a_known_sleep():
    import time

    seconds = time_call(time.sleep, 0.02, repeat=3, warmup=0)
    assert 0.018 <= seconds < 0.2
    per_call = time_call(lambda: None, repeat=3, min_time=0.01)
    assert 0 < per_call < 1e-3
    with pytest.raises(ValueError, match="repeat"):
        time_call(time.sleep, 0, repeat=0)
    from course_utils.timing import time_samples

    samples = time_samples(time.sleep, 0.01, repeat=4, warmup=0)
    assert len(samples) == 4 and min(samples) >= 0.009   # one value per run: the spread


def test_stopwatch_separates_waiting_from_computing():
    import re
    import time

    from course_utils.instructor.run_times import parse_total

    clock = Stopwatch()
    time.sleep(0.2)                              # waiting: wall clock only
    assert clock.elapsed() >= 0.2 and clock.cpu() < 0.1
    start = time.process_time()
    while time.process_time() - start < 0.2:     # computing: CPU time too
        pass
    assert clock.cpu() >= 0.2
    text = str(clock)
    assert re.fullmatch(r"\d+\.\d s wall, \d+\.\d s CPU", text)
    assert parse_total(f"noise\ntotal run time: {text}\n") == (float(text.split()[0]), float(text.split()[3]))


def test_model_device_follows_the_model(device):
    from course_utils import model_device

    model = torch.nn.Linear(3, 2).to(device)
    assert model_device(model) == model.weight.device
    assert model_device(torch.nn.ReLU()) == torch.device("cpu")  # no parameters at all
    bn_only = torch.nn.BatchNorm1d(2, affine=False).to(device)    # buffers but no parameters
    assert model_device(bn_only).type == device.type
    with pytest.raises(TypeError, match="model"):
        model_device("not a model")


def test_count_parameters_counts_trainable_scalars_only():
    from course_utils import count_parameters

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                                torch.nn.Linear(5, 6))
    assert count_parameters(model) == (3 * 4 * 9 + 4) + (4 + 4) + (5 * 6 + 6)
    model[2].weight.requires_grad_(False)
    assert count_parameters(model) == (3 * 4 * 9 + 4) + (4 + 4) + 6
    with pytest.raises(TypeError, match="model"):
        count_parameters([1, 2])


def test_check_real_accepts_finite_reals_only():
    from course_utils.validate import check_real

    assert check_real(2, "x") == 2.0 and check_real(np.float32(0.5), "x") == 0.5
    for bad in (True, "1", None, float("nan"), float("inf"), 1j):
        with pytest.raises(TypeError, match="angle must be a finite real number"):
            check_real(bad, "angle")


def test_count_multiply_adds_matches_the_layer_formulas():
    import torch
    from torch import nn

    from course_utils.model_size import count_multiply_adds

    assert count_multiply_adds(nn.Linear(3, 4), torch.zeros(2, 3)) == 2 * 3 * 4
    conv = nn.Conv3d(2, 5, (3, 3, 3), padding=1)
    # every output value of every clip is one dot product of length C_in * kt * kh * kw
    assert count_multiply_adds(conv, torch.zeros(1, 2, 4, 6, 6)) == (5 * 4 * 6 * 6) * (2 * 27)
    assert count_multiply_adds(nn.ReLU(), torch.zeros(3)) == 0
    with pytest.raises(TypeError, match="model must be"):
        count_multiply_adds(lambda x: x, torch.zeros(1))


def test_width_for_multiply_adds_picks_the_closest_width():
    from torch import nn

    from course_utils.model_size import width_for_multiply_adds

    x = torch.zeros(1, 2)
    build = lambda w: nn.Linear(2, w)          # 2 * w multiply-adds on one row
    assert width_for_multiply_adds(build, 20, x) == 10
    assert width_for_multiply_adds(build, 23, x) == 11                  # 22 is closer than 24
    assert width_for_multiply_adds(build, 21, x) == 10                  # a tie goes to the smaller width
    assert width_for_multiply_adds(build, 10_000, x, widths=[3, 5, 4]) == 5
    with pytest.raises(ValueError, match="budget"):
        width_for_multiply_adds(build, 0, x)
    with pytest.raises(ValueError, match="widths"):
        width_for_multiply_adds(build, 20, x, widths=[])
    with pytest.raises(TypeError, match="build"):
        width_for_multiply_adds(3, 20, x)


def test_set_torch_threads_reads_the_environment(monkeypatch):
    from course_utils.device import THREADS_ENV, set_torch_threads

    threads = torch.get_num_threads()
    try:
        monkeypatch.delenv(THREADS_ENV, raising=False)
        assert set_torch_threads(1) == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv(THREADS_ENV, "2")
        assert set_torch_threads(1) == 2 and torch.get_num_threads() == 2
        for bad in ("two", "0"):
            monkeypatch.setenv(THREADS_ENV, bad)
            with pytest.raises(ValueError, match=THREADS_ENV):
                set_torch_threads(1)
        monkeypatch.delenv(THREADS_ENV)
        with pytest.raises(ValueError, match="default"):
            set_torch_threads(0)
    finally:
        torch.set_num_threads(threads)
