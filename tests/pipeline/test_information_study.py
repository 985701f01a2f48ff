"""The graded information study: bootstrap intervals, the weight's effect on rankings, the run command end to end."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.generated import smooth_images
import yaml
from scipy import stats

from matlab_compat import savemat
from workbench.data.datasets import dataset_spec, onehot
from pipeline.encrypt.registry import SCHEMES
from pipeline.evaluate import information_study as study_module
from pipeline.evaluate.information import DistanceWeight, measure
from pipeline.evaluate.study_runs import draw_params, study_run
from pipeline.evaluate.study_stats import bootstrap, correlations
from pipeline.information_study import app
from tests.cli import invoke


X = np.array([0.05, 0.10, 0.20, 0.22, 0.35, 0.40, 0.55, 0.70])
Y = np.array([0.3, 1.1, 0.2, 1.9, 2.5, 1.4, 3.8, 3.1])


def brute_force(x, y, resamples, seed):
    """The same resamples drawn one at a time, each coefficient by scipy; NaN where a side is constant."""
    index = np.random.default_rng(seed).integers(0, len(x), size=(resamples, len(x)))
    out = {"pearson": [], "spearman": []}
    for rows in index:
        a, b = x[rows], y[rows]
        constant = np.ptp(a) == 0 or np.ptp(b) == 0
        out["pearson"].append(np.nan if constant else stats.pearsonr(a, b).statistic)
        out["spearman"].append(np.nan if constant else stats.spearmanr(a, b).statistic)
    return {k: np.array(v) for k, v in out.items()}


def test_bootstrap_equals_resampling_one_at_a_time_with_scipy():
    fast, slow = bootstrap(X, Y, 400, seed=7), brute_force(X, Y, 400, seed=7)
    for name in ("pearson", "spearman"):
        np.testing.assert_allclose(fast[name], slow[name], rtol=0, atol=1e-12, equal_nan=True)
    result = correlations(X, Y, 400, 7)
    for name, test in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr)):
        finite = slow[name][np.isfinite(slow[name])]
        assert result[name]["ci95"] == pytest.approx(np.percentile(finite, [2.5, 97.5]).tolist(), abs=1e-12)
        assert result[name]["resamples_defined"] == finite.size
        assert (result[name]["r"], result[name]["p"]) == pytest.approx(tuple(test(X, Y)), abs=1e-12)
    assert result["pearson"]["ci95"][0] < result["pearson"]["r"] < result["pearson"]["ci95"][1]


def test_a_straight_line_has_coefficient_one_in_every_resample():
    result = correlations(X, 2 * X + 1, 300, 0)
    for name in ("pearson", "spearman"):
        assert result[name]["r"] == pytest.approx(1.0) and result[name]["ci95"] == pytest.approx([1.0, 1.0])
    assert result["pearson"]["p"] < 1e-6
    flat = correlations(X, np.ones_like(X), 300, 0)  # no correlation is defined
    assert flat["pearson"] == {"r": None, "p": None, "ci95": None, "resamples_defined": 0}


def test_the_weight_reorders_total_loss_but_not_neighbouring_loss(tmp_path):
    """A strong drawn vortex against the random baseline on smooth images: at a short-range exponential
    weight (0.5, 1) the baseline loses less in total (its values all survive and little neighbouring
    weight exists to lose); at the default weight it loses more; it loses more neighbouring information at both."""
    spec = dataset_spec("mnist")
    rows = smooth_images(16, 28, 28, seed=3)
    path, count = draw_params({"key-seed": 6, "vortices": 20, "scale": 3200}, spec, tmp_path, "test")
    vortex = study_run(SCHEMES.get("vor"), spec, tmp_path, {"params": path, "vortices": count})
    baseline = study_run(SCHEMES.get("random"), spec, tmp_path, {})

    def rates(one, weight):
        out = measure(one.scheme, one.key, spec, {"train": rows}, weight, exact_sample=0)
        return out["total_loss_rate"], out["neighbour_loss_rate"]

    (v_short, vn_short), (r_short, rn_short) = rates(vortex, DistanceWeight(0.5, 1)), rates(baseline, DistanceWeight(0.5, 1))
    (v_default, vn_default), (r_default, rn_default) = rates(vortex, DistanceWeight()), rates(baseline, DistanceWeight())
    assert r_short < v_short and r_default > v_default
    assert rn_short > vn_short and rn_default > vn_default


# --- the run command ------------------------------------------------------------------------------

ENCRYPTIONS = {"vor-d1": {"scheme": "vor", "draw": {"key-seed": 1, "vortices": 3, "scale": 800}},
               "etc-b7": {"scheme": "etc", "block-size": 7}, "block-b14": {"scheme": "block", "block-size": 14},
               "random": {"scheme": "random"}}


def study_params(tmp_path, **change):
    study = {"dataset": "mnist", "seeds": [0, 1], "preset": "mnist_smallcnn_cpu", "train_options": {"epochs": 1, "batch": 8},
             "information_images": 12, "baseline": "random", "bootstrap": {"resamples": 200, "seed": 0},
             "weights": {"scale": [0.5], "shape": [1]}, "encryptions": ENCRYPTIONS, **change}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"study": {"tiny": study}}, sort_keys=False))
    return path


@pytest.fixture
def data_dir(tmp_path):
    x = smooth_images(30, 28, 28, seed=11)
    y = onehot(np.arange(30) % 10, 10)
    origin = tmp_path / "data" / "mnist" / "origin"
    origin.mkdir(parents=True)
    savemat(origin / "mnist.mat", {"train_x": x[:20], "train_y": y[:20], "test_x": x[20:], "test_y": y[20:]})
    return tmp_path / "data"


def run_study(params, data_dir, out):
    return invoke(app, ["run", "--params-file", params, "--study", "tiny", "--data-dir", data_dir, "--out", out])


def test_run_trains_every_encryption_and_seed_correlates_and_resumes(tmp_path, data_dir, monkeypatch):
    params, out = study_params(tmp_path), tmp_path / "out"
    first = run_study(params, data_dir, out)
    assert first.exit_code == 0, first.output
    result = json.loads((out / "tiny.json").read_text())
    assert (out / "tiny.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(result["encryptions"]) == list(ENCRYPTIONS) and result["seeds"] == [0, 1] and result["runs"] == 10
    assert (result["train_images"], result["test_images"]) == (20, 10)
    for label, e in result["encryptions"].items():  # drops are paired by seed, from the per-run files
        for i, seed in enumerate([0, 1]):
            plain = json.loads((out / "tiny-runs" / f"plain_seed{seed}.json").read_text())["test_acc_final"]
            acc = json.loads((out / "tiny-runs" / f"{label}_seed{seed}.json").read_text())["test_acc_final"]
            assert e["accuracy"][i] == acc and e["drop_pp"][i] == pytest.approx(100 * (plain - acc))
        assert e["drop_sd_pp"] == pytest.approx(np.std(e["drop_pp"], ddof=1))
        assert [(g["scale"], g["shape"]) for g in e["information"]] == [(1.5, 2.0), (0.5, 1.0)]
    assert len(result["correlations"]) == 2 * 3 * 2
    y = np.array([e["drop_mean_pp"] for e in result["encryptions"].values()])
    for row in result["correlations"]:
        index = [(g["scale"], g["shape"]) for g in result["encryptions"]["random"]["information"]].index((row["scale"], row["shape"]))
        x = np.array([e["information"][index][row["part"]] for e in result["encryptions"].values()])
        keep = slice(None) if row["with_baseline"] else slice(0, 3)  # the baseline is the last encryption
        assert row["n"] == len(x[keep])
        if row["pearson"]["r"] is not None:
            assert row["pearson"]["r"] == pytest.approx(stats.pearsonr(x[keep], y[keep]).statistic)
            assert row["spearman"]["r"] == pytest.approx(stats.spearmanr(x[keep], y[keep]).statistic)

    # a second run reuses every finished (encryption, seed): nothing trains; a deleted run alone trains again
    calls = []
    real = study_module.train_and_score
    monkeypatch.setattr(study_module, "train_and_score", lambda *a, **k: calls.append(k["seed"]) or real(*a, **k))
    (out / "tiny-runs" / "etc-b7_seed1.json").unlink()
    second = run_study(params, data_dir, out)
    assert second.exit_code == 0, second.output
    assert calls == [1]
    again = json.loads((out / "tiny.json").read_text())
    assert again["encryptions"]["vor-d1"] == result["encryptions"]["vor-d1"]
    assert again["plain"] == result["plain"]
    # a changed setup (batch) is not mistaken for a finished run (a stand-in trains: only the calls count)
    calls.clear()
    monkeypatch.setattr(study_module, "train_and_score", lambda *a, **k: calls.append(k["seed"]) or {
        "test_acc_final": 0.5, "test_acc_best": 0.5, "epochs": 1, "seconds": 0.0, "config": {}})
    third = run_study(study_params(tmp_path, train_options={"epochs": 1, "batch": 4}), data_dir, out)
    assert third.exit_code == 0 and len(calls) == 10


@pytest.fixture
def torch_threads():
    """Set torch's thread count for a test; the count before is restored after."""
    import torch
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


def test_parallel_jobs_give_the_results_of_one_process_at_the_same_thread_count(tmp_path, data_dir, torch_threads):
    torch_threads(1)  # one job: trainings here, on 1 thread
    inline = run_study(study_params(tmp_path), data_dir, tmp_path / "inline")
    torch_threads(2)  # two jobs: spawned processes on 2 // 2 = 1 thread each
    parallel = run_study(study_params(tmp_path, jobs=2), data_dir, tmp_path / "parallel")
    assert inline.exit_code == 0 and parallel.exit_code == 0, inline.output + parallel.output
    runs = sorted(p.name for p in (tmp_path / "inline" / "tiny-runs").glob("*_seed*.json"))
    assert len(runs) == 10 and runs == sorted(p.name for p in (tmp_path / "parallel" / "tiny-runs").glob("*_seed*.json"))
    for name in runs:
        one, two = (json.loads((tmp_path / where / "tiny-runs" / name).read_text()) for where in ("inline", "parallel"))
        assert one["setup"]["threads"] == two["setup"]["threads"] == 1
        assert (one["setup"], one["test_acc_final"], one["test_acc_best"]) == (two["setup"], two["test_acc_final"], two["test_acc_best"])
    result = json.loads((tmp_path / "parallel" / "tiny.json").read_text())
    assert (result["jobs"], result["threads"]) == (2, 1)
    assert result["encryptions"] == json.loads((tmp_path / "inline" / "tiny.json").read_text())["encryptions"]


@pytest.mark.parametrize("change,message", [
    ({"seeds": [0]}, "study.tiny.seeds: give at least 2 distinct"),
    ({"preset": "no_such_preset"}, "study.tiny.preset:"),
    ({"colour": 1}, "unknown field(s) colour"),
    ({"jobs": 0}, "study.tiny.jobs: must be an integer >= 1, got 0"),
    ({"baseline": "nope"}, "study.tiny.baseline: 'nope' is not one of the encryptions"),
    ({"weights": {"scale": [0], "shape": [1]}}, "study.tiny.weights:"),
    ({"encryptions": {**ENCRYPTIONS, "x": {"scheme": "nope"}}}, "study.tiny.encryptions.x: unknown scheme 'nope'"),
    ({"encryptions": {**ENCRYPTIONS, "x": {"scheme": "vor", "draw": {"key-seed": 1}}}}, "study.tiny.encryptions.x.draw: give key-seed >= 0, vortices 1..100"),
    ({"encryptions": {**ENCRYPTIONS, "x": {"scheme": "random", "block-size": 4}}}, "study.tiny.encryptions.x: random takes key-seed, not block-size"),
])
def test_bad_study_params_fail_in_one_line_before_any_work(tmp_path, data_dir, change, message):
    result = run_study(study_params(tmp_path, **change), data_dir, tmp_path / "out")
    assert result.exit_code == 1 and message in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "out" / "tiny-runs").exists()


def test_a_missing_study_or_params_file_is_one_line(tmp_path, data_dir):
    result = invoke(app, ["run", "--params-file", study_params(tmp_path), "--study", "other", "--data-dir", data_dir])
    assert result.exit_code == 1 and "--study other: " in result.stderr and "it has: tiny" in result.stderr
    result = invoke(app, ["run", "--params-file", tmp_path / "none.yaml", "--study", "tiny"])
    assert result.exit_code == 1 and "--params-file: " in result.stderr and "none.yaml does not exist" in result.stderr
