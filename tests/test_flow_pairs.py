"""Frame pairs and sequences with exact motion: determinism, exactness of the flow, errors."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import ndimage as ndi
from skimage import color

from course_utils.motion import flow, flow_pairs

pytestmark = pytest.mark.chapter("06_tracking")


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("make", [
    lambda s: flow_pairs.textured_pair(32, "affine", 3.0, seed=s),
    lambda s: flow_pairs.flying_shapes_pair(24, 3, 3.0, seed=s),
    lambda s: flow_pairs.coloured_shapes_sequence(3, 16, 2, seed=s)])
def test_generators_are_deterministic_per_seed(make):
    assert _same(make(3), make(3))
    assert not _same(make(3), make(4))


@pytest.mark.parametrize("motion", flow_pairs.MOTIONS)
def test_textured_pair_flow_is_exact(motion):
    """Frame 1 read where the flow points reproduces frame 0 up to the interpolation error,
    which vanishes as the spline order grows (1, 3, 5); a 20% wrong flow stays far off."""
    pair = flow_pairs.textured_pair(64, motion, 3.0, seed=0)
    assert np.hypot(*pair["flow"]).max() == pytest.approx(3.0, rel=1e-9)
    rows, cols = np.mgrid[0:64, 0:64]

    def error(field, order):
        moved = ndi.map_coordinates(pair["frame1"], [rows + field[0], cols + field[1]],
                                    order=order, mode="mirror")
        return np.abs(moved - pair["frame0"])[8:-8, 8:-8].mean()
    errors = [error(pair["flow"], order) for order in (1, 3, 5)]
    assert errors[0] > 3 * errors[1] > 9 * errors[2]
    assert errors[2] < 1e-3 and errors[2] < 0.05 * error(0.8 * pair["flow"], 5)


def test_integer_translation_moves_pixels_exactly():
    bar = flow_pairs.moving_bar(32, motion=(2.0, 1.0))
    np.testing.assert_allclose(bar["frame1"][2:, 1:], bar["frame0"][:-2, :-1], atol=1e-12)
    pole = flow_pairs.barber_pole(32, period=8.0, shift=1.0)
    np.testing.assert_allclose(pole["frame1"][:, 1:], pole["frame0"][:, :-1], atol=1e-12)
    # the stripes are constant along their direction (r + c = const): the aperture problem
    np.testing.assert_allclose(pole["frame0"][1:, :-1], pole["frame0"][:-1, 1:], atol=1e-12)
    assert np.all(pole["flow"][0] == 0) and np.all(pole["flow"][1] == 1.0)


@given(st.integers(0, 2**31 - 1))
def test_flying_shapes_flow_holds_where_not_occluded(seed):
    pair = flow_pairs.flying_shapes_pair(24, 2, 2.5, seed=seed)
    assert pair["frame0"].shape == pair["frame1"].shape == (24, 24)
    assert pair["flow"].shape == (2, 24, 24) and pair["occluded"].dtype == bool
    assert np.hypot(*pair["flow"]).max() <= 2.5 * 1.5 + 1e-9      # shift plus a slight turn
    target = np.stack(np.mgrid[0:24, 0:24]) + pair["flow"]
    inside = np.all((target >= 0) & (target <= 23), axis=0)
    assert np.array_equal(pair["occluded"] | inside, np.ones((24, 24), bool))   # leaving = occluded
    assert set(np.unique(pair["layers"])) <= {0, 1, 2}


def test_flying_shapes_occlusion_marks_the_pixels_that_break_brightness_constancy():
    errors_visible, errors_hidden = [], []
    for seed in range(20):
        p = flow_pairs.flying_shapes_pair(32, 3, 3.0, seed=seed)
        err = np.abs(flow.warp(p["frame1"], p["flow"]) - p["frame0"])
        errors_visible.append(err[~p["occluded"]])
        errors_hidden.append(err[p["occluded"]])
    visible, hidden = np.concatenate(errors_visible), np.concatenate(errors_hidden)
    assert hidden.size > 0 and np.median(hidden) > 3 * np.median(visible)


def test_flying_shapes_dataset_stacks_pairs():
    data = flow_pairs.flying_shapes_dataset(4, size=16, seed=5)
    assert data["frames"].shape == (4, 2, 16, 16) and data["flows"].shape == (4, 2, 16, 16)
    pair = flow_pairs.flying_shapes_pair(16, 2, 3.0, seed=5 * 100_003 + 1)
    np.testing.assert_allclose(data["frames"][1, 0].numpy(), pair["frame0"], atol=1e-6)
    np.testing.assert_array_equal(data["occluded"][1].numpy(), pair["occluded"])


def test_coloured_sequence_hides_the_hue_from_the_grey_level():
    seq = flow_pairs.coloured_shapes_sequence(frames=4, size=32, num_shapes=3, seed=1)
    rgb, labels = seq["rgb"], seq["labels"]
    assert rgb.shape == (4, 32, 32, 3) and labels.shape == (4, 32, 32)
    assert 0 <= rgb.min() and rgb.max() <= 1 and set(np.unique(labels)) <= {0, 1, 2, 3}
    lab = color.rgb2lab(rgb)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    for k in (1, 2, 3):
        inside = labels == k
        assert inside.any()
        assert np.median(chroma[inside]) > 35 > np.median(chroma[labels == 0])
    # shapes move: a shape's mask is not where it was three frames earlier
    assert (labels[0] == 1).sum() != ((labels[0] == 1) & (labels[3] == 1)).sum()


def test_generator_errors_name_the_argument():
    with pytest.raises(ValueError, match="motion must be one of"):
        flow_pairs.textured_pair(32, "shear")
    with pytest.raises(ValueError, match="magnitude must be finite and >= 0"):
        flow_pairs.textured_pair(32, "translation", -1.0)
    with pytest.raises(ValueError, match="size must be an integer >= 8"):
        flow_pairs.flying_shapes_pair(4)
    with pytest.raises(ValueError, match="motion must be two finite numbers"):
        flow_pairs.moving_bar(32, motion=(1.0,))
    with pytest.raises(ValueError, match="period must be finite and > 0"):
        flow_pairs.barber_pole(32, period=0)
    with pytest.raises(ValueError, match="num_shapes must be an integer >= 1"):
        flow_pairs.coloured_shapes_sequence(num_shapes=0)
    with pytest.raises(ValueError, match="count must be an integer >= 1"):
        flow_pairs.flying_shapes_dataset(0)


def test_layer_boundaries_match_scipy_min_max_filters():
    from scipy import ndimage

    rng = np.random.default_rng(0)
    layers = rng.integers(0, 3, size=(2, 12, 10))
    layers[:, :6] = 0                                       # a flat region too
    for width in (1, 2):
        size = (1, 2 * width + 1, 2 * width + 1)
        expected = (ndimage.maximum_filter(layers, size=size, mode="nearest")
                    != ndimage.minimum_filter(layers, size=size, mode="nearest"))
        np.testing.assert_array_equal(flow_pairs.layer_boundaries(layers, width), expected)
    as_tensor = flow_pairs.layer_boundaries(torch.from_numpy(layers))
    assert isinstance(as_tensor, torch.Tensor) and as_tensor.dtype == torch.bool
    with pytest.raises(ValueError, match="layers"):
        flow_pairs.layer_boundaries(np.zeros((4, 4)))        # float labels
    with pytest.raises(ValueError, match="width"):
        flow_pairs.layer_boundaries(layers, 0)


def test_flying_shapes_dataset_carries_each_pairs_layers():
    data = flow_pairs.flying_shapes_dataset(3, size=16, seed=4)
    for i in range(3):
        pair = flow_pairs.flying_shapes_pair(16, 1 + i % 3, 3.0, 4 * 100_003 + i)
        np.testing.assert_array_equal(data["layers"][i].numpy(), pair["layers"])


def test_coloured_sequence_back_flow_warps_the_previous_frame_onto_the_next():
    from skimage.color import rgb2gray

    from course_utils.motion import flow

    seq = flow_pairs.coloured_shapes_sequence(frames=5, size=32, seed=7)
    assert seq["back_flow"].shape == (5, 2, 32, 32) and not seq["back_flow"][0].any()
    grey = rgb2gray(seq["rgb"])
    inside = ~flow_pairs.layer_boundaries(seq["labels"], 2)          # away from the moving edges
    for t in range(1, 5):
        warped = flow.warp(grey[t - 1], seq["back_flow"][t])
        inner = inside[t].copy()
        inner[:3], inner[-3:], inner[:, :3], inner[:, -3:] = False, False, False, False
        error = np.abs(warped - grey[t])[inner].mean()
        assert error < 0.25 * np.abs(grey[t - 1] - grey[t])[inner].mean()
        # the background slides half a pixel right per frame: its back flow is (0, -0.5)
        np.testing.assert_allclose(seq["back_flow"][t][:, seq["labels"][t] == 0],
                                   np.array([[0.0], [-0.5]]) * np.ones((1, (seq["labels"][t] == 0).sum())))
