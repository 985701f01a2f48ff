"""Bad command lines, table-driven, for every command: exit code 1, one line on stderr, no traceback,
and nothing written (the data folder and the output places are as they were).

The table runs in-process through each command's own error path (``pipeline.cli.run``, as
``python -m`` does); a few cases, and the full disk, run as real ``python -m`` processes."""
from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from matlab_compat.rng import rng
from pipeline.data.datasets import onehot
from pipeline.data.matfiles import write_mat
from pipeline.encrypt.vortex_params import new_vor_params
from tests.cli import Result, invoke
from tests.shared import ROOT

FILE, FOLDER = "{tmp}/a-file", "{tmp}/a-folder"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """data/mnist/{origin,params} (generated images, freshly drawn parameters), a file and a folder."""
    tmp = tmp_path_factory.mktemp("cli")
    gen = np.random.default_rng(0)
    x = gen.integers(0, 256, (40, 784), dtype=np.uint8)
    y = onehot(gen.integers(0, 10, 40), 10)
    write_mat(tmp / "data/mnist/origin/mnist.mat", {"train_x": x[:30], "train_y": y[:30], "test_x": x[30:], "test_y": y[30:]})
    rows = new_vor_params(10, 28, 28, 800.0, rng(1))
    cell = np.empty((1, len(rows)), dtype=object)
    cell[0, :] = [r.reshape(1, -1) for r in rows]
    write_mat(tmp / "data/mnist/params/vor_params_mnist_result.mat", {"vor_par": cell})
    (tmp / "a-file").write_text("not a folder\n")
    (tmp / "a-folder").mkdir()
    (tmp / "results").mkdir()
    (tmp / "results" / "accuracy_mnist.json").write_text("{ not json")
    return tmp


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


DATA = ["--data-dir", "{tmp}/data"]
CASES = {  # id: (module, args, environment, expected words on stderr)
    "fetch-unknown-dataset": ("pipeline.fetch", ["--dataset", "svhn", *DATA], {}, "'svhn' is neither declared"),
    "fetch-missing-mirror": ("pipeline.fetch", ["--dataset", "mnist", "--mirror", "{tmp}/absent", *DATA], {}, "is not a folder"),
    "encrypt-out-is-a-file": ("pipeline.encrypt", ["--scheme", "vor", "--dataset", "mnist", *DATA, "--out", FILE], {}, "is a file"),
    "encrypt-preview-is-a-folder": ("pipeline.encrypt", ["--scheme", "vor", "--dataset", "mnist", *DATA, "--out", "{tmp}/o",
                                                         "--preview", FOLDER], {}, "is a folder"),
    "encrypt-zero-vortices": ("pipeline.encrypt", ["--scheme", "vor", "--dataset", "mnist", *DATA, "--vortices", "0"], {},
                              "--vortices must be at least 1"),
    "encrypt-negative-seed": ("pipeline.random", ["--dataset", "mnist", *DATA, "--seed", "-1"], {}, "--seed must be at least 0"),
    "encrypt-seed-too-large": ("pipeline.random", ["--dataset", "mnist", *DATA, "--seed", str(2**32)], {}, "--seed"),
    "encrypt-option-of-another-scheme": ("pipeline.random", ["--dataset", "mnist", *DATA, "--params", FILE], {},
                                         "--params: the random scheme does not take it"),
    "encrypt-no-secret": ("pipeline.etc", ["--dataset", "mnist", *DATA], {"VORTEX_ETC_SECRET": None}, "no EtC secret"),
    "encrypt-secret-not-utf8-too-short": ("pipeline.etc", ["--dataset", "mnist", *DATA], {"VORTEX_ETC_SECRET": b"\xff\xfe\xfd"},
                                          "3 bytes; it must be at least 16"),
    "encrypt-block-size": ("pipeline.etc", ["--dataset", "mnist", *DATA, "--block-size", "5"],
                           {"VORTEX_ETC_SECRET": b"a secret of enough bytes"}, "block size 5 does not divide 28 x 28"),
    "encrypt-unknown-scheme": ("pipeline.encrypt", ["--scheme", "rot13", "--dataset", "mnist", *DATA], {}, "'rot13' is not one of"),
    "vor-missing-input": ("pipeline.vor", ["--dataset", "fashion", *DATA], {}, "vortex parameter file is missing; `python -m pipeline.fetch`"),
    "vor-input-is-a-folder": ("pipeline.vor", ["--dataset", "mnist", *DATA, "--input", FOLDER], {}, "expected a MAT-file"),
    "new-params-too-many": ("pipeline.vor", ["new-params", "--dataset", "mnist", "--vortices", "10000000", "--out", "{tmp}/p.mat"], {},
                            "--vortices must be at most 1000"),
    "new-params-bad-seed": ("pipeline.vor", ["new-params", "--dataset", "mnist", "--seed", "-3", "--out", "{tmp}/p.mat"], {},
                            "MATLAB seeds"),
    "schemes-bad-block": ("pipeline.schemes", ["--dataset", "cifar10", "--block-size", "5"], {}, "block size 5 does not divide"),
    "attack-bad-device": ("pipeline.attack", ["--dataset", "mnist", "--scheme", "vor", "--kind", "ciphertext-only", *DATA,
                                              "--out", "{tmp}/att", "--device", "nonsense"], {}, "--device"),
    "attack-negative-epochs": ("pipeline.attack", ["--dataset", "mnist", "--scheme", "vor", "--kind", "ciphertext-only", *DATA,
                                                   "--out", "{tmp}/att", "--epochs", "-1"], {}, "--epochs must be at least 1"),
    "attack-zero-pairs": ("pipeline.attack", ["--dataset", "mnist", "--scheme", "vor", "--kind", "known-plaintext", *DATA,
                                              "--out", "{tmp}/att", "--pairs", "0"], {}, "--pairs must be at least 1"),
    "attack-bad-kind": ("pipeline.attack", ["--dataset", "mnist", "--scheme", "vor", "--kind", "guess", *DATA, "--out", "{tmp}/att"], {},
                        "unknown attack kind 'guess'"),
    "attack-out-is-a-file": ("pipeline.attack", ["--dataset", "mnist", "--scheme", "vor", "--kind", "ciphertext-only", *DATA,
                                                 "--out", FILE], {}, "is a file"),
    "attack-not-encrypted-yet": ("pipeline.attack", ["--dataset", "mnist", "--scheme", "vor", "--kind", "ciphertext-only", *DATA,
                                                     "--out", "{tmp}/att", "--no-recognisability"], {}, "mnist_vor.mat is missing"),
    "information-negative-sample": ("pipeline.information", ["--dataset", "mnist", "--scheme", "vor", *DATA, "--out", "{tmp}/inf",
                                                             "--exact-sample", "-5"], {}, "--exact-sample must be at least 0"),
    "information-no-images": ("pipeline.information", ["--dataset", "mnist", "--scheme", "vor", *DATA, "--out", "{tmp}/inf",
                                                       "--max-images", "0"], {}, "--max-images must be at least 1"),
    "information-infinite-weight": ("pipeline.information", ["--dataset", "mnist", "--scheme", "vor", *DATA, "--out", "{tmp}/inf",
                                                             "--weight-shape", "inf"], {}, "--weight-shape must be a finite number"),
    "information-label-path": ("pipeline.information", ["--dataset", "mnist", "--scheme", "vor", *DATA, "--out", "{tmp}/inf",
                                                        "--label", "../escape"], {}, "--label must be a plain name"),
    "study-malformed-json": ("pipeline.information_study", ["correlate", "--results", "{tmp}/results"], {}, "not results of the information study"),
    "report-no-runs": ("pipeline.report", ["--profile", "cpu", "--runs-dir", "{tmp}/absent", "--out", "{tmp}/rep"], {}, "no runs found"),
    "report-out-is-a-file": ("pipeline.report", ["--profile", "cpu", "--runs-dir", "{tmp}/absent", "--out", FILE], {}, "is a file"),
}


def run(module: str, args: list[str], env: dict, tmp: Path, limit_bytes: int | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("VORTEX_ETC_SECRET", "VORTEX_MIRROR")}
    environment = {k.encode(): v.encode() for k, v in environment.items()}
    environment.update({k.encode(): v for k, v in env.items() if v is not None})

    def limit():  # a full disk, as the writer sees it: writes past the limit fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", module, *[a.format(tmp=tmp) for a in args]], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300, preexec_fn=limit if limit_bytes else None)


def run_in_process(module: str, args: list[str], env: dict, tmp: Path, monkeypatch) -> Result:
    monkeypatch.delitem(os.environb, b"VORTEX_ETC_SECRET", raising=False)
    for name, value in env.items():
        if value is not None:
            monkeypatch.setitem(os.environb, name.encode(), value)
    command = importlib.import_module(module)
    if hasattr(command, "__path__"):  # a package: python -m runs its __main__
        command = importlib.import_module(f"{module}.__main__")
    entry = command.app if hasattr(command, "app") else command.main
    return invoke(entry, [a.format(tmp=tmp) for a in args])


def check_one_clean_line(done: subprocess.CompletedProcess | Result, expected: str) -> None:
    code = done.returncode if isinstance(done, subprocess.CompletedProcess) else done.exit_code
    assert code == 1, (code, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], done.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_command_line(case, workspace, monkeypatch):
    module, args, env, expected = CASES[case]
    before = snapshot(workspace)
    check_one_clean_line(run_in_process(module, args, env, workspace, monkeypatch), expected)
    assert snapshot(workspace) == before  # nothing written, nothing left behind


@pytest.mark.parametrize("case", ["attack-bad-device", "encrypt-secret-not-utf8-too-short", "new-params-too-many", "fetch-unknown-dataset"])
def test_bad_command_line_as_a_process(case, workspace):
    module, args, env, expected = CASES[case]
    before = snapshot(workspace)
    check_one_clean_line(run(module, args, env, workspace), expected)
    assert snapshot(workspace) == before


def test_a_full_disk_is_one_clean_line_and_leaves_no_partial_output(workspace):
    before = snapshot(workspace)
    done = run("pipeline.encrypt", ["--scheme", "vor", "--dataset", "mnist", *DATA], {}, workspace, limit_bytes=20_000)
    check_one_clean_line(done, "File too large")
    assert snapshot(workspace) == before


def test_old_spellings_still_work(workspace, tmp_path):
    done = run("pipeline.vor", ["--dataset", "mnist", *DATA, "--output", str(tmp_path / "vor")], {}, workspace)
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "vor" / "params.json").read_text())
    assert record["scheme"] == "vor" and record["key"]["vortices"] == 10
    help_text = run("pipeline.vor", ["--help"], {}, workspace).stdout
    assert "--out" in help_text and "--output" not in help_text  # the old spelling is hidden
