"""Port of ``load_cifar.m``: the MATLAB release of CIFAR-10 as the scripts see it.

``load_cifar`` stacks every ``data_batch_<k>.mat`` (k ascending, any number of batches of
any size) and ``test_batch.mat``, converted to double as the MATLAB function does.
``read_cifar_split`` gives the same images as uint8 without the double copy, for training.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from workbench.data.matfiles import read_mat
from workbench.errors import WorkbenchError

ROW_LENGTH = 3072
_BATCH = re.compile(r"^data_batch_(\d+)\.mat$")


def train_batch_paths(folder: str | Path) -> list[Path]:
    """``data_batch_<k>.mat`` files of ``folder`` in ascending k (1, 2, ..., 10, ...)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise WorkbenchError(f"{folder} is not a folder in the MATLAB CIFAR-10 layout; `python -m pipeline.fetch --dataset cifar10` writes it")
    found = sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _BATCH.match(p.name)))
    if not found:
        raise WorkbenchError(f"{folder}: no data_batch_<k>.mat files")
    return [p for _, p in found]


def read_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(data uint8 N x 3072, labels uint8 N x 1) of one batch file, checked."""
    path = Path(path)
    if not path.exists():
        raise WorkbenchError(f"{path} is missing; `python -m pipeline.fetch --dataset cifar10` writes it")
    variables = read_mat(path, required=("data", "labels"))
    data, labels = np.asarray(variables["data"]), np.asarray(variables["labels"])
    if data.ndim != 2 or data.shape[1] != ROW_LENGTH or data.dtype != np.uint8:
        raise WorkbenchError(f"{path}: data must be uint8 N x {ROW_LENGTH}, got {data.dtype} {data.shape}")
    if labels.shape != (data.shape[0], 1):
        raise WorkbenchError(f"{path}: labels must be {data.shape[0]} x 1, got {labels.shape}")
    return data, labels


def read_cifar_split(folder: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 rows and N x 1 labels of the training batches (stacked in order) or the test batch.

    The rows stay column-major (a Fortran-ordered N x 3072 array), the MAT-file's own layout,
    so that per-pixel gathers move whole contiguous pixel rows.
    """
    paths = train_batch_paths(folder) if split == "train" else [Path(folder) / "test_batch.mat"]
    batches = [read_batch(p) for p in paths]
    rows = np.concatenate([b[0].T for b in batches], axis=1).T  # (3072, N) stacking: N x 3072 Fortran-ordered
    return rows, np.concatenate([b[1] for b in batches])


def load_cifar(folder: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``[train_x, train_y, test_x, test_y] = load_cifar()``: all four as float64, like MATLAB."""
    train_x, train_y = read_cifar_split(folder, "train")
    test_x, test_y = read_cifar_split(folder, "test")
    return tuple(a.astype(np.float64) for a in (train_x, train_y, test_x, test_y))
