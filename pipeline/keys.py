"""``python -m pipeline.keys``: import a published key into this project's key-table file.

    python -m pipeline.keys --scheme le  --dataset cifar10 --from tanaka-pkl --input key.pkl --out keys/le.npz
    python -m pipeline.keys --scheme ele --dataset cifar10 --from tanaka-pkl --input key4 --out keys/ele.npz
    python -m pipeline.keys --scheme pe  --dataset cifar10 --from siagan-npz --input paper_keys.npz --out keys/pe.npz

Then encrypt (and attack, measure, ...) with ``--key-file keys/le.npz``: the key-table file
replaces the secret. Formats and layouts: ``pipeline.encrypt.published`` and docs/schemes.md.
Pickles are read with an unpickler that builds numpy arrays and integers only.
"""
from __future__ import annotations

from pathlib import Path

import typer

from workbench.cli import choices, meaning, run, typer_app
from workbench.paths import check_writable
from workbench.data.datasets import dataset_spec
from pipeline.encrypt.key_tables import TABLE_SUFFIX, write_tables
from pipeline.encrypt.options import DATASET, DatasetName
from pipeline.encrypt.published import (
    FORMATS,
    PAPER_BLOCK_SEED,
    le_tables,
    siagan_le_keys,
    siagan_pe_tables,
    tanaka_folder,
    tanaka_key,
)
from pipeline.errors import PipelineError

app = typer_app(__doc__)
ImportedScheme = choices("ImportedScheme", ("le", "ele", "pe"))
Format = choices("Format", FORMATS)


@app.command()
def main(
    scheme: ImportedScheme = typer.Option(..., "--scheme", help=meaning("--scheme", "the one the key is for: le, ele or pe")),
    dataset: DatasetName = DATASET,
    source: Format = typer.Option(..., "--from", help="tanaka-pkl (Tanaka's key.pkl; for ele a folder of the ELE paper's <i>_.pkl) or siagan-npz (SIA-GAN's paper_keys.npz)"),
    input: Path = typer.Option(..., "--input", help=meaning("--input", "the published key file (or, for ele from tanaka-pkl, its folder)")),
    out: Path = typer.Option(..., "--out", help=meaning("--out", f"the key-table file ({TABLE_SUFFIX}); pass it as --key-file")),
    row: int = typer.Option(0, "--row", help="le from siagan-npz: which of the 64 keys (the SIA-GAN attack scripts use row 0)"),
    block_seed: int = typer.Option(PAPER_BLOCK_SEED, "--block-seed", help="ele: the seed of the reference scripts' block order (random.seed, then random.shuffle); the paper's"),
) -> None:
    """Translate a published key into a key-table file of SCHEME for DATASET's images."""
    spec = dataset_spec(dataset)
    shape = (spec.height, spec.width, spec.channels)
    if Path(out).suffix.lower() != TABLE_SUFFIX:
        raise PipelineError(f"--out {out}: a key-table file ends in {TABLE_SUFFIX} (that is how --key-file tells it from a secret)")
    check_writable(out, folder=False)
    if scheme == "pe":
        if source != "siagan-npz":
            raise PipelineError("--from: PE keys are published in siagan-npz only")
        tables, block = siagan_pe_tables(input, shape), 1
    else:
        if source == "tanaka-pkl":
            block, keys = tanaka_folder(input, spec.channels) if scheme == "ele" else tanaka_key(input, spec.channels)
            keys = keys if scheme == "ele" else keys[None]
        else:
            block, keys = siagan_le_keys(input, spec.channels)
            if scheme == "le":
                if not 0 <= row < len(keys):
                    raise PipelineError(f"--row {row}: {input} holds keys 0..{len(keys) - 1}")
                keys = keys[row:row + 1]
        tables = le_tables(keys, block, shape, scheme == "ele", block_seed)
    write_tables(out, scheme, shape, block, f"{source} {Path(input).name}", tables)
    typer.echo(f"wrote {out}: a {scheme} key for {spec.name} ({'x'.join(map(str, shape))}, block {block}) from {source} {input}")


if __name__ == "__main__":
    run(app)
