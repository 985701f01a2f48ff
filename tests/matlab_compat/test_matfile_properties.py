"""Property tests: write -> read keeps values and classes; scipy reads our v5/v7 files alike."""
from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest
import scipy.io
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from matlab_compat import loadmat, read_header, savemat
from matlab_compat.values import MATLAB_KEYWORDS

NUMERIC = ["f8", "f4", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "c16", "c8", "?"]
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def matlab_shapes(draw, max_side=4):
    """MATLAB sizes: 2-D, or N-D without trailing singleton dimensions."""
    ndim = draw(st.sampled_from([2, 2, 2, 3]))
    shape = [draw(st.integers(0, max_side)) for _ in range(ndim)]
    if ndim > 2 and shape[-1] == 1:
        shape[-1] = 2
    return tuple(shape)


def doubles():
    """Doubles: integer-valued (MATLAB's compact storage) and general, NaN/inf included."""
    return st.one_of(st.integers(-70000, 70000).map(float), st.integers(0, 300).map(float),
                     st.floats(allow_nan=True, allow_infinity=True, width=64))


@st.composite
def numeric_arrays(draw):
    dtype = np.dtype(draw(st.sampled_from(NUMERIC)))
    shape = draw(matlab_shapes())
    if dtype == np.float64:
        return draw(hnp.arrays(dtype, shape, elements=doubles()))
    if dtype.kind == "c":
        part = np.dtype("f8") if dtype.itemsize == 16 else np.dtype("f4")
        real = draw(hnp.arrays(part, shape, elements=st.integers(-300, 300).map(float)))
        imag = draw(hnp.arrays(part, shape))
        out = np.empty(shape, dtype)
        out.real, out.imag = real, imag
        return out
    return draw(hnp.arrays(dtype, shape))


CHARS = st.characters(min_codepoint=32, max_codepoint=0xD7FF)


@st.composite
def char_values(draw):
    """char 1xN (str), 0x0 (''), or a char matrix of another shape (<U1 array)."""
    if draw(st.booleans()):
        return draw(st.text(CHARS, max_size=8))
    shape = draw(matlab_shapes(3))
    if shape == (0, 0) or (len(shape) == 2 and shape[0] == 1 and shape[1] > 0):
        shape = (2,) + shape[1:]
    chars = draw(st.lists(CHARS, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return np.array(chars, dtype="<U1").reshape(shape) if chars else np.empty(shape, "<U1")


def sparse_values():
    dense = hnp.arrays(np.float64, st.tuples(st.integers(0, 4), st.integers(0, 4)),
                       elements=st.sampled_from([0.0, 0.0, 1.0, -2.5, 3.0]))
    logical = hnp.arrays(np.bool_, st.tuples(st.integers(0, 4), st.integers(0, 4)))
    return st.one_of(dense, logical).map(scipy.sparse.csc_matrix)


# Names MATLAB accepts: its reserved words (`if`, `end`...) are refused by the writer, as by MATLAB.
FIELD = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(lambda n: n not in MATLAB_KEYWORDS)


def leaves():
    return st.one_of(numeric_arrays(), char_values(), sparse_values())


def containers(children):
    @st.composite
    def cells(draw):
        shape = draw(matlab_shapes(3))
        items = draw(st.lists(children, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
        out = np.empty(int(np.prod(shape)), dtype=object)
        for i, item in enumerate(items):
            out[i] = item
        return out.reshape(shape)

    @st.composite
    def struct_arrays(draw):
        fields = draw(st.lists(FIELD, min_size=1, max_size=3, unique=True))
        shape = draw(matlab_shapes(2).filter(lambda s: s != (1, 1)))
        out = np.empty(shape, dtype=[(f, object) for f in fields])
        for f in fields:
            for idx in np.ndindex(shape):
                out[f][idx] = draw(children)
        return out

    scalar_struct = st.dictionaries(FIELD, children, max_size=3)
    return st.one_of(cells(), struct_arrays(), scalar_struct)


VALUES = st.recursive(leaves(), containers, max_leaves=6)
VARIABLES = st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True).filter(
                                lambda n: n not in MATLAB_KEYWORDS),
                            VALUES, min_size=1, max_size=3)


def assert_same(ours, expected):
    """Same Python type, class (dtype), shape and values, recursively."""
    assert type(ours) is type(expected), (type(ours), type(expected))
    if isinstance(expected, dict):
        assert list(ours) == list(expected)
        for key in expected:
            assert_same(ours[key], expected[key])
    elif scipy.sparse.issparse(expected):
        assert ours.shape == expected.shape and ours.dtype == expected.dtype
        np.testing.assert_array_equal(ours.toarray(), expected.toarray())
    elif isinstance(expected, str):
        assert ours == expected
    else:
        assert ours.dtype == expected.dtype and ours.shape == expected.shape
        if expected.dtype.names:
            for f in expected.dtype.names:
                for a, b in zip(ours[f].ravel(), expected[f].ravel()):
                    assert_same(a, b)
        elif expected.dtype == object:
            for a, b in zip(ours.ravel(), expected.ravel()):
                assert_same(a, b)
        else:
            np.testing.assert_array_equal(ours, expected)


def as_v73_keeps_it(value):
    """The value v7.3 gives back: MATLAB's HDF5 layout stores an empty array as its dimensions
    only, so an empty complex array comes back real (documented in docs/matfile.md)."""
    if isinstance(value, dict):
        return {k: as_v73_keeps_it(v) for k, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.names:
        out = value.copy()
        for f in value.dtype.names:
            for idx in np.ndindex(value.shape):
                out[f][idx] = as_v73_keeps_it(value[f][idx])
        return out
    if isinstance(value, np.ndarray) and value.dtype == object:
        out = np.empty(value.shape, dtype=object)
        for idx in np.ndindex(value.shape):
            out[idx] = as_v73_keeps_it(value[idx])
        return out
    if isinstance(value, np.ndarray) and value.dtype.kind == "c" and value.size == 0:
        return value.real.copy()
    return value


@SETTINGS
@given(variables=VARIABLES, version=st.sampled_from(["6", "7", "7.3"]),
       byte_order=st.sampled_from(["<", ">"]))
def test_write_then_read_gives_same_values_and_classes(variables, version, byte_order, tmp_path):
    if version == "7.3":
        byte_order = "<"
    path = tmp_path / "v.mat"
    savemat(path, variables, version=version, byte_order=byte_order)
    expected = {k: as_v73_keeps_it(v) for k, v in variables.items()} if version == "7.3" else variables
    assert_same(loadmat(path), expected)
    header = read_header(path)
    assert (header.version, header.byte_order) == (version, byte_order)


def assert_scipy_agrees(ours, theirs):
    """scipy's reading of our file (``chars_as_strings=False``) holds the same values."""
    if isinstance(ours, str):
        assert "".join(theirs.ravel(order="F")) == ours
    elif isinstance(ours, dict):
        assert theirs.shape == (1, 1) and list(theirs.dtype.names or []) == list(ours)
        for key in ours:
            assert_scipy_agrees(ours[key], theirs[key][0, 0])
    elif scipy.sparse.issparse(ours):
        assert theirs.shape == ours.shape
        np.testing.assert_array_equal(theirs.toarray(), ours.toarray().astype(theirs.dtype))
    elif ours.dtype.names:
        assert theirs.shape == ours.shape
        for f in ours.dtype.names:
            for a, b in zip(ours[f].ravel(), theirs[f].ravel()):
                assert_scipy_agrees(a, b)
    elif ours.dtype == object:
        assert theirs.shape == ours.shape
        for a, b in zip(ours.ravel(), theirs.ravel()):
            assert_scipy_agrees(a, b)
    elif ours.dtype.kind == "U":
        assert theirs.shape == ours.shape and np.array_equal(theirs, ours)
    else:
        assert theirs.shape == ours.shape
        np.testing.assert_array_equal(theirs, ours)  # scipy keeps the compact storage type


@SETTINGS
@given(variables=VARIABLES, version=st.sampled_from(["6", "7"]),
       byte_order=st.sampled_from(["<", ">"]))
def test_scipy_reads_our_v5_files_to_the_same_values(variables, version, byte_order, tmp_path):
    path = tmp_path / "v.mat"
    savemat(path, variables, version=version, byte_order=byte_order)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns when mat_dtype meets complex data
        # MATLAB's v6 chars are UTF-16 code units (miUINT16): tell scipy their codec
        theirs = scipy.io.loadmat(path, chars_as_strings=False, mat_dtype=False,
                                  uint16_codec="utf-16-be" if byte_order == ">" else "utf-16-le")
    for name, value in variables.items():
        assert_scipy_agrees(value, theirs[name])


@SETTINGS
@given(variables=VARIABLES)
def test_v73_files_follow_matlabs_hdf5_layout(variables, tmp_path):
    path = tmp_path / "v.mat"
    savemat(path, variables, version="7.3")
    raw = path.read_bytes()
    assert raw[:19] == b"MATLAB 7.3 MAT-file" and raw[124:128] == b"\x00\x02IM"
    with h5py.File(path, "r") as f:
        assert f.userblock_size == 512
        for name, value in variables.items():
            node = f[name]
            cls = node.attrs["MATLAB_class"].decode()
            if isinstance(value, dict) or (isinstance(value, np.ndarray) and value.dtype.names):
                assert cls == "struct"
            elif isinstance(value, np.ndarray) and value.dtype == object:
                assert cls == "cell"
                if value.size:
                    assert node.dtype == h5py.ref_dtype
                    assert f[node[()].flat[0]].name.startswith("/#refs#/")
            elif isinstance(value, str) or (isinstance(value, np.ndarray) and value.dtype.kind == "U"):
                assert cls == "char"


def test_compact_storage_rules(tmp_path):
    """MATLAB's storage type for integer-valued doubles (and doubles kept as doubles)."""
    from matlab_compat.format import miDOUBLE, miINT16, miINT32, miUINT8, miUINT16
    from matlab_compat.mat5_writer import compact
    cases = [([21, 27, 0, 1], miUINT8), ([15, 28, -1, 1], miINT16), ([0, 40000], miUINT16),
             ([-1, 40000], miINT32), ([0, 2**32 - 1], miDOUBLE), ([-1, 2**32 - 1], miDOUBLE),
             ([0.5], miDOUBLE), ([np.nan, 1], miDOUBLE), ([-0.0, 1], miDOUBLE), ([], miUINT8),
             ([306], miUINT16), ([978454800, 1009841400], miINT32), ([-129, 5], miINT16),
             ([0.0, -0.0], miDOUBLE), ([-3, -0.0], miDOUBLE)]
    for values, expected in cases:
        mi, stored = compact(np.array(values, dtype=float))
        assert mi == expected, values
        np.testing.assert_array_equal(stored, values)


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("spoiler", [None, 0.5, -0.0])
def test_compact_storage_of_big_arrays_checked_on_threads(layout, spoiler):
    """The rules hold for arrays checked in slices on threads: one fraction or one -0.0 in any
    slice keeps the doubles; the stored values and layout are numpy's own conversion's."""
    from matlab_compat.format import miDOUBLE, miUINT8
    from matlab_compat.mat5_writer import compact
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (1100, 2000)).astype(np.float64)    # 17.6 MB: many slices
    if spoiler is not None:                                          # an even column: kept by the stride
        base[int(rng.integers(1100)), 2 * int(rng.integers(1000))] = spoiler
    arr = {"C": base, "F": np.asfortranarray(base), "strided": base[:, ::2]}[layout]
    mi, stored = compact(arr)
    if spoiler is None:
        assert mi == miUINT8 and stored.dtype == np.uint8 and np.array_equal(stored, arr)
        assert stored.flags.f_contiguous == arr.flags.f_contiguous
    else:
        assert mi == miDOUBLE and stored is arr


@pytest.mark.parametrize("version", ["6", "7", "7.3"])
def test_default_header_is_fixed_so_outputs_are_reproducible(version, tmp_path):
    variables = {"x": np.arange(12.0).reshape(3, 4), "c": "text"}
    savemat(tmp_path / "a.mat", variables, version=version)
    savemat(tmp_path / "b.mat", variables, version=version)
    assert (tmp_path / "a.mat").read_bytes() == (tmp_path / "b.mat").read_bytes()
    assert "Created on: Thu Jan  1 00:00:00 1970" in read_header(tmp_path / "a.mat").text


@pytest.mark.parametrize("version", ["6", "7", "7.3"])
def test_failed_write_leaves_no_partial_file(version, tmp_path):
    """An unrepresentable variable raises MatFileError; the old file stays, nothing else appears."""
    from matlab_compat import MatFileError
    target = tmp_path / "out.mat"
    target.write_bytes(b"previous")
    bad = {"ok": np.ones((100, 100)), "bad": np.array([[1]], dtype=np.float16)}
    with pytest.raises(MatFileError, match="float16"):
        savemat(target, bad, version=version)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mat"]


def test_big_endian_file_reads_back_and_scipy_agrees(tmp_path):
    path = tmp_path / "be.mat"
    x = np.arange(20, dtype=np.int32).reshape(4, 5) * 1000
    savemat(path, {"x": x, "y": np.array([[0.25, -1e300]])}, version="6", byte_order=">")
    raw = path.read_bytes()
    assert raw[126:128] == b"MI" and raw[124:126] == b"\x01\x00"
    back = loadmat(path)
    assert back["x"].dtype == np.int32 and back["x"].dtype.isnative
    np.testing.assert_array_equal(back["x"], x)
    np.testing.assert_array_equal(scipy.io.loadmat(path)["y"], [[0.25, -1e300]])


@pytest.mark.parametrize("version", ["6", "7", "7.3"])
@pytest.mark.parametrize("value", [2**70, {1, 2}, np.array([[b"ab"]])],
                         ids=["huge-int", "set", "bytes"])   # datetime64: a MATLAB datetime now
def test_values_without_matlab_class_are_refused(value, version, tmp_path):
    from matlab_compat import MatFileError
    with pytest.raises(MatFileError, match="'x'"):
        savemat(tmp_path / "x.mat", {"x": value}, version=version)
    assert list(tmp_path.iterdir()) == []
