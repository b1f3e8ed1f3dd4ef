"""Tests for course_utils.selfsup.contrastive: NT-Xent against an independent formulation and a
hand-computed case, the pair and triplet losses against torch, hard negatives, the views and a
short SimCLR run."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_utils.selfsup import contrastive
from course_utils.networks import ConvEncoder

pytestmark = pytest.mark.chapter("08_self_supervised")


@pytest.mark.parametrize("n,d,t", [(1, 3, 0.5), (4, 2, 0.1), (7, 5, 1.0)])
def test_nt_xent_matches_the_anchor_by_anchor_twin_and_plain_python(n, d, t):
    g = torch.Generator().manual_seed(n)
    z1, z2 = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)
    torch.testing.assert_close(contrastive.nt_xent(z1, z2, t), contrastive.nt_xent_loop(z1, z2, t))
    # an independent reference in plain Python floats (no torch in the arithmetic)
    views = [list(map(float, row)) for row in torch.cat([z1, z2])]

    def cosine(u, v):
        return sum(a * b for a, b in zip(u, v)) / (math.hypot(*u) * math.hypot(*v))

    total = 0.0
    for i, u in enumerate(views):
        logits = [cosine(u, v) / t for k, v in enumerate(views) if k != i]
        top = max(logits)
        log_sum = top + math.log(sum(math.exp(x - top) for x in logits))
        total += log_sum - cosine(u, views[(i + n) % (2 * n)]) / t
    assert contrastive.nt_xent(z1, z2, t).item() == pytest.approx(total / (2 * n), rel=1e-9)


def test_losses_on_every_device_and_dtype_match_the_float64_cpu_reference(device, dtype):
    g = torch.Generator().manual_seed(3)
    z1, z2, z3 = (torch.randn(6, 4, generator=g, dtype=torch.float64) for _ in range(3))
    same = torch.tensor([True, False] * 3)
    tol = dict(atol=1e-5, rtol=1e-5) if dtype == torch.float32 else dict(atol=1e-12, rtol=1e-12)
    here = [t.to(device=device, dtype=dtype) for t in (z1, z2, z3)]
    pairs = [(contrastive.nt_xent(here[0], here[1], 0.2), contrastive.nt_xent_loop(z1, z2, 0.2)),
             (contrastive.contrastive_pair_loss(here[0], here[1], same.to(device), 0.9),
              contrastive.contrastive_pair_loss(z1, z2, same, 0.9)),
             (contrastive.triplet_loss(*here, 0.7), F.triplet_margin_loss(z1, z2, z3, margin=0.7, eps=0.0))]
    for got, reference in pairs:
        assert got.dtype == dtype and got.device.type == device.type
        torch.testing.assert_close(got.cpu().double(), reference, **tol)


def test_nt_xent_hand_computed_two_by_two():
    # two images, views orthogonal except each pair: cosine(view, its partner) = 1, others 0
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = z1.clone()
    t = 0.5
    # each anchor: positive logit 1/t, two negatives with logit 0
    expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + 2))
    assert contrastive.nt_xent(z1, z2, t).item() == pytest.approx(expected, rel=1e-6)


@settings(max_examples=20, deadline=None)
@given(scale=st.floats(0.1, 10.0), seed=st.integers(0, 1000))
def test_nt_xent_ignores_the_length_of_the_embeddings(scale, seed):
    g = torch.Generator().manual_seed(seed)
    z1, z2 = torch.randn(5, 4, generator=g, dtype=torch.float64), torch.randn(5, 4, generator=g, dtype=torch.float64)
    torch.testing.assert_close(contrastive.nt_xent(scale * z1, z2, 0.3), contrastive.nt_xent(z1, z2, 0.3))


def test_pair_and_triplet_losses_against_formulas_and_torch():
    g = torch.Generator().manual_seed(0)
    a, p, n = (torch.randn(6, 3, generator=g, dtype=torch.float64) for _ in range(3))
    torch.testing.assert_close(contrastive.triplet_loss(a, p, n, 0.7),
                               F.triplet_margin_loss(a, p, n, margin=0.7, eps=0.0))
    same = [True, False, True, False, False, True]
    rows = []  # plain-Python reference: d^2 for a same pair, max(0, margin - d)^2 otherwise
    for u, v, s in zip(a.tolist(), p.tolist(), same):
        d = math.dist(u, v)
        rows.append(d ** 2 if s else max(0.0, 0.9 - d) ** 2)
    loss = contrastive.contrastive_pair_loss(a, p, torch.tensor(same), 0.9)
    assert loss.item() == pytest.approx(sum(rows) / len(rows), rel=1e-12)
    # by hand: a same pair 0.4 apart costs 0.16; a different pair 0.4 apart, margin 0.9, costs
    # 0.5^2 = 0.25; a different pair past the margin costs 0
    one = torch.zeros(3, 2, dtype=torch.float64)
    other = torch.tensor([[0.4, 0.0], [0.0, 0.4], [2.0, 0.0]], dtype=torch.float64)
    loss = contrastive.contrastive_pair_loss(one, other, torch.tensor([True, False, False]), 0.9)
    assert loss.item() == pytest.approx((0.16 + 0.25 + 0.0) / 3, rel=1e-12)


def test_hardest_negatives_brute_force():
    g = torch.Generator().manual_seed(1)
    e, labels = torch.randn(12, 4, generator=g), torch.arange(12) % 3
    found = contrastive.hardest_negatives(e, labels)
    for i in range(12):
        others = [j for j in range(12) if labels[j] != labels[i]]
        best = min(others, key=lambda j: (e[i] - e[j]).norm().item())
        assert found[i].item() == best
    with pytest.raises(ValueError, match="another label"):
        contrastive.hardest_negatives(e, torch.zeros(12, dtype=torch.long))


def test_views_keep_shape_range_and_differ():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(5, 3, 24, 24)
    v1, v2 = contrastive.simclr_views(x, g), contrastive.simclr_views(x, g)
    assert v1.shape == x.shape and v1.min() >= 0 and v1.max() <= 1
    assert (v1 - v2).abs().mean() > 0.05


def test_simclr_training_lowers_the_loss(one_torch_thread):
    from course_utils.data.shapes import make_dataset

    images = make_dataset(256, 0, size=24, max_objects=1, min_size=8, max_size=16, background="plain")["images"]
    torch.manual_seed(0)
    model = contrastive.SimCLR(ConvEncoder(widths=(8, 16, 16)), projection=16)
    losses = contrastive.train_simclr(model, images, steps=40, batch=64)
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.2
    features = contrastive.encode(model.encoder, images[:10])
    assert features.shape == (10, 16)


def test_train_embedding_hard_mining_keeps_more_triplets_active(one_torch_thread):
    from course_utils.data.digits import digits_tensors

    x, y, _, _ = digits_tensors()
    active = {}
    for mining in ("random", "hard"):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 8))
        history = contrastive.train_embedding(net, x.flatten(1), y, "triplet", mining, steps=150)
        active[mining] = np.mean(history["active"][-30:])
    assert active["hard"] > 2 * active["random"]
    with pytest.raises(ValueError, match="mining"):
        contrastive.train_embedding(net, x.flatten(1), y, "triplet", "semi-hard")


@pytest.mark.parametrize("loss", [contrastive.nt_xent, contrastive.nt_xent_loop])
def test_nt_xent_errors_name_the_argument(loss):
    z = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="temperature"):
        loss(z, z, 0.0)
    with pytest.raises(ValueError, match="same shape"):
        loss(z, torch.zeros(4, 2), 0.5)
    with pytest.raises(ValueError, match=r"z1 must be an \(N, D\)"):
        loss(torch.zeros(3), z, 0.5)


def test_errors_name_the_argument():
    z = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="margin"):
        contrastive.triplet_loss(z, z, z, margin=-1)
    with pytest.raises(ValueError, match="anchor, negative"):
        contrastive.triplet_loss(z, z, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="same must be"):
        contrastive.contrastive_pair_loss(z, z, torch.ones(2, dtype=torch.bool))


def test_mining_arm_trains_each_seed_as_train_embedding_does(one_torch_thread):
    from course_utils.data.digits import digits_tensors
    from course_utils.metrics import recall_at_1

    x, y, xt, yt = digits_tensors(seed=0)
    x, xt = x.flatten(1)[:200], xt.flatten(1)[:100]
    y, yt = y[:200], yt[:100]
    scores = contrastive.mining_arm({"mining": "hard", "steps": 60}, [3], x, y, xt, yt)
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 8))
    history = contrastive.train_embedding(net, x, y, "triplet", "hard", steps=60, seed=3)
    with torch.no_grad():
        assert scores["recall@1"] == [pytest.approx(float(recall_at_1(net(xt), yt)))]
    assert scores["active triplets, last 50 steps"] == [pytest.approx(sum(history["active"][-50:]) / 50)]
    with pytest.raises(ValueError, match=r"config\['mining'\]"):
        contrastive.mining_arm({"mining": "semi-hard", "steps": 1}, [0], x, y, xt, yt)
