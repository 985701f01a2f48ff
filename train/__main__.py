"""``python -m train``: train one model on one dataset variant and write its results.

    python -m train --preset fashion_resnet18_vor                # a published recipe (GPU)
    python -m train --preset fashion_smallcnn_cpu --dataset fashion_random   # minutes on a CPU
    python -m train --dataset mnist_vor --model resnet18 --epochs 5 --ricap none
    torchrun --standalone --nproc_per_node=4 -m train --preset fashion_resnet18_vor   # 4 GPUs (docs/train.md)

Writes ``metrics.json``, ``history.tsv`` and ``checkpoints/`` into ``--out`` (default
``results/runs/<dataset>_<model>_<variant>[_<preset>]``); ``--resume`` carries on from the
latest checkpoint there. Any refusal is one line ``error: <option>: <problem>`` on stderr, exit code 1.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from train.errors import TrainError  # train/__init__.py sets OMP_WAIT_POLICY before torch loads

app = typer.Typer(add_completion=False, help=__doc__)


def _ricap(value: str) -> float | None:
    if value.lower() == "none":
        return None
    try:
        return float(value)
    except ValueError:
        raise TrainError(f"takes a beta (e.g. 0.3) or 'none', got {value!r}", "ricap") from None


def _jitter(value: str) -> tuple[float, float, float, float]:
    if value.lower() == "none":
        return (0.0, 0.0, 0.0, 0.0)
    try:
        numbers = tuple(float(p) for p in value.split(","))
    except ValueError:
        numbers = ()
    if len(numbers) != 4:
        raise TrainError(f"takes 'brightness,contrast,saturation,hue' or 'none', got {value!r}", "jitter")
    return numbers  # type: ignore[return-value]


def check_out(out: str) -> None:
    """Refuse an ``--out`` that is a file or that cannot be written, before any work starts (nothing is created)."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise TrainError(f"{out} is an existing file, not a folder", "out")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise TrainError(f"{existing} is a file, so {out} cannot be made", "out")
    if not os.access(existing, os.W_OK | os.X_OK) or not _can_create_in(existing):
        raise TrainError(f"cannot write in {existing}", "out")


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be made in ``folder`` (``os.access`` says yes to root even on read-only places)."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


@app.command()
def main(
    dataset: Optional[str] = typer.Option(None, help="mnist, fashion, cifar10, each with _vor, _random or _<encryption>"),
    model: Optional[str] = typer.Option(None, help="resnet18, vit_b_16, convmixer or smallcnn"),
    preset: Optional[str] = typer.Option(None, help="a named recipe (see docs/train.md); options below override it"),
    epochs: Optional[int] = typer.Option(None, help="training epochs"),
    batch: Optional[int] = typer.Option(None, help="batch size"),
    crop: Optional[int] = typer.Option(None, help="image size the network sees (Resize + RandomCrop)"),
    lr: Optional[float] = typer.Option(None, help="learning rate"),
    wd: Optional[float] = typer.Option(None, help="weight decay"),
    ricap: Optional[str] = typer.Option(None, help="RICAP beta, or 'none' to switch it off (published default: 0.3)"),
    padding: Optional[int] = typer.Option(None, help="RandomCrop padding (0: no random crop)"),
    flip: Optional[float] = typer.Option(None, help="horizontal flip probability"),
    jitter: Optional[str] = typer.Option(None, help="ColorJitter 'b,c,s,h' or 'none'"),
    width: Optional[int] = typer.Option(None, help="convmixer / smallcnn width"),
    depth: Optional[int] = typer.Option(None, help="convmixer depth"),
    patch: Optional[int] = typer.Option(None, help="convmixer / vit_b_16 patch size"),
    kernel: Optional[int] = typer.Option(None, help="convmixer kernel size"),
    seed: Optional[int] = typer.Option(None, help="random seed (reference: 3407)"),
    device: Optional[str] = typer.Option(None, help="auto, cpu or cuda"),
    data_dir: Optional[str] = typer.Option(None, help="the pipeline's data folder (default: data)"),
    out: Optional[str] = typer.Option(None, help="results folder"),
    weights: Optional[str] = typer.Option(None, help="local torchvision state-dict file (pre-trained ViT)"),
    checkpoint_every: Optional[int] = typer.Option(None, help="keep a checkpoint every N epochs (reference: 10)"),
    resume: bool = typer.Option(False, "--resume", help="continue from the latest checkpoint in --out"),
    stop_after: Optional[int] = typer.Option(None, help="stop after this epoch (resume later)"),
    sync_bn: Optional[bool] = typer.Option(None, "--sync-bn/--no-sync-bn",
                                           help="under torchrun: BatchNorm statistics over the global batch"),
    progress: bool = typer.Option(True, help="progress bars (only on a terminal)"),
) -> None:
    """Train one model on one dataset variant (the reference recipe, on whole-dataset device batches)."""
    from train.config import resolve_config
    from train.data import load_dataset
    from train.distributed import distributed
    from train.loop import fit

    given = dict(dataset=dataset, model=model, epochs=epochs, batch=batch, crop=crop, lr=lr, wd=wd, padding=padding,
                 flip=flip, seed=seed, device=device, data_dir=data_dir, out=out, weights=weights,
                 checkpoint_every=checkpoint_every, sync_bn=sync_bn)
    overrides = {k: v for k, v in given.items() if v is not None}
    if ricap is not None:
        overrides["ricap"] = _ricap(ricap)
    if jitter is not None:
        overrides["jitter"] = _jitter(jitter)
    options = dict(width=width, depth=depth, patch=patch, kernel=kernel)
    overrides["model_options"] = {k: v for k, v in options.items() if v is not None}
    if stop_after is not None and stop_after < 1:
        raise TrainError(f"must be a whole number >= 1, got {stop_after}", "stop_after")
    config = resolve_config(preset, overrides)
    check_out(config.out)
    with distributed(config.device) as dist:
        train, test = load_dataset(config.data_dir, config.dataset, dist.device)
        if dist.rank == 0:
            typer.echo(f"{config.dataset} / {config.model}: {len(train)} train, {len(test)} test images on "
                       f"{dist.describe()}; results in {config.out}", err=True)
        result = fit(config, train, test, out=config.out, resume=resume, progress=progress and sys.stderr.isatty(),
                     stop_after=stop_after, log=True)
    m = result.metrics
    if dist.rank == 0:
        typer.echo(f"{config.dataset} {config.model}: best test accuracy {m['test_acc_best']:.4f}, final "
                   f"{m['test_acc_final']:.4f} after {m['epochs']} epochs, {m['train_seconds']:.0f} s training "
                   f"({m['images_per_second']:.0f} images/s, {m['world_size']} process(es))")


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def run(argv: list[str] | None = None) -> int:
    """``python -m train``: the exit code; any refusal is one line ``error: <option>: <problem>`` on stderr, code 1."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="python -m train", standalone_mode=False)
    except TrainError as err:
        message = f"{_option(err.option)}: {err.problem}" if err.option else str(err)
    except typer.BadParameter as err:
        name = err.param.opts[0] if err.param is not None and err.param.opts else (err.param_hint or "option")
        message = f"{name}: {err.message}"
    except typer.TyperException as err:  # click's usage errors: unknown option, missing value, extra argument
        option = getattr(err, "option_name", None)
        message = f"{option}: no such option" if option else err.format_message()
    except typer.Abort:
        message = "aborted"
    else:
        return code if isinstance(code, int) else 0
    print(f"error: {_one_line(message)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(run())
