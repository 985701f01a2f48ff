"""The EtC block attack (ciphertext-only) on generated 224 x 224 colour images: seconds and peak memory.

    python benchmarks/attack_large.py [--images 300] [--block-size 16]

Generates two sets of ``--images`` smooth images (public plain, attacked; 10 classes), encrypts the
attacked one with EtC and runs :func:`pipeline.evaluate.etc_attack.ciphertext_only_key` with and
without the edge search; prints the seconds, the share of key tables found and the process's peak RSS.
"""
from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from scipy.ndimage import gaussian_filter

from pipeline.encrypt.etc import encrypt
from pipeline.encrypt.etc_key import derive_key
from pipeline.evaluate import etc_attack

SIDE, CLASSES = 224, 10


def smooth_images(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 224, 224, 3) uint8: a vertical gradient plus smooth noise, and random labels."""
    mean = np.linspace(40, 200, SIDE)[None, :, None, None] * np.array([1.0, 0.7, 0.4])
    out = np.empty((n, SIDE, SIDE, 3), np.uint8)
    for i in range(0, n, 50):
        noise = gaussian_filter(rng.normal(0, 1, (min(50, n - i), SIDE // 4, SIDE // 4, 3)).astype(np.float32), sigma=(0, 2, 2, 0))
        noise = noise.repeat(4, axis=1).repeat(4, axis=2)
        out[i:i + 50] = np.clip(mean + 40 * noise / noise.std(), 0, 255).round()
    return out, rng.integers(0, CLASSES, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300, help="images in each of the two sets")
    parser.add_argument("--block-size", type=int, default=16)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    public, public_labels = smooth_images(rng, args.images)
    attacked, labels = smooth_images(rng, args.images)
    key = derive_key(b"benchmark secret, not a real one", (SIDE, SIDE, 3), args.block_size)
    encrypted = encrypt(attacked, key)
    shape = (SIDE, SIDE, 3)
    print(f"{args.images} + {args.images} images of {SIDE} x {SIDE} x 3, block {args.block_size}: "
          f"{len(etc_attack.refinement_positions(shape, args.block_size))} refinement positions, "
          f"{etc_attack.edge_images(shape)} edge images")
    for edges in (False, True):
        start = time.perf_counter()
        estimate, _ = etc_attack.ciphertext_only_key(encrypted, labels, public, public_labels, block_size=args.block_size,
                                                     num_classes=CLASSES, edges=edges)
        shares = etc_attack.table_shares(estimate, key)
        print(f"edges={edges}: {time.perf_counter() - start:.1f} s, key tables all right in {shares['all']:.1%} of blocks")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
