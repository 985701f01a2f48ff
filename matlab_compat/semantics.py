"""MATLAB semantics the ports rely on, each in one named place.

* :func:`mround` -- MATLAB ``round``: halves go away from zero (numpy's ``round`` rounds
  halves to even, so ``np.round(2.5) == 2`` where MATLAB gives 3).
* :func:`mrange` / :func:`mslice` -- MATLAB's 1-based inclusive range ``a:b`` as 0-based
  indices. ``a:b`` is EMPTY when ``b < a``; a 0-based port that slices ``a-1:b`` would get a
  negative start there and numpy would wrap around instead.
* :func:`reshape_f` / :func:`flatten_f` -- MATLAB's column-major ``reshape`` and ``x(:)``.
"""
from __future__ import annotations

import numpy as np


def mround(x) -> np.ndarray:
    """MATLAB ``round``: nearest integer, halves away from zero (``mround(-2.5) == -3``).

    Exact for every float64: ``x - trunc(x)`` is computed without rounding error, so values a
    hair below a half (``0.49999999999999994``) are not pushed up as ``floor(x + 0.5)`` would.
    """
    x = np.asarray(x, dtype=np.float64)
    whole = np.trunc(x)
    with np.errstate(invalid="ignore"):  # inf - inf: the infinities stay as they are
        frac = x - whole
    return whole + np.where(np.abs(frac) >= 0.5, np.sign(x), 0.0)


def _check_integer(value, what: str) -> int:
    if int(value) != value:
        raise IndexError(f"{what} {value!r} is not an integer")
    return int(value)


def mrange(a, b) -> np.ndarray:
    """0-based int64 indices of MATLAB's ``a:b`` (1-based, inclusive, step 1); empty when ``b < a``.

    Used as an index, a non-empty ``a:b`` must start at 1 or later; MATLAB refuses index 0 or
    a negative one, and so does this (``IndexError``) instead of wrapping around.
    """
    a, b = _check_integer(a, "range start"), _check_integer(b, "range end")
    if b < a:
        return np.empty(0, dtype=np.int64)
    if a < 1:
        raise IndexError(f"MATLAB index {a} in {a}:{b} is not a positive integer")
    return np.arange(a - 1, b, dtype=np.int64)


def mslice(a, b, size: int) -> slice:
    """MATLAB's ``a:b`` as a slice into an axis of ``size`` elements; ``slice(0, 0)`` when empty.

    Raises ``IndexError`` when a non-empty range reaches outside ``1..size``, as MATLAB does.
    """
    a, b = _check_integer(a, "range start"), _check_integer(b, "range end")
    if b < a:
        return slice(0, 0)
    if a < 1 or b > size:
        raise IndexError(f"MATLAB range {a}:{b} reaches outside 1..{size}")
    return slice(a - 1, b)


def reshape_f(x, shape) -> np.ndarray:
    """MATLAB ``reshape(x, shape)``: elements taken and placed in column-major order."""
    return np.reshape(np.asarray(x), shape, order="F")


def flatten_f(x) -> np.ndarray:
    """MATLAB ``x(:)`` as a 1-D array: the elements in column-major order."""
    return np.ravel(np.asarray(x), order="F")
