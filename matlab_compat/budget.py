"""The reader's work budget: what a file's size can justify producing.

A MAT-file cannot justify unbounded work: zlib expands at most about 1032:1, MATLAB's compact
storage turns each stored byte into 8 bytes of double, and every cell or struct element becomes a
Python object. Every reader (v4, v5/v7, v7.3) charges one :class:`Budget` per file, BEFORE it
allocates, with the bytes it is about to produce (decompressed elements, converted arrays,
characters, sparse index arrays) and the elements it is about to visit; the total may not exceed
``WORK_FACTOR`` units per byte of the file plus ``WORK_FLOOR``. Charges are made once per array or
container, never per byte or per element, so honest files pay O(1) per element.
"""
from __future__ import annotations

import math
import os
from typing import Callable

from matlab_compat.errors import MatFileError

#: Units of work (bytes produced; see ELEMENT_COST) each byte of the file justifies.
WORK_FACTOR = 256
#: Units any file may use, however small (a 300-byte MATLAB file may hold an 80 KB array).
WORK_FLOOR = 128 << 20
#: Units charged per nested element (cell element, struct field value, HDF5 object visited):
#: about the memory of the Python object it becomes.
ELEMENT_COST = 256
#: Units charged per character: its UTF-32 code (what ``codes_to_char`` builds) and the text.
CHAR_COST = 8


class Budget:
    """Work left for reading one file of ``file_size`` bytes (``factor`` units per byte)."""

    def __init__(self, path: str | os.PathLike, file_size: int, factor: float = WORK_FACTOR):
        if not (factor > 0 and math.isfinite(factor)):
            raise MatFileError(f"the work factor must be a positive number, got {factor!r}")
        self.path, self.file_size, self.factor = path, file_size, factor
        self.limit = int(factor * file_size) + WORK_FLOOR
        self.used = 0
        self.variable = "?"

    def start(self, variable: str) -> None:
        """Name the variable the next charges are for (in the refusal's message)."""
        self.variable = variable

    def charge(self, nbytes: int = 0, elements: int = 0,
               what: str | Callable[[], str] = "data") -> None:
        """Count ``nbytes`` bytes about to be produced and ``elements`` elements about to be
        visited; MatFileError (naming the variable and ``what``, or what the function ``what``
        returns: called only then) when the file cannot justify them."""
        cost = int(nbytes) + int(elements) * ELEMENT_COST
        self.used += cost
        if self.used > self.limit:
            what = what if isinstance(what, str) else what()
            raise MatFileError(
                f"{self.path}: variable {self.variable!r}: {what} would need {cost:,} bytes of "
                f"work, beyond what the file's {self.file_size:,} bytes justify ({self.limit:,} in "
                f"all: {self.factor:g} per byte + {WORK_FLOOR >> 20} MiB); refused before reading it")


def sparse_bytes(rows: int, cols: int, nnz: int, value_bytes: int) -> int:
    """Memory of a ``csc_matrix`` (column pointers, row indices, values) as scipy builds it."""
    index = 4 if max(rows, cols, nnz) < 2**31 else 8
    return (cols + 1 + nnz) * index + nnz * value_bytes
