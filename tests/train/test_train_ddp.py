"""``torchrun --standalone --nproc_per_node=2 -m train ... --device cpu`` (gloo) against one process.

Equivalence: two ranks with global BatchNorm (``--sync-bn``) train on the same global batch as
one process, so every step is the same arithmetic except the order of float sums (the
all-reduce adds the two halves' gradients and BatchNorm sums; one process sums the whole batch
at once). Over the 18 steps of this run such rounding differences (about 1e-7 relative per
step) stay below 1e-5, so losses must agree to 1e-4 relative and the accuracies, counts of
48 test images, exactly. Without ``--sync-bn`` each rank normalises by its half's statistics,
another computation, far outside that tolerance (on 96 of these images, batch 16: train loss
2.80 against 2.72 after the first epoch).

Resume: a DDP run killed (SIGKILL to torchrun and its workers) during epoch 2 and resumed
under torchrun ends with the uninterrupted DDP run's history, metrics and weights, bit for bit.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.generated import level_pictures, train_cli, write_variant
import torch
import torch.distributed as torch_dist


pytestmark = pytest.mark.skipif(not torch_dist.is_available() or not torch_dist.is_gloo_available(),
                                reason="torch built without gloo")

COLUMNS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_variant(root, "fashion", "origin", *level_pictures(192, 1), *level_pictures(48, 2))
    return root


def args(data_dir, out: Path, *extra: str) -> list[str]:
    return ["--dataset", "fashion", "--model", "smallcnn", "--width", "4", "--epochs", "3", "--batch", "32",
            "--lr", "0.05", "--ricap", "0.3", "--device", "cpu", "--data-dir", str(data_dir), "--out", str(out),
            "--checkpoint-every", "1", "--no-progress", *extra]


def torchrun(arguments: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "train"]
    return subprocess.Popen(command + arguments, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, **kw)


def finish(process: subprocess.Popen) -> str:
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output
    return output


def kill_with_workers(process: subprocess.Popen) -> None:
    """SIGKILL to torchrun's workers (it starts them in sessions of their own) and to torchrun, as a crash would."""
    workers = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    for pid in workers:
        os.kill(int(pid), signal.SIGKILL)
    process.kill()
    process.communicate()


def history(out: Path) -> list[dict[str, float]]:
    header, *rows = (out / "history.tsv").read_text().splitlines()
    names = header.split("\t")
    return [{k: float(v) for k, v in zip(names, row.split("\t")) if k in COLUMNS} for row in rows]


@pytest.fixture(scope="module")
def ddp_run(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp") / "run"
    finish(torchrun(args(data_dir, out, "--sync-bn")))
    return out


def test_two_gloo_ranks_with_global_batchnorm_equal_one_process(data_dir, ddp_run, tmp_path):
    code, _, err = train_cli(args(data_dir, tmp_path / "one", "--sync-bn"))  # --sync-bn changes nothing in one process
    assert code == 0, err
    one, two = history(tmp_path / "one"), history(ddp_run)
    assert len(one) == len(two) == 3
    for a, b in zip(one, two):
        assert (a["test_acc"], a["lr"]) == (b["test_acc"], b["lr"])
        for key in ("train_loss", "train_acc", "test_loss"):
            assert b[key] == pytest.approx(a[key], rel=1e-4), key
    metrics_one = json.loads((tmp_path / "one" / "metrics.json").read_text())
    metrics_two = json.loads((ddp_run / "metrics.json").read_text())
    assert (metrics_one["world_size"], metrics_two["world_size"]) == (1, 2)
    assert metrics_two["test_acc_final"] == metrics_one["test_acc_final"]
    assert {**metrics_two["config"], "out": None} == {**metrics_one["config"], "out": None}


def test_ddp_run_killed_mid_epoch_resumes_to_the_same_result(data_dir, ddp_run, tmp_path):
    out = tmp_path / "killed"
    process = torchrun(args(data_dir, out, "--sync-bn"))
    first = out / "metrics.json"  # written after epoch 1's checkpoint
    deadline = time.monotonic() + 180
    while not first.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    kill_with_workers(process)  # torchrun and both ranks, in the middle of epoch 2
    done = json.loads((out / "metrics.json").read_text())["epochs"]
    assert done < 3, "the run ended before it could be killed"
    finish(torchrun(args(data_dir, out, "--sync-bn", "--resume")))
    assert (out / "history.tsv").read_text().count("\n") == 4
    assert history(out) == history(ddp_run)
    a, b = (json.loads((p / "metrics.json").read_text()) for p in (out, ddp_run))
    assert (a["test_acc_best"], a["test_acc_final"], a["epochs"]) == (b["test_acc_best"], b["test_acc_final"], 3)
    final_a = torch.load(out / "checkpoints" / "epoch_0003.pt", weights_only=True)["model"]
    final_b = torch.load(ddp_run / "checkpoints" / "epoch_0003.pt", weights_only=True)["model"]
    assert all(torch.equal(final_a[k], final_b[k]) for k in final_b)

