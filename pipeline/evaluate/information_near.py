"""The information measure on images of any size: the distance weight truncated at a radius.

Above 64 x 64 pixels the dense (C, P, P) pair matrices of :mod:`pipeline.evaluate.information`
do not fit. Its pair terms are weighted by m(d), which decays fast, so here every pair of
pixels further apart than a radius R is dropped: this is exactly the documented measure with the
weight m_R(d) = m(d) for d <= R and 0 beyond (the formulas, and theorem 1, hold for any weight).
Pairs are visited as offsets (dr, dc) between OUTPUT pixels, so the identity and the random
baseline's expectation (weights that depend on the offset only) store nothing, and a fixed map
stores one weight per output pair within R: 8 bytes x S samples x (offsets within R) / 2.

R is the smallest radius beyond which a pixel has at most ``TAIL`` = 1e-12 of weight in all
(``tau``, summed over every offset the image has). Bound (docs/information.md section 8):
truncation changes each image's total loss rate, the mean and the pooled rate by at most
2 tau (1 + n), n the most copies the map makes of one source sample (1 for a permutation); the
value rate not at all; the neighbouring rate by at most 2 tau (1 + n) V / N_R per image.

Memory (``python benchmarks/information_large.py --images 120``, default weight, 224 x 224 x 3):
R = sqrt(65), 122 MiB of pair weights for a fixed map; peak RSS of ``python -m pipeline.information``
504 MiB (vor), 431 (etc), 409 (random), plus 0.16 to 0.31 MiB per further image (the images held).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import numpy as np

from workbench.data.datasets import ImageShape
from pipeline.errors import PipelineError

#: Most weight a pixel may have beyond the radius (all its pairs further apart, summed).
TAIL = 1e-12
#: Most bytes the per-pair weights of a fixed map may take (the radius check refuses more).
MAX_PAIR_BYTES = 2**30
#: Bytes of float64 images processed at once.
BATCH_BYTES = 2**25

Weight = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Truncation:
    """The radius (as its square: pairs with dr^2 + dc^2 <= radius_squared are kept), the weight a
    pixel has beyond it (``tail``, tau) and the kept offsets of one half plane (each pair once)."""

    radius_squared: int
    tail: float
    offsets: tuple[tuple[int, int], ...]

    def bound(self, copies: int) -> float:
        """Most the truncation changes a total loss rate (mean, pooled or one image's) by."""
        return 2.0 * self.tail * (1 + copies)

    def pair_bytes(self, layout: ImageShape) -> int:
        """Upper bound on the bytes of a fixed map's stored pair weights."""
        return 8 * layout.row_length * len(self.offsets)


def _offset_grid(layout: ImageShape) -> tuple[np.ndarray, np.ndarray]:
    dr, dc = np.meshgrid(np.arange(-(layout.height - 1), layout.height), np.arange(-(layout.width - 1), layout.width), indexing="ij")
    return dr.ravel(), dc.ravel()


def truncation(layout: ImageShape, weight: Weight, radius_squared: Optional[int] = None) -> Truncation:
    """The truncation of ``weight`` on images of ``layout``: the smallest radius with tail <= TAIL,
    or the one given (tests). tau sums m over every nonzero offset of the image beyond the radius:
    each pixel has at most one partner per offset, so no pixel has more weight beyond it."""
    dr, dc = _offset_grid(layout)
    squared = dr**2 + dc**2
    levels, counts = np.unique(squared[squared > 0], return_counts=True)
    mass = weight(np.sqrt(levels)) * counts
    beyond = np.append(np.cumsum(mass[::-1])[::-1][1:], 0.0)  # weight beyond each level, smallest terms summed first
    if radius_squared is None:
        first = int(np.argmax(beyond <= TAIL))  # the last level's beyond is 0, so one always qualifies
        radius_squared, tail = int(levels[first]), float(beyond[first])
    else:
        tail = float(mass[levels > radius_squared][::-1].sum())
    keep = (squared > 0) & (squared <= radius_squared) & ((dr > 0) | ((dr == 0) & (dc > 0)))
    return Truncation(int(radius_squared), tail, tuple(zip(dr[keep].tolist(), dc[keep].tolist())))


def check_radius(layout: ImageShape, weight: Weight, name: str) -> None:
    """Refuse, before any image is read, a weight whose radius needs more pair storage than allowed."""
    t = truncation(layout, weight)
    if t.pair_bytes(layout) > MAX_PAIR_BYTES:
        raise PipelineError(f"the information measure on {name}: at {layout.height} x {layout.width} pixels the weight reaches "
                            f"{np.sqrt(t.radius_squared):.1f} pixels (beyond it at most {TAIL:g}): {len(t.offsets)} pair offsets, "
                            f"{t.pair_bytes(layout) / 2**30:.1f} GiB of pair weights, more than {MAX_PAIR_BYTES / 2**30:.0f} GiB; "
                            "use a shorter weight (--weight-scale, --weight-shape)")


def windows(layout: ImageShape, dr: int, dc: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """(row, col) slices of the first and the second pixel of every pair (p, p + (dr, dc)) inside the image (dr >= 0)."""
    c0, c1 = max(0, -dc), layout.width - max(0, dc)
    return (slice(0, layout.height - dr), slice(c0, c1)), (slice(dr, layout.height), slice(c0 + dc, c1 + dc))


@dataclass(frozen=True)
class NearKept:
    """What a transformation keeps under the truncated weight: ``value`` (S,) as in the dense
    measure; ``sources`` (S,) the gather (None: the identity); ``weights`` per offset of ``truncation``
    the kept weight of each output pair: one number for all, or a (C, rows, cols) array."""

    value: np.ndarray
    sources: Optional[np.ndarray]
    weights: tuple
    truncation: Truncation


def identity_near(layout: ImageShape, weight: Weight, t: Truncation) -> NearKept:
    """The identity keeps every pair within the radius with its weight m(d)."""
    return NearKept(np.ones(layout.row_length), None, tuple(float(weight(np.hypot(dr, dc))) for dr, dc in t.offsets), t)


def expected_permutation_near(layout: ImageShape, weight: Weight, t: Truncation) -> NearKept:
    """A uniform pixel permutation's expected kept weight under m_R: E[min(m_R(d_ab), m_R(D))], D the distance
    of a uniform pair of distinct pixels (docs/information.md section 4); a function of the offset alone."""
    dr, dc = _offset_grid(layout)
    squared = dr**2 + dc**2
    pairs = (layout.height - np.abs(dr)) * (layout.width - np.abs(dc))  # ordered pixel pairs at each offset
    near = (squared > 0) & (squared <= t.radius_squared)
    share = pairs[near] / (layout.pixels * (layout.pixels - 1))
    m_near = weight(np.sqrt(squared[near]))
    kept = tuple(float(np.sum(np.minimum(weight(np.hypot(r, c)), m_near) * share)) for r, c in t.offsets)
    return NearKept(np.ones(layout.row_length), None, kept, t)


def _at_pairs(per_output: np.ndarray, layout: ImageShape, dr: int, dc: int) -> tuple[np.ndarray, np.ndarray]:
    """A per-output-sample array (sources, fidelity) at the first and the second sample of every output pair
    (p, p + (dr, dc)) of a plane, each (C, rows, cols)."""
    first, second = windows(layout, dr, dc)
    planes = per_output.reshape(layout.channels, layout.height, layout.width)
    return planes[:, first[0], first[1]], planes[:, second[0], second[1]]


def _pair_weights(sources: np.ndarray, f: Optional[np.ndarray], layout: ImageShape, weight: Weight, t: Truncation,
                  dr: int, dc: int) -> np.ndarray:
    """Kept weight of every output pair at offset (dr, dc): min(m_R(d(a, b)), m(d(p, q))) * max(f_p f_q, 0) for the
    sources (a, b) of the pair, 0 where they are one sample or lie in different planes."""
    a, b = _at_pairs(sources, layout, dr, dc)
    (plane_a, pos_a), (plane_b, pos_b) = np.divmod(a, layout.pixels), np.divmod(b, layout.pixels)
    (ra, ca), (rb, cb) = np.divmod(pos_a, layout.width), np.divmod(pos_b, layout.width)
    squared = (ra - rb) ** 2 + (ca - cb) ** 2
    w = np.minimum(weight(np.sqrt(squared)), float(weight(np.hypot(dr, dc))))
    w[(squared > t.radius_squared) | (plane_a != plane_b) | (a == b)] = 0.0
    if f is not None:
        w *= np.maximum(np.multiply(*_at_pairs(f, layout, dr, dc)), 0.0)
    return w


def _pair_keys(sources: np.ndarray, layout: ImageShape, dr: int, dc: int) -> np.ndarray:
    a, b = _at_pairs(sources, layout, dr, dc)
    return np.minimum(a, b) * layout.row_length + np.maximum(a, b)


def _keep_largest_copy(weights: list[np.ndarray], sources: np.ndarray, layout: ImageShape, t: Truncation,
                       chunk: int = 1 << 22) -> None:
    """Where several output pairs copy one source pair, zero all but the largest weight (K_ab is a max over copies).
    Works on ranges of the smaller source sample, about ``chunk`` pairs at a time, in place."""
    total = sum(int(np.count_nonzero(w)) for w in weights)
    ranges = max(1, -(-total // chunk))
    edges = np.linspace(0, layout.row_length, ranges + 1).astype(np.int64) * layout.row_length
    for lo, hi in zip(edges[:-1], edges[1:]):
        keys, values, where = [], [], []
        for i, ((dr, dc), w) in enumerate(zip(t.offsets, weights)):
            k = _pair_keys(sources, layout, dr, dc).ravel()
            flat = np.flatnonzero((k >= lo) & (k < hi) & (w.ravel() > 0))
            keys.append(k[flat]), values.append(w.ravel()[flat]), where.append(np.stack([np.full(flat.size, i), flat]))
        keys, values, where = np.concatenate(keys), np.concatenate(values), np.concatenate(where, axis=1)
        order = np.lexsort((-values, keys))  # by pair, largest weight first
        loser = np.zeros(order.size, bool)
        loser[1:] = keys[order][1:] == keys[order][:-1]
        offset, flat = where[:, order[loser]]
        for i in np.unique(offset):
            weights[i].ravel()[flat[offset == i]] = 0.0


def map_near(sources: np.ndarray, layout: ImageShape, weight: Weight, t: Truncation,
             fidelity: Optional[np.ndarray] = None) -> NearKept:
    """What the gather ``out[p] = value_step_p(x[sources[p]])`` keeps under the truncated weight (checked inputs,
    as for the dense ``map_kept``); a source pair copied more than once keeps its largest copy."""
    f = None if fidelity is None else np.asarray(fidelity, dtype=np.float64)
    value = np.zeros(layout.row_length)
    np.maximum.at(value, sources, 1.0 if f is None else f**2)
    weights = [_pair_weights(sources, f, layout, weight, t, dr, dc) for dr, dc in t.offsets]
    if np.bincount(sources, minlength=layout.row_length).max() > 1:
        _keep_largest_copy(weights, sources, layout, t)
    return NearKept(value, sources, tuple(weights), t)


def centred(rows: np.ndarray, layout: ImageShape) -> np.ndarray:
    """(N, C, P) float64 images, each plane minus its mean (checked: N x S rows)."""
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] != layout.row_length:
        raise PipelineError(f"images must be N x {layout.row_length} rows, got shape {rows.shape}")
    x = rows.astype(np.float64).reshape(len(rows), layout.channels, layout.pixels)
    return x - x.mean(axis=2, keepdims=True)


def batches(rows: np.ndarray, layout: ImageShape) -> Iterator[np.ndarray]:
    """Consecutive runs of ``rows`` whose float64 copy takes at most BATCH_BYTES (at least one image)."""
    size = max(1, BATCH_BYTES // (8 * layout.row_length))
    return (rows[start : start + size] for start in range(0, len(rows), size))


def near_information(rows: np.ndarray, layout: ImageShape, kept: NearKept) -> tuple[np.ndarray, np.ndarray]:
    """(V, N) of each image that ``kept`` retains: N = sum over output pairs within R of w (y_p - y_q)^2, y the gathered image."""
    n = len(rows)
    value, neighbour = np.empty(n), np.zeros(n)
    start = 0
    for part in batches(rows, layout):
        x = centred(part, layout)
        flat = x.reshape(len(x), -1)
        value[start : start + len(x)] = flat**2 @ kept.value
        y = (flat if kept.sources is None else flat[:, kept.sources]).reshape(len(x), layout.channels, layout.height, layout.width)
        for (dr, dc), w in zip(kept.truncation.offsets, kept.weights):
            first, second = windows(layout, dr, dc)
            d = y[:, :, first[0], first[1]] - y[:, :, second[0], second[1]]
            d *= d
            neighbour[start : start + len(x)] += w * d.sum(axis=(1, 2, 3)) if np.isscalar(w) else np.einsum("bchw,chw->b", d, w)
        start += len(x)
    return value, neighbour


def near_permutation_information(rows: np.ndarray, layout: ImageShape, weight: Weight, perms: np.ndarray,
                                 t: Truncation) -> tuple[np.ndarray, np.ndarray]:
    """(V, N) kept by a pixel permutation per image (perms (N, P): output pixel p reads perms[n, p]), image by image."""
    perms = np.asarray(perms)
    if perms.shape != (len(rows), layout.pixels) or not np.array_equal(np.sort(perms, axis=1), np.broadcast_to(np.arange(layout.pixels), perms.shape)):
        raise PipelineError(f"per-image permutations must be {len(rows)} x {layout.pixels}, each a permutation of 0..{layout.pixels - 1}")
    planes = np.arange(layout.channels)[:, None] * layout.pixels
    value, neighbour = np.empty(len(rows)), np.empty(len(rows))
    for i, perm in enumerate(np.asarray(perms, dtype=np.int64)):
        kept = map_near((planes + perm[None, :]).ravel(), layout, weight, t)
        (value[i],), (neighbour[i],) = near_information(rows[i : i + 1], layout, kept)
    return value, neighbour
