"""Tests for course_utils.interpretability.representations: receptive fields against gradient support,
top activations against a brute-force search, per-stage responses against the layers applied by
hand, selectivity and the similarity matrix."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
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


def test_layer_responses_match_the_stages_applied_by_hand(device):
    torch.manual_seed(2)
    model = SmallCNN().eval().to(device)
    x = torch.rand(5, 1, 20, 20, generator=torch.Generator().manual_seed(3)).to(device)
    conv1, conv2, linear = model.conv1[0], model.conv2[1], model.embedding[2]
    with torch.no_grad():
        c1 = F.relu(F.conv2d(x, conv1.weight, conv1.bias, padding=1))                     # (5, 16, 20, 20)
        c2 = F.relu(F.conv2d(F.max_pool2d(c1, 2), conv2.weight, conv2.bias, padding=1))   # (5, 32, 10, 10)
        embedding = F.relu(F.linear(F.max_pool2d(c2, 2).flatten(1), linear.weight, linear.bias))
        logits = F.linear(embedding, model.head.weight, model.head.bias)
    expected = {"conv1": c1.amax(dim=(2, 3)), "conv2": c2.amax(dim=(2, 3)), "embedding": embedding,
                "logits": logits}
    ours = rep.layer_responses(model, x)
    assert list(ours) == list(expected)
    for name in expected:
        torch.testing.assert_close(ours[name], expected[name], atol=1e-6, rtol=1e-5)


def test_layer_responses_errors_name_the_argument():
    with pytest.raises(ValueError, match="model must have the stages conv1, conv2 and embedding"):
        rep.layer_responses(nn.Sequential(nn.Conv2d(1, 2, 3)), torch.zeros(1, 1, 8, 8))
