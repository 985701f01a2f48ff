"""The attack command on 224 x 224 x 3 images stored v7.3: the methods whose S x S statistics cannot fit are
skipped with their reason, EtC's block attack runs on the adversary's sides (the encrypted training images
0:half against the public plain images half:N), and its key share is the one of the same attack on those
images held in memory, scored against the victim's key."""
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
from pipeline.fetch import app as fetch_app
from tests.cli import invoke
from workbench.data.datasets import dataset_spec, load_split, pictures_from_rows

SECRET = b"a secret of the large-image test"


def _large_set(tmp_path) -> tuple:
    """``large``: 2 classes of 224 x 224 RGB PNGs (one smooth random picture, brighter in ``bright``, with noise),
    declared and fetched stored v7.3; returns (data dir, spec). A folder's train split is stored class by
    class (``bright`` first): 4 + 2 train images, so that both halves of it (encrypted 0:3, public 3:6) hold
    ``bright`` images and the per-class statistics carry information; 1 + 1 test images."""
    rng = np.random.default_rng(7)
    scene = np.asarray(Image.fromarray(rng.integers(20, 200, (28, 28, 3)).astype(np.uint8)).resize((224, 224), Image.BICUBIC), float)
    for split, counts in (("train", (2, 4)), ("test", (1, 1))):
        for c, (name, count) in enumerate(zip(("dark", "bright"), counts)):
            folder = tmp_path / "images" / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                picture = np.clip(scene + 30 * c + rng.normal(0, 10, scene.shape), 0, 255).astype(np.uint8)
                Image.fromarray(picture).save(folder / f"{i}.png")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"datasets": {"large": {"source": "folder", "path": str(tmp_path / "images"), "size": 224,
                                                             "colour": "rgb", "storage": "v7.3"}}}))
    data = tmp_path / "data"
    assert invoke(fetch_app, ["--dataset", "large", "--params-file", params, "--data-dir", data]).exit_code == 0
    return data, dataset_spec("large", data)


def test_the_attack_command_at_224_px_runs_etc_blocks_and_skips_the_map_methods(tmp_path):
    data, spec = _large_set(tmp_path)
    key_file = tmp_path / "secret"
    key_file.write_bytes(SECRET)
    done = invoke(encrypt_app(), ["--scheme", "etc", "--dataset", "large", "--block-size", 16, "--key-file", key_file, "--data-dir", data])
    assert done.exit_code == 0, done.output
    out = tmp_path / "out"
    done = invoke(attack_app, ["--dataset", "large", "--scheme", "etc", "--kind", "ciphertext-only", "--kind", "known-plaintext",
                               "--pairs", 1, "--no-recognisability", "--key-file", key_file, "--data-dir", data, "--out", out])
    assert done.exit_code == 0, done.output
    coa, kpa = (json.loads((out / f"large_etc_{kind}.json").read_text()) for kind in ("ciphertext-only", "known-plaintext"))
    reason = "150528 sample positions (224 x 224 x 3) need a 150528 x 150528 correlation matrix (169 GiB); it takes at most 16384 positions"
    assert coa["skipped"] == kpa["skipped"] == [{"method": "sample-map", "reason": reason}]  # pixel-map: not for a negating scheme
    assert f"skipped sample-map: {reason}" in done.stdout
    assert coa["statistics_from"]["encrypted"] == {"split": "train", "images": [0, 3]}
    assert coa["statistics_from"]["public_plain"] == {"split": "train", "images": [3, 6]}
    assert [a["method"] for a in coa["attacks"]] == ["etc-blocks"] and {a["method"] for a in kpa["attacks"]} == {"etc-blocks"}

    # the victim's key, checked to make the stored encrypted images; the attack on the same sides, held in memory
    truth = derive_key(SECRET, (224, 224, 3), 16)
    (plain, labels), (encrypted, _) = (load_split(data, spec, variant, "train") for variant in ("origin", "etc"))
    plain, encrypted = pictures_from_rows(plain, spec), pictures_from_rows(encrypted, spec)
    assert np.array_equal(encrypt(plain, truth), encrypted)
    estimate, _ = etc_attack.ciphertext_only_key(encrypted[:3], labels[:3], plain[3:], labels[3:], block_size=16, num_classes=2)
    found, right = etc_sample_map(estimate), etc_sample_map(truth)
    attack = coa["attacks"][0]
    assert attack["key_tables"] == etc_attack.table_shares(estimate, truth)
    assert attack["key_share"]["exact"] == float(((found.source == right.source) & (found.negate == right.negate)).mean())
    assert 0.3 < attack["key_share"]["exact"] < 1.0  # this set: about half the samples, from 3 + 3 images
    # one known pair of noisy images leaves one key: the true one, decrypting the test images exactly
    for attack in kpa["attacks"]:
        assert attack["pairs"] == 1 and attack["key_share"]["exact"] == 1.0 and attack["key_tables"]["all"] == 1.0
        assert attack["psnr"] == kpa["baselines"]["true_key"]["psnr"] == 100.0
