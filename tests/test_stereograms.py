"""Random-dot stereograms: the visible mask, the dots hiding the shape, and block matching
recovering it."""
import numpy as np
import pytest

from course_utils.geometry3d import stereo
from course_utils.geometry3d import stereograms

pytestmark = pytest.mark.chapter("13_3d_vision")


def test_visible_pixels_appear_in_the_right_image_at_x_minus_d():
    s = stereograms.random_dot_stereogram(seed=1)
    h, w = s["left"].shape
    ys, xs = np.nonzero(s["visible"])
    d = s["disparity"][ys, xs].astype(int)
    np.testing.assert_array_equal(s["right"][ys, xs - d], s["left"][ys, xs])
    # occluded: background just left of a raised shape, covered by it in the right view
    occluded = ~s["visible"]
    assert 0.01 < occluded.mean() < 0.2
    assert np.all(occluded[:, :2])  # x - 2 < 0: out of the right image
    assert set(np.unique(s["disparity"])) == {2.0, 6.0, 10.0}


def test_occluded_pixels_are_exactly_those_covered_by_a_nearer_surface():
    disparity = np.full((4, 20), 1, dtype=int)
    disparity[:, 10:14] = 4  # a raised bar: it lands at columns 6..9 in the right image
    s = stereograms.random_dot_stereogram(disparity, seed=0)
    # background left pixels 7..10 map to right columns 6..9, which the bar overwrites
    expected = np.ones((4, 20), bool)
    expected[:, 0] = False
    expected[:, 7:10] = False
    np.testing.assert_array_equal(s["visible"], expected)


def test_neither_image_alone_shows_the_shape():
    s = stereograms.random_dot_stereogram(seed=2)
    raised = s["disparity"] > 2
    for name in ("left", "right"):
        image = s[name]
        assert abs(image[raised].mean() - image[~raised].mean()) < 0.03
        assert abs(image[raised].std() - image[~raised].std()) < 0.03


def test_block_matching_recovers_the_stereogram():
    s = stereograms.random_dot_stereogram(seed=3)
    estimate = stereo.block_matching(s["left"], s["right"], 12, 7, "sad")
    m = s["visible"]
    assert np.mean(estimate[m] == s["disparity"][m]) > 0.97


def test_seeded_and_validated():
    a = stereograms.random_dot_stereogram(seed=5)
    b = stereograms.random_dot_stereogram(seed=5)
    np.testing.assert_array_equal(a["right"], b["right"])
    assert not np.array_equal(a["left"], stereograms.random_dot_stereogram(seed=6)["left"])
    with pytest.raises(ValueError, match="disparity"):
        stereograms.random_dot_stereogram(np.ones((8, 8)))
    with pytest.raises(ValueError, match="disparity"):
        stereograms.random_dot_stereogram(-np.ones((8, 8), dtype=int))
    with pytest.raises(ValueError, match="density"):
        stereograms.random_dot_stereogram(density=1.5)
    with pytest.raises(ValueError, match="height"):
        stereograms.disparity_scene(height=4)
