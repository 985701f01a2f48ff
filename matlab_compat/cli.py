"""Command line: ``python -m matlab_compat info FILE`` and ``roundtrip IN OUT``."""
from __future__ import annotations

import os
from pathlib import Path

import typer

from matlab_compat.errors import MatFileError
from matlab_compat.header import read_header
from matlab_compat.matfile import loadmat, savemat
from matlab_compat.whos import whos

app = typer.Typer(help="MAT-file tools (v6, v7, v7.3), byte-compatible with MATLAB.",
                  no_args_is_help=True, add_completion=False)


def _fail(file: Path, exc: Exception | str, kind: str = "") -> None:
    """Print ``error: <file>: <problem>`` (one line) on stderr and exit with status 1."""
    problem = str(exc).removeprefix(f"{file}: ").replace("\n", " ")
    typer.echo(f"error: {file}: {kind}{problem}", err=True)
    raise typer.Exit(1)


def _check_output(dst: Path) -> None:
    """Refuse, before any reading, an output path that cannot be written as a file."""
    folder = dst.parent
    if dst.is_dir():
        _fail(dst, "cannot write: is a directory")
    if dst.exists() and not dst.is_file():
        _fail(dst, "cannot write: not a regular file")
    if not folder.is_dir():
        _fail(dst, f"cannot write: folder {folder} is not an existing folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        _fail(dst, f"cannot write: folder {folder} is not writable")


@app.command()
def info(file: Path = typer.Argument(..., help="MAT-file to describe.")) -> None:
    """List the variables like MATLAB's ``whos -file``: name, size, class, storage, bytes."""
    try:
        header = read_header(file)
        rows = whos(file)
    except MatFileError as exc:
        _fail(file, exc)
    except Exception as exc:  # noqa: BLE001 - h5py/libhdf5 raise anything: one line, no traceback
        _fail(file, exc, f"{type(exc).__name__}: ")
    order = "little-endian" if header.byte_order == "<" else "big-endian"
    typer.echo(f"{file}: MAT-file version {header.version}, {order}")
    typer.echo(f"header: {header.description}")
    table = [("Name", "Size", "Class", "Storage", "Bytes", "File bytes", "Attributes")]
    for row in rows:
        table.append((row.name, "x".join(map(str, row.size)), row.cls, row.storage,
                      str(row.bytes), str(row.stored_bytes), row.attributes))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        typer.echo("  ".join(cell.ljust(w) if i in (0, 2, 3, 6) else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(r, widths))).rstrip())


@app.command()
def roundtrip(src: Path = typer.Argument(..., help="MAT-file to read."),
              dst: Path = typer.Argument(..., help="MAT-file to write (atomically).")) -> None:
    """Read SRC and write its variables to DST in SRC's format with SRC's header."""
    _check_output(dst)
    try:
        header = read_header(src)
        variables = loadmat(src)
    except MatFileError as exc:
        _fail(src, exc)
    try:
        savemat(dst, variables, version=header.version, header=header)
        same = src.read_bytes() == dst.read_bytes()
    except (MatFileError, OSError) as exc:
        _fail(dst, exc, "cannot write: " if isinstance(exc, OSError) else "")
    typer.echo(f"wrote {dst} (version {header.version}); "
               f"{'identical to' if same else 'differs from'} {src}")


if __name__ == "__main__":
    app()
