"""``python -m pipeline.information``: how much image information a scheme removes (``docs/information.md``).

    python -m pipeline.information --dataset fashion --scheme vor

writes ``<out>/<dataset>_<label>.json`` (label: ``vor-<parameter file tag>``, ``<scheme>-b<block>``
or the scheme's name, unless given). The key comes
from the same options as for encrypting, completed from what the encrypt stage recorded in
``<data-dir>/<dataset>/<scheme>/params.json`` (the images are encrypted in memory).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from workbench.cli import at_least, meaning, finite, refuse_given, run, typer_app
from workbench.paths import check_input, check_writable
from workbench.outputs import write_json
from pipeline.encrypt.options import (
    DATA_DIR,
    DATASET,
    DatasetName,
    SchemeName,
    chosen_scheme,
    key_options,
    with_key_options,
)
from pipeline.encrypt.stage import recorded_options
from pipeline.errors import PipelineError
from pipeline.evaluate.information import (
    DistanceWeight,
    check_measurable,
    check_size,
    default_label,
    load_splits,
    measure,
)

app = typer_app(__doc__)


@app.command()
@with_key_options
def main(
    context: typer.Context,
    dataset: DatasetName = DATASET,
    scheme: Optional[SchemeName] = typer.Option(None, "--scheme", help=meaning("--scheme", "one of the registry (python -m pipeline.schemes)")),
    split: str = typer.Option("all", "--split", help="train, test or all"),
    max_images: Optional[int] = typer.Option(None, "--max-images", help="measure only the first N images of each split [default: all]"),
    exact_sample: int = typer.Option(500, "--exact-sample", help="per-image schemes: images measured exactly with their drawn keys"),
    weight_scale: float = typer.Option(DistanceWeight.scale, "--weight-scale", help="distance weight m(d) = exp(-(d / scale) ** shape): scale"),
    weight_shape: float = typer.Option(DistanceWeight.shape, "--weight-shape", help="distance weight: shape (1 exponential, 2 Gaussian)"),
    label: Optional[str] = typer.Option(None, "--label", help="name of the result [default: vor-<parameter file tag>, <scheme>-b<block>, or the scheme's name]"),
    data_dir: Path = DATA_DIR,
    out: Path = typer.Option(Path("results/information"), "--out", help=meaning("--out", "<dataset>_<label>.json in this folder")),
    key_given: dict = None,
) -> None:
    """Measure how much information SCHEME removes from the images of DATASET."""
    chosen, spec = chosen_scheme(scheme, dataset, data_dir)
    if split not in ("train", "test", "all"):
        raise PipelineError(f"--split must be train, test or all, got {split!r}")
    at_least(max_images, "--max-images", 1)
    at_least(exact_sample, "--exact-sample", 0)
    weight = DistanceWeight(finite(weight_scale, "--weight-scale", low=0, low_open=True),
                            finite(weight_shape, "--weight-shape", low=0, low_open=True))
    if label is not None and (not label or "/" in label or label.startswith(".")):
        raise PipelineError(f"--label must be a plain name (no '/', not starting with '.'), got {label!r}")
    check_input(data_dir, "--data-dir", folder=True, optional=True)
    out = check_writable(out, folder=True)
    options = recorded_options(chosen, spec, key_options(chosen, data_dir, **key_given))
    key = chosen.key(spec, options)
    check_measurable(chosen, key)
    check_size(spec, weight)
    if not chosen.key_per_image(key):
        refuse_given(context, ["exact_sample"], f"only per-image keys take it; {chosen.name}'s key is one map for every image")
    splits = load_splits(data_dir, spec.name, split, max_images)
    record = chosen.record(key)
    result = {"dataset": spec.name, "encryption": chosen.name, "scheme": chosen.name, "key_seed": options.key_seed, "label": label or default_label(chosen, spec, options, record), "parameters": record,
              "weight": {"scale": weight.scale, "shape": weight.shape}, "splits": list(splits),
              **measure(chosen, key, spec, splits, weight, exact_sample)}
    path = write_json(out / f"{spec.name}_{result['label']}.json", result)
    typer.echo(f"{path}: information loss {result['total_loss_rate']:.2%} (value {result['value_loss_rate']:.2%}, "
               f"neighbouring {result['neighbour_loss_rate']:.2%}) over {result['images']} images in {result['seconds']} s")


if __name__ == "__main__":
    run(app)
