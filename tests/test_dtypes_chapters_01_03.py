"""Chapters 01-03: every public function that takes arrays gives the same answer for float32 and
float64 inputs, and refuses a torch tensor (numpy code) or a numpy array (torch code) with an
error that names the argument.

float32 vs float64: the inputs are the same float64 draws, one copy rounded to float32 (a relative
change of at most 6e-8 per value), so results agree to rtol 1e-4 / atol 1e-5 of their scale unless
a function amplifies rounding; none of these does on the inputs drawn here.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import pytest
import torch

from course_utils.filtering import filters as F
from course_utils.filtering import measurements as M
from course_utils.frequency import fourier as FT
from course_utils.learning import diagnostics as D
from course_utils.learning import gradcheck as G
from course_utils.learning import layers as L
from course_utils.learning import numpy_models as NM
from course_utils.networks import make_mlp

RNG = np.random.default_rng(0)
IMG = RNG.random((16, 16))
IMG2 = RNG.random((16, 16))
K3 = RNG.random((3, 3))
V5 = RNG.random(5)
SIGNAL = RNG.random(32)
T = np.arange(32) / 32
X4 = RNG.normal(size=(6, 4))
W34 = RNG.normal(size=(3, 4))
B3 = RNG.normal(size=3)
XC = RNG.normal(size=(2, 2, 6, 6))
WC = RNG.normal(size=(3, 2, 3, 3))
BC = RNG.normal(size=3)
POINTS = RNG.normal(size=(40, 2))
LABELS = (POINTS[:, 0] > 0).astype(float)
SCORES = RNG.normal(size=(6, 3))
CLASSES = np.array([0, 2, 1, 1, 0, 2])


class Case(NamedTuple):
    chapter: str
    name: str
    call: Callable          # called with the float arrays, positionally
    arrays: tuple           # float64 inputs
    first_name: str         # the argument the first array is passed as


def _conv_backward(dout, x, w, b):
    return L.conv2d_backward(dout, L.conv2d_forward(x, w, b, stride=1, padding=1)[1])


def _linear_backward(dout, x, w, b):
    return L.linear_backward(dout, L.linear_forward(x, w, b)[1])


def _maxpool_backward(dout, x):
    return L.maxpool_backward(dout, L.maxpool_forward(x)[1])


def _batchnorm(x, gamma, beta):
    return L.batchnorm_forward(x, gamma, beta, L.RunningStats.create(x.shape[1]))[0]


CASES = [
    # ---------------------------------------------------------------- 01 convolution
    Case("01_convolution", "correlate2d", F.correlate2d, (IMG, K3), "image"),
    Case("01_convolution", "conv2d", lambda i, k: F.conv2d(i, k, boundary="reflect"), (IMG, K3), "image"),
    Case("01_convolution", "conv2d_naive", F.conv2d_naive, (IMG[:8, :8], K3), "image"),
    Case("01_convolution", "conv2d_shifted", F.conv2d_shifted, (IMG, K3), "image"),
    Case("01_convolution", "separable_conv2d", F.separable_conv2d, (IMG, V5, V5), "image"),
    Case("01_convolution", "pad_image", lambda i: F.pad_image(i, [(2, 2), (1, 1)], "reflect"), (IMG,), "image"),
    Case("01_convolution", "gaussian_blur", lambda i: F.gaussian_blur(i, 1.5), (IMG,), "image"),
    Case("01_convolution", "image_gradients", F.image_gradients, (IMG,), "image"),
    Case("01_convolution", "derivative_of_gaussian", lambda i: F.derivative_of_gaussian(i, 1.0), (IMG,), "image"),
    Case("01_convolution", "laplacian_of_gaussian", lambda i: F.laplacian_of_gaussian(i, 1.0), (IMG,), "image"),
    Case("01_convolution", "sharpen", F.sharpen, (IMG,), "image"),
    Case("01_convolution", "match_template_ncc", F.match_template_ncc, (IMG, IMG[4:9, 5:10]), "image"),
    Case("01_convolution", "rmse", M.rmse, (IMG, IMG2), "a"),
    Case("01_convolution", "error_split", lambda c, n, k: M.error_split(c, n, k), (IMG, IMG2, K3), "clean"),
    Case("01_convolution", "grating_gain", lambda k: M.grating_gain(k, 0.1), (K3,), "kernel"),
    Case("01_convolution", "edge_snr", lambda r: M.edge_snr(r, column=8, margin=2), (IMG,), "response"),
    Case("01_convolution", "border_gradient", M.border_gradient, (IMG,), "image"),
    Case("01_convolution", "padding_example", M.padding_example, (V5,), "signal"),
    Case("01_convolution", "template_matching", lambda i: M.template_matching(i, 3, 4, 5, 5), (IMG,), "image"),
    Case("01_convolution", "rotate_image", lambda i: M.rotate_image(i, 30.0), (IMG,), "image"),
    # ---------------------------------------------------------------- 02 Fourier
    Case("02_fourier", "sinusoid", lambda t: FT.sinusoid(t, 2.0, 3.0, 0.4), (T,), "t"),
    Case("02_fourier", "read_sinusoid", FT.read_sinusoid, (T, FT.sinusoid(T, 2.0, 3.0, 0.4)), "t"),
    Case("02_fourier", "winding", lambda s, t: FT.winding(s, t, 3.0), (SIGNAL, T), "signal"),
    Case("02_fourier", "winding_centres", lambda s, t: FT.winding_centres(s, t, [1.0, 2.0]), (SIGNAL, T), "signal"),
    Case("02_fourier", "dft", FT.dft, (SIGNAL,), "x"),
    Case("02_fourier", "sampled_ft", FT.sampled_ft, (SIGNAL, T), "signal"),
    Case("02_fourier", "box_ft", lambda f: FT.box_ft(f, 0.5), (V5,), "f"),
    Case("02_fourier", "disc_ft", lambda r: FT.disc_ft(r, 0.2), (V5,), "r"),
    Case("02_fourier", "gaussian_ft", lambda f: FT.gaussian_ft(f, 1.0), (V5,), "f"),
    Case("02_fourier", "windowed", FT.windowed, (IMG,), "image"),
    Case("02_fourier", "spectrum", lambda i: FT.spectrum(i, window=True), (IMG,), "image"),
    Case("02_fourier", "radial_amplitude", lambda i: FT.radial_amplitude(i, n_bins=4, f_min=1 / 16), (IMG,), "image"),
    Case("02_fourier", "with_amplitude", FT.with_amplitude, (IMG, np.abs(np.fft.fft2(IMG2))), "phase_source"),
    Case("02_fourier", "swap_phase", FT.swap_phase, (IMG, IMG2), "amplitude_source"),
    Case("02_fourier", "mean_amplitude", lambda a: FT.mean_amplitude([a, a * 0.5]), (IMG,), "images"),
    Case("02_fourier", "apply_mask", lambda i: FT.apply_mask(i, FT.lowpass_mask(i.shape, 0.2)), (IMG,), "image"),
    Case("02_fourier", "gaussian_blur_fft", lambda i: FT.gaussian_blur_fft(i, 1.5), (IMG,), "image"),
    Case("02_fourier", "overshoot", FT.overshoot, (IMG, IMG2), "filtered"),
    Case("02_fourier", "circular_convolve_1d", FT.circular_convolve_1d, (SIGNAL, SIGNAL[::-1].copy()), "a"),
    Case("02_fourier", "circular_convolve", FT.circular_convolve, (IMG, K3), "image"),
    Case("02_fourier", "fft_convolve", FT.fft_convolve, (IMG, K3), "image"),
    Case("02_fourier", "hybrid_image", lambda a, b: FT.hybrid_image(a, b, 2.0, 1.0), (IMG, IMG2), "low_source"),
    Case("02_fourier", "keep_largest", lambda i: FT.keep_largest(i, 0.2)[0], (IMG,), "image"),
    Case("02_fourier", "compression_psnr", lambda i: FT.compression_psnr(i, [0.1, 0.5]), (IMG,), "image"),
    Case("02_fourier", "edge_error_share", FT.edge_error_share, (IMG, IMG2), "reference"),
    # ---------------------------------------------------------------- 03 backprop
    Case("03_backprop", "linear_forward", lambda x, w, b: L.linear_forward(x, w, b)[0], (X4, W34, B3), "x"),
    Case("03_backprop", "linear_backward", _linear_backward, (RNG.normal(size=(6, 3)), X4, W34, B3), "dout"),
    Case("03_backprop", "linear_backward_loop", L.linear_backward_loop, (RNG.normal(size=(6, 3)), X4, W34), "dout"),
    Case("03_backprop", "relu_forward", lambda x: L.relu_forward(x)[0], (X4,), "x"),
    Case("03_backprop", "sigmoid_forward", lambda x: L.sigmoid_forward(x)[0], (X4,), "x"),
    Case("03_backprop", "conv2d_loop", lambda x, w, b: L.conv2d_loop(x, w, b, padding=1), (XC, WC, BC), "x"),
    Case("03_backprop", "conv2d_forward", lambda x, w, b: L.conv2d_forward(x, w, b, padding=1)[0], (XC, WC, BC), "x"),
    Case("03_backprop", "conv2d_backward", _conv_backward, (RNG.normal(size=(2, 3, 6, 6)), XC, WC, BC), "dout"),
    Case("03_backprop", "conv2d_matrix", lambda w: L.conv2d_matrix(w, (2, 6, 6)), (WC,), "w"),
    Case("03_backprop", "maxpool_forward", lambda x: L.maxpool_forward(x)[0], (XC,), "x"),
    Case("03_backprop", "maxpool_backward", _maxpool_backward, (RNG.normal(size=(2, 2, 3, 3)), XC), "dout"),
    Case("03_backprop", "batchnorm_forward", _batchnorm, (X4, np.ones(4), np.zeros(4)), "x"),
    Case("03_backprop", "batchnorm_backward_graph", L.batchnorm_backward_graph, (X4, X4[::-1].copy(), np.ones(4)), "dout"),
    Case("03_backprop", "softmax", L.softmax, (SCORES,), "scores"),
    Case("03_backprop", "softmax_cross_entropy", lambda s: L.softmax_cross_entropy(s, CLASSES), (SCORES,), "scores"),
    Case("03_backprop", "mse_loss", L.mse_loss, (X4, X4[::-1].copy()), "pred"),
    Case("03_backprop", "binary_cross_entropy_with_logits", L.binary_cross_entropy_with_logits,
         (POINTS[:, 0], LABELS), "logits"),
    Case("03_backprop", "fit_linear_regression", lambda x, y: NM.fit_linear_regression(x, y, steps=50).w,
         (POINTS, POINTS[:, 1]), "x"),
    Case("03_backprop", "fit_logistic_regression", lambda x, y: NM.fit_logistic_regression(x, y, steps=50).w,
         (POINTS, LABELS), "x"),
    Case("03_backprop", "train_mlp", lambda x: NM.train_mlp(x, LABELS.astype(int), hidden=4, steps=50).predict(x),
         (POINTS,), "x"),
    Case("03_backprop", "numeric_gradient", lambda x: G.numeric_gradient(lambda v: float((v ** 2).sum()), x), (V5,), "x"),
    Case("03_backprop", "relative_error", G.relative_error, (V5, V5 + 1e-3), "a"),
    Case("03_backprop", "never_fires", D.never_fires, (V5 - 0.5, V5[::-1] - 0.5), "weight"),
    Case("03_backprop", "filter_spectra", D.filter_spectra, (RNG.normal(size=(4, 3, 3)),), "filters"),
]

IDS = [f"{c.chapter[:2]}-{c.name}" for c in CASES]
PARAMS = [pytest.param(c, marks=pytest.mark.chapter(c.chapter)) for c in CASES]


def _assert_close(got, want, path="result"):
    if isinstance(want, dict):
        assert got.keys() == want.keys(), path
        for key in want:
            _assert_close(got[key], want[key], f"{path}[{key!r}]")
    elif isinstance(want, (tuple, list)):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_close(g, w, f"{path}[{i}]")
    elif hasattr(want, "__array__") or isinstance(want, (int, float, complex, np.number)):
        want_arr, got_arr = np.asarray(want), np.asarray(got)
        scale = float(np.abs(want_arr).max()) if want_arr.size else 1.0
        np.testing.assert_allclose(got_arr, want_arr, rtol=1e-4, atol=1e-5 * max(scale, 1.0), err_msg=path)
    else:
        assert got == want, path


@pytest.mark.parametrize("case", PARAMS, ids=IDS)
def test_float32_inputs_give_the_float64_answer(case):
    want = case.call(*[a.astype(np.float64) for a in case.arrays])
    got = case.call(*[a.astype(np.float32) for a in case.arrays])
    _assert_close(got, want)


TAKE_TENSORS = {"filter_spectra"}   # documented to take a conv layer's weight as it is


@pytest.mark.parametrize("case", PARAMS, ids=IDS)
def test_a_tensor_is_refused_by_name(case):
    first, *rest = case.arrays
    if case.name in TAKE_TENSORS:
        _assert_close(case.call(torch.from_numpy(first.copy()), *rest), case.call(first, *rest))
        return
    with pytest.raises(TypeError, match=rf"^{case.first_name} must be a numpy array, got a torch\.Tensor"):
        case.call(torch.from_numpy(first.copy()), *rest)


def test_the_case_list_covers_every_public_array_function_of_the_three_chapters():
    """A new public function of these modules must join the list (or the exempt set below)."""
    import inspect

    exempt = {  # take no array: sizes, scalars, configs, seeds, or a complex coefficient
        "output_shape", "box_kernel", "identity_kernel", "shift_kernel", "gaussian_kernel1d", "gaussian_kernel",
        "gaussian_derivative_kernel1d", "derivative_of_gaussian_kernels", "laplacian_kernel", "log_kernel",
        "difference_of_gaussians_kernel", "gabor_kernel", "edge_map", "sharpening_kernel", "sharpen_noise_gain",
        "spread_matched_sigma", "blur_1d", "denoise_arm", "kernel_fit_residual", "rotation_is_not_convolution",
        "coefficient_to_sinusoid", "hann_window", "axis_excess", "dominant_frequency", "spectrum_slope",
        "amplitude_swap_study", "radial_frequency", "lowpass_mask", "viewing_distance",
        # layers: the loop twins are called through the same checks as the cases above, and the
        # backward passes that take a cache are covered through their forward pass
        "linear_backward", "conv2d_backward_loop", "maxpool_loop", "maxpool_backward_loop", "relu_backward",
        "sigmoid_backward", "batchnorm_backward", "dropout_mask", "dropout_forward", "dropout_backward",
        "one_hot", "torch_gradients", "as_torch_function", "layer_gradient_checks",
        # torch side: checked in test_torch_side_refuses_numpy_and_mixed_precision
        "fit_full_batch", "layer_gradient_norms", "dead_relu_fraction", "late_loss", "width_depth_arm",
        "gradient_norms", "dead_relus_after_training", "dead_units_arm", "peak_frequency",
        "orientation_concentration", "first_layer_arm",
    }
    covered = {c.name for c in CASES}
    for module in (F, M, FT, L, NM, G, D):
        public = {name for name, obj in vars(module).items()
                  if inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("_")}
        missing = public - covered - exempt
        assert not missing, f"{module.__name__}: add {sorted(missing)} to CASES or to the exempt set"


@pytest.mark.chapter("03_backprop")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_side_works_in_both_precisions(dtype):
    torch.manual_seed(0)
    model = make_mlp(2, [8, 8], 1, "relu").to(dtype)
    x, y = torch.randn(32, 2, dtype=dtype), torch.randn(32, 1, dtype=dtype)
    losses = D.fit_full_batch(model, x, y, lr=1e-2, steps=30)
    assert losses[-1] < losses[0]
    norms = D.layer_gradient_norms(model, x, y)
    reference = torch.autograd.grad(torch.nn.functional.mse_loss(model(x), y),
                                    [m.weight for m in model if isinstance(m, torch.nn.Linear)])
    np.testing.assert_allclose(norms, [g.norm().item() for g in reference], rtol=1e-5)
    assert D.dead_relu_fraction(model, x).shape == (2,)


@pytest.mark.chapter("03_backprop")
@pytest.mark.parametrize("call, match", [
    (lambda m, x, y: D.fit_full_batch(m, x.numpy(), y, steps=2), r"^x must be a torch\.Tensor, got ndarray"),
    (lambda m, x, y: D.fit_full_batch(m, x, y.double(), steps=2), r"^y is torch\.float64 but the model's parameters are torch\.float32"),
    (lambda m, x, y: D.layer_gradient_norms(m, x.double(), y), r"^x is torch\.float64"),
    (lambda m, x, y: D.dead_relu_fraction(m, x.numpy()), r"^x must be a torch\.Tensor"),
])
def test_torch_side_refuses_numpy_and_mixed_precision(call, match):
    torch.manual_seed(0)
    model = make_mlp(2, [4], 1, "relu")
    with pytest.raises(TypeError, match=match):
        call(model, torch.randn(8, 2), torch.randn(8, 1))
