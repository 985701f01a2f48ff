"""MATLAB-written fixtures: values as scipy reads them, byte-exact re-writing, Octave files."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from matlab_compat import Header, MatFileError, loadmat, read_header, savemat
from tests.shared import shared_path

MATLAB_FIXTURES = [
    "mnist_test_random_v1.mat", "vor_params_cifar.mat", "vor_params_fashion.mat",
    "vor_params_mnist_result.mat", "vor_params_mnist_sensitivity1.mat",
    "vor_params_mnist_sensitivity2.mat", "vor_params_mnist_sensitivity3.mat",
]
PARITY_FILES = [
    "in_cifar_a.mat", "in_fashion_a.mat", "in_mnist_a.mat", "out_cifar_a_cifar2.mat",
    "out_fashion_a_fashion10.mat", "out_mnist_a_result10.mat",
]


def assert_equals_scipy(ours, theirs):
    """Our value equals scipy's ``loadmat(..., mat_dtype=True)`` value (numerics and cells)."""
    if isinstance(ours, np.ndarray) and ours.dtype == object:
        assert ours.shape == theirs.shape
        for a, b in zip(ours.ravel(), theirs.ravel()):
            assert_equals_scipy(a, b)
        return
    assert isinstance(ours, np.ndarray)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", MATLAB_FIXTURES)
def test_matlab_fixture_values_equal_scipy(name):
    path = shared_path("fixtures", "matlab", name)
    ours = loadmat(path)
    theirs = scipy.io.loadmat(path, mat_dtype=True)
    assert set(ours) == {k for k in theirs if not k.startswith("__")}
    for key, value in ours.items():
        assert_equals_scipy(value, theirs[key])


@pytest.mark.parametrize("name", MATLAB_FIXTURES)
def test_matlab_fixture_rewrites_byte_for_byte(name, tmp_path):
    path = shared_path("fixtures", "matlab", name)
    header = read_header(path)
    out = tmp_path / name
    savemat(out, loadmat(path), version=header.version, header=header.text)
    assert out.read_bytes() == path.read_bytes()


def test_matlab_fixture_classes_and_compact_storage():
    """Compactly stored doubles come back as float64 with MATLAB's values."""
    data = loadmat(shared_path("fixtures", "matlab", "mnist_test_random_v1.mat"))
    x, y = data["test_x_vor"], data["test_y"]
    assert x.dtype == np.float64 and x.shape == (10000, 784)
    assert x.min() == 0 and x.max() == 255 and np.all(x == np.round(x))
    assert y.shape == (10000, 10) and np.all(y.sum(axis=1) == 1)
    params = loadmat(shared_path("fixtures", "matlab", "vor_params_mnist_result.mat"))["vor_par"]
    assert params.dtype == object and params.shape == (1, 20)
    # stored by MATLAB as miINT16 [15 28 -1 1] and miUINT8 [21 27 0 1]
    np.testing.assert_array_equal(params[0, 3], [[15.0, 28.0, -1.0, 1.0]])
    np.testing.assert_array_equal(params[0, 4], [[21.0, 27.0, 0.0, 1.0]])
    assert params[0, 3].dtype == np.float64


def test_read_header_of_matlab_file():
    header = read_header(shared_path("fixtures", "matlab", "vor_params_cifar.mat"))
    assert header.description == "MATLAB 5.0 MAT-file, Platform: PCWIN64, Created on: Mon Oct 23 16:14:38 2023"
    assert len(header.text) == 116
    assert (header.version, header.byte_order, header.subsys) == ("7", "<", bytes(8))


@pytest.mark.parametrize("name", PARITY_FILES)
def test_octave_and_scipy_written_parity_files_load(name):
    path = shared_path("fixtures", "parity", name)
    ours = loadmat(path)
    theirs = scipy.io.loadmat(path)
    (key,) = ours
    assert ours[key].dtype == np.uint8 and ours[key].ndim == 2
    assert_equals_scipy(ours[key], theirs[key])


def test_octave_header_keeps_its_subsystem_field(tmp_path):
    path = shared_path("fixtures", "parity", "out_mnist_a_result10.mat")
    header = read_header(path)
    assert header.subsys == b" " * 8 and header.description.startswith("MATLAB 5.0 MAT-file, written by Octave")
    out = tmp_path / "copy.mat"
    savemat(out, loadmat(path), header=header)
    assert out.read_bytes()[:128] == path.read_bytes()[:128]
    assert isinstance(read_header(out), Header)


def test_big_arrays_come_back_as_writable_fortran_views():
    data = loadmat(shared_path("fixtures", "parity", "in_mnist_a.mat"))["X"]
    assert data.flags.f_contiguous and data.flags.writeable


def test_truncated_fixture_raises_matfile_error_naming_file(tmp_path):
    raw = shared_path("fixtures", "matlab", "vor_params_cifar.mat").read_bytes()
    bad = tmp_path / "cut.mat"
    bad.write_bytes(raw[:200])
    with pytest.raises(MatFileError, match=r"cut\.mat: offset \d+"):
        loadmat(bad)


@pytest.mark.parametrize("name", ["batches.meta.mat", "data_batch_1.mat", "test_batch.mat"])
def test_scipy_written_cifar_subset_loads_and_rewrites_exactly(name, tmp_path):
    """Files written by scipy (NUL-padded header, char and cell data) re-create byte for byte."""
    path = shared_path("data", "cifar-10-subset", name)
    ours, theirs = loadmat(path), scipy.io.loadmat(path)
    for key, value in ours.items():
        if isinstance(value, str):
            assert theirs[key].tolist() == [value]
        elif value.dtype == object:   # label_names: a cell of strings
            assert [v for v in value.ravel()] == [t.item() for t in theirs[key].ravel()]
        else:
            assert_equals_scipy(value, theirs[key])
    out = tmp_path / name
    savemat(out, ours, header=read_header(path))
    assert out.read_bytes() == path.read_bytes()
