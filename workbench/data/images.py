"""A declared dataset's image files: listed and checked before any work, then decoded in chunks.

:func:`plan_images` lists the declared files through the source part (an image folder, a CSV of
``path,label``...), draws the seeded split where one is declared, and reads every file's header
(Pillow reads only the header here): a non-image file, an empty class folder, a class missing
from one split, a CSV label out of range or mixed image sizes without a declared ``size`` is one
:class:`WorkbenchError` naming the file, before a single image is decoded.

:func:`decode_chunks` then decodes the images in chunks (bounded memory): converted to grey
(Pillow's ``L``) or RGB, resized so the shorter side is ``size`` (bilinear, antialiased:
torchvision's ``Resize(size)``) and centre-cropped to ``size`` x ``size`` (``CenterCrop``).
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from workbench.data.declaration import Declaration
from workbench.errors import WorkbenchError

EXTENSIONS = (".png", ".jpg", ".jpeg")
FORMATS = ("PNG", "JPEG")
_MODES = {"grey": "L", "rgb": "RGB"}


@dataclass(frozen=True)
class Item:
    """One image of the dataset: its file, class index and split."""

    path: Path
    label: int
    split: str


@dataclass(frozen=True)
class ImagePlan:
    """What the fetch will decode: the items of each split (stored in this order), the classes and the image size."""

    root: Path  # paths in records are relative to it
    classes: tuple[str, ...]
    items: dict[str, list[Item]]
    height: int
    width: int

    def relative(self, item: Item) -> str:
        return item.path.relative_to(self.root).as_posix() if item.path.is_relative_to(self.root) else str(item.path)


def plan_images(decl: Declaration, path: Path | None = None) -> ImagePlan:
    """List (through the declared source part) and check every input of ``decl`` (``path``: where its
    files lie, default the declared path)."""
    root, classes, items = decl.part.listed(decl, Path(path or decl.path))
    height, width = _check_headers([i for split in ("train", "test") for i in items[split]], decl)
    return ImagePlan(root, classes, items, height, width)


def seeded_split(items: list[Item], classes: tuple[str, ...], decl: Declaration) -> dict[str, list[Item]]:
    """A split drawn per class: round(fraction * n) of each class's images (at least one each way) go to test."""
    rng = np.random.default_rng(decl.seed)
    out: dict[str, list[Item]] = {"train": [], "test": []}
    for label, name in enumerate(classes):
        members = sorted((i for i in items if i.label == label), key=lambda i: str(i.path))
        if len(members) < 2:
            raise WorkbenchError(f"datasets.{decl.name}.split: class {name!r} has {len(members)} image(s); "
                                "a seeded split needs at least 2 per class")
        n_test = min(max(int(round(decl.test_fraction * len(members))), 1), len(members) - 1)
        test = set(rng.permutation(len(members))[:n_test].tolist())
        for k, item in enumerate(members):
            split = "test" if k in test else "train"
            out[split].append(Item(item.path, label, split))
    return out


def _check_headers(items: list[Item], decl: Declaration) -> tuple[int, int]:
    """Every file is a PNG or JPEG Pillow can open; the stored image size (mixed sizes need ``size``)."""
    first = None
    for item in items:
        try:
            with Image.open(item.path) as image:
                kind, size = image.format, image.size
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as err:
            raise WorkbenchError(f"{item.path}: not a readable PNG/JPEG image ({err})") from None
        if kind not in FORMATS:
            raise WorkbenchError(f"{item.path}: a {kind} image; only PNG and JPEG are read")
        if decl.size is None:
            if first is None:
                first = (item.path, size)
            elif size != first[1]:
                raise WorkbenchError(f"{item.path}: {size[0]} x {size[1]} pixels, but {first[0]} is {first[1][0]} x "
                                    f"{first[1][1]}; declare `size:` to resize and centre-crop them to one size")
    if decl.size is not None:
        return decl.size, decl.size
    return first[1][1], first[1][0]


def decode(item: Item, decl: Declaration, height: int, width: int) -> tuple[np.ndarray, str]:
    """One image as an (H, W, C) uint8 picture (converted, resized by its shorter side and centre-cropped)
    and the SHA-256 of its file."""
    try:
        data = item.path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            image = image.convert(_MODES[decl.colour])
            if decl.size is not None:
                image = _resize_crop(image, decl.size)
            picture = np.asarray(image, dtype=np.uint8)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as err:
        raise WorkbenchError(f"{item.path}: cannot decode ({err})") from None
    picture = picture.reshape(picture.shape[0], picture.shape[1], -1)
    if picture.shape != (height, width, decl.channels):
        raise WorkbenchError(f"{item.path}: decoded to {picture.shape}, expected {(height, width, decl.channels)}")
    return picture, hashlib.sha256(data).hexdigest()


def _resize_crop(image: Image.Image, size: int) -> Image.Image:
    """torchvision's ``Resize(size)`` then ``CenterCrop(size)`` on a PIL image."""
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    if short != size:
        new_long = int(size * long / short)
        image = image.resize((size, new_long) if w <= h else (new_long, size), Image.BILINEAR)
        w, h = image.size
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def decode_chunks(items: list[Item], decl: Declaration, height: int, width: int,
                  chunk: int) -> Iterator[tuple[np.ndarray, list[str]]]:
    """(pictures (n, H, W, C) uint8, the files' SHA-256) of ``items``, ``chunk`` images at a time."""
    for start in range(0, len(items), chunk):
        part = items[start:start + chunk]
        pictures = np.empty((len(part), height, width, decl.channels), dtype=np.uint8)
        digests = []
        for k, item in enumerate(part):
            pictures[k], digest = decode(item, decl, height, width)
            digests.append(digest)
        yield pictures, digests
