"""The map attacks' bounded path (above MAX_POSITIONS positions): on a few generated 224 x 224 x 3 images it
recovers EtC's key (the scheme's own key and encryption are the oracle) exactly, known-plaintext and
ciphertext-only; on small images, where the dense path runs, it gives the dense path's answers."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.encrypt.etc import encrypt, etc_sample_map
from pipeline.encrypt.etc_key import derive_key
from pipeline.encrypt.sample_map import SampleMap
from pipeline.evaluate import sample_map_attack as core
from pipeline.evaluate import sample_map_bounded as bounded

SHAPE = (224, 224, 3)


@pytest.fixture(scope="module")
def etc_set():
    """8 random 224 x 224 x 3 images of 2 classes, EtC-encrypted (block 16), and the key as a sample map."""
    rng = np.random.default_rng(3)
    plain = rng.integers(0, 256, (8, *SHAPE), dtype=np.uint8)
    key = derive_key(b"bounded map attack", SHAPE, 16)
    encrypted = encrypt(plain, key)
    return plain.reshape(8, -1), encrypted.reshape(8, -1), np.arange(8) % 2, etc_sample_map(key)


def _exact(estimate: SampleMap, truth: SampleMap) -> bool:
    return bool(np.array_equal(estimate.source, truth.source) and np.array_equal(estimate.negate, truth.negate))


def test_known_plaintext_at_224_px_recovers_the_etc_key_exactly(etc_set):
    plain, encrypted, labels, truth = etc_set
    assert not core.fits(plain.shape[1])
    assert _exact(bounded.signature_map(plain[:6], encrypted[:6], negation=True), truth)
    cost = bounded.feature_cost(core.class_moments(core.in_memory(encrypted, labels), 2, plain.shape[1]),
                                core.class_moments(core.in_memory(plain, labels), 2, plain.shape[1]), negation=True)
    assert _exact(bounded.signature_map(plain[:6], encrypted[:6], negation=True, prior=cost), truth)
    # one pair leaves many agreeing sources; the statistics pick the true one among them
    assert _exact(bounded.signature_map(plain[:1], encrypted[:1], negation=True, prior=cost), truth)
    assert not _exact(bounded.signature_map(plain[:1], encrypted[:1], negation=True), truth)


def test_ciphertext_only_at_224_px_recovers_the_etc_key_from_the_same_images_statistics(etc_set):
    plain, encrypted, labels, truth = etc_set
    moments = [core.class_moments(core.in_memory(rows, labels), 2, plain.shape[1]) for rows in (encrypted, plain)]
    assert _exact(bounded.nearest_feature_map(bounded.feature_cost(*moments, negation=True)), truth)


def test_a_pixel_gather_with_lost_pixels_is_recovered_where_its_sources_agree():
    rng = np.random.default_rng(5)
    plain = rng.integers(0, 256, (6, 224 * 224), dtype=np.uint8)
    gather = SampleMap(rng.integers(0, 224 * 224, 224 * 224), np.zeros(224 * 224, bool))  # sources read twice, others lost
    assert _exact(bounded.signature_map(plain, gather.apply(plain), negation=False), gather)


def test_without_an_agreeing_source_one_agreeing_on_the_longest_prefix_of_the_pairs_is_taken():
    plain = np.array([[0, 100, 200, 100], [0, 100, 200, 50], [1, 2, 3, 4]], np.uint8)
    encrypted = np.array([[100, 200, 7, 0], [50, 9, 7, 0], [9, 9, 7, 1]], np.uint8)
    # position 0 agrees with 3 on pairs 1-2; 1 with 2 on pair 1; 2 with none (the lowest index); 3 with 0 on all
    assert bounded.signature_map(plain, encrypted, negation=False).source.tolist() == [3, 2, 0, 0]


@pytest.mark.parametrize("negation", [False, True])
def test_on_small_images_the_bounded_answers_are_the_dense_ones(negation):
    rng = np.random.default_rng(11)
    plain = (rng.integers(0, 4, (40, 16 * 16 * 3)) * 60).astype(np.uint8)  # few values: many ties, broken alike
    truth = SampleMap(rng.permutation(plain.shape[1]), rng.random(plain.shape[1]) < 0.5 if negation else np.zeros(plain.shape[1], bool))
    encrypted, labels = truth.apply(plain), np.arange(40) % 3
    for k in (1, 2, 4):
        dense = core.known_plaintext_map(plain[:k], encrypted[:k], negation=negation)
        assert _exact(bounded.signature_map(plain[:k], encrypted[:k], negation=negation), dense)
    observed, public = (core.statistics(rows, labels, 3) for rows in (encrypted, plain[::-1].copy()))
    first, _ = core.ciphertext_only_map(observed, public, negation=negation, rounds=0)
    cost = bounded.feature_cost((observed.means, observed.stds), (public.means, public.stds), negation=negation)
    assert _exact(bounded.nearest_feature_map(cost), first)
