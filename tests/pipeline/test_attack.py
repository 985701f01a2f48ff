"""The attack CLI end to end on small generated Fashion-shaped data, encrypted by the real steps."""
import hashlib
import json
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass, replace

import numpy as np
import pytest

from pipeline.attack import app
from workbench.data.datasets import dataset_spec, load_split, pictures_from_rows, rows_map_to_picture_sources
from pipeline.encrypt.command import encrypt_app
from pipeline.encrypt.sample_map import SampleMap
from pipeline.encrypt.scheme import KeyOptions
from pipeline.encrypt.stage import key_of_data
from pipeline.errors import PipelineError
from pipeline.evaluate.attack_data import load_attack_data
from pipeline.evaluate.attack_methods.method import AttackMethod
from pipeline.evaluate.attack_methods.registry import METHODS
from pipeline.evaluate.attack_summary import summary_rows
from pipeline.evaluate.evaluation import Evaluation
from pipeline.evaluate.halves import adversary_halves
from tests.cli import invoke
from tests.generated import class_mean_origin
from tests.shared import ROOT, shared_path

SECRET = "attack-cli-test-secret-0123"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """data/fashion/{origin,vor,random,etc} for 300 train and 120 test generated images."""
    root = tmp_path_factory.mktemp("data")
    class_mean_origin(root, 300, 120)
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


# ----------------------------------------------------------------------------------------------
# Adding a statistical attack method (the worked example of docs/architecture.md)


@dataclass(frozen=True)
class NearestMean(AttackMethod):
    """Ciphertext-only only: each encrypted position takes the public plain position whose mean over the
    classes' means is nearest to its own (a deliberately weak method)."""

    kinds: tuple[str, ...] = ("ciphertext-only",)

    def ciphertext_only(self, adversary):
        observed, public, _ = adversary.statistics()
        distance = np.abs(observed.means.mean(axis=1)[:, None] - public.means.mean(axis=1)[None, :])
        return SampleMap(distance.argmin(axis=1), np.zeros(len(distance), bool)), None


def _class_mean_of_means(pictures: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The oracle's statistic, straight from the pictures: numpy's float32 mean of each class, averaged over the classes."""
    rows = pictures.reshape(len(pictures), -1)
    return np.stack([rows[labels == k].astype(np.float32).mean(axis=0).astype(np.float64) for k in range(10)], axis=1).mean(axis=1)


def test_a_method_added_in_a_test_runs_through_the_attack_command(data_dir, tmp_path):
    with METHODS.added(NearestMean("nearest-mean")):
        results = _attack(data_dir, tmp_path, "vor", "--no-recognisability")
    assert "nearest-mean" not in METHODS
    assert all(a["method"] != "nearest-mean" for a in results["known-plaintext"]["attacks"])  # it declares ciphertext-only only
    found = _entry(results["ciphertext-only"], "nearest-mean", None, True)
    # oracle: the same estimate with numpy from the files (the adversary's halves of the train split), scored
    # against the true sources read off the files too: the vortex copies plain sample t to encrypted sample s
    spec = dataset_spec("fashion", data_dir)
    (plain, labels), (encrypted, _) = (load_split(data_dir, spec, variant, "train") for variant in ("origin", "vor"))
    plain, encrypted = (pictures_from_rows(rows, spec).reshape(len(rows), -1) for rows in (plain, encrypted))
    enc_rows, public_rows = adversary_halves(labels)
    guess = np.abs(_class_mean_of_means(encrypted[enc_rows], labels[enc_rows])[:, None]
                   - _class_mean_of_means(plain[public_rows], labels[public_rows])[None, :]).argmin(axis=1)
    source_of = {plain[:, t].tobytes(): t for t in range(plain.shape[1])}  # 300 noisy values: every column differs
    truth = np.array([source_of[encrypted[:, s].tobytes()] for s in range(encrypted.shape[1])])
    expected = float(np.mean(guess == truth))
    assert 10 / 784 < expected < 0.5  # a real, partial recovery (chance: 1 / 784)
    assert found["key_share"]["exact"] == expected


@pytest.mark.parametrize("scheme, options", [("vor", {}), ("etc", {"key_file": "key"})])
def test_ciphertext_only_keys_come_from_the_training_split_whatever_the_test_split_holds(data_dir, scheme, options):
    """The adversary's statistics are the encrypted training split's (and the public plain images'): other test
    images and labels change the scores, never the recovered key."""
    spec = dataset_spec("fashion", data_dir)
    chosen, key = key_of_data(scheme, spec, KeyOptions(data_dir=data_dir, **{k: data_dir / v for k, v in options.items()}))
    data = load_attack_data(data_dir, spec, chosen, key)
    rng = np.random.default_rng(9)
    other = replace(data, plain_test=rng.integers(0, 256, data.plain_test.shape, dtype=np.uint8),
                    enc_test=rng.integers(0, 256, data.enc_test.shape, dtype=np.uint8), test_labels=rng.permutation(data.test_labels))
    block_size = chosen.public_block_size(spec, KeyOptions(data_dir=data_dir))
    one, two = (Evaluation(d, chosen, block_size=block_size) for d in (data, other))
    for method in one.methods():
        first, second = (method.as_map(method.ciphertext_only(e)[0], e.shape) for e in (one, two))
        assert np.array_equal(first.source, second.source) and np.array_equal(first.negate, second.negate), method.name
    assert one.statistics_source() == {"rule": "stratified halves by label, seed 0", "encrypted": {"split": "train", "images": 150},
                                       "public_plain": {"split": "train", "images": 150},
                                       "attacked": {"split": "test", "images": 120}}


def test_the_summary_rows_import_no_torch():
    """The report reads attack results without torch: the summary rows' module imports none of it."""
    code = "import sys, pipeline.evaluate.attack_summary; print('torch' in sys.modules, 'train' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.split() == ["False", "False"], done.stderr
