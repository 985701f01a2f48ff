"""``pixel-map``: colour images under a scheme that moves a pixel's channels together (and never
negates): one map over the H*W pixels, each channel of a pair one more pair, each (class, channel)
one more class of statistics."""
from __future__ import annotations

from dataclasses import dataclass

from workbench.data.datasets import DatasetSpec
from pipeline.evaluate import sample_map_attack as core
from pipeline.evaluate import sample_map_bounded as bounded
from pipeline.evaluate.attack_methods.method import AttackMethod


def _channel_blocks(blocks: core.Blocks, shape: tuple[int, int, int]) -> core.Blocks:
    """Blocks of flattened pictures as blocks of one-channel images (:func:`~pipeline.evaluate.sample_map_attack.channels_as_images`)."""
    return lambda: (core.channels_as_images(rows.reshape(len(rows), *shape), labels) for rows, labels in blocks())


@dataclass(frozen=True)
class PixelMapMethod(AttackMethod):
    whole_pixels: bool = True

    def positions(self, spec: DatasetSpec) -> tuple[int, str]:
        return spec.height * spec.width, f"{spec.height} x {spec.width} pixels"

    def ciphertext_only(self, adversary):
        (h, w, c), k = adversary.shape, adversary.num_classes * adversary.shape[2]
        sides = (_channel_blocks(blocks, adversary.shape) for blocks in (adversary.encrypted_blocks(), adversary.public_blocks()))
        if not core.fits(h * w):  # the bounded path (sample_map_bounded); the cost as features
            cost = bounded.feature_cost(*(core.class_moments(blocks, k, h * w) for blocks in sides), negation=False)
            return bounded.nearest_feature_map(cost), cost
        observed, public = (core.statistics_of(blocks, k, h * w) for blocks in sides)
        return core.ciphertext_only_map(observed, public, negation=False)

    def known_plaintext(self, adversary, pairs, prior):
        plain, encrypted, labels = adversary.pairs(pairs)
        attack = core.known_plaintext_map if core.fits(adversary.shape[0] * adversary.shape[1]) else bounded.signature_map
        return attack(core.channels_as_images(plain, labels)[0], core.channels_as_images(encrypted, labels)[0], negation=False, prior=prior)

    def as_map(self, estimate, shape):
        return core.pixel_to_sample_map(estimate, shape[2])


PIXEL_MAP = PixelMapMethod("pixel-map")
