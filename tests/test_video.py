"""Tests for course_utils.temporal.video: the causal 3-D convolution against nn.Conv3d and its no-leak
law, layouts, frame differences and shuffles, and the clip models' order (in)variance."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_utils.temporal import video

pytestmark = pytest.mark.chapter("05_video")


@pytest.mark.parametrize("kernel", [3, (2, 3, 5), (4, 1, 1), (1, 3, 3)])
def test_causal_conv_matches_conv3d_on_the_valid_part(device, dtype, kernel):
    torch.manual_seed(0)
    layer = video.CausalConv3d(2, 3, kernel).to(device, dtype)
    kt, kh, kw = layer.kernel_size
    x = torch.randn(2, 2, 7, 6, 5, device=device, dtype=dtype)
    reference = F.conv3d(x, layer.conv.weight, layer.conv.bias, padding=(0, kh // 2, kw // 2))
    out = layer(x)
    assert out.shape == (2, 3, 7, 6, 5)
    # frames t >= kt - 1 have a full past: they are ordinary (unpadded in time) Conv3d outputs
    torch.testing.assert_close(out[:, :, kt - 1:], reference)


def test_causal_conv_first_frame_sees_only_frame_zero():
    torch.manual_seed(0)
    layer = video.CausalConv3d(1, 1, (3, 1, 1), bias=False)
    x = torch.randn(1, 1, 5, 1, 1, dtype=torch.float64)
    layer = layer.double()
    w = layer.conv.weight[0, 0, :, 0, 0]
    with torch.no_grad():
        out = layer(x)[0, 0, :, 0, 0]
    series = x[0, 0, :, 0, 0]
    torch.testing.assert_close(out[0], w[2] * series[0])
    torch.testing.assert_close(out[1], w[1] * series[0] + w[2] * series[1])
    torch.testing.assert_close(out[4], w[0] * series[2] + w[1] * series[3] + w[2] * series[4])


@settings(max_examples=25, deadline=None)
@given(frames=st.integers(2, 9), kt=st.integers(1, 4), frame=st.data(), seed=st.integers(0, 10**6))
def test_no_leak_from_future_frames(frames, kt, frame, seed):
    changed = frame.draw(st.integers(0, frames - 1))
    torch.manual_seed(seed)
    layer = video.CausalConv3d(2, 3, (kt, 3, 3))
    x = torch.randn(1, 2, frames, 5, 5)
    leak = video.future_leak(layer, x, changed)
    assert torch.all(leak[:changed] == 0)
    assert leak[changed] > 0          # the changed frame itself does reach its own output


def test_centred_conv3d_leaks_and_future_leak_reports_it():
    torch.manual_seed(0)
    leak = video.future_leak(nn.Conv3d(1, 2, 3, padding=1), torch.randn(2, 1, 6, 5, 5), frame=3)
    assert leak[2] > 0 and leak[1] == 0 and leak[5] == 0


def test_causal_conv_errors_name_the_argument():
    with pytest.raises(ValueError, match="odd spatial"):
        video.CausalConv3d(1, 1, (3, 2, 3))
    with pytest.raises(ValueError, match="kernel_size"):
        video.CausalConv3d(1, 1, (3, 3))
    with pytest.raises(ValueError, match="in_channels"):
        video.CausalConv3d(0, 1, 3)
    layer = video.CausalConv3d(2, 1, 3)
    with pytest.raises(ValueError, match=r"\(N, C, T, H, W\)"):
        layer(torch.zeros(2, 4, 5, 5))
    with pytest.raises(ValueError, match="2 channels"):
        layer(torch.zeros(1, 3, 4, 5, 5))
    with pytest.raises(TypeError, match="torch.Tensor"):
        layer([[1.0]])
    with pytest.raises(ValueError, match="keep the number of frames"):
        video.future_leak(nn.Conv3d(1, 1, 3), torch.zeros(1, 1, 5, 5, 5), 1)
    with pytest.raises(ValueError, match="frame must be"):
        video.future_leak(layer, torch.zeros(1, 2, 4, 5, 5), 4)


def test_layout_differences_and_shuffle():
    clips = torch.arange(2 * 4 * 1 * 2 * 2, dtype=torch.float32).reshape(2, 4, 1, 2, 2)
    x = video.to_conv3d_layout(clips)
    assert x.shape == (2, 1, 4, 2, 2)
    torch.testing.assert_close(x[1, 0, 2], clips[1, 2, 0])
    diff = video.frame_differences(x)
    torch.testing.assert_close(diff, x[:, :, 1:] - x[:, :, :-1])
    shuffled = video.shuffle_frames(x, seed=3)
    for n in range(2):   # each clip holds the same frames, in another order
        original = sorted(x[n, 0].flatten(1).tolist())
        assert sorted(shuffled[n, 0].flatten(1).tolist()) == original
    assert not torch.equal(video.shuffle_frames(x, seed=0), video.shuffle_frames(x, seed=1)) \
        or not torch.equal(video.shuffle_frames(x, seed=1), x)
    with pytest.raises(ValueError, match="at least 2 frames"):
        video.frame_differences(torch.zeros(1, 1, 1, 2, 2))


def test_frame_model_ignores_order_and_3d_model_does_not():
    torch.manual_seed(0)
    x = torch.randn(3, 1, 6, 12, 12)
    reversed_x = x.flip(2)
    frame_model, conv3d = video.FrameCNN(width=4).eval(), video.Conv3dCNN(width=4).eval()
    with torch.no_grad():
        torch.testing.assert_close(frame_model(x), frame_model(reversed_x))
        assert (conv3d(x) - conv3d(reversed_x)).abs().max() > 1e-4
        # the motion stream sees differences, which change sign when time runs backwards
        motion = video.FrameCNN(width=4, motion=True).eval()
        assert (motion(x) - motion(reversed_x)).abs().max() > 1e-4


def test_slowfast_pathways_and_errors():
    torch.manual_seed(0)
    x = torch.randn(2, 1, 8, 12, 12)
    for pathways in [("slow",), ("fast",), ("slow", "fast")]:
        assert video.SlowFast(pathways=pathways)(x).shape == (2, 2)
    slow = video.SlowFast(pathways=("slow",), alpha=4).eval()
    changed = x.clone()
    changed[:, :, 1] += 1.0                # frame 1 is not one of the slow frames 0, 4
    with torch.no_grad():
        torch.testing.assert_close(slow(x), slow(changed))
    with pytest.raises(ValueError, match="pathways"):
        video.SlowFast(pathways=("medium",))
    with pytest.raises(ValueError, match="divisible by alpha"):
        video.SlowFast(alpha=3)(x)


def test_slowfast_lateral_connection_carries_fast_frames_into_the_slow_pathway():
    torch.manual_seed(0)
    x = torch.randn(2, 1, 8, 12, 12)
    changed = x.clone()
    changed[:, :, 1] += 1.0                # a frame only the fast pathway sees
    with_lateral = video.SlowFast(slow_width=4, fast_width=2).eval()
    assert with_lateral.lateral.stride == (4, 1, 1)
    assert with_lateral.stage2["slow"][0].in_channels == 4 + 2 * 2
    with torch.no_grad():
        slow_features = {}
        for name, data in (("x", x), ("changed", changed)):
            first = with_lateral.stage1["fast"](data)
            slow_in = torch.cat([with_lateral.stage1["slow"](data[:, :, ::4]), with_lateral.lateral(first)], 1)
            slow_features[name] = with_lateral.stage2["slow"](slow_in)
        # the slow pathway's own frames are unchanged, yet its features move through the lateral input
        assert (slow_features["x"] - slow_features["changed"]).abs().max() > 1e-4
    # the lateral convolution maps the fast rate to the slow one: T = 8 -> 8 / alpha = 2 frames
    assert with_lateral.lateral(torch.zeros(1, 2, 8, 6, 6)).shape[2] == 2
    without = video.SlowFast(slow_width=4, fast_width=2, lateral=False)
    assert without.lateral is None and without.stage2["slow"][0].in_channels == 4
    with pytest.raises(TypeError, match="lateral"):
        video.SlowFast(lateral=1)


def test_motion_kernels_prefer_their_direction():
    k = video.motion_kernels(3)
    assert k.shape == (2, 1, 3, 1, 3)
    torch.testing.assert_close(k.sum(dim=(2, 3, 4)), torch.zeros(2, 1))
    bar = torch.zeros(1, 1, 5, 1, 9)
    for t in range(5):
        bar[0, 0, t, 0, 2 + t] = 1.0       # a dot moving right, 1 px per frame
    energy = (F.conv3d(bar, k) ** 2).sum(dim=(2, 3, 4))[0]
    assert energy[0] > 2 * energy[1]
    energy_left = (F.conv3d(bar.flip(2), k) ** 2).sum(dim=(2, 3, 4))[0]
    assert energy_left[1] > 2 * energy_left[0]


def test_training_a_3d_model_beats_a_frame_model_on_direction(one_torch_thread):
    from course_utils.temporal.clips import moving_digit_clips

    x, y = moving_digit_clips(256, seed=5)
    x = video.to_conv3d_layout(x)
    conv3d, frames = video.Conv3dCNN(width=8), video.FrameCNN(width=8)
    video.train_clip_classifier(conv3d, x[:192], y[:192], epochs=4, seed=0)
    video.train_clip_classifier(frames, x[:192], y[:192], epochs=4, seed=0)
    with torch.no_grad():
        acc3d = (conv3d(x[192:]).argmax(1) == y[192:]).float().mean().item()
        acc2d = (frames(x[192:]).argmax(1) == y[192:]).float().mean().item()
    assert acc3d >= 0.9 and acc2d <= 0.7
    with pytest.raises(ValueError, match="labels"):
        video.train_clip_classifier(conv3d, x, y[:3])


def test_digit_direction_accuracy_counts_each_part():
    labels = torch.tensor([0, 1, 2, 3, 4, 5])               # digits 0 0 1 1 2 2, directions 0 1 0 1 0 1
    guesses = torch.tensor([0, 0, 3, 3, 1, 5])              # right, wrong way, wrong way, right, wrong both, right
    logits = F.one_hot(guesses, 6).float()
    scores = video.digit_direction_accuracy(logits, labels, 2)
    assert scores == pytest.approx({"accuracy": 3 / 6, "digit accuracy": 5 / 6, "direction accuracy": 3 / 6})
    with pytest.raises(ValueError, match="logits"):
        video.digit_direction_accuracy(torch.zeros(6, 5), labels, 2)


def test_stream_arm_gives_every_arm_the_same_compute(one_torch_thread):
    from course_utils.model_size import count_multiply_adds
    from course_utils.temporal.clips import digit_and_direction_clips

    x, y = digit_and_direction_clips(96, digits=(0, 1), size=16, max_speed=1, seed=3)
    x = video.to_conv3d_layout(x)
    budget = count_multiply_adds(video.stream_model("two-stream", 6, 4), x[:1])
    config = {"multiply-adds": budget, "epochs": 1, "lr": 3e-3, "batch": 32, "directions": 2}
    widths = {}
    for streams in video.STREAMS:
        scores = video.stream_arm({**config, "streams": streams}, [0, 1], x[:64], y[:64], x[64:], y[64:])
        assert set(scores) == {"accuracy", "digit accuracy", "direction accuracy", "width"}
        assert all(len(v) == 2 for v in scores.values())
        widths[streams] = int(scores["width"][0])
        # no other width comes closer to the budget
        gap = abs(count_multiply_adds(video.stream_model(streams, widths[streams], 4), x[:1]) - budget)
        for other in (widths[streams] - 1, widths[streams] + 1):
            assert gap <= abs(count_multiply_adds(video.stream_model(streams, other, 4), x[:1]) - budget)
    assert widths["two-stream"] == 6 and widths["motion"] > 6
    with pytest.raises(ValueError, match="streams"):
        video.stream_model("three-stream", 4, 4)
    with pytest.raises(ValueError, match="directions"):
        video.stream_arm({**config, "streams": "motion"}, [0], x[:64], y[:64] % 3, x[64:], y[64:] % 3)
