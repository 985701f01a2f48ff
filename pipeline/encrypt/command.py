"""``python -m pipeline.encrypt``: encrypt a dataset's plain train and test splits with a scheme.

    python -m pipeline.encrypt --scheme vor --dataset fashion      # = python -m pipeline.vor --dataset fashion
    python -m pipeline.encrypt --scheme random --dataset mnist --seed 0
    python -m pipeline.encrypt --scheme etc --dataset cifar10 --block-size 16   # secret from $VORTEX_ETC_SECRET
    python -m pipeline.encrypt --scheme pe --dataset cifar10 --key-mode image    # a fresh PE key per image

Writes ``<data-dir>/<dataset>/<scheme>/`` (the split files and ``params.json``) as one unit:
a killed run leaves the old complete set or the new one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.cli import alias, app, check_writable
from pipeline.data.datasets import dataset_spec
from pipeline.data.layouts import default_input
from pipeline.encrypt.options import (
    BLOCK_SIZE, DATA_DIR, DATASET, KEY_FILE, KEY_MODE, DatasetName, SchemeName, OLD_PARAMS, OLD_VORTICES, PARAMS, SCHEME, SEED, VORTICES, key_options,
)
from pipeline.encrypt.registry import get_scheme
from pipeline.encrypt.stage import encrypt_dataset


def encrypt_app(fixed_scheme: str | None = None, help_text: str | None = None) -> typer.Typer:
    """The encrypt command; ``fixed_scheme`` makes it one scheme's command (``python -m pipeline.vor``)."""
    application = app(help_text or __doc__)
    scheme_option = typer.Option(fixed_scheme, "--scheme", hidden=True) if fixed_scheme else SCHEME

    @application.command()
    def encrypt(
        dataset: DatasetName = DATASET,
        scheme: SchemeName = scheme_option,
        data_dir: Path = DATA_DIR,
        input: Optional[Path] = typer.Option(None, "--input", help="mnist.mat-layout file or CIFAR-10 batch folder [default: <data-dir>/<dataset>/origin/...]"),
        out: Optional[Path] = typer.Option(None, "--out", help="output folder [default: <data-dir>/<dataset>/<scheme>]"),
        preview: Optional[Path] = typer.Option(None, "--preview", help="also write a PNG of original / encrypted test images"),
        params: Optional[Path] = PARAMS,
        vortices: Optional[int] = VORTICES,
        seed: Optional[int] = SEED,
        block_size: Optional[int] = BLOCK_SIZE,
        key_file: Optional[Path] = KEY_FILE,
        key_mode: Optional[str] = KEY_MODE,
        output: Optional[Path] = typer.Option(None, "--output", hidden=True),
        vor_params: Optional[Path] = OLD_PARAMS,
        num_vortices: Optional[int] = OLD_VORTICES,
    ) -> None:
        """Encrypt the train and test images of DATASET with SCHEME; write the scheme's files."""
        chosen = get_scheme(scheme)
        spec = dataset_spec(dataset)
        options = key_options(chosen, data_dir, params=alias(params, vor_params, "--vor-params", "--params"),
                              vortices=alias(vortices, num_vortices, "--num-vortices", "--vortices"),
                              seed=seed, block_size=block_size, key_file=key_file, key_mode=key_mode)
        out_dir = check_writable(alias(out, output, "--output", "--out") or data_dir / spec.name / chosen.name, folder=True)
        if preview is not None:
            check_writable(preview, folder=False, option="--preview")
        key = chosen.key(spec, options)
        report = encrypt_dataset(chosen, spec, key, input or default_input(spec, data_dir), out_dir, preview=preview)
        note = report["key"].get("note")
        if note:
            typer.echo(f"note: {note}")
        t = report["seconds"]
        typer.echo(f"{spec.name} {chosen.name}: {report['images']['train']} train and {report['images']['test']} test images; "
                   f"read {t['read']:.2f} s, encrypt {t['encrypt']:.2f} s, write {t['write']:.2f} s")
        for path in report["written"]:
            typer.echo(f"wrote {path}")

    return application
