"""Benchmark keys regenerate in any clone: two fresh copies of a small project (offline, generated MNIST-like
data) run the data stages of every scheme of the default profile, each keyed scheme over its benchmark keys,
through `dvc repro`, and every output hash in their `dvc.lock` agrees.

Cost: 45 s of CPU (133 s wall on the shared 2-core machine): two fetches and 2 x 19 encryptions of
2,500 images; the mirror's parameter files are drawn once.
"""
from __future__ import annotations

import json

import pytest
import yaml

from tests.shared import ROOT
from tests.test_dvc_pipeline import _environment, _generated_mirror, _lock_hashes, _project_files, _ran, _run

pytestmark = pytest.mark.slow


def _copy(dest, mirror, env):
    """A fresh copy of the working tree whose default profile encrypts the generated data instead of Fashion-MNIST."""
    for name in _project_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["datasets"] = {"mnist": {"source": "mnist"}}
    params["fetch"] = {"mirror": mirror, "allow-unverified": True}
    params["encrypt"] = {name.replace("fashion-", "mnist-"): {**entry, "dataset": "mnist"}
                         for name, entry in params["encrypt"].items()}
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "copy"]):
        _run(cmd, dest, env)
    return dest, params["encrypt"]


def test_two_fresh_copies_encrypt_every_scheme_of_the_default_profile_to_the_same_bytes(tmp_path):
    env = _environment()
    mirror = _generated_mirror(tmp_path / "mirror", env)
    default = yaml.safe_load((ROOT / "params.yaml").read_text())["encrypt"]
    assert {e["scheme"] for e in default.values()} == {"vor", "random", "etc", "pe", "ele", "le", "block"}
    copies = [_copy(tmp_path / folder, mirror, env) for folder in ("one", "two/deeper")]
    stages = ("fetch@mnist", *(f"encrypt@{name}" for name in copies[0][1]))
    for copy, _ in copies:
        assert _ran(_run(["dvc", "repro", *stages], copy, env)) == set(stages)
    assert _lock_hashes(copies[0][0], stages) == _lock_hashes(copies[1][0], stages)
    records = {e["variant"]: json.loads((copies[0][0] / "data" / "mnist" / e["variant"] / "params.json").read_text())["key"]
               for e in copies[0][1].values()}
    keyed = [v for v, e in zip(records, copies[0][1].values()) if "key-seed" in e["options"]]
    assert len(keyed) == 18  # random, etc, pe, ele, le and block over the benchmark keys 0, 1, 2
    for variant in keyed:
        assert variant.endswith(f"-k{records[variant]['key_seed']}")
    fingerprints = [records[v]["key_fingerprint"] for v in keyed if "key_fingerprint" in records[v]]
    assert len(fingerprints) == 15 and len(set(fingerprints)) == 15  # each secret-keyed variant its own key
