"""Hostile and unusual input: bounded reading, NUL characters, names MATLAB refuses."""
from __future__ import annotations

import struct

import h5py
import numpy as np
import pytest
import scipy.io

from matlab_compat import MatFileError, loadmat, savemat
from matlab_compat.header import DEFAULT_TEXT, DEFAULT_TEXT_73, Header
from tests.shared import shared_path

VERSIONS = ["4", "6", "7", "7.3"]


def v6_file(body: bytes) -> bytes:
    return Header(DEFAULT_TEXT, "6").to_bytes() + struct.pack("<II", 14, len(body)) + body


def test_fieldless_struct_of_huge_size_reads_at_once(tmp_path):
    """192 bytes declaring a struct with no fields and (2^31-1)^2 elements: nothing per element
    is built (it used to loop while memory grew), and it writes back the same bytes."""
    body = (struct.pack("<IIII", 6, 8, 2, 0) + struct.pack("<IIii", 5, 8, 2**31 - 1, 2**31 - 1)
            + struct.pack("<HH", 1, 1) + b"x\0\0\0" + struct.pack("<HHi", 5, 4, 1)
            + struct.pack("<II", 1, 0))
    path = tmp_path / "huge.mat"
    path.write_bytes(v6_file(body))
    assert path.stat().st_size == 192
    value = loadmat(path)["x"]
    assert value.shape == (2**31 - 1, 2**31 - 1) and value.dtype.names == ()
    out = tmp_path / "again.mat"
    savemat(out, {"x": value}, version="6")
    assert out.read_bytes() == path.read_bytes()


def test_v73_dataset_declaring_more_than_the_file_holds_is_refused(tmp_path):
    """A 2 KB HDF5 file declaring 20000 x 10000 doubles (never written): refused, not allocated."""
    path = tmp_path / "big73.mat"
    with h5py.File(path, "w", userblock_size=512) as f:
        dset = f.create_dataset("x", shape=(10000, 20000), dtype="f8")
        dset.attrs["MATLAB_class"] = np.bytes_(b"double")
    with open(path, "r+b") as fh:
        fh.write(Header(DEFAULT_TEXT_73, "7.3").to_bytes())
    assert path.stat().st_size < 4096
    with pytest.raises(MatFileError, match="declares 1600000000 bytes"):
        loadmat(path)


@pytest.mark.parametrize("version", VERSIONS)
def test_nul_characters_are_written_and_read_back(version, tmp_path):
    path = tmp_path / "nul.mat"
    matrix = np.array([["a", "\x00"], ["\x00", "b"]])
    values = {"s": "a\x00b\x00", "m": matrix} if version != "4" else {"s": "a\x00b\x00"}
    savemat(path, values, version=version)
    back = loadmat(path)
    assert back["s"] == "a\x00b\x00"
    if version != "4":
        assert back["m"].view(np.uint32).tolist() == [[97, 0], [0, 98]]
    if version in ("6", "7"):
        theirs = scipy.io.loadmat(path, uint16_codec="utf-16-le")
        assert theirs["s"][0] == "a\x00b"    # numpy's str drops trailing NULs only


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("variables, problem", [
    ({"a" * 64: 1.0}, "at most 63"),
    ({"end": 1.0}, "keyword"),
    ({"_x": 1.0}, "invalid MATLAB variable name"),
    ({"x": {"a" * 64: 1.0}}, "at most 63"),
    ({"x": {"while": 1.0}}, "keyword"),
    ({"x": np.array([["\U0001F600"], ["a"]])}, "beyond U\\+FFFF"),
], ids=["long-name", "keyword", "underscore", "long-field", "keyword-field", "astral-char"])
def test_what_matlab_cannot_hold_is_refused_in_every_version(variables, problem, version, tmp_path):
    with pytest.raises(MatFileError, match=problem):
        savemat(tmp_path / "x.mat", variables, version=version)
    assert list(tmp_path.iterdir()) == []


def test_sixty_three_character_names_are_accepted(tmp_path):
    name = "a" * 63
    savemat(tmp_path / "x.mat", {name: {name: 1.0}})
    assert loadmat(tmp_path / "x.mat")[name][name] == 1.0


def test_repeated_field_names_read_like_scipy_and_write_back_exactly(tmp_path):
    path = tmp_path / "ab.mat"
    savemat(path, {"x": {"a": 1.0, "b": 2.0}}, version="6")
    raw = bytearray(path.read_bytes())
    at = raw.index(b"b\0", 128)
    raw[at] = ord("a")                              # the stored names become "a", "a"
    path.write_bytes(bytes(raw))
    theirs = scipy.io.loadmat(path)["x"]
    ours = loadmat(path)["x"]
    assert list(ours) == list(theirs.dtype.names) == ["a", "_1_a"]
    assert [float(ours[k][0, 0]) for k in ours] == [float(theirs[k][0, 0][0, 0]) for k in ours]
    out = tmp_path / "again.mat"
    savemat(out, {"x": ours}, version="6")
    assert out.read_bytes() == path.read_bytes()
    with pytest.raises(MatFileError, match="_1_a"):     # a new struct may not use such a name
        savemat(out, {"x": dict(ours)}, version="6")


def test_uint32_dimensions_are_read_like_scipy(tmp_path):
    path = tmp_path / "u32.mat"
    x = np.arange(6.0).reshape(2, 3) + 0.5
    savemat(path, {"x": x}, version="6")
    raw = bytearray(path.read_bytes())
    assert raw[152:156] == struct.pack("<I", 5)     # the dimensions' tag: miINT32
    raw[152:156] = struct.pack("<I", 6)             # miUINT32, as some writers store them
    path.write_bytes(bytes(raw))
    np.testing.assert_array_equal(loadmat(path)["x"], scipy.io.loadmat(path)["x"])


def test_subsystem_data_is_named_and_can_be_chosen(tmp_path):
    """MATLAB's unnamed subsystem variable reads as scipy names it, alone if asked for."""
    path = shared_path("fixtures", "matlab-corpus", "mfl_java.mat")
    ours = loadmat(path, variable_names=["__function_workspace__"])
    theirs = scipy.io.loadmat(path)["__function_workspace__"]
    assert list(ours) == ["__function_workspace__"]
    np.testing.assert_array_equal(ours["__function_workspace__"], theirs)
