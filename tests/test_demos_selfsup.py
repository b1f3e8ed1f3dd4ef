"""Chapter 08 figures: what each panel shows, and the widgets' plain functions."""
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from course_utils.logistic import linear_probe  # noqa: E402
from course_utils.selfsup import contrastive, evaluation, pretext  # noqa: E402
from course_utils.selfsup import figures as demos  # noqa: E402
from course_utils.networks import ConvEncoder  # noqa: E402

pytestmark = pytest.mark.chapter("08_self_supervised")


def test_show_temperature_weights_and_loss():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    fig = demos.show_temperature(z1, z2, temperature=0.2)
    weights = fig.axes[0].images[0].get_array()
    assert weights.shape == (8, 8)
    np.testing.assert_allclose(np.asarray(weights).sum(axis=1), np.ones(8), rtol=1e-5)
    assert np.all(np.diag(np.asarray(weights)) == 0)
    assert f"{contrastive.nt_xent(z1, z2, 0.2).item():.3f}" in fig._suptitle.get_text()
    plt.close(fig)


def test_probe_figures_and_curves():
    fig = demos.show_probe_bars({"a": 0.4, "b": 0.9}, 30, chance=1 / 3)
    assert [bar.get_width() for bar in fig.axes[0].patches] == [0.4, 0.9]
    plt.close(fig)
    fig = demos.show_probe_curve({"a": [0.1, 0.5]}, [5, 30])
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [0.1, 0.5])
    plt.close(fig)
    fig = demos.show_curves({"x": [3.0, 2.0, 1.0]}, "loss", log=True)
    assert fig.axes[0].get_yscale() == "log"
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [3.0, 2.0, 1.0])
    plt.close(fig)


def test_views_and_colour_cast_widget():
    images = torch.rand(3, 3, 24, 24) * 0.2 + 0.4
    views = [images.flip(3), images * 0.5]
    fig = demos.show_views(images, views)
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), images[0].flip(2).permute(1, 2, 0).numpy(),
                               rtol=1e-6)
    plt.close(fig)
    fig = demos.show_colour_cast(images, strength=0.3)
    shown = np.asarray(fig.axes[0].images[0].get_array())
    expected = pretext.colour_cast(images[:1], 0.3)[0].clamp(0, 1).permute(1, 2, 0).numpy()
    np.testing.assert_allclose(shown, expected, rtol=1e-6)
    assert len(fig.axes[0].patches) == 9
    assert "chance 11%" in fig._suptitle.get_text()
    plt.close(fig)


def test_conv_encoder_pools_any_size():
    encoder = ConvEncoder(widths=(4, 8), pool="mean").eval()
    assert encoder(torch.rand(2, 3, 24, 24)).shape == (2, 8)
    assert encoder(torch.rand(2, 3, 7, 7)).shape == (2, 8)
    with pytest.raises(ValueError, match="pool"):
        ConvEncoder(pool="sum")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        encoder(torch.rand(3, 24, 24))


def test_label_budget_widget_draws_the_probes_at_that_budget():
    g = torch.Generator().manual_seed(0)
    train_labels, test_labels = torch.arange(60) % 3, torch.arange(30) % 3
    informative = (torch.nn.functional.one_hot(train_labels, 3).float() + 0.3 * torch.randn(60, 3, generator=g),
                   torch.nn.functional.one_hot(test_labels, 3).float() + 0.3 * torch.randn(30, 3, generator=g))
    noise = (torch.randn(60, 4, generator=g), torch.randn(30, 4, generator=g))
    fig = demos.show_label_budget({"informative": informative, "noise": noise}, train_labels, test_labels, per_class=5)
    subset = evaluation.labelled_subset(train_labels, 5)
    expected = [linear_probe(f[0][subset], train_labels[subset], f[1], test_labels) for f in (informative, noise)]
    np.testing.assert_allclose([bar.get_width() for bar in fig.axes[0].patches], expected)
    assert "5 labels per class" in fig.axes[0].get_xlabel()
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "chance 0.33"
    plt.close(fig)
