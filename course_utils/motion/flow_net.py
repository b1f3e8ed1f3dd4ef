"""A small learned optical-flow network (chapter 06), trained on flying-shapes pairs.

It borrows FlowNetC's *correlation volume* and little else: both frames go through the same
few convolutions; the volume compares each pixel's (unit-length) features in frame 0 with
those of frame 1 at every displacement within ``radius`` pixels. The read-out is this module's
own: a softmax over the displacements turns the correlations into weights and the flow is the
weighted mean displacement (a soft argmax); a small head then corrects that flow using its
neighbourhood. There is no feature pyramid and no warping (PWC-Net's), and no deep decoder
regressing the flow (FlowNetC's). Supervised by the exact flow.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..device import model_device
from ..metrics import endpoint_error
from ..train import fit_steps
from ..validate import check_int, check_positive

Tensor = torch.Tensor


def correlation_volume(features0: Tensor, features1: Tensor, radius: int) -> Tensor:
    """Scaled dot products of features0 at x with features1 at x + d, for all |d_r|, |d_c| <= radius.

    features0, features1: (N, C, H, W) -> (N, (2 radius + 1)^2, H, W), displacement
    channels in row-major order of (d_r, d_c) (``displacements(radius)``); features1 is
    zero outside the image.
    """
    radius = check_int(radius, "radius", 0)
    if features0.shape != features1.shape or features0.ndim != 4:
        raise ValueError(f"features0 and features1 must be (N, C, H, W) of the same shape, got "
                         f"{tuple(features0.shape)} and {tuple(features1.shape)}")
    h, w = features0.shape[2:]
    padded = F.pad(features1, (radius,) * 4)
    side = 2 * radius + 1
    planes = [(features0 * padded[:, :, i:i + h, j:j + w]).sum(1)
              for i in range(side) for j in range(side)]
    return torch.stack(planes, 1) / features0.shape[1] ** 0.5


def displacements(radius: int) -> Tensor:
    """((2 radius + 1)^2, 2) float tensor of the (d_r, d_c) of each correlation channel."""
    radius = check_int(radius, "radius", 0)
    steps = torch.arange(-radius, radius + 1, dtype=torch.float32)
    return torch.cartesian_prod(steps, steps)


class TinyFlowNet(nn.Module):
    """Shared feature convolutions, a correlation volume, a soft argmax and a refining head.

    forward: frames (N, 2, H, W) (frame 0 and frame 1, grey) -> flow (N, 2, H, W), rows
    first, in pixels. Matching covers displacements up to ``radius`` pixels per component;
    the head (dilated convolutions over the matched flow, its confidence and frame 0's
    features) corrects it where matching cannot work, e.g. pixels that leave the image.
    """

    def __init__(self, channels: int = 16, radius: int = 4, hidden: int = 16):
        super().__init__()
        self.radius = check_int(radius, "radius", 1)
        channels, hidden = check_int(channels, "channels", 1), check_int(hidden, "hidden", 1)
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1))
        self.sharpness = nn.Parameter(torch.tensor(30.0))   # inverse softmax temperature
        self.head = nn.Sequential(
            nn.Conv2d(channels + 3, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=2, dilation=2), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=4, dilation=4), nn.ReLU(),
            nn.Conv2d(hidden, 2, 3, padding=1))
        self.register_buffer("offsets", displacements(radius))

    def match(self, frames: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Matching alone: (soft-argmax flow (N, 2, H, W), its weights (N, D, H, W),
        frame 0's unit-length features (N, C, H, W))."""
        if not isinstance(frames, Tensor) or frames.ndim != 4 or frames.shape[1] != 2:
            raise ValueError(f"frames must be an (N, 2, H, W) tensor, got "
                             f"{tuple(getattr(frames, 'shape', ()))}")
        n, _, h, w = frames.shape
        feats = F.normalize(self.features(frames.reshape(n * 2, 1, h, w)), dim=1)
        feats = feats.reshape(n, 2, -1, h, w)                                 # both frames at once
        corr = correlation_volume(feats[:, 0], feats[:, 1], self.radius)
        weights = torch.softmax(corr * feats.shape[2] ** 0.5 * self.sharpness, dim=1)
        flow = torch.einsum("ndhw,dk->nkhw", weights, self.offsets)
        return flow, weights, feats[:, 0]

    def forward(self, frames: Tensor) -> Tensor:
        flow, weights, feats0 = self.match(frames)
        confidence = weights.amax(1, keepdim=True)
        return flow + self.head(torch.cat([flow, confidence, feats0], 1))


def epe_loss(flow: Tensor, true_flow: Tensor) -> Tensor:
    """Mean end-point error of (N, 2, H, W) flows, as a differentiable loss."""
    return (flow - true_flow).pow(2).sum(1).add(1e-8).sqrt().mean()


def train_flow_net(model: nn.Module, frames: Tensor, flows: Tensor, steps: int = 300,
                   batch_size: int = 16, lr: float = 3e-3, seed: int = 0) -> dict[str, list]:
    """Adam on the end-point error over random mini-batches of (frames, flows).

    frames: (N, 2, H, W), flows: (N, 2, H, W). The learning rate decays with a cosine to
    zero. Returns ``{"loss": [per-step EPE]}``.
    """
    steps, batch_size = check_int(steps, "steps", 1), check_int(batch_size, "batch_size", 1)
    lr = check_positive(lr, "lr")
    if frames.shape[0] != flows.shape[0] or frames.shape[2:] != flows.shape[2:]:
        raise ValueError(f"frames and flows must be (N, 2, H, W) of matching N, H, W, got "
                         f"{tuple(frames.shape)} and {tuple(flows.shape)}")
    device = model_device(model)

    def batch_loss(generator):
        idx = torch.randint(0, frames.shape[0], (batch_size,), generator=generator)
        return epe_loss(model(frames[idx].to(device)), flows[idx].to(device))
    return {"loss": fit_steps(model, batch_loss, steps, lr, seed, cosine=True)}


@torch.no_grad()
def predict_flow(model: nn.Module, frames: Tensor, batch_size: int = 64) -> Tensor:
    """The model's flow for frames (N, 2, H, W), in eval mode, on the CPU: (N, 2, H, W)."""
    model.eval()
    device = model_device(model)
    return torch.cat([model(frames[i:i + batch_size].to(device)).cpu()
                      for i in range(0, frames.shape[0], batch_size)])


def flow_scores(estimate: Tensor, truth: Tensor, occluded: Tensor, boundaries: Tensor) -> dict[str, float]:
    """Held-out end-point errors of a flow estimate (N, 2, H, W): over all pixels, the visible
    and the occluded ones, and those at motion boundaries (``flow_pairs.layer_boundaries``)
    and away from them."""
    return {"all": endpoint_error(estimate, truth), "visible": endpoint_error(estimate, truth, ~occluded),
            "occluded": endpoint_error(estimate, truth, occluded),
            "boundaries": endpoint_error(estimate, truth, boundaries),
            "away from boundaries": endpoint_error(estimate, truth, ~boundaries)}


FLOW_METHODS = ("Lucas-Kanade (tuned)", "flow network")


def flow_arm(config: dict, seeds) -> dict[str, list[float]]:
    """One arm of "flow network vs Lucas-Kanade" (for ``evidence.compare.Comparison.run``), on
    flying shapes: ``config["train"]`` training pairs (data seed 1) and 200 held-out pairs
    (data seed 2), 32 x 32, motion up to 3 px, both moved by the base seed.

    - "flow network": a ``TinyFlowNet`` initialised from torch seed ``seed`` and trained
      ``config["steps"]`` steps of 8 pairs (lr 1e-2, cosine) with batches drawn from ``seed``;
    - "Lucas-Kanade (tuned)": window and pyramid depth chosen (``flow.tune_lucas_kanade``) on
      the first 30 training pairs; deterministic, so every seed gives the same scores.

    Returns per seed the held-out EPEs of ``flow_scores``."""
    from ..evidence.seeds import offset_seed
    from .flow import lucas_kanade_batch, tune_lucas_kanade
    from .flow_pairs import flying_shapes_dataset, layer_boundaries

    method = config["method"]
    if method not in FLOW_METHODS:
        raise ValueError(f"config['method'] must be one of {FLOW_METHODS}, got {method!r}")
    train = flying_shapes_dataset(check_int(config["train"], "config['train']", 30), size=32,
                                  max_motion=3.0, seed=offset_seed(1))
    test = flying_shapes_dataset(200, size=32, max_motion=3.0, seed=offset_seed(2))
    boundaries = layer_boundaries(test["layers"])
    scores: dict[str, list[float]] = {}
    if method == "Lucas-Kanade (tuned)":
        options, _ = tune_lucas_kanade(train["frames"][:30], train["flows"][:30])
        fixed = flow_scores(lucas_kanade_batch(test["frames"], **options), test["flows"],
                            test["occluded"], boundaries)
    for seed in seeds:
        if method == "flow network":
            torch.manual_seed(seed)
            net = TinyFlowNet()
            train_flow_net(net, train["frames"], train["flows"], steps=config["steps"], batch_size=8,
                           lr=1e-2, seed=seed)
            result = flow_scores(predict_flow(net, test["frames"]), test["flows"], test["occluded"],
                                 boundaries)
        else:
            result = fixed
        for name, value in result.items():
            scores.setdefault(f"EPE {name}", []).append(value)
    return scores
