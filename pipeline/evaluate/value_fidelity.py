"""Per output sample, how faithfully a value step carries values, measured from image pairs in batches.

+1 where every value is unchanged, -1 where every value is negated (v -> 255 - v, EtC's
negative-positive), else Pearson's correlation over the images (0 where either side is constant).
Two passes over the batches (the means, then the centred products), so memory is one batch: the
information measure on large images encrypts and measures a batch at a time. With one batch the
arithmetic is exactly that of a single pass over all images.
"""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from pipeline.errors import PipelineError

Pairs = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]


def _checked(expected: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    expected, actual = np.asarray(expected), np.asarray(actual)
    if expected.shape != actual.shape or expected.ndim != 2:
        raise PipelineError(f"image pairs must be two N x S arrays of one shape, got {expected.shape} and {actual.shape}")
    return expected.astype(np.float64), actual.astype(np.float64)


def batched_fidelity(pairs: Pairs) -> np.ndarray:
    """Fidelity per sample over the (expected, actual) batches ``pairs()`` yields (called twice): ``expected``
    the images the position map alone would produce, ``actual`` the encrypted ones (N x S each)."""
    count, sums, same, negated = 0, [0.0, 0.0], True, True
    for batch in pairs():
        e, a = _checked(*batch)
        count += len(e)
        sums = [sums[0] + e.sum(axis=0), sums[1] + a.sum(axis=0)]
        same, negated = same & np.all(e == a, axis=0), negated & np.all(e == 255.0 - a, axis=0)
    if count == 0:
        raise PipelineError("value fidelity needs at least one image pair")
    means = [s / count for s in sums]
    cross, spread_e, spread_a = 0.0, 0.0, 0.0
    for batch in pairs():
        e, a = _checked(*batch)
        e -= means[0]
        a -= means[1]
        cross, spread_e, spread_a = cross + (e * a).sum(axis=0), spread_e + (e**2).sum(axis=0), spread_a + (a**2).sum(axis=0)
    norm = np.sqrt(spread_e * spread_a)
    r = np.divide(cross, norm, out=np.zeros(np.shape(norm)), where=norm > 0)
    return np.where(same, 1.0, np.where(negated, -1.0, np.clip(r, -1.0, 1.0)))


def value_fidelity(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Fidelity per sample of all image pairs at once (N x S each)."""
    return batched_fidelity(lambda: [(expected, actual)])
