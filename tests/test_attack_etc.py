"""Block-structured attacks on EtC keys, with the real EtC code and generated data."""
import numpy as np
import pytest

from pipeline.encrypt.etc import decrypt, encrypt, etc_sample_map
from pipeline.encrypt.etc_key import derive_key
from pipeline.evaluate import etc_attack as ae

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
    assert estimate.fingerprint != key.fingerprint  # the tables, yet not the fingerprint: it is keyed by the secret


def test_etc_sample_map_is_the_encryption():
    key = derive_key(SECRET, (16, 16, 3), 8)
    pics = np.random.default_rng(1).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    assert np.array_equal(etc_sample_map(key).apply(pics.reshape(3, -1)), encrypt(pics, key).reshape(3, -1))


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
    estimate, cost = ae.ciphertext_only_key(
        encrypt(attacked, key), labels, public, public_labels, block_size=8, num_classes=K, rounds=rounds, edges=False
    )
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
    _, cost = ae.ciphertext_only_key(encrypt(attacked, key), labels, public, public_labels, block_size=8, num_classes=K, rounds=0, edges=False)
    helped = ae.known_plaintext_key(flat, encrypt(flat, key), block_size=8, prior=cost)
    assert ae.table_shares(alone, key)["all"] < 1.0
    assert ae.table_shares(helped, key)["all"] == 1.0


def _smooth_symmetric_data(rng, n):
    """Natural-image-like: a left-right symmetric mean (a vertical gradient, other levels per
    channel) plus smooth random content, so statistics cannot tell a block from its mirror twin."""
    from scipy.ndimage import gaussian_filter

    rows = np.linspace(40, 200, 16)[None, :, None, None]
    mean = np.broadcast_to(rows * np.array([1.0, 0.7, 0.4])[None, None, None, :], (1, 16, 16, 3))
    content = gaussian_filter(rng.normal(0, 1, (n, 16, 16, 3)), sigma=(0, 3, 3, 0))
    pics = np.clip(mean + 40 * content / content.std(), 0, 255).round().astype(np.uint8)
    return pics, np.zeros(n, dtype=np.int64)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_edge_continuity_reassembles_what_statistics_cannot(seed):
    """Statistics alone mix blocks with their mirror twins (seed 0: a half-mirrored image); the
    edge search reassembles every image, exactly or as its global mirror image, which neither
    statistics symmetric under mirroring nor edges can tell apart."""
    rng = np.random.default_rng(seed)
    public, public_labels = _smooth_symmetric_data(rng, 800)
    attacked, labels = _smooth_symmetric_data(rng, 800)
    key = derive_key(SECRET, (16, 16, 3), 8)
    encrypted = encrypt(attacked, key)
    results = {}
    for edges in (False, True):
        estimate, _ = ae.ciphertext_only_key(encrypted, labels, public, public_labels, block_size=8, num_classes=1, rounds=1, edges=edges)
        recovered = decrypt(encrypted, estimate)
        results[edges] = np.array_equal(recovered, attacked) or np.array_equal(recovered, attacked[:, :, ::-1])
    assert results[True]
    if seed == 0:
        assert not results[False]
    assert ae.edge_discontinuity(attacked, 8) < ae.edge_discontinuity(encrypted, 8) / 4
