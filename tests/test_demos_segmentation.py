"""The chapter-04 segmentation figures: each show_* returns a Figure and follows its knobs."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils.recognition import figures_segmentation as demos  # noqa: E402

pytestmark = pytest.mark.chapter("04_object_recognition")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _image_arrays(fig: Figure) -> list[np.ndarray]:
    return [np.asarray(im.get_array()) for ax in fig.axes for im in ax.get_images()]


def test_bilinear_kernel_transposed_conv_is_bilinear_interpolation_inside():
    x = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    kernel = demos.bilinear_kernel(2).double()[None, None]
    ours = F.conv_transpose2d(x, kernel, stride=2, padding=1)
    theirs = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    # equal away from the one-pixel border (where zero padding enters)
    torch.testing.assert_close(ours[..., 1:-1, 1:-1], theirs[..., 1:-1, 1:-1])


def test_upsample_three_ways_matches_torch_layers():
    x = torch.rand(8, 12, generator=torch.Generator().manual_seed(1))
    out = demos.upsample_three_ways(x, factor=2)
    pooled, indices = torch.nn.MaxPool2d(2, return_indices=True)(x[None, None])
    torch.testing.assert_close(out["pooled"], pooled[0, 0])
    torch.testing.assert_close(out["nearest"], F.interpolate(pooled, scale_factor=2)[0, 0])
    torch.testing.assert_close(out["max-unpool"],
                               torch.nn.MaxUnpool2d(2)(pooled, indices, output_size=(8, 12))[0, 0])
    assert {v.shape for k, v in out.items() if k != "pooled"} == {(8, 12)}
    with pytest.raises(ValueError, match="multiples of factor=2"):
        demos.upsample_three_ways(torch.rand(5, 4), 2)
    with pytest.raises(ValueError, match=r"x must be an \(H, W\) tensor"):
        demos.upsample_three_ways(torch.rand(1, 4, 4), 2)


def test_show_upsampling_returns_figure_and_follows_factor():
    x = torch.rand(8, 8, generator=torch.Generator().manual_seed(2))
    fig2 = demos.show_upsampling(x, factor=2, annotate=True)
    fig4 = demos.show_upsampling(x, factor=4)
    assert isinstance(fig2, Figure) and isinstance(fig4, Figure)
    assert _image_arrays(fig2)[1].shape == (4, 4) and _image_arrays(fig4)[1].shape == (2, 2)
    assert len(fig2.axes[0].texts) == 64 and not fig4.axes[0].texts


@pytest.mark.parametrize("stride,kernel_size,padding", [(1, 3, 0), (2, 3, 1), (3, 2, 0)])
def test_show_transposed_conv_output_size_follows_the_formula(stride, kernel_size, padding):
    fig = demos.show_transposed_conv(stride=stride, kernel_size=kernel_size, padding=padding)
    assert isinstance(fig, Figure)
    out = _image_arrays(fig)[1]
    expected = (3 - 1) * stride - 2 * padding + kernel_size
    assert out.shape == (expected, expected)
    assert str(expected) in fig._suptitle.get_text()
    # with stride > kernel size some output pixels receive no stamp at all
    assert (out.min() == 0) == (stride > kernel_size)


def _scenes():
    gen = torch.Generator().manual_seed(3)
    images = torch.rand(4, 3, 10, 10, generator=gen)
    truth = torch.randint(0, 4, (4, 10, 10), generator=gen)
    return images, truth, {"perfect": truth.clone(), "zeros": torch.zeros_like(truth)}


def test_show_segmentation_follows_index_and_reports_miou():
    images, truth, preds = _scenes()
    fig0 = demos.show_segmentation(images, truth, preds, index=0)
    fig2 = demos.show_segmentation(images, truth, preds, index=2)
    assert isinstance(fig0, Figure)
    np.testing.assert_array_equal(_image_arrays(fig0)[1], truth[0].numpy())
    np.testing.assert_array_equal(_image_arrays(fig2)[1], truth[2].numpy())
    titles = [ax.get_title() for ax in fig0.axes]
    assert "perfect\nmIoU 1.00" in titles
    with pytest.raises(ValueError, match=r"index must lie in \[0, 4\)"):
        demos.show_segmentation(images, truth, preds, index=4)
    with pytest.raises(ValueError, match="prediction 'bad' must have shape"):
        demos.show_segmentation(images, truth, {"bad": truth[:, :5]}, index=0)


def test_show_segmentations_grid():
    images, truth, preds = _scenes()
    fig = demos.show_segmentations(images, truth, preds, indices=(1, 3))
    assert isinstance(fig, Figure) and len(fig.axes) == 2 * 4
    np.testing.assert_array_equal(_image_arrays(fig)[4 + 1], truth[3].numpy())
