"""Vision and sound together: a sound CNN trained on labels or taught by a vision teacher
(distillation with a KL divergence), and mix-and-separate with spectrogram masks conditioned
on what the picture shows."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..networks import SmallCNN
from ..train import fit_steps
from ..validate import check_int, check_positive
from . import audio


def distillation_loss(student_logits: torch.Tensor, teacher_probs: torch.Tensor,
                      temperature: float = 1.0) -> torch.Tensor:
    """KL(teacher || student) per example, averaged: sum_k p_k (log p_k - log q_k) with
    q = softmax(student_logits / T). student_logits, teacher_probs: (N, K)."""
    if student_logits.shape != teacher_probs.shape or student_logits.ndim != 2:
        raise ValueError(f"student_logits and teacher_probs must both be (N, K), got "
                         f"{tuple(student_logits.shape)} and {tuple(teacher_probs.shape)}")
    log_q = F.log_softmax(student_logits / check_positive(temperature, "temperature"), dim=1)
    return F.kl_div(log_q, teacher_probs, reduction="batchmean")


def train_on_targets(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
                     steps: int = 150, batch: int = 64, lr: float = 3e-3, seed: int = 0) -> list[float]:
    """Adam on random batches: cross-entropy for hard targets (N,) int64, or
    ``distillation_loss`` for soft targets (N, K) probabilities. Returns the losses."""
    if len(inputs) != len(targets):
        raise ValueError(f"inputs and targets must have the same length, got {len(inputs)} and {len(targets)}")
    soft = targets.ndim == 2
    batch = check_int(batch, "batch", 1)

    def batch_loss(generator):
        idx = torch.randint(0, len(inputs), (batch,), generator=generator)
        logits = model(inputs[idx])
        return distillation_loss(logits, targets[idx]) if soft else F.cross_entropy(logits, targets[idx])

    return fit_steps(model, batch_loss, check_int(steps, "steps", 1), check_positive(lr, "lr"), seed)


def train_sound_cnn(inputs: torch.Tensor, targets: torch.Tensor, classes: int, steps: int = 150,
                    seed: int = 0) -> SmallCNN:
    """The chapter's sound CNN: a ``SmallCNN`` initialised from torch seed ``seed`` and trained
    by ``train_on_targets`` on spectrogram images ``inputs`` (N, 1, S, S) with hard labels (N,)
    or a teacher's probabilities (N, classes). Returns the model in eval mode."""
    if not isinstance(inputs, torch.Tensor) or inputs.ndim != 4 or inputs.shape[1] != 1 \
            or inputs.shape[2] != inputs.shape[3]:
        raise ValueError(f"inputs must be a (N, 1, S, S) tensor of spectrogram images, got "
                         f"{type(inputs).__name__} of shape {tuple(getattr(inputs, 'shape', ()))}")
    torch.manual_seed(check_int(seed, "seed", 0))
    model = SmallCNN(in_channels=1, size=inputs.shape[-1], classes=check_int(classes, "classes", 2))
    train_on_targets(model, inputs, targets, steps=steps, seed=seed)
    return model.eval()


class MaskNet(nn.Module):
    """Predicts one source's time-frequency mask from the mixture and a condition vector.

    Every frame (column) of the standardised log-magnitude mixture, with the condition
    appended, goes through the same MLP (1x1 convolutions over time) to a mask column in
    [0, 1]: (N, F, T) and (N, C) -> (N, F, T).
    """

    def __init__(self, freqs: int, condition: int, hidden: int = 256):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(freqs + condition, hidden, 1), nn.ReLU(),
                                 nn.Conv1d(hidden, hidden, 1), nn.ReLU(), nn.Conv1d(hidden, freqs, 1))

    def forward(self, log_mixture: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        x = (log_mixture - log_mixture.mean(dim=(1, 2), keepdim=True)) / log_mixture.std(dim=(1, 2), keepdim=True)
        cond = 3 * condition[:, :, None].expand(-1, -1, x.shape[2])
        return torch.sigmoid(self.net(torch.cat([x, cond], dim=1)))


def ideal_masks(first: torch.Tensor, second: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The upper bounds that know both sources: ratio mask |S1| / (|S1| + |S2|) and binary
    mask [|S1| > |S2|], for the spectra (..., F, T) of the two sources."""
    a, b = first.abs(), second.abs()
    return a / (a + b).clamp_min(1e-12), (a > b).to(a.dtype)


def log_magnitude(spectrum: torch.Tensor) -> torch.Tensor:
    """log(|S| + 1e-6) as float32: the mixture representation MaskNet reads."""
    return torch.log(spectrum.abs() + 1e-6).float()


def train_separator(model: MaskNet, spectra: torch.Tensor, labels: torch.Tensor,
                    conditions: torch.Tensor, steps: int = 300, batch: int = 64, lr: float = 3e-3,
                    seed: int = 0) -> list[float]:
    """Mix two random sounds of different classes; learn the first one's ratio mask, given the
    first sound's condition (e.g. what its picture shows). The squared error of each bin is
    weighted by the mixture's magnitude there (loud bins matter for the separated sound).
    spectra: complex (N, F, T); labels: (N,); conditions: (N, C)."""
    batch = check_int(batch, "batch", 2)

    def batch_loss(generator):
        i = torch.randint(0, len(spectra), (batch,), generator=generator)
        j = torch.randint(0, len(spectra), (batch,), generator=generator)
        keep = labels[i] != labels[j]
        i, j = i[keep], j[keep]
        mixture = spectra[i] + spectra[j]
        target, _ = ideal_masks(spectra[i], spectra[j])
        weight = mixture.abs().float()
        weight = weight / weight.mean()
        return (weight * (model(log_magnitude(mixture), conditions[i]) - target.float()) ** 2).mean()

    return fit_steps(model, batch_loss, check_int(steps, "steps", 1), check_positive(lr, "lr"), seed)


def separate(model: MaskNet, mixture: torch.Tensor, condition: torch.Tensor, n_fft: int,
             hop: int) -> torch.Tensor:
    """Apply the predicted mask to the mixture's spectrum and invert: (N, T) -> (N, T)."""
    spectrum = audio.stft(mixture, n_fft, hop)
    with torch.no_grad():
        mask = model(log_magnitude(spectrum), condition).to(spectrum.real.dtype)
    return audio.istft(spectrum * mask, n_fft, hop, mixture.shape[-1])
