"""Seeded generated sounds with labels, the picture that goes with each class, and
speech-like bursts with pauses. All at ``SAMPLE_RATE`` Hz, float64 waveforms."""
from __future__ import annotations

import numpy as np

from ..data.digits import digits_tensors
from ..validate import check_int, check_positive

SAMPLE_RATE = 8000
SOUND_CLASSES: tuple[str, ...] = ("tone", "chord", "rising chirp", "falling chirp", "warble",
                                  "noise burst", "clicks", "plucked string")


def _envelope(n: int, rng: np.random.Generator) -> np.ndarray:
    attack = int(rng.integers(40, 400))
    env = np.ones(n)
    env[:attack] = np.linspace(0, 1, attack)
    env[-200:] *= np.linspace(1, 0, 200)
    return env


def make_sound(kind: int, rng: np.random.Generator, duration: float = 0.5) -> np.ndarray:
    """One sound of class ``kind`` (index into SOUND_CLASSES) with random pitch, timing and
    loudness: (T,) with T = duration * SAMPLE_RATE."""
    n = int(duration * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    f0 = rng.uniform(250, 1200)
    name = SOUND_CLASSES[check_int(kind, "kind", 0) % len(SOUND_CLASSES)]
    if name == "tone":
        wave = np.sin(2 * np.pi * f0 * t)
    elif name == "chord":            # a major triad
        wave = sum(np.sin(2 * np.pi * f0 * r * t + rng.uniform(0, 6.3)) for r in (1, 1.26, 1.5)) / 3
    elif name in ("rising chirp", "falling chirp"):
        f1, f2 = (f0, 3 * f0) if name == "rising chirp" else (3 * f0, f0)
        wave = np.sin(2 * np.pi * (f1 * t + (f2 - f1) * t ** 2 / (2 * duration)))
    elif name == "warble":           # frequency modulation
        wave = np.sin(2 * np.pi * f0 * t + 8 * np.sin(2 * np.pi * rng.uniform(6, 12) * t))
    elif name == "noise burst":
        wave = rng.standard_normal(n) * 0.5
    elif name == "clicks":
        wave = np.zeros(n)
        period = int(SAMPLE_RATE / rng.uniform(8, 20))
        wave[int(rng.integers(0, period))::period] = 1.0
        wave = np.convolve(wave, np.exp(-np.arange(30) / 5.0) * np.sin(np.arange(30)), mode="same")
    else:                            # plucked string: harmonics decaying fast
        wave = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6)) * np.exp(-t * rng.uniform(6, 12))
    wave = wave * _envelope(n, rng)
    return rng.uniform(0.3, 1.0) * wave / (np.abs(wave).max() + 1e-12)


def sound_dataset(n: int, seed: int = 0, noise: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sounds, classes drawn uniformly: waveforms (N, 4000) and labels (N,)."""
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    labels = rng.integers(0, len(SOUND_CLASSES), size=check_int(n, "n", 1))
    waves = np.stack([make_sound(k, rng) for k in labels])
    return waves + noise * rng.standard_normal(waves.shape), labels


def speech_like(seed: int = 0, duration: float = 2.0, bursts: int = 5) -> np.ndarray:
    """Syllable-like bursts (a buzzing source through two formant resonances) separated by
    silent pauses: (T,) with T = duration * SAMPLE_RATE; the pauses are exact zeros."""
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    n = int(check_positive(duration, "duration") * SAMPLE_RATE)
    out = np.zeros(n)
    slot = n // check_int(bursts, "bursts", 1)
    for b in range(bursts):
        length = int(slot * rng.uniform(0.4, 0.7))
        t = np.arange(length) / SAMPLE_RATE
        pitch = rng.uniform(100, 180)
        source = np.sign(np.sin(2 * np.pi * pitch * t))
        burst = np.zeros(length)
        for formant in (rng.uniform(400, 900), rng.uniform(1100, 2500)):
            burst += np.sin(2 * np.pi * formant * t) * (0.5 + 0.5 * source)
        burst *= np.hanning(length)
        start = b * slot + int(rng.integers(0, slot - length))
        out[start:start + length] = burst
    return 0.8 * out / np.abs(out).max()


def frames_for(labels, seed: int = 0, split: str = "test") -> np.ndarray:
    """A "video frame" for every sound: a handwritten digit whose class equals the sound's
    class (digit k goes with SOUND_CLASSES[k]). Digits come from the ``split`` ("train" or
    "test") half of sklearn's digits (the same split as ``digits_tensors``), so a vision
    teacher trained on the train half never saw the test frames. Returns (N, 8, 8) in [0, 1]."""
    x_train, y_train, x_test, y_test = digits_tensors(seed=0)
    images, classes = (x_test, y_test) if split == "test" else (x_train, y_train)
    rng = np.random.default_rng(check_int(seed, "seed", 0))
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(SOUND_CLASSES)):
        raise ValueError(f"labels must lie in [0, {len(SOUND_CLASSES) - 1}]")
    pools = {k: np.flatnonzero(classes.numpy() == k) for k in range(len(SOUND_CLASSES))}
    picks = [rng.choice(pools[int(k)]) for k in labels]
    return images[picks, 0].numpy()
