"""The learned attacks on large images: settings sized for the image, and the images they use capped.

The ``cpu`` profile is sized for 28 x 28 and 32 x 32 data (its ``sized_samples``: 32 x 32 x 3 samples
an image; ``paper`` is GPU-sized for any image and uses every image). On larger images :func:`sized_for` divides the image counts and batch sizes by how many times more
samples an image holds, so that a batch, the public images and the held-out images hold about as
many samples as on CIFAR-10 (224 x 224 x 3: 49 times, e.g. 244 public images, batches of 4), and
caps the images the attack reads: ``train_images`` of the train split (twice the public images: the
GAN's two disjoint halves) and ``test_images`` of the test split. :func:`load_capped` draws those
rows once with ``rng(seed)`` (a random order, so any prefix of them is a sample of every class) and
reads only them where the split is stored v7.3; the settings, and so the caps, are recorded in the
result file, and its ``images`` counts are those used.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.data.datasets import DatasetSpec, images_as_uint8, pictures_from_rows, variant_files
from workbench.data.stored import split_rows
from pipeline.encrypt.scheme import Scheme
from pipeline.errors import PipelineError
from pipeline.evaluate.attack_data import AttackData, load_attack_data
from pipeline.evaluate.learned.settings import LearnedSettings

#: Attacked test images at the reference size; fewer on larger images, by the same factor.
TEST_IMAGES = 10_000
#: Fewest images and batch a sized setting keeps.
FEWEST = {"public_images": 100, "holdout": 20, "batch": 4, "gan_batch": 4}


def sized_for(settings: LearnedSettings, shape: tuple[int, int, int]) -> LearnedSettings:
    """``settings`` for images of ``shape``: unchanged up to ``settings.sized_samples`` samples an
    image (or where that is None); above, the image counts and batches divided by the ratio (at least :data:`FEWEST`) and the
    images read capped (``train_images``, ``test_images``)."""
    if settings.sized_samples is None or int(np.prod(shape)) <= settings.sized_samples:
        return settings
    factor = int(np.prod(shape)) / settings.sized_samples
    scaled = {name: max(low, int(getattr(settings, name) / factor)) for name, low in FEWEST.items()}
    return settings.with_(**scaled, train_images=2 * scaled["public_images"],
                          test_images=max(FEWEST["public_images"], int(TEST_IMAGES / factor)))


def drawn_rows(count: int, cap: int | None, seed: int) -> np.ndarray:
    """Rows of a split of ``count`` images used under ``cap``: all in order, else ``cap`` of them in the
    order ``rng(seed)`` draws them."""
    if cap is None or count <= cap:
        return np.arange(count)
    return np.random.default_rng(seed).permutation(count)[:cap]


def _read_rows(data_dir: Path, spec: DatasetSpec, variant: str, split: str, cap: int | None,
               seed: int) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(rows, labels, images in the split) of the drawn rows of one split, only those read, where it is
    stored v7.3 (else None)."""
    opened = split_rows(data_dir, spec, variant, split, any_class=True)
    if opened is None:
        return None
    reader, labels = opened
    with reader:
        chosen = drawn_rows(len(labels), cap, seed)
        where = f"{Path(data_dir) / spec.name / variant_files(spec, variant)[split].path}"
        return images_as_uint8(reader.take(chosen), where), labels[chosen], len(labels)


def load_capped(data_dir: Path, spec: DatasetSpec, scheme: Scheme, settings: LearnedSettings,
                variant: str | None = None) -> AttackData:
    """The :class:`AttackData` a learned attack uses, of ``variant`` (default: the scheme's folder): every image where ``settings`` cap none (as
    :func:`~pipeline.evaluate.attack_data.load_attack_data`), else the drawn rows of each split, read alone
    from v7.3 files (a split stored v5/v7 is read whole, then cut)."""
    caps = {"train": settings.train_images, "test": settings.test_images}
    if caps["train"] is None and caps["test"] is None:
        return load_attack_data(data_dir, spec, scheme, variant=variant)
    parts = {}
    for split, cap in caps.items():
        found = [_read_rows(data_dir, spec, folder, split, cap, settings.seed) for folder in ("origin", variant or scheme.name)]
        if None in found:
            whole = load_attack_data(data_dir, spec, scheme, variant=variant)
            train, test = drawn_rows(len(whole.plain_train), caps["train"], settings.seed), drawn_rows(len(whole.plain_test), caps["test"], settings.seed)
            return AttackData(spec, whole.plain_train[train], whole.train_labels[train], whole.enc_train[train],
                              whole.plain_test[test], whole.test_labels[test], whole.enc_test[test])
        (plain, plain_labels, count), (enc, enc_labels, enc_count) = found
        if count != enc_count or not np.array_equal(plain_labels, enc_labels):
            raise PipelineError(f"{scheme.name} {split} split of {spec.name} does not correspond to the plain one "
                                f"({enc_count} vs {count} images, or other labels)")
        parts[split] = (pictures_from_rows(plain, spec), plain_labels, pictures_from_rows(enc, spec))
    return AttackData(spec, *parts["train"], *parts["test"])
