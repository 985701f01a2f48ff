"""The attack command on a set stored v7.3 reads it in blocks and runs (pairs, statistics, scoring, the
classifier's sample) from the files: every number is the one of the same images stored v7 and read whole."""
from __future__ import annotations

import json

import pytest

from tests.generated import make_image_folder, twin_sets

from pipeline.attack import app
from pipeline.encrypt.command import encrypt_app
from tests.cli import invoke


def _without_times(value):
    """A result file's content without what records time (``seconds``) or names the set."""
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items() if k not in ("seconds", "dataset")}
    if isinstance(value, list):
        return [_without_times(v) for v in value]
    return value


@pytest.mark.parametrize("scheme", ["etc", "vor"])
def test_the_attack_command_on_a_v73_set_in_blocks_gives_the_whole_set_s_numbers(private_secret, tmp_path, scheme, monkeypatch):
    monkeypatch.setattr("workbench.data.stored.CHUNK_IMAGES", 4)  # several blocks, the last one short
    data = twin_sets(tmp_path, make_image_folder(tmp_path / "images", {"train": 6, "test": 3}))
    results = {}
    for name in ("small", "big"):
        assert invoke(encrypt_app(), ["--scheme", scheme, "--dataset", name, "--data-dir", data]).exit_code == 0
        out = tmp_path / f"out-{name}"
        done = invoke(app, ["--dataset", name, "--scheme", scheme, "--kind", "known-plaintext", "--kind", "ciphertext-only",
                            "--pairs", "1", "--pairs", "5", "--epochs", "1", "--classifier-cache", tmp_path / f"cache-{name}",
                            "--data-dir", data, "--out", out])
        assert done.exit_code == 0, done.output
        results[name] = {kind: json.loads((out / f"{name}_{scheme}_{kind}.json").read_text()) for kind in ("known-plaintext", "ciphertext-only")}
    assert _without_times(results["big"]) == _without_times(results["small"])
    coa = results["big"]["ciphertext-only"]
    assert coa["images"] == {"public_plain": 9, "encrypted_statistics": 9, "attacked": 9}
    assert coa["recognisability"]["images"] == 18 and coa["baselines"]["plain"]["accuracy"] is not None
