"""Block-structured attacks on EtC keys, with the real EtC code and generated data."""
import numpy as np
import pytest

from pipeline.encrypt.etc import decrypt, encrypt, etc_sample_map
from pipeline.encrypt.etc_key import derive_key
from pipeline.evaluate import etc_attack as ae
from pipeline.evaluate import sample_map_attack as core

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


# ----------------------------------------------------------------------------------------------
# Large images: the refinement's correlations over a bounded set of positions


def _profile_oracle(observed, public, source, negate):
    """profile[v, s, t] = || observed[s, :] - (-1)^v public[t, source] * signs ||^2, divided by its median (numpy, float64)."""
    signs = np.where(negate, -1.0, 1.0)
    through = public.astype(np.float64)[:, source] * signs[None, :]
    e = observed.astype(np.float64)
    profile = np.stack([((e[:, None, :] - sign * through[None, :, :]) ** 2).sum(-1) for sign in (1.0, -1.0)])
    return profile / np.median(profile)


def _structure_oracle(observed, public, key, where, shape):
    """structure[o, j, i]: the oracle profile summed over the in-block samples among ``where`` (Q, sorted)."""
    size = int(np.prod(shape))
    smap = etc_sample_map(key)
    index = {int(p): q for q, p in enumerate(where)}
    profile = _profile_oracle(observed, public, [index[int(p)] for p in smap.source[where]], smap.negate[where])
    positions = ae.to_blocks(np.arange(size).reshape(1, *shape), key.block_size)[0].reshape(key.blocks, -1)
    ops = ae.block_ops(key.block_size, shape[2])
    kept = [l for l in range(positions.shape[1]) if positions[0, l] in index]
    out = np.zeros((len(ops.negate), key.blocks, key.blocks))
    for o in range(len(ops.negate)):
        for j in range(key.blocks):
            for i in range(key.blocks):
                out[o, j, i] = sum(profile[int(ops.negate[o]), index[int(positions[j, l])], index[int(positions[i, ops.source[o][l]])]] for l in kept)
    return out


@pytest.mark.parametrize("restricted", [False, True])
def test_structure_costs_are_the_profile_oracle_over_the_refinement_positions(restricted, monkeypatch):
    shape = (16, 16, 1)
    if restricted:  # as on a large image: corners and the border samples next to them only
        monkeypatch.setattr(ae, "MAX_POSITIONS", 100)
        monkeypatch.setattr(ae, "REFINE_POSITIONS", 64)
    where = ae.refinement_positions(shape, 8)
    assert len(where) == (48 if restricted else 256)  # 4 blocks x (4 corners + the 8 border pixels next to them) / all
    rng = np.random.default_rng(5)
    flat = rng.integers(0, 256, (300, 256)).astype(np.uint8)
    public = ae.refinement_correlations_of(ae.in_memory(flat, np.zeros(300, np.int64)), shape, 8)
    observed = ae.refinement_correlations_of(ae.in_memory(flat[::-1].copy(), np.zeros(300, np.int64)), shape, 8)
    key = derive_key(SECRET, shape, 8)
    ops = ae.block_ops(8, 1)
    got = ae._structure_costs(observed, public, key, ops, shape)
    assert np.allclose(got, _structure_oracle(observed, public, key, where, shape), rtol=1e-4, atol=0)


def test_refinement_positions_of_224_px_images_are_closed_under_every_key():
    shape = (224, 224, 3)
    where = ae.refinement_positions(shape, 16)
    assert len(where) == 196 * 4 * 3 <= ae.REFINE_POSITIONS  # every block's 4 corner pixels, 3 channels
    pixels = np.unique(where // 3)
    rows, cols = pixels // 224, pixels % 224
    assert set((rows % 16).tolist()) == {0, 15} and set((cols % 16).tolist()) == {0, 15}
    for i in range(3):
        source = etc_sample_map(derive_key(SECRET + bytes([i]), shape, 16)).source
        assert np.isin(source[where], where).all()
    assert len(ae.refinement_positions((224, 224, 3), 8)) == 0  # 784 blocks x 12 corners > REFINE_POSITIONS: no rounds
    assert np.array_equal(ae.refinement_positions((32, 32, 3), 8), np.arange(3072))  # small: every position


def test_refinement_correlations_are_numpy_s_over_those_positions():
    shape = (224, 224, 3)
    rng = np.random.default_rng(6)
    flat = rng.integers(0, 256, (40, 224 * 224 * 3)).astype(np.uint8)
    where = ae.refinement_positions(shape, 16)
    labels = np.zeros(40, np.int64)
    got = ae.refinement_correlations_of(lambda: ((flat[i:i + 7], labels[i:i + 7]) for i in range(0, 40, 7)), shape, 16)
    expected = np.corrcoef(flat[:, where].astype(np.float64), rowvar=False)  # 40 rows: float32 products exact
    assert got.shape == (len(where),) * 2 and np.allclose(got, expected, rtol=0, atol=1e-6)


def test_edge_search_judges_a_change_by_the_borders_it_touches_as_the_whole_images_do():
    rng = np.random.default_rng(7)
    pics = rng.integers(0, 256, (5, 24, 24, 3)).astype(np.uint8)
    key = derive_key(SECRET, (24, 24, 3), 8)
    encrypted = encrypt(pics, key)
    ops = ae.block_ops(8, 3)
    perm, op = rng.permutation(9), rng.integers(0, 96, 9)
    guess = ae._key(perm, op, ops, 8, (3, 3), 3)
    borders = ae._Borders(encrypted, ops, 8, (3, 3), perm, op)
    assert borders.total() == round(ae.edge_discontinuity(decrypt(encrypted, guess), 8) * 5)
    p, o = perm.copy(), op.copy()
    p[2], p[5], o[2], o[5] = perm[5], perm[2], 17, 80  # a swap of two blocks with new operations
    moved = {int(p[j]): borders.decrypted(j, int(o[j])) for j in (2, 5)}
    after = ae.edge_discontinuity(decrypt(encrypted, ae._key(p, o, ops, 8, (3, 3), 3)), 8) * 5
    assert borders.total() + borders.change(moved) == round(after)


def test_the_block_attack_runs_on_224_px_images_and_finds_the_key():
    """Distinct block statistics (random class means), one refinement round over the corner and border
    samples (3,920 positions); no edge search: borders of noise images say nothing."""
    rng = np.random.default_rng(8)
    class_means = rng.uniform(20, 235, (2, 224, 224, 1))

    def data(n):
        labels = rng.integers(0, 2, n)
        return np.clip(class_means[labels] + rng.normal(0, 10, (n, 224, 224, 1)), 0, 255).round().astype(np.uint8), labels

    public, public_labels = data(150)
    attacked, labels = data(150)
    key = derive_key(SECRET, (224, 224, 1), 16)
    estimate, cost = ae.ciphertext_only_key(encrypt(attacked, key), labels, public, public_labels, block_size=16, num_classes=2,
                                            rounds=1, edges=False)
    assert len(ae.refinement_positions((224, 224, 1), 16)) == 196 * 20
    assert ae.table_shares(estimate, key)["all"] == 1.0
    assert cost.shape == (16, 196, 196)


def test_s_x_s_statistics_fit_up_to_max_positions_and_say_why_not_above():
    assert not core.fits(150528) and core.fits(core.MAX_POSITIONS)
    assert core.too_many_positions(core.MAX_POSITIONS, "128 x 128") is None
    assert core.too_many_positions(50176, "224 x 224 pixels") == (  # 8 * 50176^2 bytes = 18.8 GiB
        "50176 sample positions (224 x 224 pixels) need a 50176 x 50176 correlation matrix (19 GiB); it takes at most 16384 positions")
