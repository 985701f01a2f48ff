"""Security evaluation: how much of the plain data an adversary recovers from an encrypted dataset.

Threat model (as in the EtC paper): the adversary holds the encrypted dataset (images and
labels, as an untrusted trainer does), knows the algorithm and the data distribution (public
plain images of the same kind), but not the key. The stronger adversary also holds k
plain/encrypted pairs.

Set-up, the same for every scheme:

* attacked: the encrypted TEST split, decrypted with the estimated key and scored against the
  plain test split;
* public plain data: the plain TRAIN split (other images than the attacked ones);
* known pairs: the first k images of the plain and the encrypted TRAIN split;
* scores: key share (where the true key is one fixed map), PSNR and SSIM of the recovered test
  images, and recognisability: the accuracy on them of a classifier trained on the plain train
  split, against its accuracy on the plain and on the encrypted test images.

The scheme is seen only through its registry interface: whether it negates samples, whether a
pixel's channels move together, whether its key is block tables of a public block size, and its
true key as a sample map (fixed or per image) for scoring. Methods: ``sample-map``
(:mod:`pipeline.evaluate.sample_map_attack`, any scheme), ``pixel-map`` (colour images whose
pixels move whole) and ``etc-blocks`` (:mod:`pipeline.evaluate.etc_attack`, block tables).
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

import train
from matlab_compat import atomic_output
from workbench.data.datasets import DatasetSpec, load_split, pictures_from_rows
from workbench.outputs import read_json
from workbench.data.preview import save_preview
from workbench.data.stored import row_blocks
from pipeline.encrypt.scheme import Scheme
from pipeline.encrypt.stage import load_encrypted
from pipeline.errors import PipelineError
from pipeline.evaluate import sample_map_attack as core
from pipeline.evaluate.etc_attack import (
    block_statistics_of,
    ciphertext_only_key,
    etc_sample_map,
    known_plaintext_key,
    table_shares,
)
from pipeline.evaluate.metrics import psnr, ssim
from train.api import API_DEFAULTS, accuracy, fit_classifier
from train.distributed import resolve_device
from train.errors import TrainError

KINDS = ("known-plaintext", "ciphertext-only")
DEFAULT_PAIRS = (1, 2, 4, 8)
PREVIEW_IMAGES = 8
RECOGNISABILITY_SAMPLES = 30_000  # default training length of the plain classifier: 2 epochs of Fashion, 30 of the CIFAR subset


@dataclass(frozen=True)
class AttackData:
    """Plain and encrypted pictures (N, H, W, C) uint8 and labels of both splits; ``stored`` holds, for
    ``plain_train`` and ``enc_test`` stored v7.3, the same pictures flattened, read in blocks from the
    files (the statistics are taken from those)."""

    spec: DatasetSpec
    plain_train: np.ndarray
    train_labels: np.ndarray
    enc_train: np.ndarray
    plain_test: np.ndarray
    test_labels: np.ndarray
    enc_test: np.ndarray
    stored: Mapping[str, core.Blocks] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.plain_test.shape[1:]

    def blocks(self, name: str) -> core.Blocks:
        """``plain_train`` or ``enc_test`` as flattened (N, S) blocks with labels: from the file where it is v7.3."""
        if name in self.stored:
            return self.stored[name]
        labels = self.train_labels if name == "plain_train" else self.test_labels
        return core.in_memory(_flat(getattr(self, name)), labels)


def _picture_blocks(blocks, spec: DatasetSpec) -> core.Blocks:
    """Stored row blocks as flattened pictures, the order of :func:`_flat`."""
    return lambda: ((_flat(pictures_from_rows(rows, spec)), labels) for rows, labels in blocks())


def load_attack_data(data_dir: str | Path, spec: DatasetSpec, scheme: Scheme, key=None, variant: str | None = None) -> AttackData:
    """Both splits of the plain (``origin``) and the encrypted ``variant`` (default: the scheme's folder), checked
    to correspond (and, with ``key``, to be that key's files where the files can tell)."""
    parts = {}
    for split in ("train", "test"):
        plain, plain_labels = load_split(data_dir, spec.name, "origin", split)
        enc, enc_labels = load_encrypted(Path(data_dir), spec, scheme, split, key, variant)
        if len(plain) != len(enc) or not np.array_equal(plain_labels, enc_labels):
            raise PipelineError(
                f"{scheme.name} {split} split of {spec.name} does not correspond to the plain one ({len(enc)} vs {len(plain)} images, or other labels)"
            )
        parts[split] = (pictures_from_rows(plain, spec), plain_labels, enc)
    found = {"plain_train": row_blocks(Path(data_dir), spec, "origin", "train"),
             "enc_test": row_blocks(Path(data_dir), spec, variant or scheme.name, "test")}
    stored = {name: _picture_blocks(blocks, spec) for name, blocks in found.items() if blocks is not None}
    return AttackData(spec, *parts["train"], *parts["test"], stored)


def _channel_blocks(blocks: core.Blocks, shape: tuple[int, int, int]) -> core.Blocks:
    """Blocks of flattened pictures as blocks of one-channel images (:func:`~pipeline.evaluate.sample_map_attack.channels_as_images`)."""
    return lambda: (core.channels_as_images(flat.reshape(len(flat), *shape), labels) for flat, labels in blocks())


def attack_methods(spec: DatasetSpec, scheme: Scheme, block_size: int | None) -> list[str]:
    """The statistical methods run on ``scheme``'s images of ``spec``: ``sample-map`` always; ``pixel-map``
    for colour images under schemes that move the channels of a pixel together (vor, random);
    ``etc-blocks`` where the key is block tables (etc, block). Refused before any work where a method's
    S x S statistics are too large (:data:`~pipeline.evaluate.sample_map_attack.MAX_POSITIONS`)."""
    shape = f"{spec.height} x {spec.width} x {spec.channels}"
    pixel = scheme.moves_whole_pixels and not scheme.negates and spec.channels > 1
    methods = ["sample-map"] + (["pixel-map"] if pixel else []) + (["etc-blocks"] if block_size is not None else [])
    for method in methods:
        positions = spec.height * spec.width if method == "pixel-map" else spec.height * spec.width * spec.channels
        core.check_positions(method, positions, f"{spec.height} x {spec.width} pixels" if method == "pixel-map" else shape)
    return methods


@dataclass(frozen=True)
class Truth:
    """The victim's key as the scorer sees it (the attacks never do): one fixed sample map, per-image
    maps of the test split, and block tables where the key is one."""

    fixed: core.SampleMap | None = None
    per_image: np.ndarray | None = None
    tables: object = None


def true_key(scheme: Scheme, key, data: AttackData) -> Truth:
    """The :class:`Truth` of ``key``, checked to reproduce the encrypted test images it is said to have made."""
    fixed = scheme.sample_map(key)
    per_image = None
    if scheme.key_per_image(key):
        counts = {"train": len(data.plain_train), "test": len(data.plain_test)}
        per_image = scheme.per_image_maps(key, counts)["test"]
        made = np.take_along_axis(_flat(data.plain_test[:64]), per_image[:64], axis=1)
        negations = scheme.per_image_negations(key, counts)
        if negations is not None:
            made = made ^ (negations["test"][:64].astype(np.uint8) * np.uint8(255))
    elif fixed is not None:
        made = fixed.apply(_flat(data.plain_test[:64]))
    else:
        made = _flat(scheme.encrypt(key, data.plain_test[:64]))
    if not np.array_equal(made, _flat(data.enc_test[:64])):
        raise PipelineError(f"the given {scheme.name} key does not produce data/{data.spec.name}/{scheme.name}; "
                            "check the parameter file, seed or secret")
    return Truth(fixed, per_image, scheme.block_tables(key))


# ----------------------------------------------------------------------------------------------
# Scoring


AccuracyFn = Callable[[np.ndarray], float]  # pictures of the test split -> accuracy


def score(recovered: np.ndarray, data: AttackData, accuracy: AccuracyFn | None) -> dict[str, float | None]:
    """PSNR, SSIM (means over the test split) and recognisability of recovered test pictures."""
    return {
        "psnr": float(psnr(recovered, data.plain_test).mean()),
        "ssim": float(ssim(recovered, data.plain_test).mean()),
        "accuracy": None if accuracy is None else float(accuracy(recovered)),
    }


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


def make_accuracy(data: AttackData, *, epochs: int, seed: int, device: str, cache: Path | None = None) -> tuple[AccuracyFn, dict[str, object]]:
    """Train a classifier on the plain train split; return test-split accuracy as a function.

    With ``cache`` (a folder), the classifier is kept there as a training run (weights-only
    checkpoints, checked on load) under the SHA-256 of the plain training data, the whole
    training recipe and the training code, so the attacks on several encryptions of one
    dataset train it once, and a changed recipe or code never reuses an old classifier."""
    recipe = json.dumps({**API_DEFAULTS, "model": "smallcnn", "epochs": epochs, "seed": seed}, sort_keys=True)
    digest = hashlib.sha256(data.plain_train.tobytes() + data.train_labels.astype("<i8").tobytes()
                            + recipe.encode()).hexdigest()[:16]
    run = None if cache is None else Path(cache) / f"{data.spec.name}_smallcnn_e{epochs}_s{seed}_{digest}_{code_digest()}"
    fitted = fit_classifier(data.plain_train, data.train_labels, model="smallcnn", epochs=epochs, seed=seed, device=device,
                            dataset=data.spec.name, out=run, resume=run is not None, resume_option="classifier_cache")
    model = fitted.classifier
    # the epochs' own seconds, kept in the run: a classifier reloaded from the cache reports its training, not the reload
    info = {"model": "smallcnn", "epochs": epochs, "seed": seed, "trained_on": "plain train split", "recipe": json.loads(recipe), "cache_key": digest,
            "seconds": round(sum(row["seconds"] for row in fitted.history), 1)}
    return (lambda pictures: accuracy(model, pictures, data.test_labels)), info


# ----------------------------------------------------------------------------------------------
# Running the attacks


@dataclass
class Outcome:
    """One attack's estimate and recovered test pictures, with its record for the JSON file."""

    record: dict
    recovered: np.ndarray


def _flat(pictures: np.ndarray) -> np.ndarray:
    return pictures.reshape(len(pictures), -1)


class Evaluation:
    """The attacks of one (dataset, scheme) with what they share: statistics, truth, scoring.

    ``block_size`` is the public block edge where the scheme's key is block tables (else None);
    ``truth`` the victim's key for scoring only (None: no key share).
    """

    def __init__(self, data: AttackData, scheme: Scheme, *, truth: Truth | None = None, block_size: int | None = None,
                 accuracy: AccuracyFn | None = None) -> None:
        self.data = data
        self.encryption = scheme.name
        truth = truth or Truth()
        self.truth = truth.fixed
        self.per_image_truth = truth.per_image
        self.etc_truth = truth.tables
        self.block_size = block_size
        self.accuracy = accuracy
        self.negation = scheme.negates
        self.fill = data.plain_train.reshape(len(data.plain_train), -1).mean(axis=0, dtype=np.float64).astype(np.float32)
        self._statistics: tuple[core.Statistics, core.Statistics, float] | None = None
        self._scheme = scheme
        self._coa: dict[str, tuple[object, np.ndarray, float]] = {}
        self._scored: dict[tuple[bytes, bytes], tuple[dict, np.ndarray]] = {}

    # -- helpers
    def _outcome(self, method: str, pairs: int | None, prior: bool, estimate: core.SampleMap, seconds: float, tables=None) -> Outcome:
        record = {"method": method, "pairs": pairs, "uses_statistics": prior, "seconds": round(seconds, 3)}
        if tables is not None:
            record["key_tables"] = tables
        found = (estimate.source.tobytes(), estimate.negate.tobytes())
        if found not in self._scored:  # attacks often reach the same estimate: decrypt and score it once
            recovered = core.recover(_flat(self.data.enc_test), estimate, self.data.shape, self.fill)
            if self.per_image_truth is not None:
                share = {"per_image_exact": float((estimate.source[None, :] == self.per_image_truth).mean()), "chance": 1.0 / self.data.spec.pixels}
            else:
                share = None if self.truth is None else core.key_share(estimate, self.truth, _flat(self.data.plain_train))
            self._scored[found] = ({"key_share": share, **score(recovered, self.data, self.accuracy)}, recovered)
        scores, recovered = self._scored[found]
        record.update(scores)
        return Outcome(record, recovered)

    def statistics(self) -> tuple[core.Statistics, core.Statistics, float]:
        """(encrypted test, public plain train) statistics of the sample positions and the seconds they
        took: computed once, on first use, from blocks (read from the files where they are v7.3)."""
        if self._statistics is None:
            d, start = self.data, time.perf_counter()
            size, k = int(np.prod(d.shape)), d.spec.num_classes
            observed = core.statistics_of(d.blocks("enc_test"), k, size)
            public = core.statistics_of(d.blocks("plain_train"), k, size)
            self._statistics = (observed, public, time.perf_counter() - start)
        return self._statistics

    def _ciphertext_only(self, method: str):
        """(estimate, cost, seconds) of a method's ciphertext-only attack, computed once."""
        if method not in self._coa:
            observed, public, statistics_seconds = self.statistics()
            start = time.perf_counter()
            d = self.data
            if method == "sample-map":
                estimate, cost = core.ciphertext_only_map(observed, public, negation=self.negation)
            elif method == "pixel-map":
                k, pixels = d.spec.num_classes * d.shape[2], d.shape[0] * d.shape[1]
                estimate, cost = core.ciphertext_only_map(
                    core.statistics_of(_channel_blocks(d.blocks("enc_test"), d.shape), k, pixels),
                    core.statistics_of(_channel_blocks(d.blocks("plain_train"), d.shape), k, pixels), negation=False)
            else:
                k = d.spec.num_classes
                block_stats = tuple(block_statistics_of(d.blocks(name), k, d.shape, self.block_size) for name in ("enc_test", "plain_train"))
                estimate, cost = ciphertext_only_key(
                    d.enc_test, d.test_labels, d.plain_train, d.train_labels, block_size=self.block_size, num_classes=k,
                    block_stats=block_stats, map_stats=(observed, public),
                )
            self._coa[method] = (estimate, cost, time.perf_counter() - start + statistics_seconds)
        return self._coa[method]

    def methods(self) -> list[str]:
        """:func:`attack_methods` of this dataset and scheme."""
        return attack_methods(self.data.spec, self._scheme, self.block_size)

    def _as_map(self, estimate, method: str) -> tuple[core.SampleMap, dict | None]:
        if method == "pixel-map":
            return core.pixel_to_sample_map(estimate, self.data.shape[2]), None
        if isinstance(estimate, core.SampleMap):
            return estimate, None
        return etc_sample_map(estimate), (None if self.etc_truth is None else table_shares(estimate, self.etc_truth))

    # -- the attacks
    def ciphertext_only(self, method: str) -> Outcome:
        estimate, _, seconds = self._ciphertext_only(method)
        smap, tables = self._as_map(estimate, method)
        return self._outcome(method, None, True, smap, seconds, tables)

    def known_plaintext(self, method: str, pairs: int, *, with_statistics: bool) -> Outcome:
        d = self.data
        if pairs > len(d.plain_train):
            raise PipelineError(f"{pairs} known pairs asked for, but the train split holds {len(d.plain_train)} images")
        prior = self._ciphertext_only(method)[1] if with_statistics else None
        start = time.perf_counter()
        if method == "sample-map":
            estimate = core.known_plaintext_map(_flat(d.plain_train[:pairs]), _flat(d.enc_train[:pairs]), negation=self.negation, prior=prior)
        elif method == "pixel-map":
            labels = d.train_labels[:pairs]
            estimate = core.known_plaintext_map(
                core.channels_as_images(d.plain_train[:pairs], labels)[0], core.channels_as_images(d.enc_train[:pairs], labels)[0], negation=False, prior=prior
            )
        else:
            estimate = known_plaintext_key(d.plain_train[:pairs], d.enc_train[:pairs], block_size=self.block_size, prior=prior)
        seconds = time.perf_counter() - start + (self._coa[method][2] if with_statistics else 0.0)
        smap, tables = self._as_map(estimate, method)
        return self._outcome(method, pairs, with_statistics, smap, seconds, tables)

    def baselines(self) -> dict[str, dict]:
        """Scores of doing nothing (the encrypted images), of the public mean image, and of the true key
        (the best any attacker can do: a gather's lost pixels are filled the same way)."""
        d = self.data
        out = {
            "plain": {"psnr": None, "ssim": 1.0, "accuracy": None if self.accuracy is None else float(self.accuracy(d.plain_test))},
            "encrypted": score(d.enc_test, d, self.accuracy),
            "mean_image": score(np.broadcast_to(np.clip(np.rint(self.fill), 0, 255).astype(np.uint8).reshape(d.shape), d.plain_test.shape), d, self.accuracy),
        }
        if self.truth is not None:
            out["true_key"] = score(core.recover(_flat(d.enc_test), self.truth, d.shape, self.fill), d, self.accuracy)
        return out


def run_attacks(evaluation: Evaluation, kind: str, pairs: tuple[int, ...]) -> list[Outcome]:
    if kind not in KINDS:
        raise PipelineError(f"unknown attack kind {kind!r}; choose {' or '.join(KINDS)}")
    outcomes = []
    for method in evaluation.methods():
        if kind == "ciphertext-only":
            outcomes.append(evaluation.ciphertext_only(method))
            continue
        for with_statistics in (False, True):
            outcomes += [evaluation.known_plaintext(method, k, with_statistics=with_statistics) for k in pairs]
    return outcomes


THREAT_MODEL = (
    "adversary holds the encrypted dataset with its labels, knows the algorithm and has public plain images of the same kind "
    "(the plain train split); known-plaintext adds the first k plain/encrypted train pairs; the encrypted test split is attacked"
)


def write_results(path: Path, evaluation: Evaluation, kind: str, outcomes: list[Outcome], baselines: dict, recognisability: dict | None,
                  seconds: float, key_seed: int | None = None) -> dict:
    """The JSON of one attack kind; ``scheme`` and ``key_seed`` (the benchmark key, None for a key without one) say what was attacked."""
    d = evaluation.data
    result = {
        "dataset": d.spec.name,
        "encryption": evaluation.encryption,
        "scheme": evaluation.encryption,
        "key_seed": key_seed,
        "kind": kind,
        "threat_model": THREAT_MODEL,
        "images": {"public_plain": len(d.plain_train), "attacked": len(d.plain_test)},
        "key_form": "fixed sample map" if evaluation.truth is not None else "per image" if evaluation.per_image_truth is not None else "unknown (no key share)",
        "negation_considered": evaluation.negation,
        "recognisability": recognisability,
        "baselines": baselines,
        "attacks": [o.record for o in outcomes],
        "seconds": round(seconds, 1),
    }
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    return result


def write_strip(path: Path, evaluation: Evaluation, outcomes: list[Outcome]) -> None:
    """PNG: plain / encrypted / recovered by each method (its strongest setting) for the first test images."""
    d = evaluation.data
    last = {}
    for o in outcomes:
        last[o.record["method"]] = o  # known-plaintext: the last one is the most pairs with statistics
    rows = [d.plain_test[:PREVIEW_IMAGES], d.enc_test[:PREVIEW_IMAGES]] + [o.recovered[:PREVIEW_IMAGES] for o in last.values()]
    labels = ["plain", "encrypted"] + [f"{m}" + (f" k={o.record['pairs']}" if o.record["pairs"] else "") for m, o in last.items()]
    save_preview(path, rows, labels)


def summary_rows(results_dir: str | Path) -> list[dict]:
    """One flat row per attack in every ``<dataset>_<encryption>_<kind>.json`` of ``results_dir``,
    for the results table: dataset, encryption, kind, method, pairs, key share, PSNR, SSIM and
    the accuracies on recovered, encrypted and plain test images; for a learned attack also why its
    training stopped (``stopped``) and whether it beats the public mean image (``beats_mean_image``;
    both None for the statistical ones)."""
    rows = []
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            result = read_json(path)
            base = result["baselines"]
            for a in result["attacks"]:
                share = a.get("key_share") or {}
                rows.append({
                    "dataset": result["dataset"],
                    "encryption": result["encryption"],
                    "kind": result["kind"],
                    "method": a["method"],
                    "pairs": a["pairs"],
                    "uses_statistics": a["uses_statistics"],
                    "key_share": share.get("exact", share.get("per_image_exact")),
                    "key_share_equivalent": share.get("equivalent"),
                    "psnr": a["psnr"],
                    "ssim": a["ssim"],
                    "accuracy_recovered": a["accuracy"],
                    "accuracy_encrypted": base["encrypted"]["accuracy"],
                    "accuracy_plain": base["plain"]["accuracy"],
                    "stopped": a.get("stopped"),  # learned attacks: plateau, cap (not converged) or no training
                    "beats_mean_image": a.get("beats_mean_image"),  # learned attacks: SSIM above the public mean image's
                })
        except (KeyError, TypeError, ValueError) as err:
            raise PipelineError(f"{path}: not an attack result file ({err})") from None
    return rows
