"""``python -m pipeline.schemes``: the registered encryption schemes, their keys and key spaces.

    python -m pipeline.schemes                    # key spaces for CIFAR-10 (32 x 32 RGB), block 16
    python -m pipeline.schemes --dataset fashion --block-size 7

Key spaces are given for both key draws (``--key-draw``): ``project`` (this project's
distribution, the default) and ``reference`` (the reference code's); "same" where a scheme has
no reference draw of its own.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import typer

from workbench.cli import meaning, run, typer_app
from workbench.data.datasets import dataset_spec
from pipeline.encrypt.options import DatasetName, flag
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions
from pipeline.encrypt.secret import block_size_of

SMALL_KEY_SPACE_LOG2 = 80  # below this many bits a key can be searched exhaustively by a determined adversary

app = typer_app(__doc__)


@app.command()
def main(
    dataset: DatasetName = typer.Option("cifar10", "--dataset", help=meaning("--dataset", "the images whose key space is counted")),
    block_size: Optional[int] = typer.Option(None, "--block-size", help=meaning("--block-size", "block-wise schemes [default: 16 for CIFAR-10, 7 for 28 x 28]")),
) -> None:
    """List every scheme: name, key kind, where the key comes from, invertibility, options, key-space size."""
    spec = dataset_spec(dataset)
    options = KeyOptions(block_size=block_size)
    if block_size is not None:
        block_size_of(spec, options)  # refused before anything is listed
    typer.echo(f"{spec.name}: {spec.height} x {spec.width} x {spec.channels}, block {block_size or spec.block_size}")
    typer.echo(f"{'scheme':8s} {'invertible':10s} {'key from':15s} {'log2 keys':>10s} {'reference':>10s}  key; options")
    for scheme in SCHEMES.values():
        size = scheme.key_space_log2(spec, options)
        reference = scheme.key_space_log2(spec, dataclasses.replace(options, key_draw="reference")) if "key_draw" in scheme.options else None
        sizes = [s for s in (size, reference) if s is not None]
        warn = "  (small: exhaustive search is feasible)" if sizes and min(sizes) < SMALL_KEY_SPACE_LOG2 else ""
        typer.echo(f"{scheme.name:8s} {str(scheme.invertible).lower():10s} {scheme.key_source:15s} {_bits(size):>10s} "
                   f"{_bits(reference) if 'key_draw' in scheme.options else _bits(size) if size is None else 'same':>10s}  "
                   f"{scheme.key_kind}; {', '.join(flag(o) for o in scheme.options) or '-'}{warn}")
    typer.echo("log2 keys: --key-draw project (the default); reference: --key-draw reference, the reference code's "
               "distribution ('same': the scheme has none of its own; docs/schemes.md)")


def _bits(size: float | None) -> str:
    return "n/a" if size is None else f"{size:.1f}"


if __name__ == "__main__":
    run(app)
