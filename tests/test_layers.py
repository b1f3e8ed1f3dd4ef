"""Hand-written layers against torch.nn.functional + torch.autograd (float64).

Tolerances: forward and backward must match torch to a relative error of 1e-7 (in practice
they agree to ~1e-15); the centred-difference check (h = 1e-5) must agree to 1e-6; and
torch.autograd.gradcheck runs on each layer wrapped as a torch.autograd.Function whose
backward is ours.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from course_utils.learning import gradcheck as G
from course_utils.learning import layers as L

pytestmark = pytest.mark.chapter("03_backprop")

TORCH_TOL = 1e-7
NUMERIC_TOL = 1e-6


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def check_layer(forward, backward, torch_fn, inputs, seed=0, numeric_on=None):
    """Forward + backward vs torch, numeric check on each input, and gradcheck."""
    out, cache = forward(*inputs)
    expected = torch_fn(*[torch.tensor(a) for a in inputs]).numpy()
    assert out.shape == expected.shape
    assert G.relative_error(out, expected) < TORCH_TOL
    dout = rng(seed + 1).normal(size=out.shape)
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    reference = G.torch_gradients(torch_fn, inputs, dout)
    for i, (g, r) in enumerate(zip(grads, reference)):
        assert g.shape == r.shape, f"input {i}"
        assert G.relative_error(g, r) < TORCH_TOL, f"input {i}"
    for i in numeric_on if numeric_on is not None else range(len(inputs)):
        def f(v, i=i):
            args = list(inputs)
            args[i] = v
            return forward(*args)[0]
        num = G.numeric_gradient(f, inputs[i], dout=dout)
        assert G.relative_error(grads[i], num) < NUMERIC_TOL, f"numeric, input {i}"
    tensors = [torch.tensor(a, requires_grad=True) for a in inputs]
    assert torch.autograd.gradcheck(G.as_torch_function(forward, backward), tensors)


# ---- each layer ----------------------------------------------------------------------------
def test_linear():
    r = rng()
    check_layer(L.linear_forward, L.linear_backward, F.linear,
                [r.normal(size=(5, 4)), r.normal(size=(3, 4)), r.normal(size=3)])


@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 1), (3, 2)])
def test_conv2d(stride, padding):
    r = rng(stride + 10 * padding)
    inputs = [r.normal(size=(2, 3, 7, 6)), r.normal(size=(4, 3, 3, 2)), r.normal(size=4)]
    check_layer(lambda x, w, b: L.conv2d_forward(x, w, b, stride, padding), L.conv2d_backward,
                lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding), inputs)


@pytest.mark.parametrize("size,stride", [(2, None), (3, 1), (2, 1), (3, 2)])
def test_maxpool(size, stride):
    x = rng(size).normal(size=(2, 3, 7, 8))
    check_layer(lambda x: L.maxpool_forward(x, size, stride), L.maxpool_backward,
                lambda x: F.max_pool2d(x, size, stride if stride else size), [x])


def test_maxpool_routes_gradient_to_the_max_only():
    x = np.array([[[[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 9.0, 1.0],
                    [0.0, 0.0, 1.0, 1.5], [7.0, 0.5, 2.0, 1.0]]]])
    out, cache = L.maxpool_forward(x, 2)
    np.testing.assert_array_equal(out[0, 0], [[5.0, 9.0], [7.0, 2.0]])
    dx = L.maxpool_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0, 1, 0, 0], [0, 0, 1, 0],
                                             [0, 0, 0, 0], [1, 0, 1, 0]])


def test_relu_and_sigmoid():
    x = rng().normal(size=(4, 5))
    check_layer(L.relu_forward, L.relu_backward, F.relu, [x])
    check_layer(L.sigmoid_forward, L.sigmoid_backward, torch.sigmoid, [x * 3])


def test_sigmoid_is_stable_for_large_inputs():
    s, _ = L.sigmoid_forward(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(s, [0.0, 0.5, 1.0])


@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 4, 5)])
def test_batchnorm_train(shape):
    r = rng(len(shape))
    c = shape[1]
    x, gamma, beta = r.normal(2.0, 3.0, size=shape), r.normal(size=c), r.normal(size=c)
    stats = L.RunningStats(r.normal(size=c), r.uniform(0.5, 2.0, size=c), momentum=0.3)
    t_mean, t_var = torch.tensor(stats.mean), torch.tensor(stats.var)
    out, _ = L.batchnorm_forward(x, gamma, beta, stats, train=True)
    expected = F.batch_norm(torch.tensor(x), t_mean, t_var, torch.tensor(gamma),
                            torch.tensor(beta), training=True, momentum=0.3, eps=stats.eps)
    assert G.relative_error(out, expected.numpy()) < TORCH_TOL
    np.testing.assert_allclose(stats.mean, t_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(stats.var, t_var.numpy(), rtol=1e-12)

    def forward(x, gamma, beta):
        return L.batchnorm_forward(x, gamma, beta, L.RunningStats.create(c), train=True)

    check_layer(forward, L.batchnorm_backward,
                lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True),
                [x, gamma, beta])


@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 4, 5)])
def test_batchnorm_eval_uses_running_stats(shape):
    r = rng(5)
    c = shape[1]
    x, gamma, beta = r.normal(size=shape), r.normal(size=c), r.normal(size=c)
    mean, var = r.normal(size=c), r.uniform(0.5, 2.0, size=c)
    stats = L.RunningStats(mean.copy(), var.copy())

    def forward(x, gamma, beta):
        return L.batchnorm_forward(x, gamma, beta, stats, train=False)

    check_layer(forward, L.batchnorm_backward,
                lambda x, g, b: F.batch_norm(x, torch.tensor(mean), torch.tensor(var), g, b,
                                             training=False), [x, gamma, beta])
    np.testing.assert_array_equal(stats.mean, mean)  # evaluation leaves the stats alone
    np.testing.assert_array_equal(stats.var, var)


def test_batchnorm_running_stats_converge_to_the_data():
    r = rng(3)
    stats = L.RunningStats.create(3, momentum=0.2)
    for _ in range(200):
        L.batchnorm_forward(r.normal([1.0, -2.0, 0.0], [1.0, 2.0, 0.5], size=(64, 3)),
                            np.ones(3), np.zeros(3), stats)
    np.testing.assert_allclose(stats.mean, [1.0, -2.0, 0.0], atol=0.15)
    np.testing.assert_allclose(stats.var, [1.0, 4.0, 0.25], rtol=0.2)


def test_dropout_with_explicit_mask():
    r = rng(7)
    x = r.normal(size=(5, 6))
    mask = L.dropout_mask(x.shape, 0.4, seed=1)
    check_layer(lambda x: L.dropout_forward(x, 0.4, mask=mask), L.dropout_backward,
                lambda x: x * torch.tensor(mask) / 0.6, [x])


def test_dropout_seed_is_reproducible_and_eval_is_identity():
    x = rng().normal(size=(50, 40))
    a, _ = L.dropout_forward(x, 0.3, seed=4)
    b, _ = L.dropout_forward(x, 0.3, seed=4)
    np.testing.assert_array_equal(a, b)
    out, cache = L.dropout_forward(x, 0.3, train=False)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(L.dropout_backward(x, cache), x)


def test_dropout_drops_a_fraction_p_and_keeps_the_mean():
    x = np.ones((400, 500))
    out, _ = L.dropout_forward(x, 0.25, seed=0)
    assert abs((out == 0).mean() - 0.25) < 0.01
    assert abs(out.mean() - 1.0) < 0.015


def test_softmax_cross_entropy():
    r = rng(2)
    scores, y = r.normal(size=(6, 5)) * 3, r.integers(0, 5, size=6)
    loss, dscores = L.softmax_cross_entropy(scores, y)
    t = torch.tensor(scores, requires_grad=True)
    ref = F.cross_entropy(t, torch.tensor(y))
    ref.backward()
    assert abs(loss - ref.item()) < TORCH_TOL * abs(ref.item())
    assert G.relative_error(dscores, t.grad.numpy()) < TORCH_TOL
    num = G.numeric_gradient(lambda s: L.softmax_cross_entropy(s, y)[0], scores)
    assert G.relative_error(dscores, num) < NUMERIC_TOL
    assert torch.autograd.gradcheck(lambda s: F.cross_entropy(s, torch.tensor(y)),
                                    (torch.tensor(scores, requires_grad=True),))
    np.testing.assert_allclose(L.softmax(scores), F.softmax(torch.tensor(scores), 1).numpy(),
                               rtol=1e-12)


def test_softmax_survives_huge_scores():
    loss, d = L.softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, 1000.0]]), np.array([0, 0]))
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    assert abs(loss - 500.0) < 1e-9


def test_regression_and_binary_losses():
    r = rng(4)
    pred, target = r.normal(size=(7, 2)), r.normal(size=(7, 2))
    loss, d = L.mse_loss(pred, target)
    (ref_d,) = G.torch_gradients(lambda p: F.mse_loss(p, torch.tensor(target)), [pred], 1.0)
    assert abs(loss - F.mse_loss(torch.tensor(pred), torch.tensor(target)).item()) < 1e-12
    assert G.relative_error(d, ref_d) < TORCH_TOL
    z, t = r.normal(size=9) * 20, r.integers(0, 2, size=9).astype(float)
    loss, d = L.binary_cross_entropy_with_logits(z, t)
    bce = lambda v: F.binary_cross_entropy_with_logits(v, torch.tensor(t))  # noqa: E731
    (ref_d,) = G.torch_gradients(bce, [z], 1.0)
    assert abs(loss - bce(torch.tensor(z)).item()) < 1e-12
    assert G.relative_error(d, ref_d) < TORCH_TOL


# ---- properties ------------------------------------------------------------------------
@given(n=st.integers(1, 2), c=st.integers(1, 3), f=st.integers(1, 3), h=st.integers(3, 8),
       w=st.integers(3, 8), kh=st.integers(1, 3), kw=st.integers(1, 3),
       stride=st.integers(1, 3), padding=st.integers(0, 2), seed=st.integers(0, 2**16))
def test_conv2d_matches_torch_for_any_shape(n, c, f, h, w, kh, kw, stride, padding, seed):
    r = rng(seed)
    inputs = [r.normal(size=(n, c, h, w)), r.normal(size=(f, c, kh, kw)), r.normal(size=f)]
    out, cache = L.conv2d_forward(*inputs, stride=stride, padding=padding)
    torch_fn = lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding)  # noqa: E731
    assert G.relative_error(out, torch_fn(*map(torch.tensor, inputs)).numpy()) < TORCH_TOL
    dout = r.normal(size=out.shape)
    for g, ref in zip(L.conv2d_backward(dout, cache), G.torch_gradients(torch_fn, inputs, dout)):
        assert G.relative_error(g, ref) < TORCH_TOL


@given(seed=st.integers(0, 2**16), size=st.integers(1, 3), stride=st.integers(1, 3))
def test_maxpool_gradient_sums_to_dout_and_hits_maxima(seed, size, stride):
    x = rng(seed).normal(size=(2, 2, 7, 7))
    out, cache = L.maxpool_forward(x, size, stride)
    dout = rng(seed + 1).uniform(0.5, 1.5, size=out.shape)
    dx = L.maxpool_backward(dout, cache)
    assert np.isclose(dx.sum(), dout.sum())
    assert np.all(np.isin(x[dx != 0], out))  # only maxima receive gradient


# ---- the loops, the vectorised layers and torch agree -----------------------------------
@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (3, 2)])
def test_conv2d_loop_matches_vectorised_and_torch(stride, padding):
    r = rng(3 + stride)
    x, w, b = r.normal(size=(2, 3, 8, 7)), r.normal(size=(4, 3, 3, 2)), r.normal(size=4)
    loop = L.conv2d_loop(x, w, b, stride, padding)
    vectorised, _ = L.conv2d_forward(x, w, b, stride, padding)
    reference = F.conv2d(*map(torch.tensor, (x, w, b)), stride=stride, padding=padding).numpy()
    np.testing.assert_allclose(loop, reference, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(vectorised, loop, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size,stride", [(2, None), (3, 1), (3, 2)])
def test_maxpool_loop_matches_vectorised_and_torch(size, stride):
    x = rng(size).normal(size=(2, 3, 7, 8))
    loop = L.maxpool_loop(x, size, stride)
    np.testing.assert_array_equal(loop, L.maxpool_forward(x, size, stride)[0])
    np.testing.assert_array_equal(
        loop, F.max_pool2d(torch.tensor(x), size, stride if stride else size).numpy())


# ---- the backward passes' loop twins: against the vectorised passes and torch.autograd ---------
def test_linear_backward_loop_matches_vectorised_and_autograd():
    r = rng(11)
    x, w, b, dout = r.normal(size=(5, 4)), r.normal(size=(3, 4)), r.normal(size=3), r.normal(size=(5, 3))
    loop = L.linear_backward_loop(dout, x, w)
    _, cache = L.linear_forward(x, w, b)
    for ours, fast, reference in zip(loop, L.linear_backward(dout, cache), G.torch_gradients(F.linear, [x, w, b], dout)):
        np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(fast, ours, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (3, 2), (1, 2)])
def test_conv2d_backward_loop_matches_vectorised_and_autograd(stride, padding):
    r = rng(20 + stride + padding)
    x, w, b = r.normal(size=(2, 3, 8, 7)), r.normal(size=(4, 3, 3, 2)), r.normal(size=4)
    out, cache = L.conv2d_forward(x, w, b, stride, padding)
    dout = r.normal(size=out.shape)
    loop = L.conv2d_backward_loop(dout, x, w, stride, padding)
    reference = G.torch_gradients(lambda a, k, c: F.conv2d(a, k, c, stride=stride, padding=padding), [x, w, b], dout)
    for ours, fast, theirs in zip(loop, L.conv2d_backward(dout, cache), reference):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fast, ours, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("size,stride", [(2, None), (3, 1), (3, 2), (2, 1)])
def test_maxpool_backward_loop_matches_vectorised_and_autograd(size, stride):
    r = rng(30 + size)
    x = r.normal(size=(2, 3, 7, 8))
    out, cache = L.maxpool_forward(x, size, stride)
    dout = r.normal(size=out.shape)
    loop = L.maxpool_backward_loop(dout, x, size, stride)
    (reference,) = G.torch_gradients(lambda a: F.max_pool2d(a, size, stride if stride else size), [x], dout)
    np.testing.assert_allclose(loop, reference, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(L.maxpool_backward(dout, cache), loop, rtol=1e-12, atol=1e-12)


def test_maxpool_backward_loop_sends_a_tie_to_the_first_maximum():
    x = np.zeros((1, 1, 2, 2))                      # four equal values: the first one wins
    np.testing.assert_array_equal(L.maxpool_backward_loop(np.ones((1, 1, 1, 1)), x, 2)[0, 0], [[1, 0], [0, 0]])


@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 4, 5)])
def test_batchnorm_graph_backward_matches_the_formula_and_autograd(shape):
    r = rng(40 + len(shape))
    x = r.normal(loc=2.0, scale=3.0, size=shape)
    gamma, beta = r.normal(size=shape[1]), r.normal(size=shape[1])
    out, cache = L.batchnorm_forward(x, gamma, beta, L.RunningStats.create(shape[1]), train=True)
    dout = r.normal(size=shape)
    graph = L.batchnorm_backward_graph(dout, x, gamma)

    def torch_bn(a, g, c):
        return F.batch_norm(a, None, None, g, c, training=True, eps=1e-5)

    for ours, formula, reference in zip(graph, L.batchnorm_backward(dout, cache),
                                        G.torch_gradients(torch_bn, [x, gamma, beta], dout)):
        np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(formula, ours, rtol=1e-9, atol=1e-12)


def test_loop_backward_passes_name_bad_arguments():
    with pytest.raises(ValueError, match="dout must have the output's shape"):
        L.linear_backward_loop(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="features per row"):
        L.linear_backward_loop(np.zeros((2, 4)), np.zeros((2, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="dout must have the output's shape"):
        L.conv2d_backward_loop(np.zeros((1, 2, 3, 3)), np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3)), padding=1)
    with pytest.raises(ValueError, match="channels"):
        L.conv2d_backward_loop(np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 5, 5)), np.zeros((2, 1, 3, 3)))
    with pytest.raises(ValueError, match="dout must have the output's shape"):
        L.maxpool_backward_loop(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 4, 4)), 2)
    with pytest.raises(ValueError, match="gamma must have shape"):
        L.batchnorm_backward_graph(np.zeros((4, 3)), np.zeros((4, 3)), np.ones(2))
    with pytest.raises(ValueError, match="eps"):
        L.batchnorm_backward_graph(np.zeros((4, 3)), np.zeros((4, 3)), np.ones(3), eps=0.0)


# ---- convolution as a matrix ----------------------------------------------------------------
@pytest.mark.parametrize("shape,kernel,stride,pad", [
    ((1, 5, 5), (1, 1, 3, 3), 1, 0), ((2, 6, 5), (3, 2, 3, 2), 1, 1),
    ((3, 7, 7), (2, 3, 3, 3), 2, 1), ((1, 4, 4), (1, 1, 4, 4), 1, 0)])
def test_conv2d_matrix_is_the_forward_and_its_transpose_the_input_backward(shape, kernel,
                                                                            stride, pad):
    r = rng(sum(shape))
    x, w = r.normal(size=(1, *shape)), r.normal(size=kernel)
    matrix = L.conv2d_matrix(w, shape, stride=stride, pad=pad)
    reference = F.conv2d(torch.tensor(x), torch.tensor(w), stride=stride, padding=pad).numpy()
    assert matrix.shape == (reference.size, x.size)
    np.testing.assert_allclose(matrix @ x.ravel(), reference.ravel(), rtol=1e-12, atol=1e-12)
    out, cache = L.conv2d_forward(x, w, np.zeros(kernel[0]), stride=stride, padding=pad)
    dout = r.normal(size=out.shape)
    dx, _, _ = L.conv2d_backward(dout, cache)
    np.testing.assert_allclose(matrix.T @ dout.ravel(), dx.ravel(), rtol=1e-12, atol=1e-12)
    (dx_torch,) = G.torch_gradients(lambda t: F.conv2d(t, torch.tensor(w), stride=stride,
                                                       padding=pad), [x], dout)
    np.testing.assert_allclose(matrix.T @ dout.ravel(), dx_torch.ravel(), rtol=1e-12, atol=1e-12)


def test_conv2d_matrix_rows_hold_the_kernel():
    w = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    matrix = L.conv2d_matrix(w, (1, 3, 3))
    # output (0, 0) reads input pixels 0, 1, 3, 4; the rest of the row is zero
    np.testing.assert_array_equal(matrix[0], [1, 2, 0, 3, 4, 0, 0, 0, 0])
    assert np.count_nonzero(matrix) == 4 * 4


def test_one_hot_matches_torch():
    y = np.array([2, 0, 1, 2])
    np.testing.assert_array_equal(L.one_hot(y, 4),
                                  F.one_hot(torch.tensor(y), 4).numpy().astype(float))


# ---- our backward passes as torch functions, on every device --------------------------------
@pytest.mark.parametrize("name", ["conv2d", "maxpool", "batchnorm", "softmax_ce"])
def test_backward_passes_pass_gradcheck_on_each_device(name, device):
    r = rng(7)
    y = r.integers(0, 4, size=3)
    cases = {
        "conv2d": (lambda x, w, b: L.conv2d_forward(x, w, b, 2, 1), L.conv2d_backward,
                   [r.normal(size=(2, 2, 5, 5)), r.normal(size=(3, 2, 3, 3)), r.normal(size=3)]),
        "maxpool": (lambda x: L.maxpool_forward(x, 2), L.maxpool_backward,
                    [r.normal(size=(2, 2, 4, 4))]),
        "batchnorm": (lambda x, g, b: L.batchnorm_forward(x, g, b, L.RunningStats.create(2)),
                      L.batchnorm_backward, [r.normal(size=(5, 2)), r.normal(size=2),
                                             r.normal(size=2)]),
        "softmax_ce": (lambda s: (np.array(L.softmax_cross_entropy(s, y)[0]),
                                  L.softmax_cross_entropy(s, y)[1]),
                       lambda dout, dscores: np.asarray(dout) * dscores, [r.normal(size=(3, 4))]),
    }
    forward, backward, inputs = cases[name]
    tensors = [torch.tensor(a, dtype=torch.float64, device=device, requires_grad=True)
               for a in inputs]
    layer = G.as_torch_function(forward, backward)
    assert layer(*tensors).device.type == device.type
    assert torch.autograd.gradcheck(layer, tensors)


# ---- bad input names the argument ---------------------------------------------------------
@pytest.mark.parametrize("call,match", [
    (lambda: L.linear_forward(np.ones((2, 3)), np.ones((4, 5)), np.ones(4)), "x has 3 features"),
    (lambda: L.linear_forward(np.ones(3), np.ones((4, 3)), np.ones(4)), "x must have 2"),
    (lambda: L.linear_forward(np.ones((0, 3)), np.ones((4, 3)), np.ones(4)), "x must not be empty"),
    (lambda: L.linear_forward(np.ones((2, 3)), np.ones((4, 3)), np.ones(3)), "b must have shape"),
    (lambda: L.linear_forward(np.ones((2, 3)), np.ones(3), np.ones(3)), "w must have 2"),
    (lambda: L.conv2d_forward(np.ones((1, 2, 5, 5)), np.ones((3, 4, 3, 3)), np.ones(3)),
     "x has 2 channels"),
    (lambda: L.conv2d_forward(np.ones((2, 5, 5)), np.ones((3, 2, 3, 3)), np.ones(3)),
     "x must have 4"),
    (lambda: L.conv2d_forward(np.ones((0, 2, 5, 5)), np.ones((3, 2, 3, 3)), np.ones(3)),
     "x must not be empty"),
    (lambda: L.conv2d_forward(np.ones((1, 2, 2, 2)), np.ones((3, 2, 3, 3)), np.ones(3)),
     "w's kernel"),
    (lambda: L.conv2d_forward(np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), np.ones(3), stride=0),
     "stride"),
    (lambda: L.conv2d_forward(np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), np.ones(3),
                              padding=-1), "padding"),
    (lambda: L.maxpool_forward(np.ones((1, 1, 4)), 2), "x must have 4"),
    (lambda: L.maxpool_forward(np.ones((1, 1, 4, 4)), 5), "size 5"),
    (lambda: L.maxpool_forward(np.ones((0, 1, 4, 4)), 2), "x must not be empty"),
    (lambda: L.relu_forward(np.ones((0, 3))), "x must not be empty"),
    (lambda: L.batchnorm_forward(np.ones((4, 3)), np.ones(2), np.ones(2),
                                 L.RunningStats.create(2)), "gamma, beta"),
    (lambda: L.batchnorm_forward(np.ones((4, 3, 2)), np.ones(3), np.ones(3),
                                 L.RunningStats.create(3)), "x must have 2 or 4"),
    (lambda: L.batchnorm_forward(np.ones((1, 3)), np.ones(3), np.ones(3),
                                 L.RunningStats.create(3)), "more than one value"),
    (lambda: L.dropout_forward(np.ones(3), 1.0, seed=0), "p must"),
    (lambda: L.dropout_forward(np.ones(3), 0.5), "mask or seed"),
    (lambda: L.dropout_forward(np.ones(3), 0.5, mask=np.ones(4, bool)), "mask must"),
    (lambda: L.softmax_cross_entropy(np.ones((2, 3)), np.array([0, 3])), "y must lie"),
    (lambda: L.softmax_cross_entropy(np.ones((2, 3)), np.array([0.0, 1.0])), "y must be integer"),
    (lambda: L.softmax_cross_entropy(np.ones(3), np.array([0])), "scores must have 2"),
    (lambda: L.mse_loss(np.ones(3), np.ones(4)), "pred and target"),
    (lambda: L.binary_cross_entropy_with_logits(np.ones(3), np.ones(2)), "logits and target"),
    (lambda: L.RunningStats.create(0), "num_features"),
    (lambda: L.RunningStats.create(3, momentum=0), "momentum"),
    (lambda: L.RunningStats.create(3, momentum=1.5), "momentum"),
    (lambda: L.RunningStats.create(3, eps=-1), "eps"),
    (lambda: L.conv2d_loop(np.ones((1, 2, 5, 5)), np.ones((3, 4, 3, 3)), np.ones(3)),
     "x has 2 channels"),
    (lambda: L.conv2d_loop(np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), np.ones(2)),
     "b must have shape"),
    (lambda: L.conv2d_loop(np.ones((1, 2, 5, 5)), np.ones((3, 2, 3, 3)), np.ones(3), stride=0),
     "stride"),
    (lambda: L.maxpool_loop(np.ones((1, 1, 4, 4)), 5), "size 5"),
    (lambda: L.maxpool_loop(np.ones((1, 1, 4, 4)), 2, stride=0), "stride"),
    (lambda: L.maxpool_forward(np.ones((1, 1, 4, 4)), 2.0), "size"),
    (lambda: L.conv2d_matrix(np.ones((2, 3, 3, 3)), (2, 5, 5)), "input_shape has 2 channels"),
    (lambda: L.conv2d_matrix(np.ones((2, 3, 3, 3)), (3, 5)), "input_shape must be three"),
    (lambda: L.conv2d_matrix(np.ones((2, 3, 3, 3)), (3, 5, 0)), "input_shape must be three"),
    (lambda: L.conv2d_matrix(np.ones((2, 3, 3, 3)), (3, 2, 2)), "w's kernel"),
    (lambda: L.conv2d_matrix(np.ones((3, 3, 3)), (3, 5, 5)), "w must have 4"),
    (lambda: L.conv2d_matrix(np.ones((2, 3, 3, 3)), (3, 5, 5), stride=0), "stride"),
    (lambda: L.conv2d_matrix(np.ones((2, 3, 3, 3)), (3, 5, 5), pad=-1), "pad"),
    (lambda: L.dropout_mask((2, 3), 0.5, seed=-1), "seed"),
    (lambda: L.dropout_mask((2, -3), 0.5, seed=0), "shape"),
    (lambda: L.dropout_mask((2, 3), -0.1, seed=0), "p must"),
    (lambda: L.one_hot(np.array([0, 3]), 3), "y must lie"),
    (lambda: L.one_hot(np.array([0.0, 1.0]), 3), "y must be integer"),
    (lambda: L.one_hot(np.array([0, 1]), 0), "num_classes"),
    (lambda: L.softmax(np.ones(3)), "scores must have 2"),
])
def test_bad_input_raises_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_backward_rejects_dout_of_the_wrong_shape():
    out, cache = L.linear_forward(np.ones((2, 3)), np.ones((4, 3)), np.ones(4))
    with pytest.raises(ValueError, match="dout must have the output's shape"):
        L.linear_backward(np.ones((2, 5)), cache)
    out, cache = L.conv2d_forward(np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3)), np.ones(2))
    with pytest.raises(ValueError, match="dout"):
        L.conv2d_backward(np.ones((1, 2, 3, 3)), cache)
    out, cache = L.maxpool_forward(np.ones((1, 1, 4, 4)), 2)
    with pytest.raises(ValueError, match="dout"):
        L.maxpool_backward(np.ones((1, 1, 3, 3)), cache)


@pytest.mark.parametrize("call,match", [
    (lambda: L.batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), None),
     "stats must be a RunningStats"),
    (lambda: L.batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3),
                                 L.RunningStats.create(3), train="yes"), "train must be True"),
    (lambda: L.dropout_forward(np.ones(3), 0.5, train=1, seed=0), "train must be True"),
    (lambda: L.linear_forward(np.ones((2, 3)), np.array([["a"] * 3]), np.ones(1)),
     "w must be a numeric"),
])
def test_wrong_types_raise_type_errors_naming_the_argument(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="x must be a numeric array"):
        L.relu_forward(np.array(["a", "b"]))
