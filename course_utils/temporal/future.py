"""Predicting an uncertain future: one regression head vs K heads trained by hard EM.

With several possible futures for the same past, the squared error is minimised by their
*mean*, a point no future takes. K heads, where each example trains only the head that is
already closest to its future (E-step: pick the head; M-step: a gradient step on it), split
the futures among themselves instead.
"""
from __future__ import annotations

import torch
from torch import nn

from ..train import fit_steps
from ..validate import check_int, check_positive


class MultiHeadPredictor(nn.Module):
    """An MLP from the past to K guesses of the future: past (N, P) -> (N, K, D)."""

    def __init__(self, past_size: int, heads: int, out_size: int = 2, hidden: int = 64):
        super().__init__()
        self.heads = check_int(heads, "heads", 1)
        self.out_size = check_int(out_size, "out_size", 1)
        self.net = nn.Sequential(nn.Linear(check_int(past_size, "past_size", 1), hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, self.heads * self.out_size))

    def forward(self, past: torch.Tensor) -> torch.Tensor:
        return self.net(past).reshape(len(past), self.heads, self.out_size)


def _check_predictions(predictions: torch.Tensor, name: str = "predictions") -> None:
    if not isinstance(predictions, torch.Tensor) or predictions.ndim != 3:
        raise ValueError(f"{name} must be a (N, K, D) tensor, "
                         f"got {tuple(getattr(predictions, 'shape', ()))}")


def hard_assignment_loss(predictions: torch.Tensor, target: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
    """E-step and M-step loss of one batch. predictions: (N, K, D), target: (N, D).

    Returns (loss, winner): winner (N,) is the head closest to each target (no gradient flows
    through the choice), loss the mean squared error of the winners only. With K = 1 this is
    plain mean squared error.
    """
    _check_predictions(predictions)
    if target.shape != (predictions.shape[0], predictions.shape[2]):
        raise ValueError(f"target must be (N, D) = {(predictions.shape[0], predictions.shape[2])},"
                         f" got {tuple(target.shape)}")
    errors = ((predictions - target[:, None]) ** 2).sum(dim=2)  # (N, K)
    winner = errors.detach().argmin(dim=1)
    return errors.gather(1, winner[:, None]).mean(), winner


def fit_future_heads(past: torch.Tensor, future: torch.Tensor, heads: int, steps: int = 600,
                     lr: float = 3e-3, batch: int = 128, seed: int = 0
                     ) -> tuple[MultiHeadPredictor, list[float]]:
    """Train a MultiHeadPredictor with ``hard_assignment_loss`` (Adam, random mini-batches).

    past: (N, P), future: (N, D). Returns the model (in eval mode) and the loss per step.
    """
    steps, batch = check_int(steps, "steps", 1), check_int(batch, "batch", 1)
    lr = check_positive(lr, "lr")
    if past.ndim != 2 or future.ndim != 2 or len(past) != len(future):
        raise ValueError(f"past and future must be (N, P) and (N, D) with the same N, got "
                         f"{tuple(past.shape)} and {tuple(future.shape)}")
    torch.manual_seed(check_int(seed, "seed", 0))
    model = MultiHeadPredictor(past.shape[1], heads, future.shape[1])
    batch = min(batch, len(past))

    def batch_loss(generator: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, len(past), (batch,), generator=generator)
        return hard_assignment_loss(model(past[idx]), future[idx])[0]

    losses = fit_steps(model, batch_loss, steps, lr, seed)
    return model.eval(), losses


def nearest_future_errors(predictions: torch.Tensor, futures: torch.Tensor) -> dict[str, float]:
    """How well K guesses match the M possible futures. predictions: (N, K, D), futures: (N, M, D).

    Returns mean distances: ``guess_to_nearest_future`` (every guess to the closest possible
    future: is each guess a real future?) and ``future_to_nearest_guess`` (every possible
    future to the closest guess: is each future covered?).
    """
    _check_predictions(predictions)
    _check_predictions(futures, "futures")
    if futures.shape[0] != predictions.shape[0] or futures.shape[2] != predictions.shape[2]:
        raise ValueError(f"futures must be (N, M, D) with N, D of predictions "
                         f"{tuple(predictions.shape)}, got {tuple(futures.shape)}")
    distances = torch.cdist(predictions.double(), futures.double())  # (N, K, M)
    return {"guess_to_nearest_future": distances.min(dim=2).values.mean().item(),
            "future_to_nearest_guess": distances.min(dim=1).values.mean().item()}
