"""Encrypting a dataset larger than the memory the process may use, beside a plain copy of the same file.

    python benchmarks/own_data.py [--gib 4] [--budget-gib 1] [--scheme etc ...] [--folder DIR]

Generates a 224 x 224 colour dataset of ``--gib`` GiB (random pixels; its train split ~86 %, test
~14 %) stored as a declared dataset with ``storage: v7.3`` (``data/bench/origin/bench.mat``,
HDF5, written block by block), then runs, each in a child process whose address space is capped
at ``--budget-gib`` (RLIMIT_AS):

* ``copy``: ``shutil.copyfile`` of ``bench.mat`` (the same bytes as the encryption reads), then
  ``fsync`` (the encrypt stage syncs its outputs before swapping them in);
* ``encrypt``: ``python -m pipeline.encrypt --scheme SCHEME --dataset bench`` for each ``--scheme`` given
  (repeatable: the set is generated once; block by block,
  :mod:`pipeline.encrypt.streamed`; any scheme, the per-image ones too: ``--scheme random`` draws a
  permutation per image and stores MATLAB doubles, 8 bytes a sample).

Prints, for each, the wall time, throughput (GiB of input per second) and the child's peak RSS
(``wait4``'s ``ru_maxrss``). The files sit in the page cache when the machine has the memory (the
copy and the encryption read the same file, so both see the same cache).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from matlab_compat import RowChunks
from matlab_compat.rng import rng as matlab_rng
from pipeline.encrypt.vortex_params import new_vor_params, save_vor_params
from workbench.data.datasets import DatasetSpec, spec_record
from workbench.data.matfiles import write_mat
from workbench.outputs import write_json
from workbench.data.stored import chunk_rows

SIDE, CHANNELS, CLASSES = 224, 3, 10
ROW = SIDE * SIDE * CHANNELS
GIB = 1 << 30


def generate(data: Path, gib: float, seed: int = 0) -> tuple[Path, int]:
    """``data/bench/origin/bench.mat`` (v7.3) of ``gib`` GiB of images, its ``dataset.json`` and vortex
    parameters; (file, images)."""
    total = int(gib * GIB) // ROW
    counts = {"train": total - total // 7, "test": total // 7}
    rng = np.random.default_rng(seed)

    def blocks(n: int):
        for start in range(0, n, 256):
            yield np.frombuffer(rng.bytes(min(256, n - start) * ROW), dtype=np.uint8).reshape(-1, ROW)

    variables = {}
    for split, n in counts.items():
        variables[f"{split}_x"] = RowChunks((n, ROW), np.uint8, blocks(n), chunk_rows(ROW))
        labels = np.zeros((n, CLASSES), dtype=np.uint8)
        labels[np.arange(n), rng.integers(0, CLASSES, n)] = 1
        variables[f"{split}_y"] = labels
    origin = data / "bench" / "origin"
    origin.mkdir(parents=True, exist_ok=True)
    write_mat(origin / "bench.mat", variables, version="7.3")
    spec = DatasetSpec(SIDE, SIDE, CHANNELS, "bench", "bench", 1000.0, 800.0, 10, "vor_params_bench.mat", 16,
                       CLASSES, layout="mat", matlab_transposed=False, vor_double=False,
                       mean=(0.5,) * CHANNELS, std=(0.29,) * CHANNELS)
    write_json(origin / "dataset.json", spec_record(spec, classes=[str(k) for k in range(CLASSES)]))
    # the vortex scheme's parameters, drawn as the fetch stage draws them for a declared set (rng(0))
    save_vor_params(data / "bench" / "params" / spec.published_params,
                    new_vor_params(spec.script_vortices, SIDE, SIDE, spec.degree_scale, matlab_rng(0)))
    return origin / "bench.mat", total


def measured(cmd: list[str], budget: int, env: dict[str, str]) -> tuple[float, int, int]:
    """(seconds, peak RSS bytes, exit code) of ``cmd`` run with its address space capped at ``budget``."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (budget, budget))

    start = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, preexec_fn=cap, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    child.returncode = code
    if code:
        sys.stdout.write(output.decode(errors="replace"))
    return seconds, usage.ru_maxrss * 1024, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=4.0, help="dataset size in GiB")
    parser.add_argument("--budget-gib", type=float, default=1.0, help="address-space limit of each child (RLIMIT_AS)")
    parser.add_argument("--scheme", action="append", help="a scheme, repeatable [default: etc] (random: a permutation per image)")
    parser.add_argument("--folder", type=Path, default=None, help="where the data go [default: a temporary folder]")
    args = parser.parse_args()
    schemes = args.scheme or ["etc"]
    folder = args.folder or Path(tempfile.mkdtemp(prefix="own-data-bench."))
    data = folder / "data"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "VORTEX_SECRET": os.environ.get("VORTEX_SECRET", "benchmark secret, not a real one")}
    budget = int(args.budget_gib * GIB)
    try:
        clock = time.perf_counter()
        source, images = generate(data, args.gib)
        size = source.stat().st_size
        print(f"dataset: {size / GIB:.2f} GiB ({images} images of {SIDE} x {SIDE} x {CHANNELS}, v7.3) "
              f"generated in {time.perf_counter() - clock:.0f} s; limit per process {args.budget_gib:g} GiB (RLIMIT_AS)")
        runs = {
            "copy + fsync": [sys.executable, "-c", "import os, shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2]); "
                             "f = os.open(sys.argv[2], os.O_RDONLY); os.fsync(f)", str(source), str(folder / "copy.mat")],
            **{f"encrypt ({scheme})": [sys.executable, "-m", "pipeline.encrypt", "--scheme", scheme,
                                       "--dataset", "bench", "--data-dir", str(data)] for scheme in schemes},
        }
        print(f"{'run':16s} {'seconds':>8s} {'GiB/s':>6s} {'peak RSS MiB':>13s}  exit")
        for name, cmd in runs.items():
            seconds, peak, code = measured(cmd, budget, env)
            print(f"{name:16s} {seconds:8.1f} {size / GIB / seconds:6.2f} {peak / (1 << 20):13.0f}  {code}")
    finally:
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
