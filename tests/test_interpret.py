"""Tests for course_utils.interpretability.interpret against captum (Occlusion, Saliency, GuidedBackprop) on
random and trained CNNs, plus FGSM, masks, class visualisation and the errors."""
from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from captum.attr import GuidedBackprop, Occlusion, Saliency
from torch import nn

from course_utils.interpretability import interpret
from course_utils.networks import SmallCNN

pytestmark = pytest.mark.chapter("07_interpretability")


def _random_cnn(seed=0, channels=1, size=12):
    torch.manual_seed(seed)
    return SmallCNN(in_channels=channels, size=size, classes=5).eval()


@pytest.fixture(scope="module")
def trained():
    """A SmallCNN trained briefly on digits: a model whose maps have structure."""
    from course_utils.data.digits import digits_on_canvas

    x, y, x_test, y_test = digits_on_canvas()
    torch.manual_seed(0)
    model = SmallCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(60):
        batch = slice(64 * step % len(x), 64 * step % len(x) + 64)
        loss = F.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), x_test[:6], y_test[:6]


def _captum(method, model, x, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return method(model).attribute(x.clone().requires_grad_(), **kwargs)


@pytest.mark.parametrize("window,stride,baseline", [(3, 1, 0.0), (4, 2, 0.5), (5, 3, -1.0), (12, 1, 0.0)])
@pytest.mark.parametrize("channels", [1, 3])
def test_occlusion_matches_captum(window, stride, baseline, channels):
    model = _random_cnn(1, channels)
    x = torch.rand(3, channels, 12, 12)
    target = torch.tensor([0, 4, 2])
    ours = interpret.occlusion(model, x, target, window, stride, baseline)
    theirs = _captum(Occlusion, model, x, target=target, sliding_window_shapes=(channels, window, window),
                     strides=(channels, stride, stride), baselines=baseline)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)


def test_saliency_and_guided_backprop_match_captum_on_random_and_trained(trained):
    model, x, y = trained
    for net, inputs, target in ((model, x, y), (_random_cnn(2, size=20, channels=1), x, 3)):
        torch.testing.assert_close(interpret.saliency(net, inputs, target),
                                   _captum(Saliency, net, inputs, target=target))
        torch.testing.assert_close(interpret.guided_backprop(net, inputs, target),
                                   _captum(GuidedBackprop, net, inputs, target=target))


def test_guided_backprop_differs_from_the_gradient_and_removes_its_hooks(trained):
    model, x, y = trained
    guided = interpret.guided_backprop(model, x, y)
    plain = interpret._input_gradient(model, x, y)
    assert (guided - plain).abs().max() > 1e-4
    # the hooks are gone: the plain gradient afterwards is unchanged
    torch.testing.assert_close(interpret._input_gradient(model, x, y), plain)
    with pytest.raises(ValueError, match="nn.ReLU"):
        interpret.guided_backprop(nn.Sequential(nn.Flatten(), nn.Linear(400, 3)), x, 0)


def test_occlusion_of_a_linear_model_is_the_weight_times_the_pixel():
    # for score = w . x, covering one pixel with 0 drops the score by w_i x_i exactly
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, bias=False))
    x = torch.rand(2, 1, 4, 4)
    attribution = interpret.occlusion(model, x, 1, window=1, stride=1)
    torch.testing.assert_close(attribution, x * model[1].weight[1].reshape(1, 1, 4, 4))


def test_fgsm_respects_the_bound_and_raises_the_loss(trained):
    model, x, y = trained
    for eps in (0.01, 0.1, 0.3):
        adversarial = interpret.fgsm(model, x, y, eps)
        assert (adversarial - x).abs().max() <= eps + 1e-6
        assert adversarial.min() >= 0 and adversarial.max() <= 1
        with torch.no_grad():
            assert F.cross_entropy(model(adversarial), y) > F.cross_entropy(model(x), y)
    torch.testing.assert_close(interpret.fgsm(model, x, y, 0.0), x)
    with torch.no_grad():   # works inside no_grad too
        interpret.fgsm(model, x, y, 0.1)


def test_class_visualization_raises_each_class_score(trained):
    model, _, _ = trained
    images, scores = interpret.class_visualization(model, 10, (1, 20, 20), steps=60)
    assert images.shape == (10, 1, 20, 20)
    assert scores[-1] > scores[0] + 5
    with torch.no_grad():
        assert (model(images).argmax(1) == torch.arange(10)).float().mean() >= 0.8


def test_smallest_mask_keeps_the_class_with_few_pixels(trained):
    model, x, y = trained
    mask, history = interpret.smallest_mask(model, x[:3], y[:3], sparsity=1.0, steps=150)
    assert mask.shape == (3, 1, 20, 20) and 0 <= mask.min() and mask.max() <= 1
    assert history["mask_mean"][-1] < 0.2 < history["mask_mean"][0] + 0.4
    with torch.no_grad():
        assert (model(x[:3] * (mask > 0.5)).argmax(1) == y[:3]).all()


def test_mass_in_region_and_randomized_copy():
    maps = torch.zeros(2, 1, 3, 3)
    maps[0, 0, 0, 0], maps[0, 0, 2, 2] = 3.0, -1.0
    maps[1, 0, 1, 1] = 2.0
    region = torch.zeros(3, 3, dtype=torch.bool)
    region[0] = True
    torch.testing.assert_close(interpret.mass_in_region(maps, region), torch.tensor([0.75, 0.0]))
    with pytest.raises(ValueError, match="region"):
        interpret.mass_in_region(maps, region[:2])
    model = _random_cnn(3)
    copy = interpret.randomized_copy(model, seed=5)
    assert not torch.equal(copy.head.weight, model.head.weight)
    assert all(a.shape == b.shape for a, b in zip(copy.parameters(), model.parameters()))


def test_errors_name_the_argument():
    model = _random_cnn(4)
    x = torch.rand(2, 1, 12, 12)
    with pytest.raises(ValueError, match="window must fit"):
        interpret.occlusion(model, x, 0, window=13, stride=1)
    with pytest.raises(ValueError, match="target must lie"):
        interpret.saliency(model, x, 5)
    with pytest.raises(ValueError, match="target must lie"):
        interpret.guided_backprop(model, x, torch.tensor([0, -1]))
    with pytest.raises(ValueError, match="target must be an int or an"):
        interpret.saliency(model, x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="epsilon"):
        interpret.fgsm(model, x, torch.tensor([0, 1]), -0.1)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        interpret.saliency(model, x[0], 0)
    with pytest.raises(ValueError, match="stride"):
        interpret.occlusion(model, x, 0, window=3, stride=0)
    with pytest.raises(TypeError, match="model"):
        interpret.saliency("model", x, 0)
