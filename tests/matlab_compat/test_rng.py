"""MATLAB's default random stream (spec section 8)."""
import numpy as np
import pytest

from matlab_compat.rng import MATLAB_DEFAULT_SEED, MatlabStream, rng

# The first ten values of rand in a fresh MATLAB session (spec section 8), as MATLAB prints
# them: 16 digits after the point.
FRESH_SESSION = [
    0.8147236863931789, 0.9057919370756192, 0.1269868162935061, 0.9133758561390194,
    0.6323592462254095, 0.0975404049994095, 0.2784982188670484, 0.5468815192049838,
    0.9575068354342976, 0.9648885351992765,
]


def as_printed(values):
    return [float(f"{v:.16f}") for v in np.ravel(values)]


def test_fresh_session_first_ten_values():
    assert as_printed(rng(0).rand(1, 10)) == FRESH_SESSION
    assert as_printed(rng(MATLAB_DEFAULT_SEED).rand(1, 10)) == FRESH_SESSION
    assert as_printed(MatlabStream().rand(10, 1)) == FRESH_SESSION


def test_rand_fills_column_major():
    a = rng(0).rand(2, 5)
    assert a.shape == (2, 5)
    assert as_printed(a[:, 0]) == FRESH_SESSION[:2]
    assert as_printed([a[0, 1], a[1, 4]]) == [FRESH_SESSION[2], FRESH_SESSION[9]]
    cube = rng(0).rand(2, 1, 5)
    assert as_printed(cube[1, 0, 4]) == [FRESH_SESSION[9]]


def test_rand_shapes_like_matlab():
    assert rng(0).rand(3).shape == (3, 3)
    assert rng(0).rand().shape == (1, 1) and as_printed(rng(0).rand()) == FRESH_SESSION[:1]
    assert rng(0).rand(0, 4).shape == (0, 4)
    assert rng(0).rand(-2, 3).shape == (0, 3)


def test_draws_continue_the_stream():
    s = rng(0)
    first = as_printed(s.rand(1, 4))
    rest = as_printed(s.draws(6))
    assert first + rest == FRESH_SESSION


def test_seeds_are_reproducible_and_distinct():
    a, b = rng(7).draws(100), rng(7).draws(100)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, rng(8).draws(100))
    assert np.all((a > 0) & (a < 1))


def test_seed_recipe_is_mt19937_init_genrand():
    # rng(s), s > 0, seeds the twister with s itself: the 53-bit values of MT19937(init_genrand(s)).
    mt = np.random.MT19937()
    mt._legacy_seeding(12345)
    words = np.random.Generator(mt).bit_generator.random_raw(4).astype(np.uint64)
    a, b = words[0::2] >> np.uint64(5), words[1::2] >> np.uint64(6)
    expected = (a.astype(np.float64) * 67108864.0 + b.astype(np.float64)) / 9007199254740992.0
    assert rng(12345).draws(2).tolist() == expected.tolist()


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, True])
def test_bad_seeds_are_refused(bad):
    with pytest.raises(ValueError):
        rng(bad)
