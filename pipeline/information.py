"""CLI: see :mod:`pipeline.evaluate.information`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional
import typer
from pipeline.data.datasets import DatasetSpec, dataset_spec, load_split, pictures_from_rows, rows_from_pictures
from pipeline.errors import PipelineError
from pipeline.evaluate.information import DistanceWeight, load_splits, make_encryption, measure

app = typer.Typer(add_completion=False, help="Information-loss rate of an encryption (docs/information.md).")


@app.command()
def main(
    dataset: str = typer.Option(..., help="mnist, fashion or cifar10"),
    encryption: str = typer.Option(..., help="vor, random, etc (EtC) or blocks (EtC's block scrambling alone)"),
    params: Optional[Path] = typer.Option(None, help="vor: vortex parameter file [default: data/<dataset>/params/<published file>]"),
    num_vortices: Optional[int] = typer.Option(None, help="vor: vortices to use [default: the script's count, or all the file holds]"),
    key_file: Optional[Path] = typer.Option(None, help="etc/blocks: file with the EtC secret [default: $VORTEX_ETC_SECRET]"),
    block_size: int = typer.Option(16, help="etc/blocks: block edge in pixels (28 x 28 images: 4, 7 or 14)"),
    seed: Optional[int] = typer.Option(None, help="random: MATLAB seed of the permutations [default: the one pipeline.random recorded]"),
    split: str = typer.Option("all", help="train, test or all"),
    max_images: Optional[int] = typer.Option(None, help="measure only the first N images of each split"),
    exact_sample: int = typer.Option(500, help="random: images measured exactly with their drawn permutations"),
    weight_scale: float = typer.Option(DistanceWeight.scale, help="distance weight m(d) = exp(-(d / scale) ** shape): scale"),
    weight_shape: float = typer.Option(DistanceWeight.shape, help="distance weight: shape (1 exponential, 2 Gaussian)"),
    label: Optional[str] = typer.Option(None, help="name of the result [default: vor-<params tag>, random, etc-b<B>, blocks-b<B>]"),
    data_dir: Path = typer.Option(Path("data"), help="the project's data folder (reads <dataset>/origin)"),
    output_dir: Path = typer.Option(Path("results/information"), help="writes <dataset>_<label>.json here"),
) -> None:
    """Measure how much information ENCRYPTION removes from the images of DATASET."""
    from matlab_compat import atomic_output

    try:
        spec = dataset_spec(dataset)
        weight = DistanceWeight(weight_scale, weight_shape)
        enc = make_encryption(spec, encryption, data_dir=data_dir, params=params, num_vortices=num_vortices,
                              key_file=key_file, block_size=block_size, seed=seed)
        splits = load_splits(data_dir, spec.name, split, max_images)
        result = {"dataset": spec.name, "encryption": enc.name, "label": label or enc.label, "parameters": enc.record,
                  "weight": {"scale": weight.scale, "shape": weight.shape}, "splits": list(splits),
                  **measure(enc, splits, weight, exact_sample)}
        path = output_dir / f"{spec.name}_{result['label']}.json"
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
    except PipelineError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{path}: information loss {result['total_loss_rate']:.2%} (value {result['value_loss_rate']:.2%}, "
               f"neighbouring {result['neighbour_loss_rate']:.2%}) over {result['images']} images in {result['seconds']} s")


if __name__ == "__main__":
    app()
