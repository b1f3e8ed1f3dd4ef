"""Tests for course_utils.recognition.segmentation: upsampling against torch, U-Net shapes and paths,
mIoU against torchmetrics and scikit-learn."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from skimage.segmentation import find_boundaries
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import jaccard_score
from torchmetrics.classification import MulticlassJaccardIndex
from torchmetrics.segmentation import MeanIoU

from course_utils.metrics import confusion_matrix, iou_from_confusion, mean_iou
from course_utils.recognition.segmentation import (UNet, boundary_mask, class_weights, max_unpool,
                                                   predict_labels, train_segmenter,
                                                   transposed_conv2d, transposed_conv2d_stamp,
                                                   transposed_conv_output_size,
                                                   upsample_nearest)

pytestmark = pytest.mark.chapter("04_object_recognition")

# ----------------------------------------------------------------------------- upsampling


@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(1, 6), w=st.integers(1, 6),
       factor=st.integers(1, 4))
def test_upsample_nearest_matches_interpolate(n, c, h, w, factor):
    x = torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(h * 7 + w))
    expected = F.interpolate(x, scale_factor=factor, mode="nearest")
    torch.testing.assert_close(upsample_nearest(x, factor), expected, rtol=0, atol=0)


def test_upsample_nearest_errors():
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        upsample_nearest(torch.zeros(3, 4, 4), 2)
    with pytest.raises(ValueError, match="factor must be an integer >= 1"):
        upsample_nearest(torch.zeros(1, 1, 4, 4), 0)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        upsample_nearest(np.zeros((1, 1, 4, 4)), 2)


@pytest.mark.parametrize("size,kernel", [((8, 8), 2), ((9, 7), 2), ((12, 12), 3)])
def test_max_unpool_matches_torch(size, kernel):
    x = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pooled, indices = torch.nn.MaxPool2d(kernel, return_indices=True)(x)
    expected = torch.nn.MaxUnpool2d(kernel)(pooled, indices, output_size=size)
    got = max_unpool(pooled, indices, size)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    # every pooled maximum sits where it came from; all other pixels are zero
    assert int((got != 0).sum()) == pooled.numel()


def test_max_unpool_errors():
    pooled, indices = F.max_pool2d(torch.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match="indices must have the shape of pooled"):
        max_unpool(pooled, indices[..., :1], (4, 4))
    with pytest.raises(TypeError, match="indices must be int64"):
        max_unpool(pooled, indices.int(), (4, 4))
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 4\)"):
        max_unpool(pooled, indices, (2, 2))
    with pytest.raises(ValueError, match="pooled must have 4 dimensions"):
        max_unpool(pooled[0], indices[0], (4, 4))


@given(size=st.integers(1, 9), kernel=st.integers(1, 5), stride=st.integers(1, 4),
       padding=st.integers(0, 3), output_padding=st.integers(0, 3), dilation=st.integers(1, 3))
def test_transposed_conv_output_size_matches_torch(size, kernel, stride, padding,
                                                   output_padding, dilation):
    layer = torch.nn.ConvTranspose2d(1, 1, kernel, stride=stride, padding=padding,
                                     output_padding=output_padding, dilation=dilation)
    try:
        got = transposed_conv_output_size(size, kernel, stride, padding, output_padding, dilation)
    except ValueError:
        # our function refuses exactly the settings torch refuses
        with pytest.raises(RuntimeError):
            layer(torch.zeros(1, 1, size, size))
        return
    assert layer(torch.zeros(1, 1, size, size)).shape[-1] == got


def test_transposed_conv_output_size_errors():
    with pytest.raises(ValueError, match="output_padding must be smaller than stride"):
        transposed_conv_output_size(4, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="padding=3 is too large"):
        transposed_conv_output_size(1, 2, padding=3)
    with pytest.raises(ValueError, match="kernel_size must be an integer >= 1"):
        transposed_conv_output_size(4, 0)


@pytest.mark.parametrize("kernel,stride,padding,output_padding",
                         [(2, 2, 0, 0), (3, 2, 1, 1), (4, 2, 1, 0), (3, 1, 1, 0), (1, 3, 0, 2),
                          (5, 3, 2, 0)])
def test_transposed_conv2d_matches_torch(kernel, stride, padding, output_padding):
    gen = torch.Generator().manual_seed(kernel * 10 + stride)
    x = torch.randn(2, 3, 5, 4, generator=gen, dtype=torch.float64)
    weight = torch.randn(3, 2, kernel, kernel, generator=gen, dtype=torch.float64)
    bias = torch.randn(2, generator=gen, dtype=torch.float64)
    expected = F.conv_transpose2d(x, weight, bias, stride=stride, padding=padding,
                                  output_padding=output_padding)
    for fn in (transposed_conv2d_stamp, transposed_conv2d):
        got = fn(x, weight, bias, stride=stride, padding=padding, output_padding=output_padding)
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)


def test_transposed_conv_of_one_pixel_is_the_kernel_stamped_at_stride():
    """A single 1 at input (1, 2) puts a copy of the kernel at (stride*1, stride*2) of the
    full canvas and nothing elsewhere (worked by hand, no reference library)."""
    x = torch.zeros(1, 1, 3, 4, dtype=torch.float64)
    x[0, 0, 1, 2] = 1.0
    weight = torch.arange(1.0, 10.0, dtype=torch.float64).view(1, 1, 3, 3)
    expected = torch.zeros(1, 1, 7, 9, dtype=torch.float64)  # (3-1)*2+3, (4-1)*2+3
    expected[0, 0, 2:5, 4:7] = weight[0, 0]
    for fn in (transposed_conv2d_stamp, transposed_conv2d):
        torch.testing.assert_close(fn(x, weight, stride=2), expected, rtol=0, atol=0)


def test_transposed_conv2d_gradcheck():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(1, 2, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(2, 1, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: transposed_conv2d(a, b, stride=2, padding=1), (x, weight))


@pytest.mark.parametrize("fn", [transposed_conv2d, transposed_conv2d_stamp])
def test_transposed_conv2d_errors(fn):
    x = torch.zeros(1, 2, 3, 3)
    with pytest.raises(ValueError, match="bias must have C_out = 1 entries"):
        fn(x, torch.zeros(2, 1, 2, 2), torch.zeros(3))
    with pytest.raises(ValueError, match="weight must have C_in = 2 rows"):
        fn(x, torch.zeros(3, 1, 2, 2))
    with pytest.raises(ValueError, match="weight must have a square kernel"):
        fn(x, torch.zeros(2, 1, 2, 3))
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        fn(x[0], torch.zeros(2, 1, 2, 2))


# ----------------------------------------------------------------------------- U-Net


@pytest.mark.parametrize("skip", [True, False])
@pytest.mark.parametrize("height,width", [(32, 32), (48, 40), (31, 17), (5, 9), (1, 1)])
def test_unet_output_shape(skip, height, width):
    torch.manual_seed(0)
    model = UNet(widths=(4, 8, 16), skip_connections=skip).eval()
    out = model(torch.rand(2, 3, height, width))
    assert out.shape == (2, 4, height, width)


def test_unet_depth_and_classes_shape():
    model = UNet(in_channels=1, num_classes=6, widths=(4, 8, 8, 16)).eval()
    assert model(torch.rand(1, 1, 24, 20)).shape == (1, 6, 24, 20)


def test_skip_switch_keeps_the_decoder_blocks_and_widens_only_the_up_convolutions():
    """Matched width: every decoder block has the same parameter shapes with and without skips;
    without them each 2 x 2 up-convolution (from the level below, ``c_in`` channels) outputs 2w
    channels instead of w, i.e. c_in * w * 4 + w more parameters per level."""
    widths = (8, 16, 32)
    with_skip = UNet(widths=widths, skip_connections=True)
    without = UNet(widths=widths, skip_connections=False)
    shapes = lambda mods: [tuple(p.shape) for p in mods.parameters()]  # noqa: E731
    assert shapes(with_skip.decoders) == shapes(without.decoders)
    assert shapes(with_skip.encoders) == shapes(without.encoders)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    below = list(reversed(widths[1:]))            # the up-convolutions' input widths: 32, 16
    expected_gap = sum(c_in * w * 4 + w for c_in, w in zip(below, reversed(widths[:-1])))
    print(f"U-Net parameters: with skips {count(with_skip)}, without {count(without)}")
    assert count(without) - count(with_skip) == expected_gap


@pytest.mark.parametrize("skip", [True, False])
def test_skip_switch_changes_the_path(skip):
    """Zero the bottleneck's output: without skips nothing about the input reaches the output
    any more (it becomes the same for every image); with skips the input still gets through."""
    torch.manual_seed(0)
    model = UNet(widths=(4, 8, 16), skip_connections=skip).eval()
    handle = model.encoders[-1].register_forward_hook(lambda mod, inp, out: torch.zeros_like(out))
    with torch.no_grad():
        out = model(torch.rand(3, 3, 16, 16))
    handle.remove()
    spread = float((out - out[:1]).abs().max())
    if skip:
        assert spread > 1e-3
    else:
        assert spread < 1e-6


@pytest.mark.parametrize("skip", [True, False])
def test_unet_gradients_reach_every_parameter_and_the_input(skip):
    torch.manual_seed(0)
    model = UNet(widths=(4, 8, 16), skip_connections=skip)
    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    target = torch.randint(0, 4, (2, 16, 16))
    F.cross_entropy(model(x), target).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert float(p.grad.abs().sum()) > 0, name
    assert float(x.grad.abs().sum()) > 0


def test_unet_errors():
    with pytest.raises(ValueError, match="widths must have at least 2 levels"):
        UNet(widths=(8,))
    with pytest.raises(TypeError, match="skip_connections must be a bool"):
        UNet(skip_connections=1)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        UNet(num_classes=1)
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        UNet(widths=(4, 8))(torch.rand(3, 8, 8))


def test_unet_on_device_matches_cpu(device, dtype):
    torch.manual_seed(0)
    model = UNet(widths=(4, 8, 16)).eval().to(dtype)
    x = torch.rand(2, 3, 20, 20, dtype=dtype)
    expected = model(x)
    got = model.to(device)(x.to(device))
    assert got.dtype == dtype and got.device.type == device.type
    tolerance = 1e-3 if dtype == torch.float32 else 1e-9
    torch.testing.assert_close(got.cpu(), expected, rtol=tolerance, atol=tolerance)


def test_upsampling_helpers_on_device(device, dtype):
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(0), dtype=dtype)
    pooled, indices = F.max_pool2d(x, 2, return_indices=True)
    weight = torch.randn(3, 4, 3, 3, generator=torch.Generator().manual_seed(1), dtype=dtype)
    on = {"nearest": upsample_nearest(pooled.to(device), 2),
          "unpool": max_unpool(pooled.to(device), indices.to(device), (6, 6)),
          "transposed": transposed_conv2d(x.to(device), weight.to(device), stride=2)}
    off = {"nearest": F.interpolate(pooled, scale_factor=2, mode="nearest"),
           "unpool": F.max_unpool2d(pooled, indices, 2, output_size=(6, 6)),
           "transposed": F.conv_transpose2d(x, weight, stride=2)}
    for name, value in on.items():
        assert value.device.type == device.type and value.dtype == dtype, name
        torch.testing.assert_close(value.cpu(), off[name], atol=1e-5, rtol=1e-5)


def test_max_unpool_gradcheck():
    x = torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pooled, indices = F.max_pool2d(x, 2, return_indices=True)
    pooled.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: max_unpool(p, indices, (4, 4)), (pooled,))


def test_train_segmenter_learns_and_is_seeded(one_torch_thread):
    from course_utils.data.shapes import make_dataset

    data = make_dataset(64, seed=3, size=16, min_size=5, max_size=8)
    net, history = train_segmenter(data["images"], data["semantic"], widths=(4, 8), epochs=3,
                                   lr=1e-2, batch_size=8, device="cpu", progress=False)
    again, _ = train_segmenter(data["images"], data["semantic"], widths=(4, 8), epochs=3,
                               lr=1e-2, batch_size=8, device="cpu", progress=False)
    assert history["train_loss"][-1] < 0.85 * history["train_loss"][0]
    assert not net.training
    for p, q in zip(net.parameters(), again.parameters()):
        torch.testing.assert_close(p, q)
    # the network beats labelling everything background on its training scenes
    labels = predict_labels(net, data["images"])
    assert mean_iou(labels, data["semantic"], 4) > 0.3


@pytest.mark.parametrize("kwargs, match", [
    ({"labels": torch.zeros(5, 16, 16, dtype=torch.long)}, "labels must have shape"),
    ({"labels": torch.zeros(8, 16, 16)}, "labels must hold integer"),
    ({"epochs": 0}, "epochs"), ({"lr": 0.0}, "lr"), ({"batch_size": 0}, "batch_size"),
])
def test_train_segmenter_errors(kwargs, match):
    args = {"images": torch.zeros(8, 3, 16, 16), "labels": torch.zeros(8, 16, 16, dtype=torch.long)}
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        train_segmenter(args.pop("images"), args.pop("labels"), device="cpu", progress=False,
                        **args)


def test_predict_labels_shape_dtype_and_mode():
    torch.manual_seed(0)
    model = UNet(widths=(4, 8)).train()
    images = torch.rand(5, 3, 12, 12)
    labels = predict_labels(model, images, batch_size=2)
    assert labels.shape == (5, 12, 12) and labels.dtype == torch.int64
    assert model.training  # restored
    model.eval()
    torch.testing.assert_close(labels, model(images).argmax(1))


# ----------------------------------------------------------------------------- mIoU


def _sklearn_mean_iou(pred, target, num_classes):
    """Reference: scikit-learn's per-class Jaccard, NaN for classes absent from both maps."""
    pred, target = np.asarray(pred).ravel(), np.asarray(target).ravel()
    per_class = jaccard_score(target, pred, labels=list(range(num_classes)), average=None,
                              zero_division=0)
    absent = ~np.isin(np.arange(num_classes), np.union1d(pred, target))
    per_class = np.where(absent, np.nan, per_class)
    macro = jaccard_score(target, pred, labels=np.union1d(pred, target), average="macro")
    return float(macro), per_class


def _torchmetrics_mean_iou(pred, target, num_classes):
    metric = MulticlassJaccardIndex(num_classes=num_classes, average="macro")
    return float(metric(torch.as_tensor(pred).reshape(-1), torch.as_tensor(target).reshape(-1)))


@pytest.mark.parametrize("seed", range(5))
def test_mean_iou_matches_references_seeded(seed):
    rng = np.random.default_rng(seed)
    num_classes = 4
    target = rng.integers(0, num_classes, size=(3, 16, 16))
    pred = np.where(rng.random(target.shape) < 0.7, target,
                    rng.integers(0, num_classes, size=target.shape))
    got, per_class = mean_iou(torch.from_numpy(pred), torch.from_numpy(target), num_classes,
                              per_class=True)
    ref, ref_per_class = _sklearn_mean_iou(pred, target, num_classes)
    assert got == pytest.approx(ref, abs=1e-12)
    np.testing.assert_allclose(per_class.numpy(), ref_per_class, atol=1e-12)
    assert got == pytest.approx(_torchmetrics_mean_iou(pred, target, num_classes), abs=1e-6)


def test_mean_iou_matches_torchmetrics_segmentation_meaniou_on_one_image():
    rng = np.random.default_rng(7)
    target = torch.from_numpy(rng.integers(0, 3, size=(20, 20)))
    pred = torch.from_numpy(rng.integers(0, 3, size=(20, 20)))
    metric = MeanIoU(num_classes=5, input_format="index")  # classes 3, 4 absent from both
    metric.update(pred[None], target[None])
    assert mean_iou(pred, target, 5) == pytest.approx(float(metric.compute()), abs=1e-6)


label_maps = st.integers(2, 6).flatmap(lambda k: st.tuples(
    st.just(k),
    st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), min_size=1, max_size=60)))


@given(label_maps)
def test_mean_iou_matches_references_hypothesis(case):
    num_classes, pairs = case
    pred = np.array([p for p, _ in pairs])
    target = np.array([t for _, t in pairs])
    got = mean_iou(pred, target, num_classes)
    assert got == pytest.approx(_sklearn_mean_iou(pred, target, num_classes)[0], abs=1e-12)
    assert got == pytest.approx(_torchmetrics_mean_iou(pred, target, num_classes), abs=1e-6)
    assert 0.0 <= got <= 1.0
    assert got == pytest.approx(mean_iou(target, pred, num_classes), abs=1e-12)  # symmetric
    assert mean_iou(target, target, num_classes) == 1.0


def test_absent_classes_convention():
    """Classes in neither map are left out; a class in only one of them counts as IoU 0."""
    target = torch.tensor([[0, 0, 1, 1]])
    pred = torch.tensor([[0, 0, 1, 2]])
    mean, iou = mean_iou(pred, target, num_classes=5, per_class=True)
    np.testing.assert_allclose(iou.numpy(), [1.0, 0.5, 0.0, np.nan, np.nan])
    assert mean == pytest.approx(1.5 / 3)


def test_confusion_matrix_matches_sklearn():
    rng = np.random.default_rng(3)
    target, pred = rng.integers(0, 4, size=(2, 9, 9)), rng.integers(0, 4, size=(2, 9, 9))
    expected = sk_confusion_matrix(target.ravel(), pred.ravel(), labels=range(4))
    np.testing.assert_array_equal(confusion_matrix(pred, target, 4).numpy(), expected)


def test_mean_iou_errors():
    labels = torch.zeros(2, 4, 4, dtype=torch.int64)
    with pytest.raises(ValueError, match="pred and target must have the same shape"):
        mean_iou(labels, labels[:1], 3)
    with pytest.raises(TypeError, match="pred must hold integer class labels, got dtype "
                                        "torch.float32"):
        mean_iou(labels.float(), labels, 3)
    with pytest.raises(TypeError, match="target must hold integer class labels"):
        mean_iou(labels, labels.bool(), 3)
    with pytest.raises(ValueError, match=r"target labels must lie in \[0, 3\), got values in "
                                         r"\[0, 3\]"):
        mean_iou(labels, labels + 3 * (torch.arange(4) == 0), 3)
    with pytest.raises(ValueError, match=r"pred labels must lie in \[0, 3\)"):
        mean_iou(labels - 1, labels, 3)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 1"):
        mean_iou(labels, labels, 0)
    with pytest.raises(TypeError, match="pred must be a torch.Tensor or numpy array"):
        mean_iou([[0, 1]], labels, 3)
    with pytest.raises(ValueError, match="must not be empty"):
        mean_iou(labels[:0], labels[:0], 3)


def test_iou_from_confusion_errors():
    with pytest.raises(ValueError, match="confusion must be square"):
        iou_from_confusion(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="confusion must have 2 dimensions"):
        iou_from_confusion(torch.zeros(3))


# ----------------------------------------------------------------------------- helpers


@pytest.mark.parametrize("seed", range(3))
def test_boundary_mask_matches_skimage(seed):
    rng = np.random.default_rng(seed)
    labels = np.zeros((3, 20, 24), dtype=np.int64)
    for img in labels:
        for _ in range(3):
            y, x, h, w = rng.integers(0, 14, size=4)
            img[y:y + h + 2, x:x + w + 2] = rng.integers(1, 4)
    expected = np.stack([find_boundaries(img, connectivity=2, mode="thick") for img in labels])
    np.testing.assert_array_equal(boundary_mask(torch.from_numpy(labels)).numpy(), expected)


def test_boundary_mask_errors():
    with pytest.raises(ValueError, match="labels must have at least 2 dimensions"):
        boundary_mask(torch.zeros(5, dtype=torch.int64))
    with pytest.raises(TypeError, match="labels must hold integer class labels"):
        boundary_mask(torch.zeros(4, 4))


def test_class_weights_against_counts():
    labels = torch.tensor([[0, 0, 0, 0, 0, 0, 1, 1, 2]])  # counts 6, 2, 1; class 3 absent
    inverse = np.array([9 / 6, 9 / 2, 9 / 1])
    for power in (0.0, 0.5, 1.0):
        expected = inverse ** power / np.mean(inverse ** power)
        got = class_weights(labels, 4, power=power)
        np.testing.assert_allclose(got[:3].numpy(), expected, rtol=1e-6)
        assert got[3] == 0 and got.dtype == torch.float32


def test_class_weights_errors():
    labels = torch.zeros(2, 2, dtype=torch.int64)
    with pytest.raises(ValueError, match="power must be finite and >= 0"):
        class_weights(labels, 2, power=-1)
    with pytest.raises(ValueError, match=r"values in \[0, 2\)"):
        class_weights(labels + 2, 2)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (3, 2)])
def test_transposed_conv_is_the_transpose_of_chapter_03s_convolution_matrix(stride, padding):
    """Chapter 03: conv(x) = M @ x. The transposed convolution applies M.T, the same matrix
    the convolution's backward pass uses -- hence its name."""
    from course_utils.learning.layers import conv2d_matrix

    rng = np.random.default_rng(stride)
    weight = torch.tensor(rng.normal(size=(3, 2, 4, 4)))  # (C_in, C_out, k, k)
    x = torch.tensor(rng.normal(size=(1, 3, 5, 5)))
    out = transposed_conv2d(x, weight, stride=stride, padding=padding)
    # the convolution that maps an image of out's size back to x's size, filters = weight
    matrix = conv2d_matrix(weight.numpy(), tuple(out.shape[1:]), stride=stride, pad=padding)
    assert matrix.shape[0] == x.numel()
    np.testing.assert_allclose(out.numpy().ravel(), matrix.T @ x.numpy().ravel(), atol=1e-12)
