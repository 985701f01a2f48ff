"""Keys through `dvc repro`, offline on generated MNIST-like data.

Benchmark keys regenerate in any clone: two fresh copies of a small project run the data stages of every
scheme of the default profile, each keyed scheme over its benchmark keys, and every output hash in their
`dvc.lock` agrees. A private key (the private profile, $VORTEX_SECRET) is a declared dependency: changing
the secret re-runs exactly the encryption it keys.

Cost: 45 s of CPU (133 s wall on the shared 2-core machine): two fetches and 2 x 19 encryptions of
2,500 images; the mirror's parameter files are drawn once.
"""
from __future__ import annotations

import json

import pytest
import yaml

from dvc.utils.hydra import compose_and_dump

from tests.shared import ROOT
from tests.dvc_project import environment, generated_mirror, lock_hashes, project_files, run_command, stages_ran


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    return generated_mirror(tmp_path_factory.mktemp("keys") / "mirror", environment())


def _on_mnist(entries: dict) -> dict:
    return {name.replace("fashion-", "mnist-"): {**entry, "dataset": "mnist"} for name, entry in entries.items()}


def _copy(dest, mirror, env, profile=None):
    """A fresh copy of the working tree with ``profile``'s params (None: the default), on the generated data."""
    for name in project_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
    if profile is not None:
        compose_and_dump(dest / "params.yaml", str(dest / "conf"), None, "config", "", [f"+profile={profile}"])
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["datasets"] = {"mnist": {"source": "mnist"}}
    params["fetch"] = {"mirror": mirror, "allow-unverified": True}
    params["encrypt"], params["private"] = _on_mnist(params["encrypt"]), _on_mnist(params["private"])
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "copy"]):
        run_command(cmd, dest, env)
    return dest, params["encrypt"] or params["private"]


def test_two_fresh_copies_encrypt_every_scheme_of_the_default_profile_to_the_same_bytes(tmp_path, mirror):
    env = environment()
    default = yaml.safe_load((ROOT / "params.yaml").read_text())["encrypt"]
    assert {e["scheme"] for e in default.values()} == {"vor", "random", "etc", "pe", "ele", "le", "block"}
    copies = [_copy(tmp_path / folder, mirror, env) for folder in ("one", "two/deeper")]
    stages = ("fetch@mnist", *(f"encrypt@{name}" for name in copies[0][1]))
    for copy, _ in copies:
        assert stages_ran(run_command(["dvc", "repro", *stages], copy, env)) == set(stages)
    assert lock_hashes(copies[0][0], stages) == lock_hashes(copies[1][0], stages)
    records = {e["variant"]: json.loads((copies[0][0] / "data" / "mnist" / e["variant"] / "params.json").read_text())["key"]
               for e in copies[0][1].values()}
    keyed = [v for v, e in zip(records, copies[0][1].values()) if "key-seed" in e["options"]]
    assert len(keyed) == 18  # random, etc, pe, ele, le and block over the benchmark keys 0, 1, 2
    for variant in keyed:
        assert variant.endswith(f"-k{records[variant]['key_seed']}")
    fingerprints = [records[v]["key_fingerprint"] for v in keyed if "key_fingerprint" in records[v]]
    assert len(fingerprints) == 15 and len(set(fingerprints)) == 15  # each secret-keyed variant its own key


def test_a_private_secret_is_a_dependency_of_exactly_the_encryptions_it_keys(tmp_path, mirror):
    env = {**environment(), "VORTEX_SECRET": "the first private secret"}
    copy, entries = _copy(tmp_path / "private", mirror, env, profile="private")
    assert all("key-seed" not in e["options"] for e in entries.values()) and "mnist-etc" in entries
    stages = ["fetch@mnist", "encrypt_private@mnist-etc", "encrypt_private@mnist-pe"]
    assert stages_ran(run_command(["dvc", "repro", *stages], copy, env)) == {*stages, "fingerprint@mnist-etc", "fingerprint@mnist-pe"}
    fingerprint = (copy / ".private" / "mnist-etc.fingerprint").read_text()
    assert len(fingerprint.strip()) == 16 and env["VORTEX_SECRET"].encode().hex() not in fingerprint
    same = stages_ran(run_command(["dvc", "repro", *stages], copy, env))
    assert same == {"fingerprint@mnist-etc", "fingerprint@mnist-pe"}  # always checked; nothing it feeds re-runs
    env["VORTEX_SECRET"] = "another private secret"
    changed = stages_ran(run_command(["dvc", "repro", "encrypt_private@mnist-etc"], copy, env))
    assert changed == {"fingerprint@mnist-etc", "encrypt_private@mnist-etc"}
    assert (copy / ".private" / "mnist-etc.fingerprint").read_text() != fingerprint
    assert "results/private" in (copy / "params.yaml").read_text()  # never the benchmark's results folder
