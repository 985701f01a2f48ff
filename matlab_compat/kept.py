"""Decoded values remember the MATLAB bytes they were read from, so that an unchanged value is
written back byte for byte.

A value decoded from an MCOS object (a string array, a datetime, a table...) is registered
with its source (the :class:`~matlab_compat.values.MatlabOpaque` read from the file) and a
digest of the value as decoded. The writer asks :func:`source_of`: the source comes back only
while the value still has that digest, so a value changed in place is never written as its
old bytes. The table holds weak references: it never keeps a value alive.
"""
from __future__ import annotations

import hashlib
import pickle
import weakref
from typing import Any

_TABLE: dict[int, tuple[weakref.ref, Any, bytes | None]] = {}


def digest(value: Any) -> bytes | None:
    """A digest of the value's content (None when it cannot be serialised)."""
    try:
        return hashlib.sha256(pickle.dumps(value, protocol=4)).digest()
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError, ValueError):
        return None


def remember(value: Any, source: Any) -> Any:
    """Register ``source`` for ``value`` (values that take no weak reference are skipped)."""
    try:
        ref = weakref.ref(value, lambda _, key=id(value): _TABLE.pop(key, None))
    except TypeError:
        return value
    _TABLE[id(value)] = (ref, source, digest(value))
    return value


def source_of(value: Any, *, unchanged: bool = True) -> Any | None:
    """The source registered for ``value``; with ``unchanged``, only if its content is the
    same as when it was decoded."""
    entry = _TABLE.get(id(value))
    if entry is None or entry[0]() is not value:
        return None
    if unchanged and (entry[2] is None or digest(value) != entry[2]):
        return None
    return entry[1]
