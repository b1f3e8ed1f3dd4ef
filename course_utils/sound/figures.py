"""Figures (and players) for chapter 11 (vision and sound). Drawing only: the numbers come
from audio.py and audiovisual.py."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Audio, display

from .audio import denoise_from_silence, istft, si_sdr, snr_db, stft
from .audiovisual import ideal_masks
from .sounds import SAMPLE_RATE


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def play(wave, rate: int = SAMPLE_RATE) -> Audio:
    """An audio player for a waveform (T,) (normalised, as IPython does)."""
    return Audio(_numpy(wave), rate=rate)


def show_spectrogram(ax, wave, n_fft: int = 256, hop: int = 64, rate: int = SAMPLE_RATE,
                     title: str = "") -> None:
    """log |STFT| of ``wave`` on ``ax`` with time and frequency axes."""
    magnitude = _numpy(stft(torch.as_tensor(_numpy(wave)), n_fft, hop).abs())
    duration = len(_numpy(wave)) / rate
    ax.imshow(np.log(magnitude + 1e-6), origin="lower", aspect="auto", cmap="magma",
              extent=(0, duration, 0, rate / 2))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title(title, fontsize=9)


def show_sounds(waves: Sequence, titles: Sequence[str], n_fft: int = 256, hop: int = 64) -> plt.Figure:
    """Waveform (top) and spectrogram (bottom) for each sound."""
    fig, axes = plt.subplots(2, len(waves), figsize=(2.3 * len(waves), 4.2), squeeze=False)
    for k, (wave, title) in enumerate(zip(waves, titles)):
        wave = _numpy(wave)
        axes[0, k].plot(np.arange(len(wave)) / SAMPLE_RATE, wave, lw=0.4)
        axes[0, k].set_title(title, fontsize=9)
        axes[0, k].set_yticks([])
        show_spectrogram(axes[1, k], wave, n_fft, hop)
        if k:
            axes[1, k].set_ylabel("")
    fig.tight_layout()
    return fig


def show_tradeoff(signal, n_fft: int = 256, hop: int = 64) -> plt.Figure:
    """Widget: one spectrogram of ``signal`` at the chosen window length and hop."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    show_spectrogram(ax, signal, int(n_fft), int(hop),
                     title=f"window {int(n_fft)} samples ({1000 * int(n_fft) / SAMPLE_RATE:.0f} ms): "
                           f"frequency bins {SAMPLE_RATE / int(n_fft):.0f} Hz apart, hop {int(hop)}")
    fig.tight_layout()
    return fig


def show_spectrum_lines(freqs, curves: Mapping[str, Sequence[float]], xlabel: str = "frequency (Hz)",
                        ylabel: str = "power (dB)", title: str = "") -> plt.Figure:
    """Several spectra (or filters) against frequency."""
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    for name, values in curves.items():
        ax.plot(_numpy(freqs), _numpy(values), lw=0.9, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if len(curves) <= 8:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def show_separation(mixture, estimate, reference, ideal, scores: Mapping[str, float],
                    n_fft: int = 256, hop: int = 64) -> plt.Figure:
    """Spectrograms of the mixture, the separated source, the ideal-mask estimate and the true
    source, with SI-SDR numbers in the titles."""
    fig, axes = plt.subplots(1, 4, figsize=(11.5, 2.9))
    for ax, wave, title in zip(axes, (mixture, estimate, ideal, reference),
                               (f"mixture ({scores['mixture']:.1f} dB)", f"predicted mask ({scores['predicted']:.1f} dB)",
                                f"ideal ratio mask ({scores['ideal']:.1f} dB)", "true source")):
        show_spectrogram(ax, wave, n_fft, hop, title=title)
    fig.tight_layout()
    return fig


def show_mix(separator_call, first, second, condition, ratio: float = 1.0, n_fft: int = 256,
             hop: int = 128) -> plt.Figure:
    """Widget: mix ``first`` with ``ratio`` times ``second``, separate the first with the
    predicted and with the ideal mask, play all three, and show the spectrograms with SI-SDR."""

    first, second = torch.as_tensor(_numpy(first)), torch.as_tensor(_numpy(second)) * float(ratio)
    mixture = first + second
    estimate = separator_call(mixture[None], condition[None])[0]
    spectra = stft(first, n_fft, hop), stft(second, n_fft, hop)
    ideal = istft((spectra[0] + spectra[1]) * ideal_masks(*spectra)[0], n_fft, hop, len(first))
    scores = {"mixture": si_sdr(mixture, first).item(), "predicted": si_sdr(estimate, first).item(),
              "ideal": si_sdr(ideal, first).item()}
    for wave in (mixture, estimate, ideal):
        display(play(wave))
    return show_separation(mixture, estimate, first, ideal, scores)


def show_denoising(clean, noise_level: float = 0.05, seed: int = 0) -> plt.Figure:
    """Widget: add white noise of std ``noise_level``, denoise from the pauses, play both and
    draw the three spectrograms with SNRs."""
    clean = _numpy(clean)
    noisy = clean + float(noise_level) * np.random.default_rng(seed).standard_normal(len(clean))
    denoised = denoise_from_silence(torch.as_tensor(noisy)).numpy()
    display(play(noisy))
    display(play(denoised))
    fig, axes = plt.subplots(1, 3, figsize=(11, 2.9))
    for ax, wave, title in zip(axes, (clean, noisy, denoised),
                               ("clean", f"noisy (SNR {snr_db(clean, noisy):.1f} dB)",
                                f"denoised (SNR {snr_db(clean, denoised):.1f} dB)")):
        show_spectrogram(ax, wave, title=title)
    fig.tight_layout()
    return fig
