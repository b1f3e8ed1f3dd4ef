"""Chapter 09 figures: what each panel shows, and the widgets' plain functions."""
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from course_utils.synthesis import generative, vae  # noqa: E402
from course_utils.synthesis import figures as demos  # noqa: E402
from course_utils.learning.numpy_models import LinearModel  # noqa: E402

pytestmark = pytest.mark.chapter("09_synthesis")


@pytest.fixture
def model():
    torch.manual_seed(0)
    return vae.Autoencoder(latent=3, hidden=8).eval()


def test_two_views_draw_the_data_the_boundary_and_the_samples():
    x = torch.tensor([[-1.0, 0.0], [-2.0, 1.0], [1.0, 0.0], [2.0, -1.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1])
    means, covariances, priors = torch.tensor([[-1.5, 0.5], [1.5, -0.5]], dtype=torch.float64), \
        torch.eye(2, dtype=torch.float64).repeat(2, 1, 1), torch.tensor([0.5, 0.5], dtype=torch.float64)
    samples, labels = torch.tensor([[0.0, 3.0], [3.0, 0.0]]), torch.tensor([0, 1])
    fig = demos.show_two_views(x, y, LinearModel(np.array([1.0, 0.0]), 0.0), means, covariances, priors,
                               samples, labels)
    left, right = fig.axes
    np.testing.assert_allclose(left.collections[0].get_offsets(), x[:2].numpy())
    np.testing.assert_allclose(right.collections[-1].get_offsets(), samples[1:].numpy())
    assert "discriminative" in left.get_title() and "generative" in right.get_title()
    plt.close(fig)


def test_training_curves_are_moving_averages():
    fig = demos.show_training_curves({"a": [1.0, 3.0, 5.0, 7.0], "b": [0.0] * 4}, smooth=2)
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), [2.0, 4.0, 6.0])
    np.testing.assert_allclose(line.get_xdata(), [2, 3, 4])
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    plt.close(fig)
    with pytest.raises(ValueError, match="at least one curve"):
        demos.show_training_curves({})


def test_rows_show_the_images_and_frame_the_highlight():
    images = torch.rand(3, 1, 4, 4)
    fig = demos.show_rows({"first": images, "second": images[:2]}, highlight=1)
    axes = np.array(fig.axes).reshape(2, 3)
    np.testing.assert_allclose(axes[0, 2].images[0].get_array(), images[2, 0].numpy())
    assert not axes[1, 2].axison and axes[1, 0].get_ylabel() == "second"
    assert axes[0, 1].spines["top"].get_edgecolor()[:3] == (1.0, 0.0, 0.0)
    plt.close(fig)


def test_interpolation_and_prior_widgets_show_the_decoded_codes(model):
    start, end = torch.rand(1, 8, 8), torch.rand(1, 8, 8)
    fig = demos.show_interpolation(model, start, end, t=0.25, steps=5)
    with torch.no_grad():
        mu, _ = model.encode(torch.stack([start, end]))
        expected = model.decode(0.75 * mu[:1] + 0.25 * mu[1:])
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), expected[0, 0].numpy(), rtol=1e-5)
    assert fig.axes[2].spines["top"].get_edgecolor()[:3] == (1.0, 0.0, 0.0)   # path point t = 0.25
    plt.close(fig)
    fig = demos.show_prior_decodes({"m": model}, z1=1.5, z2=-0.5)
    with torch.no_grad():
        expected = model.decode(torch.tensor([[1.5, -0.5, 0.0]]))
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), expected[0, 0].numpy(), rtol=1e-5)
    plt.close(fig)


def test_beta_widget_marks_the_chosen_beta():
    results = {b: {"reconstruction": 10 * b, "kl": 5 / b, "confident": 0.5, "samples": torch.rand(3, 1, 4, 4)}
               for b in (0.5, 2.0)}
    fig = demos.show_beta(results, index=1)
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [5.0, 20.0])
    assert ax.lines[1].get_xdata()[0] == 2.0 and "beta = 2: KL 2.5" in ax.get_title()
    mosaic = fig.axes[-1].images[0].get_array()       # the samples tiled 6 per row, 1 px apart
    samples = results[2.0]["samples"]
    h, w = samples.shape[2:]
    np.testing.assert_allclose(mosaic[1:1 + h, 1 + 2 * (w + 1):1 + 2 * (w + 1) + w], samples[2, 0].numpy(),
                               atol=1e-6)
    plt.close(fig)
    with pytest.raises(ValueError, match=r"index must lie in \[0, 1\]"):
        demos.show_beta(results, index=2)


def test_gan_scrubber_shows_the_snapshot_and_its_mode_count():
    centers = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    snapshots = [torch.zeros(4, 2), torch.tensor([[0.0, 0.0], [2.0, 0.0], [2.0, 0.05], [1.0, 1.0]])]
    runs = {"run": {"steps": [10, 20], "snapshots": snapshots}}
    fig = demos.show_gan_training(runs, centers, 0.1, snapshot=1)
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets(), snapshots[1].numpy())
    assert "step 20: 2/2 modes, 75% good" in fig.axes[0].get_title()
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [1, 2])
    assert generative.modes_covered(snapshots[0], centers, 0.1) == (1, 1.0)
    plt.close(fig)
    with pytest.raises(ValueError, match=r"snapshot must lie in \[0, 1\]"):
        demos.show_gan_training(runs, centers, 0.1, snapshot=2)


def test_gradient_norm_figure_plots_both_losses():
    rows = [{"step": 0, "mean D(G(z))": 0.5, "saturating": 1.0, "non_saturating": 1.0},
            {"step": 10, "mean D(G(z))": 0.01, "saturating": 0.01, "non_saturating": 2.0}]
    fig = demos.show_gradient_norms(rows)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [1.0, 0.01])
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), [1.0, 2.0])
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [0.5, 0.01])
    plt.close(fig)
