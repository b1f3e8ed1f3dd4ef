"""Tracking by colorization: the per-frame copy, the locality prior, mask propagation, IoU,
PCA colours, and a short training run that learns to copy colours."""
import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from course_utils.metrics import mean_iou
from course_utils.motion import flow, tracking

pytestmark = pytest.mark.chapter("06_tracking")


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_copy_from_reference_is_attention_copy_per_pixel(device):
    ref, tgt = torch.randn(2, 5, 4, 6, generator=_gen(0)), torch.randn(2, 5, 4, 6, generator=_gen(1))
    values = torch.rand(2, 3, 4, 6, generator=_gen(2))
    ref, tgt, values = ref.to(device), tgt.to(device), values.to(device)
    out = tracking.copy_from_reference(ref, tgt, values, temperature=0.5)
    assert out.shape == (2, 3, 4, 6)
    expected = flow.attention_copy(ref[1].flatten(1).T, tgt[1].flatten(1).T, values[1].flatten(1).T, 0.5)
    torch.testing.assert_close(out[1].flatten(1).T, expected)


def test_locality_prior_adds_a_gaussian_of_the_distance():
    """With sigma the logits become f.g / T - |p_i - p_j|^2 / (2 sigma^2) (+ a per-j constant)."""
    emb = torch.randn(1, 4, 3, 5, generator=_gen(3), dtype=torch.float64)
    tgt = torch.randn(1, 4, 3, 5, generator=_gen(4), dtype=torch.float64)
    values = torch.eye(15, dtype=torch.float64).reshape(1, 15, 3, 5)        # copies A itself
    T, sigma = 0.3, 1.5
    weights = tracking.copy_from_reference(emb, tgt, values, T, sigma)[0].flatten(1)   # (i, j)
    pos = torch.stack(torch.meshgrid(torch.arange(3.0), torch.arange(5.0), indexing="ij")).flatten(1).T
    logits = (tgt[0].flatten(1).T @ emb[0].flatten(1)) / T \
        - torch.cdist(pos, pos).double().pow(2) / (2 * sigma ** 2)                   # (j, i)
    torch.testing.assert_close(weights, torch.softmax(logits, dim=1).T)
    with pytest.raises(ValueError, match="sigma must be finite and > 0"):
        tracking.copy_from_reference(emb, tgt, values, T, sigma=0.0)


def _position_embedder(shift):
    """A fake embedder: one-hot of the pixel position moved by ``shift`` (so pointers are exact)."""
    class Fixed(torch.nn.Module):
        def forward(self, grey):
            t, _, h, w = grey.shape
            codes = torch.eye(h * w).reshape(h * w, h, w)
            frames = [torch.roll(codes, shifts=(k * shift[0], k * shift[1]), dims=(1, 2)) for k in range(t)]
            return torch.stack(frames) * 10
    return Fixed()


def test_propagate_mask_follows_exact_pointers_and_checks_arguments():
    labels = torch.zeros(3, 6, 6, dtype=torch.int64)
    for t in range(3):
        labels[t, 1 + t:3 + t, 1:3] = 1                       # a square moving down one row per frame
    probs = tracking.propagate_mask(_position_embedder((1, 0)), torch.zeros(3, 1, 6, 6), labels[0], 0.01)
    assert probs.shape == (3, 2, 6, 6)
    assert torch.equal(probs.argmax(1), labels)
    torch.testing.assert_close(tracking.mask_ious(probs.argmax(1), labels, 1), torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="first_mask must be an"):
        tracking.propagate_mask(_position_embedder((0, 0)), torch.zeros(3, 1, 6, 6), labels[0].float())
    with pytest.raises(ValueError, match=r"grey must be \(T, 1, H, W\)"):
        tracking.propagate_mask(_position_embedder((0, 0)), torch.zeros(3, 1, 5, 6), labels[0])


def test_mask_ious_against_mean_iou():
    rng = np.random.default_rng(5)
    pred, truth = torch.tensor(rng.integers(0, 3, (4, 7, 7))), torch.tensor(rng.integers(0, 3, (4, 7, 7)))
    ious = tracking.mask_ious(pred, truth, 2)
    for t in range(4):
        p, g = (pred[t] == 2).numpy(), (truth[t] == 2).numpy()
        assert ious[t].item() == pytest.approx((p & g).sum() / (p | g).sum())
        both = mean_iou((pred[t] == 2).long(), (truth[t] == 2).long(), 2, per_class=True)[1][1]
        assert ious[t].item() == pytest.approx(both.item())
    with pytest.raises(ValueError, match="same shape"):
        tracking.mask_ious(pred, truth[:2], 1)


def test_pca_colours_match_sklearn_up_to_sign_and_scale():
    emb = torch.randn(6, 5, 7, generator=_gen(6), dtype=torch.float64)
    ours = tracking.pca_colours(emb).reshape(-1, 3)
    theirs = PCA(3).fit_transform(emb.flatten(1).T.numpy())
    for k in range(3):
        assert abs(np.corrcoef(ours[:, k], theirs[:, k])[0, 1]) == pytest.approx(1.0, abs=1e-9)
    assert ours.min() == pytest.approx(0.0, abs=1e-9) and ours.max() == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="D >= 3"):
        tracking.pca_colours(torch.zeros(2, 4, 4))


def test_training_by_colorization_learns_to_copy(one_torch_thread):
    """Squares of random bins moving across a grey textured frame: a short run must copy the
    target's colours far better than the uniform guess (log num_bins)."""
    rng = np.random.default_rng(7)
    S, T, H = 12, 4, 12
    grey = torch.zeros(S, T, 1, H, H)
    bins = torch.zeros(S, T, H, H, dtype=torch.int64)
    texture = torch.tensor(rng.uniform(0, 1, (S, H + 8, H + 8)), dtype=torch.float32)
    for s in range(S):
        for t in range(T):
            grey[s, t, 0] = texture[s, t:t + H, t:t + H]           # the whole scene slides
            bins[s, t] = (grey[s, t, 0] * 4).long().clamp(max=3)  # colour = a function of the surface
    torch.manual_seed(0)
    model = tracking.PixelEmbedder(dim=8, hidden=8)
    losses = tracking.train_by_colorization(model, grey, bins, 4, steps=60, batch_size=4, max_gap=2,
                                            temperature=0.1, sigma=3.0, target_pixels=64, lr=1e-2)
    assert np.mean(losses[-10:]) < 0.5 * np.log(4)
    with pytest.raises(ValueError, match="sequences need more than max_gap"):
        tracking.train_by_colorization(model, grey, bins, 4, steps=1, max_gap=4)
    with pytest.raises(ValueError, match=r"grey must be \(S, T, 1, H, W\)"):
        tracking.train_by_colorization(model, grey[:, :, 0], bins, 4, steps=1)


def test_grey_patches_are_normalised_3x3_neighbourhoods():
    grey = torch.rand(2, 1, 6, 5, generator=_gen(3), dtype=torch.float64)
    out = tracking.GreyPatches()(grey)
    padded = np.pad(grey.numpy()[:, 0], ((0, 0), (1, 1), (1, 1)), mode="edge")
    for n, r, c in [(0, 0, 0), (1, 3, 2), (0, 5, 4)]:
        patch = padded[n, r:r + 3, c:c + 3].ravel()
        patch = patch - patch.mean()
        np.testing.assert_allclose(out[n, :, r, c].numpy(), patch / np.linalg.norm(patch), atol=1e-12)
    assert torch.equal(tracking.GreyPatches()(torch.ones(1, 1, 4, 4)), torch.zeros(1, 9, 4, 4))
    with pytest.raises(ValueError, match="grey"):
        tracking.GreyPatches()(torch.ones(1, 2, 4, 4))


def test_propagate_by_flow_moves_the_mask_with_the_flow():
    mask = torch.zeros(10, 10, dtype=torch.long)
    mask[2:5, 3:6] = 1
    still = tracking.propagate_by_flow(mask, np.zeros((3, 2, 10, 10)))
    assert torch.equal(still.argmax(1), mask.expand(3, -1, -1))
    # everything moves one pixel down per frame: each pixel was one row up in the frame before
    down = np.zeros((3, 2, 10, 10))
    down[:, 0] = -1.0
    moved = tracking.propagate_by_flow(mask, down).argmax(1)
    for t in range(3):
        assert torch.equal(moved[t], torch.roll(mask, t, dims=0))
    with pytest.raises(ValueError, match="back_flows"):
        tracking.propagate_by_flow(mask, np.zeros((3, 2, 9, 10)))
    with pytest.raises(ValueError, match="first_mask"):
        tracking.propagate_by_flow(mask.float(), down)


def test_copy_accuracy_of_a_pointer_to_the_same_position_is_the_nearest_position_copy():
    class Position(torch.nn.Module):         # each pixel's embedding: a one-hot of its position
        def forward(self, grey):
            n, _, h, w = grey.shape
            return torch.eye(h * w).reshape(h * w, h, w)[None].expand(n, -1, -1, -1)

    bins = torch.randint(0, 4, (2, 3, 4, 4), generator=_gen(5))
    grey = torch.rand(2, 3, 1, 4, 4, generator=_gen(6))
    nearest = tracking.copy_accuracy(None, grey, bins)
    assert nearest == pytest.approx(float((bins[:, :-1] == bins[:, 1:]).float().mean()))
    assert tracking.copy_accuracy(Position(), grey, bins, temperature=0.01) == pytest.approx(nearest)
    with pytest.raises(ValueError, match="gap"):
        tracking.copy_accuracy(None, grey, bins, gap=3)


def test_lucas_kanade_tuning_for_propagation_picks_the_best_row():
    data = tracking.coloured_sequences([1, 2])
    options, rows = tracking.tune_lucas_kanade_propagation(data["grey"], data["labels"], windows=(5, 9), levels=(1,))
    best = max(rows, key=lambda r: r["mask IoU"])
    assert options == {"window": best["window"], "levels": best["levels"]} and len(rows) == 2
    again = tracking.propagation_iou(lambda s: tracking.propagate_by_flow(
        data["labels"][s, 0], tracking.lucas_kanade_back_flows(data["grey"][s], **options)), data["labels"])
    assert again == pytest.approx(best["mask IoU"])
    with pytest.raises(ValueError, match="propagation"):
        tracking.tracking_arm({"propagation": "magic", "steps": 1, "temperature": 0.05, "sigma": 4.0}, [0])


def test_copy_first_mask_keeps_frame_zero_in_place():
    mask = torch.tensor([[0, 1], [2, 1]])
    copied = tracking.copy_first_mask(mask, 3)
    assert copied.shape == (3, 3, 2, 2) and torch.equal(copied.argmax(1), mask.expand(3, -1, -1))
    assert torch.equal(copied.sum(1), torch.ones(3, 2, 2))
    with pytest.raises(ValueError, match="first_mask"):
        tracking.copy_first_mask(mask.float(), 3)
