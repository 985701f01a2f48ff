"""Attacks on fixed sample maps, on generated data where the right answer is known."""
import numpy as np
import pytest

from pipeline.encrypt.sample_map import SampleMap, probe_sample_map
from pipeline.errors import PipelineError
from pipeline.evaluate import sample_map_attack as core

SHAPE = (8, 8, 1)
S = 64
K = 10


def planted_gather(rng, size=S, negation=False) -> core.SampleMap:
    """A gather like the vortex's: a permutation with some sources read twice (so others lost)."""
    source = rng.permutation(size)
    dup = rng.choice(size, size // 8, replace=False)
    source[dup] = source[rng.choice(size, size // 8)]
    negate = rng.random(size) < 0.5 if negation else np.zeros(size, bool)
    return SampleMap(source.astype(np.int64), negate)


def distinct_statistics_data(rng, n):
    """Images whose every position has its own per-class mean, so statistics identify positions."""
    class_means = rng.uniform(20, 235, (K, S))
    labels = rng.integers(0, K, n)
    images = np.clip(class_means[labels] + rng.normal(0, 12, (n, S)), 0, 255).round().astype(np.uint8)
    return images, labels


def test_probe_reads_a_maps_sources_and_negation():
    truth = planted_gather(np.random.default_rng(0), negation=True)
    probed = probe_sample_map(lambda pics: truth.apply(pics.reshape(len(pics), -1)).reshape(pics.shape), SHAPE)
    assert np.array_equal(probed.source, truth.source) and np.array_equal(probed.negate, truth.negate)


@pytest.mark.parametrize("negation", [False, True])
def test_known_plaintext_recovers_a_planted_map_from_enough_pairs(negation):
    rng = np.random.default_rng(1)
    truth = planted_gather(rng, negation=negation)
    plain = rng.integers(0, 256, (4, S), dtype=np.uint8)
    estimate = core.known_plaintext_map(plain, truth.apply(plain), negation=negation)
    assert core.key_share(estimate, truth) == {"exact": 1.0}


def test_one_pair_is_ambiguous_where_values_repeat_and_the_equivalent_share_sees_it():
    rng = np.random.default_rng(2)
    truth = planted_gather(rng)
    plain = rng.integers(0, 4, (1, S), dtype=np.uint8)  # 4 grey levels: one pair cannot tell positions apart
    estimate = core.known_plaintext_map(plain, truth.apply(plain), negation=False)
    share = core.key_share(estimate, truth, public=core.in_memory(plain, np.zeros(len(plain), np.int64)))
    assert share["exact"] < 0.6
    assert share["equivalent"] == 1.0  # every guess holds the true source's value in that one image


def test_ciphertext_only_recovers_a_planted_map_from_statistics():
    rng = np.random.default_rng(3)
    truth = planted_gather(rng)
    public, public_labels = distinct_statistics_data(rng, 3000)
    images, labels = _resample(rng, public, public_labels)
    observed = core.statistics(truth.apply(images), labels, K)
    estimate, cost = core.ciphertext_only_map(observed, core.statistics(public, public_labels, K), negation=False)
    assert core.key_share(estimate, truth)["exact"] == 1.0
    assert cost.shape == (1, S, S) and cost.min() >= 0 and cost.max() < 1


def _resample(rng, images, labels):
    """Other images (the attacked ones) of the same distribution: re-drawn around the class means."""
    means = np.stack([images[labels == k].mean(0) for k in range(K)])
    new_labels = rng.integers(0, K, 2000)
    new = np.clip(means[new_labels] + rng.normal(0, 12, (2000, S)), 0, 255).round().astype(np.uint8)
    return new, new_labels


def test_ciphertext_only_finds_negation_too():
    rng = np.random.default_rng(5)
    truth = planted_gather(rng, negation=True)
    public, public_labels = distinct_statistics_data(rng, 3000)
    images, labels = _resample(rng, public, public_labels)
    observed = core.statistics(truth.apply(images), labels, K)
    estimate, _ = core.ciphertext_only_map(observed, core.statistics(public, public_labels, K), negation=True)
    assert core.key_share(estimate, truth)["exact"] == 1.0


def test_per_image_permutations_resist_both_attacks():
    """The baseline: a fresh permutation per image leaves no fixed map to find."""
    rng = np.random.default_rng(6)
    public, public_labels = distinct_statistics_data(rng, 3000)
    images, labels = _resample(rng, public, public_labels)
    perms = np.argsort(rng.random((len(images), S)), axis=1)
    encrypted = np.take_along_axis(images, perms, axis=1)
    fill = public.mean(0).astype(np.float32)
    estimate, cost = core.ciphertext_only_map(core.statistics(encrypted, labels, K), core.statistics(public, public_labels, K), negation=False)
    pairs = core.known_plaintext_map(images[:8], encrypted[:8], negation=False, prior=cost)
    mean_image = np.broadcast_to(np.clip(np.rint(fill), 0, 255).astype(np.uint8), images.shape)
    from pipeline.evaluate.metrics import psnr

    floor = psnr(mean_image.reshape(-1, *SHAPE), images.reshape(-1, *SHAPE)).mean()
    for est in (estimate, pairs):
        share = (est.source[None, :] == perms[8:]).mean()  # per-image key share on the unseen images
        assert share < 3.0 / S  # chance is 1/S
        recovered = core.recover(encrypted[8:], est, SHAPE, fill)
        assert psnr(recovered, images[8:].reshape(-1, *SHAPE)).mean() < floor + 1.0
    # ...whereas the same images under ONE fixed map fall to the same attack.
    fixed = SampleMap(perms[0].astype(np.int64), np.zeros(S, bool))
    est, _ = core.ciphertext_only_map(core.statistics(fixed.apply(images), labels, K), core.statistics(public, public_labels, K), negation=False)
    assert core.key_share(est, fixed)["exact"] == 1.0


def test_recover_inverts_the_map_and_fills_lost_samples_from_neighbours():
    rng = np.random.default_rng(7)
    truth = planted_gather(rng, negation=True)
    plain = rng.integers(0, 256, (5, S), dtype=np.uint8)
    recovered = core.recover(truth.apply(plain), truth, SHAPE, np.zeros(S, np.float32)).reshape(5, S)
    kept = np.zeros(S, bool)
    kept[truth.source] = True
    assert not kept.all()
    assert np.array_equal(recovered[:, kept], plain[:, kept])
    # A constant image stays constant: its lost samples are filled with the neighbours' value.
    flat = np.full((1, S), 77, np.uint8)
    assert np.all(core.recover(truth.apply(flat), truth, SHAPE, np.zeros(S, np.float32)) == 77)


def test_bad_input_is_refused():
    with pytest.raises(PipelineError, match="sources must lie"):
        SampleMap(np.array([0, 5]), np.zeros(2, bool))
    with pytest.raises(PipelineError, match="pairs must be"):
        core.known_plaintext_map(np.zeros((2, 4), np.uint8), np.zeros((3, 4), np.uint8), negation=False)


def test_channel_shared_maps_are_attacked_per_pixel():
    """A vortex-like map moves the three channels of a pixel together: each channel of a pair
    is one more pair, so one RGB pair already pins a map over the H*W pixels."""
    rng = np.random.default_rng(8)
    pixels = planted_gather(rng, size=S)
    truth = core.pixel_to_sample_map(pixels, 3)
    plain = rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    encrypted = truth.apply(plain.reshape(2, -1)).reshape(plain.shape)
    as_plain, labels = core.channels_as_images(plain, np.array([4, 7]))
    assert as_plain.shape == (6, S) and list(labels) == [12, 13, 14, 21, 22, 23]
    assert np.array_equal(as_plain[1], plain[0, :, :, 1].reshape(-1))
    estimate = core.known_plaintext_map(as_plain, core.channels_as_images(encrypted, labels)[0], negation=False)
    assert core.key_share(core.pixel_to_sample_map(estimate, 3), truth) == {"exact": 1.0}
