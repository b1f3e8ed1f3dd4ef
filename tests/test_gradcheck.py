"""The gradient-check harness (course_utils.learning.gradcheck) against torch.autograd, and the
checks table of every layer."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.learning import gradcheck as G
from course_utils.learning import layers as L
from course_utils.viz import format_table

pytestmark = pytest.mark.chapter("03_backprop")


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_numeric_gradient_matches_autograd():
    x = rng(9).normal(size=(3, 4))
    num = G.numeric_gradient(lambda v: np.sum(np.sin(v) * v ** 2), x)
    (ref,) = G.torch_gradients(lambda t: torch.sum(torch.sin(t) * t ** 2), [x], 1.0)
    assert G.relative_error(num, ref) < 1e-9


def test_numeric_gradient_error_shrinks_like_h_squared():
    x = np.array([0.3, -1.2])
    exact = np.cos(x) * 3 * np.sin(x) ** 2
    errs = [np.abs(G.numeric_gradient(lambda v: np.sum(np.sin(v) ** 3), x, h=h) - exact).max()
            for h in (1e-2, 1e-3)]
    assert 50 < errs[0] / errs[1] < 200  # ten times smaller h -> about 100 times smaller error


def test_numeric_gradient_restores_x_and_rejects_bad_input():
    x = np.array([1.0, 2.0])
    G.numeric_gradient(lambda v: v.sum(), x)
    np.testing.assert_array_equal(x, [1.0, 2.0])
    with pytest.raises(ValueError, match="h"):
        G.numeric_gradient(lambda v: v.sum(), x, h=0)
    with pytest.raises(ValueError, match="dout"):
        G.numeric_gradient(lambda v: v * 2, x)


def test_relative_error():
    assert G.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert G.relative_error([1.0, 2.0], [1.0, 2.2]) == pytest.approx(0.2 / 2.2)
    with pytest.raises(ValueError, match="same shape"):
        G.relative_error(np.zeros(2), np.zeros(3))


def test_layer_gradient_checks_pass_for_every_layer():
    rows = G.layer_gradient_checks(seed=1)
    names = [r["layer"] for r in rows]
    for layer in ("linear", "conv2d", "max-pool", "relu", "sigmoid", "batch norm (train)",
                  "batch norm (eval)", "dropout", "softmax + cross-entropy"):
        assert any(layer in n for n in names), layer
    for row in rows:
        assert row["forward vs torch"] < 1e-7, row
        assert row["backward vs torch.autograd"] < 1e-7, row
        assert row["backward vs numeric"] < 1e-6, row
        assert row["gradcheck"] is True, row
    table = format_table(rows, G.CHECK_COLUMNS)
    assert len(table.splitlines()) == len(rows) + 1 and "gradcheck" in table.splitlines()[0]


def test_the_checks_catch_a_wrong_backward():
    x = rng(2).normal(size=(3, 4))
    wrong = lambda dout, cache: 2 * L.relu_backward(dout, cache)  # noqa: E731
    dout = np.ones((3, 4))
    analytic = wrong(dout, L.relu_forward(x)[1])
    numeric = G.numeric_gradient(lambda v: L.relu_forward(v)[0], x, dout=dout)
    assert G.relative_error(analytic, numeric) > 0.4
    with pytest.raises(Exception):  # gradcheck raises GradcheckError on a mismatch
        torch.autograd.gradcheck(G.as_torch_function(L.relu_forward, wrong),
                                 [torch.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("call,error,match", [
    (lambda: G.numeric_gradient(3.0, np.ones(2)), TypeError, "f must be callable"),
    (lambda: G.numeric_gradient(lambda v: v * 2, np.ones(2), dout=np.ones(3)), ValueError,
     "dout must have the shape"),
    (lambda: G.numeric_gradient(lambda v: v.sum(), np.ones(0)), ValueError, "x must not be empty"),
    (lambda: G.torch_gradients("sum", [np.ones(2)], 1.0), TypeError, "fn must be callable"),
    (lambda: G.torch_gradients(torch.sum, np.ones(2), 1.0), TypeError, "inputs must be"),
    (lambda: G.torch_gradients(lambda t: t * 2, [np.ones(2)], np.ones(3)), ValueError,
     "dout must have fn's output shape"),
    (lambda: G.as_torch_function(None, L.relu_backward), TypeError, "forward must be callable"),
    (lambda: G.as_torch_function(L.relu_forward, 1), TypeError, "backward must be callable"),
    (lambda: G.layer_gradient_checks(seed=-1), ValueError, "seed"),
])
def test_bad_input_raises_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
