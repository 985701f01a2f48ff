"""A fresh clone's `make repro`, timed end to end and stage by stage (issue 23's wall-time figure).

    VORTEX_MIRROR=/usr/share/datasets/fashion-mnist:../shared/fixtures/matlab \\
        python benchmarks/repro_time.py run --input . --out /tmp/fresh --json docs/repro_time.json
    python benchmarks/repro_time.py summarise --input docs/repro_time.log --json docs/repro_time.json

``run`` clones ``--input`` (a git repository: its committed HEAD) into ``--out`` (a new folder), runs
`make repro` there (installing the project into the clone's ``.venv`` first, as a new user would), and
writes every output line prefixed with the seconds since the start to the log beside ``--json``
(``.log``), then the exit status and wall time, then what `git status --short` says in the clone.
``summarise`` turns such a log into the JSON: wall seconds; the install (up to the first stage); each
stage that ran and its seconds (to the next stage's start); the stages DVC skipped (committed outputs
that match their deps); the sums per stage kind; and the files the run changed. An empty
``changed`` list means the clone regenerated every tracked output byte for byte, ``dvc.lock`` (every
data hash) included.
"""
from __future__ import annotations

import re
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import typer

from workbench.cli import meaning, typer_app
from workbench.outputs import write_json

app = typer_app(__doc__.split("\n\n")[0])

RUNNING = re.compile(r"^(\d+) Running stage '([^']+)':")
SKIPPED = re.compile(r"^(\d+) Stage '([^']+)' didn't change, skipping")
END = re.compile(r"^rc (-?\d+) wall (\d+) s")
STATUS = re.compile(r"^[ MADRCU?!]{2} (\S.*)$")


def summary(lines: list[str]) -> dict:
    """The JSON of a run's log (the format ``run`` writes)."""
    starts, skipped = [], []
    for at, line in enumerate(lines):
        if m := RUNNING.match(line):
            starts.append((m[2], int(m[1])))
        elif m := SKIPPED.match(line):
            skipped.append(m[2])
        elif m := END.match(line):
            break
    else:
        raise typer.BadParameter("the log has no 'rc N wall S s' line: the run did not finish", param_hint="--input")
    rc, wall = int(m[1]), int(m[2])
    stages = {name: nxt - start for (name, start), nxt in zip(starts, [start for _, start in starts[1:]] + [wall])}
    kinds: dict[str, dict] = {}
    for name, seconds in stages.items():
        kind = kinds.setdefault(name.split("@")[0], {"stages": 0, "seconds": 0})
        kind["stages"] += 1
        kind["seconds"] += seconds
    return {"rc": rc, "wall_seconds": wall, "wall_minutes": round(wall / 60, 1),
            "install_seconds": starts[0][1] if starts else wall, "ran": stages, "ran_by_kind": kinds,
            "skipped": skipped, "changed": [m[1] for line in lines[at + 1:] if (m := STATUS.match(line))]}


def timed_make(clone: Path, log: Path) -> None:
    """`make repro` in ``clone``, each output line written to ``log`` with the seconds since the start; then the trailer."""
    start = time.monotonic()
    with log.open("w") as out:
        out.write(f"start {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC commit "
                  f"{subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=clone, capture_output=True, text=True).stdout.strip()}\n")
        make = subprocess.Popen(["make", "repro"], cwd=clone, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in make.stdout:
            out.write(f"{int(time.monotonic() - start)} {line}")
            out.flush()
        rc = make.wait()
        out.write(f"rc {rc} wall {int(time.monotonic() - start)} s end {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC\n")
        out.write(subprocess.run(["git", "status", "--short"], cwd=clone, capture_output=True, text=True).stdout)


@app.command()
def run(input: Path = typer.Option(Path("."), "--input", help=meaning("--input", "the repository to clone")),
        out: Path = typer.Option(..., "--out", help=meaning("--out", "the clone (a new folder)")),
        json_path: Path = typer.Option(Path("docs/repro_time.json"), "--json", help=meaning("--json", "the log goes beside it (.log)"))) -> None:
    """Clone, `make repro`, and write the log and its JSON."""
    if out.exists():
        raise typer.BadParameter(f"{out} exists: the clone goes into a new folder", param_hint="--out")
    subprocess.run(["git", "clone", "-q", str(input.resolve()), str(out)], check=True)
    log = json_path.with_suffix(".log")
    timed_make(out, log)
    summarise(log, json_path)


@app.command()
def summarise(input: Path = typer.Option(..., "--input", help=meaning("--input", "a log of `run`")),
              json_path: Path = typer.Option(Path("docs/repro_time.json"), "--json", help=meaning("--json"))) -> None:
    """Write the JSON of a run's log."""
    result = summary(input.read_text().splitlines())
    write_json(json_path, result)
    print(f"wall {result['wall_minutes']} min (install {result['install_seconds']} s), {len(result['ran'])} stages ran, "
          f"{len(result['skipped'])} skipped, {len(result['changed'])} files changed; wrote {json_path}")


if __name__ == "__main__":
    app()
