"""Compressibility (the EtC paper's Table IV) for every scheme, and the codecs it rests on."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from matlab_compat import savemat
from pipeline.compress import app as compress_app
from workbench.data.cifar import read_cifar_split
from workbench.data.codecs import (
    available_lossless,
    decode,
    jpeg_bytes,
    jpeg_roundtrip,
    lossless_bytes,
    lossless_sizes,
    psnr,
)
from workbench.data.datasets import dataset_spec, pictures_from_rows
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions
from workbench.errors import WorkbenchError
from pipeline.evaluate.compress import PUBLIC_SECRET, compressibility
from tests.cli import invoke
from tests.shared import shared_path

SECRET = b"correct horse battery staple"


@pytest.fixture(scope="module")
def cifar_rows():
    folder = shared_path("data", "cifar-10-subset")
    return {split: read_cifar_split(folder, split) for split in ("train", "test")}


@pytest.fixture(scope="module")
def table(cifar_rows):
    """Table IV rows for 300 real CIFAR-10 images (200 train, 100 test): plain, EtC, ELE, PE."""
    spec = dataset_spec("cifar10")
    plain = {"train": pictures_from_rows(cifar_rows["train"][0][:200], spec), "test": pictures_from_rows(cifar_rows["test"][0][:100], spec)}
    options = KeyOptions(secret=SECRET, key_mode="image")
    keyed = [(SCHEMES[name], SCHEMES[name].key(spec, options)) for name in ("etc", "ele", "pe")]
    return plain, {row["scheme"]: row for row in compressibility(plain, keyed, [85], ["jpeg2000"])}


def test_etc_stays_within_one_percent_of_plain_and_ele_far_above(table):
    _, rows = table
    assert rows["origin"]["over_plain"] == {"jpeg q85": 1.0, "jpeg2000": 1.0}
    assert abs(rows["etc"]["over_plain"]["jpeg q85"] - 1) < 0.01  # the paper: +0.4 %
    assert rows["ele"]["over_plain"]["jpeg q85"] > 1.8  # the paper: 134.5 MB vs 68.7 MB (1.96)
    assert rows["ele"]["over_plain"]["jpeg2000"] > 1.5 and rows["pe"]["over_plain"]["jpeg q85"] > 1.5
    assert rows["pe"]["key"]["key_mode"] == "image"


def test_psnr_is_of_the_decrypted_jpeg_images(table):
    plain, rows = table
    pictures = np.concatenate([plain["train"], plain["test"]])
    assert rows["origin"]["psnr_db"]["jpeg q85"] == pytest.approx(psnr(pictures, jpeg_roundtrip(pictures, 85)[0]))
    key = SCHEMES["etc"].key(dataset_spec("cifar10"), KeyOptions(secret=SECRET))
    back = SCHEMES["etc"].decrypt(key, jpeg_roundtrip(SCHEMES["etc"].encrypt(key, pictures), 85)[0])
    assert rows["etc"]["psnr_db"]["jpeg q85"] == pytest.approx(psnr(pictures, back))
    # 4:4:4 keeps EtC's shuffled colours intact; JPEG noise in 4-bit planes ruins ELE after decryption
    assert abs(rows["etc"]["psnr_db"]["jpeg q85"] - rows["origin"]["psnr_db"]["jpeg q85"]) < 0.3
    assert rows["ele"]["psnr_db"]["jpeg q85"] < 20 < rows["pe"]["psnr_db"]["jpeg q85"]


def test_lossless_codecs_are_lossless_and_jpeg_files_have_the_asked_sampling(cifar_rows):
    pictures = pictures_from_rows(cifar_rows["test"][0][:5], dataset_spec("cifar10"))
    grey = pictures[..., :1].copy()
    assert available_lossless() == ["jpeg2000", "jpeg-ls", "png"]
    for codec in available_lossless():
        for batch in (pictures, grey):
            assert all(np.array_equal(decode(lossless_bytes(p, codec), p.shape), p) for p in batch), codec
            assert (lossless_sizes(batch, codec) == [len(lossless_bytes(p, codec)) for p in batch]).all()
    for subsampling, factors in [("4:4:4", (1, 1)), ("4:2:0", (2, 2))]:
        image = Image.open(io.BytesIO(jpeg_bytes(pictures[0], 85, subsampling)))
        assert image.format == "JPEG" and image.layer[0][1:3] == factors and not image.info.get("progressive")
    assert Image.open(io.BytesIO(jpeg_bytes(grey[0], 85))).mode == "L"


def test_bad_codec_options_are_refused():
    picture = np.zeros((1, 8, 8, 3), np.uint8)
    with pytest.raises(WorkbenchError, match="JPEG quality must be 1..95"):
        jpeg_roundtrip(picture, 100)
    with pytest.raises(WorkbenchError, match="--subsampling: choose 4:4:4 or 4:2:0"):
        jpeg_roundtrip(picture, 85, "4:2:2")
    with pytest.raises(WorkbenchError, match="lossless codec 'webp' is not available"):
        lossless_bytes(picture[0], "webp")


def test_psnr_values():
    a = np.zeros((2, 4, 4, 1), dtype=np.uint8)
    b = a.copy()
    assert psnr(a, b) == float("inf")
    b[0, 0, 0, 0] = 255  # MSE = 255^2 / 32
    assert psnr(a, b) == pytest.approx(10 * np.log10(32))


def test_cli_writes_the_table_of_what_compressibility_measures(tmp_path, cifar_rows):
    folder = tmp_path / "data" / "cifar10" / "origin" / "cifar-10-batches-mat"
    folder.mkdir(parents=True)
    for name, (rows, labels), count in [("data_batch_1.mat", cifar_rows["train"], 12), ("test_batch.mat", cifar_rows["test"], 8)]:
        savemat(folder / name, {"data": np.ascontiguousarray(rows[:count]), "labels": labels[:count]})
    args = ["--dataset", "cifar10", "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--public-secret",
            "--quality", "85", "--scheme", "etc", "--scheme", "le", "--scheme", "random"]
    result = invoke(compress_app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "cifar10.json").read_text())
    assert report["images"] == 20 and report["codecs"]["jpeg"]["subsampling"] == "4:4:4"
    spec = dataset_spec("cifar10")
    plain = {"train": pictures_from_rows(cifar_rows["train"][0][:12], spec), "test": pictures_from_rows(cifar_rows["test"][0][:8], spec)}
    options = KeyOptions(secret=PUBLIC_SECRET)
    expected = compressibility(plain, [(SCHEMES[n], SCHEMES[n].key(spec, options)) for n in ("etc", "le", "random")],
                               [85], available_lossless())
    assert [r["scheme"] for r in report["rows"]] == ["origin", "etc", "le", "random"]
    for got, want in zip(report["rows"], expected):
        assert got["bytes"] == want["bytes"] and got["psnr_db"] == pytest.approx(want["psnr_db"])
    assert report["rows"][3]["psnr_db"] == {}  # random is not invertible
    assert (tmp_path / "out" / "cifar10.md").read_text() in result.output
    refused = invoke(compress_app, args + ["--subsampling", "4:1:1"])
    assert refused.exit_code == 1 and "--subsampling" in refused.stderr and refused.stderr.count("\n") == 1
