"""Train and score a classifier from Python: a thin layer over the command line's training loop.

    from workbench.data.datasets import dataset_spec, pictures_from_rows
    from train.api import train_classifier, accuracy

    clf = train_classifier(train_pictures, train_labels, model="smallcnn", epochs=3, dataset="fashion")
    print(accuracy(clf, test_pictures, test_labels))

Images are (N, H, W, C) uint8 pictures (``workbench.data.datasets.pictures_from_rows``), labels
int64 class indices. ``dataset`` only chooses the normalisation and the number of classes
(``mnist``, ``fashion``, ``cifar10``); the recipe is that of the ``*_smallcnn_quick`` presets
(:data:`API_DEFAULTS`: a minute or two per Fashion-MNIST training, for the attacks) unless overridden by keyword (any :class:`train.config.TrainConfig` field).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from train.config import TrainConfig
from train.data import split_from_pictures
from train.distributed import resolve_device
from train.errors import TrainError
from train.loop import Classifier, FitResult, fit

#: The API's defaults: the recipe of the ``*_smallcnn_quick`` presets (3 epochs, no RICAP, no augmentation).
API_DEFAULTS: dict[str, Any] = dict(epochs=3, batch=128, lr=0.05, wd=5e-4, ricap=None, padding=0, flip=0.0,
                                    jitter=(0.0, 0.0, 0.0, 0.0), seed=3407)


def fit_classifier(images: np.ndarray, labels: np.ndarray, *, model: str = "smallcnn", dataset: str = "fashion",
                   test_images: np.ndarray | None = None, test_labels: np.ndarray | None = None,
                   device: str = "cpu", progress: bool = False, out: str | Path | None = None, resume: bool = False,
                   resume_option: str = "resume", **options: Any) -> FitResult:
    """Train ``model`` on the pictures: the :class:`~train.loop.FitResult` (the classifier, its
    per-epoch history with each epoch's seconds, also when a finished run is reloaded, and metrics).

    ``options`` are :class:`TrainConfig` fields (``epochs``, ``batch``, ``seed``, ``crop``,
    ``lr``, ``ricap``, ``model_options``...). ``crop`` defaults to the pictures' size. The test
    set (default: the training set) is only scored after each epoch, never trained on. Same
    seed, same device: same classifier. With ``out`` the run keeps its checkpoints there, and
    ``resume`` reloads a finished run instead of training again (a cache of classifiers; a cached
    run it cannot use is refused naming ``resume_option``, the caller's option for ``out``).
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise TrainError(f"images must be (N, H, W, C) uint8 pictures, got shape {images.shape}")
    values = {**API_DEFAULTS, "crop": images.shape[1], **options}
    config = TrainConfig(dataset=dataset, model=model, device=device, out=None, **values)
    dev = resolve_device(config.device)
    train = split_from_pictures(images, labels, dev)
    if test_images is None:
        test = train
    else:
        test = split_from_pictures(np.asarray(test_images), np.asarray(test_labels), dev)
    return fit(config, train, test, out=out, resume=resume, progress=progress, resume_option=resume_option)


def train_classifier(images: np.ndarray, labels: np.ndarray, **options: Any) -> Classifier:
    """Train a classifier on the pictures and return the :class:`Classifier` (see :func:`accuracy`);
    the options are :func:`fit_classifier`'s."""
    return fit_classifier(images, labels, **options).classifier


def predict(classifier: Classifier, images: np.ndarray) -> np.ndarray:
    """Predicted class indices (int64) of (N, H, W, C) uint8 pictures."""
    split = split_from_pictures(np.asarray(images), np.zeros(len(images), dtype=np.int64), "cpu")
    return classifier.logits(split.images).argmax(1).numpy().astype(np.int64)


def accuracy(classifier: Classifier, images: np.ndarray, labels: np.ndarray) -> float:
    """The fraction (0..1) of pictures whose predicted class equals ``labels``."""
    labels = np.asarray(labels).astype(np.int64)
    if len(labels) != len(images):
        raise TrainError(f"{len(images)} images but {len(labels)} labels")
    return float(np.mean(predict(classifier, images) == labels)) if len(labels) else float("nan")


__all__ = ["Classifier", "FitResult", "accuracy", "fit_classifier", "predict", "train_classifier"]
