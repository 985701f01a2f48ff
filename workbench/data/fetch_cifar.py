"""CIFAR-10's MATLAB release for the fetch: the tarball or its unpacked folder, each batch checked
against the pinned checksums and the documented content, staged and then put in place."""
from __future__ import annotations

import re
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

import numpy as np

from workbench.data.cifar import read_batch
from workbench.data.datasets import CIFAR_ORIGIN_DIR
from workbench.data.fetch_inputs import (
    DOWNLOADS,
    DownloadFailed,
    FileRecord,
    Found,
    Pending,
    cached_or_downloaded,
    check_digest,
    file_digest,
    forget_download,
    md5_of,
    mirror_source,
    offline_hint,
    require_verified,
    sha256_of,
    write_record,
)
from workbench.data.matfiles import read_mat
from workbench.outputs import replace_folder
from workbench.data.sources import CifarRelease
from workbench.errors import WorkbenchError

_CIFAR_FILE = re.compile(r"^(data_batch_\d+\.mat|test_batch\.mat|batches\.meta\.mat|readme\.html)$")
_CIFAR_BATCH = re.compile(r"^data_batch_(\d+)\.mat$")


# --------------------------------------------------------------------------- CIFAR-10


def _cifar_folder(d: Path) -> Path | None:
    """``d`` or ``d/cifar-10-batches-mat`` when it holds the MATLAB release's files."""
    for folder in (d / "cifar-10-batches-mat", d):
        if (folder / "test_batch.mat").is_file() or any(folder.glob("data_batch_*.mat")):
            return folder
    return None


def _read_tarball(path: Path) -> dict[str, bytes]:
    """The release's files (by base name) from ``cifar-10-matlab.tar.gz``; nothing is extracted to disk."""
    files = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                parts = member.name.split("/")
                if member.isfile() and len(parts) == 2 and parts[0] == "cifar-10-batches-mat" and _CIFAR_FILE.match(parts[1]):
                    files[parts[1]] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise WorkbenchError(f"{path}: corrupt or truncated archive ({err})") from err
    if not files:
        raise WorkbenchError(f"{path}: no cifar-10-batches-mat/ folder inside")
    return files


def _read_folder(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and _CIFAR_FILE.match(p.name)}


def _cifar_problems(files: dict[str, bytes], release: CifarRelease, folder: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Departures from the documented release: (for the whole release, per file); every file must read."""
    for needed in ("test_batch.mat", "batches.meta.mat"):
        if needed not in files:
            raise WorkbenchError(f"{folder}: {needed} is missing")
    batches = sorted(int(m.group(1)) for n in files if (m := _CIFAR_BATCH.match(n)))
    if not batches:
        raise WorkbenchError(f"{folder}: no data_batch_<k>.mat files")
    overall = []
    if batches != list(range(1, release.train_batches + 1)):
        overall.append(f"training batches {batches}, the release has 1..{release.train_batches}")
    per_file = {}
    for name in sorted(files):
        if name.endswith(".mat") and name != "batches.meta.mat":
            data, labels = read_batch(folder / name)
            if labels.size and labels.max() > 9:
                raise WorkbenchError(f"{folder / name}: label {labels.max()} outside 0..9")
            if len(data) != release.batch_rows:
                per_file[name] = [f"{len(data)} images, the release has {release.batch_rows}"]
    _check_meta(folder / "batches.meta.mat")
    return overall, per_file


def _check_meta(path: Path) -> None:
    names = read_mat(path).get("label_names")
    if names is None or np.size(names) != 10:
        raise WorkbenchError(f"{path}: expected 10 label_names")


def prepare_cifar(release: CifarRelease, mirrors: list[Path], data_dir: Path, allow_unverified: bool) -> Pending:
    """Stage the MATLAB release (from a mirror folder, a tarball or a download) beside its place, checked."""
    origin = data_dir / "cifar10" / CIFAR_ORIGIN_DIR
    folder = tarball = None
    for d in mirrors:  # the first mirror holding the tarball (preferred: it verifies) or the folder
        if (d / release.name).is_file():
            tarball = Found(d / release.name, mirror_source(d / release.name))
            break
        if (folder := _cifar_folder(d)) is not None:
            break
    if folder is None and tarball is None:
        try:
            tarball = cached_or_downloaded(release.urls, data_dir / DOWNLOADS / "cifar10" / release.name)
        except DownloadFailed as err:
            raise WorkbenchError(offline_hint("cifar10", str(err), [release.name, "or its unpacked cifar-10-batches-mat/ folder"], release.urls[0])) from None
    try:
        files = _read_tarball(tarball.path) if tarball else _read_folder(folder)
    except WorkbenchError:
        if tarball:
            forget_download(tarball)
        raise
    pinned = dict(release.mat_sha256)
    tar_record = None
    if tarball:
        tar_md5 = file_digest(tarball.path, "md5")
        tar_record = FileRecord(release.name, tarball.source, tar_md5, None)
        check_digest(tar_record, "md5 of the .tar.gz", tar_md5, release.md5)
    records = []
    for name, data in sorted(files.items()):
        source = f"{tarball.source}:cifar-10-batches-mat/{name}" if tarball else mirror_source(folder / name)
        record = FileRecord(name, source, md5_of(data), sha256_of(data))
        if tar_record is not None and tar_record.verified_by:
            record.verified_by = tar_record.verified_by
        if name.endswith(".mat"):
            check_digest(record, "sha256 of the content", record.sha256, pinned.get(name))
        if tar_record is not None and record.verified_by is None:
            record.mismatches.append(f"it comes from {release.name}, which failed verification")
        records.append(record)

    data_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".cifar-10-batches-mat.", dir=data_dir))
    try:  # checked in a staging folder (read_batch reads files), moved into place by write()
        for name, data in files.items():
            (staging / name).write_bytes(data)
        overall, per_file = _cifar_problems(files, release, staging)
        for record in records:
            if _CIFAR_BATCH.match(record.name):
                record.problems.extend(overall)
            record.problems.extend(per_file.get(record.name, []))
        require_verified("cifar10", ([tar_record] if tar_record else []) + records, allow_unverified)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if tarball and not tar_record.verified_by:
            forget_download(tarball)
        raise
    all_records = ([tar_record] if tar_record else []) + records

    def write() -> dict:
        replace_folder(staging, origin)
        return write_record(origin.parent, "cifar10", all_records, sorted(origin.glob("*.mat")))

    return Pending(write, discard=lambda: shutil.rmtree(staging, ignore_errors=True))
