"""The learned flow network: correlation volume against a direct computation, the soft-argmax
matching, and a short training run that must beat zero flow."""
import numpy as np
import pytest
import torch

from course_utils.motion import flow_net
from course_utils.motion.flow_pairs import flying_shapes_dataset
from course_utils.metrics import endpoint_error

pytestmark = pytest.mark.chapter("06_tracking")


def test_correlation_volume_matches_a_direct_computation(device, dtype):
    gen = torch.Generator().manual_seed(0)
    f0, f1 = torch.randn(2, 3, 5, 6, generator=gen), torch.randn(2, 3, 5, 6, generator=gen)
    f0, f1 = f0.to(device, dtype), f1.to(device, dtype)
    corr = flow_net.correlation_volume(f0, f1, radius=2)
    assert corr.shape == (2, 25, 5, 6)
    offsets = flow_net.displacements(2)
    a, b = f0.double().cpu().numpy(), f1.double().cpu().numpy()
    for k, (dr, dc) in enumerate(offsets.int().tolist()):
        for r in range(5):
            for c in range(6):
                inside = 0 <= r + dr < 5 and 0 <= c + dc < 6
                expected = (a[:, :, r, c] * b[:, :, r + dr, c + dc]).sum(1) / np.sqrt(3) if inside else 0.0
                np.testing.assert_allclose(corr[:, k, r, c].double().cpu().numpy(), expected,
                                           atol=1e-5 if dtype == torch.float32 else 1e-12)


def test_correlation_peaks_at_the_true_shift():
    image = torch.randn(1, 32, 12, 12, generator=torch.Generator().manual_seed(1))
    moved = torch.roll(image, shifts=(1, -2), dims=(2, 3))         # frame 1 = frame 0 moved by (1, -2)
    corr = flow_net.correlation_volume(image, moved, radius=3)
    best = flow_net.displacements(3)[corr[0, :, 6, 6].argmax()]
    assert best.tolist() == [1.0, -2.0]


def test_displacements_and_errors():
    assert flow_net.displacements(1).tolist() == [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 0],
                                                  [0, 1], [1, -1], [1, 0], [1, 1]]
    with pytest.raises(ValueError, match="features0 and features1 must be"):
        flow_net.correlation_volume(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 5), 1)
    with pytest.raises(ValueError, match=r"frames must be an \(N, 2, H, W\) tensor"):
        flow_net.TinyFlowNet()(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="radius must be an integer >= 1"):
        flow_net.TinyFlowNet(radius=0)
    with pytest.raises(ValueError, match="frames and flows must be"):
        flow_net.train_flow_net(flow_net.TinyFlowNet(), torch.zeros(4, 2, 8, 8), torch.zeros(3, 2, 8, 8))


def test_soft_argmax_stays_within_the_search_radius():
    net = flow_net.TinyFlowNet(radius=2)
    matched, weights, feats = net.match(torch.rand(3, 2, 10, 10, generator=torch.Generator().manual_seed(2)))
    assert matched.abs().max() <= 2 + 1e-6
    torch.testing.assert_close(weights.sum(1), torch.ones(3, 10, 10))
    torch.testing.assert_close(feats.norm(dim=1), torch.ones(3, 10, 10))


def test_short_training_beats_zero_flow(one_torch_thread):
    torch.manual_seed(0)
    train = flying_shapes_dataset(200, size=24, max_motion=2.0, seed=11)
    test = flying_shapes_dataset(40, size=24, max_motion=2.0, seed=12)
    net = flow_net.TinyFlowNet(radius=3)
    history = flow_net.train_flow_net(net, train["frames"], train["flows"], steps=80, batch_size=8, lr=1e-2)
    assert np.mean(history["loss"][-10:]) < np.mean(history["loss"][:10])
    predicted = flow_net.predict_flow(net, test["frames"])
    zero = endpoint_error(torch.zeros_like(test["flows"]), test["flows"])
    assert endpoint_error(predicted, test["flows"]) < 0.7 * zero


def test_flow_scores_split_the_endpoint_error_by_mask():
    from course_utils.motion.flow_pairs import layer_boundaries

    data = flying_shapes_dataset(3, size=16, seed=2)
    estimate = data["flows"] + 0.3 * torch.randn(data["flows"].shape, generator=torch.Generator().manual_seed(0))
    edges = layer_boundaries(data["layers"])
    scores = flow_net.flow_scores(estimate, data["flows"], data["occluded"], edges)
    assert scores["all"] == pytest.approx(endpoint_error(estimate, data["flows"]))
    assert scores["boundaries"] == pytest.approx(endpoint_error(estimate, data["flows"], edges))
    assert scores["away from boundaries"] == pytest.approx(endpoint_error(estimate, data["flows"], ~edges))
    assert scores["occluded"] == pytest.approx(endpoint_error(estimate, data["flows"], data["occluded"]))
    # the whole is the pixel-weighted mix of its two parts
    share = edges.float().mean().item()
    assert scores["all"] == pytest.approx(share * scores["boundaries"] + (1 - share) * scores["away from boundaries"])


def test_flow_arm_refuses_an_unknown_method():
    with pytest.raises(ValueError, match=r"config\['method'\]"):
        flow_net.flow_arm({"method": "magic", "train": 30, "steps": 1}, [0])
