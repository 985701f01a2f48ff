"""The one command-line convention of every ``python -m pipeline.*`` and ``python -m train`` command.

(The path checks themselves live in :mod:`workbench.paths`, which needs no typer.)

* The same option name for the same thing everywhere (:data:`OPTION_NAMES`), defaults shown
  in ``--help`` as plain text (no rich markup that would swallow ``[default: ...]``).
* One error path (:func:`run`): a known error (the package's own exception, an unreadable or
  unwritable file, a bad option) is ONE line ``error: ...`` on stderr and exit code 1, never
  a traceback.
* Options checked before any work: an input path is looked at with ``stat`` before anything
  opens it (:func:`check_input`: a FIFO, device or socket is refused, not read), an output
  place is tried (:func:`check_writable`), and an option the run would not use is refused
  (:func:`refuse_given`), not ignored.
* Progress bars only on a terminal; in logs (DVC, CI) the commands print summary lines.
"""
from __future__ import annotations

import enum
import sys
from typing import Iterable, Sequence

import typer
from tqdm import tqdm
from typer.exceptions import Abort, Exit, TyperException

from matlab_compat import MatFileError
from workbench.errors import WorkbenchError
from workbench.paths import check_input, check_writable, os_error, path_problem  # noqa: F401  the commands' input and output checks

#: Every option name of every command (``python -m pipeline.*``, ``python -m train``, ``python -m train.launch``,
#: subcommands included, and the ``benchmarks/`` scripts) and the ONE thing it means. A name used by more than one command (and each name
#: of :data:`SHARED`) is described in each command's ``--help`` by :func:`meaning`, so its help starts with
#: this text; tests/test_option_names.py walks every ``--help`` and checks both. A ``--no-X`` switch is
#: ``--X``'s other half.
OPTION_NAMES = {
    # Decided for the whole project, and shared by several commands.
    "--dataset": "the dataset",
    "--scheme": "the encryption scheme",
    "--seed": "the seed of a procedure's own randomness (training, a draw, a split; never a key)",
    "--key-seed": "the seed the key is drawn from",
    "--key-file": "file holding a private secret",
    "--block-size": "block edge in pixels",
    "--out": "where the command writes",
    "--data-dir": "the project's data folder",
    "--params": "vortex parameter file (vor_par)",
    "--vortices": "number of vortices",
    "--key-mode": "pe's key per dataset or per image",
    "--key-draw": "the distribution keys are drawn from",
    "--input": "the file (or folder) the command reads",
    "--preview": "also write a PNG of original / encrypted test images",
    "--device": "the torch device",
    "--epochs": "training epochs",
    "--kind": "which attacks to run",
    "--classifier-cache": "folder keeping the plain classifier between runs",
    "--recognisability": "score recovered images with a classifier trained on plain images",
    "--preset": "a training recipe (train/presets.py)",
    "--params-file": "the params file (params.yaml, or a profile composed from conf/)",
    "--model": "the network",
    "--crop": "image size the network sees",
    "--batch": "batch size",
    "--threads": "torch CPU threads",
    "--images": "how many images",
    "--repeats": "timed runs of each measurement",
    # One command's own.
    "--allow-unverified": "use inputs that fail their checksum",
    "--attacks-dir": "folder of pipeline.attack results",
    "--block-seed": "ele: the seed of the reference scripts' block order",
    "--checkpoint-every": "keep a checkpoint every N epochs",
    "--checkpoints": "folder of resumable checkpoints",
    "--depth": "convmixer depth",
    "--exact-sample": "per-image schemes: images measured exactly with their drawn keys",
    "--figures": "redraw the dataset's figures",
    "--figures-dir": "folder of the figures",
    "--flip": "horizontal flip probability",
    "--from": "the format of a published key",
    "--information-dir": "folder of pipeline.information results",
    "--jitter": "ColorJitter strengths",
    "--jpeg-quality": "train and test on JPEG-compressed pictures of this quality",
    "--kernel": "convmixer kernel size",
    "--key-share": "score the key share against the true key",
    "--known-pairs": "itn: victim train pairs of the fine-tuned variant",
    "--label": "name of the result",
    "--launcher": "python or torchrun",
    "--lpips-weights": "LPIPS weight files",
    "--lr": "learning rate",
    "--max-images": "measure only the first N images of each split",
    "--mirror": "folder holding local copies of inputs",
    "--nproc": "processes on this machine",
    "--padding": "RandomCrop padding",
    "--pairs": "known-plaintext: numbers of known pairs",
    "--patch": "patch size",
    "--profile": "the DVC profile whose results these are",
    "--progress": "progress bars (only on a terminal)",
    "--public-secret": "key the secret-keyed schemes with a published study secret",
    "--quality": "JPEG quality",
    "--readme": "a markdown file whose results blocks get the rendered tables",
    "--results": "folder of the information study's results",
    "--resume": "continue from the latest checkpoint",
    "--ricap": "RICAP beta",
    "--row": "le from siagan-npz: which of the published keys",
    "--run": "one encryption of the study's run list",
    "--runs-dir": "folder of run folders",
    "--settings": "the learned attacks' training budget",
    "--split": "which split",
    "--stop-after": "stop after this epoch",
    "--study": "the name of the study",
    "--subsampling": "JPEG chroma subsampling",
    "--sync-bn": "under torchrun: BatchNorm statistics over the global batch",
    "--test-images": "score on the first N test images only",
    "--train-images": "train on the first N training images only",
    "--vortex-params": "also fetch (or draw) the vortex parameters",
    "--wd": "weight decay",
    # The benchmark scripts' own (python benchmarks/<script>.py).
    "--doc": "where the Markdown report goes",
    "--dry-run": "CPU, toy sizes: the same code in seconds",
    "--jobs": "trainings at once",
    "--json": "where the figures go (JSON)",
    "--rows-scale": "fraction of the rows to use",
    "--steps": "timed steps per run",
    "--warmup": "untimed batches at the start",
    "--workers": "DataLoader workers",
    "--weight-scale": "distance weight: scale",
    "--weight-shape": "distance weight: shape",
    "--weights": "local torchvision state-dict file",
    "--width": "network width",
}
#: The names decided for the whole project: described by :func:`meaning` even where one command uses them.
SHARED = ("--dataset", "--scheme", "--seed", "--key-seed", "--key-file", "--block-size", "--out", "--data-dir")


def meaning(name: str, detail: str = "") -> str:
    """The ``--help`` text of option ``name``: its meaning from :data:`OPTION_NAMES`, then what this command adds."""
    if not detail:
        return OPTION_NAMES[name]
    return f"{OPTION_NAMES[name]}{' ' if detail.startswith('[') else ': '}{detail}"


def typer_app(help_text: str | None) -> typer.Typer:
    """A Typer app with the project's settings (plain help with visible defaults, no completion, no pretty tracebacks)."""
    return typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False, help=help_text)


def run(application: typer.Typer, argv: Sequence[str] | None = None) -> None:
    """Run ``application`` as a command: known errors become one line on stderr and exit code 1."""
    try:
        code = application(args=list(argv) if argv is not None else None, standalone_mode=False)
    except Exit as done:
        code = done.exit_code
    except Abort:
        _fail("interrupted")
    except typer.BadParameter as err:  # a value the option does not take: name the option first
        name = err.param.opts[0] if err.param is not None and err.param.opts else err.param_hint
        _fail(f"{name}: {err.message}" if name and err.message else err.format_message())
    except TyperException as err:  # other usage errors: an unknown option, a missing value, an extra argument
        option = getattr(err, "option_name", None)
        _fail(f"{option}: no such option" if option else err.format_message())
    except KeyboardInterrupt:
        _fail("interrupted")
    except (WorkbenchError, MatFileError) as err:  # every package's one exception, and the MAT library's
        _fail(str(err))
    except OSError as err:
        _fail(os_error(err))
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str) -> None:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(1)


def given(context: typer.Context, *names: str) -> list[str]:
    """The options among ``names`` (parameter names) that the command line gave, by their spelling."""
    params = {p.name: p for p in context.command.params}

    def spelling(p) -> str:  # a switched-off flag by its --no- spelling
        return p.secondary_opts[0] if p.secondary_opts and context.params.get(p.name) is False else p.opts[0]

    return [spelling(params[n]) for n in names if getattr(context.get_parameter_source(n), "name", None) == "COMMANDLINE"]


def refuse_given(context: typer.Context, names: Iterable[str], why: str) -> None:
    """Refuse an option the command line gave that the run would not use (``why``: what it is for)."""
    unused = given(context, *names)
    if unused:
        raise WorkbenchError(f"{unused[0]}: {why}")


def choices(name: str, values: Iterable[str]) -> type[enum.StrEnum]:
    """An option type whose values are ``values`` (listed in ``--help`` and checked before work starts)."""
    return enum.StrEnum(name, {value: value for value in values})


def progress_bars() -> bool:
    """Whether progress bars are shown: only when stderr is a terminal (not in DVC or CI logs)."""
    return sys.stderr.isatty()


def progress_bar(iterable=None, *, disable: bool = False, **options) -> tqdm:
    """A tqdm bar on stderr, shown only on a terminal."""
    return tqdm(iterable, disable=disable or not progress_bars(), file=sys.stderr, **options)


def finite(value: float, option: str, *, low: float | None = None, high: float | None = None, low_open: bool = False) -> float:
    """``value`` if it is a finite number in range, else a clean error naming ``option``."""
    ok = value == value and value not in (float("inf"), float("-inf"))
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        bounds = "" if low is None else f" {'>' if low_open else '>='} {low:g}"
        bounds += "" if high is None else f" and <= {high:g}"
        raise WorkbenchError(f"{option} must be a finite number{bounds}, got {value}")
    return value


def at_least(value: int | None, option: str, low: int) -> int | None:
    """``value`` (or None) if it is at least ``low``, else a clean error naming ``option``."""
    if value is not None and value < low:
        raise WorkbenchError(f"{option} must be at least {low}, got {value}")
    return value

