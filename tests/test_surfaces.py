"""3-D representations: SDFs against exact distances, marching cubes against skimage, mesh
sampling uniform by area, voxelization against a brute-force loop, and the argument checks."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy import stats
from scipy.spatial import cKDTree
from skimage import measure
from sklearn.metrics import jaccard_score

from course_utils.geometry3d import surfaces

pytestmark = pytest.mark.chapter("13_3d_vision")

coordinate = st.floats(-2.0, 2.0, allow_nan=False)
point = st.tuples(coordinate, coordinate, coordinate)
SHAPES = {
    "sphere": surfaces.Sphere(0.7, center=(0.1, -0.2, 0.05)),
    "box": surfaces.Box((0.6, 0.3, 0.4), center=(-0.1, 0.0, 0.2)),
    "torus": surfaces.Torus(0.6, 0.25, center=(0.0, 0.1, -0.1)),
    "union": surfaces.Union(surfaces.Sphere(0.4, center=(0.5, 0, 0)),
                            surfaces.Box((0.3, 0.3, 0.3), center=(-0.4, 0, 0))),
}


def torus_surface(major, minor, center, n=400):
    """Dense points of a torus from its parametrisation ((R + r cos v) cos u, ..., r sin v)."""
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 2 * n, endpoint=False),
                       np.linspace(0, 2 * np.pi, n, endpoint=False))
    ring = major + minor * np.cos(v)
    pts = np.stack([ring * np.cos(u), ring * np.sin(u), minor * np.sin(v)], -1).reshape(-1, 3)
    return pts + center


def box_surface(half, center, n=300):
    """Dense points on the six faces of a box."""
    faces = []
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        s, t = np.meshgrid(np.linspace(-1, 1, n), np.linspace(-1, 1, n))
        for sign in (-1, 1):
            face = np.zeros((s.size, 3))
            face[:, axis] = sign * half[axis]
            face[:, others[0]] = s.ravel() * half[others[0]]
            face[:, others[1]] = t.ravel() * half[others[1]]
            faces.append(face)
    return np.concatenate(faces) + center


# ----------------------------------------------------------------------------- SDFs
@given(point)
def test_sphere_sdf_is_the_distance_to_the_centre_minus_the_radius(p):
    sphere = surfaces.Sphere(0.8, center=(0.3, -0.1, 0.2))
    expected = np.sqrt(sum((a - b) ** 2 for a, b in zip(p, (0.3, -0.1, 0.2)))) - 0.8
    assert sphere(np.array([p]))[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("name", sorted(SHAPES))
@given(p=point, q=point)
def test_every_sdf_is_1_lipschitz(name, p, q):
    sdf = SHAPES[name]
    values = sdf(np.array([p, q]))
    assert abs(values[0] - values[1]) <= np.linalg.norm(np.subtract(p, q)) + 1e-12


def test_box_sdf_at_hand_computed_points():
    box = surfaces.Box((1.0, 0.5, 0.25))
    pts = np.array([[0, 0, 0], [2, 0, 0], [0, 0, -1], [2, 1.5, 0], [2, 1.5, 1.25],
                    [0.9, 0, 0], [1, 0.2, 0.1]])
    expected = [-0.25, 1.0, 0.75, np.sqrt(2), np.sqrt(3), -0.1, 0.0]
    np.testing.assert_allclose(box(pts), expected, atol=1e-12)


@pytest.mark.parametrize("name", ["box", "torus"])
def test_sdf_magnitude_is_the_distance_to_a_dense_surface_and_the_sign_says_inside(name):
    """|sdf| equals the nearest distance to densely sampled surface points (KD-tree); the
    sign is negative exactly for points inside (tested by the parametric definition)."""
    rng = np.random.default_rng(0)
    if name == "box":
        half, center = np.array([0.6, 0.3, 0.4]), np.array([-0.1, 0.0, 0.2])
        sdf, surface = surfaces.Box(half, center), box_surface(half, center)
        spacing = 2 * half.max() / 299
        inside = lambda p: np.all(np.abs(p - center) < half, axis=1)  # noqa: E731
    else:
        center = np.array([0.0, 0.1, -0.1])
        sdf, surface = surfaces.Torus(0.6, 0.25, center), torus_surface(0.6, 0.25, center)
        spacing = 2 * np.pi * 0.85 / 800
        inside = lambda p: (np.hypot(p[:, 0] - center[0], p[:, 1] - center[1]) - 0.6) ** 2 \
            + (p[:, 2] - center[2]) ** 2 < 0.25 ** 2  # noqa: E731
    pts = rng.uniform(-1.2, 1.2, size=(3000, 3))
    nearest, _ = cKDTree(surface).query(pts)
    values = sdf(pts)
    np.testing.assert_allclose(np.abs(values), nearest, atol=spacing)
    np.testing.assert_array_equal(values < 0, inside(pts))
    assert inside(pts).sum() > 50  # both signs were tested


def test_union_is_the_minimum_and_keeps_the_parameters():
    a, b = surfaces.Sphere(0.5, (0.4, 0, 0)), surfaces.Torus(0.6, 0.2)
    union = surfaces.Union(a, b)
    pts = np.random.default_rng(1).normal(size=(500, 3))
    np.testing.assert_array_equal(union(pts), np.minimum(a(pts), b(pts)))
    np.testing.assert_array_equal(union.parameters, np.r_[0.5, 0.4, 0, 0, 0.6, 0.2, 0, 0, 0])


def test_sdf_grid_holds_the_values_at_the_documented_nodes():
    plane = lambda p: p[:, 0] + 10 * p[:, 1] + 100 * p[:, 2]  # noqa: E731
    grid = surfaces.sdf_grid(plane, 5, 2.0)
    x = np.linspace(-2, 2, 5)
    for i, j, k in [(0, 0, 0), (1, 2, 3), (4, 0, 2), (3, 4, 1)]:
        assert grid[i, j, k] == pytest.approx(x[i] + 10 * x[j] + 100 * x[k])


# ----------------------------------------------------------------------------- marching cubes
def test_marching_cubes_of_a_sphere_against_skimage():
    r, bound, res = 0.7, 1.0, 48
    x = np.linspace(-bound, bound, res)
    h = x[1] - x[0]
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    grid = np.sqrt(X ** 2 + Y ** 2 + Z ** 2) - r
    ref_verts, ref_faces, _, _ = measure.marching_cubes(grid, 0.0, spacing=(h, h, h))
    ref_area = measure.mesh_surface_area(ref_verts, ref_faces)

    vertices, faces = surfaces.mesh_from_sdf(surfaces.sdf_grid(surfaces.Sphere(r), res, bound),
                                             bound)
    np.testing.assert_allclose(vertices, ref_verts - bound, atol=1e-12)
    np.testing.assert_array_equal(faces, ref_faces)
    assert surfaces.mesh_area(vertices, faces) == pytest.approx(ref_area, rel=1e-12)
    assert abs(ref_area / (4 * np.pi * r ** 2) - 1) < 0.01        # area within 1%
    assert np.abs(np.linalg.norm(vertices, axis=1) - r).max() < h  # within a voxel


def test_mesh_area_error_falls_as_the_resolution_grows():
    torus = surfaces.Torus(0.6, 0.25)
    errors = [abs(surfaces.mesh_area(*surfaces.mesh_from_sdf(
        surfaces.sdf_grid(torus, res, 1.0), 1.0)) / torus.area - 1) for res in (12, 24, 48)]
    assert errors[0] > 2 * errors[1] > 4 * errors[2]
    assert errors[2] < 0.005


# ----------------------------------------------------------------------------- sampling
TWO_TRIANGLES = (np.array([[0, 0, 0], [1, 0, 0], [0, 2, 0],       # area 1 at z = 0
                           [0, 0, 1], [3, 0, 1], [0, 2, 1.0]]),    # area 3 at z = 1
                 np.array([[0, 1, 2], [3, 4, 5]]))


def test_sample_mesh_splits_by_area_within_a_binomial_bound():
    n = 4000
    pts = surfaces.sample_mesh(*TWO_TRIANGLES, n, seed=3)
    on_big = int((pts[:, 2] == 1).sum())
    assert on_big + int((pts[:, 2] == 0).sum()) == n
    assert abs(on_big - 0.75 * n) < 4 * np.sqrt(n * 0.75 * 0.25)
    assert stats.binomtest(on_big, n, 0.75).pvalue > 1e-4


def test_sample_mesh_points_lie_on_the_triangles_uniformly():
    vertices, faces = TWO_TRIANGLES
    pts = surfaces.sample_mesh(vertices, faces, 4000, seed=4)
    small = pts[pts[:, 2] == 0]
    # barycentric coordinates on the triangle (0,0), (1,0), (0,2): u = x, v = y / 2
    u, v = small[:, 0], small[:, 1] / 2
    assert np.all(u >= 0) and np.all(v >= 0) and np.all(u + v <= 1 + 1e-12)
    # the four mid-edge sub-triangles hold a quarter each (chi-square)
    corner_a, corner_b, corner_c = u + v < 0.5, u > 0.5, v > 0.5
    middle = ~(corner_a | corner_b | corner_c)
    counts = [corner_a.sum(), corner_b.sum(), corner_c.sum(), middle.sum()]
    assert stats.chisquare(counts).pvalue > 1e-4


def test_sample_mesh_is_seeded():
    a = surfaces.sample_mesh(*TWO_TRIANGLES, 50, seed=7)
    np.testing.assert_array_equal(a, surfaces.sample_mesh(*TWO_TRIANGLES, 50, seed=7))
    assert not np.array_equal(a, surfaces.sample_mesh(*TWO_TRIANGLES, 50, seed=8))


# ----------------------------------------------------------------------------- voxels
def voxelize_loop(points, resolution, bound):
    """Brute force: each point marks the grid node nearest to it, if inside the cube."""
    axis = np.linspace(-bound, bound, resolution)
    h = axis[1] - axis[0]
    occ = np.zeros((resolution,) * 3, dtype=bool)
    for p in points:
        if np.any(np.abs(p) > bound + h / 2):
            continue
        occ[tuple(int(np.argmin(np.abs(axis - c))) for c in p)] = True
    return occ


@pytest.mark.parametrize("resolution,bound", [(2, 1.0), (5, 1.0), (8, 0.7)])
def test_voxelize_matches_the_loop(resolution, bound):
    pts = np.random.default_rng(resolution).uniform(-1.3 * bound, 1.3 * bound, size=(300, 3))
    np.testing.assert_array_equal(surfaces.voxelize(pts, resolution, bound),
                                  voxelize_loop(pts, resolution, bound))


def test_voxelized_surface_points_filled_give_the_inside():
    sphere, res = surfaces.Sphere(0.7), 24
    vertices, faces = surfaces.mesh_from_sdf(surfaces.sdf_grid(sphere, res, 1.0), 1.0)
    shell = surfaces.voxelize(surfaces.sample_mesh(vertices, faces, 20000, seed=0), res, 1.0)
    solid = surfaces.fill_interior(shell)
    inside = surfaces.sdf_grid(sphere, res, 1.0) <= 0
    assert solid.sum() > 2 * shell.sum()               # the fill added the inside
    assert surfaces.iou(solid, inside) > 0.75
    assert np.all(solid[inside])                       # nothing inside was missed


def test_sdf_from_voxels_is_within_half_a_voxel_of_the_true_sdf():
    sphere, res = surfaces.Sphere(0.6), 32
    grid = surfaces.sdf_grid(sphere, res, 1.0)
    back = surfaces.sdf_from_voxels(grid <= 0, 1.0)
    h = 2 / (res - 1)
    np.testing.assert_array_equal(back <= 0, grid <= 0)
    error = np.abs(back - grid)[np.abs(grid) < 0.3]
    assert error.max() < 0.6 * h and error.mean() < 0.3 * h


def test_iou_against_sklearn():
    rng = np.random.default_rng(2)
    a, b = rng.random((6, 6, 6)) < 0.4, rng.random((6, 6, 6)) < 0.5
    assert surfaces.iou(a, b) == pytest.approx(jaccard_score(a.ravel(), b.ravel()))


# ----------------------------------------------------------------------------- the table
def test_representation_table_measures_cubic_voxels_and_quadratic_meshes():
    rows = surfaces.representation_table(surfaces.Torus(0.6, 0.25), (12, 24, 48))
    res = [row["resolution"] for row in rows]
    assert surfaces.growth_exponent(res, [row["voxels"] for row in rows]) == pytest.approx(3)
    mesh = surfaces.growth_exponent(res, [row["mesh"] for row in rows])
    assert 1.8 < mesh < 2.3
    assert rows[-1]["voxels"] == 48 ** 3 and rows[-1]["sdf_grid"] == 8 * 48 ** 3
    assert all(row["sdf_closed"] == 5 * 8 for row in rows)
    for key in ("area_error", "vertex_distance", "point_distance", "volume_error"):
        assert rows[-1][key] < rows[0][key]


def test_growth_exponent_of_a_power_law():
    r = np.array([8, 16, 32, 64])
    assert surfaces.growth_exponent(r, 7 * r ** 2.5) == pytest.approx(2.5)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call,match", [
    (lambda: surfaces.Sphere(-1.0), "radius"),
    (lambda: surfaces.Sphere(1.0, center=(0, 0)), "center"),
    (lambda: surfaces.Box((1.0, 0.0, 1.0)), "half_sizes"),
    (lambda: surfaces.Torus(0.3, 0.5), "minor"),
    (lambda: surfaces.Torus(0.0, 0.5), "major"),
    (lambda: surfaces.Union(), "shapes"),
    (lambda: surfaces.Union(np.sum), "shapes"),
    (lambda: surfaces.Sphere()(np.zeros((4, 2))), r"points must have shape \(N, 3\)"),
    (lambda: surfaces.sdf_grid(np.zeros(3), 8, 1.0), "sdf must be callable"),
    (lambda: surfaces.sdf_grid(surfaces.Sphere(), 1, 1.0), "resolution"),
    (lambda: surfaces.sdf_grid(surfaces.Sphere(), 8, -1.0), "bound"),
    (lambda: surfaces.sdf_grid(lambda p: p, 8, 1.0), r"sdf must return shape \(N,\)"),
    (lambda: surfaces.mesh_from_sdf(np.ones((4, 4, 5)), 1.0), "grid must be a cube"),
    (lambda: surfaces.mesh_from_sdf(np.ones((4, 4, 4)), 1.0), "grid must change sign"),
    (lambda: surfaces.mesh_from_sdf(np.ones((4, 4)), 1.0), "grid must have 3 dimensions"),
    (lambda: surfaces.sample_mesh(TWO_TRIANGLES[0], TWO_TRIANGLES[1] + 5, 10), "faces must index"),
    (lambda: surfaces.sample_mesh(TWO_TRIANGLES[0], TWO_TRIANGLES[1] * 0.5, 10), "faces must"),
    (lambda: surfaces.sample_mesh(TWO_TRIANGLES[0][:, :2], TWO_TRIANGLES[1], 10), "vertices"),
    (lambda: surfaces.sample_mesh(*TWO_TRIANGLES, 0), "n must"),
    (lambda: surfaces.sample_mesh(*TWO_TRIANGLES, 5, seed=-1), "seed"),
    (lambda: surfaces.sample_mesh(np.zeros((3, 3)), np.array([[0, 1, 2]]), 5), "positive total"),
    (lambda: surfaces.voxelize(np.zeros((5, 3)), 1, 1.0), "resolution"),
    (lambda: surfaces.voxelize(np.zeros(5), 4, 1.0), "points"),
    (lambda: surfaces.fill_interior(np.zeros((4, 4, 4))), "occupancy"),
    (lambda: surfaces.sdf_from_voxels(np.ones((4, 4, 4), bool), 1.0), "both inside and outside"),
    (lambda: surfaces.sdf_from_voxels(np.zeros((4, 4, 3), bool), 1.0), "solid must be a cube"),
    (lambda: surfaces.iou(np.zeros(3, bool), np.zeros(4, bool)), "a and b"),
    (lambda: surfaces.iou(np.zeros(3, bool), np.zeros(3, bool)), "both be empty"),
    (lambda: surfaces.growth_exponent([1, 2], [1, 2, 3]), "resolutions and sizes"),
    (lambda: surfaces.representation_table(surfaces.Sphere(), (1,)), "resolution"),
    (lambda: surfaces.representation_table(surfaces.Union(surfaces.Sphere())), "exact area"),
])
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
