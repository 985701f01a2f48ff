"""The v7.3 global-heap check reads the file in pieces: bounded memory, the same refusals."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from matlab_compat import MatFileError, loadmat, savemat
from matlab_compat import mat73


def _struct_file(path):
    savemat(path, {"st": {"alpha": np.ones((1, 1)), "beta": "x"}}, version="7.3")
    return path.read_bytes()


def test_signatures_in_pieces_are_every_one_in_the_file_once(tmp_path, monkeypatch):
    raw = _struct_file(tmp_path / "a.mat") + b"junk" + mat73.GCOL + mat73.GCOL[:5]  # one more, and a cut one at the end
    path = tmp_path / "b.mat"
    path.write_bytes(raw)
    expected = [m.start() for m in re.finditer(re.escape(mat73.GCOL), raw)]
    assert len(expected) >= 2
    for scan in (8, 9, 13, 64, 4096, expected[0] - 3, expected[0] + 1, len(raw)):  # signatures across piece boundaries
        monkeypatch.setattr(mat73, "SCAN_BYTES", scan)
        with open(path, "rb") as fh:
            assert list(mat73._signatures(fh, len(raw))) == expected


@pytest.mark.parametrize("scan", [7, 4096, 16 << 20])
def test_a_corrupt_collection_is_refused_wherever_the_pieces_cut(tmp_path, monkeypatch, scan):
    path = tmp_path / "heap.mat"
    data = bytearray(_struct_file(path))
    at = data.find(mat73.GCOL)
    monkeypatch.setattr(mat73, "SCAN_BYTES", max(8, at - 2 + scan % 5))  # the signature straddles a boundary
    assert loadmat(path)["st"]["beta"] == "x"
    size = int.from_bytes(data[at + 8:at + 16], "little")
    data[at + 8:at + 16] = (size + 512).to_bytes(8, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(MatFileError, match=f"offset {at}: HDF5 global heap of {size + 512} bytes does not fit"):
        loadmat(path)


def test_the_check_needs_no_address_space_for_the_file(tmp_path):
    """A 1.5 GiB file (sparse: a struct file, then a hole) checked under a 0.5 GiB address-space limit."""
    path = tmp_path / "big.mat"
    _struct_file(path)
    with open(path, "r+b") as fh:
        fh.truncate(3 << 29)
    child = ("import resource, sys; from matlab_compat.mat73 import check_global_heaps; "
             "resource.setrlimit(resource.RLIMIT_AS, (1 << 29, 1 << 29)); check_global_heaps(sys.argv[1]); print('checked')")
    done = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "checked\n", done.stderr
