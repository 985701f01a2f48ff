"""Attacks that use EtC's block structure: estimate the key tables of :class:`EtcKey` directly.

The attacker knows the algorithm, hence the block size and the set of per-block operations:
8 rotations/flips x 2 (negation) x 6 channel permutations (RGB) = 96 candidate operations
per (encrypted block, plain block) pair. Both attacks build a cost for every triple
(encrypted block j, plain block i, operation o), take for each pair (j, i) its cheapest
operation, and then assign blocks one-to-one (K1 is a permutation) with the Hungarian
method (``scipy.optimize.linear_sum_assignment``).

* known-plaintext: cost = squared difference between encrypted block j and operation o applied
  to plain block i, summed over the k pairs (0 exactly for the true key); ties go to the
  ciphertext-only cost.
* ciphertext-only: cost = squared difference between the per-class mean and standard
  deviation of every sample of encrypted block j (over the encrypted dataset, whose labels
  the trainer sees) and those of plain block i under operation o (over public plain data).
  This uses that one key encrypts the whole dataset. Then a few rounds add the pixel-pixel
  correlation structure read through the current estimate (``sample_map_attack.profile_cost``):
  samples on either side of a block border are correlated, which is edge continuity measured
  over the dataset. Last, a local search (swaps of block sources, other operations of a block)
  keeps every change that makes the block borders of the decrypted images smoother: edge
  continuity within each image, as jigsaw solvers use it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from pipeline.encrypt.etc import etc_sample_map, scramble_blocks, to_blocks
from pipeline.encrypt.etc_key import PERMUTATIONS_3, TRANSFORMS, EtcKey
from pipeline.encrypt.sample_map import SampleMap
from pipeline.errors import PipelineError
from pipeline.evaluate.sample_map_attack import (
    MAX_POSITIONS,
    Blocks,
    Statistics,
    class_moments,
    correlations,
    in_memory,
    profile_cost,
)

EDGE_IMAGES = 1000  # encrypted images whose decrypted block borders judge the edge-continuity search ...
EDGE_SAMPLES = EDGE_IMAGES * MAX_POSITIONS  # ... fewer above MAX_POSITIONS samples an image (224 x 224 x 3: 108)

#: Most sample positions whose correlations the refinement rounds use on images above MAX_POSITIONS
#: (about 32 Q^2 bytes for Q positions: 512 MiB).
REFINE_POSITIONS = 4096


#: The fingerprint of an estimated key: the attacker has tables, not the secret a fingerprint is keyed with.
ESTIMATE = "estimate"


@dataclass(frozen=True)
class BlockOps:
    """All per-block operations: within-block gather ``source[o]`` (L,) and ``negate[o]``."""

    transform: np.ndarray  # (O,) uint8 id into TRANSFORMS
    channel_perm: np.ndarray  # (O, C)
    negate: np.ndarray  # (O,) bool
    source: np.ndarray  # (O, L): operated block (flattened B*B*C) = block[source[o]] ^ 255*negate[o]


def block_ops(block_size: int, channels: int) -> BlockOps:
    """Every operation of one EtC block, computed with the EtC module's own block code."""
    perms = PERMUTATIONS_3 if channels == 3 else np.zeros((1, 1), dtype=np.int64)
    length = block_size * block_size * channels
    index = np.arange(length).reshape(1, 1, block_size, block_size, channels)
    rows = []
    for t, p, neg in itertools.product(range(len(TRANSFORMS)), range(len(perms)), (False, True)):
        key = EtcKey(block_size, (1, 1), channels, np.zeros(1, np.int64), np.array([t], np.uint8), np.array([neg]),
                     perms[p : p + 1].copy(), ESTIMATE)
        rows.append((t, perms[p], neg, scramble_blocks(index.copy(), key).reshape(-1)))
    t, c, n, s = zip(*rows)
    return BlockOps(np.array(t, np.uint8), np.array(c, np.int64), np.array(n, bool), np.array(s, np.int64))


def _operated(blocks: np.ndarray, ops: BlockOps, o: int) -> np.ndarray:
    """Operation o on (..., L) float blocks."""
    out = blocks[..., ops.source[o]]
    return 255.0 - out if ops.negate[o] else out


def _cheapest(costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From costs (O, J, I): one-to-one assignment j -> i on the cheapest operation per pair."""
    best_op = costs.argmin(axis=0)  # (J, I)
    best = costs.min(axis=0)
    rows, cols = linear_sum_assignment(best)
    perm = np.empty(best.shape[0], dtype=np.int64)
    perm[rows] = cols
    return perm, best_op[np.arange(best.shape[0]), perm]


def _key(perm: np.ndarray, op: np.ndarray, ops: BlockOps, block_size: int, grid: tuple[int, int], channels: int) -> EtcKey:
    return EtcKey(block_size, grid, channels, perm, ops.transform[op], ops.negate[op], ops.channel_perm[op], ESTIMATE)


def _normalised(costs: np.ndarray) -> np.ndarray:
    return costs / (costs.max() + 1.0)


def _pair_costs(enc: np.ndarray, plain: np.ndarray, ops: BlockOps) -> np.ndarray:
    """Squared distance of every encrypted block j to every operated plain block i: (O, J, I).

    ``enc`` and ``plain`` are (nb, F, L) float: F features (pairs or statistics) per sample."""
    nb = enc.shape[0]
    e = enc.reshape(nb, -1)
    costs = np.empty((len(ops.negate), nb, nb))
    for o in range(len(ops.negate)):
        p = _operated(plain, ops, o).reshape(nb, -1)
        costs[o] = (e * e).sum(1)[:, None] + (p * p).sum(1)[None, :] - 2.0 * (e @ p.T)
    return np.maximum(costs, 0)


def _as_blocks(pictures: np.ndarray, block_size: int) -> np.ndarray:
    """(N, H, W, C) -> (nb, N, L) float64."""
    b = to_blocks(pictures, block_size)
    n, nb = b.shape[:2]
    return b.reshape(n, nb, -1).transpose(1, 0, 2).astype(np.float64)


def _check(pictures: np.ndarray, block_size: int) -> tuple[tuple[int, int], int]:
    if pictures.ndim != 4 or pictures.shape[1] % block_size or pictures.shape[2] % block_size:
        raise PipelineError(f"block attack: (N, H, W, C) pictures tiled by {block_size}-pixel blocks needed, got {pictures.shape}")
    return (pictures.shape[1] // block_size, pictures.shape[2] // block_size), pictures.shape[3]


def block_statistics(pictures: np.ndarray, labels: np.ndarray, num_classes: int, block_size: int) -> np.ndarray:
    """Per-class mean and std of every block sample: (nb, 2K, L) float64 (the attacker's view)."""
    return block_statistics_of(in_memory(pictures.reshape(len(pictures), -1), labels), num_classes, pictures.shape[1:], block_size)


def block_statistics_of(blocks: Blocks, num_classes: int, shape: tuple[int, int, int], block_size: int) -> np.ndarray:
    """:func:`block_statistics` of (H, W, C) pictures read in flattened blocks: the per-class moments of
    every sample position (in float64), arranged by block; memory: one block and 2 K S sums."""
    size = int(np.prod(shape))
    means, stds = class_moments(blocks, num_classes, size, np.float64)
    positions = to_blocks(np.arange(size).reshape(1, *shape), block_size)[0].reshape(-1)
    nb = size // (block_size * block_size * shape[2])
    feats = np.stack([means[positions], stds[positions]], axis=2).reshape(nb, -1, 2 * num_classes)  # (nb, L, 2K): mean, std per class
    return feats.transpose(0, 2, 1).copy()


def refinement_positions(shape: tuple[int, int, int], block_size: int) -> np.ndarray:
    """The sample positions (sorted, flattened (H, W, C) order) whose correlations the refinement rounds use.

    Every position where the image has at most :data:`MAX_POSITIONS` (the sample-map attack's
    statistics then serve). Else whole orbits of in-block samples under the 96 block operations,
    taken in every block: the corners first (one orbit: 4 pixels x C), then the border samples next
    to them, as many orbits as keep the total within :data:`REFINE_POSITIONS`; a set closed under
    the operations, so an estimated key maps it onto itself. Empty where not even the corners fit
    (the rounds are then skipped)."""
    size = int(np.prod(shape))
    if size <= MAX_POSITIONS:
        return np.arange(size)
    b, channels = block_size, shape[2]
    ops = block_ops(b, channels)
    nb = size // (b * b * channels)
    offsets: list[int] = []
    for k in range(b):  # orbits of border pixel (0, k), channel 0: the corners at k = 0
        orbit = sorted(set(ops.source[:, k * channels].tolist()) - set(offsets))
        if orbit and (len(offsets) + len(orbit)) * nb > REFINE_POSITIONS:
            break
        offsets += orbit
    positions = to_blocks(np.arange(size).reshape(1, *shape), b)[0].reshape(nb, -1)
    return np.sort(positions[:, sorted(offsets)].reshape(-1))


def refinement_correlations_of(blocks: Blocks, shape: tuple[int, int, int], block_size: int) -> np.ndarray:
    """The correlations (Q, Q) float32 between the :func:`refinement_positions` of (H, W, C) pictures read
    in flattened blocks (the whole-matrix numbers there); memory: 12 Q^2 bytes and one block."""
    size, where = int(np.prod(shape)), refinement_positions(shape, block_size)
    return correlations(blocks, size, None if len(where) == size else where)


def _structure_costs(observed: np.ndarray, public: np.ndarray, key: EtcKey, ops: BlockOps, shape: tuple[int, int, int]) -> np.ndarray:
    """Correlation-structure cost (O, J, I) of every (operation, encrypted block, plain block): the
    position-level :func:`profile_cost` over the refinement positions (``observed``, ``public``: their
    (Q, Q) correlations), summed over the in-block samples among them."""
    where = refinement_positions(shape, key.block_size)
    size = int(np.prod(shape))
    index = np.full(size, -1, dtype=np.int64)
    index[where] = np.arange(len(where))
    smap = etc_sample_map(key)  # a key maps the refinement positions onto themselves
    restricted = SampleMap(index[smap.source[where]], smap.negate[where])
    profile = profile_cost(observed, public, restricted, negation=True)
    positions = to_blocks(np.arange(size).reshape(1, *shape), key.block_size)[0].reshape(key.blocks, -1)
    offsets = np.flatnonzero(np.isin(positions[0], where))  # the same in-block samples in every block
    inner = np.full(positions.shape[1], -1, dtype=np.int64)
    inner[offsets] = np.arange(len(offsets))
    local = index[positions[:, offsets]]  # (nb, L'): refinement index of block j's sample l
    return np.stack([profile[int(ops.negate[o])][local[:, None, :], local[None, :, inner[ops.source[o][offsets]]]].sum(-1)
                     for o in range(len(ops.negate))])


def _stat_costs(observed: np.ndarray, public: np.ndarray, ops: BlockOps) -> np.ndarray:
    """Costs from block statistics: means are negated by a negation, standard deviations are not."""
    nb = observed.shape[0]
    costs = np.empty((len(ops.negate), nb, nb))
    e = observed.reshape(nb, -1)
    for o in range(len(ops.negate)):
        p = public[..., ops.source[o]].copy()
        if ops.negate[o]:
            p[:, 0::2] = 255.0 - p[:, 0::2]
        p = p.reshape(nb, -1)
        costs[o] = (e * e).sum(1)[:, None] + (p * p).sum(1)[None, :] - 2.0 * (e @ p.T)
    return np.maximum(costs, 0)


def ciphertext_only_key(
    encrypted: np.ndarray,
    enc_labels: np.ndarray,
    public: np.ndarray,
    pub_labels: np.ndarray,
    *,
    block_size: int,
    num_classes: int,
    rounds: int = 3,
    edges: bool = True,
    block_stats: tuple[np.ndarray, np.ndarray] | None = None,
    map_stats: tuple[Statistics, Statistics] | None = None,
    refine_corr: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[EtcKey, np.ndarray]:
    """Estimate the EtC key from the encrypted dataset and public plain pictures (N, H, W, C):
    block statistics first, then ``rounds`` rounds adding the correlation structure (which
    links neighbouring blocks: the dataset-wide form of edge continuity) over the
    :func:`refinement_positions`, then (``edges``) a local search that makes the block borders of the
    decrypted images smooth (edge continuity in each image, summed over up to EDGE_IMAGES images,
    fewer for large images: :func:`edge_images`). Also returns the statistical cost (O, J, I),
    normalised to [0, 1), for tie-breaking. ``block_stats`` (of :func:`block_statistics_of`) and
    ``refine_corr`` (of :func:`refinement_correlations_of`), encrypted then public, are the same
    statistics computed elsewhere, e.g. in blocks of a stored set; ``map_stats`` (of
    :func:`~pipeline.evaluate.sample_map_attack.statistics`, images of at most MAX_POSITIONS samples)
    serves as ``refine_corr`` there."""
    grid, channels = _check(encrypted, block_size)
    shape = encrypted.shape[1:]
    ops = block_ops(block_size, channels)
    stat = _stat_costs(*(block_stats or (block_statistics(encrypted, enc_labels, num_classes, block_size),
                                         block_statistics(public, pub_labels, num_classes, block_size))), ops)
    costs = stat / max(float(np.median(stat)), 1e-9)
    perm, op = _cheapest(costs)
    key = _key(perm, op, ops, block_size, grid, channels)
    where = refinement_positions(shape, block_size)
    if rounds and len(where):
        if refine_corr is None and map_stats is not None:
            refine_corr = (map_stats[0].corr, map_stats[1].corr)
        observed, known = refine_corr or tuple(
            refinement_correlations_of(in_memory(pictures.reshape(len(pictures), -1), labels), shape, block_size)
            for pictures, labels in ((encrypted, enc_labels), (public, pub_labels)))
        if observed.shape != (len(where),) * 2 or known.shape != observed.shape:
            raise PipelineError(f"block attack: correlations over the {len(where)} refinement positions needed, "
                                f"got {observed.shape} and {known.shape}")
        for _ in range(rounds):
            structure = _structure_costs(observed, known, key, ops, shape)
            costs = stat / max(float(np.median(stat)), 1e-9) + structure / max(float(np.median(structure)), 1e-9)
            perm, op = _cheapest(costs)
            key = _key(perm, op, ops, block_size, grid, channels)
    if edges:
        key = _refine_by_edges(perm, op, costs, ops, encrypted[:edge_images(shape)], block_size, grid)
    return key, _normalised(costs)


def edge_images(shape: tuple[int, int, int]) -> int:
    """How many encrypted images judge the edge-continuity search: EDGE_IMAGES, fewer where they would
    hold more than EDGE_SAMPLES samples (224 x 224 x 3: 108)."""
    return min(EDGE_IMAGES, max(1, EDGE_SAMPLES // int(np.prod(shape))))


def edge_discontinuity(pictures: np.ndarray, block_size: int) -> float:
    """Mean (per image) summed squared difference across the block borders of (N, H, W, C) pictures (exact: int64 sums)."""
    x = pictures.astype(np.int64)
    b = block_size
    across_rows = x[:, b - 1 : -1 : b] - x[:, b::b]
    across_cols = x[:, :, b - 1 : -1 : b] - x[:, :, b::b]
    return float((across_rows**2).sum() + (across_cols**2).sum()) / max(len(x), 1)


class _Borders:
    """The four border lines (top, bottom, left, right) of every block of the edge images decrypted
    with the key being searched, and the squared differences across the block borders (exact
    integers): a change of a few blocks is judged by the borders around them alone, the same
    numbers as :func:`edge_discontinuity` of the whole decrypted images (times their count)."""

    def __init__(self, encrypted: np.ndarray, ops: BlockOps, block_size: int, grid: tuple[int, int], perm: np.ndarray, op: np.ndarray):
        self.blocks = to_blocks(encrypted, block_size).reshape(len(encrypted), len(perm), -1)  # (n, nb, L)
        self.ops, self.b, self.grid = ops, block_size, grid
        self.lines = [None] * len(perm)
        for j, (i, o) in enumerate(zip(perm, op)):  # plain position i holds encrypted block j decrypted by operation o
            self.lines[i] = self.decrypted(j, o)

    def decrypted(self, j: int, o: int) -> np.ndarray:
        """Border lines (4, n, B, C) int64 of encrypted block j undone by operation o."""
        operated = self.blocks[:, j]
        plain = np.empty_like(operated)
        plain[:, self.ops.source[o]] = operated ^ np.uint8(255 if self.ops.negate[o] else 0)
        block = plain.reshape(len(plain), self.b, self.b, -1).astype(np.int64)
        return np.stack([block[:, 0], block[:, -1], block[:, :, 0], block[:, :, -1]])

    def _pairs(self, positions) -> set[tuple[int, int, int, int]]:
        """The borders (upper/left position, its line, lower/right position, its line) touching ``positions``."""
        gh, gw = self.grid
        found = set()
        for i in positions:
            r, c = divmod(i, gw)
            if r > 0:
                found.add((i - gw, 1, i, 0))
            if r < gh - 1:
                found.add((i, 1, i + gw, 0))
            if c > 0:
                found.add((i - 1, 3, i, 2))
            if c < gw - 1:
                found.add((i, 3, i + 1, 2))
        return found

    def change(self, moved: dict[int, np.ndarray]) -> int:
        """How much the summed squared border differences change when plain positions take the given lines."""
        def across(pairs, lines) -> int:
            return sum(int(((lines(a)[la] - lines(z)[lz]) ** 2).sum()) for a, la, z, lz in pairs)

        pairs = self._pairs(moved)
        return across(pairs, lambda i: moved.get(i, self.lines[i])) - across(pairs, lambda i: self.lines[i])

    def total(self) -> int:
        """The summed squared differences across every block border of the images."""
        return sum(int(((self.lines[a][la] - self.lines[z][lz]) ** 2).sum()) for a, la, z, lz in self._pairs(range(len(self.lines))))


def _refine_by_edges(perm: np.ndarray, op: np.ndarray, costs: np.ndarray, ops: BlockOps, encrypted: np.ndarray, block_size: int,
                     grid: tuple[int, int], *, op_choices: int = 8, swap_choices: int = 4, sweeps: int = 3) -> EtcKey:
    """Local search on edge continuity: give block j the source of the block holding one of the
    ``swap_choices`` sources cheapest for j (a swap; each takes its cheapest operation for its
    new source) or try another of the ``op_choices`` cheapest operations of a block; keep a change
    when the decrypted images' block borders get smoother (judged on the borders it touches:
    :class:`_Borders`). This resolves what dataset statistics cannot, e.g. the left-right mirror
    ambiguity of natural images."""
    channels = encrypted.shape[3]
    borders = _Borders(encrypted, ops, block_size, grid, perm, op)
    nb = len(perm)
    pair_cost = costs.min(axis=0)  # (J, I)
    for _ in range(sweeps):
        improved = False
        for j1 in range(nb):
            holder = np.argsort(perm)  # holder[i]: the encrypted block now taking plain block i
            partners = [int(holder[i]) for i in np.argsort(pair_cost[j1])[:swap_choices] if holder[i] != j1]
            for j2 in [j1] + partners:
                if j1 != j2:
                    p = perm.copy()
                    p[j1], p[j2] = perm[j2], perm[j1]
                    o = op.copy()
                    o[j1], o[j2] = costs[:, j1, p[j1]].argmin(), costs[:, j2, p[j2]].argmin()
                    candidates = [(p, o, (j1, j2))]
                else:
                    candidates = []
                    for choice in np.argsort(costs[:, j1, perm[j1]])[:op_choices]:
                        o = op.copy()
                        o[j1] = choice
                        candidates.append((perm, o, (j1,)))
                for p, o, changed in candidates:
                    moved = {int(p[j]): borders.decrypted(j, int(o[j])) for j in changed}
                    if borders.change(moved) < 0:
                        borders.lines = [moved.get(i, line) for i, line in enumerate(borders.lines)]
                        perm, op, improved = p.copy(), o.copy(), True
        if not improved:
            break
    return _key(perm, op, ops, block_size, grid, channels)


def known_plaintext_key(plain: np.ndarray, encrypted: np.ndarray, *, block_size: int, prior: np.ndarray | None = None) -> EtcKey:
    """Estimate the EtC key from k (plain, encrypted) picture pairs (k, H, W, C)."""
    if plain.shape != encrypted.shape:
        raise PipelineError(f"known-plaintext pairs must have one shape, got {plain.shape} and {encrypted.shape}")
    grid, channels = _check(plain, block_size)
    ops = block_ops(block_size, channels)
    costs = _pair_costs(_as_blocks(encrypted, block_size), _as_blocks(plain, block_size), ops)
    if prior is not None:
        costs = costs + prior
    perm, op = _cheapest(costs)
    return _key(perm, op, ops, block_size, grid, channels)


def table_shares(estimate: EtcKey, truth: EtcKey) -> dict[str, float]:
    """Share of blocks whose each key table entry (and all four together) the estimate got right."""
    perm = estimate.block_perm == truth.block_perm
    trans = estimate.transform == truth.transform
    neg = estimate.negate == truth.negate
    chan = np.all(estimate.channel_perm == truth.channel_perm, axis=1)
    return {
        "block_perm": float(perm.mean()),
        "transform": float(trans.mean()),
        "negate": float(neg.mean()),
        "channel_perm": float(chan.mean()),
        "all": float((perm & trans & neg & chan).mean()),
    }
