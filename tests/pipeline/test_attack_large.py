"""The attack command on 224 x 224 x 3 images stored v7.3: the map method whose S x S statistics cannot fit runs
its bounded algorithm (named in the record, with why) and gives the key share of that algorithm run in memory on
the same sides, EtC's block attack runs on the adversary's sides (the encrypted training images
of one half against the public plain images of the other: :func:`~pipeline.evaluate.halves.adversary_halves`), and its key share is the one of the same attack on those
images held in memory, scored against the victim's key. On small images every method runs, each with the
key share of its estimator run in memory on the same sides (the S x S statistics, as before they were lazy)."""
from __future__ import annotations

import json

import numpy as np
import yaml
from PIL import Image

from pipeline.attack import app as attack_app
from pipeline.encrypt.command import encrypt_app
from pipeline.encrypt.etc import encrypt, etc_sample_map
from pipeline.encrypt.etc_key import derive_key
from pipeline.evaluate import etc_attack
from pipeline.evaluate import sample_map_attack as core
from pipeline.evaluate import sample_map_bounded as bounded
from pipeline.evaluate.halves import adversary_halves
from pipeline.fetch import app as fetch_app
from tests.cli import invoke
from workbench.data.datasets import dataset_spec, load_split, pictures_from_rows

SECRET = b"a secret of the large-image test"


def _scene_set(tmp_path, size: int = 224, train: tuple[int, int] = (4, 2)) -> tuple:
    """``large``: 224 x 224 RGB PNGs of 2 classes, ``scene`` (one smooth random picture with noise) and ``void``
    (flat mid-grey), ``train`` images each and 1 + 1 test images, declared and fetched stored v7.3 at ``size`` px
    (class by class, as a folder's train split is stored); returns (data dir, spec)."""
    rng = np.random.default_rng(7)
    scene = np.asarray(Image.fromarray(rng.integers(20, 200, (28, 28, 3)).astype(np.uint8)).resize((224, 224), Image.BICUBIC), float)
    for split, counts in (("train", train), ("test", (1, 1))):
        for name, count in zip(("scene", "void"), counts):
            folder = tmp_path / "images" / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                noisy = np.clip(scene + rng.normal(0, 10, scene.shape), 0, 255)
                Image.fromarray((noisy if name == "scene" else np.full_like(scene, 127)).astype(np.uint8)).save(folder / f"{i}.png")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"datasets": {"large": {"source": "folder", "path": str(tmp_path / "images"), "size": size,
                                                             "colour": "rgb", "storage": "v7.3"}}}))
    data = tmp_path / "data"
    assert invoke(fetch_app, ["--dataset", "large", "--params-file", params, "--data-dir", data]).exit_code == 0
    return data, dataset_spec("large", data)


def test_the_attack_command_at_224_px_runs_etc_blocks_and_the_bounded_map_method(tmp_path):
    data, spec = _scene_set(tmp_path)
    key_file = tmp_path / "secret"
    key_file.write_bytes(SECRET)
    done = invoke(encrypt_app(), ["--scheme", "etc", "--dataset", "large", "--block-size", 16, "--key-file", key_file, "--data-dir", data])
    assert done.exit_code == 0, done.output
    out = tmp_path / "out"
    done = invoke(attack_app, ["--dataset", "large", "--scheme", "etc", "--kind", "ciphertext-only", "--kind", "known-plaintext",
                               "--pairs", 1, "--no-recognisability", "--key-file", key_file, "--data-dir", data, "--out", out])
    assert done.exit_code == 0, done.output
    coa, kpa = (json.loads((out / f"large_etc_{kind}.json").read_text()) for kind in ("ciphertext-only", "known-plaintext"))
    why = "150528 sample positions (224 x 224 x 3) need a 150528 x 150528 correlation matrix (169 GiB); it takes at most 16384 positions"
    assert coa["skipped"] == kpa["skipped"] == [] and "skipped" not in done.stdout  # pixel-map: not for a negating scheme
    assert coa["statistics_from"]["rule"] == "stratified halves by label, seed 0"
    assert coa["statistics_from"]["encrypted"] == coa["statistics_from"]["public_plain"] == {"split": "train", "images": 3}
    assert [a["method"] for a in coa["attacks"]] == ["sample-map", "etc-blocks"]
    assert {a["method"] for a in kpa["attacks"]} == {"sample-map", "etc-blocks"}
    for attack in coa["attacks"] + kpa["attacks"]:
        kind = "ciphertext-only" if attack["pairs"] is None else "known-plaintext"
        named = {"name": {"ciphertext-only": bounded.COA_ALGORITHM, "known-plaintext": bounded.KPA_ALGORITHM}[kind], "why": why}
        assert attack.get("algorithm") == (named if attack["method"] == "sample-map" else None)

    # the victim's key, checked to make the stored encrypted images; the attack on the same sides, held in memory
    truth = derive_key(SECRET, (224, 224, 3), 16)
    (plain, labels), (encrypted, _) = (load_split(data, spec, variant, "train") for variant in ("origin", "etc"))
    plain, encrypted = pictures_from_rows(plain, spec), pictures_from_rows(encrypted, spec)
    assert np.array_equal(encrypt(plain, truth), encrypted)
    enc_rows, public_rows = adversary_halves(labels)
    assert set(labels[enc_rows]) == set(labels[public_rows]) == {0, 1}  # both classes on both sides, stored class by class
    size = 224 * 224 * 3
    flat_enc, flat_pub = encrypted[enc_rows].reshape(3, -1), plain[public_rows].reshape(3, -1)
    cost = bounded.feature_cost(core.class_moments(core.in_memory(flat_enc, labels[enc_rows]), 2, size),
                                core.class_moments(core.in_memory(flat_pub, labels[public_rows]), 2, size), negation=True)
    right = etc_sample_map(truth)
    in_memory = {(None, True): bounded.nearest_feature_map(cost),
                 (1, False): bounded.signature_map(plain[:1].reshape(1, -1), encrypted[:1].reshape(1, -1), negation=True),
                 (1, True): bounded.signature_map(plain[:1].reshape(1, -1), encrypted[:1].reshape(1, -1), negation=True, prior=cost)}
    for attack in (a for a in coa["attacks"] + kpa["attacks"] if a["method"] == "sample-map"):
        found = in_memory[attack["pairs"], attack["uses_statistics"]]
        assert attack["key_share"]["exact"] == float(((found.source == right.source) & (found.negate == right.negate)).mean())
    estimate, _ = etc_attack.ciphertext_only_key(encrypted[enc_rows], labels[enc_rows], plain[public_rows], labels[public_rows],
                                                 block_size=16, num_classes=2)
    found = etc_sample_map(estimate)
    attack = coa["attacks"][1]
    assert attack["key_tables"] == etc_attack.table_shares(estimate, truth)
    assert attack["key_share"]["exact"] == float(((found.source == right.source) & (found.negate == right.negate)).mean())
    assert attack["key_share"]["exact"] == 1.0  # this set: the whole key, from 3 + 3 images
    # one known pair of noisy images leaves one key: the true one, decrypting the test images exactly
    for attack in (a for a in kpa["attacks"] if a["method"] == "etc-blocks"):
        assert attack["pairs"] == 1 and attack["key_share"]["exact"] == 1.0 and attack["key_tables"]["all"] == 1.0
        assert attack["psnr"] == kpa["baselines"]["true_key"]["psnr"] == 100.0


def test_on_small_images_every_method_runs_and_gives_the_in_memory_attacks_key_share(tmp_path):
    data, spec = _scene_set(tmp_path, 16, (20, 10))  # 16 x 16 x 3 stored v7.3: everything fits
    key_file = tmp_path / "secret"
    key_file.write_bytes(SECRET)
    done = invoke(encrypt_app(), ["--scheme", "etc", "--dataset", "large", "--block-size", 4, "--key-file", key_file, "--data-dir", data])
    assert done.exit_code == 0, done.output
    done = invoke(attack_app, ["--dataset", "large", "--scheme", "etc", "--kind", "ciphertext-only", "--no-recognisability",
                               "--key-file", key_file, "--data-dir", data, "--out", tmp_path / "out"])
    assert done.exit_code == 0 and "skipped" not in done.stdout, done.output
    record = json.loads((tmp_path / "out" / "large_etc_ciphertext-only.json").read_text())
    assert record["skipped"] == [] and [a["method"] for a in record["attacks"]] == ["sample-map", "etc-blocks"]
    # the estimators on the same sides held in memory (the S x S statistics, as before the lazy statistics)
    truth = etc_sample_map(derive_key(SECRET, (16, 16, 3), 4))
    (plain, labels), (encrypted, _) = (load_split(data, spec, variant, "train") for variant in ("origin", "etc"))
    plain, encrypted = pictures_from_rows(plain, spec), pictures_from_rows(encrypted, spec)
    enc, pub = adversary_halves(labels)
    observed, public = (core.statistics(pictures.reshape(len(pictures), -1), part, 2)
                        for pictures, part in ((encrypted[enc], labels[enc]), (plain[pub], labels[pub])))
    estimates = {"sample-map": core.ciphertext_only_map(observed, public, negation=True)[0],
                 "etc-blocks": etc_sample_map(etc_attack.ciphertext_only_key(encrypted[enc], labels[enc], plain[pub], labels[pub],
                                                                             block_size=4, num_classes=2)[0])}
    for attack in record["attacks"]:
        found = estimates[attack["method"]]
        assert attack["key_share"]["exact"] == float(((found.source == truth.source) & (found.negate == truth.negate)).mean())
