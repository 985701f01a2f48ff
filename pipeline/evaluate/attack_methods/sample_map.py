"""``sample-map``: any scheme's key as one fixed map over the H*W*C sample positions
(:mod:`pipeline.evaluate.sample_map_attack`)."""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.evaluate import sample_map_attack as core
from pipeline.evaluate.attack_data import flat
from pipeline.evaluate.attack_methods.method import AttackMethod


@dataclass(frozen=True)
class SampleMapMethod(AttackMethod):
    def ciphertext_only(self, adversary):
        observed, public, _ = adversary.statistics()
        return core.ciphertext_only_map(observed, public, negation=adversary.negation)

    def known_plaintext(self, adversary, pairs, prior):
        plain, encrypted, _ = adversary.pairs(pairs)
        return core.known_plaintext_map(flat(plain), flat(encrypted), negation=adversary.negation, prior=prior)


SAMPLE_MAP = SampleMapMethod("sample-map")
