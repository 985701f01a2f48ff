"""Benchmark: matlab_compat.loadmat/savemat beside scipy.io.loadmat/savemat, same run, same data.

Arrays: 70,000 x 784 uint8 (the full Fashion-MNIST, train + test, from the Debian package) and
60,000 x 3,072 uint8 (rows drawn at random, seeded, from the 2,034 real CIFAR-10 images of the
shared subset, so the data compress like real images). Each is written as v7 (compressed) and
v6 (uncompressed) by both libraries and read back by both from the same file; the median of
``--repeat`` runs (ours and scipy timed in turn, alternating which goes first) is reported in MB/s of array data, with the
median of the per-pair ratios ours / scipy in speed (> 1: faster) and in CPU time. A third case writes the
Fashion-MNIST images as doubles, as the pipeline does (stored compactly as uint8).
Our v7 writer compresses on every core the process may use (printed first); the last column
is our v7 write confined to one core, for the speed-up the threads give.

    python benchmarks/matfile.py [--repeat 3] [--rows-scale 1.0]
"""
from __future__ import annotations

import contextlib
import gzip
import os
import statistics
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np
import scipy.io
import typer

from matlab_compat import loadmat, savemat
from workbench.cli import meaning, typer_app

FASHION = Path("/usr/share/datasets/fashion-mnist")
SHARED = Path(os.environ.get("VORTEX_SHARED", Path(__file__).resolve().parent.parent.parent / "shared"))


def idx_images(path: Path) -> np.ndarray:
    raw = gzip.decompress(path.read_bytes())
    count = int.from_bytes(raw[4:8], "big")
    return np.frombuffer(raw, np.uint8, offset=16).reshape(count, 784)


def fashion_70000() -> np.ndarray:
    return np.concatenate([idx_images(FASHION / "train-images-idx3-ubyte.gz"),
                           idx_images(FASHION / "t10k-images-idx3-ubyte.gz")])


def cifar_60000(rows: int = 60000) -> np.ndarray:
    folder = SHARED / "data" / "cifar-10-subset"
    real = np.concatenate([loadmat(folder / name)["data"]
                           for name in ("data_batch_1.mat", "test_batch.mat")])
    pick = np.random.default_rng(0).integers(0, len(real), rows)
    return np.asfortranarray(real[pick])


def _timed(func) -> tuple[float, float]:
    """Wall and CPU seconds (all threads) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - wall, time.process_time() - cpu


def paired(ours, theirs, repeat: int) -> tuple[float, float, float, float]:
    """Ours and scipy timed in turn (ours, scipy, scipy, ours, ...) so that a drifting machine
    load hits both alike: median wall seconds of each, and the medians of the per-pair ratios
    scipy / ours of wall time and of CPU time (the CPU ratio is what a busy machine does not
    blur; for our threaded v7 write it is the work per byte, not the speed)."""
    pairs = []
    for i in range(repeat):     # ABBA: neither side always runs first (after the other's garbage)
        if i % 2:
            theirs_t, ours_t = _timed(theirs), _timed(ours)
        else:
            ours_t, theirs_t = _timed(ours), _timed(theirs)
        pairs.append((ours_t, theirs_t))
    median = statistics.median
    return (median(o[0] for o, _ in pairs), median(t[0] for _, t in pairs),
            median(t[0] / o[0] for o, t in pairs), median(t[1] / o[1] for o, t in pairs))


@contextlib.contextmanager
def one_core():
    """Run the body on one core only (the process's affinity restored after)."""
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, cores)


def one_core_write(path: Path, arr: np.ndarray, repeat: int) -> float:
    """Median seconds of our v7 write restricted to one core (its threads share it)."""
    with one_core():
        return statistics.median(timeit.repeat(lambda: savemat(path, {"X": arr}), number=1,
                                               repeat=repeat))


app = typer_app(__doc__)


@app.command()
def main(repeat: int = typer.Option(5, "--repeats", help=meaning("--repeats", "the median is quoted")),
         rows_scale: float = typer.Option(1.0, help=meaning("--rows-scale", "quick runs"))) -> None:
    fashion, cifar = fashion_70000(), cifar_60000()
    if rows_scale != 1.0:
        fashion, cifar = (np.asfortranarray(a[:int(len(a) * rows_scale)]) for a in (fashion, cifar))
    # the pipeline's own write: images as MATLAB doubles, stored compactly as uint8
    cases = [(fashion, ("7", "6")), (cifar, ("7", "6")), (fashion.astype(np.float64), ("7",))]
    print(f"cores: {len(os.sched_getaffinity(0))}; medians of {repeat} paired runs")
    print(f"{'array':>16} {'ver':>3} {'op':>5} {'ours MB/s':>10} {'scipy MB/s':>10} {'ratio':>6} "
          f"{'cpu ratio':>9} {'file MB':>8} {'ours 1 core':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        ours_path, theirs_path = Path(tmp) / "ours.mat", Path(tmp) / "scipy.mat"
        for arr, versions in cases:
            label = f"{arr.shape[0]}x{arr.shape[1]} {arr.dtype}"
            mb = arr.nbytes / 1e6
            for version in versions:
                compress = version == "7"
                write = paired(lambda: savemat(ours_path, {"X": arr}, version=version),
                               lambda: scipy.io.savemat(theirs_path, {"X": arr}, do_compression=compress),
                               repeat)
                # scipy asked for MATLAB's classes (mat_dtype), as ours returns them: doubles
                # stored compactly come back as doubles from both
                read = paired(lambda: loadmat(ours_path),
                              lambda: scipy.io.loadmat(ours_path, mat_dtype=True), repeat)
                for back in (loadmat(ours_path)["X"], scipy.io.loadmat(ours_path, mat_dtype=True)["X"]):
                    assert back.dtype == arr.dtype and np.array_equal(back, arr)
                size = ours_path.stat().st_size / 1e6
                single = f"{mb / one_core_write(ours_path, arr, repeat):11.1f}" if compress else ""
                for op, (ours, theirs, ratio, cpu) in (("write", write), ("read", read)):
                    print(f"{label:>16} {version:>3} {op:>5} {mb / ours:10.1f} {mb / theirs:10.1f} "
                          f"{ratio:6.2f} {cpu:9.2f} {size:8.1f} {single if op == 'write' else ''}",
                          flush=True)


if __name__ == "__main__":
    app()
