"""Optical flow: warp, Lucas-Kanade (window, loop, dense, coarse-to-fine), structure tensor,
OpenCV's Farneback in row-first form, attention copy, end-point error and its mean over pairs,
against skimage, scipy, torch, exact flow and hand-computed cases."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from scipy import ndimage as ndi
from skimage.registration import optical_flow_ilk

from course_utils import metrics
from course_utils.motion import flow
from course_utils.motion.flow_pairs import MOTIONS, moving_bar, textured_pair

pytestmark = pytest.mark.chapter("06_tracking")


def _random(shape, seed, scale=1.0):
    return np.random.default_rng(seed).normal(size=shape) * scale


# ---------------------------------------------------------------- warp
def test_warp_loop_and_warp_match_map_coordinates():
    """Both forms against scipy's order-1 spline sampling with nearest-border extension."""
    image, field = _random((9, 11), 0), _random((2, 9, 11), 1, scale=3.0)
    rows, cols = np.mgrid[0:9, 0:11]
    expected = ndi.map_coordinates(image, [rows + field[0], cols + field[1]], order=1,
                                   mode="nearest")
    np.testing.assert_allclose(flow.warp_loop(image, field), expected, atol=1e-12)
    np.testing.assert_allclose(flow.warp(image, field), flow.warp_loop(image, field), atol=1e-12)


def test_warp_loop_hand_computed_half_pixel():
    """Half a pixel right and a quarter down from (0, 0) of [[0, 4], [8, 12]]:
    0.75 * (0.5 * 0 + 0.5 * 4) + 0.25 * (0.5 * 8 + 0.5 * 12) = 1.5 + 2.5 = 4."""
    image = np.array([[0.0, 4.0], [8.0, 12.0]])
    field = np.zeros((2, 2, 2))
    field[:, 0, 0] = (0.25, 0.5)
    assert flow.warp_loop(image, field)[0, 0] == pytest.approx(4.0)
    assert flow.warp(image, field)[0, 0] == pytest.approx(4.0)
    with pytest.raises(ValueError, match="flow must have shape"):
        flow.warp_loop(image, np.zeros((2, 3, 2)))
    with pytest.raises(ValueError, match="image must be at least 2 x 2"):
        flow.warp_loop(np.zeros((1, 4)), np.zeros((2, 1, 4)))


def test_warp_matches_map_coordinates_with_nearest_border():
    image, field = _random((12, 10), 2), _random((2, 12, 10), 3, scale=4.0)
    rows, cols = np.mgrid[0:12, 0:10]
    expected = ndi.map_coordinates(image, [rows + field[0], cols + field[1]], order=1,
                                   mode="nearest")
    np.testing.assert_allclose(flow.warp(image, field), expected, atol=1e-12)


def test_warp_uses_align_corners_true():
    """Zero flow is the identity only because -1 and +1 are the corner pixels' centres;
    grid_sample with align_corners=False on the same grid would blur and shift the image."""
    image = _random((6, 8), 4)
    np.testing.assert_allclose(flow.warp(image, np.zeros((2, 6, 8))), image, atol=1e-12)
    rows, cols = np.mgrid[0:6, 0:8]
    grid = torch.tensor(np.stack([2 * cols / 7 - 1, 2 * rows / 5 - 1], -1))[None]
    other = F.grid_sample(torch.tensor(image)[None, None], grid, align_corners=False,
                          padding_mode="border")[0, 0].numpy()
    assert np.abs(other - image).max() > 0.1
    # an integer shift moves pixels exactly
    shift = np.zeros((2, 6, 8))
    shift[1] = 2
    np.testing.assert_allclose(flow.warp(image, shift)[:, :-2], image[:, 2:], atol=1e-12)


def test_warp_batches_channels_and_broadcasts_flow(device, dtype):
    image = torch.tensor(_random((2, 3, 7, 9), 5), dtype=dtype, device=device)
    field = torch.tensor(_random((2, 7, 9), 6, scale=2.0), dtype=dtype, device=device)
    out = flow.warp(image, field)
    assert out.shape == image.shape and out.dtype == dtype and out.device.type == device.type
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    for n in range(2):
        for c in range(3):
            expected = flow.warp_loop(image[n, c].double().cpu().numpy(),
                                      field.double().cpu().numpy())
            np.testing.assert_allclose(out[n, c].double().cpu().numpy(), expected, atol=tol)
    assert flow.warp(image[0], field).shape == (3, 7, 9)


def test_warp_gradcheck():
    image = torch.tensor(_random((1, 1, 5, 6), 7), requires_grad=True)
    field = torch.tensor(_random((1, 2, 5, 6), 8, scale=1.5) + 0.3, requires_grad=True)
    assert torch.autograd.gradcheck(flow.warp, (image, field))


def test_warp_errors_name_the_argument():
    with pytest.raises(ValueError, match="flow must have shape"):
        flow.warp(np.zeros((4, 5)), np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match="image must be at least 2 x 2"):
        flow.warp(np.zeros((1, 5)), np.zeros((2, 1, 5)))
    with pytest.raises(ValueError, match="image must have"):
        flow.warp(np.zeros(5), np.zeros((2, 5)))


# ---------------------------------------------------------------- one window
@given(st.integers(0, 10_000), st.floats(-3, 3), st.floats(-3, 3))
def test_window_solve_recovers_the_flow_of_consistent_equations(seed, u_r, u_c):
    grad_r, grad_c = _random((5, 5), seed), _random((5, 5), seed + 1)
    grad_t = -(grad_r * u_r + grad_c * u_c)
    np.testing.assert_allclose(flow.lucas_kanade_window(grad_r, grad_c, grad_t), [u_r, u_c],
                               atol=1e-8)


def test_window_solve_is_least_squares():
    grad_r, grad_c, grad_t = (_random((7, 7), s) for s in (10, 11, 12))
    system = np.stack([grad_r.ravel(), grad_c.ravel()], 1)
    expected = np.linalg.lstsq(system, -grad_t.ravel(), rcond=None)[0]
    np.testing.assert_allclose(flow.lucas_kanade_window(grad_r, grad_c, grad_t), expected,
                               atol=1e-10)


def test_window_on_an_edge_returns_only_the_normal_component():
    """Aperture problem: a vertical edge constrains only the column motion."""
    grad_c = np.tile([0.0, 0.5, 1.0, 0.5, 0.0], (5, 1))
    grad_r = np.zeros((5, 5))
    grad_t = -(grad_r * 1.0 + grad_c * 2.0)                    # true motion (1, 2)
    np.testing.assert_allclose(flow.lucas_kanade_window(grad_r, grad_c, grad_t), [0.0, 2.0],
                               atol=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        flow.lucas_kanade_window(grad_r, grad_c, grad_t[:3])


# ---------------------------------------------------------------- dense and pyramid
def test_loop_equals_one_dense_step():
    pair = textured_pair(20, "translation", 0.7, seed=3)
    loop = flow.lucas_kanade_loop(pair["frame0"], pair["frame1"], window=5)
    dense = flow.lucas_kanade_step(pair["frame0"], pair["frame1"], np.zeros((2, 20, 20)), 5)
    np.testing.assert_allclose(loop, dense, atol=1e-9)
    with pytest.raises(ValueError, match="window must be odd"):
        flow.lucas_kanade_loop(pair["frame0"], pair["frame1"], window=4)


@pytest.mark.parametrize("size,levels", [(32, 1), (64, 2), (128, 3)])
@pytest.mark.parametrize("motion", ["translation", "rotation", "affine"])
def test_lucas_kanade_equals_skimage_optical_flow_ilk(size, levels, motion):
    """skimage halves the image while its side exceeds 32 px: 1, 2 and 3 levels here."""
    pair = textured_pair(size, motion, 2.5, seed=4)
    ours = flow.lucas_kanade(pair["frame0"], pair["frame1"], window=7, levels=levels,
                             iterations=4)
    theirs = optical_flow_ilk(pair["frame0"], pair["frame1"], radius=3, num_warp=4,
                              dtype=np.float64)
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


def test_coarse_to_fine_reaches_exact_flow_where_one_level_fails():
    single, pyramid = [], []
    for seed in range(3):
        pair = textured_pair(64, "translation", 5.0, seed=seed)
        single.append(metrics.endpoint_error(
            flow.lucas_kanade(pair["frame0"], pair["frame1"], levels=1), pair["flow"]))
        pyramid.append(metrics.endpoint_error(
            flow.lucas_kanade(pair["frame0"], pair["frame1"], levels=3), pair["flow"]))
    assert max(pyramid) < 0.3
    assert np.mean(single) > 3 * np.mean(pyramid)


def test_gaussian_pyramid_halves_and_checks_levels():
    image = _random((40, 48), 9)
    shapes = [p.shape for p in flow.gaussian_pyramid(image, 3)]
    assert shapes == [(10, 12), (20, 24), (40, 48)]
    with pytest.raises(ValueError, match="levels=5 would shrink"):
        flow.gaussian_pyramid(image, 5)


def test_lucas_kanade_errors_name_the_argument():
    a = np.zeros((16, 16))
    with pytest.raises(ValueError, match="frame0 and frame1 must have the same shape"):
        flow.lucas_kanade(a, np.zeros((16, 17)))
    with pytest.raises(ValueError, match="frame1 must be a grey"):
        flow.lucas_kanade(a, np.zeros((16, 16, 3)))
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        flow.lucas_kanade(a, a, window=0)
    with pytest.raises(ValueError, match="levels must be an integer >= 1"):
        flow.lucas_kanade(a, a, levels=0)
    with pytest.raises(TypeError, match="frame0 must be a numeric array"):
        flow.lucas_kanade(np.array([["a"]]), a)


# ---------------------------------------------------------------- structure tensor
def test_structure_tensor_eigenvalues_match_eigvalsh():
    image = _random((12, 14), 13)
    rr, rc, cc = flow.structure_tensor(image, 5)
    matrices = np.stack([np.stack([rr, rc], -1), np.stack([rc, cc], -1)], -2)
    expected = np.moveaxis(np.linalg.eigvalsh(matrices)[..., ::-1], -1, 0)
    np.testing.assert_allclose(flow.structure_tensor_eigenvalues(image, 5), expected, atol=1e-12)


def test_straight_edge_is_rank_one():
    bar = moving_bar(64)["frame0"]
    big, small = flow.structure_tensor_eigenvalues(bar, 9)
    r, c = 32, int(np.argmax(big[32]))                       # on the bar's side
    assert big[r, c] > 1e-3 and small[r, c] < 1e-8 * big[r, c]


# ---------------------------------------------------------------- attention copy
def test_attention_copy_matches_scaled_dot_product_attention(device, dtype):
    gen = torch.Generator().manual_seed(0)
    ref, target = torch.randn(30, 8, generator=gen), torch.randn(20, 8, generator=gen)
    values = torch.randn(30, 3, generator=gen)
    ref, target, values = (t.to(device, dtype) for t in (ref, target, values))
    ours = flow.attention_copy(ref, target, values, temperature=0.3)
    theirs = F.scaled_dot_product_attention(target[None], ref[None], values[None], scale=1 / 0.3)[0]
    torch.testing.assert_close(ours, theirs)
    batched = flow.attention_copy(ref[None].repeat(2, 1, 1), target[None].repeat(2, 1, 1),
                                  values[None].repeat(2, 1, 1), 0.3)
    torch.testing.assert_close(batched[1], ours)


def test_attention_copy_rows_are_convex_combinations_and_gradcheck():
    gen = torch.Generator().manual_seed(1)
    ref = torch.randn(6, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    target = torch.randn(5, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    ones = torch.ones(6, 1, dtype=torch.float64)
    torch.testing.assert_close(flow.attention_copy(ref, target, ones, 0.1), torch.ones(5, 1,
                                                                                   dtype=torch.float64))
    values = torch.randn(6, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, v: flow.attention_copy(a, b, v, 0.7),
                                    (ref, target, values))


def test_attention_copy_low_temperature_copies_the_best_match():
    ref = torch.eye(4)
    values = torch.arange(4.0)[:, None]
    out = flow.attention_copy(ref, ref[[2, 0]], values, temperature=1e-3)
    torch.testing.assert_close(out, torch.tensor([[2.0], [0.0]]))


def test_attention_copy_errors_name_the_argument():
    a = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="temperature must be finite and > 0"):
        flow.attention_copy(a, a, a, 0.0)
    with pytest.raises(ValueError, match="same feature size"):
        flow.attention_copy(a, torch.zeros(3, 5), a, 1.0)
    with pytest.raises(ValueError, match="ref_values must have one row per reference pixel"):
        flow.attention_copy(a, a, torch.zeros(4, 2), 1.0)
    with pytest.raises(TypeError, match="ref_features must be a torch.Tensor"):
        flow.attention_copy(np.zeros((3, 2)), a, a, 1.0)


# ---------------------------------------------------------------- end-point error
def test_endpoint_error_is_the_mean_vector_length():
    est, truth = _random((2, 5, 6), 14), _random((2, 5, 6), 15)
    expected = np.mean(np.hypot(est[0] - truth[0], est[1] - truth[1]))
    assert metrics.endpoint_error(est, truth) == pytest.approx(expected, rel=1e-12)
    assert metrics.endpoint_error(torch.tensor(est)[None], torch.tensor(truth)[None]) == \
        pytest.approx(expected, rel=1e-12)
    mask = np.zeros((5, 6), dtype=bool)
    mask[1, 2] = True
    assert metrics.endpoint_error(est, truth, mask) == pytest.approx(
        np.hypot(*(est - truth)[:, 1, 2]), rel=1e-12)


def test_endpoint_error_errors():
    with pytest.raises(ValueError, match="flow and true_flow must have the same shape"):
        metrics.endpoint_error(np.zeros((2, 3, 3)), np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"flow must be \(2, H, W\)"):
        metrics.endpoint_error(np.zeros((3, 3, 3)), np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="mask must select at least one pixel"):
        metrics.endpoint_error(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), np.zeros((3, 3), bool))


# ---------------------------------------------------------------- Farneback and the mean over pairs
def _smooth_texture(size=64, seed=0):
    """Blurred noise stretched to [0.1, 0.9]: detail Farneback's polynomial fit can follow."""
    texture = ndi.gaussian_filter(np.random.default_rng(seed).random((size, size)), 2.0)
    return 0.1 + 0.8 * (texture - texture.min()) / (texture.max() - texture.min())


@pytest.mark.parametrize("shift", [(0.0, 2.0), (1.5, 0.0), (-1.0, 2.5)])
def test_farneback_flow_is_row_first_on_a_known_shift(shift):
    """scipy's ndi.shift moves the content by +shift (rows, cols), so the flow is that shift
    everywhere; with the axes in OpenCV's (x, y) order the (0, 2) case would read (2, 0)."""
    frame0 = _smooth_texture()
    frame1 = ndi.shift(frame0, shift, order=3, mode="reflect")
    estimate = flow.farneback_flow(frame0, frame1)
    assert estimate.shape == (2, 64, 64)
    inner = estimate[:, 12:-12, 12:-12]
    np.testing.assert_allclose(inner, np.broadcast_to(np.array(shift)[:, None, None], inner.shape),
                               atol=0.1)


@pytest.mark.parametrize("motion", MOTIONS)
def test_farneback_flow_follows_the_true_flow_of_textured_pairs(motion):
    pair = textured_pair(64, motion, 3.0, seed=1)
    estimate = flow.farneback_flow(pair["frame0"], pair["frame1"])
    error = metrics.endpoint_error(estimate, pair["flow"])
    assert error < 0.3
    assert error < 0.2 * metrics.endpoint_error(estimate[::-1], pair["flow"])     # axes swapped
    assert error < 0.2 * metrics.endpoint_error(np.zeros_like(estimate), pair["flow"])


def test_farneback_flow_errors_name_the_argument():
    a = np.zeros((16, 16))
    with pytest.raises(ValueError, match="frame0 and frame1 must have the same shape"):
        flow.farneback_flow(a, np.zeros((16, 17)))
    with pytest.raises(ValueError, match="frame1 must be a grey"):
        flow.farneback_flow(a, np.zeros((16, 16, 3)))
    with pytest.raises(ValueError, match="levels must be an integer >= 1"):
        flow.farneback_flow(a, a, levels=0)
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        flow.farneback_flow(a, a, window=2.5)


def _zero_flow(frame0, frame1):
    return np.zeros((2,) + np.shape(frame0))


def _constant_flow(frame0, frame1, row, col):
    return np.stack([np.full(np.shape(frame0), row), np.full(np.shape(frame0), col)])


def test_mean_endpoint_error_of_hand_computed_cases():
    """A translation's flow has the same length everywhere, so zero flow errs by exactly
    that length, and a constant guess by its distance from the shift."""
    pairs = [textured_pair(24, "translation", m, seed=s) for s, m in enumerate((1.0, 2.0, 4.0))]
    assert flow.mean_endpoint_error(_zero_flow, pairs) == pytest.approx(7 / 3, rel=1e-12)
    expected = np.mean([np.hypot(0.5 - p["flow"][0, 0, 0], -1.0 - p["flow"][1, 0, 0]) for p in pairs])
    assert flow.mean_endpoint_error(_constant_flow, pairs, row=0.5, col=-1.0) == \
        pytest.approx(expected, rel=1e-12)


def test_mean_endpoint_error_counts_each_pair_once_whatever_its_size():
    pairs = [textured_pair(16, "translation", 1.0, seed=0), textured_pair(32, "translation", 3.0, seed=1)]
    assert flow.mean_endpoint_error(_zero_flow, iter(pairs)) == pytest.approx(2.0, rel=1e-12)  # not 2.6


def test_mean_endpoint_error_reproduces_lucas_kanade_claims():
    """The coarse-to-fine claim of the notebook: 3 levels within 0.3 px on 5-pixel pairs, one
    level clearly worse."""
    pairs = [textured_pair(64, m, 5.0, seed=0) for m in MOTIONS]
    pyramid = flow.mean_endpoint_error(flow.lucas_kanade, pairs, window=15, levels=3)
    single = flow.mean_endpoint_error(flow.lucas_kanade, pairs, window=15, levels=1)
    assert pyramid < 0.3 and single > 3 * pyramid


def test_mean_endpoint_error_errors_name_the_argument():
    pair = textured_pair(16, "translation", 1.0)
    with pytest.raises(TypeError, match="method must be callable"):
        flow.mean_endpoint_error("lucas_kanade", [pair])
    with pytest.raises(ValueError, match="pairs must hold at least one pair"):
        flow.mean_endpoint_error(_zero_flow, [])
    with pytest.raises(ValueError, match=r"pairs\[1\] must be a mapping with keys"):
        flow.mean_endpoint_error(_zero_flow, [pair, {"frame0": pair["frame0"], "frame1": pair["frame1"]}])
    with pytest.raises(ValueError, match=r"pairs\[0\] must be a mapping"):
        flow.mean_endpoint_error(_zero_flow, [(pair["frame0"], pair["frame1"], pair["flow"])])


def test_lucas_kanade_batch_and_tuning_against_skimage():
    from course_utils.motion.flow_pairs import flying_shapes_dataset

    data = flying_shapes_dataset(4, size=32, seed=3)
    flows = flow.lucas_kanade_batch(data["frames"], window=9, levels=1)
    for pair, estimate in zip(data["frames"].double().numpy(), flows.numpy()):
        # one pyramid level: skimage's iterative Lucas-Kanade on a 32 x 32 pair
        reference = optical_flow_ilk(pair[0], pair[1], radius=4, num_warp=5, dtype=np.float64)
        np.testing.assert_allclose(estimate, reference, atol=1e-9)
    options, rows = flow.tune_lucas_kanade(data["frames"], data["flows"], windows=(5, 9), levels=(1, 2))
    assert len(rows) == 4 and options == {k: min(rows, key=lambda r: r["EPE"])[k] for k in ("window", "levels")}
    row = next(r for r in rows if (r["window"], r["levels"]) == (9, 1))
    assert row["EPE"] == pytest.approx(metrics.endpoint_error(flows, data["flows"]))
    with pytest.raises(ValueError, match="frames"):
        flow.lucas_kanade_batch(data["frames"][:, :1])
    with pytest.raises(ValueError, match="flows"):
        flow.tune_lucas_kanade(data["frames"], data["flows"][:2])
