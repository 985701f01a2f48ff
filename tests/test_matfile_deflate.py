"""MATLAB's zlib stream made on several threads equals the one-thread stream, byte for byte."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from matlab_compat.deflate import PARALLEL_FROM, compress_matlab


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
