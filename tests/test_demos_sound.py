"""Chapter 11 figures and players: what each panel shows."""
from functools import partial

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from course_utils.sound import audio, audiovisual  # noqa: E402
from course_utils.sound import figures as demos  # noqa: E402

pytestmark = pytest.mark.chapter("11_sound")


def test_spectrogram_panels_show_log_magnitude():
    wave = np.sin(np.arange(4000) * 0.5)
    fig = demos.show_tradeoff(wave, n_fft=128, hop=32)
    shown = np.asarray(fig.axes[0].images[0].get_array())
    expected = np.log(audio.stft(torch.tensor(wave), 128, 32).abs().numpy() + 1e-6)
    np.testing.assert_allclose(shown, expected, rtol=1e-6)
    assert "window 128 samples" in fig.axes[0].get_title()
    plt.close(fig)
    fig = demos.show_sounds([wave, wave], ["a", "b"])
    assert len(fig.axes) == 4 and fig.axes[0].get_title() == "a"
    plt.close(fig)
    fig = demos.show_spectrum_lines(np.arange(3), {"x": [1, 2, 3]})
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [1, 2, 3])
    plt.close(fig)


def test_mix_and_denoise_widgets(capsys):
    rng = np.random.default_rng(0)
    first, second = np.sin(np.arange(4000) * 0.3), rng.standard_normal(4000) * 0.3

    def identity_separator(mixture, condition):     # returns the mixture: no separation
        return mixture

    fig = demos.show_mix(identity_separator, first, second, torch.zeros(8), ratio=2.0)
    titles = [ax.get_title() for ax in fig.axes]
    mixture = torch.tensor(first + 2.0 * second)
    value = audio.si_sdr(mixture, torch.tensor(first)).item()
    assert titles[0] == f"mixture ({value:.1f} dB)" and titles[1] == f"predicted mask ({value:.1f} dB)"
    plt.close(fig)
    from course_utils.sound.sounds import speech_like

    fig = demos.show_denoising(speech_like(0), noise_level=0.1)
    assert "denoised (SNR" in fig.axes[2].get_title()
    plt.close(fig)
    player = demos.play(first)
    assert "<audio" in player._repr_html_() and player.data[:4] == b"RIFF"   # a WAV file


def test_mix_widget_with_the_separator_bound_as_in_the_notebook(capsys):
    class KeepAll(torch.nn.Module):                  # a mask of ones: the estimate is the mixture
        def forward(self, log_mixture, condition):
            return torch.ones_like(log_mixture)

    rng = np.random.default_rng(1)
    first, second = np.sin(np.arange(4000) * 0.2), rng.standard_normal(4000) * 0.2
    separator_call = partial(audiovisual.separate, KeepAll(), n_fft=256, hop=128)
    fig = demos.show_mix(separator_call, first, second, torch.zeros(8), ratio=1.5)
    value = audio.si_sdr(torch.tensor(first + 1.5 * second), torch.tensor(first)).item()
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == f"mixture ({value:.1f} dB)" and titles[1] == f"predicted mask ({value:.1f} dB)"
    plt.close(fig)
