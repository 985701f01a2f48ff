"""Information loss against accuracy loss: does losing information cost accuracy? The trainings.

Training the CPU preset on plain and encrypted rows (:func:`train_and_score`), and the graded study
(:func:`run_study`: every encryption x seed, results cached, several trainings at once, then
:func:`analyse`). Its parts: the encryptions (``study_runs``), the study's definition
(``study_definition``), the statistics (``study_stats``, torch-free) and the pictures
(``study_plots``). The commands (``docs/information.md``):

* ``python -m pipeline.information_study accuracy --dataset mnist`` trains the CPU preset
  (``<dataset>_smallcnn_cpu``) on the plain images and on every encryption of the run list
  (default: the four MNIST vortex parameter sets, the random baseline, EtC and EtC's block
  scrambling), encrypting in memory exactly as ``pipeline.information`` measures them, and
  writes ``results/information/accuracy_<dataset>.json``.
* ``python -m pipeline.information_study correlate`` pairs every
  ``results/information/<dataset>_<label>.json`` with the accuracy of the same label and
  writes ``correlation.json`` (Pearson and Spearman coefficients of information-loss rate
  against accuracy-loss rate) and ``loss_vs_drop.png`` (the scatter plot).
"""
from __future__ import annotations

import json
import time
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from workbench.data.datasets import DatasetSpec, dataset_spec, pictures_from_rows
from workbench.outputs import read_json, write_json
from pipeline.evaluate.information import DistanceWeight, encrypt_rows, measure
from pipeline.evaluate.study_definition import StudyDefinition
from pipeline.evaluate.study_runs import StudyRun
from pipeline.evaluate.study_stats import PARTS, correlations
from pipeline.evaluate.workers import process_pool
from train.config import TrainConfig
from train.data import split_from_pictures
from train.loop import fit, resolve_device
from train.presets import get_preset

RESULTS = Path("results/information")


def study_config(spec, preset: str, **overrides) -> TrainConfig:
    """The training configuration of ``preset`` on ``spec``'s images (``overrides``: TrainConfig fields
    such as seed, epochs, device), on the CPU unless they say otherwise; a bad preset is a TrainError."""
    values = {**get_preset(preset), "device": "cpu", **overrides}
    values.pop("dataset", None)
    values.pop("scheme", None)  # the study encrypts its own copies in memory
    return TrainConfig(dataset=spec.name, preset=preset, out=None, **values)


def train_and_score(spec, preset: str, train_rows, train_labels, test_rows, test_labels, **overrides) -> dict:
    """Train ``preset`` (with ``overrides``: TrainConfig fields such as seed, epochs, device) on the rows;
    return best and final test accuracy and the seconds it took."""
    config = study_config(spec, preset, **overrides)
    device = resolve_device(config.device)
    started = time.perf_counter()
    result = fit(config, split_from_pictures(pictures_from_rows(train_rows, spec), train_labels, device),
                 split_from_pictures(pictures_from_rows(test_rows, spec), test_labels, device), progress=False)
    return {"test_acc_final": result.metrics["test_acc_final"], "test_acc_best": result.metrics["test_acc_best"],
            "epochs": result.metrics["epochs"], "seconds": round(time.perf_counter() - started, 1),
            "config": result.metrics["config"]}


def _stored(path: Path, setup: dict) -> Optional[dict]:
    """The result stored at ``path`` when it was made with the same ``setup`` (a damaged file counts as none)."""
    if path.exists():
        try:
            stored = read_json(path)
            if stored.get("setup") == json.loads(json.dumps(setup)):
                return stored
        except (ValueError, AttributeError):
            pass
    return None


def _store(path: Path, setup: dict, result: dict) -> dict:
    """Write ``result`` with its ``setup`` to ``path`` atomically; return what was written."""
    record = {"setup": json.loads(json.dumps(setup)), **result}
    write_json(path, record)
    return record


def _cached(path: Path, setup: dict, compute) -> dict:
    """The result stored at ``path`` when it was made with the same ``setup``; else ``compute()``, stored atomically."""
    stored = _stored(path, setup)
    return stored if stored is not None else _store(path, setup, compute())


@dataclass(frozen=True, eq=False)
class _Training:
    """One (encryption, seed) training still to do, and where its result goes."""

    label: str
    seed: int
    path: Path
    setup: dict
    run: Optional[StudyRun]  # None: the plain images


def _train_task(spec_name: str, preset: str, train: tuple, test: tuple, seed: int, threads: int, options: dict) -> dict:
    """One training in a worker process (module level, so that a spawned process can run it)."""
    torch.set_num_threads(threads)
    return train_and_score(dataset_spec(spec_name), preset, *train, *test, seed=seed, **options)


def _train_all(study: StudyDefinition, spec: DatasetSpec, trainings: list[_Training], train: tuple, test: tuple,
               threads: int):
    """Yield (training, result) as each finishes: in this process for one job, else in ``study.jobs``
    spawned processes with ``threads`` torch threads each, encrypting one training ahead per job (no
    more encrypted copies held than jobs running)."""
    (train_x, train_y), (test_x, test_y) = train, test

    def arguments(one: _Training) -> tuple:
        x_train, x_test = (train_x, test_x) if one.run is None else \
            encrypt_rows(one.run.scheme, one.run.key, spec, {"train": train_x, "test": test_x}).values()
        return spec.name, study.preset, (x_train, train_y), (x_test, test_y), one.seed, threads, study.train_options

    if study.jobs == 1:
        for one in trainings:
            yield one, _train_task(*arguments(one))
        return
    queue, pending = iter(trainings), {}
    with process_pool(study.jobs) as pool:
        def submit():
            one = next(queue, None)
            if one is not None:
                pending[pool.submit(_train_task, *arguments(one))] = one
        for _ in range(study.jobs):
            submit()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                one = pending.pop(future)
                submit()
                yield one, future.result()


def run_study(study: StudyDefinition, spec: DatasetSpec, runs: list[StudyRun], train: tuple, test: tuple,
              info_rows: np.ndarray, cache: Path, echo=print) -> dict:
    """Measure every encryption at every weight, train plain and every encryption with every seed
    (each result kept in ``cache``: a second call reuses what is finished; ``study.jobs`` trainings
    at once) and analyse (:func:`analyse`).

    Per-image permutations are measured by their exact expectation over the draw (no drawn sample:
    its P x P work per image would dominate the study)."""
    (train_x, _), (test_x, _) = train, test
    threads = max(1, torch.get_num_threads() // study.jobs)  # torch's default is one per core
    base = {"dataset": spec.name, "preset": study.preset, "train_options": study.train_options,
            "train_images": len(train_x), "test_images": len(test_x), "threads": threads}
    information_of, accuracy_of = {}, {}
    for one in runs:
        def measure_grid(one=one):
            return {"grid": [{"scale": w.scale, "shape": w.shape,
                              **{p: measure(one.scheme, one.key, spec, {"train": info_rows}, w, exact_sample=0)[f"{p}_loss_rate"]
                                 for p in PARTS}}
                             for w in study.weights]}
        information_of[one.label] = _cached(cache / f"{one.label}_information.json",
                                            {"parameters": one.scheme.record(one.key), "images": len(info_rows),
                                             "weights": [[w.scale, w.shape] for w in study.weights]}, measure_grid)["grid"]
    echo(f"measured information of {len(runs)} encryptions at {len(study.weights)} weights")

    def report(one: _Training, done: dict) -> None:
        accuracy_of[one.label][one.seed] = done
        echo(f"{one.label} seed {one.seed}: test accuracy {done['test_acc_final']:.4f} ({done['seconds']} s)")

    todo = []
    for label, encrypt in [("plain", None)] + [(one.label, one) for one in runs]:
        accuracy_of[label] = {}
        record = {} if encrypt is None else encrypt.scheme.record(encrypt.key)
        for seed in study.seeds:
            one = _Training(label, seed, cache / f"{label}_seed{seed}.json", {**base, "seed": seed, "parameters": record}, encrypt)
            stored = _stored(one.path, one.setup)
            if stored is None:
                todo.append(one)
            else:
                report(one, stored)
    for one, result in _train_all(study, spec, todo, train, test, threads):
        report(one, _store(one.path, one.setup, result))
    return {**analyse(study, runs, information_of, accuracy_of), "information_images": len(info_rows)}


def analyse(study: StudyDefinition, runs: list[StudyRun], information_of: dict, accuracy_of: dict) -> dict:
    """Every number of the study: accuracies per seed, drops (points, paired by seed) as mean +- sd,
    information losses at every weight, and the correlations at every weight (:func:`correlations`)."""
    seeds = list(study.seeds)
    plain = np.array([accuracy_of["plain"][s]["test_acc_final"] for s in seeds])
    encryptions = {}
    for one in runs:
        acc = np.array([accuracy_of[one.label][s]["test_acc_final"] for s in seeds])
        drop = 100 * (plain - acc)
        encryptions[one.label] = {"scheme": one.scheme.name, "parameters": one.scheme.record(one.key),
                                  "accuracy": acc.tolist(), "drop_pp": drop.tolist(), "drop_mean_pp": float(drop.mean()),
                                  "drop_sd_pp": float(drop.std(ddof=1)), "information": information_of[one.label]}
    labels = list(encryptions)
    y = np.array([encryptions[k]["drop_mean_pp"] for k in labels])
    table = []
    for i, w in enumerate(study.weights):
        for part in PARTS:
            x = np.array([encryptions[k]["information"][i][part] for k in labels])
            for with_baseline in ([True, False] if study.baseline else [True]):
                keep = np.array([with_baseline or k != study.baseline for k in labels])
                table.append({"scale": w.scale, "shape": w.shape, "part": part, "with_baseline": with_baseline,
                              **correlations(x[keep], y[keep], study.resamples, study.bootstrap_seed)})
    seconds = [r["seconds"] for by_seed in accuracy_of.values() for r in by_seed.values()]
    return {"study": study.name, "dataset": study.dataset, "preset": study.preset, "train_options": study.train_options,
            "train_images": accuracy_of["plain"][seeds[0]]["setup"]["train_images"],
            "test_images": accuracy_of["plain"][seeds[0]]["setup"]["test_images"],
            "seeds": seeds, "jobs": study.jobs, "threads": accuracy_of["plain"][seeds[0]]["setup"]["threads"],
            "baseline": study.baseline,
            "bootstrap": {"resamples": study.resamples, "seed": study.bootstrap_seed, "level": 0.95},
            "default_weight": {"scale": DistanceWeight().scale, "shape": DistanceWeight().shape},
            "plain": {"accuracy": plain.tolist(), "mean": float(plain.mean()), "sd": float(plain.std(ddof=1))},
            "training_seconds_per_run": float(np.mean(seconds)), "runs": len(seconds),
            "encryptions": encryptions, "correlations": table}
