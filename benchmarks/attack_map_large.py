"""The map attacks' bounded path in the attack command on a generated 224 x 224 x 3 set: seconds and peak RSS.

    python benchmarks/attack_map_large.py WORKDIR [--images 40] [--scheme etc]

Writes ``--images`` training and 8 test PNGs of 2 classes (smooth random colour pictures, 224 px) under WORKDIR as a
folder dataset stored v7.3, fetches and encrypts it (EtC block 16 with a generated secret, or ``random``), then runs
``python -m pipeline.attack`` (both kinds, pairs 1 and 8, no recognisability) under ``/usr/bin/time -v`` and prints
its wall seconds, peak RSS and each map attack's algorithm and key share.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

SIDE = 224


def write_images(root: Path, train: int, rng: np.random.Generator) -> None:
    """``train`` + 8 smooth random 224 x 224 RGB PNGs, half of each split in each of the classes ``a`` and ``b``."""
    for split, count in (("train", train), ("test", 8)):
        for i in range(count):
            folder = root / split / "ab"[i % 2]
            folder.mkdir(parents=True, exist_ok=True)
            small = rng.integers(0, 256, (28, 28, 3)).astype(np.uint8)
            Image.fromarray(small).resize((SIDE, SIDE), Image.BICUBIC).save(folder / f"{i}.png")


def run(*args: str) -> None:
    """One project command; its output on failure."""
    done = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--images", type=int, default=40, help="training images")
    parser.add_argument("--scheme", choices=("etc", "random"), default="etc")
    args = parser.parse_args()
    work = args.workdir
    write_images(work / "images", args.images, np.random.default_rng(0))
    (work / "params.yaml").write_text(yaml.safe_dump({"datasets": {"big": {
        "source": "folder", "path": str(work / "images"), "size": SIDE, "colour": "rgb", "storage": "v7.3"}}}))
    (work / "secret").write_bytes(b"benchmark secret, not a real one")
    data, key = str(work / "data"), (["--key-file", str(work / "secret")] if args.scheme == "etc" else [])
    run("pipeline.fetch", "--dataset", "big", "--params-file", str(work / "params.yaml"), "--data-dir", data)
    run("pipeline.encrypt", "--scheme", args.scheme, "--dataset", "big", "--data-dir", data,
        *(["--block-size", "16", *key] if args.scheme == "etc" else []))
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "pipeline.attack", "--dataset", "big", "--scheme", args.scheme,
               "--kind", "ciphertext-only", "--kind", "known-plaintext", "--pairs", "1", "--pairs", "8", "--no-recognisability",
               *key, "--data-dir", data, "--out", str(work / "out")]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"the attack failed:\n{done.stdout}{done.stderr}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", done.stderr).group(1)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    print(f"{args.images} + 8 images of {SIDE} x {SIDE} x 3, {args.scheme}: attack command {wall} wall, peak RSS {rss / 1024:.0f} MiB")
    for kind in ("ciphertext-only", "known-plaintext"):
        record = json.loads((work / "out" / f"big_{args.scheme}_{kind}.json").read_text())
        for attack in record["attacks"]:
            share = attack["key_share"] or {}
            exact = share.get("exact", share.get("per_image_exact"))
            print(f"  {kind} {attack['method']} pairs={attack['pairs']} statistics={attack['uses_statistics']}: "
                  f"key share {exact:.4f}, {attack['seconds']:.1f} s, {attack.get('algorithm', {}).get('name', 'no bounded algorithm recorded')}")


if __name__ == "__main__":
    main()
