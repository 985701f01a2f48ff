"""Port of ``mnist_fashion_vor.m`` / ``cifar_vor.m``: the Random Vortex Transformation.

One vortex (spec section 4) moves pixels of a square region around its centre by a
radius-dependent angle; a sequence of vortices is applied one after another to every image.
No step depends on pixel values, so the whole sequence is ONE gather map over pixel
positions (:func:`vortex_map`), computed once and applied to a whole dataset in a single
indexing step (:func:`vortex_transform`, :func:`apply_row_map`).

Orientation: the scripts work on ``reshape(row, 28, 28)'`` for MNIST / Fashion (the picture
itself) but on ``reshape(row, [32 32 3])`` for CIFAR-10, which is the TRANSPOSE of the
picture. :func:`vortex_map` works in MATLAB's orientation; :func:`row_gather_map` expresses
the same map over the stored-row pixel order of :mod:`pipeline.datasets`.
"""
from __future__ import annotations

import numpy as np

from matlab_compat.semantics import mround
from pipeline.datasets import DatasetSpec
from pipeline.errors import PipelineError
from pipeline.vortex_params import check_region, load_vor_params, param_rows

__all__ = [
    "apply_row_map",
    "channel_map",
    "load_vor_params",
    "matlab_transposed",
    "row_gather_map",
    "select_vortices",
    "vortex_map",
    "vortex_transform",
]

# Whether the script's MATLAB image is the transpose of the picture (spec section 2).
_MATLAB_TRANSPOSED = {"mnist": False, "fashion": False, "cifar10": True}


def matlab_transposed(spec: DatasetSpec) -> bool:
    """True when the script's image is the transposed picture (CIFAR-10: ``reshape(row, [32 32 3])``)."""
    return _MATLAB_TRANSPOSED[spec.name]


def select_vortices(rows: list[np.ndarray], num_vortices: int | None, where: str = "vor_par") -> list[np.ndarray]:
    """The first ``num_vortices`` rows (all when None); asking for more than there are is an error."""
    if num_vortices is None:
        return rows
    if num_vortices < 0 or num_vortices > len(rows):
        raise PipelineError(f"{where}: asked for {num_vortices} vortices, the parameters hold {len(rows)}")
    return rows[:num_vortices]


def _one_vortex(row: np.ndarray, divisor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Local 0-based (x, y) of the pixels a vortex rewrites and the (X, Y) each one reads.

    The region is w x w, w = 2r + 1, centre M = w / 2; pixel (x, y) (1-based, x along the first
    index) with rho = |(x, y) - M| <= r reads T(X, Y), X = round(rho cos(a) + M),
    Y = round(rho sin(a) + M), a = atan2(dy, dx) + (r - round(rho)) * degree(round(rho)) / s.
    """
    r = int(row[2])
    degree = row[3:]
    w = 2 * r + 1
    m = w / 2
    x, y = np.meshgrid(np.arange(1, w + 1, dtype=np.float64), np.arange(1, w + 1, dtype=np.float64), indexing="ij")
    dx, dy = x - m, y - m
    rho = np.sqrt(dx**2 + dy**2)
    inside = rho <= r
    dx, dy, rho = dx[inside], dy[inside], rho[inside]
    q = mround(rho).astype(np.int64)
    angle = np.arctan2(dy, dx) + (r - q) * degree[q - 1] / divisor
    big_x = mround(rho * np.cos(angle) + m).astype(np.int64)
    big_y = mround(rho * np.sin(angle) + m).astype(np.int64)
    return x[inside].astype(np.int64) - 1, y[inside].astype(np.int64) - 1, big_x - 1, big_y - 1


def vortex_map(vor_par, height: int, width: int, *, num_vortices: int | None = None, divisor: float = 1000.0) -> np.ndarray:
    """The composed gather map of the first ``num_vortices`` vortices (all when None).

    Returns ``src``, int64 of shape (height * width,): for an image ``img`` of shape
    (height, width[, C]) in MATLAB's orientation, the transformed image satisfies
    ``out.reshape(H * W, -1) == img.reshape(H * W, -1)[src]`` (C-order flat indices over
    (H, W)); every channel moves alike. ``vor_par`` is the ``vor_par`` cell as read from a
    MAT-file or a list of 1-D rows. ``divisor`` is the script's s (1000 MNIST / Fashion,
    10000 CIFAR-10). Raises ``PipelineError`` for bad rows and regions outside the image.
    """
    rows = select_vortices(param_rows(vor_par), num_vortices)
    src = np.arange(height * width, dtype=np.int64)
    for i, row in enumerate(rows, start=1):
        check_region(row, height, width, f"vortex {i}")
        r = int(row[2])
        if r < 1:  # empty region (r < 0) or one pixel that maps to itself (r = 0)
            continue
        top, left = int(row[0]) - r - 1, int(row[1]) - r - 1
        x, y, big_x, big_y = _one_vortex(row, divisor)
        step = np.arange(height * width, dtype=np.int64)
        step[(top + x) * width + left + y] = (top + big_x) * width + left + big_y
        src = src[step]  # vortex i reads the output of vortex i - 1
    return src


def vortex_transform(images: np.ndarray, vor_par, *, num_vortices: int | None = None, divisor: float = 1000.0) -> np.ndarray:
    """The vortex sequence applied to (N, H, W) or (N, H, W, C) images in MATLAB's orientation.

    One gather over all images; returns a new array of the same shape and dtype.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise PipelineError(f"images must be (N, H, W) or (N, H, W, C), got shape {images.shape}")
    n, h, w = images.shape[:3]
    src = vortex_map(vor_par, h, w, num_vortices=num_vortices, divisor=divisor)
    flat = images.reshape(n, h * w, -1)
    return flat[:, src].reshape(images.shape)


def row_gather_map(spec: DatasetSpec, vor_par, *, num_vortices: int | None = None) -> np.ndarray:
    """:func:`vortex_map` over the STORED-ROW pixel order of :mod:`pipeline.datasets`.

    Returns ``m``, int64 of shape (H * W,), such that ``rows_out[:, c*P + p] = rows_in[:, c*P + m[p]]``
    for every channel c (P = H * W, p = picture row-major index). For CIFAR-10 this accounts
    for the script's transposed image; the divisor is the dataset's.
    """
    if matlab_transposed(spec):
        mh, mw = spec.width, spec.height  # MATLAB image (i, j) is picture (row j, column i)
        stored = np.arange(spec.pixels, dtype=np.int64).reshape(spec.height, spec.width).T.ravel()
    else:
        mh, mw = spec.height, spec.width
        stored = np.arange(spec.pixels, dtype=np.int64)
    src = vortex_map(vor_par, mh, mw, num_vortices=num_vortices, divisor=spec.divisor)
    m = np.empty(spec.pixels, dtype=np.int64)
    m[stored] = stored[src]
    return m


def channel_map(pixel_map: np.ndarray, channels: int) -> np.ndarray:
    """A per-pixel map (P,) extended to a whole row of ``channels`` blocks of P values (same map per block)."""
    p = pixel_map.size
    return (np.arange(channels, dtype=np.int64)[:, None] * p + pixel_map[None, :]).ravel()


def apply_row_map(rows: np.ndarray, full_map: np.ndarray) -> np.ndarray:
    """``rows[:, full_map]`` for N x L rows, as fast as a copy when ``rows`` is column-major.

    A MAT-file stores N x L column-major: read without reordering, ``rows.T`` is an (L, N)
    C-contiguous block in which each pixel position is one contiguous row, so the gather moves
    whole rows; the result keeps that layout (Fortran-ordered N x L), ready to be written back.
    """
    if rows.flags.f_contiguous and not rows.flags.c_contiguous:
        return rows.T[full_map].T
    return rows[:, full_map]
