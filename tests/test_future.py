"""Tests for course_utils.temporal.future and the branching-future data: one head regresses to the mean,
K heads find the futures, and the error measures."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.temporal import future
from course_utils.temporal.sequences import branching_futures, fork_angles, recall_first_sequences

pytestmark = pytest.mark.chapter("05_video")


def test_branching_futures_are_unit_steps_at_the_fork_angles():
    data = branching_futures(50, k=3, noise=0.0, seed=0)
    past = data["past"].reshape(50, -1, 2)
    torch.testing.assert_close(past[:, -1], torch.zeros(50, 2))            # p_0 at the origin
    heading = past[:, -1] - past[:, -2]
    torch.testing.assert_close(heading.norm(dim=1), torch.ones(50))
    torch.testing.assert_close(data["futures"].norm(dim=2), torch.ones(50, 3))
    turn = torch.atan2(heading[:, 0] * data["futures"][..., 1].T - heading[:, 1] * data["futures"][..., 0].T,
                       heading[:, 0] * data["futures"][..., 0].T + heading[:, 1] * data["futures"][..., 1].T).T
    torch.testing.assert_close(turn, torch.tensor(fork_angles(3), dtype=torch.float32).expand(50, 3),
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(data["future"], data["futures"][torch.arange(50), data["choice"]])
    assert torch.equal(branching_futures(5, seed=1)["past"], branching_futures(5, seed=1)["past"])


def test_fork_angles_and_recall_sequences():
    np.testing.assert_allclose(np.rad2deg(fork_angles(3, 150)), [-75, 0, 75])
    assert fork_angles(1)[0] == 0
    xs, y = recall_first_sequences(10, 7, noise=0.2, seed=0)
    assert xs.shape == (7, 10, 1)
    torch.testing.assert_close(xs[0, :, 0], 0.2 * (2.0 * y - 1))


def test_hard_assignment_loss_trains_only_the_winner():
    predictions = torch.tensor([[[0.0, 0.0], [1.0, 1.0]], [[5.0, 5.0], [2.0, 2.0]]], requires_grad=True)
    target = torch.tensor([[0.9, 1.0], [0.0, 0.0]])
    loss, winner = future.hard_assignment_loss(predictions, target)
    assert winner.tolist() == [1, 1]
    assert loss.item() == pytest.approx((0.01 + 8.0) / 2)
    loss.backward()
    assert torch.all(predictions.grad[:, 0] == 0) and torch.all(predictions.grad[:, 1].abs().sum(1) > 0)
    one, _ = future.hard_assignment_loss(predictions[:, :1], target)   # K = 1: squared error
    assert one.item() == pytest.approx(((predictions[:, 0] - target) ** 2).sum(1).mean().item())
    with pytest.raises(ValueError, match="target must be"):
        future.hard_assignment_loss(predictions, target[:1])


def test_nearest_future_errors():
    futures = torch.tensor([[[1.0, 0.0], [-1.0, 0.0]]])
    mean_guess = torch.zeros(1, 1, 2)
    errors = future.nearest_future_errors(mean_guess, futures)
    assert errors == {"guess_to_nearest_future": 1.0, "future_to_nearest_guess": 1.0}
    exact = future.nearest_future_errors(futures.clone(), futures)
    assert exact["guess_to_nearest_future"] == 0 and exact["future_to_nearest_guess"] == 0
    with pytest.raises(ValueError, match="futures must be"):
        future.nearest_future_errors(mean_guess, torch.zeros(2, 2, 2))


def test_one_head_learns_the_mean_and_three_heads_the_futures(one_torch_thread):
    train, test = branching_futures(1500, seed=0), branching_futures(300, seed=1)
    errors = {}
    for heads in (1, 3):
        model, losses = future.fit_future_heads(train["past"], train["future"], heads, steps=1200)
        with torch.no_grad():
            guesses = model(test["past"])
        errors[heads] = future.nearest_future_errors(guesses, test["futures"])
        if heads == 1:   # the single head sits at the mean of the three futures
            gap = (guesses[:, 0] - test["futures"].mean(dim=1)).norm(dim=1)
            assert gap.mean() < 0.1
    assert errors[1]["guess_to_nearest_future"] > 5 * errors[3]["guess_to_nearest_future"]
    assert errors[3]["future_to_nearest_guess"] < 0.15
    with pytest.raises(ValueError, match="same N"):
        future.fit_future_heads(train["past"], train["future"][:5], 2)
