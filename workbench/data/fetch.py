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
Finding, downloading and recording inputs: :mod:`workbench.data.fetch_inputs`; CIFAR-10's release:
:mod:`workbench.data.fetch_cifar`.
"""
from __future__ import annotations

import shutil
import tarfile
import zlib
from pathlib import Path

import numpy as np

from workbench.outputs import atomic_output
from workbench.data.datasets import dataset_spec, onehot, variant_files
from workbench.data.declared import Declaration
from workbench.data.fetch_inputs import (
    DOWNLOADS,
    DownloadFailed,
    FileRecord,
    Found,
    Pending,
    cached_or_downloaded,
    check_digest,
    existing,
    file_digest,
    forget_download,
    md5_of,
    mirror_dirs,
    mirror_source,
    offline_hint,
    read_best,
    require_verified,
    sha256_of,
    write_record,
)
from workbench.data.fetch_cifar import prepare_cifar
from workbench.data.idx import decompress, parse_idx
from workbench.data.images import plan_images
from workbench.data.matfiles import write_mat
from workbench.data.own import write_own
from workbench.data.sources import (
    OFFICIAL,
    CifarRelease,
    IdxDataset,
    IdxFile,
    ImageArchive,
    ParamFile,
    Sources,
)
from workbench.errors import WorkbenchError

DATASET_NAMES = ("mnist", "fashion", "cifar10")

#: Variable order of mnist.mat / fashion.mat (the names are what readers use; see docs/fetch.md).
MAT_VARIABLES = ("train_x", "train_y", "test_x", "test_y")


# --------------------------------------------------------------------------- MNIST / Fashion-MNIST


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


# --------------------------------------------------------------------------- parameter files


def _mirrored_param(param: ParamFile, dataset: str, mirrors: list[Path]) -> list[Path]:
    """A parameter file directly in a mirror, or in the authors' layout (``params/<folder>/``)."""
    layouts = (Path(), Path(param.folder), Path("params", param.folder), Path("DataProcess", "params", param.folder),
               Path(dataset, "params"))
    return existing(d / layout / param.name for d in mirrors for layout in layouts)


def read_param(param: ParamFile, found: Found) -> tuple[bytes, FileRecord]:
    """A parameter file's bytes and their verification record."""
    try:
        data = found.path.read_bytes()
    except OSError as err:
        raise WorkbenchError(f"{found.path}: cannot read ({err.strerror or err})") from err
    record = FileRecord(param.name, found.source, md5_of(data), sha256_of(data))
    check_digest(record, "sha256 of the content", record.sha256, param.sha256)
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
            hint = offline_hint(dataset, str(err), [p.name for p in params], url.rsplit("/", 2)[0] + "/")
            raise WorkbenchError(hint + "\nWithout them, --no-vortex-params fetches the dataset alone.") from None
        found.append(f)
        contents.append(data)
        records.append(record)
    try:
        require_verified(f"{dataset} parameters", records, allow_unverified)
    except WorkbenchError:
        for f, r in zip(found, records):
            if not r.verified:
                forget_download(f)
        raise
    out_dir = data_dir / dataset / "params"

    def write() -> dict:
        outputs = []
        for param, data in zip(params, contents):
            with atomic_output(out_dir / param.name) as tmp:
                tmp.write_bytes(data)
            outputs.append(out_dir / param.name)
        return write_record(out_dir, dataset, records, outputs)

    return Pending(write)


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
    mirrored = existing(d / archive.name for d in mirrors)
    cache = data_dir / DOWNLOADS / archive.folder
    try:
        found = Found(mirrored[0], mirror_source(mirrored[0])) if mirrored else cached_or_downloaded(archive.urls, cache / archive.name)
    except DownloadFailed as err:
        raise WorkbenchError(offline_hint(archive.folder, str(err), [archive.name, f"or its unpacked {archive.folder}/ folder"],
                                          archive.urls[0])) from None
    md5 = file_digest(found.path, "md5")
    record = FileRecord(archive.name, found.source, md5, None)
    check_digest(record, "md5 of the archive", md5, archive.md5)
    try:
        require_verified(archive.folder, [record], allow_unverified)
    except WorkbenchError:
        forget_download(found)
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
