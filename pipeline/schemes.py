"""``python -m pipeline.schemes``: the registered encryption schemes, their keys and key spaces.

    python -m pipeline.schemes                    # key spaces for CIFAR-10 (32 x 32 RGB), block 16
    python -m pipeline.schemes --dataset fashion --block-size 7
"""
from __future__ import annotations

from typing import Optional

import typer

from pipeline.cli import run, typer_app
from pipeline.data.datasets import dataset_spec
from pipeline.encrypt.options import DatasetName
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions
from pipeline.encrypt.secret import block_size_of

SMALL_KEY_SPACE_LOG2 = 80  # below this many bits a key can be searched exhaustively by a determined adversary

app = typer_app(__doc__)


@app.command()
def main(
    dataset: DatasetName = typer.Option("cifar10", "--dataset", help="the images whose key space is counted"),
    block_size: Optional[int] = typer.Option(None, "--block-size", help="block edge in pixels for block-wise schemes [default: 16 for CIFAR-10, 7 for 28 x 28]"),
) -> None:
    """List every scheme: name, key kind, where the key comes from, invertibility, options, key-space size."""
    spec = dataset_spec(dataset)
    options = KeyOptions(block_size=block_size)
    if block_size is not None:
        block_size_of(spec, options)  # refused before anything is listed
    typer.echo(f"{spec.name}: {spec.height} x {spec.width} x {spec.channels}, block {block_size or spec.block_size}")
    typer.echo(f"{'scheme':8s} {'invertible':10s} {'key from':15s} {'log2 keys':>10s}  key; options")
    for scheme in SCHEMES.values():
        size = scheme.key_space_log2(spec, options)
        shown = "n/a" if size is None else f"{size:.1f}"
        warn = "  (small: exhaustive search is feasible)" if size is not None and size < SMALL_KEY_SPACE_LOG2 else ""
        typer.echo(f"{scheme.name:8s} {str(scheme.invertible).lower():10s} {scheme.key_source:15s} {shown:>10s}  "
                   f"{scheme.key_kind}; {', '.join('--' + o.replace('_', '-') for o in scheme.options) or '-'}{warn}")


if __name__ == "__main__":
    run(app)
