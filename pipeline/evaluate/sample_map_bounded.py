"""The map attacks on images above :data:`~pipeline.evaluate.sample_map_attack.MAX_POSITIONS` positions, in memory
that grows with S, not S^2 (224 x 224 x 3: S = 150,528, where the dense path's S x S costs would take 169 GiB).

* :func:`nearest_feature_map` (ciphertext-only) — each encrypted position takes the plain position (and negation)
  nearest in per-class means and standard deviations: a k-d tree (``scipy.spatial.cKDTree``) finds the argmin of
  the dense path's first cost without the (V, S, S) matrix. The correlation rounds need S x S correlations and
  are not run: the answer is the dense path's before its rounds.
* :func:`signature_map` (known-plaintext) — each encrypted position takes a plain position (and negation) that
  agrees with it on every pair, found by joining sorted value signatures (``np.unique`` over the k values of each
  position): the dense path's answer wherever one exists (always for a fixed sample map: the true source agrees),
  the lowest index among equals, or with a :class:`FeatureCost` prior the equal one nearest in features. Positions
  with no agreeing source (a per-image key) take the nearest in their k values (L2, not the dense path's count of
  disagreements: approximate).

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
KPA_ALGORITHM = "sorted value signatures: a source agreeing on every pair, else the nearest pair values (L2)"


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
    size = plain.shape[1]
    candidates = np.vstack([plain.T] + ([255 - plain.T] if negation else []))  # (V*S, k): row v*S + t
    _, ids = np.unique(np.vstack([candidates, encrypted.T]), axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    cand_ids, enc_ids = ids[: len(candidates)], ids[len(candidates):]
    first = np.full(int(ids.max()) + 1, -1, np.int64)
    found, where = np.unique(cand_ids, return_index=True)  # the lowest candidate row of each signature
    first[found] = where
    index = first[enc_ids]
    agreeing = index >= 0
    if prior is not None and agreeing.any():
        index[agreeing] = _nearest_within(prior, cand_ids, enc_ids, agreeing)
    if not agreeing.all():
        _, nearest = cKDTree(candidates.astype(np.float64)).query(encrypted.T[~agreeing].astype(np.float64), k=1)
        index[~agreeing] = nearest
    return _as_map(index, size)


def _nearest_within(prior: FeatureCost, cand_ids: np.ndarray, enc_ids: np.ndarray, agreeing: np.ndarray) -> np.ndarray:
    """For each agreeing encrypted position, the candidate of its own signature nearest in features: one k-d tree
    whose extra coordinate, the signature times more than any feature distance, keeps every answer in its signature."""
    span = float(np.ptp(np.vstack([prior.public, prior.observed]))) * np.sqrt(prior.public.shape[1]) + 1.0
    wanted = np.isin(cand_ids, enc_ids[agreeing])
    rows = np.flatnonzero(wanted)
    tree = cKDTree(np.hstack([prior.public[rows], 2.0 * span * cand_ids[rows, None]]))
    _, nearest = tree.query(np.hstack([prior.observed[agreeing], 2.0 * span * enc_ids[agreeing, None]]), k=1)
    return rows[np.asarray(nearest)]
