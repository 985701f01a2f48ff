"""Fuzz of the MCOS decoders: mutated modern MATLAB files (../shared/fixtures/matlab-modern,
those of at most 20 KB: v6/v7 and v7.3) each end in a value or a MatFileError, in bounded
time and memory.

Half of the mutations of a v6/v7 file are made inside its subsystem (the last element: the
FileWrapper__ metadata, property cells and defaults; decompressed, mutated, re-compressed so
that the decoders, not zlib, meet them); the others as in tests/matlab_compat/test_matfile_corpus_fuzz.py
(bit flips, extreme 32-bit words, truncation, anywhere). CI runs 2 cases per file; the long
run, ``python -m tests.matlab_compat.test_matfile_modern_fuzz`` (100 per file: 3,100 cases), prints the
figures quoted in docs/matfile.md.
"""
from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

from tests.shared import ROOT, SHARED, shared_path
from tests.matlab_compat.test_matfile_corpus_fuzz import _mutate, mutated, run

LONG_RUN_CASES_PER_SEED = 100


def mutated_subsystem(raw: bytes, rng: np.random.Generator) -> bytes:
    """One mutation; for half of the v6/v7 files inside the last element (the subsystem)."""
    order = "<" if raw[126:128] == b"IM" else ">"
    v5 = struct.unpack_from(order + "H", raw, 124)[0] == 0x0100
    if not (v5 and rng.integers(0, 2)):
        return mutated(raw, rng)
    pos, last = 128, None
    while pos + 8 <= len(raw):
        type_, size = struct.unpack_from(order + "II", raw, pos)
        last = (pos, type_, size)
        pos += 8 + size + (0 if type_ == 15 else -size % 8)
    pos, type_, size = last
    body = raw[pos + 8:pos + 8 + size]
    inner = zlib.decompress(body) if type_ == 15 else body
    inner = bytes(_mutate(bytearray(inner), rng, 0))
    packed = zlib.compress(inner) if type_ == 15 else inner
    return raw[:pos] + struct.pack(order + "II", type_, len(packed)) + packed + raw[pos + 8 + size:]


def figures(cases_per_seed: int) -> dict:
    done = subprocess.run([sys.executable, "-m", "tests.matlab_compat.test_matfile_modern_fuzz",
                           str(shared_path("fixtures", "matlab-modern")), str(cases_per_seed)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_mutated_modern_files_end_in_a_value_or_matfile_error():
    result = figures(2)
    assert result["failures"] == []
    assert result["cases"] >= 60 and set(result["outcomes"]) <= {"value", "MatFileError"}
    assert result["worst_s"] < 5
    assert result["peak_mb"] < 400


if __name__ == "__main__":
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED / "fixtures" / "matlab-modern"
    per_seed = int(sys.argv[2]) if len(sys.argv) > 2 else LONG_RUN_CASES_PER_SEED
    print(json.dumps(run(corpus, per_seed, mutated_subsystem)))
