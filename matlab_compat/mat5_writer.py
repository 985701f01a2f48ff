"""Writer of v5 MAT-files: "6" (uncompressed) and "7" (compressed the way MATLAB compresses).

Reproduces MATLAB's bytes (rules in docs/matfile.md): packed small tags, full empty-name tags
inside cells and structs, compact storage of integer-valued doubles, char as miUINT16 in v6
and as miUTF8 (ASCII) or miUTF16 in v7, field-name length of the longest name plus one,
sparse flags and nzmax, unassigned cells as empty elements, and MATLAB's zlib stream.
"""
from __future__ import annotations

import struct
from typing import Any, BinaryIO

import numpy as np

from matlab_compat import deflate, modern_write
from matlab_compat import threads
from matlab_compat.column_bytes import ColumnMajorBytes, Concatenation, nbytes
from matlab_compat.errors import MatFileError
from matlab_compat.format import (
    COMPACT_TYPES,
    DTYPE_MI,
    DTYPE_MX,
    FLAG_COMPLEX,
    FLAG_LOGICAL,
    FLAG_SPARSE_V7,
    MI_DTYPE,
    MX_DTYPE,
    miCOMPRESSED,
    miDOUBLE,
    miINT8,
    miINT32,
    miMATRIX,
    miUINT8,
    miUINT16,
    miUINT32,
    miUTF8,
    miUTF16,
    mxCELL,
    mxCHAR,
    mxDOUBLE,
    mxOPAQUE,
    mxSPARSE,
    mxSTRUCT,
    mxUINT8,
)
from matlab_compat.header import Header
from matlab_compat.values import SUBSYSTEM, MatlabOpaque, check_name, classify, layout

Parts = list  # bytes-like objects and ColumnMajorBytes whose concatenation is an element's content
#: Arrays from this size on (bytes) that are not column-major are transposed while written.
LAZY_FROM = 1 << 20
_WRITE_BLOCK = 1 << 24      # bytes of a lazy part made at a time by an uncompressed write


class _Encoder:
    def __init__(self, order: str, utf16_units: bool):
        self.order = order
        self.utf16_units = utf16_units   # chars as miUINT16 (MATLAB's v6 files)

    # -- elements ---------------------------------------------------------------------------
    def element(self, type_: int, data, *, small: bool = True) -> Parts:
        """A data element: packed 4-byte tag for 1..4 bytes of data, else a full 8-byte tag."""
        n = nbytes(data)
        if small and 0 < n <= 4:
            return [struct.pack(self.order + "I", (n << 16) | type_) + bytes(data).ljust(4, b"\0")]
        parts = [struct.pack(self.order + "II", type_, n), data]
        if n % 8:
            parts.append(bytes(-n % 8))
        return parts

    def numbers(self, mi: int, values: np.ndarray) -> Parts:
        """Values (any shape) as an element of type ``mi``, column-major, in the file's order
        (a large array not already column-major as a lazy part, transposed while it is written)."""
        dtype = MI_DTYPE[mi].newbyteorder(self.order)
        values = np.asarray(values)
        if values.ndim >= 2 and values.nbytes >= LAZY_FROM and not values.flags.f_contiguous:
            return self.element(mi, ColumnMajorBytes(values, dtype))
        flat = values.reshape(-1, order="F").astype(dtype, copy=False)
        return self.element(mi, np.ascontiguousarray(flat).view(np.uint8))

    def matrix(self, value: Any, name: str, nested: bool = False) -> Parts:
        """A complete miMATRIX element (tag included) for one value.

        ``None`` inside a cell or struct is MATLAB's unassigned element: a tag of size 0.
        """
        if value is None and nested:
            return [struct.pack(self.order + "II", miMATRIX, 0)]
        body = self.content(value, name)
        size = sum(map(nbytes, body))
        if size > 0xFFFFFFFF:
            raise MatFileError(f"variable {name!r}: {size} bytes exceed a v5 element's 4 GiB; "
                               f"use version='7.3'")
        return [struct.pack(self.order + "II", miMATRIX, size)] + body

    def name_element(self, name: str) -> Parts:
        raw_name = b"" if name == SUBSYSTEM else name.encode("ascii")
        return self.element(miINT8, raw_name, small=bool(raw_name))

    def head(self, cls: int, flags: int, dims: tuple[int, ...], name: str, nzmax: int = 0) -> Parts:
        if any(d > 0x7FFFFFFF for d in dims):
            raise MatFileError(f"variable {name!r}: dimension too large for a v5 MAT-file; use v7.3")
        return (self.element(miUINT32, np.array([cls | flags, nzmax], self.order + "u4").tobytes())
                + self.numbers(miINT32, np.array(dims, np.int64)) + self.name_element(name))

    # -- values -----------------------------------------------------------------------------
    def content(self, value: Any, name: str) -> Parts:
        kind, norm = classify(value, name)
        if kind == "none":
            return self.numeric(np.empty((0, 0)), name)
        return getattr(self, kind)(norm, name)

    def numeric(self, arr: np.ndarray, name: str) -> Parts:
        dims = arr.shape
        if arr.dtype == bool:
            return self.head(mxUINT8, FLAG_LOGICAL, dims, name) + self.numbers(miUINT8, arr)
        if arr.dtype.kind == "c":
            real_dtype = np.dtype("f4") if arr.dtype.itemsize == 8 else np.dtype("f8")
            cls = DTYPE_MX[real_dtype.str[1:]]
            return (self.head(cls, FLAG_COMPLEX, dims, name)
                    + self.stored(arr.real.astype(real_dtype), cls)
                    + self.stored(arr.imag.astype(real_dtype), cls))
        cls = DTYPE_MX[arr.dtype.str[1:]]
        return self.head(cls, 0, dims, name) + self.stored(arr, cls)

    def stored(self, arr: np.ndarray, cls: int) -> Parts:
        """Data of a numeric class; doubles in MATLAB's compact storage type when possible."""
        if cls == mxDOUBLE:
            return self.numbers(*compact(arr))
        return self.numbers(DTYPE_MI[MX_DTYPE[cls].str[1:]], arr)

    def char(self, codes: np.ndarray, name: str) -> Parts:
        """MATLAB's v6: UTF-16 code units as miUINT16; v7 (and other writers' v6, e.g.
        scipy's): miUTF8 when all ASCII, else miUTF16."""
        head = self.head(mxCHAR, 0, codes.shape, name)
        if "char_data" in layout(codes):    # read without character data: written so again
            return head + self.element(layout(codes)["char_data"], b"")
        if self.utf16_units:
            return head + self.numbers(miUINT16, codes)
        if not codes.size or codes.max() < 0x80:
            return head + self.element(miUTF8, codes.reshape(-1, order="F").astype(np.uint8))
        units = codes.reshape(-1, order="F").astype(self.order + "u2")
        return head + self.element(miUTF16, units.view(np.uint8))

    def cell(self, arr: np.ndarray, name: str) -> Parts:
        parts = self.head(mxCELL, 0, arr.shape, name)
        for item in arr.reshape(-1, order="F"):
            parts += self.matrix(item, "", nested=True)
        return parts

    def struct(self, st, name: str) -> Parts:
        stored = st.layout.get("field_names", st.fields)
        longest = max((len(f) for f in stored), default=0) + 1
        length = max(st.layout.get("field_name_length", 0), longest)
        names = b"".join(f.encode("latin-1").ljust(length, b"\0") for f in stored)
        parts = (self.head(mxSTRUCT, 0, st.dims, name)
                 + self.numbers(miINT32, np.array([length])) + self.element(miINT8, names))
        for record in st.records:
            if list(record) != st.fields:
                raise MatFileError(f"variable {name!r}: struct elements with different fields")
            for f in st.fields:
                parts += self.matrix(record[f], "", nested=True)
        return parts

    def sparse(self, mat, name: str) -> Parts:
        """MATLAB's sparse: nzmax = max(nnz, 1) row indices, nnz values (double, not compacted;
        logical as miUINT8); a layout read from an older file overrides flags and types."""
        kept = layout(mat)
        data = mat.data
        logical = data.dtype == bool
        flags = FLAG_LOGICAL if logical else (FLAG_COMPLEX if data.dtype.kind == "c" else 0)
        flags |= kept.get("flags", FLAG_SPARSE_V7)
        nzmax = max(mat.nnz, 1, kept.get("nzmax", 0))
        rows = np.zeros(nzmax, np.int32)
        rows[:mat.nnz] = mat.indices
        parts = (self.head(mxSPARSE, flags, mat.shape, name, nzmax=nzmax)
                 + self.numbers(miINT32, rows) + self.numbers(miINT32, mat.indptr))
        value_type = kept.get("value_type")
        if logical:
            raw = data.astype(np.uint8)
            return parts + (self.element(miDOUBLE, raw) if value_type == miDOUBLE
                            else self.numbers(miUINT8, raw))
        pieces = (data.real, data.imag) if flags & FLAG_COMPLEX else (data,)
        for piece in pieces:
            piece = piece.astype(np.float64)
            parts += self.numbers(*compact(piece)) if value_type == "compact" else self.numbers(miDOUBLE, piece)
        return parts

    def opaque(self, obj, name: str) -> Parts:
        if obj.raw is None:
            raise MatFileError(f"variable {name!r}: the {obj.classname} object read from a v7.3 "
                               f"file has no v5 bytes to write")
        if obj.order != self.order:
            raise MatFileError(f"variable {name!r}: a {obj.classname} object read from a "
                               f"{'big' if obj.order == '>' else 'little'}-endian file can only "
                               f"be written in that byte order")
        before, after = obj.raw
        return [before] + self.name_element(name) + [after]


    # -- objects of MATLAB's modern types (matlab_compat.modern) -------------------------------
    def joined(self, parts: Parts) -> bytes:
        whole = Concatenation(parts)
        return b"".join(whole.pieces(0, whole.size))

    def mcos_opaque(self, classname: str, data: Any) -> MatlabOpaque:
        """An MCOS object element (flags, name, "MCOS", class, its data) as MATLAB writes it."""
        flags = self.joined(self.element(miUINT32, struct.pack(self.order + "II", mxOPAQUE, 0)))
        rest = self.joined(self.element(miINT8, b"MCOS") + self.element(miINT8, classname.encode("ascii"))
                           + self.matrix(data, "", nested=True))
        return MatlabOpaque(mxOPAQUE, classname, "MCOS", None, (flags, rest), self.order)

    def subsystem(self, cells: np.ndarray) -> np.ndarray:
        """MATLAB's subsystem bytes for a FileWrapper__ cell: a mini MAT-file holding the
        struct ``{MCOS: FileWrapper__ object}``, then one holding ``{MCOS: unassigned}``."""
        head = struct.pack(self.order + "H", 0x0100) + (b"IM" if self.order == "<" else b"MI") + bytes(4)
        wrapper = self.mcos_opaque("FileWrapper__", cells)
        inner = head + self.joined(self.matrix({"MCOS": None}, SUBSYSTEM))
        blob = head + self.joined(self.matrix({"MCOS": wrapper}, SUBSYSTEM)
                                  + self.matrix(np.frombuffer(inner, np.uint8).reshape(1, -1), SUBSYSTEM))
        return np.frombuffer(blob, np.uint8).reshape(1, -1)


def with_objects(variables, enc: _Encoder) -> tuple[dict, bool]:
    """The variables with their values of MATLAB's modern types (new ones; all of them when
    no subsystem read from a file comes with them) as MCOS objects, and the subsystem that
    holds them appended; and whether a subsystem was made."""
    writer = modern_write.ObjectWriter(SUBSYSTEM not in variables, enc.mcos_opaque)
    out = {name: writer.walk(value) for name, value in variables.items()}
    cells = writer.cells(enc.order)
    if cells is None:
        return variables, False
    out[SUBSYSTEM] = enc.subsystem(cells)
    return out, True


def compact(arr: np.ndarray) -> tuple[int, np.ndarray]:
    """MATLAB's storage of double data, and the data converted to it: when all values are
    integers (negative zero excluded), the first of :data:`COMPACT_TYPES` holding them all,
    else miDOUBLE. Empty data: miUINT8. One conversion, checked against the doubles, instead
    of float temporaries (an image set of 60,000 x 784 doubles is 376 MB); a big contiguous
    array is converted and checked in slices on all cores."""
    if arr.size == 0:
        return miUINT8, arr
    lo, hi = float(arr.min()), float(arr.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return miDOUBLE, arr
    mi = next((mi for mi in COMPACT_TYPES
               if np.iinfo(MI_DTYPE[mi]).min <= lo and hi <= np.iinfo(MI_DTYPE[mi]).max), None)
    if mi is None:
        return miDOUBLE, arr
    target = MI_DTYPE[mi]
    signed_zero_possible = lo <= 0.0 <= hi

    def exact(values: np.ndarray, stored: np.ndarray) -> bool:
        """No fraction, and no -0.0 that the integer would lose."""
        if not np.array_equal(stored, values):
            return False
        if signed_zero_possible:
            return not (np.signbit(values).any() if lo == 0.0 else np.signbit(values[values == 0]).any())
        return True

    if arr.nbytes < threads.CONVERT_PARALLEL_FROM or not (arr.flags.c_contiguous or arr.flags.f_contiguous):
        converted = arr.astype(target)
        return (mi, converted) if exact(arr, converted) else (miDOUBLE, arr)
    converted = np.empty_like(arr, dtype=target, order="K")
    values, stored = arr.ravel(order="K"), converted.ravel(order="K")   # views: contiguous

    def convert_exact(part: slice) -> bool:
        np.copyto(stored[part], values[part], casting="unsafe")
        return exact(values[part], stored[part])

    return (mi, converted) if all(threads.over_slices(convert_exact, values.size, arr.nbytes)) else (miDOUBLE, arr)


def write_variables(fh: BinaryIO, variables, header: Header) -> None:
    """Write each variable as one (compressed or plain) miMATRIX element after the header.

    A compressed element's tag is written first with size 0 and filled in once its stream is
    written (``fh`` must be seekable), so the pieces go to the file while later ones are made.
    """
    compress, order = header.version == "7", header.byte_order
    enc = _Encoder(order, utf16_units=not compress and header.by_matlab)
    variables, made_subsystem = with_objects(variables, enc)
    for name, value in variables.items():
        if made_subsystem and name == SUBSYSTEM:    # the header points at it
            at = fh.tell()
            fh.seek(116)
            fh.write(struct.pack(order + "Q", at))
            fh.seek(at)
        parts = enc.matrix(value, check_name(name))
        if compress:
            tag_at = fh.tell()
            fh.write(struct.pack(order + "II", miCOMPRESSED, 0))
            size = 0
            for piece in deflate.compress_matlab(parts):
                fh.write(piece)
                size += len(piece)
            if size > 0xFFFFFFFF:
                raise MatFileError(f"variable {name!r}: compressed to {size} bytes, more than a "
                                   f"v5 element holds; use version='7.3'")
            fh.seek(tag_at + 4)
            fh.write(struct.pack(order + "I", size))
            fh.seek(0, 2)
        else:
            element = Concatenation(parts)
            for start in range(0, element.size, _WRITE_BLOCK):
                for piece in element.pieces(start, min(start + _WRITE_BLOCK, element.size)):
                    fh.write(piece)
