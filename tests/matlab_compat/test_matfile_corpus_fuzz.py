"""Fuzz: 3,190 mutated MATLAB-written corpus files (inside compressed elements too) each end
in a value or a MatFileError, in bounded time and memory.

Mutations of each small corpus file: bit flips; 32-bit words (sizes, dimensions, counts, type
codes) set to extreme values; truncation; and the same inside a compressed element's
decompressed bytes, re-compressed so that the parser (not zlib) meets them. The run happens
in a child process so that its peak memory is its own; ``python -m tests.matlab_compat.test_matfile_corpus_fuzz``
prints the figures quoted in docs/matfile.md.
"""
from __future__ import annotations

import json
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

from tests.shared import ROOT, SHARED, shared_path

CASES_PER_SEED = 110
EXTREMES = [0, 1, 7, 8, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFF, 0x10000, 2**31 - 8]
MAX_SEED_BYTES = 20_000


def peak_resident_mb() -> float:
    """This process's peak resident memory (VmHWM: its own, unlike ru_maxrss, which Linux carries
    over from the process that forked it, e.g. a pytest run that has loaded torch)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seeds(corpus: Path) -> list[Path]:
    """The corpus files small enough to mutate many times (v5 and v7.3)."""
    return [p for p in sorted(corpus.glob("*.mat")) if p.stat().st_size <= MAX_SEED_BYTES]


def _mutate(data: bytearray, rng: np.random.Generator, start: int) -> bytearray:
    kind = int(rng.integers(0, 3))
    if kind == 0:                                   # flip 1-3 bits
        for _ in range(int(rng.integers(1, 4))):
            pos = int(rng.integers(start, len(data)))
            data[pos] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:                                 # an aligned word to an extreme value
        pos = start + 4 * int(rng.integers(0, max(1, (len(data) - start) // 4 - 1)))
        order = "<" if rng.integers(0, 2) else ">"
        data[pos:pos + 4] = struct.pack(order + "I", EXTREMES[int(rng.integers(0, len(EXTREMES)))])
    else:                                           # cut
        del data[int(rng.integers(start, len(data))):]
    return data


def mutated(raw: bytes, rng: np.random.Generator) -> bytes:
    """One mutation of a file; half of those of compressed v5 files inside an element."""
    order = "<" if raw[126:128] == b"IM" else ">"
    v5 = struct.unpack_from(order + "H", raw, 124)[0] == 0x0100
    if v5 and rng.integers(0, 2):
        pos, elements = 128, []
        while pos + 8 <= len(raw):
            type_, size = struct.unpack_from(order + "II", raw, pos)
            elements.append((pos, type_, size))
            pos += 8 + size + (0 if type_ == 15 else -size % 8)
        compressed = [e for e in elements if e[1] == 15]
        if compressed:
            pos, _, size = compressed[int(rng.integers(0, len(compressed)))]
            inner = _mutate(bytearray(zlib.decompress(raw[pos + 8:pos + 8 + size])), rng, 0)
            packed = zlib.compress(bytes(inner))
            return (raw[:pos] + struct.pack(order + "II", 15, len(packed)) + packed
                    + raw[pos + 8 + size:])
    return bytes(_mutate(bytearray(raw), rng, 0 if rng.integers(0, 8) == 0 else 128))


def run(corpus: Path, cases_per_seed: int = CASES_PER_SEED, mutate=None) -> dict:
    """Load every mutation (``mutate(raw, rng)``, default :func:`mutated`); the figures:
    cases, outcomes, worst time, peak memory, failures."""
    from matlab_compat import MatFileError, loadmat
    rng = np.random.default_rng(20261201)
    outcomes: Counter = Counter()
    failures: list[str] = []
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "fuzz.mat"
        for seed in seeds(corpus):
            raw = seed.read_bytes()
            for _ in range(cases_per_seed):
                target.write_bytes((mutate or mutated)(raw, rng))
                started = time.perf_counter()
                try:
                    loadmat(target)
                    outcomes["value"] += 1
                except MatFileError as exc:
                    outcomes["MatFileError"] += 1
                    if "MemoryError" in str(exc):
                        failures.append(f"{seed.name}: allocation failed: {exc}")
                except Exception as exc:  # noqa: BLE001 - what the test exists to catch
                    failures.append(f"{seed.name}: {type(exc).__name__}: {exc}")
                worst = max(worst, time.perf_counter() - started)
    peak_mb = peak_resident_mb()
    return {"seeds": len(seeds(corpus)), "cases": sum(outcomes.values()) + len(failures),
            "outcomes": dict(outcomes), "worst_s": round(worst, 3), "peak_mb": round(peak_mb),
            "failures": failures[:5]}


def test_mutated_corpus_files_end_in_a_value_or_matfile_error():
    corpus = shared_path("fixtures", "matlab-corpus")
    done = subprocess.run([sys.executable, "-m", "tests.matlab_compat.test_matfile_corpus_fuzz", str(corpus)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["failures"] == []
    assert figures["cases"] >= 3000
    assert figures["outcomes"]["MatFileError"] > 1000 and figures["outcomes"]["value"] > 300
    assert figures["worst_s"] < 5            # no case near a hang
    assert figures["peak_mb"] < 400          # nothing allocated beyond what the files justify


if __name__ == "__main__":
    print(json.dumps(run(Path(sys.argv[1]) if len(sys.argv) > 1
                         else SHARED / "fixtures" / "matlab-corpus")))
