"""Bad command lines of ``python -m train``: one line ``error: <option>: <problem>``, exit 1, nothing written.

Each case is refused before any work starts: the data exist (a tiny generated Fashion-MNIST),
so a check made only after training (or after the first epoch) would show up as files in the
folder or as a different message.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.generated import level_pictures, train_cli, write_variant


BAD = [
    (["--lr", "nan"], "--lr"),
    (["--lr", "inf"], "--lr"),
    (["--lr", "0"], "--lr"),
    (["--wd", "nan"], "--wd"),
    (["--jitter", "nan,0,0,0"], "--jitter"),
    (["--jitter", "0.1,0.1"], "--jitter"),
    (["--ricap", "nan"], "--ricap"),
    (["--ricap", "lots"], "--ricap"),
    (["--width", "0"], "--width"),
    (["--seed", "-1"], "--seed"),
    (["--stop-after", "-1"], "--stop-after"),
    (["--stop-after", "0"], "--stop-after"),
    (["--epochs", "0"], "--epochs"),
    (["--epochs", "-1"], "--epochs"),
    (["--batch", "0"], "--batch"),
    (["--flip", "nan"], "--flip"),
    (["--epochs", "three"], "--epochs"),  # click's own parsing: exit 1 too, one line
    (["--bogus"], "--bogus"),
    (["--device", "tpu"], "--device"),
    (["--model", "resnet50"], "--model"),
    (["--jpeg-quality", "0"], "--jpeg-quality"),
    (["--jpeg-quality", "96"], "--jpeg-quality"),
    (["--crop", "3"], "--crop"),  # what only the model checks: its two poolings need a crop of 4
    (["--weights", "/nonexistent.pt"], "--weights"),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_variant(root, "fashion", "origin", *level_pictures(32, 1), *level_pictures(16, 2))
    return root


def base(data_dir, out) -> list[str]:
    return ["--dataset", "fashion", "--model", "smallcnn", "--width", "2", "--epochs", "1", "--batch", "16",
            "--device", "cpu", "--data-dir", str(data_dir), "--out", str(out), "--no-progress"]


def files_under(folder) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*"))


def assert_refused(code: int, stdout: str, stderr: str, option: str) -> None:
    assert code == 1, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"error: {option}: "), lines[0]
    assert "Traceback" not in stderr and stdout == ""


@pytest.mark.parametrize("args, option", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_option_is_one_line_exit_1_and_writes_nothing(args, option, data_dir, tmp_path):
    code, stdout, stderr = train_cli(base(data_dir, tmp_path / "run") + args)
    assert_refused(code, stdout, stderr, option)
    assert files_under(tmp_path) == []


def test_out_that_is_a_file_is_refused_before_training(data_dir, tmp_path):
    target = tmp_path / "results.txt"
    target.write_text("not a folder")
    code, stdout, stderr = train_cli(base(data_dir, target))
    assert_refused(code, stdout, stderr, "--out")
    assert "is a file" in stderr and files_under(tmp_path) == [str(target)]
    assert target.read_text() == "not a folder"


def test_out_in_an_unwritable_folder_is_refused_before_training(data_dir, tmp_path):
    if os.geteuid() == 0:  # root writes through permission bits; /proc refuses everyone
        out = "/proc/vortex-train-run"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        out = locked / "run"
    code, stdout, stderr = train_cli(base(data_dir, out))
    assert_refused(code, stdout, stderr, "--out")
    assert "cannot write" in stderr and not os.path.exists(out)


@pytest.mark.parametrize("args, option", [(["--lr", "nan"], "--lr"), (["--bogus"], "--bogus")])
def test_python_m_train_itself_exits_1_with_one_line(args, option, data_dir, tmp_path):
    """The real entry point (a new interpreter): the same refusal as the in-process calls above."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(p) for p in sys.path if p])}
    done = subprocess.run([sys.executable, "-m", "train", *base(data_dir, tmp_path / "run"), *args],
                          capture_output=True, text=True, env=env, timeout=120)
    assert_refused(done.returncode, done.stdout, done.stderr, option)
    assert files_under(tmp_path) == []


def test_launcher_runs_python_or_torchrun_as_the_parameters_say():
    from train.launch import command

    assert command("python", 1, ["--epochs", "1"]) == [sys.executable, "-m", "train", "--epochs", "1"]
    assert command("python", 4, ["--epochs", "1"]) == [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                                       "--nproc_per_node=4", "-m", "train", "--epochs", "1"]
    assert command("torchrun", 1, [])[:5] == [sys.executable, "-m", "torch.distributed.run", "--standalone",
                                              "--nproc_per_node=1"]
    for launcher, nproc, problem in (("mpirun", 1, "--launcher: must be one of python, torchrun"),
                                     ("python", 0, "--nproc: must be a whole number >= 1")):
        with pytest.raises(ValueError, match=problem):
            command(launcher, nproc, [])


@pytest.mark.parametrize("where", ["--weights", "--data-dir", "--out", "checkpoint", "digest", "kept.json"])
def test_a_fifo_as_input_is_refused_before_it_is_opened(where, data_dir, tmp_path):
    """A FIFO where the command reads (an option's path, or a file --resume reads) is refused by name, not
    opened: a read would block forever (the timeout turns a hang into a failure)."""
    out = tmp_path / "run"
    fifo = {"checkpoint": out / "checkpoints" / "epoch_0001.pt", "digest": out / "checkpoints" / "epoch_0001.pt.sha256",
            "kept.json": out / "checkpoints" / "kept.json"}.get(where, tmp_path / "fifo")
    fifo.parent.mkdir(parents=True, exist_ok=True)
    if where == "digest":
        (out / "checkpoints" / "epoch_0001.pt").write_bytes(b"not read")
    os.mkfifo(fifo)
    args = base(data_dir, out) + ([where, str(fifo)] if where.startswith("--") else ["--resume"])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(p) for p in sys.path if p])}
    done = subprocess.run([sys.executable, "-m", "train", *args], capture_output=True, text=True, env=env, timeout=60)
    option = where if where.startswith("--") else "--resume"
    if where == "kept.json":  # kept.json is refused by name, not by an option
        assert done.returncode == 1 and done.stderr.splitlines() == [done.stderr.strip()], done.stderr
        assert f"{fifo} is corrupt ({fifo} is a FIFO (named pipe)" in done.stderr
    else:
        assert_refused(done.returncode, done.stdout, done.stderr, option)
        assert f"{fifo} is a FIFO (named pipe)" in done.stderr
