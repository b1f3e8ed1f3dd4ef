"""The enlarged digits, the planted class-coded border, and the SmallCNN they train."""
from __future__ import annotations

import pytest
import torch

from course_utils.data.digits import digits_on_canvas, digits_tensors, frame_by_class
from course_utils.networks import SmallCNN

pytestmark = pytest.mark.chapter("07_interpretability")


def test_digits_on_canvas_enlarges_the_same_split():
    x_tr, y_tr, x_te, y_te = digits_tensors(seed=0)
    big_tr, big_y, big_te, _ = digits_on_canvas(seed=0, scale=2, margin=2)
    assert big_tr.shape == (len(x_tr), 1, 20, 20) and torch.equal(big_y, y_tr)
    # every 2 x 2 block of the enlarged digit is one original pixel; the margin is dark
    torch.testing.assert_close(big_te[:, :, 2:-2:2, 2:-2:2], x_te)
    torch.testing.assert_close(big_te[:, :, 3:-2:2, 3:-2:2], x_te)
    assert big_tr[:, :, :2].abs().max() == 0 and big_tr[:, :, :, -2:].abs().max() == 0
    with pytest.raises(ValueError, match="scale"):
        digits_on_canvas(scale=0)


def test_frame_by_class_paints_the_border_only():
    x = torch.rand(4, 1, 6, 6)
    labels = torch.tensor([0, 9, 3, 9])
    framed, region = frame_by_class(x, labels, width=1)
    assert int(region.sum()) == 36 - 16
    torch.testing.assert_close(framed[:, :, 1:-1, 1:-1], x[:, :, 1:-1, 1:-1])
    levels = framed[:, 0, 0, 0]
    torch.testing.assert_close(levels, 0.25 + 0.5 * labels.float() / 9)
    assert torch.all(framed[:, 0][:, region] == levels[:, None])
    with pytest.raises(ValueError, match="labels must lie"):
        frame_by_class(x, torch.tensor([0, 1, 2, 10]))
    with pytest.raises(ValueError, match="width"):
        frame_by_class(x, labels, width=3)


def test_small_cnn_shapes_and_errors():
    model = SmallCNN(in_channels=3, size=12, classes=4)
    x = torch.rand(5, 3, 12, 12)
    assert model(x).shape == (5, 4) and model.embed(x).shape == (5, 64)
    assert sum(isinstance(m, torch.nn.ReLU) for m in model.modules()) == 3
    with pytest.raises(ValueError, match=r"x must be \(N, C, 12, 12\)"):
        model(torch.rand(5, 3, 20, 20))
    with pytest.raises(ValueError, match="classes"):
        SmallCNN(classes=1)
