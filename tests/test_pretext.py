"""Tests for course_utils.selfsup.pretext: patch pairs and their labels, the colour cast and grey,
the counting terms, and short runs of each pretext task."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.selfsup import pretext
from course_utils.networks import ConvEncoder
from course_utils.train import fit_autoencoder

pytestmark = pytest.mark.chapter("08_self_supervised")


def test_context_pairs_cut_the_right_neighbour():
    images = torch.arange(2 * 1 * 24 * 24, dtype=torch.float32).reshape(2, 1, 24, 24)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        centre, neighbour, labels = pretext.context_pairs(images, 7, 1, g)
        for i in range(2):
            torch.testing.assert_close(centre[i], images[i, :, 8:15, 8:15])
            dr, dc = pretext.NEIGHBOURS[labels[i]]
            top, left = 8 + 8 * dr, 8 + 8 * dc
            torch.testing.assert_close(neighbour[i], images[i, :, top:top + 7, left:left + 7])
    with pytest.raises(ValueError, match="needs 27 pixels"):
        pretext.context_pairs(torch.zeros(1, 1, 20, 20), 9, 0, g)


def test_colour_cast_keeps_the_grey_value_and_encodes_position():
    images = torch.rand(3, 3, 9, 12)
    cast = pretext.colour_cast(images, 0.4)
    torch.testing.assert_close(pretext.to_grey(cast), pretext.to_grey(images))
    shift = cast - images
    torch.testing.assert_close(shift[:, 0, :, -1], torch.full((3, 9), 0.4))     # red at the right edge
    torch.testing.assert_close(shift[:, 1, 0, :], torch.full((3, 12), -0.4))    # green at the top
    with pytest.raises(ValueError, match="3 colour channels"):
        pretext.colour_cast(torch.rand(1, 1, 4, 4), 0.1)


def test_position_from_colour_grows_with_the_cast():
    images = torch.rand(40, 3, 24, 24) * 0.2 + 0.4
    assert pretext.position_from_colour(images, 0.0) < 0.3
    assert pretext.position_from_colour(images, 0.3) > 0.9


def test_tiles_and_counting_terms():
    images = torch.rand(4, 3, 8, 8)
    parts = pretext.tiles(images)
    assert parts.shape == (4, 4, 3, 4, 4)
    torch.testing.assert_close(parts[3], images[:, :, 4:, 4:])

    class SumOfPixels(torch.nn.Module):     # phi = total intensity per channel x 4 / 4 ...
        out_features = 3

        def forward(self, x):
            return x.sum(dim=(2, 3))

    # total intensity of the 4 tiles = 4 x total of the area-averaged half-size image
    equality, contrast = pretext.counting_terms(SumOfPixels(), images, images.flip(0), margin=100.0)
    whole = torch.nn.functional.adaptive_avg_pool2d(images, 4).sum(dim=(2, 3))
    expected = ((whole - images.sum(dim=(2, 3))) ** 2).sum(dim=1).mean()
    torch.testing.assert_close(equality, expected)
    other = torch.nn.functional.adaptive_avg_pool2d(images.flip(0), 4).sum(dim=(2, 3))
    torch.testing.assert_close(contrast, (100.0 - ((other - images.sum(dim=(2, 3))) ** 2).sum(dim=1)).clamp_min(0).mean())
    with pytest.raises(ValueError, match="others"):
        pretext.counting_terms(SumOfPixels(), images, images[:2])


def test_pretext_tasks_train(one_torch_thread):
    from course_utils.data.shapes import make_dataset

    images = make_dataset(256, 0, size=24, max_objects=1, min_size=8, max_size=16, background="plain")["images"]
    torch.manual_seed(0)
    net = pretext.ContextNet(ConvEncoder(widths=(8, 16, 16)))
    losses = pretext.train_context(net, images, steps=60, batch=64)
    assert np.mean(losses[-10:]) < np.log(8) - 0.2
    assert pretext.context_accuracy(net, images) > 0.2
    torch.manual_seed(0)
    history = pretext.train_counting(ConvEncoder(widths=(8, 16, 16), pool="mean"), images, steps=60, batch=16,
                                     margin=1.0, lr=3e-3)
    assert np.mean(history["equality"][-10:]) < 0.1 * history["equality"][0]
    torch.manual_seed(0)
    autoencoder = pretext.ConvAutoencoder(ConvEncoder(widths=(8, 16, 16)), size=24)
    errors = fit_autoencoder(autoencoder, images, steps=60, batch=32)["reconstruction"]
    assert np.mean(errors[-5:]) < 0.6 * errors[0]
    with pytest.raises(ValueError, match="multiple of 4"):
        pretext.ConvAutoencoder(ConvEncoder(), size=22)


def test_shortcut_arms_change_the_training_images_only(one_torch_thread):
    """The arms of the colour-cast comparison: a cast of strength 0 is the clean arm bit for
    bit, each seed's result does not depend on the other seeds run with it, and the arms'
    names are checked."""
    from course_utils.selfsup.evaluation import shape_images

    x, y = shape_images(200, seed=0)
    xt, yt = shape_images(90, seed=1)

    def arm(kind, strength, seeds=(0, 1, 2)):
        config = {"training images": kind, "strength": strength, "steps": 4, "batch": 16,
                  "per_class": 5}
        return pretext.shortcut_arm(config, list(seeds), x, y, xt, yt)

    clean = arm("clean", 0.3)
    assert set(clean) == {"pretext accuracy", "probe"} and all(len(v) == 3 for v in clean.values())
    assert arm("colour cast", 0.0) == clean
    assert arm("clean", 0.3, seeds=(1,)) == {k: v[1:2] for k, v in clean.items()}
    assert len(set(clean["probe"])) > 1 or len(set(clean["pretext accuracy"])) > 1
    with pytest.raises(ValueError, match=r"config\['training images'\] must be one of"):
        arm("sepia", 0.3)
