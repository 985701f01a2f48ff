"""Image-folder archives as dataset sources (Imagenette, the EtC paper's 224 px set): the archive
(mirror, download cache or download; md5 checked) or a mirror's unpacked copy, then read like a
declared ``folder`` with the archive's own folders, size and colour unless declared otherwise."""
from __future__ import annotations

import shutil
import tarfile
import zlib
from pathlib import Path

from workbench.data.declaration import Declaration
from workbench.data.fetch_inputs import (
    DOWNLOADS,
    DownloadFailed,
    FileRecord,
    Found,
    cached_or_downloaded,
    check_digest,
    existing,
    file_digest,
    forget_download,
    mirror_source,
    offline_hint,
    require_verified,
)
from workbench.data.images import ImagePlan, plan_images
from workbench.data.source_folder import FolderSource
from workbench.data.source_part import FetchRequest
from workbench.data.sources import ImageArchive
from workbench.errors import WorkbenchError


class ArchiveSource(FolderSource):
    """An archive of class folders under ``train/`` and a test folder (its table: the field of
    :class:`~workbench.data.sources.Sources` of its name)."""

    def plan(self, decl: Declaration, request: FetchRequest) -> tuple[ImagePlan, dict | None]:
        archive = getattr(request.sources, self.name)
        folder, record = archive_folder(archive, request.mirrors, request.data_dir, request.allow_unverified)
        plan = plan_images(decl, folder)
        counts = (len(plan.items["train"]), len(plan.items["test"]))
        if counts != archive.images:
            record.problems.append(f"{counts[0]} train and {counts[1]} test images, the published archive has "
                                   f"{archive.images[0]} and {archive.images[1]}")
        require_verified(decl.name, [record], request.allow_unverified)
        return plan, record.as_json()


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


#: The archive's own layout: 224 x 224 colour, its ``train``/``val`` split, stored as v7.3 (HDF5, chunked).
IMAGENETTE = ArchiveSource("imagenette", defaults=(("size", 224), ("colour", "rgb"), ("train_folder", "train"),
                                                   ("test_folder", "val"), ("storage", "v7.3")))
