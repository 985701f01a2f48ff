"""Key-recovery attacks on any encryption whose key is one fixed map over sample positions.

Every encryption of the project, seen from an attacker, is (or is tested as if it were) a
*sample map*: image x (flattened picture, H*W*C samples in (H, W, C) order) becomes
``y[s] = x[source[s]] XOR (255 if negate[s])``. The vortex is such a map (a gather: some
sources are read twice, some lost; no negation); EtC is one (a permutation with per-block
negation); the per-image random permutation is NOT one (a fresh map per image), which is
exactly why the attacks below fail on it.

Attacks (both return a :class:`SampleMap` estimate):

* :func:`known_plaintext_map` — for each encrypted sample, the plain sample (and negation)
  that agrees with it on all k known pairs; ties (k small, flat regions) are broken by the
  ciphertext-only cost, since that attacker also sees the encrypted dataset.
* :func:`ciphertext_only_map` — match per-position statistics of the encrypted dataset
  (per-class means and standard deviations: the trainer sees labels) against those of public
  plain data of the same kind, then refine with the pixel-pixel correlation structure: each
  encrypted position takes the plain position whose correlation profile, read through the
  current estimate, best matches its own (a few rounds of graph matching).

:func:`recover` decrypts with an estimate; plain samples that no encrypted sample points at
(lost by a gather, or missed by a wrong estimate) are filled from their recovered neighbours.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np
import scipy.sparse

from pipeline.encrypt.sample_map import SampleMap
from pipeline.errors import PipelineError


def channels_as_images(pictures: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, H, W, C) pictures -> (N*C, H*W) one-channel images with labels ``label * C + c``.

    For encryptions that move the channels of a pixel together (vortex, random permutation),
    the attacks then estimate one map over the H*W pixels: each channel of a known pair is one
    more pair, each (class, channel) one more class of statistics."""
    n, h, w, c = pictures.shape
    flat = np.ascontiguousarray(pictures.transpose(0, 3, 1, 2)).reshape(n * c, h * w)
    return flat, (labels[:, None] * c + np.arange(c)[None, :]).reshape(-1)


def pixel_to_sample_map(pixels: SampleMap, channels: int) -> SampleMap:
    """A map over H*W pixels as a map over the H*W*C samples (same move for every channel)."""
    source = (pixels.source[:, None] * channels + np.arange(channels)[None, :]).reshape(-1)
    return SampleMap(source, np.repeat(pixels.negate, channels))


def key_share(estimate: SampleMap, truth: SampleMap, public: Blocks | None = None) -> dict[str, float]:
    """Share of encrypted sample positions whose source and negation the estimate got exactly.

    With ``public`` plain data (:data:`Blocks` of (n, S) rows) also the share got *equivalently*: a wrong
    source that holds the same value as the true one in every public image (e.g. two always-black corner
    pixels) decrypts every image of that kind identically, and no attacker can tell them apart."""
    right = (estimate.source == truth.source) & (estimate.negate == truth.negate)
    share = {"exact": float(right.mean())}
    if public is not None:
        same = np.ones(estimate.size, bool)
        for rows, _ in public():
            same &= np.all(rows[:, estimate.source] == rows[:, truth.source], axis=0)
        share["equivalent"] = float((right | (same & (estimate.negate == truth.negate))).mean())
    return share


# ----------------------------------------------------------------------------------------------
# Decryption with an estimated map


def recover(encrypted: np.ndarray, estimate: SampleMap, shape: tuple[int, int, int], fill: np.ndarray, *, rounds: int = 40) -> np.ndarray:
    """Decrypt (N, S) uint8 flattened pictures with an estimated map -> (N, H, W, C) uint8.

    Each plain sample is the mean of the encrypted samples the estimate says come from it; plain
    samples nothing points at start from ``fill`` (S,) (e.g. the public mean image) and are then
    smoothed from their neighbours for ``rounds`` rounds (harmonic in-painting)."""
    n, size = encrypted.shape
    if size != estimate.size or fill.shape != (size,):
        raise PipelineError(f"recover: {size} samples per image, a map of {estimate.size} and a fill of {fill.shape}")
    counts = np.bincount(estimate.source, minlength=size)
    weights = scipy.sparse.csr_matrix(
        (1.0 / counts[estimate.source], (np.arange(size), estimate.source)), shape=(size, size), dtype=np.float32
    )
    unmasked = encrypted ^ (estimate.negate.astype(np.uint8) * np.uint8(255))[None, :]
    plain = np.asarray(unmasked.astype(np.float32) @ weights)
    lost = counts == 0
    if lost.any():
        plain[:, lost] = fill[lost]
        plain = _inpaint(plain.reshape(n, *shape), lost.reshape(shape), rounds).reshape(n, size)
    return np.clip(np.rint(plain), 0, 255).astype(np.uint8).reshape(n, *shape)


def _inpaint(pictures: np.ndarray, lost: np.ndarray, rounds: int) -> np.ndarray:
    """Replace lost samples by the mean of their 4 neighbours (same channel), ``rounds`` times."""
    pictures = pictures.copy()
    for _ in range(rounds):
        padded = np.pad(pictures, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
        neighbours = (padded[:, :-2, 1:-1] + padded[:, 2:, 1:-1] + padded[:, 1:-1, :-2] + padded[:, 1:-1, 2:]) / 4
        pictures[:, lost] = neighbours[:, lost]
    return pictures


# ----------------------------------------------------------------------------------------------
# Ciphertext-only: statistics of the encrypted dataset against public plain data


#: A dataset seen in blocks, read once more on every call: (flattened pictures (n, S) uint8, labels (n,)) in order.
Blocks = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]

#: Rows per float32 product of :func:`correlations`: the same rows in the same products give the same sums.
CORRELATION_ROWS = 8192

#: Most sample positions the map attacks take: their S x S statistics (correlations, float64: 8 S^2 bytes,
#: 2 GiB here) and (V, S, S) costs grow with the square of the image. EtC's block attack bounds its own
#: (:func:`~pipeline.evaluate.etc_attack.refinement_positions`).
MAX_POSITIONS = 16384

#: Most bytes of one piece of rows the per-class moments convert to floats (64 MiB: 55 rows of 224 x 224 x 3 doubles).
MOMENT_BYTES = 64 << 20


def fits(positions: int) -> bool:
    """Whether S x S statistics over ``positions`` sample positions fit (:data:`MAX_POSITIONS`)."""
    return positions <= MAX_POSITIONS


def too_many_positions(positions: int, what: str) -> str | None:
    """Why S x S statistics over ``positions`` sample positions (``what``: how to say them) cannot be held,
    in one line; None where they fit."""
    if fits(positions):
        return None
    gib = 8 * positions**2 / 2**30
    return (f"{positions} sample positions ({what}) need a {positions} x {positions} correlation matrix ({gib:.0f} GiB); "
            f"it takes at most {MAX_POSITIONS} positions")


def in_memory(flat: np.ndarray, labels: np.ndarray) -> Blocks:
    """:data:`Blocks` of arrays held in memory."""
    return lambda: ((flat[i : i + CORRELATION_ROWS], labels[i : i + CORRELATION_ROWS]) for i in range(0, len(flat), CORRELATION_ROWS))


def _running_sum(total: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``total`` plus the rows one after another (numpy's order of ``x.sum(axis=0)``, whatever the blocks)."""
    return np.add.reduce(np.concatenate([total[None], rows]), axis=0)


def _pieces(blocks: Iterable[tuple[np.ndarray, np.ndarray]], rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The blocks cut into pieces of at most ``rows`` rows (with their labels), in order."""
    for flat, labels in blocks:
        for i in range(0, len(flat), rows):
            yield flat[i : i + rows], labels[i : i + rows]


def class_moments(blocks: Blocks, num_classes: int, size: int, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Per-class mean and standard deviation of every sample position: two (S, K) float64 arrays.

    Computed in ``dtype`` as ``x.mean(axis=0)`` and ``x.std(axis=0)`` of each class's rows, in two
    passes over the blocks (the sums, then the squared deviations from the means), each a running
    sum row after row: any blocking gives the whole array's numbers bit for bit, holding one block,
    pieces of it of at most :data:`MOMENT_BYTES` as floats, and 2 K S sums."""
    rows = max(1, MOMENT_BYTES // (np.dtype(dtype).itemsize * size))
    sums, counts = np.zeros((num_classes, size), dtype), np.zeros(num_classes, np.int64)
    for flat, labels in _pieces(blocks(), rows):
        for k in range(num_classes):
            chosen = flat[labels == k]
            if len(chosen):
                sums[k], counts[k] = _running_sum(sums[k], chosen.astype(dtype)), counts[k] + len(chosen)
    seen = counts > 0
    means = np.zeros_like(sums)
    means[seen] = (sums[seen] / counts[seen, None]).astype(dtype)
    squares = np.zeros_like(sums)
    for flat, labels in _pieces(blocks(), rows):
        for k in range(num_classes):
            chosen = flat[labels == k]
            if len(chosen):
                deviation = chosen.astype(dtype) - means[k]
                squares[k] = _running_sum(squares[k], deviation * deviation)
    stds = np.zeros_like(sums)
    stds[seen] = np.sqrt((squares[seen] / counts[seen, None]).astype(dtype))  # the variance rounded to dtype, as numpy's
    return means.T.astype(np.float64), stds.T.astype(np.float64)


def position_features(flat: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class mean and standard deviation of every sample position: two (S, K) float64 arrays."""
    return class_moments(in_memory(flat, labels), num_classes, flat.shape[1])


def _rechunked(blocks: Iterable[tuple[np.ndarray, np.ndarray]], rows: int) -> Iterator[np.ndarray]:
    """The blocks' pictures regrouped into consecutive pieces of ``rows`` rows (the last one shorter)."""
    pending, held = [], 0
    for flat, _ in blocks:
        pending.append(flat)
        held += len(flat)
        while held >= rows:
            joined = np.concatenate(pending)
            yield joined[:rows]
            pending, held = [joined[rows:]], held - rows
    if held:
        yield np.concatenate(pending)


def correlations(blocks: Blocks, size: int, columns: np.ndarray | None = None) -> np.ndarray:
    """Pearson correlation matrix (S, S) float32 of the sample positions (0 for constant ones), from
    float32 products of :data:`CORRELATION_ROWS` rows at a time summed in float64; with ``columns``
    (Q,) only those positions', (Q, Q), the same numbers as the whole matrix's rows and columns there.
    Memory: one block, :data:`CORRELATION_ROWS` x Q floats, and 12 Q^2 bytes (the float64 sums, the result)."""
    picked = blocks() if columns is None else ((flat[:, columns], labels) for flat, labels in blocks())
    width = size if columns is None else len(columns)
    n = 0
    total = np.zeros(width)
    gram = np.zeros((width, width), dtype=np.float64)
    for rows in _rechunked(picked, CORRELATION_ROWS):
        x = rows.astype(np.float32)
        n += len(x)
        total += x.sum(axis=0, dtype=np.float64)
        gram += (x.T @ x).astype(np.float64)
    mean = total / n
    gram /= n
    for i in range(0, width, CORRELATION_ROWS):  # covariance in place, a band of rows at a time: no second Q x Q array
        gram[i : i + CORRELATION_ROWS] -= np.outer(mean[i : i + CORRELATION_ROWS], mean)
    std = np.sqrt(np.clip(np.diag(gram), 0, None))
    scale = np.where(std > 1e-6, std, np.inf)
    corr = np.empty((width, width), dtype=np.float32)
    for i in range(0, width, CORRELATION_ROWS):
        band = gram[i : i + CORRELATION_ROWS]
        band /= scale[i : i + CORRELATION_ROWS, None]
        band /= scale[None, :]
        corr[i : i + CORRELATION_ROWS] = band
    return corr


def _sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a_i - b_j||^2 for rows of a (M, F) and b (N, F): (M, N) float32."""
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0).astype(np.float32)


@dataclass(frozen=True)
class Statistics:
    """What the ciphertext-only attacker knows about one side (encrypted or public plain)."""

    means: np.ndarray  # (S, K)
    stds: np.ndarray  # (S, K)
    corr: np.ndarray  # (S, S)


def statistics(flat: np.ndarray, labels: np.ndarray, num_classes: int) -> Statistics:
    """The :class:`Statistics` of (N, S) flattened pictures held in memory."""
    return statistics_of(in_memory(flat, labels), num_classes, flat.shape[1])


def statistics_of(blocks: Blocks, num_classes: int, size: int) -> Statistics:
    """The :class:`Statistics` of a dataset read in blocks (three passes); memory: one block of
    :data:`CORRELATION_ROWS` rows, the 2 K S sums and the S x S sums."""
    means, stds = class_moments(blocks, num_classes, size)
    return Statistics(means, stds, correlations(blocks, size))


def ciphertext_only_map(observed: Statistics, public: Statistics, *, negation: bool, rounds: int = 4) -> tuple[SampleMap, np.ndarray]:
    """Estimate a fixed sample map from statistics alone; also return the final cost (V, S, S)
    (V = 2 with negation, else 1; cost[v, s, t]: encrypted s from plain t, negated iff v = 1),
    normalised to [0, 1), for tie-breaking by other attacks."""
    variants = (False, True) if negation else (False,)
    features_e = np.hstack([observed.means, observed.stds])
    feature_cost = np.stack(
        [_sq_distances(features_e, np.hstack([255.0 - public.means if neg else public.means, public.stds])) for neg in variants]
    )
    feature_cost /= max(float(np.median(feature_cost)), 1e-9)
    cost = feature_cost
    estimate = _argmin_map(cost)
    for _ in range(rounds):
        cost = feature_cost + profile_cost(observed.corr, public.corr, estimate, negation=negation)
        estimate = _argmin_map(cost)
    return estimate, cost / (cost.max() + 1.0)


def profile_cost(observed: np.ndarray, public: np.ndarray, estimate: SampleMap, *, negation: bool) -> np.ndarray:
    """Correlation-structure cost (V, S, S) float32, median 1, from the (S, S) correlations of the encrypted
    and the public positions: how far the correlations of encrypted position s with all others are from
    those of plain position t with the estimated sources of all others (a negation flips the sign of a
    correlation). Memory: 24 S^2 bytes and the median's copy."""
    signs = np.where(estimate.negate, -1.0, 1.0).astype(np.float32)
    through = public[:, estimate.source] * signs[None, :]  # (t, s'): corr of plain t with the source of s'
    cross = observed @ through.T  # (s, t)
    norm_e = (observed.astype(np.float64) ** 2).sum(1)
    norm_t = (through.astype(np.float64) ** 2).sum(1)
    del through
    variants = (False, True) if negation else (False,)
    profile = np.empty((len(variants), len(cross), len(cross)), dtype=np.float32)
    for v, neg in enumerate(variants):
        summed = norm_e[:, None] + norm_t[None, :]
        summed -= 2.0 * (-cross if neg else cross)
        profile[v] = np.maximum(summed, 0, out=summed)
    return profile / max(float(np.median(profile)), 1e-9)


def _argmin_map(cost: np.ndarray) -> SampleMap:
    """For each encrypted position s, the (negation, source) of least cost[v, s, t]."""
    v, size, _ = cost.shape
    flat = cost.transpose(1, 0, 2).reshape(size, v * size).argmin(axis=1)
    return SampleMap((flat % size).astype(np.int64), flat // size == 1)


# ----------------------------------------------------------------------------------------------
# Known-plaintext: agreement on k pairs


def known_plaintext_map(plain: np.ndarray, encrypted: np.ndarray, *, negation: bool, prior: np.ndarray | None = None) -> SampleMap:
    """Estimate a fixed sample map from k (plain, encrypted) pairs of flattened pictures (k, S).

    Each encrypted position s takes the plain position t (and negation) that disagrees on the
    fewest pairs; among equals, the one of least ``prior`` cost (V, S, S) in [0, 1) (the
    ciphertext-only cost), else the lowest index."""
    if plain.shape != encrypted.shape or plain.ndim != 2:
        raise PipelineError(f"known-plaintext pairs must be two (k, S) arrays of one shape, got {plain.shape}, {encrypted.shape}")
    variants = (False, True) if negation else (False,)
    k, size = plain.shape
    mismatches = np.zeros((len(variants), size, size), dtype=np.float32)
    for i in range(k):
        for v, neg in enumerate(variants):
            reference = 255 - plain[i] if neg else plain[i]
            mismatches[v] += encrypted[i][:, None] != reference[None, :]
    if prior is not None:
        if prior.shape != mismatches.shape:
            raise PipelineError(f"prior cost must be {mismatches.shape}, got {prior.shape}")
        mismatches += prior
    return _argmin_map(mismatches)
