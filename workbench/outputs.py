"""Outputs of several files written as one unit, and checked as one unit when read.

A command that writes a folder of files (an encrypted dataset: train and test MAT-files and
their ``params.json`` record) writes them into a staging folder beside the target and then
swaps the staging folder in whole: with ``renameat2(RENAME_EXCHANGE)`` where the kernel has
it (one atomic step), else with two renames. A kill at any point leaves the old complete set
or the new complete set under the target's name, never a mix. Staging folders left by a
killed run are removed by the next run of the same command.

The record lists the SHA-256 of every file of the set, so a reader can refuse a file that
does not belong to it (:func:`check_member`: a train file from one run beside a test file of
another, copied by hand).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from matlab_compat.atomic import atomic_output, fsync_path
from workbench.paths import path_problem
from workbench.errors import WorkbenchError

RECORD = "params.json"
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def sha256_file(path: Path) -> str:
    """SHA-256 of a regular file (anything else is refused before it is opened: a FIFO would block)."""
    problem = path_problem(path)
    if problem:
        raise WorkbenchError(f"cannot read: {problem}")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(target: Path) -> None:
    """Remove staging and old folders of ``target`` left by runs that were killed (their process is gone)."""
    parent = target.parent
    if not parent.is_dir():
        return
    for leftover in parent.glob(f".{target.name}.*.*.*"):
        kind, pid = leftover.name[len(target.name) + 2:].split(".")[:2]
        if kind in ("staging", "old") and pid.isdigit() and (int(pid) == os.getpid() or not _alive(int(pid))):
            shutil.rmtree(leftover, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically; False where the system cannot."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return done == 0


def replace_folder(new: Path, target: Path) -> None:
    """Put the folder ``new`` in place of ``target`` (atomically where the kernel allows); the old one is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        os.replace(new, target)
    elif _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old folder
    else:
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.{os.getpid()}.", dir=target.parent))
        os.replace(target, old / target.name)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    fsync_path(target.parent)


def staging_folder(target: Path) -> Path:
    """A fresh folder beside ``target`` to write a new set into (after removing killed runs' leftovers)."""
    clean_stale(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging.{os.getpid()}.", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)  # mkdtemp makes 0700; the output gets the usual mode
    return folder


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A fresh folder to write ``target``'s new contents into: when the block ends, its files are
    synced and it replaces ``target`` as one unit; on any failure it is removed and ``target``
    stays as it was."""
    staging = staging_folder(target)
    try:
        yield staging
        for path in [*sorted(p for p in staging.rglob("*") if p.is_file()), staging]:
            fsync_path(path)
        replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_unit(target: Path, write_files: Callable[[Path], list[Path]], record: dict) -> list[Path]:
    """Write a set of files as one unit into the folder ``target``.

    ``write_files(folder)`` writes the files into ``folder`` and returns their paths; the record
    (with the SHA-256 of each file) is written as ``params.json``. Returns the final paths.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise WorkbenchError(f"{target} is a file; the output must be a folder")
    with staged_folder(target) as staging:
        written = write_files(staging)
        files = {p.name: sha256_file(p) for p in written}
        (staging / RECORD).write_text(json.dumps({**record, "files": files}, indent=2) + "\n")
    return [target / p.name for p in written] + [target / RECORD]


def read_json(path: str | Path):
    """The JSON of a file a command wrote. Anything but a regular file is refused before it is opened
    (a FIFO would block the read) with a :class:`WorkbenchError`, which is a ValueError like bad JSON."""
    if os.path.lexists(path) and path_problem(path):
        raise WorkbenchError(path_problem(path))
    return json.loads(Path(path).read_text())


def read_record(folder: Path) -> dict | None:
    """The ``params.json`` record of a folder written by :func:`write_unit` (None if it has none)."""
    path = Path(folder) / RECORD
    try:
        record = read_json(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise WorkbenchError(f"{path}: not a readable record ({err})") from None
    if not isinstance(record, dict):
        raise WorkbenchError(f"{path}: not a record of a pipeline command")
    return record


def check_member(path: Path) -> None:
    """Refuse ``path`` when its folder's record lists a different digest for it (a file from another run)."""
    path = Path(path)
    record = read_record(path.parent)
    files = None if record is None else record.get("files")
    if not isinstance(files, dict) or path.name not in files:
        return
    if sha256_file(path) != files[path.name]:
        raise WorkbenchError(f"{path} does not belong to the set recorded in {path.parent / RECORD} (written by another run); "
                            f"re-run the command that writes {path.parent}")


def write_json(path: str | Path, data) -> Path:
    """Write ``data`` as indented JSON (with a final newline), atomically; returns the path."""
    path = Path(path)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")
    return path
