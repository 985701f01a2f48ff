"""``benchmarks/repro_time.py``: a clone's `make repro` timed stage by stage, on a two-stage stand-in project."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.shared import ROOT

#: A project whose `make repro` prints what `dvc repro` prints: a skipped stage, two that run (one second
#: apart), and changes one tracked file.
MAKEFILE = """repro:
\t@echo "Stage 'fetch@fashion' didn't change, skipping"
\t@echo "Running stage 'encrypt@fashion-vor':"
\t@sleep 1
\t@echo "Running stage 'train@fashion-smallcnn-vor-s0':"
\t@echo changed > metrics.json
"""


def _git(folder, *args):
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})


def test_run_times_each_stage_and_lists_what_the_clone_changed(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "Makefile").write_text(MAKEFILE)
    (project / "metrics.json").write_text("committed\n")
    _git(project, "init", "-q")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", "stand-in")
    out = tmp_path / "result.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "repro_time.py"), "run", "--input", str(project),
                           "--out", str(tmp_path / "clone"), "--json", str(out)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["rc"] == 0 and result["skipped"] == ["fetch@fashion"] and result["changed"] == ["metrics.json"]
    assert list(result["ran"]) == ["encrypt@fashion-vor", "train@fashion-smallcnn-vor-s0"]
    assert result["ran"]["encrypt@fashion-vor"] >= 1 and result["ran_by_kind"]["encrypt"]["stages"] == 1
    assert result["wall_seconds"] >= 1 and (tmp_path / "result.log").read_text().startswith("start ")
    again = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "repro_time.py"), "run", "--input", str(project),
                            "--out", str(tmp_path / "clone"), "--json", str(out)], capture_output=True, text=True, env=env)
    assert again.returncode != 0 and "exists" in again.stderr  # never into an existing folder
