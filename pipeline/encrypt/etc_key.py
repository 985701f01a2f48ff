"""EtC keys: the four block tables, derived deterministically from one secret.

The secret (at least :data:`MIN_SECRET_BYTES` bytes) comes from a key file or the environment
variable :data:`SECRET_ENV`; it is never logged or written anywhere. Outputs record only the
key's keyed :attr:`EtcKey.fingerprint` and :data:`ALGORITHM_VERSION`.

Derivation (version ``etc-1``; :mod:`pipeline.encrypt.keystream`, context ``<H>x<W>x<C>|block=<B>``)::

    K1 block_perm:   stream "K1": Fisher-Yates: p = 0..nb-1; for i = nb-1 down to 1: swap p[i], p[below(i+1)]
    K2 transform:    stream "K2": below(8) per block (see :data:`TRANSFORMS`)
    K3 negate:       stream "K3": below(2) per block
    K4 channel_perm: stream "K4": PERMUTATIONS_3[below(6)] per block (RGB only; identity for grey)
    fingerprint:     HMAC-SHA256(secret, "fingerprint|etc|etc-1|<H>x<W>x<C>|block=<B>"), 16 hex digits

``--key-draw reference`` (context ``...|draw=reference``) draws K2 and K3 as the reference code
(Madono et al.'s ``etc_encryption.py``) does: per block a rotation code below(4) and a flip code
below(3), in that order, from stream "K2" (:func:`reference_transform`: the 4 rotations come
once, the 4 reflections twice among the 12 pairs), and exactly floor(nb/2) negated blocks: block
j is negated where a Fisher-Yates permutation of nb from stream "K3" holds a value < nb // 2.

Blocks are numbered row by row over the ``grid`` (rows, cols) of the encrypted image; entry j
of every table describes the block at position j of the encrypted image.
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.paths import path_problem
from pipeline.encrypt.keystream import (
    MIN_SECRET_BYTES,
    Stream,
    draw_context,
    fingerprint,
    key_seed,
    shape_context,
)
from pipeline.errors import PipelineError

ALGORITHM_VERSION = "etc-1"
SECRET_ENV = "VORTEX_SECRET"  # one private secret for every secret-keyed scheme

#: The six permutations of (R, G, B), lexicographic; K4 draws an index into this table.
PERMUTATIONS_3 = np.array(list(itertools.permutations(range(3))), dtype=np.int64)

#: Transform id t = 4 * flip + quarter_turns: first mirror the block left-right if ``flip``,
#: then rotate it ``quarter_turns`` x 90 degrees counter-clockwise (``np.rot90``). These are
#: the 8 distinct symmetries of a square: the spec's 12 rotation x flip(none, horizontal,
#: vertical) pairs name only these 8 (a vertical flip is a horizontal flip turned 180 degrees),
#: so each distinct transform is drawn with probability 1/8.
TRANSFORMS = tuple((t // 4 == 1, t % 4) for t in range(8))


def reference_transform(rotate: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """The transform id (:data:`TRANSFORMS`) of the reference code's (rotation, flip) codes.

    Rotation code r: ``np.rot90`` by r + 1 quarter turns (code 3: none); then flip code f:
    0 up-down, 1 left-right, 2 none. A left-right mirror L after k quarter turns R^k is R^-k L;
    an up-down one is R^2 L after them, R^(2-k) L. So each rotation has one code pair and each
    reflection two.
    """
    turns = (np.asarray(rotate) + 1) % 4
    flip = np.asarray(flip)
    return np.where(flip == 2, turns, 4 + np.where(flip == 1, -turns, 2 - turns) % 4).astype(np.uint8)


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@dataclass(frozen=True, eq=False)
class EtcKey:
    """The four tables of one EtC key for images of ``grid * block_size`` pixels and ``channels``."""

    block_size: int
    grid: tuple[int, int]
    channels: int
    block_perm: np.ndarray  # (nb,) int64: encrypted block j holds plain block block_perm[j]
    transform: np.ndarray  # (nb,) uint8 in 0..7, see TRANSFORMS
    negate: np.ndarray  # (nb,) bool: block j is XORed with 255
    channel_perm: np.ndarray  # (nb, C) int64: encrypted channel c of block j is channel_perm[j, c]
    fingerprint: str  # keyed: from the secret at derivation (keystream.fingerprint), never from the tables
    version: str = ALGORITHM_VERSION
    draw: str = "project"  # --key-draw: "project" or "reference"

    def __post_init__(self) -> None:
        nb = self.blocks
        checks = [
            (self.block_perm.shape == (nb,) and np.array_equal(np.sort(self.block_perm), np.arange(nb)), "block_perm"),
            (self.transform.shape == (nb,) and bool(np.all(self.transform < 8)), "transform"),
            (self.negate.shape == (nb,) and self.negate.dtype == bool, "negate"),
            (
                self.channel_perm.shape == (nb, self.channels)
                and np.array_equal(np.sort(self.channel_perm, axis=1), np.broadcast_to(np.arange(self.channels), (nb, self.channels))),
                "channel_perm",
            ),
        ]
        for ok, name in checks:
            if not ok:
                raise PipelineError(f"EtC key table {name} does not fit {nb} blocks of {self.channels} channel(s)")

    @property
    def blocks(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the images this key encrypts."""
        return (self.grid[0] * self.block_size, self.grid[1] * self.block_size, self.channels)

    def describe(self) -> str:
        h, w, c = self.image_shape
        return f"{h}x{w}x{c}|block={self.block_size}"


def check_block_size(height: int, width: int, block_size: int) -> None:
    """Blocks must tile the image exactly (no padding), so encryption stays a bijection."""
    if block_size < 1 or height % block_size or width % block_size:
        valid = ", ".join(map(str, divisors(np.gcd(height, width))))
        raise PipelineError(f"block size {block_size} does not divide {height} x {width} images; valid block sizes: {valid}")


def derive_key(secret: bytes, image_shape: tuple[int, int, int], block_size: int = 16, draw: str = "project") -> EtcKey:
    """The EtC key of ``secret`` for (H, W, C) images and square blocks of ``block_size`` pixels."""
    height, width, channels = image_shape
    if channels not in (1, 3):
        raise PipelineError(f"EtC encrypts grey (1) or RGB (3) images, got {channels} channels")
    check_block_size(height, width, block_size)
    grid = (height // block_size, width // block_size)
    nb = grid[0] * grid[1]
    context = draw_context(shape_context(image_shape, block_size), draw)
    seed = key_seed(secret, ALGORITHM_VERSION, context)
    perm = Stream(seed, b"K1").permutations(nb)[0]
    if draw == "reference":
        codes = Stream(seed, b"K2").below_each(np.tile([4, 3], nb)).reshape(nb, 2)
        transform = reference_transform(codes[:, 0], codes[:, 1])
        negate = Stream(seed, b"K3").permutations(nb)[0] < nb // 2
    else:
        transform = Stream(seed, b"K2").below(8, nb).astype(np.uint8)
        negate = Stream(seed, b"K3").below(2, nb).astype(bool)
    if channels == 3:
        channel_perm = PERMUTATIONS_3[Stream(seed, b"K4").below(6, nb)]
    else:
        channel_perm = np.zeros((nb, 1), dtype=np.int64)
    return EtcKey(block_size, grid, channels, perm, transform, negate, channel_perm,
                  fingerprint(secret, "etc", ALGORITHM_VERSION, context), draw=draw)


def read_secret(key_file: str | Path | None = None) -> bytes:
    """The secret: the bytes of ``key_file`` if given, else ``$VORTEX_SECRET`` (its bytes, in any encoding).

    Surrounding whitespace (a trailing newline from an editor) is stripped. The message of
    an error names the source, never the secret.
    """
    if key_file is not None:
        path = Path(key_file)
        problem = path_problem(path)  # missing, or a FIFO that would block the read
        if problem:
            raise PipelineError(f"cannot read key file: {problem}")
        try:
            secret = path.read_bytes().strip()
        except OSError as err:
            raise PipelineError(f"cannot read key file {path}: {err.strerror}") from None
        source = f"key file {path}"
    elif os.environb.get(SECRET_ENV.encode()):
        secret = os.environb[SECRET_ENV.encode()].strip()  # the bytes as given: a secret need not be UTF-8
        source = f"${SECRET_ENV}"
    else:
        raise PipelineError(f"no secret: pass --key-seed N (a public benchmark key), --key-file PATH or set {SECRET_ENV}")
    if len(secret) < MIN_SECRET_BYTES:
        raise PipelineError(f"secret from {source} is {len(secret)} bytes; it must be at least {MIN_SECRET_BYTES}")
    return secret
