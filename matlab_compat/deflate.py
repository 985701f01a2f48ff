"""MATLAB's zlib stream, made on all cores.

MATLAB feeds an element to zlib (level 6, window 15, memory level 8) in 8 KiB chunks with a
full flush after every chunk but the last. A full flush empties the dictionary and aligns the
output to a byte, so each chunk's deflate output depends on that chunk alone: the chunks are
compressed independently (raw deflate, in threads: zlib releases the GIL) and joined between
the zlib header and the Adler-32 of the whole element. The bytes equal the sequential stream's.
"""
from __future__ import annotations

import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Iterable

from matlab_compat.format import ZLIB_CHUNK, ZLIB_LEVEL

#: Elements smaller than this are compressed in the calling thread.
PARALLEL_FROM = 1 << 20
_HEADER = b"\x78\x9c"   # deflate, 32 KiB window, level 6 (zlib's default-level header)


def _workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:      # not Linux
        return os.cpu_count() or 1


def _deflate_chunks(data: memoryview, first: int, stop: int, last: int) -> bytes:
    """Raw deflate of chunks ``[first, stop)``; every chunk full-flushed, chunk ``last`` finished."""
    comp = zlib.compressobj(ZLIB_LEVEL, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    out = []
    for i in range(first, stop):
        out.append(comp.compress(data[i * ZLIB_CHUNK:(i + 1) * ZLIB_CHUNK]))
        out.append(comp.flush(zlib.Z_FINISH if i == last else zlib.Z_FULL_FLUSH))
    return b"".join(out)


def compress_matlab(parts: Iterable, workers: int | None = None) -> list[bytes]:
    """MATLAB's zlib stream of the concatenated ``parts`` (on ``workers`` threads; default
    all the process may use)."""
    data = memoryview(b"".join(parts))
    count = max(1, -(-len(data) // ZLIB_CHUNK))
    workers = workers or _workers()
    if len(data) < PARALLEL_FROM or workers == 1:
        body = [_deflate_chunks(data, 0, count, count - 1)]
    else:
        groups = min(count, workers * 4)
        bounds = [count * g // groups for g in range(groups + 1)]
        with ThreadPoolExecutor(workers) as pool:
            body = list(pool.map(lambda g: _deflate_chunks(data, bounds[g], bounds[g + 1], count - 1),
                                 range(groups)))
    return [_HEADER, *body, struct.pack(">I", zlib.adler32(data))]
