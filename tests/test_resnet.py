"""Tests for course_utils.resnet: the residual switch, identity at zero init, equal depth and
parameter counts, and the shrinking signal of a deep plain net."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_utils.resnet import Block, DeepCNN, activation_scales, count_parameters


def _zero_last_conv(block: Block) -> None:
    torch.nn.init.zeros_(block.conv2.weight)
    torch.nn.init.zeros_(block.conv2.bias)


@pytest.mark.parametrize("norm", [False, True])
def test_residual_block_is_identity_with_zero_last_conv(norm):
    torch.manual_seed(0)
    block = Block(6, residual=True, norm=norm).eval()
    _zero_last_conv(block)
    x = torch.randn(3, 6, 5, 7)  # negative values too: no ReLU after the addition
    torch.testing.assert_close(block(x), x, rtol=0, atol=0)


def test_plain_block_with_zero_last_conv_outputs_zero():
    torch.manual_seed(0)
    block = Block(4, residual=False)
    _zero_last_conv(block)
    x = torch.randn(2, 4, 6, 6)
    assert float(block(x).detach().abs().max()) == 0.0


def test_block_matches_its_definition():
    torch.manual_seed(1)
    block = Block(3, residual=True)
    x = torch.randn(2, 3, 5, 5)
    inner = F.conv2d(torch.relu(F.conv2d(torch.relu(x), block.conv1.weight, block.conv1.bias,
                                         padding=1)), block.conv2.weight, block.conv2.bias,
                     padding=1)
    torch.testing.assert_close(block(x), x + inner)
    block.residual = False
    torch.testing.assert_close(block(x), inner)


@pytest.mark.parametrize("norm", [False, True])
def test_plain_and_residual_have_same_depth_parameters_and_initial_weights(norm):
    torch.manual_seed(0)
    plain = DeepCNN(num_blocks=10, channels=8, residual=False, norm=norm)
    torch.manual_seed(0)
    residual = DeepCNN(num_blocks=10, channels=8, residual=True, norm=norm)
    print(f"norm={norm}: plain {count_parameters(plain)} parameters, "
          f"residual {count_parameters(residual)} parameters, "
          f"{plain.num_conv_layers} conv layers each")
    assert plain.num_conv_layers == residual.num_conv_layers == 21
    assert count_parameters(plain) == count_parameters(residual)
    for (name, p), (_, q) in zip(plain.named_parameters(), residual.named_parameters()):
        torch.testing.assert_close(p, q, msg=name)
    # same weights, different wiring: the outputs differ
    x = torch.rand(4, 1, 8, 8)
    assert not torch.allclose(plain(x), residual(x))


def test_count_parameters_against_manual_count():
    model = DeepCNN(num_blocks=2, channels=4, in_channels=3, num_classes=5)
    conv = lambda cin, cout: cin * cout * 9 + cout  # noqa: E731
    expected = conv(3, 4) + 4 * conv(4, 4) + 4 * 5 + 5
    assert count_parameters(model) == expected
    model.head.weight.requires_grad_(False)
    assert count_parameters(model) == expected - 20


@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("height,width", [(8, 8), (5, 11)])
def test_deep_cnn_output_shape(residual, height, width):
    model = DeepCNN(num_blocks=3, channels=4, in_channels=2, num_classes=7, residual=residual)
    assert model(torch.rand(3, 2, height, width)).shape == (3, 7)


def test_gradients_flow_to_every_parameter():
    torch.manual_seed(0)
    model = DeepCNN(num_blocks=4, channels=4, residual=True)
    F.cross_entropy(model(torch.rand(8, 1, 8, 8)), torch.arange(8)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name


def test_deep_plain_net_loses_the_signal_residual_keeps_it():
    """At the default initialisation the features of a plain 21-layer net shrink by orders of
    magnitude, and so does the gradient reaching the stem; the shortcuts keep both alive."""
    x = torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.arange(32) % 10
    scales, stem_grads = {}, {}
    for residual in (False, True):
        torch.manual_seed(0)
        model = DeepCNN(num_blocks=10, channels=8, residual=residual)
        scales[residual] = activation_scales(model, x)
        F.cross_entropy(model(x), y).backward()
        stem_grads[residual] = float(model.stem.weight.grad.norm())
    assert len(scales[True]) == 11
    print({k: [f'{v:.2g}' for v in s] for k, s in scales.items()}, stem_grads)
    assert scales[False][-1] < 1e-3 * scales[False][0]
    assert scales[True][-1] > 0.5 * scales[True][0]
    assert stem_grads[True] > 100 * stem_grads[False]


def test_resnet_errors():
    with pytest.raises(ValueError, match="num_blocks must be an integer >= 0"):
        DeepCNN(num_blocks=-1)
    with pytest.raises(TypeError, match="residual must be a bool"):
        DeepCNN(residual="yes")
    with pytest.raises(ValueError, match="channels must be an integer >= 1"):
        Block(0)
    with pytest.raises(ValueError, match="x must have 1 channels"):
        DeepCNN(num_blocks=1, channels=2)(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"x must be a \(N, C, H, W\) tensor"):
        DeepCNN(num_blocks=1, channels=2)(torch.rand(1, 8, 8))
    with pytest.raises(ValueError, match=r"x must be an \(N, C, H, W\) tensor with N >= 2"):
        activation_scales(DeepCNN(num_blocks=1, channels=2), torch.rand(1, 1, 8, 8))
    with pytest.raises(TypeError, match="model must be a DeepCNN"):
        activation_scales(torch.nn.Linear(2, 2), torch.rand(1, 2))
