"""What the MATLAB encryption scripts read and write, shared by ``pipeline.vor`` and ``pipeline.random``.

Inputs: ``mnist.mat`` / ``fashion.mat`` / a declared dataset's ``<name>.mat`` (``train_x``,
``test_x`` uint8 N x H*W*C, one-hot ``train_y``, ``test_y``) or the CIFAR-10 batch folder read like ``load_cifar``. Outputs: the
files and variable names of :func:`workbench.data.datasets.variant_files`, written with the fixed
pipeline header (same inputs, same bytes) and atomically.

Images stay in the MAT-file's column-major layout (Fortran-ordered N x L arrays) from reading
to writing, so that per-pixel gathers move whole contiguous pixel rows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.data.cifar import read_cifar_split
from workbench.data.datasets import (
    CIFAR_ORIGIN_DIR,
    SPLITS,
    DatasetSpec,
    images_as_uint8,
    labels_as_indices,
    variant_files,
)
from workbench.data.matfiles import read_mat, write_mat
from workbench.errors import WorkbenchError

Split = tuple[np.ndarray, np.ndarray]  # (images N x L, labels as stored)


def default_input(spec: DatasetSpec, data_dir: str | Path) -> Path:
    """``data/<dataset>/origin/<prefix>.mat``, or the CIFAR-10 batch folder."""
    root = Path(data_dir) / spec.name
    if spec.layout == "cifar":
        return root / CIFAR_ORIGIN_DIR
    return root / variant_files(spec, "origin")["train"].path


def read_origin(spec: DatasetSpec, source: str | Path) -> dict[str, Split]:
    """The plain train and test splits as the scripts load them: uint8 images and the labels as stored."""
    source = Path(source)
    if spec.layout == "cifar":
        return {split: _read_cifar(source, split) for split in SPLITS}
    return _read_gray(spec, source)


def _read_gray(spec: DatasetSpec, path: Path) -> dict[str, Split]:
    if path.is_dir() or not path.exists():
        raise WorkbenchError(f"{path}: expected a MAT-file in the mnist.mat layout; `python -m pipeline.fetch --dataset {spec.name}` writes it")
    variables = read_mat(path, required=tuple(f"{split}_{v}" for split in SPLITS for v in "xy"))
    splits = {}
    for split in SPLITS:
        x_name, y_name = f"{split}_x", f"{split}_y"
        x = images_as_uint8(variables[x_name], f"{path}:{x_name}")
        if x.ndim != 2 or x.shape[1] != spec.row_length:
            raise WorkbenchError(f"{path}:{x_name}: expected N x {spec.row_length} images, got {x.shape}")
        y = np.asarray(variables[y_name])
        if y.ndim != 2 or y.shape != (x.shape[0], spec.num_classes):
            raise WorkbenchError(f"{path}:{y_name}: expected {x.shape[0]} x {spec.num_classes} one-hot labels, got {y.shape}")
        labels_as_indices(y, spec.num_classes, f"{path}:{y_name}")
        splits[split] = (x, y)
    return splits


def _read_cifar(folder: Path, split: str) -> Split:
    """``load_cifar``'s stacking (batches 1..K, then the test batch), column-major, labels checked."""
    images, labels = read_cifar_split(folder, split)
    labels_as_indices(labels, 10, f"{folder}:{split} labels")
    return images, labels


def output_paths(spec: DatasetSpec, variant: str, out_dir: str | Path) -> dict[str, Path]:
    """Where each split of ``variant`` goes when written to ``out_dir`` (file names as in the scripts)."""
    return {split: Path(out_dir) / Path(entry.path).name for split, entry in variant_files(spec, variant).items()}


def write_variant(spec: DatasetSpec, variant: str, out_dir: str | Path, splits: dict[str, Split],
                  extra: dict | None = None, version: str = "7") -> list[Path]:
    """Write (images, labels) of every split under the variant's file and variable names.

    Splits sharing a file (``mnist_vor.mat``) are written together, images first, then labels,
    as the scripts list them, then the ``extra`` variables. The caller passes the arrays in the
    MATLAB class to store (float64 for MATLAB doubles, which the writer stores compactly as
    MATLAB does). ``version`` "7.3" writes HDF5 files, where images may be
    :class:`matlab_compat.RowChunks` (written block by block).
    """
    files: dict[Path, dict[str, dict[str, np.ndarray]]] = {}
    paths = output_paths(spec, variant, out_dir)
    for split, entry in variant_files(spec, variant).items():
        images, labels = splits[split]
        group = files.setdefault(paths[split], {"x": {}, "y": {}})
        group["x"][entry.x] = images
        group["y"][entry.y] = labels
    for path, group in files.items():
        write_mat(path, {**group["x"], **group["y"], **(extra or {})}, version)
    return list(files)
