"""Crafted MAT-files (issue 25): each class ends in one MatFileError naming the variable or the
HDF5 object, in under 2 s and 256 MB, measured in a forked child (tests/matlab_compat/fuzz_crafted.py) whose
address space may grow by 256 MB at most; honest small files of the same shapes still read."""
from __future__ import annotations

import os
import re
import socket
import struct

import numpy as np
import pytest

from matlab_compat import MatFileError, loadmat, read_header
from tests.matlab_compat import fuzz_crafted as fc

SECONDS, MEGABYTES = 2.0, 256


@pytest.fixture
def folder(tmp_path):
    fc.prepare(tmp_path)
    return tmp_path


def refused(path, pattern: str, func=loadmat):
    """``func(path)`` ends in MatFileError matching ``pattern``, within the time and memory."""
    out = fc.run_bounded(func, path, memory_mb=MEGABYTES, timeout=60)
    assert out.kind == "MatFileError", out
    assert re.search(pattern, out.message), out.message
    assert str(path) in out.message and "\n" not in out.message
    assert out.seconds < SECONDS, out
    assert out.peak_mb < MEGABYTES, out
    return out.message


def write(folder, data: bytes, name: str = "crafted.mat"):
    path = folder / name
    path.write_bytes(data)
    return path


BUDGET = r"would need [\d,]+ bytes of work, beyond what the file's [\d,]+ bytes justify"


@pytest.mark.parametrize("kind", ["cell", "struct", "group"])
def test_v73_reference_dag_fails_fast(kind, folder):
    """Depth 12, branching 10, every reference (or, for 1x1 structs, hard link) to the same
    next level: 10**12 paths."""
    path = fc.v73_dag(folder / "dag.mat", 12, 10, kind)
    if kind == "cell":
        assert path.stat().st_size < 10_000
    refused(path, r"(references|links to) /[#\w/]+ a second time")


@pytest.mark.parametrize("kind", ["cell", "struct", "group"])
def test_v73_reference_tree_of_distinct_objects_reads(kind, folder):
    value = loadmat(fc.v73_dag(folder / "tree.mat", 2, 3, kind, shared=False))["x"]
    if kind == "group":
        assert list(value) == ["f0", "f1", "f2"] and list(value["f2"]) == ["f0", "f1", "f2"]
        leaf = value["f2"]["f1"]
    else:
        leaf = value[0, 0][0, 2] if kind == "cell" else value[0, 2]["f"][0, 0]["f"]
        assert value.shape == (1, 3)
    assert np.array_equal(leaf, np.ones((1, 1)))


@pytest.mark.parametrize("target", ["secret.txt", "fifo", "/dev/zero"])
def test_v73_external_storage_is_refused(target, folder):
    where = target if target.startswith("/") else str(folder / target)
    message = refused(fc.v73_external(folder / "ext.mat", where), "/x: external storage refused")
    assert "SECRET" not in message


@pytest.mark.parametrize("kind, pattern", [("external", "/x: ExternalLink refused"),
                                           ("soft", "/x: SoftLink refused"),
                                           ("field", "/x/f: SoftLink refused")])
def test_v73_links_are_refused(kind, pattern, folder):
    refused(fc.v73_link(folder / "link.mat", kind, folder / "other.mat"), pattern)


def test_v73_virtual_dataset_and_unknown_filter_are_refused(folder):
    refused(fc.v73_virtual(folder / "v.mat", folder / "other.mat"), "/x: virtual dataset refused")
    refused(fc.v73_filter(folder / "f.mat", 32015), "/x: HDF5 filter 32015 refused")
    refused(fc.v73_filter(folder / "g.mat", 6), "/x: HDF5 filter 6 refused")   # scale-offset


def test_v73_cell_referencing_one_object_many_times(folder):
    refused(fc.v73_same_leaf(folder / "s.mat", 100_000), "references /#refs#/a a second time")


@pytest.mark.parametrize("cls", ["uint8", "char"])
def test_v73_deflate_bomb_is_refused_before_reading(cls, folder):
    path = fc.v73_deflate_bomb(folder / "d.mat", 2**30 if cls == "uint8" else 2**28, cls)
    refused(path, "variable 'x': HDF5 dataset /x " + BUDGET)


def test_v4_sparse_header_of_46_bytes(folder):
    """The size row declares 2**31 - 1 columns: 8 GiB of column pointers."""
    data = fc.v4_sparse(2**31 - 1, 2**31 - 1)
    assert len(data) == 46
    refused(write(folder, data), r"variable 'x': a 2147483647x2147483647 sparse matrix " + BUDGET)


def test_v4_sparse_of_a_sane_size_reads(folder):
    value = loadmat(write(folder, fc.v4_sparse(7, 5, 2)))["x"]
    assert value.shape == (7, 5) and value.nnz == 1 and value[0, 0] == 2.0


@pytest.mark.parametrize("n, what", [(2**28, "its decompressed element"), (2**26, "double array")])
def test_v7_compact_storage_bomb(n, what, folder):
    """Doubles stored as uint8 zeros: 2**28 of them (2 GiB) in a 261 KB file are refused at the
    element, 2**26 (512 MB from 66 KB) at the conversion, before either is allocated."""
    path = write(folder, fc.compact_bomb(n))
    assert path.stat().st_size < 270_000
    refused(path, f"variable 'x': {what} " + BUDGET)


@pytest.mark.parametrize("n, what", [(537_000_000, "its decompressed element"), (2**25, "char array")])
def test_v7_utf8_char_bomb(n, what, folder):
    path = write(folder, fc.utf8_bomb(n))
    refused(path, f"variable 's': {what} " + BUDGET)


def test_v7_utf8_char_count_is_checked_before_decoding(folder):
    refused(write(folder, fc.utf8_bomb(1000, 2**31 - 1)), "char data of 1000 bytes cannot hold")


def test_v7_zlib_bomb_within_the_zlib_ratio_is_refused_by_the_budget(folder):
    """1 GiB of zeros in about 1 MB (1,010:1, under zlib's 1,032:1): refused before allocating."""
    path = write(folder, fc.zlib_bomb(2**30))
    assert 1000 < 2**30 / path.stat().st_size < 1100
    refused(path, "variable 'z': its decompressed element " + BUDGET)


def test_v7_zlib_bomb_beyond_the_zlib_ratio_is_a_clear_error(folder):
    head = fc.array_head(fc.mxUINT8, (2, 2**31 - 50), "z") + struct.pack("<II", fc.miUINT8, 0)
    path = write(folder, fc.v5_file(fc.compressed_variable(fc.matrix_tag(2**32 - 16) + head, b"\0", 4096)))
    message = refused(path, "compressed element declares 4294967280 bytes, more than")
    assert "Errno" not in message


def test_v7_zlib_bomb_without_an_array_head_stops_at_the_head(folder):
    refused(write(folder, fc.zlib_bomb(2**30, valid=False)), "array flags must be 8 bytes")


@pytest.mark.parametrize("n, fields, what", [(10**8, 0, "its decompressed element"),
                                             (2**22, 0, "a cell of 4194304 elements"),
                                             (2**20, 3, r"a struct of 1048576 x 3 field values")])
def test_v7_cell_and_struct_element_bombs(n, fields, what, folder):
    refused(write(folder, fc.cell_bomb(n, fields)), f"variable 'c': {what} " + BUDGET)


@pytest.mark.parametrize("cols, what", [(2**30 - 64, "its decompressed element"), (2**25, "sparse array")])
def test_v7_sparse_column_starts_bomb(cols, what, folder):
    refused(write(folder, fc.v5_sparse_columns(cols)), f"variable 'p': {what} " + BUDGET)


def test_small_files_of_the_same_shapes_read_to_their_values(folder):
    assert np.array_equal(loadmat(write(folder, fc.compact_bomb(1000)))["x"], np.zeros((1, 1000)))
    assert loadmat(write(folder, fc.utf8_bomb(300)))["s"] == "a" * 300
    assert np.array_equal(loadmat(write(folder, fc.zlib_bomb(5000)))["z"], np.zeros((1, 5000), np.uint8))
    cell = loadmat(write(folder, fc.cell_bomb(50)))["c"]
    assert cell.shape == (1, 50) and all(v is None for v in cell.flat)
    sparse = loadmat(write(folder, fc.v5_sparse_columns(40)))["p"]
    assert sparse.shape == (1, 40) and sparse.nnz == 0


def test_work_factor_lets_a_trusted_file_through(folder):
    """600,000 unassigned cells in 8 KB exceed the default budget; a raised factor reads them."""
    path = write(folder, fc.cell_bomb(600_000))
    refused(path, "a cell of 600000 elements " + BUDGET)
    cell = loadmat(path, work_factor=100_000)["c"]
    assert cell.shape == (1, 600_000) and cell[0, -1] is None
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(MatFileError, match="work factor must be a positive number"):
            loadmat(path, work_factor=bad)


@pytest.mark.parametrize("special", ["fifo", "/dev/zero", "folder", "socket"])
def test_special_files_are_refused_without_blocking(special, folder):
    path = {"fifo": folder / "fifo", "/dev/zero": "/dev/zero", "folder": folder,
            "socket": folder / "sock"}[special]
    kind = {"fifo": "a FIFO (named pipe)", "/dev/zero": "a character device", "folder": "a folder",
            "socket": "a socket"}[special]
    with socket.socket(socket.AF_UNIX) as sock:
        if special == "socket":
            sock.bind(str(path))
        for func in (loadmat, read_header):
            refused(path, re.escape(f"cannot read: {kind}, not a regular file"), func)


def test_crafted_fuzz_short(tmp_path):
    """A few dozen crafted cases (tests/matlab_compat/fuzz_crafted.py; the long run is its command line)."""
    counts, _, worst_s, worst_mb, others = fc.fuzz(30, seed=1, memory_mb=1024, timeout=30,
                                                   folder=tmp_path)
    assert counts["other"] == 0 and not others, others
    assert worst_s["MatFileError"] < SECONDS, worst_s
    assert counts["value"] > 0 and counts["MatFileError"] > counts["value"], counts
    assert worst_mb < 1024
    assert os.listdir(tmp_path) == []
