"""A copy of the project in a temporary folder, run with DVC (offline): the shared parts of the DVC tests."""
from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from tests.shared import ROOT


def run_command(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def project_files() -> list[str]:
    """The files a fresh clone would hold: tracked and untracked-not-ignored (the working tree under test)."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    skip = ("dvc.lock", "results/")
    return [f for f in out.split("\0") if f and not f.startswith(skip) and (ROOT / f).is_file()]


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VORTEX_MIRROR", "VORTEX_SECRET")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "test"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "test@example.invalid"
    return env


def stages_ran(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def generated_mirror(folder: Path, env: dict[str, str]) -> list[str]:
    """MNIST-like IDX files (digits drawn as class-dependent bars) and fresh parameter files."""
    folder.mkdir()
    rng = np.random.default_rng(7)
    for split, n in (("train", 2000), ("t10k", 500)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 40, (n, 28, 28))
        for i, label in enumerate(labels):
            images[i, 4:24, 2 + 2 * label:5 + 2 * label] = 230  # a vertical bar whose place is the class
        _write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        _write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
    names = ["vor_params_mnist_result"] + [f"vor_params_mnist_sensitivity{k}" for k in (1, 2, 3)]
    for seed, name in enumerate(names, start=1):
        run_command([sys.executable, "-m", "pipeline.vor", "new-params", "--dataset", "mnist", "--key-seed", str(seed),
              "--out", str(folder / f"{name}.mat")], ROOT, env)
    return [str(folder)]


def lock_hashes(clone: Path, stages: tuple[str, ...]) -> dict[str, list]:
    lock = yaml.safe_load((clone / "dvc.lock").read_text())["stages"]
    return {s: sorted((o["path"], o["md5"]) for o in lock[s]["outs"]) for s in stages}


def _write_idx(path: Path, array: np.ndarray) -> None:
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    magic = bytes([0, 0, 0x08, array.ndim])
    path.write_bytes(gzip.compress(magic + dims + array.astype(np.uint8).tobytes(), mtime=0))

