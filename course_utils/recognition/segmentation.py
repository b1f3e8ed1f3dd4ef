"""Semantic segmentation: upsampling layers and a small U-Net (with or without skips).

Three ways to make a feature map larger are written out so they can be compared with their
torch counterparts: nearest-neighbour repetition, max-unpooling with the indices remembered
by max-pooling, and transposed convolution ("each input pixel stamps a scaled kernel").
Scores (confusion matrix, mIoU) live in ``metrics``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data.shapes import make_dataset
from ..device import get_device, model_device, seed_everything
from ..metrics import as_labels as _as_labels
from ..metrics import mean_iou
from ..train import fit
from ..validate import check_int, check_model_input, check_positive

# ----------------------------------------------------------------------------- checks


def _check_tensor(x, name: str, ndim: int) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}")
    return x


# ----------------------------------------------------------------------------- upsampling


def upsample_nearest(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Repeat every pixel ``factor`` times along both axes.

    x: (N, C, H, W)  ->  (N, C, H * factor, W * factor)
    Same as ``F.interpolate(x, scale_factor=factor, mode="nearest")``.
    """
    _check_tensor(x, "x", 4)
    factor = check_int(factor, "factor", 1)
    return x.repeat_interleave(factor, dim=2).repeat_interleave(factor, dim=3)


def max_unpool(pooled: torch.Tensor, indices: torch.Tensor,
               output_size: tuple[int, int]) -> torch.Tensor:
    """Put each pooled value back where max-pooling found it; every other pixel is 0.

    pooled, indices: (N, C, h, w), ``indices`` as returned by
    ``nn.MaxPool2d(..., return_indices=True)`` (flat positions into each H * W plane).
    Returns (N, C, H, W) with (H, W) = ``output_size``. Same as ``F.max_unpool2d``.
    """
    _check_tensor(pooled, "pooled", 4)
    _check_tensor(indices, "indices", 4)
    if indices.shape != pooled.shape:
        raise ValueError(f"indices must have the shape of pooled {tuple(pooled.shape)}, "
                         f"got {tuple(indices.shape)}")
    if indices.dtype != torch.int64:
        raise TypeError(f"indices must be int64, got {indices.dtype}")
    height, width = (check_int(s, "output_size", 1) for s in output_size)
    if indices.numel() and (indices.min() < 0 or indices.max() >= height * width):
        raise ValueError(f"indices must lie in [0, {height * width}) for output_size "
                         f"{(height, width)}")
    n, c = pooled.shape[:2]
    out = pooled.new_zeros(n, c, height * width)
    out.scatter_(2, indices.flatten(2), pooled.flatten(2))
    return out.view(n, c, height, width)


def transposed_conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                                output_padding: int = 0, dilation: int = 1) -> int:
    """Output length of a transposed convolution along one axis.

    ``(size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1``
    (the inverse of the convolution size formula, plus ``output_padding`` to pick one of the
    input sizes that a strided convolution maps to the same output size).
    """
    size = check_int(size, "size", 1)
    kernel_size = check_int(kernel_size, "kernel_size", 1)
    stride = check_int(stride, "stride", 1)
    padding = check_int(padding, "padding", 0)
    output_padding = check_int(output_padding, "output_padding", 0)
    dilation = check_int(dilation, "dilation", 1)
    if output_padding >= max(stride, dilation):
        raise ValueError(f"output_padding must be smaller than stride or dilation, got "
                         f"output_padding={output_padding}, stride={stride}, dilation={dilation}")
    out = (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1
    if out < 1:
        raise ValueError(f"padding={padding} is too large: the output would have size {out}")
    return out


def _check_transposed_args(x, weight, bias, stride, padding, output_padding):
    """Validate transposed-convolution arguments; return (out_h, out_w)."""
    _check_tensor(x, "x", 4)
    _check_tensor(weight, "weight", 4)
    if weight.dtype != x.dtype or (bias is not None and getattr(bias, "dtype", x.dtype) != x.dtype):
        raise TypeError(f"x, weight and bias must share one dtype, got x {x.dtype}, weight {weight.dtype}"
                        + (f", bias {bias.dtype}" if bias is not None else "") + "; convert them with .to()")
    if weight.shape[0] != x.shape[1]:
        raise ValueError(f"weight must have C_in = {x.shape[1]} rows (shape (C_in, C_out, k, k)),"
                         f" got shape {tuple(weight.shape)}")
    if weight.shape[2] != weight.shape[3]:
        raise ValueError(f"weight must have a square kernel, got shape {tuple(weight.shape)}")
    if bias is not None:
        _check_tensor(bias, "bias", 1)
        if bias.shape[0] != weight.shape[1]:
            raise ValueError(f"bias must have C_out = {weight.shape[1]} entries, "
                             f"got shape {tuple(bias.shape)}")
    h, w, k = x.shape[2], x.shape[3], weight.shape[2]
    return (transposed_conv_output_size(h, k, stride, padding, output_padding),
            transposed_conv_output_size(w, k, stride, padding, output_padding))


def _full_canvas(x, weight, stride, padding, out_h, out_w):
    """The zero "no padding" canvas, large enough for the output_padding rows as well."""
    h, w, k = x.shape[2], x.shape[3], weight.shape[2]
    return x.new_zeros(x.shape[0], weight.shape[1], max(out_h + 2 * padding, (h - 1) * stride + k),
                       max(out_w + 2 * padding, (w - 1) * stride + k))


def _crop(canvas, bias, padding, out_h, out_w):
    """The output: the canvas without ``padding`` on each side, plus the bias."""
    out = canvas[:, :, padding:padding + out_h, padding:padding + out_w]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def transposed_conv2d_stamp(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                            stride: int = 1, padding: int = 0,
                            output_padding: int = 0) -> torch.Tensor:
    """Transposed convolution as "stamp a kernel per input pixel, add the overlaps".

    The readable form: for every input pixel (y, x) of every image, the (C_out, k, k) stamp
    ``sum_c x[n, c, y, x] * weight[c]`` is added to the canvas with its top-left corner at
    (y * stride, x * stride); the canvas is then cropped by ``padding`` on each side.
    Same arguments and result as ``transposed_conv2d``; slow (N * H * W Python steps).
    """
    out_h, out_w = _check_transposed_args(x, weight, bias, stride, padding, output_padding)
    n, _, h, w = x.shape
    k = weight.shape[2]
    canvas = _full_canvas(x, weight, stride, padding, out_h, out_w)
    for b in range(n):
        for y in range(h):
            for xx in range(w):
                stamp = torch.einsum("c,cdij->dij", x[b, :, y, xx], weight)
                top, left = y * stride, xx * stride
                canvas[b, :, top:top + k, left:left + k] += stamp
    return _crop(canvas, bias, padding, out_h, out_w)


def transposed_conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                      stride: int = 1, padding: int = 0, output_padding: int = 0) -> torch.Tensor:
    """Transposed convolution with one loop over the k * k kernel taps.

    The same sum as ``transposed_conv2d_stamp`` taken in the other order: for each tap (i, j),
    every input pixel adds ``weight[:, :, i, j]``-mixed channels at (y * stride + i,
    x * stride + j), which is one strided slice of the canvas for all pixels at once.
    x: (N, C_in, H, W); weight: (C_in, C_out, k, k) (torch's ConvTranspose2d layout);
    bias: (C_out,) or None. Returns (N, C_out, H_out, W_out) with the sizes given by
    ``transposed_conv_output_size``. Same as ``F.conv_transpose2d``.
    """
    out_h, out_w = _check_transposed_args(x, weight, bias, stride, padding, output_padding)
    h, w, k = x.shape[2], x.shape[3], weight.shape[2]
    canvas = _full_canvas(x, weight, stride, padding, out_h, out_w)
    for i in range(k):
        for j in range(k):
            contribution = torch.einsum("nchw,cd->ndhw", x, weight[:, :, i, j])
            canvas[:, :, i:i + (h - 1) * stride + 1:stride,
                   j:j + (w - 1) * stride + 1:stride] += contribution
    return _crop(canvas, bias, padding, out_h, out_w)


# ----------------------------------------------------------------------------- U-Net


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 convolutions (padding 1), each followed by BatchNorm and ReLU.

    (N, in_channels, H, W) -> (N, out_channels, H, W)
    """
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """A small U-Net: an encoder that halves the resolution per level, a decoder that doubles
    it with transposed convolutions and, with ``skip_connections=True``, concatenates the
    encoder features of the same resolution before each decoder block.

    x: (N, in_channels, H, W) -> logits (N, num_classes, H, W), for any H, W >= 1 (the input
    is zero-padded to a multiple of 2 ** (len(widths) - 1) and the output cropped back).
    Without skips the only route from input to output is the bottleneck at 1/2**(L-1)
    resolution, so fine detail must be re-invented by the decoder. The two variants have
    decoder blocks of the same shapes (each takes 2 * width channels); without skips the
    up-convolutions are twice as wide, so that net has slightly *more* parameters.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 4,
                 widths: tuple[int, ...] = (16, 32, 64), skip_connections: bool = True):
        super().__init__()
        in_channels = check_int(in_channels, "in_channels", 1)
        num_classes = check_int(num_classes, "num_classes", 2)
        widths = tuple(widths)
        if len(widths) < 2:
            raise ValueError(f"widths must have at least 2 levels, got {widths}")
        for wdt in widths:
            check_int(wdt, "widths", 1)
        if not isinstance(skip_connections, bool):
            raise TypeError(f"skip_connections must be a bool, got {skip_connections!r}")
        self.widths, self.skip_connections = widths, skip_connections
        self.encoders = nn.ModuleList()
        previous = in_channels
        for wdt in widths:
            self.encoders.append(conv_block(previous, wdt))
            previous = wdt
        self.ups, self.decoders = nn.ModuleList(), nn.ModuleList()
        for wdt in reversed(widths[:-1]):
            # without skips the up-convolution alone fills the 2 * wdt channels that the skip
            # and the up-convolution share otherwise: the decoder blocks are the same either way
            up_width = wdt if skip_connections else 2 * wdt
            self.ups.append(nn.ConvTranspose2d(previous, up_width, kernel_size=2, stride=2))
            self.decoders.append(conv_block(2 * wdt, wdt))
            previous = wdt
        self.head = nn.Conv2d(previous, num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor(x, "x", 4)
        check_model_input(x, "x", self)
        height, width = x.shape[-2:]
        multiple = 2 ** (len(self.widths) - 1)
        x = F.pad(x, (0, -width % multiple, 0, -height % multiple))
        skips = []
        for level, encoder in enumerate(self.encoders):
            if level > 0:
                x = F.max_pool2d(x, 2)
            x = encoder(x)
            skips.append(x)
        skips.pop()  # the bottleneck output is x itself
        for up, decoder in zip(self.ups, self.decoders):
            x = up(x)
            skip = skips.pop()
            x = decoder(torch.cat([skip, x], dim=1) if self.skip_connections else x)
        return self.head(x)[..., :height, :width]


@torch.no_grad()
def predict_labels(model: nn.Module, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Per-pixel argmax of ``model`` in eval mode, on the model's device.

    images: (N, C, H, W) -> labels (N, H, W) int64 on the CPU.
    """
    _check_tensor(images, "images", 4)
    batch_size = check_int(batch_size, "batch_size", 1)
    device = model_device(model)
    was_training = model.training
    model.eval()
    out = [model(images[i:i + batch_size].to(device)).argmax(1).cpu()
           for i in range(0, len(images), batch_size)]
    model.train(was_training)
    return torch.cat(out)


# ----------------------------------------------------------------------------- training


def class_weights(labels: torch.Tensor, num_classes: int, power: float = 0.5) -> torch.Tensor:
    """Loss weights ``(1 / frequency) ** power`` per class, scaled to mean 1.

    labels: integer label maps, e.g. (N, H, W). ``power=0`` gives equal weights, ``power=1``
    full inverse-frequency weighting. Classes that never occur get weight 0.
    Returns (num_classes,) float32, for ``F.cross_entropy(..., weight=...)``.
    """
    labels = _as_labels(labels, "labels")
    num_classes = check_int(num_classes, "num_classes", 1)
    power = check_positive(power, "power", allow_zero=True)
    if labels.numel() == 0 or labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must be non-empty with values in [0, {num_classes})")
    counts = torch.bincount(labels.reshape(-1).cpu().long(), minlength=num_classes).double()
    weights = torch.where(counts > 0, (counts.sum() / counts.clamp(min=1)) ** power,
                          torch.zeros_like(counts))
    return (weights / weights[counts > 0].mean()).float()


def boundary_mask(labels: torch.Tensor) -> torch.Tensor:
    """Pixels whose 3x3 neighbourhood holds more than one label (both sides of every edge).

    labels: (..., H, W) integer label maps -> bool tensor of the same shape. Pixels outside
    the image do not count as a different label.
    """
    labels = _as_labels(labels, "labels")
    if labels.ndim < 2:
        raise ValueError(f"labels must have at least 2 dimensions (H, W), got shape "
                         f"{tuple(labels.shape)}")
    flat = labels.reshape(-1, 1, *labels.shape[-2:]).double()
    high = F.max_pool2d(flat, 3, stride=1, padding=1)
    low = -F.max_pool2d(-flat, 3, stride=1, padding=1)
    return (high != low).reshape(labels.shape)


def train_segmenter(images: torch.Tensor, labels: torch.Tensor, skip_connections: bool = True,
                    widths: tuple[int, ...] = (8, 16, 32), epochs: int = 4, lr: float = 2e-3,
                    batch_size: int = 8, weight_power: float = 0.5, seed: int = 0,
                    device: torch.device | None = None, progress: bool = True
                    ) -> tuple[UNet, dict[str, list[float]]]:
    """Train a ``UNet`` on images (N, 3, H, W) and label maps (N, H, W) in [0, C).

    Adam with a cosine-decayed learning rate, shuffled batches, and cross-entropy weighted
    per class by ``class_weights(labels, C, weight_power)``. Seeded: the same arguments give
    the same network. Returns the trained net (eval mode) and ``fit``'s history.
    """
    _check_tensor(images, "images", 4)
    labels = _as_labels(labels, "labels")
    if labels.ndim != 3 or labels.shape[0] != images.shape[0] or \
            labels.shape[1:] != images.shape[2:]:
        raise ValueError(f"labels must have shape {(images.shape[0], *images.shape[2:])}, "
                         f"got {tuple(labels.shape)}")
    epochs, batch_size = check_int(epochs, "epochs", 1), check_int(batch_size, "batch_size", 1)
    lr = check_positive(lr, "lr")
    num_classes = int(labels.max()) + 1
    device = get_device() if device is None else torch.device(device)
    seed_everything(check_int(seed, "seed", 0))
    net = UNet(in_channels=images.shape[1], num_classes=max(num_classes, 2), widths=widths,
               skip_connections=skip_connections).to(device)
    if device.type == "cpu":
        net = net.to(memory_format=torch.channels_last)   # faster CPU convolutions
    weight = class_weights(labels, max(num_classes, 2), weight_power).to(device)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images, labels), batch_size=batch_size, shuffle=True,
        generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history = fit(net, loader, lambda out, y: F.cross_entropy(out, y, weight=weight), optimizer,
                  epochs, scheduler=schedule, progress=progress)
    net.eval()
    return net, history


def skip_arm(config: dict, seeds) -> dict[str, list[float]]:
    """One arm of the skips-vs-no-skips comparison (for ``evidence.compare``): chapter 04's
    scenes at 32 x 32 (shapes of 8 to 16 pixels; ``config["n_train"]`` training scenes drawn
    with seed 1, 300 held-out scenes with seed 2), a ``UNet`` with
    ``config["skip_connections"]`` trained by ``train_segmenter`` for ``config["epochs"]``
    epochs from every seed of ``seeds``. Per seed: pixel accuracy near object edges
    (``boundary_mask``) and mIoU on the held-out scenes."""
    n_train = check_int(config["n_train"], "config['n_train']", 1)
    scene = dict(size=32, min_size=8, max_size=16)
    train, test = make_dataset(n_train, seed=1, **scene), make_dataset(300, seed=2, **scene)
    edges = boundary_mask(test["semantic"])
    out: dict[str, list[float]] = {"edge accuracy": [], "mIoU": []}
    for seed in seeds:
        net, _ = train_segmenter(train["images"], train["semantic"],
                                 skip_connections=config["skip_connections"],
                                 epochs=config["epochs"], seed=seed, progress=False)
        pred = predict_labels(net, test["images"])
        out["edge accuracy"].append(float((pred == test["semantic"])[edges].float().mean()))
        out["mIoU"].append(float(mean_iou(pred, test["semantic"], 4)))
    return out
