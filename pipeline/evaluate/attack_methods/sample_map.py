"""``sample-map``: any scheme's key as one fixed map over the H*W*C sample positions
(:mod:`pipeline.evaluate.sample_map_attack`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.evaluate import sample_map_attack as core
from pipeline.evaluate import sample_map_bounded as bounded
from pipeline.evaluate.attack_data import flat
from pipeline.evaluate.attack_methods.method import AttackMethod


@dataclass(frozen=True)
class SampleMapMethod(AttackMethod):
    def ciphertext_only(self, adversary):
        if not core.fits(int(np.prod(adversary.shape))):  # the bounded path (sample_map_bounded); the cost as features
            cost = bounded.feature_cost(*adversary.moments(), negation=adversary.negation)
            return bounded.nearest_feature_map(cost), cost
        observed, public, _ = adversary.statistics()
        return core.ciphertext_only_map(observed, public, negation=adversary.negation)

    def known_plaintext(self, adversary, pairs, prior):
        plain, encrypted, _ = adversary.pairs(pairs)
        attack = core.known_plaintext_map if core.fits(int(np.prod(adversary.shape))) else bounded.signature_map
        return attack(flat(plain), flat(encrypted), negation=adversary.negation, prior=prior)


SAMPLE_MAP = SampleMapMethod("sample-map")
