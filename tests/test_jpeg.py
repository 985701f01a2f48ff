"""JPEG on EtC images: the file sizes of the paper's Table IV and the PSNR cost of the shuffle."""
from __future__ import annotations

import io
import json
from dataclasses import asdict

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from pipeline import etc as etc_cli
from pipeline import jpeg as jpeg_cli
from pipeline.data.datasets import dataset_spec, load_split, pictures_from_rows
from pipeline.errors import PipelineError
from pipeline.etc import encrypt, load_encrypted_split
from pipeline.encrypt.etc_key import SECRET_ENV, derive_key
from pipeline.jpeg import compare, jpeg_bytes, jpeg_roundtrip, markdown_table, psnr
from pipeline.data.cifar import read_cifar_split
from tests.shared import shared_path

SECRET = b"correct horse battery staple"


@pytest.fixture(scope="module")
def cifar_subset() -> np.ndarray:
    """The 2,034 real CIFAR-10 images of the shared subset (train batch part + test part)."""
    folder = shared_path("data", "cifar-10-subset")
    rows = np.concatenate([read_cifar_split(folder, split)[0] for split in ("train", "test")])
    return pictures_from_rows(rows, dataset_spec("cifar10"))


@pytest.fixture(scope="module")
def measured(cifar_subset):
    key = derive_key(SECRET, (32, 32, 3), 16)
    results, _ = compare(cifar_subset, encrypt(cifar_subset, key), key, [85, 80])
    return {r.quality: r for r in results}


@pytest.mark.parametrize("quality", [85, 80])
def test_etc_jpeg_files_are_within_one_percent_of_plain(measured, quality):
    r = measured[quality]
    assert r.etc_bytes / r.origin_bytes == pytest.approx(r.etc_over_origin)
    assert abs(r.etc_over_origin - 1) < 0.01, r


@pytest.mark.parametrize("quality", [85, 80])
def test_decrypted_etc_jpeg_loses_less_than_one_and_a_half_db(measured, quality):
    r = measured[quality]
    # The channel shuffle moves luminance into the 4:2:0-subsampled chroma, so EtC loses a bit more.
    assert 0 < r.psnr_origin_db - r.psnr_etc_db < 1.5, r
    assert 25 < r.psnr_etc_db < r.psnr_origin_db < 40


def test_lower_quality_gives_smaller_files_and_lower_psnr(measured):
    assert measured[80].origin_bytes < measured[85].origin_bytes
    assert measured[80].etc_bytes < measured[85].etc_bytes
    assert measured[80].psnr_origin_db < measured[85].psnr_origin_db


def test_jpeg_files_are_baseline_420_at_the_quality_asked(cifar_subset):
    data = jpeg_bytes(cifar_subset[0], 85)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.layer[0][1:3] == (2, 2) and image.layer[1][1:3] == (1, 1)  # 4:2:0 sampling factors
    assert not image.info.get("progressive")
    decoded, sizes = jpeg_roundtrip(cifar_subset[:3], 85)
    assert sizes[0] == len(data) and decoded.shape == (3, 32, 32, 3)


def test_grey_images_round_trip_through_jpeg():
    rng = np.random.default_rng(0)
    smooth = np.repeat(np.repeat(rng.integers(0, 256, (5, 7, 7, 1), dtype=np.uint8), 4, axis=1), 4, axis=2)
    decoded, sizes = jpeg_roundtrip(smooth, 95)
    assert decoded.shape == smooth.shape and decoded.dtype == np.uint8
    assert Image.open(io.BytesIO(jpeg_bytes(smooth[0], 95))).mode == "L"
    assert psnr(smooth, decoded) > 25 and (sizes > 100).all()


def test_psnr_values():
    a = np.zeros((2, 4, 4, 1), dtype=np.uint8)
    b = a.copy()
    assert psnr(a, b) == float("inf")
    b[0, 0, 0, 0] = 255  # MSE = 255^2 / 32
    assert psnr(a, b) == pytest.approx(10 * np.log10(32))


def test_quality_out_of_range_is_refused():
    with pytest.raises(PipelineError, match="quality must be 1..95"):
        jpeg_roundtrip(np.zeros((1, 8, 8, 3), dtype=np.uint8), 100)


def test_markdown_table_has_the_papers_rows(measured):
    table = markdown_table("cifar10", 2034, 2034 * 3072, [measured[85], measured[80]])
    assert "| | JPEG q85 | JPEG q80 | uncompressed |" in table
    assert f"| plain (MB) | {measured[85].origin_bytes / 1e6:.2f} | {measured[80].origin_bytes / 1e6:.2f} | 6.25 |" in table


def test_cli_reports_table_iv_and_writes_the_compressed_datasets(tmp_path, monkeypatch, measured):
    origin = tmp_path / "cifar10" / "origin"
    origin.mkdir(parents=True)
    (origin / "cifar-10-batches-mat").symlink_to(shared_path("data", "cifar-10-subset"))
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    assert CliRunner().invoke(etc_cli.app, ["--dataset", "cifar10", "--data-dir", str(tmp_path)]).exit_code == 0

    args = ["--dataset", "cifar10", "--data-dir", str(tmp_path), "--results-dir", str(tmp_path / "jpeg"), "--write-dataset"]
    result = CliRunner().invoke(jpeg_cli.app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "jpeg" / "cifar10.json").read_text())
    assert report["images"] == 2034 and report["uncompressed_bytes"] == 2034 * 3072
    assert [r["quality"] for r in report["results"]] == [85, 80]
    for r in report["results"]:  # the CLI measures what compare() measures
        assert r == pytest.approx(asdict(measured[r["quality"]]))
    assert (tmp_path / "jpeg" / "cifar10.md").read_text() in result.output

    key = derive_key(SECRET, (32, 32, 3), 16)
    plain, labels = load_split(tmp_path, "cifar10", "origin", "test")
    plain = pictures_from_rows(plain, dataset_spec("cifar10"))
    etc_jpeg, etc_labels = load_encrypted_split(tmp_path, "cifar10", "test", key, variant="etcq85")
    plain_jpeg, plain_labels = load_split(tmp_path, "cifar10", "originq85", "test")
    assert np.array_equal(etc_labels, labels) and np.array_equal(plain_labels, labels)
    assert np.array_equal(pictures_from_rows(plain_jpeg, dataset_spec("cifar10")), jpeg_roundtrip(plain, 85)[0])
    assert np.array_equal(etc_jpeg, jpeg_roundtrip(encrypt(plain, key), 85)[0])
    assert sorted(p.name for p in tmp_path.joinpath("cifar10").iterdir()) == ["etc", "etcq80", "etcq85", "origin", "originq80", "originq85"]

    monkeypatch.setenv(SECRET_ENV, "another secret of enough length")
    refused = CliRunner().invoke(jpeg_cli.app, args)
    assert refused.exit_code == 1 and f"was encrypted with EtC key {key.fingerprint} (block 16), not with the given key" in refused.output
