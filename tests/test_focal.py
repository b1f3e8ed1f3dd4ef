"""Focal loss against torchvision.ops.sigmoid_focal_loss, gradcheck and special cases."""
import math

import pytest
import torch
import torchvision

from course_utils.recognition import focal as L

pytestmark = pytest.mark.chapter("04_object_recognition")

# ----------------------------------------------------------------------------- focal loss
@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (0.5, 0.0), (-1.0, 2.0), (0.75, 1.5)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_focal_loss_matches_torchvision(alpha, gamma, reduction):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 3, generator=gen, dtype=torch.float64) * 4
    targets = (torch.rand(64, 3, generator=gen) < 0.2).double()
    ours = L.sigmoid_focal_loss(logits, targets, alpha, gamma, reduction)
    ref = torchvision.ops.sigmoid_focal_loss(logits, targets, alpha, gamma, reduction)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


def test_focal_loss_gradients_and_special_cases():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(10, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    targets = (torch.rand(10, 2, generator=gen) < 0.5).double()
    torch.autograd.gradcheck(lambda x: L.sigmoid_focal_loss(x, targets, 0.25, 2.0, "sum"),
                             (logits,))
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    torch.testing.assert_close(L.sigmoid_focal_loss(logits, targets, -1, 0.0), bce)
    # an easy example (p_t = 0.99) is down-weighted by (1 - 0.99)^2 = 1e-4 relative to CE
    easy = torch.tensor([math.log(99.0)], dtype=torch.float64)
    ratio = L.sigmoid_focal_loss(easy, torch.ones(1, dtype=torch.float64), -1, 2.0) / \
        L.sigmoid_focal_loss(easy, torch.ones(1, dtype=torch.float64), -1, 0.0)
    assert ratio.item() == pytest.approx(1e-4)


def test_focal_loss_errors():
    with pytest.raises(ValueError, match="same shape"):
        L.sigmoid_focal_loss(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="gamma"):
        L.sigmoid_focal_loss(torch.zeros(3), torch.zeros(3), gamma=-1)
    with pytest.raises(ValueError, match="reduction"):
        L.sigmoid_focal_loss(torch.zeros(3), torch.zeros(3), reduction="max")


def test_loss_by_group_matches_focal_loss():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 20, 3, generator=gen) * 3
    labels = torch.randint(-1, 4, (2, 20), generator=gen)
    out = L.loss_by_group(logits, labels, easy=0.1)
    valid = labels >= 0
    onehot = torch.nn.functional.one_hot(labels.clamp(min=0), 4)[..., 1:].float()[valid]
    total_focal = L.sigmoid_focal_loss(logits[valid], onehot).sum().item()
    assert sum(out["focal"].values()) == pytest.approx(total_focal, rel=1e-5)
    with pytest.raises(ValueError, match="target_labels"):
        L.loss_by_group(logits, labels[:, :5])


def test_alpha_weights_the_positives():
    # alpha_t = alpha for a positive, 1 - alpha for a negative (torchvision, RetinaNet)
    logit = torch.tensor([0.3], dtype=torch.float64)
    for target, weight in ((1.0, 0.25), (0.0, 0.75)):
        t = torch.tensor([target], dtype=torch.float64)
        ratio = (L.sigmoid_focal_loss(logit, t, 0.25, 2.0)
                 / L.sigmoid_focal_loss(logit, t, None, 2.0))
        assert ratio.item() == pytest.approx(weight)


@pytest.mark.parametrize("kwargs, match", [
    ({"alpha": 5.0}, "alpha"), ({"alpha": "0.25"}, "alpha"), ({"gamma": -1.0}, "gamma"),
    ({"reduction": "max"}, "reduction"),
])
def test_focal_loss_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L.sigmoid_focal_loss(torch.zeros(3), torch.zeros(3), **kwargs)


def test_onehot_targets_by_hand_and_errors():
    labels = torch.tensor([[-1, 0, 1, 3]])
    expected = torch.tensor([[[0.0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0, 1]]])
    assert torch.equal(L.onehot_targets(labels, 3), expected)
    with pytest.raises(TypeError, match="target_labels"):
        L.onehot_targets(labels.float(), 3)
    with pytest.raises(ValueError, match="target_labels"):
        L.onehot_targets(labels, 2)
    with pytest.raises(ValueError, match="num_classes"):
        L.onehot_targets(labels, 0)


def test_loss_by_group_counts_and_errors():
    logits = torch.tensor([[[5.0, -5.0], [-5.0, 0.0], [0.0, 0.0]]])     # (1, 3, 2)
    labels = torch.tensor([[1, 0, -1]])
    out = L.loss_by_group(logits, labels, easy=0.1)
    # anchor 0: positive (class 0) + easy negative; anchor 1: easy negative + hard negative
    assert out["count"] == {"positives": 1.0, "hard negatives": 1.0, "easy negatives": 2.0}
    assert L.easy_negative_share(out, "cross_entropy") == pytest.approx(
        out["cross_entropy"]["easy negatives"] / sum(out["cross_entropy"].values()))
    with pytest.raises(ValueError, match="easy"):
        L.loss_by_group(logits, labels, easy=1.5)
    with pytest.raises(ValueError, match="logits"):
        L.loss_by_group(logits[0], labels)
    with pytest.raises(ValueError, match="kind"):
        L.easy_negative_share(out, "hinge")
