"""The profiles: params.yaml (CPU, the default), profiles/paper.yaml (the published recipes) and the
information study's profiles/study.yaml (CPU) and profiles/study-gpu.yaml (the paper's ResNet-18)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.encrypt.registry import SCHEMES
from pipeline.evaluate.study_definition import load_study
from tests.shared import ROOT
from train.config import resolve_config

PROFILES = {"cpu": ROOT / "params.yaml", "paper": ROOT / "profiles" / "paper.yaml",
            "offline-cifar": ROOT / "profiles" / "offline-cifar.yaml", "colour": ROOT / "profiles" / "colour.yaml"}
STUDY_PROFILES = {"study": ROOT / "profiles" / "study.yaml", "study-gpu": ROOT / "profiles" / "study-gpu.yaml"}


def cells(params: dict) -> list[tuple[str, str, str]]:
    t = params["train"]
    return [(d, v, m) for d in t["datasets"] for v in t["variants"] for m in t["models"]]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_training_cell_resolves_to_a_recipe(profile):
    params = yaml.safe_load(PROFILES[profile].read_text())
    assert params["profile"] == profile
    for dataset, variant, model in cells(params):
        config = resolve_config(params["train"]["preset"], {"dataset": dataset, "scheme": variant, "model": model, **params["train"]["options"]})
        assert (config.dataset, config.scheme, config.model) == (dataset, variant, model)
        # every trained variant is encrypted, and every encrypted dataset is fetched
        encrypted = {(e["dataset"], e["scheme"]) for e in params["encrypt"].values()}
        assert variant == "origin" or (dataset, variant) in encrypted
        assert dataset in params["datasets"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_isotropic_cell_resolves_to_its_recipe_on_an_encrypted_variant(profile):
    params = yaml.safe_load(PROFILES[profile].read_text())
    iso = params["isotropic"]
    encrypted = {(e["dataset"], e["scheme"]) for e in params["encrypt"].values()}
    for recipe in iso["recipes"]:
        for variant in iso["variants"]:
            config = resolve_config(recipe, {"dataset": iso["dataset"], "scheme": variant, **iso["options"]})
            assert (config.dataset, config.scheme) == (iso["dataset"], variant)
            assert variant == "origin" or (iso["dataset"], variant) in encrypted


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_scheme_is_registered_and_every_measured_variant_encrypted(profile):
    params = yaml.safe_load(PROFILES[profile].read_text())
    encrypted = {(e["dataset"], e["scheme"]) for e in params["encrypt"].values()}
    assert all(scheme in SCHEMES for _, scheme in encrypted)
    assert all(f"{d}-{s}" in params["encrypt"] for d, s in encrypted)  # stage names say what they make
    for stage in ("attack", "learned", "information"):
        assert {(d, s) for d in params[stage]["datasets"] for s in params[stage]["schemes"]} <= encrypted
    assert params["results"] == ("results" if profile == "cpu" else f"results/{profile}")


def test_the_paper_profile_is_the_published_table():
    params = yaml.safe_load(PROFILES["paper"].read_text())
    recipes = {(d, v, m): resolve_config("paper", {"dataset": d, "scheme": v, "model": m}) for d, v, m in cells(params)}
    assert len(recipes) == 18
    c = recipes[("cifar10", "vor", "resnet18")]
    assert (c.epochs, c.batch, c.crop, c.lr, c.wd, c.ricap) == (100, 32, 224, 0.1, 1e-4, 0.3)
    v = recipes[("fashion", "vor", "vit_b_16")]
    assert (v.epochs, v.batch, v.crop, v.lr, v.wd) == (50, 128, 224, 0.005, 5e-4)


@pytest.mark.parametrize("profile,stages", [  # fetch+encrypt, attack, learned + figures, information, train, isotropic,
    ("cpu", 1 + 7 + 7 + 7 + 1 + 4 + 6 + 1), ("paper", 3 + 11 + 6 + 6 + 3 + 6 + 18 + 16 + 1),  # evaluate (+ study)
    ("offline-cifar", 1 + 3 + 3 + 3 + 4 + 1), ("colour", 1 + 7 + 7 + 7 + 1 + 4 + 1 + 1), ("imagenette", 1 + 5 + 2 + 12 + 1),
    ("study", 1 + 7 + 7 + 7 + 1 + 4 + 6 + 1 + 1), ("study-gpu", 3 + 11 + 6 + 6 + 3 + 6 + 18 + 16 + 1 + 1)])
def test_dvc_generates_the_profiles_stages(profile, stages, tmp_path):
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    shutil.copy({**PROFILES, **STUDY_PROFILES, "imagenette": ROOT / "profiles" / "imagenette.yaml"}[profile], tmp_path / "params.yaml")
    shutil.copytree(ROOT / ".dvc", tmp_path / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache"))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    dvc = str(Path(sys.executable).parent / "dvc")
    listed = subprocess.run([dvc, "stage", "list", "--name-only"], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    assert listed.returncode == 0, listed.stderr
    names = listed.stdout.split()
    assert len(names) == stages and "evaluate" in names
    assert ("study@study" in names) == profile.startswith("study")


@pytest.mark.parametrize("profile", sorted(STUDY_PROFILES))
def test_the_study_profiles_extend_their_base_profile_and_define_a_valid_study(profile):
    params = yaml.safe_load(STUDY_PROFILES[profile].read_text())
    base = yaml.safe_load(PROFILES["cpu" if profile == "study" else "paper"].read_text())
    assert {k: v for k, v in params.items() if k != "study"} == {k: v for k, v in base.items() if k != "study"}
    study = load_study(STUDY_PROFILES[profile], "study")
    assert len(study.encryptions) >= 12 and len(study.seeds) >= 3 and study.baseline == "random"
    assert len(study.weights) == 10 and study.dataset in params["datasets"]
    reduced = load_study(ROOT / "results" / "information" / "study-reduced" / "params.yaml", "study")
    assert reduced.encryptions == study.encryptions  # the committed reduced run studies the same encryptions


def _option(cmd: str, name: str) -> str:
    words = cmd.split()
    return words[words.index(name) + 1]


def test_the_learned_stage_writes_where_the_report_reads_attacks():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    learned, evaluate = stages["learned"], stages["evaluate"]
    folder = _option(learned["cmd"], "--out")
    assert folder == _option(evaluate["cmd"], "--attacks-dir") and folder in evaluate["deps"]
    written = [next(iter(entry)) for key in ("metrics", "outs") for entry in learned[key]]
    assert len(written) == 6 and all(path.startswith(folder + "/") for path in written)
