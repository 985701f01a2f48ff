"""The learned attacks and the information measure on large sets: settings scaled to the image, the images
read capped (drawn by seed; the first N for the measure), what cannot fit refused before any image is read, and ITN and
GAN training and scoring on 224 x 224 colour images."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.generated import make_image_folder, twin_sets

from workbench.data.datasets import DATASETS, dataset_spec
from pipeline.encrypt.command import encrypt_app
from pipeline.encrypt.registry import SCHEMES
from pipeline.errors import PipelineError
from pipeline.encrypt.scheme import KeyOptions
from pipeline.evaluate.attack_data import AttackData, load_attack_data
from pipeline.evaluate.information import DistanceWeight, check_size, load_splits
from pipeline.evaluate.learned.mixing import BlockMixing, SeparableMixing
from pipeline.evaluate.learned.networks import translator
from pipeline.evaluate.learned.run import run_attack
from pipeline.evaluate.learned.sample import drawn_rows, load_capped, sized_for
from pipeline.evaluate.learned.settings import LearnedSettings, profile
from pipeline.evaluate.metrics import ssim
from tests.cli import invoke


def test_the_cpu_profile_is_scaled_to_224_px_images_and_unchanged_on_small_ones():
    cpu = profile("cpu")
    assert sized_for(cpu, (32, 32, 3)) == cpu and sized_for(cpu, (28, 28, 1)) == cpu
    big = sized_for(cpu, (224, 224, 3))  # 49 times the samples of a 32 x 32 x 3 image
    assert (big.public_images, big.holdout, big.batch, big.gan_batch) == (12_000 // 49, 20, 4, 4)
    assert (big.train_images, big.test_images) == (2 * 244, 10_000 // 49)
    assert big.record()["train_images"] == 488  # what the result file records
    assert sized_for(profile("paper"), (224, 224, 3)) == profile("paper")  # GPU-sized: every image
    with pytest.raises(PipelineError, match="setting test_images must be at least 1, got 0"):
        LearnedSettings(test_images=0)


def test_drawn_rows_are_all_in_order_under_the_cap_else_a_seeded_draw():
    assert np.array_equal(drawn_rows(5, None, 0), np.arange(5)) and np.array_equal(drawn_rows(5, 5, 0), np.arange(5))
    rows = drawn_rows(100, 10, 3)
    assert np.array_equal(rows, np.random.default_rng(3).permutation(100)[:10]) and len(set(rows.tolist())) == 10


@pytest.mark.parametrize("scheme", ["etc", "random"])
def test_capped_images_are_the_whole_split_s_drawn_rows_read_alone_or_cut(private_secret, tmp_path, scheme):
    folder = make_image_folder(tmp_path / "images", {"train": 5, "test": 3})
    data = twin_sets(tmp_path, folder)
    settings = LearnedSettings(seed=4, train_images=7, test_images=4)
    for name in ("small", "big"):  # v7: read whole, then cut; v7.3: only the drawn rows read
        assert invoke(encrypt_app(), ["--scheme", scheme, "--dataset", name, "--data-dir", data]).exit_code == 0
        spec = dataset_spec(name, data)
        whole = load_attack_data(data, spec, SCHEMES.get(scheme))
        capped = load_capped(data, spec, SCHEMES.get(scheme), settings)
        train = np.random.default_rng(4).permutation(len(whole.plain_train))[:7]
        test = np.random.default_rng(4).permutation(len(whole.plain_test))[:4]
        for field, rows in [("plain_train", train), ("train_labels", train), ("enc_train", train),
                            ("plain_test", test), ("test_labels", test), ("enc_test", test)]:
            assert np.array_equal(getattr(capped, field), getattr(whole, field)[rows]), (name, field)
        uncapped = load_capped(data, spec, SCHEMES.get(scheme), LearnedSettings())
        assert np.array_equal(uncapped.enc_test, whole.enc_test)


def test_the_information_measure_reads_only_max_images_of_a_v73_split(tmp_path):
    folder = make_image_folder(tmp_path / "images", {"train": 5, "test": 3})
    data = twin_sets(tmp_path, folder)
    for max_images in (None, 4):
        small, big = (load_splits(data, name, "all", max_images) for name in ("small", "big"))
        assert list(big) == ["train", "test"]
        for split in big:
            assert np.array_equal(big[split], small[split]) and (max_images is None or len(big[split]) == 4)


def test_the_information_measure_refuses_a_weight_too_long_for_224_px_images_before_reading_any():
    spec = replace(DATASETS["cifar10"], height=224, width=224, name="big")
    check_size(spec, DistanceWeight())  # the default weight: truncated at about 8 pixels (tests/pipeline/test_information_near.py)
    with pytest.raises(PipelineError, match="the information measure on big: at 224 x 224 pixels the weight reaches 33.0 pixels"):
        check_size(spec, DistanceWeight(1.0, 1.0))
    check_size(replace(spec, height=64, width=64), DistanceWeight(1.0, 1.0))  # the dense measure: no truncation


@pytest.mark.parametrize("kind, scheme", [("itn", "etc"), ("gan", "etc"), ("itn", "random")])
def test_itn_and_gan_train_and_score_on_224_px_colour_images(kind, scheme):
    rng = np.random.default_rng(0)
    pictures = rng.integers(0, 256, (14, 224, 224, 3), dtype=np.uint8)
    labels = np.arange(14) % 2
    spec = replace(DATASETS["cifar10"], height=224, width=224, name="big")
    chosen, options = SCHEMES.get(scheme), KeyOptions(block_size=16)
    key = chosen.adversary_key(spec, options, 99)
    encrypted = chosen.encrypt(key, pictures)
    data = AttackData(spec, pictures[:10], labels[:10], encrypted[:10], pictures[10:], labels[10:], encrypted[10:])
    tiny = LearnedSettings(width=4, batch=2, gan_batch=2, public_images=10, holdout=2, adversary_keys=2, itn_steps=1,
                           gan_steps=1, eval_every=1, checkpoint_every=1, patience=1)
    # etc's public block size makes the mixing block-wise; the pixel-wise permutation gets the separable one
    assert isinstance(translator(data, chosen, options, 4).mix, BlockMixing if scheme == "etc" else SeparableMixing)
    outcome = run_attack(kind, data, chosen, options, tiny)
    assert outcome.recovered.shape == (4, 224, 224, 3) and outcome.record["steps"] == 1
    assert np.isclose(outcome.record["ssim"], ssim(outcome.recovered, data.plain_test).mean())
    assert "not_applicable" not in outcome.record
    assert outcome.record["held"]["mixing"] == ("BlockMixing" if scheme == "etc" else "SeparableMixing")  # recorded in the result
