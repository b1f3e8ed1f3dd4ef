"""Tests for course_utils.sound.audiovisual and the generated sounds: the distillation loss, the
trainers and the sound CNN, ideal masks and a short separation run."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.metrics import accuracy
from course_utils.sound import audio, audiovisual
from course_utils.sound.sounds import (SOUND_CLASSES, frames_for, make_sound, sound_dataset,
                                       speech_like)
from course_utils.train import predict

pytestmark = pytest.mark.chapter("11_sound")


def test_distillation_loss_is_the_kl_divergence():
    g = torch.Generator().manual_seed(0)
    logits, teacher = torch.randn(4, 3, generator=g), torch.softmax(torch.randn(4, 3, generator=g), 1)
    q = torch.softmax(logits, 1)
    expected = (teacher * (teacher.log() - q.log())).sum(1).mean()
    torch.testing.assert_close(audiovisual.distillation_loss(logits, teacher), expected)
    torch.testing.assert_close(audiovisual.distillation_loss(teacher.log() * 2, teacher, temperature=2.0),
                               torch.tensor(0.0), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="teacher_probs"):
        audiovisual.distillation_loss(logits, teacher[:, :2])


def test_ideal_masks():
    a = torch.tensor([[3.0, 1.0]], dtype=torch.complex64)
    b = torch.tensor([[1.0, 3.0]], dtype=torch.complex64)
    ratio, binary = audiovisual.ideal_masks(a, b)
    torch.testing.assert_close(ratio, torch.tensor([[0.75, 0.25]]))
    torch.testing.assert_close(binary, torch.tensor([[1.0, 0.0]]))


def test_sounds_are_seeded_and_frames_match_their_class():
    x1, y1 = sound_dataset(20, seed=3)
    x2, y2 = sound_dataset(20, seed=3)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2) and x1.shape == (20, 4000)
    frames = frames_for(np.arange(len(SOUND_CLASSES)), seed=0)
    from course_utils.data.digits import digits_tensors

    _, _, x_test, y_test = digits_tensors(seed=0)
    for k, frame in enumerate(frames):   # each frame is a test digit of class k
        matches = (x_test[:, 0].numpy() == frame).all(axis=(1, 2))
        assert matches.any() and set(y_test[matches].tolist()) == {k}
    with pytest.raises(ValueError, match="labels"):
        frames_for([8])
    speech = speech_like(0)
    assert np.mean(speech == 0) > 0.2       # pauses


def test_rising_and_falling_chirps_move_in_frequency():
    rng = np.random.default_rng(0)
    for kind, sign in ((SOUND_CLASSES.index("rising chirp"), 1), (SOUND_CLASSES.index("falling chirp"), -1)):
        magnitude = audio.stft(torch.tensor(make_sound(kind, rng)), 256, 64).abs()
        peaks = magnitude.argmax(0)[5:-5].double()
        assert sign * (peaks[-5:].mean() - peaks[:5].mean()) > 10


def test_students_and_separator_learn(one_torch_thread):
    from course_utils.networks import SmallCNN

    waves, labels = sound_dataset(400, seed=0)
    specs = audio.log_mel_spectrogram(torch.tensor(waves))[:, None]
    y = torch.tensor(labels)
    torch.manual_seed(0)
    model = SmallCNN(1, 32, len(SOUND_CLASSES))
    soft = F.one_hot(y, len(SOUND_CLASSES)).float() * 0.9 + 0.1 / len(SOUND_CLASSES)
    losses = audiovisual.train_on_targets(model, specs, soft, steps=60)
    assert np.mean(losses[-5:]) < 0.5 * losses[0]
    spectra = audio.stft(torch.tensor(waves), 256, 128)
    torch.manual_seed(0)
    separator = audiovisual.MaskNet(129, len(SOUND_CLASSES), hidden=64)
    losses = audiovisual.train_separator(separator, spectra, y, F.one_hot(y, 8).float(), steps=80)
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10])
    first, second = torch.tensor(waves[:20]), torch.tensor(waves[20:40])
    keep = y[:20] != y[20:40]
    estimate = audiovisual.separate(separator, (first + second)[keep], F.one_hot(y[:20][keep], 8).float(), 256, 128)
    assert audio.si_sdr(estimate, first[keep]).mean() > audio.si_sdr((first + second)[keep], first[keep]).mean()
    with pytest.raises(ValueError, match="same length"):
        audiovisual.train_on_targets(model, specs, y[:3])


def test_sound_cnn_learns_labels_and_a_teachers_classes(one_torch_thread):
    waves, labels = sound_dataset(400, seed=0)
    test_waves, test_labels = sound_dataset(200, seed=1)
    specs = audio.log_mel_spectrogram(torch.tensor(waves))[:, None]
    test_specs = audio.log_mel_spectrogram(torch.tensor(test_waves))[:, None]
    y, y_test = torch.tensor(labels), torch.tensor(test_labels)
    model = audiovisual.train_sound_cnn(specs, y, len(SOUND_CLASSES), steps=100)
    assert not model.training
    assert accuracy(predict(model, test_specs), y_test) > 0.9
    # a teacher whose classes are a permutation of the labels: the student learns the teacher's
    # classes (soft targets), not the sounds' own labels
    permutation = torch.tensor([3, 0, 6, 1, 7, 2, 5, 4])
    teacher = F.one_hot(permutation[y], len(SOUND_CLASSES)).float() * 0.9 + 0.1 / len(SOUND_CLASSES)
    student = audiovisual.train_sound_cnn(specs, teacher, len(SOUND_CLASSES), steps=100, seed=1)
    assert accuracy(predict(student, test_specs), permutation[y_test]) > 0.9
    with pytest.raises(ValueError, match="inputs must be"):
        audiovisual.train_sound_cnn(specs[:, 0], y, len(SOUND_CLASSES))
    with pytest.raises(ValueError, match="classes"):
        audiovisual.train_sound_cnn(specs, y, 1)
