"""The map attacks on images above :data:`~pipeline.evaluate.sample_map_attack.MAX_POSITIONS` positions, in memory
that grows with S, not S^2 (224 x 224 x 3: S = 150,528, where the dense path's S x S costs would take 169 GiB).

* :func:`nearest_feature_map` (ciphertext-only) — each encrypted position takes the plain position (and negation)
  nearest in per-class means and standard deviations: a k-d tree (``scipy.spatial.cKDTree``) finds the argmin of
  the dense path's first cost without the (V, S, S) matrix. The correlation rounds need S x S correlations and
  are not run: the answer is the dense path's before its rounds.
* :func:`signature_map` (known-plaintext) — each encrypted position takes a plain position (and negation) that
  agrees with it on every pair, found by joining sorted value signatures (``np.unique`` over the k values of each
  position), one exists always for a fixed sample map (the true source agrees); among equals the lowest index (the
  dense path's answer), or with a :class:`FeatureCost` prior the one nearest in features (the dense path breaks
  these ties by its cost after the correlation rounds). Positions
  with no source agreeing on every pair (a per-image key) take one agreeing on the longest prefix of the pairs (the
  first k - 1, then k - 2, ...; at most k + 1 joins), not the dense path's fewest disagreements: approximate there.

Memory: the 2 K S per-class moments of each side and a few arrays of V S rows of k values or 2 K features.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from pipeline.encrypt.sample_map import SampleMap
from pipeline.errors import PipelineError

#: How the record names each bounded attack.
COA_ALGORITHM = "nearest per-class moments (k-d tree), without the correlation rounds"
KPA_ALGORITHM = "sorted value signatures: a source agreeing on every pair, else on the longest prefix of the pairs"


@dataclass(frozen=True)
class FeatureCost:
    """The ciphertext-only cost as features, for tie-breaking: encrypted (S, F) and plain (V*S, F) rows (row v*S + t:
    plain position t, negated iff v = 1); a smaller distance is a smaller cost."""

    observed: np.ndarray
    public: np.ndarray


def feature_cost(observed: tuple[np.ndarray, np.ndarray], public: tuple[np.ndarray, np.ndarray], *, negation: bool) -> FeatureCost:
    """The :class:`FeatureCost` of (means, stds) (S, K) of the encrypted and the public side (a negation maps a mean m to 255 - m)."""
    means, stds = public
    rows = [np.hstack([means, stds])] + ([np.hstack([255.0 - means, stds])] if negation else [])
    return FeatureCost(np.hstack(observed), np.vstack(rows))


def _as_map(index: np.ndarray, size: int) -> SampleMap:
    """Rows v*S + t of the candidates as a map (source t, negated iff v = 1)."""
    return SampleMap((index % size).astype(np.int64), index // size == 1)


def nearest_feature_map(cost: FeatureCost) -> SampleMap:
    """For each encrypted position, the candidate of least feature distance (exact nearest neighbours)."""
    _, index = cKDTree(cost.public).query(cost.observed, k=1)
    return _as_map(np.asarray(index), len(cost.observed))


def signature_map(plain: np.ndarray, encrypted: np.ndarray, *, negation: bool, prior: FeatureCost | None = None) -> SampleMap:
    """Estimate a fixed sample map from k (plain, encrypted) pairs of flattened pictures (k, S) (module docstring)."""
    if plain.shape != encrypted.shape or plain.ndim != 2:
        raise PipelineError(f"known-plaintext pairs must be two (k, S) arrays of one shape, got {plain.shape}, {encrypted.shape}")
    k, size = plain.shape
    candidates = np.vstack([plain.T] + ([255 - plain.T] if negation else []))  # (V*S, k): row v*S + t
    index = np.full(size, -1, np.int64)
    for pairs in range(k, -1, -1):  # every pair first; then the first k - 1, ... (none: every candidate agrees)
        left = np.flatnonzero(index < 0)
        if not len(left):
            break
        signatures = np.vstack([candidates[:, :pairs], encrypted.T[left, :pairs]])
        ids = np.unique(signatures, axis=0, return_inverse=True)[1].reshape(-1) if pairs else np.zeros(len(signatures), np.int64)
        index[left] = _agreeing(ids[: len(candidates)], ids[len(candidates):], prior, left)
    return _as_map(index, size)


def _agreeing(cand_ids: np.ndarray, enc_ids: np.ndarray, prior: FeatureCost | None, positions: np.ndarray) -> np.ndarray:
    """For each encrypted position (signature ``enc_ids``, rows ``positions`` of the prior), a candidate of the same
    signature: the lowest row, or with ``prior`` the one nearest in features; -1 where none has its signature."""
    first = np.full(int(max(cand_ids.max(), enc_ids.max())) + 1, -1, np.int64)
    found, where = np.unique(cand_ids, return_index=True)  # the lowest candidate row of each signature
    first[found] = where
    index = first[enc_ids]
    agreeing = index >= 0
    if prior is not None and agreeing.any():
        index[agreeing] = _nearest_within(prior, cand_ids, enc_ids[agreeing], positions[agreeing])
    return index


def _nearest_within(prior: FeatureCost, cand_ids: np.ndarray, enc_ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """For each encrypted position, the candidate of its own signature nearest in features: one k-d tree whose extra
    coordinate, the signature times more than any feature distance, keeps every answer in its signature."""
    span = float(np.ptp(np.vstack([prior.public, prior.observed]))) * np.sqrt(prior.public.shape[1]) + 1.0
    rows = np.flatnonzero(np.isin(cand_ids, enc_ids))
    tree = cKDTree(np.hstack([prior.public[rows], 2.0 * span * cand_ids[rows, None]]))
    _, nearest = tree.query(np.hstack([prior.observed[positions], 2.0 * span * enc_ids[:, None]]), k=1)
    return rows[np.asarray(nearest)]
