"""Block-wise EtC encryption (encryption-then-compression) of whole image batches.

Per square block of ``block_size`` pixels, with the four tables of an :class:`EtcKey`:
K1 scramble the blocks, K2 rotate/flip each block, K3 negate (XOR 255) each block,
K4 permute the colour channels of each block (RGB only). See ``docs/etc.md``.

Steps K1, K2 and K4 only move samples, so together they are one gather map over the
H*W*C samples of an image; K3 is one XOR mask. The map is built by running the block
operations (:func:`scramble_blocks`) on an image of sample indices, and then encryption
is ``take(x, map) ^ mask`` over the whole dataset at once; decryption is the inverse map
and the same mask.

CLI: ``python -m pipeline.etc --dataset cifar10`` writes ``data/cifar10/etc/``.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from workbench.data.datasets import DatasetSpec
from pipeline.encrypt.etc_key import TRANSFORMS, EtcKey, check_block_size, derive_key
from pipeline.encrypt.keystream import fingerprint, log2_choose, log2_factorial, shape_context
from pipeline.encrypt.sample_map import SampleMap
from pipeline.encrypt.scheme import KeyOptions
from pipeline.encrypt.secret import SecretScheme, block_count, block_size_of, draw_of, secret_of
from pipeline.errors import PipelineError


def to_blocks(pictures: np.ndarray, block_size: int) -> np.ndarray:
    """(N, H, W, C) -> (N, nb, B, B, C), blocks numbered row by row."""
    n, h, w, c = pictures.shape
    b = block_size
    return pictures.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, -1, b, b, c)


def from_blocks(blocks: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`to_blocks`."""
    n, _, b, _, c = blocks.shape
    gh, gw = grid
    return blocks.reshape(n, gh, gw, b, b, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, gh * b, gw * b, c)


def scramble_blocks(blocks: np.ndarray, key: EtcKey) -> np.ndarray:
    """K1, K2, K4 on (N, nb, B, B, C) blocks of any dtype: scramble, rotate/flip, shuffle channels."""
    out = blocks[:, key.block_perm]
    for t, (flip, turns) in enumerate(TRANSFORMS):
        chosen = np.flatnonzero(key.transform == t)
        if chosen.size:
            group = out[:, chosen]
            if flip:
                group = group[:, :, :, ::-1]
            out[:, chosen] = np.rot90(group, turns, axes=(2, 3))
    return np.take_along_axis(out, key.channel_perm[None, :, None, None, :], axis=4)


def _maps(key: EtcKey) -> tuple[np.ndarray, np.ndarray]:
    """(gather map, XOR mask) over the flattened H*W*C samples: encrypted = plain[map] ^ mask."""
    h, w, c = key.image_shape
    index = np.arange(h * w * c, dtype=np.intp).reshape(1, h, w, c)
    gather = from_blocks(scramble_blocks(to_blocks(index, key.block_size), key), key.grid).reshape(-1)
    per_block = np.where(key.negate, 255, 0).astype(np.uint8).reshape(key.grid)
    mask = per_block.repeat(key.block_size, axis=0).repeat(key.block_size, axis=1)[:, :, None].repeat(c, axis=2)
    return gather, mask.reshape(-1)


def _check_images(images: np.ndarray, key: EtcKey) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise PipelineError(f"EtC needs uint8 (N, H, W, C) images, got {images.dtype} with shape {images.shape}")
    h, w, c = images.shape[1:]
    check_block_size(h, w, key.block_size)
    if images.shape[1:] != key.image_shape:
        raise PipelineError(f"EtC key {key.fingerprint} is for {key.describe()} images, got {h}x{w}x{c}")
    return images


def encrypt(images: np.ndarray, key: EtcKey) -> np.ndarray:
    """EtC-encrypt a uint8 (N, H, W, C) batch (C = 1 or 3) with ``key``; a new array."""
    images = _check_images(images, key)
    gather, mask = _maps(key)
    out = np.take(images.reshape(len(images), gather.size), gather, axis=1)
    np.bitwise_xor(out, mask, out=out)
    return out.reshape(images.shape)


def decrypt(images: np.ndarray, key: EtcKey, fingerprint: str | None = None) -> np.ndarray:
    """Invert :func:`encrypt`. ``fingerprint`` (as stored beside encrypted data) must match ``key``."""
    if fingerprint is not None and fingerprint != key.fingerprint:
        raise PipelineError(f"these images were encrypted with EtC key {fingerprint}, not with the given key {key.fingerprint}")
    images = _check_images(images, key)
    gather, mask = _maps(key)
    inverse = np.empty_like(gather)
    inverse[gather] = np.arange(gather.size)
    out = np.take(images.reshape(len(images), gather.size), inverse, axis=1)
    np.bitwise_xor(out, mask[inverse], out=out)
    return out.reshape(images.shape)


def etc_sample_map(key: EtcKey) -> SampleMap:
    """The key as a sample map over flattened (H, W, C) pictures (read from its tables: any image size)."""
    gather, mask = _maps(key)
    return SampleMap(gather.astype(np.int64), mask == 255)


def block_key(spec: DatasetSpec, options: KeyOptions) -> EtcKey:
    """The EtC key of the options' secret and block size for images of ``spec``."""
    draw = draw_of(options)  # before the secret, as LE's
    return derive_key(secret_of(options), (spec.height, spec.width, spec.channels), block_size_of(spec, options), draw)


class EtcScheme(SecretScheme):
    """Block-wise EtC (AprilPyone & Kiya): block scrambling, rotation/flip, negative-positive and channel shuffling."""

    name = "etc"
    title = "EtC"
    key_kind = "block tables: scramble, rotate/flip, negate, channel shuffle"
    options = ("block_size", "key_draw", "key_seed", "key_file")
    negates = True

    def key(self, spec: DatasetSpec, options: KeyOptions) -> EtcKey:
        return block_key(spec, options)

    def key_space_log2(self, spec: DatasetSpec, options: KeyOptions) -> float:
        """8^N 2^N 6^N N! (grey: no 6^N); the reference draw negates exactly N // 2 blocks: C(N, N // 2) for 2^N."""
        _, n = block_count(spec, options)
        per_block = 8 * (6 if spec.channels == 3 else 1)  # rotation/flip x channel order
        negations = n if draw_of(options) == "project" else log2_choose(n, n // 2)
        return n * math.log2(per_block) + negations + log2_factorial(n)

    def encrypt(self, key: EtcKey, pictures: np.ndarray) -> np.ndarray:
        return encrypt(pictures, key)

    def decrypt(self, key: EtcKey, pictures: np.ndarray) -> np.ndarray:
        return decrypt(pictures, key)

    def sample_map(self, key: EtcKey) -> SampleMap:
        return etc_sample_map(key)

    def public_block_size(self, spec: DatasetSpec, options: KeyOptions) -> int:
        return block_size_of(spec, options)

    def block_tables(self, key: EtcKey) -> EtcKey:
        return key


class BlockScrambleScheme(EtcScheme):
    """Block scrambling alone: EtC's first step (K1), the step EtC, ELE and the attack literature isolate.

    Its permutation is K1 of the EtC key of the same secret and block size (so do not use one
    secret for both: block-scrambled images would disclose EtC's K1); the fingerprint is its own.
    """

    name = "block"
    title = "block scrambling"
    key_kind = "one block permutation"
    options = ("block_size", "key_seed", "key_file")  # no reference draw of its own: the references shuffle uniformly too
    negates = False
    moves_whole_pixels = True  # blocks move with all their channels; EtC's channel shuffle is off

    def key(self, spec: DatasetSpec, options: KeyOptions) -> EtcKey:
        full = block_key(spec, options)
        context = shape_context(full.image_shape, full.block_size)
        return dataclasses.replace(full, transform=np.zeros_like(full.transform), negate=np.zeros_like(full.negate),
                                   channel_perm=np.broadcast_to(np.arange(full.channels), full.channel_perm.shape).copy(),
                                   fingerprint=fingerprint(secret_of(options), self.name, full.version, context))

    def key_space_log2(self, spec: DatasetSpec, options: KeyOptions) -> float:
        return log2_factorial(block_count(spec, options)[1])
