"""Benchmark of the vortex transformation: gather vs a plain copy, the per-pixel loops, and the CLI end to end.

    python benchmarks/vortex.py [--data-dir data] [--dataset mnist [fashion ...]] [--oracle-images 200] [--repeat 3]

1. ``vortex_transform`` over 70,000 x 28 x 28 and 60,000 x 32 x 32 x 3 uint8 images, each beside
   ``np.copy`` of the same bytes (the array's contiguous buffer) in the same run (ratio =
   transform / copy), in two memory layouts: C-ordered (N, H, W[, C]) arrays and the MAT-file's
   pixel-major layout (what ``loadmat`` returns and ``pipeline.vor`` works on).
2. The per-pixel transcription of the MATLAB loops (``pipeline.encrypt.vortex_loops``, the tests' oracle) on a few hundred
   images, extrapolated to 70,000 for scale.
3. ``python -m pipeline.vor --dataset <dataset>`` (each one given) end to end on ``<data-dir>``, split into
   read / transform / write as the command reports them (output to a temporary folder).
Times are the best of ``--repeat`` runs (seconds).
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matlab_compat.rng import rng  # noqa: E402
from pipeline.encrypt.vortex import vortex_transform  # noqa: E402
from pipeline.encrypt.vortex_loops import vortex_loops  # noqa: E402
from pipeline.encrypt.vortex_params import new_vor_params  # noqa: E402


def mat_file_layout(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(view, buffer): the same images as a view of a column-major N x L array (pixel-major), as
    loadmat returns them, and the contiguous buffer behind that view."""
    buffer = np.ascontiguousarray(images.reshape(images.shape[0], -1).T)  # (L, N): the MAT-file's bytes
    return np.moveaxis(buffer.reshape(*images.shape[1:], images.shape[0]), -1, 0), buffer


def bench_gather(repeat: int) -> None:
    gen = np.random.default_rng(0)
    cases = [
        ("70,000 x 28 x 28", (70000, 28, 28), 28, 1000.0, 800.0),
        ("60,000 x 32 x 32 x 3", (60000, 32, 32, 3), 32, 10000.0, 1000.0),
    ]
    print(f"1. vortex_transform (map included) vs np.copy of the array's contiguous buffer, same run "
          f"(10 vortices drawn with rng(1); best of {repeat})")
    print(f"   {'images':<22} {'layout':<24} {'copy s':>8} {'vortex s':>9} {'ratio':>6}")
    for label, shape, side, divisor, scale in cases:
        params = new_vor_params(10, side, side, scale, rng(1))
        images = gen.integers(0, 256, shape, dtype=np.uint8)
        for layout, (arr, buffer) in (("C-ordered", (images, images)), ("MAT-file (pixel-major)", mat_file_layout(images))):
            assert np.array_equal(arr, images)
            copy_s = min(timeit.repeat(lambda: np.copy(buffer), number=1, repeat=repeat))
            vortex_s = min(timeit.repeat(lambda: vortex_transform(arr, params, divisor=divisor), number=1, repeat=repeat))
            print(f"   {label:<22} {layout:<24} {copy_s:8.3f} {vortex_s:9.3f} {vortex_s / copy_s:6.2f}")
        del images


def bench_oracle(count: int) -> None:
    params = new_vor_params(10, 28, 28, 800.0, rng(1))
    images = np.random.default_rng(1).integers(0, 256, (count, 28, 28), dtype=np.uint8)
    start = time.perf_counter()
    looped = np.stack([vortex_loops(img, params, 1000.0) for img in images])
    loops_s = time.perf_counter() - start
    start = time.perf_counter()
    gathered = vortex_transform(images, params)
    gather_s = time.perf_counter() - start
    assert np.array_equal(looped, gathered)
    per_image = loops_s / count
    print(f"2. per-pixel MATLAB loops (Python transcription) on {count} x 28 x 28, 10 vortices: {loops_s:.2f} s "
          f"= {per_image * 1e3:.2f} ms/image (x 70,000 = {per_image * 70000:.0f} s); "
          f"one gather on the same {count} images: {gather_s * 1e3:.2f} ms (map included)")


def bench_cli(data_dir: Path, dataset: str, repeat: int) -> None:
    print(f"3. python -m pipeline.vor --dataset {dataset} --data-dir {data_dir} (best of {repeat} by wall time)")
    best = None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "pipeline.vor", "--dataset", dataset, "--data-dir", str(data_dir),
                                   "--out", out], cwd=ROOT, capture_output=True, text=True)
            wall = time.perf_counter() - start
        if proc.returncode != 0:
            print(f"   skipped: {proc.stderr.strip()}")
            return
        if best is None or wall < best[0]:
            best = (wall, proc.stdout)
    wall, stdout = best
    for line in stdout.splitlines():
        if " train and " in line or line.startswith(("note:", "key:")):
            print(f"   {line}")
    parts = {k: float(v) for k, v in re.findall(r"(read|encrypt|write) ([0-9.]+) s", stdout)}
    print(f"   wall {wall:.2f} s = read {parts['read']:.2f} + encrypt {parts['encrypt']:.2f} + write {parts['write']:.2f} "
          f"+ start-up/imports {wall - sum(parts.values()):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--dataset", nargs="+", default=["mnist"], help="one or more datasets for the end-to-end run")
    parser.add_argument("--oracle-images", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bench_gather(args.repeat)
    bench_oracle(args.oracle_images)
    for dataset in args.dataset:
        bench_cli(args.data_dir.resolve(), dataset, args.repeat)


if __name__ == "__main__":
    main()
