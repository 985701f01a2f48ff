"""The encrypt stage, the same for every scheme: plain splits in, the scheme's files out as one unit.

``data/<dataset>/<scheme>/`` receives the split files under the names of
:func:`workbench.data.datasets.variant_files` (the MATLAB scripts' names for ``vor`` and
``random``) in the MATLAB classes the scheme stores, and ``params.json``: the scheme, its
public key record (never a secret), the image counts and the SHA-256 of every file. Later
stages read the record to rebuild the key (a recorded seed, block size or parameter file) and
to refuse files that do not belong together.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from workbench.data.datasets import (
    SPLITS,
    DatasetSpec,
    load_split,
    pictures_from_rows,
    rows_from_pictures,
    variant_files,
    variant_name,
)
from workbench.data.layouts import read_origin, write_variant
from workbench.data.matfiles import read_mat
from workbench.outputs import read_record, write_unit
from workbench.data.preview import save_preview
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.encrypt.secret import with_key_seed
from pipeline.encrypt.streamed import encrypt_streamed, streams
from pipeline.errors import PipelineError

PREVIEW_IMAGES = 8


def encrypt_dataset(scheme: Scheme, spec: DatasetSpec, key, source: Path, out_dir: Path, *,
                    preview: Path | None = None, key_seed: int | None = None) -> dict:
    """Encrypt the plain train and test splits read from ``source``; write ``out_dir`` as one unit.

    Returns a report: the key record, image counts, files written and seconds spent reading,
    encrypting and writing. A v7.3 source is encrypted block by block where the scheme allows
    (:mod:`pipeline.encrypt.streamed`). ``key_seed``: the benchmark key the key came from, recorded.
    """
    if streams(scheme, source):
        return encrypt_streamed(scheme, spec, key, source, out_dir, preview=preview, preview_images=PREVIEW_IMAGES,
                                key_seed=key_seed)
    clock = time.perf_counter()
    plain = read_origin(spec, source)
    read_s = time.perf_counter() - clock

    clock = time.perf_counter()
    pictures = {split: pictures_from_rows(rows, spec) for split, (rows, _) in plain.items()}
    encrypted = scheme.encrypt_splits(key, pictures)
    rows = {split: rows_from_pictures(encrypted[split], spec) for split in plain}
    encrypt_s = time.perf_counter() - clock

    clock = time.perf_counter()
    splits = {split: (scheme.stored_images(spec, rows[split]), scheme.stored_labels(spec, labels))
              for split, (_, labels) in plain.items()}
    counts = {split: len(plain[split][0]) for split in SPLITS}
    record = {"scheme": scheme.name, "dataset": spec.name, "key": with_key_seed(scheme.record(key), key_seed), "images": counts}
    written = write_unit(out_dir, lambda folder: write_variant(spec, scheme.name, folder, splits, scheme.file_variables(key)), record)
    if preview is not None:
        count = min(PREVIEW_IMAGES, counts["test"])
        written.append(save_preview(preview, [pictures["test"][:count], encrypted["test"][:count]], ["original", scheme.title]))
    write_s = time.perf_counter() - clock
    return {"key": record["key"], "written": written, "images": counts,
            "seconds": {"read": read_s, "encrypt": encrypt_s, "write": write_s}}


def variant_of(scheme: Scheme, options: KeyOptions) -> str:
    """The variant ``options`` name for ``scheme``: its data folder and the stem of its results (:func:`variant_name`)."""
    return variant_name(scheme.name, options.key_seed)


def variant_dir(data_dir: Path, spec: DatasetSpec, scheme: Scheme, key_seed: int | None = None) -> Path:
    """``data/<dataset>/<variant>``: the folder of ``scheme`` under benchmark key ``key_seed`` (:func:`variant_name`)."""
    return Path(data_dir) / spec.name / variant_name(scheme.name, key_seed)


def recorded_options(scheme: Scheme, spec: DatasetSpec, options: KeyOptions) -> KeyOptions:
    """``options`` completed with the public key values the encrypt stage recorded (seed, block size, vortices).

    A record of another scheme or dataset is an error: the folder was written by something else.
    """
    folder = variant_dir(options.data_dir, spec, scheme, options.key_seed)
    record = read_record(folder)
    if record is None:
        return options
    if record.get("scheme", scheme.name) != scheme.name or record.get("dataset", spec.name) != spec.name:
        raise PipelineError(f"{folder / 'params.json'} records {record.get('scheme')} on {record.get('dataset')}, "
                            f"not {scheme.name} on {spec.name}")
    return options.merged(record.get("key", record))


def key_of_data(scheme_name: str, spec: DatasetSpec, options: KeyOptions):
    """(scheme, key) that made ``data/<dataset>/<scheme>``: the given options, completed from the stage's record."""
    scheme = SCHEMES.get(scheme_name)
    return scheme, scheme.key(spec, recorded_options(scheme, spec, options))


def check_encrypted_files(data_dir: Path, spec: DatasetSpec, scheme: Scheme, split: str, key, variant: str | None = None) -> None:
    """Refuse one split's files of ``variant`` (default: the scheme's folder) where they can tell that ``key`` did
    not make them (reads only the key's variables)."""
    path = Path(data_dir) / spec.name / variant_files(spec, variant or scheme.name)[split].path
    names = tuple(scheme.file_variables(key))
    if names:
        scheme.check_files(key, read_mat(path, variable_names=names), str(path))


def load_encrypted(data_dir: Path, spec: DatasetSpec, scheme: Scheme, split: str, key=None,
                   variant: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(encrypted pictures, labels) of one split of ``variant`` (default: the scheme's own folder); with ``key``,
    files that key did not make are refused."""
    rows, labels = load_split(data_dir, spec, variant or scheme.name, split)
    if key is not None:
        check_encrypted_files(data_dir, spec, scheme, split, key, variant)
    return pictures_from_rows(rows, spec), labels
