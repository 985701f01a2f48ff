"""Input and output paths checked before any work: looked at with ``stat`` (a FIFO, device or
socket is refused, never opened), output places tried. No typer here: the dataset layer uses these."""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from matlab_compat.source import file_kind
from workbench.errors import WorkbenchError


def os_error(err: OSError) -> str:
    """An OSError as one line naming the file: ``<file>: <reason>``."""
    reason = err.strerror or str(err)
    return f"{err.filename}: {reason}" if err.filename else reason


def check_writable(path: Path, *, folder: bool, option: str = "--out") -> Path:
    """Refuse an output path before any work starts: a folder where a file is wanted (or the
    reverse, or a FIFO, device or socket), or a place that cannot be created or written (tried, since root passes permission
    bits and some file systems refuse everyone). Nothing is left behind."""
    path = Path(path)
    problem = path.exists() and path_problem(path, folder=folder)  # a file where a folder is wanted, the reverse, a FIFO...
    if problem:
        raise WorkbenchError(f"{option}: {problem}")
    existing = next(p for p in (path if folder else path.parent, *path.parents) if p.exists())
    if not existing.is_dir():
        raise WorkbenchError(f"{option}: {existing} is a file, so {path} cannot be made")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError:
        raise WorkbenchError(f"{option}: cannot write in {existing}") from None
    return path


def path_problem(path: str | Path, *, folder: bool = False) -> str | None:
    """Why ``path`` cannot be read as an input (None: it can): it is missing, or it is not a regular
    file (not a folder, with ``folder``). Looked at with ``stat``, which never opens it, so a FIFO,
    device or socket is refused before a read could block on it or never end."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return f"{path} does not exist"
    except OSError as err:
        return f"{path}: {err.strerror or err}"
    if (stat.S_ISDIR if folder else stat.S_ISREG)(mode):
        return None
    return f"{path} is {file_kind(mode)}; {'a folder' if folder else 'a regular file'} is needed"


def check_input(path: str | Path | None, option: str, *, folder: bool = False, optional: bool = False) -> Path | None:
    """``path`` (None passes) once :func:`path_problem` finds nothing wrong, else a clean error naming
    ``option``; ``optional``: a missing path passes too (the command says later what writes it)."""
    if path is None or (optional and not os.path.lexists(path)):
        return path
    problem = path_problem(path, folder=folder)
    if problem:
        raise WorkbenchError(f"{option}: {problem}")
    return Path(path)
