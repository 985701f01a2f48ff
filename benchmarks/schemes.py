"""Throughput of every invertible scheme on a CIFAR-10-sized batch, beside a plain numpy copy.

    python benchmarks/schemes.py [--images 10000] [--repeats 3] [--block-size 16]

Prints, per scheme (PE in both key modes), the best of ``repeats`` wall times of deriving the
key, encrypting and decrypting ``images`` random 32 x 32 x 3 uint8 images as one split, and
encrypt / copy (the copy is the floor: any encryption reads and writes every byte once).
"""
from __future__ import annotations

import timeit

import numpy as np
import typer

from workbench.cli import meaning, typer_app
from workbench.data.datasets import dataset_spec
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions

app = typer_app(__doc__.split("\n\n")[0])


@app.command()
def main(images: int = typer.Option(10000, help=meaning("--images", "random CIFAR-10-sized images")),
         repeats: int = typer.Option(3, help=meaning("--repeats", "the best is quoted")),
         block_size: int = typer.Option(16, help=meaning("--block-size"))) -> None:
    """Time key, encrypt and decrypt of each invertible scheme over IMAGES random CIFAR-10-sized images."""
    spec = dataset_spec("cifar10")
    data = {"train": np.random.default_rng(0).integers(0, 256, (images, 32, 32, 3), dtype=np.uint8)}
    best = lambda f: min(timeit.repeat(f, number=1, repeat=repeats))  # noqa: E731
    t_copy = best(lambda: np.copy(data["train"]))
    typer.echo(f"{images} x 32 x 32 x 3 uint8 ({data['train'].nbytes / 1e6:.1f} MB), block {block_size}, best of {repeats}; "
               f"np.copy {t_copy * 1e3:.1f} ms")
    for scheme in (s for s in SCHEMES.values() if s.invertible):
        for mode in ("dataset", "image") if "key_mode" in scheme.options else (None,):
            options = KeyOptions(secret=b"benchmark secret, not a real key", block_size=block_size, key_mode=mode)
            key = scheme.key(spec, options)
            encrypted = scheme.encrypt_splits(key, data)
            assert np.array_equal(scheme.decrypt_splits(key, encrypted)["train"], data["train"])
            t_key = best(lambda: scheme.key(spec, options))
            t_enc = best(lambda: scheme.encrypt_splits(key, data))
            t_dec = best(lambda: scheme.decrypt_splits(key, encrypted))
            label = scheme.name + (f" ({mode} keys)" if mode else "")
            typer.echo(f"  {label:20s} key {t_key * 1e3:8.1f} ms  encrypt {t_enc * 1e3:8.1f} ms  decrypt {t_dec * 1e3:8.1f} ms"
                       f"  {images / t_enc:10.0f} images/s  {t_enc / t_copy:7.1f} x copy")


if __name__ == "__main__":
    app()
