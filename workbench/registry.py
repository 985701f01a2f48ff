"""The one registry style of every extension point: schemes, statistical attack methods, learned
attacks, models and dataset sources.

A part is an object with a ``name`` (and whatever its kind declares: a scheme's key options, an
attack method's applicability, a model's input needs). Each kind has one registry module that
builds one :class:`Registry` from its parts, one line per part; code looks parts up by name
(:meth:`Registry.get`) or chooses them by what they declare (:meth:`Registry.where`), never with a
name in an ``if``. A new part is one new module and one line in the registry module; a test (or a
user's script) may also :meth:`~Registry.add` a part at run time.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Generic, TypeVar

from workbench.errors import WorkbenchError

Part = TypeVar("Part")


class Registry(Mapping[str, Part], Generic[Part]):
    """Parts of one kind by name, in registration order; unknown names fail with one clear line."""

    def __init__(self, kind: str, parts: Iterable[Part] = (), error: type[WorkbenchError] = WorkbenchError):
        self.kind, self.error = kind, error
        self._parts: dict[str, Part] = {}
        for part in parts:
            self.add(part)

    def add(self, part: Part) -> Part:
        """Register ``part`` under its ``name``; a name already taken is refused (never replaced)."""
        name = getattr(part, "name", None)
        if not isinstance(name, str) or not name:
            raise self.error(f"a {self.kind} needs a non-empty string name, got {name!r}")
        if name in self._parts:
            raise self.error(f"{self.kind} {name!r} is registered already")
        self._parts[name] = part
        return part

    def remove(self, name: str) -> Part:
        """Unregister ``name`` (and return its part)."""
        return self._parts.pop(self.get(name).name)

    @contextmanager
    def added(self, part: Part) -> Iterator[Part]:
        """``part`` registered for the ``with`` block only (a test's or a script's extension)."""
        self.add(part)
        try:
            yield part
        finally:
            self._parts.pop(part.name, None)

    def get(self, name: str) -> Part:  # type: ignore[override]  (a registry has no default: unknown is an error)
        """The part registered as ``name``, or one line naming the choices."""
        try:
            return self._parts[name]
        except (KeyError, TypeError):
            raise self.error(f"unknown {self.kind} {name!r}; choose one of {', '.join(self._parts)}") from None

    def where(self, declares: Callable[[Part], bool]) -> list[Part]:
        """The parts whose declarations satisfy ``declares``, in registration order."""
        return [part for part in self._parts.values() if declares(part)]

    def __getitem__(self, name: str) -> Part:
        return self._parts[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._parts)})"
