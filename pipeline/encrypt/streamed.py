"""The encrypt stage on a v7.3 (HDF5) dataset: block by block, with bounded memory.

Each block of :func:`images_per_block` rows is read from the plain v7.3 file,
encrypted by the scheme's :meth:`~pipeline.encrypt.scheme.Scheme.split_encryptor` and written to
the encrypted v7.3 files, so a split never has to fit in memory (the bound: a few copies of one block, each at
most :data:`BLOCK_BYTES`, and the HDF5 chunk cache). Per-image keys (random: one
MATLAB stream over train then test; pe ``key-mode: image``: one stream per split) are drawn as
the blocks arrive, train blocks before test blocks, so the files are byte for byte those of the
whole-set path.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import numpy as np

from matlab_compat import RowChunks
from workbench.data.datasets import SPLITS, DatasetSpec, pictures_from_rows, rows_from_pictures
from workbench.data.layouts import write_variant
from workbench.outputs import write_unit
from workbench.data.preview import save_preview
from workbench.data.stored import CHUNK_IMAGES, chunk_rows, is_v73, open_rows, read_rows
from pipeline.encrypt.scheme import Scheme
from pipeline.encrypt.secret import with_key_seed
from pipeline.errors import PipelineError


def streams(scheme: Scheme, source: Path) -> bool:
    """Whether the encryption of ``source`` goes block by block: a v7.3 file, and a scheme whose whole-set
    encryption is its block encryptor's (it overrides neither, or both)."""
    own_splits = type(scheme).encrypt_splits is not Scheme.encrypt_splits
    own_blocks = type(scheme).split_encryptor is not Scheme.split_encryptor
    return is_v73(source) and own_splits == own_blocks


class _InOrder:
    """Refuses to begin a split before the one begun last is finished: per-image keys are drawn in split order."""

    def __init__(self) -> None:
        self.open: str | None = None

    def begin(self, split: str) -> None:
        if self.open is not None:
            raise PipelineError(f"encrypting in blocks: split {split} began before split {self.open} was finished")
        self.open = split

    def end(self) -> None:
        self.open = None


#: Bytes of one block's largest array (float64 per sample: MATLAB doubles stored, per-image draws and keys).
BLOCK_BYTES = 64 << 20


def images_per_block(row_length: int) -> int:
    """Images encrypted at a time: :data:`CHUNK_IMAGES`, fewer where 8 bytes a sample would pass
    :data:`BLOCK_BYTES` (224 x 224 colour: 48); a multiple of 8, so per-image key bits end on a byte."""
    return max(8, min(CHUNK_IMAGES, BLOCK_BYTES // (8 * row_length)) // 8 * 8)


def _encrypted_blocks(encrypt, order: _InOrder, split: str, spec: DatasetSpec, scheme: Scheme, reader, dtype,
                      kept: dict) -> Iterator[np.ndarray]:
    order.begin(split)
    step = images_per_block(spec.row_length)
    for start in range(0, reader.shape[0], step):
        rows = reader.rows(start, min(start + step, reader.shape[0]))
        pictures = encrypt(split, pictures_from_rows(rows, spec))
        if split == "test":
            kept.setdefault(split, pictures)  # the preview's first encrypted test pictures
        yield np.asarray(scheme.stored_images(spec, rows_from_pictures(pictures, spec)), dtype=dtype)
    order.end()


def encrypt_streamed(scheme: Scheme, spec: DatasetSpec, key, source: Path, out_dir: Path, *,
                     preview: Path | None, preview_images: int, key_seed: int | None = None) -> dict:
    """:func:`pipeline.encrypt.stage.encrypt_dataset` for a v7.3 source, block by block; the same report."""
    clock = time.perf_counter()
    labels = {f"{split}_y": read_rows(source, f"{split}_y") for split in SPLITS}
    readers = {split: open_rows(source, f"{split}_x", spec.row_length) for split in SPLITS}
    try:
        counts = {split: readers[split].shape[0] for split in SPLITS}
        plain_preview = pictures_from_rows(readers["test"].rows(0, min(preview_images, counts["test"])), spec)
        dtype = scheme.stored_images(spec, rows_from_pictures(scheme.encrypt(key, plain_preview[:1]), spec)).dtype
        encrypt, order, first_blocks = scheme.split_encryptor(key), _InOrder(), {}
        splits = {split: (RowChunks((counts[split], spec.row_length), dtype,
                                    _encrypted_blocks(encrypt, order, split, spec, scheme, readers[split], dtype, first_blocks),
                                    chunk_rows(spec.row_length)),
                          scheme.stored_labels(spec, labels[f"{split}_y"])) for split in SPLITS}
        record = {"scheme": scheme.name, "dataset": spec.name, "key": with_key_seed(scheme.record(key), key_seed), "images": counts}
        written = write_unit(out_dir, lambda folder: write_variant(spec, scheme.name, folder, splits,
                                                                   scheme.file_variables(key), version="7.3"), record)
    finally:
        for reader in readers.values():
            reader.close()
    if preview is not None:
        encrypted_preview = first_blocks.get("test", plain_preview[:0])[:len(plain_preview)]
        written.append(save_preview(preview, [plain_preview, encrypted_preview], ["original", scheme.title]))
    seconds = time.perf_counter() - clock
    return {"key": record["key"], "written": written, "images": counts,
            "seconds": {"read": 0.0, "encrypt": seconds, "write": 0.0}, "streamed": True}
