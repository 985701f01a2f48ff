"""The MATLAB-written corpus (../shared/fixtures/matlab-corpus): every file reads, values agree
with scipy's reading, and every v5 file re-writes byte for byte (or differs only by the older
zlib of MATLAB 2006-2010, shown by equal decompressed elements)."""
from __future__ import annotations

import re
import struct
import warnings
import zlib

import numpy as np
import pytest
import scipy.io
import scipy.sparse

from matlab_compat import kept, loadmat, read_header, savemat
from matlab_compat.values import SUBSYSTEM, MatlabOpaque
from tests.shared import SHARED, shared_path

CORPUS = SHARED / "fixtures" / "matlab-corpus"
NAMES = sorted(p.name for p in CORPUS.glob("*.mat")) or ["(corpus absent)"]
#: The v5 files (v6 and v7): MATLAB decides their bytes; a v7.3 file's bytes are libhdf5's, so only its values are compared.
V5_NAMES = [name for name in NAMES if not (CORPUS / name).exists() or read_header(CORPUS / name).version != "7.3"]


def corpus_file(name: str):
    return shared_path("fixtures", "matlab-corpus", name)


def elements(raw: bytes, order: str) -> list[bytes]:
    """The top-level elements of a v5 file, compressed ones decompressed."""
    out, pos = [], 128
    while pos < len(raw):
        type_, size = struct.unpack_from(order + "II", raw, pos)
        body = raw[pos + 8:pos + 8 + size]
        out.append(zlib.decompress(body) if type_ == 15 else body)
        pos += 8 + size + (0 if type_ == 15 else -size % 8)
    return out


def assert_agrees_with_scipy(ours, theirs):
    """Our value holds what scipy's ``loadmat(mat_dtype=True, chars_as_strings=False)`` holds
    (its complex values from ``mat_dtype=False``: scipy drops the imaginary part otherwise)."""
    ours = kept.source_of(ours) or ours     # a decoded MCOS object: compared as its object
    if isinstance(theirs, tuple):
        theirs, theirs_complex = theirs
        if isinstance(ours, np.ndarray) and ours.dtype.kind == "c":
            theirs = theirs_complex
    if ours is None:   # MATLAB's unassigned cell or field: scipy gives an empty double
        assert theirs.size == 0
    elif isinstance(ours, MatlabOpaque):
        if ours.cls == 3:       # old-style object: class name and fields
            assert theirs.classname == ours.classname
            assert_agrees_with_scipy(ours.decoded, theirs if theirs.shape != (1, 1) else theirs[0, 0])
        elif ours.cls == 16:    # function handle: its struct
            assert ours.classname == "function_handle" and type(theirs).__name__ == "MatlabFunction"
            assert_agrees_with_scipy(ours.decoded, theirs[0, 0])
        elif ours.cls == 17:
            classname = theirs[0]["s2"]
            assert getattr(classname, "item", lambda: classname)().decode() == ours.classname
    elif isinstance(ours, str):
        assert "".join(np.asarray(theirs).ravel(order="F")) == ours
    elif isinstance(ours, dict):
        theirs = theirs if theirs.shape == () or theirs.dtype.names is None else theirs.reshape(-1)[0]
        assert list(theirs.dtype.names or []) == list(ours)
        for key in ours:
            assert_agrees_with_scipy(ours[key], theirs[key])
    elif scipy.sparse.issparse(ours):
        assert theirs.shape == ours.shape      # scipy keeps the storage type (uint8 for logical)
        assert (theirs.astype(ours.dtype) != ours).nnz == 0
    elif ours.dtype.names is not None or ours.dtype == object:    # struct array, cell
        assert theirs.shape == ours.shape and theirs.dtype.names == ours.dtype.names
        columns = [(ours[f], theirs[f]) for f in ours.dtype.names] if ours.dtype.names else [(ours, theirs)]
        for mine, scipys in columns:
            for a, b in zip(mine.ravel(), scipys.ravel()):
                assert_agrees_with_scipy(a, b)
    else:
        assert theirs.shape == ours.shape
        if ours.dtype.kind == "U":
            assert np.array_equal(theirs, ours)
        else:
            assert theirs.dtype.newbyteorder("=") == ours.dtype
            np.testing.assert_array_equal(theirs, ours)


@pytest.mark.parametrize("name", NAMES)
def test_corpus_file_reads(name):
    path = corpus_file(name)
    values = loadmat(path)
    assert values
    if read_header(path).version == "7.3":
        return
    order = read_header(path).byte_order
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        typed, stored = (scipy.io.loadmat(path, mat_dtype=typed, chars_as_strings=False,
                                          uint16_codec=f"utf-16-{'le' if order == '<' else 'be'}")
                         for typed in (True, False))
    # scipy names every top-level MCOS/Java object "None"
    objects = {k: kept.source_of(v) or v for k, v in values.items()}
    assert {k for k in values if not (isinstance(objects[k], MatlabOpaque) and objects[k].cls == 17)} \
        == {k for k in typed if not k.startswith("__") and k != "None"} | ({SUBSYSTEM} & set(typed))
    for key, value in values.items():
        if key in typed and key != SUBSYSTEM:
            assert_agrees_with_scipy(value, (typed[key], stored[key]))


@pytest.mark.parametrize("name", V5_NAMES)
def test_corpus_file_rewrites_byte_for_byte(name, tmp_path):
    """Identical bytes; or, for MATLAB of 2006-2010 (its header's year) with its older zlib,
    identical decompressed elements."""
    path = corpus_file(name)
    header = read_header(path)
    assert header.version in ("6", "7")
    out = tmp_path / name
    savemat(out, loadmat(path), header=header)
    ours, theirs = out.read_bytes(), path.read_bytes()
    if ours == theirs:
        return
    assert header.version == "7"
    assert 2006 <= int(re.search(r"(\d{4})\s*$", header.description).group(1)) <= 2010
    assert elements(ours, header.byte_order) == elements(theirs, header.byte_order)
    assert ours[:128] == theirs[:128]
