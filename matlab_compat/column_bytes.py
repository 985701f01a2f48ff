"""An element's bytes, made a range at a time: an array's column-major bytes, and the
concatenation of an element's parts.

MATLAB stores every array column-major; a row-major (C-order) array of 70,000 x 784 must be
transposed on its way to the file. Done at once, that is a full copy made on one core before
compression can start. :class:`ColumnMajorBytes` instead makes any byte range on demand, so
each compressing thread transposes only its own share (numpy copies release the GIL) and an
uncompressed write needs one block of memory at a time. :class:`Concatenation` reads any range
of an element's parts (bytes-like or lazy) without joining them: the writer's sizes, its
uncompressed loop and the threaded compression all go through it.
"""
from __future__ import annotations

import bisect
import itertools
import math
from typing import Iterable, Iterator

import numpy as np


class ColumnMajorBytes:
    """The bytes of ``arr`` in column-major order, stored as ``dtype`` (a lazy element part:
    ``nbytes`` and ``pieces(start, stop)``)."""

    def __init__(self, arr: np.ndarray, dtype: np.dtype):
        self.reversed = arr.transpose()   # its row-major order is ``arr``'s column-major order
        self.dtype = np.dtype(dtype)
        self.nbytes = arr.size * self.dtype.itemsize

    def pieces(self, start: int, stop: int) -> Iterator[memoryview]:
        """The bytes ``[start, stop)`` as byte views, in order (fresh copies of the needed elements)."""
        size = self.dtype.itemsize
        first, end = start // size, -(-stop // size)
        skip, views = start - first * size, []
        for block in _row_major_range(self.reversed, first, end):
            views.append(memoryview(np.ascontiguousarray(block, dtype=self.dtype).reshape(-1).view(np.uint8)))
        total = sum(v.nbytes for v in views)
        trim = total - skip - (stop - start)
        for i, view in enumerate(views):
            view = view[skip if i == 0 else 0:view.nbytes - (trim if i == len(views) - 1 else 0)]
            if view.nbytes:
                yield view


def _row_major_range(arr: np.ndarray, first: int, end: int) -> list[np.ndarray]:
    """Elements ``[first, end)`` of ``arr`` in row-major order, as views whose row-major
    flattenings follow one another; only whole sub-arrays are taken, partial rows are split
    further, so nothing outside the range is copied later."""
    if first >= end:
        return []
    if arr.ndim <= 1:
        return [arr.reshape(-1)[first:end]]
    inner = math.prod(arr.shape[1:])
    row, last_row = first // inner, (end - 1) // inner
    if row == last_row:
        return _row_major_range(arr[row], first - row * inner, end - row * inner)
    out = []
    if first > row * inner:                       # a partial first row
        out += _row_major_range(arr[row], first - row * inner, inner)
        row += 1
    full_end = last_row + 1 if end == (last_row + 1) * inner else last_row
    if full_end > row:
        out.append(arr[row:full_end])
    if full_end == last_row:                      # a partial last row
        out += _row_major_range(arr[last_row], 0, end - last_row * inner)
    return out


def nbytes(part) -> int:
    """Bytes of one element part (bytes-like or :class:`ColumnMajorBytes`), nothing made."""
    return part.nbytes if isinstance(part, ColumnMajorBytes) else memoryview(part).nbytes


class Concatenation:
    """The concatenation of an element's parts (bytes-like, or :class:`ColumnMajorBytes`), its
    ``size`` and any byte range as ``pieces(start, stop)``, without copying bytes-like parts."""

    def __init__(self, parts: Iterable):
        self.parts = [p if isinstance(p, ColumnMajorBytes) else memoryview(p).cast("B") for p in parts]
        self.starts = [0, *itertools.accumulate(p.nbytes for p in self.parts)]
        self.size = self.starts[-1]

    def pieces(self, start: int, stop: int) -> Iterator[memoryview]:
        """The bytes ``[start, stop)`` as slices of the parts (lazy parts made now), in order."""
        k = bisect.bisect_right(self.starts, start) - 1
        while start < stop:
            end = min(stop, self.starts[k + 1])
            part, offset = self.parts[k], self.starts[k]
            if end > start and isinstance(part, ColumnMajorBytes):
                yield from part.pieces(start - offset, end - offset)
            elif end > start:
                yield part[start - offset:end - offset]
            start, k = end, k + 1
