"""CLI: ``python -m matlab_compat info`` and ``roundtrip`` on MATLAB's files."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from matlab_compat import savemat
from matlab_compat.cli import app
from tests.shared import ROOT, shared_path
from tests.matlab_compat.test_matfile_fixtures import MATLAB_FIXTURES

runner = CliRunner()


@pytest.mark.parametrize("name", MATLAB_FIXTURES)
def test_cli_roundtrip_recreates_matlab_file(name, tmp_path):
    src = shared_path("fixtures", "matlab", name)
    dst = tmp_path / name
    result = runner.invoke(app, ["roundtrip", str(src), str(dst)])
    assert result.exit_code == 0, result.output
    assert "identical to" in result.output
    assert dst.read_bytes() == src.read_bytes()


def test_cli_info_lists_like_whos():
    src = shared_path("fixtures", "matlab", "mnist_test_random_v1.mat")
    result = runner.invoke(app, ["info", str(src)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "version 7, little-endian" in lines[0]
    assert lines[1] == "header: MATLAB 5.0 MAT-file, Platform: PCWIN64, Created on: Sun Sep 17 12:45:22 2023"
    assert lines[3].split() == ["test_x_vor", "10000x784", "double", "uint8", "62720000", "2684714"]
    assert lines[4].split() == ["test_y", "10000x10", "double", "uint8", "800000", "10055"]


def test_cli_info_on_v73_and_sparse(tmp_path):
    import scipy.sparse
    path = tmp_path / "v73.mat"
    savemat(path, {"img": np.zeros((3, 4), np.uint8), "s": scipy.sparse.eye(3, format="csc")},
            version="7.3")
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[3:]}
    assert rows["img"][:5] == ["img", "3x4", "uint8", "uint8", "12"]
    assert rows["s"][:4] == ["s", "3x3", "double", "sparse"] and rows["s"][-1] == "sparse"


def test_cli_reports_malformed_file_without_traceback(tmp_path):
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"not a mat file" * 20)
    result = runner.invoke(app, ["info", str(bad)])
    assert result.exit_code == 1
    assert "bad.mat: offset 126: bad magic" in result.output
    out = tmp_path / "out.mat"
    result = runner.invoke(app, ["roundtrip", str(bad), str(out)])
    assert result.exit_code == 1 and not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.mat"]   # no partial output left


def test_python_dash_m_entry_point(tmp_path):
    src = shared_path("fixtures", "matlab", "vor_params_cifar.mat")
    dst = tmp_path / "copy.mat"
    done = subprocess.run([sys.executable, "-m", "matlab_compat", "roundtrip", str(src), str(dst)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    assert "identical to" in done.stdout and dst.read_bytes() == src.read_bytes()


def test_cli_info_on_every_corpus_file_and_its_corruptions(tmp_path):
    """Every MATLAB-written corpus file is described; a damaged one (v7.3 included) gives one
    line ``error: <file>: <problem>`` and exit status 1, never a traceback."""
    corpus = shared_path("fixtures", "matlab-corpus")
    rng = np.random.default_rng(12)
    bad = tmp_path / "bad.mat"
    for src in sorted(corpus.glob("*.mat")):
        result = runner.invoke(app, ["info", str(src)])
        assert result.exit_code == 0, result.output
        raw = bytearray(src.read_bytes())
        for _ in range(3):
            cut = bytearray(raw[:int(rng.integers(129, len(raw)))])
            at = int(rng.integers(128, len(cut)))
            cut[at:at + 8] = rng.integers(0, 256, len(cut[at:at + 8]), dtype=np.uint8).tobytes()
            bad.write_bytes(bytes(cut))
            result = runner.invoke(app, ["info", str(bad)])
            assert result.exit_code in (0, 1)
            assert result.exception is None or isinstance(result.exception, SystemExit), result.output
            if result.exit_code == 1:
                lines = result.output.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: "), result.output


def _command(*args: str) -> subprocess.CompletedProcess:
    """``python -m matlab_compat ARGS``; a hang fails the test after 60 s instead of blocking."""
    return subprocess.run([sys.executable, "-m", "matlab_compat", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_info_and_roundtrip_refuse_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.mat"
    os.mkfifo(fifo)
    for args in (["info", str(fifo)], ["roundtrip", str(fifo), str(tmp_path / "out.mat")]):
        done = _command(*args)
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr == f"error: {fifo}: cannot read: a FIFO (named pipe), not a regular file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.mat"]


@pytest.mark.parametrize("out, problem", [
    ("{tmp}", "cannot write: is a directory"),
    ("{tmp}/src.mat/out.mat", "cannot write: folder {tmp}/src.mat is not an existing folder"),
    ("{tmp}/missing/out.mat", "cannot write: folder {tmp}/missing is not an existing folder"),
    ("/proc/version", "cannot write: "),          # a read-only file system, even for root
])
def test_roundtrip_to_an_unwritable_output_is_one_line(out, problem, tmp_path):
    src = tmp_path / "src.mat"
    savemat(src, {"x": np.arange(6.0).reshape(2, 3)})
    dst = out.format(tmp=tmp_path)
    result = runner.invoke(app, ["roundtrip", str(src), dst])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {dst}: {problem.format(tmp=tmp_path)}")
    assert "Traceback" not in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["src.mat"]


def test_roundtrip_unwritable_output_through_python_dash_m(tmp_path):
    src = tmp_path / "src.mat"
    savemat(src, {"x": np.ones((2, 2))})
    done = _command("roundtrip", str(src), str(tmp_path))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"error: {tmp_path}: cannot write: is a directory\n"
