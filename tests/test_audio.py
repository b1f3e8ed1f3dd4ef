"""Tests for course_utils.sound.audio against torch.stft / istft, scipy, torchmetrics and the mel
formula, the window-resolution measures against hand-made spectra and signals, plus the denoiser
and the errors."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio

from course_utils.sound import audio

pytestmark = pytest.mark.chapter("11_sound")


@pytest.mark.parametrize("length,n_fft,hop", [(1000, 256, 64), (777, 128, 64), (300, 64, 16), (64, 64, 32)])
def test_stft_matches_torch_and_the_loop(length, n_fft, hop, device):
    x = torch.randn(3, length, dtype=torch.float64, generator=torch.Generator().manual_seed(length)).to(device)
    window = torch.hann_window(n_fft, dtype=torch.float64, device=device)
    reference = torch.stft(x, n_fft, hop, window=window, center=True, pad_mode="constant", return_complex=True)
    ours = audio.stft(x, n_fft, hop)
    torch.testing.assert_close(ours, reference)
    np.testing.assert_allclose(audio.stft_loop(x[1].cpu().numpy(), n_fft, hop), ours[1].cpu().numpy(), atol=1e-10)
    back = audio.istft(ours, n_fft, hop, length)
    torch.testing.assert_close(back, x)
    torch.testing.assert_close(back, torch.istft(reference, n_fft, hop, window=window, center=True, length=length))


def test_stft_power_matches_scipy_spectrogram_frames():
    x = np.random.default_rng(0).standard_normal(2048)
    _, _, ours_scipy = scipy.signal.stft(x, nperseg=256, noverlap=192, window="hann", boundary="zeros",
                                         padded=False, scaling="spectrum")
    ours = audio.stft(torch.tensor(x), 256, 64).numpy()
    # scipy scales by 1 / sum(window) and uses a symmetric-style periodic Hann: compare |.| shapes
    frames = min(ours.shape[1], ours_scipy.shape[1])
    scale = np.hanning(257)[:256].sum()
    np.testing.assert_allclose(np.abs(ours[:, :frames]) / scale, np.abs(ours_scipy[:, :frames]), atol=1e-12)


def test_mel_filterbank_follows_the_mel_formula():
    bank = audio.mel_filterbank(10, 512, 8000, fmin=100, fmax=3500).numpy()
    freqs = np.arange(257) * 8000 / 512
    points = audio.mel_to_hz(np.linspace(audio.hz_to_mel(100), audio.hz_to_mel(3500), 12))
    for k in range(10):
        # each filter is 0 outside [point k, point k + 2] and peaks next to point k + 1
        inside = (freqs > points[k]) & (freqs < points[k + 2])
        assert np.all(bank[k][~inside] == 0) and bank[k].max() <= 1
        assert abs(freqs[np.argmax(bank[k])] - points[k + 1]) <= 8000 / 512
    between = (freqs >= points[1]) & (freqs <= points[-2])
    np.testing.assert_allclose(bank.sum(axis=0)[between], 1.0, atol=1e-12)
    np.testing.assert_allclose(audio.mel_to_hz(audio.hz_to_mel([0, 700, 4000])), [0, 700, 4000])
    assert audio.hz_to_mel(700) == pytest.approx(2595 * np.log10(2))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), scale=st.floats(0.1, 10))
def test_si_sdr_matches_torchmetrics_and_ignores_scale(seed, scale):
    g = torch.Generator().manual_seed(seed)
    reference = torch.randn(2, 300, generator=g, dtype=torch.float64)
    estimate = reference + 0.3 * torch.randn(2, 300, generator=g, dtype=torch.float64)
    ours = audio.si_sdr(estimate, reference)
    torch.testing.assert_close(ours, scale_invariant_signal_distortion_ratio(estimate, reference), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(audio.si_sdr(scale * estimate, reference), ours, atol=1e-8, rtol=1e-8)


def test_snr_quiet_frames_and_denoising():
    from course_utils.sound.sounds import speech_like

    speech = speech_like(1)
    noisy = speech + 0.1 * np.random.default_rng(1).standard_normal(len(speech))
    assert audio.snr_db(speech, speech + 0.1) == pytest.approx(
        10 * np.log10(np.sum(speech ** 2) / (0.01 * len(speech))))
    spectrum = audio.stft(torch.tensor(speech), 256, 64)
    quiet = audio.quiet_frames(spectrum, 0.2)
    assert quiet.sum() == round(0.2 * spectrum.shape[1])
    assert (spectrum.abs()[:, quiet] ** 2).sum() < 1e-6 * (spectrum.abs() ** 2).sum()   # pauses are silent
    cleaned = audio.denoise_from_silence(torch.tensor(noisy)).numpy()
    assert audio.snr_db(speech, cleaned) > audio.snr_db(speech, noisy) + 5


def test_aliasing_and_log_mel():
    assert audio.nyquist_alias(5000, 8000) == 3000 and audio.nyquist_alias(9000, 8000) == 1000
    assert audio.nyquist_alias(4000, 8000) == 4000
    assert audio.log_mel_spectrogram(torch.zeros(2, 4000) + 0.1).shape == (2, 32, 32)


def test_errors_name_the_argument():
    x = torch.zeros(100)
    with pytest.raises(ValueError, match="n_fft must not exceed"):
        audio.stft(x, 128, 32)
    with pytest.raises(ValueError, match="hop"):
        audio.stft(x, 64, 0)
    with pytest.raises(ValueError, match="hop must be <= n_fft / 2"):
        audio.stft(x, 64, 40)
    with pytest.raises(ValueError, match="window"):
        audio.stft(x, 64, 16, window="hamming")
    with pytest.raises(ValueError, match="window"):
        audio.istft(torch.zeros(33, 5, dtype=torch.complex128), 64, 16, 50, window="boxcar")
    with pytest.raises(ValueError, match="frequency rows"):
        audio.istft(torch.zeros(10, 5, dtype=torch.complex128), 64, 16, 50)
    with pytest.raises(ValueError, match="same shape"):
        audio.si_sdr(torch.zeros(10), torch.zeros(11))
    with pytest.raises(ValueError, match="fmin"):
        audio.mel_filterbank(10, 256, 8000, fmin=5000)
    with pytest.raises(ValueError, match="share"):
        audio.quiet_frames(torch.zeros(3, 4, dtype=torch.complex128), 0.0)


def test_stft_frequencies_match_numpy_and_label_the_rows():
    for n_fft, rate in ((256, 8000), (100, 16000), (2, 1)):
        np.testing.assert_allclose(audio.stft_frequencies(n_fft, rate), np.fft.rfftfreq(n_fft, 1 / rate), rtol=1e-12)
    tone = np.sin(2 * np.pi * 1500 * np.arange(4000) / 8000)
    row = audio.stft(torch.tensor(tone), 256, 64).abs().mean(dim=1).argmax().item()
    assert audio.stft_frequencies(256, 8000)[row] == 1500
    with pytest.raises(ValueError, match="n_fft"):
        audio.stft_frequencies(1, 8000)


def test_count_peaks_on_a_hand_made_spectrum():
    bins = np.arange(60)
    profile = sum(h * np.exp(-0.5 * ((bins - c) / 1.5) ** 2) for c, h in ((8, 1.0), (20, 0.6), (32, 0.2), (44, 0.35)))
    profile[-3:] = [0.5, 0.7, 0.9]                        # a rising edge at the end is not a peak
    assert audio.count_peaks(profile) == 3                # 1.0, 0.6 and 0.35 clear 0.3; 0.2 does not
    assert audio.count_peaks(profile, 0.5) == 2
    assert audio.count_peaks(profile, 0.0) == 4
    assert audio.count_peaks(np.ones(5)) == 0 and audio.count_peaks([1.0, 2.0]) == 0
    # on noise: the strict local maxima above the threshold, counted by comparing neighbours
    for seed in range(5):
        p = np.random.default_rng(seed).random(200)
        expected = np.sum((p[1:-1] > p[:-2]) & (p[1:-1] > p[2:]) & (p[1:-1] > 0.3 * p.max()))
        assert audio.count_peaks(p) == expected
    with pytest.raises(ValueError, match="profile must have 1"):
        audio.count_peaks(np.ones((3, 3)))
    with pytest.raises(ValueError, match="min_fraction"):
        audio.count_peaks(profile, 1.5)


@pytest.mark.parametrize("n_fft", [256, 512])
def test_a_click_lasts_half_the_window(n_fft):
    # a unit impulse gives every bin of a frame the window's value where it falls; the Hann
    # window exceeds half its peak over the middle half of its length: n_fft / 2 samples
    signal = np.zeros(16000)
    signal[8005] = 1.0                                    # between frame boundaries, no ties
    magnitude = audio.stft(torch.tensor(signal), n_fft, 16).abs().numpy()
    freqs = audio.stft_frequencies(n_fft, 8000)
    assert audio.click_duration_ms(magnitude, freqs, 16, 3500, 8000) == pytest.approx(1000 * n_fft / 2 / 8000)
    with pytest.raises(ValueError, match="freqs"):
        audio.click_duration_ms(magnitude, freqs[:-1], 16, 3500, 8000)
    with pytest.raises(ValueError, match="above"):
        audio.click_duration_ms(magnitude, freqs, 16, 4000, 8000)


def test_only_a_long_window_resolves_two_close_tones_and_it_smears_the_click():
    t = np.arange(16000) / 8000
    signal = 0.4 * np.sin(2 * np.pi * 1000 * t) + 0.4 * np.sin(2 * np.pi * 1060 * t)
    signal[8000] += 8.0
    rows = {n: audio.window_resolution(signal, n, 32, band=(900, 1150), before=8000) for n in (64, 256, 1024)}
    assert [rows[n]["peaks in band"] for n in (64, 256, 1024)] == [0, 2, 2]     # 125 Hz bins see one bump
    assert rows[64]["click lasts (ms)"] < rows[256]["click lasts (ms)"] < rows[1024]["click lasts (ms)"]
    assert rows[1024]["bin spacing (Hz)"] == 8000 / 1024 and rows[256]["window (ms)"] == 32
    one_tone = audio.window_resolution(np.sin(2 * np.pi * 1000 * t), 1024, 32, band=(900, 1150), before=8000)
    assert one_tone["peaks in band"] == 1
    with pytest.raises(ValueError, match="band"):
        audio.window_resolution(signal, 256, 32, band=(1150, 900), before=8000)
    with pytest.raises(ValueError, match="band"):
        audio.window_resolution(signal, 64, 32, band=(1010, 1020), before=8000)
    with pytest.raises(ValueError, match="before"):
        audio.window_resolution(signal, 1024, 32, band=(900, 1150), before=1000)
