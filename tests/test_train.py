"""The shared training loop against a closed-form solution and a hand-written loop."""
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from course_utils import accuracy, evaluate, fit, seed_everything
from course_utils.train import fit_autoencoder, fit_classifier, fit_steps, predict, squared_error_terms


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


def test_predict_matches_the_model_in_eval_mode_batch_by_batch_and_restores_training():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 3))
    inputs = torch.randn(37, 4)
    model.train()
    with torch.no_grad():
        expected = model.eval()(inputs)
    model.train()
    for batch in (None, 1, 10, 100):
        torch.testing.assert_close(predict(model, inputs, batch=batch), expected)
    assert model.training
    out = predict(model, inputs)
    assert not out.requires_grad and out.device.type == "cpu"
    with pytest.raises(ValueError, match="inputs must be a non-empty"):
        predict(model, torch.zeros(0, 4))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        predict(lambda x: x, inputs)
    with pytest.raises(ValueError, match="batch"):
        predict(model, inputs, batch=0)


def test_fit_classifier_reaches_logistic_regressions_accuracy():
    from sklearn.linear_model import LogisticRegression

    g = torch.Generator().manual_seed(1)
    x = torch.randn(600, 2, generator=g)
    y = (x[:, 0] - 0.7 * x[:, 1] + 0.3 * torch.randn(600, generator=g) > 0).long()
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 2)
    losses = fit_classifier(model, x[:400], y[:400], steps=400, batch=64, lr=0.05)
    ours = accuracy(predict(model, x[400:]), y[400:])
    theirs = LogisticRegression().fit(x[:400].numpy(), y[:400].numpy()).score(x[400:].numpy(), y[400:].numpy())
    assert theirs > 0.85
    assert ours == pytest.approx(theirs, abs=0.02)
    assert np.mean(losses[-50:]) < 0.5 * losses[0]
    with pytest.raises(ValueError, match="labels must be"):
        fit_classifier(model, x, y[:10], steps=1)


def _linear_autoencoder():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 2), torch.nn.Linear(2, 6))


def test_fit_autoencoder_is_adam_on_seeded_minibatches():
    images = torch.randn(40, 6, generator=torch.Generator().manual_seed(1))
    model = _linear_autoencoder()
    history = fit_autoencoder(model, images, steps=25, batch=8, lr=1e-2, seed=3)
    reference = _linear_autoencoder()                       # the same training, written out by hand
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-2)
    generator, losses = torch.Generator().manual_seed(3), []
    for _ in range(25):
        x = images[torch.randint(0, 40, (8,), generator=generator)]
        loss = ((reference(x) - x) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    np.testing.assert_allclose(history["reconstruction"], losses, rtol=1e-5)
    for ours, theirs in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(ours, theirs)
    assert not model.training


def test_fit_autoencoder_weights_each_term_and_records_all():
    images = torch.randn(40, 6, generator=torch.Generator().manual_seed(1))

    def two_terms(model, x, generator):
        out = model(x)
        return {"squared": ((out - x) ** 2).sum(1), "size": out.abs().sum(1)}

    silenced, plain = _linear_autoencoder(), _linear_autoencoder()
    history = fit_autoencoder(silenced, images, two_terms, {"size": 0.0}, steps=10, batch=8, seed=0)
    fit_autoencoder(plain, images, lambda m, x, g: {"squared": ((m(x) - x) ** 2).sum(1)}, steps=10, batch=8, seed=0)
    for a, b in zip(silenced.parameters(), plain.parameters()):      # a zero weight: the term is only watched
        torch.testing.assert_close(a, b)
    assert len(history["squared"]) == len(history["size"]) == 10
    model = _linear_autoencoder()
    torch.testing.assert_close(squared_error_terms(model, images)["reconstruction"],
                               torch.nn.functional.mse_loss(model(images), images))
    with pytest.raises(ValueError, match="weights names no loss term"):
        fit_autoencoder(model, images, two_terms, {"kl": 1.0}, steps=1)
    with pytest.raises(ValueError, match=r"weights\['size'\] must be finite and >= 0"):
        fit_autoencoder(model, images, two_terms, {"size": -1.0}, steps=1)
