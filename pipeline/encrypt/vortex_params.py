"""Vortex parameters: the ``vor_par`` cell of ``vor_params_*.mat``, read, checked and drawn anew.

A parameter row is ``[c1, c2, r, d_1, ..., d_k]`` (MATLAB's 1-based centre, the radius and the
"degree" vector). Rows with ``r <= 0`` are no-ops (``[c, c, -1, 1]``, ``[c, c, 0, 1]``); a row
with ``r >= 1`` needs at least ``r`` degree values (``degree(q)`` for ``q = 1..r``).
:func:`new_vor_params` draws fresh rows by the rules of ``Random_Function.m`` on MATLAB's
random stream (spec section 6).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from matlab_compat.rng import MatlabStream
from matlab_compat.semantics import mround
from workbench.data.matfiles import read_mat, write_mat
from pipeline.errors import PipelineError


def param_rows(vor_par, where: str = "vor_par") -> list[np.ndarray]:
    """The rows of ``vor_par`` (a cell / object array from a MAT-file, or a list of vectors) as float64 1-D arrays, checked.

    Cells are taken in MATLAB's column-major order, which for a 1 x V cell is simply 1..V.
    """
    if isinstance(vor_par, np.ndarray) and vor_par.dtype == object:
        cells = list(vor_par.ravel(order="F"))
    elif isinstance(vor_par, (list, tuple)):
        cells = list(vor_par)
    else:
        raise PipelineError(f"{where}: expected a cell array of parameter rows, got {type(vor_par).__name__}")
    rows = []
    for i, cell in enumerate(cells, start=1):
        try:
            row = np.asarray(cell, dtype=np.float64)
        except (TypeError, ValueError):
            raise PipelineError(f"{where}: vortex {i} is not numeric") from None
        if row.ndim > 2 or (row.ndim == 2 and 1 not in row.shape):
            raise PipelineError(f"{where}: vortex {i} must be a row vector, got shape {row.shape}")
        row = row.ravel()
        check_row(row, f"{where}: vortex {i}")
        rows.append(row)
    return rows


def check_row(row: np.ndarray, where: str) -> None:
    """Raise ``PipelineError`` unless ``row`` is a usable ``[c1, c2, r, degree...]`` row."""
    if row.size < 4:
        raise PipelineError(f"{where}: a row is [c1, c2, r, degree...] with at least 4 values, got {row.size}")
    if not np.all(np.isfinite(row)):
        raise PipelineError(f"{where}: values must be finite")
    if not np.array_equal(row[:3], np.trunc(row[:3])):
        raise PipelineError(f"{where}: centre and radius must be integers, got {row[:3].tolist()}")
    r = int(row[2])
    if r >= 1 and row.size - 3 < r:
        raise PipelineError(f"{where}: radius {r} needs {r} degree values, the row has {row.size - 3}")


def check_region(row: np.ndarray, height: int, width: int, where: str) -> None:
    """Raise ``PipelineError`` when the vortex's square region reaches outside an ``height`` x ``width`` image.

    Rows with ``r < 0`` have an empty region and fit every image, as in MATLAB.
    """
    c1, c2, r = (int(v) for v in row[:3])
    if r < 0:
        return
    if c1 - r < 1 or c1 + r > height or c2 - r < 1 or c2 + r > width:
        raise PipelineError(
            f"{where}: vortex region rows {c1 - r}..{c1 + r}, columns {c2 - r}..{c2 + r} "
            f"lies outside the {height} x {width} image"
        )


def load_vor_params(path: str | Path) -> list[np.ndarray]:
    """The parameter rows (float64) of a ``vor_params_*.mat`` file (variable ``vor_par``).

    Raises ``PipelineError`` for a missing or corrupt file, a missing ``vor_par`` or a bad row.
    Regions are checked against the image size where the rows are used (:func:`check_region`).
    """
    path = Path(path)
    if not path.exists():
        raise PipelineError(f"{path}: vortex parameter file is missing; `python -m pipeline.fetch` puts the published ones in data/<dataset>/params/")
    variables = read_mat(path, required=("vor_par",))
    return param_rows(variables["vor_par"], f"{path}:vor_par")


def random_function(r: int, idx: int, stream: MatlabStream) -> np.ndarray:
    """``Random_Function(r, idx)``: r + 1 values f(i / r), i = 0..r, of family ``mod(idx, 5) + 1``.

    Draws six values from ``stream`` (``w = 2 * rand(1, 6) - 2``).
    """
    w1, w2, w3, w4, w5, w6 = 2.0 * stream.rand(1, 6).ravel() - 2.0
    x = np.arange(r + 1, dtype=np.float64) / r
    family = idx % 5 + 1
    if family == 1:
        return w1 * np.sin(w2 * x + w3) + w4 * np.cos(w5 * x + w6)
    if family == 2:
        return w1 * x + w2 * x**3 + w3 * np.exp(2 * x) + w4 * np.cos(w5 * x + w6)
    if family == 3:
        return w1 * np.sqrt(x) + w2 * x**2 + w3 * np.exp(x) + w4 * np.sin(w5 * x + w6)
    if family == 4:
        return w1 * x**5 + w2 * np.log(x + 1) + w3 * np.exp(x) + w4 * np.cos(w5 * x + w6)
    return w1 * 2.0**x + w2 * (2 * x) + w3 * np.log10(x + 1) + w4 * np.sin(w5 * x + w6)


def new_vor_params(count: int, height: int, width: int, scale: float, stream: MatlabStream) -> list[np.ndarray]:
    """``count`` fresh parameter rows for an ``height`` x ``width`` image, drawn as the scripts do.

    Vortex i (1-based): centre = round(rand(1, 2) .* [n, m]); r = min(|[centre - [n, m], centre]|) - 1;
    degree = 1 when r is -1 or 0, else ``scale * Random_Function(r, i)``.
    """
    if count < 0:
        raise PipelineError(f"the number of vortices must be >= 0, got {count}")
    size = np.array([height, width], dtype=np.float64)
    rows = []
    for i in range(1, count + 1):
        centre = mround(stream.rand(1, 2).ravel() * size)
        r = int(np.min(np.abs(np.concatenate([centre - size, centre])))) - 1
        degree = np.ones(1) if r <= 0 else scale * random_function(r, i, stream)
        rows.append(np.concatenate([centre, [float(r)], degree]))
    return rows


def save_vor_params(path: str | Path, rows: list[np.ndarray]) -> None:
    """Write ``rows`` as ``vor_par``, the 1 x V cell of row vectors the published files hold."""
    cell = np.empty((1, len(rows)), dtype=object)
    for i, row in enumerate(rows):
        cell[0, i] = np.asarray(row, dtype=np.float64).reshape(1, -1)
    write_mat(path, {"vor_par": cell})
