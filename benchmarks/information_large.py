"""The information measure on generated 224 x 224 colour images: seconds and peak memory per scheme.

    python benchmarks/information_large.py [--images 120] [--scheme vor --scheme etc ...]

Generates a declared 224 x 224 x 3 dataset of ``--images`` images (random pixels, v7.3, with vortex
parameters: :func:`benchmarks.own_data.generate`) and runs ``python -m pipeline.information`` on it
for each scheme (vor; block and etc with 16-pixel blocks; random with 10 drawn images), each in a
child process with the default weight. Prints the wall seconds and the child's peak RSS (``wait4``'s
``ru_maxrss``): the figures of docs/information.md section 8.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
from pathlib import Path

from benchmarks.own_data import GIB, ROW, generate, measured

SCHEMES = {"vor": [], "block": ["--block-size", "16"], "etc": ["--block-size", "16"],
           "random": ["--key-seed", "0", "--exact-sample", "10"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=120, help="images in the generated set (train ~6/7, test ~1/7)")
    parser.add_argument("--scheme", action="append", choices=sorted(SCHEMES), help="repeatable [default: all four]")
    parser.add_argument("--folder", type=Path, default=None, help="where the data go [default: a temporary folder]")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="information-bench."))
    data = folder / "data"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "VORTEX_SECRET": os.environ.get("VORTEX_SECRET", "benchmark secret, not a real one")}
    _, images = generate(data, (args.images * ROW + 1) / GIB)
    print(f"{images} generated images of 224 x 224 x 3 in {data}")
    for scheme in args.scheme or list(SCHEMES):
        cmd = [sys.executable, "-m", "pipeline.information", "--scheme", scheme, *SCHEMES[scheme], "--dataset", "bench",
               "--data-dir", str(data), "--out", str(folder / "out")]
        seconds, peak, code = measured(cmd, resource.RLIM_INFINITY, env)
        print(f"{scheme:7s} {'failed' if code else 'ok':6s} {seconds:7.1f} s   peak RSS {peak / 2**20:6.0f} MiB")


if __name__ == "__main__":
    main()
