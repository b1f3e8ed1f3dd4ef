"""Figures for chapter 13's 3-D representations: one shape as points, voxels, a mesh and an
SDF; memory and accuracy as the resolution grows; one resolution at a time for a slider.

Every ``show_*`` returns a matplotlib Figure; the numbers come from ``course_utils.geometry3d.surfaces``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..validate import check_int, check_positive
from . import surfaces

DEFAULT_SHAPE = surfaces.Torus(major=0.6, minor=0.25)
SDF_CMAP = "RdBu_r"
MEMORY_KEYS = (("voxels", "dense voxels (bool)"), ("points", "surface points"),
               ("mesh", "mesh (vertices + faces)"), ("sdf_grid", "SDF grid (float64)"),
               ("sdf_closed", "SDF closed form"))
ERROR_KEYS = (("area_error", "mesh area, relative error"),
              ("vertex_distance", "mesh vertices, mean |sdf|"),
              ("point_distance", "sampled points, mean |sdf|"),
              ("volume_error", "voxel volume, relative error"))


def _limits3d(ax, bound: float):
    for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
        setter(-bound, bound)
    ax.set_box_aspect((1, 1, 1))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])


def _sdf_slice(ax, grid, bound: float):
    """Draw the z = 0 plane (middle index) of an SDF grid with its zero level."""
    k = grid.shape[2] // 2
    plane = grid[:, :, k].T                       # rows: y, columns: x
    vmax = np.abs(plane).max()
    ax.imshow(plane, origin="lower", extent=(-bound, bound, -bound, bound), cmap=SDF_CMAP,
              vmin=-vmax, vmax=vmax)
    axis = surfaces.grid_axis(grid.shape[0], bound)
    ax.contour(axis, axis, plane, levels=[0.0], colors="k", linewidths=1.0)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return axis[k]


def show_representations(shape=DEFAULT_SHAPE, resolution: int = 16, bound: float = 1.0,
                         n_points: int = 1500, seed: int = 0):
    """One shape four ways, side by side: surface points sampled from its mesh, the voxels
    inside it (``sdf <= 0`` at grid nodes), the marching-cubes mesh, and the SDF on the
    plane z = 0 (its zero level drawn in black), all on the same grid of ``resolution``."""
    resolution = check_int(resolution, "resolution", 4)
    bound = check_positive(bound, "bound")
    grid = surfaces.sdf_grid(shape, resolution, bound)
    vertices, faces = surfaces.mesh_from_sdf(grid, bound)
    points = surfaces.sample_mesh(vertices, faces, n_points, seed=seed)
    solid = grid <= 0

    fig = plt.figure(figsize=(13, 3.6))
    ax = fig.add_subplot(1, 4, 1, projection="3d")
    ax.scatter(points[:, 0], points[:, 1], points[:, 2], s=2, c=points[:, 2], cmap="viridis")
    ax.set_title(f"points: {len(points)} x 3 floats", fontsize=9)
    _limits3d(ax, bound)

    ax = fig.add_subplot(1, 4, 2, projection="3d")
    axis = surfaces.grid_axis(resolution, bound)
    h = axis[1] - axis[0]
    corners = np.concatenate([axis - h / 2, [axis[-1] + h / 2]])
    X, Y, Z = np.meshgrid(corners, corners, corners, indexing="ij")
    ax.voxels(X, Y, Z, solid, facecolors="C1", edgecolors="0.3", linewidth=0.2)
    ax.set_title(f"voxels: {int(solid.sum())} of {resolution}^3 filled", fontsize=9)
    _limits3d(ax, bound)

    ax = fig.add_subplot(1, 4, 3, projection="3d")
    ax.plot_trisurf(vertices[:, 0], vertices[:, 1], vertices[:, 2], triangles=faces,
                    color="C2", edgecolor="0.2", linewidth=0.1)
    ax.set_title(f"mesh: {len(vertices)} vertices, {len(faces)} faces", fontsize=9)
    _limits3d(ax, bound)

    ax = fig.add_subplot(1, 4, 4)
    z = _sdf_slice(ax, grid, bound)
    ax.set_title(f"SDF on the plane z = {z:.2f}", fontsize=9)
    fig.tight_layout()
    return fig


def show_memory(rows):
    """Left: bytes of each representation against the resolution (log-log), from
    ``surfaces.representation_table``. Right: each representation's error against it."""
    rows = list(rows)
    if not rows:
        raise ValueError("rows must be a non-empty list from surfaces.representation_table")
    resolution = np.array([row["resolution"] for row in rows], dtype=float)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
    for key, label in MEMORY_KEYS:
        ax0.loglog(resolution, [row[key] for row in rows], "o-", label=label)
    ax0.set_xlabel("grid resolution R")
    ax0.set_ylabel("bytes")
    ax0.set_title("memory as the resolution grows", fontsize=9)
    ax0.legend(fontsize=7)
    for key, label in ERROR_KEYS:
        ax1.loglog(resolution, [row[key] for row in rows], "o-", label=label)
    ax1.set_xlabel("grid resolution R")
    ax1.set_title("error as the resolution grows", fontsize=9)
    ax1.legend(fontsize=7)
    for ax in (ax0, ax1):
        ax.set_xticks(resolution, [f"{r:g}" for r in resolution])
        ax.minorticks_off()
    fig.tight_layout()
    return fig


def show_resolution(resolution: int = 16, shape=DEFAULT_SHAPE, bound: float = 1.0):
    """The marching-cubes mesh of ``shape`` at one grid resolution beside the SDF samples it
    came from (plane z = 0); the title gives the mesh's size and area error."""
    resolution = check_int(resolution, "resolution", 4)
    grid = surfaces.sdf_grid(shape, resolution, bound)
    vertices, faces = surfaces.mesh_from_sdf(grid, bound)
    error = surfaces.mesh_area(vertices, faces) / shape.area - 1

    fig = plt.figure(figsize=(8, 3.8))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    ax.plot_trisurf(vertices[:, 0], vertices[:, 1], vertices[:, 2], triangles=faces,
                    color="C2", edgecolor="0.2", linewidth=0.1)
    ax.set_title(f"R = {resolution}: {len(faces)} faces, area error {100 * error:+.2f}%",
                 fontsize=9)
    _limits3d(ax, bound)
    ax = fig.add_subplot(1, 2, 2)
    z = _sdf_slice(ax, grid, bound)
    nodes = surfaces.grid_axis(resolution, bound)
    gx, gy = np.meshgrid(nodes, nodes)
    ax.plot(gx.ravel(), gy.ravel(), ".", color="0.3", markersize=1.5)
    ax.set_title(f"the {resolution} x {resolution} samples on z = {z:.2f}", fontsize=9)
    fig.tight_layout()
    return fig
