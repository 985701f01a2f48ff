"""MATLAB's zlib stream made on several threads equals the one-thread stream, byte for byte."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from matlab_compat.deflate import PARALLEL_FROM, adler32_combine, compress_matlab


def reference_stream(data: bytes) -> bytes:
    """MATLAB's stream as the spec describes it: one zlib stream, 8 KiB chunks, full flushes."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY)
    chunks = [data[i:i + 8192] for i in range(0, len(data), 8192)] or [b""]
    out = [comp.compress(c) + comp.flush(zlib.Z_FULL_FLUSH) for c in chunks[:-1]]
    return b"".join(out) + comp.compress(chunks[-1]) + comp.flush(zlib.Z_FINISH)


@pytest.mark.parametrize("size", [1, 8191, 8192, 8193, PARALLEL_FROM + 8192 * 7 + 5])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_parallel_stream_equals_the_sequential_one(size, workers):
    rng = np.random.default_rng(size)
    data = np.repeat(rng.integers(0, 40, size // 4 + 1, dtype=np.uint8), 4)[:size].tobytes()
    parts = [data[:size // 3], data[size // 3:]]         # part boundaries are not chunk boundaries
    stream = b"".join(compress_matlab(parts, workers=workers))
    assert stream == reference_stream(data)
    assert zlib.decompress(stream) == data


@pytest.mark.parametrize("lengths", [(1, 2), (5000, 8192, 3), (0, 70000), (123456, 0, 7)])
def test_adler32_combine_equals_the_sum_of_the_whole(lengths):
    rng = np.random.default_rng(sum(lengths))
    pieces = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in lengths]
    combined = zlib.adler32(pieces[0])
    for piece in pieces[1:]:
        combined = adler32_combine(combined, zlib.adler32(piece), len(piece))
    assert combined == zlib.adler32(b"".join(pieces))


def test_parts_of_every_kind_and_boundary_give_the_joined_stream():
    """Parts cut anywhere (empty ones, chunks spanning three parts, numpy views) make the bytes
    of their concatenation."""
    rng = np.random.default_rng(7)
    data = np.repeat(rng.integers(0, 30, PARALLEL_FROM // 2, dtype=np.uint8), 3)
    cuts = sorted(rng.integers(0, data.size, 40)) + [8192 * 5 + 1, 8192 * 5 + 2]
    parts = [data[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), data.size])]
    stream = b"".join(compress_matlab(parts, workers=3))
    assert stream == reference_stream(data.tobytes())
