"""v7.3 MAT-files: HDF5 in MATLAB's layout, read and written with h5py.

Layout (as MATLAB writes it): a 512-byte user block starting with the 128-byte MAT header
(version 0x0200); one dataset or group per variable with a ``MATLAB_class`` attribute;
dimensions reversed (HDF5 is row-major, so the column-major data is written unchanged);
char as uint16 codes (``MATLAB_int_decode`` 2); logical as uint8; complex as a compound of
``real`` and ``imag``; empty arrays as their dimension vector with ``MATLAB_empty`` = 1; cell
arrays as datasets of object references into the ``#refs#`` group; a 1x1 struct as a group
with one member per field (order in ``MATLAB_fields``); a struct array as a group whose fields
are reference datasets; sparse as a group with ``data``, ``ir``, ``jc`` and ``MATLAB_sparse``
(the row count).

Reading follows only what MATLAB writes: hard links, datasets stored in the file (compact,
contiguous or chunked) with deflate, shuffle or Fletcher-32 at most, and object references each
followed once. External storage, external and soft links, virtual datasets and other filters
(which would read other files, or load plugins) are refused, as is a second reference to an
object (which would make the walk exponential). What is read is charged to the file's work
budget (:mod:`matlab_compat.budget`) before it is read.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

import h5py
import numpy as np
import scipy.sparse

from matlab_compat import modern, modern_write
from matlab_compat.budget import CHAR_COST, WORK_FACTOR, Budget, sparse_bytes
from matlab_compat.errors import MatFileError
from matlab_compat.format import (
    MX_DTYPE,
    MX_NAME,
    V73_USERBLOCK,
    ZLIB_MAX_RATIO,
    mxFUNCTION,
    mxOPAQUE,
)
from matlab_compat.header import Header
from matlab_compat.source import check_input
from matlab_compat.values import (
    SUBSYSTEM,
    MatlabOpaque,
    check_name,
    classify,
    codes_to_char,
    complex_of,
    unique_names,
)

REFS = "#refs#"
_CLASS_DTYPE = {MX_NAME[c]: dt for c, dt in MX_DTYPE.items()}
_DTYPE_CLASS = {dt.str[1:]: name for name, dt in _CLASS_DTYPE.items()}
_FIELDS_DTYPE = h5py.vlen_dtype(np.dtype("S1"))
#: HDF5 filters a v7.3 file may use: deflate (MATLAB's), shuffle and Fletcher-32 (built in).
_FILTERS = {h5py.h5z.FILTER_DEFLATE: "deflate", h5py.h5z.FILTER_SHUFFLE: "shuffle",
            h5py.h5z.FILTER_FLETCHER32: "fletcher32"}
_LAYOUTS = (h5py.h5d.COMPACT, h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED)


@dataclass(frozen=True)
class RowChunks:
    """A numeric rows x columns matrix given as consecutive blocks of whole rows (an iterable of 2-D
    arrays): written to a v7.3 file chunk by chunk, so that a matrix larger than memory can be
    stored; the HDF5 chunks hold ``chunk_rows`` whole rows each."""

    shape: tuple[int, int]
    dtype: Any
    blocks: Iterable[np.ndarray]
    chunk_rows: int = 256


class RowReader:
    """Blocks of rows of a numeric matrix in a v7.3 file, read without loading the rest (the reverse of
    :class:`RowChunks`): ``reader.rows(start, stop)``, ``reader.take(indices)``; a context manager."""

    CACHE_BYTES = 64 << 20  # HDF5 chunk cache: several chunks of whole rows

    def __init__(self, path: str | os.PathLike, name: str):
        try:
            self._file = h5py.File(path, "r", rdcc_nbytes=self.CACHE_BYTES)
        except (OSError, ValueError) as exc:
            raise MatFileError(f"{path}: not a v7.3 (HDF5) MAT-file ({exc})") from None
        dset = self._file.get(name)
        cls = dset.attrs.get("MATLAB_class") if isinstance(dset, h5py.Dataset) else None
        if cls is None or dset.ndim != 2 or dset.attrs.get("MATLAB_empty", 0) or \
                (cls.decode() if isinstance(cls, bytes) else str(cls)) not in _CLASS_DTYPE:
            self._file.close()
            raise MatFileError(f"{path}: {name!r} is not a numeric matrix of a v7.3 file")
        self._dset = dset
        self.shape = (dset.shape[1], dset.shape[0])  # MATLAB's rows x columns
        self.dtype = dset.dtype
        # chunks of whole rows, unfiltered (as RowChunks writes them): each chunk's bytes are read directly
        self._direct = (dset.chunks is not None and dset.chunks[0] == dset.shape[0]
                        and not dset.id.get_create_plist().get_nfilters())
        self._rows_per_chunk = dset.chunks[1] if self._direct else 0

    def _chunk(self, index: int) -> np.ndarray:
        """Rows ``index * k`` .. of one stored chunk, as a (k, columns) array (k rows per chunk)."""
        _, raw = self._dset.id.read_direct_chunk((0, index * self._rows_per_chunk))
        if len(raw) != self.shape[1] * self._rows_per_chunk * self.dtype.itemsize:
            raise MatFileError(f"{self._file.filename}: chunk {index} holds {len(raw)} bytes, not a chunk of whole rows")
        return np.frombuffer(raw, dtype=self.dtype).reshape(self.shape[1], self._rows_per_chunk).T

    def rows(self, start: int, stop: int) -> np.ndarray:
        start, stop = max(0, start), min(stop, self.shape[0])
        if not self._direct:
            return np.ascontiguousarray(self._dset[:, start:stop].T)
        k = self._rows_per_chunk
        out = np.empty((max(0, stop - start), self.shape[1]), dtype=self.dtype)
        for c in range(start // k, -(-stop // k)):
            lo, hi = max(start, c * k), min(stop, (c + 1) * k)
            out[lo - start:hi - start] = self._chunk(c)[lo - c * k:hi - c * k]
        return out

    def take(self, indices: np.ndarray) -> np.ndarray:
        """The rows at ``indices`` (any order, repeats allowed), in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= self.shape[0]):
            raise IndexError(f"row index out of range 0..{self.shape[0] - 1}")
        if not self._direct:
            unique, back = np.unique(indices, return_inverse=True)
            return np.ascontiguousarray(self._dset[:, unique].T[back]) if unique.size else np.empty((0, self.shape[1]), self.dtype)
        out = np.empty((indices.size, self.shape[1]), dtype=self.dtype)
        chunks = indices // self._rows_per_chunk
        for c in np.unique(chunks):
            where = np.nonzero(chunks == c)[0]
            out[where] = self._chunk(int(c))[indices[where] - c * self._rows_per_chunk]
        return out

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "RowReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _ascii(text: str) -> np.bytes_:
    return np.bytes_(text.encode("ascii"))


def _ref_name(index: int) -> str:
    """MATLAB-style names of objects in #refs#: a, b, ..., z, ba, bb, ..."""
    letters = ""
    while True:
        index, rem = divmod(index, 26)
        letters = chr(ord("a") + rem) + letters
        if not index:
            return letters


class _Writer:
    def __init__(self, f: h5py.File):
        self.f = f
        self.count = 0
        self.objects: set[int] = set()     # MCOS references made for this file

    def mcos(self, classname: str, ref: np.ndarray) -> MatlabOpaque:
        """A new object's reference, written as MATLAB does (:meth:`write`)."""
        obj = MatlabOpaque(mxOPAQUE, classname, "MCOS", ref, None)
        self.objects.add(id(obj))
        return obj

    def subsystem(self, cells: np.ndarray) -> None:
        """``#subsystem#/MCOS``: references to the FileWrapper__ cells (the empty one as
        MATLAB's ``canonical empty``)."""
        refs = np.empty((1, cells.size), dtype=h5py.ref_dtype)
        for i, cell in enumerate(cells.reshape(-1)):
            if cell is None:
                name = _ref_name(self.count)
                self.count += 1
                empty = self.refs.create_dataset(name, data=np.zeros(2, np.uint64))
                empty.attrs["MATLAB_class"] = _ascii("canonical empty")
                empty.attrs["MATLAB_empty"] = np.uint8(1)
                refs[0, i] = empty.ref
            else:
                refs[0, i] = self.new_ref(cell)
        dset = self.f.require_group("#subsystem#").create_dataset("MCOS", data=refs)
        dset.attrs["MATLAB_class"] = _ascii("FileWrapper__")
        dset.attrs["MATLAB_object_decode"] = np.int32(3)

    @property
    def refs(self) -> h5py.Group:
        return self.f.require_group(REFS)

    def new_ref(self, value: Any) -> h5py.Reference:
        name = _ref_name(self.count)
        self.count += 1
        return self.write(self.refs, name, value).ref

    def row_chunks(self, parent: h5py.Group, name: str, value: RowChunks) -> h5py.Dataset:
        """A :class:`RowChunks` matrix, filled block by block: each HDF5 chunk (``chunk_rows`` whole rows, the
        columns of the reversed dataset) is written directly, uncompressed, as soon as its rows are in."""
        rows, columns = value.shape
        dtype = np.dtype(value.dtype)
        if rows == 0:
            return self.write(parent, name, np.zeros((0, columns), dtype))
        k = max(1, min(value.chunk_rows, rows))
        dset = parent.create_dataset(name, shape=(columns, rows), dtype=dtype, chunks=(columns, k))
        dset.attrs["MATLAB_class"] = _ascii(_DTYPE_CLASS[dtype.str[1:]])
        pending, done = [], 0
        for block in value.blocks:
            block = np.asarray(block, dtype=dtype)
            if block.ndim != 2 or block.shape[1] != columns or done + len(block) > rows:
                raise MatFileError(f"variable {name!r}: a block of shape {block.shape} does not fit {rows} x {columns}")
            pending.append(block)
            done += len(block)
            held = sum(len(b) for b in pending)
            if held >= k or done == rows:
                rows_in = np.concatenate(pending)
                start = done - held
                full = held - held % k if done < rows else held
                for at in range(0, full, k):
                    piece = np.zeros((k, columns), dtype)
                    part = rows_in[at:at + k]
                    piece[:len(part)] = part
                    dset.id.write_direct_chunk((0, start + at), np.ascontiguousarray(piece.T).tobytes())
                pending = [rows_in[full:]] if full < held else []
        if done != rows:
            raise MatFileError(f"variable {name!r}: {done} rows given, {rows} declared")
        return dset

    def write(self, parent: h5py.Group, name: str, value: Any):
        if isinstance(value, RowChunks):
            return self.row_chunks(parent, name, value)
        kind, norm = classify(value, name)
        if kind == "none":
            kind, norm = "numeric", np.empty((0, 0))
        if kind == "opaque" and id(norm) in self.objects:
            dset = parent.create_dataset(name, data=norm.decoded.T)
            dset.attrs["MATLAB_class"] = _ascii(norm.classname)
            dset.attrs["MATLAB_object_decode"] = np.int32(3)
            return dset
        if kind == "opaque":
            raise MatFileError(f"variable {name!r}: {norm.classname} objects are kept only in "
                               f"v6/v7 files")
        if kind == "struct":
            return self.struct(parent, name, norm)
        if kind == "sparse":
            return self.sparse(parent, name, norm)
        arr, dims = norm, norm.shape
        if kind == "cell":
            cls = "cell"
        elif kind == "char":
            cls = "char"
        elif arr.dtype == bool:
            cls = "logical"
        elif arr.dtype.kind == "c":
            cls = "single" if arr.dtype.itemsize == 8 else "double"
        else:
            cls = _DTYPE_CLASS[arr.dtype.str[1:]]
        if arr.size == 0:
            dset = parent.create_dataset(name, data=np.array(dims, dtype=np.uint64))
            dset.attrs["MATLAB_class"] = _ascii(cls)
            dset.attrs["MATLAB_empty"] = np.uint8(1)
            return dset
        data = arr.T   # reversed dimensions: the column-major bytes unchanged
        if cls == "cell":
            refs = np.empty(data.shape, dtype=h5py.ref_dtype)
            for idx in np.ndindex(data.shape):
                refs[idx] = self.new_ref(data[idx])
            data = refs
        elif cls == "char":
            data = data.astype(np.uint16)
        elif cls == "logical":
            data = data.astype(np.uint8)
        elif arr.dtype.kind == "c":
            part = np.float32 if cls == "single" else np.float64
            compound = np.empty(data.shape, dtype=[("real", part), ("imag", part)])
            compound["real"], compound["imag"] = data.real, data.imag
            data = compound
        dset = parent.create_dataset(name, data=data)
        dset.attrs["MATLAB_class"] = _ascii(cls)
        if cls == "char":
            dset.attrs["MATLAB_int_decode"] = np.int32(2)
        return dset

    def _fields_attr(self, group: h5py.Group, fields: list[str]) -> None:
        attr = np.empty(len(fields), dtype=_FIELDS_DTYPE)
        for i, f in enumerate(fields):
            attr[i] = np.frombuffer(f.encode("ascii"), dtype="S1")
        group.attrs.create("MATLAB_fields", attr, dtype=_FIELDS_DTYPE)

    def struct(self, parent: h5py.Group, name: str, st) -> h5py.Group:
        """A 1x1 struct (dict) as a group of its fields; a struct array as a group of
        reference datasets, one per field."""
        if not st.scalar and not st.fields:
            if 0 not in st.dims:
                raise MatFileError(f"variable {name!r}: struct array without fields cannot be stored in v7.3")
            dset = parent.create_dataset(name, data=np.array(st.dims, dtype=np.uint64))
            dset.attrs["MATLAB_class"] = _ascii("struct")     # an empty struct, as MATLAB's
            dset.attrs["MATLAB_empty"] = np.uint8(1)
            return dset
        group = parent.create_group(name)
        group.attrs["MATLAB_class"] = _ascii("struct")
        self._fields_attr(group, st.fields)
        if st.scalar:
            for field, item in st.records[0].items():
                self.write(group, field, item)
            return group
        for field in st.fields:
            refs = np.array([self.new_ref(r[field]) for r in st.records], dtype=h5py.ref_dtype)
            group.create_dataset(field, data=refs.reshape(st.dims, order="F").T, dtype=h5py.ref_dtype)
        return group

    def sparse(self, parent: h5py.Group, name: str, mat) -> h5py.Group:
        group = parent.create_group(name)
        if mat.dtype == bool:
            cls, data = "logical", mat.data.astype(np.uint8)
        elif mat.dtype.kind == "c":
            cls = "double"
            data = np.empty(mat.nnz, dtype=[("real", "f8"), ("imag", "f8")])
            data["real"], data["imag"] = mat.data.real, mat.data.imag
        else:
            cls, data = "double", mat.data.astype(np.float64)
        group.attrs["MATLAB_class"] = _ascii(cls)
        group.attrs["MATLAB_sparse"] = np.uint64(mat.shape[0])
        group.create_dataset("jc", data=mat.indptr.astype(np.uint64))
        if mat.nnz:
            group.create_dataset("ir", data=mat.indices.astype(np.uint64))
            group.create_dataset("data", data=data)
        return group


def save(path: str | os.PathLike, variables: Mapping[str, Any], header: Header) -> None:
    """Write ``variables`` as a v7.3 file at ``path`` (the caller makes it atomic)."""
    try:
        with h5py.File(path, "w", userblock_size=V73_USERBLOCK, libver="earliest", track_order=True,
                       locking=False) as f:   # atomic_output holds the lock of the temporary
            writer = _Writer(f)
            objects = modern_write.ObjectWriter(True, writer.mcos)    # every object written anew
            for name, value in variables.items():
                if name != SUBSYSTEM:       # a v6/v7 file's subsystem: replaced by #subsystem#
                    writer.write(f, check_name(name), objects.walk(value))
            cells = objects.cells("<")
            if cells is not None:
                writer.subsystem(cells)
        with open(path, "r+b") as fh:
            fh.write(header.to_bytes())
    except MatFileError:
        raise
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise MatFileError(f"{path}: cannot write v7.3 file: {exc}") from exc


class _Reader:
    def __init__(self, f: h5py.File, path: str, file_size: int, budget: Budget):
        self.f, self.path = f, path
        self.file_size = file_size
        self.budget = budget
        self.visited: set[int] = set()     # addresses of the objects links and references led to

    def fail(self, node, problem: str) -> MatFileError:
        return MatFileError(f"{self.path}: HDF5 object {node.name}: {problem}")

    def member(self, group: h5py.Group, name: str):
        """``group[name]``, if a hard link (MATLAB writes no other kind) to a group or dataset
        not reached before."""
        link = group.get(name, getlink=True)
        if not isinstance(link, h5py.HardLink):
            kind = type(link).__name__ if link is not None else "missing link"
            raise MatFileError(f"{self.path}: HDF5 object {group.name.rstrip('/')}/{name}: "
                               f"{kind} refused (MATLAB writes hard links only)")
        return self.once(group[name], group, "links to")

    def follow(self, ref, node):
        """The object ``ref`` (read from ``node``) points to, if not reached before."""
        if not ref:
            raise self.fail(node, "null object reference")
        return self.once(self.f[ref], node, "references")

    def once(self, target, node, how: str):
        """``target`` (a group or dataset), the first time a link or reference leads to it: a
        file whose links or references share objects cannot make the walk exponential."""
        if not isinstance(target, (h5py.Group, h5py.Dataset)):
            raise self.fail(node, f"{how} a {type(target).__name__}, not a MATLAB value")
        addr = h5py.h5o.get_info(target.id).addr
        if addr in self.visited:
            raise self.fail(node, f"{how} {target.name} a second time (MATLAB writes each "
                                  f"object once)")
        self.visited.add(addr)
        return target

    def data(self, node: h5py.Dataset) -> Any:
        """The dataset's values, once it is stored as MATLAB stores data (in this file, known
        filters, a MATLAB element type) and its declared size is one the file can hold (at most
        its stored bytes, times zlib's largest ratio when filtered, which fit in the file) and
        the work budget allows."""
        plist = node.id.get_create_plist()
        if plist.get_layout() not in _LAYOUTS:
            raise self.fail(node, "virtual dataset refused (MATLAB stores data in the file)")
        if plist.get_external_count():
            raise self.fail(node, "external storage refused (MATLAB stores data in the file)")
        filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
        unknown = [f for f in filters if f not in _FILTERS]
        if unknown:
            raise self.fail(node, f"HDF5 filter {unknown[0]} refused (MATLAB uses deflate)")
        dtype = node.dtype
        if not (dtype.kind in "uif" or h5py.check_ref_dtype(dtype) is not None or (
                dtype.names and all(dtype[n].kind in "uif" for n in dtype.names))):
            raise self.fail(node, f"element type {dtype} is not one MATLAB writes")
        stored = node.id.get_storage_size()
        declared = int(np.prod(node.shape, dtype=object) or 0) * dtype.itemsize
        if stored > self.file_size or declared > stored * (ZLIB_MAX_RATIO if filters else 1):
            raise self.fail(node, f"declares {declared} bytes of data, the file holds {stored} "
                                  f"for it ({self.file_size} in all)")
        self.budget.charge(declared, what=lambda: f"HDF5 dataset {node.name}")   # names are slow
        return node[()]

    def cls(self, node) -> str | None:
        raw = node.attrs.get("MATLAB_class")
        return None if raw is None else (raw.decode("ascii") if isinstance(raw, bytes) else str(raw))

    def read(self, node) -> Any:
        cls = self.cls(node)
        if isinstance(node, h5py.Group):
            if "MATLAB_sparse" in node.attrs:
                return self.sparse(node, cls)
            if cls == "struct" or cls is None:
                return self.struct(node)
            decode = node.attrs.get("MATLAB_object_decode")
            if decode == 1 and cls == "function_handle":   # its struct, as in v7
                return MatlabOpaque(mxFUNCTION, cls, "", self.struct(node), None)
            # an enumeration (decode 3): its struct of ids into #subsystem#; other classes
            # stored as groups: their struct, kept with the class name
            return MatlabOpaque(mxOPAQUE, cls, "MCOS" if decode == 3 else "", self.struct(node),
                                None)
        if cls is None:
            raise self.fail(node, "dataset without MATLAB_class")
        if cls not in _CLASS_DTYPE and cls not in ("char", "cell", "logical", "struct"):
            # an MCOS object (datetime, table, string...): its data live in #subsystem#
            if cls == "canonical empty":    # the subsystem's empty cell
                return None
            ref = self.data(node).T if node.attrs.get("MATLAB_object_decode") == 3 else None
            return MatlabOpaque(mxOPAQUE, cls, "MCOS", ref, None)
        if node.attrs.get("MATLAB_empty", 0):
            dims = tuple(int(d) for d in np.asarray(self.data(node)).ravel())
            if len(dims) < 2 or 0 not in dims:
                dims = (0, 0)
            if cls == "char":
                return "" if dims == (0, 0) else np.empty(dims, "<U1")
            if cls == "cell":
                return np.empty(dims, dtype=object)
            if cls == "struct":
                return np.empty(dims, dtype=[])
            return np.empty(dims, dtype=self.dtype(node, cls))
        data = self.data(node)
        if not isinstance(data, np.ndarray) or data.ndim < 2:
            data = np.asarray(data).reshape(1, -1) if np.ndim(data) == 1 else np.asarray(data).reshape(1, 1)
        mat = data.T  # MATLAB's dimensions; a Fortran-ordered view of the row-major data
        if cls == "cell":
            if h5py.check_ref_dtype(mat.dtype) is None:
                raise self.fail(node, "cell data are not object references")
            self.budget.charge(elements=mat.size, what=f"a cell of {mat.size} elements")
            out = np.empty(mat.shape, dtype=object)
            for idx in np.ndindex(mat.shape):
                out[idx] = self.read(self.follow(mat[idx], node))
            return out
        if cls == "char":
            self.budget.charge(mat.size * CHAR_COST, what="char array")
            return codes_to_char(mat.reshape(-1, order="F"), mat.shape)
        if cls == "logical":
            self.budget.charge(mat.size, what="logical array")
            return mat != 0
        if mat.dtype.names:
            if set(mat.dtype.names) != {"real", "imag"}:
                raise self.fail(node, f"compound data with fields {mat.dtype.names}")
            out_dtype = np.result_type(mat["real"].dtype, np.complex64)
            self.budget.charge(mat.size * out_dtype.itemsize, what="complex array")
            out = np.empty(mat.shape, dtype=out_dtype)
            out.real, out.imag = mat["real"], mat["imag"]
            return out
        dtype = self.dtype(node, cls)
        if mat.dtype != dtype:
            self.budget.charge(mat.size * dtype.itemsize, what=f"{cls} array")
        return mat.astype(dtype, copy=False)

    def subsystem(self) -> list[Any] | None:
        """The FileWrapper__ cells of ``#subsystem#/MCOS`` (None when the file has none)."""
        if "#subsystem#" not in self.f or "MCOS" not in self.f["#subsystem#"]:
            return None
        node = self.member(self.member(self.f, "#subsystem#"), "MCOS")
        if not isinstance(node, h5py.Dataset) or node.dtype != h5py.ref_dtype:
            return None
        return [self.read(self.follow(ref, node)) for ref in self.data(node).reshape(-1)]

    def dtype(self, node, cls: str) -> np.dtype:
        if cls == "logical":
            return np.dtype(bool)
        if cls not in _CLASS_DTYPE:
            raise self.fail(node, f"unsupported MATLAB class {cls!r}")
        return _CLASS_DTYPE[cls]

    def fields(self, group: h5py.Group) -> list[str]:
        if "MATLAB_fields" not in group.attrs:
            return [k for k in group.keys()]
        count = int(np.prod(group.attrs.get_id("MATLAB_fields").shape))
        if count > len(group):     # each field is a member: refused before the names are read
            raise self.fail(group, f"{count} field names for {len(group)} members")
        self.budget.charge(elements=count, what=f"{count} struct field names")
        raw = group.attrs["MATLAB_fields"]
        return [b"".join(np.asarray(x).tolist()).decode("ascii") for x in raw]

    def struct(self, group: h5py.Group) -> Any:
        stored = self.fields(group)
        missing = [f for f in stored if f not in group]
        if missing:
            raise self.fail(group, f"struct fields {missing} missing")
        # a repeated name: every copy reads the one member, which is visited once
        members = {f: self.member(group, f) for f in dict.fromkeys(stored)}
        fields = unique_names(stored)
        is_array = members and all(isinstance(m, h5py.Dataset) and self.cls(m) is None
                                   and m.dtype == h5py.ref_dtype for m in members.values())
        if not is_array:
            read = {name: self.read(m) for name, m in members.items()}
            return {f: read[name] for f, name in zip(fields, stored)}
        shape = next(iter(members.values())).shape[::-1]
        count = int(np.prod(shape, dtype=object))
        self.budget.charge(elements=count * len(members),
                           what=f"a struct of {count} x {len(members)} field values")
        columns = {}
        for name, m in members.items():
            refs = self.data(m).T
            if refs.shape != shape:
                raise self.fail(m, "struct array fields of different sizes")
            column = columns[name] = np.empty(shape, dtype=object)
            for idx in np.ndindex(shape):
                column[idx] = self.read(self.follow(refs[idx], m))
        out = np.empty(shape, dtype=[(f, object) for f in fields])
        for f, name in zip(fields, stored):
            out[f] = columns[name]
        return out

    def sparse(self, group: h5py.Group, cls: str | None):
        rows = int(group.attrs["MATLAB_sparse"])
        jc = self.data(self.member(group, "jc")).astype(np.int64)
        cols = len(jc) - 1
        nnz = int(jc[-1]) if len(jc) else 0
        if not 0 <= nnz < 2**48 or not 0 <= rows < 2**48:
            raise self.fail(group, f"sparse size {rows} x {cols} with {nnz} entries")
        self.budget.charge(sparse_bytes(rows, cols, nnz, 16), what="sparse array")
        ir = self.data(self.member(group, "ir")).astype(np.int64) if "ir" in group \
            else np.zeros(0, np.int64)
        raw = self.data(self.member(group, "data")) if "data" in group else np.zeros(0)
        if raw.dtype.names:
            data = complex_of(raw["real"], raw["imag"])
        elif cls == "logical":
            data = raw != 0
        else:
            data = raw.astype(np.float64)
        if len(jc) != cols + 1 or len(ir) < nnz or len(data) < nnz:
            raise self.fail(group, "sparse parts inconsistent with each other")
        return scipy.sparse.csc_matrix((data[:nnz], ir[:nnz], jc), shape=(rows, cols))


#: An HDF5 global heap collection's signature, version 1 and reserved bytes (no shift of it matches itself).
GCOL = b"GCOL\x01\x00\x00\x00"
#: Bytes of the file scanned for collection signatures at a time.
SCAN_BYTES = 16 << 20


def _signatures(fh, size: int) -> Iterator[int]:
    """Offsets of every :data:`GCOL` in the file, read :data:`SCAN_BYTES` at a time (pieces overlap by
    one byte less than the signature, so one across a boundary is found, and once)."""
    for start in range(0, size, SCAN_BYTES):
        fh.seek(start)
        piece = fh.read(SCAN_BYTES + len(GCOL) - 1)
        at = piece.find(GCOL)
        while 0 <= at < SCAN_BYTES:
            yield start + at
            at = piece.find(GCOL, at + 1)


def check_global_heaps(path: str | os.PathLike) -> None:
    """Refuse HDF5 global heap collections whose objects do not tile them exactly.

    Struct field names (``MATLAB_fields``) live in global heaps; a corrupt collection size
    sends libhdf5 into an endless loop, so each collection is walked here first. (Collections
    are found by their signature; array data that happened to contain one would be checked too.)
    Memory: one piece of :data:`SCAN_BYTES` and the reader's buffer; the objects' headers are read
    one by one where a collection's walk reaches them.
    """
    with open(path, "rb") as scan, open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        for at in _signatures(scan, size):
            if at + 16 > size:
                raise MatFileError(f"{path}: offset {at}: truncated HDF5 global heap")
            fh.seek(at + 8)
            (length,) = struct.unpack("<Q", fh.read(8))
            end = at + length
            if length < 4096 or end > size:
                raise MatFileError(f"{path}: offset {at}: HDF5 global heap of {length} bytes "
                                   f"does not fit the file")
            pos = at + 16
            while pos + 16 <= end:
                fh.seek(pos)
                index, _, _, obj = struct.unpack("<HHIQ", fh.read(16))
                if index == 0:               # free space: must run exactly to the end
                    if pos + obj != end:
                        raise MatFileError(f"{path}: offset {pos}: HDF5 global heap free space "
                                           f"does not end its collection")
                    break
                pos += 16 + obj + (-obj % 8)
            else:   # no free-space object: the objects fill the collection (< 16 bytes left)
                if pos > end:
                    raise MatFileError(f"{path}: offset {at}: HDF5 global heap objects overrun "
                                       f"their collection")


def load(path: str | os.PathLike, variable_names: Iterable[str] | None = None,
         factor: float = WORK_FACTOR) -> dict[str, Any]:
    """Variables of a v7.3 file (all, or only those named), within a work budget of ``factor``
    per byte of the file."""
    wanted = None if variable_names is None else set(variable_names)
    size = check_input(path)
    check_global_heaps(path)
    try:
        with h5py.File(path, "r") as f:
            reader = _Reader(f, str(path), size, Budget(path, size, factor))
            out = {}
            for name in f.keys():
                if not name.startswith("#") and (wanted is None or name in wanted):
                    reader.budget.start(name)
                    out[name] = reader.read(reader.member(f, name))
            reader.budget.start("#subsystem#")
            return modern.decode(out, reader.subsystem(), f"{path}: #subsystem#")
    except MatFileError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError, TypeError...
        raise MatFileError(f"{path}: malformed v7.3 (HDF5) file: {type(exc).__name__}: {exc}") from None
