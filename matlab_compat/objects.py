"""Python types of MATLAB's objects that numpy and pandas have no type for.

pandas is optional: where it is installed a categorical is a ``pandas.Categorical`` and a
table a ``pandas.DataFrame``; without it they are :class:`MatlabCategorical` and
:class:`MatlabTable`, which hold the same content with numpy alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np

#: numpy's variable-width strings, with None for MATLAB's ``<missing>`` string.
STRING_DTYPE = np.dtypes.StringDType(na_object=None)
#: dtype of a calendarDuration array.
CALENDAR_DTYPE = np.dtype([("months", "i8"), ("days", "i8"), ("time", "m8[ns]")])


@dataclass(eq=False)
class MatlabObject:
    """An object of a class without a Python type (a user's classdef, ``timeseries``...):
    its class and property values (the class's defaults for properties it does not store).
    Handle objects referred to twice are the same Python object."""

    classname: str
    props: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"MatlabObject({self.classname!r}, props={sorted(self.props)})"


class ObjectArray(np.ndarray):
    """An array of classdef objects (:class:`MatlabObject` elements, MATLAB's size) of class
    ``classname``: an object array, not a cell."""

    classname: str = ""

    def __array_finalize__(self, obj) -> None:
        self.classname = getattr(obj, "classname", "")


def object_array(objects: list, dims: tuple[int, ...], classname: str) -> ObjectArray:
    flat = np.empty(len(objects), dtype=object)
    flat[:] = objects
    out = flat.reshape(dims, order="F").view(ObjectArray)
    out.classname = classname
    return out


@dataclass(eq=False)
class MatlabEnum:
    """An enumeration array: its class, each element's member name (an array of MATLAB's
    size), and, when the file stores them, each member's property values or builtin
    value (``values``: member name -> value)."""

    classname: str
    members: np.ndarray
    builtin: str = ""
    values: dict = field(default_factory=dict)

    def member_values(self) -> np.ndarray:
        """Each element's value (an int32 enumeration's integers...), MATLAB's size."""
        flat = [self.values[m] for m in self.members.reshape(-1, order="F")]
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(self.members.shape, order="F")


@dataclass(eq=False)
class MatlabCategorical:
    """A categorical array without pandas: codes (-1: undefined; MATLAB's size),
    categories, ordinal and protected flags."""

    codes: np.ndarray
    categories: list
    ordered: bool = False
    protected: bool = False

    @property
    def shape(self) -> tuple[int, ...]:
        return self.codes.shape

    def __len__(self) -> int:
        return len(self.codes)

    def labels(self) -> np.ndarray:
        """The category of each element (None where undefined), MATLAB's size."""
        names = np.array(list(self.categories) + [None], dtype=object)
        return names[self.codes]


class MatlabTable(dict):
    """A table or timetable without pandas: ``{variable name: column}`` in order, with
    ``row_names`` (table; a list, empty when none), ``row_times`` (timetable), the
    ``dimension_names`` and the remaining ``properties`` (description, units...)."""

    def __init__(self, columns: dict, *, classname: str = "table", row_names=None,
                 row_times=None, dimension_names=None, properties=None):
        super().__init__(columns)
        self.classname = classname
        self.row_names = list(row_names or [])
        self.row_times = row_times
        self.dimension_names = list(dimension_names or [])
        self.properties = dict(properties or {})


class MatlabMap(dict):
    """A ``containers.Map`` or ``dictionary``: its entries, with the key and value types
    MATLAB records (``char``, ``double``, ``string``...)."""

    def __init__(self, entries, *, classname: str, key_type: str, value_type: str):
        super().__init__(entries)
        self.classname = classname
        self.key_type = key_type
        self.value_type = value_type


class MatlabMissing:
    """MATLAB's ``missing``: false, equal to any other missing, and shown as ``missing``.
    (An object rather than None, so that it can be written back as it was read.)"""

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MatlabMissing)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "missing"
