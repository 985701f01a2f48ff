"""Writer of v5 MAT-files: "6" (uncompressed) and "7" (compressed the way MATLAB compresses).

Reproduces MATLAB's bytes: packed small tags, full empty-name tags inside cells and structs,
compact storage of integer-valued doubles, and MATLAB's zlib stream (level 6, the element fed
in 8192-byte chunks with a full flush after each but the last).
"""
from __future__ import annotations

import struct
import zlib
from typing import Any, BinaryIO, Iterable, Iterator

import numpy as np
import scipy.sparse

from matlab_compat.errors import MatFileError
from matlab_compat.format import (
    COMPACT_TYPES, DTYPE_MI, DTYPE_MX, FIELD_NAME_LENGTH, FLAG_COMPLEX, FLAG_LOGICAL, MI_DTYPE, MX_DTYPE,
    ZLIB_CHUNK, ZLIB_LEVEL, miCOMPRESSED, miDOUBLE, miINT8, miINT32, miMATRIX, miUINT8,
    miUINT32, miUTF8, mxCELL, mxCHAR, mxDOUBLE, mxSPARSE, mxSTRUCT, mxUINT8,
)

Parts = list  # list of bytes-like objects whose concatenation is an element's content


class _Encoder:
    def __init__(self, order: str):
        self.order = order

    # -- elements ---------------------------------------------------------------------------
    def element(self, type_: int, data, *, small: bool = True) -> Parts:
        """A data element: packed 4-byte tag for 1..4 bytes of data, else a full 8-byte tag."""
        n = memoryview(data).nbytes
        if small and 0 < n <= 4:
            return [struct.pack(self.order + "I", (n << 16) | type_) + bytes(data).ljust(4, b"\0")]
        parts = [struct.pack(self.order + "II", type_, n), data]
        if n % 8:
            parts.append(bytes(-n % 8))
        return parts

    def numbers(self, mi: int, values: np.ndarray) -> Parts:
        """Values (any shape) as an element of type ``mi``, column-major, in the file's order."""
        dtype = MI_DTYPE[mi].newbyteorder(self.order)
        flat = np.asarray(values).reshape(-1, order="F").astype(dtype, copy=False)
        return self.element(mi, np.ascontiguousarray(flat).view(np.uint8))

    def matrix(self, value: Any, name: str) -> Parts:
        """A complete miMATRIX element (tag included) for one value."""
        body = self.content(value, name)
        size = sum(memoryview(p).nbytes for p in body)
        if size > 0xFFFFFFFF:
            raise MatFileError(f"variable {name!r}: {size} bytes exceed a v5 element's 4 GiB; "
                               f"use version='7.3'")
        return [struct.pack(self.order + "II", miMATRIX, size)] + body

    def head(self, cls: int, flags: int, dims: tuple[int, ...], name: str, nzmax: int = 0) -> Parts:
        if any(d > 0x7FFFFFFF for d in dims):
            raise MatFileError(f"variable {name!r}: dimension too large for a v5 MAT-file; use v7.3")
        try:
            raw_name = name.encode("ascii")
        except UnicodeEncodeError:
            raise MatFileError(f"variable name {name!r} is not ASCII") from None
        return (self.element(miUINT32, np.array([cls | flags, nzmax], self.order + "u4").tobytes())
                + self.numbers(miINT32, np.array(dims, np.int64))
                + self.element(miINT8, raw_name, small=bool(raw_name)))

    # -- values -----------------------------------------------------------------------------
    def content(self, value: Any, name: str) -> Parts:
        if isinstance(value, str):
            return self.char(np.array(list(value), dtype="<U1").reshape(1, -1) if value
                             else np.empty((0, 0), "<U1"), name)
        if isinstance(value, dict):
            return self.struct([value], tuple(value), (1, 1), name)
        if scipy.sparse.issparse(value):
            return self.sparse(value, name)
        if isinstance(value, (list, tuple)):
            cells = np.empty((1, len(value)), dtype=object)
            for i, item in enumerate(value):
                cells[0, i] = item
            value = cells
        if value is None:
            value = np.empty((0, 0))
        arr = np.asarray(value)
        if arr.dtype.names is not None:
            recs = [{f: arr[f].reshape(-1, order="F")[i] for f in arr.dtype.names}
                    for i in range(arr.size)]
            return self.struct(recs, arr.dtype.names, matlab_dims(arr), name)
        if arr.dtype == object:
            if arr.ndim == 0:   # np.asarray of something that is no array (a set, a huge int)
                raise MatFileError(f"variable {name!r}: {type(value).__name__} value "
                                   f"{str(value)[:40]!r} has no MATLAB class")
            return self.cell(arr, name)
        if arr.dtype.kind == "U":
            return self.char(arr, name)
        return self.numeric(arr, name)

    def numeric(self, arr: np.ndarray, name: str) -> Parts:
        dims = matlab_dims(arr)
        if arr.dtype == bool:
            return self.head(mxUINT8, FLAG_LOGICAL, dims, name) + self.numbers(miUINT8, arr)
        if arr.dtype.kind == "c":
            real_dtype = np.dtype("f4") if arr.dtype.itemsize == 8 else np.dtype("f8")
            if arr.dtype.itemsize not in (8, 16):
                raise MatFileError(f"variable {name!r}: unsupported dtype {arr.dtype}")
            cls = DTYPE_MX[real_dtype.str[1:]]
            return (self.head(cls, FLAG_COMPLEX, dims, name)
                    + self.stored(arr.real.astype(real_dtype), cls)
                    + self.stored(arr.imag.astype(real_dtype), cls))
        cls = DTYPE_MX.get(arr.dtype.str[1:])
        if cls is None:
            raise MatFileError(f"variable {name!r}: dtype {arr.dtype} has no MATLAB class")
        return self.head(cls, 0, dims, name) + self.stored(arr, cls)

    def stored(self, arr: np.ndarray, cls: int) -> Parts:
        """Data of a numeric class; doubles in MATLAB's compact storage type when possible."""
        if cls == mxDOUBLE:
            mi = compact_type(arr)
            return self.numbers(mi, arr)
        return self.numbers(DTYPE_MI[MX_DTYPE[cls].str[1:]], arr)

    def char(self, arr: np.ndarray, name: str) -> Parts:
        if arr.dtype.itemsize != 4:
            raise MatFileError(f"variable {name!r}: char arrays hold one character per element "
                               f"(dtype <U1), got {arr.dtype}")
        dims = matlab_dims(arr)
        text = "".join(arr.reshape(-1, order="F").tolist())
        try:
            data = self.element(miUTF8, text.encode("utf-8"))
        except UnicodeEncodeError:
            raise MatFileError(f"variable {name!r}: characters not encodable as UTF-8") from None
        return self.head(mxCHAR, 0, dims, name) + data

    def cell(self, arr: np.ndarray, name: str) -> Parts:
        parts = self.head(mxCELL, 0, matlab_dims(arr), name)
        for item in arr.reshape(-1, order="F"):
            parts += self.matrix(item, "")
        return parts

    def struct(self, records: list[dict], fields: Iterable[str], dims, name: str) -> Parts:
        fields = list(fields)
        for f in fields:
            if not (isinstance(f, str) and f.isidentifier() and f.isascii()
                    and len(f) < FIELD_NAME_LENGTH):
                raise MatFileError(f"variable {name!r}: invalid struct field name {f!r}")
        names = b"".join(f.encode("ascii").ljust(FIELD_NAME_LENGTH, b"\0") for f in fields)
        parts = (self.head(mxSTRUCT, 0, dims, name)
                 + self.numbers(miINT32, np.array([FIELD_NAME_LENGTH]))
                 + self.element(miINT8, names))
        for record in records:
            if list(record) != fields:
                raise MatFileError(f"variable {name!r}: struct elements with different fields")
            for f in fields:
                parts += self.matrix(record[f], "")
        return parts

    def sparse(self, value, name: str) -> Parts:
        mat = scipy.sparse.csc_matrix(value)
        mat.sum_duplicates()
        mat.sort_indices()
        data = mat.data
        logical = data.dtype == bool
        flags = FLAG_LOGICAL if logical else (FLAG_COMPLEX if data.dtype.kind == "c" else 0)
        if not logical and data.dtype.kind not in "fciub":
            raise MatFileError(f"variable {name!r}: sparse dtype {data.dtype} unsupported")
        parts = (self.head(mxSPARSE, flags, mat.shape, name, nzmax=max(mat.nnz, 1))
                 + self.numbers(miINT32, mat.indices) + self.numbers(miINT32, mat.indptr))
        if logical:
            return parts + self.numbers(miUINT8, data)
        if flags & FLAG_COMPLEX:
            return (parts + self.stored(data.real.astype(np.float64), mxDOUBLE)
                    + self.stored(data.imag.astype(np.float64), mxDOUBLE))
        return parts + self.stored(data.astype(np.float64), mxDOUBLE)


def matlab_dims(arr: np.ndarray) -> tuple[int, ...]:
    """MATLAB's size of an array: at least 2-D (1-D is a row), trailing singletons dropped."""
    shape = arr.shape
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (1, shape[0])
    shape = tuple(shape)
    while len(shape) > 2 and shape[-1] == 1:
        shape = shape[:-1]
    return shape


def compact_type(arr: np.ndarray) -> int:
    """MATLAB's storage type for double data: the smallest of :data:`COMPACT_TYPES` holding all
    values when they are all integers (negative zero excluded), else miDOUBLE."""
    if arr.size == 0:
        return miDOUBLE
    lo, hi = float(arr.min()), float(arr.max())
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -2**31 or hi > 2**32 - 1:
        return miDOUBLE
    if not np.array_equal(arr, np.trunc(arr)):
        return miDOUBLE
    if lo <= 0.0 <= hi and np.signbit(arr[arr == 0]).any():
        return miDOUBLE
    for mi in COMPACT_TYPES:
        info = np.iinfo(MI_DTYPE[mi])
        if info.min <= lo and hi <= info.max:
            return mi
    return miDOUBLE


def _chunks(parts: Iterable, size: int) -> Iterator[memoryview | bytes]:
    """The concatenation of ``parts`` cut into pieces of exactly ``size`` bytes (last shorter)."""
    pending = bytearray()
    for part in parts:
        view = memoryview(part).cast("B")
        if pending:
            take = size - len(pending)
            pending += view[:take]
            view = view[take:]
            if len(pending) < size:
                continue
            yield bytes(pending)
            pending = bytearray()
        whole = len(view) - len(view) % size
        for start in range(0, whole, size):
            yield view[start:start + size]
        pending += view[whole:]
    if pending:
        yield bytes(pending)


def compress_matlab(parts: Iterable) -> list[bytes]:
    """MATLAB's zlib stream of the concatenated parts."""
    comp = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY)
    out: list[bytes] = []
    previous = None
    for chunk in _chunks(parts, ZLIB_CHUNK):
        if previous is not None:
            out.append(comp.compress(previous))
            out.append(comp.flush(zlib.Z_FULL_FLUSH))
        previous = chunk
    if previous is not None:
        out.append(comp.compress(previous))
    out.append(comp.flush(zlib.Z_FINISH))
    return out


def write_variables(fh: BinaryIO, variables, order: str, compress: bool) -> None:
    """Write each variable as one (compressed or plain) miMATRIX element after the header."""
    enc = _Encoder(order)
    for name, value in variables.items():
        if not (isinstance(name, str) and name.isidentifier() and name.isascii()):
            raise MatFileError(f"invalid MATLAB variable name {name!r}")
        parts = enc.matrix(value, name)
        if compress:
            stream = compress_matlab(parts)
            size = sum(len(s) for s in stream)
            if size > 0xFFFFFFFF:
                raise MatFileError(f"variable {name!r}: compressed to {size} bytes, more than a "
                                   f"v5 element holds; use version='7.3'")
            fh.write(struct.pack(order + "II", miCOMPRESSED, size))
            for piece in stream:
                fh.write(piece)
        else:
            for part in parts:
                fh.write(part)
