"""CLI: see :mod:`pipeline.evaluate.information_study`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional
import typer
from pipeline.data.datasets import dataset_spec, load_split, pictures_from_rows
from pipeline.errors import PipelineError
from pipeline.evaluate.information_study import DEFAULT_RUNS, RESULTS, collect_points, correlation, parse_run, scatter_png, train_and_score

app = typer.Typer(add_completion=False, help="Information-loss rate against accuracy-loss rate (docs/information.md).")


@app.command()
def accuracy(
    dataset: str = typer.Option("mnist", help="mnist, fashion or cifar10"),
    run: Optional[list[str]] = typer.Option(None, help="encryption[:arg], repeatable: vor:<params stem>, random, etc:<block>, blocks:<block> [default: the MNIST list of the docs]"),
    preset: Optional[str] = typer.Option(None, help="training preset [default: <dataset>_smallcnn_cpu]"),
    key_file: Optional[Path] = typer.Option(None, help="EtC secret file [default: $VORTEX_ETC_SECRET, else the report's public experiment key]"),
    train_images: Optional[int] = typer.Option(None, help="train on the first N training images only [default: all]"),
    test_images: Optional[int] = typer.Option(None, help="score on the first N test images only [default: all]"),
    data_dir: Path = typer.Option(Path("data"), help="the project's data folder"),
    output_dir: Path = typer.Option(RESULTS, help="writes accuracy_<dataset>.json here"),
) -> None:
    """Train the CPU preset on the plain images and on each encryption; record test accuracy."""
    from matlab_compat import atomic_output

    try:
        spec = dataset_spec(dataset)
        runs = list(run or DEFAULT_RUNS.get(spec.name, ()))
        if not runs:
            raise PipelineError(f"no default run list for {spec.name}; pass --run")
        preset = preset or f"{spec.name}_smallcnn_cpu"
        encryptions = [parse_run(r, spec, data_dir, key_file) for r in runs]
        (train_x, train_y), (test_x, test_y) = (load_split(data_dir, spec.name, "origin", s) for s in ("train", "test"))
        train_x, train_y, test_x, test_y = train_x[:train_images], train_y[:train_images], test_x[:test_images], test_y[:test_images]
        path = output_dir / f"accuracy_{spec.name}.json"
        out = {"dataset": spec.name, "preset": preset, "train_images": len(train_x), "test_images": len(test_x),
               "origin": train_and_score(spec, preset, train_x, train_y, test_x, test_y), "runs": {}}
        typer.echo(f"origin: {out['origin']}")
        for enc in encryptions:
            encrypted = enc.encrypt({"train": train_x, "test": test_x})
            out["runs"][enc.label] = {"encryption": enc.name, "parameters": enc.record,
                                      **train_and_score(spec, preset, encrypted["train"], train_y, encrypted["test"], test_y)}
            typer.echo(f"{enc.label}: {out['runs'][enc.label]}")
            with atomic_output(path) as tmp:  # after every run: a long job keeps what it finished
                tmp.write_text(json.dumps(out, indent=2) + "\n")
    except PipelineError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {path}")


@app.command()
def correlate(
    dataset: str = typer.Option("mnist", help="mnist, fashion or cifar10"),
    results: Path = typer.Option(RESULTS, help="folder of <dataset>_<label>.json and accuracy_<dataset>.json"),
) -> None:
    """Correlate information-loss rates with accuracy-loss rates; write correlation.json and loss_vs_drop.png."""
    from matlab_compat import atomic_output

    try:
        acc_path = results / f"accuracy_{dataset}.json"
        if not acc_path.exists():
            raise PipelineError(f"{acc_path} is missing; `python -m pipeline.information_report accuracy --dataset {dataset}` writes it")
        acc = json.loads(acc_path.read_text())
        points = collect_points(results, dataset, acc)
        stats = correlation(points)
        out = {"dataset": dataset, "preset": acc["preset"], "plain_accuracy": acc["origin"]["test_acc_final"], **stats,
               "points": [p.__dict__ for p in points]}
        with atomic_output(results / "correlation.json") as tmp:
            tmp.write_text(json.dumps(out, indent=2) + "\n")
        scatter_png(results / "loss_vs_drop.png", points,
                    f"{dataset}, {acc['preset']}: Pearson {stats['pearson']:.2f}, Spearman {stats['spearman']:.2f} (n = {stats['n']})")
    except PipelineError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Pearson {stats['pearson']:.3f} (p {stats['pearson_p']:.3g}), Spearman {stats['spearman']:.3f} "
               f"(p {stats['spearman_p']:.3g}) over {stats['n']} encryptions; wrote {results}/correlation.json, loss_vs_drop.png")


if __name__ == "__main__":
    app()
