"""Datasets as uint8 tensors (N, C, H, W) on the training device, read from what ``pipeline`` writes.

A dataset name is ``<dataset>[_<variant>]``: ``fashion`` is the plain (``origin``) Fashion-MNIST,
``fashion_vor`` its vortex version, ``cifar10_etc`` the EtC-encrypted CIFAR-10; the files are the
ones :func:`pipeline.data.datasets.variant_files` names under ``data/<dataset>/<variant>/``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pipeline.data.codecs import jpeg_roundtrip
from pipeline.data.datasets import (
    DatasetSpec,
    dataset_spec,
    load_split,
    pictures_from_rows,
)
from pipeline.errors import PipelineError
from train.errors import TrainError


@dataclass(frozen=True)
class Split:
    """One split held on a device: ``images`` uint8 (N, C, H, W), ``labels`` int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def split_name(name: str) -> tuple[str, str]:
    """``fashion_vor`` -> (``fashion``, ``vor``); a bare ``fashion`` -> ``origin`` (dataset names hold no ``_``)."""
    base, _, variant = name.partition("_")
    return base, variant or "origin"


def parse_dataset(name: str, data_dir: str | Path = "data") -> tuple[DatasetSpec, str]:
    """``fashion_vor`` -> (Fashion-MNIST's description, ``vor``): a built-in, or the one recorded by the fetch
    of a declared dataset under ``data_dir``."""
    base, variant = split_name(name)
    try:
        return dataset_spec(base, data_dir), variant
    except PipelineError as err:
        raise TrainError(f"dataset {name!r}: {err}") from None


def split_from_pictures(pictures: np.ndarray, labels: np.ndarray, device: torch.device | str) -> Split:
    """(N, H, W, C) uint8 pictures and int labels (``pipeline.data.datasets.pictures_from_rows``) -> a :class:`Split`."""
    pictures = np.asarray(pictures)
    labels = np.asarray(labels)
    if pictures.dtype != np.uint8 or pictures.ndim != 4:
        raise TrainError(f"images must be uint8 (N, H, W, C) pictures, got {pictures.dtype} {pictures.shape}")
    if labels.ndim != 1 or len(labels) != len(pictures):
        raise TrainError(f"labels must be a vector of {len(pictures)} class indices, got shape {labels.shape}")
    images = torch.from_numpy(np.ascontiguousarray(pictures.transpose(0, 3, 1, 2)))
    return Split(images.to(device), torch.from_numpy(labels.astype(np.int64)).to(device))


def load_dataset(data_dir: str | Path, name: str, device: torch.device | str,
                 jpeg_quality: int | None = None) -> tuple[Split, Split]:
    """(train, test) of dataset ``name`` under ``data_dir`` (the project's ``data/``), on ``device``.

    ``jpeg_quality``: every picture of both splits is JPEG-compressed at that quality and decoded
    first (the EtC paper's Table III: training and testing on compressed encrypted images).
    A missing or malformed file is a :class:`TrainError` saying which pipeline command writes it.
    """
    spec, variant = parse_dataset(name, data_dir)
    splits = []
    for split in ("train", "test"):
        try:
            rows, labels = load_split(data_dir, spec, variant, split)
        except PipelineError as err:
            raise TrainError(f"dataset {name} ({split}): {err}") from None
        pictures = pictures_from_rows(rows, spec)
        if jpeg_quality is not None:
            pictures = jpeg_roundtrip(np.ascontiguousarray(pictures), jpeg_quality)[0]
        splits.append(split_from_pictures(pictures, labels, device))
    return splits[0], splits[1]
