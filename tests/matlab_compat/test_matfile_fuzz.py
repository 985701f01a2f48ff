"""Fuzz: truncated and bit-flipped MAT-files only ever raise MatFileError (never hang or crash)."""
from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse

from matlab_compat import MatFileError, loadmat, savemat
from tests.shared import shared_path

SMALL_FIXTURES = [
    "vor_params_cifar.mat", "vor_params_fashion.mat", "vor_params_mnist_result.mat",
    "vor_params_mnist_sensitivity1.mat", "vor_params_mnist_sensitivity2.mat",
    "vor_params_mnist_sensitivity3.mat",
]


def every_class() -> dict:
    """Small variables of every supported class, to give the fuzzer all parse paths."""
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0], cells[0, 1] = "ab", np.array([[1, 2]], np.int16)
    people = np.empty((1, 2), dtype=[("name", object), ("age", object)])
    people["name"][0, 0], people["age"][0, 0] = "Ann", np.array([[31.0]])
    people["name"][0, 1], people["age"][0, 1] = "Bo", np.array([[0.5]])
    return {
        "d": np.array([[1.5, -2.0], [300.0, 4.0]]), "u8": np.arange(12, dtype=np.uint8).reshape(3, 4),
        "z": np.array([[1 + 2j, 3.0]]), "b": np.array([[True, False, True]]), "s": "text",
        "cm": np.array([["a", "b"], ["c", "d"]]), "c": cells, "st": {"x": np.ones((2, 2)), "y": "q"},
        "sa": people, "sp": scipy.sparse.csc_matrix(np.array([[0.0, 1.0], [2.5, 0.0]])),
        "e": np.zeros((0, 3)), "i64": np.array([[-(2**40)]], np.int64),
    }


def check(path, data: bytes) -> str:
    """Load ``data`` from ``path``: 'ok' or 'error'; any other exception fails the test."""
    path.write_bytes(data)
    try:
        loadmat(path)
    except MatFileError as exc:
        assert str(path) in str(exc)
        return "error"
    return "ok"


def seeds(source: str, tmp_path) -> list[bytes]:
    """Files to corrupt: the MATLAB-written fixtures, or our own files with every class."""
    if source == "matlab-fixtures":
        return [shared_path("fixtures", "matlab", name).read_bytes() for name in SMALL_FIXTURES]
    out = []
    for version, order in [("7", "<"), ("6", "<"), ("6", ">"), ("7", ">")]:
        path = tmp_path / f"seed_{version}_{order == '>'}.mat"
        savemat(path, every_class(), version=version, byte_order=order)
        out.append(path.read_bytes())
    return out


def flipped(seed: bytes, rng: np.random.Generator, start: int) -> bytes:
    """``seed`` with 1 to 3 bits flipped at or after ``start``."""
    data = bytearray(seed)
    for _ in range(int(rng.integers(1, 4))):
        pos = int(rng.integers(start, len(data)))
        data[pos] ^= 1 << int(rng.integers(0, 8))
    return bytes(data)


SOURCES = pytest.mark.parametrize("source", ["matlab-fixtures", "every-class"])


@SOURCES
def test_truncated_files_raise_matfile_error(source, tmp_path):
    target = tmp_path / "cut.mat"
    outcomes = {"ok": 0, "error": 0}
    files = seeds(source, tmp_path)
    for seed in files:
        for cut in range(0, len(seed), 1 + len(seed) // 500):
            outcomes[check(target, seed[:cut])] += 1
    # a cut exactly between variables is a valid, shorter file: at most one per variable
    per_file = 2 if source == "matlab-fixtures" else len(every_class()) + 1
    assert outcomes["ok"] <= per_file * len(files)
    assert outcomes["error"] > 1500


@SOURCES
def test_bit_flipped_files_raise_matfile_error_or_load(source, tmp_path):
    rng = np.random.default_rng(20231023)
    target = tmp_path / "flip.mat"
    outcomes = {"ok": 0, "error": 0}
    started = time.perf_counter()
    files = seeds(source, tmp_path)
    for seed in files:
        for _ in range(300):
            outcomes[check(target, flipped(seed, rng, 0))] += 1
    assert sum(outcomes.values()) == 300 * len(files)
    assert outcomes["error"] > 300 and outcomes["ok"] > 30
    assert time.perf_counter() - started < 60


def test_corrupt_sizes_are_refused_without_allocating(tmp_path):
    """A dimension claiming 2**31 x 2**31 elements is refused, not allocated."""
    path = tmp_path / "huge.mat"
    savemat(path, {"x": np.zeros((2, 2))}, version="6")
    data = bytearray(path.read_bytes())
    # dims element: tag at 128+8+16, values follow the 8-byte tag
    dims_at = 128 + 8 + 16 + 8
    assert data[dims_at:dims_at + 8] == bytes([2, 0, 0, 0, 2, 0, 0, 0])
    data[dims_at:dims_at + 8] = bytes([255, 255, 255, 127, 255, 255, 255, 127])
    path.write_bytes(bytes(data))
    with pytest.raises(MatFileError, match="offset 176: array data holds 4 values"):
        loadmat(path)


def test_decompression_bomb_is_bounded(tmp_path):
    """A compressed element declaring far more bytes than it could hold is refused."""
    path = tmp_path / "bomb.mat"
    savemat(path, {"x": np.zeros((4, 4))}, version="7")
    import zlib
    raw = path.read_bytes()
    inner = bytearray(zlib.decompress(raw[136:]))
    inner[4:8] = (2**31).to_bytes(4, "little")
    comp = zlib.compress(bytes(inner))
    bomb = raw[:128] + (15).to_bytes(4, "little") + len(comp).to_bytes(4, "little") + comp
    path.write_bytes(bomb)
    with pytest.raises(MatFileError, match="compressed element declares"):
        loadmat(path)


def test_truncated_v73_files_raise_matfile_error(tmp_path):
    full = tmp_path / "full.mat"
    savemat(full, every_class(), version="7.3")
    raw = full.read_bytes()
    target = tmp_path / "cut73.mat"
    for cut in list(range(0, 600, 37)) + list(range(600, len(raw), max(1, len(raw) // 60))):
        assert check(target, raw[:cut]) == "error"


def test_bit_flipped_v73_files_raise_matfile_error_or_load(tmp_path):
    """Flips past the user block reach h5py/libhdf5; a corrupt global heap (which makes libhdf5
    loop forever) is refused by our own check first."""
    full = tmp_path / "full.mat"
    savemat(full, every_class(), version="7.3")
    raw = full.read_bytes()
    rng = np.random.default_rng(1)
    target = tmp_path / "flip73.mat"
    outcomes = {"ok": 0, "error": 0}
    for _ in range(300):
        outcomes[check(target, flipped(raw, rng, 512))] += 1
    assert outcomes["error"] > 50 and outcomes["ok"] > 50


def test_corrupt_hdf5_global_heap_is_refused(tmp_path):
    """A collection size that no longer matches its objects (the case that hangs libhdf5)."""
    path = tmp_path / "heap.mat"
    savemat(path, {"st": {"alpha": np.ones((1, 1)), "beta": "x"}}, version="7.3")
    data = bytearray(path.read_bytes())
    at = data.find(b"GCOL\x01\x00\x00\x00")
    assert at > 0
    size = int.from_bytes(data[at + 8:at + 16], "little")
    data[at + 8:at + 16] = (size + 512).to_bytes(8, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(MatFileError, match="global heap"):
        loadmat(path)


def test_absurdly_deep_nesting_is_refused_not_crashed(tmp_path):
    """Cells nested 600 deep (written with a raised recursion limit) load as MatFileError."""
    import sys
    value = np.ones((1, 1))
    for _ in range(600):
        cell = np.empty((1, 1), dtype=object)
        cell[0, 0] = value
        value = cell
    path = tmp_path / "deep.mat"
    with pytest.raises(MatFileError, match="nested too deeply"):
        savemat(path, {"v": value}, version="6")
    assert not path.exists()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10000)
    try:
        savemat(path, {"v": value}, version="6")
    finally:
        sys.setrecursionlimit(limit)
    with pytest.raises(MatFileError, match="deep.mat: malformed file: RecursionError"):
        loadmat(path)
