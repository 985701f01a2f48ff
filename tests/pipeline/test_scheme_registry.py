"""Every registered scheme keeps the Scheme contract (the worked example of docs/architecture.md: tests/test_worked_examples.py)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from workbench.data.datasets import DATASETS
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.errors import PipelineError
from tests.shared import ROOT, shared_path

SECRET = b"registry contract test secret"


def options_for(scheme: Scheme) -> KeyOptions:
    """Key options every scheme can use: the published vortex parameters, seed 0, a secret in code."""
    given = {"secret": SECRET}
    if "params" in scheme.options:
        given["params"] = shared_path("fixtures", "matlab", "vor_params_cifar.mat")
    return KeyOptions(**given)


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_every_scheme_keeps_the_contract(name):
    scheme = SCHEMES.get(name)
    spec = DATASETS["cifar10"]
    pictures = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    key = scheme.key(spec, options_for(scheme))
    encrypted = scheme.encrypt(key, pictures)
    assert encrypted.dtype == np.uint8 and encrypted.shape == pictures.shape
    assert not np.array_equal(encrypted, pictures)
    assert np.array_equal(scheme.encrypt(scheme.key(spec, options_for(scheme)), pictures), encrypted)  # same key, same bytes
    if scheme.invertible:
        assert np.array_equal(scheme.decrypt(key, encrypted), pictures)
    else:
        with pytest.raises(PipelineError, match="not invertible"):
            scheme.decrypt(key, encrypted)
    fixed = scheme.sample_map(key)
    if fixed is not None:  # the attacks' and the information measure's view is the encryption itself
        assert np.array_equal(fixed.apply(pictures.reshape(5, -1)), encrypted.reshape(5, -1))
    if scheme.per_image:
        maps = scheme.per_image_maps(key, {"images": 5})["images"]
        assert np.array_equal(np.take_along_axis(pictures.reshape(5, -1), maps, axis=1), encrypted.reshape(5, -1))
    record = json.dumps(scheme.record(key))
    assert SECRET.decode() not in record
    size = scheme.key_space_log2(spec, options_for(scheme))
    assert size is None or size > 0
    other = scheme.adversary_key(spec, options_for(scheme), 0)
    assert not np.array_equal(scheme.encrypt(other, pictures), encrypted)  # the adversary's own key is another key


def test_schemes_command_lists_the_registry():
    done = subprocess.run([sys.executable, "-m", "pipeline.schemes", "--dataset", "cifar10"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in done.stdout.splitlines()[2:2 + len(SCHEMES)]]
    assert listed == list(SCHEMES) and {"vor", "random", "etc"} <= set(listed)
    etc = next(line for line in done.stdout.splitlines() if line.startswith("etc "))
    n = 4  # 32 x 32 in blocks of 16: 8^N 2^N 6^N N!
    assert f"{n * np.log2(96) + np.log2(24):.1f}" in etc and "small" in etc  # about 2^31 keys: flagged
