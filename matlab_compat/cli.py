"""Command line: ``python -m matlab_compat info FILE`` and ``roundtrip IN OUT``."""
from __future__ import annotations

from pathlib import Path

import typer

from matlab_compat.errors import MatFileError
from matlab_compat.header import read_header
from matlab_compat.matfile import loadmat, savemat
from matlab_compat.whos import whos

app = typer.Typer(help="MAT-file tools (v6, v7, v7.3), byte-compatible with MATLAB.",
                  no_args_is_help=True, add_completion=False)


def _fail(file: Path, exc: Exception, kind: str = "") -> None:
    """Print ``error: <file>: <problem>`` (one line) on stderr and exit with status 1."""
    problem = str(exc).removeprefix(f"{file}: ").replace("\n", " ")
    typer.echo(f"error: {file}: {kind}{problem}", err=True)
    raise typer.Exit(1)


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
    try:
        header = read_header(src)
        savemat(dst, loadmat(src), version=header.version, header=header)
    except MatFileError as exc:
        _fail(src, exc)
    same = src.read_bytes() == dst.read_bytes()
    typer.echo(f"wrote {dst} (version {header.version}); "
               f"{'identical to' if same else 'differs from'} {src}")


if __name__ == "__main__":
    app()
