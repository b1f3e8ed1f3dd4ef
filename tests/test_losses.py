"""Focal loss against torchvision.ops.sigmoid_focal_loss, gradcheck and special cases."""
import math

import pytest
import torch
import torchvision

from course_utils import losses as L

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
