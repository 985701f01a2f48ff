"""The ``csv`` dataset source: lines ``path,label`` (paths relative to the CSV's folder, labels
0..classes-1, an optional header line), the classes declared, the split seeded."""
from __future__ import annotations

import csv
from pathlib import Path

from workbench.data.declaration import Declaration
from workbench.data.images import EXTENSIONS, Item, seeded_split
from workbench.data.source_part import DatasetSource
from workbench.errors import WorkbenchError


class CsvSource(DatasetSource):
    """Images listed in a CSV of ``path,label``; a seeded split per class."""

    def listed(self, decl: Declaration, path: Path) -> tuple[Path, tuple[str, ...], dict[str, list[Item]]]:
        root, classes, labelled = read_csv(path, decl)
        return root, classes, seeded_split(labelled, classes, decl)


def read_csv(path: Path, decl: Declaration) -> tuple[Path, tuple[str, ...], list[Item]]:
    """(folder of the CSV, class names, items) of a CSV of ``path,label`` lines."""
    classes = decl.classes
    names = tuple(classes) if isinstance(classes, tuple) else tuple(str(k) for k in range(classes))
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise WorkbenchError(f"{path}: not a readable CSV of path,label lines ({err})") from None
    items = []
    for number, row in enumerate(rows, start=1):
        if number == 1 and [c.strip().lower() for c in row] == ["path", "label"]:
            continue
        if not row:
            continue
        if len(row) != 2:
            raise WorkbenchError(f"{path}:{number}: expected path,label, got {len(row)} field(s)")
        text = row[1].strip()
        if not text.isdigit() or int(text) >= len(names):
            raise WorkbenchError(f"{path}:{number}: label {text!r} out of range: labels are 0..{len(names) - 1}")
        image = path.parent / row[0].strip()
        if not image.is_file():
            raise WorkbenchError(f"{path}:{number}: {image} does not exist")
        if image.suffix.lower() not in EXTENSIONS:
            raise WorkbenchError(f"{image}: not a PNG/JPEG image file ({path}:{number})")
        items.append(Item(image, int(text), ""))
    if not items:
        raise WorkbenchError(f"{path}: no path,label lines")
    return path.parent, names, items


CSV = CsvSource("csv", path="CSV file", classes=True, given_split=False)
