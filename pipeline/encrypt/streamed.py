"""The encrypt stage on a v7.3 (HDF5) dataset: block by block, with bounded memory.

A scheme with one key for every image (vor, etc, pe with one key, le, ele, block) encrypts each
block of :data:`pipeline.data.stored.CHUNK_IMAGES` rows on its own, so the split never has to fit
in memory: rows are read from the plain v7.3 file, encrypted and written to the encrypted v7.3
files block by block (the bound: a few blocks of pictures and the HDF5 chunk cache). Per-image
schemes (random, pe with a key per image) draw their keys over a whole split and are read whole.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import numpy as np

from matlab_compat import RowChunks
from pipeline.data.datasets import SPLITS, DatasetSpec, pictures_from_rows, rows_from_pictures
from pipeline.data.layouts import write_variant
from pipeline.data.outputs import write_unit
from pipeline.data.preview import save_preview
from pipeline.data.stored import CHUNK_IMAGES, chunk_rows, is_v73, open_rows, read_rows
from pipeline.encrypt.scheme import Scheme


def streams(scheme: Scheme, key, source: Path) -> bool:
    """Whether the encryption of ``source`` goes block by block: a v7.3 file and one key for every image."""
    return (is_v73(source) and not scheme.key_per_image(key)
            and type(scheme).encrypt_splits is Scheme.encrypt_splits)


def _encrypted_blocks(scheme: Scheme, spec: DatasetSpec, key, reader, dtype) -> Iterator[np.ndarray]:
    for start in range(0, reader.shape[0], CHUNK_IMAGES):
        rows = reader.rows(start, min(start + CHUNK_IMAGES, reader.shape[0]))
        encrypted = rows_from_pictures(scheme.encrypt(key, pictures_from_rows(rows, spec)), spec)
        yield np.asarray(scheme.stored_images(spec, encrypted), dtype=dtype)


def encrypt_streamed(scheme: Scheme, spec: DatasetSpec, key, source: Path, out_dir: Path, *,
                     preview: Path | None, preview_images: int) -> dict:
    """:func:`pipeline.encrypt.stage.encrypt_dataset` for a v7.3 source, block by block; the same report."""
    clock = time.perf_counter()
    labels = {f"{split}_y": read_rows(source, f"{split}_y") for split in SPLITS}
    readers = {split: open_rows(source, f"{split}_x", spec.row_length) for split in SPLITS}
    try:
        counts = {split: readers[split].shape[0] for split in SPLITS}
        sample = readers["test"].rows(0, min(preview_images, counts["test"]))
        plain_preview = pictures_from_rows(sample, spec)
        encrypted_preview = scheme.encrypt(key, plain_preview)
        dtype = scheme.stored_images(spec, rows_from_pictures(encrypted_preview, spec)).dtype
        splits = {split: (RowChunks((counts[split], spec.row_length), dtype,
                                    _encrypted_blocks(scheme, spec, key, readers[split], dtype), chunk_rows(spec.row_length)),
                          scheme.stored_labels(spec, labels[f"{split}_y"])) for split in SPLITS}
        record = {"scheme": scheme.name, "dataset": spec.name, "key": scheme.record(key), "images": counts}
        written = write_unit(out_dir, lambda folder: write_variant(spec, scheme.name, folder, splits,
                                                                   scheme.file_variables(key), version="7.3"), record)
    finally:
        for reader in readers.values():
            reader.close()
    if preview is not None:
        written.append(save_preview(preview, [plain_preview, encrypted_preview], ["original", scheme.title]))
    seconds = time.perf_counter() - clock
    return {"key": record["key"], "written": written, "images": counts,
            "seconds": {"read": 0.0, "encrypt": seconds, "write": 0.0}, "streamed": True}
