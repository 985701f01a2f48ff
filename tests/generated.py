"""Generated test data shared by several test packages: pictures, datasets on disk, image folders, IDX bytes."""
from __future__ import annotations

import struct

import numpy as np
import yaml
from PIL import Image
from scipy.ndimage import gaussian_filter

from matlab_compat import savemat
from pipeline.fetch import app as fetch_app
from tests.cli import invoke
from train.__main__ import app as train_app
from train.config import resolve_config
from workbench.data.datasets import dataset_spec, onehot, rows_from_pictures, variant_files


def smooth_images(n: int, height: int, width: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """N x (C*H*W) uint8 rows of blurred noise rescaled to 0..255: images with local structure."""
    rng = np.random.default_rng(seed)
    blurred = gaussian_filter(rng.random((n, channels, height, width)), sigma=(0, 0, 2, 2))
    lo = blurred.min(axis=(2, 3), keepdims=True)
    span = np.ptp(blurred, axis=(2, 3), keepdims=True)
    return np.round(255 * (blurred - lo) / span).astype(np.uint8).reshape(n, -1)


def train_cli(args: list[str]) -> tuple[int, str, str]:
    """``python -m train ARGS`` in this process: (exit code, stdout, stderr)."""
    result = invoke(train_app, args)
    return result.exit_code, result.stdout, result.stderr


def level_pictures(n: int, seed: int, size: int = 28, channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Pictures whose class is their brightness (class k ~ 20 k + 30), with noise: learnable in one epoch."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    base = 30 + 20 * labels[:, None, None, None]
    pictures = np.clip(base + rng.normal(0, 6, (n, size, size, channels)), 0, 255).astype(np.uint8)
    return pictures, labels.astype(np.int64)


def tiny_config(**kw):
    values = dict(dataset="fashion", model="smallcnn", epochs=3, batch=16, crop=28, lr=0.05, ricap=None,
                  device="cpu", model_options={"width": 4}, checkpoint_every=2, eval_batch=64)
    values.update(kw)
    return resolve_config(None, values)


def write_variant(data_dir, dataset: str, variant: str, pictures, labels, test_pictures, test_labels) -> None:
    """Write one variant in the pipeline's MAT layout (the names of workbench.data.datasets.variant_files)."""
    spec = dataset_spec(dataset)
    by_file: dict[str, dict] = {}
    for split, (pics, labs) in {"train": (pictures, labels), "test": (test_pictures, test_labels)}.items():
        entry = variant_files(dataset, variant)[split]
        layout = onehot(labs, 10) if dataset != "cifar10" else labs.reshape(-1, 1).astype(np.uint8)
        by_file.setdefault(entry.path, {})
        by_file[entry.path][entry.x] = rows_from_pictures(pics, spec)
        by_file[entry.path][entry.y] = layout
    for path, variables in by_file.items():
        (data_dir / dataset / path).parent.mkdir(parents=True, exist_ok=True)
        savemat(data_dir / dataset / path, variables)


def twin_sets(tmp_path, folder):
    """The same images declared twice: ``small`` stored v7, ``big`` stored v7.3."""
    base = {"source": "folder", "path": str(folder), "size": 16, "colour": "rgb"}
    data = tmp_path / "data"
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"datasets": {"small": base, "big": {**base, "storage": "v7.3"}}}))
    for name in ("small", "big"):
        done = invoke(fetch_app, ["--dataset", name, "--params-file", params, "--data-dir", data])
        assert done.exit_code == 0, done.output
    return data


CLASSES = ("bars", "dots", "rings")


def make_image_folder(root, per_class: dict[str, int], seed: int = 0):
    """``root/<split>/<class>/<i>.png|jpg``: a bright bar whose place is the class on noise; sizes 20 x 20
    and 30 x 24 (W x H), every third image grey, half of them JPEG."""
    rng = np.random.default_rng(seed)
    for split, n in per_class.items():
        for c, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                w, h = (30, 24) if i % 2 else (20, 20)
                picture = rng.integers(0, 50, (h, w, 3)).astype(np.uint8)
                picture[:, 2 + 6 * c:6 + 6 * c] = 230
                image = Image.fromarray(picture)
                if i % 3 == 0:
                    image = image.convert("L")
                image.save(folder / f"{i}.{'png' if i % 4 < 2 else 'jpg'}")
    return root


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of a uint8 array, written from the format's definition."""
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()



def class_mean_origin(root, n_train: int, n_test: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``root/fashion/origin/fashion.mat``: one random mean picture per class plus noise (sd 15), labels
    cycling 0..9; learnable and attackable in seconds. Returns the stored variables."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(20, 235, (10, 784))
    split = {}
    for name, n in (("train", n_train), ("test", n_test)):
        labels = np.arange(n) % 10
        split[f"{name}_x"] = np.clip(means[labels] + rng.normal(0, 15, (n, 784)), 0, 255).round().astype(np.uint8)
        split[f"{name}_y"] = onehot(labels, 10)
    origin = root / "fashion" / "origin" / "fashion.mat"
    origin.parent.mkdir(parents=True)
    savemat(origin, split)
    return split
