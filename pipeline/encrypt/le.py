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
M*M*2C bits from stream ``NEGATE`` (``--key-draw project``, the default).

``--key-draw reference`` draws as Tanaka's code does (context ``...|draw=reference``): one
permutation k of the block's values in Tanaka's layout (:func:`tanaka_positions`) from stream
``SHUFFLE``, and no negation bits: Tanaka negates the positions q with ``k[q] > len(k) / 2``,
shuffles (``out[q] = v[k[q]]``) and negates the same positions again, so the negation is fixed
by the permutation (:func:`from_tanaka`): (6M^2)! keys. Published keys of that form are imported
with ``python -m pipeline.keys`` (a key-table file, :mod:`pipeline.encrypt.key_tables`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.data.datasets import DatasetSpec
from pipeline.encrypt.etc import from_blocks, to_blocks
from pipeline.encrypt.etc_key import check_block_size
from pipeline.encrypt.key_tables import check_table, read_tables
from pipeline.encrypt.keystream import (
    Stream,
    draw_context,
    fingerprint,
    key_seed,
    log2_factorial,
    shape_context,
)
from pipeline.encrypt.scheme import KeyOptions, check_pictures, inverse_map
from pipeline.encrypt.secret import (
    IMPORTED,
    SecretScheme,
    block_size_of,
    draw_of,
    imported_file,
    secret_of,
)
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
    draw: str = "project"  # "project", "reference" or "imported" (tables from a key-table file)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.grid[0] * self.block_size, self.grid[1] * self.block_size, self.channels)


def tanaka_positions(block_size: int, channels: int) -> np.ndarray:
    """Where each position of Tanaka's block vector sits in this project's: (P,) plane indices.

    Tanaka lists a block's M*M*C samples in (row, column, channel) order, first their lower 4 bits,
    then their upper 4 bits; here sample s has plane index 2s (upper) and 2s+1 (lower).
    """
    samples = np.arange(block_size * block_size * channels, dtype=np.int64)
    return np.concatenate([2 * samples + 1, 2 * samples])


def from_tanaka(keys: np.ndarray, block_size: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """(shuffle, negate) in this project's layout of (K, P) keys in Tanaka's (permutations of 0..P-1).

    Tanaka: ``rev = k > P / 2``; negate the ``rev`` positions, ``out[q] = v[k[q]]``, negate the
    ``rev`` positions again. So output q is source k[q] negated when ``rev[k[q]] != rev[q]``.
    """
    keys = np.asarray(keys, dtype=np.int64)
    where = tanaka_positions(block_size, channels)
    rows = np.arange(len(keys))[:, None]
    rev = keys > keys.shape[1] / 2
    shuffle, negate = np.empty_like(keys), np.empty(keys.shape, dtype=bool)
    shuffle[:, where] = where[keys]
    negate[rows, where[keys]] = rev[rows, keys] != rev
    return shuffle, negate


def plane_key(secret: bytes, image_shape: tuple[int, int, int], block_size: int, scheme: str, version: str,
              per_block: bool, draw: str = "project") -> PlaneKey:
    """LE's key (``per_block`` False: one key row, blocks in place) or ELE's (scrambled blocks, a row per block)."""
    h, w, c = check_plane_shape(image_shape, block_size, scheme)
    grid = (h // block_size, w // block_size)
    nb, values = grid[0] * grid[1], block_size * block_size * 2 * c
    context = draw_context(shape_context(image_shape, block_size), draw)
    seed = key_seed(secret, version, context)
    rows = nb if per_block else 1
    order = Stream(seed, b"BLOCKS").permutations(nb)[0] if per_block else np.arange(nb, dtype=np.int64)
    if draw == "reference":
        shuffle, negate = from_tanaka(Stream(seed, b"SHUFFLE").permutations(values, rows), block_size, c)
    else:
        shuffle = Stream(seed, b"SHUFFLE").permutations(values, rows)
        negate = Stream(seed, b"NEGATE").bits(rows * values).reshape(rows, values)
    return PlaneKey(block_size, grid, c, order, shuffle, negate, fingerprint(secret, scheme, version, context), version, draw)


def check_plane_shape(image_shape: tuple[int, int, int], block_size: int, scheme: str) -> tuple[int, int, int]:
    """(H, W, C) of grey or RGB images that blocks of ``block_size`` tile, else one error line."""
    h, w, c = image_shape
    if c not in (1, 3):
        raise PipelineError(f"{scheme} encrypts grey (1) or RGB (3) images, got {c} channels")
    check_block_size(h, w, block_size)
    return h, w, c


def imported_plane_key(path, image_shape: tuple[int, int, int], scheme: str, version: str, per_block: bool) -> PlaneKey:
    """The LE/ELE key of a key-table file (tables checked: permutations, one row or one per block)."""
    tables = read_tables(path, scheme, image_shape, ("block_perm", "shuffle", "negate"))
    h, w, c = check_plane_shape(image_shape, tables.block_size, scheme)
    grid = (h // tables.block_size, w // tables.block_size)
    nb, values = grid[0] * grid[1], tables.block_size**2 * 2 * c
    rows = nb if per_block else 1
    order = check_table(tables, "block_perm", (nb,), "iu", nb)
    shuffle = check_table(tables, "shuffle", (rows, values), "iu", values)
    negate = check_table(tables, "negate", (rows, values), "b")
    perms_ok = np.array_equal(np.sort(order), np.arange(nb)) and np.array_equal(np.sort(shuffle, axis=1), np.broadcast_to(np.arange(values), shuffle.shape))
    if not perms_ok or (not per_block and not np.array_equal(order, np.arange(nb))):
        raise PipelineError(f"--key-file {path}: block_perm and shuffle must be permutations (LE: blocks in place)")
    return PlaneKey(tables.block_size, grid, c, order.astype(np.int64), shuffle.astype(np.int64), negate,
                    tables.fingerprint, version, IMPORTED)


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
    """log2 of one block's keys: (M*M*2C)! shuffles x 2^(M*M*2C) negations; the reference draw: the shuffles alone."""
    block = block_size_of(spec, options)
    values = block * block * 2 * spec.channels
    return log2_factorial(values) + (values if draw_of(options) == "project" else 0)


class LeScheme(SecretScheme):
    """Tanaka's LE: 4-bit planes of each block shuffled and partly negated with one key for every block."""

    name = "le"
    title = "LE"
    key_kind = "one 4-bit shuffle and negation for every block"
    options = ("block_size", "key_draw", "key_seed", "key_file")
    version = VERSION
    per_block = False

    def key(self, spec: DatasetSpec, options: KeyOptions) -> PlaneKey:
        shape = (spec.height, spec.width, spec.channels)
        path = imported_file(options)
        if path is not None:
            key = imported_plane_key(path, shape, self.name, self.version, self.per_block)
            if options.block_size is not None and options.block_size != key.block_size:
                raise PipelineError(f"--block-size {options.block_size}: the key file {path} holds blocks of {key.block_size}")
            return key
        draw = draw_of(options)  # before the secret: a record of imported tables asks for their file, not for a secret
        return plane_key(secret_of(options), shape, block_size_of(spec, options), self.name, self.version, self.per_block, draw)

    def key_space_log2(self, spec: DatasetSpec, options: KeyOptions) -> float:
        """(6M^2)! * 2^(6M^2) for RGB ((2M^2)! * 2^(2M^2) grey); the reference draw: (6M^2)! ((2M^2)!)."""
        return block_key_space_log2(spec, options)

    def encrypt(self, key: PlaneKey, pictures: np.ndarray) -> np.ndarray:
        return encrypt(key, pictures)

    def decrypt(self, key: PlaneKey, pictures: np.ndarray) -> np.ndarray:
        return decrypt(key, pictures)
