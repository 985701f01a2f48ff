"""Stored image rows read in blocks: datasets larger than memory are v7.3 (HDF5) MAT-files.

A split stored as v7.3 (``storage: v7.3`` of a declaration, and every encryption of it) can be
read a block of rows at a time (:func:`open_rows`) instead of whole (:func:`workbench.data.datasets.load_split`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from matlab_compat import MatFileError, RowReader, read_header
from workbench.data.datasets import DatasetSpec, images_as_uint8, labels_as_indices, variant_files
from workbench.errors import WorkbenchError

#: Images decoded, encrypted or read per block (the memory bound is a block of pictures and rows).
CHUNK_IMAGES = 256


def chunk_rows(row_length: int) -> int:
    """Images per HDF5 chunk of a v7.3 file: about 256 KiB, at most a block. A chunk is read whole, so a
    training batch drawn at random reads little more than its images (224 x 224 x 3: one image a chunk)."""
    return max(1, min(CHUNK_IMAGES, (1 << 18) // row_length))


def is_v73(path: Path) -> bool:
    """Whether ``path`` is a v7.3 MAT-file (False for v5/v7 files and anything unreadable: their readers say why)."""
    try:
        return Path(path).is_file() and read_header(path).version == "7.3"
    except MatFileError:
        return False


def open_rows(path: Path, name: str, row_length: int, *, any_class: bool = False) -> RowReader:
    """A :class:`matlab_compat.RowReader` of the uint8 N x ``row_length`` images ``name`` of ``path``
    (with ``any_class``, of any numeric class: the doubles some schemes store, see :func:`row_blocks`)."""
    try:
        reader = RowReader(path, name)
    except MatFileError as err:
        raise WorkbenchError(str(err)) from None
    if (reader.dtype != np.uint8 and not any_class) or reader.shape[1] != row_length:
        reader.close()
        raise WorkbenchError(f"{path}:{name}: expected uint8 N x {row_length} images, got {reader.dtype} {reader.shape}")
    return reader


def read_rows(path: Path, name: str) -> np.ndarray:
    """A whole (small) matrix of a v7.3 file, e.g. the labels beside images read in blocks; unlike
    :func:`workbench.data.matfiles.read_mat` it maps nothing of the rest of the file."""
    try:
        with RowReader(path, name) as reader:
            return reader.rows(0, reader.shape[0])
    except MatFileError as err:
        raise WorkbenchError(str(err)) from None


def split_rows(data_dir: Path, spec: DatasetSpec, variant: str, split: str, *,
               any_class: bool = False) -> tuple[RowReader, np.ndarray] | None:
    """(row reader, labels) of one stored split when it is a v7.3 file, else None (read it whole)."""
    if spec.layout == "cifar" and variant == "origin":
        return None  # the CIFAR-10 batch folder
    entry = variant_files(spec, variant)[split]
    path = Path(data_dir) / spec.name / entry.path
    if not is_v73(path):
        return None
    labels = labels_as_indices(read_rows(path, entry.y), spec.num_classes, f"{path}:{entry.y}")
    reader = open_rows(path, entry.x, spec.row_length, any_class=any_class)
    if reader.shape[0] != len(labels):
        reader.close()
        raise WorkbenchError(f"{path}: {reader.shape[0]} images but {len(labels)} labels")
    return reader, labels


def row_blocks(data_dir: Path, spec: DatasetSpec, variant: str, split: str) -> Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]] | None:
    """Of a split stored v7.3 (else None): a function that reads it once more, yielding (uint8 rows, labels)
    blocks of :data:`CHUNK_IMAGES` images in order; only one block is in memory at a time."""
    opened = split_rows(data_dir, spec, variant, split, any_class=True)  # checked now, before any work
    if opened is None:
        return None
    opened[0].close()
    where = f"{Path(data_dir) / spec.name / variant_files(spec, variant)[split].path}"

    def blocks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        reader, labels = split_rows(data_dir, spec, variant, split, any_class=True)
        with reader:
            for start in range(0, reader.shape[0], CHUNK_IMAGES):
                stop = min(start + CHUNK_IMAGES, reader.shape[0])
                yield images_as_uint8(reader.rows(start, stop), where), labels[start:stop]
    return blocks
