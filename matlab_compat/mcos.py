"""MATLAB's MCOS subsystem ("FileWrapper__"): where the objects of a MAT-file live.

A variable of a classdef type (string, datetime, table, a user class...) holds only a uint32
reference ``[0xDD000000, ndims, dims..., object ids..., class id]``. The objects themselves
are in the file's subsystem: in v6/v7 the unnamed ``__function_workspace__`` bytes (a struct
whose field ``MCOS`` is an opaque ``FileWrapper__`` object), in v7.3 the dataset
``#subsystem#/MCOS``. Either way they come down to one cell array:

- cell 1: uint8 metadata, read as 32-bit words in the file's byte order: version (2, 3 or 4),
  the number of names, eight region offsets, the names (NUL-terminated, padded to 8 bytes),
  then the regions: (1) classes ``(namespace name, class name, 0, 0)``; (2) and (4)
  property lists, per block ``count`` then ``count`` triples ``(name, kind, value)`` padded
  to 8 bytes, (2) for objects saved by ``saveobj`` (their one property is ``any``); (3)
  objects ``(class id, 0, 0, saveobj block, property block, dependency id)``; (5) dynamic
  properties. The first entry of every region is all zeros; names are counted from 1.
- cell 2: empty; cells 3...: property values (a property of kind 1 names one, from 0);
- the last cells (1 in version 2, 2 in version 3, 3 in version 4): the last is each class's
  default property values (a struct per class id), which fill properties the object does
  not store.

Property kinds: 0 a name from the table (an enumeration member's name), 1 a value cell, 2 a
literal integer. Every index and count is checked: the metadata is attacker-controlled.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from matlab_compat.errors import MatFileError

#: The first word of an object reference (and of an enumeration's instance tag).
MAGIC = 0xDD000000
#: Cells after the property values, by FileWrapper__ version.
_TRAILING = {2: 1, 3: 2, 4: 3}
_HEADER_WORDS = 10


@dataclass(frozen=True)
class ObjectInfo:
    """Region 3 entry of one object id."""

    class_id: int
    saveobj: int        # block of region 2 (0: none)
    normal: int         # block of region 4 (0: none)


class FileWrapper:
    """The parsed subsystem: class names, objects and their stored properties."""

    def __init__(self, cells: list[Any], where: str, order: str = "<"):
        self.where = where
        if len(cells) < 3 or not isinstance(cells[0], np.ndarray) or cells[0].dtype != np.uint8:
            raise self.fail("FileWrapper__ cell lacks its uint8 metadata")
        meta = np.ascontiguousarray(cells[0]).reshape(-1)
        self.size = meta.size
        if meta.size < 4 * _HEADER_WORDS:
            raise self.fail("FileWrapper__ metadata shorter than its header")
        words = np.frombuffer(meta.tobytes()[:meta.size - meta.size % 4], order + "u4")
        self.version = int(words[0])
        if self.version not in _TRAILING:
            raise self.fail(f"FileWrapper__ version {self.version} is not 2, 3 or 4")
        trailing = _TRAILING[self.version]
        if len(cells) < 2 + trailing:
            raise self.fail(f"FileWrapper__ cell has {len(cells)} cells, version "
                            f"{self.version} needs at least {2 + trailing}")
        self.values = cells[2:len(cells) - trailing]
        self.defaults = cells[-1]
        count, offsets = int(words[1]), [int(w) for w in words[2:8]]
        if offsets != sorted(offsets) or offsets[-1] > meta.size or offsets[0] < 4 * _HEADER_WORDS \
                or any(o % 4 for o in offsets):
            raise self.fail(f"FileWrapper__ region offsets {offsets} do not fit its "
                            f"{meta.size} bytes")
        self.names = self._names(meta[4 * _HEADER_WORDS:offsets[0]].tobytes(), count)

        def region(i: int) -> np.ndarray:
            return words[offsets[i] // 4:offsets[i + 1] // 4]

        classes = region(0)
        self.classes = [self._class_name(block) for block in classes[:classes.size // 4 * 4]
                        .reshape(-1, 4)]
        objects = region(2)
        self.objects = [ObjectInfo(int(b[0]), int(b[3]), int(b[4]))
                        for b in objects[:objects.size // 6 * 6].reshape(-1, 6)]
        self.saveobj_blocks = self._blocks(region(1))
        self.normal_blocks = self._blocks(region(3))

    def fail(self, problem: str) -> MatFileError:
        return MatFileError(f"{self.where}: {problem}")

    def _names(self, raw: bytes, count: int) -> list[str]:
        parts = raw.split(b"\0")
        if count > len(parts) - 1:
            raise self.fail(f"FileWrapper__ declares {count} names, its table holds fewer")
        return [p.decode("latin-1") for p in parts[:count]]

    def name(self, index: int) -> str:
        """Name ``index`` of the table (counted from 1)."""
        if not 1 <= index <= len(self.names):
            raise self.fail(f"name index {index} outside the {len(self.names)} names")
        return self.names[index - 1]

    def _class_name(self, block: np.ndarray) -> str:
        namespace, name = int(block[0]), int(block[1])
        if name == 0:
            return ""
        return (self.name(namespace) + "." if namespace else "") + self.name(name)

    def _blocks(self, words: np.ndarray) -> list[list[tuple[int, int, int]]]:
        """Property blocks: ``count``, ``count`` triples, padded to 8 bytes."""
        blocks, pos = [], 0
        while pos < words.size:
            count = int(words[pos])
            if 1 + 3 * count > words.size - pos:
                raise self.fail(f"property block declares {count} properties, the region "
                                f"holds fewer")
            triples = words[pos + 1:pos + 1 + 3 * count].reshape(-1, 3)
            blocks.append([(int(a), int(b), int(c)) for a, b, c in triples])
            pos += 1 + 3 * count
            pos += pos % 2
        return blocks

    def classname(self, class_id: int) -> str:
        if not 1 <= class_id < len(self.classes):
            raise self.fail(f"class id {class_id} outside the {len(self.classes) - 1} classes")
        return self.classes[class_id]

    def object(self, object_id: int) -> ObjectInfo:
        if not 1 <= object_id < len(self.objects):
            raise self.fail(f"object id {object_id} outside the {len(self.objects) - 1} objects")
        return self.objects[object_id]

    def properties(self, object_id: int) -> tuple[dict[str, Any], bool]:
        """The object's properties as read (nested objects not decoded): its class's
        defaults, then what it stores; and whether it was saved by ``saveobj``."""
        info = self.object(object_id)
        props = dict(self.class_defaults(info.class_id))
        saved = info.saveobj != 0
        blocks, index = (self.saveobj_blocks, info.saveobj) if saved else \
            (self.normal_blocks, info.normal)
        if index:
            if index >= len(blocks):
                raise self.fail(f"object {object_id}: property block {index} outside the "
                                f"{len(blocks)} blocks")
            for name, kind, value in blocks[index]:
                props[self.name(name)] = self._property(kind, value)
        return props, saved

    def _property(self, kind: int, value: int) -> Any:
        if kind == 1:
            if value >= len(self.values):
                raise self.fail(f"property value cell {value} outside the "
                                f"{len(self.values)} cells")
            return self.values[value]
        if kind == 0:
            return self.name(value)
        if kind == 2:
            return value
        raise self.fail(f"property of unknown kind {kind}")

    def class_defaults(self, class_id: int) -> dict[str, Any]:
        """Default property values of a class (cell ``class_id`` of the last cell)."""
        cells = self.defaults
        if not (isinstance(cells, np.ndarray) and cells.dtype == object and cells.size > class_id):
            return {}
        entry = cells.reshape(-1, order="F")[class_id]
        return dict(entry) if isinstance(entry, dict) else {}

    def reference(self, ref: Any) -> tuple[tuple[int, ...], list[int], int]:
        """``(dims, object ids, class id)`` of an object reference (a uint32 array)."""
        words = np.asarray(ref).reshape(-1, order="F") if isinstance(ref, np.ndarray) else None
        if words is None or words.dtype.kind not in "ui" or words.size < 3 or words[0] != MAGIC:
            raise self.fail("object reference is not a uint32 array starting 0xDD000000")
        ndims = int(words[1])
        if ndims < 2 or words.size < 2 + ndims + 1:
            raise self.fail(f"object reference declares {ndims} dimensions in {words.size} words")
        dims = tuple(int(d) for d in words[2:2 + ndims])
        count = int(np.prod(dims, dtype=object))
        if words.size != 2 + ndims + count + 1:
            raise self.fail(f"object reference of size {dims} holds {words.size} words")
        ids = [int(i) for i in words[2 + ndims:2 + ndims + count]]
        for object_id in ids:
            self.object(object_id)
        class_id = int(words[-1])
        self.classname(class_id)
        return dims, ids, class_id


class WrapperBuilder:
    """A new FileWrapper__ (version 3, the layout of MATLAB R2018-R2020) for objects written
    from Python values: every property is stored (no class defaults are relied on)."""

    VERSION = 3

    def __init__(self):
        self.names: list[str] = []
        self.classes: list[str] = [""]
        self.objects: list[tuple[int, int, int]] = [(0, 0, 0)]   # class id, saveobj, normal
        self.saveobj_blocks: list[list[tuple[int, int, int]]] = [[]]
        self.normal_blocks: list[list[tuple[int, int, int]]] = [[]]
        self.values: list[Any] = []

    def name(self, text: str) -> int:
        if text not in self.names:
            self.names.append(text)
        return self.names.index(text) + 1

    def class_id(self, classname: str) -> int:
        if classname not in self.classes:
            self.classes.append(classname)
        return self.classes.index(classname)

    def reserve(self, classname: str) -> int:
        """A new object id of ``classname`` (its properties set by :meth:`fill`)."""
        self.objects.append((self.class_id(classname), 0, 0))
        return len(self.objects) - 1

    def fill(self, object_id: int, props: dict[str, Any], saveobj: bool) -> None:
        triples = []
        for prop, value in props.items():
            triples.append((self.name(prop), 1, len(self.values)))
            self.values.append(value)
        blocks = self.saveobj_blocks if saveobj else self.normal_blocks
        blocks.append(triples)
        class_id = self.objects[object_id][0]
        self.objects[object_id] = (class_id, len(blocks) - 1, 0) if saveobj else \
            (class_id, 0, len(blocks) - 1)

    def reference(self, object_ids: list[int], dims: tuple[int, ...], classname: str) -> np.ndarray:
        words = [MAGIC, len(dims), *dims, *object_ids, self.class_id(classname)]
        return np.array(words, dtype=np.uint32).reshape(-1, 1)

    def metadata(self, order: str) -> np.ndarray:
        """The uint8 metadata cell (words in the file's byte order)."""
        classes = []
        for classname in self.classes[1:]:
            namespace, _, short = classname.rpartition(".")
            classes += [self.name(namespace) if namespace else 0, self.name(short), 0, 0]
        names = b"".join(n.encode("latin-1") + b"\0" for n in self.names)
        names += bytes(-len(names) % 8)
        regions = [
            [0, 0, 0, 0] + classes,
            _block_words(self.saveobj_blocks),
            [w for i, (c, s, n) in enumerate(self.objects) for w in
             ((0,) * 6 if i == 0 else (c, 0, 0, s, n, i))],
            _block_words(self.normal_blocks),
            [0, 0] * len(self.objects),          # no dynamic properties
        ]
        offsets, at = [], 40 + len(names)
        for words in regions:
            offsets.append(at)
            at += 4 * len(words)
        offsets += [at, 0, 0]
        head = np.array([self.VERSION, len(self.names), *offsets], order + "u4").tobytes()
        body = b"".join(np.array(words, order + "u4").tobytes() for words in regions)
        return np.frombuffer(head + names + body, np.uint8).reshape(-1, 1)

    def cells(self, order: str = "<") -> np.ndarray:
        """The FileWrapper__ cell: metadata, an empty cell, the property values, then the
        class alias ids and the (empty) class defaults."""
        count = len(self.classes)
        defaults = np.empty((count, 1), dtype=object)
        for i in range(count):
            defaults[i, 0] = np.empty((1, 0), dtype=[])
        out = [self.metadata(order), None, *self.values, np.zeros((count, 1), np.int32), defaults]
        cells = np.empty((len(out), 1), dtype=object)
        for i, value in enumerate(out):
            cells[i, 0] = value
        return cells


def _block_words(blocks: list[list[tuple[int, int, int]]]) -> list[int]:
    words: list[int] = []
    for triples in blocks:
        words += [len(triples)] + [w for t in triples for w in t]
        if len(words) % 2:
            words.append(0)
    return words
