"""MATLAB's modern types written from Python values: one encoder per Python type in
:data:`ENCODERS` (string arrays, datetime64, timedelta64, categoricals, tables and
timetables, ``containers.Map``, ``missing``, classdef objects), and :class:`ObjectWriter`,
which turns them into MCOS objects of a new ``FileWrapper__``
(:class:`~matlab_compat.mcos.WrapperBuilder`) for the v6/v7 and v7.3 writers.

A value decoded from a file and unchanged is written as its own bytes while the file's
subsystem is written with it (:mod:`matlab_compat.kept`); otherwise every object is written
anew: new objects are never merged into a subsystem read from a file.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from matlab_compat import kept
from matlab_compat.errors import MatFileError
from matlab_compat.mcos import WrapperBuilder
from matlab_compat.modern import MISSING_STRING, each_element, pandas
from matlab_compat.objects import (
    CALENDAR_DTYPE,
    STRING_DTYPE,
    MatlabCategorical,
    MatlabEnum,
    MatlabMap,
    MatlabMissing,
    MatlabObject,
    MatlabTable,
    ObjectArray,
)
from matlab_compat.values import MatlabOpaque, MatStruct

#: (test, encoder) pairs, first match wins: encoder(value) -> (class name, properties, saved
#: by saveobj). Property values may hold further encodable values (a table's columns).
ENCODERS: list[tuple[Callable[[Any], bool], Callable[[Any], tuple[str, dict, bool]]]] = []


def encodes(test: Callable[[Any], bool]):
    """Register the decorated function as the encoder of values passing ``test``."""
    def register(fn):
        ENCODERS.append((test, fn))
        return fn
    return register


def _meta(value: np.ndarray) -> dict:
    return dict((value.dtype.metadata or {}).get("matlab", {}))


def _cellstr(names: list[str], row: bool = False) -> np.ndarray:
    out = np.empty((1, len(names)) if row else (len(names), 1), dtype=object)
    out.reshape(-1)[:] = list(names)
    return out


@encodes(lambda v: isinstance(v, np.ndarray) and v.dtype.kind == "T")
def encode_string(value: np.ndarray) -> tuple[str, dict, bool]:
    """The inverse of :func:`string_array` (None: <missing>)."""
    dims = value.shape if value.ndim >= 2 else (1, value.size)
    flat = value.reshape(-1, order="F")
    texts = [None if (v is None or (isinstance(v, float) and v != v)) else str(v) for v in flat]
    units = [t.encode("utf-16-le", "surrogatepass") for t in texts if t is not None]
    counts = [MISSING_STRING if t is None else len(t.encode("utf-16-le", "surrogatepass")) // 2
              for t in texts]
    raw = b"".join(units)
    raw += bytes(-len(raw) % 8)
    words = np.concatenate([np.array([1, len(dims), *dims, *counts], np.uint64),
                            np.frombuffer(raw, "<u8").astype(np.uint64)])
    return "string", {"any": words.reshape(1, -1)}, True


@encodes(lambda v: isinstance(v, np.ndarray) and v.dtype.kind == "M")
def encode_datetime(value: np.ndarray) -> tuple[str, dict, bool]:
    """datetime64 as milliseconds since 1970 (NaT: NaN), tz and format from metadata."""
    meta = _meta(value)
    micros = value.astype("M8[us]").view(np.int64)
    nat = np.isnat(value)
    whole = np.floor_divide(micros, 1000)
    data = whole.astype(np.float64)         # exact milliseconds; their fraction imaginary
    fraction = (micros - whole * 1000) / 1000.0
    if fraction.any():
        data = data + 1j * fraction
    data[nat] = np.nan
    data = data.reshape(value.shape if value.ndim >= 2 else (1, value.size))
    return "datetime", {"data": data, "tz": meta.get("tz", ""), "fmt": meta.get("format", "")}, False


@encodes(lambda v: isinstance(v, np.ndarray) and v.dtype.kind == "m")
def encode_duration(value: np.ndarray) -> tuple[str, dict, bool]:
    """timedelta64 as double milliseconds (NaT: NaN)."""
    nanos = value.astype("m8[ns]").view(np.int64)
    millis = nanos / 1e6
    millis[np.isnat(value)] = np.nan
    millis = millis.reshape(value.shape if value.ndim >= 2 else (1, value.size))
    return "duration", {"millis": millis, "fmt": _meta(value).get("format") or "hh:mm:ss"}, False


def _is_categorical(value: Any) -> bool:
    return isinstance(value, MatlabCategorical) or (
        pandas is not None and isinstance(value, pandas.Categorical))


@encodes(_is_categorical)
def encode_categorical(value: Any) -> tuple[str, dict, bool]:
    """Codes from 1 (0: undefined) in the smallest unsigned type, as MATLAB stores them."""
    if isinstance(value, MatlabCategorical):
        codes, names = value.codes, list(value.categories)
        ordered, protected = value.ordered, value.protected
    else:
        codes = np.asarray(value.codes).reshape(-1, 1)
        names, ordered, protected = [str(c) for c in value.categories], bool(value.ordered), False
    dtype = np.uint8 if len(names) < 2**8 - 1 else (np.uint16 if len(names) < 2**16 - 1 else np.uint32)
    return "categorical", {"categoryNames": _cellstr(names), "codes": (np.asarray(codes) + 1).astype(dtype),
                           "isProtected": np.array([[protected]]), "isOrdinal": np.array([[ordered]])}, False


def _is_table(value: Any) -> bool:
    return (isinstance(value, MatlabTable) and value.classname == "table") or (
        pandas is not None and isinstance(value, pandas.DataFrame) and not _is_timetable(value))


@encodes(_is_table)
def encode_table(value: Any) -> tuple[str, dict, bool]:
    """A table: each variable a column (a DataFrame's columns as n x 1 arrays), with the
    properties MATLAB R2018 writes."""
    if isinstance(value, MatlabTable):
        names, cols = list(value), list(value.values())
        row_names, description = value.row_names, value.properties.get("description", "")
    else:
        names = [str(c) for c in value.columns]
        cols = [_column(value[c]) for c in value.columns]
        row_names = [] if isinstance(value.index, pandas.RangeIndex) else [str(i) for i in value.index]
        description = value.attrs.get("matlab", {}).get("description", "")
    rows = len(cols[0]) if cols else len(row_names)
    data = np.empty((1, len(cols)), dtype=object)
    for i, col in enumerate(cols):
        data[0, i] = col
    props = {"versionSavedFrom": np.array([[2.2]]), "minCompatibleVersion": np.array([[1.0]]),
             "incompatibilityMsg": "", "VersionSavedFrom": np.array([[2.2]]),
             "Description": description, "DimensionNames": _cellstr(["Row", "Variables"], row=True),
             "UserData": np.empty((0, 0)), "VariableDescriptions": np.empty((0, 0), dtype=object),
             "VariableUnits": np.empty((0, 0), dtype=object),
             "VariableContinuity": np.empty((0, 0), dtype=object)}
    return "table", {"data": data, "ndims": np.array([[2.0]]), "nrows": np.array([[float(rows)]]),
                     "rownames": _cellstr(row_names) if row_names else np.empty((0, 0), dtype=object),
                     "nvars": np.array([[float(len(cols))]]),
                     "varnames": _cellstr(names, row=True), "props": props}, False


def _column(series: Any) -> Any:
    """A DataFrame column as a MATLAB n x 1 variable (text as a string array)."""
    if isinstance(series.dtype, pandas.CategoricalDtype):
        return series.array
    values = series.to_numpy()
    if values.dtype == object and all(isinstance(v, str) for v in values):
        values = values.astype(STRING_DTYPE)
    return values.reshape(-1, 1)


def _is_timetable(value: Any) -> bool:
    return (isinstance(value, MatlabTable) and value.classname == "timetable") or (
        pandas is not None and isinstance(value, pandas.DataFrame)
        and isinstance(value.index, (pandas.DatetimeIndex, pandas.TimedeltaIndex)))


@encodes(_is_timetable)
def encode_timetable(value: Any) -> tuple[str, dict, bool]:
    """A timetable (saved by saveobj: one struct, the fields MATLAB R2023 writes) with its
    row times as a datetime or duration column."""
    if isinstance(value, MatlabTable):
        names, cols, times = list(value), list(value.values()), np.asarray(value.row_times)
        dim_names = value.dimension_names or ["Time", "Variables"]
        description = value.properties.get("description", "")
    else:
        names = [str(c) for c in value.columns]
        cols = [_column(value[c]) for c in value.columns]
        index, tz = value.index, ""
        if getattr(index, "tz", None) is not None:
            tz, index = str(index.tz), index.tz_convert("UTC").tz_localize(None)
        times = index.to_numpy()
        if tz:
            times = times.view(np.dtype(times.dtype, metadata={"matlab": {"tz": tz, "format": ""}}))
        dim_names = [str(index.name or "Time"), "Variables"]
        description = value.attrs.get("matlab", {}).get("description", "")
    data = np.empty((1, len(cols)), dtype=object)
    for i, col in enumerate(cols):
        data[0, i] = col
    none = np.empty((0, 0), dtype=object)
    return "timetable", {"any": {
        "CustomProps": {}, "VariableCustomProps": {}, "versionSavedFrom": np.array([[6.0]]),
        "minCompatibleVersion": np.array([[2.0]]), "incompatibilityMsg": "",
        "arrayProps": {"Description": description, "UserData": np.empty((0, 0)),
                       "TableCustomProperties": {}},
        "data": data, "numDims": np.array([[2.0]]), "useVarNamesOrig": np.array([[False]]),
        "useDimNamesOrig": np.array([[False]]), "dimNames": _cellstr(dim_names, row=True),
        "dimNamesOrig": none, "varNames": _cellstr(names, row=True), "varNamesOrig": none,
        "numRows": np.array([[float(len(times))]]), "numVars": np.array([[float(len(cols))]]),
        "varDescriptions": none, "varUnits": none, "rowTimes": times.reshape(-1, 1),
        "timeEvents": np.empty((0, 0)), "varContinuity": none}}, True


@encodes(lambda v: isinstance(v, MatlabMap) and v.classname == "containers.Map")
def encode_map(value: MatlabMap) -> tuple[str, dict, bool]:
    keys, values = list(value.keys()), list(value.values())
    return "containers.Map", {"serialization": {
        "keys": _cellstr(keys, row=True), "values": _cellstr(values, row=True),
        "uniformity": np.array([[True]]), "keyType": value.key_type or "char",
        "valueType": value.value_type or "any"}}, False


@encodes(lambda v: isinstance(v, np.ndarray) and v.dtype.names == CALENDAR_DTYPE.names)
def encode_calendar_duration(value: np.ndarray) -> tuple[str, dict, bool]:
    """months, days and milliseconds (double arrays of MATLAB's size), and the format."""
    dims = value.shape if value.ndim >= 2 else (1, value.size)
    millis = value["time"].astype("m8[ns]").view(np.int64) / 1e6
    millis[np.isnat(value["time"])] = np.nan
    parts = {"months": value["months"].astype(np.float64).reshape(dims),
             "days": value["days"].astype(np.float64).reshape(dims), "millis": millis.reshape(dims),
             "fmt": _meta(value).get("format") or "ymdt"}
    return "calendarDuration", {"components": parts}, False


def _combined(values: list) -> np.ndarray | None:
    """Keys or values of a dictionary as one n x 1 array (strings or doubles), else None."""
    if values and all(isinstance(v, str) for v in values):
        return np.array(values, dtype=STRING_DTYPE).reshape(-1, 1)
    if all(isinstance(v, (bool, int, float)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64).reshape(-1, 1)
    return None


@encodes(lambda v: isinstance(v, MatlabMap) and v.classname == "dictionary")
def encode_dictionary(value: MatlabMap) -> tuple[str, dict, bool]:
    """Keys and values each one array (MATLAB's 'combined' form): strings or doubles."""
    if not value:
        return "dictionary", {"data": {"Version": np.array([[1]], np.uint64)}}, False
    keys, values = _combined(list(value.keys())), _combined(list(value.values()))
    if keys is None or values is None:
        raise MatFileError("a dictionary is written only with string or double keys and values")
    return "dictionary", {"data": {
        "Version": np.array([[1]], np.uint64), "IsKeyCombined": np.array([[True]]),
        "IsValueCombined": np.array([[True]]), "Key": keys, "Value": values}}, False


@encodes(lambda v: isinstance(v, MatlabMissing))
def encode_missing(value: MatlabMissing) -> tuple[str, dict, bool]:
    return "missing", {}, False


@encodes(lambda v: isinstance(v, MatlabObject))
def encode_object(value: MatlabObject) -> tuple[str, dict, bool]:
    return value.classname, dict(value.props), False


_NOT_MIXED = ("new or changed MATLAB objects cannot be added to the subsystem read from a "
              "file: drop __function_workspace__ to write every object anew")


class ObjectWriter:
    """Turns the values of MATLAB's modern types among the variables to write into MCOS
    objects of one new FileWrapper__ (:class:`~matlab_compat.mcos.WrapperBuilder`)."""

    def __init__(self, fresh: bool, make_opaque: Callable[[str, np.ndarray], MatlabOpaque]):
        self.fresh = fresh              # no subsystem read with the values: encode them all
        self.make_opaque = make_opaque
        self.builder = WrapperBuilder()
        self.ids: dict[int, tuple[int, str]] = {}
        self.alive: list[Any] = []

    @staticmethod
    def encoder(value: Any):
        return next((fn for test, fn in ENCODERS if test(value)), None)

    def walk(self, value: Any) -> Any:
        """A variable's value with its modern values replaced by MCOS objects."""
        source = kept.source_of(value, unchanged=False)
        if source is not None and not self.fresh and kept.source_of(value) is not None:
            return value                # written as its own bytes
        if isinstance(value, MatlabOpaque) and value.system == "MCOS" and self.fresh:
            raise MatFileError(f"an undecoded {value.classname} object is written only with "
                               f"its file's subsystem (__function_workspace__)")
        if isinstance(value, ObjectArray) and (self.fresh or source is None):
            if not self.fresh:
                raise MatFileError(_NOT_MIXED)
            object_ids, classname = self.object_array(value)
            return self.make_opaque(classname, self.builder.reference(object_ids, value.shape, classname))
        self._unwritable(value)
        if source is not None and self.fresh and self.encoder(value) is None:
            raise MatFileError(f"a {source.classname} object read from a file is written only "
                               f"with that file's subsystem (__function_workspace__)")
        if self.encoder(value) is not None:
            if not self.fresh:
                raise MatFileError(_NOT_MIXED)
            object_id, classname = self.object(value)
            return self.make_opaque(classname, self.builder.reference([object_id], (1, 1), classname))
        return self._containers(value, self.walk)

    def object_array(self, value: ObjectArray) -> tuple[list[int], str]:
        flat = value.reshape(-1, order="F")
        if not all(isinstance(v, MatlabObject) for v in flat):
            raise MatFileError(f"an object array of {value.classname} holds other values")
        classes = {v.classname for v in flat} | ({value.classname} if value.classname else set())
        if len(classes) != 1:
            raise MatFileError(f"an object array holds objects of classes {sorted(classes)}")
        return [self.object(v)[0] for v in flat], classes.pop()

    def _unwritable(self, value: Any) -> None:
        if isinstance(value, (MatlabTable, MatlabMap, MatlabEnum)) and self.encoder(value) is None:
            raise MatFileError(f"a {getattr(value, 'classname', 'enumeration')} value cannot "
                               f"be written anew")

    def prop(self, value: Any) -> Any:
        """A property value with its modern values replaced by references."""
        self._unwritable(value)
        if isinstance(value, ObjectArray):
            object_ids, classname = self.object_array(value)
            return self.builder.reference(object_ids, value.shape, classname)
        if self.encoder(value) is not None:
            object_id, classname = self.object(value)
            return self.builder.reference([object_id], (1, 1), classname)
        return self._containers(value, self.prop)

    @staticmethod
    def _containers(value: Any, inner: Callable[[Any], Any]) -> Any:
        if isinstance(value, dict) and not isinstance(value, (MatlabTable, MatlabMap)):
            out = MatStruct(value, layout=value.layout) if isinstance(value, MatStruct) else dict(value)
            for key in out:
                out[key] = inner(out[key])
            return out
        if isinstance(value, np.ndarray) and value.dtype.hasobject:
            out = value.copy()
            each_element(out, inner)
            return out
        return value

    def object(self, value: Any) -> tuple[int, str]:
        if id(value) in self.ids:
            return self.ids[id(value)]
        classname, props, saved = self.encoder(value)(value)
        object_id = self.builder.reserve(classname)
        self.ids[id(value)] = (object_id, classname)
        self.alive.append(value)        # ids stay unique while encoding
        self.builder.fill(object_id, {k: self.prop(v) for k, v in props.items()}, saved)
        return object_id, classname

    def cells(self, order: str) -> np.ndarray | None:
        """The FileWrapper__ cell, or None when no object was written."""
        return self.builder.cells(order) if len(self.builder.objects) > 1 else None
