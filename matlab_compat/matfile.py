"""``loadmat`` / ``savemat``: MAT-files v6, v7 and v7.3 with MATLAB's classes kept.

Python types of MATLAB classes (both directions; see docs/matfile.md):

=====================  ==========================================================
MATLAB                 Python
=====================  ==========================================================
double, single, intN   ``numpy.ndarray`` (>= 2-D, MATLAB's shape, Fortran order)
logical                ``numpy.ndarray`` of ``bool``
complex                ``numpy.ndarray`` of complex128 / complex64
char 1xN (N>=1), 0x0   ``str``
other char shapes      ``numpy.ndarray`` of dtype ``<U1`` (one character per element)
cell                   ``numpy.ndarray`` of ``object`` with MATLAB's shape
struct 1x1             ``dict`` (field order kept)
struct array           structured ``numpy.ndarray`` (one ``object`` field per MATLAB field)
sparse double/logical  ``scipy.sparse.csc_matrix`` (float64, complex128 or bool)
string, datetime...    decoded MCOS objects (:mod:`matlab_compat.modern`)
=====================  ==========================================================

A double stored compactly (MATLAB's uint8/int16... storage) comes back as float64.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping

from matlab_compat import mat4, mat5_reader, mat5_writer, mat73, modern
from matlab_compat.atomic import atomic_output
from matlab_compat.budget import WORK_FACTOR, Budget
from matlab_compat.errors import MatFileError
from matlab_compat.format import HEADER_BYTES
from matlab_compat.header import (
    DEFAULT_TEXT,
    DEFAULT_TEXT_73,
    VERSIONS,
    Header,
    parse_header,
)
from matlab_compat.source import open_input


def _open_header(path: str | os.PathLike) -> Header:
    with open_input(path) as fh:
        try:
            raw = fh.read(HEADER_BYTES)
        except OSError as exc:
            raise MatFileError(f"{path}: cannot read: {exc}") from exc
    return parse_header(raw, path)


def loadmat(path: str | os.PathLike, variable_names: Iterable[str] | None = None, *,
            work_factor: float = WORK_FACTOR) -> dict[str, Any]:
    """Read the variables of a MAT-file (v4, v6, v7 or v7.3) into ``{name: value}``.

    ``variable_names``: read only these (the others are skipped without decompressing them).
    Numeric arrays stored in their own class are Fortran-ordered views of the file's
    (decompressed) bytes: no copy is made, and they are writable.
    ``work_factor``: the bytes of values (and elements) each byte of the file may produce
    (:mod:`matlab_compat.budget`); raise it only for trusted files of extremely repetitive data.
    """
    header = _open_header(path)
    if header.version == "4":
        with mat5_reader.malformed_input(path):
            data = mat5_reader.read_file_bytes(path)
            return mat4.load(path, data, variable_names, Budget(path, len(data), work_factor))
    if header.version == "7.3":
        return mat73.load(path, variable_names, work_factor)
    values = mat5_reader.load(path, variable_names, work_factor)
    with mat5_reader.malformed_input(path):
        return modern.decode_v5(str(path), values)


def resolve_header(version: str, header: str | Header | None, byte_order: str | None) -> Header:
    """The header to write: ``header`` text (or a :class:`Header`, whose subsystem field and
    byte order are kept), else the fixed default text; ``byte_order`` overrides."""
    if version not in VERSIONS:
        raise MatFileError(f"unknown MAT-file version {version!r}; choose one of {VERSIONS}")
    if isinstance(header, Header):
        base = Header(header.text, version, header.byte_order, header.subsys)
    else:
        text = header if header is not None else (DEFAULT_TEXT_73 if version == "7.3" else DEFAULT_TEXT)
        base = Header(text, version)
    order = byte_order or base.byte_order
    if order not in ("<", ">"):
        raise MatFileError(f"byte order must be '<' or '>', got {order!r}")
    if version == "7.3" and order != "<":
        raise MatFileError("v7.3 (HDF5) files are written little-endian only")
    result = Header(base.text, version, order, base.subsys)
    result.to_bytes()   # validates the text length and the subsystem field
    return result


def savemat(path: str | os.PathLike, variables: Mapping[str, Any], *, version: str | None = None,
            header: str | Header | None = None, byte_order: str | None = None) -> None:
    """Write ``variables`` to ``path`` as MATLAB would (atomically: temporary file, rename).

    ``version``: "7" (compressed, default), "6" (uncompressed), "7.3" (HDF5) or "4" (the
    pre-1997 format: 2-D double, char and sparse only; no header).
    ``header``: the 116-byte header text, or a :class:`Header` from :func:`read_header` (then
    its version, byte order and subsystem field are the defaults too); default
    :data:`DEFAULT_TEXT`, a fixed text so that outputs are reproducible.
    ``byte_order``: "<" (default) or ">" (big-endian, v5 only).
    """
    if version is None:
        version = header.version if isinstance(header, Header) else "7"
    if version == "4":     # no header: only the byte order
        order = byte_order or (header.byte_order if isinstance(header, Header) else "<")
        with atomic_output(path) as tmp, open(tmp, "wb") as fh:
            mat4.save(fh, variables, order)
        return
    head = resolve_header(version, header, byte_order)
    if version == "7.3":
        with atomic_output(path) as tmp:
            mat73.save(tmp, variables, head)
        return
    try:
        with atomic_output(path) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(head.to_bytes())
                mat5_writer.write_variables(fh, variables, head)
    except RecursionError:
        raise MatFileError(f"{path}: cells/structs nested too deeply to write") from None
