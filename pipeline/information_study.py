"""``python -m pipeline.information_study``: information loss against accuracy loss (``docs/information.md``).

    python -m pipeline.information_study accuracy --dataset mnist     # train the CPU preset on plain and every run
    python -m pipeline.information_study correlate --dataset mnist    # pair with the information results, correlate
    python -m pipeline.information_study run --params-file params.yaml --study study   # the graded study (params.yaml composed with +profile=study)

(:mod:`pipeline.evaluate.information_study`.)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from workbench.cli import at_least, meaning, run, typer_app
from workbench.paths import check_input, check_writable
from workbench.data.datasets import dataset_spec, load_split
from workbench.outputs import write_json
from pipeline.encrypt.options import DATA_DIR, KEY_FILE, DatasetName
from pipeline.errors import PipelineError
from pipeline.evaluate.information import encrypt_rows
from pipeline.evaluate.information_study import RESULTS, run_study, study_config, train_and_score
from pipeline.evaluate.study_definition import load_study
from pipeline.evaluate.study_plots import scatter_png, study_png
from pipeline.evaluate.study_runs import DEFAULT_RUNS, parse_run, study_encryptions
from pipeline.evaluate.study_stats import at_weight, collect_points, correlation, describe
from pipeline.evaluate.information import DistanceWeight
from train.errors import TrainError

app = typer_app(__doc__)


@app.command()
def accuracy(
    dataset: DatasetName = typer.Option("mnist", "--dataset", help=meaning("--dataset")),
    run_list: Optional[list[str]] = typer.Option(None, "--run", help="scheme[:option=value,...], repeatable, key options spelled as in study entries: vor:params=<file in data/<dataset>/params>, random:key-seed=0, etc:block-size=7 [default: the MNIST list of the docs]"),
    preset: Optional[str] = typer.Option(None, "--preset", help=meaning("--preset", "[default: <dataset>_smallcnn_cpu]")),
    key_file: Optional[Path] = KEY_FILE,
    train_images: Optional[int] = typer.Option(None, "--train-images", help="train on the first N training images only [default: all]"),
    test_images: Optional[int] = typer.Option(None, "--test-images", help="score on the first N test images only [default: all]"),
    data_dir: Path = DATA_DIR,
    out: Path = typer.Option(RESULTS, "--out", help=meaning("--out", "accuracy_<dataset>.json in this folder")),
) -> None:
    """Train the CPU preset on the plain images and on each encryption; record test accuracy."""
    spec = dataset_spec(dataset, data_dir)
    at_least(train_images, "--train-images", 1)
    at_least(test_images, "--test-images", 1)
    check_input(key_file, "--key-file")
    check_input(data_dir, "--data-dir", folder=True, optional=True)
    check_writable(out, folder=True)
    runs = list(run_list or DEFAULT_RUNS.get(spec.name, ()))
    if not runs:
        raise PipelineError(f"no default run list for {spec.name}; pass --run")
    preset = preset or f"{spec.name}_smallcnn_cpu"
    try:
        study_config(spec, preset)
    except TrainError as err:
        raise PipelineError(f"--preset: {err}") from None
    studied = [parse_run(r, spec, data_dir, key_file) for r in runs]
    (train_x, train_y), (test_x, test_y) = (load_split(data_dir, spec.name, "origin", s) for s in ("train", "test"))
    train_x, train_y, test_x, test_y = train_x[:train_images], train_y[:train_images], test_x[:test_images], test_y[:test_images]
    path = out / f"accuracy_{spec.name}.json"
    result = {"dataset": spec.name, "preset": preset, "train_images": len(train_x), "test_images": len(test_x),
              "origin": train_and_score(spec, preset, train_x, train_y, test_x, test_y), "runs": {}}
    typer.echo(f"origin: {result['origin']}")
    for one in studied:
        encrypted = encrypt_rows(one.scheme, one.key, spec, {"train": train_x, "test": test_x})
        result["runs"][one.label] = {"encryption": one.scheme.name, "parameters": one.scheme.record(one.key),
                                     **train_and_score(spec, preset, encrypted["train"], train_y, encrypted["test"], test_y)}
        typer.echo(f"{one.label}: {result['runs'][one.label]}")
        write_json(path, result)  # after every run: a long job keeps what it finished
    typer.echo(f"wrote {path}")


@app.command()
def correlate(
    dataset: DatasetName = typer.Option("mnist", "--dataset", help=meaning("--dataset")),
    results: Path = typer.Option(RESULTS, "--results", help="folder of <dataset>_<label>.json and accuracy_<dataset>.json"),
) -> None:
    """Correlate information-loss rates with accuracy-loss rates; write correlation.json and loss_vs_drop.png."""
    check_input(results, "--results", folder=True, optional=True)
    acc_path = results / f"accuracy_{dataset}.json"
    if not acc_path.exists():
        raise PipelineError(f"{acc_path} is missing; `python -m pipeline.information_study accuracy --dataset {dataset}` writes it")
    check_input(acc_path, "--results")
    try:
        acc = json.loads(acc_path.read_text())
        points = collect_points(results, str(dataset), acc)
    except (ValueError, KeyError, TypeError) as err:
        raise PipelineError(f"{results}: not results of the information study ({err})") from None
    stats = correlation(points)
    out = {"dataset": str(dataset), "preset": acc["preset"], "plain_accuracy": acc["origin"]["test_acc_final"], **stats,
           "points": [p.__dict__ for p in points]}
    write_json(results / "correlation.json", out)
    scatter_png(results / "loss_vs_drop.png", [p.label for p in points], [100 * p.information_loss for p in points],
                [100 * p.accuracy_loss_rate for p in points],
                f"{dataset}, {acc['preset']}: Pearson {stats['pearson']:.2f}, Spearman {stats['spearman']:.2f} (n = {stats['n']})",
                "information-loss rate (%)", "accuracy-loss rate (%)")
    typer.echo(f"Pearson {stats['pearson']:.3f} (p {stats['pearson_p']:.3g}), Spearman {stats['spearman']:.3f} "
               f"(p {stats['spearman_p']:.3g}) over {stats['n']} encryptions; wrote {results}/correlation.json, loss_vs_drop.png")


@app.command("run")
def run_command(
    params_file: Path = typer.Option(Path("params.yaml"), "--params-file", help=meaning("--params-file", "the one holding the study section")),
    study: str = typer.Option(..., "--study", help="the name of the study: the key under `study:`"),
    data_dir: Path = DATA_DIR,
    out: Path = typer.Option(RESULTS, "--out", help=meaning("--out", "<study>.json, <study>.png and <study>-runs/ (per-run results: a rerun resumes) in this folder")),
) -> None:
    """The graded study: information at every weight, training on plain and every encryption x seed, correlations."""
    definition = load_study(params_file, study)
    check_input(data_dir, "--data-dir", folder=True, optional=True)
    spec = dataset_spec(definition.dataset, data_dir)
    check_writable(out, folder=True)
    cache = out / f"{study}-runs"
    runs = study_encryptions(definition, spec, data_dir, cache / "params")
    (train_x, train_y), (test_x, test_y) = (load_split(data_dir, spec.name, "origin", s) for s in ("train", "test"))
    result = run_study(definition, spec, runs, (train_x[:definition.train_images], train_y[:definition.train_images]),
                       (test_x[:definition.test_images], test_y[:definition.test_images]),
                       train_x[:definition.information_images], cache, echo=typer.echo)
    write_json(out / f"{study}.json", result)
    study_png(out / f"{study}.png", result)
    typer.echo(f"total loss vs drop at the default weight: {describe(at_weight(result, DistanceWeight(), 'total'))}; "
               f"wrote {out / study}.json, .png")


if __name__ == "__main__":
    run(app)
