"""``python -m train``: train one model on one dataset variant and write its results.

    python -m train --preset fashion_resnet18_vor                # a published recipe (GPU)
    python -m train --preset fashion_smallcnn_cpu --dataset fashion_random   # minutes on a CPU
    python -m train --dataset mnist_vor --model resnet18 --epochs 5 --ricap none

Writes ``metrics.json``, ``history.tsv`` and ``checkpoints/`` into ``--out`` (default
``results/runs/<dataset>_<model>_<variant>[_<preset>]``); ``--resume`` carries on from the
latest checkpoint there.
"""
from __future__ import annotations

from typing import Optional

import typer

from train.errors import TrainError  # train/__init__.py sets OMP_WAIT_POLICY before torch loads

app = typer.Typer(add_completion=False, help=__doc__)


def _ricap(value: str | None) -> float | None:
    if value is None or value.lower() == "none":
        return None
    try:
        return float(value)
    except ValueError:
        raise typer.BadParameter(f"--ricap takes a beta (e.g. 0.3) or 'none', got {value!r}") from None


def _jitter(value: str) -> tuple[float, float, float, float]:
    if value.lower() == "none":
        return (0.0, 0.0, 0.0, 0.0)
    parts = value.split(",")
    try:
        numbers = tuple(float(p) for p in parts)
    except ValueError:
        numbers = ()
    if len(numbers) != 4:
        raise typer.BadParameter(f"--jitter takes 'brightness,contrast,saturation,hue' or 'none', got {value!r}")
    return numbers  # type: ignore[return-value]


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
    progress: bool = typer.Option(True, help="progress bars"),
) -> None:
    """Train one model on one dataset variant (the reference recipe, on whole-dataset device batches)."""
    from train.config import resolve_config
    from train.data import load_dataset
    from train.loop import fit, resolve_device

    given = dict(dataset=dataset, model=model, epochs=epochs, batch=batch, crop=crop, lr=lr, wd=wd, padding=padding,
                 flip=flip, seed=seed, device=device, data_dir=data_dir, out=out, weights=weights,
                 checkpoint_every=checkpoint_every)
    overrides = {k: v for k, v in given.items() if v is not None}
    if ricap is not None:
        overrides["ricap"] = _ricap(ricap)
    if jitter is not None:
        overrides["jitter"] = _jitter(jitter)
    options = dict(width=width, depth=depth, patch=patch, kernel=kernel)
    overrides["model_options"] = {k: v for k, v in options.items() if v is not None}
    try:
        config = resolve_config(preset, overrides)
        dev = resolve_device(config.device)
        train, test = load_dataset(config.data_dir, config.dataset, dev)
        typer.echo(f"{config.dataset} / {config.model}: {len(train)} train, {len(test)} test images on {dev}; "
                   f"results in {config.out}", err=True)
        result = fit(config, train, test, out=config.out, resume=resume, progress=progress, stop_after=stop_after)
    except TrainError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    m = result.metrics
    typer.echo(f"{config.dataset} {config.model}: best test accuracy {m['test_acc_best']:.4f}, final "
               f"{m['test_acc_final']:.4f} after {m['epochs']} epochs, {m['train_seconds']:.0f} s training "
               f"({m['images_per_second']:.0f} images/s)")


if __name__ == "__main__":
    app()
