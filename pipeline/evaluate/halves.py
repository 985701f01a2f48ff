"""The adversary's two halves of the training split: which rows give the encrypted statistics, which the public plain images.

A stratified random split by label with a fixed seed (:data:`SEED`): each class's rows are shuffled and
cut in two, so both sides hold every class however the split is stored (a folder or CSV set stores its
train split class by class; first and second halves would then hold different classes, and each side's
statistics of the classes it lacks would be zeros). Where a class has an odd count the extra row goes to
the two sides in turn, so the encrypted side holds ``N // 2`` rows and the public side the rest.
"""
from __future__ import annotations

import numpy as np

#: The seed of the split (fixed: the same rows for every scheme, run and storage).
SEED = 0
#: The rule as the result files record it.
RULE = f"stratified halves by label, seed {SEED}"


def adversary_halves(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(encrypted-statistics rows, public-plain rows) of a training split with these labels: sorted row
    indices, disjoint, together every row; each class split as evenly as possible."""
    labels = np.asarray(labels).reshape(-1)
    rng = np.random.default_rng(SEED)
    encrypted, extra_to_encrypted = [], False
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        take = len(rows) // 2
        if len(rows) % 2:
            take, extra_to_encrypted = take + extra_to_encrypted, not extra_to_encrypted
        encrypted.append(rows[:take])
    chosen = np.zeros(len(labels), bool)
    chosen[np.concatenate(encrypted or [np.zeros(0, np.int64)])] = True
    return np.flatnonzero(chosen), np.flatnonzero(~chosen)
