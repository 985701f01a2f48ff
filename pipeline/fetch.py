"""CLI: see :mod:`pipeline.data.fetch`."""
from __future__ import annotations

from pathlib import Path
import typer
from pipeline.errors import PipelineError
from pipeline.data.sources import MIRROR_ENV, OFFICIAL, CifarRelease, IdxDataset, IdxFile, ParamFile, Sources
from pipeline.data.fetch import DATASET_NAMES, DatasetChoice, fetch

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@app.command()
def main(
    dataset: DatasetChoice = typer.Option(..., "--dataset", help="Which dataset to fetch (all: the three)."),
    mirror: list[Path] = typer.Option(
        [], "--mirror", help=f"Folder holding local copies (repeatable); also ${MIRROR_ENV} (os.pathsep-separated)."
    ),
    data_dir: Path = typer.Option(Path("data"), "--data-dir", help="The project's data folder."),
    allow_unverified: bool = typer.Option(
        False, "--allow-unverified", help="Use inputs that fail their checksum (recorded in SOURCE.json)."
    ),
    params: bool = typer.Option(True, "--params/--no-params", help="Also fetch the published vortex parameters."),
) -> None:
    """Download (or copy from mirrors), verify and write the MATLAB-layout datasets."""
    names = DATASET_NAMES if dataset is DatasetChoice.all else (dataset.value,)
    for name in names:
        try:
            summary = fetch(name, data_dir, mirror, allow_unverified, params)
        except PipelineError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(1) from None
        for folder, part in summary.items():
            state = "verified" if part["verified"] else "UNVERIFIED (--allow-unverified)"
            for output in part["outputs"]:
                typer.echo(f"{data_dir / name / folder / output}: {state}")


if __name__ == "__main__":
    app()
