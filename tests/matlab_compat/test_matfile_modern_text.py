"""Text beyond the Basic Multilingual Plane, MATLAB string arrays, and repeated field names.

MATLAB's char and string data are UTF-16 code units: a character beyond U+FFFF is a
surrogate pair, joined into one Python character on read and split again on write. The
oracle is Python's own UTF-16 codec."""
from __future__ import annotations

import struct
import zlib

import h5py
import numpy as np
import pytest

from matlab_compat import MatFileError, loadmat, savemat
from matlab_compat.mcos import FileWrapper, WrapperBuilder
from matlab_compat.modern import MISSING_STRING, Decoder, string_array, timetable
from matlab_compat.objects import STRING_DTYPE

TEXT = "a\U0001F600b\u00e9"          # a, an emoji (two code units), b, é
UNITS = np.frombuffer(TEXT.encode("utf-16-le"), "<u2")


def units_in(raw: bytes) -> bytes:
    """The file's bytes, its compressed elements decompressed."""
    out, pos = raw[:128], 128
    while pos < len(raw):
        type_, size = struct.unpack_from("<II", raw, pos)
        body = raw[pos + 8:pos + 8 + size]
        out += zlib.decompress(body) if type_ == 15 else body
        pos += 8 + size + (0 if type_ == 15 else -size % 8)
    return out


@pytest.mark.parametrize("version", ["6", "7", "7.3"])
def test_surrogate_pairs_are_split_on_write_and_joined_on_read(version, tmp_path):
    path = tmp_path / "t.mat"
    savemat(path, {"t": TEXT, "lone": "x\ud83dy"}, version=version)
    back = loadmat(path)
    assert back["t"] == TEXT and len(back["t"]) == 4
    assert back["lone"] == "x\ud83dy"             # a lone surrogate stays as it is
    if version == "7.3":
        with h5py.File(path, "r") as f:
            assert f["t"][()].reshape(-1).tolist() == UNITS.tolist()   # 5 code units
    else:
        assert UNITS.tobytes() in units_in(path.read_bytes())
        assert struct.pack("<ii", 1, len(UNITS)) in units_in(path.read_bytes())   # 1x5 char


def test_a_char_array_element_beyond_the_bmp_is_refused(tmp_path):
    with pytest.raises(MatFileError, match="surrogate pair"):
        savemat(tmp_path / "x.mat", {"c": np.array([["\U0001F600"], ["a"]])})


def string_words(values: list, dims: tuple[int, int]) -> np.ndarray:
    """MATLAB's saved form of a string array (version 1, dims, counts, UTF-16 units)."""
    counts = [MISSING_STRING if v is None else len(v.encode("utf-16-le")) // 2 for v in values]
    units = b"".join(v.encode("utf-16-le", "surrogatepass") for v in values if v is not None)
    units += bytes(-len(units) % 8)
    head = np.array([1, len(dims), *dims, *counts], dtype=np.uint64)
    return np.concatenate([head, np.frombuffer(units, "<u8")]).reshape(-1, 1)


def test_string_arrays_join_pairs_and_keep_missing_strings_apart():
    words = string_words([TEXT, None, ""], (1, 3))
    out = string_array({"any": words}, "string")
    assert out.dtype == STRING_DTYPE and out.shape == (1, 3)
    assert out[0, 0] == TEXT and out[0, 1] is None and out[0, 2] == ""


def test_string_lengths_beyond_the_data_are_refused():
    words = string_words(["abc"], (1, 1))
    words[4, 0] = 1000                  # the count of the only string
    with pytest.raises(ValueError, match="exceed"):
        string_array({"any": words}, "string")


def test_repeated_field_names_are_never_refused_v5(tmp_path):
    """Stored names b, a, a, a: read as b, a, _1_a, _2_a (the k-th repeat, as scipy names
    them: scipy's nasty_duplicate_fieldnames.mat), written back as stored."""
    path = tmp_path / "r.mat"
    savemat(path, {"x": {"b": 0.0, "a": 1.0, "c": 2.0, "d": 3.0}}, version="6")
    raw = bytearray(path.read_bytes())
    names = raw.index(b"b\0a\0c\0d\0", 128)
    raw[names:names + 8] = b"b\0a\0a\0a\0"
    path.write_bytes(bytes(raw))
    ours = loadmat(path)["x"]
    assert list(ours) == ["b", "a", "_1_a", "_2_a"]
    assert [ours[k].item() for k in ours] == [0.0, 1.0, 2.0, 3.0]
    out = tmp_path / "again.mat"
    savemat(out, {"x": ours}, version="6")
    assert out.read_bytes() == path.read_bytes()


def test_repeated_field_names_are_never_refused_v73(tmp_path):
    """v7.3 holds one member per name: a repeated name reads that member for each."""
    path = tmp_path / "r.mat"
    savemat(path, {"x": {"a": 1.0, "b": 2.0}, "y": np.array([(1.0, 2.0)], dtype=[("a", object), ("b", object)])},
            version="7.3")
    with h5py.File(path, "r+") as f:
        for group in ("x", "y"):
            attr = f[group].attrs["MATLAB_fields"]
            attr[1] = attr[0]
            f[group].attrs["MATLAB_fields"] = attr
    back = loadmat(path)
    assert list(back["x"]) == ["a", "_1_a"] and back["x"]["_1_a"].item() == 1.0
    assert back["y"].dtype.names == ("a", "_1_a")


def test_a_timetable_declaring_more_rows_than_it_holds_is_refused():
    column = np.array([[1.0], [2.0], [3.0]])
    data = np.empty((1, 1), dtype=object)
    data[0, 0] = column
    spec = {"varNames": np.array([["x"]], dtype=object), "data": data, "numRows": np.array([[1e12]]),
            "rowTimes": {"origin": np.array([["2020-01-01"]], "M8[us]"),
                         "stepSize": np.array([[1]], "m8[s]").astype("m8[ns]")}}
    with pytest.raises(ValueError, match="rows"):
        timetable({"any": spec}, "timetable")
    spec["data"], spec["varNames"] = np.empty((1, 0), dtype=object), np.empty((1, 0), dtype=object)
    with pytest.raises(ValueError, match="rows"):
        timetable({"any": spec}, "timetable")


def test_class_defaults_copied_into_many_objects_are_bounded():
    """100 objects of a class with 20,000 default properties: refused, not built."""
    builder = WrapperBuilder()
    for _ in range(100):
        builder.fill(builder.reserve("Wide"), {}, False)
    cells = list(builder.cells().reshape(-1))
    cells[-1][1, 0] = {f"p{i}": None for i in range(20_000)}
    decoder = Decoder(FileWrapper(cells, "test"), "test")
    with pytest.raises(MatFileError, match="more properties"):
        for object_id in range(1, 101):
            decoder.object(object_id)


def test_a_char_without_character_data_reads_as_spaces_and_writes_back(tmp_path):
    """A 1x1 char whose data element holds 0 bytes (files in the wild that MATLAB and scipy
    read; scipy gives spaces): read as ' ', written back with its empty data element."""
    path = tmp_path / "c.mat"
    savemat(path, {"c": "x"}, version="6")
    raw = bytearray(path.read_bytes())
    data = raw.index(struct.pack("<I", (2 << 16) | 4) + b"x\0", 128)    # packed miUINT16
    raw[data:data + 8] = struct.pack("<II", 4, 0)                     # a full tag of 0 bytes
    path.write_bytes(bytes(raw))
    value = loadmat(path)["c"]
    assert value == " "
    out = tmp_path / "again.mat"
    savemat(out, {"c": value}, version="6")
    assert out.read_bytes() == bytes(raw)
