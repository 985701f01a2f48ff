"""The IDX reader: real MNIST test files and generated files, plain and gzip, and corrupt ones."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.data.idx import decompress, parse_idx, read_idx
from workbench.errors import WorkbenchError
from tests.shared import shared_path
from tests.generated import idx_bytes


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=3), st.integers(0, 2**32 - 1))
def test_parse_round_trips_any_shape(shape, seed):
    array = np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
    parsed = parse_idx(idx_bytes(array), "generated")
    assert parsed.shape == tuple(shape)
    assert np.array_equal(parsed, array)


def test_reads_plain_and_gzip_alike(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    (tmp_path / "plain").write_bytes(idx_bytes(array))
    (tmp_path / "packed.gz").write_bytes(gzip.compress(idx_bytes(array)))
    assert np.array_equal(read_idx(tmp_path / "plain"), array)
    assert np.array_equal(read_idx(tmp_path / "packed.gz"), array)


def test_real_mnist_test_labels_and_first_image():
    labels = read_idx(shared_path("data", "mnist-partial", "t10k-labels-idx1-ubyte.gz"))
    images = read_idx(shared_path("data", "mnist-partial", "t10k-images-idx3-ubyte.gz"))
    assert labels.shape == (10000,) and images.shape == (10000, 28, 28)
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    # the first test image is a 7: ink in the middle rows, blank border rows
    assert images[0, :5].max() == 0 and images[0, 7:20].max() == 255
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x00", "only 2 bytes"),
        (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "not an IDX file"),
        (b"\x00\x00\x0d\x01" + struct.pack(">I", 1) + b"\x00\x00\x00\x00", "type code 0x0d"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 1), "header truncated"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x01\x02", "holds 10 bytes"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 1) + b"\x01\x02", "holds 10 bytes"),
    ],
)
def test_corrupt_idx_is_refused_with_the_file_named(content, message):
    with pytest.raises(WorkbenchError, match=message) as err:
        parse_idx(content, "some/file-idx1-ubyte")
    assert "some/file-idx1-ubyte" in str(err.value)


def test_truncated_gzip_is_refused(tmp_path):
    packed = gzip.compress(idx_bytes(np.zeros((100, 28, 28), dtype=np.uint8)) + bytes(range(256)) * 50)
    path = tmp_path / "cut.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(WorkbenchError, match=r"cut\.gz: corrupt or truncated gzip"):
        read_idx(path)


def test_decompress_leaves_plain_bytes_alone():
    assert decompress(b"\x00\x00\x08\x01", "x") == b"\x00\x00\x08\x01"
