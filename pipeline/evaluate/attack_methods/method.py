"""What a statistical attack method is: a part of :data:`~pipeline.evaluate.attack_methods.registry.METHODS`.

A method declares what it applies to (the attack kinds it runs; whether it needs colour images under
a scheme that moves a pixel's channels together, or a key of block tables of a public block size)
and what it holds (S x S statistics over its positions, or statistics it bounds itself), and
estimates a key from what the adversary holds, seen through an :class:`Adversary`. A method with S x S
statistics runs a bounded algorithm above :data:`~pipeline.evaluate.sample_map_attack.MAX_POSITIONS`
positions and says which and why (:meth:`AttackMethod.algorithm`, in the record). The evaluation chooses
methods by these declarations only, skips (and says why) one that declares it cannot run
(:meth:`AttackMethod.unfit`), and scores every estimate as a sample map.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from workbench.data.datasets import DatasetSpec
from pipeline.encrypt.sample_map import SampleMap
from pipeline.encrypt.scheme import Scheme
from pipeline.evaluate.sample_map_bounded import COA_ALGORITHM, KPA_ALGORITHM
from pipeline.evaluate.sample_map_attack import Blocks, Statistics, fits, too_many_positions

KINDS = ("known-plaintext", "ciphertext-only")
BOUNDED_ALGORITHMS = {"ciphertext-only": COA_ALGORITHM, "known-plaintext": KPA_ALGORITHM}  # above MAX_POSITIONS


class Adversary(Protocol):
    """What a method may read (all of it the adversary's): the encrypted training images' and the
    public plain images' statistics and blocks, known pairs, and the public facts of the scheme."""

    shape: tuple[int, int, int]  # (H, W, C)
    num_classes: int
    negation: bool  # whether the scheme may negate samples
    block_size: int | None  # the public block edge where the key is block tables

    def statistics(self) -> tuple[Statistics, Statistics, float]: ...  # S x S: (encrypted, public plain, seconds)
    def moments(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]: ...  # per-class (means, stds) (S, K) of each side
    def block_statistics(self) -> tuple[np.ndarray, np.ndarray]: ...  # per block (encrypted, public plain): etc_attack.block_statistics_of
    def refinement_correlations(self) -> tuple[np.ndarray, np.ndarray] | None: ...  # etc_attack.refinement_correlations_of; None: no positions
    def encrypted_blocks(self) -> Blocks: ...  # the encrypted training images the statistics come from
    def public_blocks(self) -> Blocks: ...  # the public plain images
    def encrypted_images(self, count: int) -> np.ndarray: ...  # the first of those encrypted images (N, H, W, C)
    def pairs(self, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...  # known (plain, encrypted, labels)


@dataclass(frozen=True)
class AttackMethod:
    """A statistical attack method. Subclasses set the declarations and implement the estimates."""

    name: str
    kinds: tuple[str, ...] = KINDS  # the attack kinds it runs (known-plaintext needs pairs)
    whole_pixels: bool = False  # only colour images under a scheme moving a pixel's channels together, never negating
    block_tables: bool = False  # only a key of block tables of a public block size
    square_statistics: bool = True  # holds S x S statistics and costs over its positions (bounded above MAX_POSITIONS); False: bounds its own

    def applies(self, spec: DatasetSpec, scheme: Scheme, block_size: int | None) -> bool:
        """Whether the declarations admit ``scheme``'s images of ``spec`` (``block_size``: the public block edge or None)."""
        pixels_ok = not self.whole_pixels or (scheme.moves_whole_pixels and not scheme.negates and spec.channels > 1)
        return pixels_ok and (not self.block_tables or block_size is not None)

    def positions(self, spec: DatasetSpec) -> tuple[int, str]:
        """The positions its S x S statistics span, and how to say them (for the size check)."""
        return spec.height * spec.width * spec.channels, f"{spec.height} x {spec.width} x {spec.channels}"

    def bounded(self, spec: DatasetSpec) -> bool:
        """Whether its S x S statistics would not fit ``spec``'s images, so that its bounded algorithm runs."""
        return self.square_statistics and not fits(self.positions(spec)[0])

    def algorithm(self, spec: DatasetSpec, kind: str) -> dict | None:
        """Which bounded algorithm its ``kind`` attack runs on ``spec``'s images and why (for the record); None
        where it runs its S x S path (records as before the bounded path existed)."""
        if not self.bounded(spec):
            return None
        return {"name": BOUNDED_ALGORITHMS[kind], "why": too_many_positions(*self.positions(spec))}

    def unfit(self, spec: DatasetSpec) -> str | None:
        """Why it cannot run on ``spec``'s images, in one line; None where it can (every registered method can)."""
        return None

    def ciphertext_only(self, adversary: Adversary) -> tuple[Any, np.ndarray | None]:
        """(estimate, cost or None): the cost, in [0, 1), breaks the ties of :meth:`known_plaintext` with statistics."""
        raise NotImplementedError

    def known_plaintext(self, adversary: Adversary, pairs: int, prior: np.ndarray | None) -> Any:
        """The estimate from ``pairs`` known pairs (``prior``: this method's ciphertext-only cost, or None)."""
        raise NotImplementedError

    def as_map(self, estimate: Any, shape: tuple[int, int, int]) -> SampleMap:
        """The estimate as a map over the (H, W, C) sample positions (what decryption and the key share use)."""
        return estimate

    def key_tables(self, estimate: Any, truth: Any) -> dict | None:
        """Shares of the key's own tables got right (None where the key has none or the truth is unknown)."""
        return None
