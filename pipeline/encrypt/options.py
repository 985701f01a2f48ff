"""The command-line options of keys, declared once for every command that takes a scheme.

``python -m pipeline.encrypt``, ``pipeline.attack``, ``pipeline.information``,
``pipeline.compress`` and the information study all take the same spellings; a command
refuses an option its scheme does not read (before any work starts).
"""
from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Callable, Optional

import typer

from workbench.cli import at_least, choices, meaning
from workbench.paths import check_input
from workbench.data.datasets import DatasetSpec, dataset_spec
from pipeline.encrypt.registry import SCHEMES
from pipeline.encrypt.scheme import KeyOptions, Scheme, spelled
from pipeline.encrypt.secret import KEY_DRAWS
from pipeline.errors import PipelineError

DatasetName = str  # a built-in or a fetched declared dataset (workbench.data.datasets.dataset_spec checks it)
SchemeName = choices("SchemeName", SCHEMES)
DATASET = typer.Option(..., "--dataset", help=meaning("--dataset", "mnist, fashion, cifar10 or one declared in params.yaml and fetched"))
SCHEME = typer.Option(..., "--scheme", help=meaning("--scheme", "one of the registry (python -m pipeline.schemes lists them)"))
DATA_DIR = typer.Option(Path("data"), "--data-dir", help=meaning("--data-dir"))
#: The key options, in the order --help lists them (name, type, option).
KEY_OPTIONS = (
    ("params", Optional[Path], typer.Option(None, "--params", help=meaning("--params", "vor [default: <data-dir>/<dataset>/params/<published file>]"))),
    ("vortices", Optional[int], typer.Option(None, "--vortices", help=meaning("--vortices", "vor uses the first N [default: the script's v_num, or all the file holds if fewer]"))),
    ("key_seed", Optional[int], typer.Option(None, "--key-seed", help=meaning("--key-seed", "random: MATLAB rng seed of the per-image permutations [encrypt: 0]; secret-keyed schemes: the public benchmark key the secret is derived from (docs/schemes.md) [later stages: the recorded one]"))),
    ("block_size", Optional[int], typer.Option(None, "--block-size", help=meaning("--block-size", "block-wise schemes; it divides the image [default: 16 for CIFAR-10, 7 for 28 x 28; later stages: the recorded one]"))),
    ("key_mode", Optional[str], typer.Option(None, "--key-mode", help=meaning("--key-mode", "dataset (one key for every image) or image (a fresh key per image, the paper's 'without key management') [default: dataset]"))),
    ("key_draw", Optional[str], typer.Option(None, "--key-draw", help=meaning("--key-draw", "le, ele, etc, pe: project (this project's key distribution) or reference (the reference code's: LE/ELE negation fixed by the shuffle, EtC's rotation x flip codes, PE's exactly-half negation); python -m pipeline.schemes lists both [default: project; later stages: the recorded one]"))),
    ("key_file", Optional[Path], KEY_FILE := typer.Option(None, "--key-file", help=meaning("--key-file", "secret-keyed schemes (>= 16 bytes) [default: $VORTEX_SECRET]"))),
)


def flag(name: str) -> str:
    """The command-line spelling of a key option (a :class:`KeyOptions` field): ``block_size`` -> ``--block-size``."""
    return "--" + spelled(name)


def with_key_options(command: Callable[..., None], only: tuple[str, ...] | None = None) -> Callable[..., None]:
    """Give a Typer command the key options of :data:`KEY_OPTIONS`; it receives their values as ``key_given: dict``.

    One declaration of the options for every command that takes a scheme (Typer reads the
    signature this sets). ``only``: the options one scheme's own command offers (those it reads),
    so its ``--help`` lists no option it would refuse."""
    offered = [(name, kind, option) for name, kind, option in KEY_OPTIONS if only is None or name in only]
    signature = inspect.signature(command)
    kept = [p for p in signature.parameters.values() if p.name != "key_given"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
             for name, kind, option in offered]

    @functools.wraps(command)
    def wrapper(**values):
        return command(key_given={name: values.pop(name) for name, _, _ in offered}, **values)

    wrapper.__signature__ = signature.replace(parameters=kept + added)
    wrapper.__annotations__ = {**{k: v for k, v in command.__annotations__.items() if k != "key_given"},
                               **{p.name: p.annotation for p in added}}
    return wrapper


def chosen_scheme(scheme: str | None, dataset: str, data_dir: Path = Path("data")) -> tuple[Scheme, DatasetSpec]:
    """The scheme of ``--scheme`` and the dataset's description."""
    if scheme is None:
        raise PipelineError("--scheme is required")
    return SCHEMES.get(scheme), dataset_spec(dataset, data_dir)


def key_options(scheme: Scheme, data_dir: Path, **given) -> KeyOptions:
    """KeyOptions from command-line values; an option the scheme does not read is an error."""
    for name, value in given.items():
        if value is not None and name not in scheme.options:
            raise PipelineError(f"{flag(name)}: the {scheme.name} scheme does not take it (it reads: "
                                f"{', '.join(flag(o) for o in scheme.options) or 'no key option'})")
    at_least(given.get("vortices"), "--vortices", 1)
    at_least(given.get("key_seed"), "--key-seed", 0)
    at_least(given.get("block_size"), "--block-size", 1)
    if given.get("key_draw") not in (None, *KEY_DRAWS):
        raise PipelineError(f"--key-draw: choose {' or '.join(KEY_DRAWS)}, got {given['key_draw']!r}")
    check_input(given.get("params"), "--params")
    check_input(given.get("key_file"), "--key-file")
    return KeyOptions(data_dir=data_dir, **given)
