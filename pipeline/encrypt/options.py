"""The command-line options of keys, declared once for every command that takes a scheme.

``python -m pipeline.encrypt``, ``pipeline.attack``, ``pipeline.information``,
``pipeline.compress`` and the information study all take the same spellings; a command
refuses an option its scheme does not read (before any work starts).
"""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import typer

from pipeline.cli import at_least, choices
from pipeline.data.datasets import DATASETS
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.errors import PipelineError

DatasetName = choices("DatasetName", DATASETS)
SchemeName = choices("SchemeName", SCHEMES)
DATASET = typer.Option(..., "--dataset", help="the dataset")
SCHEME = typer.Option(..., "--scheme", help="the encryption scheme (python -m pipeline.schemes lists them)")
DATA_DIR = typer.Option(Path("data"), "--data-dir", help="the project's data folder")
PARAMS = typer.Option(None, "--params", help="vor: vortex parameter file (vor_par) [default: <data-dir>/<dataset>/params/<published file>]")
VORTICES = typer.Option(None, "--vortices", help="vor: use the first N vortices [default: the script's v_num, or all the file holds if fewer]")
SEED = typer.Option(None, "--seed", help="random: MATLAB rng seed of the per-image permutations [encrypt: 0; later stages: the recorded one]")
BLOCK_SIZE = typer.Option(None, "--block-size", help="etc, block, le, ele: block edge in pixels, dividing the image (28 x 28: 4, 7, 14) [encrypt: 16; later stages: the recorded one]")
KEY_MODE = typer.Option(None, "--key-mode", help="pe: dataset (one key for every image) or image (a fresh key per image, the paper's 'without key management') [default: dataset]")
KEY_FILE = typer.Option(None, "--key-file", help="secret-keyed schemes: file holding the secret (>= 16 bytes) [default: $VORTEX_ETC_SECRET]")
#: Old spellings, accepted for one release (hidden from --help).
OLD_PARAMS = typer.Option(None, "--vor-params", hidden=True)
OLD_VORTICES = typer.Option(None, "--num-vortices", hidden=True)

_FLAGS = {f.name: "--" + f.name.replace("_", "-") for f in fields(KeyOptions)}


def key_options(scheme: Scheme, data_dir: Path, **given) -> KeyOptions:
    """KeyOptions from command-line values; an option the scheme does not read is an error."""
    for name, value in given.items():
        if value is not None and name not in scheme.options:
            raise PipelineError(f"{_FLAGS[name]}: the {scheme.name} scheme does not take it (it reads: "
                                f"{', '.join(_FLAGS[o] for o in scheme.options) or 'no key option'})")
    at_least(given.get("vortices"), "--vortices", 1)
    at_least(given.get("seed"), "--seed", 0)
    at_least(given.get("block_size"), "--block-size", 1)
    return KeyOptions(data_dir=data_dir, **given)
