"""``python -m pipeline.fetch``: the datasets and the published vortex parameters, verified, in the MATLAB layout.

    python -m pipeline.fetch --dataset mnist|fashion|cifar10|all [--mirror FOLDER ...]

writes

* ``data/mnist/origin/mnist.mat``, ``data/fashion/origin/fashion.mat``: uint8 ``train_x``
  (N x 784, IDX row order), one-hot uint8 ``train_y`` (N x 10), ``test_x``, ``test_y``;
* ``data/cifar10/origin/cifar-10-batches-mat/``: the MATLAB release of CIFAR-10 as published;
* ``data/<dataset>/params/vor_params_*.mat``: the authors' parameter files, byte for byte;
* ``SOURCE.json`` beside them: where each input came from (mirror files by name), its
  checksums, whether it was verified.

Inputs come from local mirror folders (``--mirror``, ``$VORTEX_MIRROR``) when they hold them,
else from the download cache ``data/downloads/``, else from the internet. Nothing is written
until every input of a dataset has been read and checked (:mod:`pipeline.data.fetch`).
"""
from __future__ import annotations

from pathlib import Path

import typer

from pipeline.cli import check_writable, run, typer_app
from pipeline.data.fetch import DATASET_NAMES, DatasetChoice, fetch
from pipeline.data.sources import MIRROR_ENV

app = typer_app(__doc__)


@app.command()
def main(
    dataset: DatasetChoice = typer.Option(..., "--dataset", help="which dataset to fetch (all: the three)"),
    mirror: list[Path] = typer.Option([], "--mirror", help=f"folder holding local copies (repeatable); also ${MIRROR_ENV} (os.pathsep-separated)"),
    data_dir: Path = typer.Option(Path("data"), "--data-dir", help="the project's data folder"),
    allow_unverified: bool = typer.Option(False, "--allow-unverified", help="use inputs that fail their checksum (recorded in SOURCE.json)"),
    params: bool = typer.Option(True, "--params/--no-params", help="also fetch the published vortex parameters"),
) -> None:
    """Download (or copy from mirrors), verify and write the MATLAB-layout datasets."""
    check_writable(data_dir, folder=True, option="--data-dir")
    names = DATASET_NAMES if dataset is DatasetChoice.all else (dataset.value,)
    for name in names:
        summary = fetch(name, data_dir, mirror, allow_unverified, params)
        for folder, part in summary.items():
            state = "verified" if part["verified"] else "UNVERIFIED (--allow-unverified)"
            for output in part["outputs"]:
                typer.echo(f"{data_dir / name / folder / output}: {state}")


if __name__ == "__main__":
    run(app)
