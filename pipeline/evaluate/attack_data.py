"""The attacked data: plain and encrypted pictures of both splits, and the victim's key as the scorer sees it.

The statistical attacks read every split in blocks (:data:`workbench.data.stored.CHUNK_IMAGES` pictures,
the data layer's block) or as its first few pictures (known pairs, previews, the key check), never
whole: a split stored v7.3 is, with ``stream=True``, a :class:`StoredPictures` that reads those rows
from its file. Splits in v5/v7
files (the built-in datasets) are read whole by the MAT reader anyway and are held as arrays.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import numpy as np

from workbench.data.datasets import DatasetSpec, images_as_uint8, load_split, pictures_from_rows, variant_files
from workbench.data import stored
from pipeline.encrypt.sample_map import SampleMap
from pipeline.encrypt.scheme import Scheme
from pipeline.encrypt.stage import check_encrypted_files, load_encrypted
from pipeline.errors import PipelineError
from pipeline.evaluate.sample_map_attack import Blocks

#: Pictures the key check compares (a wrong key, seed or parameter file shows in the first images).
KEY_CHECK_IMAGES = 64

def flat(pictures: np.ndarray) -> np.ndarray:
    """(N, H, W, C) pictures as (N, S) rows of samples in (H, W, C) order."""
    return pictures.reshape(len(pictures), -1)


@dataclass(frozen=True)
class StoredPictures:
    """One split's pictures in a v7.3 file, read a run of consecutive rows at a time: enough of an array
    for the attacks (``len``, ``shape``, ``[start:stop]``); whole only through ``np.asarray``."""

    data_dir: Path
    spec: DatasetSpec
    variant: str
    split: str
    count: int

    def __len__(self) -> int:
        return self.count

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (self.count, self.spec.height, self.spec.width, self.spec.channels)

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice) or index.indices(self.count)[2] != 1:
            raise PipelineError(f"{self.spec.name} {self.variant} {self.split}: stored pictures are read in runs of rows only")
        start, stop, _ = index.indices(self.count)
        reader, _ = stored.split_rows(self.data_dir, self.spec, self.variant, self.split, any_class=True)
        where = str(Path(self.data_dir) / self.spec.name / variant_files(self.spec, self.variant)[self.split].path)
        with reader:
            rows = images_as_uint8(reader.rows(start, max(start, stop)), where)
        return pictures_from_rows(rows, self.spec)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)


@dataclass(frozen=True)
class AttackData:
    """Plain and encrypted pictures (N, H, W, C) uint8 of both splits (arrays, or :class:`StoredPictures`
    read in blocks) and the labels of both splits (always in memory)."""

    spec: DatasetSpec
    plain_train: np.ndarray | StoredPictures
    train_labels: np.ndarray
    enc_train: np.ndarray | StoredPictures
    plain_test: np.ndarray | StoredPictures
    test_labels: np.ndarray
    enc_test: np.ndarray | StoredPictures

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.spec.height, self.spec.width, self.spec.channels)

    def labels(self, side: str) -> np.ndarray:
        return self.train_labels if side.endswith("train") else self.test_labels

    def blocks(self, side: str, rows: np.ndarray | None = None) -> Blocks:
        """Pictures ``rows`` (sorted row indices; None: every row) of ``side`` (``plain_train``, ``enc_train``,
        ``plain_test``, ``enc_test``) as flattened blocks with their labels: the chosen rows of each run of
        :data:`~workbench.data.stored.CHUNK_IMAGES` stored rows; one run in memory at a time."""
        pictures, labels = getattr(self, side), self.labels(side)
        rows = np.arange(len(pictures)) if rows is None else np.asarray(rows)

        def blocks():
            size = stored.CHUNK_IMAGES
            for start in range(0, len(pictures), size):
                chosen = rows[np.searchsorted(rows, start) : np.searchsorted(rows, start + size)]
                if len(chosen):
                    yield flat(self.picked(side, chosen)), labels[chosen]
        return blocks

    def picked(self, side: str, rows: np.ndarray) -> np.ndarray:
        """Pictures ``rows`` (sorted row indices) of ``side``, read as runs of at most
        :data:`~workbench.data.stored.CHUNK_IMAGES` stored rows."""
        pictures, rows, size = getattr(self, side), np.asarray(rows), stored.CHUNK_IMAGES
        parts, end = [], int(rows[-1]) + 1 if len(rows) else 0
        for start in range(0, end, size):
            chosen = rows[np.searchsorted(rows, start) : np.searchsorted(rows, start + size)]
            if len(chosen):
                parts.append(np.asarray(pictures[int(chosen[0]) : int(chosen[-1]) + 1])[chosen - chosen[0]])
        return np.concatenate(parts) if parts else np.zeros((0, *self.shape), np.uint8)


def _side(data_dir: Path, spec: DatasetSpec, scheme: Scheme | None, split: str, key, stream: bool, variant: str | None = None):
    """(pictures, labels) of one split of the plain (``scheme`` None) or encrypted ``variant`` (default: the scheme's folder)."""
    variant = "origin" if scheme is None else variant or scheme.name
    found = stored.split_rows(data_dir, spec, variant, split, any_class=True) if stream else None
    if found is not None:
        reader, labels = found
        reader.close()
        if key is not None:
            check_encrypted_files(data_dir, spec, scheme, split, key, variant)
        return StoredPictures(data_dir, spec, variant, split, len(labels)), labels
    if scheme is None:
        rows, labels = load_split(data_dir, spec, "origin", split)
        return pictures_from_rows(rows, spec), labels
    return load_encrypted(data_dir, spec, scheme, split, key, variant)


def load_attack_data(data_dir: str | Path, spec: DatasetSpec, scheme: Scheme, key=None, variant: str | None = None, *,
                     stream: bool = False) -> AttackData:
    """Both splits of the plain (``origin``) and the encrypted ``variant`` (default: the scheme's folder), checked to correspond (and, with
    ``key``, to be that key's files where the files can tell). With ``stream``, splits stored v7.3 stay
    in their files (:class:`StoredPictures`); else every split is read whole."""
    parts = {}
    for split in ("train", "test"):
        plain, plain_labels = _side(Path(data_dir), spec, None, split, None, stream)
        enc, enc_labels = _side(Path(data_dir), spec, scheme, split, key, stream, variant)
        if len(plain) != len(enc) or not np.array_equal(plain_labels, enc_labels):
            raise PipelineError(
                f"{scheme.name} {split} split of {spec.name} does not correspond to the plain one ({len(enc)} vs {len(plain)} images, or other labels)"
            )
        parts[split] = (plain, plain_labels, enc)
    return AttackData(spec, *parts["train"], *parts["test"])


@dataclass(frozen=True)
class Truth:
    """The victim's key as the scorer sees it (the attacks never do): one fixed sample map, per-image
    maps of the test split, and block tables where the key is one."""

    fixed: SampleMap | None = None
    per_image: np.ndarray | None = None
    tables: object = None


def true_key(scheme: Scheme, key, data: AttackData) -> Truth:
    """The :class:`Truth` of ``key``, checked to reproduce the first encrypted test images it is said to have made."""
    fixed = scheme.sample_map(key)
    per_image = None
    plain = flat(np.asarray(data.plain_test[:KEY_CHECK_IMAGES]))
    if scheme.key_per_image(key):
        counts = {"train": len(data.plain_train), "test": len(data.plain_test)}
        per_image = scheme.per_image_maps(key, counts)["test"]
        made = np.take_along_axis(plain, per_image[:KEY_CHECK_IMAGES], axis=1)
        negations = scheme.per_image_negations(key, counts)
        if negations is not None:
            made = made ^ (negations["test"][:KEY_CHECK_IMAGES].astype(np.uint8) * np.uint8(255))
    elif fixed is not None:
        made = fixed.apply(plain)
    else:
        made = flat(scheme.encrypt(key, np.asarray(data.plain_test[:KEY_CHECK_IMAGES])))
    if not np.array_equal(made, flat(np.asarray(data.enc_test[:KEY_CHECK_IMAGES]))):
        raise PipelineError(f"the given {scheme.name} key does not produce data/{data.spec.name}/{scheme.name}; "
                            "check the parameter file, seed or secret")
    return Truth(fixed, per_image, scheme.block_tables(key))
