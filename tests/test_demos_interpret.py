"""Chapter 07 figures: what each panel shows, and the widgets' plain functions."""
import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from course_utils.interpretability import figures as demos  # noqa: E402
from course_utils.interpretability import interpret  # noqa: E402
from course_utils.networks import SmallCNN  # noqa: E402

pytestmark = pytest.mark.chapter("07_interpretability")


@pytest.fixture
def model():
    torch.manual_seed(0)
    return SmallCNN(size=12, classes=3).eval()


def test_show_attributions_draws_inputs_and_channel_summed_maps():
    images = torch.rand(2, 1, 5, 5)
    maps = {"a": -torch.ones(2, 2, 5, 5), "b": torch.rand(2, 1, 5, 5)}
    fig = demos.show_attributions(images, maps)
    assert len(fig.axes) == 6
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), images[0, 0].numpy())
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), np.full((5, 5), 2.0))
    assert fig.axes[2].get_title() == "b"
    plt.close(fig)


def test_occlusion_and_fgsm_widgets_show_what_the_functions_compute(model):
    images, targets = torch.rand(2, 1, 12, 12), torch.tensor([0, 2])
    fig = demos.show_occlusion(model, images, targets, window=3, stride=2)
    expected = interpret.occlusion(model, images, targets, 3, 2)
    np.testing.assert_allclose(fig.axes[3].images[0].get_array(), expected[1, 0].numpy(), rtol=1e-6)
    assert "3 x 3 patch, stride 2" in fig._suptitle.get_text()
    plt.close(fig)
    fig = demos.show_fgsm(model, images, targets, epsilon=0.2)
    adversarial = interpret.fgsm(model, images, targets, 0.2)
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), adversarial[0, 0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(fig.axes[4].images[0].get_array(),
                               (adversarial[0, 0] - images[0, 0]).numpy(), rtol=1e-5, atol=1e-7)
    plt.close(fig)


def test_patch_matrix_curve_and_class_figures():
    patches = {1: [(torch.ones(1, 3, 3), 7, 2.5)]}
    fig = demos.show_top_patches(patches, unit=1)
    assert fig.axes[0].get_title() == "7: 2.5"
    plt.close(fig)
    with pytest.raises(ValueError, match="unit must be one of"):
        demos.show_top_patches(patches, unit=0)
    matrix = np.arange(9.0).reshape(3, 3)
    fig = demos.show_matrices({"m": matrix})
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), matrix)
    plt.close(fig)
    fig = demos.show_accuracy_curve([0, 0.1], [0.9, 0.4])
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [0.9, 0.4])
    plt.close(fig)
    images = torch.randn(3, 1, 4, 4)
    fig = demos.show_class_images(images, cls=2)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), images[2, 0].numpy())
    plt.close(fig)
    assert len(demos.show_class_images(images).axes) == 3
    plt.close("all")
    with pytest.raises(ValueError, match="cls must lie"):
        demos.show_class_images(images, cls=3)
