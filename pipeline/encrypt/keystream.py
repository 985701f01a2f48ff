"""Key tables from a secret: an HMAC seed, counter-mode SHA-256 streams, and a keyed fingerprint.

Every secret-keyed scheme (EtC, block scrambling, PE, LE, ELE) draws its tables here, so the
tables are the same on every machine and with any NumPy version::

    seed        = HMAC-SHA256(key=secret, msg="<version>|<context>")
    stream(T)   = SHA-256(seed || T || counter as 8-byte big-endian), counter = 0, 1, ... concatenated
    below(n)    = next 4 bytes of the stream as a big-endian u; redraw while
                  u >= 2**32 - 2**32 % n; return u % n                         (unbiased)
    bits(k)     = the next ceil(k / 8) bytes, most significant bit first, the first k bits
    fingerprint = HMAC-SHA256(key=secret, msg="fingerprint|<scheme>|<version>|<context>"), 16 hex digits

The fingerprint comes from the secret, not from the tables: it names a key beside its outputs
without letting anyone test guesses of the tables against it (a hash of the tables would).
"""
from __future__ import annotations

import hashlib
import hmac
import math

import numpy as np

from pipeline.errors import PipelineError

MIN_SECRET_BYTES = 16
_WORD = 2**32


def check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
        got = len(secret) if isinstance(secret, bytes) else type(secret).__name__
        raise PipelineError(f"the secret must be at least {MIN_SECRET_BYTES} bytes, got {got}")


def key_seed(secret: bytes, version: str, context: str) -> bytes:
    """The HMAC seed of all of a key's streams."""
    check_secret(secret)
    return hmac.new(secret, f"{version}|{context}".encode(), hashlib.sha256).digest()


def fingerprint(secret: bytes, scheme: str, version: str, context: str) -> str:
    """The keyed fingerprint recorded beside outputs: 16 hex digits of an HMAC of the secret."""
    check_secret(secret)
    return hmac.new(secret, f"fingerprint|{scheme}|{version}|{context}".encode(), hashlib.sha256).hexdigest()[:16]


def shape_context(shape: tuple[int, int, int], block_size: int) -> str:
    """The part of a key's HMAC messages that names what it encrypts: ``32x32x3|block=16``."""
    h, w, c = shape
    return f"{h}x{w}x{c}|block={block_size}"


def draw_context(context: str, draw: str) -> str:
    """A key's context with its ``--key-draw``: unchanged for the project's draw (its keys and outputs stay as they were)."""
    return context if draw == "project" else f"{context}|draw={draw}"


class Stream:
    """Counter-mode SHA-256 byte stream of one table, with unbiased integers below n and bits."""

    def __init__(self, seed: bytes, table: bytes) -> None:
        self._prefix = seed + table
        self._counter = 0
        self._buffer = b""

    def take(self, count: int) -> bytes:
        """The next ``count`` bytes of the stream."""
        missing = count - len(self._buffer)
        if missing > 0:
            start, blocks = self._counter, -(-missing // 32)
            self._buffer += b"".join(hashlib.sha256(self._prefix + c.to_bytes(8, "big")).digest()
                                     for c in range(start, start + blocks))
            self._counter += blocks
        out, self._buffer = self._buffer[:count], self._buffer[count:]
        return out

    def below_each(self, moduli: np.ndarray) -> np.ndarray:
        """``[below(n) for n in moduli]`` in that order, drawn a whole batch of words at a time.

        A word at or above its limit is rejected and the next word is tried for the same
        modulus; the words drawn after a rejected one go back to the stream, so the values are
        exactly those of the one-at-a-time definition.
        """
        moduli = np.asarray(moduli, dtype=np.uint64).reshape(-1)
        if moduli.size and moduli.min() < 1:
            raise PipelineError("below(n) needs n >= 1")
        out = np.empty(moduli.size, dtype=np.int64)
        done = 0
        while done < moduli.size:
            todo = moduli[done:]
            words = np.frombuffer(self.take(4 * todo.size), dtype=">u4").astype(np.uint64)
            rejected = np.flatnonzero(words >= _WORD - _WORD % todo)
            good = rejected[0] if rejected.size else todo.size
            out[done:done + good] = words[:good] % todo[:good]
            done += good
            if rejected.size:  # word `good` is spent; the ones after it are drawn again
                self._buffer = words[good + 1:].astype(">u4").tobytes() + self._buffer
        return out

    def below(self, n: int, count: int | None = None) -> int | np.ndarray:
        """One unbiased integer in 0..n-1, or ``count`` of them as an array."""
        values = self.below_each(np.full(1 if count is None else count, n))
        return int(values[0]) if count is None else values

    def bits(self, count: int) -> np.ndarray:
        """``count`` bools, most significant bit of each byte first."""
        return np.unpackbits(np.frombuffer(self.take(-(-count // 8)), dtype=np.uint8), count=count).astype(bool)

    def permutations(self, size: int, count: int = 1) -> np.ndarray:
        """(count, size) Fisher-Yates permutations: p = 0..size-1; for i = size-1 down to 1: swap p[i], p[below(i+1)]."""
        swaps = self.below_each(np.tile(np.arange(size, 1, -1), count)).reshape(count, max(size - 1, 0))
        perms = np.tile(np.arange(size, dtype=np.int64), (count, 1))
        rows = np.arange(count)
        for step, i in enumerate(range(size - 1, 0, -1)):  # swaps are sequential; vectorised over the keys
            j = swaps[:, step]
            perms[rows, i], perms[rows, j] = perms[rows, j], perms[rows, i].copy()
        return perms


def log2_factorial(n: int) -> float:
    """log2(n!) (through lgamma): the size of a permutation table in bits."""
    return math.lgamma(n + 1) / math.log(2)


def log2_choose(n: int, k: int) -> float:
    """log2 of n choose k: the number of ways to negate exactly k of n values, in bits."""
    return log2_factorial(n) - log2_factorial(k) - log2_factorial(n - k)
