"""An array's column-major bytes, made a range at a time.

MATLAB stores every array column-major; a row-major (C-order) array of 70,000 x 784 must be
transposed on its way to the file. Done at once, that is a full copy made on one core before
compression can start. :class:`ColumnMajorBytes` instead makes any byte range on demand, so
each compressing thread transposes only its own share (numpy copies release the GIL) and an
uncompressed write needs one block of memory at a time.
"""
from __future__ import annotations

import math
from typing import Iterator

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
