"""Tests for course_utils.interpretability.interpret against captum (Occlusion, Saliency, GuidedBackprop) on
random and trained CNNs, plus the audited model's training, the rank correlation of maps against
ranked Pearson correlation, FGSM, masks, class visualisation and the errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from captum.attr import GuidedBackprop, Occlusion, Saliency
from scipy.stats import rankdata
from torch import nn

from course_utils.data.digits import digits_on_canvas
from course_utils.interpretability import interpret
from course_utils.metrics import accuracy
from course_utils.networks import SmallCNN

pytestmark = pytest.mark.chapter("07_interpretability")


def _random_cnn(seed=0, channels=1, size=12):
    torch.manual_seed(seed)
    return SmallCNN(in_channels=channels, size=size, classes=5).eval()


@pytest.fixture(scope="module")
def trained():
    """A SmallCNN trained briefly on digits: a model whose maps have structure."""
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


# ---------------------------------------------------------------- training the audited model
def test_train_small_cnn_learns_the_digits(one_torch_thread):
    x, y, x_test, y_test = digits_on_canvas(seed=0)
    model = interpret.train_small_cnn(x, y, epochs=2, seed=0, device="cpu")
    assert isinstance(model, SmallCNN) and not model.training
    assert next(model.parameters()).device.type == "cpu"
    with torch.no_grad():
        trained = accuracy(model(x_test), y_test)
        torch.manual_seed(0)
        untrained = accuracy(SmallCNN()(x_test), y_test)
    assert trained > 0.8 and untrained < 0.3


def test_train_small_cnn_is_reproducible_from_its_seed(one_torch_thread):
    x, y, _, _ = digits_on_canvas(seed=0)
    x, y = x[:192], y[:192]
    runs = [interpret.train_small_cnn(x, y, epochs=1, seed=seed, device="cpu") for seed in (3, 3, 4)]
    same = [torch.equal(a, b) for a, b in zip(runs[0].parameters(), runs[1].parameters())]
    other = [torch.equal(a, b) for a, b in zip(runs[0].parameters(), runs[2].parameters())]
    assert all(same) and not any(other)


def test_train_small_cnn_errors_name_the_argument():
    x, y = torch.zeros(8, 1, 12, 12), torch.zeros(8, dtype=torch.long)
    with pytest.raises(ValueError, match=r"images must be a \(N, C, S, S\) tensor"):
        interpret.train_small_cnn(x[:, 0], y, device="cpu")
    with pytest.raises(ValueError, match=r"images must be a \(N, C, S, S\) tensor of square"):
        interpret.train_small_cnn(x[..., :10], y, device="cpu")
    with pytest.raises(ValueError, match=r"labels must be an \(N,\) tensor with N = 8"):
        interpret.train_small_cnn(x, y[:5], device="cpu")
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        interpret.train_small_cnn(x, y, epochs=0, device="cpu")


# ---------------------------------------------------------------- rank correlation of maps
def test_mean_rank_correlation_is_the_mean_pearson_correlation_of_ranks():
    gen = torch.Generator().manual_seed(0)
    maps = torch.randn(4, 1, 6, 6, generator=gen, dtype=torch.float64)
    others = maps + torch.randn(4, 1, 6, 6, generator=gen, dtype=torch.float64)
    expected = np.mean([np.corrcoef(rankdata(maps[i].flatten()), rankdata(others[i].flatten()))[0, 1]
                        for i in range(4)])
    assert interpret.mean_rank_correlation(maps, others) == pytest.approx(expected, rel=1e-12)


def test_mean_rank_correlation_of_orderings_known_by_hand(device):
    maps = torch.rand(3, 1, 5, 5, generator=torch.Generator().manual_seed(1)).to(device)
    assert interpret.mean_rank_correlation(maps, maps.exp() * 10) == pytest.approx(1.0)   # same order
    assert interpret.mean_rank_correlation(maps, -maps) == pytest.approx(-1.0)            # reversed
    mixed = torch.stack([maps[0], -maps[1], maps[2] ** 3])
    assert interpret.mean_rank_correlation(maps, mixed) == pytest.approx(1 / 3)           # (1 - 1 + 1) / 3


def test_mean_rank_correlation_errors_name_the_argument():
    maps = torch.rand(2, 1, 4, 4)
    with pytest.raises(ValueError, match="maps and others must have the same shape"):
        interpret.mean_rank_correlation(maps, maps[:1])
    with pytest.raises(ValueError, match="at least 2 values per item"):
        interpret.mean_rank_correlation(maps[:, :, :1, :1], maps[:, :, :1, :1])
    with pytest.raises(TypeError, match="maps and others must be torch.Tensors"):
        interpret.mean_rank_correlation(maps.numpy(), maps)


def test_every_method_runs_on_a_float64_model_and_matches_float32():
    model = _random_cnn(seed=3)
    x = torch.rand(2, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    target = torch.tensor([1, 4])
    wide = _random_cnn(seed=3).double()
    for name, method in (("saliency", interpret.saliency), ("guided_backprop", interpret.guided_backprop),
                         ("occlusion", lambda m, xx, t: interpret.occlusion(m, xx, t, 3, 2))):
        torch.testing.assert_close(method(wide, x.double(), target).float(), method(model, x, target),
                                   rtol=1e-4, atol=1e-5, msg=name)
    images, scores = interpret.class_visualization(wide, 3, (1, 12, 12), steps=3)
    assert images.dtype == torch.float64 and len(scores) == 3
    masks, _ = interpret.smallest_mask(wide, x.double(), target, steps=2)
    assert masks.dtype == torch.float64
    with pytest.raises(TypeError, match="x is torch.float32 but the model's parameters are torch.float64"):
        interpret.occlusion(wide, x, target, 3, 2)


def test_randomized_copy_redraws_only_the_named_layers_and_the_cascade_ends_fully_redrawn():
    model = _random_cnn(seed=4)
    partial_copy = interpret.randomized_copy(model, seed=7, layers=["head"])
    for name, child in model.named_children():
        same = all(torch.equal(a, b) for a, b in zip(child.parameters(), getattr(partial_copy, name).parameters()))
        assert same == (name != "head"), name
    with pytest.raises(ValueError, match="layers must name children"):
        interpret.randomized_copy(model, layers=["fc9"])
    x = torch.rand(4, 1, 12, 12, generator=torch.Generator().manual_seed(2))
    target = torch.tensor([0, 1, 2, 3])
    rows = interpret.cascading_randomization(model, "gradient", x, target, seed=7)
    assert [r["re-drawn from the top"] for r in rows] == ["head", "head, embedding", "head, embedding, conv2",
                                                         "head, embedding, conv2, conv1"]
    everything = interpret.saliency(interpret.randomized_copy(model, seed=7), x, target)
    assert rows[-1]["rank correlation with the trained map"] == pytest.approx(
        interpret.mean_rank_correlation(interpret.saliency(model, x, target), everything))
    with pytest.raises(ValueError, match="method"):
        interpret.cascading_randomization(model, "smoothgrad", x, target)
