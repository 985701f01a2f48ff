"""The information measure of docs/information.md: its definition, its theorem and its properties."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from workbench.data.datasets import ImageShape, dataset_spec
from pipeline.errors import PipelineError
from pipeline.evaluate.information import (
    DistanceWeight,
    Information,
    expected_permutation_kept,
    identity_kept,
    information,
    loss_rates,
    map_kept,
    pair_weights,
    permutation_information,
    value_fidelity,
)
from tests.shared import shared_path
from tests.generated import smooth_images


def by_definition(x: np.ndarray, layout: ImageShape, weight: DistanceWeight, sources: np.ndarray, fidelity: np.ndarray) -> tuple[float, float]:
    """(V, N) of one image straight from the documented formulas, with loops over all pairs."""
    p_count = layout.pixels
    coords = [divmod(s % p_count, layout.width) for s in range(layout.row_length)]
    channel = [s // p_count for s in range(layout.row_length)]
    x = x.astype(np.float64)
    mean = [x[c * p_count : (c + 1) * p_count].mean() for c in range(layout.channels)]

    def m(s, t):
        (r1, c1), (r2, c2) = coords[s], coords[t]
        return float(weight(np.hypot(r1 - r2, c1 - c2)))

    value = 0.0
    for a in range(layout.row_length):
        copies = [p for p in range(layout.row_length) if sources[p] == a]
        v = max((fidelity[p] ** 2 for p in copies), default=0.0)
        value += v * (x[a] - mean[channel[a]]) ** 2
    neighbour = 0.0
    for a, b in itertools.permutations(range(layout.row_length), 2):
        if channel[a] != channel[b]:
            continue
        kept = 0.0
        for p, q in itertools.permutations(range(layout.row_length), 2):
            if sources[p] == a and sources[q] == b and channel[p] == channel[q]:
                kept = max(kept, min(m(a, b), m(p, q)) * max(fidelity[p] * fidelity[q], 0.0))
        neighbour += 0.5 * kept * (x[a] - x[b]) ** 2
    return value, neighbour


def test_distance_weight_is_nonlinear_decreasing_and_one_at_zero():
    d = np.linspace(0, 10, 101)
    for weight in (DistanceWeight(), DistanceWeight(2.0, 2.0), DistanceWeight(0.5, 0.7)):
        m = weight(d)
        assert m[0] == 1.0 and np.all(np.diff(m) < 0)
        assert not np.allclose(np.diff(m, 2), 0)  # not a straight line
    assert DistanceWeight()(1.5) == pytest.approx(np.exp(-1)) and DistanceWeight(1.0, 1.0)(2.0) == pytest.approx(np.exp(-2))
    with pytest.raises(PipelineError, match="scale > 0"):
        DistanceWeight(0.0, 1.0)


def test_vectorised_measure_matches_the_formulas_on_gathers_with_value_steps():
    rng = np.random.default_rng(1)
    layout, weight = ImageShape(3, 2, 2), DistanceWeight(1.3, 1.5)
    for _ in range(4):
        sources = rng.integers(0, layout.row_length, layout.row_length)  # repeats and omissions, channels mixed
        fidelity = rng.choice([1.0, -1.0, 0.3, -0.6], layout.row_length)
        rows = rng.integers(0, 256, (3, layout.row_length)).astype(np.uint8)
        got = information(rows, layout, map_kept(sources, layout, weight, fidelity))
        for i, x in enumerate(rows):
            value, neighbour = by_definition(x, layout, weight, sources, fidelity)
            assert got.value[i] == pytest.approx(value, rel=1e-12)
            assert got.neighbour[i] == pytest.approx(neighbour, rel=1e-12, abs=1e-9)


def test_identity_keeps_all_information():
    layout, weight = ImageShape(8, 6, 3), DistanceWeight()
    rows = smooth_images(20, 8, 6, 3)
    full = information(rows, layout, identity_kept(layout, weight))
    same = information(rows, layout, map_kept(np.arange(layout.row_length), layout, weight))
    np.testing.assert_allclose(same.total, full.total, rtol=1e-12)
    rates = loss_rates(full, same)
    assert abs(rates["total_loss_rate"]) < 1e-12 and abs(rates["neighbour_loss_rate"]) < 1e-12
    assert np.all(full.value > 0) and np.all(full.neighbour > 0)


def test_swapping_two_pixels_never_increases_information():
    """Theorem 1 of docs/information.md, checked over 3000 random images, pairs and weights."""
    rng = np.random.default_rng(2026)
    strict = 0
    for case in range(3000):
        h, w, c = int(rng.integers(1, 7)), int(rng.integers(2, 7)), int(rng.choice([1, 3]))
        layout = ImageShape(h, w, c)
        weight = DistanceWeight(float(rng.uniform(0.3, 5)), float(rng.uniform(0.5, 3)))
        x = rng.integers(0, 256, (1, layout.row_length))
        if case % 3 == 0:
            x = rng.choice([0, 255], (1, layout.row_length))  # binary images: many equal pixels
        a, b = rng.choice(layout.pixels, 2, replace=False)
        sources = np.arange(layout.row_length)
        if case % 2:  # swap whole pixels (all channels)
            for ch in range(c):
                sources[[ch * layout.pixels + a, ch * layout.pixels + b]] = sources[[ch * layout.pixels + b, ch * layout.pixels + a]]
        else:  # swap two samples, possibly of different channels
            s, t = rng.choice(layout.row_length, 2, replace=False)
            sources[[s, t]] = sources[[t, s]]
        before = information(x, layout, identity_kept(layout, weight)).total[0]
        after = information(x, layout, map_kept(sources, layout, weight)).total[0]
        assert after <= before * (1 + 1e-12) + 1e-9, (case, before, after)
        strict += after < before * (1 - 1e-9)
    assert strict > 1500  # the theorem is not vacuous: most swaps lose information


def test_swap_loss_has_the_closed_form_of_the_proof():
    """Exchanging pixels a and b loses sum_c (m_ac - m_bc)+ (x_a - x_c)^2 + (m_bc - m_ac)+ (x_b - x_c)^2 per channel."""
    rng = np.random.default_rng(9)
    layout, weight = ImageShape(5, 4, 2), DistanceWeight(1.2, 1.7)
    m = pair_weights(layout, weight)
    for _ in range(50):
        x = rng.integers(0, 256, (1, layout.row_length))
        a, b = rng.choice(layout.pixels, 2, replace=False)
        perm = np.arange(layout.pixels)
        perm[[a, b]] = [b, a]
        lost = information(x, layout, identity_kept(layout, weight)).total - information(
            x, layout, map_kept(np.concatenate([perm, perm + layout.pixels]), layout, weight)).total
        planes = x.reshape(layout.channels, layout.pixels).astype(float)
        others = np.setdiff1d(np.arange(layout.pixels), [a, b])
        want = sum(np.sum(np.maximum(m[a, others] - m[b, others], 0) * (xc[a] - xc[others]) ** 2
                          + np.maximum(m[b, others] - m[a, others], 0) * (xc[b] - xc[others]) ** 2) for xc in planes)
        assert lost[0] == pytest.approx(want, rel=1e-9, abs=1e-6)


def test_no_gather_or_value_step_increases_information():
    rng = np.random.default_rng(7)
    layout, weight = ImageShape(5, 5, 3), DistanceWeight(1.5, 1.0)
    rows = rng.integers(0, 256, (30, layout.row_length))
    full = information(rows, layout, identity_kept(layout, weight))
    for _ in range(100):
        sources = rng.integers(0, layout.row_length, layout.row_length)
        fidelity = rng.uniform(-1, 1, layout.row_length)
        kept = information(rows, layout, map_kept(sources, layout, weight, fidelity))
        assert np.all(kept.value <= full.value * (1 + 1e-12))
        assert np.all(kept.neighbour <= full.neighbour * (1 + 1e-12) + 1e-9)


def test_a_random_permutation_per_image_loses_nearly_all_neighbouring_information():
    layout, weight = ImageShape(28, 28, 1), DistanceWeight()
    rows = smooth_images(40, 28, 28)
    full = information(rows, layout, identity_kept(layout, weight))
    perms = np.argsort(np.random.default_rng(3).random((40, layout.pixels)), axis=1)
    drawn = permutation_information(rows, layout, weight, perms)
    rates = loss_rates(full, drawn)
    assert rates["value_loss_rate"] == pytest.approx(0.0, abs=1e-12)  # every value is still there
    assert rates["neighbour_loss_rate"] > 0.95
    # the same result through the general gather machinery, image by image
    for i in range(3):
        one = information(rows[i : i + 1], layout, map_kept(perms[i], layout, weight))
        assert one.neighbour[0] == pytest.approx(drawn.neighbour[i], rel=1e-10)
    # the closed-form expectation agrees with the draws
    expected = loss_rates(full, information(rows, layout, expected_permutation_kept(layout, weight)))
    assert expected["neighbour_loss_rate"] == pytest.approx(rates["neighbour_loss_rate"], abs=0.005)


def test_expected_permutation_kept_is_the_mean_over_permutations():
    layout, weight = ImageShape(3, 3, 1), DistanceWeight(2.0, 1.0)
    m = pair_weights(layout, weight)
    mean = np.zeros_like(m)
    perms = list(itertools.permutations(range(layout.pixels)))
    for perm in perms:
        where = np.argsort(perm)
        mean += np.minimum(m, m[np.ix_(where, where)])
    np.testing.assert_allclose(expected_permutation_kept(layout, weight).pairs[0], mean / len(perms), rtol=1e-10)  # 9! terms summed


def test_stronger_vortices_lose_more_information():
    from pipeline.encrypt.vortex import row_gather_map
    from pipeline.encrypt.vortex_params import load_vor_params

    spec = dataset_spec("mnist")
    layout, weight = spec, DistanceWeight()
    published = load_vor_params(shared_path("fixtures", "matlab", "vor_params_mnist_result.mat"))
    rows = smooth_images(60, 28, 28, seed=5)
    full = information(rows, layout, identity_kept(layout, weight))
    losses = []
    for factor in (0.0, 0.1, 0.2, 0.5, 1.0, 2.0, 4.0):  # degree vectors scaled: the vortex strength
        scaled = [np.concatenate([r[:3], r[3:] * factor]) if r[2] >= 1 else r for r in published]
        sources = row_gather_map(spec, scaled, num_vortices=10)
        losses.append(loss_rates(full, information(rows, layout, map_kept(sources, layout, weight)))["total_loss_rate"])
    assert losses[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(losses) > 0), losses


def test_value_fidelity_from_image_pairs():
    rng = np.random.default_rng(4)
    expected = rng.integers(0, 256, (500, 6)).astype(np.uint8)
    actual = expected.copy()
    actual[:, 1] = 255 - expected[:, 1]  # negative-positive
    actual[:, 2] = rng.integers(0, 256, 500)  # unrelated values
    expected[:, 3] = actual[:, 3] = 7  # constant and unchanged
    expected[:, 4], actual[:, 4] = 0, 255  # constant and negated
    actual[:, 5] = expected[:, 5] // 2  # a value change that keeps the order
    f = value_fidelity(expected, actual)
    assert f[0] == 1.0 and f[1] == -1.0 and abs(f[2]) < 0.15 and f[3] == 1.0 and f[4] == -1.0
    assert 0.99 < f[5] < 1.0
    with pytest.raises(PipelineError, match="image pairs"):
        value_fidelity(expected, actual[:10])


def test_negating_a_whole_image_keeps_its_relations_and_values():
    layout, weight = ImageShape(6, 6, 1), DistanceWeight()
    rows = smooth_images(5, 6, 6)
    full = information(rows, layout, identity_kept(layout, weight))
    negated = information(rows, layout, map_kept(np.arange(36), layout, weight, -np.ones(36)))
    np.testing.assert_allclose(negated.total, full.total, rtol=1e-12)
    half = -np.ones(36)
    half[:18] = 1  # top half negated, bottom half not: relations across the border are lost
    split = information(rows, layout, map_kept(np.arange(36), layout, weight, half))
    assert np.all(split.neighbour < full.neighbour) and np.allclose(split.value, full.value)


def test_bad_inputs_are_rejected():
    layout, weight = ImageShape(2, 2, 1), DistanceWeight()
    with pytest.raises(PipelineError, match="position map"):
        map_kept(np.array([0, 1, 2]), layout, weight)
    with pytest.raises(PipelineError, match="0..3"):
        map_kept(np.array([0, 1, 2, 4]), layout, weight)
    with pytest.raises(PipelineError, match="N x 4"):
        information(np.zeros((2, 5)), layout, identity_kept(layout, weight))
    with pytest.raises(PipelineError, match="permutation"):
        permutation_information(np.zeros((1, 4)), layout, weight, np.array([[0, 0, 1, 2]]))
    nothing = Information(np.zeros(2), np.zeros(2))
    assert loss_rates(nothing, nothing)["images_without_information"] == 2
