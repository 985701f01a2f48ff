"""The information study's trainings one after another on every core beside ``jobs`` at once.

    python benchmarks/study_jobs.py [--images 12000] [--epochs 1] [--jobs 2]

The same study (plain and three encryptions, two seeds: 8 trainings of the CPU recipe,
``fashion_smallcnn_cpu``, on generated 28 x 28 images) is run twice through
:func:`pipeline.evaluate.information_study.run_study`: with ``jobs: 1`` (one process, torch's
default threads) and with ``--jobs`` spawned processes of cores // jobs threads each. Printed:
wall seconds of each and their ratio (above 1: the parallel run is faster). The information
measure is part of both runs and tiny here (200 images).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import typer
import yaml

from workbench.cli import meaning, typer_app
from workbench.data.datasets import dataset_spec
from pipeline.evaluate.information_study import run_study
from pipeline.evaluate.study_definition import load_study
from pipeline.evaluate.study_runs import study_encryptions


def timed_study(folder: Path, jobs: int, images: int, epochs: int) -> float:
    params = folder / f"jobs{jobs}.yaml"
    params.write_text(yaml.safe_dump({"study": {"bench": {
        "dataset": "fashion", "seeds": [0, 1], "preset": "fashion_smallcnn_cpu", "train_options": {"epochs": epochs},
        "information_images": 200, "jobs": jobs, "weights": {"scale": [1.5], "shape": [2]},
        "encryptions": {"etc-b7": {"scheme": "etc", "block_size": 7}, "block-b4": {"scheme": "block", "block_size": 4},
                        "random": {"scheme": "random"}}}}}))
    study, spec = load_study(params, "bench"), dataset_spec("fashion")
    cache = folder / f"jobs{jobs}-runs"
    runs = study_encryptions(study, spec, folder, cache / "params")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (images + 2000, 784), dtype=np.uint8), rng.integers(0, 10, images + 2000)
    started = time.perf_counter()
    run_study(study, spec, runs, (x[:images], y[:images]), (x[images:], y[images:]), x[:200], cache, echo=lambda _: None)
    return time.perf_counter() - started


app = typer_app(__doc__)


@app.command()
def main(images: int = typer.Option(12000, help=meaning("--images", "generated training images")),
         epochs: int = typer.Option(1, help=meaning("--epochs", "per training")),
         jobs: int = typer.Option(2, help=meaning("--jobs", "in the parallel run"))) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        one = timed_study(Path(tmp), 1, images, epochs)
        many = timed_study(Path(tmp), jobs, images, epochs)
    threads = torch.get_num_threads()
    print(f"8 trainings, {images} images x {epochs} epoch(s): one process on {threads} threads {one:.1f} s; "
          f"{jobs} jobs on {max(1, threads // jobs)} thread(s) each {many:.1f} s; ratio {one / many:.2f} x")


if __name__ == "__main__":
    app()
