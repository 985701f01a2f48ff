"""The ``folder`` dataset source: torchvision's ``ImageFolder`` convention, one sub-folder of PNG/JPEG
files per class (classes are the sorted folder names), the split given as two folders or seeded."""
from __future__ import annotations

from pathlib import Path

from workbench.data.declaration import Declaration
from workbench.data.images import EXTENSIONS, Item, seeded_split
from workbench.data.source_part import DatasetSource
from workbench.errors import WorkbenchError


class FolderSource(DatasetSource):
    """Images in class folders: under ``train``/``test`` folders, or directly under the path (seeded split)."""

    def listed(self, decl: Declaration, path: Path) -> tuple[Path, tuple[str, ...], dict[str, list[Item]]]:
        if not path.is_dir():
            raise WorkbenchError(f"{path}: the image folder of dataset {decl.name} does not exist")
        if decl.test_fraction is None:
            classes, train = class_folders(path / decl.train_folder, None)
            _, test = class_folders(path / decl.test_folder, classes)
            return path, classes, {split: [Item(i.path, i.label, split) for i in listed]
                                   for split, listed in (("train", train), ("test", test))}
        classes, labelled = class_folders(path, None)
        return path, classes, seeded_split(labelled, classes, decl)


def image_files(folder: Path) -> list[Path]:
    """The PNG/JPEG files of one class folder (hidden files skipped; anything else refused)."""
    files = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir() or p.suffix.lower() not in EXTENSIONS:
            raise WorkbenchError(f"{p}: not a PNG/JPEG image file (a class folder holds only {', '.join(EXTENSIONS)} files)")
        files.append(p)
    return files


def class_folders(folder: Path, expected: tuple[str, ...] | None) -> tuple[tuple[str, ...], list[Item]]:
    """The classes (sorted sub-folder names) under ``folder`` and their images; ``expected``: the train split's classes."""
    if not folder.is_dir():
        raise WorkbenchError(f"{folder}: missing; an image folder holds one sub-folder of images per class"
                            + ("" if expected is None else " (declare `split: {test: FRACTION, seed: N}` for a seeded split)"))
    names = tuple(sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")))
    stray = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
    if stray:
        raise WorkbenchError(f"{stray[0]}: a file beside the class folders (images belong in {folder}/<class>/)")
    if expected is None and len(names) < 2:
        raise WorkbenchError(f"{folder}: {len(names)} class folder(s); a dataset needs at least 2")
    if expected is not None and names != expected:
        missing = sorted(set(expected) - set(names))
        if missing:
            raise WorkbenchError(f"{folder / missing[0]}: class {missing[0]!r} has train images but no test folder")
        extra = sorted(set(names) - set(expected))[0]
        raise WorkbenchError(f"{folder / extra}: class {extra!r} is not among the train classes")
    items = []
    for label, name in enumerate(names):
        files = image_files(folder / name)
        if not files:
            raise WorkbenchError(f"{folder / name}: empty class folder (no PNG/JPEG image)")
        items += [Item(p, label, "") for p in files]
    return names, items


FOLDER = FolderSource("folder", path="folder")
