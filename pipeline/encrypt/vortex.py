"""Port of ``mnist_fashion_vor.m`` / ``cifar_vor.m``: the Random Vortex Transformation.

One vortex (spec section 4) moves pixels of a square region around its centre by a
radius-dependent angle; a sequence of vortices is applied one after another to every image.
No step depends on pixel values, so the whole sequence is ONE gather map over pixel
positions (:func:`vortex_map`), computed once and applied to a whole dataset in a single
indexing step (:func:`vortex_transform`, :func:`apply_row_map`).

Orientation: the scripts work on ``reshape(row, 28, 28)'`` for MNIST / Fashion (the picture
itself) but on ``reshape(row, [32 32 3])`` for CIFAR-10, which is the TRANSPOSE of the
picture. :func:`vortex_map` works in MATLAB's orientation; :func:`row_gather_map` expresses
the same map over the stored-row pixel order of :mod:`workbench.data.datasets`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matlab_compat.rng import rng
from matlab_compat.semantics import mround
from workbench.data.datasets import DatasetSpec, rows_map_to_picture_sources
from pipeline.encrypt.sample_map import SampleMap
from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.encrypt.vortex_params import (
    check_region,
    load_vor_params,
    new_vor_params,
    param_rows,
)
from pipeline.errors import PipelineError

def matlab_transposed(spec: DatasetSpec) -> bool:
    """True when the script's image is the transposed picture (CIFAR-10: ``reshape(row, [32 32 3])``; spec section 2)."""
    return spec.matlab_transposed


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

    One gather over all images (see :func:`gather_images`); returns a new array of the same
    shape, dtype and memory layout.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise PipelineError(f"images must be (N, H, W) or (N, H, W, C), got shape {images.shape}")
    h, w = images.shape[1:3]
    channels = images.shape[3] if images.ndim == 4 else 1
    src = vortex_map(vor_par, h, w, num_vortices=num_vortices, divisor=divisor)
    return gather_images(images, (src[:, None] * channels + np.arange(channels)).ravel())


def row_gather_map(spec: DatasetSpec, vor_par, *, num_vortices: int | None = None) -> np.ndarray:
    """:func:`vortex_map` over the STORED-ROW pixel order of :mod:`workbench.data.datasets`.

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
    """``rows[:, full_map]`` for N x L rows (:func:`channel_map` gives ``full_map``), fast in the MAT-file layout.

    A MAT-file stores N x L column-major: read without reordering, each pixel position is one
    contiguous run of N values, so the gather moves whole runs (as fast as a copy) and the
    result keeps that layout (Fortran-ordered N x L), ready to be written back.
    """
    return gather_images(rows, full_map)


def gather_images(images: np.ndarray, element_map: np.ndarray) -> np.ndarray:
    """``out[n].ravel()[e] = images[n].ravel()[element_map[e]]`` for every image n (C order over ``images.shape[1:]``).

    The result keeps the input's memory layout. When the image axis is the fastest in memory
    (pixel-major, as a column-major MAT-file stores N x L, or views of it), the gather takes
    whole contiguous runs of N values: about the cost of a copy. Otherwise (C-ordered images) it
    is one ``np.take`` along the pixel axis, several times a copy.
    """
    n, inner = images.shape[0], images.shape[1:]
    size = int(np.prod(inner))
    pixel_major = np.moveaxis(images, 0, -1)
    # the per-image axes from slowest to fastest in memory
    order = sorted(range(len(inner)), key=lambda a: -abs(images.strides[a + 1]))
    block = pixel_major.transpose(*order, len(inner))
    if n > 1 and block.flags.c_contiguous:
        memory_ids = np.arange(size).reshape(inner).transpose(*order).ravel()  # logical element at each memory slot
        slot_of = np.empty(size, dtype=np.int64)
        slot_of[memory_ids] = np.arange(size)
        gathered = np.take(block.reshape(size, n), slot_of[element_map[memory_ids]], axis=0)
        inverse = np.argsort(order + [len(inner)])
        return np.moveaxis(gathered.reshape(block.shape).transpose(*inverse), -1, 0)
    flat = np.ascontiguousarray(images).reshape(n, size)
    return np.take(flat, element_map, axis=1).reshape(images.shape)


def default_vortex_count(spec: DatasetSpec, available: int, where: str) -> tuple[int, str | None]:
    """The script's ``v_num``, or all the file holds where it holds fewer (with a note saying so).

    ``cifar_vor.m`` sets ``v_num = 5`` but the published ``vor_params_cifar.mat`` holds 2, so
    MATLAB fails there with an index error; the port uses the 2 and says so.
    """
    if available < spec.script_vortices:
        return available, (f"{where} holds {available} vortices, fewer than the script's v_num = "
                            f"{spec.script_vortices}; using all {available}")
    return spec.script_vortices, None


@dataclass(frozen=True, eq=False)
class VortexKey:
    """A vortex sequence for one dataset: where its parameters came from and the sample map it makes."""

    params: str  # parameter file name (not its folder: records stay machine-independent)
    params_sha256: str
    vortices: int
    vortices_in_file: int
    source: np.ndarray  # (S,) gather sources over flattened (H, W, C) pictures
    note: str | None = None


def vortex_key(spec: DatasetSpec, path: Path, rows: list[np.ndarray], vortices: int | None, digest: str) -> VortexKey:
    """The key of the first ``vortices`` rows (default: the script's v_num, or all the file holds if fewer)."""
    note = None
    if vortices is None:
        vortices, note = default_vortex_count(spec, len(rows), path.name)
    if vortices < 1:
        raise PipelineError(f"--vortices must be at least 1 (0 would write the plain images as the vortex dataset), got {vortices}")
    chosen = select_vortices(rows, vortices, str(path))
    try:
        rows_map = channel_map(row_gather_map(spec, chosen), spec.channels)
    except PipelineError as err:
        raise PipelineError(f"{path}: {err}") from None
    return VortexKey(path.name, digest, vortices, len(rows), rows_map_to_picture_sources(rows_map, spec), note)


class VortexScheme(Scheme):
    """The Random Vortex Transformation of ``mnist_fashion_vor.m`` / ``cifar_vor.m``: one gather map for every image."""

    name = "vor"
    title = "vortex"
    key_kind = "one sample map (gather) for every image"
    key_source = "parameter file"
    invertible = False  # a gather: some pixels are read twice, others lost
    options = ("params", "vortices")
    moves_whole_pixels = True

    def key(self, spec: DatasetSpec, options: KeyOptions) -> VortexKey:
        path = Path(options.params or Path(options.data_dir) / spec.name / "params" / spec.published_params)
        rows = load_vor_params(path)
        return vortex_key(spec, path, rows, options.vortices, hashlib.sha256(path.read_bytes()).hexdigest())

    def adversary_key(self, spec: DatasetSpec, options: KeyOptions, index: int) -> VortexKey:
        """Fresh parameters drawn by ``Random_Function``'s rules on MATLAB's stream rng(index + 1)."""
        rows = new_vor_params(spec.script_vortices, spec.height, spec.width, spec.degree_scale, rng(index + 1))
        return vortex_key(spec, Path(f"adversary-{index}"), rows, options.vortices, "")

    def record(self, key: VortexKey) -> dict:
        out = {"params": key.params, "params_sha256": key.params_sha256, "vortices": key.vortices,
               "vortices_in_file": key.vortices_in_file}
        return {**out, "note": key.note} if key.note else out

    def encrypt(self, key: VortexKey, pictures: np.ndarray) -> np.ndarray:
        return gather_images(np.asarray(pictures), key.source)

    def sample_map(self, key: VortexKey) -> SampleMap:
        return SampleMap(key.source, np.zeros(key.source.size, dtype=bool))

    def stored_images(self, spec: DatasetSpec, rows: np.ndarray) -> np.ndarray:
        # the scripts' classes: MNIST / Fashion images were made double; CIFAR-10 (and declared datasets) stay uint8
        return rows.astype(np.float64) if spec.vor_double else rows

    def stored_labels(self, spec: DatasetSpec, labels: np.ndarray) -> np.ndarray:
        return labels.astype(np.float64)
