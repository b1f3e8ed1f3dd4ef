"""Tests for course_utils.recognition.resnet: the residual switch, identity at zero init, the signal of a
deep plain net, the first-layer gradient against autograd, and a short digits run."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_utils.model_size import count_parameters
from course_utils.recognition.resnet import (Block, DeepCNN, activation_scales,
                                             first_layer_gradient_norm, train_on_digits)

pytestmark = pytest.mark.chapter("04_object_recognition")


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


@pytest.mark.parametrize("residual", [False, True])
def test_first_layer_gradient_norm_matches_autograd(residual, device):
    torch.manual_seed(0)
    model = DeepCNN(num_blocks=3, channels=4, residual=residual, norm=True).to(device)
    x = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    y = torch.arange(16) % 10
    grad = torch.autograd.grad(F.cross_entropy(model(x.to(device)), y.to(device)),
                               model.stem.weight)[0]
    assert first_layer_gradient_norm(model, x, y) == pytest.approx(float(grad.norm()), rel=1e-5)
    assert all(p.grad is None for p in model.parameters())         # gradients cleared
    with pytest.raises(ValueError, match="y must be"):
        first_layer_gradient_norm(model, x, y[:3])
    with pytest.raises(TypeError, match="model must be a DeepCNN"):
        first_layer_gradient_norm(torch.nn.Linear(2, 2), x, y)


def test_train_on_digits_learns(one_torch_thread):
    torch.manual_seed(0)
    model = DeepCNN(num_blocks=1, channels=8, residual=True, norm=True)
    history = train_on_digits(model, epochs=2, progress=False)
    assert len(history["train_loss"]) == 2 and history["train_loss"][1] < history["train_loss"][0]
    assert history["test_accuracy"][0] > 0.25          # 10 classes: chance is 0.1
    assert history["first_layer_grad"][0] > 0
    with pytest.raises(ValueError, match="epochs"):
        train_on_digits(model, epochs=0)
    with pytest.raises(ValueError, match="lr"):
        train_on_digits(model, lr=-1.0)
    with pytest.raises(TypeError, match="model must be a DeepCNN"):
        train_on_digits(torch.nn.Linear(2, 2))


def test_deep_cnn_on_device_matches_cpu(device):
    torch.manual_seed(0)
    model = DeepCNN(num_blocks=2, channels=4, residual=True, norm=True).eval()
    x = torch.rand(4, 1, 8, 8)
    expected = model(x)
    torch.testing.assert_close(model.to(device)(x.to(device)).cpu(), expected,
                               atol=1e-5, rtol=1e-5)


def test_activation_scales_normalise_with_the_batch_and_leave_the_model_alone():
    """With BatchNorm the plain net's features keep their spread (each block re-standardises
    them: the per-feature std after a BatchNorm + ReLU is O(0.1-1)), without it they fade; the
    running statistics and the mode are untouched."""
    x = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    normed = DeepCNN(num_blocks=10, channels=8, residual=False, norm=True).eval()
    before = {k: v.clone() for k, v in normed.state_dict().items()}
    scales = activation_scales(normed, x)
    assert min(scales[1:]) > 0.05
    assert not normed.training
    assert all(torch.equal(before[k], v) for k, v in normed.state_dict().items())
    torch.manual_seed(0)
    assert activation_scales(DeepCNN(num_blocks=10, channels=8, residual=False, norm=False), x)[-1] < 1e-4
