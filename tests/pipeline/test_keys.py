"""Benchmark keys and variant names: the documented derivation (checked against hmac directly), the
order of the secret's sources, and the one naming of a (scheme, key) variant."""
from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import numpy as np
import pytest

from pipeline.encrypt.etc_key import SECRET_ENV, derive_key
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions
from pipeline.encrypt.secret import benchmark_secret, secret_fingerprint, secret_of
from pipeline.errors import PipelineError
from workbench.data.datasets import dataset_spec, variant_files, variant_name, variant_scheme
from workbench.errors import WorkbenchError


def test_a_benchmark_key_is_the_documented_hmac_of_its_seed():
    for seed in (0, 1, 2, 12345):
        expected = hmac.new(b"vortex workbench benchmark key|v1", str(seed).encode(), hashlib.sha256).hexdigest().encode()
        assert benchmark_secret(seed) == expected and len(expected) == 64
    assert len({benchmark_secret(k) for k in range(50)}) == 50
    with pytest.raises(PipelineError, match="--key-seed: a whole number >= 0"):
        benchmark_secret(-1)


def test_the_key_seed_comes_before_the_environment_and_excludes_a_key_file(monkeypatch, tmp_path):
    monkeypatch.setenv(SECRET_ENV, "a private secret of this test")
    assert secret_of(KeyOptions(key_seed=3)) == benchmark_secret(3)
    assert secret_of(KeyOptions()) == b"a private secret of this test"
    key_file = tmp_path / "secret"
    key_file.write_text("a private secret in a file\n")
    with pytest.raises(PipelineError, match="--key-seed 3 and --key-file .*: give one key"):
        secret_of(KeyOptions(key_seed=3, key_file=key_file))


def test_every_secret_keyed_scheme_takes_a_key_seed_and_derives_its_key_from_the_benchmark_secret():
    spec = dataset_spec("fashion")
    secret_keyed = [s for s in SCHEMES.values() if s.key_source == "secret"]
    assert {s.name for s in secret_keyed} == {"etc", "pe", "le", "ele", "block"}
    for scheme in secret_keyed:
        assert "key_seed" in scheme.options
        seeded = scheme.record(scheme.key(spec, KeyOptions(key_seed=1)))
        given = scheme.record(scheme.key(spec, KeyOptions(secret=benchmark_secret(1))))
        assert seeded == given
        assert seeded["key_fingerprint"] != scheme.record(scheme.key(spec, KeyOptions(key_seed=2)))["key_fingerprint"]
    etc = SCHEMES.get("etc").key(spec, KeyOptions(key_seed=0, block_size=7))
    direct = derive_key(benchmark_secret(0), (28, 28, 1), 7)
    assert np.array_equal(etc.block_perm, direct.block_perm) and np.array_equal(etc.transform, direct.transform)


def test_the_private_fingerprint_is_keyed_and_never_the_secret():
    secret = b"a private secret of this test"
    fingerprint = secret_fingerprint(secret)
    assert fingerprint == hmac.new(secret, b"fingerprint|secret|v1|private", hashlib.sha256).hexdigest()[:16]
    assert secret.hex() not in fingerprint and fingerprint != secret_fingerprint(b"another private secret!")


def test_a_variant_is_named_once_and_read_back():
    assert variant_name("vor") == "vor" and variant_name("etc", 0) == "etc-k0" and variant_name("random", 12) == "random-k12"
    for scheme, seed in (("vor", None), ("etc", 0), ("block", 7), ("random", 12)):
        assert variant_scheme(variant_name(scheme, seed)) == (scheme, seed)
    for bad in ("etc-k", "etc-k01", "Etc", "etc_k0", "-k0", "etc-k-1"):
        with pytest.raises(WorkbenchError, match="bad variant name"):
            variant_scheme(bad)
    with pytest.raises(WorkbenchError, match="a whole number >= 0"):
        variant_name("etc", -1)


def test_a_keyed_variant_folder_holds_the_schemes_files():
    own, keyed = variant_files("fashion", "random"), variant_files("fashion", "random-k2")
    for split in ("train", "test"):
        assert Path(keyed[split].path) == Path("random-k2") / Path(own[split].path).name
        assert (keyed[split].x, keyed[split].y) == (own[split].x, own[split].y)
    assert variant_files("cifar10", "etc-k0")["test"].path == "etc-k0/cifar_test_etc.mat"
