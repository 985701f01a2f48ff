"""The attack CLI end to end on small generated Fashion-shaped data, encrypted by the real steps."""
import hashlib
import json
import os
import pickle

import numpy as np
import pytest

from matlab_compat import savemat
from pipeline.attack import app
from workbench.data.datasets import (
    dataset_spec,
    onehot,
    pictures_from_rows,
    rows_map_to_picture_sources,
)
from pipeline.encrypt.command import encrypt_app
from pipeline.encrypt.sample_map import SampleMap
from pipeline.errors import PipelineError
from pipeline.evaluate.attack import summary_rows
from tests.cli import invoke
from tests.shared import shared_path

SECRET = "attack-cli-test-secret-0123"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """data/fashion/{origin,vor,random,etc} for 300 train and 120 test generated images."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    means = rng.uniform(20, 235, (10, 784))
    split = {}
    for name, n in (("train", 300), ("test", 120)):
        labels = np.arange(n) % 10
        split[f"{name}_x"] = np.clip(means[labels] + rng.normal(0, 15, (n, 784)), 0, 255).round().astype(np.uint8)
        split[f"{name}_y"] = onehot(labels, 10)
    origin = root / "fashion" / "origin" / "fashion.mat"
    origin.parent.mkdir(parents=True)
    savemat(origin, split)
    spec = dataset_spec("fashion")
    params = shared_path("fixtures", "matlab", "vor_params_fashion.mat")
    (root / "fashion" / "params").mkdir()
    (root / "fashion" / "params" / spec.published_params).write_bytes(params.read_bytes())
    key = root / "key"
    key.write_text(SECRET)
    for scheme, options in (("vor", []), ("random", []), ("etc", ["--block-size", "7", "--key-file", str(key)])):
        result = invoke(encrypt_app(), ["--scheme", scheme, "--dataset", "fashion", "--data-dir", str(root), *options])
        assert result.exit_code == 0, result.output
    return root


def _attack(data_dir, out, encryption, *extra):
    args = ["--dataset", "fashion", "--scheme", encryption, "--kind", "known-plaintext", "--kind", "ciphertext-only",
            "--pairs", "1", "--pairs", "8", "--data-dir", str(data_dir), "--out", str(out), *extra]
    result = invoke(app, args)
    assert result.exit_code == 0, result.output
    return {kind: json.loads((out / f"fashion_{encryption}_{kind}.json").read_text()) for kind in ("known-plaintext", "ciphertext-only")}


def _entry(result, method, pairs, stats):
    (entry,) = [a for a in result["attacks"] if a["method"] == method and a["pairs"] == pairs and a["uses_statistics"] == stats]
    return entry


def test_vortex_key_recovered_from_eight_pairs_and_recognisability_scored(data_dir, tmp_path):
    results = _attack(data_dir, tmp_path, "vor", "--epochs", "1", "--classifier-cache", str(tmp_path / "cache"))
    kpa = results["known-plaintext"]
    best = _entry(kpa, "sample-map", 8, True)
    assert best["key_share"]["exact"] == 1.0
    # With the whole key, the attacker decrypts exactly as well as the key holder can.
    assert best["psnr"] == pytest.approx(kpa["baselines"]["true_key"]["psnr"])
    assert best["accuracy"] == kpa["baselines"]["true_key"]["accuracy"]
    for name in ("plain", "encrypted", "mean_image"):
        assert 0.0 <= kpa["baselines"][name]["accuracy"] <= 1.0
    assert best["psnr"] > kpa["baselines"]["encrypted"]["psnr"]
    assert (tmp_path / "fashion_vor_known-plaintext.png").stat().st_size > 0
    (run,) = (tmp_path / "cache").glob("fashion_smallcnn_e1_s0_*")  # one cached classifier: a training run
    assert (run / "metrics.json").exists() and any((run / "checkpoints").iterdir())
    # its training time is the epochs' own, from the run's history, also when it is reloaded from the cache
    epoch_seconds = [float(line.split("\t")[-1]) for line in (run / "history.tsv").read_text().splitlines()[1:]]
    assert kpa["recognisability"]["seconds"] == round(sum(epoch_seconds), 1) > 0
    again = _attack(data_dir, tmp_path / "again", "vor", "--epochs", "1", "--classifier-cache", str(tmp_path / "cache"))
    assert again["known-plaintext"]["recognisability"] == kpa["recognisability"]
    rows = summary_rows(tmp_path)
    assert {(r["kind"], r["pairs"], r["uses_statistics"]) for r in rows} == {
        ("known-plaintext", 1, False), ("known-plaintext", 8, False), ("known-plaintext", 1, True), ("known-plaintext", 8, True),
        ("ciphertext-only", None, True)}


def test_per_image_random_permutation_resists(data_dir, tmp_path):
    results = _attack(data_dir, tmp_path, "random", "--no-recognisability")
    for result in results.values():
        floor = result["baselines"]["mean_image"]["psnr"]
        assert result["key_form"] == "per image"
        for a in result["attacks"]:
            assert a["key_share"]["per_image_exact"] < 3 * a["key_share"]["chance"]  # chance: 1/784
            assert a["psnr"] < floor + 0.5
    wrong_seed = invoke(app, ["--dataset", "fashion", "--scheme", "random", "--kind", "ciphertext-only", "--key-seed", "5",
                              "--no-recognisability", "--data-dir", str(data_dir), "--out", str(tmp_path)])
    assert wrong_seed.exit_code == 1 and "random-k5/fashion_train_random_v1.mat is missing" in wrong_seed.stderr  # its own folder


def test_etc_key_recovered_from_one_pair(data_dir, tmp_path):
    results = _attack(data_dir, tmp_path, "etc", "--no-recognisability", "--key-file", str(data_dir / "key"))
    one = _entry(results["known-plaintext"], "etc-blocks", 1, False)
    assert one["key_tables"]["all"] == 1.0 and one["key_share"]["exact"] == 1.0
    assert one["psnr"] == 100.0  # exact decryption (PSNR cap)
    assert results["ciphertext-only"]["negation_considered"] is True


def test_bad_kind_and_missing_data_are_clear_errors(data_dir, tmp_path):
    bad = invoke(app, ["--dataset", "fashion", "--scheme", "vor", "--kind", "guess", "--data-dir", str(data_dir), "--out", str(tmp_path)])
    assert bad.exit_code == 1 and "unknown attack kind 'guess'" in bad.stderr
    missing = invoke(app, ["--dataset", "mnist", "--scheme", "vor", "--kind", "ciphertext-only", "--data-dir", str(data_dir), "--out", str(tmp_path)])
    assert missing.exit_code == 1 and "missing" in missing.stderr
    old_spelling = invoke(app, ["--dataset", "fashion", "--encryption", "vor", "--kind", "guess", "--data-dir", str(data_dir)])
    assert old_spelling.exit_code == 1 and old_spelling.stderr == "error: --encryption: no such option\n"  # no hidden aliases


def test_row_maps_become_picture_maps_in_the_cifar_layout():
    spec = dataset_spec("cifar10")
    rng = np.random.default_rng(5)
    rows = rng.integers(0, 256, (3, spec.row_length), dtype=np.uint8)
    rows_map = rng.integers(0, spec.row_length, spec.row_length)
    picture_map = SampleMap(rows_map_to_picture_sources(rows_map, spec), np.zeros(spec.row_length, dtype=bool))
    expected = pictures_from_rows(rows[:, rows_map], spec).reshape(3, -1)
    assert np.array_equal(picture_map.apply(pictures_from_rows(rows, spec).reshape(3, -1)), expected)


def test_summary_rows_refuses_foreign_json(tmp_path):
    (tmp_path / "x.json").write_text('{"dataset": "fashion"}')
    with pytest.raises(PipelineError, match="not an attack result file"):
        summary_rows(tmp_path)


class _Payload:
    """A pickle that would run code when loaded without weights_only (here: create a marker file)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_pickle_in_the_classifier_cache_is_refused(data_dir, tmp_path):
    """The cache holds weights-only checkpoints with digests; a planted pickle (with a matching digest,
    as an attacker who can write the folder would give it) is refused and never runs."""
    cache, out = tmp_path / "cache", tmp_path / "out"
    args = ["--dataset", "fashion", "--scheme", "vor", "--kind", "ciphertext-only", "--data-dir", str(data_dir), "--out", str(out),
            "--epochs", "1", "--classifier-cache", str(cache)]
    assert invoke(app, args).exit_code == 0
    (checkpoint,) = (cache).glob("*/checkpoints/epoch_*.pt")
    marker = tmp_path / "pwned"
    with open(checkpoint, "wb") as f:
        pickle.dump({"model": _Payload(marker)}, f, protocol=2)
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    checkpoint.with_name(checkpoint.name + ".sha256").write_text(f"{digest}  {checkpoint.name}\n")
    refused = invoke(app, args)
    assert refused.exit_code == 1 and refused.stderr.count("\n") == 1 and "torch cannot load it" in refused.stderr, refused.output
    # named by the option the user gave (not --resume, which this command does not have)
    assert refused.stderr.startswith("error: --classifier-cache: found ") and "--resume" not in refused.stderr
    assert "or use another --classifier-cache" in refused.stderr
    assert not marker.exists()  # nothing was unpickled
