"""Chapter 13 representation figures: each panel is checked on the data it draws, against
closed forms and skimage computed here."""
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from skimage import measure

from course_utils.geometry3d import surfaces
from course_utils.geometry3d import figures_surfaces as demos

pytestmark = pytest.mark.chapter("13_3d_vision")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def torus_sdf(x, y, z, major=0.6, minor=0.25, center=(0, 0, 0)):
    x, y, z = x - center[0], y - center[1], z - center[2]
    return np.hypot(np.hypot(x, y) - major, z) - minor


def skimage_torus_mesh(resolution, bound=1.0, **torus):
    x = np.linspace(-bound, bound, resolution)
    grid = torus_sdf(*np.meshgrid(x, x, x, indexing="ij"), **torus)
    h = x[1] - x[0]
    return measure.marching_cubes(grid, 0.0, spacing=(h, h, h))[:2], grid


def test_show_representations_draws_points_voxels_mesh_and_slice_of_the_shape():
    res, torus = 12, dict(major=0.55, minor=0.2, center=(0.15, -0.1, 0.05))  # no symmetry
    fig = demos.show_representations(surfaces.Torus(**torus), resolution=res, n_points=400,
                                     seed=1)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) >= 4
    (ref_verts, ref_faces), grid = skimage_torus_mesh(res, **torus)
    h = 2 / (res - 1)

    xs, ys, zs = fig.axes[0].collections[0]._offsets3d
    assert len(xs) == 400
    assert np.abs(torus_sdf(np.asarray(xs), np.asarray(ys), np.asarray(zs), **torus)).max() < h

    filled = int((grid <= 0).sum())
    assert f"{filled} of {res}^3" in fig.axes[1].get_title()
    assert 0 < len(fig.axes[1].collections) <= filled  # one polygon set per visible voxel

    fig.canvas.draw()                            # 3-D polygons are projected at draw time
    mesh = fig.axes[2].collections[0]
    assert len(mesh.get_paths()) == len(ref_faces)
    assert f"{len(ref_verts)} vertices, {len(ref_faces)} faces" in fig.axes[2].get_title()

    image = np.asarray(fig.axes[3].get_images()[0].get_array(), dtype=float)
    x = np.linspace(-1, 1, res)
    X, Y = np.meshgrid(x, x)                     # rows: y, columns: x
    np.testing.assert_allclose(image, torus_sdf(X, Y, x[res // 2], **torus), atol=1e-12)


def test_show_memory_plots_the_table_rows():
    rows = surfaces.representation_table(surfaces.Torus(0.6, 0.25), (8, 16, 24))
    fig = demos.show_memory(rows)
    memory, errors = fig.axes[0].get_lines(), fig.axes[1].get_lines()
    assert len(memory) == len(demos.MEMORY_KEYS) and len(errors) == len(demos.ERROR_KEYS)
    np.testing.assert_array_equal(memory[0].get_xdata(), [8, 16, 24])
    np.testing.assert_array_equal(memory[0].get_ydata(), [8 ** 3, 16 ** 3, 24 ** 3])
    np.testing.assert_array_equal(memory[3].get_ydata(), [8 * 8 ** 3, 8 * 16 ** 3, 8 * 24 ** 3])
    mesh_bytes = []
    for res in (8, 16, 24):
        (verts, faces), _ = skimage_torus_mesh(res)
        mesh_bytes.append(verts.nbytes + faces.nbytes)
    np.testing.assert_array_equal(memory[2].get_ydata(), mesh_bytes)
    np.testing.assert_array_equal(errors[0].get_ydata(), [r["area_error"] for r in rows])
    with pytest.raises(ValueError, match="rows"):
        demos.show_memory([])


@pytest.mark.parametrize("resolution", [8, 20])
def test_show_resolution_draws_the_mesh_and_samples_of_that_resolution(resolution):
    fig = demos.show_resolution(resolution)
    (ref_verts, ref_faces), _ = skimage_torus_mesh(resolution)
    fig.canvas.draw()
    assert len(fig.axes[0].collections[0].get_paths()) == len(ref_faces)
    area = measure.mesh_surface_area(ref_verts, ref_faces)
    error = area / (4 * np.pi ** 2 * 0.6 * 0.25) - 1
    assert f"area error {100 * error:+.2f}%" in fig.axes[0].get_title()
    samples = fig.axes[1].get_lines()[0]
    assert len(samples.get_xdata()) == resolution ** 2
    image = np.asarray(fig.axes[1].get_images()[0].get_array())
    assert image.shape == (resolution, resolution)


@pytest.mark.parametrize("call,match", [
    (lambda: demos.show_resolution(2), "resolution"),
    (lambda: demos.show_representations(resolution=10, bound=0.0), "bound"),
])
def test_demo_arguments_are_checked(call, match):
    with pytest.raises(ValueError, match=match):
        call()
