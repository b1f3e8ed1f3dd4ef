"""Models and fitting helpers (course_utils.networks) and the point sets they train on
(course_utils.data.points), against numpy / sklearn / torch references."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from torch import nn

from course_utils.learning import gradcheck, layers
from course_utils import networks
from course_utils.learning import diagnostics
from course_utils.learning import numpy_models
from course_utils.data.digits import digits_tensors
from course_utils.data.points import blobs, noisy_line, sample_target, target_function, xor_points
from course_utils.device import get_device
from course_utils.model_size import count_parameters


pytestmark = [pytest.mark.chapter("03_backprop"), pytest.mark.usefixtures("one_torch_thread")]


# ---- point sets ----------------------------------------------------------------------------
@pytest.mark.parametrize("make", [xor_points, blobs, noisy_line, sample_target])
def test_generators_are_seeded_and_deterministic(make):
    a, b = make(seed=3), make(seed=3)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    if make is not sample_target:  # sample_target without noise does not use the seed
        assert not np.array_equal(make(seed=3)[0], make(seed=4)[0])


def test_xor_points_labels_follow_the_corners():
    x, y = xor_points(400, noise=0.0)
    assert x.shape == (400, 2) and y.shape == (400,) and y.dtype == np.int64
    np.testing.assert_array_equal(y, (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(int))
    assert np.bincount(y).tolist() == [200, 200]


def test_blobs_and_noisy_line():
    x, y = blobs(100, distance=10.0, spread=0.5)
    assert x.shape == (100, 2) and set(y) == {0, 1}
    assert LogisticRegression().fit(x, y).score(x, y) == 1.0  # far apart: separable
    x, y = noisy_line(30, slope=-1.5, intercept=0.25, noise=0.0)
    np.testing.assert_allclose(y, -1.5 * x[:, 0] + 0.25)


def test_sample_target_matches_the_function():
    x, y = sample_target(64)
    assert x.shape == y.shape == (64, 1)
    np.testing.assert_allclose(y, target_function(x))
    np.testing.assert_allclose(x[[0, -1], 0], [-1.0, 1.0])


@pytest.mark.parametrize("call,match", [
    (lambda: xor_points(3), "n must be an integer >= 4"),
    (lambda: xor_points(10, noise=-1), "noise"),
    (lambda: blobs(1), "n must"),
    (lambda: blobs(10, spread=0), "spread"),
    (lambda: noisy_line(0), "n must"),
    (lambda: sample_target(10, noise=-0.1), "noise"),
    (lambda: sample_target(1), "n must"),
    (lambda: xor_points(8, seed=-1), "seed"),
    (lambda: blobs(8, seed=1.5), "seed"),
    (lambda: noisy_line(8, seed="0"), "seed"),
])
def test_generators_reject_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_generators_reject_wrong_types():
    with pytest.raises(TypeError, match="slope must be a finite real"):
        noisy_line(8, slope="2")
    with pytest.raises(TypeError, match="x must be a numeric"):
        target_function(["a"])


# ---- linear and logistic regression --------------------------------------------------------
def test_linear_regression_reaches_least_squares():
    x, y = noisy_line(60, seed=1)
    model = numpy_models.fit_linear_regression(x, y, lr=0.1, steps=500)
    coef, *_ = np.linalg.lstsq(np.column_stack([x, np.ones(len(x))]), y, rcond=None)
    np.testing.assert_allclose([model.w[0], model.b], coef, rtol=1e-8)
    assert model.losses[-1] < model.losses[0]
    assert len(model.losses) == 500


def test_logistic_regression_matches_sklearn_unregularised():
    x, y = blobs(200, distance=2.0, seed=2)
    model = numpy_models.fit_logistic_regression(x, y, lr=1.0, steps=1000)
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=100000).fit(x, y)
    np.testing.assert_allclose(model.w, ref.coef_[0], atol=1e-6)
    assert model.b == pytest.approx(ref.intercept_[0], abs=1e-6)


def test_a_linear_model_cannot_solve_xor():
    x, y = xor_points(200)
    model = numpy_models.fit_logistic_regression(x, y, steps=300)
    assert np.mean((model.scores(x) > 0) == y) < 0.6


def test_regression_rejects_bad_input():
    with pytest.raises(ValueError, match="same number of rows"):
        numpy_models.fit_linear_regression(np.ones((3, 1)), np.ones(4))
    with pytest.raises(ValueError, match="x must have 2"):
        numpy_models.fit_linear_regression(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="binary labels"):
        numpy_models.fit_logistic_regression(np.ones((3, 1)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="steps"):
        numpy_models.fit_linear_regression(np.ones((3, 1)), np.ones(3), steps=0)
    with pytest.raises(ValueError, match="lr"):
        numpy_models.fit_linear_regression(np.ones((3, 1)), np.ones(3), lr=-1)
    model = numpy_models.fit_linear_regression(np.ones((3, 2)), np.ones(3), steps=1)
    with pytest.raises(ValueError, match="x must have 2 columns"):
        model.scores(np.ones((3, 3)))


# ---- the numpy MLP ----------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_mlp_backward_matches_torch(activation):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.integers(0, 4, size=7)
    model = numpy_models.MLP(rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=(4, 5)),
                    rng.normal(size=4), activation)
    scores, caches = model.forward(x)
    loss, dscores = layers.softmax_cross_entropy(scores, y)
    grads = model.backward(dscores, caches)
    params = {k: torch.tensor(getattr(model, k), requires_grad=True)
              for k in ("w1", "b1", "w2", "b2")}
    act = torch.relu if activation == "relu" else torch.sigmoid
    hidden = act(torch.tensor(x) @ params["w1"].T + params["b1"])
    ref = nn.functional.cross_entropy(hidden @ params["w2"].T + params["b2"], torch.tensor(y))
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    for k, t in params.items():
        assert gradcheck.relative_error(grads[k], t.grad.numpy()) < 1e-10, k


def test_mlp_solves_xor_and_one_hidden_unit_cannot():
    x, y = xor_points(200)
    model = numpy_models.train_mlp(x, y, hidden=8, lr=0.5, steps=500)
    assert np.mean(model.predict(x) == y) >= 0.99
    assert model.losses[-1] < 0.05 < model.losses[0]
    # one hidden unit: the score is monotone in one projection w.x, so the classes are split
    # by a single line, and at most three of the four clusters can be right
    narrow = numpy_models.train_mlp(x, y, hidden=1, lr=0.5, steps=500)
    assert np.mean(narrow.predict(x) == y) <= 0.8


def test_train_mlp_is_seeded_and_checks_arguments():
    x, y = xor_points(40)
    a = numpy_models.train_mlp(x, y, hidden=4, steps=20, seed=1)
    b = numpy_models.train_mlp(x, y, hidden=4, steps=20, seed=1)
    np.testing.assert_array_equal(a.w1, b.w1)
    with pytest.raises(ValueError, match="hidden"):
        numpy_models.train_mlp(x, y, hidden=0)
    with pytest.raises(ValueError, match="activation"):
        numpy_models.train_mlp(x, y, activation="swish")
    with pytest.raises(ValueError, match="y must be integer labels"):
        numpy_models.train_mlp(x, y.astype(float))
    with pytest.raises(ValueError, match="x must not be empty"):
        numpy_models.train_mlp(np.ones((0, 2)), np.ones(0, int))


# ---- torch MLPs ------------------------------------------------------------------------
@given(hidden=st.lists(st.integers(1, 40), min_size=1, max_size=5), d=st.integers(1, 5),
       k=st.integers(1, 5))
def test_count_parameters_matches_the_formula(hidden, d, k):
    model = networks.make_mlp(d, hidden, k)
    widths = [d, *hidden, k]
    assert count_parameters(model) == sum((a + 1) * b for a, b in zip(widths, widths[1:]))


def test_make_mlp_inits_and_errors():
    torch.manual_seed(0)
    model = networks.make_mlp(3, [50, 50], 1, "tanh", init="negative_bias")
    assert isinstance(model[1], nn.Tanh)
    assert torch.all(model[0].bias == -1) and torch.all(model[-1].bias != -1)
    std = model[2].weight.std().item()
    assert std == pytest.approx(np.sqrt(2 / 50), rel=0.1)  # He: variance 2 / fan_in
    with pytest.raises(ValueError, match="activation"):
        networks.make_mlp(3, [4], 1, "gelu")
    with pytest.raises(ValueError, match="init"):
        networks.make_mlp(3, [4], 1, init="zeros")
    with pytest.raises(ValueError, match="hidden"):
        networks.make_mlp(3, [], 1)


def test_gradients_vanish_with_sigmoid_but_not_with_relu():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(256, 16, generator=gen), torch.randn(256, 1, generator=gen)
    ratios = {}
    for act in ("sigmoid", "relu"):
        torch.manual_seed(0)
        model = networks.make_mlp(16, [32] * 12, 1, act, init="he")
        norms = diagnostics.layer_gradient_norms(model, x, y)
        assert norms.shape == (13,)
        first = model[0].weight
        model.zero_grad()
        (g,) = torch.autograd.grad(nn.functional.mse_loss(model(x), y), [first])
        assert norms[0] == pytest.approx(g.norm().item(), rel=1e-6)
        ratios[act] = norms[0] / norms[-1]
    assert ratios["sigmoid"] < 1e-4 < 1e-2 < ratios["relu"]


def test_dead_relu_fraction_counts_units_that_never_fire(device):
    torch.manual_seed(0)
    model = networks.make_mlp(2, [10, 8], 1, "relu").to(device)
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].bias.copy_(torch.tensor([1.0] * 7 + [-1.0] * 3))  # 3 of 10 units dead
    x = torch.randn(50, 2, device=device)
    fractions = diagnostics.dead_relu_fraction(model, x)
    assert fractions[0] == pytest.approx(0.3)
    manual = (model[:4](x) <= 0).all(dim=0).float().mean().item()
    assert fractions[1] == pytest.approx(manual)
    with pytest.raises(ValueError, match="ReLU"):
        diagnostics.dead_relu_fraction(networks.make_mlp(2, [4], 1, "tanh").to(device), x)


def test_fit_full_batch_is_plain_adam(device):
    x, y = (torch.tensor(a, dtype=torch.float32, device=device) for a in sample_target(32))
    torch.manual_seed(1)
    model = networks.make_mlp(1, [8], 1, "tanh").to(device)
    twin = networks.make_mlp(1, [8], 1, "tanh").to(device)
    twin.load_state_dict(model.state_dict())
    losses = diagnostics.fit_full_batch(model, x, y, lr=1e-2, steps=30)
    opt = torch.optim.Adam(twin.parameters(), lr=1e-2)
    manual = []
    for _ in range(30):
        loss = nn.functional.mse_loss(twin(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        manual.append(loss.item())
    np.testing.assert_allclose(losses, manual, rtol=1e-6)
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="x and y"):
        diagnostics.fit_full_batch(model, x[:, 0], y)


@pytest.mark.slow
def test_deeper_net_fits_the_wiggly_target_better_at_equal_size():
    x, y = (torch.tensor(a, dtype=torch.float32) for a in sample_target(256))
    torch.manual_seed(0)
    wide, deep = networks.make_mlp(1, [197], 1, "tanh"), networks.make_mlp(1, [16, 16, 16], 1, "tanh")
    assert abs(count_parameters(wide) - count_parameters(deep)) <= 1
    wide_loss = np.median(diagnostics.fit_full_batch(wide, x, y, lr=1e-2, steps=600)[-50:])
    deep_loss = np.median(diagnostics.fit_full_batch(deep, x, y, lr=1e-2, steps=600)[-50:])
    assert deep_loss < wide_loss / 10


# ---- the digits CNN ----------------------------------------------------------------------
def test_digits_tensors_split_and_scale():
    x_tr, y_tr, x_te, y_te = digits_tensors(test_fraction=0.25, seed=0)
    assert x_tr.shape[1:] == (1, 8, 8) and x_tr.dtype == torch.float32
    assert len(x_tr) + len(x_te) == 1797 and len(x_te) == 450
    assert 0 <= x_tr.min() and x_tr.max() <= 1
    per_class = torch.bincount(torch.cat([y_tr, y_te]))  # stratified: a quarter of each digit
    assert (torch.bincount(y_te) - 0.25 * per_class).abs().max() <= 1
    with pytest.raises(ValueError, match="test_fraction"):
        digits_tensors(test_fraction=1.0)


def test_digits_cnn_shapes_and_errors():
    model = networks.DigitsCNN(channels=(4, 6))
    assert model(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
    assert model.conv1.weight.shape == (4, 1, 5, 5)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 8, 8\)"):
        model(torch.zeros(3, 8, 8))


def _train_digits(device, epochs: int):
    from torch.utils.data import DataLoader, TensorDataset

    from course_utils.metrics import accuracy
    from course_utils.train import evaluate, fit

    torch.manual_seed(0)
    x_tr, y_tr, x_te, y_te = digits_tensors()
    train = DataLoader(TensorDataset(x_tr, y_tr), batch_size=64, shuffle=True,
                       generator=torch.Generator().manual_seed(0))
    model = networks.DigitsCNN().to(device)
    fit(model, train, nn.functional.cross_entropy, torch.optim.Adam(model.parameters(), 1e-2),
        epochs, progress=False)
    return evaluate(model, [(x_te, y_te)], nn.functional.cross_entropy, accuracy)["metric"]


@pytest.mark.slow
def test_digits_cnn_learns_quickly():
    assert _train_digits(get_device(), epochs=3) > 0.85


@pytest.mark.gpu
def test_digits_cnn_trains_on_cuda():
    assert _train_digits(torch.device("cuda"), epochs=3) > 0.85


def test_filter_spectra_against_torch_fft():
    w = torch.randn(6, 1, 5, 5, dtype=torch.float64)
    amp = diagnostics.filter_spectra(w, size=16)
    padded = torch.zeros(6, 16, 16, dtype=torch.float64)
    padded[:, :5, :5] = w[:, 0]
    ref = torch.fft.fftshift(torch.fft.fft2(padded), dim=(-2, -1)).abs().numpy()
    np.testing.assert_allclose(amp, ref, rtol=1e-10, atol=1e-12)
    # the centre (zero frequency) holds |sum of the filter|
    np.testing.assert_allclose(amp[:, 8, 8], w.sum(dim=(1, 2, 3)).abs().numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="size"):
        diagnostics.filter_spectra(w, size=4)
    with pytest.raises(ValueError, match="one input channel"):
        diagnostics.filter_spectra(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match="filters must have 3 or 4"):
        diagnostics.filter_spectra(np.ones((5, 5)))


def test_peak_frequency_finds_the_frequency_of_a_cosine():
    k = np.arange(8)
    filters = np.stack([np.ones((8, 8)),                                   # a blur: 0
                        np.cos(2 * np.pi * 0.25 * k)[None, :].repeat(8, 0),  # 1/4 along x
                        np.cos(2 * np.pi * 0.125 * k)[:, None].repeat(8, 1)])  # 1/8 along y
    peaks = diagnostics.peak_frequency(diagnostics.filter_spectra(filters, size=16))
    np.testing.assert_allclose(peaks, [0.0, 0.25, 0.125])
    with pytest.raises(ValueError, match="spectra must have 3"):
        diagnostics.peak_frequency(np.ones((4, 4)))


def test_digits_cnn_matches_the_hand_written_layers_on_each_device(device, dtype):
    torch.manual_seed(0)
    model = networks.DigitsCNN(channels=(3, 4)).to(device=device, dtype=dtype)
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    logits = model(x.to(device=device, dtype=dtype)).detach().cpu().double().numpy()
    p = {k: v.detach().cpu().double().numpy() for k, v in model.state_dict().items()}
    h, _ = layers.conv2d_forward(x.double().numpy(), p["conv1.weight"], p["conv1.bias"], padding=2)
    h, _ = layers.maxpool_forward(layers.relu_forward(h)[0], 2)
    h, _ = layers.conv2d_forward(h, p["conv2.weight"], p["conv2.bias"], padding=1)
    h, _ = layers.maxpool_forward(layers.relu_forward(h)[0], 2)
    expected, _ = layers.linear_forward(h.reshape(5, -1), p["head.weight"], p["head.bias"])
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    np.testing.assert_allclose(logits, expected, rtol=tol, atol=tol)


def test_layer_gradient_norms_match_autograd_on_each_device(device):
    torch.manual_seed(0)
    model = networks.make_mlp(4, [6, 6], 2, "tanh").to(device)
    x, y = torch.randn(8, 4, device=device), torch.randn(8, 2, device=device)
    norms = diagnostics.layer_gradient_norms(model, x, y)
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    grads = torch.autograd.grad(nn.functional.mse_loss(model(x), y), weights)
    np.testing.assert_allclose(norms, [g.norm().item() for g in grads], rtol=1e-5)


def test_gradient_norms_is_seeded_and_has_one_value_per_layer():
    a = diagnostics.gradient_norms(depth=5, activation="relu", seed=2)
    assert a.shape == (6,)
    np.testing.assert_array_equal(a, diagnostics.gradient_norms(depth=5, activation="relu", seed=2))
    assert not np.array_equal(a, diagnostics.gradient_norms(depth=5, activation="relu", seed=3))


@pytest.mark.parametrize("call,error,match", [
    (lambda: networks.make_mlp(0, [4], 1), ValueError, "in_features"),
    (lambda: networks.make_mlp(2, [4], 0), ValueError, "out_features"),
    (lambda: networks.make_mlp(2, "44", 1), ValueError, "hidden"),
    (lambda: networks.make_mlp(2, [4, 2.5], 1), ValueError, "hidden"),
    (lambda: numpy_models.train_mlp(np.ones((4, 2)), np.array([0, 1, 0, 1]), seed=-1), ValueError,
     "seed"),
    (lambda: numpy_models.train_mlp(np.ones((4, 2)), np.array([0, 1, 0, 1]), steps=2.0), ValueError,
     "steps"),
    (lambda: networks.DigitsCNN(channels=(8,)), ValueError, "channels"),
    (lambda: networks.DigitsCNN(channels=(8, 0)), ValueError, "channels"),
    (lambda: networks.DigitsCNN(num_classes=0), ValueError, "num_classes"),
    (lambda: diagnostics.filter_spectra(np.ones((2, 5, 5)), size=16.0), ValueError, "size"),
    (lambda: diagnostics.gradient_norms(depth=0), ValueError, "depth"),
    (lambda: diagnostics.gradient_norms(width=0), ValueError, "width"),
    (lambda: diagnostics.gradient_norms(activation="elu"), ValueError, "activation"),
    (lambda: diagnostics.dead_relus_after_training([-1.0]), ValueError, "lrs"),
    (lambda: diagnostics.dead_relus_after_training(0.1), TypeError, "lrs must be a list"),
    (lambda: diagnostics.dead_relus_after_training([1e-3], steps=0), ValueError, "steps"),
    (lambda: diagnostics.fit_full_batch("net", torch.ones(2, 1), torch.ones(2, 1)), TypeError,
     "model must be a torch.nn.Module"),
    (lambda: diagnostics.layer_gradient_norms(None, torch.ones(2, 1), torch.ones(2, 1)), TypeError,
     "model must be"),
    (lambda: diagnostics.dead_relu_fraction([], torch.ones(2, 1)), TypeError, "model must be"),
])
def test_more_bad_input_raises_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
