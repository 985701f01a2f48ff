"""The profiles: conf/config.yaml (CPU, the default) composed by DVC's Hydra into params.yaml, and the
overlays of conf/profile/ (paper: the published recipes; the information study's study and study-gpu; ...)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import compose_and_dump

from pipeline.encrypt.registry import SCHEMES
from pipeline.evaluate.study_definition import load_study
from tests.shared import ROOT
from train.config import resolve_config
from workbench.data.datasets import variant_name

OVERLAYS = ("paper", "offline-cifar", "colour", "imagenette", "private")
BUILT_IN = ("cpu", "paper", "offline-cifar", "colour")  # profiles whose datasets are built in (recipes resolve unfetched)
STUDY_PROFILES = ("study", "study-gpu")


def composed(profile: str | None, folder: Path) -> Path:
    """params.yaml of ``profile`` (None: the default) as `dvc exp run -S '+profile=NAME'` writes it (DVC's own function)."""
    out = folder / f"{profile or 'default'}.yaml"
    compose_and_dump(out, str(ROOT / "conf"), None, "config", "", [] if profile is None else [f"+profile={profile}"])
    return out


@pytest.fixture(scope="module")
def profiles(tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("profiles")
    found = {"cpu": composed(None, folder)}
    found.update({name: composed(name, folder) for name in (*OVERLAYS, *STUDY_PROFILES)})
    return {name: yaml.safe_load(path.read_text()) for name, path in found.items()}


def test_params_yaml_is_the_composition_of_the_default_profile(tmp_path):
    """`dvc repro` reads params.yaml; `dvc exp run` rewrites it from conf/: the two must agree byte for byte."""
    assert composed(None, tmp_path).read_text() == (ROOT / "params.yaml").read_text(), \
        "params.yaml is not conf/'s composition: edit conf/, then write params.yaml with `dvc exp run` (README, Profiles)"


def test_every_overlay_is_in_conf_and_says_only_what_differs():
    assert sorted(p.stem for p in (ROOT / "conf" / "profile").glob("*.yaml")) == sorted((*OVERLAYS, *STUDY_PROFILES))
    base = yaml.safe_load((ROOT / "conf" / "config.yaml").read_text())
    for name in OVERLAYS:
        overlay = yaml.safe_load((ROOT / "conf" / "profile" / f"{name}.yaml").read_text())
        for key, value in overlay.items():
            if key != "defaults" and isinstance(value, dict):
                assert all(base[key].get(k) != v for k, v in value.items()), (name, key, value)
            elif key != "defaults":
                assert base[key] != value, (name, key)


def cells(params: dict) -> list[tuple[str, str, str]]:
    """The (dataset, variant, model) cells of a profile's training runs, in order, each once."""
    runs = params["train"]["runs"].values()
    return list(dict.fromkeys((r["dataset"], r["variant"], r["model"]) for r in runs))


@pytest.mark.parametrize("profile", [*BUILT_IN, "private", "imagenette"])
def test_every_run_is_named_by_what_it_trains(profile, profiles):
    for name, run in profiles[profile]["train"]["runs"].items():
        assert set(run) == {"dataset", "variant", "model", "seed"}
        assert name == f"{run['dataset']}-{run['model']}-{run['variant']}-s{run['seed']}"


def test_every_cell_of_the_default_profile_is_three_runs_and_a_keyed_scheme_pairs_seed_and_key(profiles):
    runs = list(profiles["cpu"]["train"]["runs"].values())
    by_cell: dict[str, list] = {}
    for run in runs:
        scheme, _, key = run["variant"].partition("-k")
        by_cell.setdefault(scheme, []).append((run["seed"], int(key) if key else None))
    assert set(by_cell) == {"origin", "vor", "random", "etc", "pe", "ele"}
    for scheme, seeds_keys in by_cell.items():
        if scheme in ("origin", "vor"):
            assert sorted(seeds_keys) == [(0, None), (1, None), (2, None)], scheme
        else:  # seed k with benchmark key k: the spread covers both
            assert sorted(seeds_keys) == [(0, 0), (1, 1), (2, 2)], scheme


@pytest.mark.parametrize("profile", BUILT_IN)
def test_every_training_cell_resolves_to_a_recipe(profile, profiles):
    params = profiles[profile]
    assert params["profile"] == profile
    for dataset, variant, model in cells(params):
        config = resolve_config(params["train"]["preset"], {"dataset": dataset, "scheme": variant, "model": model, **params["train"]["options"]})
        assert (config.dataset, config.scheme, config.model) == (dataset, variant, model)
        # every trained variant is encrypted, and every encrypted dataset is fetched
        encrypted = {(e["dataset"], e["variant"]) for e in params["encrypt"].values()}
        assert variant == "origin" or (dataset, variant) in encrypted
        assert dataset in params["datasets"]


@pytest.mark.parametrize("profile", BUILT_IN)
def test_every_isotropic_cell_resolves_to_its_recipe_on_an_encrypted_variant(profile, profiles):
    params = profiles[profile]
    iso = params["isotropic"]
    encrypted = {(e["dataset"], e["variant"]) for e in params["encrypt"].values()}
    for recipe in iso["recipes"]:
        for variant in iso["variants"]:
            config = resolve_config(recipe, {"dataset": iso["dataset"], "scheme": variant, **iso["options"]})
            assert (config.dataset, config.scheme) == (iso["dataset"], variant)
            assert variant == "origin" or (iso["dataset"], variant) in encrypted


@pytest.mark.parametrize("profile", ["cpu", *OVERLAYS])
def test_every_entry_names_its_variant_once_and_every_measured_variant_is_encrypted(profile, profiles):
    params = profiles[profile]
    entries = {**params["encrypt"], **params["private"]}  # benchmark keys; private secrets (stage encrypt_private)
    assert params["private"] == {} or profile == "private"
    for name, entry in entries.items():
        assert entry["scheme"] in SCHEMES
        assert entry["variant"] == variant_name(entry["scheme"], entry["options"].get("key-seed"))  # the one naming
        assert name == f"{entry['dataset']}-{entry['variant']}"  # stage names say what they make
        assert entry["dataset"] in params["datasets"]
    for stage in ("attack", "learned", "information"):
        for name, entry in params[stage]["variants"].items():
            assert entries[name] == entry, (stage, name)
    assert params["results"] == ("results" if profile == "cpu" else f"results/{profile}")


def test_each_keyed_scheme_of_the_default_profile_runs_over_three_benchmark_keys(profiles):
    keys: dict[str, set] = {}
    for entry in profiles["cpu"]["encrypt"].values():
        if SCHEMES.get(entry["scheme"]).key_source != "parameter file":
            keys.setdefault(entry["scheme"], set()).add(entry["options"]["key-seed"])
    assert keys == {s: {0, 1, 2} for s in ("random", "etc", "pe", "ele", "le", "block")}
    attacked = {e["variant"] for e in profiles["cpu"]["attack"]["variants"].values()}  # the statistical attacks: every key
    assert {f"{s}-k{k}" for s in keys for k in (0, 1, 2)} <= attacked
    learned = {e["variant"] for e in profiles["cpu"]["learned"]["variants"].values()}  # every key: mean +- sd over keys
    assert learned == {"vor"} | {f"{s}-k{k}" for s in keys for k in (0, 1, 2)}
    information = {e["variant"] for e in profiles["cpu"]["information"]["variants"].values()}  # le, ele: no view
    assert {f"{s}-k{k}" for s in ("random", "etc", "pe", "block") for k in (0, 1, 2)} <= information


def test_the_paper_profile_is_the_published_table(profiles):
    params = profiles["paper"]
    recipes = {(d, v, m): resolve_config("paper", {"dataset": d, "scheme": v, "model": m}) for d, v, m in cells(params)}
    assert len(recipes) == 18
    c = recipes[("cifar10", "vor", "resnet18")]
    assert (c.epochs, c.batch, c.crop, c.lr, c.wd, c.ricap) == (100, 32, 224, 0.1, 1e-4, 0.3)
    v = recipes[("fashion", "vor", "vit_b_16")]
    assert (v.epochs, v.batch, v.crop, v.lr, v.wd) == (50, 128, 224, 0.005, 5e-4)


@pytest.mark.parametrize("profile,stages", [  # fetch+encrypt, attack, learned + figures, information, train, isotropic,
    ("cpu", 1 + 19 + 19 + 19 + 1 + 13 + 18 + 1), ("paper", 3 + 11 + 6 + 6 + 3 + 6 + 18 + 16 + 1),  # evaluate (+ study)
    ("offline-cifar", 1 + 3 + 3 + 3 + 4 + 1), ("colour", 1 + 7 + 7 + 7 + 1 + 4 + 1 + 1), ("imagenette", 1 + 5 + 2 + 12 + 1),
    ("study", 1 + 19 + 19 + 19 + 1 + 13 + 18 + 1 + 1), ("study-gpu", 3 + 11 + 6 + 6 + 3 + 6 + 18 + 16 + 1 + 1),
    ("private", 1 + 5 + 5 + 5 + 2 + 4 + 1)])  # private: fetch, fingerprint + encrypt_private per entry, attack, ...
def test_dvc_generates_the_profiles_stages(profile, stages, tmp_path):
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    composed(None if profile == "cpu" else profile, tmp_path).rename(tmp_path / "params.yaml")
    shutil.copytree(ROOT / ".dvc", tmp_path / ".dvc", ignore=shutil.ignore_patterns("tmp", "cache"))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    dvc = str(Path(sys.executable).parent / "dvc")
    listed = subprocess.run([dvc, "stage", "list", "--name-only"], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    assert listed.returncode == 0, listed.stderr
    names = listed.stdout.split()
    assert len(names) == stages and "evaluate" in names
    assert ("study@study" in names) == profile.startswith("study")


@pytest.mark.parametrize("profile", STUDY_PROFILES)
def test_the_study_profiles_extend_their_base_profile_and_define_a_valid_study(profile, profiles, tmp_path):
    params = profiles[profile]
    base = profiles["cpu" if profile == "study" else "paper"]
    assert {k: v for k, v in params.items() if k != "study"} == {k: v for k, v in base.items() if k != "study"}
    study = load_study(composed(profile, tmp_path), "study")
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
    learned, evaluate = learned["do"], evaluate
    folder = _option(learned["cmd"], "--out")
    assert folder == _option(evaluate["cmd"], "--out") + "/attacks" and folder in evaluate["deps"]
    written = [next(iter(entry)) for key in ("metrics", "outs") for entry in learned[key]]
    assert len(written) == 6 and all(path.startswith(folder + "/") for path in written)
