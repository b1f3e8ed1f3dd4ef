"""Tests for course_utils.synthesis.cyclegan: the translator's range and locality, the cycle loss, a
short training run whose cycle error falls, and the errors."""
from __future__ import annotations

import pytest
import torch

from course_utils.synthesis import cyclegan
from course_utils.data.digits import unpaired_domains

pytestmark = pytest.mark.chapter("09_synthesis")


def test_translator_keeps_the_size_and_range():
    torch.manual_seed(0)
    out = cyclegan.ConvTranslator(channels=4, kernel=3)(torch.rand(2, 1, 8, 8))
    assert out.shape == (2, 1, 8, 8) and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("kernel", [3, 5])
def test_translator_is_local(kernel):
    torch.manual_seed(0)
    model = cyclegan.ConvTranslator(channels=4, kernel=kernel).double()
    x = torch.rand(1, 1, 32, 32, dtype=torch.float64, requires_grad=True)
    grad, = torch.autograd.grad(model(x)[0, 0, 16, 16], x)
    rows, cols = grad[0, 0].abs().gt(0).nonzero(as_tuple=True)
    reach = 3 * (kernel // 2)     # three convolutions, each reaching kernel // 2 pixels
    assert rows.min() == 16 - reach and rows.max() == 16 + reach
    assert cols.min() == 16 - reach and cols.max() == 16 + reach


def test_cycle_loss_is_the_mean_absolute_difference():
    x, y = torch.tensor([[0.0, 1.0], [0.5, 0.5]]), torch.tensor([[1.0, 1.0], [0.0, 0.25]])
    assert cyclegan.cycle_loss(x, y).item() == pytest.approx((1 + 0 + 0.5 + 0.25) / 4)
    with pytest.raises(ValueError, match="reconstructed must have x's shape"):
        cyclegan.cycle_loss(x, y[:1])


def test_training_with_the_cycle_loss_lowers_the_cycle_error(one_torch_thread):
    a, _, b, _, _ = unpaired_domains()
    final = {}
    for weight in (0.0, 10.0):
        _, _, history = cyclegan.train_cyclegan(a, b, cycle_weight=weight, steps=150, batch=16, channels=4, seed=0)
        assert len(history["cycle"]) == len(history["adversarial"]) == 150
        final[weight] = sum(history["cycle"][-15:]) / 15
    first = sum(history["cycle"][:15]) / 15
    print(final, first)
    assert final[10.0] < 0.6 * first and final[10.0] < 0.6 * final[0.0]


@pytest.mark.parametrize("call, match", [
    (lambda: cyclegan.ConvTranslator(kernel=4), "kernel must be odd"),
    (lambda: cyclegan.ConvTranslator()(torch.zeros(1, 3, 8, 8)), r"x must be \(N, 1, H, W\)"),
    (lambda: cyclegan.train_cyclegan(torch.zeros(4, 1, 8, 8), torch.zeros(4, 1, 6, 6)), "same image size"),
    (lambda: cyclegan.train_cyclegan(torch.zeros(4, 1, 8, 8), torch.zeros(4, 1, 8, 8), cycle_weight=-1.0),
     "cycle_weight must be finite and >= 0"),
    (lambda: cyclegan.train_cyclegan(torch.zeros(4, 1, 8, 8), torch.zeros(4, 1, 8, 8), steps=0), "steps must be"),
    (lambda: cyclegan.train_cyclegan(torch.zeros(4, 1, 8, 8), torch.zeros(4, 1, 8, 8), lr=0.0), "lr must be"),
    (lambda: cyclegan.ConvTranslator(channels=0), "channels must be an integer >= 1"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
