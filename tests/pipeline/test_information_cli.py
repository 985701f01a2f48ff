"""The information CLI and the loss-vs-accuracy report, end to end on small generated data."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from matlab_compat import savemat
from matlab_compat.rng import rng
from workbench.data.datasets import (
    dataset_spec,
    onehot,
    picture_sources_to_rows_map,
    pictures_from_rows,
    rows_from_pictures,
)
from pipeline.encrypt.etc import encrypt
from pipeline.encrypt.etc_key import derive_key
from pipeline.encrypt.permutation import (
    column_major_order,
    permute_pictures,
    random_permutations,
)
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions
from pipeline.errors import PipelineError
from pipeline.evaluate.information import encrypt_rows
from pipeline.evaluate.study_runs import PUBLIC_EXPERIMENT_SECRET, parse_run
from pipeline.evaluate.study_stats import Point, collect_points, correlation
from pipeline.information import app as info_app
from pipeline.information_study import app as report_app
from tests.cli import invoke
from tests.shared import shared_path
from tests.generated import smooth_images


SECRET = b"a test secret of enough bytes"


@pytest.fixture
def data_dir(tmp_path):
    """data/mnist/origin/mnist.mat with 24 + 12 smooth images and the published parameters."""
    x = smooth_images(36, 28, 28, seed=11)
    y = onehot(np.arange(36) % 10, 10)
    origin = tmp_path / "data" / "mnist" / "origin"
    origin.mkdir(parents=True)
    savemat(origin / "mnist.mat", {"train_x": x[:24], "train_y": y[:24], "test_x": x[24:], "test_y": y[24:]})
    params = tmp_path / "data" / "mnist" / "params"
    params.mkdir()
    for name in ("vor_params_mnist_result.mat", "vor_params_mnist_sensitivity3.mat"):
        shutil.copy(shared_path("fixtures", "matlab", name), params / name)
    (tmp_path / "key").write_bytes(SECRET)
    return tmp_path


def run_info(data_dir, *args):
    result = invoke(info_app, ["--dataset", "mnist", "--data-dir", str(data_dir / "data"),
                               "--out", str(data_dir / "out"), *args])
    assert result.exit_code == 0, result.output
    return result


def test_cli_measures_vortex_sets_and_names_them_by_parameter_file(data_dir):
    run_info(data_dir, "--scheme", "vor")
    run_info(data_dir, "--scheme", "vor", "--params", str(data_dir / "data/mnist/params/vor_params_mnist_sensitivity3.mat"))
    published = json.loads((data_dir / "out" / "mnist_vor-result.json").read_text())
    sens3 = json.loads((data_dir / "out" / "mnist_vor-sensitivity3.json").read_text())
    assert {k: v for k, v in published["parameters"].items() if k != "params_sha256"} == {
        "params": "vor_params_mnist_result.mat", "vortices": 10, "vortices_in_file": 20}
    assert sens3["parameters"]["vortices"] == 5  # the file holds fewer than the script's 10
    for result in (published, sens3):
        assert result["images"] == 36 and result["splits"] == ["train", "test"]
        assert 0 < result["value_loss_rate"] < result["total_loss_rate"] < result["neighbour_loss_rate"] < 1
        assert result["lost_samples"] > 0  # the gather drops source pixels
        assert result["weight"] == {"scale": 1.5, "shape": 2.0}


def test_cli_random_baseline_expected_and_drawn_agree(data_dir):
    run_info(data_dir, "--scheme", "random", "--key-seed", "0", "--split", "test", "--exact-sample", "12")
    result = json.loads((data_dir / "out" / "mnist_random.json").read_text())
    assert result["images"] == 12 and result["value_loss_rate"] == 0.0
    assert result["neighbour_loss_rate"] > 0.95
    assert result["drawn_sample"]["images"] == 12
    assert result["drawn_sample"]["neighbour_loss_rate"] == pytest.approx(result["neighbour_loss_rate"], abs=0.01)


def test_random_encryption_reproduces_pipeline_random_draws(data_dir):
    spec = dataset_spec("mnist")
    x = smooth_images(7, 28, 28)
    stream = rng(0)
    pictures = pictures_from_rows(x, spec)
    want_train = rows_from_pictures(permute_pictures(pictures[:4], random_permutations(4, 784, stream, column_major_order(spec))), spec)
    want_test = rows_from_pictures(permute_pictures(pictures[4:], random_permutations(3, 784, stream, column_major_order(spec))), spec)
    scheme = SCHEMES.get("random")
    got = encrypt_rows(scheme, scheme.key(spec, KeyOptions(key_seed=0)), spec, {"train": x[:4], "test": x[4:]})
    np.testing.assert_array_equal(got["train"], want_train)
    np.testing.assert_array_equal(got["test"], want_test)


def test_cli_etc_measures_negation_from_image_pairs(data_dir):
    run_info(data_dir, "--scheme", "etc", "--block-size", "7", "--key-file", str(data_dir / "key"))
    run_info(data_dir, "--scheme", "block", "--block-size", "7", "--key-file", str(data_dir / "key"))
    etc = json.loads((data_dir / "out" / "mnist_etc-b7.json").read_text())
    blocks = json.loads((data_dir / "out" / "mnist_block-b7.json").read_text())
    key = derive_key(SECRET, (28, 28, 1), 7)
    assert etc["parameters"]["block_size"] == 7 and etc["parameters"]["key_fingerprint"] == key.fingerprint
    assert etc["fidelity"] == {"unchanged": 49 * int(np.sum(~key.negate)), "negated": 49 * int(np.sum(key.negate)), "other": 0}
    assert blocks["lost_samples"] == etc["lost_samples"] == 0  # EtC moves samples, never drops them
    assert blocks["value_loss_rate"] == pytest.approx(0.0, abs=1e-12)
    # scrambling alone keeps the relations inside each block; turns, flips and negation keep no more
    assert 0 < blocks["neighbour_loss_rate"] <= etc["neighbour_loss_rate"] < 1


def test_etc_sample_map_is_the_encryption(data_dir):
    spec = dataset_spec("cifar10")
    key = derive_key(SECRET, (32, 32, 3), 8)
    x = np.random.default_rng(0).integers(0, 256, (3, 3072)).astype(np.uint8)
    sources = picture_sources_to_rows_map(SCHEMES.get("etc").sample_map(key).source, spec)
    encrypted = rows_from_pictures(encrypt(pictures_from_rows(x, spec), key), spec)
    negated = encrypted != x[:, sources]
    np.testing.assert_array_equal(np.where(negated, 255 - encrypted, encrypted), x[:, sources])


def test_cli_reports_bad_input_cleanly(data_dir):
    for args, message in ((["--scheme", "rot13"], "'rot13' is not one of"),
                          (["--scheme", "etc", "--block-size", "5", "--key-file", str(data_dir / "key")], "block size 5"),
                          (["--scheme", "vor", "--params", str(data_dir / "missing.mat")], "missing"),
                          (["--scheme", "vor", "--split", "val"], "--split must be train, test or all"),
                          (["--scheme", "vor", "--max-images", "0"], "--max-images must be at least 1"),
                          (["--scheme", "vor", "--exact-sample", "-5"], "--exact-sample must be at least 0"),
                          (["--scheme", "vor", "--weight-scale", "nan"], "--weight-scale must be a finite number > 0"),
                          (["--scheme", "random", "--params", "x.mat"], "--params: the random scheme does not take it")):
        result = invoke(info_app, ["--dataset", "mnist", "--data-dir", str(data_dir / "data"), "--out", str(data_dir / "out"), *args])
        assert result.exit_code == 1 and message in result.stderr and result.stderr.count("\n") == 1, result.output
    assert not (data_dir / "out").exists()  # nothing written


def write_results(folder, dataset, rates, accuracies, plain=0.99):
    folder.mkdir(parents=True, exist_ok=True)
    runs = {}
    for (label, rate), acc in zip(rates.items(), accuracies):
        (folder / f"{dataset}_{label}.json").write_text(json.dumps({"dataset": dataset, "label": label, "total_loss_rate": rate}))
        runs[label] = {"test_acc_final": acc}
    (folder / f"accuracy_{dataset}.json").write_text(json.dumps({"preset": "p", "origin": {"test_acc_final": plain}, "runs": runs}))


def test_correlation_of_information_loss_with_accuracy_loss(tmp_path):
    rates = {"a": 0.1, "b": 0.3, "c": 0.5, "d": 0.7, "untrained": 0.9}
    write_results(tmp_path, "mnist", dict(list(rates.items())[:4]), [0.98, 0.97, 0.6, 0.3])
    (tmp_path / "mnist_untrained.json").write_text(json.dumps({"dataset": "mnist", "label": "untrained", "total_loss_rate": 0.9}))
    result = invoke(report_app, ["correlate", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = json.loads((tmp_path / "correlation.json").read_text())
    assert out["n"] == 4 and out["spearman"] == pytest.approx(1.0)
    drops = np.array([0.01, 0.02, 0.39, 0.69]) / 0.99
    assert out["pearson"] == pytest.approx(np.corrcoef([0.1, 0.3, 0.5, 0.7], drops)[0, 1], rel=1e-12)
    assert [p["label"] for p in out["points"]] == ["a", "b", "c", "d"]
    with Image.open(tmp_path / "loss_vs_drop.png") as img:
        assert img.size == (760, 560) and img.mode == "RGB"
        assert len(img.getcolors(1 << 20)) > 2  # something was drawn


def test_correlation_needs_three_distinct_points(tmp_path):
    with pytest.raises(PipelineError, match="at least 3"):
        correlation([Point("a", 0.1, 0.9, 0.0, 0.0), Point("b", 0.2, 0.8, 0.1, 0.1)])
    with pytest.raises(PipelineError, match="equal"):
        correlation([Point(k, 0.5, 0.9, 0.0, d) for k, d in zip("abc", (0.1, 0.2, 0.3))])
    result = invoke(report_app, ["correlate", "--results", str(tmp_path)])
    assert result.exit_code == 1 and "accuracy_mnist.json is missing" in result.output


def test_negative_accuracy_drops_are_plotted_and_points_pair_by_label(tmp_path):
    write_results(tmp_path, "mnist", {"x": 0.2, "y": 0.4, "z": 0.6}, [0.995, 0.9, 0.5])
    acc = json.loads((tmp_path / "accuracy_mnist.json").read_text())
    points = collect_points(tmp_path, "mnist", acc)
    assert points[0].accuracy_loss_rate < 0  # better than plain: a negative drop, kept as measured
    result = invoke(report_app, ["correlate", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    acc["runs"]["y"]["parameters"] = {"key_fingerprint": "0123"}  # trained with another key than measured
    (tmp_path / "accuracy_mnist.json").write_text(json.dumps(acc))
    with pytest.raises(PipelineError, match="trained with"):
        collect_points(tmp_path, "mnist", acc)


def test_run_list_syntax():
    spec = dataset_spec("mnist")
    with pytest.raises(PipelineError, match="option=value"):
        parse_run("etc:7", spec, "data", None)
    with pytest.raises(PipelineError, match="random takes key-seed, not block-size"):
        parse_run("random:block-size=3", spec, "data", None)
    with pytest.raises(PipelineError, match="etc takes block-size, key-draw, key-seed, not block_size"):
        parse_run("etc:block_size=7", spec, "data", None)  # spelled as the command line spells it, nothing else
    assert parse_run("etc:block-size=7", spec, "data", None).label == "etc-b7"
    assert parse_run("etc", spec, "data", None).label == "etc-b7"  # the 28 x 28 default block
    assert parse_run("random:key-seed=3", spec, "data", None).key.seed == 3


def test_accuracy_and_correlate_end_to_end(data_dir, monkeypatch):
    from train.presets import get_preset

    monkeypatch.delenv("VORTEX_SECRET", raising=False)
    out = data_dir / "out"
    result = invoke(report_app, ["accuracy", "--data-dir", str(data_dir / "data"), "--out", str(out),
                                        "--run", "vor:params=vor_params_mnist_result.mat", "--run", "random", "--run", "etc:block-size=7",
                                        "--train-images", "20", "--test-images", "10", "--preset", "mnist_smallcnn_quick"])
    assert result.exit_code == 0, result.output
    acc = json.loads((out / "accuracy_mnist.json").read_text())
    assert acc["preset"] == "mnist_smallcnn_quick" and (acc["train_images"], acc["test_images"]) == (20, 10)
    assert list(acc["runs"]) == ["vor-result", "random", "etc-b7"]
    for run in [acc["origin"], *acc["runs"].values()]:
        assert 0 <= run["test_acc_final"] <= run["test_acc_best"] <= 1
        assert run["epochs"] == run["config"]["epochs"] == get_preset("mnist_smallcnn_quick")["epochs"]
    # measure the same encryptions (the EtC key from the same public experiment secret), then correlate
    monkeypatch.setenv("VORTEX_SECRET", PUBLIC_EXPERIMENT_SECRET.decode())
    run_info(data_dir, "--scheme", "vor")
    run_info(data_dir, "--scheme", "random", "--key-seed", "0", "--exact-sample", "0")  # the study draws with key seed 0
    run_info(data_dir, "--scheme", "etc", "--block-size", "7")
    result = invoke(report_app, ["correlate", "--results", str(out)])
    if "all information-loss rates (or all accuracy drops) are equal" in result.output:
        pytest.fail("20 training images gave identical accuracies: " + result.output)
    assert result.exit_code == 0, result.output
    corr = json.loads((out / "correlation.json").read_text())
    assert corr["n"] == 3 and {p["label"] for p in corr["points"]} == {"vor-result", "random", "etc-b7"}
    assert (out / "loss_vs_drop.png").stat().st_size > 1000
