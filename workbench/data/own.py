"""A declared image dataset (:mod:`workbench.data.declared`) in the stored layout of the built-ins.

``data/<name>/origin/`` receives, as one unit (a staging folder swapped in whole):

* ``<name>.mat``: ``train_x``, ``test_x`` uint8 N x H*W*C rows (channel planes, each row by row:
  :func:`workbench.data.datasets.rows_from_pictures`), one-hot uint8 ``train_y``, ``test_y``:
  the ``mnist.mat`` layout; ``storage: v7.3`` writes it as HDF5, chunks of whole images;
* ``dataset.json``: the dataset's description (geometry, classes, layout, training's
  normalisation, how images were resized, the split), which every later stage reads;
* ``images.tsv``: one line per stored image, in stored order: split, row, label, class, the
  SHA-256 of the input file, its path relative to the source (the seeded split is recorded here);
* ``SOURCE.json``: the declaration, the listing's SHA-256 and the outputs' SHA-256.

Images are decoded once, in blocks of :data:`workbench.data.stored.CHUNK_IMAGES` (the train
split's per-channel statistics are gathered on the way); with ``v7.3`` only one block is held at
a time (the bound: one block of pictures plus its rows), with ``v7`` the whole set is (MAT v7
variables are written whole).
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from matlab_compat import RowChunks
from workbench.data.datasets import (
    SPLITS,
    DatasetSpec,
    onehot,
    rows_from_pictures,
    spec_record,
    variant_files,
)
from workbench.data.declaration import Declaration
from workbench.data.images import ImagePlan, decode_chunks
from workbench.data.matfiles import write_mat
from workbench.outputs import sha256_file, staged_folder
from workbench.data.stored import CHUNK_IMAGES, chunk_rows
from workbench.errors import WorkbenchError

LISTING = "images.tsv"
SOURCE_RECORD = "SOURCE.json"
SPEC_FILE = "dataset.json"
#: The vortex constants of ``mnist_fashion_vor.m`` (angle divisor, Random_Function scale, v_num), used for declared sets.
VORTEX_CONSTANTS = (1000.0, 800.0, 10)


def default_block(height: int, width: int) -> int:
    """The block-wise schemes' default block: the largest of 16, 8, 7, 4, 2 dividing both sides, at most half of each."""
    return next((b for b in (16, 8, 7, 4, 2) if height % b == 0 and width % b == 0 and 2 * b <= min(height, width)), 1)


def own_spec(decl: Declaration, plan: ImagePlan, mean: tuple[float, ...], std: tuple[float, ...]) -> DatasetSpec:
    divisor, scale, vortices = VORTEX_CONSTANTS
    block = decl.block_size or default_block(plan.height, plan.width)
    return DatasetSpec(plan.height, plan.width, decl.channels, decl.name, decl.name, divisor, scale, vortices,
                       f"vor_params_{decl.name}.mat", block, len(plan.classes), layout="mat",
                       matlab_transposed=False, vor_double=False, mean=mean, std=std)


class _Statistics:
    """Per-channel mean and standard deviation of pictures (in 0..1), accumulated block by block."""

    def __init__(self, channels: int):
        self.total, self.squares, self.count = np.zeros(channels), np.zeros(channels), 0

    def add(self, pictures: np.ndarray) -> None:
        values = pictures.reshape(-1, pictures.shape[-1]).astype(np.float64) / 255.0
        self.total += values.sum(axis=0)
        self.squares += (values ** 2).sum(axis=0)
        self.count += len(values)

    def result(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(mean, std) rounded to 4 places (std at least 0.001: a constant channel still normalises)."""
        mean = self.total / max(self.count, 1)
        std = np.sqrt(np.maximum(self.squares / max(self.count, 1) - mean ** 2, 0.0))
        return tuple(round(float(m), 4) for m in mean), tuple(round(max(float(v), 1e-3), 4) for v in std)


def describe(decl: Declaration) -> dict:
    """The declaration as recorded (no absolute paths: records stay machine-independent)."""
    d = {k: v for k, v in asdict(decl).items() if k not in ("path", "part")}
    d["classes"] = list(d["classes"]) if isinstance(d["classes"], tuple) else d["classes"]
    d["resize"] = (f"shorter side to {decl.size} (bilinear, antialiased), centre crop {decl.size} x {decl.size}"
                   if decl.size else "none: images kept at their one size")
    return d


def write_own(decl: Declaration, plan: ImagePlan, data_dir: Path, archive: dict | None = None) -> dict:
    """Decode, write and record the origin set of ``decl``; returns SOURCE.json's content (``archive``:
    the record of the archive the images came from, when they did)."""
    target = Path(data_dir) / decl.name / "origin"
    if decl.block_size and (plan.height % decl.block_size or plan.width % decl.block_size):
        raise WorkbenchError(f"datasets.{decl.name}.block-size: {decl.block_size} does not divide the "
                            f"{plan.height} x {plan.width} images")
    with staged_folder(target) as staging:
        statistics = _Statistics(decl.channels)
        digests = _write_images(decl, plan, own_spec(decl, plan, (0.0,), (1.0,)), staging, statistics)
        spec = own_spec(decl, plan, *statistics.result())
        listing = staging / LISTING
        lines = ["split\trow\tlabel\tclass\tsha256\tpath"]
        for split in SPLITS:
            lines += [f"{split}\t{row + 1}\t{item.label}\t{plan.classes[item.label]}\t{digests[split][row]}\t{plan.relative(item)}"
                      for row, item in enumerate(plan.items[split])]
        listing.write_text("\n".join(lines) + "\n")
        (staging / SPEC_FILE).write_text(json.dumps(spec_record(spec, classes=list(plan.classes), declaration=describe(decl)),
                                                    indent=2) + "\n")
        outputs = sorted(p for p in staging.iterdir() if p.is_file())
        summary = {"dataset": decl.name, "source": decl.source,
                   "verified": archive["verified"] if archive else None,
                   "note": "no published per-image checksums: images.tsv records each input's SHA-256",
                   **({"archive": archive} if archive else {}),
                   "inputs": {"images": {s: len(plan.items[s]) for s in SPLITS}, "listing": LISTING,
                              "listing_sha256": sha256_file(listing)},
                   "outputs": {p.name: sha256_file(p) for p in outputs}}
        (staging / SOURCE_RECORD).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _write_images(decl: Declaration, plan: ImagePlan, spec: DatasetSpec, folder: Path,
                  statistics: _Statistics) -> dict[str, list[str]]:
    """``<name>.mat`` (v7 whole, or v7.3 chunk by chunk), adding the train pictures to ``statistics``;
    returns each split's input SHA-256, in stored order (``spec``: the geometry; its normalisation is unused)."""
    path = folder / Path(variant_files(spec, "origin")["train"].path).name
    digests: dict[str, list[str]] = {}

    def rows_of(split: str):
        digests[split] = []
        for pictures, sums in decode_chunks(plan.items[split], decl, plan.height, plan.width, CHUNK_IMAGES):
            digests[split] += sums
            if split == "train":
                statistics.add(pictures)
            yield rows_from_pictures(pictures, spec)

    variables = {}
    for split in SPLITS:
        n = len(plan.items[split])
        labels = onehot(np.array([i.label for i in plan.items[split]], dtype=np.int64), spec.num_classes)
        if decl.storage == "v7.3":
            variables[f"{split}_x"] = RowChunks((n, spec.row_length), np.uint8, rows_of(split), chunk_rows(spec.row_length))
        else:
            variables[f"{split}_x"] = np.concatenate(list(rows_of(split))) if n else np.zeros((0, spec.row_length), np.uint8)
        variables[f"{split}_y"] = labels
    write_mat(path, variables, "7.3" if decl.storage == "v7.3" else "7")
    return digests
