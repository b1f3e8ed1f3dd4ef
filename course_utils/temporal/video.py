"""Video as a tensor, causal 3-D convolution, and the small clip classifiers of chapter 05.

Layouts: a clip on disk or in numpy is ``(T, H, W, C)``; a batch fed to ``torch.nn.Conv3d``
is ``(N, C, T, H, W)``; the generators in ``course_utils.temporal.clips`` return ``(N, T, C, H, W)``
(a batch of frame sequences) and ``to_conv3d_layout`` moves the time axis behind the channels.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..metrics import accuracy
from ..train import fit, predict
from ..validate import check_int


def _check_clips(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 5:
        raise ValueError(f"{name} must be (N, C, T, H, W), got shape {tuple(x.shape)}")
    return x


def to_conv3d_layout(clips: torch.Tensor) -> torch.Tensor:
    """clips: (N, T, C, H, W) -> (N, C, T, H, W), the layout of torch.nn.Conv3d."""
    return _check_clips(clips, "clips").transpose(1, 2)


def _triple(kernel_size, name: str) -> tuple[int, int, int]:
    sizes = (kernel_size,) * 3 if isinstance(kernel_size, (int, np.integer)) else tuple(kernel_size)
    if len(sizes) != 3:
        raise ValueError(f"{name} must be an int or (kt, kh, kw), got {kernel_size!r}")
    return tuple(check_int(k, name, 1) for k in sizes)


class CausalConv3d(nn.Module):
    """3-D convolution whose output at frame t sees only input frames <= t.

    x: (N, C_in, T, H, W) -> (N, C_out, T, H, W). The input is padded with kt - 1 zero frames
    in the *past* only (none in the future) and symmetrically in space, so T, H and W are kept.
    Spatial kernel sizes must be odd. ``kernel_size`` is an int or (kt, kh, kw).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=3, bias: bool = True):
        super().__init__()
        kt, kh, kw = _triple(kernel_size, "kernel_size")
        if kh % 2 == 0 or kw % 2 == 0:
            raise ValueError(f"kernel_size must have odd spatial sizes to keep H and W, "
                             f"got {(kt, kh, kw)}")
        self.kernel_size = (kt, kh, kw)
        # F.pad lists padding from the last axis backwards: (W left, W right, H.., T past, T future)
        self.padding = (kw // 2, kw // 2, kh // 2, kh // 2, kt - 1, 0)
        self.conv = nn.Conv3d(check_int(in_channels, "in_channels", 1),
                              check_int(out_channels, "out_channels", 1), (kt, kh, kw), bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_clips(x)
        if x.shape[1] != self.conv.in_channels:
            raise ValueError(f"x must have {self.conv.in_channels} channels (dim 1), "
                             f"got shape {tuple(x.shape)}")
        return self.conv(F.pad(x, self.padding))


def frame_differences(x: torch.Tensor) -> torch.Tensor:
    """The motion input of a two-stream net: x: (N, C, T, H, W) -> x[t+1] - x[t]: (N, C, T-1, H, W)."""
    _check_clips(x)
    if x.shape[2] < 2:
        raise ValueError(f"x needs at least 2 frames (dim 2), got shape {tuple(x.shape)}")
    return x[:, :, 1:] - x[:, :, :-1]


def shuffle_frames(x: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Each clip's frames in its own random order: x: (N, C, T, H, W) -> same shape."""
    _check_clips(x)
    generator = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    order = torch.argsort(torch.rand(x.shape[0], x.shape[2], generator=generator), dim=1)
    index = order.to(x.device)[:, None, :, None, None].expand_as(x)
    return torch.gather(x, 2, index)


class FrameCNN(nn.Module):
    """A 2-D CNN applied to every frame, its features averaged over time, then a linear layer.

    x: (N, C, T, H, W) -> logits (N, classes). Averaging makes the output the same for any
    order of the frames. With ``motion=True`` it sees frame differences instead of frames
    (the motion stream of a two-stream network).
    """

    def __init__(self, in_channels: int = 1, classes: int = 2, width: int = 16,
                 motion: bool = False):
        super().__init__()
        self.motion = motion
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1),
            nn.Flatten())
        self.head = nn.Linear(2 * width, classes)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, T, H, W) -> per-frame features (N, T, F)."""
        _check_clips(x)
        if self.motion:
            x = frame_differences(x)
        n, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(n * t, c, h, w)
        return self.features(frames).reshape(n, t, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.frame_features(x).mean(dim=1))


class Conv3dCNN(nn.Module):
    """Two 3 x 3 x 3 convolutions over space *and* time, global pooling, a linear layer.

    x: (N, C, T, H, W) -> logits (N, classes). ``causal=True`` uses CausalConv3d, so the
    features at frame t depend only on frames <= t.
    """

    def __init__(self, in_channels: int = 1, classes: int = 2, width: int = 16,
                 causal: bool = False, temporal_kernel: int = 3):
        super().__init__()
        kernel = (temporal_kernel, 3, 3)

        def conv(cin, cout):
            if causal:
                return CausalConv3d(cin, cout, kernel)
            return nn.Conv3d(cin, cout, kernel, padding=(temporal_kernel // 2, 1, 1))

        self.features = nn.Sequential(
            conv(in_channels, width), nn.ReLU(), nn.MaxPool3d((1, 2, 2)),
            conv(width, 2 * width), nn.ReLU())
        self.head = nn.Linear(2 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(_check_clips(x))
        return self.head(features.amax(dim=(3, 4)).mean(dim=2))


class TwoStream(nn.Module):
    """Appearance stream (frames) + motion stream (frame differences), logits added.

    x: (N, C, T, H, W) -> logits (N, classes). Both streams are per-frame 2-D CNNs.
    """

    def __init__(self, in_channels: int = 1, classes: int = 2, width: int = 16):
        super().__init__()
        self.appearance = FrameCNN(in_channels, classes, width, motion=False)
        self.motion = FrameCNN(in_channels, classes, width, motion=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.appearance(x) + self.motion(x)


class SlowFast(nn.Module):
    """Two 3-D pathways over one clip, after Feichtenhofer et al. (2019): slow (every
    ``alpha``-th frame, wide) and fast (every frame, thin), each two 3 x 3 x 3 convolutions.
    With ``lateral`` (and both pathways) a **lateral connection** feeds the fast pathway's
    first-stage features into the slow pathway: a time-strided convolution (kernel 5 x 1 x 1,
    stride ``alpha`` in time, 2 x fast_width channels) brings them to the slow frame rate, and
    they are concatenated to the slow features before its second convolution. The pooled
    features of both pathways are concatenated before the linear layer.

    x: (N, C, T, H, W) with T a multiple of ``alpha`` -> logits (N, classes). ``pathways``
    selects "slow", "fast" or both, so the same class measures each pathway alone.
    """

    def __init__(self, in_channels: int = 1, classes: int = 2, alpha: int = 4,
                 slow_width: int = 16, fast_width: int = 4,
                 pathways: tuple[str, ...] = ("slow", "fast"), lateral: bool = True):
        super().__init__()
        self.alpha = check_int(alpha, "alpha", 1)
        if not pathways or set(pathways) - {"slow", "fast"}:
            raise ValueError(f"pathways must be a non-empty subset of ('slow', 'fast'), "
                             f"got {pathways!r}")
        if not isinstance(lateral, bool):
            raise TypeError(f"lateral must be a bool, got {lateral!r}")
        self.pathways = tuple(pathways)
        widths = {"slow": check_int(slow_width, "slow_width", 1),
                  "fast": check_int(fast_width, "fast_width", 1)}
        self.lateral = None
        if lateral and len(self.pathways) == 2:
            self.lateral = nn.Conv3d(widths["fast"], 2 * widths["fast"], (5, 1, 1),
                                     stride=(self.alpha, 1, 1), padding=(2, 0, 0))
        extra = {"slow": 2 * widths["fast"] if self.lateral is not None else 0, "fast": 0}
        self.stage1 = nn.ModuleDict({
            name: nn.Sequential(nn.Conv3d(in_channels, widths[name], 3, padding=1), nn.ReLU(),
                                nn.MaxPool3d((1, 2, 2))) for name in self.pathways})
        self.stage2 = nn.ModuleDict({
            name: nn.Sequential(nn.Conv3d(widths[name] + extra[name], 2 * widths[name], 3, padding=1),
                                nn.ReLU()) for name in self.pathways})
        self.head = nn.Linear(sum(2 * widths[name] for name in self.pathways), classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_clips(x)
        if x.shape[2] % self.alpha:
            raise ValueError(f"x must have a number of frames T divisible by alpha = {self.alpha}, "
                             f"got T = {x.shape[2]}")
        inputs = {"slow": x[:, :, ::self.alpha], "fast": x}
        first = {name: self.stage1[name](inputs[name]) for name in self.pathways}
        if self.lateral is not None:
            first["slow"] = torch.cat([first["slow"], self.lateral(first["fast"])], dim=1)
        pooled = [self.stage2[name](first[name]).amax(dim=(3, 4)).mean(dim=2)
                  for name in self.pathways]
        return self.head(torch.cat(pooled, dim=1))


def motion_kernels(length: int = 3) -> torch.Tensor:
    """Two hand-made space-time filters, (2, 1, length, 1, length), for Conv3d on (N, 1, T, H, W).

    Filter 0 weighs the diagonal t = x of its (t, x) window (a pattern moving right by one
    pixel per frame), filter 1 the anti-diagonal (moving left); both have zero mean, so a
    static or uniform input gives zero.
    """
    length = check_int(length, "length", 2)
    diagonal = torch.eye(length) - 1.0 / length
    kernels = torch.stack([diagonal, diagonal.flip(1)])  # (2, T, X)
    return kernels[:, None, :, None, :]


def future_leak(conv: nn.Module, x: torch.Tensor, frame: int, size: float = 1.0) -> torch.Tensor:
    """Change input ``frame`` of x: (N, C, T, H, W) and measure which output frames move.

    Returns (T,): the largest |change| of ``conv``'s output at each frame. A causal layer gives
    exactly 0 before ``frame``.
    """
    _check_clips(x)
    frame = check_int(frame, "frame", 0)
    if frame >= x.shape[2]:
        raise ValueError(f"frame must be < T = {x.shape[2]}, got {frame}")
    changed = x.clone()
    changed[:, :, frame] += size * torch.randn_like(changed[:, :, frame])
    with torch.no_grad():
        delta = (conv(changed) - conv(x)).abs()
    if delta.shape[2] != x.shape[2]:
        raise ValueError(f"conv must keep the number of frames T = {x.shape[2]}, "
                         f"got output shape {tuple(delta.shape)}")
    return delta.transpose(1, 2).flatten(2).amax(dim=(0, 2))


def train_clip_classifier(model: nn.Module, clips: torch.Tensor, labels: torch.Tensor,
                          epochs: int = 4, lr: float = 3e-3, batch: int = 32, seed: int = 0
                          ) -> dict[str, list[float]]:
    """Adam + cross-entropy on clips: (N, C, T, H, W), labels: (N,). Returns ``fit``'s history."""

    _check_clips(clips, "clips")
    if labels.shape != clips.shape[:1]:
        raise ValueError(f"labels must be (N,) = ({clips.shape[0]},), got {tuple(labels.shape)}")
    torch.manual_seed(check_int(seed, "seed", 0))
    loader = DataLoader(TensorDataset(clips, labels), batch_size=batch, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    return fit(model, loader, F.cross_entropy, torch.optim.Adam(model.parameters(), lr=lr),
               epochs, metric=accuracy, progress=False)


STREAMS = ("appearance", "motion", "two-stream")


def stream_model(streams: str, width: int, classes: int) -> nn.Module:
    """The network of one arm of the two-stream comparison: "appearance" (a bag of frames),
    "motion" (a bag of frame differences) or "two-stream" (both, logits added), each stream of
    ``width`` channels."""
    if streams not in STREAMS:
        raise ValueError(f"streams must be one of {STREAMS}, got {streams!r}")
    if streams == "two-stream":
        return TwoStream(classes=classes, width=width)
    return FrameCNN(classes=classes, width=width, motion=streams == "motion")


def stream_arm(config: dict, seeds, train_clips: torch.Tensor, train_labels: torch.Tensor,
               test_clips: torch.Tensor, test_labels: torch.Tensor) -> dict[str, list[float]]:
    """One arm of the two-stream comparison (for ``evidence.compare.Comparison.run``) on clips
    labelled digit x direction (``clips.digit_and_direction_clips``: label = digit index x
    ``config["directions"]`` + direction index).

    The arm's network is ``stream_model(config["streams"], w, classes)`` at the width ``w``
    whose multiply-adds per clip come closest to ``config["multiply-adds"]``, so arms differ in
    their streams, not in their compute. For every seed it is initialised and its batches
    drawn from that seed, trained by ``train_clip_classifier`` (``config["epochs"]``,
    ``config["lr"]``, ``config["batch"]``). Returns per seed the test accuracy, the accuracy
    of the digit alone and of the direction alone, and the width used."""
    from ..model_size import width_for_multiply_adds

    directions = check_int(config["directions"], "config['directions']", 2)
    classes = int(max(train_labels.max(), test_labels.max())) + 1
    if classes % directions:
        raise ValueError(f"labels must number digits x {directions} directions, got {classes} classes")
    width = width_for_multiply_adds(lambda w: stream_model(config["streams"], w, classes),
                                    check_int(config["multiply-adds"], "config['multiply-adds']", 1),
                                    test_clips[:1], widths=range(2, 33))
    scores: dict[str, list[float]] = {"accuracy": [], "digit accuracy": [], "direction accuracy": [],
                                      "width": []}
    for seed in seeds:
        torch.manual_seed(seed)
        model = stream_model(config["streams"], width, classes)
        train_clip_classifier(model, train_clips, train_labels, epochs=config["epochs"],
                              lr=config["lr"], batch=config["batch"], seed=seed)
        for name, value in digit_direction_accuracy(predict(model, test_clips, batch=256),
                                                    test_labels, directions).items():
            scores[name].append(value)
        scores["width"].append(width)
    return scores


def digit_direction_accuracy(logits: torch.Tensor, labels: torch.Tensor, directions: int
                             ) -> dict[str, float]:
    """logits: (N, digits x directions), labels: (N,) with label = digit index x ``directions``
    + direction index. Returns the accuracy, and the accuracy of the digit alone and of the
    direction alone (a guess of the right digit moving the wrong way counts for the digit)."""
    directions = check_int(directions, "directions", 2)
    if logits.ndim != 2 or logits.shape[1] % directions or labels.shape != logits.shape[:1]:
        raise ValueError(f"logits must be (N, digits x {directions}) and labels (N,), got "
                         f"{tuple(logits.shape)} and {tuple(labels.shape)}")
    guess = logits.argmax(1)
    return {"accuracy": float((guess == labels).float().mean()),
            "digit accuracy": float((guess // directions == labels // directions).float().mean()),
            "direction accuracy": float((guess % directions == labels % directions).float().mean())}
