"""Chapter 02 figures: every show_* returns a Figure that changes with its parameters."""
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_utils.frequency import fourier
from course_utils.data import patterns
from course_utils.data.images import face_pair
from course_utils.frequency import figures as demos

pytestmark = pytest.mark.chapter("02_fourier")

Figure = matplotlib.figure.Figure


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def image_data(fig, index=0):
    """Pixel data of the index-th image drawn in ``fig`` (over all axes)."""
    images = [im for ax in fig.axes for im in ax.get_images()]
    return np.asarray(images[index].get_array(), dtype=float)


def line_data(fig, ax_index=0, line_index=0):
    return np.asarray(fig.axes[ax_index].get_lines()[line_index].get_ydata(), dtype=float)


def titles(fig):
    return " | ".join(ax.get_title() for ax in fig.axes)


def test_face_pair_is_two_aligned_grey_squares():
    astronaut, cat = face_pair(64)
    assert astronaut.shape == cat.shape == (64, 64)
    assert 0 <= astronaut.min() and cat.max() <= 1
    assert abs(np.corrcoef(astronaut.ravel(), cat.ravel())[0, 1]) < 0.9  # different images
    astronaut[:] = 0  # callers get copies: the cached images stay intact
    assert face_pair(64)[0].max() > 0.5


@pytest.mark.parametrize("amplitude,frequency,phase", [(1.0, 2.0, 0.0), (2.0, 1.5, 0.8),
                                                       (0.5, 3.0, -2.0)])
def test_show_sinusoid_plots_its_parameters(amplitude, frequency, phase):
    fig = demos.show_sinusoid(amplitude, frequency, phase)
    line = fig.axes[0].get_lines()[1]
    t, g = np.asarray(line.get_xdata()), line_data(fig, 0, 1)
    np.testing.assert_allclose(g, amplitude * np.cos(2 * np.pi * frequency * t + phase),
                               atol=1e-12)
    np.testing.assert_allclose(line_data(fig, 0, 0), np.cos(2 * np.pi * t), atol=1e-12)


@pytest.mark.parametrize("angle,cycles", [(0, 4), (30, 8), (90, 6), (150, 10)])
def test_show_grating_plots_the_grating_and_circles_its_spots(angle, cycles):
    from course_utils.data.patterns import grating

    fig = demos.show_grating(angle=angle, cycles=cycles, size=64)
    g = grating(64, cycles / 64, angle)
    np.testing.assert_allclose(image_data(fig, 0), g)
    spectrum = image_data(fig, 1)
    np.testing.assert_allclose(spectrum, np.abs(np.fft.fftshift(np.fft.fft2(g - g.mean()))))
    # the circles sit on the two brightest pixels of the displayed spectrum
    brightest = np.argwhere(spectrum > 0.5 * spectrum.max())
    centres = [c.center for c in fig.axes[1].patches]
    assert len(centres) == 2
    for x, y in centres:
        assert np.min(np.hypot(brightest[:, 1] - x, brightest[:, 0] - y)) < 1.5


def test_show_spectrum_slopes_labels_each_fitted_slope():
    rng = np.random.default_rng(0)
    images = {"noise": rng.random((64, 64)), "blurred": fourier.gaussian_blur_fft(rng.random((64, 64)), 2.0)}
    fig = demos.show_spectrum_slopes(images)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    for label, (name, image) in zip(labels, images.items()):
        assert label == f"{name}: slope {fourier.spectrum_slope(image):.2f}"
    f, amplitude = fourier.radial_amplitude(images["noise"], window=True)
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), amplitude / amplitude[0])


def test_show_winding_centre_moves_with_frequency():
    fig = demos.show_winding(1.0)
    wound = [line for ax in fig.axes for line in ax.get_lines()
             if len(line.get_xdata()) == demos.WIND_T.size]
    points, _ = fourier.winding(demos.WIND_SIGNAL, demos.WIND_T, 1.0)
    assert any(np.allclose(line.get_xdata(), points.real) and np.allclose(line.get_ydata(), points.imag)
               for line in wound)
    centre = fourier.winding_centres(demos.WIND_SIGNAL, demos.WIND_T, [3.0])[0]
    assert abs(centre) == pytest.approx(0.5, abs=1e-9)  # half the cosine's amplitude
    assert np.angle(centre) == pytest.approx(0.6, abs=1e-9)  # its phase
    assert abs(fourier.winding_centres(demos.WIND_SIGNAL, demos.WIND_T, [0.0])[0]) == pytest.approx(1.0, abs=1e-9)  # the constant
    a, b = demos.show_winding(1.0), demos.show_winding(3.0)
    assert not np.allclose(line_data(a), line_data(b))
    assert "3.00" in titles(b)


def test_show_dft_and_ft_pairs():
    x = fourier.sinusoid(np.arange(16), 1.0, 3 / 16)
    fig = demos.show_dft(x)
    stem_heights = fig.axes[1].containers[0].markerline.get_ydata()
    np.testing.assert_allclose(stem_heights, np.abs(np.fft.fft(x)), atol=1e-9)
    np.testing.assert_allclose(line_data(fig, 0, 0), x)
    a, b = demos.show_ft_pairs(1.0, 0.5), demos.show_ft_pairs(2.0, 1.0)
    assert isinstance(a, Figure) and titles(a) != titles(b)
    errors = [float(t.split("max error ")[1].rstrip(")")) for t in titles(a).split(" | ")
              if "max error" in t]
    assert errors[0] < 0.02 and errors[1] < 1e-10  # box (Riemann sum) and Gaussian


def test_spectrum_gratings_swap_and_circular():
    rng = np.random.default_rng(0)
    image = rng.random((32, 32))
    fig = demos.show_spectrum(image)
    assert isinstance(fig, Figure)
    np.testing.assert_allclose(image_data(fig, 1), fourier.spectrum(image)[0])
    a = demos.show_gratings([(4, 0), (8, 90)], size=32)
    b = demos.show_gratings([(4, 30), (8, 90)], size=32)
    assert not np.allclose(image_data(a, 0), image_data(b, 0))
    other = rng.random((32, 32))
    fig = demos.show_swap(image, other)
    swapped = np.abs(np.fft.fft2(image)) * np.exp(1j * np.angle(np.fft.fft2(other)))
    np.testing.assert_allclose(image_data(fig, 2), np.fft.ifft2(swapped).real, atol=1e-12)
    fig = demos.show_circular_vs_linear(image, np.ones((5, 5)) / 25)
    difference = image_data(fig, 2)
    assert np.abs(difference[4:, 4:]).max() < 1e-12 and np.abs(difference[:4]).max() > 1e-3


def test_show_cutoff_and_ringing_respond_to_cutoff():
    image = np.random.default_rng(1).random((48, 48))
    a, b = demos.show_cutoff(0.05, image), demos.show_cutoff(0.2, image)
    assert isinstance(a, Figure)
    assert not np.allclose(image_data(a, 1), image_data(b, 1))
    a, b = demos.show_ringing(0.05, 64), demos.show_ringing(0.2, 64)
    assert not np.allclose(line_data(a, 0, 1), line_data(b, 0, 1))


def test_show_hybrid_responds_to_both_sigmas():
    base = demos.show_hybrid(6.0, 3.0)
    assert isinstance(base, Figure)
    assert len(base.axes) == 3 + 4  # three panels, four viewing distances
    low = demos.show_hybrid(10.0, 3.0)
    high = demos.show_hybrid(6.0, 1.0)
    assert not np.allclose(image_data(base, 0), image_data(low, 0))
    assert not np.allclose(image_data(base, 1), image_data(high, 1))


def test_show_compression_responds_to_fraction():
    image = np.random.default_rng(2).random((32, 32))
    a, b = demos.show_compression(0.01, image), demos.show_compression(0.3, image)
    assert isinstance(a, Figure)
    assert not np.allclose(image_data(a, 0), image_data(b, 0))
    curve = fourier.compression_psnr(image, [0.01, 0.1, 1.0])
    assert curve[0] < curve[1] and curve[2] > 200  # all kept: round-off only


def test_show_campbell_robson():
    fig = demos.show_campbell_robson((32, 64))
    np.testing.assert_array_equal(image_data(fig), patterns.campbell_robson((32, 64)))


@pytest.mark.parametrize("call,error,match", [
    (lambda: demos.show_sinusoid(phase="0"), TypeError, "phase"),
    (lambda: demos.show_dft(np.ones((2, 2))), ValueError, "signal must have 1"),
    (lambda: demos.show_ft_pairs(width=0), ValueError, "width"),
    (lambda: demos.show_ft_pairs(sigma=-1), ValueError, "sigma"),
    (lambda: demos.show_gratings("ab"), ValueError, "settings"),
    (lambda: demos.show_gratings([]), ValueError, "settings"),
    (lambda: demos.show_grating(angle="up"), TypeError, "angle"),
    (lambda: demos.show_grating(cycles=0), ValueError, "cycles"),
    (lambda: demos.show_grating(size=1), ValueError, "size"),
    (lambda: demos.show_spectrum_slopes([np.ones((8, 8))]), TypeError, "images"),
    (lambda: demos.show_cutoff(image=np.ones(8)), ValueError, "image must have 2"),
    (lambda: demos.show_circular_vs_linear(np.ones((8, 8)), np.ones(3)), ValueError, "kernel"),
    (lambda: demos.show_hybrid(sigma_low=-1), ValueError, "sigma_low"),
    (lambda: demos.show_hybrid(sigma_high="a"), TypeError, "sigma_high"),
    (lambda: demos.show_compression(image="x"), TypeError, "image"),
    (lambda: demos.show_crossover([1, 2]), TypeError, "rows"),
    (lambda: face_pair(4), ValueError, "size"),
    (lambda: fourier.winding_centres(np.ones(4), np.arange(4.0), "ab"), TypeError, "frequencies"),
    (lambda: fourier.compression_psnr(np.ones((4, 4)), 0.5), ValueError, "fractions must have 1"),
])
def test_bad_input_names_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
