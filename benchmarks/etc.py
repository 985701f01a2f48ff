"""EtC throughput on a CIFAR-10-sized dataset, beside a plain numpy copy of the same array.

    python benchmarks/etc.py [--images 60000] [--block-size 16] [--repeats 3]

Prints the best of ``repeats`` wall times of encrypt, decrypt and ``np.copy`` on random
uint8 images of 32 x 32 x 3, and the ratio encrypt / copy (the copy is the floor: any
encryption must at least read and write every byte once).
"""
from __future__ import annotations

import timeit

import numpy as np
import typer

from workbench.cli import meaning, typer_app
from pipeline.encrypt.etc import decrypt, encrypt
from pipeline.encrypt.etc_key import derive_key

app = typer_app(__doc__.split("\n\n")[0])




@app.command()
def main(images: int = typer.Option(60000, help=meaning("--images", "random 32 x 32 x 3 uint8 images")),
         block_size: int = typer.Option(16, help=meaning("--block-size")),
         repeats: int = typer.Option(3, help=meaning("--repeats", "the best is quoted"))) -> None:
    """Time encrypt / decrypt / np.copy over IMAGES random 32 x 32 x 3 uint8 images."""
    data = np.random.default_rng(0).integers(0, 256, (images, 32, 32, 3), dtype=np.uint8)
    key = derive_key(b"benchmark secret, not a real key", data.shape[1:], block_size)
    encrypted = encrypt(data, key)
    assert np.array_equal(decrypt(encrypted, key), data)
    t_copy = min(timeit.repeat(lambda: np.copy(data), number=1, repeat=repeats))
    t_enc = min(timeit.repeat(lambda: encrypt(data, key), number=1, repeat=repeats))
    t_dec = min(timeit.repeat(lambda: decrypt(encrypted, key), number=1, repeat=repeats))
    mb = data.nbytes / 1e6
    typer.echo(f"{images} x 32 x 32 x 3 uint8 ({mb:.1f} MB), block {block_size}, best of {repeats}")
    for name, t in (("np.copy", t_copy), ("encrypt", t_enc), ("decrypt", t_dec)):
        typer.echo(f"  {name:8s} {t * 1e3:8.1f} ms  {mb / t:8.0f} MB/s  {images / t:10.0f} images/s  {t / t_copy:5.2f} x copy")


if __name__ == "__main__":
    app()
