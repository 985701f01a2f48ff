"""Mean ± sd over repeated runs: the one way the report summarises a cell that holds several results.

A cell of a results table (one dataset x model x recipe x scheme for accuracies; one dataset x scheme
x attack for attack scores and information loss) holds one result per run: per training seed, and for
a keyed scheme per benchmark key. The report shows the mean, the sample standard deviation (n - 1 in
the denominator) and n; a single run has no spread, so it is shown as its value with n = 1 and no ±.
The per-run values stay in the results files the cell was read from.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Spread:
    """The values of one cell, one per run (in the order the runs were read)."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def sd(self) -> float | None:
        """Sample standard deviation; None for one run (there is no spread to show)."""
        return statistics.stdev(self.values) if self.n > 1 else None

    def text(self, digits: int = 2, scale: float = 1.0) -> str:
        """``mean ± sd`` (``mean`` alone for one run), both times ``scale``, with ``digits`` decimals."""
        mean = f"{scale * self.mean:.{digits}f}"
        return mean if self.sd is None else f"{mean} ± {scale * self.sd:.{digits}f}"


def spread(values: Iterable[float]) -> Spread:
    """The spread of ``values``; at least one value."""
    values = tuple(float(v) for v in values)
    if not values:
        raise ValueError("a cell needs at least one value")
    return Spread(values)


def grouped(items: Iterable[T], key: Callable[[T], Hashable]) -> dict[Hashable, list[T]]:
    """``items`` by ``key``, groups and members in the order first met."""
    groups: dict[Hashable, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups
