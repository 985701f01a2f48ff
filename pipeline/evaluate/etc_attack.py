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

from pipeline.encrypt.etc import decrypt, etc_sample_map, scramble_blocks, to_blocks
from pipeline.encrypt.etc_key import PERMUTATIONS_3, TRANSFORMS, EtcKey
from pipeline.errors import PipelineError
from pipeline.evaluate.sample_map_attack import Blocks, Statistics, class_moments, in_memory, profile_cost, statistics

EDGE_IMAGES = 1000  # encrypted images whose decrypted block borders judge the edge-continuity search


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
) -> tuple[EtcKey, np.ndarray]:
    """Estimate the EtC key from the encrypted dataset and public plain pictures (N, H, W, C):
    block statistics first, then ``rounds`` rounds adding the correlation structure (which
    links neighbouring blocks: the dataset-wide form of edge continuity), then (``edges``) a local
    search that makes the block borders of the decrypted images smooth (edge continuity in
    each image, summed over up to EDGE_IMAGES images). Also returns the statistical cost
    (O, J, I), normalised to [0, 1), for tie-breaking. ``block_stats`` (of :func:`block_statistics`)
    and ``map_stats`` (of :func:`~pipeline.evaluate.sample_map_attack.statistics`), encrypted then
    public, are the same statistics computed elsewhere, e.g. in blocks of a stored set."""
    grid, channels = _check(encrypted, block_size)
    ops = block_ops(block_size, channels)
    stat = _stat_costs(*(block_stats or (block_statistics(encrypted, enc_labels, num_classes, block_size),
                                         block_statistics(public, pub_labels, num_classes, block_size))), ops)
    costs = stat / max(float(np.median(stat)), 1e-9)
    perm, op = _cheapest(costs)
    key = _key(perm, op, ops, block_size, grid, channels)
    if rounds:
        observed, known = map_stats or (statistics(encrypted.reshape(len(encrypted), -1), enc_labels, num_classes),
                                        statistics(public.reshape(len(public), -1), pub_labels, num_classes))
        size = int(np.prod(encrypted.shape[1:]))
        positions = to_blocks(np.arange(size).reshape(1, *encrypted.shape[1:]), block_size)[0].reshape(key.blocks, -1)
        for _ in range(rounds):
            profile = profile_cost(observed, known, etc_sample_map(key), negation=True)
            structure = np.stack(
                [profile[int(ops.negate[o])][positions[:, None, :], positions[None, :, ops.source[o]]].sum(-1) for o in range(len(ops.negate))]
            )
            costs = stat / max(float(np.median(stat)), 1e-9) + structure / max(float(np.median(structure)), 1e-9)
            perm, op = _cheapest(costs)
            key = _key(perm, op, ops, block_size, grid, channels)
    if edges:
        key = _refine_by_edges(perm, op, costs, ops, encrypted[:EDGE_IMAGES], block_size, grid)
    return key, _normalised(costs)


def edge_discontinuity(pictures: np.ndarray, block_size: int) -> float:
    """Mean (per image) summed squared difference across the block borders of (N, H, W, C) pictures."""
    x = pictures.astype(np.float32)
    b = block_size
    across_rows = x[:, b - 1 : -1 : b] - x[:, b::b]
    across_cols = x[:, :, b - 1 : -1 : b] - x[:, :, b::b]
    return float((across_rows**2).sum() + (across_cols**2).sum()) / max(len(x), 1)


def _refine_by_edges(perm: np.ndarray, op: np.ndarray, costs: np.ndarray, ops: BlockOps, encrypted: np.ndarray, block_size: int,
                     grid: tuple[int, int], *, op_choices: int = 8, swap_choices: int = 4, sweeps: int = 3) -> EtcKey:
    """Local search on edge continuity: give block j the source of the block holding one of the
    ``swap_choices`` sources cheapest for j (a swap; each takes its cheapest operation for its
    new source) or try another of the ``op_choices`` cheapest operations of a block; keep a change when the decrypted images' block borders get smoother. This resolves what
    dataset statistics cannot, e.g. the left-right mirror ambiguity of natural images."""
    channels = encrypted.shape[3]

    def discontinuity(p: np.ndarray, o: np.ndarray) -> float:
        return edge_discontinuity(decrypt(encrypted, _key(p, o, ops, block_size, grid, channels)), block_size)

    best = discontinuity(perm, op)
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
                    candidates = [(p, o)]
                else:
                    candidates = []
                    for choice in np.argsort(costs[:, j1, perm[j1]])[:op_choices]:
                        o = op.copy()
                        o[j1] = choice
                        candidates.append((perm, o))
                for p, o in candidates:
                    value = discontinuity(p, o)
                    if value < best - 1e-9:
                        best, perm, op, improved = value, p.copy(), o.copy(), True
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
