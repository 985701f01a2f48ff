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
=====================  ==========================================================

A double stored compactly (MATLAB's uint8/int16... storage) comes back as float64.
"""
from __future__ import annotations

import os
from typing import Any, Mapping

from matlab_compat.errors import MatFileError
from matlab_compat.format import HEADER_BYTES, V73_USERBLOCK
from matlab_compat.header import Header, parse_header


def _open_header(path: str | os.PathLike) -> Header:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(HEADER_BYTES)
    except OSError as exc:
        raise MatFileError(f"{path}: cannot read: {exc}") from exc
    return parse_header(raw, path)


def loadmat(path: str | os.PathLike) -> dict[str, Any]:
    """Read every variable of a MAT-file (v6, v7 or v7.3) into ``{name: value}``."""
    header = _open_header(path)
    if header.version == "7.3":
        from matlab_compat import mat73
        return mat73.load(path)
    from matlab_compat import mat5_reader
    try:
        return mat5_reader.load_v5(path)
    except MatFileError:
        raise
    except (ValueError, IndexError, TypeError, OverflowError, MemoryError, UnicodeError) as exc:
        raise MatFileError(f"{path}: malformed file: {type(exc).__name__}: {exc}") from None
