"""Photometric stereo for Lambertian surfaces: normals and albedo from images under known lights.

Coordinates: x along the image columns, y along the rows, z towards the camera. A Lambertian
pixel with unit normal n and albedo a, lit from unit direction l, measures I = a max(0, n . l).
Where the pixel is lit by every light, the K measurements form the linear system L g = I with
g = a n, solved by least squares: a = |g|, n = g / |g|.
"""
from __future__ import annotations

import numpy as np

from ..validate import as_float_array, check_positive

UNIT_TOLERANCE = 1e-6


def _check_inputs(images, lights):
    images = as_float_array(images, "images", ndim=3)
    lights = as_float_array(lights, "lights", ndim=2)
    if lights.shape[1] != 3:
        raise ValueError(f"lights must have shape (K, 3), got {lights.shape}")
    if lights.shape[0] != images.shape[0]:
        raise ValueError(f"images and lights must hold the same number K of lights, got "
                         f"{images.shape[0]} images and {lights.shape[0]} lights")
    if lights.shape[0] < 3:
        raise ValueError(f"lights: photometric stereo needs at least 3 lights, got "
                         f"{lights.shape[0]}")
    norms = np.linalg.norm(lights, axis=1)
    if np.any(np.abs(norms - 1) > UNIT_TOLERANCE):
        raise ValueError(f"lights must be unit vectors, got norms {np.round(norms, 6)}")
    if np.linalg.matrix_rank(lights) < 3:
        raise ValueError("lights must span 3-D space (no three coplanar directions)")
    return images, lights


def _split(g: np.ndarray, shape) -> tuple[np.ndarray, np.ndarray]:
    """(3, N) scaled normals -> (normals (H, W, 3) unit or NaN, albedo (H, W))."""
    albedo = np.linalg.norm(g, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        normals = np.where(albedo > 0, g / albedo, np.nan)
    return normals.T.reshape(*shape, 3), albedo.reshape(shape)


def photometric_stereo(images, lights, shadow_threshold: float | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares normals and albedo: images (K, H, W), lights (K, 3) unit directions.

    Returns ``(normals (H, W, 3), albedo (H, W))``; normals are unit vectors, NaN where the
    albedo comes out 0 (e.g. black background). All pixels are solved at once with one
    pseudo-inverse of the (K, 3) light matrix. Lights must be unit vectors (checked, to
    1e-6) and span 3-D; K >= 3.

    ``shadow_threshold``: if given, measurements <= threshold are treated as shadowed and left
    out of that pixel's system, as long as at least 3 lit measurements remain (pixels with
    fewer keep all K). Pixels are grouped by which lights they keep, one pseudo-inverse per
    group.
    """
    images, lights = _check_inputs(images, lights)
    k, h, w = images.shape
    flat = images.reshape(k, -1)
    if shadow_threshold is None:
        return _split(np.linalg.pinv(lights) @ flat, (h, w))
    threshold = check_positive(shadow_threshold, "shadow_threshold", allow_zero=True)
    lit = flat > threshold
    lit[:, lit.sum(axis=0) < 3] = True
    codes = (lit * (1 << np.arange(k))[:, None]).sum(axis=0)
    g = np.zeros((3, flat.shape[1]))
    for code in np.unique(codes):
        pixels = codes == code
        keep = lit[:, np.argmax(pixels)]
        sub = lights[keep]
        if np.linalg.matrix_rank(sub) < 3:  # coplanar survivors: fall back to every light
            keep, sub = np.ones(k, bool), lights
        g[:, pixels] = np.linalg.pinv(sub) @ flat[keep][:, pixels]
    return _split(g, (h, w))


def angular_error(normals, true_normals, mask=None) -> np.ndarray:
    """Angle in degrees between two normal maps (H, W, 3), per pixel: (H, W).

    NaN outside ``mask`` (boolean (H, W)) and where either normal is not finite; average with
    ``np.nanmean``. Uses atan2(|n x m|, n . m), accurate also for tiny angles; inputs need not
    be unit length.
    """
    n = as_float_array(normals, "normals", ndim=3)
    m = as_float_array(true_normals, "true_normals", ndim=3)
    if n.shape != m.shape or n.shape[2] != 3:
        raise ValueError(f"normals and true_normals must both be (H, W, 3), got {n.shape} and "
                         f"{m.shape}")
    angle = np.degrees(np.arctan2(np.linalg.norm(np.cross(n, m), axis=2), np.sum(n * m, axis=2)))
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != n.shape[:2] or mask.dtype != bool:
            raise ValueError(f"mask must be a boolean array of shape {n.shape[:2]}, got "
                             f"{mask.dtype} {mask.shape}")
        angle = np.where(mask, angle, np.nan)
    return angle


def integrate_normals(normals, mask=None) -> np.ndarray:
    """Height map (H, W) whose gradient best fits the normals (Frankot-Chellappa, with FFTs).

    The slopes p = dz/dx = -n_x / n_z and q = dz/dy = -n_y / n_z (0 outside ``mask`` or where a
    normal is not finite) are projected onto integrable surfaces in the Fourier domain:
    Z = F^-1[ -i (u P + v Q) / (u^2 + v^2) ]. The height is defined up to a constant: it is
    shifted to mean 0 over the mask. Periodic boundaries are assumed (pad the map otherwise).
    """
    n = as_float_array(normals, "normals", ndim=3)
    if n.shape[2] != 3:
        raise ValueError(f"normals must be (H, W, 3), got {n.shape}")
    h, w = n.shape[:2]
    if mask is None:
        mask = np.ones((h, w), bool)
    mask = np.asarray(mask)
    if mask.shape != (h, w) or mask.dtype != bool:
        raise ValueError(f"mask must be a boolean array of shape {(h, w)}, got {mask.dtype} "
                         f"{mask.shape}")
    ok = mask & np.all(np.isfinite(n), axis=2) & (n[..., 2] > 1e-6)
    nz = np.where(ok, n[..., 2], 1.0)
    p = np.where(ok, -n[..., 0] / nz, 0.0)
    q = np.where(ok, -n[..., 1] / nz, 0.0)
    u = 2 * np.pi * np.fft.fftfreq(w)[None, :]
    v = 2 * np.pi * np.fft.fftfreq(h)[:, None]
    denom = u ** 2 + v ** 2
    denom[0, 0] = 1.0
    z_hat = -1j * (u * np.fft.fft2(p) + v * np.fft.fft2(q)) / denom
    z_hat[0, 0] = 0.0
    z = np.real(np.fft.ifft2(z_hat))
    z -= z[mask].mean()
    return np.where(mask, z, np.nan)
