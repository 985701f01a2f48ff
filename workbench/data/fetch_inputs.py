"""Where a fetch's inputs come from and what is recorded of them: local mirrors (``--mirror``,
``$VORTEX_MIRROR``), the download cache, the internet; each input's checksums against the official
ones; ``SOURCE.json`` beside the outputs; the hint for a machine that cannot download."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from workbench.outputs import atomic_output
from workbench.cli import progress_bar
from workbench.paths import path_problem
from workbench.data.sources import MIRROR_ENV
from workbench.errors import WorkbenchError

T = TypeVar("T")
DOWNLOADS = "downloads"  # cache folder under the data folder
SOURCE_RECORD = "SOURCE.json"
TIMEOUT_S = 60
CHUNK = 1 << 20


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


def existing(candidates) -> list[Path]:
    return [p for p in candidates if p.is_file()]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def file_digest(path: Path, algorithm: str) -> str:
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
            forget_download(found)
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


def forget_download(found: Found) -> None:
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


def check_digest(record: FileRecord, what: str, got: str, pinned: str | None) -> None:
    """Mark ``record`` verified by ``what`` when ``got`` equals ``pinned`` (no pin: nothing to say)."""
    if pinned is None:
        return
    if got == pinned:
        record.verified_by = record.verified_by or what
    else:
        record.mismatches.append(f"{what} {got} differs from the official {pinned}")


# --------------------------------------------------------------------------- outputs


def write_record(folder: Path, dataset: str, records: list[FileRecord], outputs: list[Path]) -> dict:
    """``SOURCE.json``: inputs, checksums, verification and output checksums (no timestamps)."""
    summary = {
        "dataset": dataset,
        "verified": all(r.verified for r in records),
        "inputs": [r.as_json() for r in records],
        "outputs": {p.relative_to(folder).as_posix(): file_digest(p, "sha256") for p in outputs},
    }
    with atomic_output(folder / SOURCE_RECORD) as tmp:
        tmp.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def offline_hint(dataset: str, failure: str, names: list[str], where: str) -> str:
    return (
        f"{failure}.\nIf this machine cannot download it: put {', '.join(names)} (published at {where}) into a folder "
        f"and run `python -m pipeline.fetch --dataset {dataset} --mirror FOLDER` (or set {MIRROR_ENV}=FOLDER)."
    )
