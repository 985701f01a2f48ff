"""Input files: only regular files are opened, so a FIFO, device or socket cannot block a reader.

A FIFO opened for reading blocks until a writer appears, and ``/dev/zero`` never ends; both are
refused in one line. The file is opened non-blocking and checked with ``fstat`` (no race between
the check and the open); h5py, which opens by name, gets the same check just before.
"""
from __future__ import annotations

import fcntl
import os
import stat
from typing import BinaryIO

from matlab_compat.errors import MatFileError

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISREG, "a file"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def file_kind(mode: int) -> str:
    """What ``os.stat``'s ``mode`` is, in words ("a file", "a folder", "a FIFO (named pipe)"...)."""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def _refuse_special(path: str | os.PathLike, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise MatFileError(f"{path}: cannot read: {file_kind(mode)}, not a regular file")


def open_input(path: str | os.PathLike) -> BinaryIO:
    """``path`` opened for binary reading, if it is a regular file; else MatFileError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        check_input(path)      # a socket cannot be opened: name it as what it is
        raise MatFileError(f"{path}: cannot read: {exc}") from exc
    try:
        _refuse_special(path, os.fstat(fd).st_mode)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def check_input(path: str | os.PathLike) -> int:
    """The size of ``path`` if it is a regular file (for readers that open it by name)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise MatFileError(f"{path}: cannot read: {exc}") from exc
    _refuse_special(path, info.st_mode)
    return info.st_size
