"""Bad command lines, table-driven, for every command: exit code 1, one line on stderr, no traceback,
no hang, and nothing written (the data folder and the output places are as they were).

The table runs in-process through each command's own error path (``workbench.cli.run``, as
``python -m`` does), in the workspace as working folder and under a deadline, so that a command
blocked on a FIFO fails its case instead of the suite; a few cases, and the full disk, run as real
``python -m`` processes under a timeout. Every path option meets a FIFO (``os.mkfifo``): it must
be refused by name before anything opens it."""
from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from matlab_compat.rng import rng
from workbench.data.datasets import onehot
from workbench.data.matfiles import write_mat
from pipeline.encrypt.vortex_params import new_vor_params
from tests.cli import Result, invoke
from tests.shared import ROOT

FILE, FOLDER, FIFO = "{tmp}/a-file", "{tmp}/a-folder", "{tmp}/fifo"
DEADLINE_S = 60  # an in-process case still running then is a hang (a refusal takes well under a second)


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
    (tmp / "results" / "a-file").write_text("not a folder\n")
    os.mkfifo(tmp / "fifo")
    os.mkfifo(tmp / "results" / "fifo")
    for name, listed in (("fifo-data", False), ("fifo-listed-data", True)):  # an encrypted split file that is a FIFO
        (tmp / name / "mnist" / "vor").mkdir(parents=True)
        os.mkfifo(tmp / name / "mnist" / "vor" / "mnist_vor.mat")
        if listed:  # the encrypt stage's record lists it: its digest is checked before it is read
            (tmp / name / "mnist" / "vor" / "params.json").write_text(json.dumps({"files": {"mnist_vor.mat": "0" * 64}}))
    (tmp / "fifo-runs" / "run").mkdir(parents=True)
    os.mkfifo(tmp / "fifo-runs" / "run" / "metrics.json")
    (tmp / "fifo-results").mkdir()
    os.mkfifo(tmp / "fifo-results" / "accuracy_mnist.json")
    for name in ("fifo-checkpoint", "fifo-kept"):  # a run folder whose checkpoint (or kept.json) is a FIFO
        (tmp / name / "checkpoints").mkdir(parents=True)
    os.mkfifo(tmp / "fifo-checkpoint" / "checkpoints" / "epoch_0001.pt")
    (tmp / "fifo-kept" / "checkpoints" / "epoch_0001.pt").write_bytes(b"never read")
    os.mkfifo(tmp / "fifo-kept" / "checkpoints" / "kept.json")
    return tmp


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


DATA = ["--data-dir", "{tmp}/data"]
ENCRYPT = ["--scheme", "vor", "--dataset", "mnist", *DATA]
ATTACK = ["--scheme", "vor", "--dataset", "mnist", *DATA, "--out", "{tmp}/att", "--kind", "ciphertext-only"]
LEARNED = ["--scheme", "vor", "--dataset", "mnist", *DATA, "--out", "{tmp}/lrn", "--kind", "itn"]
INFORMATION = ["--scheme", "vor", "--dataset", "mnist", *DATA, "--out", "{tmp}/inf"]
COMPRESS = ["--dataset", "mnist", *DATA, "--out", "{tmp}/cmp"]
TRAIN = ["--model", "smallcnn", "--dataset", "mnist", "--epochs", "1", "--batch", "8", "--device", "cpu", *DATA, "--out", "{tmp}/run",
         "--no-progress"]
CASES = {  # id: (module, args, environment, expected words on stderr)
    "fetch-unknown-dataset": ("pipeline.fetch", ["--dataset", "svhn", *DATA], {}, "'svhn' is neither declared"),
    "fetch-missing-mirror": ("pipeline.fetch", ["--dataset", "mnist", "--mirror", "{tmp}/absent", *DATA], {},
                             "--mirror: {tmp}/absent does not exist"),
    "encrypt-out-is-a-file": ("pipeline.encrypt", ["--scheme", "vor", "--dataset", "mnist", *DATA, "--out", FILE], {}, "is a file"),
    "encrypt-preview-is-a-folder": ("pipeline.encrypt", ["--scheme", "vor", "--dataset", "mnist", *DATA, "--out", "{tmp}/o",
                                                         "--preview", FOLDER], {}, "is a folder"),
    "encrypt-zero-vortices": ("pipeline.encrypt", ["--scheme", "vor", "--dataset", "mnist", *DATA, "--vortices", "0"], {},
                              "--vortices must be at least 1"),
    "encrypt-negative-seed": ("pipeline.random", ["--dataset", "mnist", *DATA, "--key-seed", "-1"], {}, "--key-seed must be at least 0"),
    "encrypt-seed-too-large": ("pipeline.random", ["--dataset", "mnist", *DATA, "--key-seed", str(2**32)], {}, "--key-seed"),
    "encrypt-option-of-another-scheme": ("pipeline.encrypt", ["--scheme", "random", "--dataset", "mnist", *DATA, "--params", FILE], {},
                                         "--params: the random scheme does not take it"),
    "scheme-command-offers-only-its-options": ("pipeline.random", ["--dataset", "mnist", *DATA, "--params", FILE], {},
                                               "--params: no such option"),
    "encrypt-no-secret": ("pipeline.etc", ["--dataset", "mnist", *DATA], {"VORTEX_SECRET": None}, "no secret: pass --key-seed N"),
    "encrypt-secret-not-utf8-too-short": ("pipeline.etc", ["--dataset", "mnist", *DATA], {"VORTEX_SECRET": b"\xff\xfe\xfd"},
                                          "3 bytes; it must be at least 16"),
    "encrypt-block-size": ("pipeline.etc", ["--dataset", "mnist", *DATA, "--block-size", "5"],
                           {"VORTEX_SECRET": b"a secret of enough bytes"}, "block size 5 does not divide 28 x 28"),
    "encrypt-unknown-scheme": ("pipeline.encrypt", ["--scheme", "rot13", "--dataset", "mnist", *DATA], {}, "'rot13' is not one of"),
    "vor-missing-input": ("pipeline.vor", ["--dataset", "fashion", *DATA], {}, "vortex parameter file is missing; `python -m pipeline.fetch`"),
    "vor-input-is-a-folder": ("pipeline.vor", ["--dataset", "mnist", *DATA, "--input", FOLDER], {},
                              "--input: {tmp}/a-folder is a folder; a regular file is needed"),
    "new-params-too-many": ("pipeline.vor", ["new-params", "--dataset", "mnist", "--vortices", "10000000", "--out", "{tmp}/p.mat"], {},
                            "--vortices must be at most 1000"),
    "new-params-bad-seed": ("pipeline.vor", ["new-params", "--dataset", "mnist", "--key-seed", "-3", "--out", "{tmp}/p.mat"], {},
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
    "report-no-runs": ("pipeline.report", ["--profile", "cpu", "--runs-dir", "{tmp}/absent", "--out", "results/rep"], {}, "no runs found"),
    "report-out-is-a-file": ("pipeline.report", ["--profile", "cpu", "--runs-dir", "{tmp}/absent", "--out", "results/a-file"], {},
                             "is a file"),
    # options checked before any work, also those only some kinds, models or switches use
    "attack-pairs-without-known-plaintext": ("pipeline.attack", [*ATTACK, "--pairs", "3"], {}, "--pairs: only --kind known-plaintext takes it"),
    "attack-classifier-option-without-recognisability": ("pipeline.attack", [*ATTACK, "--no-recognisability", "--epochs", "2"], {},
                                                         "--epochs: it sets the recognisability classifier"),
    "attack-classifier-cache-is-a-file": ("pipeline.attack", [*ATTACK, "--classifier-cache", FILE], {},
                                          "--classifier-cache: {tmp}/a-file is a file; a folder is needed"),
    "learned-negative-threads": ("pipeline.learned_attack", [*LEARNED, "--threads", "-1"], {}, "--threads must be at least 1, got -1"),
    "learned-missing-lpips-weights": ("pipeline.learned_attack", [*LEARNED, "--lpips-weights", "/nonexistent"], {},
                                      "--lpips-weights: /nonexistent does not exist"),
    "learned-unknown-settings": ("pipeline.learned_attack", [*LEARNED, "--settings", "gpu"], {}, "--settings: unknown settings 'gpu'"),
    "learned-bad-device": ("pipeline.learned_attack", [*LEARNED, "--device", "nonsense"], {}, "--device"),
    "learned-known-pairs-without-itn": ("pipeline.learned_attack", [*LEARNED[:-1], "gan", "--known-pairs", "5"], {},
                                        "--known-pairs: only --kind itn takes it"),
    "learned-attack-option-without-kind": ("pipeline.learned_attack", ["--dataset", "mnist", "--out", "{tmp}/lrn", "--threads", "2"], {},
                                           "--threads: it sets an attack, and no --kind is given"),
    "learned-figures-dir-with-no-figures": ("pipeline.learned_attack", [*LEARNED, "--no-figures", "--figures-dir", "{tmp}/fig"], {},
                                            "--figures-dir: --no-figures draws no figures"),
    "encrypt-missing-key-file": ("pipeline.etc", ["--dataset", "mnist", *DATA, "--key-file", "{tmp}/absent"], {},
                                 "--key-file: {tmp}/absent does not exist"),
    "encrypt-cifar-input-is-a-file": ("pipeline.encrypt", ["--scheme", "vor", "--dataset", "cifar10", *DATA, "--input", FILE], {},
                                      "--input: {tmp}/a-file is a file; a folder is needed"),
    "study-unknown-preset": ("pipeline.information_study", ["accuracy", "--dataset", "mnist", *DATA, "--out", "{tmp}/st", "--preset", "bogus"],
                             {}, "--preset: unknown preset 'bogus'"),
    "report-bad-profile-name": ("pipeline.report", ["--profile", "a/b", "--out", "results"], {}, "--profile: a profile's name, got 'a/b'"),
    "train-vit-crop-not-a-multiple-of-the-patch": ("train", ["--dataset", "fashion", "--model", "vit_b_16", "--crop", "30", "--patch", "16",
                                                             *DATA, "--out", "{tmp}/run"], {},  # fashion is absent: a late check would say so
                                                   "--crop: vit_b_16: crop 30 is not a multiple of the patch size 16"),
    "train-smallcnn-crop-too-small": ("train", [*TRAIN, "--crop", "3"], {}, "--crop: smallcnn: crop 3 is too small"),
    "train-convmixer-patch-larger-than-crop": ("train", [TRAIN[0], "convmixer", *TRAIN[2:], "--crop", "8", "--patch", "16"], {},
                                               "--patch: convmixer: patch 16 is larger than the crop 8"),
    "train-missing-weights": ("train", [*TRAIN, "--weights", "{tmp}/absent.pt"], {}, "--weights: {tmp}/absent.pt does not exist"),
    "information-exact-sample-with-a-fixed-key": ("pipeline.information", [*INFORMATION, "--exact-sample", "5"], {},
                                                  "--exact-sample: only per-image keys take it; vor's key is one map"),
    "information-scheme-without-a-position-map": ("pipeline.information", [INFORMATION[0], "le", *INFORMATION[2:4], "--data-dir", FOLDER,
                                                                           "--out", "{tmp}/inf"],  # no images there: a late check would say so
                                                  {"VORTEX_SECRET": b"a secret of enough bytes"},
                                                  "the information measure needs the key as a position map; le is not one"),
    "attack-negative-seed": ("pipeline.attack", [*ATTACK, "--seed", "-1"], {}, "--seed must be at least 0"),
    "learned-negative-seed": ("pipeline.learned_attack", [*LEARNED, "--seed", "-1"], {}, "--seed must be at least 0"),
    "compress-option-no-measured-scheme-takes": ("pipeline.compress", [*COMPRESS, "--scheme", "vor", "--block-size", "7"], {},
                                                 "--block-size: none of the measured schemes (vor) takes it"),
    "compress-public-secret-and-key-file": ("pipeline.compress", [*COMPRESS, "--public-secret", "--key-file", FILE], {},
                                            "--key-file: --public-secret keys the secret-keyed schemes instead"),
    "launch-bad-nproc": ("train.launch", ["--nproc", "abc"], {}, "--nproc: "),
    "launch-zero-nproc": ("train.launch", ["--nproc", "0"], {}, "--nproc: must be a whole number >= 1"),
    "launch-unknown-launcher": ("train.launch", ["--launcher", "mpirun"], {}, "--launcher: must be one of python, torchrun"),
}

#: Every path option meets a FIFO: (module, args, the refusal, naming the option).
IS_A_FIFO = "{tmp}/fifo is a FIFO (named pipe); a regular file is needed"
FIFO_NOT_FOLDER = "{tmp}/fifo is a FIFO (named pipe); a folder is needed"
FIFO_CASES = {
    "encrypt-key-file": ("pipeline.encrypt", ["--scheme", "etc", "--dataset", "mnist", *DATA, "--key-file", FIFO], "--key-file: " + IS_A_FIFO),
    "encrypt-params": ("pipeline.encrypt", [*ENCRYPT, "--params", FIFO], "--params: " + IS_A_FIFO),
    "encrypt-input": ("pipeline.encrypt", [*ENCRYPT, "--input", FIFO], "--input: " + IS_A_FIFO),
    "encrypt-data-dir": ("pipeline.encrypt", ["--scheme", "vor", "--dataset", "mnist", "--data-dir", FIFO], "--data-dir: " + FIFO_NOT_FOLDER),
    "encrypt-out": ("pipeline.encrypt", [*ENCRYPT, "--out", FIFO], "--out: " + FIFO_NOT_FOLDER),
    "encrypt-preview": ("pipeline.encrypt", [*ENCRYPT, "--out", "{tmp}/o", "--preview", FIFO], "--preview: " + IS_A_FIFO),
    "new-params-out": ("pipeline.vor", ["new-params", "--dataset", "mnist", "--out", FIFO], "--out: " + IS_A_FIFO),
    "fetch-data-dir": ("pipeline.fetch", ["--dataset", "mnist", "--data-dir", FIFO], "--data-dir: " + FIFO_NOT_FOLDER),
    "fetch-mirror": ("pipeline.fetch", ["--dataset", "mnist", "--mirror", FIFO, *DATA], "--mirror: " + FIFO_NOT_FOLDER),
    "attack-key-file": ("pipeline.attack", [ATTACK[0], "etc", *ATTACK[2:], "--key-file", FIFO], "--key-file: " + IS_A_FIFO),
    "attack-params": ("pipeline.attack", [*ATTACK, "--params", FIFO], "--params: " + IS_A_FIFO),
    "attack-classifier-cache": ("pipeline.attack", [*ATTACK, "--classifier-cache", FIFO], "--classifier-cache: " + FIFO_NOT_FOLDER),
    "attack-data-dir": ("pipeline.attack", [*ATTACK, "--data-dir", FIFO], "--data-dir: " + FIFO_NOT_FOLDER),
    "attack-out": ("pipeline.attack", [*ATTACK, "--out", FIFO], "--out: " + FIFO_NOT_FOLDER),
    "learned-lpips-weights": ("pipeline.learned_attack", [*LEARNED, "--lpips-weights", FIFO], "--lpips-weights: " + IS_A_FIFO),
    "learned-classifier-cache": ("pipeline.learned_attack", [*LEARNED, "--classifier-cache", FIFO], "--classifier-cache: " + FIFO_NOT_FOLDER),
    "learned-checkpoints": ("pipeline.learned_attack", [*LEARNED, "--checkpoints", FIFO], "--checkpoints: " + FIFO_NOT_FOLDER),
    "learned-figures-dir": ("pipeline.learned_attack", [*LEARNED, "--figures-dir", FIFO], "--figures-dir: " + FIFO_NOT_FOLDER),
    "learned-key-file": ("pipeline.learned_attack", [LEARNED[0], "etc", *LEARNED[2:], "--key-file", FIFO], "--key-file: " + IS_A_FIFO),
    "learned-data-dir": ("pipeline.learned_attack", [*LEARNED, "--data-dir", FIFO], "--data-dir: " + FIFO_NOT_FOLDER),
    "information-params": ("pipeline.information", [*INFORMATION, "--params", FIFO], "--params: " + IS_A_FIFO),
    "information-key-file": ("pipeline.information", [INFORMATION[0], "etc", *INFORMATION[2:], "--key-file", FIFO], "--key-file: " + IS_A_FIFO),
    "information-data-dir": ("pipeline.information", [*INFORMATION, "--data-dir", FIFO], "--data-dir: " + FIFO_NOT_FOLDER),
    "compress-key-file": ("pipeline.compress", [*COMPRESS, "--key-file", FIFO], "--key-file: " + IS_A_FIFO),
    "compress-params": ("pipeline.compress", [*COMPRESS, "--params", FIFO], "--params: " + IS_A_FIFO),
    "compress-data-dir": ("pipeline.compress", [*COMPRESS, "--data-dir", FIFO], "--data-dir: " + FIFO_NOT_FOLDER),
    "study-key-file": ("pipeline.information_study", ["accuracy", "--dataset", "mnist", *DATA, "--out", "{tmp}/st", "--key-file", FIFO],
                       "--key-file: " + IS_A_FIFO),
    "study-results": ("pipeline.information_study", ["correlate", "--results", FIFO], "--results: " + FIFO_NOT_FOLDER),
    "study-accuracy-file": ("pipeline.information_study", ["correlate", "--results", "{tmp}/fifo-results"],
                            "--results: {tmp}/fifo-results/accuracy_mnist.json is a FIFO"),
    "study-params-file": ("pipeline.information_study", ["run", "--params-file", FIFO, "--study", "study"], "--params-file: " + IS_A_FIFO),
    "report-runs-dir": ("pipeline.report", ["--profile", "cpu", "--out", "results", "--runs-dir", FIFO], "--runs-dir: " + FIFO_NOT_FOLDER),
    "report-attacks-dir": ("pipeline.report", ["--profile", "cpu", "--out", "results", "--runs-dir", FOLDER, "--attacks-dir", FIFO],
                           "--attacks-dir: " + FIFO_NOT_FOLDER),
    "report-information-dir": ("pipeline.report", ["--profile", "cpu", "--out", "results", "--runs-dir", FOLDER, "--information-dir", FIFO],
                               "--information-dir: " + FIFO_NOT_FOLDER),
    "report-readme": ("pipeline.report", ["--profile", "cpu", "--out", "results", "--runs-dir", FOLDER, "--readme", FIFO], "--readme: " + IS_A_FIFO),
    "report-out": ("pipeline.report", ["--profile", "cpu", "--out", "results/fifo"],
                   "--out: results/fifo is a FIFO (named pipe); a folder is needed"),
    "report-metrics-file": ("pipeline.report", ["--profile", "cpu", "--out", "results", "--runs-dir", "{tmp}/fifo-runs"],
                            "{tmp}/fifo-runs/run/metrics.json: not a metrics file of python -m train "
                            "({tmp}/fifo-runs/run/metrics.json is a FIFO"),
    "train-data-file": ("train", [*TRAIN, "--scheme", "vor", "--data-dir", "{tmp}/fifo-data"],
                        "cannot read a MAT-file: {tmp}/fifo-data/mnist/vor/mnist_vor.mat is a FIFO"),
    "train-listed-data-file": ("train", [*TRAIN, "--scheme", "vor", "--data-dir", "{tmp}/fifo-listed-data"],
                               "cannot read: {tmp}/fifo-listed-data/mnist/vor/mnist_vor.mat is a FIFO"),
    "train-weights": ("train", [*TRAIN, "--weights", FIFO], "--weights: " + IS_A_FIFO),
    "train-data-dir": ("train", [*TRAIN, "--data-dir", FIFO], "--data-dir: " + FIFO_NOT_FOLDER),
    "train-out": ("train", [*TRAIN, "--out", FIFO], "--out: " + FIFO_NOT_FOLDER),
    "train-resume-checkpoint": ("train", [*TRAIN, "--out", "{tmp}/fifo-checkpoint", "--resume"],
                                "--resume: found {tmp}/fifo-checkpoint/checkpoints/epoch_0001.pt but cannot read it or its digest"),
    "train-resume-kept": ("train", [*TRAIN, "--out", "{tmp}/fifo-kept", "--resume"],
                          "{tmp}/fifo-kept/checkpoints/kept.json is corrupt ({tmp}/fifo-kept/checkpoints/kept.json is a FIFO"),
}
CASES.update({f"fifo-{case}": (module, args, {}, says) for case, (module, args, says) in FIFO_CASES.items()})


class Hang(BaseException):
    """An in-process command still running at its deadline (a BaseException: no command's error path catches it)."""


@contextmanager
def deadline(seconds: int):
    """Interrupt the code inside after ``seconds`` with :class:`Hang` (a blocked ``open`` of a FIFO included)."""
    def expire(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run(module: str, args: list[str], env: dict, tmp: Path, limit_bytes: int | None = None) -> subprocess.CompletedProcess:
    """``python -m module args`` in the workspace ``tmp`` as working folder; a hang fails at the timeout."""
    environment = {k: v for k, v in os.environ.items() if k not in ("VORTEX_SECRET", "VORTEX_MIRROR")}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    environment = {k.encode(): v.encode() for k, v in environment.items()}
    environment.update({k.encode(): v for k, v in env.items() if v is not None})

    def limit():  # a full disk, as the writer sees it: writes past the limit fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run([sys.executable, "-m", module, *[a.format(tmp=tmp) for a in args]], cwd=tmp, env=environment,
                          capture_output=True, text=True, timeout=60, preexec_fn=limit if limit_bytes else None)


def run_in_process(module: str, args: list[str], env: dict, tmp: Path, monkeypatch) -> Result:
    """The command in this process, in the workspace ``tmp`` as working folder, under :func:`deadline`."""
    monkeypatch.chdir(tmp)
    monkeypatch.delitem(os.environb, b"VORTEX_SECRET", raising=False)
    for name, value in env.items():
        if value is not None:
            monkeypatch.setitem(os.environb, name.encode(), value)
    command = importlib.import_module(module)
    if hasattr(command, "__path__"):  # a package: python -m runs its __main__
        command = importlib.import_module(f"{module}.__main__")
    entry = command.app if hasattr(command, "app") else command.main
    with deadline(DEADLINE_S):
        return invoke(entry, [a.format(tmp=tmp) for a in args])


def check_one_clean_line(done: subprocess.CompletedProcess | Result, expected: str, tmp: Path) -> None:
    code = done.returncode if isinstance(done, subprocess.CompletedProcess) else done.exit_code
    assert code == 1, (code, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stdout == "", done.stdout  # refused before any work: nothing printed
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected.format(tmp=tmp) in lines[0], done.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_command_line(case, workspace, monkeypatch):
    module, args, env, expected = CASES[case]
    before = snapshot(workspace)
    check_one_clean_line(run_in_process(module, args, env, workspace, monkeypatch), expected, workspace)
    assert snapshot(workspace) == before  # nothing written, nothing left behind


@pytest.mark.parametrize("case", ["attack-bad-device", "encrypt-secret-not-utf8-too-short", "new-params-too-many", "fetch-unknown-dataset",
                                  "fifo-encrypt-key-file", "fifo-attack-classifier-cache", "fifo-learned-lpips-weights", "fifo-report-runs-dir",
                                  "fifo-train-weights", "fifo-train-resume-checkpoint", "train-vit-crop-not-a-multiple-of-the-patch",
                                  "launch-bad-nproc"])
def test_bad_command_line_as_a_process(case, workspace):
    module, args, env, expected = CASES[case]
    before = snapshot(workspace)
    check_one_clean_line(run(module, args, env, workspace), expected, workspace)  # a hang: TimeoutExpired
    assert snapshot(workspace) == before


def test_a_full_disk_is_one_clean_line_and_leaves_no_partial_output(workspace):
    before = snapshot(workspace)
    done = run("pipeline.encrypt", ["--scheme", "vor", "--dataset", "mnist", *DATA], {}, workspace, limit_bytes=20_000)
    check_one_clean_line(done, "File too large", workspace)
    assert snapshot(workspace) == before


def test_old_spellings_are_refused(workspace, tmp_path):
    done = run("pipeline.vor", ["--dataset", "mnist", *DATA, "--output", str(tmp_path / "vor")], {}, workspace)
    assert (done.returncode, done.stderr) == (1, "error: --output: no such option\n")  # no release was made: no aliases
    assert not (tmp_path / "vor").exists()
