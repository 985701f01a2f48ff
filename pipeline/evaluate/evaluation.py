"""Running the statistical attacks of one (dataset, scheme): what the adversary holds, the methods, the scores.

Threat model (as in the EtC paper): the adversary holds the encrypted training data with its labels
(as an untrusted trainer does), knows the algorithm and the data distribution (public plain images of
the same kind), but not the key; the stronger adversary also holds k plain/encrypted pairs.

* ciphertext-only statistics: the encrypted training images of one half of the train split against
  the public plain training images of the other half (:func:`~pipeline.evaluate.halves.adversary_halves`:
  stratified by label, fixed seed, so both hold every class however the split is stored) — never the
  attacked test split;
* known pairs: the first k images of the plain and the encrypted training split;
* attacked: the encrypted test split, decrypted with each estimate and scored against the plain test
  split in blocks: key share (where the true key is known), PSNR, SSIM and recognisability.

Methods come from :data:`~pipeline.evaluate.attack_methods.registry.METHODS`, chosen by what they declare;
one that declares it cannot run on the images is skipped, with its reason in the record; one whose S x S
statistics would not fit runs its bounded algorithm, named in the record. Each statistic is computed on
first use, only for the methods that read it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from pipeline.encrypt.sample_map import SampleMap
from pipeline.encrypt.scheme import Scheme
from pipeline.errors import PipelineError
from pipeline.evaluate import sample_map_attack as core
from pipeline.evaluate.etc_attack import block_statistics_of, refinement_correlations_of, refinement_positions
from pipeline.evaluate.attack_data import AttackData, Truth, flat
from pipeline.evaluate.halves import RULE, adversary_halves
from pipeline.evaluate.attack_methods.method import KINDS, AttackMethod
from pipeline.evaluate.attack_methods.registry import METHODS
from pipeline.evaluate.metrics import psnr, ssim
from pipeline.evaluate.recognisability import AccuracyFn
from workbench.data import stored
from workbench.data.datasets import DatasetSpec

DEFAULT_PAIRS = (1, 2, 4, 8)
PREVIEW_IMAGES = 8  # recovered test pictures kept per estimate, for the strip


def attack_methods(spec: DatasetSpec, scheme: Scheme, block_size: int | None) -> list[AttackMethod]:
    """The registered methods whose declarations admit ``scheme``'s images of ``spec`` (``block_size``: the
    public block edge where the key is block tables, else None) and whose statistics fit them."""
    return METHODS.where(lambda method: method.applies(spec, scheme, block_size) and method.unfit(spec) is None)


def skipped_methods(spec: DatasetSpec, scheme: Scheme, block_size: int | None) -> list[dict]:
    """The methods that would apply but whose statistics do not fit ``spec``'s images: ``{"method", "reason"}`` each."""
    applying = METHODS.where(lambda method: method.applies(spec, scheme, block_size) and method.unfit(spec) is not None)
    return [{"method": method.name, "reason": method.unfit(spec)} for method in applying]


@dataclass
class Outcome:
    """One attack's record for the JSON file, with the first recovered test pictures (for the strip)."""

    record: dict
    recovered: np.ndarray


class Evaluation:
    """The attacks of one (dataset, scheme) with what they share: the adversary's statistics, the truth, scoring.

    ``block_size`` is the public block edge where the scheme's key is block tables (else None);
    ``truth`` the victim's key for scoring only (None: no key share). It is the methods'
    :class:`~pipeline.evaluate.attack_methods.method.Adversary`.
    """

    def __init__(self, data: AttackData, scheme: Scheme, *, truth: Truth | None = None, block_size: int | None = None,
                 accuracy: AccuracyFn | None = None) -> None:
        self.data, self.encryption, self.block_size, self.accuracy = data, scheme.name, block_size, accuracy
        self.truth = truth or Truth()
        self.negation = scheme.negates
        self.shape, self.num_classes = data.shape, data.spec.num_classes
        # the encrypted statistics' rows and the public plain images' rows of the train split
        self.encrypted_rows, self.public_rows = adversary_halves(data.train_labels)
        self.fill = self._public_mean()
        self._scheme = scheme
        self._statistics: dict[str, tuple[object, float]] = {}  # name: (value, seconds it took)
        self._read: set[str] = set()  # the statistics read since the last method started
        self._coa: dict[str, tuple[object, np.ndarray | None, float]] = {}
        self._scored: dict[tuple[bytes, bytes], tuple[dict, np.ndarray]] = {}

    # -- what the adversary holds (the Adversary protocol)
    def encrypted_blocks(self) -> core.Blocks:
        if not len(self.encrypted_rows):
            raise PipelineError(f"the train split of {self.data.spec.name} holds {len(self.data.plain_train)} image; "
                                "the ciphertext-only statistics need at least 2")
        return self.data.blocks("enc_train", self.encrypted_rows)

    def public_blocks(self) -> core.Blocks:
        return self.data.blocks("plain_train", self.public_rows)

    def encrypted_images(self, count: int) -> np.ndarray:
        return self.data.picked("enc_train", self.encrypted_rows[:count])

    def pairs(self, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d = self.data
        if count > len(d.plain_train):
            raise PipelineError(f"{count} known pairs asked for, but the train split holds {len(d.plain_train)} images")
        return np.asarray(d.plain_train[:count]), np.asarray(d.enc_train[:count]), d.train_labels[:count]

    def _statistic(self, name: str, compute):
        """A statistic of the adversary's data: computed once, on first use, in blocks; noted as read."""
        if name not in self._statistics:
            start = time.perf_counter()
            value = compute()
            self._statistics[name] = (value, time.perf_counter() - start)
        self._read.add(name)
        return self._statistics[name][0]

    def statistics(self) -> tuple[core.Statistics, core.Statistics, float]:
        """(encrypted training, public plain) S x S statistics of the sample positions and the seconds they took."""
        size = int(np.prod(self.shape))
        observed, public = self._statistic("positions", lambda: tuple(
            core.statistics_of(blocks, self.num_classes, size) for blocks in (self.encrypted_blocks(), self.public_blocks())))
        return observed, public, self._statistics["positions"][1]

    def moments(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """(encrypted training, public plain) per-class (means, stds) (S, K) of the sample positions (the bounded map attack's)."""
        size = int(np.prod(self.shape))
        return self._statistic("moments", lambda: tuple(
            core.class_moments(blocks, self.num_classes, size) for blocks in (self.encrypted_blocks(), self.public_blocks())))

    def block_statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """(encrypted training, public plain) per-class moments arranged by block (:func:`~pipeline.evaluate.etc_attack.block_statistics_of`)."""
        return self._statistic("blocks", lambda: tuple(
            block_statistics_of(blocks, self.num_classes, self.shape, self.block_size)
            for blocks in (self.encrypted_blocks(), self.public_blocks())))

    def refinement_correlations(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(encrypted training, public plain) correlations of the block attack's refinement positions; None
        where there are none. Where they are every position, those of :meth:`statistics` (the same sums)."""
        where = refinement_positions(self.shape, self.block_size)
        if not len(where):
            return None
        if len(where) == int(np.prod(self.shape)):
            observed, public, _ = self.statistics()
            return observed.corr, public.corr
        return self._statistic("refinement", lambda: tuple(
            refinement_correlations_of(blocks, self.shape, self.block_size) for blocks in (self.encrypted_blocks(), self.public_blocks())))

    def statistics_source(self) -> dict:
        """What the ciphertext-only statistics come from (for the JSON file)."""
        return {"rule": RULE, "encrypted": {"split": "train", "images": len(self.encrypted_rows)},
                "public_plain": {"split": "train", "images": len(self.public_rows)},
                "attacked": {"split": "test", "images": len(self.data.plain_test)}}

    def _public_mean(self) -> np.ndarray:
        """The public plain images' mean picture (S,) float32: sums of uint8 in float64 are exact in any order."""
        total, count = np.zeros(int(np.prod(self.shape))), 0
        for rows, _ in self.public_blocks()():
            total, count = total + rows.sum(axis=0, dtype=np.float64), count + len(rows)
        return (total / max(count, 1)).astype(np.float32)

    # -- the methods
    def methods(self) -> list[AttackMethod]:
        """:func:`attack_methods` of this dataset and scheme."""
        return attack_methods(self.data.spec, self._scheme, self.block_size)

    def skipped(self) -> list[dict]:
        """:func:`skipped_methods` of this dataset and scheme."""
        return skipped_methods(self.data.spec, self._scheme, self.block_size)

    def _ciphertext_only(self, method: AttackMethod) -> tuple[object, np.ndarray | None, float]:
        """(estimate, cost, seconds) of a method's ciphertext-only attack, computed once; its seconds
        include those of every statistic it read, also where another method computed it first."""
        if method.name not in self._coa:
            earlier, self._read = set(self._statistics), set()
            start = time.perf_counter()
            estimate, cost = method.ciphertext_only(self)
            shared = sum(self._statistics[name][1] for name in self._read & earlier)
            self._coa[method.name] = (estimate, cost, time.perf_counter() - start + shared)
        return self._coa[method.name]

    def ciphertext_only(self, method: AttackMethod) -> Outcome:
        estimate, _, seconds = self._ciphertext_only(method)
        return self._outcome(method, None, True, estimate, seconds)

    def known_plaintext(self, method: AttackMethod, pairs: int, *, with_statistics: bool) -> Outcome:
        prior, prior_seconds = self._ciphertext_only(method)[1:] if with_statistics else (None, 0.0)
        start = time.perf_counter()
        estimate = method.known_plaintext(self, pairs, prior)
        return self._outcome(method, pairs, with_statistics, estimate, time.perf_counter() - start + prior_seconds)

    # -- scoring
    def _outcome(self, method: AttackMethod, pairs: int | None, prior: bool, estimate, seconds: float) -> Outcome:
        record = {"method": method.name, "pairs": pairs, "uses_statistics": prior, "seconds": round(seconds, 3)}
        algorithm = method.algorithm(self.data.spec, "ciphertext-only" if pairs is None else "known-plaintext")
        if algorithm is not None:  # above MAX_POSITIONS: which bounded algorithm ran, and why
            record["algorithm"] = algorithm
        tables = method.key_tables(estimate, self.truth.tables)
        if tables is not None:
            record["key_tables"] = tables
        smap = method.as_map(estimate, self.shape)
        found = (smap.source.tobytes(), smap.negate.tobytes())
        if found not in self._scored:  # attacks often reach the same estimate: decrypt and score it once
            scores, recovered = self._score(lambda enc, _: core.recover(flat(enc), smap, self.shape, self.fill))
            self._scored[found] = ({"key_share": self._key_share(smap), **scores}, recovered)
        scores, recovered = self._scored[found]
        record.update(scores)
        return Outcome(record, recovered)

    def _key_share(self, smap: SampleMap) -> dict | None:
        if self.truth.per_image is not None:
            return {"per_image_exact": float((smap.source[None, :] == self.truth.per_image).mean()), "chance": 1.0 / self.data.spec.pixels}
        if self.truth.fixed is None:
            return None
        return core.key_share(smap, self.truth.fixed, self.public_blocks())

    def _score(self, decrypt, *, quality: bool = True) -> tuple[dict, np.ndarray]:
        """Means over the test split of PSNR, SSIM (``quality``) and recognisability of ``decrypt(encrypted, plain)``
        block by block; and the first :data:`PREVIEW_IMAGES` pictures it made."""
        d, n = self.data, len(self.data.plain_test)
        sums, preview = np.zeros(3), []
        for start in range(0, n, stored.CHUNK_IMAGES):
            stop = min(start + stored.CHUNK_IMAGES, n)
            plain, enc = np.asarray(d.plain_test[start:stop]), np.asarray(d.enc_test[start:stop])
            made = decrypt(enc, plain)
            right = 0.0 if self.accuracy is None else self.accuracy(made, d.test_labels[start:stop]) * (stop - start)
            sums += (psnr(made, plain).sum(), ssim(made, plain).sum(), right) if quality else (0.0, 0.0, right)
            if start < PREVIEW_IMAGES:
                preview.append(made[: PREVIEW_IMAGES - start])
        scores = {"psnr": float(sums[0] / n), "ssim": float(sums[1] / n), "accuracy": None if self.accuracy is None else float(sums[2] / n)}
        return scores, np.concatenate(preview) if preview else np.zeros((0, *self.shape), np.uint8)

    def baselines(self) -> dict[str, dict]:
        """Scores of doing nothing (the encrypted images), of the public mean image, and of the true key
        (the best any attacker can do: a gather's lost pixels are filled the same way)."""
        mean_image = np.clip(np.rint(self.fill), 0, 255).astype(np.uint8).reshape(self.shape)
        plain = None if self.accuracy is None else self._score(lambda _, plain: plain, quality=False)[0]["accuracy"]
        out = {
            "plain": {"psnr": None, "ssim": 1.0, "accuracy": plain},
            "encrypted": self._score(lambda enc, _: enc)[0],
            "mean_image": self._score(lambda _, plain: np.broadcast_to(mean_image, plain.shape))[0],
        }
        if self.truth.fixed is not None:
            out["true_key"] = self._score(lambda enc, _: core.recover(flat(enc), self.truth.fixed, self.shape, self.fill))[0]
        return out


def run_attacks(evaluation: Evaluation, kind: str, pairs: tuple[int, ...]) -> list[Outcome]:
    """Every chosen method that runs ``kind``: ciphertext-only once; known-plaintext for each k, from the
    pairs alone and (methods that also run ciphertext-only) with the statistics breaking ties."""
    if kind not in KINDS:
        raise PipelineError(f"unknown attack kind {kind!r}; choose {' or '.join(KINDS)}")
    outcomes = []
    for method in (m for m in evaluation.methods() if kind in m.kinds):
        if kind == "ciphertext-only":
            outcomes.append(evaluation.ciphertext_only(method))
            continue
        for with_statistics in (False, True) if "ciphertext-only" in method.kinds else (False,):
            outcomes += [evaluation.known_plaintext(method, k, with_statistics=with_statistics) for k in pairs]
    return outcomes
