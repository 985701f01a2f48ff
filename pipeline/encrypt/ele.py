"""ELE: extended learnable encryption (Madono et al. 2020, "Block-wise scrambled image recognition
using adaptation network").

LE (:mod:`pipeline.encrypt.le`) with two changes: the blocks are first scrambled (encrypted
block j is plain block ``block_perm[j]``), and every block position j has its own 4-bit shuffle
and negation key (row j of the tables), where LE shares one.

Derivation (``keystream``, version ``ele-1``, context ``<H>x<W>x<C>|block=<M>``): ``block_perm``
= Fisher-Yates permutation of the nb blocks from stream ``BLOCKS``; ``shuffle`` = nb Fisher-Yates
permutations of M*M*2C, block after block, from ``SHUFFLE``; ``negate`` = nb * M*M*2C bits from ``NEGATE``.
``--key-draw reference``: as LE's, one Tanaka key per block (its negation fixed by its permutation).

Madono's code applies each block's key at the block's plain position and then moves the blocks;
here block j of the encrypted image uses row j. The two are the same scheme with the rows
relabelled: a published key for plain block i is row j where ``block_perm[j] = i``
(``pipeline.encrypt.published``).
"""
from __future__ import annotations

from workbench.data.datasets import DatasetSpec
from pipeline.encrypt.keystream import log2_factorial
from pipeline.encrypt.le import LeScheme, block_key_space_log2
from pipeline.encrypt.scheme import KeyOptions
from pipeline.encrypt.secret import block_count


class EleScheme(LeScheme):
    """Madono's ELE: block scrambling, then LE's 4-bit shuffle and negation with a key per block."""

    name = "ele"
    title = "ELE"
    key_kind = "block scrambling and a 4-bit shuffle and negation per block"
    version = "ele-1"
    per_block = True

    def key_space_log2(self, spec: DatasetSpec, options: KeyOptions) -> float:
        """((6M^2)! * 2^(6M^2))^N * N! for RGB, N blocks; the reference draw: ((6M^2)!)^N * N!."""
        _, n = block_count(spec, options)
        return n * block_key_space_log2(spec, options) + log2_factorial(n)
