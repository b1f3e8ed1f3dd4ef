"""The shared training loop against a closed-form solution and a hand-written loop."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from course_utils import accuracy, evaluate, fit, seed_everything
from course_utils.train import fit_steps


def _regression_data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g, dtype=torch.float64)
    w = torch.tensor([[1.5], [-2.0], [0.5]], dtype=torch.float64)
    y = x @ w + 0.3 + 0.01 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    return x, y


def test_fit_reaches_the_least_squares_solution():
    seed_everything(0)
    x, y = _regression_data()
    model = torch.nn.Linear(3, 1).double()
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, loader, torch.nn.functional.mse_loss, opt, epochs=60, progress=False)
    design = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
    solution = torch.linalg.lstsq(design, y).solution.squeeze()
    got = torch.cat([model.weight.detach().squeeze(), model.bias.detach()])
    torch.testing.assert_close(got, solution, atol=2e-3, rtol=0)
    assert len(history["train_loss"]) == 60
    assert history["train_loss"][-1] < history["train_loss"][0] / 100


def test_fit_matches_a_hand_written_loop():
    x, y = _regression_data(n=64)
    loader = [(x[:32], y[:32]), (x[32:], y[32:])]
    torch.manual_seed(1)
    model_a = torch.nn.Linear(3, 1).double()
    model_b = torch.nn.Linear(3, 1).double()
    model_b.load_state_dict(model_a.state_dict())
    opt_a = torch.optim.SGD(model_a.parameters(), lr=0.05)
    opt_b = torch.optim.SGD(model_b.parameters(), lr=0.05)
    history = fit(model_a, loader, torch.nn.functional.mse_loss, opt_a, epochs=3, progress=False)
    losses = []
    for _ in range(3):
        total = 0.0
        for xb, yb in loader:
            loss = torch.nn.functional.mse_loss(model_b(xb), yb)
            opt_b.zero_grad()
            loss.backward()
            opt_b.step()
            total += loss.item() * len(xb)
        losses.append(total / len(x))
    np.testing.assert_allclose(history["train_loss"], losses, rtol=1e-12)
    torch.testing.assert_close(model_a.weight, model_b.weight)


def test_fit_records_metric_and_validation_history():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 2, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    loader = DataLoader(TensorDataset(x, y), batch_size=50)
    model = torch.nn.Linear(2, 2)
    history = fit(model, loader, torch.nn.functional.cross_entropy,
                  torch.optim.Adam(model.parameters(), lr=0.1), epochs=20, val_loader=loader,
                  metric=accuracy, progress=False)
    assert set(history) == {"train_loss", "train_metric", "val_loss", "val_metric"}
    assert all(len(v) == 20 for v in history.values())
    assert history["val_metric"][-1] > 0.95
    final = evaluate(model, loader, torch.nn.functional.cross_entropy, accuracy)
    assert final["metric"] == pytest.approx(history["val_metric"][-1])


def test_accuracy_against_numpy():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 4))
    targets = rng.integers(0, 4, size=50)
    expected = np.mean(logits.argmax(1) == targets)
    assert accuracy(torch.tensor(logits), torch.tensor(targets)) == pytest.approx(expected)
    with pytest.raises(ValueError, match="logits must be"):
        accuracy(torch.zeros(5), torch.zeros(5))


def test_fit_rejects_bad_arguments():
    model = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, [], torch.nn.functional.mse_loss, opt, epochs=0)
    with pytest.raises(ValueError, match="train_loader yielded no batches"):
        fit(model, [], torch.nn.functional.mse_loss, opt, epochs=1, progress=False)


def test_fit_steps_minimises_the_batch_loss_reproducibly():
    def run():
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1)
        x = torch.randn(64, 3, generator=torch.Generator().manual_seed(1))
        y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3

        def batch_loss(generator):
            idx = torch.randint(0, 64, (16,), generator=generator)
            return torch.nn.functional.mse_loss(model(x[idx]), y[idx])
        return fit_steps(model, batch_loss, steps=300, lr=0.05, seed=2, cosine=True)
    losses = run()
    assert len(losses) == 300 and losses[-1] < 1e-3 * losses[0]
    assert losses == run()                      # the seed fixes the batches


def test_fit_steps_errors():
    model = torch.nn.Linear(1, 1)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        fit_steps(model, lambda g: model.weight.sum(), steps=0, lr=0.1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        fit_steps(model, lambda g: model.weight.sum(), steps=1, lr=0.0)
