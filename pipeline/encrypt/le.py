"""LE: Tanaka's learnable image encryption (Tanaka 2018, "Learnable image encryption").

1. Cut the image into blocks of M x M pixels (M = ``block_size``).
2. Split every 8-bit sample into its upper and lower 4 bits: C channels become 2C planes of
   4-bit values (6 for RGB, 2 for grey), plane 2c = upper and 2c+1 = lower bits of channel c.
3. Negative-positive transformation of the 4-bit values: value v at position q of a block
   (q over the M*M*2C values, in (row, column, plane) order) becomes ``v XOR 15`` where the key bit
   ``negate[q]`` is set.
4. Shuffle the M*M*2C values of the block: ``out[q] = v'[shuffle[q]]``.
5. Put the planes back together (``upper * 16 + lower``): an ordinary uint8 image of the
   same shape, which JPEG and the MAT-files store like any other.

LE uses ONE key (``negate``, ``shuffle``) for every block. ELE (:mod:`pipeline.encrypt.ele`)
first scrambles the blocks and gives every block position its own key; both are one
:class:`PlaneKey` here (LE: identity block order, one key row).

Not a sample map: a 4-bit value can move to the other half of another sample, so no
encrypted sample is a (negated) copy of one plain sample. :meth:`LeScheme.sample_map` is None;
the sample-map attacks and the information measure's sample-map view do not apply.

Vectorised as EtC is: the steps run once on an image of plane indices give one gather map and
one XOR mask over the 2C planes (:func:`plane_map`), applied to every image at once.

Derivation (``keystream``, version ``le-1``, context ``<H>x<W>x<C>|block=<M>``):
``shuffle`` = Fisher-Yates permutation of M*M*2C from stream ``SHUFFLE``, ``negate`` =
M*M*2C bits from stream ``NEGATE``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.data.datasets import DatasetSpec
from pipeline.encrypt.etc import from_blocks, to_blocks
from pipeline.encrypt.etc_key import check_block_size
from pipeline.encrypt.keystream import (
    Stream,
    fingerprint,
    key_seed,
    log2_factorial,
    shape_context,
)
from pipeline.encrypt.scheme import KeyOptions, check_pictures, inverse_map
from pipeline.encrypt.secret import SecretScheme, block_size_of, secret_of
from pipeline.errors import PipelineError

VERSION = "le-1"


def to_planes(pictures: np.ndarray) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, H, W, 2C) 4-bit values: plane 2c the upper, 2c+1 the lower bits of channel c.

    Also the input of the adaptation network (``train.adaptation``), which sees the planes.
    """
    return np.stack([pictures >> 4, pictures & 15], axis=-1).reshape(*pictures.shape[:-1], 2 * pictures.shape[-1])


def from_planes(planes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_planes`."""
    return (planes[..., 0::2] << 4) | planes[..., 1::2]


@dataclass(frozen=True, eq=False)
class PlaneKey:
    """Block order and the per-block 4-bit tables of LE (one row for all blocks) or ELE (one row per block)."""

    block_size: int
    grid: tuple[int, int]
    channels: int
    block_perm: np.ndarray  # (nb,): encrypted block j holds plain block block_perm[j]
    shuffle: np.ndarray  # (K, P) int64, K = 1 or nb, P = M*M*2C: encrypted value q of a block is value shuffle[q]
    negate: np.ndarray  # (K, P) bool over the values before the shuffle
    fingerprint: str
    version: str

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.grid[0] * self.block_size, self.grid[1] * self.block_size, self.channels)


def plane_key(secret: bytes, image_shape: tuple[int, int, int], block_size: int, scheme: str, version: str,
              per_block: bool) -> PlaneKey:
    """LE's key (``per_block`` False: one key row, blocks in place) or ELE's (scrambled blocks, a row per block)."""
    h, w, c = image_shape
    if c not in (1, 3):
        raise PipelineError(f"{scheme} encrypts grey (1) or RGB (3) images, got {c} channels")
    check_block_size(h, w, block_size)
    grid = (h // block_size, w // block_size)
    nb, values = grid[0] * grid[1], block_size * block_size * 2 * c
    context = shape_context(image_shape, block_size)
    seed = key_seed(secret, version, context)
    rows = nb if per_block else 1
    order = Stream(seed, b"BLOCKS").permutations(nb)[0] if per_block else np.arange(nb, dtype=np.int64)
    return PlaneKey(block_size, grid, c, order, Stream(seed, b"SHUFFLE").permutations(values, rows),
                    Stream(seed, b"NEGATE").bits(rows * values).reshape(rows, values),
                    fingerprint(secret, scheme, version, context), version)


def plane_map(key: PlaneKey) -> tuple[np.ndarray, np.ndarray]:
    """(gather, mask) over the flattened (H, W, 2C) planes: encrypted planes = ``planes[gather] ^ mask``.

    Built by running the block steps once on an image of plane indices (as EtC's map is): LE and
    ELE are a fixed 4-bit "sample map" over the planes, though not over the 8-bit samples.
    """
    h, w, c = key.image_shape
    b, nb = key.block_size, key.block_perm.size
    index = np.arange(h * w * 2 * c, dtype=np.intp).reshape(1, h, w, 2 * c)
    blocks = to_blocks(index, b)[0, key.block_perm].reshape(nb, -1)  # plane indices of the scrambled blocks
    shuffle = np.broadcast_to(key.shuffle, blocks.shape)  # LE's one key row serves every block
    gather = np.take_along_axis(blocks, shuffle, axis=1)
    mask = np.take_along_axis(np.broadcast_to(key.negate, blocks.shape), shuffle, axis=1).astype(np.uint8) * np.uint8(15)

    def as_image(values: np.ndarray) -> np.ndarray:
        return from_blocks(values.reshape(1, nb, b, b, 2 * c), key.grid).reshape(-1)

    return as_image(gather), as_image(mask)


def encrypt(key: PlaneKey, pictures: np.ndarray) -> np.ndarray:
    """Steps 1-5 on a uint8 (N, H, W, C) batch: one gather and one XOR over the planes of every image."""
    pictures = check_pictures(pictures, key.image_shape, "LE/ELE")
    gather, mask = plane_map(key)
    planes = np.take(to_planes(pictures).reshape(len(pictures), -1), gather, axis=1)
    np.bitwise_xor(planes, mask, out=planes)
    return from_planes(planes.reshape(*pictures.shape[:-1], -1))


def decrypt(key: PlaneKey, pictures: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encrypt`: XOR the mask again, gather back."""
    pictures = check_pictures(pictures, key.image_shape, "LE/ELE")
    gather, mask = plane_map(key)
    planes = to_planes(pictures).reshape(len(pictures), -1) ^ mask
    return from_planes(np.take(planes, inverse_map(gather), axis=1).reshape(*pictures.shape[:-1], -1))


def block_key_space_log2(spec: DatasetSpec, options: KeyOptions) -> float:
    """log2 of one block's key: (M*M*2C)! shuffles x 2^(M*M*2C) negations."""
    block = block_size_of(spec, options)
    values = block * block * 2 * spec.channels
    return log2_factorial(values) + values


class LeScheme(SecretScheme):
    """Tanaka's LE: 4-bit planes of each block shuffled and partly negated with one key for every block."""

    name = "le"
    title = "LE"
    key_kind = "one 4-bit shuffle and negation for every block"
    version = VERSION
    per_block = False

    def key(self, spec: DatasetSpec, options: KeyOptions) -> PlaneKey:
        return plane_key(secret_of(options), (spec.height, spec.width, spec.channels), block_size_of(spec, options),
                         self.name, self.version, self.per_block)

    def key_space_log2(self, spec: DatasetSpec, options: KeyOptions) -> float:
        """(6M^2)! * 2^(6M^2) for RGB ((2M^2)! * 2^(2M^2) grey)."""
        return block_key_space_log2(spec, options)

    def encrypt(self, key: PlaneKey, pictures: np.ndarray) -> np.ndarray:
        return encrypt(key, pictures)

    def decrypt(self, key: PlaneKey, pictures: np.ndarray) -> np.ndarray:
        return decrypt(key, pictures)

