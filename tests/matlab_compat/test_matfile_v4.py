"""MAT-file v4: our files read by scipy alike, scipy's v4 files read by us alike."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.sparse

from matlab_compat import MatFileError, loadmat, read_header, savemat


def variables() -> dict:
    return {"d": np.array([[1.5, -2.0, 3.0], [4.0, 5.0, 1e300]]), "u": np.arange(6, dtype=np.uint8).reshape(2, 3),
            "z": np.array([[1 + 2j, -3.5j]]), "s": "text", "m": np.array([["a", "b"], ["c", "\x00"]]),
            "sp": scipy.sparse.csc_matrix(np.array([[0.0, 2.5], [-1.0, 0.0], [0.0, 0.0]])),
            "spz": scipy.sparse.csc_matrix(np.array([[0, 1j], [2.0, 0]])),
            "b": np.array([[True, False]]), "e": np.zeros((0, 3))}


@pytest.mark.parametrize("order", ["<", ">"])
def test_v4_write_read_and_scipy_agrees(order, tmp_path):
    path = tmp_path / "v4.mat"
    values = variables()
    savemat(path, values, version="4", byte_order=order)
    assert (read_header(path).version, read_header(path).byte_order) == ("4", order)
    ours, theirs = loadmat(path), scipy.io.loadmat(path)
    assert list(ours) == list(values)
    for name, value in values.items():
        back = ours[name]
        if scipy.sparse.issparse(value):
            assert back.dtype == np.result_type(value.dtype, np.float64)
            assert (back != value).nnz == 0 and (theirs[name] != value).nnz == 0
        elif isinstance(value, str):
            assert back == value and theirs[name].tolist() == [value]
        elif value.dtype.kind == "U":     # NUL included (scipy's str would drop it)
            assert back.shape == value.shape
            assert back.view(np.uint32).tolist() == value.view(np.uint32).tolist()
        else:     # MATLAB loads every numeric v4 variable as double
            assert back.dtype == np.result_type(value.dtype, np.float64)
            np.testing.assert_array_equal(back, value)
            np.testing.assert_array_equal(theirs[name], value)


def test_scipy_written_v4_reads_alike(tmp_path):
    path = tmp_path / "scipy4.mat"
    values = {"d": np.arange(12.0).reshape(3, 4), "i": np.array([[1, -2]], np.int16),
              "s": "hello", "sp": scipy.sparse.csc_matrix(np.eye(3))}
    scipy.io.savemat(path, values, format="4")
    ours, theirs = loadmat(path), scipy.io.loadmat(path)
    assert set(ours) == set(values)
    np.testing.assert_array_equal(ours["d"], theirs["d"])
    np.testing.assert_array_equal(ours["i"], theirs["i"])
    assert ours["s"] == theirs["s"][0]
    assert (ours["sp"] != theirs["sp"]).nnz == 0


@pytest.mark.parametrize("value, problem", [
    (np.zeros((2, 2, 2)), "2-D"), ({"a": 1.0}, "struct"), (np.empty((1, 1), object), "cell")])
def test_v4_refuses_what_it_cannot_hold(value, problem, tmp_path):
    with pytest.raises(MatFileError, match=problem):
        savemat(tmp_path / "x.mat", {"x": value}, version="4")


def test_truncated_v4_is_refused(tmp_path):
    path = tmp_path / "v4.mat"
    savemat(path, {"x": np.ones((10, 10))}, version="4")
    raw = path.read_bytes()
    for cut in range(21, len(raw) - 1, 37):
        path.write_bytes(raw[:cut])
        with pytest.raises(MatFileError):
            loadmat(path)
