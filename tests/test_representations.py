"""Tests for course_utils.interpretability.representations: receptive fields against gradient support,
top activations against a brute-force search, selectivity and the similarity matrix."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.interpretability import representations as rep
from course_utils.networks import SmallCNN

pytestmark = pytest.mark.chapter("07_interpretability")


def _gradient_support(layers, size, row, col, probes=30):
    net = nn.Sequential(*layers)
    support = torch.zeros(size, size, dtype=torch.bool)
    g = torch.Generator().manual_seed(0)
    for _ in range(probes):
        x = torch.randn(1, 1, size, size, generator=g, requires_grad=True)
        grad, = torch.autograd.grad(net(x)[0, :, row, col].sum(), x)
        support |= grad[0, 0] != 0
    return support


@pytest.mark.parametrize("make_layers", [
    lambda: [nn.Conv2d(1, 2, 3, padding=1)],
    lambda: [nn.Conv2d(1, 2, 5, stride=2, padding=2), nn.Conv2d(2, 2, 3)],
    lambda: [nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2), nn.Conv2d(2, 3, 3, padding=1)],
    lambda: [nn.Conv2d(1, 2, 3, dilation=2, padding=2), nn.MaxPool2d(3, stride=2), nn.Conv2d(2, 2, 3)],
], ids=["conv", "strided", "pooled", "dilated"])
def test_receptive_field_is_the_gradient_support(make_layers):
    torch.manual_seed(0)             # the weights are drawn here, whatever ran before this test
    layers = make_layers()
    size, jump, start = rep.receptive_field(layers)
    row = col = 3
    support = _gradient_support(layers, 32, row, col, probes=200)
    expected = torch.zeros(32, 32, dtype=torch.bool)
    top = start + row * jump
    expected[max(top, 0):top + size, max(top, 0):top + size] = True
    assert torch.equal(support, expected)


def test_receptive_field_of_nested_blocks_and_errors():
    model = SmallCNN()
    assert rep.receptive_field([model.conv1]) == (3, 1, -1)
    assert rep.receptive_field([model.conv1, model.conv2]) == (8, 2, -3)
    with pytest.raises(ValueError, match="layers must be"):
        rep.receptive_field([nn.Linear(3, 3)])


def test_top_activations_and_patches_match_brute_force():
    g = torch.Generator().manual_seed(1)
    acts = torch.randn(20, 3, 5, 6, generator=g)
    found = rep.top_activations(acts, unit=2, k=4)
    best_per_image = acts[:, 2].flatten(1).max(dim=1).values
    assert [n for n, *_ in found] == torch.argsort(best_per_image, descending=True)[:4].tolist()
    for n, r, c, v in found:
        assert acts[n, 2, r, c].item() == v == best_per_image[n].item()
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).reshape(2, 1, 6, 6)
    patch = rep.input_patch(x, 1, 0, 2, (3, 2, -1))        # rows -1..1, columns 3..5
    expected = torch.zeros(1, 3, 3)
    expected[:, 1:] = x[1, :, 0:2, 3:6]
    torch.testing.assert_close(patch, expected)
    with pytest.raises(ValueError, match="unit must be"):
        rep.top_activations(acts, unit=3)


def test_unit_selectivity_on_known_units():
    labels = torch.arange(100) % 4
    grandmother = (labels == 2).float() + 0.01 * torch.arange(100) / 100     # fires for class 2 only
    constant_order = torch.arange(100, dtype=torch.float32)                    # indifferent to class
    selectivity = rep.unit_selectivity(torch.stack([grandmother, constant_order], 1), labels, k=20)
    assert selectivity[0].item() == 1.0
    assert selectivity[1].item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="responses"):
        rep.unit_selectivity(grandmother, labels)


def test_class_similarity_matches_numpy_and_layer_activations_hook():
    g = torch.Generator().manual_seed(2)
    emb, labels = torch.randn(60, 5, generator=g), torch.arange(60) % 3
    means = np.stack([emb[labels == c].numpy().mean(0) for c in range(3)])
    np.testing.assert_allclose(rep.class_similarity(emb, labels, 3), np.corrcoef(means - means.mean(0)),
                               atol=1e-6)
    model = SmallCNN()
    x = torch.rand(7, 1, 20, 20)
    acts = rep.layer_activations(model, model.conv2, x, batch=3)
    with torch.no_grad():
        torch.testing.assert_close(acts, model.conv2(model.conv1(x)))
    with pytest.raises(ValueError, match="submodule"):
        rep.layer_activations(model, nn.ReLU(), x)
