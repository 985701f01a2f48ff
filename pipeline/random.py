"""Port of ``random_permutation.m``: every image's pixels shuffled by its own random permutation.

For each image the script draws ``R = rand(H*W, 1)`` and reorders each channel, flattened
column-major in MATLAB's orientation, by sorting the rows of ``[R, values]`` on R; all
channels of an image share the permutation (spec section 7). The draws come from MATLAB's
random stream (:mod:`matlab_compat.rng`) seeded once, train images first, then test images,
one ``rand(H*W, 1)`` per image in file order -- one MATLAB session running the script.

MATLAB orientation -> stored rows: for MNIST / Fashion the script's image is the picture, so
its column-major flattening walks the picture column by column; for CIFAR-10 the script's
image is the transposed picture, whose column-major flattening is the stored channel block.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from tqdm import tqdm

from matlab_compat.atomic import atomic_output
from matlab_compat.rng import MatlabStream, rng
from pipeline.datasets import SPLITS, DatasetSpec, dataset_spec, pictures_from_rows
from pipeline.errors import PipelineError
from pipeline.script_io import default_input, read_origin, write_variant
from pipeline.vor import matlab_transposed

_CHUNK = 8192  # images per block of draws: bounds memory, keeps the stream order


def column_major_order(spec: DatasetSpec) -> np.ndarray:
    """Stored-row index (within one channel) of the q-th element of the script's ``image(:)``."""
    stored = np.arange(spec.pixels, dtype=np.int64).reshape(spec.height, spec.width)
    # script image == picture (MNIST): image(:) walks picture columns; == picture' (CIFAR): picture rows
    return stored.ravel() if matlab_transposed(spec) else stored.T.ravel()


def random_permutations(num_images: int, pixels: int, stream: MatlabStream, order: np.ndarray | None = None,
                        *, progress: bool = False) -> np.ndarray:
    """(num_images, pixels) int64: row n is image n's 0-based source index for each output pixel.

    Draws ``rand(pixels, 1)`` per image from ``stream`` and sorts on it (stable, as ``sortrows``).
    ``order`` (from :func:`column_major_order`) maps the script's column-major position to the
    stored-row position; without it the indices are in the script's own order. Apply the
    result with :func:`permute_rows`, the same permutation to every channel.
    """
    out = np.empty((num_images, pixels), dtype=np.int64)
    with tqdm(total=num_images, desc="permutations", unit="image", disable=not progress) as bar:
        for start in range(0, num_images, _CHUNK):
            count = min(_CHUNK, num_images - start)
            draws = stream.draws(count * pixels).reshape(count, pixels)
            perm = np.argsort(draws, axis=1, kind="stable")
            if order is None:
                out[start:start + count] = perm
            else:
                out[start:start + count][:, order] = order[perm]
            bar.update(count)
    return out


def permute_rows(rows: np.ndarray, sources: np.ndarray, channels: int) -> np.ndarray:
    """``out[n, c*P + p] = rows[n, c*P + sources[n, p]]`` for N x (C*P) rows (C-ordered result)."""
    n, length = rows.shape
    if sources.shape != (n, length // channels) or length % channels:
        raise PipelineError(f"{sources.shape} permutations do not fit {rows.shape} rows of {channels} channels")
    blocks = np.ascontiguousarray(rows).reshape(n, channels, -1)
    return np.take_along_axis(blocks, sources[:, None, :], axis=2).reshape(n, length)


#: Written beside the random files: the seed they were drawn with, so later steps (the attack's
#: key share, the information measure) redraw the same permutations without being told again.
SEED_RECORD = "params.json"


def recorded_seed(random_dir: Path) -> int:
    """The seed recorded in ``random_dir`` by :func:`permute_dataset`."""
    path = Path(random_dir) / SEED_RECORD
    try:
        seed = json.loads(path.read_text())["seed"]
    except FileNotFoundError:
        raise PipelineError(f"{path} is missing; `python -m pipeline.random` writes it (or pass the seed)") from None
    except (ValueError, KeyError, TypeError) as err:
        raise PipelineError(f"{path}: not a seed record of pipeline.random ({err})") from None
    if not isinstance(seed, int) or seed < 0:
        raise PipelineError(f"{path}: the seed must be a non-negative integer, got {seed!r}")
    return seed


def permute_dataset(spec: DatasetSpec, source: Path, out_dir: Path, *, seed: int = 0,
                    preview: Path | None = None, progress: bool = False) -> list[Path]:
    """Read the plain splits, permute every image (train, then test), write the ``random`` files."""
    try:
        stream = rng(seed)
    except ValueError as err:
        raise PipelineError(str(err)) from None
    plain = read_origin(spec, source)
    order = column_major_order(spec)
    splits, permuted = {}, {}
    for split in SPLITS:
        x, y = plain[split]
        sources = random_permutations(len(x), spec.pixels, stream, order, progress=progress)
        permuted[split] = permute_rows(x, sources, spec.channels)
        # random_permutation.m saves what it computed on doubles: images and labels are MATLAB doubles
        splits[split] = (permuted[split].astype(np.float64), y.astype(np.float64))
    written = write_variant(spec, "random", out_dir, splits)
    with atomic_output(out_dir / SEED_RECORD) as tmp:
        tmp.write_text(json.dumps({"seed": seed, "stream": "MATLAB rng (Mersenne Twister), train then test"}) + "\n")
    written.append(out_dir / SEED_RECORD)
    if preview is not None:
        from pipeline.preview import save_preview

        count = min(8, len(permuted["test"]))
        save_preview(preview, [pictures_from_rows(plain["test"][0][:count], spec),
                               pictures_from_rows(permuted["test"][:count], spec)], ["original", "random"])
        written.append(preview)
    return written


app = typer.Typer(add_completion=False, help="Per-image random pixel permutation (port of random_permutation.m).")


@app.command()
def main(
    dataset: str = typer.Option(..., help="mnist, fashion or cifar10"),
    seed: int = typer.Option(0, help="MATLAB rng seed; 0 is MATLAB's default stream (twister seed 5489), as in a fresh session"),
    data_dir: Path = typer.Option(Path("data"), help="the project's data folder"),
    input: Optional[Path] = typer.Option(None, "--input", help="mnist.mat-layout file (mnist, fashion) or CIFAR-10 batch folder (default: <data-dir>/<dataset>/origin/...)"),
    output: Optional[Path] = typer.Option(None, help="output folder (default: <data-dir>/<dataset>/random)"),
    preview: Optional[Path] = typer.Option(None, help="also write a PNG of original / permuted test images"),
) -> None:
    """Shuffle the pixels of every train and test image of DATASET; write <prefix>_{train,test}_random_v1.mat."""
    try:
        spec = dataset_spec(dataset)
        written = permute_dataset(spec, input or default_input(spec, data_dir), output or data_dir / spec.name / "random",
                                  seed=seed, preview=preview, progress=True)
    except PipelineError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    for path in written:
        typer.echo(f"wrote {path}")


if __name__ == "__main__":
    app()
