"""The worked examples of docs/architecture.md, run as written: each registers its new part through
the public interface and runs it through the stages, in-process, on small generated data."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest
import torch

from workbench.data.datasets import dataset_spec
from pipeline.encrypt.registry import SCHEMES
from train.__main__ import app as train_app
from train.checkpoints import latest_checkpoint
from train.data import load_dataset
from train.model import Model
from train.model_registry import MODELS
from train.models import create_model
from tests.cli import invoke
from tests.generated import class_mean_origin
from tests.shared import ROOT

DOC = (ROOT / "docs" / "architecture.md").read_text()


def doc_block(first_line: str) -> str:
    """The ```python block of the doc that starts with ``first_line``."""
    return re.search(r"```python\n(" + re.escape(first_line) + r".*?)```", DOC, re.S).group(1)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """data/fashion/origin for 200 train and 100 test generated images: one mean picture per class plus noise."""
    root = tmp_path_factory.mktemp("data")
    split = class_mean_origin(root, 200, 100)
    return root, split


def _normalised(rows: np.ndarray) -> np.ndarray:
    """(N, 784) uint8 rows -> (N, 784) floats as the training normalises them (pixels / 255, Fashion's mean and std)."""
    spec = dataset_spec("fashion")
    return (rows.astype(np.float64) / 255 - spec.mean[0]) / spec.std[0]


def _train(data_dir, out, *args) -> dict:
    result = invoke(train_app, ["--epochs", "1", "--batch", "50", "--crop", "28", "--ricap", "none", "--padding", "0",
                                "--flip", "0", "--jitter", "none", "--lr", "0.05", "--device", "cpu", "--no-progress",
                                "--data-dir", str(data_dir), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return json.loads((out / "metrics.json").read_text())


def test_adding_a_scheme_encrypt_then_train(data_dir, tmp_path):
    root, plain = data_dir
    (tmp_path / "invert.py").write_text(doc_block("# pipeline/encrypt/invert.py"))
    # The encrypt command lists its --scheme choices when it is imported: a script registers the
    # scheme first, as the registry line would, then runs the command.
    driver = ("import sys; from invert import InvertScheme; from pipeline.encrypt.registry import SCHEMES; "
              "SCHEMES.add(InvertScheme()); from workbench.cli import run; from pipeline.encrypt.command import encrypt_app; "
              "run(encrypt_app(), argv=sys.argv[1:])")
    done = subprocess.run([sys.executable, "-c", driver, "--scheme", "invert", "--dataset", "fashion", "--data-dir", str(root)],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    namespace: dict = {}
    exec(compile(doc_block("# pipeline/encrypt/invert.py"), "docs/architecture.md", "exec"), namespace)
    with SCHEMES.added(namespace["InvertScheme"]()):
        train, test = load_dataset(root, "fashion", "invert", "cpu")
        assert np.array_equal(train.images.numpy().reshape(200, -1), 255 - plain["train_x"])  # the oracle: 255 - s
        assert np.array_equal(test.labels.numpy(), np.arange(100) % 10)
        metrics = _train(root, tmp_path / "run", "--dataset", "fashion", "--scheme", "invert", "--model", "smallcnn", "--width", "4")
    assert metrics["epochs"] == 1 and (metrics["config"]["dataset"], metrics["config"]["scheme"]) == ("fashion", "invert")
    # the recorded accuracy is that of the saved network on the inverted test images
    state = torch.load(latest_checkpoint(tmp_path / "run"), weights_only=True)["model"]
    model = create_model("smallcnn", 1, 10, 28, width=4)
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(_normalised(255 - plain["test_x"])).float().reshape(100, 1, 28, 28)
        accuracy = float((model(x).argmax(1).numpy() == np.arange(100) % 10).mean())
    assert metrics["test_acc_final"] == pytest.approx(accuracy, abs=1e-6)
    assert accuracy > 0.15  # 4 steps of a width-4 CNN: above chance (0.1), though far from trained
    assert "invert" not in SCHEMES  # registered for the block only


def test_adding_a_model_train_it(data_dir, tmp_path, monkeypatch):
    root, plain = data_dir
    network = types.ModuleType("train.nets.mlp")
    exec(compile(doc_block("# train/nets/mlp.py"), "docs/architecture.md", "exec"), network.__dict__)
    monkeypatch.setitem(sys.modules, "train.nets.mlp", network)  # as if the file were train/nets/mlp.py
    line = re.search(r"```python\n\s*(Model\(\"mlp\".*?\)),\n```", DOC, re.S).group(1)
    with MODELS.added(eval(line, {"Model": Model})):
        metrics = _train(root, tmp_path / "run", "--dataset", "fashion", "--model", "mlp", "--width", "32")
    assert "mlp" not in MODELS
    assert metrics["epochs"] == 1 and metrics["config"]["model"] == "mlp"
    assert metrics["config"]["model_options"] == {"width": 32}
    state = {k: v.double().numpy() for k, v in
             torch.load(latest_checkpoint(tmp_path / "run"), weights_only=True)["model"].items()}
    assert sum(v.size for v in state.values()) == 784 * 32 + 32 + 32 * 10 + 10
    # the oracle: the saved weights applied in numpy to the normalised test images
    hidden = np.maximum(_normalised(plain["test_x"]) @ state["1.weight"].T + state["1.bias"], 0)
    predicted = (hidden @ state["3.weight"].T + state["3.bias"]).argmax(1)
    accuracy = float((predicted == np.arange(100) % 10).mean())
    assert metrics["test_acc_final"] == pytest.approx(accuracy, abs=1e-6)
    assert accuracy > 0.5  # one epoch on well-separated classes: far above chance (0.1)
