"""``python -m train``: train one model on one dataset variant and write its results.

    python -m train --preset fashion_resnet18_vor                # a published recipe (GPU)
    python -m train --preset fashion_smallcnn_cpu --scheme random   # minutes on a CPU
    python -m train --dataset mnist --scheme vor --model resnet18 --epochs 5 --ricap none
    python -m train --dataset mnist --model smallcnn             # no --scheme: the plain images (origin)

Writes ``metrics.json``, ``history.tsv`` and ``checkpoints/`` into ``--out`` (default
``results/runs/<dataset>_<model>_<scheme>[_<preset>]``); ``--resume`` carries on from the
latest checkpoint there.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from workbench.cli import meaning, run, typer_app
from workbench.paths import check_input, check_writable
from train.checkpoints import check_resumable
from train.config import resolve_config
from train.data import load_dataset
from train.distributed import distributed
from train.errors import (
    TrainError,  # train/__init__.py sets OMP_WAIT_POLICY before torch loads
)
from train.loop import fit

app = typer_app(__doc__)


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


@app.command()
def main(
    dataset: Optional[str] = typer.Option(None, "--dataset", help=meaning("--dataset", "mnist, fashion, cifar10 or one declared in params.yaml and fetched")),
    scheme: Optional[str] = typer.Option(None, "--scheme", help=meaning("--scheme", "of the encrypted variant data/<dataset>/<scheme> (python -m pipeline.schemes lists them), <scheme>-k<key seed> for a benchmark key's variant, or origin: the plain images [default: the preset's, else origin]")),
    model: Optional[str] = typer.Option(None, help=meaning("--model", "resnet18, vit_b_16, convmixer or smallcnn")),
    preset: Optional[str] = typer.Option(None, help=meaning("--preset", "a named one (docs/train.md) or a profile's (cpu, paper); the options below override it")),
    epochs: Optional[int] = typer.Option(None, help=meaning("--epochs")),
    batch: Optional[int] = typer.Option(None, help=meaning("--batch")),
    crop: Optional[int] = typer.Option(None, help=meaning("--crop", "Resize + RandomCrop")),
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
    seed: Optional[int] = typer.Option(None, help=meaning("--seed", "the training's initialisation, batch order and augmentation (reference: 3407)")),
    device: Optional[str] = typer.Option(None, help=meaning("--device", "auto, cpu, cuda or cuda:<index>")),
    data_dir: Optional[str] = typer.Option(None, help=meaning("--data-dir", "[default: data]")),
    out: Optional[str] = typer.Option(None, help=meaning("--out", "the run's folder [default: results/runs/<dataset>_<model>_<scheme>[_<preset>]]")),
    weights: Optional[str] = typer.Option(None, help="local torchvision state-dict file (pre-trained ViT)"),
    checkpoint_every: Optional[int] = typer.Option(None, help="keep a checkpoint every N epochs (reference: 10)"),
    resume: bool = typer.Option(False, "--resume", help="continue from the latest checkpoint in --out"),
    stop_after: Optional[int] = typer.Option(None, help="stop after this epoch (resume later)"),
    sync_bn: Optional[bool] = typer.Option(None, "--sync-bn/--no-sync-bn",
                                           help="under torchrun: BatchNorm statistics over the global batch"),
    jpeg_quality: Optional[int] = typer.Option(None, "--jpeg-quality", help="train and test on JPEG-compressed pictures of this quality, 1..95 (the EtC paper's Table III) [default: uncompressed]"),
    progress: bool = typer.Option(True, help="progress bars (only on a terminal)"),
) -> None:
    """Train one model on one dataset variant (the reference recipe, on whole-dataset device batches)."""
    given = dict(dataset=dataset, scheme=scheme, model=model, epochs=epochs, batch=batch, crop=crop, lr=lr, wd=wd, padding=padding,
                 flip=flip, seed=seed, device=device, data_dir=data_dir, out=out, weights=weights,
                 checkpoint_every=checkpoint_every, sync_bn=sync_bn, jpeg_quality=jpeg_quality)
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
    check_input(config.weights, "--weights")
    check_input(config.data_dir, "--data-dir", folder=True, optional=True)
    check_writable(Path(config.out), folder=True)
    if resume:
        check_resumable(Path(config.out))
    with distributed(config.device) as dist:
        train, test = load_dataset(config.data_dir, config.dataset, config.scheme, dist.device, config.jpeg_quality)
        if dist.rank == 0:
            typer.echo(f"{config.dataset} {config.scheme} / {config.model}: {len(train)} train, {len(test)} test images on "
                       f"{dist.describe()}; results in {config.out}", err=True)
        result = fit(config, train, test, out=config.out, resume=resume, progress=progress and sys.stderr.isatty(),
                     stop_after=stop_after, log=True)
    m = result.metrics
    if dist.rank == 0:
        typer.echo(f"{config.dataset} {config.scheme} {config.model}: best test accuracy {m['test_acc_best']:.4f}, final "
                   f"{m['test_acc_final']:.4f} after {m['epochs']} epochs, {m['train_seconds']:.0f} s training "
                   f"({m['images_per_second']:.0f} images/s, {m['world_size']} process(es))")


def main_entry(argv: list[str] | None = None) -> None:
    """``python -m train``: any refusal is one line ``error: <option>: <problem>`` on stderr, exit code 1."""
    run(app, argv=argv)


if __name__ == "__main__":
    main_entry()
