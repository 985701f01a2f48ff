"""The adversary's two halves of the train split (:func:`~pipeline.evaluate.halves.adversary_halves`): every
class on both sides however the split is stored, so a class-sorted set (as a folder or CSV source stores
its train split) gives the ciphertext-only attack the key share of the same images shuffled, where the
first-half / second-half cut leaves each side's statistics of the classes it lacks at zero."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipeline.encrypt.etc import etc_sample_map
from pipeline.encrypt.etc_key import derive_key
from pipeline.encrypt.registry import SCHEMES
from pipeline.evaluate import etc_attack
from pipeline.evaluate import sample_map_attack as core
from pipeline.evaluate.attack_data import AttackData, true_key
from pipeline.evaluate.attack_methods.registry import METHODS
from pipeline.evaluate.evaluation import Evaluation
from pipeline.evaluate.halves import adversary_halves
from workbench.data.datasets import dataset_spec

SECRET = b"a secret of the halves test"
BLOCK = 7


def test_the_halves_split_every_class_evenly_and_always_the_same_way():
    counts = [7, 1, 4, 9, 3, 0, 2, 5, 1, 1]
    labels = np.repeat(np.arange(10), counts)  # class by class, odd and even counts, one class absent
    encrypted, public = adversary_halves(labels)
    assert np.array_equal(np.sort(np.concatenate([encrypted, public])), np.arange(len(labels)))  # disjoint, every row
    assert np.all(np.diff(encrypted) > 0) and np.all(np.diff(public) > 0)
    assert (len(encrypted), len(public)) == (16, 17)  # N // 2 of the 33 rows and the rest
    for label, count in enumerate(counts):
        assert sorted((np.sum(labels[encrypted] == label), np.sum(labels[public] == label))) == [count // 2, count - count // 2]
    again = adversary_halves(labels.copy())
    assert np.array_equal(again[0], encrypted) and np.array_equal(again[1], public)
    # not the cut into first and second halves of each class: rows are drawn
    assert not np.array_equal(labels[encrypted], labels[: len(encrypted)]) and encrypted.tolist() != list(range(16))
    assert [len(side) for side in adversary_halves(np.zeros(1, int))] == [0, 1]


def _set(order: np.ndarray) -> tuple[AttackData, object]:
    """300 train and 60 test 28 x 28 pictures of 10 classes (a smooth random picture each, with noise),
    the train split in ``order``, encrypted with one EtC key; and that key."""
    rng = np.random.default_rng(3)
    means = np.stack([np.asarray(Image.fromarray(rng.uniform(20, 235, (7, 7)).astype(np.uint8)).resize((28, 28), Image.BICUBIC), float)
                      for _ in range(10)])[..., None]
    spec = dataset_spec("fashion")
    key = derive_key(SECRET, (28, 28, 1), BLOCK)
    scheme = SCHEMES.get("etc")
    parts = []
    for labels in (np.arange(300) % 10, np.arange(60) % 10):
        pictures = np.clip(means[labels] + rng.normal(0, 12, (len(labels), 28, 28, 1)), 0, 255).round().astype(np.uint8)
        parts.append((pictures, labels))
    (train, train_labels), (test, test_labels) = parts
    train, train_labels = train[order], train_labels[order]
    data = AttackData(spec, train, train_labels, scheme.encrypt(key, train), test, test_labels, scheme.encrypt(key, test))
    return data, key


def _exact(found, truth) -> float:
    return float(((found.source == truth.source) & (found.negate == truth.negate)).mean())


@pytest.mark.parametrize("method", ["etc-blocks", "sample-map"])
def test_a_class_sorted_train_split_gives_the_key_share_of_the_shuffled_one(method):
    labels = np.arange(300) % 10
    by_class, shuffled = np.argsort(labels, kind="stable"), np.random.default_rng(5).permutation(300)
    scheme, attack = SCHEMES.get("etc"), METHODS.get(method)
    shares = {}
    for name, order in (("by class", by_class), ("shuffled", shuffled)):
        data, key = _set(order)
        evaluation = Evaluation(data, scheme, truth=true_key(scheme, key, data), block_size=BLOCK)
        rows = (evaluation.encrypted_rows, evaluation.public_rows)
        assert [set(data.train_labels[side].tolist()) for side in rows] == [set(range(10))] * 2  # every class on both sides
        assert evaluation.statistics_source()["encrypted"]["images"] == evaluation.statistics_source()["public_plain"]["images"] == 150
        shares[name] = evaluation.ciphertext_only(attack).record["key_share"]["exact"]
    assert shares["by class"] > 0.9 and abs(shares["by class"] - shares["shuffled"]) < 0.01, shares  # 1.0 / 0.96 both
    # the old rule on the class-sorted set: encrypted images 0:150 (classes 0-4) against plain 150:300 (classes 5-9)
    data, key = _set(by_class)
    encrypted, enc_labels = data.enc_train[:150], data.train_labels[:150]
    plain, plain_labels = data.plain_train[150:], data.train_labels[150:]
    if method == "etc-blocks":
        old = etc_sample_map(etc_attack.ciphertext_only_key(encrypted, enc_labels, plain, plain_labels,
                                                            block_size=BLOCK, num_classes=10)[0])
    else:
        observed, public = (core.statistics(pictures.reshape(150, -1), part, 10)
                            for pictures, part in ((encrypted, enc_labels), (plain, plain_labels)))
        old = core.ciphertext_only_map(observed, public, negation=True)[0]
    assert _exact(old, etc_sample_map(key)) < 0.2  # a weak adversary: 0.06 (etc-blocks), 0.0 (sample-map)
