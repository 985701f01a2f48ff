"""The training loop, CLI and API on tiny generated datasets (CPU, seconds)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.generated import level_pictures, tiny_config, train_cli, write_variant
import torch

from train import TrainError
from train.api import accuracy, predict, train_classifier
from train.config import resolve_config
from train.data import load_dataset, run_identity, split_from_pictures
from train.checkpoints import latest_checkpoint
from train.history import HISTORY_COLUMNS
from train.loop import fit
from train.presets import PRESETS


@pytest.fixture(scope="module")
def tiny_splits():
    train = split_from_pictures(*level_pictures(96, 1), "cpu")
    test = split_from_pictures(*level_pictures(48, 2), "cpu")
    return train, test


def without_time(history):
    return [{k: v for k, v in row.items() if k not in ("seconds", "train_seconds")} for row in history]


def test_same_seed_gives_the_same_history_and_another_seed_does_not(tiny_splits):
    config = tiny_config(epochs=2, ricap=0.3)
    a = fit(config, *tiny_splits, progress=False)
    b = fit(config, *tiny_splits, progress=False)
    assert without_time(a.history) == without_time(b.history)
    c = fit(tiny_config(epochs=2, ricap=0.3, seed=1), *tiny_splits, progress=False)
    assert without_time(a.history) != without_time(c.history)


def test_resume_after_an_interruption_gives_the_uninterrupted_result(tiny_splits, tmp_path):
    config = tiny_config(epochs=3)
    whole = fit(config, *tiny_splits, out=tmp_path / "whole", progress=False)
    first = fit(config, *tiny_splits, out=tmp_path / "split", progress=False, stop_after=1)
    assert len(first.history) == 1
    assert latest_checkpoint(tmp_path / "split").name == "epoch_0001.pt"
    resumed = fit(config, *tiny_splits, out=tmp_path / "split", progress=False, resume=True)
    assert without_time(resumed.history) == without_time(whole.history)
    for key in ("test_acc_best", "test_acc_final", "epochs"):
        assert resumed.metrics[key] == whole.metrics[key]
    a = resumed.classifier.model.state_dict()
    b = whole.classifier.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # checkpoints: every checkpoint_every epochs and the last; each loads with weights_only
    kept = sorted(p.name for p in (tmp_path / "split" / "checkpoints").glob("epoch_*.pt"))
    assert kept == ["epoch_0002.pt", "epoch_0003.pt"]
    state = torch.load(tmp_path / "split" / "checkpoints" / "epoch_0003.pt", weights_only=True)
    assert {"model", "optimizer", "scheduler", "epoch"} <= set(state) and state["epoch"] == 3


def test_resume_refuses_a_checkpoint_of_other_settings(tiny_splits, tmp_path):
    fit(tiny_config(epochs=2), *tiny_splits, out=tmp_path, progress=False, stop_after=1)
    with pytest.raises(TrainError, match="lr"):
        fit(tiny_config(epochs=2, lr=0.2), *tiny_splits, out=tmp_path, progress=False, resume=True)


def test_outputs_history_tsv_and_metrics_json(tiny_splits, tmp_path):
    result = fit(tiny_config(epochs=2), *tiny_splits, out=tmp_path, progress=False)
    lines = (tmp_path / "history.tsv").read_text().splitlines()
    assert lines[0].split("\t") == list(HISTORY_COLUMNS)
    assert [int(line.split("\t")[0]) for line in lines[1:]] == [1, 2]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("test_acc_best", "test_acc_final", "epochs", "train_seconds", "images_per_second", "config"):
        assert key in metrics
    assert metrics["epochs"] == 2 and metrics["config"]["lr"] == 0.05
    assert metrics["test_acc_best"] == max(r["test_acc"] for r in result.history)
    lrs = [float(line.split("\t")[5]) for line in lines[1:]]
    assert lrs == pytest.approx([0.05, 0.05 * (1 + np.cos(np.pi / 2)) / 2])  # cosine, T_max = epochs


def test_triangle_schedule_warms_up_then_decays_per_step(tiny_splits):
    """96 images, batch 16, 2 epochs: 12 steps; the rate rises over the first 12/5 steps, then falls to 0
    (the two lines meet between steps, so the peak exceeds lr by at most one decay step, 1/(0.8 x 12))."""
    result = fit(tiny_config(epochs=2, schedule="triangle", label_smoothing=0.1), *tiny_splits, progress=False)
    total = 12
    factor = [min((t + 1) / (0.2 * total), (total - t) / (0.8 * total)) for t in range(total + 1)]
    assert [row["lr"] for row in result.history] == pytest.approx([0.05 * factor[0], 0.05 * factor[6]])
    assert 1 <= max(factor) <= 1 + 1 / (0.8 * total) and factor[total] == 0


def test_mixup_cutmix_adamw_onecycle_runs(tiny_splits):
    config = tiny_config(epochs=1, mixup=0.8, cutmix=1.0, optimizer="adamw", schedule="onecycle", lr=0.01, wd=0.01,
                         padding=0, flip=0.0, jitter=(0, 0, 0, 0))
    result = fit(config, *tiny_splits, progress=False)
    assert np.isfinite(result.history[0]["train_loss"])


def test_api_learns_brightness_classes():
    x, y = level_pictures(320, 3)
    tx, ty = level_pictures(160, 4)
    clf = train_classifier(x, y, epochs=3, batch=32, dataset="fashion", jitter=(0, 0, 0, 0), padding=0, flip=0.0,
                           model_options={"width": 8})
    assert accuracy(clf, tx, ty) > 0.8
    assert predict(clf, tx[:5]).dtype == np.int64 and predict(clf, tx[:5]).shape == (5,)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for k, variant in enumerate(("origin", "vor", "random", "etc")):
        write_variant(root, "fashion", variant, *level_pictures(64, 10 + k), *level_pictures(32, 20 + k))
    return root


def test_a_run_records_the_scheme_and_benchmark_key_its_data_folder_records(tmp_path):
    folder = tmp_path / "fashion" / "etc-k2"
    folder.mkdir(parents=True)
    (folder / "params.json").write_text(json.dumps({"scheme": "etc", "dataset": "fashion", "key": {"key_seed": 2, "block_size": 7}}))
    assert run_identity("fashion", "etc-k2", "smallcnn", 1, tmp_path) == {
        "dataset": "fashion", "scheme": "etc", "model": "smallcnn", "seed": 1, "key_seed": 2}
    assert run_identity("fashion", "origin", "smallcnn", 0, tmp_path)["scheme"] == "origin"


def test_load_dataset_reads_every_variant_layout(data_dir):
    for scheme in ("origin", "vor", "random", "etc"):
        train, test = load_dataset(data_dir, "fashion", scheme, "cpu")
        assert train.images.shape == (64, 1, 28, 28) and train.images.dtype == torch.uint8
        assert test.labels.shape == (32,) and test.labels.dtype == torch.int64
    expected, _ = level_pictures(64, 11)
    train, _ = load_dataset(data_dir, "fashion", "vor", "cpu")
    np.testing.assert_array_equal(train.images.numpy().transpose(0, 2, 3, 1), expected)


def test_cli_trains_from_mat_files_and_writes_results(data_dir, tmp_path):
    out = tmp_path / "run"
    args = ["--preset", "fashion_smallcnn_cpu", "--scheme", "vor", "--epochs", "1", "--batch", "16",
            "--width", "4", "--data-dir", str(data_dir), "--out", str(out), "--no-progress"]
    code, _, err = train_cli(args)
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["preset"] == "fashion_smallcnn_cpu"
    assert (metrics["config"]["dataset"], metrics["config"]["scheme"]) == ("fashion", "vor")
    assert metrics["config"]["model_options"] == {"width": 4}
    assert metrics["epochs"] == 1 and 0 <= metrics["test_acc_best"] <= 1
    identity = {k: metrics[k] for k in ("dataset", "scheme", "model", "seed", "key_seed")}  # what the report groups by
    assert identity == {"dataset": "fashion", "scheme": "vor", "model": "smallcnn", "seed": 3407, "key_seed": None}
    code, _, err = train_cli(args + ["--epochs", "2", "--resume"])  # other settings: refused, named
    last = err.splitlines()[-1]
    assert code == 1 and last.startswith("error: --resume: found ") and "other settings (epochs)" in last


def test_cli_names_the_pipeline_command_for_missing_files(tmp_path):
    code, _, err = train_cli(["--dataset", "mnist", "--scheme", "vor", "--model", "smallcnn", "--data-dir", str(tmp_path),
                        "--out", str(tmp_path / "o")])
    assert code == 1 and len(err.splitlines()) == 1
    assert "python -m pipeline.encrypt --scheme vor --dataset mnist" in err


def test_cli_rejects_unknown_preset_and_bad_ricap(tmp_path):
    code, _, err = train_cli(["--preset", "fashion_resnet50_vor"])
    assert code == 1 and "unknown preset" in err and "fashion_resnet18_vor" in err
    code, _, err = train_cli(["--dataset", "fashion", "--model", "smallcnn", "--ricap", "lots"])
    assert code == 1 and err.startswith("error: --ricap: ")


def test_presets_cover_the_published_table_with_ricap_explicit():
    published = [n for n in PRESETS if n.endswith(("_origin", "_vor", "_random"))]
    assert len(published) == 18
    assert all(PRESETS[n]["ricap"] == 0.3 for n in published)
    c = resolve_config("cifar10_resnet18_vor", {"ricap": None, "lr": 0.05})
    assert (c.batch, c.crop, c.epochs, c.ricap, c.lr) == (32, 224, 100, None, 0.05)
    assert c.out == "results/runs/cifar10_resnet18_vor"
    assert resolve_config("fashion_smallcnn_cpu", {"scheme": "random"}).out == \
        "results/runs/fashion_smallcnn_random_cpu"
    etc = resolve_config("cifar10_convmixer_etc", {})
    assert (etc.optimizer, etc.schedule, etc.batch, etc.lr, etc.wd) == ("adamw", "onecycle", 64, 0.01, 0.01)
    assert etc.model_kwargs == {"width": 256, "depth": 8, "patch": 1, "kernel": 9}


def test_profiles_pick_each_cells_preset():
    paper = resolve_config("paper", {"dataset": "fashion", "scheme": "vor", "model": "resnet18"})
    assert paper.preset == "fashion_resnet18_vor" and (paper.epochs, paper.crop, paper.wd) == (50, 224, 5e-4)
    vit = resolve_config("paper", {"dataset": "mnist", "model": "vit_b_16"})  # no scheme: the plain images
    assert vit.preset == "mnist_vit_origin" and (vit.batch, vit.lr) == (128, 0.1)
    cpu = resolve_config("cpu", {"dataset": "cifar10", "scheme": "random", "model": "smallcnn", "epochs": 1})
    assert cpu.preset == "cifar10_smallcnn_cpu" and (cpu.dataset, cpu.scheme, cpu.epochs) == ("cifar10", "random", 1)
    with pytest.raises(TrainError, match="no recipe for fashion / smallcnn / vor"):
        resolve_config("paper", {"dataset": "fashion", "scheme": "vor", "model": "smallcnn"})
    with pytest.raises(TrainError, match="no CPU preset for mnist / resnet18"):
        resolve_config("cpu", {"dataset": "mnist", "model": "resnet18"})
    with pytest.raises(TrainError, match="give --dataset and --model"):
        resolve_config("cpu", {"dataset": "mnist"})


def test_cli_stop_and_resume_continue_the_same_run(data_dir, tmp_path):
    out = tmp_path / "run"
    args = ["--preset", "fashion_smallcnn_cpu", "--epochs", "2", "--batch", "16", "--width", "4",
            "--data-dir", str(data_dir), "--out", str(out), "--no-progress"]
    code, _, err = train_cli(args + ["--stop-after", "1"])
    assert code == 0, err
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 1
    code, _, err = train_cli(args + ["--resume"])
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["weights"] == "from scratch"
    assert len((out / "history.tsv").read_text().splitlines()) == 3


def test_vit_without_weights_says_it_trains_from_scratch():
    from train.loop import build_model

    config = resolve_config(None, dict(dataset="mnist", model="vit_b_16", crop=32, device="cpu"))
    model, note = build_model(config, 1, 10)
    assert note == "from scratch (no --weights given)"
    assert model.conv_proj.in_channels == 1 and model.heads.head.out_features == 10


def test_api_refuses_pictures_of_another_dataset():
    x, y = level_pictures(32, 5, size=32, channels=3)
    with pytest.raises(TrainError, match="fashion images have 1 channel"):
        train_classifier(x, y, dataset="fashion", epochs=1)


def test_colour_pictures_with_the_full_reference_augmentation_train():
    """RGB path end to end: hue/saturation jitter, RICAP, a ConvMixer; logits for every picture."""
    x, y = level_pictures(48, 6, size=32, channels=3)
    clf = train_classifier(x, y, dataset="cifar10", model="convmixer", epochs=1, batch=16, ricap=0.3, padding=4,
                           flip=0.5, jitter=(0.4, 0.4, 0.4, 0.2), model_options={"width": 8, "depth": 1, "patch": 4,
                                                                                  "kernel": 3})
    assert clf.logits(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).shape == (48, 10)


def test_jpeg_quality_trains_and_tests_on_compressed_pictures(tmp_path):
    """The data path of the EtC paper's Table III: both splits JPEG-compressed (Pillow, the codec module's settings)."""
    from workbench.data.codecs import jpeg_roundtrip

    train_x, train_y = level_pictures(12, 5)
    test_x, test_y = level_pictures(6, 6)
    write_variant(tmp_path, "fashion", "origin", train_x, train_y, test_x, test_y)
    train, test = load_dataset(tmp_path, "fashion", "origin", "cpu", jpeg_quality=30)
    for split, pictures in ((train, train_x), (test, test_x)):
        expected = jpeg_roundtrip(pictures, 30)[0]
        assert not np.array_equal(expected, pictures)  # quality 30 does change the pictures
        assert np.array_equal(split.images.numpy().transpose(0, 2, 3, 1), expected)
