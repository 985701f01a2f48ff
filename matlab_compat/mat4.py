"""MAT-file v4 (``save -v4``): the pre-1997 format, read and written.

No file header: each variable is a 20-byte header (``MOPT`` type code, rows, columns, imaginary
flag, name length with its NUL), the name, then the real and the imaginary data, column-major.
``MOPT``: M the byte order (0 little-, 1 big-endian), O zero, P the storage type (0 double,
1 single, 2 int32, 3 int16, 4 uint16, 5 uint8), T the kind (0 numeric, 1 text, 2 sparse).
A sparse matrix is stored as an N x 3 (x 4 if complex) double matrix of 1-based (row, column,
real, imaginary) triplets whose last row holds the size. v4 holds 2-D doubles, chars and
sparse only: MATLAB loads every numeric v4 variable as double, so that is what is written
(other numeric classes converted) and what is read.
"""
from __future__ import annotations

import struct
from typing import Any, BinaryIO, Iterable

import numpy as np
import scipy.sparse

from matlab_compat.budget import CHAR_COST, Budget, sparse_bytes
from matlab_compat.errors import MatFileError
from matlab_compat.values import check_name, classify, codes_to_char, complex_of

HEADER = 20
#: storage type P -> numpy dtype (native order; the file's order is applied when reading)
P_DTYPE = {0: "f8", 1: "f4", 2: "i4", 3: "i2", 4: "u2", 5: "u1"}


def byte_order(raw: bytes) -> str | None:
    """"<" or ">" when ``raw`` starts like a v4 variable header, else None."""
    if len(raw) < HEADER:
        return None
    for order, m in (("<", 0), (">", 1)):
        mopt, rows, cols, imagf, namlen = struct.unpack_from(order + "5i", raw)
        thousands, rest = divmod(mopt, 1000)
        o, pt = divmod(rest, 100)
        p, t = divmod(pt, 10)
        if (thousands == m and o == 0 and p in P_DTYPE and t in (0, 1, 2) and rows >= 0
                and cols >= 0 and imagf in (0, 1) and 0 < namlen < 1 << 16):
            return order
    return None


def load(path, data: bytes, variable_names: Iterable[str] | None, budget: Budget) -> dict[str, Any]:
    """Variables of a v4 file (all, or only those named), within the file's work ``budget``."""
    wanted = None if variable_names is None else set(variable_names)
    out: dict[str, Any] = {}
    pos = 0
    while pos < len(data):
        order = byte_order(data[pos:pos + HEADER])
        if order is None:
            raise MatFileError(f"{path}: offset {pos}: not a MAT-file v4 variable header")
        mopt, rows, cols, imagf, namlen = struct.unpack_from(order + "5i", data, pos)
        p, t = mopt % 100 // 10, mopt % 10
        dtype = np.dtype(P_DTYPE[p]).newbyteorder(order)
        count = rows * cols
        start = pos + HEADER + namlen
        end = start + count * dtype.itemsize * (1 + imagf)
        if end > len(data):
            raise MatFileError(f"{path}: offset {pos}: variable declares {rows}x{cols} values, "
                               f"the file ends first")
        name = data[pos + HEADER:start].split(b"\0", 1)[0].decode("latin-1")
        pos = end
        if wanted is not None and name not in wanted:
            continue
        budget.start(name)
        budget.charge(count * 8 * (1 + imagf) + (count * 16 if imagf else 0), what="its values")
        values = np.frombuffer(data, dtype, count * (1 + imagf), start).astype(np.float64)
        real = values[:count].reshape((rows, cols), order="F")
        value = complex_of(real, values[count:].reshape((rows, cols), order="F")) if imagf else real
        if t == 1:
            if imagf or np.any((real < 0) | (real > 0xFFFF) | (real != np.trunc(real))):
                raise MatFileError(f"{path}: variable {name!r}: text holds no character codes")
            budget.charge(count * CHAR_COST, what="its characters")
            value = codes_to_char(real.reshape(-1, order="F").astype(np.uint32), (rows, cols))
        elif t == 2:
            value = _sparse(path, name, value, budget)
        out[name] = value
    return out


def _sparse(path, name: str, triplets: np.ndarray, budget: Budget):
    """A csc_matrix from MATLAB's v4 triplets (last row: the size), its column pointers (one per
    column the size row declares) charged to the ``budget`` first."""
    if triplets.ndim != 2 or triplets.shape[1] not in (3, 4) or triplets.shape[0] < 1:
        raise MatFileError(f"{path}: variable {name!r}: sparse triplets must be N x 3 or N x 4")
    size = triplets[-1, :2].real
    rows, cols = triplets[:-1, 0].real - 1, triplets[:-1, 1].real - 1
    if (np.any(size < 0) or np.any(size != np.trunc(size)) or size.max() >= 2**31
            or np.any(rows < 0) or np.any(cols < 0) or np.any(rows >= size[0])
            or np.any(cols >= size[1])):
        raise MatFileError(f"{path}: variable {name!r}: sparse indices out of range")
    shape = (int(size[0]), int(size[1]))
    budget.charge(sparse_bytes(*shape, triplets.shape[0] - 1, triplets.dtype.itemsize),
                  what=f"a {shape[0]}x{shape[1]} sparse matrix")
    values = triplets[:-1, 2].real
    if triplets.shape[1] == 4:
        values = complex_of(values, triplets[:-1, 3].real)
    return scipy.sparse.csc_matrix((values, (rows.astype(np.int64), cols.astype(np.int64))), shape)


def save(fh: BinaryIO, variables, order: str) -> None:
    """Write ``variables`` as a v4 file (byte order ``order``)."""
    m = 0 if order == "<" else 1
    for name, value in variables.items():
        name = check_name(name)
        kind, norm = classify(value, name)
        if kind == "none":
            kind, norm = "numeric", np.empty((0, 0))
        if kind == "char":
            t, data = 1, norm.astype(np.float64)
        elif kind == "sparse":
            t = 2
            coo = norm.tocoo()
            order_ = np.lexsort((coo.row, coo.col))
            data = np.column_stack([coo.row[order_] + 1.0, coo.col[order_] + 1.0,
                                    coo.data[order_].astype(np.float64 if coo.dtype == bool
                                                            else coo.dtype)])
            data = np.vstack([data, [norm.shape[0], norm.shape[1], 0]])
            if data.dtype.kind == "c":    # complex: real and imaginary in columns 3 and 4
                data = np.column_stack([data.real, data[:, 2].imag])
        elif kind == "numeric":
            t, data = 0, norm if norm.dtype.kind == "c" else norm.astype(np.float64)
        else:
            raise MatFileError(f"variable {name!r}: MAT-file v4 holds only numeric, char and "
                               f"sparse arrays, not a {kind}")
        if data.ndim != 2:
            raise MatFileError(f"variable {name!r}: MAT-file v4 holds 2-D arrays only, not "
                               f"{'x'.join(map(str, data.shape))}")
        imagf = int(data.dtype.kind == "c")
        raw_name = name.encode("ascii") + b"\0"
        fh.write(struct.pack(order + "5i", m * 1000 + t, data.shape[0], data.shape[1], imagf,
                             len(raw_name)) + raw_name)
        parts = (data.real, data.imag) if imagf else (data,)
        for part in parts:
            fh.write(np.asarray(part, order + "f8").tobytes(order="F"))
