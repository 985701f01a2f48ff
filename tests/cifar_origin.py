"""A small CIFAR-10 ``origin`` folder for tests that run the encrypt stage: real images of the
subset in ``../shared``, cut into a train and a test split, stored as ``fetch`` stores them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from matlab_compat import savemat
from workbench.data.cifar import read_cifar_split
from tests.shared import shared_path


def write_cifar_origin(data_dir: Path, train: int, test: int) -> np.ndarray:
    """``train`` then ``test`` images of the subset's test batch as ``data_dir``'s CIFAR-10 origin;
    returns the rows written (train first)."""
    folder = data_dir / "cifar10" / "origin" / "cifar-10-batches-mat"
    folder.mkdir(parents=True)
    rows, labels = read_cifar_split(shared_path("data", "cifar-10-subset"), "test")
    for file, part in [("data_batch_1.mat", slice(0, train)), ("test_batch.mat", slice(train, train + test))]:
        savemat(folder / file, {"data": np.ascontiguousarray(rows[part]), "labels": labels[part]})
    return rows[:train + test]
