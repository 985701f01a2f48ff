"""Fetch the datasets and the published vortex parameters, verified, in the MATLAB layout.

``python -m pipeline.fetch --dataset mnist|fashion|cifar10|all`` writes

* ``data/mnist/origin/mnist.mat``, ``data/fashion/origin/fashion.mat``: uint8 ``train_x``
  (N x 784, IDX row order), one-hot uint8 ``train_y`` (N x 10), ``test_x``, ``test_y``;
* ``data/cifar10/origin/cifar-10-batches-mat/``: the MATLAB release of CIFAR-10 as published;
* ``data/<dataset>/params/vor_params_*.mat``: the authors' parameter files, byte for byte;
* ``SOURCE.json`` beside them: where each input came from, its checksums, whether it was verified;
* a declared dataset (:func:`fetch_declared`): an image folder, a CSV or an image archive
  (Imagenette), checked and stored by :mod:`workbench.data.images` and :mod:`workbench.data.own`.

Inputs come from local mirror folders (``--mirror``, ``$VORTEX_MIRROR``) when they hold them,
else from the download cache ``data/downloads/``, else from the internet. Nothing is
written until every input of a dataset has been read and checked; a file that fails its
checksum stops the run unless ``--allow-unverified`` is given (see :mod:`workbench.data.sources`).
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np

from workbench.outputs import atomic_output
from workbench.cli import progress_bar
from workbench.paths import path_problem
from workbench.data.cifar import read_batch
from workbench.data.datasets import CIFAR_ORIGIN_DIR, dataset_spec, onehot, variant_files
from workbench.data.declared import Declaration
from workbench.data.idx import decompress, parse_idx
from workbench.data.images import plan_images
from workbench.data.matfiles import read_mat, write_mat
from workbench.outputs import replace_folder
from workbench.data.own import write_own
from workbench.data.sources import (
    MIRROR_ENV,
    OFFICIAL,
    CifarRelease,
    IdxDataset,
    IdxFile,
    ImageArchive,
    ParamFile,
    Sources,
)
from workbench.errors import WorkbenchError

T = TypeVar("T")
DATASET_NAMES = ("mnist", "fashion", "cifar10")
DOWNLOADS = "downloads"  # cache folder under the data folder
SOURCE_RECORD = "SOURCE.json"
TIMEOUT_S = 60
CHUNK = 1 << 20

#: Variable order of mnist.mat / fashion.mat (the names are what readers use; see docs/fetch.md).
MAT_VARIABLES = ("train_x", "train_y", "test_x", "test_y")

_CIFAR_FILE = re.compile(r"^(data_batch_\d+\.mat|test_batch\.mat|batches\.meta\.mat|readme\.html)$")
_CIFAR_BATCH = re.compile(r"^data_batch_(\d+)\.mat$")


@dataclass
class FileRecord:
    """What was used for one input file, and whether it passed verification."""

    name: str
    source: str
    md5: str  # of the file as found (the .gz / .tar.gz where compressed)
    sha256: str | None  # of the content (decompressed); None for the CIFAR tarball itself
    verified_by: str | None = None
    mismatches: list[str] = field(default_factory=list)  # checksums that differ from the official ones
    problems: list[str] = field(default_factory=list)  # departures from the documented content

    @property
    def verified(self) -> bool:
        return self.verified_by is not None and not self.problems

    def reasons(self) -> list[str]:
        """Why the file is not verified (empty when it is)."""
        if self.verified:
            return []
        if self.verified_by is not None:
            return self.problems
        return (self.mismatches or ["no official checksum to compare with"]) + self.problems

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "md5": self.md5,
            "content_sha256": self.sha256,
            "verified": self.verified,
            "verified_by": self.verified_by if self.verified else None,
            "problems": self.reasons(),
        }


@dataclass(frozen=True)
class Found:
    """An input file on disk and where it came from (a mirror path or a download URL)."""

    path: Path
    source: str
    downloaded: bool = False


@dataclass
class Pending:
    """A dataset's checked inputs, ready to be written: ``write()`` puts the outputs in place."""

    write: Callable[[], dict]
    discard: Callable[[], None] = lambda: None


class DownloadFailed(Exception):
    """Every URL of a file failed (the message says how); callers turn it into a WorkbenchError with a hint."""

    def __init__(self, name: str, reasons: list[str]):
        super().__init__(f"cannot download {name}: " + "; ".join(reasons))


# --------------------------------------------------------------------------- locating inputs


def mirror_dirs(cli_mirrors: list[Path] | tuple[Path, ...] = ()) -> list[Path]:
    """Mirror folders: those given on the command line, then those of ``$VORTEX_MIRROR``."""
    env = [Path(p) for p in os.environ.get(MIRROR_ENV, "").split(os.pathsep) if p]
    dirs = [Path(p) for p in cli_mirrors] + env
    for i, d in enumerate(dirs):
        problem = path_problem(d, folder=True)
        if problem:
            raise WorkbenchError(f"{'--mirror' if i < len(cli_mirrors) else '$' + MIRROR_ENV}: {problem}")
    return dirs


def mirror_source(path: Path) -> str:
    """How a record names a file found in a mirror: by name only (the checksums beside it identify it),
    so that records, and DVC's hashes of them, do not depend on where a clone or a mirror lies."""
    return f"mirror: {path.name}"


def _existing(candidates) -> list[Path]:
    return [p for p in candidates if p.is_file()]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _file_digest(path: Path, algorithm: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def download(urls: tuple[str, ...], dest: Path) -> str:
    """Download the first URL that works to ``dest`` (atomically, with a progress bar); return it.

    The URL is remembered beside the file (``<dest>.url``) so a cached copy names its origin.
    """
    reasons = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, atomic_output(dest) as tmp:
                total = int(response.headers.get("Content-Length") or 0) or None
                written = 0
                with open(tmp, "wb") as out, progress_bar(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        written += len(chunk)
                        bar.update(len(chunk))
                if total is not None and written != total:
                    raise OSError(f"connection closed after {written} of {total} bytes")
            dest.with_name(dest.name + ".url").write_text(url + "\n")
            return url
        except urllib.error.HTTPError as err:
            reasons.append(f"{url}: HTTP {err.code} {err.reason}")
        except urllib.error.URLError as err:
            reasons.append(f"{url}: {err.reason}")
        except (OSError, http.client.HTTPException) as err:
            reasons.append(f"{url}: {err}")
    raise DownloadFailed(dest.name, reasons)


def cached_or_downloaded(urls: tuple[str, ...], cache: Path) -> Found:
    """The cached download of a file, else a fresh download into the cache."""
    if cache.is_file():
        url_note = cache.with_name(cache.name + ".url")
        source = url_note.read_text().strip() if url_note.is_file() else f"download cache: {cache.name}"
        return Found(cache, source, downloaded=True)
    return Found(cache, download(urls, cache), downloaded=True)


def read_best(mirrored: list[Path], urls: tuple[str, ...], cache: Path,
              read: Callable[[Found], tuple[T, FileRecord]]) -> tuple[Found, T, FileRecord]:
    """Read an input with ``read``: the first mirror copy that verifies, else the first mirror copy
    (the caller decides whether unverified input may be used), else the cache or a download.

    Trying every copy matters because MNIST and Fashion-MNIST share their file names: with
    mirrors of both, each dataset takes the copy that matches its own checksums.
    """
    if not mirrored:
        found = cached_or_downloaded(urls, cache)
        try:
            return (found, *read(found))
        except WorkbenchError:
            _forget_download(found)
            raise
    first = None
    for path in dict.fromkeys(mirrored):
        found = Found(path, mirror_source(path))
        try:
            value, record = read(found)
        except WorkbenchError as err:
            value, record = err, None
        if record is not None and record.verified:
            return found, value, record
        first = first or (found, value, record)
    found, value, record = first
    if record is None:
        raise value
    return found, value, record


def _forget_download(found: Found) -> None:
    """Remove a downloaded file that failed verification, so the next run downloads it again."""
    if found.downloaded:
        found.path.unlink(missing_ok=True)
        found.path.with_name(found.path.name + ".url").unlink(missing_ok=True)


# --------------------------------------------------------------------------- verification


def require_verified(dataset: str, records: list[FileRecord], allow_unverified: bool) -> None:
    """Stop (WorkbenchError naming each file and its mismatch) unless all verified or allowed."""
    bad = [r for r in records if not r.verified]
    if bad and not allow_unverified:
        lines = [f"  {r.name} from {r.source}: {'; '.join(r.reasons())}" for r in bad]
        raise WorkbenchError(
            f"{dataset}: {len(bad)} input file(s) failed verification:\n" + "\n".join(lines)
            + "\nPass --allow-unverified to use them anyway (the outputs then record that they are unverified)."
        )


def _check(record: FileRecord, what: str, got: str, pinned: str | None) -> None:
    """Mark ``record`` verified by ``what`` when ``got`` equals ``pinned`` (no pin: nothing to say)."""
    if pinned is None:
        return
    if got == pinned:
        record.verified_by = record.verified_by or what
    else:
        record.mismatches.append(f"{what} {got} differs from the official {pinned}")


# --------------------------------------------------------------------------- MNIST / Fashion-MNIST


def _mirrored_idx(file: IdxFile, mirrors: list[Path]) -> list[Path]:
    """``train-images-idx3-ubyte.gz`` or the plain ``train-images-idx3-ubyte`` in the mirror folders."""
    return _existing(d / n for d in mirrors for n in (file.name, file.stem))


def read_idx_input(file: IdxFile, found: Found) -> tuple[np.ndarray, FileRecord]:
    """The IDX array of one input, with its verification record (structural errors raise)."""
    where = str(found.path)
    try:
        raw = found.path.read_bytes()
    except OSError as err:
        raise WorkbenchError(f"{where}: cannot read ({err.strerror or err})") from err
    content = decompress(raw, where)
    array = parse_idx(content, where)
    record = FileRecord(file.name, found.source, _md5(raw), _sha256(content))
    if content is not raw:
        _check(record, "md5 of the .gz", record.md5, file.gz_md5)
    _check(record, "sha256 of the content", record.sha256, file.content_sha256)
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
            raise WorkbenchError(_offline_hint(dataset, str(err), names, file.urls[0].rsplit("/", 1)[0] + "/")) from None
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
                _forget_download(f)
        raise

    variables = {}
    for name in MAT_VARIABLES:
        a = arrays[name]
        variables[name] = np.ascontiguousarray(a.reshape(len(a), spec.pixels)) if name.endswith("_x") else onehot(a, spec.num_classes)
    out = data_dir / spec.name / variant_files(dataset, "origin")["train"].path

    def write() -> dict:
        write_mat(out, variables)
        return _write_record(out.parent, dataset, records, [out])

    return Pending(write)


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
            raise WorkbenchError(_offline_hint("cifar10", str(err), [release.name, "or its unpacked cifar-10-batches-mat/ folder"], release.urls[0])) from None
    try:
        files = _read_tarball(tarball.path) if tarball else _read_folder(folder)
    except WorkbenchError:
        if tarball:
            _forget_download(tarball)
        raise
    pinned = dict(release.mat_sha256)
    tar_record = None
    if tarball:
        tar_md5 = _file_digest(tarball.path, "md5")
        tar_record = FileRecord(release.name, tarball.source, tar_md5, None)
        _check(tar_record, "md5 of the .tar.gz", tar_md5, release.md5)
    records = []
    for name, data in sorted(files.items()):
        source = f"{tarball.source}:cifar-10-batches-mat/{name}" if tarball else mirror_source(folder / name)
        record = FileRecord(name, source, _md5(data), _sha256(data))
        if tar_record is not None and tar_record.verified_by:
            record.verified_by = tar_record.verified_by
        if name.endswith(".mat"):
            _check(record, "sha256 of the content", record.sha256, pinned.get(name))
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
            _forget_download(tarball)
        raise
    all_records = ([tar_record] if tar_record else []) + records

    def write() -> dict:
        replace_folder(staging, origin)
        return _write_record(origin.parent, "cifar10", all_records, sorted(origin.glob("*.mat")))

    return Pending(write, discard=lambda: shutil.rmtree(staging, ignore_errors=True))


# --------------------------------------------------------------------------- parameter files


def _mirrored_param(param: ParamFile, dataset: str, mirrors: list[Path]) -> list[Path]:
    """A parameter file directly in a mirror, or in the authors' layout (``params/<folder>/``)."""
    layouts = (Path(), Path(param.folder), Path("params", param.folder), Path("DataProcess", "params", param.folder),
               Path(dataset, "params"))
    return _existing(d / layout / param.name for d in mirrors for layout in layouts)


def read_param(param: ParamFile, found: Found) -> tuple[bytes, FileRecord]:
    """A parameter file's bytes and their verification record."""
    try:
        data = found.path.read_bytes()
    except OSError as err:
        raise WorkbenchError(f"{found.path}: cannot read ({err.strerror or err})") from err
    record = FileRecord(param.name, found.source, _md5(data), _sha256(data))
    _check(record, "sha256 of the content", record.sha256, param.sha256)
    return data, record


def prepare_params(dataset: str, params: tuple[ParamFile, ...], mirrors: list[Path], data_dir: Path,
                   allow_unverified: bool, base_url: str | None = None) -> Pending:
    """Read and verify the published parameter files; the pending write copies them to ``data/<dataset>/params/``."""
    found, contents, records = [], [], []
    for param in params:
        url = param.url(base_url)
        try:
            f, data, record = read_best(_mirrored_param(param, dataset, mirrors), (url,),
                                        data_dir / DOWNLOADS / "params" / param.name,
                                        lambda f, param=param: read_param(param, f))
        except DownloadFailed as err:
            hint = _offline_hint(dataset, str(err), [p.name for p in params], url.rsplit("/", 2)[0] + "/")
            raise WorkbenchError(hint + "\nWithout them, --no-vortex-params fetches the dataset alone.") from None
        found.append(f)
        contents.append(data)
        records.append(record)
    try:
        require_verified(f"{dataset} parameters", records, allow_unverified)
    except WorkbenchError:
        for f, r in zip(found, records):
            if not r.verified:
                _forget_download(f)
        raise
    out_dir = data_dir / dataset / "params"

    def write() -> dict:
        outputs = []
        for param, data in zip(params, contents):
            with atomic_output(out_dir / param.name) as tmp:
                tmp.write_bytes(data)
            outputs.append(out_dir / param.name)
        return _write_record(out_dir, dataset, records, outputs)

    return Pending(write)


# --------------------------------------------------------------------------- outputs


def _write_record(folder: Path, dataset: str, records: list[FileRecord], outputs: list[Path]) -> dict:
    """``SOURCE.json``: inputs, checksums, verification and output checksums (no timestamps)."""
    summary = {
        "dataset": dataset,
        "verified": all(r.verified for r in records),
        "inputs": [r.as_json() for r in records],
        "outputs": {p.relative_to(folder).as_posix(): _file_digest(p, "sha256") for p in outputs},
    }
    with atomic_output(folder / SOURCE_RECORD) as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _offline_hint(dataset: str, failure: str, names: list[str], where: str) -> str:
    return (
        f"{failure}.\nIf this machine cannot download it: put {', '.join(names)} (published at {where}) into a folder "
        f"and run `python -m pipeline.fetch --dataset {dataset} --mirror FOLDER` (or set {MIRROR_ENV}=FOLDER)."
    )


# --------------------------------------------------------------------------- entry points


def fetch(dataset: str, data_dir: str | Path = "data", mirrors: list[Path] | tuple[Path, ...] = (),
          allow_unverified: bool = False, params: bool = True, sources: Sources = OFFICIAL,
          params_url: str | None = None) -> dict:
    """Fetch one dataset (and its parameter files); return the SOURCE.json written in each folder.

    Every input (data and parameters) is read and checked before the first output is written.

    ``sources`` is the table of URLs and checksums (tests pass their own); ``params_url``
    replaces the base URL of the parameter files (default: ``$VORTEX_PARAMS_URL``, else the
    authors' repository).
    """
    spec = dataset_spec(dataset, data_dir)
    data_dir = Path(data_dir)
    dirs = mirror_dirs(mirrors)
    table = getattr(sources, spec.name, None)
    if not isinstance(table, (CifarRelease, IdxDataset)):
        raise WorkbenchError(f"{dataset}: not a built-in dataset; fetch a declared one with fetch_declared")
    if isinstance(table, CifarRelease):
        pending = {"origin": prepare_cifar(table, dirs, data_dir, allow_unverified)}
    else:
        pending = {"origin": prepare_idx_dataset(spec.name, table, dirs, data_dir, allow_unverified)}
    try:
        if params and sources.params_for(spec.name):
            pending["params"] = prepare_params(spec.name, sources.params_for(spec.name), dirs, data_dir,
                                               allow_unverified, params_url)
        return {folder: p.write() for folder, p in pending.items()}
    finally:
        for p in pending.values():
            p.discard()


def fetch_declared(decl: Declaration, data_dir: str | Path = "data", mirrors: list[Path] | tuple[Path, ...] = (),
                   allow_unverified: bool = False, params: bool = True, sources: Sources = OFFICIAL) -> dict:
    """Fetch a declared dataset: a built-in one as :func:`fetch`; an image folder, CSV or image archive
    checked whole (:func:`workbench.data.images.plan_images`) and then written (:mod:`workbench.data.own`)."""
    if decl.builtin:
        return fetch(decl.name, data_dir, mirrors, allow_unverified, params, sources)
    data_dir = Path(data_dir)
    if decl.path is not None:
        return {"origin": write_own(decl, plan_images(decl), data_dir)}
    archive = getattr(sources, decl.source)
    folder, record = archive_folder(archive, mirror_dirs(mirrors), data_dir, allow_unverified)
    plan = plan_images(decl, folder)
    counts = (len(plan.items["train"]), len(plan.items["test"]))
    if counts != archive.images:
        record.problems.append(f"{counts[0]} train and {counts[1]} test images, the published archive has "
                               f"{archive.images[0]} and {archive.images[1]}")
    require_verified(decl.name, [record], allow_unverified)
    return {"origin": write_own(decl, plan, data_dir, archive=record.as_json())}


def archive_folder(archive: ImageArchive, mirrors: list[Path], data_dir: Path,
                   allow_unverified: bool) -> tuple[Path, FileRecord]:
    """The unpacked image folder of ``archive``: a mirror's unpacked copy, else the archive (mirror,
    download cache or download; its md5 checked) unpacked under ``data/downloads/``."""
    for d in mirrors:
        if (d / archive.folder).is_dir() and not (d / archive.name).is_file():
            return d / archive.folder, FileRecord(archive.folder, mirror_source(d / archive.folder), "", None,
                                                  mismatches=["an unpacked copy: the archive's md5 cannot be checked"])
    mirrored = _existing(d / archive.name for d in mirrors)
    cache = data_dir / DOWNLOADS / archive.folder
    try:
        found = Found(mirrored[0], mirror_source(mirrored[0])) if mirrored else cached_or_downloaded(archive.urls, cache / archive.name)
    except DownloadFailed as err:
        raise WorkbenchError(_offline_hint(archive.folder, str(err), [archive.name, f"or its unpacked {archive.folder}/ folder"],
                                          archive.urls[0])) from None
    md5 = _file_digest(found.path, "md5")
    record = FileRecord(archive.name, found.source, md5, None)
    _check(record, "md5 of the archive", md5, archive.md5)
    try:
        require_verified(archive.folder, [record], allow_unverified)
    except WorkbenchError:
        _forget_download(found)
        raise
    unpacked = cache / "unpacked"
    marker = unpacked / f".{md5}"
    if not marker.is_file():
        shutil.rmtree(unpacked, ignore_errors=True)
        unpacked.mkdir(parents=True)
        try:
            with tarfile.open(found.path, "r:*") as tar:
                tar.extractall(unpacked, filter="data")
        except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
            shutil.rmtree(unpacked, ignore_errors=True)
            raise WorkbenchError(f"{found.path}: corrupt or truncated archive ({err})") from err
        marker.write_text(found.source + "\n")
    if not (unpacked / archive.folder).is_dir():
        raise WorkbenchError(f"{found.path}: no {archive.folder}/ folder inside")
    return unpacked / archive.folder, record
