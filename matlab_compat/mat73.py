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
"""
from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import h5py
import numpy as np
import scipy.sparse

from matlab_compat.errors import MatFileError
from matlab_compat.format import (
    MX_DTYPE,
    MX_NAME,
    V73_USERBLOCK,
    ZLIB_MAX_RATIO,
    mxOPAQUE,
)
from matlab_compat.header import Header
from matlab_compat.values import (
    MatlabOpaque,
    check_name,
    classify,
    codes_to_char,
    complex_of,
)

REFS = "#refs#"
_CLASS_DTYPE = {MX_NAME[c]: dt for c, dt in MX_DTYPE.items()}
_DTYPE_CLASS = {dt.str[1:]: name for name, dt in _CLASS_DTYPE.items()}
_FIELDS_DTYPE = h5py.vlen_dtype(np.dtype("S1"))


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
            raise MatFileError(f"variable {name!r}: struct array without fields cannot be stored in v7.3")
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
            for name, value in variables.items():
                writer.write(f, check_name(name), value)
        with open(path, "r+b") as fh:
            fh.write(header.to_bytes())
    except MatFileError:
        raise
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise MatFileError(f"{path}: cannot write v7.3 file: {exc}") from exc


class _Reader:
    def __init__(self, f: h5py.File, path: str):
        self.f, self.path = f, path
        self.file_size = os.path.getsize(path)

    def fail(self, node, problem: str) -> MatFileError:
        return MatFileError(f"{self.path}: HDF5 object {node.name}: {problem}")

    def data(self, node: h5py.Dataset) -> Any:
        """The dataset's values, once its declared size is one the file can hold: at most its
        stored bytes (times zlib's largest ratio when filtered), which fit in the file."""
        stored = node.id.get_storage_size()
        filtered = node.id.get_create_plist().get_nfilters() > 0
        declared = int(np.prod(node.shape, dtype=object) or 0) * node.dtype.itemsize
        if stored > self.file_size or declared > stored * (ZLIB_MAX_RATIO if filtered else 1):
            raise self.fail(node, f"declares {declared} bytes of data, the file holds {stored} "
                                  f"for it ({self.file_size} in all)")
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
            raise self.fail(node, f"group of class {cls!r} is not supported")
        if cls is None:
            raise self.fail(node, "dataset without MATLAB_class")
        if cls not in _CLASS_DTYPE and cls not in ("char", "cell", "logical", "struct"):
            # an MCOS object (datetime, table, string...): its data live in #subsystem#
            return MatlabOpaque(mxOPAQUE, cls, "MCOS", None, None)
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
            out = np.empty(mat.shape, dtype=object)
            for idx in np.ndindex(mat.shape):
                out[idx] = self.read(self.f[mat[idx]])
            return out
        if cls == "char":
            return codes_to_char(mat.reshape(-1, order="F"), mat.shape)
        if cls == "logical":
            return mat != 0
        if mat.dtype.names:
            if set(mat.dtype.names) != {"real", "imag"}:
                raise self.fail(node, f"compound data with fields {mat.dtype.names}")
            out = np.empty(mat.shape, dtype=np.result_type(mat["real"].dtype, np.complex64))
            out.real, out.imag = mat["real"], mat["imag"]
            return out
        return mat.astype(self.dtype(node, cls), copy=False)

    def dtype(self, node, cls: str) -> np.dtype:
        if cls == "logical":
            return np.dtype(bool)
        if cls not in _CLASS_DTYPE:
            raise self.fail(node, f"unsupported MATLAB class {cls!r}")
        return _CLASS_DTYPE[cls]

    def fields(self, group: h5py.Group) -> list[str]:
        raw = group.attrs.get("MATLAB_fields")
        if raw is None:
            return [k for k in group.keys()]
        return [b"".join(np.asarray(x).tolist()).decode("ascii") for x in raw]

    def struct(self, group: h5py.Group) -> Any:
        fields = self.fields(group)
        missing = [f for f in fields if f not in group]
        if missing:
            raise self.fail(group, f"struct fields {missing} missing")
        members = [group[f] for f in fields]
        is_array = members and all(isinstance(m, h5py.Dataset) and self.cls(m) is None
                                   and m.dtype == h5py.ref_dtype for m in members)
        if not is_array:
            return {f: self.read(m) for f, m in zip(fields, members)}
        shape = members[0].shape[::-1]
        out = np.empty(shape, dtype=[(f, object) for f in fields])
        for f, m in zip(fields, members):
            refs = self.data(m).T
            if refs.shape != shape:
                raise self.fail(m, "struct array fields of different sizes")
            for idx in np.ndindex(shape):
                out[f][idx] = self.read(self.f[refs[idx]])
        return out

    def sparse(self, group: h5py.Group, cls: str | None):
        rows = int(group.attrs["MATLAB_sparse"])
        jc = self.data(group["jc"]).astype(np.int64)
        cols = len(jc) - 1
        nnz = int(jc[-1]) if len(jc) else 0
        ir = self.data(group["ir"]).astype(np.int64) if "ir" in group else np.zeros(0, np.int64)
        raw = self.data(group["data"]) if "data" in group else np.zeros(0)
        if raw.dtype.names:
            data = complex_of(raw["real"], raw["imag"])
        elif cls == "logical":
            data = raw != 0
        else:
            data = raw.astype(np.float64)
        if len(jc) != cols + 1 or len(ir) < nnz or len(data) < nnz:
            raise self.fail(group, "sparse parts inconsistent with each other")
        return scipy.sparse.csc_matrix((data[:nnz], ir[:nnz], jc), shape=(rows, cols))


def check_global_heaps(path: str | os.PathLike) -> None:
    """Refuse HDF5 global heap collections whose objects do not tile them exactly.

    Struct field names (``MATLAB_fields``) live in global heaps; a corrupt collection size
    sends libhdf5 into an endless loop, so each collection is walked here first. (Collections
    are found by their signature; array data that happened to contain one would be checked too.)
    """
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        size = len(mm)
        at = mm.find(b"GCOL\x01\x00\x00\x00")   # signature, version 1, reserved bytes
        while at >= 0:
            if at + 16 > size:
                raise MatFileError(f"{path}: offset {at}: truncated HDF5 global heap")
            (length,) = struct.unpack_from("<Q", mm, at + 8)
            end = at + length
            if length < 4096 or end > size:
                raise MatFileError(f"{path}: offset {at}: HDF5 global heap of {length} bytes "
                                   f"does not fit the file")
            pos = at + 16
            while pos + 16 <= end:
                index, _, _, obj = struct.unpack_from("<HHIQ", mm, pos)
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
            at = mm.find(b"GCOL\x01\x00\x00\x00", at + 4)


def load(path: str | os.PathLike, variable_names: Iterable[str] | None = None) -> dict[str, Any]:
    """Variables of a v7.3 file (all, or only those named)."""
    wanted = None if variable_names is None else set(variable_names)
    check_global_heaps(path)
    try:
        with h5py.File(path, "r") as f:
            reader = _Reader(f, str(path))
            return {name: reader.read(f[name]) for name in f.keys()
                    if not name.startswith("#") and (wanted is None or name in wanted)}
    except MatFileError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError, TypeError...
        raise MatFileError(f"{path}: malformed v7.3 (HDF5) file: {type(exc).__name__}: {exc}") from None
