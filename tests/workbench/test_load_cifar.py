"""``workbench.data.cifar``: the port of ``load_cifar()`` on the real subset and on generated batches of several sizes."""
import numpy as np
import pytest

from matlab_compat import loadmat, savemat
from workbench.data.cifar import load_cifar, read_cifar_split, train_batch_paths
from workbench.errors import WorkbenchError
from tests.shared import shared_path


def test_real_subset():
    folder = shared_path("data", "cifar-10-subset")
    train_x, train_y, test_x, test_y = load_cifar(folder)
    assert train_x.shape == (1017, 3072) and test_x.shape == (1017, 3072)
    assert train_y.shape == (1017, 1) and test_y.shape == (1017, 1)
    assert all(a.dtype == np.float64 for a in (train_x, train_y, test_x, test_y))  # double(), as load_cifar.m
    # the first CIFAR-10 training images are a frog and two trucks; the first test images a cat and two ships
    assert train_y[:5, 0].tolist() == [6, 9, 9, 4, 1]
    assert test_y[:5, 0].tolist() == [3, 8, 8, 0, 6]
    assert train_x[0, :5].tolist() == [59, 43, 50, 68, 98]  # red channel of the first picture row
    assert np.array_equal(train_x, loadmat(folder / "data_batch_1.mat")["data"])
    rows, labels = read_cifar_split(folder, "test")
    assert rows.dtype == np.uint8 and np.array_equal(rows, test_x)


def write_batches(folder, sizes, test_size=3, seed=0):
    """data_batch_1..K with the given sizes and a test batch; returns the arrays written."""
    gen = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for k, size in enumerate(sizes, start=1):
        data = gen.integers(0, 256, (size, 3072), dtype=np.uint8)
        labels = gen.integers(0, 10, (size, 1)).astype(np.uint8)
        savemat(folder / f"data_batch_{k}.mat", {"data": data, "labels": labels, "batch_label": f"training batch {k}"})
        written.append((data, labels))
    test = gen.integers(0, 256, (test_size, 3072), dtype=np.uint8), gen.integers(0, 10, (test_size, 1)).astype(np.uint8)
    savemat(folder / "test_batch.mat", {"data": test[0], "labels": test[1], "batch_label": "testing batch 1 of 1"})
    return written, test


@pytest.mark.parametrize("sizes", [[4], [2, 5, 1, 3, 3], [1] * 11], ids=["one", "five-uneven", "eleven"])
def test_any_number_of_batches_of_any_size_stacked_in_numeric_order(tmp_path, sizes):
    written, test = write_batches(tmp_path / "c", sizes)
    train_x, train_y, test_x, test_y = load_cifar(tmp_path / "c")
    assert train_x.shape == (sum(sizes), 3072)
    assert np.array_equal(train_x, np.concatenate([d for d, _ in written]))  # 1, 2, ..., 10, 11 (not 1, 10, 11, 2)
    assert np.array_equal(train_y, np.concatenate([lab for _, lab in written]))
    assert np.array_equal(test_x, test[0]) and np.array_equal(test_y, test[1])
    assert [p.name for p in train_batch_paths(tmp_path / "c")] == [f"data_batch_{k}.mat" for k in range(1, len(sizes) + 1)]


def test_other_files_in_the_folder_are_ignored(tmp_path):
    written, _ = write_batches(tmp_path / "c", [2, 2])
    (tmp_path / "c" / "readme.html").write_text("x")
    savemat(tmp_path / "c" / "batches.meta.mat", {"label_names": np.array([["cat"]], dtype=object)})
    assert load_cifar(tmp_path / "c")[0].shape == (4, 3072)


def test_bad_folders_and_files(tmp_path):
    with pytest.raises(WorkbenchError, match="not a folder"):
        load_cifar(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WorkbenchError, match="no data_batch_<k>.mat files"):
        load_cifar(tmp_path / "empty")
    write_batches(tmp_path / "c", [2])
    (tmp_path / "c" / "test_batch.mat").unlink()
    with pytest.raises(WorkbenchError, match="test_batch.mat is missing"):
        load_cifar(tmp_path / "c")
    savemat(tmp_path / "c" / "test_batch.mat", {"data": np.zeros((2, 3071), np.uint8), "labels": np.zeros((2, 1), np.uint8)})
    with pytest.raises(WorkbenchError, match=r"data must be uint8 N x 3072, got uint8 \(2, 3071\)"):
        load_cifar(tmp_path / "c")
    savemat(tmp_path / "c" / "test_batch.mat", {"data": np.zeros((2, 3072)), "labels": np.zeros((2, 1), np.uint8)})
    with pytest.raises(WorkbenchError, match="data must be uint8"):
        load_cifar(tmp_path / "c")
    savemat(tmp_path / "c" / "test_batch.mat", {"data": np.zeros((2, 3072), np.uint8), "labels": np.zeros((3, 1), np.uint8)})
    with pytest.raises(WorkbenchError, match=r"labels must be 2 x 1, got \(3, 1\)"):
        load_cifar(tmp_path / "c")
    savemat(tmp_path / "c" / "test_batch.mat", {"labels": np.zeros((3, 1), np.uint8)})
    with pytest.raises(WorkbenchError, match="variable 'data' is missing"):
        load_cifar(tmp_path / "c")
    (tmp_path / "c" / "test_batch.mat").write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(WorkbenchError, match="test_batch.mat"):
        load_cifar(tmp_path / "c")
