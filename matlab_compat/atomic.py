"""Atomic output: write to a temporary file beside the target, then rename over it.

Every writer of the project goes through :func:`atomic_output`, so an exception (or a
killed process) never leaves a half-written file under the final name, and a crash never
leaves a renamed file whose data is not yet on disk.

Temporary files are named ``.<target name>.<random>.tmp`` in the target's folder, so the
next write of the same target can find what a killed run left. A temporary file is held
under an exclusive ``flock`` for as long as its writer lives; the kernel drops the lock when
the process dies, however it dies. So a temporary of this target whose lock can be taken is
stale (its writer is gone) and is removed; one still locked belongs to a live writer and is
left alone. Locks, unlike ages or process ids, are neither fooled by clock skew nor by a
recycled pid, and a concurrent writer of the same target is never disturbed.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path
from typing import Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove_stale(target: Path) -> None:
    """Remove temporaries of ``target`` whose writer has died (their lock can be taken)."""
    prefix = f".{target.name}."
    try:
        names = [n for n in os.listdir(target.parent) if n.startswith(prefix) and n.endswith(".tmp")
                 and "." not in n[len(prefix):-len(".tmp")]]
    except OSError:
        return
    for name in names:
        path = target.parent / name
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue        # renamed or removed meanwhile
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                path.unlink()
        except OSError:
            pass            # locked: a live writer owns it
        finally:
            os.close(fd)


def _locked_temporary(target: Path) -> tuple[int, Path]:
    """A new temporary beside ``target``, opened and locked (retried if a cleaner raced us)."""
    while True:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(name).st_ino == os.fstat(fd).st_ino:
                return fd, Path(name)
        except FileNotFoundError:
            pass            # removed between mkstemp and flock by another run's cleanup
        os.close(fd)


def fsync_path(path: str | os.PathLike) -> None:
    """Flush a file's or a folder's data and metadata to disk (by path: folders too)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success make it ``path``.

    The temporary is fsynced before the rename and the folder after it, so ``path`` holds
    the old or the new complete content even after a power cut. On any exception the
    temporary is removed and ``path`` is left as it was. Stale temporaries of ``path`` left
    by killed runs are removed first (see the module docstring).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    fd, tmp = _locked_temporary(target)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        yield tmp
        fsync_path(tmp)     # by path: a writer may have re-created the file
        os.replace(tmp, target)
        fsync_path(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
