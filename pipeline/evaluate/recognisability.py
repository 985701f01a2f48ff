"""Recognisability: a classifier trained on plain training pictures, scoring recovered test pictures.

It is the evaluator's instrument, not the adversary's: how much a plain-trained classifier still
recognises in what an attack recovered. It trains on the first plain training pictures up to
:data:`CLASSIFIER_BYTES` (all of the built-in datasets) and is cached between runs.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np

import train
from train.api import API_DEFAULTS, accuracy, fit_classifier
from train.distributed import resolve_device
from train.errors import TrainError
from pipeline.errors import PipelineError
from pipeline.evaluate.attack_data import AttackData

RECOGNISABILITY_SAMPLES = 30_000  # default training length of the plain classifier: 2 epochs of Fashion, 30 of the CIFAR subset

#: Most bytes of uint8 plain pictures the classifier trains on (its float tensors take 4 times more).
CLASSIFIER_BYTES = 512 << 20

#: Pictures -> accuracy on ``labels`` (default: the test split's labels, the pictures being the whole test split).
AccuracyFn = Callable[..., float]


def default_epochs(data: AttackData) -> int:
    """Epochs for about :data:`RECOGNISABILITY_SAMPLES` training samples, at least 2."""
    return max(2, -(-RECOGNISABILITY_SAMPLES // classifier_images(data)))


def classifier_images(data: AttackData) -> int:
    """How many of the first plain training pictures the classifier trains on."""
    return max(1, min(len(data.plain_train), CLASSIFIER_BYTES // int(np.prod(data.shape))))


def code_digest(package=train) -> str:
    """SHA-256 (16 hex digits) of a package's Python sources: a cache keyed by it is never reused after a code change."""
    digest = hashlib.sha256()
    root = Path(package.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def check_device(device: str) -> str:
    """``--device`` once torch knows it and has it (checked before any work), else a clean error."""
    try:
        resolve_device(device)
    except (TrainError, RuntimeError) as err:  # torch refuses unknown device strings with a RuntimeError
        raise PipelineError(f"--device {device!r}: {err}") from None
    return device


def make_accuracy(data: AttackData, *, epochs: int, seed: int, device: str, cache: Path | None = None,
                  data_dir: Path = Path("data")) -> tuple[AccuracyFn, dict[str, object]]:
    """Train a classifier on the plain train split (its first :func:`classifier_images`); return accuracy as a function.

    With ``cache`` (a folder), the classifier is kept there as a training run (weights-only
    checkpoints, checked on load) under the SHA-256 of the plain training data, the whole
    training recipe and the training code, so the attacks on several encryptions of one
    dataset train it once, and a changed recipe or code never reuses an old classifier. ``data_dir``
    holds the dataset (where training finds a declared dataset's description)."""
    count = classifier_images(data)
    pictures, labels = np.asarray(data.plain_train[:count]), data.train_labels[:count]
    recipe = json.dumps({**API_DEFAULTS, "model": "smallcnn", "epochs": epochs, "seed": seed}, sort_keys=True)
    digest = hashlib.sha256(pictures.tobytes() + labels.astype("<i8").tobytes() + recipe.encode()).hexdigest()[:16]
    run = None if cache is None else Path(cache) / f"{data.spec.name}_smallcnn_e{epochs}_s{seed}_{digest}_{code_digest()}"
    fitted = fit_classifier(pictures, labels, model="smallcnn", epochs=epochs, seed=seed, device=device,
                            dataset=data.spec.name, data_dir=str(data_dir), out=run, resume=run is not None, resume_option="classifier_cache")
    model = fitted.classifier
    # the epochs' own seconds, kept in the run: a classifier reloaded from the cache reports its training, not the reload
    info = {"model": "smallcnn", "epochs": epochs, "seed": seed, "trained_on": "plain train split", "images": count,
            "recipe": json.loads(recipe), "cache_key": digest, "seconds": round(sum(row["seconds"] for row in fitted.history), 1)}

    def score(pictures: np.ndarray, labels: np.ndarray | None = None) -> float:
        return accuracy(model, pictures, data.test_labels if labels is None else labels)

    return score, info
