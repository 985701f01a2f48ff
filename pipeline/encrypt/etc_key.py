"""EtC keys: the four block tables, derived deterministically from one secret.

The secret (at least :data:`MIN_SECRET_BYTES` bytes) comes from a key file or the environment
variable :data:`SECRET_ENV`; it is never logged or written anywhere. Outputs record only the
key's :attr:`EtcKey.fingerprint` and :data:`ALGORITHM_VERSION`.

Derivation (version ``etc-1``; plain SHA-256/HMAC, so identical on every machine and with any
NumPy version)::

    seed      = HMAC-SHA256(key=secret, msg="etc-1|<H>x<W>x<C>|block=<B>")
    stream(T) = SHA-256(seed || T || counter as 8-byte big-endian), counter = 0, 1, ...
                concatenated, for the table names T = b"K1", b"K2", b"K3", b"K4"
    below(n)  = next 4 bytes of the stream as a big-endian u; redraw while
                u >= 2**32 - 2**32 % n; return u % n            (unbiased)

    K1 block_perm:   Fisher-Yates: p = 0..nb-1; for i = nb-1 down to 1: swap p[i], p[below(i+1)]
    K2 transform:    below(8) per block (see :data:`TRANSFORMS`)
    K3 negate:       below(2) per block
    K4 channel_perm: PERMUTATIONS_3[below(6)] per block (RGB only; identity for grey)

Blocks are numbered row by row over the ``grid`` (rows, cols) of the encrypted image; entry j
of every table describes the block at position j of the encrypted image.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError

ALGORITHM_VERSION = "etc-1"
SECRET_ENV = "VORTEX_ETC_SECRET"
MIN_SECRET_BYTES = 16

#: The six permutations of (R, G, B), lexicographic; K4 draws an index into this table.
PERMUTATIONS_3 = np.array(list(itertools.permutations(range(3))), dtype=np.int64)

#: Transform id t = 4 * flip + quarter_turns: first mirror the block left-right if ``flip``,
#: then rotate it ``quarter_turns`` x 90 degrees counter-clockwise (``np.rot90``). These are
#: the 8 distinct symmetries of a square: the spec's 12 rotation x flip(none, horizontal,
#: vertical) pairs name only these 8 (a vertical flip is a horizontal flip turned 180 degrees),
#: so each distinct transform is drawn with probability 1/8.
TRANSFORMS = tuple((t // 4 == 1, t % 4) for t in range(8))


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

    @cached_property
    def fingerprint(self) -> str:
        """First 16 hex digits of SHA-256 over the version, the shape and the four tables."""
        h = hashlib.sha256(f"{ALGORITHM_VERSION}|{self.describe()}|".encode())
        for table in (self.block_perm.astype("<i8"), self.transform.astype("u1"), self.negate.astype("u1"), self.channel_perm.astype("<i8")):
            h.update(table.tobytes())
        return h.hexdigest()[:16]

    def describe(self) -> str:
        h, w, c = self.image_shape
        return f"{h}x{w}x{c}|block={self.block_size}"


def check_block_size(height: int, width: int, block_size: int) -> None:
    """Blocks must tile the image exactly (no padding), so encryption stays a bijection."""
    if block_size < 1 or height % block_size or width % block_size:
        valid = ", ".join(map(str, divisors(np.gcd(height, width))))
        raise PipelineError(f"block size {block_size} does not divide {height} x {width} images; valid block sizes: {valid}")


class _Stream:
    """Counter-mode SHA-256 byte stream of one table, with unbiased integers below n."""

    def __init__(self, seed: bytes, table: bytes) -> None:
        self._prefix = seed + table
        self._counter = 0
        self._buffer = b""

    def _take(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._buffer += hashlib.sha256(self._prefix + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        out, self._buffer = self._buffer[:count], self._buffer[count:]
        return out

    def below(self, n: int) -> int:
        limit = 2**32 - 2**32 % n
        while True:
            u = int.from_bytes(self._take(4), "big")
            if u < limit:
                return u % n


def derive_key(secret: bytes, image_shape: tuple[int, int, int], block_size: int = 16) -> EtcKey:
    """The EtC key of ``secret`` for (H, W, C) images and square blocks of ``block_size`` pixels."""
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
        got = len(secret) if isinstance(secret, bytes) else type(secret).__name__
        raise PipelineError(f"EtC secret must be at least {MIN_SECRET_BYTES} bytes, got {got}")
    height, width, channels = image_shape
    if channels not in (1, 3):
        raise PipelineError(f"EtC encrypts grey (1) or RGB (3) images, got {channels} channels")
    check_block_size(height, width, block_size)
    grid = (height // block_size, width // block_size)
    nb = grid[0] * grid[1]
    seed = hmac.new(secret, f"{ALGORITHM_VERSION}|{height}x{width}x{channels}|block={block_size}".encode(), hashlib.sha256).digest()

    k1 = _Stream(seed, b"K1")
    perm = list(range(nb))
    for i in range(nb - 1, 0, -1):
        j = k1.below(i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    k2, k3 = _Stream(seed, b"K2"), _Stream(seed, b"K3")
    transform = np.array([k2.below(8) for _ in range(nb)], dtype=np.uint8)
    negate = np.array([k3.below(2) for _ in range(nb)], dtype=bool)
    if channels == 3:
        k4 = _Stream(seed, b"K4")
        channel_perm = PERMUTATIONS_3[[k4.below(6) for _ in range(nb)]]
    else:
        channel_perm = np.zeros((nb, 1), dtype=np.int64)
    return EtcKey(block_size, grid, channels, np.array(perm, dtype=np.int64), transform, negate, channel_perm)


def read_secret(key_file: str | Path | None = None) -> bytes:
    """The secret: the bytes of ``key_file`` if given, else ``$VORTEX_ETC_SECRET`` (its bytes, in any encoding).

    Surrounding whitespace (a trailing newline from an editor) is stripped. The message of
    an error names the source, never the secret.
    """
    if key_file is not None:
        path = Path(key_file)
        try:
            secret = path.read_bytes().strip()
        except OSError as err:
            raise PipelineError(f"cannot read EtC key file {path}: {err.strerror}") from None
        source = f"key file {path}"
    elif os.environb.get(SECRET_ENV.encode()):
        secret = os.environb[SECRET_ENV.encode()].strip()  # the bytes as given: a secret need not be UTF-8
        source = f"${SECRET_ENV}"
    else:
        raise PipelineError(f"no EtC secret: pass --key-file PATH or set {SECRET_ENV}")
    if len(secret) < MIN_SECRET_BYTES:
        raise PipelineError(f"EtC secret from {source} is {len(secret)} bytes; it must be at least {MIN_SECRET_BYTES}")
    return secret
