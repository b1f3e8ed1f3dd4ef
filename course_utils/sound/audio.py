"""Sound as a signal: the short-time Fourier transform (loop first, then framed), its
inverse, what a window length resolves (peaks in frequency, a click's spread in time), the mel
filterbank, SI-SDR and SNR, and denoising from silent intervals.

Convention (the same as ``torch.stft(..., center=True, pad_mode="constant")`` with a periodic
Hann window): the signal is padded with n_fft // 2 zeros at both ends, frame m starts at
sample m * hop of the padded signal, and each frame is windowed before its real FFT.
``stft`` returns complex (..., n_fft // 2 + 1, frames); ``istft`` inverts it exactly by
windowed overlap-add divided by the summed squared window (hop <= n_fft / 2 keeps that sum
positive everywhere).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.signal import find_peaks

from ..validate import (
    as_float_array,
    check_choice,
    check_fraction,
    check_int,
    check_positive,
)


def _check_signal(x, name: str = "x") -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"{name} must be (..., T) with T >= 1, got shape {tuple(x.shape)}")
    return x


def _check_frames(n_fft, hop, length: int) -> tuple[int, int]:
    n_fft, hop = check_int(n_fft, "n_fft", 2), check_int(hop, "hop", 1)
    if n_fft > length:
        raise ValueError(f"n_fft must not exceed the signal length {length}, got {n_fft}")
    if hop > n_fft // 2:
        raise ValueError(f"hop must be <= n_fft / 2 = {n_fft // 2} for an invertible transform, got {hop}")
    return n_fft, hop


def stft_loop(x, n_fft: int, hop: int) -> np.ndarray:
    """The definition, one frame at a time: x (T,) numpy -> complex (n_fft // 2 + 1, frames)."""
    x = np.asarray(x, dtype=np.float64)
    n_fft, hop = _check_frames(n_fft, hop, len(x))
    window = np.sin(np.pi * np.arange(n_fft) / n_fft) ** 2          # periodic Hann
    padded = np.pad(x, n_fft // 2)
    frames = 1 + (len(padded) - n_fft) // hop
    out = np.empty((n_fft // 2 + 1, frames), dtype=np.complex128)
    for m in range(frames):
        out[:, m] = np.fft.rfft(padded[m * hop:m * hop + n_fft] * window)
    return out


WINDOWS = ("hann",)


def stft(x, n_fft: int = 256, hop: int = 64, window: str = "hann") -> torch.Tensor:
    """All frames at once (``unfold``): x (..., T) -> complex (..., n_fft // 2 + 1, frames).
    ``window``: the taper applied to every frame (only "hann", periodic, is provided)."""
    check_choice(window, "window", WINDOWS)
    x = _check_signal(x)
    n_fft, hop = _check_frames(n_fft, hop, x.shape[-1])
    x = x.to(torch.float64) if not x.is_floating_point() else x
    window = torch.hann_window(n_fft, dtype=x.dtype, device=x.device)
    padded = torch.nn.functional.pad(x.reshape(-1, 1, x.shape[-1]), (n_fft // 2, n_fft // 2)).reshape(
        *x.shape[:-1], -1)
    frames = padded.unfold(-1, n_fft, hop) * window                  # (..., frames, n_fft)
    return torch.fft.rfft(frames, dim=-1).transpose(-1, -2)


def istft(spectrum: torch.Tensor, n_fft: int, hop: int, length: int, window: str = "hann") -> torch.Tensor:
    """Inverse of ``stft``: complex (..., n_fft // 2 + 1, frames) -> real (..., length)."""
    check_choice(window, "window", WINDOWS)
    n_fft, hop, length = check_int(n_fft, "n_fft", 2), check_int(hop, "hop", 1), check_int(length, "length", 1)
    if spectrum.shape[-2] != n_fft // 2 + 1:
        raise ValueError(f"spectrum must have n_fft // 2 + 1 = {n_fft // 2 + 1} frequency rows, "
                         f"got shape {tuple(spectrum.shape)}")
    frames = torch.fft.irfft(spectrum.transpose(-1, -2), n=n_fft, dim=-1)    # (..., M, n_fft)
    window = torch.hann_window(n_fft, dtype=frames.dtype, device=frames.device)
    count = frames.shape[-2]
    total = n_fft + hop * (count - 1)
    lead = frames.shape[:-2]
    folded = torch.nn.functional.fold((frames * window).reshape(-1, count, n_fft).transpose(1, 2),
                                      (1, total), (1, n_fft), stride=(1, hop)).reshape(*lead, total)
    norm = torch.nn.functional.fold((window ** 2).expand(1, count, n_fft).transpose(1, 2), (1, total),
                                    (1, n_fft), stride=(1, hop)).reshape(total)
    start = n_fft // 2
    if start + length > total:
        raise ValueError(f"length must be <= {total - start} for {count} frames, got {length}")
    return folded[..., start:start + length] / norm[start:start + length]


def stft_frequencies(n_fft: int, sample_rate: float) -> np.ndarray:
    """The frequency in Hz of every row of ``stft``: k * sample_rate / n_fft, (n_fft // 2 + 1,)."""
    n_fft, sample_rate = check_int(n_fft, "n_fft", 2), check_positive(sample_rate, "sample_rate")
    return np.arange(n_fft // 2 + 1) * sample_rate / n_fft


def count_peaks(profile, min_fraction: float = 0.3) -> int:
    """Number of peaks of a spectrum profile (F,): local maxima (``scipy.signal.find_peaks``,
    never the first or last value) higher than ``min_fraction`` of the profile's maximum."""
    profile = as_float_array(profile, "profile", ndim=1)
    peaks, _ = find_peaks(profile)
    return int(np.sum(profile[peaks] > check_fraction(min_fraction, "min_fraction") * profile.max()))


def click_duration_ms(magnitude, freqs, hop: int, above: float, sample_rate: float) -> float:
    """How long a click appears to last in a magnitude spectrogram (F, M) whose rows have
    frequencies ``freqs`` (F,) Hz: the frames where the magnitude summed over the rows above
    ``above`` Hz (where only the click reaches) exceeds half its largest value, times the hop,
    in milliseconds."""
    magnitude = as_float_array(magnitude, "magnitude", ndim=2)
    freqs = as_float_array(freqs, "freqs", ndim=1)
    if len(freqs) != magnitude.shape[0]:
        raise ValueError(f"freqs must have one value per row of magnitude ({magnitude.shape[0]}), got {len(freqs)}")
    if not np.any(freqs > above):
        raise ValueError(f"above must be below the highest frequency {freqs.max()} Hz, got {above}")
    high = magnitude[freqs > above].sum(axis=0)
    frames = np.sum(high > 0.5 * high.max())
    return float(1000 * check_int(hop, "hop", 1) * frames / check_positive(sample_rate, "sample_rate"))


def window_resolution(signal, n_fft: int, hop: int, band: tuple[float, float], before: int,
                      sample_rate: float = 8000, above: float = 3500.0, min_fraction: float = 0.3) -> dict:
    """What one window length resolves in ``signal`` (T,): its window and bin spacing, the
    number of peaks (``count_peaks``) of the mean magnitude spectrum in ``band`` = (low, high)
    Hz over the frames that end before sample ``before`` (where a click sits), and how long
    the click appears to last (``click_duration_ms`` above ``above`` Hz). Returns one table row."""
    low, high = band
    if not 0 <= low < high:
        raise ValueError(f"band must be (low, high) Hz with 0 <= low < high, got {band}")
    magnitude = stft(signal, n_fft, hop).abs().numpy()
    freqs = stft_frequencies(n_fft, sample_rate)
    frames = check_int(before, "before", 1) // hop - n_fft // hop
    if frames < 1:
        raise ValueError(f"before must leave at least one whole frame of {n_fft} samples, got {before}")
    inside = (freqs >= low) & (freqs <= high)
    if not inside.any():
        raise ValueError(f"band must hold at least one frequency bin ({sample_rate / n_fft:g} Hz apart), got {band}")
    profile = magnitude[inside][:, :frames].mean(axis=1)
    return {"window (samples)": n_fft, "window (ms)": 1000 * n_fft / sample_rate, "bin spacing (Hz)": sample_rate / n_fft,
            "peaks in band": count_peaks(profile, min_fraction),
            "click lasts (ms)": click_duration_ms(magnitude, freqs, hop, above, sample_rate)}


def hz_to_mel(f):
    """The (HTK) mel scale: 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    """Inverse of ``hz_to_mel``."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: float, fmin: float = 0.0,
                   fmax: float | None = None) -> torch.Tensor:
    """Triangular filters (n_mels, n_fft // 2 + 1): filter k rises from mel point k to peak 1
    at point k + 1 and falls to 0 at point k + 2, with n_mels + 2 points evenly spaced on the
    mel scale between fmin and fmax (default: sample_rate / 2). Neighbouring filters sum to 1
    between the first and the last peak."""
    n_mels, n_fft = check_int(n_mels, "n_mels", 1), check_int(n_fft, "n_fft", 2)
    sample_rate = check_positive(sample_rate, "sample_rate")
    fmax = sample_rate / 2 if fmax is None else check_positive(fmax, "fmax")
    if not 0 <= fmin < fmax <= sample_rate / 2:
        raise ValueError(f"need 0 <= fmin < fmax <= sample_rate / 2, got fmin={fmin}, fmax={fmax}")
    points = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    lower, centre, upper = points[:-2, None], points[1:-1, None], points[2:, None]
    rising = (freqs - lower) / (centre - lower)
    falling = (upper - freqs) / (upper - centre)
    return torch.tensor(np.clip(np.minimum(rising, falling), 0.0, None))


def si_sdr(estimate, reference, eps: float = 1e-12) -> torch.Tensor:
    """Scale-invariant signal-to-distortion ratio in dB, over the last axis: (..., T) -> (...).

    The reference is scaled to best match the estimate, a = <e, r> / |r|^2; then
    10 log10(|a r|^2 / |e - a r|^2). No mean removal (torchmetrics' default, zero_mean=False).
    """
    estimate, reference = _check_signal(estimate, "estimate"), _check_signal(reference, "reference")
    if estimate.shape != reference.shape:
        raise ValueError(f"estimate and reference must have the same shape, got {tuple(estimate.shape)} "
                         f"and {tuple(reference.shape)}")
    scale = (estimate * reference).sum(-1, keepdim=True) / ((reference ** 2).sum(-1, keepdim=True) + eps)
    target = scale * reference
    return 10 * torch.log10(((target ** 2).sum(-1) + eps) / (((estimate - target) ** 2).sum(-1) + eps))


def snr_db(clean, estimate) -> float:
    """10 log10(|clean|^2 / |estimate - clean|^2) over a whole signal (no rescaling)."""
    clean, estimate = np.asarray(clean, dtype=np.float64), np.asarray(estimate, dtype=np.float64)
    if clean.shape != estimate.shape:
        raise ValueError(f"clean and estimate must have the same shape, got {clean.shape} and {estimate.shape}")
    return float(10 * np.log10(np.sum(clean ** 2) / max(np.sum((estimate - clean) ** 2), 1e-30)))


def quiet_frames(spectrum: torch.Tensor, share: float = 0.2) -> torch.Tensor:
    """The ``share`` of frames with the least energy (where the speaker pauses):
    complex (F, M) -> bool (M,)."""
    if not 0 < share <= 1:
        raise ValueError(f"share must lie in (0, 1], got {share}")
    energy = (spectrum.abs() ** 2).sum(dim=0)
    count = max(1, int(round(share * energy.numel())))
    mask = torch.zeros_like(energy, dtype=torch.bool)
    mask[torch.argsort(energy)[:count]] = True
    return mask


def denoise_from_silence(noisy, n_fft: int = 256, hop: int = 64, share: float = 0.2,
                         floor: float = 0.02, oversubtract: float = 2.0) -> torch.Tensor:
    """Estimate the noise power spectrum in the quietest frames and apply a Wiener-like gain
    max(floor, 1 - oversubtract * noise / power) to every time-frequency bin.
    noisy: (T,) -> (T,)."""
    noisy = _check_signal(noisy, "noisy").to(torch.float64)
    spectrum = stft(noisy, n_fft, hop)
    power = spectrum.abs() ** 2
    noise = power[:, quiet_frames(spectrum, share)].mean(dim=1, keepdim=True)
    gain = (1 - check_positive(oversubtract, "oversubtract") * noise / power.clamp_min(1e-30)).clamp(min=floor)
    return istft(spectrum * gain, n_fft, hop, noisy.shape[-1])


def log_spectrogram(x, n_fft: int = 256, hop: int = 64, eps: float = 1e-6) -> torch.Tensor:
    """log(|stft| + eps): (..., T) -> (..., n_fft // 2 + 1, frames), float."""
    return torch.log(stft(x, n_fft, hop).abs() + eps)


def nyquist_alias(frequency: float, sample_rate: float) -> float:
    """The frequency a sampled sinusoid appears at: folded into [0, sample_rate / 2]."""
    frequency, sample_rate = check_positive(frequency, "frequency", allow_zero=True), check_positive(sample_rate, "sample_rate")
    folded = math.fmod(frequency, sample_rate)
    return folded if folded <= sample_rate / 2 else sample_rate - folded


def log_mel_spectrogram(x, n_fft: int = 256, hop: int = 128, n_mels: int = 32,
                        sample_rate: float = 8000, eps: float = 1e-6) -> torch.Tensor:
    """log(mel filterbank @ |stft|^2 + eps): (..., T) -> (..., n_mels, frames), float32."""
    power = stft(x, n_fft, hop).abs() ** 2
    bank = mel_filterbank(n_mels, n_fft, sample_rate).to(power.dtype)
    return torch.log(bank @ power + eps).float()
