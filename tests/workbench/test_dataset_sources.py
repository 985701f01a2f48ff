"""Dataset sources are registry parts: a new one, added through the public interface, is declared and
fetched by ``python -m pipeline.fetch`` like the built-in ones, with no change to the fetch."""
from __future__ import annotations

import numpy as np
import yaml
from PIL import Image

from matlab_compat import loadmat
from pipeline.fetch import app as fetch_app
from tests.cli import invoke
from workbench.data.dataset_sources import SOURCES
from workbench.data.images import plan_images
from workbench.data.source_folder import FolderSource


class NpzSource(FolderSource):
    """A numpy archive of ``train_x``/``test_x`` (N, H, W, 3) uint8 pictures and ``train_y``/``test_y``
    labels, unpacked into class folders of PNG files (lossless) and read like a ``folder`` source."""

    def plan(self, decl, request):
        archive = np.load(decl.path)
        folder = request.data_dir / "downloads" / decl.name
        for split in ("train", "test"):
            for k, (picture, label) in enumerate(zip(archive[f"{split}_x"], archive[f"{split}_y"])):
                target = folder / split / f"class{label}" / f"{k:04d}.png"
                target.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(picture).save(target)
        return plan_images(decl, folder), None


def _archive(tmp_path):
    rng = np.random.default_rng(7)
    arrays = {"train_x": rng.integers(0, 256, (9, 8, 6, 3), dtype=np.uint8), "train_y": np.array([2, 0, 1, 0, 2, 1, 1, 0, 2]),
              "test_x": rng.integers(0, 256, (4, 8, 6, 3), dtype=np.uint8), "test_y": np.array([1, 0, 2, 0])}
    np.savez(tmp_path / "pictures.npz", **arrays)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"datasets": {"dots": {"source": "npz", "path": "pictures.npz"}}}))
    return arrays, params


def test_a_source_added_to_the_registry_is_declared_and_fetched_like_the_built_in_ones(tmp_path):
    arrays, params = _archive(tmp_path)
    data = tmp_path / "data"
    with SOURCES.added(NpzSource("npz", path="numpy archive")):
        done = invoke(fetch_app, ["--dataset", "dots", "--params-file", params, "--data-dir", data])
    assert done.exit_code == 0, done.output
    stored = loadmat(data / "dots" / "origin" / "dots.mat")
    for split in ("train", "test"):
        order = np.argsort(arrays[f"{split}_y"], kind="stable")  # stored class by class, in file order
        pictures = arrays[f"{split}_x"][order]
        # the stored layout: one row per image, channel planes, each row by row
        assert np.array_equal(stored[f"{split}_x"], pictures.transpose(0, 3, 1, 2).reshape(len(order), -1))
        assert np.array_equal(stored[f"{split}_y"].argmax(axis=1), arrays[f"{split}_y"][order])
    assert (data / "dots" / "params" / "vor_params_dots.mat").is_file()


def test_a_source_not_registered_is_refused_in_one_line_naming_the_key_and_the_choices(tmp_path):
    _, params = _archive(tmp_path)
    refused = invoke(fetch_app, ["--dataset", "dots", "--params-file", params, "--data-dir", tmp_path / "data"])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert refused.output.strip() == ("error: datasets.dots.source: choose one of "
                                      f"{', '.join(SOURCES)}, got 'npz'")
    assert "npz" not in SOURCES and not (tmp_path / "data" / "dots").exists()


def test_a_source_declares_what_a_declaration_with_it_takes():
    taking_paths = {part.name: part.path for part in SOURCES.where(lambda part: part.path)}
    assert taking_paths == {"folder": "folder", "csv": "CSV file"}
    assert [part.name for part in SOURCES.where(lambda part: part.builtin)] == ["mnist", "fashion", "cifar10"]
    assert dict(SOURCES.get("imagenette").defaults)["test_folder"] == "val"
