"""``python -m pipeline.vor``: defaults, the CIFAR-10 vortex count, bad input, reproducible bytes, new-params."""
import math
import shutil

import numpy as np
import pytest

from matlab_compat import loadmat, savemat
from workbench.data.datasets import DATASETS
from pipeline.encrypt.vortex import vortex_map
from pipeline.encrypt.vortex_params import load_vor_params
from workbench.errors import WorkbenchError
from pipeline.vor import main as vor
from tests.cli import invoke
from tests.shared import shared_path

MNIST_PARAMS = ("fixtures", "matlab", "vor_params_mnist_result.mat")


def gray_dataset(data_dir, n_train=30, n_test=12, seed=0):
    """A small data/mnist/origin/mnist.mat (random images, one-hot labels) and the published parameters."""
    gen = np.random.default_rng(seed)
    x = gen.integers(0, 256, (n_train + n_test, 784), dtype=np.uint8)
    y = np.eye(10, dtype=np.uint8)[gen.integers(0, 10, n_train + n_test)]
    origin = data_dir / "mnist" / "origin"
    origin.mkdir(parents=True)
    savemat(origin / "mnist.mat", {"train_x": x[:n_train], "train_y": y[:n_train], "test_x": x[n_train:], "test_y": y[n_train:]})
    params = data_dir / "mnist" / "params"
    params.mkdir()
    shutil.copyfile(shared_path(*MNIST_PARAMS), params / "vor_params_mnist_result.mat")
    return x, y


def cifar_dataset(data_dir, sizes=(7, 5), n_test=4):
    gen = np.random.default_rng(1)
    folder = data_dir / "cifar10" / "origin" / "cifar-10-batches-mat"
    folder.mkdir(parents=True)
    batches = []
    for k, size in enumerate(list(sizes) + [n_test], start=1):
        data = gen.integers(0, 256, (size, 3072), dtype=np.uint8)
        labels = gen.integers(0, 10, (size, 1)).astype(np.uint8)
        name = f"data_batch_{k}" if k <= len(sizes) else "test_batch"
        savemat(folder / f"{name}.mat", {"data": data, "labels": labels, "batch_label": name})
        batches.append((data, labels))
    params = data_dir / "cifar10" / "params"
    params.mkdir()
    shutil.copyfile(shared_path("fixtures", "matlab", "vor_params_cifar.mat"), params / "vor_params_cifar.mat")
    return batches


def test_defaults_read_and_write_under_data_dir(tmp_path):
    x, y = gray_dataset(tmp_path)
    result = invoke(vor, ["--dataset", "mnist", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = loadmat(tmp_path / "mnist" / "vor" / "mnist_vor.mat")
    m = vortex_map(load_vor_params(shared_path(*MNIST_PARAMS)), 28, 28, num_vortices=10)
    assert np.array_equal(out["train_x_vor"], x[:30, m].astype(np.float64))
    assert np.array_equal(out["test_y"], y[30:].astype(np.float64))


def test_outputs_are_byte_reproducible(tmp_path):
    gray_dataset(tmp_path)
    for name in ("a", "b"):
        assert invoke(vor, ["--dataset", "mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / name)]).exit_code == 0
    first, second = (tmp_path / n / "mnist_vor.mat" for n in ("a", "b"))
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().startswith(b"MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Thu Jan  1 00:00:00 1970")


def test_cifar_uses_all_vortices_the_file_holds_and_says_so(tmp_path):
    batches = cifar_dataset(tmp_path)
    result = invoke(vor, ["--dataset", "cifar10", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "holds 2 vortices, fewer than the script's v_num = 5; using all 2" in result.output
    train = loadmat(tmp_path / "cifar10" / "vor" / "cifar_vor_train.mat")
    test = loadmat(tmp_path / "cifar10" / "vor" / "cifar_vor_test.mat")
    assert train["train_x_vor"].shape == (12, 3072) and train["train_x_vor"].dtype == np.uint8
    assert np.array_equal(train["labels"], np.concatenate([batches[0][1], batches[1][1]]).astype(np.float64))
    assert np.array_equal(test["labels_test"], batches[2][1].astype(np.float64))
    # the script's image is the transposed picture: check one test image against the MATLAB-orientation map
    m = vortex_map(load_vor_params(tmp_path / "cifar10" / "params" / "vor_params_cifar.mat"), 32, 32, divisor=10000.0)
    image = batches[2][0][0].reshape(3, 32, 32).transpose(2, 1, 0)  # reshape(row, [32 32 3])
    expected = image.reshape(1024, 3)[m].reshape(32, 32, 3).transpose(2, 1, 0).ravel()
    assert np.array_equal(test["test_x_vor"][0], expected)


def test_asking_for_more_vortices_than_the_file_holds_is_an_error(tmp_path):
    cifar_dataset(tmp_path)
    result = invoke(vor, ["--dataset", "cifar10", "--data-dir", str(tmp_path), "--vortices", "5"])
    assert result.exit_code == 1
    assert "asked for 5 vortices, the parameters hold 2" in result.output
    assert not (tmp_path / "cifar10" / "vor").exists()


def _expect_error(tmp_path, args, message):
    result = invoke(vor, ["--dataset", "mnist", "--data-dir", str(tmp_path), *args])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    return result


def test_missing_input_names_the_fetch_step(tmp_path):
    _expect_error(tmp_path, [], "vor_params_mnist_result.mat: vortex parameter file is missing")
    gray_dataset(tmp_path)
    (tmp_path / "mnist" / "origin" / "mnist.mat").unlink()
    _expect_error(tmp_path, [], "python -m pipeline.fetch --dataset mnist")


def test_corrupt_files_are_pipeline_errors(tmp_path):
    gray_dataset(tmp_path)
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"MATLAB 5.0 MAT-file" + b"\0" * 200)
    _expect_error(tmp_path, ["--params", str(bad)], f"{bad}: not a readable MAT-file")
    origin = tmp_path / "mnist" / "origin" / "mnist.mat"
    origin.write_bytes(origin.read_bytes()[:300])  # truncated
    _expect_error(tmp_path, [], f"{origin}: not a readable MAT-file")
    with pytest.raises(WorkbenchError, match="not a readable MAT-file"):
        load_vor_params(bad)


def test_wrong_variables_and_shapes(tmp_path):
    gray_dataset(tmp_path)
    origin = tmp_path / "mnist" / "origin" / "mnist.mat"
    good = loadmat(origin)
    savemat(origin, {k: v for k, v in good.items() if k != "test_y"})
    _expect_error(tmp_path, [], "variable 'test_y' is missing")
    savemat(origin, {**good, "train_x": good["train_x"][:, :700]})
    _expect_error(tmp_path, [], "train_x: expected N x 784 images, got (30, 700)")
    savemat(origin, {**good, "test_y": good["test_y"][:5]})
    _expect_error(tmp_path, [], "test_y: expected 12 x 10 one-hot labels, got (5, 10)")
    params = tmp_path / "other.mat"
    savemat(params, {"something": np.ones((1, 4))})
    _expect_error(tmp_path, ["--params", str(params)], "variable 'vor_par' is missing")


def test_vortex_region_outside_the_image_is_an_error_and_nothing_is_written(tmp_path):
    gray_dataset(tmp_path)
    out = tmp_path / "mnist" / "vor"
    assert invoke(vor, ["--dataset", "mnist", "--data-dir", str(tmp_path)]).exit_code == 0
    before = (out / "mnist_vor.mat").read_bytes()
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0] = np.array([[14.0, 14, 2, 5, 5, 5]])
    cell[0, 1] = np.array([[26.0, 14, 3, 1, 2, 3, 4]])  # rows 23..29 of a 28-row image
    params = tmp_path / "outside.mat"
    savemat(params, {"vor_par": cell})
    result = _expect_error(tmp_path, ["--params", str(params), "--vortices", "2"], "vortex 2: vortex region rows 23..29")
    assert "outside the 28 x 28 image" in result.output
    assert (out / "mnist_vor.mat").read_bytes() == before  # the earlier output is untouched
    assert sorted(p.name for p in out.iterdir()) == ["mnist_vor.mat", "params.json"]  # no temporary left behind
    assert sorted(p.name for p in out.parent.iterdir()) == ["origin", "params", "vor"]  # no staging folder either


def test_unknown_dataset_and_missing_dataset(tmp_path):
    for args, message in ((["--dataset", "svhn"], "unknown dataset 'svhn': neither built in (mnist, fashion, cifar10) nor fetched"),
                          ([], "Missing option '--dataset'")):
        result = invoke(vor, args)
        assert result.exit_code == 1 and message in result.stderr and result.stderr.count("\n") == 1, result.output


# --- new-params -----------------------------------------------------------------------------

# rand draws 3..8 of a fresh MATLAB session (spec section 8)
_W_DRAWS = [0.1269868162935061, 0.9133758561390194, 0.6323592462254095, 0.0975404049994095,
            0.2784982188670484, 0.5468815192049838]


def test_new_params_seed_0_follows_random_function_draw_for_draw(tmp_path):
    out = tmp_path / "p.mat"
    result = invoke(vor, ["new-params", "--dataset", "mnist", "--key-seed", "0", "--vortices", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    first, second = load_vor_params(out)
    # centre = round([0.8147 0.9058] .* [28 28]) = [23 25]; r = min(|[23-28, 25-28, 23, 25]|) - 1 = 2
    assert first[:3].tolist() == [23, 25, 2]
    # vortex 1 uses family mod(1, 5) + 1 = 2: f(x) = w1 x + w2 x^3 + w3 exp(2x) + w4 cos(w5 x + w6), x = 0, 1/2, 1
    w = [2 * u - 2 for u in _W_DRAWS]
    expected = [800 * (w[0] * x + w[1] * x**3 + w[2] * math.exp(2 * x) + w[3] * math.cos(w[4] * x + w[5])) for x in (0, 0.5, 1)]
    assert first[3:] == pytest.approx(expected, rel=1e-12)
    # vortex 2: centre round([0.9575 0.9649] * 28) = [27 27], r = 0: the row is [27 27 0 1]
    assert second.tolist() == [27, 27, 0, 1]


def test_new_params_default_count_path_and_reproducibility(tmp_path):
    for _ in range(2):
        assert invoke(vor, ["new-params", "--dataset", "cifar10", "--key-seed", "42", "--data-dir", str(tmp_path)]).exit_code == 0
    path = tmp_path / "cifar10" / "params" / "vor_params_cifar_seed42.mat"
    rows = load_vor_params(path)
    assert len(rows) == DATASETS["cifar10"].script_vortices
    other = tmp_path / "other.mat"
    invoke(vor, ["new-params", "--dataset", "cifar10", "--key-seed", "43", "--out", str(other)])
    assert not all(np.array_equal(a, b) for a, b in zip(rows, load_vor_params(other)))
    for row in rows:
        c1, c2, r = row[:3]
        assert r == min(abs(c1 - 32), abs(c2 - 32), c1, c2) - 1
        assert len(row) == (4 if r <= 0 else 3 + r + 1)
    assert vortex_map(rows, 32, 32, divisor=10000.0).shape == (1024,)  # every generated region fits
    assert "MATLAB seeds are integers" in invoke(vor, ["new-params", "--dataset", "mnist", "--key-seed", "-3"]).output
