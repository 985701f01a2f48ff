"""Work spread over the cores the process may use, results taken in order.

zlib and numpy's casts release the GIL, so threads give real parallelism for the writer's
compression and the reader's inflation and conversion; :func:`in_order` keeps only a few
results ahead of the consumer, so memory stays bounded by the work in flight.
"""
from __future__ import annotations

import collections
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")

#: Arrays converted or checked on several threads from this many bytes.
CONVERT_PARALLEL_FROM = 8 << 20


def workers() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:      # not Linux
        return os.cpu_count() or 1


def in_order(func: Callable[[T], R], items: Iterable[T], count: int) -> Iterator[R]:
    """``func`` of each item, computed on ``count`` threads and yielded in the items' order,
    with at most ``count + 1`` results done or running ahead of the consumer. Closing the
    iterator early cancels what has not started."""
    with ThreadPoolExecutor(count) as pool:
        ahead: collections.deque = collections.deque()
        items = iter(items)
        try:
            for item in items:
                ahead.append(pool.submit(func, item))
                if len(ahead) > count:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()
        finally:
            for future in ahead:
                future.cancel()


def over_slices(func: Callable[[slice], R], size: int, nbytes: int, count: int | None = None) -> list[R]:
    """``func`` of consecutive slices covering ``range(size)``: one slice when ``nbytes`` (the
    work's size) is small or one core is all there is, else four per core, run on threads."""
    count = count or workers()
    if count == 1 or nbytes < CONVERT_PARALLEL_FROM:
        return [func(slice(0, size))]      # small work: no threads to start
    slices = 4 * count
    bounds = [size * s // slices for s in range(slices + 1)]
    return list(in_order(lambda s: func(slice(bounds[s], bounds[s + 1])), range(slices), count))


def astype(values: np.ndarray, dtype: np.dtype, count: int | None = None) -> np.ndarray:
    """``values.astype(dtype)`` for a 1-D array, converted in slices on all cores when big."""
    dtype = np.dtype(dtype)
    if values.ndim != 1 or values.size * dtype.itemsize < CONVERT_PARALLEL_FROM:
        return values.astype(dtype)
    out = np.empty(values.size, dtype)
    over_slices(lambda part: np.copyto(out[part], values[part], casting="unsafe"), values.size,
                values.size * dtype.itemsize, count)
    return out
