"""Fetch the datasets and the published vortex parameters, verified, in the MATLAB layout.

``python -m pipeline.fetch --dataset mnist|fashion|cifar10|all`` writes

* ``data/mnist/origin/mnist.mat``, ``data/fashion/origin/fashion.mat``: uint8 ``train_x``
  (N x 784, IDX row order), one-hot uint8 ``train_y`` (N x 10), ``test_x``, ``test_y``;
* ``data/cifar10/origin/cifar-10-batches-mat/``: the MATLAB release of CIFAR-10 as published;
* ``data/<dataset>/params/vor_params_*.mat``: the authors' parameter files, byte for byte;
* ``SOURCE.json`` beside them: where each input came from, its checksums, whether it was verified;
* a declared dataset (:func:`fetch_declared`): the images its source part plans (an image folder,
  a CSV, an image archive such as Imagenette: :mod:`workbench.data.dataset_sources`), checked and
  stored by :mod:`workbench.data.images` and :mod:`workbench.data.own`.

Inputs come from local mirror folders (``--mirror``, ``$VORTEX_MIRROR``) when they hold them,
else from the download cache ``data/downloads/``, else from the internet. Nothing is
written until every input of a dataset has been read and checked; a file that fails its
checksum stops the run unless ``--allow-unverified`` is given (see :mod:`workbench.data.sources`).
Finding, downloading and recording inputs: :mod:`workbench.data.fetch_inputs`; the built-ins' files:
:mod:`workbench.data.fetch_idx`, :mod:`workbench.data.fetch_cifar`.
"""
from __future__ import annotations

from pathlib import Path

from workbench.outputs import atomic_output
from workbench.data.datasets import dataset_spec
from workbench.data.dataset_sources import SOURCES
from workbench.data.declaration import Declaration
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
    mirror_dirs,
    offline_hint,
    read_best,
    require_verified,
    sha256_of,
    write_record,
)
from workbench.data.own import write_own
from workbench.data.source_part import FetchRequest
from workbench.data.sources import OFFICIAL, ParamFile, Sources
from workbench.errors import WorkbenchError

#: The built-in datasets (``--dataset all``): the sources that declare themselves built in.
DATASET_NAMES = tuple(part.name for part in SOURCES.where(lambda part: part.builtin))


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
    request = FetchRequest(Path(data_dir), mirror_dirs(mirrors), allow_unverified, sources)
    part = SOURCES[spec.name] if spec.name in SOURCES else None
    if part is None or not part.builtin:
        raise WorkbenchError(f"{dataset}: not a built-in dataset; fetch a declared one with fetch_declared")
    pending = {"origin": part.prepare(request)}
    try:
        if params and sources.params_for(spec.name):
            pending["params"] = prepare_params(spec.name, sources.params_for(spec.name), request.mirrors,
                                               request.data_dir, allow_unverified, params_url)
        return {folder: p.write() for folder, p in pending.items()}
    finally:
        for p in pending.values():
            p.discard()


def fetch_declared(decl: Declaration, data_dir: str | Path = "data", mirrors: list[Path] | tuple[Path, ...] = (),
                   allow_unverified: bool = False, params: bool = True, sources: Sources = OFFICIAL) -> dict:
    """Fetch a declared dataset: a built-in one as :func:`fetch`; the images of any other source as its
    part plans them (listed and checked whole), then written (:mod:`workbench.data.own`)."""
    if decl.builtin:
        return fetch(decl.name, data_dir, mirrors, allow_unverified, params, sources)
    plan, archive = decl.part.plan(decl, FetchRequest(Path(data_dir), mirror_dirs(mirrors), allow_unverified, sources))
    return {"origin": write_own(decl, plan, Path(data_dir), archive=archive)}
