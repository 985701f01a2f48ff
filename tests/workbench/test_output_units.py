"""A two-file output (train and test MAT-files with their params.json) is one unit: a kill at any
step leaves the old complete set or the new one, the next run removes what the killed one left,
and a reader refuses a train file and a test file of different runs."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from workbench.data.datasets import load_split, onehot
from workbench.data.matfiles import write_mat
from workbench.outputs import RECORD, sha256_file
from workbench.errors import WorkbenchError
from tests.shared import ROOT
from train.data import load_dataset
from train.errors import TrainError

#: Runs ``python -m pipeline.random`` and SIGKILLs it at the KILL_AT-th file-system step of the
#: output unit (a written file, an fsync, a rename or the atomic exchange), counted from the start.
KILLER = textwrap.dedent("""
    import os, runpy, signal, sys
    from workbench import outputs
    limit, steps = int(sys.argv[1]), [0]
    def step(function):
        def wrapped(*args, **kwargs):
            steps[0] += 1
            if steps[0] == limit:
                os.kill(os.getpid(), signal.SIGKILL)
            return function(*args, **kwargs)
        return wrapped
    outputs.fsync_path = step(outputs.fsync_path)
    outputs._exchange = step(outputs._exchange)
    outputs.os.replace = step(os.replace)
    sys.argv = ["pipeline.random", *sys.argv[2:]]
    runpy.run_module("pipeline.random", run_name="__main__")
""")


@pytest.fixture
def data_dir(tmp_path):
    gen = np.random.default_rng(2)
    x = gen.integers(0, 256, (50, 784), dtype=np.uint8)
    y = onehot(gen.integers(0, 10, 50), 10)
    write_mat(tmp_path / "mnist/origin/mnist.mat", {"train_x": x[:40], "train_y": y[:40], "test_x": x[40:], "test_y": y[40:]})
    return tmp_path


def run_random(data_dir, seed: int, kill_at: int = 0) -> subprocess.CompletedProcess:
    args = ["--dataset", "mnist", "--data-dir", str(data_dir), "--key-seed", str(seed), "--out", str(data_dir / "mnist" / "random")]
    command = [sys.executable, "-c", KILLER, str(kill_at), *args] if kill_at else [sys.executable, "-m", "pipeline.random", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def state(folder) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(folder.iterdir())} if folder.exists() else {}


def test_a_kill_at_any_step_leaves_the_old_or_the_new_complete_set(data_dir):
    folder = data_dir / "mnist" / "random"
    assert run_random(data_dir, seed=1).returncode == 0
    old = state(folder)
    assert set(old) == {"mnist_train_random_v1.mat", "mnist_test_random_v1.mat", RECORD}
    assert run_random(data_dir, seed=2).returncode == 0
    new = state(folder)
    assert run_random(data_dir, seed=1).returncode == 0 and state(folder) == old
    assert run_random(data_dir, seed=2).returncode == 0 and state(folder) == new  # same inputs, same bytes
    assert run_random(data_dir, seed=1).returncode == 0
    outcomes = []
    for step in range(1, 16):
        done = run_random(data_dir, seed=2, kill_at=step)
        now = state(folder)
        assert now in (old, new), f"a kill at step {step} left a mixed set"
        if done.returncode == 0:
            assert now == new  # fewer steps than the limit: the run finished
            break
        outcomes.append("old" if now == old else "new")  # killed before / after the swap
        assert run_random(data_dir, seed=1).returncode == 0 and state(folder) == old  # reset; also cleans leftovers
        assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []
    assert outcomes.count("old") >= 5 and done.returncode == 0  # files, fsyncs and the swap itself were all interrupted
    record = json.loads((folder / RECORD).read_text())
    assert record["key"]["key_seed"] == 2 and record["files"] == {k: v for k, v in new.items() if k != RECORD}


def test_a_killed_runs_staging_folder_is_removed_by_the_next_run(data_dir):
    assert run_random(data_dir, seed=1, kill_at=3).returncode != 0
    leftovers = [p for p in (data_dir / "mnist").iterdir() if p.name.startswith(".random.staging.")]
    assert leftovers  # the killed run left its staging folder
    assert run_random(data_dir, seed=1).returncode == 0
    assert not [p for p in (data_dir / "mnist").iterdir() if p.name.startswith(".")]


def test_train_and_test_files_of_different_runs_are_refused(data_dir, tmp_path):
    folder = data_dir / "mnist" / "random"
    assert run_random(data_dir, seed=1).returncode == 0
    first_train = (folder / "mnist_train_random_v1.mat").read_bytes()
    assert run_random(data_dir, seed=2).returncode == 0
    (folder / "mnist_train_random_v1.mat").write_bytes(first_train)  # a train file of seed 1 beside the test file of seed 2
    with pytest.raises(WorkbenchError, match="does not belong to the set recorded in .*params.json"):
        load_split(data_dir, "mnist", "random", "train")
    with pytest.raises(TrainError, match="does not belong to the set"):  # training refuses the pair
        load_dataset(data_dir, "mnist", "random", "cpu")
    load_split(data_dir, "mnist", "random", "test")  # the test file is its set's own
