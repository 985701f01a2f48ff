"""``benchmarks/gpu_check.py --dry-run``: the GPU check's code on the CPU at toy size, its JSON and Markdown."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.shared import ROOT

PUBLISHED = {"cifar10": 100, "mnist": 30, "fashion": 50}  # ResNet-18 epochs of experiments.md; ViT: 70, 30, 50
TRAIN_IMAGES = {"cifar10": 50000, "mnist": 60000, "fashion": 60000}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpu")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--dry-run",
                           "--json", str(folder / "gpu.json"), "--doc", str(folder / "gpu.md")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads((folder / "gpu.json").read_text()), (folder / "gpu.md").read_text()


def test_every_published_recipe_is_timed_and_projected(report):
    data, _ = report
    names = {f"{d}_{m}_{v}" for d in PUBLISHED for m in ("resnet18", "vit") for v in ("origin", "vor", "random")}
    rows = {r["preset"]: r for r in data["recipes"]}
    assert set(rows) == names and len(data["recipes"]) == 18
    for name, row in rows.items():
        dataset = name.split("_")[0]
        epochs = PUBLISHED[dataset] if "resnet18" in name else {"cifar10": 70, "mnist": 30, "fashion": 50}[dataset]
        assert row["epochs"] == epochs and row["train_images"] == TRAIN_IMAGES[dataset]
        assert row["images_per_second"] > 0
        assert row["projected_hours"] == pytest.approx(epochs * TRAIN_IMAGES[dataset] / row["images_per_second"] / 3600,
                                                       abs=1e-3)


def test_data_path_precision_and_determinism_parts(report):
    data, doc = report
    path = data["data_path"]
    assert path["ratio"] == pytest.approx(path["ours_images_per_second"] / path["reference_images_per_second"], abs=0.01)
    # on the CPU the loop does not autocast: the fast path is float32 channels-last, the same arithmetic up to
    # the convolution's summation order, so the two short runs end at the same loss and accuracy
    precision = data["precision"]
    assert precision["loss_difference"] < 1e-3 and precision["accuracy_difference"] == 0
    assert data["determinism"]["identical"] is True and len(data["determinism"]["history"]) == 2
    assert data["dry_run"] is True and data["device"].startswith("CPU")
    assert "histories identical" in doc and all(r["preset"] in doc for r in data["recipes"])
