"""The information measure on large images (docs/information.md section 8): the truncated weight against the
dense measure and the documented formulas, its bound, and a 224 x 224 set through the command line."""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from workbench.data.datasets import ImageShape
from pipeline.errors import PipelineError
from pipeline.evaluate.information import (
    DistanceWeight,
    Information,
    expected_permutation_kept,
    identity_kept,
    information,
    loss_rates,
    map_kept,
    permutation_information,
    value_fidelity,
)
from pipeline.evaluate.information_near import (
    TAIL,
    check_radius,
    expected_permutation_near,
    identity_near,
    map_near,
    near_information,
    near_permutation_information,
    truncation,
)
from pipeline.evaluate.value_fidelity import batched_fidelity
from pipeline.fetch import app as fetch_app
from pipeline.information import app as info_app
from tests.cli import invoke
from tests.generated import make_image_folder, smooth_images
from tests.pipeline.test_information import by_definition

# The dense measure computes N = sum x^2 k - x'Kx, a difference of terms larger than N: float64 rounding leaves
# about 1e-11 of N (measured on these images); the truncation path sums non-negative terms. 1e-9 covers both.
ROUNDING = 1e-9


def near_and_dense(rows, layout, weight, t, sources, fidelity):
    """(full, kept) Information of a gather by both paths."""
    dense = (information(rows, layout, identity_kept(layout, weight)), information(rows, layout, map_kept(sources, layout, weight, fidelity)))
    near = (Information(*near_information(rows, layout, identity_near(layout, weight, t))),
            Information(*near_information(rows, layout, map_near(sources, layout, weight, t, fidelity))))
    return dense, near


def test_truncated_measure_is_the_documented_formula_with_the_weight_cut_at_the_radius():
    rng = np.random.default_rng(5)
    layout, weight = ImageShape(4, 3, 2), DistanceWeight(1.3, 1.5)
    t = truncation(layout, weight, radius_squared=2)

    def cut(d):  # m_R: the weight within the radius, 0 beyond
        return weight(d) * (np.asarray(d) ** 2 <= t.radius_squared + 1e-9)

    for _ in range(4):
        sources = rng.integers(0, layout.row_length, layout.row_length)  # repeats (copies), omissions, planes mixed
        fidelity = rng.choice([1.0, -1.0, 0.3, -0.6], layout.row_length)
        rows = rng.integers(0, 256, (3, layout.row_length)).astype(np.uint8)
        value, neighbour = near_information(rows, layout, map_near(sources, layout, weight, t, fidelity))
        for i, x in enumerate(rows):
            want = by_definition(x, layout, cut, sources, fidelity)
            assert value[i] == pytest.approx(want[0], rel=1e-12) and neighbour[i] == pytest.approx(want[1], rel=1e-12, abs=1e-9)
    # the random baseline's expectation: min(m_R(d_ab), m_R(d_pq)) averaged over the ordered pairs of distinct pixels
    layout = ImageShape(3, 3, 1)
    t = truncation(layout, weight, radius_squared=4)
    rows = rng.integers(0, 256, (2, 9))
    coords = np.array([divmod(p, 3) for p in range(9)])
    d = np.hypot(*(coords[:, None, :] - coords[None, :, :]).transpose(2, 0, 1))
    m_cut = cut(d) * (1 - np.eye(9))
    pairs = m_cut[~np.eye(9, dtype=bool)]
    expected = np.array([[np.mean(np.minimum(m_cut[a, b], pairs)) if a != b else 0.0 for b in range(9)] for a in range(9)])
    x = rows - rows.mean(axis=1, keepdims=True)
    want = 0.5 * np.einsum("ab,nab->n", expected, (x[:, :, None] - x[:, None, :]) ** 2)
    got = near_information(rows, layout, expected_permutation_near(layout, weight, t))[1]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_radius_is_the_smallest_with_at_most_1e_12_of_weight_beyond_it():
    layout = ImageShape(30, 30, 1)
    for weight in (DistanceWeight(), DistanceWeight(0.5, 1.0), DistanceWeight(2.0, 2.0)):
        t = truncation(layout, weight)
        dr, dc = np.meshgrid(np.arange(-29, 30), np.arange(-29, 30), indexing="ij")
        squared = (dr**2 + dc**2).ravel()
        m = weight(np.sqrt(squared[squared > 0]))
        beyond = lambda r2: m[squared[squared > 0] > r2].sum()  # noqa: E731
        assert beyond(t.radius_squared) == pytest.approx(t.tail, rel=1e-9) and t.tail <= TAIL
        closer = squared[(squared > 0) & (squared < t.radius_squared)].max()
        assert beyond(closer) > TAIL  # the next smaller radius leaves more than 1e-12
        assert 2 * len(t.offsets) == np.sum((squared > 0) & (squared <= t.radius_squared))
    assert truncation(layout, DistanceWeight()).radius_squared == 65  # the default weight: about 8 pixels


def test_both_paths_agree_where_both_run_and_the_change_stays_within_the_bound():
    """On 20 x 20 x 3 images (400 pixels: the dense measure runs too): a vortex-like gather with copies and a value
    step, the random baseline's expectation and its drawn permutations."""
    rng = np.random.default_rng(8)
    layout = ImageShape(20, 20, 3)
    rows = smooth_images(6, 20, 20, 3, seed=2)
    sources = rng.integers(0, layout.row_length, layout.row_length)
    fidelity = rng.choice([1.0, -1.0, 0.5], layout.row_length)
    copies = int(np.bincount(sources).max())
    cases = [(DistanceWeight(), None), (DistanceWeight(), 18), (DistanceWeight(3.0, 1.0), 8)]  # chosen radius, then cut short
    for weight, radius_squared in cases:
        t = truncation(layout, weight, radius_squared)
        (full, kept), (full_r, kept_r) = near_and_dense(rows, layout, weight, t, sources, fidelity)
        perms = np.argsort(rng.random((3, layout.pixels)), axis=1)
        drawn = permutation_information(rows[:3], layout, weight, perms)
        drawn_r = Information(*near_permutation_information(rows[:3], layout, weight, perms, t))
        expected = information(rows, layout, expected_permutation_kept(layout, weight))
        expected_r = Information(*near_information(rows, layout, expected_permutation_near(layout, weight, t)))
        np.testing.assert_array_equal(kept_r.value, kept.value)  # values do not depend on the weight
        changes = []
        for (f, k), (f_r, k_r), n in [((full, kept), (full_r, kept_r), copies), ((full, expected), (full_r, expected_r), 1),
                                     ((Information(full.value[:3], full.neighbour[:3]), drawn),
                                      (Information(full_r.value[:3], full_r.neighbour[:3]), drawn_r), 1)]:
            exact, cut = loss_rates(f, k), loss_rates(f_r, k_r)
            for rate in ("total_loss_rate", "total_loss_rate_pooled"):
                changes.append(abs(cut[rate] - exact[rate]))
                assert changes[-1] <= t.bound(n) + ROUNDING, (weight, radius_squared, rate)
            per_image = np.abs(k_r.total / f_r.total - k.total / f.total)
            assert np.all(per_image <= t.bound(n) + ROUNDING)
            assert np.all(np.abs(k_r.neighbour / f_r.neighbour - k.neighbour / f.neighbour)
                          <= t.bound(n) * f.value / f_r.neighbour + ROUNDING)
            assert cut["value_loss_rate"] == exact["value_loss_rate"]
        if radius_squared is None:
            assert max(changes) <= ROUNDING  # at the chosen radius the two paths are one measure
        else:
            assert max(changes) > 1e-5  # cut short, the truncation shows: the bound is tested, not vacuous


def test_a_long_weight_on_224_px_images_is_refused_before_any_work():
    layout = ImageShape(224, 224, 3)
    check_radius(layout, DistanceWeight(), "big")  # the default weight: 106 offsets, 122 MiB
    with pytest.raises(PipelineError) as err:
        check_radius(layout, DistanceWeight(1.0, 1.0), "big")
    assert str(err.value) == ("the information measure on big: at 224 x 224 pixels the weight reaches 33.0 pixels (beyond it "
                              "at most 1e-12): 1712 pair offsets, 1.9 GiB of pair weights, more than 1 GiB; use a shorter "
                              "weight (--weight-scale, --weight-shape)")


@pytest.fixture(scope="module")
def big_set(tmp_path_factory):
    """A declared image-folder dataset of nine colour images at 224 x 224 (and its vortex parameters)."""
    root = tmp_path_factory.mktemp("big")
    folder = make_image_folder(root / "images", {"train": 2, "test": 1})
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump({"datasets": {"big": {"source": "folder", "path": str(folder), "size": 224, "colour": "rgb"}}}))
    done = invoke(fetch_app, ["--dataset", "big", "--params-file", str(params), "--data-dir", str(root / "data")])
    assert done.exit_code == 0, done.output
    (root / "key").write_bytes(b"a test secret of enough bytes")
    return root


@pytest.mark.parametrize("scheme", [["vor"], ["random", "--exact-sample", "2"], ["etc", "--block-size", "16", "--key-file", "KEY"]])
def test_224_px_images_run_through_the_command_line_with_the_bound_recorded(big_set, scheme):
    args = [a.replace("KEY", str(big_set / "key")) for a in scheme]
    result = invoke(info_app, ["--dataset", "big", "--data-dir", str(big_set / "data"), "--out", str(big_set / "out"), "--scheme", *args])
    assert result.exit_code == 0, result.output
    out = json.loads(next((big_set / "out").glob(f"big_{scheme[0]}*.json")).read_text())
    assert out["images"] == 9 and out["weight"] == {"scale": 1.5, "shape": 2.0}
    t = out["truncation"]
    assert (t["radius"] ** 2, t["pair_offsets"]) == pytest.approx((65, 212)) and t["weight_beyond_radius"] <= TAIL
    assert t["total_loss_rate_bound"] == pytest.approx(2 * t["weight_beyond_radius"] * (1 + t["max_copies"]), rel=1e-12)
    assert t["total_loss_rate_bound"] < 1e-10
    assert 0 < out["neighbour_loss_rate"] < 1 and 0 <= out["value_loss_rate"] < out["neighbour_loss_rate"]
    if scheme[0] == "vor":
        assert t["max_copies"] > 1 and out["lost_samples"] > 0  # the gather copies and drops samples
    else:
        assert t["max_copies"] == 1 and out["value_loss_rate"] == pytest.approx(0.0, abs=1e-12)
    if scheme[0] == "etc":  # every sample exactly kept or negated, as the key says
        assert out["fidelity"]["other"] == 0 and out["fidelity"]["unchanged"] + out["fidelity"]["negated"] == 224 * 224 * 3
    if scheme[0] == "random":  # the expectation and the two drawn permutations agree
        assert out["drawn_sample"]["neighbour_loss_rate"] == pytest.approx(out["neighbour_loss_rate"], abs=0.01)


def test_fidelity_in_batches_is_the_fidelity_of_all_pairs():
    rng = np.random.default_rng(6)
    expected = rng.integers(0, 256, (50, 5)).astype(np.uint8)
    actual = expected.copy()
    actual[:, 1] = 255 - expected[:, 1]
    actual[:, 2] = rng.integers(0, 256, 50)
    actual[:, 3] = expected[:, 3] // 3 + rng.integers(0, 9, 50)
    whole = value_fidelity(expected, actual)
    cuts = [0, 7, 8, 30, 50]
    parts = batched_fidelity(lambda: ((expected[a:b], actual[a:b]) for a, b in zip(cuts[:-1], cuts[1:])))
    assert list(parts[:2]) == [1.0, -1.0] and list(whole[:2]) == [1.0, -1.0]
    np.testing.assert_allclose(parts, whole, rtol=1e-12)  # the correlations differ only in summation order
    np.testing.assert_allclose(parts[2:4], [np.corrcoef(expected[:, i], actual[:, i])[0, 1] for i in (2, 3)], rtol=1e-12)
    with pytest.raises(PipelineError, match="at least one image pair"):
        batched_fidelity(lambda: [])
