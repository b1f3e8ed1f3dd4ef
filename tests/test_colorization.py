"""Colour spaces and colorization: Lab against skimage.color, lightness and ab back to RGB,
bins, decoding, colourfulness, and the regression-vs-classification claim on ambiguous colours."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from skimage import color

from course_utils.motion import colorization as colz

pytestmark = pytest.mark.chapter("06_tracking")


def test_rgb_to_lab_matches_skimage(device, dtype):
    rgb = np.random.default_rng(0).uniform(0, 1, (200, 3))
    rgb[:20] *= 0.03                                     # dark colours: the linear branches
    ours = colz.rgb_to_lab(torch.tensor(rgb, dtype=dtype, device=device))
    assert ours.dtype == dtype and ours.device.type == device.type
    # skimage rounds two constants of the dark branch (0.008856, 7.787): up to ~2e-4 there
    atol = 1e-3 if dtype == torch.float32 else 3e-4
    np.testing.assert_allclose(ours.double().cpu().numpy(), color.rgb2lab(rgb), atol=atol)
    bright = np.random.default_rng(3).uniform(0.3, 1, (200, 3))        # away from both branches
    np.testing.assert_allclose(colz.rgb_to_lab(bright).numpy(), color.rgb2lab(bright), atol=1e-9)


def test_lab_to_rgb_matches_skimage_and_clips_out_of_gamut():
    rng = np.random.default_rng(1)
    rgb = rng.uniform(0.1, 1, (100, 3))
    lab = color.rgb2lab(rgb)
    np.testing.assert_allclose(colz.lab_to_rgb(lab).numpy(), color.lab2rgb(lab), atol=1e-9)
    wild = np.array([[50.0, 120.0, -120.0], [90.0, -100.0, 100.0]])     # outside sRGB
    ours = colz.lab_to_rgb(wild).numpy()
    assert ours.min() >= 0 and ours.max() <= 1
    np.testing.assert_allclose(ours, color.lab2rgb(wild), atol=1e-6)


def test_lightness_ab_to_rgb_matches_skimage_lab2rgb(device):
    rng = np.random.default_rng(3)
    lightness, ab = rng.uniform(0, 1, (3, 1, 5, 6)), rng.uniform(-40, 40, (3, 2, 5, 6))
    expected = color.lab2rgb(np.concatenate([100 * lightness, ab], axis=1).transpose(0, 2, 3, 1))
    ours = colz.lightness_ab_to_rgb(torch.tensor(lightness, device=device), torch.tensor(ab, device=device))
    assert ours.shape == (3, 5, 6, 3) and ours.device.type == device.type
    np.testing.assert_allclose(ours.cpu().numpy(), expected, atol=1e-6)   # as lab_to_rgb's own test


def test_lightness_ab_to_rgb_of_white_black_and_grey():
    """No colour (a = b = 0): L = 100 is white, L = 0 black, and every grey has R = G = B.
    (The rounded D65 white point and matrix leave greys up to 2e-5 off neutral, as in skimage;
    L = 50 is the sRGB grey 0.4663, 119 of 255.)"""
    lightness = torch.tensor([1.0, 0.0, 0.5], dtype=torch.float64).view(3, 1, 1, 1)
    rgb = colz.lightness_ab_to_rgb(lightness, torch.zeros(3, 2, 1, 1, dtype=torch.float64))[:, 0, 0]
    np.testing.assert_allclose(rgb[0].numpy(), 1.0, atol=1e-5)
    np.testing.assert_allclose(rgb[1].numpy(), 0.0, atol=1e-12)
    np.testing.assert_allclose(rgb[2].numpy(), 0.4663, atol=1e-4)


def test_lightness_ab_to_rgb_errors_name_the_argument():
    lightness, ab = torch.zeros(2, 1, 4, 4), torch.zeros(2, 2, 4, 4)
    with pytest.raises(ValueError, match=r"lightness must be \(N, 1, H, W\)"):
        colz.lightness_ab_to_rgb(torch.zeros(2, 3, 4, 4), ab)
    with pytest.raises(ValueError, match=r"ab must be \(N, 2, H, W\)"):
        colz.lightness_ab_to_rgb(lightness, ab[:, :1])
    with pytest.raises(ValueError, match="lightness and ab must have the same N, H, W"):
        colz.lightness_ab_to_rgb(lightness, torch.zeros(2, 2, 4, 5))
    with pytest.raises(TypeError, match="lightness must be a numeric"):
        colz.lightness_ab_to_rgb(np.array([["x"]]), ab)


@given(st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3))
def test_rgb_lab_round_trip(values):
    # sRGB's two gamma branches do not meet exactly (12.92 * 0.0031308 = 0.04044994 is not the
    # forward knee 0.04045): a value at the knee comes back 3e-8 off, as in skimage.color.
    rgb = torch.tensor([values], dtype=torch.float64)
    np.testing.assert_allclose(colz.lab_to_rgb(colz.rgb_to_lab(rgb)).numpy(), rgb.numpy(), atol=1e-7)


def test_rgb_to_lab_gradcheck():
    rgb = torch.tensor([[0.3, 0.6, 0.8], [0.9, 0.2, 0.5]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(colz.rgb_to_lab, (rgb,))


def test_bins_quantize_to_the_nearest_centre():
    centres = colz.ab_bin_centres(step=20.0, limit=110.0)
    assert centres.shape == (121, 2) and centres.max() == 100 and centres.min() == -100
    ab = torch.tensor(np.random.default_rng(2).uniform(-110, 110, (50, 2)), dtype=torch.float32)
    brute = torch.tensor([int(np.argmin(((centres.numpy() - p) ** 2).sum(1))) for p in ab.numpy()])
    assert torch.equal(colz.quantize_ab(ab, centres), brute)
    with pytest.raises(ValueError, match=r"ab must be \(\.\.\., 2\)"):
        colz.quantize_ab(torch.zeros(3, 3), centres)


def test_decode_temperature_moves_from_mean_to_mode():
    centres = torch.tensor([[0.0, 0.0], [50.0, 0.0], [0.0, 60.0]])
    logits = torch.log(torch.tensor([0.2, 0.5, 0.3]))[None, :, None, None]
    mean = colz.decode_ab(logits, centres, temperature=1.0)[0, :, 0, 0]
    torch.testing.assert_close(mean, torch.tensor([25.0, 18.0]))
    mode = colz.decode_ab(logits, centres, temperature=0.01)[0, :, 0, 0]
    torch.testing.assert_close(mode, torch.tensor([50.0, 0.0]))
    with pytest.raises(ValueError, match="temperature must be finite and > 0"):
        colz.decode_ab(logits, centres, temperature=0)
    with pytest.raises(ValueError, match="logits must be"):
        colz.decode_ab(logits[:, :2], centres)


def test_colourfulness_formula_and_grey_images():
    assert colz.colourfulness(np.full((4, 4, 3), 0.4)) == pytest.approx(0.0, abs=1e-9)
    rgb = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    rg, yb = np.array([255.0, 0.0]), np.array([127.5, -255.0])
    expected = np.sqrt(rg.var() + yb.var()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    assert colz.colourfulness(rgb) == pytest.approx(expected, rel=1e-12)
    ab = torch.tensor([[3.0, 0.0], [0.0, -4.0]]).T.reshape(1, 2, 1, 2)
    assert colz.mean_chroma(ab) == pytest.approx(3.5)
    with pytest.raises(ValueError, match=r"rgb must have 3 channels"):
        colz.colourfulness(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"ab must be \(N, 2, H, W\)"):
        colz.mean_chroma(torch.zeros(2, 2))


def test_regression_greys_out_ambiguous_colours_classification_does_not(one_torch_thread):
    """One grey level, two equally likely colours: regression learns their mean (grey), the
    classifier learns both modes and its low-temperature decoding is vivid."""
    torch.manual_seed(0)
    lightness = torch.full((64, 1, 8, 8), 0.6)
    hue = torch.randint(0, 2, (64, 1, 1, 1)).float()
    ab = torch.cat([60 * (2 * hue - 1), torch.zeros_like(hue)], 1).expand(-1, -1, 8, 8)
    centres = colz.ab_bin_centres(20.0)
    regressor, classifier = colz.Colorizer(2, hidden=8), colz.Colorizer(len(centres), hidden=8)
    colz.train_colorizer(regressor, lightness, ab, "regression", steps=150, lr=1e-2)
    losses = colz.train_colorizer(classifier, lightness, ab, "classification", centres=centres,
                                  steps=150, lr=1e-2)
    assert losses[-1] < 0.75                        # close to log 2: the two modes, 50/50
    with torch.no_grad():
        grey = colz.mean_chroma(regressor(lightness[:1]) * 100)
        vivid = colz.mean_chroma(colz.decode_ab(classifier(lightness[:1]), centres, 1e-3))  # the mode
    assert vivid > 45 and grey < 0.3 * vivid


def test_colorizer_and_training_errors():
    with pytest.raises(ValueError, match="mode must be one of"):
        colz.train_colorizer(colz.Colorizer(2), torch.zeros(2, 1, 4, 4), torch.zeros(2, 2, 4, 4), "ranking")
    with pytest.raises(ValueError, match="centres must be given"):
        colz.train_colorizer(colz.Colorizer(2), torch.zeros(2, 1, 4, 4), torch.zeros(2, 2, 4, 4),
                             "classification")
    with pytest.raises(ValueError, match="out_channels must be an integer >= 1"):
        colz.Colorizer(0)
    with pytest.raises(TypeError, match="rgb must hold floating-point values"):
        colz.rgb_to_lab(torch.zeros(2, 3, dtype=torch.int64))


def test_bin_accuracy_plain_and_balanced_against_sklearn():
    from sklearn.metrics import accuracy_score, balanced_accuracy_score

    centres = colz.ab_bin_centres(20.0)
    gen = torch.Generator().manual_seed(0)
    ab = torch.zeros(3, 2, 5, 5)
    ab[0, :, :2] = torch.tensor([40.0, -40.0])[:, None, None]        # a vivid region on grey
    ab[1, :, 3:, 3:] = torch.tensor([-60.0, 20.0])[:, None, None]
    truth = colz.quantize_ab(ab.movedim(1, -1), centres)
    grey_bin = truth[2, 0, 0]                                           # sample 2 is all grey
    guess = torch.where(torch.rand(truth.shape, generator=gen) < 0.7, truth, torch.full_like(truth, int(grey_bin)))
    for balanced, reference in ((False, accuracy_score), (True, balanced_accuracy_score)):
        assert colz.bin_accuracy(guess, ab, centres, balanced) == pytest.approx(
            reference(truth.flatten().numpy(), guess.flatten().numpy()))
    with pytest.raises(ValueError, match="predicted_bins"):
        colz.bin_accuracy(guess[:2], ab, centres)
    with pytest.raises(ValueError, match=r"config\['mode'\]"):
        colz.colour_arm({"mode": "magic", "steps": 1, "temperature": 0.05}, [0])


def test_rebalancing_weights_follow_the_formula():
    bins = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 2, 0])                # shares 0.7, 0.2, 0.1, 0 of Q = 4
    share = np.array([0.7, 0.2, 0.1, 0.0])
    for mix in (0.5, 0.2, 1.0):
        raw = 1 / ((1 - mix) * share + mix / 4)
        expected = raw / (share * raw).sum()
        weights = colz.rebalancing_weights(bins, 4, mix)
        np.testing.assert_allclose(weights.numpy(), expected, rtol=1e-6)
        assert float((torch.from_numpy(share) * weights.double()).sum()) == pytest.approx(1.0)
    assert torch.allclose(colz.rebalancing_weights(bins, 4, 1.0), torch.ones(4))
    w = colz.rebalancing_weights(bins, 4, 0.5)
    assert w[2] > w[1] > w[0]                                          # rarer bins weigh more
    with pytest.raises(ValueError, match="mix"):
        colz.rebalancing_weights(bins, 4, 0.0)
    with pytest.raises(ValueError, match="bins"):
        colz.rebalancing_weights(bins, 2)
    with pytest.raises(ValueError, match="rebalance"):
        colz.train_colorizer(colz.Colorizer(2), torch.rand(2, 1, 4, 4), torch.zeros(2, 2, 4, 4), "regression",
                             steps=1, rebalance=0.5)
