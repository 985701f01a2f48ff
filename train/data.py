"""Datasets as uint8 tensors (N, C, H, W) on the training device, read from what ``pipeline`` writes.

A training set is a dataset and a scheme, as every command names them (``--dataset fashion --scheme vor``):
the scheme ``origin`` (:data:`PLAIN`) is the plain images, ``vor`` the vortex version, ``etc`` the EtC
encryption; the files are the ones :func:`workbench.data.datasets.variant_files` names under
``data/<dataset>/<scheme>/``.

A split stored as v7.3 (HDF5) that does not fit in memory (more than half of the memory
available, :func:`memory_budget`) stays on disk: :class:`StoredImages` reads each batch's rows
when the batch is drawn, so training holds a batch, not the split.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from workbench.data.codecs import jpeg_roundtrip
from workbench.data.datasets import (
    DatasetSpec,
    dataset_spec,
    load_split,
    pictures_from_rows,
)
from workbench.data.stored import split_rows
from workbench.errors import WorkbenchError
from workbench.outputs import read_record
from train.errors import TrainError


class StoredImages:
    """uint8 (N, C, H, W) images of a v7.3 split read on demand: indexing with a tensor of indices (a
    training batch) reads those rows; a slice is a view; ``float()`` reads the (viewed) rows."""

    def __init__(self, reader, spec: DatasetSpec, device: torch.device | str, rows: range | None = None):
        self.reader, self.spec, self.device = reader, spec, torch.device(device)
        self.positions = rows if rows is not None else range(reader.shape[0])
        self.shape = torch.Size((len(self.positions), spec.channels, spec.height, spec.width))

    def __len__(self) -> int:
        return len(self.positions)

    def to(self, device: torch.device | str) -> "StoredImages":
        return StoredImages(self.reader, self.spec, device, self.positions)

    def _read(self, positions: np.ndarray) -> torch.Tensor:
        pictures = pictures_from_rows(self.reader.take(positions), self.spec)
        return torch.from_numpy(np.ascontiguousarray(pictures.transpose(0, 3, 1, 2))).to(self.device)

    def __getitem__(self, index) -> "torch.Tensor | StoredImages":
        if isinstance(index, slice):
            return StoredImages(self.reader, self.spec, self.device, self.positions[index])
        chosen = torch.as_tensor(index).cpu().numpy().astype(np.int64)
        return self._read(np.asarray(self.positions)[chosen])

    def float(self) -> torch.Tensor:
        return self._read(np.asarray(self.positions)).float()


def memory_budget() -> int:
    """Bytes a split may take in memory: half of what the machine has available now."""
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2


@dataclass(frozen=True)
class Split:
    """One split held on a device: ``images`` uint8 (N, C, H, W) (or :class:`StoredImages` on disk), ``labels`` int64 (N,)."""

    images: torch.Tensor | StoredImages
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


#: The scheme name of the plain images (their folder ``data/<dataset>/origin``): ``--scheme``'s default.
PLAIN = "origin"


def parse_dataset(name: str, data_dir: str | Path = "data") -> DatasetSpec:
    """The description of dataset ``name``: a built-in, or the one recorded by the fetch of a declared
    dataset under ``data_dir``."""
    try:
        return dataset_spec(name, data_dir)
    except WorkbenchError as err:
        raise TrainError(f"{err}", "dataset") from None


def split_from_pictures(pictures: np.ndarray, labels: np.ndarray, device: torch.device | str) -> Split:
    """(N, H, W, C) uint8 pictures and int labels (``workbench.data.datasets.pictures_from_rows``) -> a :class:`Split`."""
    pictures = np.asarray(pictures)
    labels = np.asarray(labels)
    if pictures.dtype != np.uint8 or pictures.ndim != 4:
        raise TrainError(f"images must be uint8 (N, H, W, C) pictures, got {pictures.dtype} {pictures.shape}")
    if labels.ndim != 1 or len(labels) != len(pictures):
        raise TrainError(f"labels must be a vector of {len(pictures)} class indices, got shape {labels.shape}")
    images = torch.from_numpy(np.ascontiguousarray(pictures.transpose(0, 3, 1, 2)))
    return Split(images.to(device), torch.from_numpy(labels.astype(np.int64)).to(device))


def run_identity(dataset: str, scheme: str, model: str, seed: int, data_dir: str | Path) -> dict:
    """What a run trained, as metrics.json records it for the report to group runs by (never by folder
    names): dataset, scheme (:data:`PLAIN` for the plain images), model, seed and the benchmark key seed of
    a keyed scheme (``key_seed``, as the encrypt stage recorded it in ``params.json``; None otherwise)."""
    record = (None if scheme == PLAIN else read_record(Path(data_dir) / dataset / scheme)) or {}
    key = record.get("key") if isinstance(record.get("key"), dict) else {}
    return {"dataset": dataset, "scheme": record.get("scheme", scheme), "model": model, "seed": seed,
            "key_seed": key.get("key_seed")}


def load_dataset(data_dir: str | Path, name: str, scheme: str, device: torch.device | str,
                 jpeg_quality: int | None = None, memory: int | None = None) -> tuple[Split, Split]:
    """(train, test) of dataset ``name`` encrypted with ``scheme`` (:data:`PLAIN`: the plain images) under
    ``data_dir`` (the project's ``data/``), on ``device``.

    ``jpeg_quality``: every picture of both splits is JPEG-compressed at that quality and decoded
    first (the EtC paper's Table III: training and testing on compressed encrypted images).
    A v7.3 split larger than ``memory`` bytes (default :func:`memory_budget`) is read batch by batch.
    A missing or malformed file is a :class:`TrainError` saying which pipeline command writes it.
    """
    spec = parse_dataset(name, data_dir)
    budget = memory_budget() if memory is None else memory
    splits = []
    for split in ("train", "test"):
        try:
            stored = split_rows(Path(data_dir), spec, scheme, split)
            if stored is not None and stored[0].shape[0] * spec.row_length > budget and jpeg_quality is None:
                splits.append(Split(StoredImages(stored[0], spec, device), torch.from_numpy(stored[1]).to(device)))
                continue
            if stored is not None:
                stored[0].close()
            rows, labels = load_split(data_dir, spec, scheme, split)
        except WorkbenchError as err:
            raise TrainError(f"dataset {name}, scheme {scheme} ({split}): {err}") from None
        pictures = pictures_from_rows(rows, spec)
        if jpeg_quality is not None:
            pictures = jpeg_roundtrip(np.ascontiguousarray(pictures), jpeg_quality)[0]
        splits.append(split_from_pictures(pictures, labels, device))
    return splits[0], splits[1]
