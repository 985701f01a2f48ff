"""Every parity case (real images through the ORIGINAL MATLAB vortex code) reproduced exactly, by the API and the CLI."""
import json
import subprocess
import sys

import numpy as np
import pytest

from matlab_compat import loadmat, savemat
from workbench.data.datasets import DATASETS
from pipeline.encrypt.vortex import (
    apply_row_map,
    channel_map,
    row_gather_map,
    vortex_transform,
)
from pipeline.encrypt.vortex_params import load_vor_params
from pipeline.vor import main as vor
from tests.cli import invoke
from tests.shared import ROOT, SHARED, shared_path

PARITY = ("fixtures", "parity")


def _cases():
    path = SHARED.joinpath(*PARITY, "cases.json")
    return json.loads(path.read_text()) if path.exists() else []


CASES = _cases()


def _case_dataset(case) -> str:
    if case["layout"] == "cifar32":
        return "cifar10"
    return "fashion" if case["case"].startswith("fashion") else "mnist"


def _load_case(case):
    x = loadmat(shared_path(*PARITY, case["input"]))["X"]
    y = loadmat(shared_path(*PARITY, case["expected"]))["Y"]
    params = shared_path(*PARITY, case["params"])
    return x, y, params


def test_all_three_layouts_are_covered():
    shared_path(*PARITY, "cases.json")
    assert {c["layout"] for c in CASES} == {"gray28", "cifar32"}
    assert len(CASES) == 3


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_api_in_matlab_orientation(case):
    x, y, params = _load_case(case)
    n = len(x)
    if case["layout"] == "gray28":
        images = x.reshape(n, 28, 28)  # reshape(row, 28, 28)'
        out = vortex_transform(images, load_vor_params(params), num_vortices=case["vortices"], divisor=case["divisor"])
        got = out.reshape(n, 784)
    else:
        images = x.reshape(n, 3, 32, 32).transpose(0, 3, 2, 1)  # reshape(row, [32 32 3])
        out = vortex_transform(images, load_vor_params(params), num_vortices=case["vortices"], divisor=case["divisor"])
        got = out.transpose(0, 3, 2, 1).reshape(n, 3072)
    assert not np.array_equal(x, y)
    assert np.array_equal(got, y)


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_api_on_stored_rows(case):
    x, y, params = _load_case(case)
    spec = DATASETS[_case_dataset(case)]
    assert spec.divisor == case["divisor"]
    m = row_gather_map(spec, load_vor_params(params), num_vortices=case["vortices"])
    assert np.array_equal(apply_row_map(x, channel_map(m, spec.channels)), y)
    assert np.array_equal(np.ascontiguousarray(x)[:, channel_map(m, spec.channels)], y)


def _write_input(case, x, tmp_path):
    """The case's images as a dataset input: mnist.mat layout, or a CIFAR batch folder (two batches)."""
    n = len(x)
    labels = np.arange(n) % 10
    cut = n * 3 // 4
    if case["layout"] == "gray28":
        onehot = np.eye(10, dtype=np.uint8)[labels]
        path = tmp_path / "origin.mat"
        savemat(path, {"train_x": x[:cut], "train_y": onehot[:cut], "test_x": x[cut:], "test_y": onehot[cut:]})
        return path, onehot.astype(np.float64), cut
    folder = tmp_path / "cifar-10-batches-mat"
    folder.mkdir()
    col = labels.astype(np.uint8).reshape(-1, 1)
    half = cut // 2
    for name, sl in (("data_batch_1", slice(0, half)), ("data_batch_2", slice(half, cut)), ("test_batch", slice(cut, n))):
        savemat(folder / f"{name}.mat", {"data": x[sl], "labels": col[sl], "batch_label": name})
    return folder, col.astype(np.float64), cut


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_cli_reproduces_the_case(case, tmp_path):
    x, y, params = _load_case(case)
    dataset = _case_dataset(case)
    source, labels, cut = _write_input(case, x, tmp_path)
    out = tmp_path / "vor"
    result = invoke(vor, ["--dataset", dataset, "--input", str(source), "--params", str(params),
                          "--vortices", str(case["vortices"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    if dataset == "cifar10":
        train, test = loadmat(out / "cifar_vor_train.mat"), loadmat(out / "cifar_vor_test.mat")
        assert list(train) == ["train_x_vor", "labels"] and list(test) == ["test_x_vor", "labels_test"]
        assert train["train_x_vor"].dtype == np.uint8 and train["labels"].dtype == np.float64
        got = np.concatenate([train["train_x_vor"], test["test_x_vor"]])
        assert np.array_equal(np.concatenate([train["labels"], test["labels_test"]]), labels)
    else:
        both = loadmat(out / f"{DATASETS[dataset].prefix}_vor.mat")
        assert list(both) == ["train_x_vor", "test_x_vor", "train_y", "test_y"]
        assert all(v.dtype == np.float64 for v in both.values())  # MATLAB doubles
        got = np.concatenate([both["train_x_vor"], both["test_x_vor"]])
        assert np.array_equal(np.concatenate([both["train_y"], both["test_y"]]), labels)
    assert np.array_equal(got, y)


def test_degenerate_vortices_of_the_published_mnist_file():
    rows = load_vor_params(shared_path("fixtures", "matlab", "vor_params_mnist_result.mat"))
    assert len(rows) == 20
    degenerate = [i for i, r in enumerate(rows) if r[2] <= 0]
    assert degenerate and [rows[i][:3].tolist() for i in degenerate][:3] == [[15, 28, -1], [21, 27, 0], [11, 0, -1]]
    spec = DATASETS["mnist"]
    # dropping the no-op rows leaves the map unchanged, although [11 0 -1 1] would wrap in a naive 0-based port
    kept = [r for r in rows if r[2] > 0]
    assert np.array_equal(row_gather_map(spec, rows), row_gather_map(spec, kept))


def test_python_dash_m_entry_point(tmp_path):
    case = next(c for c in CASES if c["case"] == "mnist_result10") if CASES else pytest.skip("no parity cases")
    x, y, params = _load_case(case)
    source, _, cut = _write_input(case, x, tmp_path)
    preview = tmp_path / "grid.png"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.vor", "--dataset", "mnist", "--input", str(source), "--params", str(params),
         "--out", str(tmp_path / "vor"), "--preview", str(preview)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert '"vortices": 10' in proc.stdout  # the script's v_num is the default
    both = loadmat(tmp_path / "vor" / "mnist_vor.mat")
    assert np.array_equal(both["test_x_vor"], y[cut:])
    from PIL import Image

    with Image.open(preview) as png:
        assert png.format == "PNG" and png.width > png.height
