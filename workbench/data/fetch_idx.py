"""MNIST and Fashion-MNIST for the fetch: the four IDX files (mirror, download cache or download), each
checked against its pinned checksums, stored as ``data/<dataset>/origin/<dataset>.mat``."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.data.datasets import dataset_spec, onehot, variant_files
from workbench.data.fetch_inputs import (
    DOWNLOADS,
    DownloadFailed,
    FileRecord,
    Found,
    Pending,
    check_digest,
    existing,
    forget_download,
    md5_of,
    offline_hint,
    read_best,
    require_verified,
    sha256_of,
    write_record,
)
from workbench.data.idx import decompress, parse_idx
from workbench.data.matfiles import write_mat
from workbench.data.sources import IdxDataset, IdxFile
from workbench.errors import WorkbenchError

#: Variable order of mnist.mat / fashion.mat (the names are what readers use; see docs/fetch.md).
MAT_VARIABLES = ("train_x", "train_y", "test_x", "test_y")


def _mirrored_idx(file: IdxFile, mirrors: list[Path]) -> list[Path]:
    """``train-images-idx3-ubyte.gz`` or the plain ``train-images-idx3-ubyte`` in the mirror folders."""
    return existing(d / n for d in mirrors for n in (file.name, file.stem))


def read_idx_input(file: IdxFile, found: Found) -> tuple[np.ndarray, FileRecord]:
    """The IDX array of one input, with its verification record (structural errors raise)."""
    where = str(found.path)
    try:
        raw = found.path.read_bytes()
    except OSError as err:
        raise WorkbenchError(f"{where}: cannot read ({err.strerror or err})") from err
    content = decompress(raw, where)
    array = parse_idx(content, where)
    record = FileRecord(file.name, found.source, md5_of(raw), sha256_of(content))
    if content is not raw:
        check_digest(record, "md5 of the .gz", record.md5, file.gz_md5)
    check_digest(record, "sha256 of the content", record.sha256, file.content_sha256)
    if array.shape[1:] != file.shape[1:]:
        raise WorkbenchError(f"{where}: items of shape {array.shape[1:]}, expected {file.shape[1:]}")
    if array.shape[0] != file.shape[0]:
        record.problems.append(f"{array.shape[0]} items, the official file has {file.shape[0]}")
    return array, record


def prepare_idx_dataset(dataset: str, table: IdxDataset, mirrors: list[Path], data_dir: Path,
                        allow_unverified: bool) -> Pending:
    """Read and verify the four IDX files; the pending write is ``<prefix>.mat`` and its SOURCE.json."""
    spec = dataset_spec(dataset)
    cache = data_dir / DOWNLOADS / dataset
    arrays, records, found = {}, [], {}
    for key, file in zip(("train_x", "train_y", "test_x", "test_y"), table.files):
        try:
            found[key], arrays[key], record = read_best(
                _mirrored_idx(file, mirrors), file.urls, cache / file.name, lambda f, file=file: read_idx_input(file, f))
        except DownloadFailed as err:
            names = [f.name for f in table.files]
            raise WorkbenchError(offline_hint(dataset, str(err), names, file.urls[0].rsplit("/", 1)[0] + "/")) from None
        records.append(record)
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_x"], arrays[f"{split}_y"]
        images_at, labels_at = found[f"{split}_x"].path, found[f"{split}_y"].path
        if len(images) != len(labels):
            raise WorkbenchError(f"{dataset} {split}: {len(images)} images in {images_at} but {len(labels)} labels in {labels_at}")
        if labels.size and labels.max() >= spec.num_classes:
            raise WorkbenchError(f"{labels_at}: label {labels.max()} outside 0..{spec.num_classes - 1}")
    try:
        require_verified(dataset, records, allow_unverified)
    except WorkbenchError:
        for f, r in zip(found.values(), records):
            if not r.verified:
                forget_download(f)
        raise

    variables = {}
    for name in MAT_VARIABLES:
        a = arrays[name]
        variables[name] = np.ascontiguousarray(a.reshape(len(a), spec.pixels)) if name.endswith("_x") else onehot(a, spec.num_classes)
    out = data_dir / spec.name / variant_files(dataset, "origin")["train"].path

    def write() -> dict:
        write_mat(out, variables)
        return write_record(out.parent, dataset, records, [out])

    return Pending(write)
