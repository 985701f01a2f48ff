"""Block-structured attacks on EtC keys, with the real EtC code and generated data."""
import numpy as np
import pytest

from pipeline import attack_etc as ae
from pipeline.etc import encrypt
from pipeline.etc_key import derive_key

SECRET = b"attack-test-secret-0123"
K = 10


def test_block_ops_are_the_96_distinct_operations_of_an_rgb_block():
    ops = ae.block_ops(4, 3)
    assert len(ops.negate) == 96
    assert len({(tuple(s), n) for s, n in zip(ops.source, ops.negate)}) == 96
    assert len(ae.block_ops(4, 1).negate) == 16


@pytest.mark.parametrize("channels", [1, 3])
def test_one_known_pair_recovers_the_whole_key(channels):
    key = derive_key(SECRET, (16, 16, channels), 4)
    plain = np.random.default_rng(0).integers(0, 256, (1, 16, 16, channels), dtype=np.uint8)
    estimate = ae.known_plaintext_key(plain, encrypt(plain, key), block_size=4)
    assert ae.table_shares(estimate, key)["all"] == 1.0
    assert estimate.fingerprint == key.fingerprint


def test_etc_sample_map_is_the_encryption():
    key = derive_key(SECRET, (16, 16, 3), 8)
    pics = np.random.default_rng(1).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    assert np.array_equal(ae.etc_sample_map(key).apply(pics.reshape(3, -1)), encrypt(pics, key).reshape(3, -1))


def _data(rng, class_means, n):
    labels = rng.integers(0, K, n)
    pics = np.clip(class_means[labels] + rng.normal(0, 10, (n,) + class_means.shape[1:]), 0, 255).round().astype(np.uint8)
    return pics, labels


@pytest.mark.parametrize("rounds", [0, 1])
def test_ciphertext_only_recovers_the_key_when_block_statistics_are_distinct(rounds):
    rng = np.random.default_rng(2)
    class_means = rng.uniform(20, 235, (K, 16, 16, 3))
    public, public_labels = _data(rng, class_means, 1500)
    attacked, labels = _data(rng, class_means, 1500)
    key = derive_key(SECRET, (16, 16, 3), 8)
    estimate, cost = ae.ciphertext_only_key(encrypt(attacked, key), labels, public, public_labels, block_size=8, num_classes=K, rounds=rounds)
    assert ae.table_shares(estimate, key)["all"] == 1.0
    assert cost.shape == (96, 4, 4) and 0 <= cost.min() and cost.max() < 1


def test_statistics_break_ties_of_a_uninformative_pair():
    """A flat known pair says nothing about orientation; the dataset statistics do."""
    rng = np.random.default_rng(3)
    class_means = rng.uniform(20, 235, (K, 16, 16, 1))
    public, public_labels = _data(rng, class_means, 1500)
    attacked, labels = _data(rng, class_means, 1500)
    key = derive_key(SECRET, (16, 16, 1), 8)
    flat = np.full((1, 16, 16, 1), 128, np.uint8)
    alone = ae.known_plaintext_key(flat, encrypt(flat, key), block_size=8)
    _, cost = ae.ciphertext_only_key(encrypt(attacked, key), labels, public, public_labels, block_size=8, num_classes=K, rounds=0)
    helped = ae.known_plaintext_key(flat, encrypt(flat, key), block_size=8, prior=cost)
    assert ae.table_shares(alone, key)["all"] < 1.0
    assert ae.table_shares(helped, key)["all"] == 1.0
