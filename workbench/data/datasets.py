"""One description of the datasets, their files and their layouts, shared by every step.

Images are stored as rows, exactly as the MATLAB scripts store them:

* ``mnist`` / ``fashion``: uint8 N x 784, each row the 28 x 28 picture row by row (IDX order);
  labels one-hot N x 10.
* ``cifar10``: uint8 N x 3072, 1024 red, 1024 green, 1024 blue values, each channel row by
  row; labels N x 1 (0..9).

``pictures`` are the same images as (N, H, W, C) uint8 arrays in the orientation a person
sees them (C = 1 for grey). The vortex works in MATLAB's orientation instead; see
``pipeline.vor``.

* a declared dataset (``datasets:`` in params.yaml, :mod:`workbench.data.declared`): the
  ``mnist.mat`` layout (uint8 N x H*W*C rows, one-hot labels), its description recorded by the
  fetch stage in ``data/<dataset>/origin/dataset.json``.

Each variant (``origin``, ``vor``, ``random`` and any further encryption) lives in
``data/<dataset>/<variant>/`` under the names the MATLAB scripts and the reference training
code use; :func:`variant_files` is the single table of those names. Stages learn a dataset's
geometry and layout from :func:`dataset_spec` (the built-in table, or the recorded
description), never from its name.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from workbench.data.cifar import read_cifar_split
from workbench.data.matfiles import read_mat
from workbench.outputs import check_member
from workbench.errors import WorkbenchError

SPLITS = ("train", "test")


@dataclass(frozen=True)
class ImageShape:
    """Image geometry: ``channels`` planes of ``height`` x ``width`` pixels; a stored row holds sample
    c * P + row * W + col (P = H * W pixels)."""

    height: int
    width: int
    channels: int

    @property
    def pixels(self) -> int:
        return self.height * self.width

    @property
    def row_length(self) -> int:
        """Samples per image: the length of a stored row."""
        return self.pixels * self.channels


@dataclass(frozen=True)
class DatasetSpec(ImageShape):
    """A dataset: its geometry, file names and the MATLAB scripts' constants for it."""

    name: str
    prefix: str  # file-name prefix used by the MATLAB scripts
    divisor: float  # vortex angle divisor s of the scripts
    degree_scale: float  # Random_Function scale for fresh parameters
    script_vortices: int  # v_num of the MATLAB script
    published_params: str  # the authors' parameter file for this dataset
    block_size: int  # default block edge of block-wise schemes (the EtC paper's 16 for 32 x 32; 7 for 28 x 28)
    num_classes: int = 10
    layout: str = "mat"  # "mat": origin/<prefix>.mat as mnist.mat; "cifar": the CIFAR-10 batch folder and cifar_*.m names
    matlab_transposed: bool = False  # the vortex script's MATLAB image is the transposed picture (cifar_vor.m)
    vor_double: bool = True  # the vortex script stores its images as doubles (mnist_fashion_vor.m; not cifar_vor.m)
    mean: tuple[float, ...] = (0.5,)  # training's Normalize(mean, std), per channel
    std: tuple[float, ...] = (0.5,)


#: The built-in datasets (their declaration is this table and workbench.data.sources).
DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(28, 28, 1, "mnist", "mnist", 1000.0, 800.0, 10, "vor_params_mnist_result.mat", 7),
    "fashion": DatasetSpec(28, 28, 1, "fashion", "fashion", 1000.0, 800.0, 10, "vor_params_fashion.mat", 7),
    "cifar10": DatasetSpec(32, 32, 3, "cifar10", "cifar", 10000.0, 1000.0, 5, "vor_params_cifar.mat", 16,
                           layout="cifar", matlab_transposed=True, vor_double=False,
                           mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),  # ImageNet's, as the reference
}

#: A declared dataset's description, written by the fetch stage beside its images.
SPEC_RECORD = "dataset.json"
DATASET_NAME = re.compile(r"^[a-z][a-z0-9-]*$")  # no "_": training names read <dataset>_<variant>


def spec_path(data_dir: str | Path, name: str) -> Path:
    return Path(data_dir) / name / "origin" / SPEC_RECORD


def dataset_spec(name: "str | DatasetSpec", data_dir: str | Path = "data") -> DatasetSpec:
    """The description of dataset ``name``: recorded by its fetch (``<data_dir>/<name>/origin/dataset.json``),
    else the built-in table."""
    if isinstance(name, DatasetSpec):
        return name
    path = spec_path(data_dir, name) if DATASET_NAME.match(name) else None
    if path is not None and path.is_file():
        return spec_from_record(path)
    if name in DATASETS:
        return DATASETS[name]
    raise WorkbenchError(f"unknown dataset {name!r}: neither built in ({', '.join(DATASETS)}) nor fetched "
                        f"({Path(data_dir) / name / 'origin' / SPEC_RECORD} is missing); declare it under "
                        f"`datasets:` in params.yaml and run `python -m pipeline.fetch --dataset {name}`")


def spec_record(spec: DatasetSpec, **extra) -> dict:
    """What ``dataset.json`` holds: every field of the spec, and ``extra`` (class names, image size rule)."""
    return {**asdict(spec), **extra}


def spec_from_record(path: Path) -> DatasetSpec:
    """The :class:`DatasetSpec` recorded in ``path`` (a fetch's ``dataset.json``), checked."""
    try:
        record = json.loads(path.read_text())
        values = {f.name: record[f.name] for f in fields(DatasetSpec)}
        values["mean"], values["std"] = tuple(values["mean"]), tuple(values["std"])
        spec = DatasetSpec(**values)
        ok = (all(isinstance(getattr(spec, k), int) and getattr(spec, k) >= 1
                  for k in ("height", "width", "channels", "num_classes", "block_size"))
              and spec.layout == "mat" and len(spec.mean) == len(spec.std) == spec.channels)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise WorkbenchError(f"{path}: not a dataset description written by pipeline.fetch ({err})") from None
    if not ok:
        raise WorkbenchError(f"{path}: not a dataset description written by pipeline.fetch")
    return spec


@dataclass(frozen=True)
class SplitFile:
    """Where one split of one variant lives: a file (relative to ``data/<dataset>/``) and its variables."""

    path: str
    x: str
    y: str


_VARIANT_NAME = re.compile(r"^([a-z][a-z0-9]*)(?:-k(0|[1-9][0-9]*))?$")


def variant_name(scheme: str, key_seed: int | None = None) -> str:
    """The folder name (``data/<dataset>/<variant>``) and results name of ``scheme`` under the benchmark key
    ``key_seed``: ``etc-k0``; the scheme's name alone where no key seed is given (``vor``, a private key).

    THE one place this naming is decided; :func:`variant_scheme` reads it back."""
    if key_seed is None:
        return scheme
    if not isinstance(key_seed, int) or key_seed < 0:
        raise WorkbenchError(f"key seed of {scheme}: a whole number >= 0, got {key_seed!r}")
    return f"{scheme}-k{key_seed}"


def variant_scheme(variant: str) -> tuple[str, int | None]:
    """(scheme, key seed or None) of a variant name made by :func:`variant_name`."""
    match = _VARIANT_NAME.match(variant)
    if not match:
        raise WorkbenchError(f"bad variant name {variant!r}: a scheme name (lower-case letters and digits), "
                             "optionally with -k<key seed>")
    return match[1], None if match[2] is None else int(match[2])


def variant_files(dataset: "str | DatasetSpec", variant: str) -> dict[str, SplitFile]:
    """The file and variable names of each split of ``variant`` (``origin`` for CIFAR-10 excepted).

    ``vor`` and ``random`` use the names of the MATLAB scripts; any further encryption ``enc``
    uses ``<enc>/<prefix>_<split>_<enc>.mat`` with ``<split>_x`` and ``<split>_y`` in the
    dataset's row and label layout.
    """
    spec = dataset_spec(dataset)
    scheme, key_seed = variant_scheme(variant)
    if key_seed is not None:  # a benchmark key's folder holds the scheme's files
        return {s: replace(f, path=f"{variant}/{Path(f.path).name}") for s, f in variant_files(spec, scheme).items()}
    p = spec.prefix
    cifar = spec.layout == "cifar"
    if variant == "origin":
        if cifar:
            raise WorkbenchError(f"{spec.name} origin is the CIFAR-10 batch folder; read it with workbench.data.cifar")
        return {s: SplitFile(f"origin/{p}.mat", f"{s}_x", f"{s}_y") for s in SPLITS}
    if variant == "vor":
        if cifar:
            return {
                "train": SplitFile("vor/cifar_vor_train.mat", "train_x_vor", "labels"),
                "test": SplitFile("vor/cifar_vor_test.mat", "test_x_vor", "labels_test"),
            }
        return {s: SplitFile(f"vor/{p}_vor.mat", f"{s}_x_vor", f"{s}_y") for s in SPLITS}
    if variant == "random":
        labels = {"train": "labels", "test": "labels_test"} if cifar else {s: f"{s}_y" for s in SPLITS}
        return {s: SplitFile(f"random/{p}_{s}_random_v1.mat", f"{s}_x_vor", labels[s]) for s in SPLITS}
    return {s: SplitFile(f"{variant}/{p}_{s}_{variant}.mat", f"{s}_x", f"{s}_y") for s in SPLITS}


CIFAR_ORIGIN_DIR = "origin/cifar-10-batches-mat"


def pictures_from_rows(rows: np.ndarray, spec: DatasetSpec) -> np.ndarray:
    """Stored rows (N x H*W*C) -> pictures (N, H, W, C), as a person sees them."""
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] != spec.row_length:
        raise WorkbenchError(f"{spec.name} images must be N x {spec.row_length}, got {rows.shape}")
    n = rows.shape[0]
    if spec.channels == 1:
        return rows.reshape(n, spec.height, spec.width, 1)
    return rows.reshape(n, spec.channels, spec.height, spec.width).transpose(0, 2, 3, 1)


def rows_from_pictures(pictures: np.ndarray, spec: DatasetSpec) -> np.ndarray:
    """Inverse of :func:`pictures_from_rows`: (N, H, W, C) -> N x H*W*C rows (a view where the layout allows)."""
    pictures = np.asarray(pictures)
    want = (spec.height, spec.width, spec.channels)
    if pictures.ndim != 4 or pictures.shape[1:] != want:
        raise WorkbenchError(f"{spec.name} pictures must be (N, {want[0]}, {want[1]}, {want[2]}), got {pictures.shape}")
    n = pictures.shape[0]
    return pictures.transpose(0, 3, 1, 2).reshape(n, spec.row_length)


def picture_index_of_rows(spec: DatasetSpec) -> np.ndarray:
    """For each stored-row position r, the index of the same sample in the flattened (H, W, C) picture."""
    index = np.arange(spec.row_length, dtype=np.int64).reshape(1, spec.height, spec.width, spec.channels)
    return rows_from_pictures(index, spec)[0]


def rows_map_to_picture_sources(rows_map: np.ndarray, spec: DatasetSpec) -> np.ndarray:
    """A gather over stored-row positions (``out[:, r] = in[:, rows_map[r]]``) as sources over picture samples."""
    of_row = picture_index_of_rows(spec)
    source = np.empty(spec.row_length, dtype=np.int64)
    source[of_row] = of_row[rows_map]
    return source


def picture_sources_to_rows_map(source: np.ndarray, spec: DatasetSpec) -> np.ndarray:
    """Inverse of :func:`rows_map_to_picture_sources`: picture-sample sources as a stored-row gather map."""
    of_row = picture_index_of_rows(spec)
    row_of = np.empty_like(of_row)
    row_of[of_row] = np.arange(of_row.size)
    return row_of[np.asarray(source)[of_row]]


def images_as_uint8(values: np.ndarray, where: str) -> np.ndarray:
    """Images as uint8, accepting the doubles the MATLAB scripts save (integers 0..255 only)."""
    values = np.asarray(values)
    if values.dtype == np.uint8:
        return values
    if values.dtype.kind not in "fiu":
        raise WorkbenchError(f"{where}: images must be numeric, got {values.dtype}")
    if values.size and (values.min() < 0 or values.max() > 255 or not np.array_equal(values, np.round(values))):
        raise WorkbenchError(f"{where}: images must hold integers 0..255")
    return values.astype(np.uint8)


def labels_as_indices(values: np.ndarray, num_classes: int, where: str) -> np.ndarray:
    """Class indices (int64, N) from one-hot N x K or N x 1 / 1 x N label arrays."""
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] == num_classes and values.shape[0] != 1:
        onehot = values.astype(np.float64)
        if not np.all(onehot.sum(axis=1) == 1) or not np.all((onehot == 0) | (onehot == 1)):
            raise WorkbenchError(f"{where}: one-hot labels must have exactly one 1 per row")
        return onehot.argmax(axis=1).astype(np.int64)
    if values.ndim == 2 and 1 in values.shape:
        values = values.reshape(-1)
    if values.ndim != 1:
        raise WorkbenchError(f"{where}: labels must be N x {num_classes} one-hot or N x 1, got {values.shape}")
    labels = values.astype(np.float64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes or not np.array_equal(labels, np.round(labels))):
        raise WorkbenchError(f"{where}: labels must be integers 0..{num_classes - 1}")
    return labels.astype(np.int64)


def onehot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """uint8 N x K one-hot labels, the layout of ``mnist.mat``."""
    out = np.zeros((len(labels), num_classes), dtype=np.uint8)
    out[np.arange(len(labels)), labels] = 1
    return out


def load_split(data_dir: str | Path, dataset: "str | DatasetSpec", variant: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(rows uint8 N x H*W*C, labels int64 N) of one split of one variant under ``data_dir``.

    ``data_dir`` is the project's ``data/`` folder (holding ``<dataset>/<variant>/``).
    """
    spec = dataset_spec(dataset, data_dir)
    if split not in SPLITS:
        raise WorkbenchError(f"unknown split {split!r}; choose train or test")
    root = Path(data_dir) / spec.name
    if spec.layout == "cifar" and variant == "origin":
        rows, labels = read_cifar_split(root / CIFAR_ORIGIN_DIR, split)
        return rows, labels_as_indices(labels, spec.num_classes, str(root / CIFAR_ORIGIN_DIR))
    entry = variant_files(spec, variant)[split]
    path = root / entry.path
    if not path.exists():
        raise WorkbenchError(f"{path} is missing; {make_command(spec.name, variant)} writes it")
    check_member(path)
    variables = read_mat(path, required=(entry.x, entry.y))
    rows = images_as_uint8(variables[entry.x], f"{path}:{entry.x}")
    if rows.ndim != 2 or rows.shape[1] != spec.row_length:
        raise WorkbenchError(f"{path}:{entry.x}: expected N x {spec.row_length} images, got {rows.shape}")
    labels = labels_as_indices(variables[entry.y], spec.num_classes, f"{path}:{entry.y}")
    if len(labels) != len(rows):
        raise WorkbenchError(f"{path}: {len(rows)} images but {len(labels)} labels")
    return rows, labels


def make_command(dataset: str, variant: str) -> str:
    """The command that writes a variant's files (for error messages)."""
    if variant == "origin":
        return f"`python -m pipeline.fetch --dataset {dataset}`"
    return f"`python -m pipeline.encrypt --scheme {variant} --dataset {dataset}`"
