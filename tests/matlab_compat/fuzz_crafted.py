"""Crafted MAT-files: the structures an attacker builds, and a bounded run of the reader on them.

Random mutations (tests/matlab_compat/test_matfile_fuzz.py, tests/matlab_compat/test_matfile_corpus_fuzz.py) rarely make a
file that is valid yet expensive; these builders do, on purpose: v7.3 reference DAGs, external
storage, external and soft links, virtual datasets, unknown filters, v7 compact-storage, UTF-8,
zlib and cell bombs, v4 sparse headers. Compressed bombs are built from one deflate block of a
repeated 1 MiB chunk (cut by full flushes, as MATLAB's streams are), so a 1 GB bomb costs
milliseconds to make. :func:`run_bounded` runs the reader in a forked child under an
address-space limit and a timeout and reports value / MatFileError / other, time and peak memory.

Long run (not CI)::

    python -m tests.matlab_compat.fuzz_crafted --cases 3000 [--seed 0] [--memory-mb 1024] [--timeout 20]
"""
from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import resource
import select
import signal
import struct
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from matlab_compat import MatFileError, loadmat
from matlab_compat.deflate import adler32_combine
from matlab_compat.header import DEFAULT_TEXT, DEFAULT_TEXT_73, Header

MIB = 1 << 20
miINT8, miUINT8, miINT32, miUINT32, miDOUBLE, miMATRIX, miCOMPRESSED, miUTF8 = 1, 2, 5, 6, 9, 14, 15, 16
mxCELL, mxSTRUCT, mxCHAR, mxSPARSE, mxDOUBLE, mxUINT8 = 1, 2, 4, 5, 6, 9
_REF_NAME = h5py.vlen_dtype(np.dtype("S1"))


# --- v5 / v7 elements ------------------------------------------------------------------------

def element(type_: int, data: bytes) -> bytes:
    """A full-tag data element, padded to 8 bytes."""
    return struct.pack("<II", type_, len(data)) + data + bytes(-len(data) % 8)


def array_head(cls: int, dims, name: str = "", nzmax: int = 0) -> bytes:
    """Array flags, dimensions and name of a miMATRIX element."""
    return (element(miUINT32, struct.pack("<II", cls, nzmax))
            + element(miINT32, struct.pack(f"<{len(dims)}i", *dims))
            + element(miINT8, name.encode()))


def v5_file(*variables: bytes) -> bytes:
    return Header(DEFAULT_TEXT, "7").to_bytes() + b"".join(variables)


@functools.lru_cache(maxsize=64)
def _raw_block(data: bytes) -> bytes:
    """``data`` as raw deflate ending in a full flush: independent of what precedes it."""
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush(zlib.Z_FULL_FLUSH)


def compressed_variable(head: bytes, unit: bytes, count: int, tail: bytes = b"") -> bytes:
    """A miCOMPRESSED variable holding ``head`` (the miMATRIX tag included), ``unit`` repeated
    ``count`` times and ``tail``, streamed about 1 MiB at a time."""
    per = max(1, MIB // len(unit))
    full, rest = divmod(count, per)
    stream, adler = [b"\x78\x9c"], 1
    for data, times in ((head, 1), (unit * per, full), (unit * rest, 1), (tail, 1)):
        if not data or not times:
            continue
        stream.append(_raw_block(data) * times)
        piece = zlib.adler32(data)
        for _ in range(times):
            adler = adler32_combine(adler, piece, len(data))
    stream.append(b"\x03\x00" + struct.pack(">I", adler))
    body = b"".join(stream)
    return struct.pack("<II", miCOMPRESSED, len(body)) + body


def matrix_tag(size: int) -> bytes:
    return struct.pack("<II", miMATRIX, size)


def compact_bomb(n: int, name: str = "x") -> bytes:
    """A 1 x n double stored compactly as n uint8 zeros: 1 byte in the stream, 8 in memory."""
    head = array_head(mxDOUBLE, (1, n), name) + struct.pack("<II", miUINT8, n)
    return v5_file(compressed_variable(matrix_tag(len(head) + n + (-n % 8)) + head, b"\0", n + (-n % 8)))


def utf8_bomb(n: int, chars: int | None = None, name: str = "s") -> bytes:
    """A 1 x chars char array (default n) stored as n UTF-8 bytes 'a'."""
    chars = n if chars is None else chars
    head = array_head(mxCHAR, (1, chars), name) + struct.pack("<II", miUTF8, n)
    pad = -n % 8
    return v5_file(compressed_variable(matrix_tag(len(head) + n + pad) + head, b"a", n, bytes(pad)))


def zlib_bomb(n: int, valid: bool = True, name: str = "z") -> bytes:
    """n zeros under a miMATRIX tag: a 1 x n uint8 array, or (not valid) no array head at all."""
    dims = (1, n) if n < 2**31 else (2, n // 2)
    n = dims[0] * dims[1]
    head = array_head(mxUINT8, dims, name) + struct.pack("<II", miUINT8, n) if valid else b""
    size = len(head) + n + (-n % 8)
    return v5_file(compressed_variable(matrix_tag(size) + head, b"\0", n + (-n % 8)))


def cell_bomb(n: int, fields: int = 0, name: str = "c") -> bytes:
    """A 1 x n cell (or struct with ``fields`` fields) of unassigned elements (8 bytes each)."""
    if fields:
        names = b"".join(f"f{i}".encode().ljust(8, b"\0") for i in range(fields))
        head = (array_head(mxSTRUCT, (1, n), name) + struct.pack("<HHi", miINT32, 4, 8)
                + element(miINT8, names))
    else:
        head = array_head(mxCELL, (1, n), name)
    count = n * max(fields, 1)
    return v5_file(compressed_variable(matrix_tag(len(head) + 8 * count) + head, matrix_tag(0), count))


def v5_sparse_columns(cols: int, name: str = "p") -> bytes:
    """A 1 x cols sparse matrix with no entries: cols + 1 zero column starts, compressed."""
    jc = 4 * (cols + 1)
    head = (array_head(mxSPARSE | 0x1000, (1, cols), name, nzmax=1)
            + element(miINT32, bytes(4)) + struct.pack("<II", miINT32, jc))
    tail = bytes(-jc % 8) + element(miDOUBLE, b"")
    return v5_file(compressed_variable(matrix_tag(len(head) + jc + len(tail)) + head, b"\0", jc, tail))


def v4_sparse(rows: int, cols: int, triplets: int = 0, name: str = "x") -> bytes:
    """A v4 sparse variable: ``triplets`` entries (1, 1, 1.0) and the size row (rows, cols)."""
    data = np.zeros((triplets + 1, 3))
    data[:triplets] = (1, 1, 1.0)
    data[-1] = (rows, cols, 0)
    raw_name = name.encode() + b"\0"
    return (struct.pack("<5i", 2, triplets + 1, 3, 0, len(raw_name)) + raw_name
            + data.tobytes(order="F"))


# --- v7.3 ------------------------------------------------------------------------------------

def _v73(path: Path, build) -> Path:
    with h5py.File(path, "w", userblock_size=512, libver="earliest") as f:
        build(f)
    with open(path, "r+b") as fh:
        fh.write(Header(DEFAULT_TEXT_73, "7.3").to_bytes())
    return path


def _cls(node, name: str):
    node.attrs["MATLAB_class"] = np.bytes_(name.encode())
    return node


def _fields(group, names) -> None:
    attr = np.empty(len(names), dtype=_REF_NAME)
    for i, n in enumerate(names):
        attr[i] = np.frombuffer(n.encode(), "S1")
    group.attrs.create("MATLAB_fields", attr, dtype=_REF_NAME)


def v73_dag(path: Path, depth: int, branch: int, kind: str = "cell", shared: bool = True) -> Path:
    """Nested cells (or struct arrays) ``depth`` deep, each of ``branch`` references: all to the
    same next level (shared: branch ** depth paths through depth objects), or to copies.
    ``kind`` "group": 1x1 structs whose ``branch`` fields are hard links to the next level."""
    if kind == "group":
        return _v73(path, lambda f: _group_dag(f, depth, branch, shared))

    def build(f):
        refs = f.create_group("#refs#")
        serial = iter(range(10**9))

        def level(d: int):
            if d == 0:
                return _cls(refs.create_dataset(f"l{next(serial)}", data=np.ones((1, 1))), "double").ref
            below = [level(d - 1)] * branch if shared else [level(d - 1) for _ in range(branch)]
            data = np.array([below], dtype=h5py.ref_dtype).T
            if kind == "cell":
                return _cls(refs.create_dataset(f"c{next(serial)}", data=data), "cell").ref
            group = _cls(refs.create_group(f"s{next(serial)}"), "struct")
            _fields(group, ["f"])
            group.create_dataset("f", data=data)
            return group.ref
        top = f[level(depth)]
        if kind == "cell":
            _cls(f.create_dataset("x", data=top[()]), "cell")
        else:
            f.copy(top, "x")
    return _v73(path, build)


def _group_dag(f, depth: int, branch: int, shared: bool) -> None:
    store = f.create_group("#refs#")
    serial = iter(range(10**9))

    def level(d: int):
        if d == 0:
            return _cls(store.create_dataset(f"l{next(serial)}", data=np.ones((1, 1))), "double")
        group = _cls(store.create_group(f"g{next(serial)}"), "struct")
        _fields(group, [f"f{i}" for i in range(branch)])
        below = level(d - 1) if shared else None
        for i in range(branch):
            group[f"f{i}"] = below if shared else level(d - 1)     # a hard link
        return group
    f["x"] = level(depth)


def v73_external(path: Path, target: str, size: int = 64) -> Path:
    """A uint8 dataset whose bytes HDF5 would read from ``target`` (external storage)."""
    def build(f):
        _cls(f.create_dataset("x", shape=(size, 1), dtype="u1", external=[(target, 0, size)]), "uint8")
    return _v73(path, build)


def v73_link(path: Path, kind: str, other: Path | None = None) -> Path:
    """A variable that is an external link (to ``other``'s ``/y``), a soft link, or a struct
    field that is a soft link."""
    def build(f):
        refs = f.create_group("#refs#")
        _cls(refs.create_dataset("a", data=np.ones((1, 1))), "double")
        if kind == "external":
            f["x"] = h5py.ExternalLink(str(other), "/y")
        elif kind == "soft":
            f["x"] = h5py.SoftLink("/#refs#/a")
        else:
            group = _cls(f.create_group("x"), "struct")
            _fields(group, ["f"])
            group["f"] = h5py.SoftLink("/#refs#/a")
    return _v73(path, build)


def v73_virtual(path: Path, other: Path) -> Path:
    """A virtual dataset mapping ``other``'s ``/y`` (4 doubles)."""
    def build(f):
        layout = h5py.VirtualLayout(shape=(4, 1), dtype="f8")
        layout[:] = h5py.VirtualSource(str(other), "y", shape=(4, 1))
        _cls(f.create_virtual_dataset("x", layout), "double")
    return _v73(path, build)


def v73_filter(path: Path, filter_id: int = 32015) -> Path:
    """A dataset with a filter: a plugin's (HDF5 would look for it), built-in scale-offset (6),
    or shuffle and deflate (2: allowed)."""
    kwargs = {6: {"scaleoffset": 3}, 2: {"shuffle": True, "compression": "gzip"}}.get(
        filter_id, {"compression": filter_id, "allow_unknown_filter": True})

    def build(f):
        _cls(f.create_dataset("x", data=np.zeros((64, 1)), chunks=(16, 1), **kwargs), "double")
    return _v73(path, build)


def v73_same_leaf(path: Path, n: int) -> Path:
    """A 1 x n cell whose references all point to one double."""
    def build(f):
        leaf = _cls(f.create_group("#refs#").create_dataset("a", data=np.ones((1, 1))), "double")
        _cls(f.create_dataset("x", data=np.array([[leaf.ref] * n], dtype=h5py.ref_dtype).T,
                              chunks=True, compression="gzip"), "cell")
    return _v73(path, build)


def v73_deflate_bomb(path: Path, n: int, cls: str = "uint8") -> Path:
    """A 1 x n uint8 (or char) dataset of zeros in 1 MiB deflate chunks, written pre-compressed."""
    dtype = np.uint16 if cls == "char" else np.uint8
    per = min(MIB // dtype().itemsize, n)

    def build(f):
        dset = _cls(f.create_dataset("x", shape=(n, 1), dtype=dtype, chunks=(per, 1),
                                     compression="gzip"), cls)
        if cls == "char":
            dset.attrs["MATLAB_int_decode"] = np.int32(2)
        chunk = zlib.compress(bytes(per * dtype().itemsize))
        for start in range(0, n, per):
            dset.id.write_direct_chunk((start, 0), chunk)
    return _v73(path, build)


# --- bounded runs ----------------------------------------------------------------------------

@dataclass
class Outcome:
    kind: str          # "value", "MatFileError" or "other"
    message: str
    seconds: float
    peak_mb: float     # growth of the peak resident memory during the call


def _status(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return 0


def run_bounded(func, *args, memory_mb: int = 256, timeout: float = 10.0) -> Outcome:
    """``func(*args)`` in a forked child whose address space may grow by ``memory_mb`` at most,
    killed after ``timeout`` seconds; its outcome, time and peak resident growth."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_end)
        report = {"kind": "other", "message": "", "seconds": 0.0, "peak_mb": 0.0}
        try:
            try:
                with open("/proc/self/clear_refs", "w") as fh:
                    fh.write("5")     # restart the peak-RSS count
            except OSError:
                pass
            limit = _status("VmSize") + memory_mb * MIB
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            start_rss, start = _status("VmRSS"), time.perf_counter()
            try:
                func(*args)
                report["kind"] = "value"
            except MatFileError as exc:
                report["kind"], report["message"] = "MatFileError", str(exc)
            except BaseException as exc:  # noqa: BLE001 - anything else is what we count
                report["message"] = f"{type(exc).__name__}: {exc}"
            report["seconds"] = time.perf_counter() - start
            report["peak_mb"] = (_status("VmHWM") - start_rss) / MIB
        finally:
            os.write(write_end, json.dumps(report).encode()[:60000])
            os._exit(0)
    os.close(write_end)
    ready, _, _ = select.select([read_end], [], [], timeout)
    raw = b""
    if ready:
        while chunk := os.read(read_end, 65536):
            raw += chunk
    else:
        os.kill(pid, signal.SIGKILL)
    os.close(read_end)
    os.waitpid(pid, 0)
    if not raw:
        return Outcome("other", "timeout" if not ready else "child died", timeout, 0.0)
    return Outcome(**json.loads(raw))


# --- the generator ---------------------------------------------------------------------------

def _log_int(rng, low: float, high: float) -> int:
    return int(np.exp(rng.uniform(np.log(low), np.log(high))))


def crafted_case(rng: np.random.Generator, folder: Path, index: int) -> tuple[str, Path]:
    """One crafted file in ``folder``: (family, path). Sizes span both sides of the budget."""
    path = folder / f"case{index}.mat"
    family = rng.choice(FAMILIES)
    if family == "v73-dag":
        shared = rng.random() < 0.7
        depth, branch = (int(rng.integers(2, 13)), int(rng.integers(2, 11))) if shared else \
            (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        v73_dag(path, depth, branch, str(rng.choice(["cell", "struct", "group"])), shared)
    elif family == "v73-external":
        target = str(rng.choice([folder / "secret.txt", folder / "fifo", "/dev/zero", "/etc/passwd"]))
        v73_external(path, target)
    elif family == "v73-link":
        v73_link(path, str(rng.choice(["external", "soft", "field"])), folder / "other.mat")
    elif family == "v73-virtual":
        v73_virtual(path, folder / "other.mat")
    elif family == "v73-filter":
        v73_filter(path, int(rng.choice([32015, 32001, 307, 32004, 6, 2])))
    elif family == "v73-same-leaf":
        v73_same_leaf(path, _log_int(rng, 1, 1e5))
    elif family == "v73-deflate-bomb":
        v73_deflate_bomb(path, _log_int(rng, 1e3, 2e9), str(rng.choice(["uint8", "char"])))
    else:
        path.write_bytes(_v5_case(family, rng))
    return str(family), path


def _v5_case(family: str, rng) -> bytes:
    if family == "compact-bomb":
        return compact_bomb(_log_int(rng, 1e3, 2**31 - 1))
    if family == "utf8-bomb":
        n = _log_int(rng, 1, 1e9)
        return utf8_bomb(n, n if rng.random() < 0.5 else _log_int(rng, 1, 2**31 - 1))
    if family == "zlib-bomb":
        return zlib_bomb(_log_int(rng, 1e3, 4e9 - 64), valid=bool(rng.random() < 0.7))
    if family == "cell-bomb":
        fields = int(rng.choice([0, 0, 1, 3]))
        return cell_bomb(_log_int(rng, 1, 4e8 / max(fields, 1)), fields)
    if family == "v5-sparse":
        return v5_sparse_columns(_log_int(rng, 1, 2**30 - 64))
    rows, cols = (int(rng.choice([1, 7, 2**16, 2**24, 2**31 - 1, 2**31])) for _ in range(2))
    return v4_sparse(rows, cols, int(rng.integers(0, 4)))


FAMILIES = ("v73-dag", "v73-external", "v73-link", "v73-virtual", "v73-filter", "v73-same-leaf",
            "v73-deflate-bomb", "compact-bomb", "utf8-bomb", "zlib-bomb", "cell-bomb", "v5-sparse",
            "v4-sparse")


def prepare(folder: Path) -> None:
    """What the external families point at: a secret, a FIFO, another v7.3 file."""
    (folder / "secret.txt").write_text("SECRET-0123456789" * 8)
    if not (folder / "fifo").exists():
        os.mkfifo(folder / "fifo")
    with h5py.File(folder / "other.mat", "w") as f:
        f.create_dataset("y", data=np.arange(4.0).reshape(4, 1))


def fuzz(cases: int, seed: int = 0, memory_mb: int = 1024, timeout: float = 20.0,
         folder: Path | None = None):
    """Run ``cases`` crafted files through ``loadmat`` under the bounds: counts per outcome,
    per family, the worst time per outcome, the worst peak, and the failures counted as other."""
    rng = np.random.default_rng(seed)
    counts: collections.Counter = collections.Counter()
    families: dict = collections.defaultdict(collections.Counter)
    worst_s: collections.Counter = collections.Counter()
    worst_mb = 0.0
    others = []
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        tmp = Path(tmp)
        prepare(tmp)
        for i in range(cases):
            family, path = crafted_case(rng, tmp, i)
            out = run_bounded(loadmat, path, memory_mb=memory_mb, timeout=timeout)
            counts[out.kind] += 1
            families[family][out.kind] += 1
            worst_s[out.kind] = max(worst_s[out.kind], out.seconds)
            worst_mb = max(worst_mb, out.peak_mb)
            if out.kind == "other" or "SECRET" in out.message:
                others.append((family, out.message))
            path.unlink()
    return counts, families, worst_s, worst_mb, others


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory-mb", type=int, default=1024, help="address-space growth allowed")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per case")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    counts, families, worst_s, worst_mb, others = fuzz(args.cases, args.seed, args.memory_mb,
                                                       args.timeout)
    print(f"crafted cases: {sum(counts.values())} (seed {args.seed}, address space +"
          f"{args.memory_mb} MB, timeout {args.timeout:g} s, {time.perf_counter() - start:.0f} s)")
    print(f"value: {counts['value']}  MatFileError: {counts['MatFileError']}  other: {counts['other']}")
    print(f"worst time per case: {worst_s['value']:.3f} s (value), {worst_s['MatFileError']:.3f} s "
          f"(MatFileError); worst peak memory growth: {worst_mb:.0f} MB")
    for family in FAMILIES:
        c = families[family]
        print(f"  {family:18s} value {c['value']:5d}  MatFileError {c['MatFileError']:5d}  other {c['other']:3d}")
    for family, message in others[:20]:
        print(f"OTHER {family}: {message}")
    return 1 if counts["other"] else 0


if __name__ == "__main__":
    sys.exit(main())
