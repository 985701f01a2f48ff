"""``python -m pipeline.encrypt``: encrypt a dataset's plain train and test splits with a scheme.

    python -m pipeline.encrypt --scheme vor --dataset fashion      # = python -m pipeline.vor --dataset fashion
    python -m pipeline.encrypt --scheme random --dataset mnist --key-seed 0
    python -m pipeline.encrypt --scheme etc --dataset cifar10 --block-size 16 --key-seed 0   # benchmark key 0
    python -m pipeline.encrypt --scheme etc --dataset cifar10 --block-size 16   # private: $VORTEX_SECRET
    python -m pipeline.encrypt --scheme pe --dataset cifar10 --key-mode image    # a fresh PE key per image

Writes ``<data-dir>/<dataset>/<scheme>/`` (the split files and ``params.json``) as one unit:
a killed run leaves the old complete set or the new one.
"""
from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path
from typing import Callable, Optional

import typer

from workbench.cli import meaning, typer_app
from workbench.paths import check_input, check_writable
from workbench.data.datasets import dataset_spec
from workbench.data.layouts import default_input
from pipeline.encrypt.options import (
    DATA_DIR,
    DATASET,
    SCHEME,
    DatasetName,
    SchemeName,
    key_options,
    with_key_options,
)
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.stage import encrypt_dataset, variant_dir


def encrypt_app(fixed_scheme: str | None = None, help_text: str | None = None) -> typer.Typer:
    """The encrypt command; ``fixed_scheme`` makes it one scheme's command (``python -m pipeline.vor``), which
    takes no ``--scheme`` and offers only the key options that scheme reads."""
    application = typer_app(help_text or __doc__)
    offered = SCHEMES.get(fixed_scheme).options if fixed_scheme else None

    def encrypt(
        dataset: DatasetName = DATASET,
        scheme: SchemeName = SCHEME,
        data_dir: Path = DATA_DIR,
        input: Optional[Path] = typer.Option(None, "--input", help=meaning("--input", "the plain images, a mnist.mat-layout file or CIFAR-10 batch folder [default: <data-dir>/<dataset>/origin/...]")),
        out: Optional[Path] = typer.Option(None, "--out", help=meaning("--out", "the encrypted variant's folder [default: <data-dir>/<dataset>/<scheme>, <scheme>-k<key seed> with --key-seed]")),
        preview: Optional[Path] = typer.Option(None, "--preview", help=meaning("--preview")),
        key_given: dict = None,
    ) -> None:
        """Encrypt the train and test images of DATASET with SCHEME; write the scheme's files."""
        chosen = SCHEMES.get(scheme)
        spec = dataset_spec(dataset, data_dir)
        options = key_options(chosen, data_dir, **key_given)
        check_input(data_dir, "--data-dir", folder=True, optional=True)
        check_input(input, "--input", folder=spec.layout == "cifar")  # the CIFAR-10 batch layout is a folder
        out_dir = check_writable(out or variant_dir(data_dir, spec, chosen, options.key_seed), folder=True)
        if preview is not None:
            check_writable(preview, folder=False, option="--preview")
        key = chosen.key(spec, options)
        report = encrypt_dataset(chosen, spec, key, input or default_input(spec, data_dir), out_dir, preview=preview,
                                key_seed=options.key_seed)
        note = report["key"].get("note")
        if note:
            typer.echo(f"note: {note}")
        typer.echo(f"key: {json.dumps({k: v for k, v in report['key'].items() if k != 'note'})}")
        t = report["seconds"]
        typer.echo(f"{spec.name} {chosen.name}: {report['images']['train']} train and {report['images']['test']} test images; "
                   f"read {t['read']:.2f} s, encrypt {t['encrypt']:.2f} s, write {t['write']:.2f} s")
        for path in report["written"]:
            typer.echo(f"wrote {path}")

    application.command("encrypt")(with_key_options(encrypt if fixed_scheme is None else _fixed(encrypt, fixed_scheme), only=offered))
    return application


def _fixed(command: Callable[..., None], scheme: str) -> Callable[..., None]:
    """``command`` without its ``--scheme`` option: it always runs ``scheme``."""
    signature = inspect.signature(command)

    @functools.wraps(command)
    def wrapper(**values):
        return command(scheme=scheme, **values)

    wrapper.__signature__ = signature.replace(parameters=[p for p in signature.parameters.values() if p.name != "scheme"])
    return wrapper
