"""One 3-D shape held four ways (voxels, points, a mesh, a signed distance function) and the
conversions between them.

Conventions shared by every function here:
- points are ``(N, 3)`` arrays of world coordinates ``(x, y, z)``;
- a signed distance function (SDF) maps ``(N, 3)`` points to ``(N,)`` distances, negative
  inside the shape, zero on its surface, positive outside;
- a cube grid of resolution ``R`` and half-size ``bound`` has ``R`` nodes per axis at
  ``x_i = -bound + i h`` with spacing ``h = 2 bound / (R - 1)`` (``np.linspace(-bound, bound, R)``),
  and a grid array ``g[i, j, k]`` holds the value at ``(x_i, y_j, z_k)`` (``indexing="ij"``).
  A voxel is the cube of side ``h`` centred on a node.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import measure

from ..validate import as_float_array, check_int, check_positive

__all__ = ["Sphere", "Box", "Torus", "Union", "grid_axis", "grid_points", "sdf_grid",
           "mesh_from_sdf", "triangle_areas", "mesh_area", "sample_mesh", "voxelize",
           "fill_interior", "sdf_from_voxels", "iou", "representation_table",
           "growth_exponent"]


def _points(points, name: str = "points") -> np.ndarray:
    pts = as_float_array(points, name, ndim=2, allow_empty=True)
    if pts.shape[1] != 3:
        raise ValueError(f"{name} must have shape (N, 3), got {pts.shape}")
    return pts


def _vector3(value, name: str) -> np.ndarray:
    vec = as_float_array(value, name, ndim=1)
    if vec.shape != (3,) or not np.all(np.isfinite(vec)):
        raise ValueError(f"{name} must be 3 finite numbers, got {value!r}")
    return vec


# ----------------------------------------------------------------------------- closed forms
class Sphere:
    """SDF of a sphere: ``|p - center| - radius`` (exact)."""

    def __init__(self, radius: float = 1.0, center=(0.0, 0.0, 0.0)):
        self.radius = check_positive(radius, "radius")
        self.center = _vector3(center, "center")

    def __call__(self, points) -> np.ndarray:
        """points: (N, 3) -> signed distances (N,)."""
        return np.linalg.norm(_points(points) - self.center, axis=1) - self.radius

    @property
    def parameters(self) -> np.ndarray:
        """Everything the closed form stores: (4,) = radius, center."""
        return np.concatenate([[self.radius], self.center])

    @property
    def area(self) -> float:
        return 4 * np.pi * self.radius ** 2

    @property
    def volume(self) -> float:
        return 4 / 3 * np.pi * self.radius ** 3


class Box:
    """SDF of an axis-aligned box with half side lengths ``half_sizes`` (exact, also inside):
    with ``q = |p - center| - half_sizes``, ``|max(q, 0)| + min(max_k q_k, 0)``."""

    def __init__(self, half_sizes=(0.5, 0.5, 0.5), center=(0.0, 0.0, 0.0)):
        self.half_sizes = _vector3(half_sizes, "half_sizes")
        if np.any(self.half_sizes <= 0):
            raise ValueError(f"half_sizes must all be > 0, got {half_sizes!r}")
        self.center = _vector3(center, "center")

    def __call__(self, points) -> np.ndarray:
        """points: (N, 3) -> signed distances (N,)."""
        q = np.abs(_points(points) - self.center) - self.half_sizes
        outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
        inside = np.minimum(q.max(axis=1), 0.0)
        return outside + inside

    @property
    def parameters(self) -> np.ndarray:
        """(6,) = half_sizes, center."""
        return np.concatenate([self.half_sizes, self.center])

    @property
    def area(self) -> float:
        a, b, c = 2 * self.half_sizes
        return 2 * (a * b + b * c + c * a)

    @property
    def volume(self) -> float:
        return float(np.prod(2 * self.half_sizes))


class Torus:
    """SDF of a torus around the z axis through ``center``: the distance to the circle of
    radius ``major`` in the xy-plane, minus ``minor`` (exact)."""

    def __init__(self, major: float = 0.6, minor: float = 0.25, center=(0.0, 0.0, 0.0)):
        self.major = check_positive(major, "major")
        self.minor = check_positive(minor, "minor")
        if self.minor >= self.major:
            raise ValueError(f"minor must be < major ({self.major}), got {minor!r}")
        self.center = _vector3(center, "center")

    def __call__(self, points) -> np.ndarray:
        """points: (N, 3) -> signed distances (N,)."""
        p = _points(points) - self.center
        ring = np.hypot(p[:, 0], p[:, 1]) - self.major
        return np.hypot(ring, p[:, 2]) - self.minor

    @property
    def parameters(self) -> np.ndarray:
        """(5,) = major, minor, center."""
        return np.concatenate([[self.major, self.minor], self.center])

    @property
    def area(self) -> float:
        return 4 * np.pi ** 2 * self.major * self.minor

    @property
    def volume(self) -> float:
        return 2 * np.pi ** 2 * self.major * self.minor ** 2


class Union:
    """The union of shapes: the minimum of their SDFs (exact outside; inside, where parts
    overlap, a lower bound on the distance to the surface)."""

    def __init__(self, *shapes):
        if not shapes or not all(callable(s) and hasattr(s, "parameters") for s in shapes):
            raise TypeError("shapes must be one or more Sphere / Box / Torus / Union objects")
        self.shapes = shapes

    def __call__(self, points) -> np.ndarray:
        """points: (N, 3) -> signed distances (N,)."""
        pts = _points(points)
        return np.min([shape(pts) for shape in self.shapes], axis=0)

    @property
    def parameters(self) -> np.ndarray:
        return np.concatenate([shape.parameters for shape in self.shapes])


# ----------------------------------------------------------------------------- grids
def grid_axis(resolution: int, bound: float) -> np.ndarray:
    """The node coordinates along one axis: (R,) = ``linspace(-bound, bound, R)``."""
    resolution = check_int(resolution, "resolution", 2)
    bound = check_positive(bound, "bound")
    return np.linspace(-bound, bound, resolution)


def grid_points(resolution: int, bound: float) -> np.ndarray:
    """All nodes of the cube grid as points: (R**3, 3), in the order of ``grid.ravel()``."""
    axis = grid_axis(resolution, bound)
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)


def sdf_grid(sdf, resolution: int, bound: float) -> np.ndarray:
    """Sample ``sdf`` on the cube grid: (R, R, R), ``g[i, j, k] = sdf((x_i, y_j, z_k))``."""
    if not callable(sdf):
        raise TypeError(f"sdf must be callable on (N, 3) points, got {type(sdf).__name__}")
    pts = grid_points(resolution, bound)
    values = np.asarray(sdf(pts), dtype=np.float64)
    if values.shape != (len(pts),):
        raise ValueError(f"sdf must return shape (N,) for (N, 3) points, got {values.shape}")
    return values.reshape((resolution,) * 3)


def _grid(grid, name: str = "grid") -> np.ndarray:
    arr = as_float_array(grid, name, ndim=3)
    if len(set(arr.shape)) != 1 or arr.shape[0] < 2:
        raise ValueError(f"{name} must be a cube (R, R, R) with R >= 2, got shape {arr.shape}")
    return arr


# ----------------------------------------------------------------------------- conversions
def mesh_from_sdf(grid, bound: float) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes at level 0 of an SDF grid (from ``sdf_grid``).

    Returns ``vertices (V, 3)`` in world coordinates (float64) and ``faces (F, 3)`` (int32
    indices into vertices), as ``skimage.measure.marching_cubes`` gives them.
    """
    grid = _grid(grid)
    bound = check_positive(bound, "bound")
    if not (grid.min() < 0 < grid.max()):
        raise ValueError("grid must change sign (the surface must cross the grid)")
    h = 2 * bound / (grid.shape[0] - 1)
    vertices, faces, _, _ = measure.marching_cubes(grid, level=0.0, spacing=(h, h, h))
    return vertices - bound, faces


def _mesh(vertices, faces) -> tuple[np.ndarray, np.ndarray]:
    verts = _points(vertices, "vertices")
    tris = np.asarray(faces)
    if tris.ndim != 2 or tris.shape[1] != 3 or len(tris) == 0 \
            or not np.issubdtype(tris.dtype, np.integer):
        raise ValueError(f"faces must be a non-empty integer array of shape (F, 3), "
                         f"got {tris.dtype} {tris.shape}")
    if tris.min() < 0 or tris.max() >= len(verts):
        raise ValueError(f"faces must index vertices (0..{len(verts) - 1})")
    return verts, tris


def triangle_areas(vertices, faces) -> np.ndarray:
    """Area of each triangle: (F,) = |(b - a) x (c - a)| / 2."""
    verts, tris = _mesh(vertices, faces)
    a, b, c = verts[tris[:, 0]], verts[tris[:, 1]], verts[tris[:, 2]]
    return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)


def mesh_area(vertices, faces) -> float:
    """Total surface area of a triangle mesh."""
    return float(triangle_areas(vertices, faces).sum())


def sample_mesh(vertices, faces, n: int, seed: int = 0) -> np.ndarray:
    """``n`` points uniformly distributed over the mesh's surface: (n, 3).

    A triangle is chosen with probability proportional to its area; within it, barycentric
    weights ``(u, v)`` uniform on the unit square are folded into the triangle
    (``u + v > 1 -> (1 - u, 1 - v)``), which keeps them uniform: ``a + u (b - a) + v (c - a)``.
    """
    verts, tris = _mesh(vertices, faces)
    n = check_int(n, "n", 1)
    seed = check_int(seed, "seed", 0)
    areas = triangle_areas(verts, tris)
    if areas.sum() <= 0:
        raise ValueError("faces must have a positive total area")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(tris), size=n, p=areas / areas.sum())
    u, v = rng.random(n), rng.random(n)
    fold = u + v > 1
    u[fold], v[fold] = 1 - u[fold], 1 - v[fold]
    a, b, c = (verts[tris[chosen, k]] for k in range(3))
    return a + u[:, None] * (b - a) + v[:, None] * (c - a)


def voxelize(points, resolution: int, bound: float) -> np.ndarray:
    """Occupancy of the cube grid: (R, R, R) bool, True at every node whose voxel (the cube of
    side h around it) holds at least one point. Points outside the cube are ignored."""
    pts = _points(points)
    axis = grid_axis(resolution, bound)
    h = axis[1] - axis[0]
    index = np.rint((pts + bound) / h).astype(np.int64)
    index = index[np.all((index >= 0) & (index < resolution), axis=1)]
    occupancy = np.zeros((resolution,) * 3, dtype=bool)
    occupancy[index[:, 0], index[:, 1], index[:, 2]] = True
    return occupancy


def fill_interior(occupancy) -> np.ndarray:
    """A closed shell of voxels with its inside filled: (R, R, R) bool
    (``scipy.ndimage.binary_fill_holes``: what the outside cannot reach is inside)."""
    occ = np.asarray(occupancy)
    if occ.ndim != 3 or occ.dtype != bool:
        raise ValueError(f"occupancy must be a 3-D bool array, got {occ.dtype} {occ.shape}")
    return ndimage.binary_fill_holes(occ)


def sdf_from_voxels(solid, bound: float) -> np.ndarray:
    """Back from voxels to an SDF grid: (R, R, R) float, the Euclidean distance transform of
    the outside minus that of the inside, in world units (off by up to about half a voxel
    near the surface)."""
    occ = np.asarray(solid)
    if occ.ndim != 3 or occ.dtype != bool or len(set(occ.shape)) != 1:
        raise ValueError(f"solid must be a cube (R, R, R) bool array, got {occ.dtype} {occ.shape}")
    if occ.all() or not occ.any():
        raise ValueError("solid must have both inside and outside voxels")
    h = 2 * check_positive(bound, "bound") / (occ.shape[0] - 1)
    outside = ndimage.distance_transform_edt(~occ)   # > 0 outside: distance to the nearest inside
    inside = ndimage.distance_transform_edt(occ)     # > 0 inside: distance to the nearest outside
    # the surface lies half a voxel between an inside node and its outside neighbour
    return h * (np.where(occ, 0.5 - inside, outside - 0.5))


def iou(a, b) -> float:
    """Intersection over union of two bool arrays of the same shape."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != bool or b.dtype != bool or a.shape != b.shape:
        raise ValueError(f"a and b must be bool arrays of one shape, got {a.shape}, {b.shape}")
    union = np.logical_or(a, b).sum()
    if union == 0:
        raise ValueError("a and b must not both be empty")
    return float(np.logical_and(a, b).sum() / union)


# ----------------------------------------------------------------------------- measurements
def representation_table(shape, resolutions=(16, 32, 64, 128), bound: float = 1.0,
                         seed: int = 0) -> list[dict]:
    """Memory and accuracy of each representation of ``shape`` as the resolution grows.

    For each ``R``: the bytes (``.nbytes``) of the dense voxel grid (bool, R**3), of as many
    surface points as the mesh has vertices (float64), of the marching-cubes mesh (vertices
    + faces), of the SDF grid (float64, R**3) and of the closed form (its parameters); and
    ``area_error`` (relative error of the mesh's area), ``vertex_distance`` (mean |sdf| of the
    mesh's vertices, world units), ``point_distance`` (mean |sdf| of the sampled points) and
    ``volume_error`` (relative error of the inside voxels' volume). Needs ``shape.area`` and
    ``shape.volume``.
    """
    if not all(hasattr(shape, attr) for attr in ("area", "volume", "parameters")):
        raise TypeError(f"shape must have an exact area and volume (a Sphere, Box or Torus), "
                        f"got {type(shape).__name__}")
    bound = check_positive(bound, "bound")
    rows = []
    for resolution in resolutions:
        resolution = check_int(resolution, "resolution", 2)
        grid = sdf_grid(shape, resolution, bound)
        vertices, faces = mesh_from_sdf(grid, bound)
        points = sample_mesh(vertices, faces, len(vertices), seed=seed)
        solid = grid <= 0
        h = 2 * bound / (resolution - 1)
        rows.append({
            "resolution": resolution,
            "voxels": solid.nbytes,
            "points": points.nbytes,
            "mesh": vertices.nbytes + faces.nbytes,
            "sdf_grid": grid.nbytes,
            "sdf_closed": shape.parameters.nbytes,
            "vertices": len(vertices),
            "faces": len(faces),
            "area_error": abs(mesh_area(vertices, faces) / shape.area - 1),
            "vertex_distance": float(np.abs(shape(vertices)).mean()),
            "point_distance": float(np.abs(shape(points)).mean()),
            "volume_error": abs(solid.sum() * h ** 3 / shape.volume - 1),
        })
    return rows


def growth_exponent(resolutions, sizes) -> float:
    """Slope of log(size) against log(resolution) (least squares): 3 for R**3, 2 for R**2."""
    r = as_float_array(resolutions, "resolutions", ndim=1)
    s = as_float_array(sizes, "sizes", ndim=1)
    if len(r) != len(s) or len(r) < 2 or np.any(r <= 0) or np.any(s <= 0):
        raise ValueError("resolutions and sizes must be two positive sequences of one length >= 2")
    return float(np.polyfit(np.log(r), np.log(s), 1)[0])
