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

import time
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from matlab_compat.semantics import mround
from pipeline.datasets import SPLITS, DatasetSpec, dataset_spec, pictures_from_rows
from pipeline.errors import PipelineError
from pipeline.script_io import default_input, read_origin, write_variant
from pipeline.vortex_params import check_region, load_vor_params, new_vor_params, param_rows

__all__ = [
    "apply_row_map",
    "channel_map",
    "encrypt_dataset",
    "gather_images",
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


def encrypt_dataset(spec: DatasetSpec, source: Path, params: Path, out_dir: Path, *,
                    num_vortices: int | None = None, preview: Path | None = None) -> dict:
    """Read the plain splits, apply the vortex sequence, write the ``vor`` files; returns a report.

    The report holds the vortex count used, an optional note, the files written and the
    seconds spent reading, transforming and writing.
    """
    clock = time.perf_counter()
    rows = load_vor_params(params)
    note = None
    if num_vortices is None:
        num_vortices, note = default_vortex_count(spec, len(rows), str(params))
    rows = select_vortices(rows, num_vortices, str(params))
    try:
        pixel_map = row_gather_map(spec, rows)
    except PipelineError as err:
        raise PipelineError(f"{params}: {err}") from None
    full = channel_map(pixel_map, spec.channels)
    plain = read_origin(spec, source)
    read_s = time.perf_counter() - clock

    clock = time.perf_counter()
    encrypted = {split: apply_row_map(x, full) for split, (x, _) in plain.items()}
    transform_s = time.perf_counter() - clock

    clock = time.perf_counter()
    # MATLAB classes of the scripts' outputs: MNIST / Fashion images and labels were made double;
    # CIFAR-10 images are uint8 and its labels double (from load_cifar).
    as_double = spec.name != "cifar10"
    splits = {
        split: (encrypted[split].astype(np.float64) if as_double else encrypted[split], y.astype(np.float64))
        for split, (_, y) in plain.items()
    }
    written = write_variant(spec, "vor", out_dir, splits)
    if preview is not None:
        from pipeline.preview import save_preview

        count = min(8, len(plain["test"][0]))
        save_preview(preview, [pictures_from_rows(plain["test"][0][:count], spec),
                               pictures_from_rows(encrypted["test"][:count], spec)], ["original", "vortex"])
        written.append(preview)
    write_s = time.perf_counter() - clock
    return {"vortices": num_vortices, "note": note, "written": written,
            "images": {split: len(plain[split][0]) for split in SPLITS},
            "seconds": {"read": read_s, "transform": transform_s, "write": write_s}}


app = typer.Typer(add_completion=False, help="Random Vortex Transformation of a dataset (port of mnist_fashion_vor.m / cifar_vor.m).")


def _fail(err: PipelineError) -> typer.Exit:
    typer.echo(f"error: {err}", err=True)
    return typer.Exit(1)


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    dataset: Optional[str] = typer.Option(None, help="mnist, fashion or cifar10"),
    data_dir: Path = typer.Option(Path("data"), help="the project's data folder"),
    input: Optional[Path] = typer.Option(None, "--input", help="mnist.mat-layout file (mnist, fashion) or CIFAR-10 batch folder (default: <data-dir>/<dataset>/origin/...)"),
    params: Optional[Path] = typer.Option(None, help="vortex parameter file (vor_par) (default: <data-dir>/<dataset>/params/<published file>)"),
    vortices: Optional[int] = typer.Option(None, help="use the first N vortices (default: the script's v_num (10; CIFAR-10 5), or all the file holds if fewer)"),
    output: Optional[Path] = typer.Option(None, help="output folder (default: <data-dir>/<dataset>/vor)"),
    preview: Optional[Path] = typer.Option(None, help="also write a PNG of original / encrypted test images"),
) -> None:
    """Encrypt the train and test images of DATASET with the vortex parameters; write the scripts' vor files."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        if dataset is None:
            raise PipelineError("--dataset is required (mnist, fashion or cifar10)")
        spec = dataset_spec(dataset)
        root = data_dir / spec.name
        report = encrypt_dataset(
            spec, input or default_input(spec, data_dir), params or root / "params" / spec.published_params,
            output or root / "vor", num_vortices=vortices, preview=preview)
    except PipelineError as err:
        raise _fail(err) from None
    if report["note"]:
        typer.echo(f"note: {report['note']}")
    t = report["seconds"]
    typer.echo(f"{spec.name}: {report['vortices']} vortices on {report['images']['train']} train and "
               f"{report['images']['test']} test images; read {t['read']:.2f} s, transform {t['transform']:.2f} s, "
               f"write {t['write']:.2f} s")
    for path in report["written"]:
        typer.echo(f"wrote {path}")


@app.command("new-params")
def new_params(
    dataset: str = typer.Option(..., help="mnist, fashion or cifar10"),
    seed: int = typer.Option(0, help="MATLAB rng seed (0: MATLAB's default stream, twister seed 5489)"),
    vortices: Optional[int] = typer.Option(None, help="how many vortices (default: the script's v_num, 10; CIFAR-10 5)"),
    data_dir: Path = typer.Option(Path("data"), help="the project's data folder"),
    output: Optional[Path] = typer.Option(None, help="output file (default: <data-dir>/<dataset>/params/vor_params_<prefix>_seed<S>.mat)"),
) -> None:
    """Draw fresh vortex parameters by Random_Function's rules on MATLAB's random stream rng(SEED)."""
    from matlab_compat import DEFAULT_TEXT, MatFileError, savemat
    from matlab_compat.rng import rng

    try:
        spec = dataset_spec(dataset)
        try:
            stream = rng(seed)
        except ValueError as err:
            raise PipelineError(str(err)) from None
        count = spec.script_vortices if vortices is None else vortices
        rows = new_vor_params(count, spec.height, spec.width, spec.degree_scale, stream)
        cell = np.empty((1, len(rows)), dtype=object)
        for i, row in enumerate(rows):
            cell[0, i] = row.reshape(1, -1)
        path = output or data_dir / spec.name / "params" / f"vor_params_{spec.prefix}_seed{seed}.mat"
        try:
            savemat(path, {"vor_par": cell}, header=DEFAULT_TEXT)
        except (MatFileError, OSError) as err:
            raise PipelineError(f"{path}: cannot write ({err})") from err
    except PipelineError as err:
        raise _fail(err) from None
    typer.echo(f"wrote {path} ({len(rows)} vortices, rng({seed})); use it with "
               f"`python -m pipeline.vor --dataset {spec.name} --params {path}`")


if __name__ == "__main__":
    app()
