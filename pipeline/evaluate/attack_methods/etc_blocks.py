"""``etc-blocks``: a key of block tables of a public block size (EtC and block scrambling), estimated
as the tables themselves (:mod:`pipeline.evaluate.etc_attack`)."""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.encrypt.etc import etc_sample_map
from pipeline.evaluate.attack_methods.method import AttackMethod
from pipeline.evaluate.etc_attack import ciphertext_only_key, edge_images, known_plaintext_key, table_shares


@dataclass(frozen=True)
class EtcBlocksMethod(AttackMethod):
    """Bounded at any size: block statistics, correlations over at most REFINE_POSITIONS positions, the
    edge search on :func:`~pipeline.evaluate.etc_attack.edge_images` images, (96, nb, nb) costs."""

    block_tables: bool = True
    square_statistics: bool = False

    def ciphertext_only(self, adversary):
        # the edge-continuity search judges the borders of the first encrypted training images, decrypted
        return ciphertext_only_key(adversary.encrypted_images(edge_images(adversary.shape)), None, None, None,
                                   block_size=adversary.block_size, num_classes=adversary.num_classes,
                                   block_stats=adversary.block_statistics(), refine_corr=adversary.refinement_correlations())

    def known_plaintext(self, adversary, pairs, prior):
        plain, encrypted, _ = adversary.pairs(pairs)
        return known_plaintext_key(plain, encrypted, block_size=adversary.block_size, prior=prior)

    def as_map(self, estimate, shape):
        return etc_sample_map(estimate)

    def key_tables(self, estimate, truth):
        return None if truth is None else table_shares(estimate, truth)


ETC_BLOCKS = EtcBlocksMethod("etc-blocks")
