"""Declared datasets: the declaration's checks, bad input as one line naming the file (before any
output), resize and centre-crop against torchvision, the seeded split, CSV sources, v7.3 storage,
and every stage reading the recorded description instead of a name."""
from __future__ import annotations

import json
import tarfile

import numpy as np
import pytest
import torch
import torchvision.transforms as T
import yaml
from dvc.utils.hydra import compose_and_dump
from PIL import Image

from matlab_compat import RowChunks, RowReader, loadmat, read_header, savemat
from workbench.data.datasets import DatasetSpec, dataset_spec, load_split, spec_record, variant_name
from workbench.data.declared import parse_declaration
from workbench.data.fetch import fetch_declared
from workbench.data.images import decode, plan_images
from pipeline.encrypt.command import encrypt_app
from workbench.errors import WorkbenchError
from pipeline.evaluate.runs import Run
from pipeline.fetch import app as fetch_app
from tests.cli import invoke
from tests.shared import ROOT
from tests.generated import CLASSES, make_image_folder, twin_sets

from train.config import resolve_config
from train.data import StoredImages, load_dataset
from train.loop import fit


def _declare(root, **entry) -> object:
    return parse_declaration("shapes", {"source": "folder", "path": str(root), **entry})


def _fetch_cli(tmp_path, entry: dict, *args):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"datasets": {"shapes": entry}}))
    return invoke(fetch_app, ["--dataset", "shapes", "--params-file", params, "--data-dir", tmp_path / "data", *args])


@pytest.fixture
def folder(tmp_path):
    return make_image_folder(tmp_path / "images", {"train": 4, "test": 2})


# --------------------------------------------------------------------------- declarations


@pytest.mark.parametrize("entry, words", [
    ({"source": "folder"}, "datasets.shapes.path"),
    ({"source": "folder", "path": "x", "colour": "blue"}, "datasets.shapes.colour: choose grey or rgb"),
    ({"source": "folder", "path": "x", "colour": ["rgb"]}, "datasets.shapes.colour: choose grey or rgb, got ['rgb']"),
    ({"source": "folder", "path": "x", "size": 0}, "datasets.shapes.size: must be a whole number >= 2"),
    ({"source": "folder", "path": "x", "sise": 16}, "datasets.shapes.sise: unknown key"),
    ({"source": "folder", "path": "x", "split": {"test": 1.5}}, "strictly between 0 and 1"),
    ({"source": "csv", "path": "x.csv", "split": {"test": 0.2}}, "datasets.shapes.classes"),
    ({"source": "csv", "path": "x.csv", "classes": 3}, "a csv source needs a seeded split"),
    ({"source": "mnist"}, "a built-in dataset is declared as `mnist: {source: mnist}`"),
    ({"source": "svhn"}, "datasets.shapes.source: choose one of"),
])
def test_a_bad_declaration_is_one_line_naming_its_key(entry, words):
    with pytest.raises(WorkbenchError, match=None) as err:
        parse_declaration("shapes", entry)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_dataset_name_holds_no_underscore():
    with pytest.raises(WorkbenchError, match="no '_'"):
        parse_declaration("my_set", {"source": "folder", "path": "x"})


# --------------------------------------------------------------------------- bad input, before work


def _bad(tmp_path, folder, entry=None) -> str:
    result = _fetch_cli(tmp_path, {"source": "folder", "path": str(folder), "size": 16, **(entry or {})})
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "data" / "shapes").exists()  # nothing written
    return result.stderr


def test_a_non_image_file_is_named(tmp_path, folder):
    (folder / "train" / "dots" / "notes.txt").write_text("hello")
    assert f"{folder / 'train' / 'dots' / 'notes.txt'}: not a PNG/JPEG image file" in _bad(tmp_path, folder)


def test_an_unreadable_image_is_named(tmp_path, folder):
    broken = folder / "test" / "rings" / "0.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert f"{broken}: not a readable PNG/JPEG image" in _bad(tmp_path, folder)


def test_mixed_sizes_without_a_declared_size_are_named(tmp_path, folder):
    err = _fetch_cli(tmp_path, {"source": "folder", "path": str(folder)}).stderr
    assert "30 x 24 pixels, but" in err and "declare `size:`" in err and str(folder / "train" / "bars" / "1.png") in err


def test_an_empty_class_folder_is_named(tmp_path, folder):
    for p in (folder / "train" / "dots").iterdir():
        p.unlink()
    assert f"{folder / 'train' / 'dots'}: empty class folder" in _bad(tmp_path, folder)


def test_a_class_missing_from_test_is_named(tmp_path, folder):
    for p in (folder / "test" / "rings").iterdir():
        p.unlink()
    (folder / "test" / "rings").rmdir()
    assert f"{folder / 'test' / 'rings'}: class 'rings' has train images but no test folder" in _bad(tmp_path, folder)


def test_csv_labels_out_of_range_are_named_by_line(tmp_path, folder):
    table = folder / "labels.csv"
    table.write_text("path,label\ntrain/bars/0.png,0\ntrain/dots/0.png,3\n")
    result = _fetch_cli(tmp_path, {"source": "csv", "path": str(table), "classes": 3, "split": {"test": 0.5, "seed": 0}})
    assert result.exit_code == 1 and f"{table}:3: label '3' out of range: labels are 0..2" in result.stderr


def test_a_declared_block_size_must_divide_the_images(tmp_path, folder):
    assert "datasets.shapes.block-size: 5 does not divide the 16 x 16 images" in _bad(tmp_path, folder, {"block-size": 5})


def test_an_undeclared_dataset_is_named_with_the_fix(tmp_path):
    with pytest.raises(WorkbenchError, match="declare it under `datasets:`"):
        dataset_spec("leaves", tmp_path)


# --------------------------------------------------------------------------- what is stored


def test_resize_and_centre_crop_are_torchvision_s(folder):
    decl = _declare(folder, size=16, colour="rgb")
    plan = plan_images(decl)
    reference = T.Compose([T.Resize(16), T.CenterCrop(16)])
    for item in plan.items["train"][:6]:
        ours, digest = decode(item, decl, 16, 16)
        with Image.open(item.path) as image:
            expected = np.asarray(reference(image.convert("RGB")))
        assert np.array_equal(ours, expected) and len(digest) == 64


def test_fetch_writes_the_mnist_layout_and_every_stage_reads_the_recorded_description(tmp_path, folder):
    decl = _declare(folder, size=16, colour="grey")
    summary = fetch_declared(decl, tmp_path / "data")["origin"]
    assert summary["inputs"]["images"] == {"train": 12, "test": 6}
    spec = dataset_spec("shapes", tmp_path / "data")
    assert (spec.height, spec.width, spec.channels, spec.num_classes, spec.block_size) == (16, 16, 1, 3, 8)
    train_rows, _ = load_split(tmp_path / "data", "shapes", "origin", "train")
    assert spec.mean == pytest.approx((train_rows.mean() / 255,), abs=1e-4)  # training's normalisation
    assert spec.std == pytest.approx((train_rows.std() / 255,), abs=1e-4)
    rows, labels = load_split(tmp_path / "data", "shapes", "origin", "test")
    assert rows.shape == (6, 256) and labels.tolist() == [0, 0, 1, 1, 2, 2]
    first = plan_images(decl).items["test"][0]
    assert np.array_equal(rows[0].reshape(16, 16), decode(first, decl, 16, 16)[0][:, :, 0])
    config = resolve_config("cpu", {"dataset": "shapes", "scheme": "vor", "model": "smallcnn", "data_dir": str(tmp_path / "data")})
    assert config.preset == "smallcnn_cpu" and config.crop == 16


def test_a_seeded_split_is_per_class_reproducible_and_recorded(tmp_path):
    images = tmp_path / "flat"
    make_image_folder(tmp_path / "made", {"all": 5})
    (tmp_path / "made" / "all").rename(images)
    decl = _declare(images, size=16, split={"test": 0.4, "seed": 3})
    first, again = plan_images(decl), plan_images(decl)
    assert first.items == again.items
    assert [sum(i.label == c for i in first.items["test"]) for c in range(3)] == [2, 2, 2]
    other = plan_images(_declare(images, size=16, split={"test": 0.4, "seed": 4}))
    assert other.items["test"] != first.items["test"]
    fetch_declared(decl, tmp_path / "data")
    listing = (tmp_path / "data" / "shapes" / "origin" / "images.tsv").read_text().splitlines()[1:]
    tested = [line.split("\t")[5] for line in listing if line.startswith("test\t")]
    assert tested == [i.path.relative_to(images).as_posix() for i in first.items["test"]]


def test_a_csv_source_and_v73_storage_store_the_same_images(tmp_path, folder):
    lines = ["path,label"] + [f"{split}/{name}/{i}.{'png' if i % 4 < 2 else 'jpg'},{c}"
                               for split, n in (("train", 4), ("test", 2)) for c, name in enumerate(CLASSES) for i in range(n)]
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    base = {"path": str(folder / "labels.csv"), "classes": list(CLASSES), "size": 12, "colour": "rgb",
            "split": {"test": 0.25, "seed": 0}}
    v7 = parse_declaration("shapes", {"source": "csv", **base})
    v73 = parse_declaration("big", {"source": "csv", **base, "storage": "v7.3"})
    fetch_declared(v7, tmp_path / "data")
    fetch_declared(v73, tmp_path / "data")
    small = loadmat(tmp_path / "data" / "shapes" / "origin" / "shapes.mat")
    big = loadmat(tmp_path / "data" / "big" / "origin" / "big.mat")
    assert (tmp_path / "data" / "big" / "origin" / "big.mat").read_bytes()[128:136] != b""
    for name in ("train_x", "train_y", "test_x", "test_y"):
        assert np.array_equal(small[name], big[name]) and small[name].dtype == big[name].dtype
    assert small["train_x"].shape == (12, 12 * 12 * 3) and small["test_x"].shape == (6, 12 * 12 * 3)  # 2 of 6 per class
    record = json.loads((tmp_path / "data" / "big" / "origin" / "dataset.json").read_text())
    assert record["classes"] == list(CLASSES) and record["declaration"]["storage"] == "v7.3"


# --------------------------------------------------------------------------- larger than memory


@pytest.mark.parametrize("scheme, options", [("etc", {}), ("vor", {}), ("random", {"key-seed": 3}),
                                             ("pe", {"key-mode": "image"}), ("pe", {"key-mode": "image", "key-draw": "reference"})])
def test_a_v73_set_is_encrypted_block_by_block_to_the_same_images(private_secret, tmp_path, folder, scheme, options, monkeypatch):
    monkeypatch.setattr("pipeline.encrypt.streamed.CHUNK_IMAGES", 5)  # blocks of 8 (the least): train in two, the last short
    data = twin_sets(tmp_path, folder)
    for name in ("small", "big"):
        if scheme == "vor":  # each set draws its own parameters from rng(0): the same rows
            assert (data / name / "params" / f"vor_params_{name}.mat").is_file()
        result = invoke(encrypt_app(), ["--scheme", scheme, "--dataset", name, "--data-dir", data,
                                        *[a for k, v in options.items() for a in (f"--{k}", v)]])
        assert result.exit_code == 0, result.output
    variant = variant_name(scheme, options.get("key-seed"))  # a key seed names its own folder
    for split in ("train", "test"):
        small, big = (load_split(data, n, variant, split) for n in ("small", "big"))
        assert np.array_equal(small[0], big[0]) and np.array_equal(small[1], big[1])
    big_file = next((data / "big" / variant).glob("*.mat"))
    assert read_header(big_file).version == "7.3"  # per-image keys too: drawn block by block in split order


def test_training_reads_a_split_that_does_not_fit_batch_by_batch_with_the_same_result(tmp_path, folder):
    data = twin_sets(tmp_path, folder)
    config = resolve_config("cpu", {"dataset": "big", "model": "smallcnn", "data_dir": str(data), "epochs": 1,
                                    "batch": 8, "device": "cpu"})
    in_memory = load_dataset(data, "big", "origin", "cpu")
    on_disk = load_dataset(data, "big", "origin", "cpu", memory=0)
    assert isinstance(on_disk[0].images, StoredImages) and not isinstance(in_memory[0].images, StoredImages)
    assert torch.equal(on_disk[0].images[torch.tensor([7, 2, 7])], in_memory[0].images[[7, 2, 7]])
    first = fit(config, *in_memory, progress=False).history
    second = fit(config, *on_disk, progress=False).history
    timing = {"train_seconds", "test_seconds", "seconds", "lr"}
    assert [{k: v for k, v in row.items() if k not in timing} for row in first] == \
        [{k: v for k, v in row.items() if k not in timing} for row in second]


@pytest.mark.parametrize("chunk", [1, 4, 7, 64])
def test_rows_written_in_blocks_read_back_whole_and_in_any_order(tmp_path, chunk):
    rows = np.random.default_rng(chunk).integers(0, 256, (30, 11)).astype(np.uint8)
    blocks = (rows[a:a + 9] for a in range(0, 30, 9))
    savemat(tmp_path / "r.mat", {"x": RowChunks((30, 11), np.uint8, blocks, chunk), "y": np.eye(2)}, version="7.3")
    assert np.array_equal(loadmat(tmp_path / "r.mat")["x"], rows)  # the ordinary reader: MATLAB's N x L matrix
    with RowReader(tmp_path / "r.mat", "x") as reader:
        assert reader.shape == (30, 11)
        assert np.array_equal(reader.rows(5, 23), rows[5:23]) and np.array_equal(reader.rows(0, 30), rows)
        picks = np.array([29, 0, 7, 7, 13, 28])
        assert np.array_equal(reader.take(picks), rows[picks])


# --------------------------------------------------------------------------- Imagenette


def test_imagenette_is_fetched_from_a_mirror_and_checked_against_its_pinned_md5(tmp_path, folder):
    (folder / "test").rename(folder / "val")
    archive = tmp_path / "mirror" / "imagenette2-320.tgz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="imagenette2-320")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"datasets": {"imagenette": {"source": "imagenette", "size": 16}}}))
    args = ["--dataset", "imagenette", "--params-file", params, "--data-dir", tmp_path / "data", "--mirror", archive.parent]
    refused = invoke(fetch_app, args)
    assert refused.exit_code == 1 and "imagenette2-320.tgz from mirror: imagenette2-320.tgz: md5 of the archive" in refused.stderr
    assert "differs from the official 3df6f0d01a2c9592104656642f5e78a3" in refused.stderr
    done = invoke(fetch_app, [*args, "--allow-unverified"])
    assert done.exit_code == 0, done.output
    source = json.loads((tmp_path / "data" / "imagenette" / "origin" / "SOURCE.json").read_text())
    assert source["verified"] is False and "the published archive has 9469 and 3925" in " ".join(source["archive"]["problems"])
    spec = dataset_spec("imagenette", tmp_path / "data")
    assert (spec.height, spec.channels, spec.num_classes) == (16, 3, 3)
    assert read_header(tmp_path / "data" / "imagenette" / "origin" / "imagenette.mat").version == "7.3"


def test_the_imagenette_profile_runs_the_paper_s_networks_on_every_block_scheme(tmp_path):
    compose_and_dump(tmp_path / "params.yaml", str(ROOT / "conf"), None, "config", "", ["+profile=imagenette"])
    profile = yaml.safe_load((tmp_path / "params.yaml").read_text())
    decl = parse_declaration("imagenette", profile["datasets"]["imagenette"])
    assert (decl.size, decl.colour, decl.test_folder, decl.storage) == (224, "rgb", "val", "v7.3")
    iso = profile["isotropic"]
    origin = tmp_path / "data" / "imagenette" / "origin"
    origin.mkdir(parents=True)  # the description the fetch would record
    spec = DatasetSpec(224, 224, 3, "imagenette", "imagenette", 1000.0, 800.0, 10, "vor_params_imagenette.mat", 16,
                       layout="mat", vor_double=False, mean=(0.5,) * 3, std=(0.25,) * 3)
    (origin / "dataset.json").write_text(json.dumps(spec_record(spec)))
    encrypted = {e["variant"] for e in profile["encrypt"].values()}
    for recipe in iso["recipes"]:
        for variant in iso["variants"]:
            config = resolve_config(recipe, {"dataset": "imagenette", "scheme": variant, "data_dir": str(tmp_path / "data")})
            assert config.crop == 224 and config.model_options["patch"] in (4, 16)
            assert variant == "origin" or variant in encrypted
    run = Run("imagenette", "convmixer", "etc", "etc", 0, 0, 0, "")
    assert run.published == 90.11 and Run("imagenette", "vit_b_16", "etc", "origin", 0, 0, 0, "").published == 99.64


@pytest.mark.parametrize("scheme", ["etc", "ele", "le", "block"])
def test_a_block_size_that_does_not_divide_the_declared_images_is_one_line(private_secret, tmp_path, folder, scheme):
    fetch_declared(_declare(folder, size=16), tmp_path / "data")
    result = invoke(encrypt_app(), ["--scheme", scheme, "--dataset", "shapes", "--data-dir", tmp_path / "data",
                                    "--block-size", "5"])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "--block-size: block size 5 does not divide 16 x 16 images" in result.stderr
    assert not (tmp_path / "data" / "shapes" / scheme).exists()
