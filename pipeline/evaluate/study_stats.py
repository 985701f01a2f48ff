"""The study's statistics, without torch (the report reads them): the points (information loss,
accuracy drop) of each encryption, Pearson and Spearman coefficients with bootstrap intervals, and
one correlation row of a stored result in words."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from workbench.outputs import read_json
from pipeline.errors import PipelineError
from pipeline.evaluate.information import DistanceWeight

#: Parts of the information whose loss rates are correlated with the accuracy drop.
#: Parts of the information whose loss rates are correlated with the accuracy drop.
PARTS = ("total", "value", "neighbour")

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
