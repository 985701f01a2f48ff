"""``etc-blocks``: a key of block tables of a public block size (EtC and block scrambling), estimated
as the tables themselves (:mod:`pipeline.evaluate.etc_attack`)."""
from __future__ import annotations

from dataclasses import dataclass

from pipeline.encrypt.etc import etc_sample_map
from pipeline.evaluate.attack_methods.method import AttackMethod
from pipeline.evaluate.etc_attack import EDGE_IMAGES, block_statistics_of, ciphertext_only_key, known_plaintext_key, table_shares


@dataclass(frozen=True)
class EtcBlocksMethod(AttackMethod):
    block_tables: bool = True

    def ciphertext_only(self, adversary):
        observed, public, _ = adversary.statistics()
        k, b = adversary.num_classes, adversary.block_size
        block_stats = tuple(block_statistics_of(blocks, k, adversary.shape, b)
                            for blocks in (adversary.encrypted_blocks(), adversary.public_blocks()))
        # the edge-continuity search judges the borders of the first encrypted training images, decrypted
        return ciphertext_only_key(adversary.encrypted_images(EDGE_IMAGES), None, None, None, block_size=b, num_classes=k,
                                   block_stats=block_stats, map_stats=(observed, public))

    def known_plaintext(self, adversary, pairs, prior):
        plain, encrypted, _ = adversary.pairs(pairs)
        return known_plaintext_key(plain, encrypted, block_size=adversary.block_size, prior=prior)

    def as_map(self, estimate, shape):
        return etc_sample_map(estimate)

    def key_tables(self, estimate, truth):
        return None if truth is None else table_shares(estimate, truth)


ETC_BLOCKS = EtcBlocksMethod("etc-blocks")
