"""``pipeline.random``: one permutation per image, shared by channels, reproducible, MATLAB's draws and classes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matlab_compat import loadmat, savemat
from matlab_compat.rng import rng
from workbench.data.datasets import DATASETS, pictures_from_rows, rows_from_pictures
from workbench.errors import WorkbenchError
from workbench.outputs import RECORD, read_record
from pipeline.encrypt.permutation import (
    column_major_order,
    permute_pictures,
    random_permutations,
)
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions
from pipeline.encrypt.stage import recorded_options
from pipeline.random import app
from tests.cli import invoke
from tests.shared import shared_path


def permute_rows(rows: np.ndarray, sources: np.ndarray, channels: int) -> np.ndarray:
    """The permutations applied to stored rows, through the pictures the scheme works on."""
    spec = DATASETS["mnist"] if channels == 1 else DATASETS["cifar10"]
    return rows_from_pictures(permute_pictures(pictures_from_rows(rows, spec), sources), spec)


def script_oracle(rows: np.ndarray, dataset: str, seed: int) -> np.ndarray:
    """random_permutation.m transcribed image by image (numpy order='F' for MATLAB's reshape and (:)).

    MNIST: image = reshape(row, 28, 28)'; CIFAR: image = reshape(row, [32 32 3]). For each image
    R = rand(H*W, 1); per channel: sorted = sortrows([R, image(:, :, k)(:)]);
    image(:, :, k) = reshape(sorted(:, 2), H, W); written back with the inverse reshape.
    """
    stream = rng(seed)
    out = np.empty_like(rows)
    for n, row in enumerate(rows):
        if dataset == "cifar10":
            image = row.reshape((32, 32, 3), order="F")
        else:
            image = row.reshape((28, 28), order="F").T[:, :, None]
        h, w, c = image.shape
        r = stream.rand(h * w, 1).ravel()
        result = np.empty_like(image)
        for k in range(c):
            values = image[:, :, k].ravel(order="F")
            order = np.lexsort((values, r))  # sortrows: by R, ties by value
            result[:, :, k] = values[order].reshape((h, w), order="F")
        out[n] = result.ravel(order="F") if dataset == "cifar10" else result[:, :, 0].T.ravel(order="F")
    return out


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_matches_the_script_transcription(dataset):
    spec = DATASETS[dataset]
    rows = np.random.default_rng(0).integers(0, 256, (6, spec.row_length), dtype=np.uint8)
    sources = random_permutations(len(rows), spec.pixels, rng(5), column_major_order(spec))
    assert np.array_equal(permute_rows(rows, sources, spec.channels), script_oracle(rows, dataset, 5))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 20), dataset=st.sampled_from(["mnist", "cifar10"]))
def test_a_permutation_per_image_shared_by_channels(seed, n, dataset):
    spec = DATASETS[dataset]
    sources = random_permutations(n, spec.pixels, rng(seed), column_major_order(spec))
    assert sources.shape == (n, spec.pixels) and sources.dtype == np.int64
    assert np.array_equal(np.sort(sources, axis=1), np.broadcast_to(np.arange(spec.pixels), sources.shape))
    # distinct pixel values: every channel of every image must come out reordered by the same permutation
    rows = np.tile(np.arange(spec.row_length) % 256, (n, 1)).astype(np.uint8) if spec.channels == 1 else \
        np.tile((np.arange(spec.row_length) // 4) % 256, (n, 1)).astype(np.uint8)
    out = permute_rows(rows, sources, spec.channels)
    for c in range(spec.channels):
        block = slice(c * spec.pixels, (c + 1) * spec.pixels)
        assert np.array_equal(out[:, block], np.take_along_axis(rows[:, block], sources, axis=1))
    if n > 1:
        assert not np.array_equal(sources[0], sources[1])


def test_reproducible_by_seed_and_stream_order():
    a = random_permutations(5, 784, rng(9))
    assert np.array_equal(a, random_permutations(5, 784, rng(9)))
    assert not np.array_equal(a, random_permutations(5, 784, rng(10)))
    # train then test from one stream: drawing 3 then 2 images continues the same sequence
    stream = rng(9)
    assert np.array_equal(np.concatenate([random_permutations(3, 784, stream), random_permutations(2, 784, stream)]), a)
    # image 0 of rng(0) sorts MATLAB's first 784 draws of a fresh session
    assert np.array_equal(random_permutations(1, 784, rng(0))[0], np.argsort(rng(0).rand(784, 1).ravel(), kind="stable"))


def test_stored_row_order_for_mnist_is_the_transposed_column_walk():
    order = column_major_order(DATASETS["mnist"])
    assert order[:3].tolist() == [0, 28, 56]  # image(:) of the picture walks down its first column
    assert np.array_equal(column_major_order(DATASETS["cifar10"]), np.arange(1024))


def _gray_input(path, n_train, n_test):
    gen = np.random.default_rng(3)
    x = gen.integers(0, 256, (n_train + n_test, 784), dtype=np.uint8)
    y = np.eye(10, dtype=np.uint8)[gen.integers(0, 10, n_train + n_test)]
    savemat(path, {"train_x": x[:n_train], "train_y": y[:n_train], "test_x": x[n_train:], "test_y": y[n_train:]})
    return x, y


def test_cli_writes_the_reference_names_and_matlab_classes(tmp_path):
    reference = loadmat(shared_path("fixtures", "matlab", "mnist_test_random_v1.mat"))  # written by MATLAB
    x, y = _gray_input(tmp_path / "mnist.mat", 9, 4)
    out = tmp_path / "random"
    result = invoke(app, ["--dataset", "mnist", "--input", str(tmp_path / "mnist.mat"), "--out", str(out), "--key-seed", "0",
                              "--preview", str(tmp_path / "r.png")])
    assert result.exit_code == 0, result.output
    test = loadmat(out / "mnist_test_random_v1.mat")
    train = loadmat(out / "mnist_train_random_v1.mat")
    assert list(test) == list(reference) == ["test_x_vor", "test_y"]
    assert [v.dtype for v in test.values()] == [v.dtype for v in reference.values()]  # MATLAB doubles
    assert list(train) == ["train_x_vor", "train_y"]
    # train first, then test, from rng(0)
    expected = script_oracle(x, "mnist", 0)
    assert np.array_equal(train["train_x_vor"], expected[:9].astype(np.float64))
    assert np.array_equal(test["test_x_vor"], expected[9:].astype(np.float64))
    assert np.array_equal(test["test_y"], y[9:].astype(np.float64))
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_cifar_names_and_seed(tmp_path):
    folder = tmp_path / "batches"
    folder.mkdir()
    gen = np.random.default_rng(4)
    data = {name: gen.integers(0, 256, (n, 3072), dtype=np.uint8) for name, n in (("data_batch_1", 3), ("test_batch", 2))}
    labels = {name: np.full((len(d), 1), 7, np.uint8) for name, d in data.items()}
    for name in data:
        savemat(folder / f"{name}.mat", {"data": data[name], "labels": labels[name], "batch_label": name})
    for name, seed in (("4", "4"), ("4again", "4"), ("5", "5")):
        assert invoke(app, ["--dataset", "cifar10", "--input", str(folder), "--out", str(tmp_path / name), "--key-seed", seed]).exit_code == 0
    train = loadmat(tmp_path / "4" / "cifar_train_random_v1.mat")
    test = loadmat(tmp_path / "4" / "cifar_test_random_v1.mat")
    assert list(train) == ["train_x_vor", "labels"] and list(test) == ["test_x_vor", "labels_test"]
    expected = script_oracle(np.concatenate([data["data_batch_1"], data["test_batch"]]), "cifar10", 4)
    assert np.array_equal(train["train_x_vor"], expected[:3]) and np.array_equal(test["test_x_vor"], expected[3:])
    assert np.array_equal(test["labels_test"], np.full((2, 1), 7.0))
    assert (tmp_path / "4" / "cifar_test_random_v1.mat").read_bytes() == (tmp_path / "4again" / "cifar_test_random_v1.mat").read_bytes()
    assert not np.array_equal(loadmat(tmp_path / "5" / "cifar_test_random_v1.mat")["test_x_vor"], test["test_x_vor"])
    assert read_record(tmp_path / "4")["key"]["key_seed"] == 4 and read_record(tmp_path / "5")["key"]["key_seed"] == 5


def test_later_stages_take_the_recorded_seed_and_refuse_a_bad_record(tmp_path):
    scheme, spec = SCHEMES.get("random"), DATASETS["mnist"]
    folder = tmp_path / "mnist" / "random"
    folder.mkdir(parents=True)
    assert recorded_options(scheme, spec, KeyOptions(data_dir=tmp_path)).key_seed is None  # nothing recorded: nothing filled
    (folder / RECORD).write_text('{"scheme": "random", "dataset": "mnist", "key": {"key_seed": 7}}')
    assert recorded_options(scheme, spec, KeyOptions(data_dir=tmp_path)).key_seed == 7
    assert recorded_options(scheme, spec, KeyOptions(data_dir=tmp_path, key_seed=3)).key_seed == 3  # given beats recorded
    for text, problem in (("{", "not a readable record"), ("[1]", "not a record"), ('{"scheme": "vor"}', "records vor")):
        (folder / RECORD).write_text(text)
        with pytest.raises(WorkbenchError, match=problem):
            recorded_options(scheme, spec, KeyOptions(data_dir=tmp_path))


def test_cli_bad_input(tmp_path):
    result = invoke(app, ["--dataset", "fashion", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1 and "python -m pipeline.fetch --dataset fashion" in result.output
    savemat(tmp_path / "x.mat", {"train_x": np.zeros((2, 784), np.uint8)})
    result = invoke(app, ["--dataset", "mnist", "--input", str(tmp_path / "x.mat"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "variable 'train_y' is missing" in result.output
    assert not (tmp_path / "o").exists()
