"""``whos -file``: name, size, class, storage type and bytes of each variable of a MAT-file."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse

from matlab_compat import kept, mat5_reader, mat73
from matlab_compat.errors import MatFileError
from matlab_compat.format import MI_DTYPE, MI_NAME
from matlab_compat.header import read_header
from matlab_compat.matfile import loadmat
from matlab_compat.values import MatlabOpaque

MI_NAMES_BY_DTYPE = {dt.str[1:]: MI_NAME[mi] for mi, dt in MI_DTYPE.items()}


@dataclass(frozen=True)
class VariableInfo:
    """One variable: MATLAB's size and class, how the file stores it, and its sizes in bytes.

    ``bytes``: the data's size in memory (as ``whos`` counts numeric, char and logical data;
    for cells and structs the sum of their contents); ``stored_bytes``: its element in the file
    (compressed size for v7; 0 for v7.3, where HDF5 chunks are not attributed).
    """

    name: str
    size: tuple[int, ...]
    cls: str
    storage: str
    bytes: int
    stored_bytes: int
    attributes: str = ""


def data_bytes(value: Any) -> int:
    """Bytes of a value's data in MATLAB's memory (chars take 2 bytes; an object counts its
    stored bytes, an unassigned cell or field none)."""
    if value is None:
        return 0
    value = kept.source_of(value, unchanged=False) or value    # a decoded MCOS object
    if isinstance(value, MatlabOpaque):
        return sum(map(len, value.raw or ()))
    if isinstance(value, str):
        return 2 * len(value)
    if isinstance(value, dict):
        return sum(data_bytes(v) for v in value.values())
    if scipy.sparse.issparse(value):
        return value.nnz * (value.dtype.itemsize + 8) + (value.shape[1] + 1) * 8
    arr = np.asarray(value)
    if arr.dtype.names:
        return sum(data_bytes(arr[f].flat[i]) for f in arr.dtype.names for i in range(arr.size))
    if arr.dtype == object:     # a cell (0-d: an object without an array type)
        return sum(data_bytes(v) for v in arr.flat) if arr.ndim else 0
    if arr.dtype.kind == "U":
        return 2 * arr.size
    return arr.nbytes


def whos(path: str | os.PathLike) -> list[VariableInfo]:
    """Describe every variable of the MAT-file at ``path``."""
    header = read_header(path)
    if header.version == "7.3":
        return _whos73(path)
    if header.version == "4":
        return _whos4(path)
    out = []
    with mat5_reader.open_v5(path) as file:
        for var in mat5_reader.iter_variables(file):
            summary = var.summary()
            _, value = var.value()
            attributes = " ".join(a for a in ("complex", "sparse") if summary.get(a))
            if isinstance(value, MatlabOpaque):     # an object: its class, as whos shows it
                summary["class"] = value.classname
            out.append(VariableInfo(summary["name"], summary["size"], summary["class"],
                                    summary["storage"], data_bytes(value), var.stored_bytes,
                                    attributes))
    return out


def _whos4(path) -> list[VariableInfo]:
    """v4 holds double, char and sparse only (stored as doubles)."""
    out = []
    for name, value in loadmat(path).items():
        char = isinstance(value, str) or value.dtype.kind == "U"
        attributes = "sparse" if scipy.sparse.issparse(value) else (
            "complex" if not char and value.dtype.kind == "c" else "")
        out.append(VariableInfo(name, _matlab_size(value), "char" if char else "double",
                                "double", data_bytes(value), 0, attributes))
    return out


def _whos73(path) -> list[VariableInfo]:
    import h5py

    values = mat73.load(path)
    out = []
    try:
        with h5py.File(path, "r") as f:
            for name, value in values.items():
                node = f[name]
                cls = node.attrs.get("MATLAB_class", b"").decode("ascii")
                if isinstance(node, h5py.Dataset):
                    storage = "empty" if node.attrs.get("MATLAB_empty", 0) else _storage(node.dtype)
                else:
                    storage = "sparse" if "MATLAB_sparse" in node.attrs else "group"
                size = _matlab_size(value)
                attributes = "sparse" if "MATLAB_sparse" in node.attrs else ""
                out.append(VariableInfo(name, size, cls, storage, data_bytes(value), 0, attributes))
    except OSError as exc:
        raise MatFileError(f"{path}: cannot read: {exc}") from exc
    return out


def _matlab_size(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        return (1, len(value)) if value else (0, 0)
    if isinstance(value, dict):
        return (1, 1)
    return tuple(getattr(value, "shape", (1, 1)))


def _storage(dtype) -> str:
    """An HDF5 dataset's element type in MATLAB's words (double, uint16, reference...)."""
    import h5py

    if dtype == h5py.ref_dtype:
        return "reference"
    if dtype.names:
        return "complex " + _storage(dtype[0])
    return MI_NAMES_BY_DTYPE.get(dtype.str[1:], str(dtype))
