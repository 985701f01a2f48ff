"""The IDX file format of MNIST and Fashion-MNIST, read into numpy arrays.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in row-major order.
Both datasets use type code 0x08 (unsigned byte) only, so that is the one type accepted.
Files may be gzip-compressed (the official downloads) or plain (a decompressed mirror).
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from workbench.errors import WorkbenchError

UBYTE = 0x08
GZIP_MAGIC = b"\x1f\x8b"


def decompress(raw: bytes, where: str) -> bytes:
    """``raw`` decompressed when it is gzip (recognised by its magic, not its name), else as it is."""
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise WorkbenchError(f"{where}: corrupt or truncated gzip data ({err})") from err


def read_content(path: str | Path) -> bytes:
    """The content of ``path``: its bytes, decompressed when it is gzip."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise WorkbenchError(f"{path}: cannot read ({err.strerror or err})") from err
    return decompress(raw, str(path))


def parse_idx(content: bytes, where: str) -> np.ndarray:
    """The uint8 array held by IDX ``content``; ``where`` names the file in error messages."""
    if len(content) < 4:
        raise WorkbenchError(f"{where}: not an IDX file (only {len(content)} bytes)")
    zero, dtype_code, ndim = content[:2], content[2], content[3]
    if zero != b"\x00\x00" or ndim == 0:
        raise WorkbenchError(f"{where}: not an IDX file (magic {content[:4].hex()})")
    if dtype_code != UBYTE:
        raise WorkbenchError(f"{where}: IDX type code 0x{dtype_code:02x}, expected 0x08 (unsigned byte)")
    header_end = 4 + 4 * ndim
    if len(content) < header_end:
        raise WorkbenchError(f"{where}: IDX header truncated ({len(content)} bytes, {ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(content, dtype=">u4", count=ndim, offset=4))
    expected = header_end + int(np.prod(shape, dtype=np.int64))
    if len(content) != expected:
        raise WorkbenchError(
            f"{where}: IDX header says shape {shape} ({expected} bytes) but the file holds {len(content)} bytes"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_end).reshape(shape)


def read_idx(path: str | Path) -> np.ndarray:
    """The uint8 array of an IDX file, gzip-compressed or plain."""
    return parse_idx(read_content(path), str(path))
