"""MATLAB's zlib stream, read on all cores.

MATLAB (and :mod:`matlab_compat.deflate`) full-flushes the stream after every 8 KiB of input: the
output is then byte-aligned, followed by an empty stored block (the bytes ``00 00 FF FF``), and
nothing after it refers back to what came before. Cut just after such markers, the stream's
pieces inflate independently (raw inflate, in threads: zlib releases the GIL).

The same four bytes also occur by chance inside coded data, and other writers' sync flushes look
alike but keep the dictionary. A cut in the wrong place shows as a zlib error, a piece that ends
short or overruns, a total that is not the expected length or an Adler-32 that differs from the
stream's trailer; then :func:`inflate_into` reports failure and the caller inflates on one
thread. What it accepts is the zlib stream's whole, verified content.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

from matlab_compat import threads
from matlab_compat.deflate import adler32_combine
from matlab_compat.format import ZLIB_MAX_RATIO

#: Compressed streams shorter than this are inflated on one thread.
PARALLEL_FROM = 1 << 20
MARKER = b"\x00\x00\xff\xff"   # the empty stored block a full flush ends with


def worth_threads(compressed: int) -> bool:
    """Whether a stream of ``compressed`` bytes should go to :func:`inflate_into`: big enough,
    and more than one core (decided before the caller reads the whole stream)."""
    return compressed >= PARALLEL_FROM and threads.workers() > 1


def cut_points(stream: bytes, pieces: int) -> list[int]:
    """Offsets in ``stream`` just after a flush marker, about evenly spread (at most
    ``pieces - 1`` of them), after the 2-byte zlib header."""
    cuts, start = [], 2
    for k in range(1, pieces):
        at = stream.find(MARKER, max(len(stream) * k // pieces, start))
        if at < 0 or at + 4 >= len(stream):
            break
        start = at + 4
        cuts.append(start)
    return cuts


def inflate_into(stream: bytes, out: np.ndarray, count: int | None = None) -> bool:
    """Inflate the zlib ``stream`` into the uint8 array ``out`` on ``count`` threads; True when
    the stream's content is exactly ``len(out)`` bytes and its Adler-32 checks. False when the
    stream cannot be cut or a check fails (``out`` is then partly written)."""
    count = count or threads.workers()
    cmf_flg = stream[:2]
    if (len(cmf_flg) < 2 or cmf_flg[0] & 0x0F != 8 or cmf_flg[0] >> 4 > 7
            or int.from_bytes(cmf_flg, "big") % 31 or cmf_flg[1] & 0x20):
        return False          # not a plain zlib header (method, window, dictionary)
    cuts = cut_points(stream, 8 * count)
    if not cuts:
        return False
    bounds = [2, *cuts, len(stream)]
    view = memoryview(stream)

    def piece(k: int):
        dec = zlib.decompressobj(-15)
        segment = view[bounds[k]:bounds[k + 1]]
        try:
            data = dec.decompress(segment, min(len(out), len(segment) * ZLIB_MAX_RATIO + 64))
        except zlib.error:
            return None
        return data, zlib.adler32(data), dec

    filled, adler = 0, 1
    pieces = threads.in_order(piece, range(len(bounds) - 1), count)
    try:
        for k, done in enumerate(pieces):
            if done is None:
                return False
            data, piece_adler, dec = done
            last = k == len(bounds) - 2
            if dec.unconsumed_tail or dec.eof != last or filled + len(data) > len(out):
                return False
            out[filled:filled + len(data)] = np.frombuffer(data, np.uint8)
            filled += len(data)
            adler = adler32_combine(adler, piece_adler, len(data))
            if last:
                trailer = dec.unused_data[:4]
                return filled == len(out) and len(trailer) == 4 and struct.unpack(">I", trailer)[0] == adler
    finally:
        pieces.close()
    return False
