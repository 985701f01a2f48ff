"""MATLAB values in Python: the one normalisation every writer (v4, v5, v7.3) goes through.

:func:`classify` turns any accepted Python value into one of a few shapes (numeric, char,
cell, struct, sparse, opaque, nothing) with MATLAB's dimensions, and refuses what MATLAB
cannot hold the same way in every file version (:func:`check_name`, :func:`char_codes`).

Bytes of MATLAB's files that the value alone does not determine (a struct's field-name
length after fields were removed, sparse flags of older releases) travel with the value as
a *layout* (:class:`MatStruct`, dtype metadata, a sparse matrix attribute) so that a read
value is written back exactly as MATLAB wrote it; new values get the current rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse

from matlab_compat import kept
from matlab_compat.errors import MatFileError
from matlab_compat.format import DTYPE_MX

#: MATLAB's ``namelengthmax``: longest variable and field name.
NAME_LENGTH_MAX = 63
#: MATLAB's reserved words (``iskeyword``): never names of variables or fields.
MATLAB_KEYWORDS = frozenset({
    "break", "case", "catch", "classdef", "continue", "else", "elseif", "end", "for",
    "function", "global", "if", "otherwise", "parfor", "persistent", "return", "spmd",
    "switch", "try", "while"})
#: numpy dtypes (kind and size) of MATLAB's numeric classes, complex included.
NUMERIC_DTYPES = set(DTYPE_MX) | {"c16", "c8"}
#: Name of the subsystem variable (MATLAB writes it last, unnamed); scipy's name for it.
SUBSYSTEM = "__function_workspace__"
_LAYOUT = "matlab_layout"


def check_name(name: Any, what: str = "variable") -> str:
    """``name`` if MATLAB accepts it as a variable or field name, else MatFileError."""
    if not (isinstance(name, str) and name.isascii() and name.isidentifier()
            and not name.startswith("_")) and not (what == "variable" and name == SUBSYSTEM):
        raise MatFileError(f"invalid MATLAB {what} name {name!r} (a letter, then letters, "
                           f"digits or underscores)")
    if len(name) > NAME_LENGTH_MAX:
        raise MatFileError(f"{what} name {name[:20]!r}... is {len(name)} characters; MATLAB "
                           f"allows at most {NAME_LENGTH_MAX}")
    if name in MATLAB_KEYWORDS:
        raise MatFileError(f"{what} name {name!r} is a MATLAB keyword")
    return name


def unique_names(stored: list[str]) -> list[str]:
    """Field names as read: the k-th repeat of a stored name becomes ``_<k>_<name>`` (as
    scipy names it), an empty name ``_<n>_`` (n its position), prefixed with more ``_`` while
    that is taken too, so that no file is refused for its names; the stored names travel as
    the value's layout."""
    fields: list[str] = []
    seen: set[str] = set()
    for n, name in enumerate(stored):
        repeats = stored[:n].count(name)
        new = name if name and not repeats else f"_{repeats if name else n}_{name}"
        while new in seen:
            new = "_" + new
        fields.append(new)
        seen.add(new)
    return fields


class MatStruct(dict):
    """A 1x1 struct read from a file whose bytes its fields alone do not determine: a
    field-name length other than ``longest name + 1`` (older releases, removed fields), or
    field names stored repeated or empty (renamed by :func:`unique_names`, as scipy names them). Otherwise
    ``loadmat`` gives a plain ``dict``."""

    def __init__(self, *args, layout: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.layout = layout or {}


@dataclass(eq=False)
class MatlabOpaque:
    """A value of a class this package does not rebuild: an old-style object (class 3), a
    function handle (16), or an MCOS / Java object (17).

    ``classname``: the object's class (``function_handle`` for handles); ``system``: "MCOS",
    "java" or "" ; ``decoded``: what could be decoded (an old-style object's fields as a dict
    or struct array, a function handle's struct; None for MCOS/Java, whose data live in the
    file's subsystem). ``raw`` holds MATLAB's bytes (file byte order ``order``) around the
    array name, which the writer puts back unchanged: the value is written byte for byte
    (None for objects read from v7.3 files, which cannot be written).
    """

    cls: int
    classname: str
    system: str
    decoded: Any
    raw: tuple[bytes, bytes] | None = field(repr=False)
    order: str = "<"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MatlabOpaque) and (self.cls, self.raw, self.order) == (
            other.cls, other.raw, other.order)


def layout(value: Any) -> dict:
    """The layout a read value carries (empty for new values)."""
    if isinstance(value, MatStruct):
        return dict(value.layout)
    if isinstance(value, np.ndarray) and value.dtype.metadata:
        return dict(value.dtype.metadata.get(_LAYOUT, {}))
    return dict(getattr(value, _LAYOUT, {}))


def with_layout(value: Any, **items: Any) -> Any:
    """``value`` carrying ``items`` as its layout (only when there is something to keep)."""
    items = {k: v for k, v in items.items() if v is not None}
    if not items:
        return value
    if isinstance(value, dict):
        return MatStruct(value, layout=items)
    if isinstance(value, np.ndarray):
        dtype = np.dtype(value.dtype.descr if value.dtype.names else value.dtype,
                         metadata={_LAYOUT: items})
        return value.view(dtype)
    if isinstance(value, str):
        value = MatChar(value)
    setattr(value, _LAYOUT, items)
    return value


class MatChar(str):
    """A 1xN char read from a file whose bytes it alone does not determine: no character
    data for its declared size (read as spaces, as scipy reads it)."""


def matlab_dims(shape: tuple[int, ...]) -> tuple[int, ...]:
    """MATLAB's size of an array shape: at least 2-D (1-D is a row), trailing 1s dropped."""
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (1, shape[0])
    shape = tuple(shape)
    while len(shape) > 2 and shape[-1] == 1:
        shape = shape[:-1]
    return shape


def char_codes(value: str | np.ndarray, name: str) -> np.ndarray:
    """UTF-16 code units of a char value, with MATLAB's dimensions (Fortran order).

    NUL characters are kept (numpy's ``<U1`` shows them as ''). A ``str`` is split into
    UTF-16 code units as MATLAB holds it: a character beyond U+FFFF becomes its surrogate
    pair (two chars); in a ``<U1`` array, one element per char, such a character is refused.
    """
    if isinstance(value, str):
        codes = np.frombuffer(value.encode("utf-16-le", "surrogatepass"), "<u2").astype(np.uint32)
        codes = codes.reshape((1, -1) if value else (0, 0))
    else:
        if value.dtype.itemsize != 4:
            raise MatFileError(f"variable {name!r}: char arrays hold one character per element "
                               f"(dtype <U1), got {value.dtype}")
        codes = np.ascontiguousarray(value).view(np.uint32).reshape(matlab_dims(value.shape))
    if codes.size and codes.max() > 0xFFFF:
        raise MatFileError(f"variable {name!r}: character beyond U+FFFF in a char array (MATLAB "
                           f"chars are UTF-16 code units: give its surrogate pair, or a str)")
    return codes


def codes_to_char(codes: np.ndarray, dims: tuple[int, ...]) -> str | np.ndarray:
    """A char value from code units: ``str`` for 1xN and 0x0, its surrogate pairs joined
    into one character (lone surrogates kept), else a ``<U1`` array of the code units."""
    codes = np.asarray(codes, dtype=np.uint32)
    if dims == (0, 0) or (len(dims) == 2 and dims[0] == 1 and dims[1] > 0):
        return codes.astype("<u2").tobytes().decode("utf-16-le", "surrogatepass") if codes.size else ""
    return codes.view("<U1").reshape(dims, order="F")


def complex_of(real: np.ndarray, imag: np.ndarray) -> np.ndarray:
    """Complex values from their parts, inf kept (``real + 1j*imag`` turns inf into nan)."""
    out = np.empty(np.shape(real), np.result_type(real.dtype, imag.dtype, np.complex64))
    out.real, out.imag = real, imag
    return out


@dataclass
class Struct:
    """A struct normalised for writing: field names, records (column-major), MATLAB size,
    and the layout read with it (``field_name_length``, ``field_names`` as stored)."""

    fields: list[str]
    records: list[dict]
    dims: tuple[int, ...]
    scalar: bool            # a dict (1x1 struct) rather than a struct array
    layout: dict


def _field_names(value: Any, fields: list[str]) -> list[str]:
    """The fields, checked as MATLAB names unless they are the renamed ones of a read value."""
    stored = layout(value).get("field_names")
    if stored is not None and len(stored) == len(fields):
        return fields
    return [check_name(f, "field") for f in fields]


def classify(value: Any, name: str) -> tuple[str, Any]:
    """``(kind, normalised)`` for a value to write; kind is one of "numeric" (ndarray),
    "char" (code units), "cell" (object ndarray), "struct" (:class:`Struct`), "sparse"
    (sorted csc_matrix), "opaque" (:class:`MatlabOpaque`) or "none" (None: MATLAB's
    unassigned cell or field)."""
    if value is None:
        return "none", None
    source = kept.source_of(value, unchanged=False)
    if source is not None:      # decoded from a MATLAB object: its bytes, if still the same
        if kept.source_of(value) is None:
            raise MatFileError(f"variable {name!r}: this {source.classname} value was changed "
                               f"after it was read; changed MATLAB objects cannot be written")
        return "opaque", source
    if isinstance(value, MatlabOpaque):
        return "opaque", value
    if isinstance(value, str):
        return "char", with_layout(char_codes(value, name), **layout(value))
    if isinstance(value, dict):
        fields = _field_names(value, list(value))
        return "struct", Struct(fields, [value], (1, 1), True, layout(value))
    if scipy.sparse.issparse(value):
        mat = scipy.sparse.csc_matrix(value)
        mat.sum_duplicates()
        mat.sort_indices()
        if mat.dtype != bool and mat.dtype.kind not in "fciu":
            raise MatFileError(f"variable {name!r}: sparse dtype {mat.dtype} unsupported")
        return "sparse", with_layout(mat, **layout(value))
    if isinstance(value, (list, tuple)):
        cells = np.empty((1, len(value)), dtype=object)
        for i, item in enumerate(value):
            cells[0, i] = item
        value = cells
    arr = np.asarray(value)
    if arr.dtype.names is not None:
        fields = _field_names(arr, list(arr.dtype.names))
        flat = [arr[f].reshape(-1, order="F") for f in fields]
        # no fields: nothing to write per element (however many elements are declared)
        records = [{f: column[i] for f, column in zip(fields, flat)}
                   for i in range(arr.size)] if fields else []
        return "struct", Struct(fields, records, matlab_dims(arr.shape), False, layout(arr))
    if arr.dtype == object:
        if arr.ndim == 0:   # np.asarray of something that is no array (a set, a huge int)
            raise MatFileError(f"variable {name!r}: {type(value).__name__} value "
                               f"{str(value)[:40]!r} has no MATLAB class")
        return "cell", arr.reshape(matlab_dims(arr.shape), order="F")
    if arr.dtype.kind == "U":
        return "char", with_layout(char_codes(arr, name), **layout(arr))
    if arr.dtype != bool and arr.dtype.str[1:] not in NUMERIC_DTYPES:
        raise MatFileError(f"variable {name!r}: dtype {arr.dtype} has no MATLAB class")
    return "numeric", arr.reshape(matlab_dims(arr.shape), order="A")

