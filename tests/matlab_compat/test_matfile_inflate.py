"""MATLAB's zlib stream inflated on several threads: what it accepts is exactly what zlib
reads from the whole stream (the oracle), and anything it cannot verify is left to the
one-thread path, which then reads the file as before."""
from __future__ import annotations

import collections
import os
import zlib

import numpy as np
import pytest
import scipy.io

from matlab_compat import MatFileError, loadmat, savemat, threads
from matlab_compat.deflate import compress_matlab
from matlab_compat.inflate import MARKER, PARALLEL_FROM, cut_points, inflate_into


def image_like(size: int, seed: int = 0) -> bytes:
    """Bytes that compress like image data (runs and small steps), ``size`` of them."""
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.integers(-3, 4, size), dtype=np.int64).astype(np.uint8).tobytes()


def checked(stream: bytes, size: int, count: int) -> bool:
    """inflate_into's verdict; whenever it accepts, ``out`` equals zlib's reading of the whole
    stream and zlib finds the stream valid."""
    out = np.zeros(size, np.uint8)
    accepted = inflate_into(stream, out, count)
    if accepted:
        assert out.tobytes() == zlib.decompress(stream)
    return accepted


@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("size", [PARALLEL_FROM * 3, PARALLEL_FROM * 3 + 8192 * 5 + 11])
def test_matlab_stream_is_read_on_threads(size, count):
    data = image_like(size)
    stream = b"".join(compress_matlab([data]))
    assert len(cut_points(stream, 8 * count)) > 1
    assert checked(stream, size, count)


def test_wrong_expected_length_is_refused():
    data = image_like(PARALLEL_FROM * 4)
    stream = b"".join(compress_matlab([data]))
    assert not checked(stream, len(data) - 1, 2)
    assert not checked(stream, len(data) + 1, 2)


def test_headers_zlib_refuses_are_left_to_one_thread():
    """A window over 32 KiB (CINFO 8) or a preset dictionary: zlib refuses these headers, so the
    threads (raw inflate, which never sees the header) must not read past them."""
    data = image_like(PARALLEL_FROM * 3, seed=8)
    body = b"".join(compress_matlab([data]))[2:]
    for cmf, fdict in ((0x88, 0), (0x78, 0x20)):
        flg = next(f for f in range(256) if f & 0x20 == fdict and (cmf * 256 + f) % 31 == 0)
        stream = bytes([cmf, flg]) + body
        with pytest.raises(zlib.error):
            zlib.decompress(stream)
        assert not checked(stream, len(data), 2)


def test_streams_without_full_flushes_are_left_to_one_thread():
    data = image_like(PARALLEL_FROM * 4, seed=1)
    assert not checked(zlib.compress(data), len(data), 2)      # scipy's stream: no flush points
    # sync flushes look like full flushes but keep the dictionary: matches reach back over them
    comp = zlib.compressobj(6)
    block = data[:8192]
    stream = b"".join(comp.compress(block) + comp.flush(zlib.Z_SYNC_FLUSH) for _ in range(600))
    stream += comp.flush()
    assert MARKER in stream[2:]
    assert not checked(stream, 8192 * 600, 2)


def test_mutated_streams_are_accepted_only_when_zlib_agrees():
    """Bit flips, fake markers, cut or extended ends and a wrong checksum, 120 cases."""
    data = image_like(PARALLEL_FROM * 2, seed=2)
    stream = b"".join(compress_matlab([data]))
    rng = np.random.default_rng(3)
    verdicts = []
    for case in range(120):
        mutated = bytearray(stream)
        kind = case % 4
        if kind == 0:       # bit flips anywhere past the header
            for at in rng.integers(2, len(mutated), 2):
                mutated[at] ^= 1 << int(rng.integers(8))
        elif kind == 1:     # a fake flush marker inside coded data
            at = int(rng.integers(2, len(mutated) - 8))
            mutated[at:at + 4] = MARKER
        elif kind == 2:     # the Adler-32 trailer changed
            mutated[-1 - int(rng.integers(4))] ^= 0x10
        else:               # the stream cut short or given trailing bytes
            mutated = mutated[:-int(rng.integers(1, 64))] if case % 8 == 3 else mutated + b"\x00" * 8
        verdicts.append(checked(bytes(mutated), len(data), 2))
    assert not all(verdicts) and any(verdicts)   # both outcomes are exercised
    assert not any(verdicts[2::4])               # a wrong checksum is never accepted


def test_threaded_read_of_a_big_variable_equals_scipys(tmp_path):
    rng = np.random.default_rng(4)
    images = np.cumsum(rng.integers(-2, 3, (3000, 784)), axis=1).astype(np.uint8)
    variables = {"X": images.astype(np.float64), "y": images[:, :5].astype(np.int16)}
    ours, theirs = tmp_path / "ours.mat", tmp_path / "scipy.mat"
    savemat(ours, variables)
    scipy.io.savemat(theirs, variables, do_compression=True)    # one stream, no flush points
    assert ours.stat().st_size > PARALLEL_FROM                 # big enough to go to the threads
    for path in (ours, theirs):
        back, reference = loadmat(path), scipy.io.loadmat(path, mat_dtype=True)
        for name, value in variables.items():
            assert back[name].dtype == reference[name].dtype == value.dtype
            assert np.array_equal(back[name], value) and np.array_equal(reference[name], value)


@pytest.mark.parametrize("source, target", [("<u1", "f8"), (">i2", "f8"), ("<f4", "i4"), ("<i4", "f4")])
def test_threaded_astype_equals_numpys(source, target):
    values = np.random.default_rng(5).integers(-300, 300, threads.CONVERT_PARALLEL_FROM // 2 + 7)
    values = values.astype(source)
    converted = threads.astype(values, np.dtype(target), count=3)
    assert converted.dtype == np.dtype(target) and np.array_equal(converted, values.astype(target))


def test_in_order_keeps_order_and_stops_early():
    assert list(threads.in_order(lambda x: x * x, range(50), 3)) == [x * x for x in range(50)]
    started = []
    results = threads.in_order(started.append, range(1000), 2)
    next(results)
    results.close()
    assert len(started) <= 4       # the first, and at most count + 1 ahead


def outcome(path) -> tuple[str, object]:
    """('value', the variables) or ('error', the message) of loading ``path``."""
    try:
        return "value", loadmat(path)
    except MatFileError as exc:
        return "error", str(exc)


def test_mutated_big_files_read_alike_on_all_cores_and_on_one(tmp_path):
    """60 damaged copies of a file whose variable goes to the threads: each ends in the same
    value or the same MatFileError as when the process may use one core only (one-thread path)."""
    rng = np.random.default_rng(6)
    images = np.cumsum(rng.integers(-2, 3, (2500, 784)), axis=1).astype(np.uint8)
    source = tmp_path / "source.mat"
    savemat(source, {"X": images})
    raw = source.read_bytes()
    assert len(raw) > PARALLEL_FROM
    cores = os.sched_getaffinity(0)
    kinds = collections.Counter()
    for case in range(60):
        mutated = bytearray(raw)
        if case % 3 == 0:
            mutated = mutated[:int(rng.integers(200, len(mutated)))]
        else:
            for at in rng.integers(128, len(mutated), 1 + case % 3):
                mutated[at] ^= 1 << int(rng.integers(8))
        path = tmp_path / "case.mat"
        path.write_bytes(bytes(mutated))
        threaded = outcome(path)
        os.sched_setaffinity(0, {min(cores)})
        try:
            single = outcome(path)
        finally:
            os.sched_setaffinity(0, cores)
        assert threaded[0] == single[0], case
        if threaded[0] == "error":
            assert threaded[1] == single[1]
        else:
            assert np.array_equal(threaded[1]["X"], single[1]["X"])
        kinds[threaded[0]] += 1
    assert kinds["error"] and kinds["value"]      # both outcomes exercised (51 and 9 with these seeds)
