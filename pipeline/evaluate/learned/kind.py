"""A learned attack as a registry part: its name (the ``--kind`` value), the function that runs it,
and what it declares: its threat model in words and whether it also fine-tunes on known victim pairs."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

# (data, scheme, options, settings, *, checkpoint_dir, progress, device) -> (recovered, held, the trainings' records)
AttackFn = Callable[..., tuple[np.ndarray, dict, list[dict]]]


@dataclass(frozen=True)
class LearnedAttack:
    """One kind of learned attack (registered in :mod:`pipeline.evaluate.learned.registry`).

    ``threat_model``: what the adversary holds, in words (the record's ``threat_model``; ``held``
    gives the counts). ``known_pairs``: it has a variant fine-tuned on the first k victim
    (encrypted, plain) train pairs (``--known-pairs``)."""

    name: str
    run: AttackFn
    threat_model: str
    known_pairs: bool = False
