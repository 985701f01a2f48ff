"""ColumnMajorBytes gives, for any range, the bytes of numpy's own column-major flattening;
Concatenation gives any range of its parts joined."""
from __future__ import annotations

import numpy as np
import pytest

import scipy.io

from matlab_compat import savemat
from matlab_compat.column_bytes import ColumnMajorBytes, Concatenation
from matlab_compat.mat5_writer import _Encoder


@pytest.mark.parametrize("shape,layout", [((7, 5), "C"), ((3, 4, 6), "C"), ((5, 3, 2, 4), "sliced"),
                                          ((1, 40), "C"), ((40, 1), "C"), ((6, 7), "F"), ((2, 3, 5), "transposed")])
@pytest.mark.parametrize("dtype", ["<u1", "<f8", ">i2", "<c16"])
def test_every_range_equals_the_column_major_flattening(shape, layout, dtype):
    rng = np.random.default_rng(len(shape))
    base = rng.integers(0, 200, shape).astype(np.float64)
    arr = {"C": base, "F": np.asfortranarray(base), "transposed": base.T.copy().T,
           "sliced": np.repeat(base, 2, axis=1)[:, ::2]}[layout]
    expected = np.ravel(arr, order="F").astype(dtype).tobytes()
    lazy = ColumnMajorBytes(arr, np.dtype(dtype))
    assert lazy.nbytes == len(expected)
    bounds = sorted({0, len(expected), *rng.integers(0, len(expected) + 1, 30).tolist()})
    for start in bounds:
        for stop in bounds:
            if stop >= start:
                assert b"".join(lazy.pieces(start, stop)) == expected[start:stop], (start, stop)


def test_every_range_of_a_concatenation_equals_the_joined_parts():
    rng = np.random.default_rng(9)
    arr = rng.integers(0, 200, (6, 9)).astype(np.float64)
    parts = [b"head", b"", np.arange(5, dtype=np.uint8), ColumnMajorBytes(arr, np.dtype("<i2")),
             bytearray(b"tail!"), ColumnMajorBytes(arr[:2], np.dtype("<u1"))]
    expected = b"head" + bytes(range(5)) + np.ravel(arr, order="F").astype("<i2").tobytes() \
        + b"tail!" + np.ravel(arr[:2], order="F").astype("<u1").tobytes()
    joined = Concatenation(parts)
    assert joined.size == len(expected)
    for start in range(len(expected) + 1):
        for stop in (start, start + 1, start + 17, len(expected)):
            stop = min(stop, len(expected))
            assert b"".join(joined.pieces(start, stop)) == expected[start:stop], (start, stop)


def test_a_range_copies_only_the_elements_it_covers():
    """A small range inside one huge row is made from that range alone (no whole-row copy)."""
    arr = np.zeros((3, 2_000_000), np.float64)          # column-major: rows of 3 elements
    huge_rows = np.zeros((2_000_000, 3), np.float64).T   # column-major: 3 rows of 2,000,000
    for a in (arr, huge_rows):
        pieces = list(ColumnMajorBytes(a, np.dtype("<f8")).pieces(8 * 1_999_990, 8 * 2_000_010))
        assert b"".join(pieces) == bytes(8 * 20)
        assert sum(p.obj.nbytes for p in pieces) == 8 * 20   # the blocks copied, not only the views


@pytest.mark.parametrize("version", ["6", "7"])
@pytest.mark.parametrize("dtype", [np.float64, np.int16])
def test_a_row_major_array_is_written_as_its_column_major_copy(tmp_path, version, dtype):
    """The writer's lazy path (large, not column-major) gives the bytes of the eager one."""
    arr = np.random.default_rng(3).integers(-9, 200, (3000, 700)).astype(dtype)   # C order, 2.1-16.8 MB
    assert any(isinstance(p, ColumnMajorBytes) for p in _Encoder("<", False).numeric(arr, "x"))
    savemat(tmp_path / "c.mat", {"x": arr}, version=version)
    savemat(tmp_path / "f.mat", {"x": np.asfortranarray(arr)}, version=version)
    assert (tmp_path / "c.mat").read_bytes() == (tmp_path / "f.mat").read_bytes()
    assert np.array_equal(scipy.io.loadmat(tmp_path / "c.mat")["x"], arr)
