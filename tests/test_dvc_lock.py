"""Lock hygiene: `dvc.lock` records only stages that `dvc.yaml` defines under the committed `params.yaml`.

A lock entry of a stage the current definitions cannot produce (a profile's stage left behind after
switching back, a renamed stage) is a result that no `dvc repro` of this checkout regenerates.
"""
from __future__ import annotations

import yaml
from dvc.repo import Repo

from tests.shared import ROOT


def test_lock_holds_only_defined_stages():
    with Repo(str(ROOT)) as repo:
        defined = {stage.addressing for stage in repo.index.stages}
    locked = set(yaml.safe_load((ROOT / "dvc.lock").read_text())["stages"])
    assert locked - defined == set(), f"dvc.lock records stages dvc.yaml does not define: {sorted(locked - defined)}"
    assert locked, "dvc.lock records no stage"
