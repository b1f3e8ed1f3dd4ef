"""Recurrent cells written out, backprop through time by hand, and gradient-vs-distance.

Weights follow torch's layout, so ``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell`` weights can
be passed straight in: ``weight_ih: (G*H, D)``, ``weight_hh: (G*H, H)``, ``bias_*: (G*H,)`` with
G = 1 (RNN), 4 (LSTM gates i, f, g, o) or 3 (GRU gates r, z, n). ``x: (N, D)``, ``h, c: (N, H)``.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..validate import check_choice, check_int, check_positive
from .sequences import recall_first_sequences


def _check_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates: int) -> None:
    named = {"x": x, "h": h, "weight_ih": weight_ih, "weight_hh": weight_hh,
             "bias_ih": bias_ih, "bias_hh": bias_hh}
    for name, value in named.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if x.ndim != 2 or h.ndim != 2:
        raise ValueError(f"x and h must be (N, D) and (N, H), got {tuple(x.shape)} and "
                         f"{tuple(h.shape)}")
    hidden = h.shape[1]
    expected = {"weight_ih": (gates * hidden, x.shape[1]), "weight_hh": (gates * hidden, hidden),
                "bias_ih": (gates * hidden,), "bias_hh": (gates * hidden,)}
    for name, shape in expected.items():
        if tuple(named[name].shape) != shape:
            raise ValueError(f"{name} must have shape {shape} for x {tuple(x.shape)} and h "
                             f"{tuple(h.shape)}, got {tuple(named[name].shape)}")
    if x.shape[0] != h.shape[0]:
        raise ValueError(f"x and h must share the batch size N, got {x.shape[0]} and {h.shape[0]}")


def rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh) -> torch.Tensor:
    """Vanilla (Elman) step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh). Returns h': (N, H)."""
    _check_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates=1)
    return torch.tanh(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)


def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step; returns (h', c'), each (N, H).

    Four gates from the same affine map, in torch's order: input i, forget f, candidate g,
    output o. The cell state is *updated by addition*: c' = f * c + i * g; h' = o * tanh(c').
    """
    _check_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates=4)
    if not isinstance(c, torch.Tensor) or c.shape != h.shape:
        raise ValueError(f"c must be a tensor shaped like h {tuple(h.shape)}, "
                         f"got {tuple(getattr(c, 'shape', ()))}")
    gates = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    i, f, g, o = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_next = torch.sigmoid(o) * torch.tanh(c_next)
    return h_next, c_next


def gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh) -> torch.Tensor:
    """One GRU step; returns h': (N, H).

    Reset r and update z gates; the candidate n sees the old state through r:
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1 - z) * n + z * h.
    """
    _check_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh, gates=3)
    x_r, x_z, x_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ weight_hh.T + bias_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


def rnn_forward(xs: torch.Tensor, h0: torch.Tensor, weight_ih, weight_hh, bias_ih, bias_hh):
    """Run the vanilla cell over a sequence. xs: (T, N, D), h0: (N, H).

    Returns hs: (T, N, H) (the state after each step) and the cache ``rnn_backward`` needs.
    """
    if not isinstance(xs, torch.Tensor) or xs.ndim != 3:
        raise ValueError(f"xs must be a (T, N, D) tensor, got {tuple(getattr(xs, 'shape', ()))}")
    hs, h = [], h0
    for x in xs:
        h = rnn_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)
        hs.append(h)
    hs = torch.stack(hs)
    return hs, (xs, h0, hs, weight_ih, weight_hh)


def rnn_backward(dhs: torch.Tensor, cache) -> tuple[torch.Tensor, ...]:
    """Backprop through time for ``rnn_forward``, written as the loop over t = T-1 .. 0.

    dhs: (T, N, H) = dL/dh_t from outside (e.g. a loss on every state). Returns dxs (T, N, D),
    dh0 (N, H), dweight_ih, dweight_hh, dbias_ih, dbias_hh. The gradient reaching h_{t-1}
    is multiplied by the step's Jacobian transposed, W_hh^T diag(1 - h_t^2), once per step.
    """
    xs, h0, hs, weight_ih, weight_hh = cache
    if dhs.shape != hs.shape:
        raise ValueError(f"dhs must have the shape of hs {tuple(hs.shape)}, got {tuple(dhs.shape)}")
    dxs = torch.zeros_like(xs)
    dw_ih, dw_hh = torch.zeros_like(weight_ih), torch.zeros_like(weight_hh)
    db = torch.zeros(weight_hh.shape[0], dtype=hs.dtype, device=hs.device)
    carried = torch.zeros_like(h0)  # dL/dh_t arriving from step t + 1
    for t in reversed(range(len(xs))):
        dh = dhs[t] + carried
        da = dh * (1 - hs[t] ** 2)  # through tanh
        h_prev = hs[t - 1] if t > 0 else h0
        dxs[t] = da @ weight_ih
        dw_ih += da.T @ xs[t]
        dw_hh += da.T @ h_prev
        db += da.sum(dim=0)
        carried = da @ weight_hh
    return dxs, carried, dw_ih, dw_hh, db, db.clone()


def gradient_vs_distance(model: nn.Module, steps: int, batch: int = 16, seed: int = 0,
                         input_scale: float = 1.0) -> torch.Tensor:
    """How much the last output depends on each earlier input, for a torch recurrent layer.

    ``model``: an ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` with ``batch_first=False``. Feeds
    random inputs (N(0, input_scale^2), seeded), takes L = sum of the last hidden state times a
    fixed random vector, and returns norms: (steps,) where norms[k] = mean over the batch of
    ||dL/dx_t|| at distance k = T - 1 - t from the end (k = 0: the last input).
    """
    steps = check_int(steps, "steps", 1)
    batch = check_int(batch, "batch", 1)
    if not isinstance(model, (nn.RNN, nn.LSTM, nn.GRU)) or model.batch_first:
        raise TypeError("model must be a torch.nn.RNN, LSTM or GRU with batch_first=False")
    generator = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    weight = model.weight_ih_l0
    xs = check_positive(input_scale, "input_scale") * torch.randn(
        steps, batch, model.input_size, generator=generator, dtype=weight.dtype)
    xs = xs.to(weight.device).requires_grad_(True)
    readout = torch.randn(model.hidden_size, generator=generator, dtype=weight.dtype)
    out, _ = model(xs)
    (out[-1] @ readout.to(weight.device)).sum().backward()
    norms = xs.grad.norm(dim=2).mean(dim=1)  # (T,), indexed by time
    return norms.flip(0).detach().cpu()


def set_spectral_radius(model: nn.RNN, radius: float, seed: int = 0) -> nn.RNN:
    """Replace W_hh of a one-layer ``nn.RNN`` by ``radius`` times a random orthogonal matrix
    (all eigenvalues then have modulus ``radius``). Returns the model."""
    if not isinstance(model, nn.RNN):
        raise TypeError(f"model must be a torch.nn.RNN, got {type(model).__name__}")
    radius = check_positive(radius, "radius")
    generator = torch.Generator().manual_seed(check_int(seed, "seed", 0))
    q, _ = torch.linalg.qr(torch.randn(model.hidden_size, model.hidden_size, generator=generator,
                                       dtype=torch.float64))
    with torch.no_grad():
        model.weight_hh_l0.copy_(radius * q)
    return model


def train_recall(model: nn.Module, lr: float, clip: float | None = None, steps: int = 200,
                 length: int = 50, seed: int = 0, optimizer: str = "sgd") -> dict:
    """Train a one-layer torch recurrent ``model`` (input size 1) + a linear readout of its last
    hidden state on ``recall_first_sequences`` with plain SGD (or ``optimizer="adam"``), batches
    of 64 drawn from ``seed``.
    Seed torch before building ``model``: the readout's initial weights come after it.

    With ``clip`` the gradient's total norm is scaled down to at most ``clip`` before each step
    (torch.nn.utils.clip_grad_norm_). Returns {"loss": per step, "grad_norm": per step (before
    clipping), "accuracy": on 1000 fresh sequences, "saturated": the share of hidden values with
    |h| > 0.99 on them, where tanh' < 0.02 and almost no gradient gets through}, plus "radius",
    the spectral radius of W_hh after training, for an ``nn.RNN``.
    """
    if not isinstance(model, (nn.RNN, nn.LSTM, nn.GRU)) or model.batch_first or model.input_size != 1:
        raise TypeError("model must be a torch.nn.RNN, LSTM or GRU with input_size=1, batch_first=False")
    steps, length = check_int(steps, "steps", 1), check_int(length, "length", 1)
    seed = check_int(seed, "seed", 0)
    readout = nn.Linear(model.hidden_size, 2)      # from torch's RNG, seeded with the model
    params = [*model.parameters(), *readout.parameters()]
    lr = check_positive(lr, "lr")
    optimizer = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[
        check_choice(optimizer, "optimizer", ("sgd", "adam"))](params, lr=lr)
    limit = float("inf") if clip is None else check_positive(clip, "clip")
    history = {"loss": [], "grad_norm": []}
    for step in range(steps):
        xs, labels = recall_first_sequences(64, length, seed=seed * 100_003 + step + 1)
        out, _ = model(xs)
        loss = F.cross_entropy(readout(out[-1]), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        history["grad_norm"].append(torch.nn.utils.clip_grad_norm_(params, limit).item())
        optimizer.step()
        history["loss"].append(loss.item())
    xs, labels = recall_first_sequences(1000, length, seed=10**6 + seed)
    with torch.no_grad():
        out, _ = model(xs)
        history["accuracy"] = (readout(out[-1]).argmax(1) == labels).float().mean().item()
        history["saturated"] = (out.abs() > 0.99).float().mean().item()
        if isinstance(model, nn.RNN):
            history["radius"] = torch.linalg.eigvals(model.weight_hh_l0).abs().max().item()
    return history


def train_recall_rnn(radius: float, lr: float, clip: float | None = None, steps: int = 200,
                     length: int = 50, hidden: int = 32, seed: int = 0) -> dict:
    """``train_recall`` for a tanh ``nn.RNN`` whose W_hh starts at spectral radius ``radius``."""
    torch.manual_seed(check_int(seed, "seed", 0))
    model = set_spectral_radius(nn.RNN(1, check_int(hidden, "hidden", 1)), radius, seed)
    return train_recall(model, lr, clip, steps, length, seed)


def lstm_with_forget_bias(hidden: int, forget_bias: float, seed: int = 0) -> nn.LSTM:
    """A one-layer ``nn.LSTM`` (input size 1) with torch's initialisation, seeded, and
    ``forget_bias`` added to the forget gate's bias (gate order i, f, g, o)."""
    hidden = check_int(hidden, "hidden", 1)
    torch.manual_seed(check_int(seed, "seed", 0))
    model = nn.LSTM(1, hidden)
    with torch.no_grad():
        model.bias_hh_l0[hidden:2 * hidden] += float(forget_bias)
    return model


def recall_arm(config: dict, seeds) -> dict[str, list[float]]:
    """One arm of chapter 05's RNN-vs-LSTM comparison (for ``evidence.compare``): the recurrent
    layer ``config["cell"]`` ("rnn": tanh RNN with W_hh at spectral radius ``config["radius"]``;
    "lstm": LSTM with forget-gate bias ``config["forget_bias"]``), trained by ``train_recall`` at
    ``config["lr"]`` with ``config["optimizer"]`` and ``config["clip"]`` for ``config["steps"]`` steps on sequences of
    ``config["length"]``, from every seed. Per seed: the accuracy on fresh sequences."""
    out = {"accuracy": []}
    for seed in seeds:
        if config["cell"] == "rnn":
            torch.manual_seed(seed)
            model = set_spectral_radius(nn.RNN(1, config["hidden"]), config["radius"], seed)
        elif config["cell"] == "lstm":
            model = lstm_with_forget_bias(config["hidden"], config["forget_bias"], seed)
        else:
            raise ValueError(f"config['cell'] must be 'rnn' or 'lstm', got {config['cell']!r}")
        out["accuracy"].append(train_recall(model, config["lr"], config["clip"], config["steps"],
                                            config["length"], seed, config["optimizer"])["accuracy"])
    return out
