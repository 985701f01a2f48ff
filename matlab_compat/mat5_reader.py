"""Reader of v5/v7 MAT-files (compressed or not, either byte order).

Every parse step checks its bounds and raises :class:`MatFileError` naming the file and the
byte offset; declared sizes are checked against the bytes actually present before anything is
allocated, and decompression never produces more than the element declares.

Big numeric arrays come back as Fortran-ordered views of the (decompressed) buffer: MATLAB's
column-major data needs no copy (and the views are writable).
"""
from __future__ import annotations

import contextlib
import mmap
import os
import struct
import zlib
from typing import Any, BinaryIO, Iterable, Iterator

import numpy as np
import scipy.sparse

from matlab_compat import threads
from matlab_compat.budget import CHAR_COST, WORK_FACTOR, Budget, sparse_bytes
from matlab_compat.errors import MatFileError
from matlab_compat.format import (
    FLAG_COMPLEX,
    FLAG_LOGICAL,
    FLAG_SPARSE_V7,
    HEADER_BYTES,
    MI_DTYPE,
    MI_NAME,
    MX_DTYPE,
    MX_NAME,
    ZLIB_MAX_RATIO,
    miCOMPRESSED,
    miDOUBLE,
    miINT8,
    miINT16,
    miINT32,
    miMATRIX,
    miUINT8,
    miUINT16,
    miUINT32,
    miUTF8,
    miUTF16,
    miUTF32,
    mxCELL,
    mxCHAR,
    mxFUNCTION,
    mxOBJECT,
    mxOPAQUE,
    mxSPARSE,
    mxSTRUCT,
    padded,
)
from matlab_compat.header import Header, parse_header
from matlab_compat.inflate import inflate_into, worth_threads
from matlab_compat.source import open_input
from matlab_compat.values import (
    SUBSYSTEM,
    MatlabOpaque,
    codes_to_char,
    complex_of,
    unique_names,
    with_layout,
)

#: Compressed bytes read from the file and fed to zlib per call (the file is never read whole
#: for a compressed variable), and the most taken out per call: 16 times the input, so that
#: input is rarely left over to copy again.
_BLOCK = 1 << 17
_OUT_BLOCK = 1 << 21
#: Decompressed bytes read before the rest is allocated: enough for any array head (flags,
#: dimensions, name), which names the variable and must parse before its bytes are made.
_HEAD_PEEK = 1 << 16


class _Buffer:
    """A byte buffer with its file name, byte order and the file offset of its first byte."""

    def __init__(self, data: np.ndarray, path: str, order: str, base: int, where: str = ""):
        self.data = data          # 1-D uint8 array
        self.mv = memoryview(data)
        self.path = path
        self.order = order
        self.base = base          # file offset of data[0] (or of the compressed element)
        self.where = where        # "" or " (in compressed element at N)"

    def fail(self, offset: int, problem: str) -> MatFileError:
        return MatFileError(f"{self.path}: offset {self.base + offset}{self.where}: {problem}")

    def u32(self, offset: int) -> int:
        return struct.unpack_from(self.order + "I", self.mv, offset)[0]


class _Element:
    """One data element: its type, data offset/size within the buffer, and the next offset."""

    __slots__ = ("type", "start", "size", "end", "offset")

    def __init__(self, type_: int, start: int, size: int, end: int, offset: int):
        self.type, self.start, self.size, self.end, self.offset = type_, start, size, end, offset


def _tag(buf: _Buffer, offset: int, limit: int, *, pad: bool = True) -> _Element:
    """Parse the tag at ``offset`` (full 8-byte or packed small form) within ``[.., limit)``."""
    if offset + 8 > limit:
        raise buf.fail(offset, "truncated data element tag")
    word = buf.u32(offset)
    if word >> 16:
        size, type_ = word >> 16, word & 0xFFFF
        if size > 4:
            raise buf.fail(offset, f"small data element declares {size} bytes (at most 4)")
        return _Element(type_, offset + 4, size, offset + 8, offset)
    size = buf.u32(offset + 4)
    start = offset + 8
    if start + size > limit:
        raise buf.fail(offset, f"data element declares {size} bytes, only {limit - start} remain")
    end = min(start + padded(size), limit) if pad else start + size
    return _Element(word, start, size, end, offset)


def _numbers(buf: _Buffer, el: _Element, what: str) -> np.ndarray:
    """The element's data as a 1-D array of its own (numeric) type, a view of the buffer."""
    dtype = MI_DTYPE.get(el.type)
    if dtype is None:
        raise buf.fail(el.offset, f"{what}: unknown or non-numeric data type {el.type}")
    if el.size % dtype.itemsize:
        raise buf.fail(el.offset, f"{what}: {el.size} bytes is not a whole number of {MI_NAME[el.type]}")
    dtype = dtype.newbyteorder(buf.order)
    return np.frombuffer(buf.mv, dtype, el.size // dtype.itemsize, el.start)


def _native(arr: np.ndarray) -> np.ndarray:
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))


def _column_major(flat: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    return flat.reshape(dims, order="F")


class _ArrayHead:
    """Array flags, dimensions and name of a miMATRIX element, and where its data starts."""

    __slots__ = ("flags", "nzmax", "dims", "name", "name_at", "end")

    def __init__(self, flags: int, nzmax: int, dims: tuple[int, ...], name: str, name_at: int,
                 end: int):
        self.flags, self.nzmax, self.dims, self.name = flags, nzmax, dims, name
        self.name_at, self.end = name_at, end


def _text(buf: _Buffer, el: _Element, what: str) -> str:
    if el.type not in (miINT8, miUINT8, miUTF8):
        raise buf.fail(el.offset, f"{what} has data type {el.type}")
    return bytes(buf.mv[el.start:el.start + el.size]).decode("latin-1")


def _array_head(buf: _Buffer, start: int, limit: int) -> _ArrayHead:
    """Flags, dimensions (miINT32, or miUINT32 as some writers use) and name. MCOS and Java
    objects (class 17) have no dimensions: their name follows the flags."""
    flags_el = _tag(buf, start, limit)
    if flags_el.type != miUINT32 or flags_el.size != 8:
        raise buf.fail(flags_el.offset, "array flags must be 8 bytes of miUINT32")
    flags, nzmax = buf.u32(flags_el.start), buf.u32(flags_el.start + 4)
    if flags & 0xFF == mxOPAQUE:
        dims, name_at = (1, 1), flags_el.end
    else:
        dims_el = _tag(buf, flags_el.end, limit)
        if dims_el.type not in (miINT32, miUINT32) or dims_el.size < 8 or dims_el.size % 4:
            raise buf.fail(dims_el.offset, "dimensions must be at least two miINT32 values")
        dims = tuple(int(d) for d in _numbers(buf, dims_el, "dimensions"))
        if min(dims) < 0:
            raise buf.fail(dims_el.offset, f"negative dimension in {dims}")
        name_at = dims_el.end
    name_el = _tag(buf, name_at, limit)
    return _ArrayHead(flags, nzmax, dims, _text(buf, name_el, "array name"), name_at, name_el.end)


class _Reader:
    def __init__(self, buf: _Buffer, budget: Budget):
        self.buf = buf
        self.budget = budget

    def matrix(self, start: int, size: int, offset: int) -> tuple[str, Any]:
        """Parse one miMATRIX element's content ``[start, start+size)``: (name, value)."""
        buf = self.buf
        limit = start + size
        if size == 0:      # MATLAB's unassigned cell or field: an element of size 0
            return "", None
        head = _array_head(buf, start, limit)
        flags, nzmax, dims, name, pos = head.flags, head.nzmax, head.dims, head.name, head.end
        cls = flags & 0xFF
        count = int(np.prod(dims, dtype=object))
        if cls in (mxOBJECT, mxFUNCTION, mxOPAQUE):
            value = self.opaque(cls, head, start, limit)
        elif cls in MX_DTYPE:
            value = self.numeric(cls, flags, dims, count, pos, limit)
        elif cls == mxCHAR:
            value = self.char(dims, count, pos, limit)
        elif cls == mxCELL:
            value = self.cell(dims, count, pos, limit)
        elif cls == mxSTRUCT:
            value = self.struct(dims, count, pos, limit)
        elif cls == mxSPARSE:
            value = self.sparse(flags, nzmax, dims, pos, limit)
        else:
            what = MX_NAME.get(cls, f"unknown class {cls}")
            raise buf.fail(start, f"variable {name!r}: unsupported class {what}")
        return name, value

    def numeric(self, cls: int, flags: int, dims: tuple[int, ...], count: int,
                pos: int, limit: int) -> np.ndarray:
        buf = self.buf
        real_el = _tag(buf, pos, limit)
        real = self.part(real_el, cls, count, flags)
        if flags & FLAG_COMPLEX:
            if cls not in (6, 7):
                raise buf.fail(real_el.offset, f"complex {MX_NAME[cls]} is not supported")
            imag = self.part(_tag(buf, real_el.end, limit), cls, count, flags)
            self.budget.charge(count * 2 * MX_DTYPE[cls].itemsize, what="complex array")
            real = complex_of(real, imag)
        return _column_major(real, dims)

    def part(self, el: _Element, cls: int, count: int, flags: int) -> np.ndarray:
        """Real or imaginary data: ``count`` values converted to the class's dtype."""
        values = _numbers(self.buf, el, "array data")
        if values.size != count:
            raise self.buf.fail(el.offset, f"array data holds {values.size} values, dimensions say {count}")
        if flags & FLAG_LOGICAL:
            self.budget.charge(count, what="logical array")
            return values != 0
        target = MX_DTYPE[cls]
        if values.dtype == target:
            return values
        self.budget.charge(count * target.itemsize, what=f"{MX_NAME[cls]} array")
        return threads.astype(values, target)

    def char(self, dims: tuple[int, ...], count: int, pos: int, limit: int) -> Any:
        """Characters as UTF-16 code units (MATLAB's chars), from any of MATLAB's encodings."""
        buf = self.buf
        el = _tag(buf, pos, limit)
        if el.type in (miUTF8, miUTF32):
            # a UTF-16 code unit takes 1 to 3 UTF-8 bytes (a pair 4), 2 to 4 UTF-32 bytes
            low, high = (count, 3 * count) if el.type == miUTF8 else (2 * count, 4 * count)
            if el.size and not low <= el.size <= high:   # (no bytes at all: spaces, below)
                raise buf.fail(el.offset, f"char data of {el.size} bytes cannot hold the "
                                          f"{count} characters the dimensions say")
            self.budget.charge(count * CHAR_COST, what="char array")
            raw = bytes(buf.mv[el.start:el.start + el.size])
            try:
                text = raw.decode("utf-8" if el.type == miUTF8 else
                                  ("utf-32-le" if buf.order == "<" else "utf-32-be"))
            except UnicodeDecodeError as exc:
                raise buf.fail(el.offset, f"char data cannot be decoded: {exc}") from None
            codes = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), "<u2")
        elif el.type in (miUTF16, miUINT16, miUINT8, miINT8, miINT16):
            if el.type == miUTF16:
                el = _Element(miUINT16, el.start, el.size, el.end, el.offset)
            codes = _numbers(buf, el, "char data")
            if codes.size and codes.size != count:
                raise buf.fail(el.offset, f"char data holds {codes.size} characters, dimensions say {count}")
            self.budget.charge(count * CHAR_COST, what="char array")
            codes = codes.astype(np.uint16)    # code units: negative int8/int16 wrap as MATLAB's
        else:
            raise buf.fail(el.offset, f"char data has data type {el.type}")
        if codes.size == 0 and count:   # files in the wild: no characters, a size: spaces
            return with_layout(codes_to_char(np.full(count, 32), dims), char_data=el.type)
        if codes.size != count:
            raise buf.fail(el.offset, f"char data holds {codes.size} characters, dimensions say {count}")
        return codes_to_char(codes, dims)

    def nested(self, pos: int, limit: int) -> tuple[Any, int]:
        buf = self.buf
        el = _tag(buf, pos, limit)
        if el.type != miMATRIX:
            raise buf.fail(el.offset, f"expected a nested miMATRIX element, found type {el.type}")
        return self.matrix(el.start, el.size, el.offset)[1], el.end

    def _check_count(self, count: int, pos: int, limit: int, per: int = 1) -> None:
        # every nested element takes at least 8 bytes: refuse counts the bytes cannot hold
        if count * per * 8 > limit - pos:
            raise self.buf.fail(pos, f"{count * per} nested elements declared, the bytes cannot hold them")

    def cell(self, dims: tuple[int, ...], count: int, pos: int, limit: int) -> np.ndarray:
        self._check_count(count, pos, limit)
        self.budget.charge(elements=count, what=f"a cell of {count} elements")
        flat = np.empty(count, dtype=object)
        for i in range(count):
            flat[i], pos = self.nested(pos, limit)
        return _column_major(flat, dims)

    def fields(self, pos: int, limit: int) -> tuple[list[str], int, int]:
        """Field names of a struct or object as stored, their length, where values start."""
        buf = self.buf
        len_el = _tag(buf, pos, limit)
        if len_el.type != miINT32 or len_el.size != 4:
            raise buf.fail(len_el.offset, "struct field-name length must be one miINT32")
        name_len = buf.u32(len_el.start)
        names_el = _tag(buf, len_el.end, limit)
        if names_el.type not in (miINT8, miUINT8) or (name_len and names_el.size % name_len) \
                or (not name_len and names_el.size):
            raise buf.fail(names_el.offset, "struct field names do not match their length")
        raw = bytes(buf.mv[names_el.start:names_el.start + names_el.size])
        stored = [raw[i:i + name_len].split(b"\0", 1)[0].decode("latin-1")
                  for i in range(0, len(raw), name_len)] if name_len else []
        return stored, name_len, names_el.end

    def struct(self, dims: tuple[int, ...], count: int, pos: int, limit: int) -> Any:
        """A dict (1x1) or structured array. Repeated or empty stored names are renamed
        (:func:`~matlab_compat.values.unique_names`); the stored names and a field-name length
        other than MATLAB's current rule travel as the value's layout."""
        stored, name_len, pos = self.fields(pos, limit)
        fields = unique_names(stored)
        longest = max((len(f) for f in stored), default=0) + 1
        kept = {"field_name_length": name_len if name_len != longest else None,
                "field_names": stored if stored != fields else None}
        if not fields:      # no bytes per element: build nothing per element
            value = {} if dims == (1, 1) else np.empty(dims, dtype=[])
            return with_layout(value, **kept)
        self._check_count(count, pos, limit, len(fields))
        self.budget.charge(elements=count * len(fields),
                           what=f"a struct of {count} x {len(fields)} field values")
        columns = {f: np.empty(count, dtype=object) for f in fields}
        for i in range(count):
            for field in fields:
                columns[field][i], pos = self.nested(pos, limit)
        if dims == (1, 1):
            return with_layout({f: columns[f][0] for f in fields}, **kept)
        out = np.empty(count, dtype=[(f, object) for f in fields])
        for field in fields:
            out[field] = columns[field]
        return with_layout(_column_major(out, dims), **kept)

    def opaque(self, cls: int, head: _ArrayHead, start: int, limit: int) -> MatlabOpaque:
        """An object kept as MATLAB's bytes, with what can be decoded of it."""
        buf = self.buf
        self.budget.charge(limit - start, what="object bytes")
        pos = head.end
        system = ""
        if cls == mxFUNCTION:
            classname = "function_handle"
            decoded, _ = self.nested(pos, limit)
        else:
            if cls == mxOPAQUE:
                system_el = _tag(buf, pos, limit)
                system = _text(buf, system_el, "object type system")
                pos = system_el.end
            class_el = _tag(buf, pos, limit)
            classname = _text(buf, class_el, "object class name")
            if cls == mxOBJECT:
                decoded = self.struct(head.dims, int(np.prod(head.dims, dtype=object)),
                                      class_el.end, limit)
            else:   # MCOS: a uint32 reference into the subsystem (or an enumeration's struct)
                decoded, _ = self.nested(class_el.end, limit)
        raw = (bytes(buf.mv[start:head.name_at]), bytes(buf.mv[head.end:limit]))
        return MatlabOpaque(cls, classname, system, decoded, raw, buf.order)

    def sparse(self, flags: int, nzmax: int, dims: tuple[int, ...], pos: int, limit: int):
        """A csc_matrix; flags, nzmax and value types other than today's MATLAB writes
        travel with it as its layout (see :mod:`matlab_compat.values`)."""
        buf = self.buf
        if len(dims) != 2:
            raise buf.fail(pos, f"sparse array with {len(dims)} dimensions")
        rows, cols = dims
        ir_el = _tag(buf, pos, limit)
        jc_el = _tag(buf, ir_el.end, limit)
        ir = _numbers(buf, ir_el, "sparse row indices")
        jc = _numbers(buf, jc_el, "sparse column starts")
        if jc.size != cols + 1:
            raise buf.fail(jc_el.offset, "sparse column starts inconsistent with the dimensions")
        self.budget.charge(sparse_bytes(rows, cols, ir.size, 16 if flags & FLAG_COMPLEX else 8),
                           what="sparse array")
        ir, jc = ir.astype(np.int64), jc.astype(np.int64)
        if jc[0] != 0 or np.any(np.diff(jc) < 0) or jc[-1] > ir.size:
            raise buf.fail(jc_el.offset, "sparse column starts inconsistent with the dimensions")
        nnz = int(jc[-1])
        ir = ir[:nnz]
        if nnz and (ir.min() < 0 or ir.max() >= rows):
            raise buf.fail(ir_el.offset, "sparse row index out of range")
        pr_el = _tag(buf, jc_el.end, limit)
        logical = bool(flags & FLAG_LOGICAL)
        if logical and pr_el.type == miDOUBLE and pr_el.size == nnz and nnz % 8:
            # MATLAB of about 2014 wrote logical values as bytes under a double tag
            pr_el = _Element(miUINT8, pr_el.start, pr_el.size, pr_el.end, pr_el.offset)
            value_type = miDOUBLE
        else:
            value_type = None if pr_el.type == (miUINT8 if logical else miDOUBLE) else "compact"
        data = _numbers(buf, pr_el, "sparse values")
        if data.size < nnz:
            raise buf.fail(pr_el.offset, f"sparse array has {data.size} values for {nnz} entries")
        data = _native(data[:nnz])
        if logical:
            data = data != 0
        else:
            data = data.astype(np.float64)
            if flags & FLAG_COMPLEX:
                pi_el = _tag(buf, pr_el.end, limit)
                imag = _numbers(buf, pi_el, "sparse imaginary values")
                if imag.size < nnz:
                    raise buf.fail(pi_el.offset, "sparse imaginary values too few")
                data = complex_of(data, imag[:nnz].astype(np.float64))
        mat = scipy.sparse.csc_matrix((data, ir, jc), shape=(rows, cols))
        kept_flags = flags & ~0xFF & ~(FLAG_COMPLEX | FLAG_LOGICAL)
        return with_layout(mat, flags=None if kept_flags == FLAG_SPARSE_V7 else kept_flags,
                           nzmax=None if nzmax == max(nnz, 1) else nzmax, value_type=value_type)


def _inflate(file: "_File", offset: int, compressed: int, fail) -> np.ndarray:
    """Decompress the miCOMPRESSED element of ``compressed`` bytes at ``offset`` into a new
    writable array holding one miMATRIX element, tag included: on all cores when the stream
    has MATLAB's flush points (:mod:`matlab_compat.inflate`), otherwise block by block.

    Every call's output is capped by what is still declared, and the declared size by what
    ``compressed`` bytes can hold, so a corrupt stream never makes more than that. The array
    head must parse (from the first bytes) and the file's work budget must allow the declared
    size before the element is allocated.
    """
    blocks = file.blocks(offset, compressed)
    dec = zlib.decompressobj()
    pending = b""

    def inflate(limit: int) -> bytes:
        """Up to ``limit`` more bytes; empty only when the stream or the input has ended."""
        nonlocal pending
        while True:   # each pass consumes input or returns, so this ends
            if pending:
                before = len(pending)
                out = dec.decompress(pending, limit)
                pending = dec.unconsumed_tail
                if not out and len(pending) == before:
                    return b""    # no progress possible
            else:
                block = next(blocks, None)
                if block is None:
                    return b"" if dec.eof else dec.decompress(b"", limit)
                out = dec.decompress(block, limit)
                pending = dec.unconsumed_tail
            if out or dec.eof:
                return out

    try:
        head = b""
        while len(head) < 8:
            more = inflate(8 - len(head))
            if not more:
                raise fail("compressed element too short for a tag")
            head += more
        type_, size = struct.unpack(fail.order + "II", head)
        if type_ != miMATRIX:
            raise fail(f"compressed element holds type {type_}, not miMATRIX")
        if size > compressed * ZLIB_MAX_RATIO + 64:
            raise fail(f"compressed element declares {size} bytes, more than {compressed} "
                       f"compressed bytes can hold (zlib's limit is about 1032:1)")
        while len(head) < min(8 + size, _HEAD_PEEK):
            more = inflate(min(8 + size, _HEAD_PEEK) - len(head))
            if not more:
                raise fail(f"compressed stream ends after {len(head)} of {8 + size} bytes")
            head += more
        peek = _Buffer(np.frombuffer(head, np.uint8), file.path, file.order, fail.offset,
                       f" (in compressed element at {fail.offset})")
        file.budget.start(_array_head(peek, 8, len(head)).name if size else "")
        file.budget.charge(8 + size, what="its decompressed element")
        out = _zeroed(8 + size, fail)
        if worth_threads(compressed) and inflate_into(file.bytes(offset, compressed), out):
            return out
        out[:len(head)] = np.frombuffer(head, np.uint8)   # not cut at flush points: one thread
        filled = len(head)
        while filled < 8 + size:
            chunk = inflate(min(8 + size - filled, _OUT_BLOCK))
            if not chunk:
                raise fail(f"compressed stream ends after {filled} of {8 + size} bytes")
            out[filled:filled + len(chunk)] = np.frombuffer(chunk, np.uint8)
            filled += len(chunk)
    except zlib.error as exc:
        raise fail(f"broken zlib stream: {exc}") from None
    return out


def _zeroed(size: int, fail: "_Failure") -> np.ndarray:
    """A writable uint8 array on fresh anonymous memory, its pages mapped as they are first
    written: no zero-filling pass (``bytearray``) and no huge pages, which numpy asks for big
    arrays and which on a busy machine cost more system time to compact than the inflate."""
    try:
        return np.frombuffer(mmap.mmap(-1, size), np.uint8) if size else np.empty(0, np.uint8)
    except (OSError, MemoryError) as exc:
        raise fail(f"cannot allocate {size} bytes for the decompressed element: {exc}") from None


class _Failure:
    """Makes MatFileErrors naming the file and a top-level element's offset."""

    def __init__(self, path: str, order: str, offset: int):
        self.path, self.order, self.offset = path, order, offset

    def __call__(self, problem: str) -> MatFileError:
        return MatFileError(f"{self.path}: offset {self.offset}: {problem}")


class _File:
    """An open v5 file: its size, and its bytes read on demand."""

    def __init__(self, fh: BinaryIO, path: str, header: Header, factor: float = WORK_FACTOR):
        self.fh, self.path, self.order = fh, path, header.byte_order
        self.size = os.fstat(fh.fileno()).st_size
        self.budget = Budget(path, self.size, factor)

    def read(self, offset: int, size: int) -> np.ndarray:
        """``size`` bytes at ``offset`` as a writable array (arrays returned are views of it)."""
        data = np.empty(size, dtype=np.uint8)
        self.fh.seek(offset)
        got = self.fh.readinto(memoryview(data))
        return data[:got]

    def bytes(self, offset: int, size: int) -> bytes:
        """The (at most) ``size`` bytes at ``offset``."""
        self.fh.seek(offset)
        return self.fh.read(size)

    def blocks(self, offset: int, size: int) -> Iterator[bytes]:
        """The ``size`` bytes at ``offset`` in blocks of at most :data:`_BLOCK` bytes."""
        end = offset + size
        while offset < end:
            self.fh.seek(offset)
            block = self.fh.read(min(_BLOCK, end - offset))
            if not block:
                return
            offset += len(block)
            yield block


def iter_variables(file: _File) -> Iterator["_Variable"]:
    """The file's variables in order; each is read and parsed only on demand."""
    pos = HEADER_BYTES
    while pos < file.size:
        buf = _Buffer(file.read(pos, 8), file.path, file.order, pos)
        el = _tag(buf, 0, file.size - pos, pad=False)
        if el.type == miMATRIX:
            el.end = min(el.start + padded(el.size), file.size - pos)
        elif el.type != miCOMPRESSED:
            raise buf.fail(0, f"top-level element of type {el.type}, expected a variable")
        yield _Variable(file, pos, el)
        pos += el.end


class _Variable:
    """A top-level variable: its name, class and storage, and its value on demand."""

    _PEEK = 4096  # decompressed bytes enough for any array head (flags, dims, name)

    def __init__(self, file: _File, offset: int, el: _Element):
        self.file, self.offset = file, offset
        self.compressed = el.type == miCOMPRESSED
        self.size = el.size
        self.stored_bytes = el.size + 8
        self.fail = _Failure(file.path, file.order, offset)
        self._inner: tuple[_Buffer, _Element] | None = None

    def _matrix(self) -> tuple[_Buffer, _Element]:
        """The buffer holding the miMATRIX element, and that element."""
        if self._inner is None:
            if self.compressed:
                data = _inflate(self.file, self.offset + 8, self.size, self.fail)
                where = f" (in compressed element at {self.offset})"
            else:
                data, where = self.file.read(self.offset, 8 + padded(self.size)), ""
            inner = _Buffer(data, self.file.path, self.file.order, self.offset, where)
            self._inner = inner, _tag(inner, 0, len(data))
            if not self.compressed:   # bytes present in the file: named and counted
                mat = self._inner[1]
                self.file.budget.start(
                    "" if mat.size == 0 else _array_head(inner, mat.start, mat.start + mat.size).name)
                self.file.budget.charge(len(data), what="its element")
        return self._inner

    def value(self) -> tuple[str, Any]:
        buf, mat = self._matrix()
        return _Reader(buf, self.file.budget).matrix(mat.start, mat.size, mat.offset)

    def name(self) -> str:
        """The variable's name, decompressing only the start of a compressed element."""
        if self.compressed and self._inner is None:
            try:
                peek = zlib.decompressobj().decompress(
                    next(self.file.blocks(self.offset + 8, self.size), b""), self._PEEK)
            except zlib.error as exc:
                raise self.fail(f"broken zlib stream: {exc}") from None
            buf = _Buffer(np.frombuffer(peek, np.uint8), self.file.path, self.file.order,
                          self.offset, f" (in compressed element at {self.offset})")
            if len(peek) >= 8:
                size = buf.u32(4)
                limit = min(len(peek), 8 + size)
                try:
                    return "" if size == 0 else _array_head(buf, 8, limit).name
                except MatFileError:
                    if len(peek) == 8 + size:   # the whole element was there: really broken
                        raise
        buf, mat = self._matrix()
        return "" if mat.size == 0 else _array_head(buf, mat.start, mat.start + mat.size).name

    def summary(self) -> dict:
        """Name, size, class and storage type without parsing the data."""
        buf, mat = self._matrix()
        limit = mat.start + mat.size
        if mat.size == 0:
            return {"name": "", "size": (0, 0), "class": "double", "storage": "double"}
        head = _array_head(buf, mat.start, limit)
        cls = head.flags & 0xFF
        if head.flags & FLAG_LOGICAL:
            cls_name = "logical"
        elif cls == mxSPARSE:
            cls_name = "double"
        else:
            cls_name = MX_NAME.get(cls, f"class{cls}")
        storage = "sparse" if cls == mxSPARSE else cls_name
        if cls in MX_DTYPE or cls == mxCHAR:
            data_el = _tag(buf, head.end, limit)
            storage = MI_NAME.get(data_el.type, f"type{data_el.type}")
        return {"name": head.name, "size": head.dims, "class": cls_name, "storage": storage,
                "complex": bool(head.flags & FLAG_COMPLEX), "sparse": cls == mxSPARSE}


@contextlib.contextmanager
def malformed_input(path: str | os.PathLike) -> Iterator[None]:
    """Turn any parse failure the explicit checks missed into a MatFileError (a safety net)."""
    try:
        yield
    except MatFileError:
        raise
    except (ValueError, IndexError, KeyError, TypeError, OverflowError, MemoryError,
            UnicodeError, RecursionError, struct.error, zlib.error) as exc:
        raise MatFileError(f"{path}: malformed file: {type(exc).__name__}: {exc}") from None


@contextlib.contextmanager
def open_v5(path: str | os.PathLike, factor: float = WORK_FACTOR) -> Iterator[_File]:
    """The v5 file at ``path``, open for :func:`iter_variables`, with a work budget of
    ``factor`` per byte (:mod:`matlab_compat.budget`)."""
    with open_input(path) as fh:
        header = parse_header(fh.read(HEADER_BYTES), path)
        with malformed_input(path):
            try:
                yield _File(fh, str(path), header, factor)
            except OSError as exc:
                raise MatFileError(f"{path}: cannot read: {exc}") from exc


def read_subsystem(data: bytes, path: str) -> list[Any]:
    """The values in MATLAB's subsystem data (the ``__function_workspace__`` bytes): a
    MAT-file body behind an 8-byte header (version, ``IM``/``MI``, padding). Its bytes were read
    under the file's budget; parsing them has a budget of its own, sized by them."""
    if len(data) < 8 or data[2:4] not in (b"IM", b"MI"):
        raise MatFileError(f"{path}: subsystem data lacks its 8-byte header")
    buf = _Buffer(np.frombuffer(data, np.uint8), path, "<" if data[2:4] == b"IM" else ">", 0,
                  " (in the subsystem data)")
    values, pos, budget = [], 8, Budget(path, len(data))
    budget.start("__function_workspace__")
    while pos + 8 <= len(data):
        el = _tag(buf, pos, len(data))
        if el.type != miMATRIX:
            raise buf.fail(pos, f"subsystem data element of type {el.type}, expected miMATRIX")
        values.append(_Reader(buf, budget).matrix(el.start, el.size, el.offset)[1])
        pos = el.end
    return values


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """The whole file (a regular file only)."""
    with open_input(path) as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise MatFileError(f"{path}: cannot read: {exc}") from exc


def load(path: str | os.PathLike, variable_names: Iterable[str] | None = None,
         factor: float = WORK_FACTOR) -> dict[str, Any]:
    """Variables of a v5/v7 file (all, or only those named; others are not decompressed)."""
    wanted = None if variable_names is None else set(variable_names)
    out: dict[str, Any] = {}
    with open_v5(path, factor) as file:
        for var in iter_variables(file):
            if wanted is not None and (var.name() or SUBSYSTEM) not in wanted:
                continue
            name, value = var.value()
            out[name or SUBSYSTEM] = value
    return out
