"""MATLAB's modern types (string, datetime, duration, calendarDuration, categorical, table,
timetable, containers.Map, dictionary, enumerations, classdef objects) as Python values.

The readers give an MCOS object as a :class:`MatlabOpaque` holding its reference into the
subsystem (:mod:`matlab_compat.mcos`); :func:`decode` replaces each by a Python value, built
by the decoder registered for its class name in :data:`DECODERS` (one function per class,
from the object's property values), or a :class:`MatlabObject` of its properties. Each value
decoded from a variable remembers that variable's bytes (:mod:`matlab_compat.kept`), so an
unchanged value is written back byte for byte; :mod:`matlab_compat.modern_write` writes them
anew.

Inside the subsystem, a property holding an object holds its reference: a uint32 column
``[0xDD000000, ndims, dims..., object ids..., class id]``; any such array whose ids and class
exist is decoded as that object (as MATLAB's own loader must tell them apart).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

try:    # optional: tables and categoricals become pandas objects where it is installed
    import pandas
except ImportError:   # pragma: no cover - depends on the environment
    pandas = None

from matlab_compat import kept, mat5_reader
from matlab_compat.errors import MatFileError
from matlab_compat.mcos import MAGIC, FileWrapper
from matlab_compat.objects import (
    CALENDAR_DTYPE,
    STRING_DTYPE,
    MatlabCategorical,
    MatlabEnum,
    MatlabMap,
    MatlabMissing,
    MatlabObject,
    MatlabTable,
    object_array,
)
from matlab_compat.values import SUBSYSTEM, MatlabOpaque

#: class name -> decoder(properties, class name) of one object (properties already decoded).
DECODERS: dict[str, Callable[[dict, str], Any]] = {}
#: a string's character count that marks MATLAB's <missing> string.
MISSING_STRING = 2**64 - 1
#: Rows a regular timetable without variables may declare (its row times are made).
_MAX_EMPTY_ROWS = 1 << 20
#: Properties the decoding of one file may build: this many, plus 64 per metadata byte (an
#: object's class defaults are copied into it: the bound keeps that work linear).
_WORK = 1_000_000


def decodes(*classnames: str):
    """Register the decorated function as the decoder of these classes."""
    def register(fn):
        for name in classnames:
            DECODERS[name] = fn
        return fn
    return register


class Decoder:
    """Decodes the objects of one file: each object once (handles stay shared)."""

    def __init__(self, wrapper: FileWrapper | None, where: str):
        self.fw, self.where = wrapper, where
        self.done: dict[int, Any] = {}
        self.busy: set[int] = set()
        self.work = 0
        self.cells: dict[int, Any] = {}

    def fail(self, problem: str) -> MatFileError:
        return MatFileError(f"{self.where}: {problem}")

    # -- values read from the file: MCOS objects are MatlabOpaque -----------------------
    def walk(self, value: Any) -> Any:
        """``value`` with every MCOS object in it decoded (containers changed in place)."""
        if isinstance(value, MatlabOpaque):
            if value.system == "MCOS" and self.fw is not None:
                try:
                    return kept.remember(self.opaque(value), value)
                except MatFileError:    # its subsystem entry is damaged: kept undecoded
                    return value
            if value.decoded is not None:
                value.decoded = self.walk(value.decoded)
            return value
        if isinstance(value, dict):
            for key in value:
                value[key] = self.walk(value[key])
        elif isinstance(value, np.ndarray) and value.dtype.hasobject:
            each_element(value, self.walk)
        return value

    def opaque(self, obj: MatlabOpaque) -> Any:
        data = obj.decoded
        if isinstance(data, dict) and _is_enumeration(data):
            return self.enumeration(data)
        return self.reference(data)

    # -- values inside the subsystem: references are uint32 arrays ------------------------
    def prop(self, value: Any) -> Any:
        """A property value decoded (a new container: defaults are shared between objects)."""
        key = id(value)
        if key not in self.cells:
            self.cells[key] = (value, self._prop(value))   # keep value alive: ids stay unique
        return self.cells[key][1]

    def _prop(self, value: Any) -> Any:
        if isinstance(value, MatlabOpaque):
            return self.walk(value)
        if _is_reference(value):
            try:
                return self.reference(value)
            except _NotAReference:
                return value
        if isinstance(value, dict) and _is_enumeration(value):
            return self.enumeration(value)
        if isinstance(value, dict):
            out = dict(value)
            for k in out:
                out[k] = self._prop(out[k])
            return out
        if isinstance(value, np.ndarray) and value.dtype.hasobject:
            out = value.copy()
            each_element(out, self._prop)
            return out
        return value

    def reference(self, ref: Any) -> Any:
        try:
            dims, ids, class_id = self.fw.reference(ref)
        except MatFileError as exc:
            raise _NotAReference(str(exc)) from None
        if len(ids) == 1 and dims == (1, 1):
            return self.object(ids[0])
        return object_array([self.object(i) for i in ids], dims, self.fw.classname(class_id))

    def object(self, object_id: int) -> Any:
        if object_id in self.done:
            return self.done[object_id]
        if object_id in self.busy:
            raise self.fail(f"object {object_id} contains itself")
        classname = self.fw.classname(self.fw.object(object_id).class_id)
        raw, _ = self.fw.properties(object_id)
        self.work += len(raw)
        if self.work > _WORK + 64 * self.fw.size:
            raise self.fail(f"objects hold more properties than {self.fw.size} bytes of "
                            f"metadata justify")
        decoder = DECODERS.get(classname)
        if decoder is None:      # registered before its properties: handles may refer back
            obj = self.done[object_id] = MatlabObject(classname)
            obj.props.update({name: self.prop(v) for name, v in raw.items()})
            return obj
        self.busy.add(object_id)
        try:
            value = decoder({name: self.prop(v) for name, v in raw.items()}, classname)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError,
                ZeroDivisionError) as exc:
            raise self.fail(f"{classname} object {object_id}: {type(exc).__name__}: {exc}") from None
        finally:
            self.busy.discard(object_id)
        self.done[object_id] = value
        return value

    def enumeration(self, data: dict) -> MatlabEnum:
        """An enumeration array: ``ClassName`` and ``BuiltinClassName`` are class ids,
        ``ValueNames`` name indices, ``ValueIndices`` (MATLAB's size) 0-based indices into
        them, ``Values`` a reference per name (empty when the members store nothing)."""
        fw = self.fw
        classname = fw.classname(_int(data.get("ClassName"), self))
        builtin_id = _int(data.get("BuiltinClassName"), self)
        names = [fw.name(int(i)) for i in _words(data.get("ValueNames"), self)]
        indices = np.asarray(data.get("ValueIndices"))
        if indices.dtype.kind not in "ui" or (indices.size and int(indices.max()) >= len(names)):
            raise self.fail(f"{classname} enumeration: member indices outside its "
                            f"{len(names)} names")
        members = np.array(names, dtype=object)[indices.astype(np.int64)] if names else \
            np.empty(indices.shape, dtype=object)
        values = {}
        stored = data.get("Values")
        if isinstance(stored, np.ndarray) and stored.dtype == object and stored.size:
            if stored.size != len(names):
                raise self.fail(f"{classname} enumeration: {stored.size} values for "
                                f"{len(names)} names")
            values = {n: self.prop(v) for n, v in zip(names, stored.reshape(-1, order="F"))}
        builtin = fw.classname(builtin_id) if builtin_id else ""
        for n, v in values.items():     # a member of a builtin-based enumeration: its value
            if isinstance(v, MatlabObject) and list(v.props) == [f"{builtin}.Data"]:
                values[n] = _scalar(v.props[f"{builtin}.Data"])
        return MatlabEnum(classname, members.astype(str) if members.size else
                          members.astype("<U1"), builtin, values)


class _NotAReference(MatFileError):
    """A uint32 array that looked like an object reference but is none."""


def _is_reference(value: Any) -> bool:
    return (isinstance(value, np.ndarray) and value.dtype == np.uint32 and value.ndim == 2
            and value.shape[1] == 1 and value.shape[0] >= 5 and value[0, 0] == MAGIC)


def _is_enumeration(value: dict) -> bool:
    """An enumeration's struct: its ``EnumerationInstanceTag`` is 0xDD000000."""
    tag = value.get("EnumerationInstanceTag")
    return (isinstance(tag, np.ndarray) and tag.size == 1 and tag.dtype.kind in "ui"
            and int(tag.reshape(-1)[0]) == MAGIC)


def _words(value: Any, dec: Decoder) -> np.ndarray:
    arr = np.asarray(value) if value is not None else np.empty(0, np.uint32)
    if arr.dtype.kind not in "ui":
        raise dec.fail("enumeration metadata is not integer")
    return arr.reshape(-1, order="F")


def _int(value: Any, dec: Decoder) -> int:
    words = _words(value, dec)
    if words.size != 1:
        raise dec.fail("enumeration metadata holds no single id")
    return int(words[0])


def decode(values: dict[str, Any], cells: list[Any] | None, where: str,
           order: str = "<") -> dict[str, Any]:
    """``values`` of a file with its MCOS objects decoded, given the subsystem's FileWrapper__
    cells (None when the file has none: its objects stay :class:`MatlabOpaque`)."""
    try:
        wrapper = FileWrapper(cells, where, order) if cells is not None else None
    except MatFileError:        # a damaged subsystem: the objects stay undecoded
        wrapper = None
    dec = Decoder(wrapper, where)
    for name in list(values):
        values[name] = dec.walk(values[name])
    return values


def _has_mcos(value: Any) -> bool:
    if isinstance(value, MatlabOpaque):
        return value.system == "MCOS" or _has_mcos(value.decoded)
    if isinstance(value, dict):
        return any(_has_mcos(v) for v in value.values())
    if isinstance(value, np.ndarray) and value.dtype.hasobject:
        columns = [value[f] for f in value.dtype.names] if value.dtype.names else [value]
        return any(_has_mcos(v) for column in columns for v in column.reshape(-1))
    return False


def decode_v5(path: str, values: dict[str, Any]) -> dict[str, Any]:
    """The variables of a v6/v7 file with their MCOS objects decoded. The subsystem is
    read from the file when ``values`` (some variables only) lack it."""
    raw = values.get(SUBSYSTEM)
    if raw is None:
        if not any(_has_mcos(v) for v in values.values()):
            return values
        raw = mat5_reader.load(path, [SUBSYSTEM]).get(SUBSYSTEM)
    if not (isinstance(raw, np.ndarray) and raw.dtype == np.uint8):
        return values
    where = f"{path}: subsystem data"
    try:
        subsystem = mat5_reader.read_subsystem(raw.tobytes(), where)
    except MatFileError:        # a damaged subsystem: the objects stay undecoded
        return values
    wrapper = subsystem[0].get("MCOS") if subsystem and isinstance(subsystem[0], dict) else None
    if not (isinstance(wrapper, MatlabOpaque) and wrapper.classname == "FileWrapper__"
            and isinstance(wrapper.decoded, np.ndarray) and wrapper.decoded.dtype == object):
        return decode(values, None, where)
    return decode(values, list(wrapper.decoded.reshape(-1, order="F")), where, wrapper.order)


# -- helpers of the decoders ------------------------------------------------------------------
def _array(value: Any, dtype=None) -> np.ndarray:
    return np.asarray(value if value is not None else np.empty((0, 0)), dtype=dtype)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind in "UT" and value.size == 1:
        return str(value.reshape(-1)[0])
    return ""


def _names(value: Any) -> list:
    """A cellstr (or string array) as a list of str, column-major."""
    if value is None:
        return []
    arr = np.asarray(value, dtype=object) if not isinstance(value, str) else np.array([value], object)
    return ["" if v is None else (v if isinstance(v, str) else _text(v) or str(v))
            for v in arr.reshape(-1, order="F")]


def _scalar(value: Any) -> Any:
    """A 1x1 numeric or logical array as a Python scalar; anything else unchanged."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biufc":
        return value.reshape(-1)[0].item()
    return value


def _with_meta(arr: np.ndarray, **meta: Any) -> np.ndarray:
    return arr.view(np.dtype(arr.dtype, metadata={"matlab": meta}))


# -- the decoders ---------------------------------------------------------------------------
@decodes("string")
def string_array(props: dict, _: str) -> np.ndarray:
    """``any``: uint64 words: version 1, ndims, dims, a character count per element
    (2^64-1: <missing>), then the UTF-16 code units, four to a word (little-endian)."""
    words = _array(props.get("any")).reshape(-1, order="F")
    if words.dtype != np.uint64 or words.size < 2 or words[0] != 1:
        raise ValueError("string data is not version-1 uint64 words")
    ndims = int(words[1])
    if not 2 <= ndims <= words.size - 2:
        raise ValueError(f"string data declares {ndims} dimensions")
    dims = tuple(int(d) for d in words[2:2 + ndims])
    count = int(np.prod(dims, dtype=object))
    if count > words.size - 2 - ndims:
        raise ValueError(f"string array of size {dims} has too few counts")
    counts = words[2 + ndims:2 + ndims + count]
    units = np.ascontiguousarray(words[2 + ndims + count:].astype("<u8")).view("<u2")
    missing = counts == MISSING_STRING
    if int(counts[~missing].sum(dtype=object)) > units.size:
        raise ValueError("string lengths exceed the characters stored")
    raw = units.tobytes()
    out = np.empty(count, dtype=STRING_DTYPE)
    pos = 0
    for i, (n, gone) in enumerate(zip(counts.tolist(), missing.tolist())):
        if gone:
            out[i] = None
        else:
            out[i] = raw[2 * pos:2 * (pos + n)].decode("utf-16-le", "surrogatepass")
            pos += n
    return out.reshape(dims, order="F")


@decodes("datetime")
def datetime_array(props: dict, _: str) -> np.ndarray:
    """``data``: milliseconds since 1970-01-01 (UTC when ``tz`` is set, else the clock
    time), the imaginary part a sub-millisecond correction; to datetime64[us] (NaN: NaT),
    with ``tz``, ``format`` and ``date_only`` in the dtype's metadata["matlab"]."""
    data = _array(props.get("data"))
    if data.dtype.kind not in "fciu":
        raise ValueError(f"datetime data of dtype {data.dtype}")
    real = np.asarray(data.real, np.float64)
    extra = np.asarray(data.imag, np.float64) if data.dtype.kind == "c" else np.zeros(real.shape)
    whole = np.floor(real)
    ok = np.isfinite(whole) & np.isfinite(extra) & (np.abs(whole) < 9e15)
    micros = np.where(ok, whole, 0).astype(np.int64) * 1000 + np.round(
        np.where(ok, (real - whole + extra) * 1000, 0)).astype(np.int64)
    out = micros.view("M8[us]").copy()
    out[~ok] = np.datetime64("NaT")
    return _with_meta(out, tz=_text(props.get("tz")), format=_text(props.get("fmt")),
                      date_only=bool(_scalar(props.get("isDateOnly", False))))


def _timedelta(millis: np.ndarray) -> np.ndarray:
    millis = np.asarray(millis, np.float64)
    ok = np.isfinite(millis) & (np.abs(millis) < 9e12)
    out = np.round(np.where(ok, millis, 0) * 1e6).astype(np.int64).view("m8[ns]").copy()
    out[~ok] = np.timedelta64("NaT")
    return out


@decodes("duration")
def duration_array(props: dict, _: str) -> np.ndarray:
    """``millis`` (double) to timedelta64[ns] (NaN: NaT), ``format`` in metadata["matlab"]."""
    millis = _array(props.get("millis", np.zeros((1, 1))))
    if millis.dtype.kind not in "fiu":
        raise ValueError(f"duration data of dtype {millis.dtype}")
    return _with_meta(_timedelta(millis), format=_text(props.get("fmt")))


@decodes("calendarDuration")
def calendar_duration(props: dict, _: str) -> np.ndarray:
    """``components``: months, days, millis (each an array, or a scalar 0 shared by all)."""
    parts = props.get("components")
    if not isinstance(parts, dict):
        raise ValueError("calendarDuration without components")
    months, days, millis = (_array(parts.get(k, 0.0), np.float64) for k in ("months", "days", "millis"))
    months, days, millis = np.broadcast_arrays(months, days, millis)
    out = np.empty(months.shape, CALENDAR_DTYPE)
    out["months"] = np.nan_to_num(months).astype(np.int64)
    out["days"] = np.nan_to_num(days).astype(np.int64)
    out["time"] = _timedelta(millis)
    return _with_meta(out, format=_text(parts.get("fmt", props.get("fmt"))))


@decodes("categorical")
def categorical(props: dict, _: str) -> Any:
    """``codes`` (0: undefined) into ``categoryNames``; a ``pandas.Categorical`` for a
    vector where pandas is installed, else :class:`MatlabCategorical`."""
    codes = _array(props.get("codes", np.zeros((0, 0), np.uint8)))
    categories = _names(props.get("categoryNames"))
    if codes.dtype.kind not in "ui" or (codes.size and int(codes.max()) > len(categories)):
        raise ValueError(f"categorical codes outside its {len(categories)} categories")
    ordered = bool(_scalar(props.get("isOrdinal", False)))
    cat = MatlabCategorical(codes.astype(np.int64) - 1, categories, ordered,
                            bool(_scalar(props.get("isProtected", False))))
    if pandas is not None and min(codes.shape, default=0) <= 1 and len(set(categories)) == len(categories):
        return pandas.Categorical.from_codes(cat.codes.reshape(-1, order="F"), categories,
                                             ordered=ordered)
    return cat


def _columns(data: Any, names: list[str]) -> dict:
    cells = [] if data is None else list(np.asarray(data, dtype=object).reshape(-1, order="F"))
    if len(cells) != len(names):
        raise ValueError(f"{len(cells)} variables for {len(names)} names")
    return dict(zip(names, cells))


def _frame(table: MatlabTable, rows: int, index: Any) -> Any:
    """A pandas DataFrame of the table when pandas is installed and every variable is one
    column of ``rows`` values; else the table itself."""
    if pandas is None:
        return table
    columns = {}
    for name, column in table.items():
        if isinstance(column, np.ndarray) and column.ndim == 2 and column.shape == (rows, 1):
            column = column.reshape(-1)
        elif not (isinstance(column, pandas.Categorical) and len(column) == rows):
            return table
        columns[name] = column
    if len(columns) != len(table):
        return table
    frame = pandas.DataFrame(columns, index=index)
    frame.attrs["matlab"] = {"classname": table.classname,
                             "dimension_names": table.dimension_names, **table.properties}
    return frame


@decodes("table")
def table(props: dict, classname: str) -> Any:
    """``data`` (a cell per variable), ``varnames``, ``rownames``, ``nrows``, ``props``."""
    names = _names(props.get("varnames"))
    extra = props.get("props") if isinstance(props.get("props"), dict) else {}
    out = MatlabTable(_columns(props.get("data"), names), classname=classname,
                      row_names=_names(props.get("rownames")),
                      dimension_names=_names(extra.get("DimensionNames")),
                      properties={"description": _text(extra.get("Description")),
                                  "units": _names(extra.get("VariableUnits")),
                                  "descriptions": _names(extra.get("VariableDescriptions")),
                                  "user_data": extra.get("UserData")})
    rows = int(_scalar(props.get("nrows", 0)) or 0)
    return _frame(out, rows, out.row_names or None)


def _row_times(spec: Any, rows: int) -> np.ndarray:
    """Row times stored as an array, or (regular timetables) as origin and step or rate."""
    if not isinstance(spec, dict):
        return np.asarray(spec).reshape(-1, order="F")
    origin = np.asarray(spec.get("origin")).reshape(-1)[:1]
    steps = np.arange(rows)
    if bool(_scalar(spec.get("specifiedAsRate", False))):
        rate = float(_scalar(spec.get("sampleRate")))
        return origin + np.round(steps * 1e9 / rate).astype(np.int64).astype("m8[ns]")
    step = np.asarray(spec.get("stepSize")).reshape(-1)[:1]
    if step.dtype == CALENDAR_DTYPE:
        months = origin.astype("M8[M]") + steps * int(step["months"][0])
        return ((months + (origin - origin.astype("M8[M]"))).astype(origin.dtype)
                + steps * np.timedelta64(int(step["days"][0]), "D") + steps * step["time"][0])
    return origin + steps * step[0]


@decodes("timetable")
def timetable(props: dict, classname: str) -> Any:
    """``any``: a struct of ``data``, ``varNames``, ``numRows``, ``rowTimes``, ``dimNames``,
    ``varUnits``, ``varDescriptions`` and ``arrayProps`` (Description, UserData)."""
    spec = props.get("any")
    if not isinstance(spec, dict):
        raise ValueError("timetable without its saved struct")
    names = _names(spec.get("varNames"))
    rows = int(_scalar(spec.get("numRows", 0)) or 0)
    columns = _columns(spec.get("data"), names)
    heights = {len(np.asarray(c)) if np.ndim(c) else 1 for c in columns.values()}
    if heights - {rows} or not 0 <= rows <= max(heights | {_MAX_EMPTY_ROWS}):
        raise ValueError(f"timetable of {rows} rows holds variables of {sorted(heights)} rows")
    times = _row_times(spec.get("rowTimes"), rows)
    array_props = spec.get("arrayProps") if isinstance(spec.get("arrayProps"), dict) else {}
    out = MatlabTable(columns, classname=classname, row_times=times,
                      dimension_names=_names(spec.get("dimNames")),
                      properties={"description": _text(array_props.get("Description")),
                                  "units": _names(spec.get("varUnits")),
                                  "descriptions": _names(spec.get("varDescriptions")),
                                  "user_data": array_props.get("UserData")})
    return _frame(out, rows, _index(times) if len(times) == rows else None)


def _index(times: np.ndarray) -> Any:
    """Row times as a pandas index, in their time zone when MATLAB names one (stored as UTC)."""
    tz = (times.dtype.metadata or {}).get("matlab", {}).get("tz", "")
    if pandas is None or times.dtype.kind != "M" or tz in ("", "local"):
        return times
    try:
        return pandas.DatetimeIndex(times).tz_localize("UTC").tz_convert(tz)
    except (ValueError, KeyError, LookupError):    # a zone this machine does not know
        return times


def _key(value: Any) -> Any:
    value = _scalar(value)
    return str(value) if isinstance(value, np.ndarray) and value.dtype.kind in "UT" else value


@decodes("containers.Map")
def containers_map(props: dict, classname: str) -> MatlabMap:
    """``serialization``: ``keys`` and ``values`` (cells), ``keyType``, ``valueType``."""
    spec = props.get("serialization")
    if not isinstance(spec, dict):
        return MatlabMap({}, classname=classname, key_type="char", value_type="any")
    keys = [_key(k) for k in np.asarray(spec.get("keys", []), dtype=object).reshape(-1, order="F")]
    values = [_scalar(v) for v in np.asarray(spec.get("values", []), dtype=object).reshape(-1, order="F")]
    if len(keys) != len(values):
        raise ValueError(f"{len(keys)} keys for {len(values)} values")
    return MatlabMap(zip(keys, values), classname=classname,
                     key_type=_text(spec.get("keyType")), value_type=_text(spec.get("valueType")))


def _type_name(values: Any) -> str:
    if isinstance(values, np.ndarray):
        if values.dtype == STRING_DTYPE:
            return "string"
        if values.dtype == object:
            return "cell"
        return {"f8": "double", "f4": "single", "b1": "logical"}.get(
            values.dtype.str[1:], values.dtype.name)
    return type(values).__name__


@decodes("dictionary")
def dictionary(props: dict, classname: str) -> MatlabMap:
    """``data``: ``Key`` and ``Value`` arrays of the same length (a cell when not
    'combined'); an unconfigured dictionary has neither."""
    spec = props.get("data")
    if not isinstance(spec, dict) or "Key" not in spec:
        return MatlabMap({}, classname=classname, key_type="", value_type="")
    keys, values = spec.get("Key"), spec.get("Value")
    flat_keys = np.asarray(keys, dtype=object).reshape(-1, order="F") if isinstance(keys, np.ndarray) else [keys]
    flat_values = np.asarray(values, dtype=object).reshape(-1, order="F") if isinstance(values, np.ndarray) else [values]
    if len(flat_keys) != len(flat_values):
        raise ValueError(f"{len(flat_keys)} keys for {len(flat_values)} values")
    return MatlabMap(zip([_key(k) for k in flat_keys], [_scalar(v) for v in flat_values]),
                     classname=classname, key_type=_type_name(keys), value_type=_type_name(values))


@decodes("missing")
def missing(props: dict, _: str) -> MatlabMissing:
    """MATLAB's ``missing``."""
    return MatlabMissing()


def each_element(array: np.ndarray, function) -> None:
    """Replace, in place, every element of an object array (each field's, for a struct array) by
    ``function`` of it."""
    for column in ([array[f] for f in array.dtype.names] if array.dtype.names else [array]):
        flat = column.reshape(-1)
        for i in range(flat.size):
            flat[i] = function(flat[i])
