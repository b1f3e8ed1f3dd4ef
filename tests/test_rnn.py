"""Tests for course_utils.temporal.rnn: cells against torch.nn's, gradcheck, hand-written BPTT against
autograd, gradient vs distance, and the clipping experiment."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from course_utils.temporal import rnn

pytestmark = pytest.mark.chapter("05_video")

SHAPES = [(1, 1, 1), (3, 4, 5), (8, 2, 16)]   # (N, D, H)


def _inputs(n, d, h, dtype=torch.float64, device="cpu"):
    g = torch.Generator().manual_seed(n * 100 + d * 10 + h)
    return [torch.randn(*s, generator=g, dtype=dtype).to(device) for s in ((n, d), (n, h), (n, h))]


@pytest.mark.parametrize("shape", SHAPES)
def test_lstm_cell_matches_torch(shape, device, dtype):
    x, h, c = _inputs(*shape, dtype=dtype, device=device)
    torch.manual_seed(1)
    ref = nn.LSTMCell(shape[1], shape[2]).to(device, dtype)
    with torch.no_grad():
        ours = rnn.lstm_cell(x, h, c, ref.weight_ih, ref.weight_hh, ref.bias_ih, ref.bias_hh)
        theirs = ref(x, (h, c))
    torch.testing.assert_close(ours[0], theirs[0])
    torch.testing.assert_close(ours[1], theirs[1])


@pytest.mark.parametrize("shape", SHAPES)
def test_gru_and_rnn_cells_match_torch(shape, device, dtype):
    x, h, _ = _inputs(*shape, dtype=dtype, device=device)
    torch.manual_seed(2)
    gru, elman = nn.GRUCell(shape[1], shape[2]).to(device, dtype), nn.RNNCell(shape[1], shape[2]).to(device, dtype)
    with torch.no_grad():
        torch.testing.assert_close(rnn.gru_cell(x, h, gru.weight_ih, gru.weight_hh, gru.bias_ih,
                                                gru.bias_hh), gru(x, h))
        torch.testing.assert_close(rnn.rnn_cell(x, h, elman.weight_ih, elman.weight_hh,
                                                elman.bias_ih, elman.bias_hh), elman(x, h))


def test_cells_pass_gradcheck():
    torch.manual_seed(3)
    lstm, gru = nn.LSTMCell(3, 4).double(), nn.GRUCell(3, 4).double()
    x, h, c = (t.requires_grad_() for t in _inputs(2, 3, 4))
    lstm_w = [p.detach().clone().requires_grad_() for p in lstm.parameters()]
    gru_w = [p.detach().clone().requires_grad_() for p in gru.parameters()]
    assert torch.autograd.gradcheck(lambda *a: rnn.lstm_cell(*a), (x, h, c, *lstm_w))
    assert torch.autograd.gradcheck(lambda *a: rnn.gru_cell(*a), (x, h, *gru_w))


def test_lstm_sequence_matches_nn_lstm():
    torch.manual_seed(4)
    layer = nn.LSTM(3, 5).double()
    xs = torch.randn(9, 2, 3, dtype=torch.float64)
    h = c = torch.zeros(2, 5, dtype=torch.float64)
    outs = []
    with torch.no_grad():
        for x in xs:
            h, c = rnn.lstm_cell(x, h, c, layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0,
                                 layer.bias_hh_l0)
            outs.append(h)
        torch.testing.assert_close(torch.stack(outs), layer(xs)[0])


def test_bptt_matches_autograd():
    torch.manual_seed(5)
    ref = nn.RNN(3, 4).double()
    xs = torch.randn(6, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    out, _ = ref(xs, h0[None])
    upstream = torch.randn_like(out)
    (out * upstream).sum().backward()
    weights = [p.detach() for p in (ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0)]
    hs, cache = rnn.rnn_forward(xs.detach(), h0.detach(), *weights)
    torch.testing.assert_close(hs, out.detach())
    grads = rnn.rnn_backward(upstream, cache)
    expected = (xs.grad, h0.grad, ref.weight_ih_l0.grad, ref.weight_hh_l0.grad, ref.bias_ih_l0.grad,
                ref.bias_hh_l0.grad)
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="dhs"):
        rnn.rnn_backward(upstream[:3], cache)


def test_cell_errors_name_the_argument():
    x, h, c = _inputs(2, 3, 4)
    w_ih, w_hh, b = torch.zeros(16, 3, dtype=torch.float64), torch.zeros(16, 4, dtype=torch.float64), \
        torch.zeros(16, dtype=torch.float64)
    with pytest.raises(ValueError, match="weight_ih must have shape"):
        rnn.lstm_cell(x, h, c, torch.zeros(12, 3), w_hh, b, b)
    with pytest.raises(ValueError, match="bias_hh"):
        rnn.lstm_cell(x, h, c, w_ih, w_hh, b, b[:4])
    with pytest.raises(ValueError, match="x and h must be"):
        rnn.lstm_cell(x[0], h, c, w_ih, w_hh, b, b)
    with pytest.raises(ValueError, match="batch size"):
        rnn.lstm_cell(x[:1], h, c, w_ih, w_hh, b, b)
    with pytest.raises(ValueError, match="c must be"):
        rnn.lstm_cell(x, h, c[:, :2], w_ih, w_hh, b, b)
    with pytest.raises(TypeError, match="weight_hh"):
        rnn.gru_cell(x, h, torch.zeros(12, 3), [[0.0]], b[:12], b[:12])
    with pytest.raises(ValueError, match=r"\(T, N, D\)"):
        rnn.rnn_forward(x, h, torch.zeros(4, 3), torch.zeros(4, 4), torch.zeros(4), torch.zeros(4))


def test_gradient_vs_distance_follows_the_spectral_radius():
    norms = {}
    for radius in (0.5, 3.0):
        torch.manual_seed(0)
        model = rnn.set_spectral_radius(nn.RNN(1, 16).double(), radius)
        eig = torch.linalg.eigvals(model.weight_hh_l0.detach()).abs()
        torch.testing.assert_close(eig, torch.full_like(eig, radius))
        norms[radius] = rnn.gradient_vs_distance(model, 40, input_scale=0.01)
    assert norms[0.5].shape == (40,)
    assert norms[0.5][30] < 1e-6 * norms[0.5][0]
    assert norms[3.0][30] > 1e2 * norms[3.0][0]


def test_gradient_vs_distance_matches_a_direct_autograd_jacobian():
    torch.manual_seed(6)
    model = nn.GRU(2, 3).double()
    norms = rnn.gradient_vs_distance(model, 5, batch=1, seed=9)
    g = torch.Generator().manual_seed(9)
    xs = torch.randn(5, 1, 2, generator=g, dtype=torch.float64)
    readout = torch.randn(3, generator=g, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: model(v)[0][-1, 0] @ readout, xs)
    torch.testing.assert_close(norms, jac[:, 0].norm(dim=1).flip(0))
    with pytest.raises(TypeError, match="batch_first"):
        rnn.gradient_vs_distance(nn.RNN(1, 2, batch_first=True), 3)


def test_clipping_rescues_the_expanding_rnn(one_torch_thread):
    plain = rnn.train_recall_rnn(1.2, lr=0.1, clip=None, steps=200)
    clipped = rnn.train_recall_rnn(1.2, lr=0.1, clip=1.0, steps=200)
    assert clipped["accuracy"] >= 0.95 and plain["accuracy"] <= 0.6
    assert len(plain["loss"]) == len(plain["grad_norm"]) == 200
    with pytest.raises(ValueError, match="clip"):
        rnn.train_recall_rnn(1.2, lr=0.1, clip=0.0, steps=1)


def test_forget_bias_lands_on_the_forget_gate_only():
    plain, raised = rnn.lstm_with_forget_bias(4, 0.0, seed=1), rnn.lstm_with_forget_bias(4, 2.5, seed=1)
    gap = raised.bias_hh_l0.detach() - plain.bias_hh_l0.detach()
    torch.testing.assert_close(gap, torch.tensor([0.0] * 4 + [2.5] * 4 + [0.0] * 8))
    # torch's LSTM on a zero input and state: the forget gate is sigmoid(b_ih + b_hh) (gate order
    # i, f, g, o), so the cell state after one step keeps the raised share of its start
    zero = torch.zeros(1, 1, 1)
    start = (torch.zeros(1, 1, 4), torch.ones(1, 1, 4))
    with torch.no_grad():
        for model in (plain, raised):
            _, (_, cell) = model(zero, start)
            forget = torch.sigmoid(model.bias_ih_l0[4:8] + model.bias_hh_l0[4:8])
            g = torch.tanh(model.bias_ih_l0[8:12] + model.bias_hh_l0[8:12])
            i = torch.sigmoid(model.bias_ih_l0[:4] + model.bias_hh_l0[:4])
            torch.testing.assert_close(cell[0, 0], forget * 1.0 + i * g)


def test_train_recall_takes_an_lstm_and_refuses_other_layers(one_torch_thread):
    torch.manual_seed(0)
    short = rnn.train_recall(rnn.lstm_with_forget_bias(16, 1.0), lr=1e-2, steps=150, length=5,
                             optimizer="adam")
    assert short["accuracy"] >= 0.95 and "radius" not in short      # a 5-step recall is easy for it
    with pytest.raises(TypeError, match="input_size=1"):
        rnn.train_recall(nn.LSTM(2, 4), lr=0.1, steps=1)
    with pytest.raises(ValueError, match="optimizer"):
        rnn.train_recall(nn.RNN(1, 4), lr=0.1, steps=1, optimizer="rmsprop")
    with pytest.raises(ValueError, match="config\\['cell'\\]"):
        rnn.recall_arm({"cell": "gru", "hidden": 4, "lr": 0.1, "clip": None, "steps": 1, "length": 3,
                        "optimizer": "sgd"}, [0])
