"""Information loss against accuracy loss: does losing information cost accuracy?

Two commands (``docs/information.md``):

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
import math
import multiprocessing
import os
import re
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import yaml
from PIL import Image, ImageDraw
from scipy import stats

from matlab_compat import atomic_output
from matlab_compat.rng import rng
from workbench.paths import check_input
from workbench.data.datasets import DatasetSpec, dataset_spec, pictures_from_rows
from workbench.outputs import read_json, write_json
from pipeline.encrypt.etc_key import SECRET_ENV
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions, Scheme, field_of, spelled
from workbench.data.matfiles import write_mat
from pipeline.encrypt.vortex_params import new_vor_params
from pipeline.errors import PipelineError
from pipeline.evaluate.information import DistanceWeight, default_label, encrypt_rows, measure
from train.config import TrainConfig
from train.errors import TrainError
from train.data import split_from_pictures
from train.loop import fit, resolve_device
from train.presets import get_preset

RESULTS = Path("results/information")
#: The secret of the study's secret-keyed runs when no key is given: public on purpose (an
#: experiment seed, not a secret), so that anyone can rerun the same keys.
PUBLIC_EXPERIMENT_SECRET = b"vortex-port information report, public key"
#: The default run list: ``scheme[:option=value,...]``, key options spelled as in params and study entries.
DEFAULT_RUNS = {
    "mnist": ("vor:params=vor_params_mnist_result.mat", "random", "etc:block-size=7",
              "vor:params=vor_params_mnist_sensitivity1.mat", "vor:params=vor_params_mnist_sensitivity2.mat",
              "vor:params=vor_params_mnist_sensitivity3.mat", "etc:block-size=4", "block:block-size=7"),
}


@dataclass(frozen=True, eq=False)
class StudyRun:
    """One encryption of the study: a scheme with its key, under the label its results carry."""

    label: str
    scheme: Scheme
    key: object


def parse_run(run: str, spec: DatasetSpec, data_dir: Path, key_file: Optional[Path]) -> StudyRun:
    """``scheme[:option=value,...]`` (``random``, ``etc:block-size=7``, ``vor:params=vor_params_mnist_result.mat``)
    -> a StudyRun; the options are a study entry's (:func:`study_encryptions`), spelled the same way.

    Secret-keyed schemes use ``key_file`` or ``$VORTEX_SECRET``, else the study's public
    experiment secret; ``random`` uses MATLAB's default stream (key seed 0)."""
    name, _, rest = run.partition(":")
    entry: dict = {"scheme": name}
    for part in filter(None, rest.split(",")):
        option, equals, value = part.partition("=")
        if not equals or not value:
            raise PipelineError(f"--run {run!r}: give options as option=value, e.g. etc:block-size=7")
        entry[option] = int(value) if value.isdigit() else value
    scheme, given, draw = _check_entry(f"--run {run!r}", entry)
    if "params" in given:
        given["params"] = Path(data_dir) / spec.name / "params" / str(given["params"])
    if key_file is not None and "key_file" in scheme.options:
        given["key_file"] = key_file
    elif os.environ.get(SECRET_ENV):
        given["secret"] = None
    return study_run(scheme, spec, data_dir, given)


def study_run(scheme: Scheme, spec: DatasetSpec, data_dir: Path, given: dict, label: Optional[str] = None) -> StudyRun:
    """The key of ``scheme`` from the ``given`` key options, with the study's defaults for the rest.

    A secret-keyed scheme without a key file (or an explicit ``secret: None``, meaning
    ``$VORTEX_SECRET``) gets the public experiment secret; per-image draws use MATLAB's
    default stream (seed 0): the study encrypts its own copies."""
    given = dict(given)
    if "key_file" in scheme.options and "key_file" not in given:
        given.setdefault("secret", PUBLIC_EXPERIMENT_SECRET)
    if "key_seed" in scheme.options:
        given.setdefault("key_seed", 0)
    options = KeyOptions(data_dir=Path(data_dir), **{k: v for k, v in given.items() if v is not None})
    key = scheme.key(spec, options)
    return StudyRun(label or default_label(scheme, spec, options, scheme.record(key)), scheme, key)


def study_config(spec, preset: str, **overrides) -> TrainConfig:
    """The training configuration of ``preset`` on ``spec``'s images (``overrides``: TrainConfig fields
    such as seed, epochs, device), on the CPU unless they say otherwise; a bad preset is a TrainError."""
    values = {**get_preset(preset), "device": "cpu", **overrides}
    values.pop("dataset", None)
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


@dataclass(frozen=True)
class Point:
    label: str
    information_loss: float
    accuracy: float
    accuracy_drop: float  # points (fraction) lost against the plain images
    accuracy_loss_rate: float  # drop / plain accuracy


def correlation(points: list[Point]) -> dict:
    """Pearson and Spearman coefficients (with p-values) of information loss against accuracy-loss rate."""
    if len(points) < 3:
        raise PipelineError(f"a correlation needs at least 3 encryptions with both measurements, got {len(points)}")
    x = np.array([p.information_loss for p in points])
    y = np.array([p.accuracy_loss_rate for p in points])
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise PipelineError("all information-loss rates (or all accuracy drops) are equal: no correlation is defined")
    pearson, spearman = stats.pearsonr(x, y), stats.spearmanr(x, y)
    return {"n": len(points), "pearson": float(pearson.statistic), "pearson_p": float(pearson.pvalue),
            "spearman": float(spearman.statistic), "spearman_p": float(spearman.pvalue)}


def collect_points(results: Path, dataset: str, accuracy: dict) -> list[Point]:
    """One point per ``<dataset>_<label>.json`` whose label has an accuracy in ``accuracy``.

    The two must describe the same encryption (parameter file and vortex count, EtC key fingerprint, seed).
    """
    plain = accuracy["origin"]["test_acc_final"]
    points = []
    for path in sorted(results.glob(f"{dataset}_*.json")):
        info = read_json(path)
        if "total_loss_rate" not in info or info.get("dataset") != dataset:
            continue
        run = accuracy["runs"].get(info["label"])
        if run is None:
            continue
        if "parameters" in run and run["parameters"] != info.get("parameters"):
            raise PipelineError(f"{path}: measured with {info.get('parameters')}, but {info['label']} was trained with {run['parameters']}")
        acc = run["test_acc_final"]
        points.append(Point(info["label"], info["total_loss_rate"], acc, plain - acc, (plain - acc) / plain))
    return points


def scatter_png(path: Path, labels: list[str], xs: list[float], ys: list[float], title: str, x_title: str, y_title: str,
                errors: Optional[list[float]] = None) -> None:
    """A labelled scatter plot of ``ys`` against ``xs`` (:func:`scatter_image`) saved as a PNG."""
    with atomic_output(path) as tmp:
        scatter_image(labels, xs, ys, title, x_title, y_title, errors).save(tmp, format="PNG")


def scatter_image(labels: list[str], xs: list[float], ys: list[float], title: str, x_title: str, y_title: str,
                  errors: Optional[list[float]] = None, size: tuple[int, int] = (760, 560)) -> Image.Image:
    """A labelled scatter plot (PIL) of ``ys`` against ``xs``, with vertical error bars ``ys +- errors`` when given."""
    width, height = size
    left, right, top, bottom = 80, 30, 64, 70
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    errors = list(errors) if errors is not None else [0.0] * len(ys)

    def axis_range(values):
        lo, hi = min(values + [0.0]), max(values)
        step = _nice_step((hi - lo) or 1.0)
        return math.floor(lo / step) * step, math.ceil(hi / step) * step + (step if hi == math.ceil(hi / step) * step else 0), step

    (x0, x1, xstep) = axis_range(list(xs))
    (y0, y1, ystep) = axis_range([y - e for y, e in zip(ys, errors)] + [y + e for y, e in zip(ys, errors)])

    def to_px(x, y):
        return (left + (x - x0) / (x1 - x0) * (width - left - right), height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom))

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for i in range(int(round((x1 - x0) / xstep)) + 1):
        x = x0 + i * xstep
        px, _ = to_px(x, y0)
        draw.line([px, height - bottom, px, height - bottom + 5], fill="black")
        draw.text((px - 10, height - bottom + 8), f"{x:g}", fill="black")
    for i in range(int(round((y1 - y0) / ystep)) + 1):
        y = y0 + i * ystep
        _, py = to_px(x0, y)
        draw.line([left - 5, py, left, py], fill="black")
        draw.text((left - 40, py - 6), f"{y:g}", fill="black")
    draw.text((left, 8), title, fill="black")
    draw.text(((width - 6 * len(x_title)) // 2, height - 30), x_title, fill="black")
    draw.text((8, top - 22), y_title, fill="black")
    for label, x, y, e in zip(labels, xs, ys, errors):
        px, py = to_px(x, y)
        if e > 0:
            _, lo = to_px(x, y - e)
            _, hi = to_px(x, y + e)
            draw.line([px, lo, px, hi], fill="#7f8c8d")
            draw.line([px - 4, lo, px + 4, lo], fill="#7f8c8d")
            draw.line([px - 4, hi, px + 4, hi], fill="#7f8c8d")
        draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill="#c0392b")
        draw.text((px + 6, py - 12), label, fill="#333333")
    return img


def _nice_step(span: float) -> float:
    raw = span / 6
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


# --- the graded study: many encryptions x seeds x distance weights (``python -m pipeline.information_study run``) ---

#: Parts of the information whose loss rates are correlated with the accuracy drop.
PARTS = ("total", "value", "neighbour")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_STUDY_FIELDS = {"dataset", "seeds", "preset", "train_options", "train_images", "test_images", "information_images", "jobs",
                 "baseline", "bootstrap", "weights", "encryptions"}


@dataclass(frozen=True)
class StudyDefinition:
    """One ``study.<name>`` section of a params file (conf/profile/study.yaml documents every field)."""

    name: str
    dataset: str
    seeds: tuple[int, ...]
    preset: str
    train_options: dict
    train_images: Optional[int]
    test_images: Optional[int]
    information_images: int
    baseline: Optional[str]
    resamples: int
    bootstrap_seed: int
    weights: tuple[DistanceWeight, ...]  # the grid; the measure's default weight is always one of them
    encryptions: dict
    jobs: int = 1  # trainings at once, each on cores // jobs torch threads (small CNNs use 2 threads poorly)


def load_study(params_file: Path, name: str) -> StudyDefinition:
    """The study ``name`` of ``params_file``, checked field by field (errors name ``study.<name>.<field>``)."""
    check_input(params_file, "--params-file")  # missing, or a FIFO that would block the read
    try:
        params = yaml.safe_load(Path(params_file).read_text())
    except yaml.YAMLError as err:
        raise PipelineError(f"--params-file {params_file}: not YAML ({str(err).splitlines()[0]})") from None
    studies = params.get("study") if isinstance(params, dict) else None
    if not isinstance(studies, dict) or name not in studies:
        raise PipelineError(f"--study {name}: {params_file} has no study.{name} section (it has: {', '.join(studies or {}) or 'none'})")
    raw, where = studies[name], f"{params_file}: study.{name}"
    if not isinstance(raw, dict):
        raise PipelineError(f"{where}: must be a mapping")
    unknown = set(raw) - _STUDY_FIELDS
    if unknown:
        raise PipelineError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_STUDY_FIELDS))}")

    def count(field, default, low=1):
        value = raw.get(field, default)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
            raise PipelineError(f"{where}.{field}: must be an integer >= {low}, got {value!r}")
        return value

    seeds = raw.get("seeds")
    if not isinstance(seeds, list) or len(seeds) < 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds) \
            or len(set(seeds)) != len(seeds):
        raise PipelineError(f"{where}.seeds: give at least 2 distinct integer seeds >= 0, got {seeds!r}")
    preset = raw.get("preset")
    try:
        get_preset(preset)
    except (TrainError, TypeError) as err:
        raise PipelineError(f"{where}.preset: {err}") from None
    train_options = raw.get("train_options") or {}
    known_train = {f.name for f in fields(TrainConfig)} - {"dataset", "preset", "out", "seed"}
    if not isinstance(train_options, dict) or set(train_options) - known_train:
        raise PipelineError(f"{where}.train_options: TrainConfig fields other than seed only, got {train_options!r}")
    bootstrap = raw.get("bootstrap") or {}
    resamples, boot_seed = bootstrap.get("resamples", 2000), bootstrap.get("seed", 0)
    if not isinstance(resamples, int) or resamples < 100 or not isinstance(boot_seed, int) or boot_seed < 0:
        raise PipelineError(f"{where}.bootstrap: resamples >= 100 and seed >= 0 (integers), got {bootstrap!r}")
    grid = raw.get("weights") or {}
    try:
        scales, shapes = [float(v) for v in grid.get("scale", [])], [float(v) for v in grid.get("shape", [])]
        weights = [DistanceWeight(sc, sh) for sc in scales for sh in shapes]
    except (TypeError, ValueError, AttributeError, PipelineError) as err:
        raise PipelineError(f"{where}.weights: lists of scales and shapes > 0 ({err})") from None
    if DistanceWeight() not in weights:
        weights.insert(0, DistanceWeight())
    encryptions = raw.get("encryptions")
    if not isinstance(encryptions, dict) or len(encryptions) < 3:
        raise PipelineError(f"{where}.encryptions: give at least 3 encryptions as label: {{scheme: ..., options}}")
    for label, entry in encryptions.items():
        if not _LABEL.match(str(label)) or label == "plain":
            raise PipelineError(f"{where}.encryptions.{label}: labels are letters, digits, '.', '_', '-' (and not 'plain')")
        if not isinstance(entry, dict) or "scheme" not in entry:
            raise PipelineError(f"{where}.encryptions.{label}: must be a mapping with a scheme")
    baseline = raw.get("baseline")
    if baseline is not None and baseline not in encryptions:
        raise PipelineError(f"{where}.baseline: {baseline!r} is not one of the encryptions")
    return StudyDefinition(name, str(dataset_spec_name(raw.get("dataset"), where)), tuple(seeds), preset, dict(train_options),
                           count("train_images", None), count("test_images", None), count("information_images", 10000),
                           baseline, resamples, boot_seed, tuple(weights), dict(encryptions), count("jobs", 1))


def dataset_spec_name(name, where: str) -> str:
    """A known dataset name, or an error naming the field."""
    try:
        return dataset_spec(str(name)).name
    except PipelineError as err:
        raise PipelineError(f"{where}.dataset: {err}") from None


def study_encryptions(study: StudyDefinition, spec: DatasetSpec, data_dir: Path, draw_dir: Path) -> list[StudyRun]:
    """The study's encryptions with their keys. Key options are those the scheme reads (its ``options``,
    spelled ``block-size``; ``params`` a file name in data/<dataset>/params/); ``draw: {key-seed, vortices,
    scale}`` draws fresh parameters with :func:`new_vor_params` on ``rng(key-seed)`` into ``draw_dir``
    (schemes reading ``params``).
    Every entry is checked before the first draw is written."""
    checked = {label: _check_entry(f"study.{study.name}.encryptions.{label}", entry) for label, entry in study.encryptions.items()}
    runs = []
    for label, (scheme, given, draw) in checked.items():
        where = f"study.{study.name}.encryptions.{label}"
        if "params" in given:
            given["params"] = Path(data_dir) / spec.name / "params" / str(given["params"])
        if draw is not None:
            given["params"], given["vortices"] = draw_params(draw, spec, draw_dir, where)
        try:
            runs.append(study_run(scheme, spec, data_dir, given, label=str(label)))
        except (PipelineError, TypeError) as err:
            raise PipelineError(f"{where}: {err}") from None
    return runs


def _check_entry(where: str, entry: dict) -> tuple[Scheme, dict, Optional[dict]]:
    """(scheme, key options by field name, draw) of one encryption entry, or an error naming it.

    Key options are spelled as params files and the command line spell them (``block-size``)."""
    try:
        scheme = SCHEMES.get(str(entry["scheme"]))
    except PipelineError as err:
        raise PipelineError(f"{where}: {err}") from None
    allowed = {spelled(o) for o in scheme.options} - {"key-file"} | ({"draw"} if "params" in scheme.options else set())
    extra = set(entry) - allowed - {"scheme"}
    if extra:
        raise PipelineError(f"{where}: {scheme.name} takes {', '.join(sorted(allowed)) or 'no options'}, not {', '.join(sorted(extra))}")
    draw = entry.get("draw")
    if draw is not None:
        if "params" in entry:
            raise PipelineError(f"{where}: give params or draw, not both")
        if not isinstance(draw, dict) or set(draw) != {"key-seed", "vortices", "scale"} or not (
                isinstance(draw["key-seed"], int) and draw["key-seed"] >= 0 and isinstance(draw["vortices"], int)
                and 1 <= draw["vortices"] <= 100 and isinstance(draw["scale"], (int, float)) and draw["scale"] > 0):
            raise PipelineError(f"{where}.draw: give key-seed >= 0, vortices 1..100 (integers) and scale > 0, got {draw!r}")
    return scheme, {field_of(k): v for k, v in entry.items() if k not in ("scheme", "draw")}, draw


def draw_params(draw: dict, spec: DatasetSpec, folder: Path, where: str) -> tuple[Path, int]:
    """Fresh vortex parameters ``{key-seed, vortices, scale}`` (Random_Function's degree scale) written to ``folder``."""
    _check_entry(where, {"scheme": "vor", "draw": draw})
    seed, vortices, scale = draw["key-seed"], draw["vortices"], draw["scale"]
    rows = new_vor_params(vortices, spec.height, spec.width, float(scale), rng(seed))
    path = Path(folder) / f"vor_params_{spec.prefix}_draw_s{seed}_v{vortices}_x{scale:g}.mat"
    path.parent.mkdir(parents=True, exist_ok=True)
    cell = np.empty((1, len(rows)), dtype=object)  # the 1 x V cell vor_par, as the published files hold it
    cell[0, :] = [row.reshape(1, -1) for row in rows]
    write_mat(path, {"vor_par": cell})
    return path, vortices


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
    with ProcessPoolExecutor(study.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
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


def correlations(x: np.ndarray, y: np.ndarray, resamples: int, seed: int) -> dict:
    """Pearson and Spearman coefficients of ``y`` on ``x`` with scipy's p-values and percentile bootstrap
    95 % intervals (:func:`bootstrap`); None where a coefficient is undefined (a constant side)."""
    out: dict = {"n": int(len(x))}
    boot = bootstrap(x, y, resamples, seed)
    for name, test in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr)):
        defined = len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0
        result = test(x, y) if defined else None
        samples = boot[name][np.isfinite(boot[name])]
        out[name] = {"r": float(result.statistic) if defined else None, "p": float(result.pvalue) if defined else None,
                     "ci95": [float(v) for v in np.percentile(samples, [2.5, 97.5])] if defined and samples.size else None,
                     "resamples_defined": int(samples.size)}
    return out


def bootstrap(x: np.ndarray, y: np.ndarray, resamples: int, seed: int) -> dict[str, np.ndarray]:
    """Pearson and Spearman coefficients of ``resamples`` resamples of the (x, y) pairs drawn with
    replacement (``numpy.random.default_rng(seed).integers(0, n, (resamples, n))``); NaN where a
    resample has a constant side."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    index = np.random.default_rng(seed).integers(0, len(x), size=(resamples, len(x)))
    xs, ys = x[index], y[index]
    return {"pearson": _rowwise_pearson(xs, ys),
            "spearman": _rowwise_pearson(stats.rankdata(xs, axis=1), stats.rankdata(ys, axis=1))}


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a - a.mean(axis=1, keepdims=True), b - b.mean(axis=1, keepdims=True)
    norm = np.sqrt((a**2).sum(axis=1) * (b**2).sum(axis=1))
    scale = np.maximum(np.abs(a).max(axis=1), 1e-300) * np.maximum(np.abs(b).max(axis=1), 1e-300)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=1) / norm
    return np.where(norm > 1e-12 * scale * a.shape[1], np.clip(r, -1.0, 1.0), np.nan)


def at_weight(result: dict, weight: DistanceWeight, part: str, with_baseline: bool = True) -> dict:
    """The correlation row of ``result`` at one weight, part and baseline choice."""
    return next(c for c in result["correlations"] if (c["scale"], c["shape"], c["part"], c["with_baseline"])
                == (weight.scale, weight.shape, part, with_baseline))


def describe(row: dict) -> str:
    """``Pearson r [lo, hi], Spearman r [lo, hi] (n = N)`` of a correlation row; n/a where undefined."""
    def one(c):
        if c["r"] is None:
            return "n/a"
        return f"{c['r']:.2f}" + (f" [{c['ci95'][0]:.2f}, {c['ci95'][1]:.2f}]" if c["ci95"] else "")
    return f"Pearson {one(row['pearson'])}, Spearman {one(row['spearman'])} (n = {row['n']})"


def study_png(path: Path, result: dict) -> None:
    """Accuracy drop (mean +- sd over seeds) against the total information loss at the default weight:
    every encryption, and beside it the same without the study's baseline (whose large drop would
    otherwise squeeze the rest into one line at the bottom)."""
    weight = DistanceWeight()
    e = result["encryptions"]
    index = next(i for i, g in enumerate(next(iter(e.values()))["information"])
                 if (g["scale"], g["shape"]) == (weight.scale, weight.shape))

    def panel(labels: list[str], with_baseline: bool) -> Image.Image:
        which = "" if with_baseline else f"without {result['baseline']}: "
        title = (f"{result['dataset']}, {result['preset']}, {len(result['seeds'])} seeds, weight {weight.scale:g}, "
                 f"{weight.shape:g}\n{which}{describe(at_weight(result, weight, 'total', with_baseline))}")
        return scatter_image(labels, [100 * e[k]["information"][index]["total"] for k in labels],
                             [e[k]["drop_mean_pp"] for k in labels], title, "total information-loss rate (%)",
                             "accuracy drop (points, mean +- sd)", [e[k]["drop_sd_pp"] for k in labels])

    panels = [panel(list(e), True)]
    if result["baseline"] in e:
        panels.append(panel([k for k in e if k != result["baseline"]], False))
    img = Image.new("RGB", (sum(p.width for p in panels), max(p.height for p in panels)), "white")
    for i, one in enumerate(panels):
        img.paste(one, (sum(p.width for p in panels[:i]), 0))
    with atomic_output(path) as tmp:
        img.save(tmp, format="PNG")
