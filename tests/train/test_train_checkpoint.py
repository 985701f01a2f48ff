"""Checkpoints are verified: a digest beside each, checked on load; damage of any kind is one clean TrainError."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from tests.generated import level_pictures, tiny_config, train_cli, write_variant
import torch

from train import TrainError
from train.checkpoints import digest_path, latest_checkpoint
from train.loop import fit


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory, tiny_splits):
    """A run stopped after epoch 2 of 3 (checkpoints 2, kept every 2 epochs, and nothing else)."""
    out = tmp_path_factory.mktemp("run")
    fit(tiny_config(epochs=3), *tiny_splits, out=out, progress=False, stop_after=2)
    return out


@pytest.fixture(scope="module")
def tiny_splits():
    from train.data import split_from_pictures

    return split_from_pictures(*level_pictures(64, 1), "cpu"), split_from_pictures(*level_pictures(32, 2), "cpu")


@pytest.fixture
def run(stopped_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(stopped_run, copy)
    return copy


def resume(run, tiny_splits):
    return fit(tiny_config(epochs=3), *tiny_splits, out=run, progress=False, resume=True)


def test_each_checkpoint_has_its_sha256_in_sha256sum_format(run):
    path = latest_checkpoint(run)
    assert path.name == "epoch_0002.pt"
    digest, name = digest_path(path).read_text().split()
    assert name == path.name and digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == \
        ["epoch_0002.pt", "epoch_0002.pt.sha256", "kept.json"]  # epoch 1's pair was deleted together


def test_one_flipped_bit_inside_a_tensor_is_refused(run, tiny_splits):
    path = latest_checkpoint(run)
    data = bytearray(path.read_bytes())
    weight = torch.load(path, weights_only=True)["model"]["0.weight"]
    at = bytes(data).find(weight.numpy().tobytes())
    assert at > 0
    data[at + 5] ^= 0x10
    path.write_bytes(bytes(data))
    flipped = torch.load(path, weights_only=True)["model"]["0.weight"]  # torch itself does not notice
    assert not torch.equal(flipped, weight)
    with pytest.raises(TrainError, match="epoch_0002.pt, but it is corrupt or truncated"):
        resume(run, tiny_splits)


def test_truncated_checkpoint_is_refused(run, tiny_splits):
    path = latest_checkpoint(run)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(TrainError, match="corrupt or truncated"):
        resume(run, tiny_splits)


def test_foreign_file_with_a_matching_digest_is_refused(run, tiny_splits):
    path = latest_checkpoint(run)
    torch.save({"weight": torch.zeros(3)}, path)
    digest_path(path).write_text(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n")
    with pytest.raises(TrainError, match="not a checkpoint of python -m train"):
        resume(run, tiny_splits)


def test_checkpoint_without_digest_is_refused(run, tiny_splits):
    digest_path(latest_checkpoint(run)).unlink()
    with pytest.raises(TrainError, match="without its digest epoch_0002.pt.sha256"):
        resume(run, tiny_splits)


@pytest.mark.parametrize("text", ["[2,", '{"2": true}', '["2"]'])
def test_corrupt_kept_json_is_refused(run, tiny_splits, text):
    (run / "checkpoints" / "kept.json").write_text(text)
    with pytest.raises(TrainError, match="kept.json is corrupt"):
        resume(run, tiny_splits)


def test_intact_checkpoint_resumes(run, tiny_splits):
    assert resume(run, tiny_splits).metrics["epochs"] == 3


def test_outputs_left_mixed_by_a_kill_are_recognisable_and_resume_repairs_them(run, tiny_splits):
    metrics = json.loads((run / "metrics.json").read_text())
    history = (run / "history.tsv").read_text()
    assert metrics["history_sha256"] == hashlib.sha256(history.encode()).hexdigest()
    (run / "history.tsv").write_text("\n".join(history.splitlines()[:2]) + "\n")  # killed between the two writes
    stale = json.loads((run / "metrics.json").read_text())["history_sha256"]
    assert stale != hashlib.sha256((run / "history.tsv").read_bytes()).hexdigest()
    fit(tiny_config(epochs=3), *tiny_splits, out=run, progress=False, resume=True, stop_after=2)  # no new epoch
    assert (run / "history.tsv").read_text() == history
    assert json.loads((run / "metrics.json").read_text())["history_sha256"] == metrics["history_sha256"]


def test_cli_resume_says_what_it_found_in_one_line(tmp_path):
    data = tmp_path / "data"
    write_variant(data, "fashion", "origin", *level_pictures(32, 1), *level_pictures(16, 2))
    args = ["--dataset", "fashion", "--model", "smallcnn", "--width", "2", "--epochs", "2", "--batch", "16",
            "--device", "cpu", "--data-dir", str(data), "--out", str(tmp_path / "run"), "--no-progress"]
    assert train_cli(args + ["--stop-after", "1"])[0] == 0
    path = latest_checkpoint(tmp_path / "run")
    path.write_bytes(path.read_bytes()[:-100])
    code, _, err = train_cli(args + ["--resume"])
    assert code == 1 and "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"error: --resume: found {path}, but it is corrupt or truncated")
