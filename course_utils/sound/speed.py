"""Chapter 11's speed table: the short-time Fourier transform as the taught frame-by-frame loop,
the framed twin (one unfold, one batched rfft) and ``torch.stft``, on the same signal. The three
must agree before they are timed."""
from __future__ import annotations

import numpy as np
import torch

from ..timing import speed_rows
from ..validate import check_int
from . import audio

LOOP = "loop (numpy rfft per frame)"


def stft_table(signal, n_fft: int = 256, hop: int = 64, repeat: int = 3) -> list[dict]:
    """Rows {"implementation", "ms"} for ``audio.stft_loop``, ``audio.stft`` and ``torch.stft``
    (periodic Hann window, centred frames, zero padding: the same convention) on ``signal``
    (T,), float64. The three spectra must agree to 1e-9, else a RuntimeError."""
    signal = torch.as_tensor(np.asarray(signal, dtype=np.float64))
    if signal.ndim != 1:
        raise ValueError(f"signal must be one-dimensional (T,), got shape {tuple(signal.shape)}")
    n_fft, hop, repeat = check_int(n_fft, "n_fft", 2), check_int(hop, "hop", 1), check_int(repeat, "repeat", 1)
    window = torch.hann_window(n_fft, dtype=torch.float64)
    options = {"window": window, "center": True, "pad_mode": "constant", "return_complex": True}

    def library(x):
        return torch.stft(x, n_fft, hop, **options)

    loop = audio.stft_loop(signal.numpy(), n_fft, hop)
    framed = audio.stft(signal, n_fft, hop).numpy()
    if max(np.abs(framed - loop).max(), np.abs(framed - library(signal).numpy()).max()) > 1e-9:
        raise RuntimeError("the STFT loop, the framed STFT and torch.stft disagree")
    return speed_rows([(LOOP, audio.stft_loop, (signal.numpy(), n_fft, hop)),
                       ("framed (unfold + rfft)", audio.stft, (signal, n_fft, hop)),
                       ("torch.stft", library, (signal,))], repeat)
