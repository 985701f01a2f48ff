"""Larger than memory: per-image PE keys drawn block by block are the whole split's; the statistics of
the statistical attacks accumulated over blocks (read from v7.3 files) are the whole arrays' numbers
bit for bit, and a method whose S x S statistics cannot fit runs its bounded algorithm, named with why in one line."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import pytest

from tests.generated import make_image_folder, twin_sets
import yaml

from pipeline.attack import app as attack_app
from workbench.data.datasets import DATASETS, dataset_spec
from pipeline.encrypt.command import encrypt_app
from pipeline.encrypt.pe import derive_key
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions
from pipeline.encrypt.stage import key_of_data
from pipeline.errors import PipelineError
from pipeline.evaluate import sample_map_attack as core
from pipeline.evaluate import sample_map_bounded as bounded
from pipeline.evaluate.attack_data import StoredPictures, load_attack_data
from pipeline.evaluate.attack_methods.registry import METHODS
from pipeline.evaluate.attack_methods.sample_map import SampleMapMethod
from pipeline.evaluate.evaluation import Evaluation, attack_methods, skipped_methods
from pipeline.evaluate.etc_attack import block_statistics, block_statistics_of
from pipeline.fetch import app as fetch_app
from tests.cli import invoke


@pytest.mark.parametrize("draw", ["project", "reference"])
def test_per_image_pe_keys_drawn_in_blocks_are_the_whole_split_s(draw):
    key = derive_key(b"a secret of this test", (7, 7, 3), "image", draw)  # 147 samples: 8 images end on a byte
    whole = key.tables("|train", 21)
    drawer = key.table_drawer("|train")
    parts = [drawer(n) for n in (8, 8, 5)]
    for table, expected in zip(zip(*parts), whole):
        assert np.array_equal(np.concatenate(table), expected)
    if draw == "project":  # 3 images end inside a byte: what follows would not be the whole split's keys
        drawer = key.table_drawer("|train")
        drawer(3)
        with pytest.raises(PipelineError, match="end inside a byte"):
            drawer(1)


def _blocks(flat: np.ndarray, labels: np.ndarray, rows: int) -> core.Blocks:
    return lambda: ((flat[i:i + rows], labels[i:i + rows]) for i in range(0, len(flat), rows))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_class_moments_in_any_blocks_are_numpy_s_mean_and_std_bit_for_bit(dtype):
    rng = np.random.default_rng(3)
    flat = rng.integers(0, 256, (203, 40)).astype(np.uint8)
    labels = rng.choice([0, 1, 3], 203)  # class 2 has no image: zeros
    means, stds = core.class_moments(_blocks(flat, labels, 7), 4, 40, dtype)
    for k in range(4):
        x = flat[labels == k].astype(dtype)
        expected = (x.mean(axis=0), x.std(axis=0)) if len(x) else (np.zeros(40), np.zeros(40))
        assert np.array_equal(means[:, k], expected[0]) and np.array_equal(stds[:, k], expected[1])


def test_correlations_in_blocks_are_the_whole_array_s(monkeypatch):
    monkeypatch.setattr(core, "CORRELATION_ROWS", 50)  # several float32 products, blocks straddling them
    rng = np.random.default_rng(4)
    flat = rng.integers(0, 256, (230, 30)).astype(np.uint8)
    flat[:, 5] = 9  # a constant position: correlation 0
    labels = np.zeros(230, np.int64)
    whole = core.correlations(core.in_memory(flat, labels), 30)
    assert np.array_equal(core.correlations(_blocks(flat, labels, 7), 30), whole)
    # oracle: numpy's corrcoef in float64 (50 rows of products <= 255^2 are exact in float32); float32 output
    with np.errstate(invalid="ignore"):  # the constant position: 0 / 0
        expected = np.nan_to_num(np.corrcoef(flat.astype(np.float64), rowvar=False))
    expected[5, 5] = 0.0
    assert np.allclose(whole, expected, rtol=0, atol=1e-6)


def test_block_statistics_in_blocks_are_the_pictures_per_block():
    rng = np.random.default_rng(5)
    pictures = rng.integers(0, 256, (61, 8, 12, 3)).astype(np.uint8)
    labels = rng.integers(0, 3, 61)
    stats = block_statistics_of(_blocks(pictures.reshape(61, -1), labels, 9), 3, (8, 12, 3), 4)
    assert np.array_equal(stats, block_statistics(pictures, labels, 3, 4))
    # oracle: block (1, 2) (rows 4..7, columns 8..11), class 2's mean and std, in the block's (row, column, channel) order
    chosen = pictures[labels == 2][:, 4:8, 8:12].reshape(-1, 48).astype(np.float64)
    assert np.allclose(stats[1 * 3 + 2, 4], chosen.mean(axis=0), rtol=1e-12) and np.allclose(stats[5, 5], chosen.std(axis=0), rtol=1e-12)


@pytest.mark.parametrize("scheme, options", [("etc", []), ("random", ["--key-seed", "2"])])
def test_a_v73_set_s_attack_statistics_are_read_in_blocks_and_equal_the_whole_set_s(private_secret, tmp_path, scheme, options, monkeypatch):
    monkeypatch.setattr("workbench.data.stored.CHUNK_IMAGES", 5)  # several blocks, the last one short
    monkeypatch.setattr(core, "CORRELATION_ROWS", 8)
    folder = make_image_folder(tmp_path / "images", {"train": 5, "test": 3})
    data = twin_sets(tmp_path, folder)
    evaluations = {}
    for name in ("small", "big"):
        out = ["--out", str(data / name / scheme)]  # the scheme's own folder, also under a key seed
        assert invoke(encrypt_app(), ["--scheme", scheme, "--dataset", name, "--data-dir", data, *options, *out]).exit_code == 0
        spec = dataset_spec(name, data)
        chosen, key = key_of_data(scheme, spec, KeyOptions(data_dir=data))
        attack_data = load_attack_data(data, spec, chosen, key, stream=True)
        in_files = [side for side in ("plain_train", "enc_train", "plain_test", "enc_test") if isinstance(getattr(attack_data, side), StoredPictures)]
        assert in_files == ([] if name == "small" else ["plain_train", "enc_train", "plain_test", "enc_test"])
        evaluations[name] = Evaluation(attack_data, chosen, block_size=chosen.public_block_size(spec, KeyOptions(data_dir=data)))
    blocks = list(evaluations["big"].data.blocks("enc_test")())
    assert [len(rows) for rows, _ in blocks] == [5, 4]  # 3 classes x 3 test images, read 5 at a time
    assert np.array_equal(np.concatenate([rows for rows, _ in blocks]), evaluations["small"].data.enc_test.reshape(9, -1))
    small, big = (evaluations[name].statistics()[:2] for name in ("small", "big"))
    for one, other in zip(small, big):
        for field in ("means", "stds", "corr"):
            assert np.array_equal(getattr(one, field), getattr(other, field))
    assert evaluations["small"].methods() == evaluations["big"].methods()
    for method in evaluations["small"].methods():  # every method's estimate, from statistics read either way
        a, b = (evaluations[name].ciphertext_only(method).record for name in ("small", "big"))
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}


@pytest.mark.parametrize("scheme", ["etc", "vor"])
def test_a_map_attack_whose_statistics_cannot_fit_runs_its_bounded_algorithm_and_says_why_in_one_line(scheme):
    spec = replace(DATASETS["cifar10"], height=224, width=224, name="big")
    chosen, block_size = SCHEMES.get(scheme), 16 if scheme == "etc" else None
    methods = attack_methods(spec, chosen, block_size)
    assert [m.name for m in methods] == (["sample-map", "etc-blocks"] if scheme == "etc" else ["sample-map", "pixel-map"])
    assert skipped_methods(spec, chosen, block_size) == []
    for kind, name in (("ciphertext-only", bounded.COA_ALGORITHM), ("known-plaintext", bounded.KPA_ALGORITHM)):
        algorithm = methods[0].algorithm(spec, kind)
        assert algorithm["name"] == name and "\n" not in algorithm["why"]
        assert algorithm["why"].startswith("150528 sample positions (224 x 224 x 3) need a 150528 x 150528")
        assert "169 GiB" in algorithm["why"] and str(core.MAX_POSITIONS) in algorithm["why"]
    if scheme == "vor":
        assert methods[1].algorithm(spec, "ciphertext-only")["why"].startswith("50176 sample positions (224 x 224 pixels)")
    else:
        assert methods[1].algorithm(spec, "ciphertext-only") is None  # etc-blocks bounds its own statistics
    small = replace(DATASETS["cifar10"], height=64, width=64, name="fits")  # 12288 positions: the S x S path, records as before
    assert attack_methods(small, chosen, block_size)[0].name == "sample-map" and skipped_methods(small, chosen, block_size) == []
    assert all(m.algorithm(small, kind) is None for m in attack_methods(small, chosen, block_size) for kind in ("ciphertext-only", "known-plaintext"))


def test_the_attack_command_records_the_bounded_algorithm_of_a_map_method_too_large_for_its_statistics(tmp_path):
    folder = make_image_folder(tmp_path / "images", {"train": 1, "test": 1})
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"datasets": {"large": {"source": "folder", "path": str(folder), "size": 130,
                                                             "colour": "grey", "storage": "v7.3"}}}))
    data = tmp_path / "data"
    assert invoke(fetch_app, ["--dataset", "large", "--params-file", params, "--data-dir", data]).exit_code == 0
    assert invoke(encrypt_app(), ["--scheme", "vor", "--dataset", "large", "--data-dir", data]).exit_code == 0
    result = invoke(attack_app, ["--dataset", "large", "--scheme", "vor", "--kind", "ciphertext-only", "--no-recognisability",
                                 "--data-dir", data, "--out", tmp_path / "out"])
    why = ("16900 sample positions (130 x 130 x 1) need a 16900 x 16900 correlation matrix (2 GiB); "
           "it takes at most 16384 positions")
    assert result.exit_code == 0 and "skipped" not in result.stdout, result.output
    record = json.loads((tmp_path / "out" / "large_vor_ciphertext-only.json").read_text())
    assert record["skipped"] == [] and [a["method"] for a in record["attacks"]] == ["sample-map"]  # pixel-map: colour only
    assert record["attacks"][0]["algorithm"] == {"name": bounded.COA_ALGORITHM, "why": why}
    assert record["baselines"]["true_key"]["psnr"] > record["baselines"]["encrypted"]["psnr"]


def test_a_method_that_declares_it_cannot_run_is_skipped_with_its_line():
    @dataclass(frozen=True)
    class Refusing(SampleMapMethod):
        def unfit(self, spec):
            return f"needs more than {spec.height} rows"

    spec, chosen = replace(DATASETS["cifar10"], height=16, width=16, name="tiny"), SCHEMES.get("vor")
    with METHODS.added(Refusing("refusing")):
        assert skipped_methods(spec, chosen, None) == [{"method": "refusing", "reason": "needs more than 16 rows"}]
        assert "refusing" not in [m.name for m in attack_methods(spec, chosen, None)]
