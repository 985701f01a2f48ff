"""The pipeline's one way to read and write MAT-files: errors become :class:`WorkbenchError` naming the file.

Writes use the fixed header of :data:`matlab_compat.DEFAULT_TEXT` (same inputs, same bytes on
every machine) and are atomic (:func:`matlab_compat.savemat`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from matlab_compat import DEFAULT_TEXT, MatFileError, loadmat, savemat
from workbench.paths import path_problem
from workbench.errors import WorkbenchError


def read_mat(path: str | Path, required: tuple[str, ...] = (), variable_names: tuple[str, ...] | None = None) -> dict:
    """The variables of a MAT-file read by a pipeline step (``variable_names``: only those).

    A malformed file, or one without a ``required`` variable, is a :class:`WorkbenchError`
    naming the file; callers check first that it exists, saying which command writes it. A FIFO,
    device or socket is refused before it is opened (a read would block or never end).
    """
    problem = path_problem(path)
    if problem:
        raise WorkbenchError(f"cannot read a MAT-file: {problem}")
    try:
        variables = loadmat(path, variable_names=variable_names)
    except MatFileError as err:
        raise WorkbenchError(f"{path}: not a readable MAT-file ({err})") from err
    except OSError as err:
        raise WorkbenchError(f"{path}: cannot read ({err.strerror or err})") from None
    for name in required:
        if name not in variables:
            raise WorkbenchError(f"{path}: variable {name!r} is missing (found {', '.join(sorted(variables)) or 'nothing'})")
    return variables


def write_mat(path: str | Path, variables: Mapping[str, Any], version: str = "7") -> None:
    """Write a v7 (or v7.3: HDF5, for sets larger than memory) MAT-file atomically with the fixed pipeline header."""
    try:
        savemat(path, variables, version=version, header=DEFAULT_TEXT)
    except (MatFileError, OSError) as err:
        raise WorkbenchError(f"{path}: cannot write ({err})") from err
