"""A dataset is a declaration: one entry of ``datasets:`` in the profile (params.yaml), never code.

    datasets:
      fashion: {source: fashion}                       # built in: mnist, fashion, cifar10
      leaves: {source: folder, path: /data/leaves, size: 64, colour: rgb, split: {test: 0.2, seed: 0}}
      scans: {source: folder, path: /data/scans, size: 32, colour: grey}   # scans/train/<class>/, scans/test/<class>/
      faces: {source: csv, path: /data/faces.csv, classes: 40, size: 48, colour: grey, split: {test: 0.25, seed: 1}}
      imagenette: {source: imagenette}                 # the EtC paper's set: 224 x 224 colour, its train/val split

* ``folder``: torchvision's ``ImageFolder`` convention, one sub-folder of PNG/JPEG files per class
  (classes are the sorted folder names); with ``split: {train: NAME, test: NAME}`` (default
  ``train`` and ``test``) the two folders are the split, with ``split: {test: FRACTION, seed: N}``
  the class folders lie directly under ``path`` and a seeded split (per class) is drawn and recorded.
* ``csv``: lines ``path,label`` (paths relative to the CSV's folder, labels 0..classes-1, an
  optional header line ``path,label``), ``classes`` the number of classes or their names; split seeded.
* ``size``: every image is resized so its shorter side is ``size`` (bilinear, antialiased, as
  torchvision's ``Resize(size)``) and centre-cropped to ``size`` x ``size`` (``CenterCrop``).
  Without ``size`` the images are kept as they are and must all have one size.
* ``colour``: ``grey`` (Pillow's ``L``) or ``rgb``; ``block-size`` the block-wise schemes' default
  block (default: the largest of 16, 8, 7, 4, 2 dividing the image size at most half of it).
* ``storage``: ``v7`` (default: one MAT-file, read whole) or ``v7.3`` (HDF5, written and read
  in chunks of images with bounded memory: for sets larger than memory).

Each ``source`` is a part of the ``dataset source`` registry (:mod:`workbench.data.dataset_sources`):
what a declaration takes (a path, classes, a split given as folders, fixed defaults) is what its
part declares, so a new source needs no change here.

The declaration is checked (:func:`parse_declaration`) before any file is read: a bad entry is one
:class:`WorkbenchError` naming ``datasets.<name>.<key>``.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from workbench.data.datasets import DATASET_NAME
from workbench.data.dataset_sources import SOURCES
from workbench.data.declaration import COLOURS, Declaration
from workbench.data.source_part import DatasetSource
from workbench.errors import WorkbenchError

STORAGES = ("v7", "v7.3")
_KEYS = {"source", "path", "size", "colour", "split", "classes", "block-size", "storage", "key-seed"}


def _where(name: str, key: str | None = None) -> str:
    return f"datasets.{name}" + (f".{key}" if key else "")


def _whole(value, name: str, key: str, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise WorkbenchError(f"{_where(name, key)}: must be a whole number >= {low}, got {value!r}")
    return value


def _choice(value, name: str, key: str, choices) -> str:
    """``value`` if it is one of ``choices`` (compared as a tuple, so an unhashable value is refused, not a TypeError)."""
    if value not in tuple(choices):
        raise WorkbenchError(f"{_where(name, key)}: choose {' or '.join(choices)}, got {value!r}")
    return value


def parse_declaration(name: str, entry, base: Path = Path(".")) -> Declaration:
    """The checked declaration of ``name`` (``entry``: its mapping); relative paths are taken from ``base``."""
    if not DATASET_NAME.match(str(name)):
        raise WorkbenchError(f"{_where(name)}: a dataset name is lower-case letters, digits and '-' (no '_'), got {name!r}")
    if not isinstance(entry, dict):
        raise WorkbenchError(f"{_where(name)}: must be a mapping with a `source`, got {entry!r}")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise WorkbenchError(f"{_where(name, unknown[0])}: unknown key; a declaration takes {', '.join(sorted(_KEYS))}")
    source = entry.get("source")
    if not isinstance(source, str) or source not in SOURCES:
        raise WorkbenchError(f"{_where(name, 'source')}: choose one of {', '.join(SOURCES)}, got {source!r}")
    part = SOURCES.get(source)
    if part.builtin:
        if name != source or set(entry) != {"source"}:
            raise WorkbenchError(f"{_where(name)}: a built-in dataset is declared as `{source}: {{source: {source}}}` alone")
        return Declaration(name, source, part=part)
    values: dict = {"name": name, "source": source, "part": part, **dict(part.defaults)}
    if part.path:
        if not isinstance(entry.get("path"), str) or not entry["path"]:
            raise WorkbenchError(f"{_where(name, 'path')}: a {source} source needs the path of its {part.path}")
        values["path"] = (base / Path(entry["path"]).expanduser())
    elif "path" in entry:
        raise WorkbenchError(f"{_where(name, 'path')}: the {source} source is fetched (downloads or $VORTEX_MIRROR), not read from a path")
    if "size" in entry:
        values["size"] = _whole(entry["size"], name, "size", 2)
    if "colour" in entry:
        values["colour"] = _choice(entry["colour"], name, "colour", COLOURS)
    if "block-size" in entry:
        values["block_size"] = _whole(entry["block-size"], name, "block-size", 1)
    if "key-seed" in entry:
        values["key_seed"] = _whole(entry["key-seed"], name, "key-seed", 0)
    if "storage" in entry:
        values["storage"] = _choice(entry["storage"], name, "storage", STORAGES)
    values.update(_split(name, part, entry.get("split")))
    if part.classes:
        values["classes"] = _classes(name, source, entry.get("classes"))
    elif "classes" in entry:
        takers = " or ".join(p.name for p in SOURCES.where(lambda p: p.classes))
        raise WorkbenchError(f"{_where(name, 'classes')}: only a {takers} source takes it (a folder's classes are its sub-folders)")
    return Declaration(**values)


def _split(name: str, part: DatasetSource, split) -> dict:
    where = _where(name, "split")
    if split is None:
        if not part.given_split:
            raise WorkbenchError(f"{where}: a {part.name} source needs a seeded split, e.g. {{test: 0.2, seed: 0}}")
        return {}
    if not isinstance(split, dict) or not split:
        raise WorkbenchError(f"{where}: {{test: FRACTION, seed: N}} or {{train: FOLDER, test: FOLDER}}, got {split!r}")
    if isinstance(split.get("test"), float) or set(split) == {"seed"}:
        if set(split) - {"test", "seed"}:
            raise WorkbenchError(f"{where}: a seeded split takes `test` (a fraction) and `seed` only")
        fraction = split.get("test")
        if not isinstance(fraction, float) or not 0 < fraction < 1:
            raise WorkbenchError(f"{where}.test: the test fraction must be a number strictly between 0 and 1, got {fraction!r}")
        return {"test_fraction": fraction, "seed": _whole(split.get("seed", 0), name, "split.seed", 0)}
    if not part.given_split:
        raise WorkbenchError(f"{where}: a {part.name} source takes a seeded split {{test: FRACTION, seed: N}}")
    if set(split) - {"train", "test"} or not all(isinstance(v, str) and v and "/" not in v for v in split.values()):
        raise WorkbenchError(f"{where}: given folders are {{train: NAME, test: NAME}} (folder names under path), got {split!r}")
    return {"train_folder": split.get("train", "train"), "test_folder": split.get("test", "test")}


def _classes(name: str, source: str, classes) -> tuple[str, ...] | int:
    where = _where(name, "classes")
    if isinstance(classes, int) and not isinstance(classes, bool) and classes >= 2:
        return classes
    if isinstance(classes, list) and len(classes) >= 2 and all(isinstance(c, str) and c for c in classes) \
            and len(set(classes)) == len(classes):
        return tuple(classes)
    raise WorkbenchError(f"{where}: a {source} source needs its classes: a count >= 2 or a list of distinct names, got {classes!r}")


def load_declaration(params_file: Path, name: str) -> Declaration | None:
    """The declaration of ``name`` in ``params_file``'s ``datasets:`` (None when the file or the entry is absent)."""
    params_file = Path(params_file)
    if not params_file.is_file():
        return None
    try:
        params = yaml.safe_load(params_file.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise WorkbenchError(f"{params_file}: not a readable params file ({err})") from None
    datasets = params.get("datasets") if isinstance(params, dict) else None
    if isinstance(datasets, list):  # the earlier spelling: built-in names only
        datasets = {d: {"source": d} for d in datasets}
    if not isinstance(datasets, dict) or name not in datasets:
        return None
    return parse_declaration(name, datasets[name], params_file.parent)
