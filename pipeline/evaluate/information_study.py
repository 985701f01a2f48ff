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
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image, ImageDraw
from scipy import stats

from matlab_compat import atomic_output
from pipeline.data.datasets import DatasetSpec, pictures_from_rows
from pipeline.encrypt.etc_key import SECRET_ENV
from pipeline.encrypt.registry import get_scheme
from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.errors import PipelineError
from pipeline.evaluate.information import default_label
from train.config import TrainConfig
from train.data import split_from_pictures
from train.loop import fit
from train.presets import get_preset

RESULTS = Path("results/information")
#: The secret of the study's secret-keyed runs when no key is given: public on purpose (an
#: experiment seed, not a secret), so that anyone can rerun the same keys.
PUBLIC_EXPERIMENT_SECRET = b"vortex-port information report, public key"
#: The default run list: ``scheme[:argument]`` (vor: parameter file stem; block-wise schemes: block size).
DEFAULT_RUNS = {
    "mnist": ("vor:vor_params_mnist_result", "random", "etc:7", "vor:vor_params_mnist_sensitivity1",
              "vor:vor_params_mnist_sensitivity2", "vor:vor_params_mnist_sensitivity3", "etc:4", "block:7"),
}


@dataclass(frozen=True, eq=False)
class StudyRun:
    """One encryption of the study: a scheme with its key, under the label its results carry."""

    label: str
    scheme: Scheme
    key: object


def parse_run(run: str, spec: DatasetSpec, data_dir: Path, key_file: Optional[Path]) -> StudyRun:
    """``vor:<params stem>``, ``random``, ``<block-wise scheme>:<block>`` (etc:7, block:7) -> a StudyRun.

    Secret-keyed schemes use ``key_file`` or ``$VORTEX_ETC_SECRET``, else the study's public
    experiment secret; ``random`` uses MATLAB's default stream (seed 0)."""
    name, _, arg = run.partition(":")
    scheme = get_scheme(name)
    given: dict = {"data_dir": data_dir}
    if "params" in scheme.options and arg:
        given["params"] = Path(data_dir) / spec.name / "params" / f"{arg}.mat"
    elif "block_size" in scheme.options:
        if not arg.isdigit():
            raise PipelineError(f"run {run!r}: give the block size, e.g. {name}:7")
        given["block_size"] = int(arg)
    elif arg:
        raise PipelineError(f"run {run!r}: {name} takes no argument")
    if "key_file" in scheme.options:
        if key_file is not None:
            given["key_file"] = key_file
        elif not os.environ.get(SECRET_ENV):
            given["secret"] = PUBLIC_EXPERIMENT_SECRET
    if "seed" in scheme.options:
        given["seed"] = 0  # the study encrypts its own copies: MATLAB's default stream
    options = KeyOptions(**given)
    key = scheme.key(spec, options)
    return StudyRun(default_label(scheme, spec, options, scheme.record(key)), scheme, key)


def train_and_score(spec, preset: str, train_rows, train_labels, test_rows, test_labels) -> dict:
    """Train ``preset`` on the rows, return best and final test accuracy and the seconds it took."""
    values = get_preset(preset)
    values.pop("dataset", None)
    config = TrainConfig(dataset=spec.name, preset=preset, device="cpu", out=None, **values)
    started = time.perf_counter()
    result = fit(config, split_from_pictures(pictures_from_rows(train_rows, spec), train_labels, "cpu"),
                 split_from_pictures(pictures_from_rows(test_rows, spec), test_labels, "cpu"), progress=False)
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
        info = json.loads(path.read_text())
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


def scatter_png(path: Path, points: list[Point], title: str, size: tuple[int, int] = (760, 560)) -> None:
    """A labelled scatter plot (PIL): information-loss rate (x) against accuracy-loss rate (y), in percent."""
    width, height = size
    left, right, top, bottom = 80, 30, 50, 70
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    xs = [100 * p.information_loss for p in points]
    ys = [100 * p.accuracy_loss_rate for p in points]

    def axis_range(values):
        lo, hi = min(values + [0.0]), max(values)
        step = _nice_step((hi - lo) or 1.0)
        return math.floor(lo / step) * step, math.ceil(hi / step) * step + (step if hi == math.ceil(hi / step) * step else 0), step

    (x0, x1, xstep), (y0, y1, ystep) = axis_range(xs), axis_range(ys)

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
    draw.text((left, 15), title, fill="black")
    draw.text(((width - 230) // 2, height - 30), "information-loss rate (%)", fill="black")
    draw.text((8, top - 22), "accuracy-loss rate (%)", fill="black")
    for p, x, y in zip(points, xs, ys):
        px, py = to_px(x, y)
        draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill="#c0392b")
        draw.text((px + 6, py - 12), p.label, fill="#333333")
    with atomic_output(path) as tmp:
        img.save(tmp, format="PNG")


def _nice_step(span: float) -> float:
    raw = span / 6
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
