"""MATLAB's zlib stream, made on all cores.

MATLAB feeds an element to zlib (level 6, window 15, memory level 8) in 8 KiB chunks with a
full flush after every chunk but the last. A full flush empties the dictionary and aligns the
output to a byte, so each chunk's deflate output depends on that chunk alone: groups of chunks
are compressed independently (raw deflate, in threads: zlib releases the GIL) and placed
between the zlib header and the Adler-32 of the whole element. The bytes equal the sequential
stream's.

Nothing is joined: each thread reads its chunks straight from the element's parts (a chunk
that spans two parts is fed to zlib in two pieces, which gives the same output; a row-major
array's column-major bytes are made by the thread that compresses them), sums its own
Adler-32, and the pieces come back in order as soon as they are done, so the caller writes
early groups while later ones are still being compressed.
"""
from __future__ import annotations

import struct
import zlib
from typing import Iterable, Iterator

from matlab_compat import threads
from matlab_compat.column_bytes import Concatenation
from matlab_compat.format import ZLIB_CHUNK, ZLIB_LEVEL

#: Elements smaller than this are compressed in the calling thread.
PARALLEL_FROM = 1 << 20
_HEADER = b"\x78\x9c"   # deflate, 32 KiB window, level 6 (zlib's default-level header)
_ADLER_BASE = 65521


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """Adler-32 of A followed by B from the sums of A and of B (B of ``second_length`` bytes).

    Adler-32 is a pair (a, b) with a = 1 + sum of the bytes and b = sum of a over every prefix,
    both mod 65521; so a(AB) = a(A) + a(B) - 1 and b(AB) = b(A) + b(B) + len(B) (a(A) - 1).
    """
    a1, b1, a2, b2 = first & 0xFFFF, first >> 16, second & 0xFFFF, second >> 16
    a = (a1 + a2 - 1) % _ADLER_BASE
    b = (b1 + b2 + second_length * (a1 - 1)) % _ADLER_BASE
    return (b << 16) | a


def _deflate_chunks(element: Concatenation, first: int, stop: int, last: int) -> tuple[bytes, int]:
    """Raw deflate of chunks ``[first, stop)`` (every chunk full-flushed, chunk ``last``
    finished) and the Adler-32 of their bytes."""
    comp = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    base = first * ZLIB_CHUNK
    group = Concatenation(element.pieces(base, min(stop * ZLIB_CHUNK, element.size)))  # lazy parts made once
    out, adler = [], 1
    for i in range(first, stop):
        for piece in group.pieces(i * ZLIB_CHUNK - base, min((i + 1) * ZLIB_CHUNK, element.size) - base):
            out.append(comp.compress(piece))
            adler = zlib.adler32(piece, adler)
        out.append(comp.flush(zlib.Z_FINISH if i == last else zlib.Z_FULL_FLUSH))
    return b"".join(out), adler


def compress_matlab(parts: Iterable, workers: int | None = None) -> Iterator[bytes]:
    """MATLAB's zlib stream of the concatenated ``parts``, piece by piece in order (made on
    ``workers`` threads; default all the process may use)."""
    element = Concatenation(parts)
    count = max(1, -(-element.size // ZLIB_CHUNK))
    workers = workers or threads.workers()
    yield _HEADER
    if element.size < PARALLEL_FROM or workers == 1:
        body, adler = _deflate_chunks(element, 0, count, count - 1)
        yield body
    else:
        groups = min(count, workers * 16)
        bounds = [count * g // groups for g in range(groups + 1)]
        adler = 1
        done = threads.in_order(lambda g: _deflate_chunks(element, bounds[g], bounds[g + 1], count - 1),
                                range(groups), workers)
        for g, (body, group_adler) in enumerate(done):
            group_bytes = min(bounds[g + 1] * ZLIB_CHUNK, element.size) - bounds[g] * ZLIB_CHUNK
            adler = adler32_combine(adler, group_adler, group_bytes)
            yield body
    yield struct.pack(">I", adler)
