"""A user's own image folder through `dvc repro` in a temporary clone: declared in params.yaml, nothing else.

The folder is generated: three classes of PNG and JPEG files of two sizes (20 x 20 and 30 x 24),
some grey and some colour, in ``train/`` and ``test/``. The profile declares it
(``size: 16, colour: rgb``) and runs the default profile's stages on it: fetch, the five
encryptions, the statistical attacks and the information measure (on EtC), training on plain and
EtC images (one epoch of the CPU recipe) and the report. The learned attacks take minutes even on this
data (``pipeline.learned_attack`` on it was run by hand; ``tests/pipeline/test_learned_attacks.py`` covers
them on tiny data).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from matlab_compat import loadmat
from tests.shared import ROOT
from tests.dvc_project import environment, project_files, run_command, stages_ran
from tests.generated import CLASSES, make_image_folder


pytestmark = pytest.mark.slow

SCHEMES = ("vor", "random", "etc", "pe", "ele")
MEASURED = ("etc",)
VARIANTS = ("origin", "etc")


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("own")
    images = make_image_folder(base / "images", {"train": 16, "test": 6})
    env = environment()
    env["VORTEX_SECRET"] = "a test secret of this clone"
    clone = base / "clone"
    for name in project_files():
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
    params = yaml.safe_load((clone / "params.yaml").read_text())
    params["datasets"] = {"shapes": {"source": "folder", "path": str(images), "size": 16, "colour": "rgb"}}
    params["encrypt"] = {f"shapes-{s}": {"dataset": "shapes", "scheme": s, "variant": s, "options": {}} for s in SCHEMES}
    measured = {f"shapes-{s}": params["encrypt"][f"shapes-{s}"] for s in MEASURED}
    params["attack"] = {"variants": measured}
    params["learned"].update(datasets=[], variants={})
    params["information"] = {"variants": measured}
    params["train"].update(runs={f"shapes-smallcnn-{v}-s0": {"dataset": "shapes", "variant": v, "model": "smallcnn", "seed": 0}
                                 for v in VARIANTS}, options={"epochs": 1, "batch": 16})
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "clone"]):
        run_command(cmd, clone, env)
    return clone, env, run_command(["dvc", "repro"], clone, env)


def test_an_image_folder_runs_through_every_stage(own_run):
    clone, env, output = own_run
    stages = ({"fetch@shapes", "evaluate"} | {f"encrypt@shapes-{s}" for s in SCHEMES}
              | {f"{k}@shapes-{s}" for k in ("attack", "information") for s in MEASURED}
              | {f"train@shapes-smallcnn-{v}-s0" for v in VARIANTS})
    assert stages_ran(output) == stages
    origin = clone / "data" / "shapes" / "origin"
    spec = json.loads((origin / "dataset.json").read_text())
    assert (spec["height"], spec["width"], spec["channels"], spec["num_classes"]) == (16, 16, 3, 3)
    assert spec["classes"] == list(CLASSES) and spec["block_size"] == 8
    stored = loadmat(origin / "shapes.mat")
    assert stored["train_x"].shape == (48, 768) and stored["test_x"].shape == (18, 768)
    assert stored["train_x"].dtype == np.uint8 and stored["train_y"].sum(axis=0).tolist() == [16, 16, 16]
    listing = (origin / "images.tsv").read_text().splitlines()
    assert len(listing) == 1 + 48 + 18 and listing[1].split("\t")[5] == "train/bars/0.png"
    table = (clone / "results" / "table.md").read_text()
    for variant in VARIANTS:
        metrics = json.loads((clone / "results" / "runs" / f"shapes-smallcnn-{variant}-s0" / "metrics.json").read_text())
        assert metrics["epochs"] == 1 and metrics["config"]["crop"] == 16
        assert f"{100 * metrics['test_acc_final']:.2f}" in table
    for scheme in MEASURED:
        assert json.loads((clone / "results" / "attacks" / f"shapes_{scheme}_known-plaintext.json").read_text())
        assert 0 <= json.loads((clone / "results" / "information" / f"shapes_{scheme}.json").read_text())["total_loss_rate"] <= 1
    assert "Running stage" not in run_command(["dvc", "repro"], clone, env)
