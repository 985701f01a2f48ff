"""``make gpu-check``: ten minutes on one GPU that say whether the training code does there what it should.

    python benchmarks/gpu_check.py                    # on a GPU: writes docs/gpu.json and docs/gpu.md
    python benchmarks/gpu_check.py --dry-run --json /tmp/g.json --doc /tmp/g.md   # the same code, CPU, toy size

Four parts, each on generated images of the datasets' shapes (no data files needed):

1. data path: the reference recipe (ResNet-18, crop 224, batch 256, RICAP 0.3) fed by our
   whole-dataset-on-device augmentation against a per-image PIL ``DataLoader`` like the
   reference's (8 workers, float32 step); same model, same GPU; the ratio (aim: 5x or more).
2. precision: one short run from the same weights and batches in float32 (NCHW) and in
   bfloat16 autocast with channels-last (what the loop uses on CUDA): losses, accuracy, speed.
3. recipes: a fixed number of steps of each of the 18 published presets: images/s of the
   training pass and the projected time of the whole recipe (epochs x training images /
   images/s; test passes not counted).
4. determinism: one short recipe twice; the histories must be identical.

``--dry-run`` runs all of it on the CPU at toy size (each recipe's optimiser, schedule, batch
structure and augmentation, but the small CNN of width 4, batch 8, crop at most 32, two steps)
so the tests cover this script.
"""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import typer
from train_throughput import (  # benchmarks/ is this script's folder
    ours_epoch,
    pil_epoch,
)

from workbench.cli import meaning, typer_app
from train.config import resolve_config
from train.data import PLAIN, Split
from train.distributed import resolve_device
from train.loop import _autocast, _layout, build_model, fit
from train.presets import PRESETS, published_preset

app = typer_app(__doc__)

TRAIN_SIZES = {"mnist": 60000, "fashion": 60000, "cifar10": 50000}
SHAPES = {"mnist": (1, 28), "fashion": (1, 28), "cifar10": (3, 32)}


def patterned(n: int, dataset: str, seed: int) -> Split:
    """Learnable images of ``dataset``'s shape: one fixed random pattern per class, blended with noise."""
    channels, size = SHAPES[dataset]
    rng = np.random.default_rng(seed)
    patterns = np.random.default_rng(12345).integers(0, 256, (10, channels, size, size))
    labels = rng.integers(0, 10, n)
    images = 0.6 * patterns[labels] + 0.4 * rng.integers(0, 256, (n, channels, size, size))
    return Split(torch.from_numpy(images.astype(np.uint8)), torch.from_numpy(labels))


def _config(preset: str | None, dry: bool, **values):
    config = resolve_config(preset, {"out": None, **values})
    if dry:
        values.update(model="smallcnn", model_options={"width": 4}, batch=8, crop=min(config.crop, 32))
        config = resolve_config(preset, {"out": None, **values})
    return config


def data_path(device: torch.device, dry: bool) -> dict:
    """Part 1: images/s of our data path and of the reference's PIL DataLoader, same model and device."""
    config = _config(None, dry, dataset="fashion", model="resnet18", crop=224, batch=256, epochs=1, ricap=0.3,
                     device=str(device))
    images, workers = (32, 0) if dry else (10240, 8)
    split = patterned(images, "fashion", 0)
    ours = ours_epoch(config, split, warmup=2)
    reference = pil_epoch(config, split, device, workers, fast_step=False, warmup=2)
    return {"model": config.model, "crop": config.crop, "batch": config.batch, "images": images, "workers": workers,
            "ours_images_per_second": round(ours, 1), "reference_images_per_second": round(reference, 1),
            "ratio": round(ours / reference, 2)}


def _short_run(config, train: Split, test: Split, steps: int, fast: bool) -> dict:
    """``steps`` SGD steps of ``config``'s model on fixed batches: float32 NCHW, or bf16 autocast + channels-last."""
    device = resolve_device(config.device)
    model, _ = build_model(config, train.images.shape[1], 10)
    model = model.to(device, memory_format=torch.channels_last) if fast else model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9, nesterov=True, weight_decay=config.wd)
    prepare = (lambda x: _layout(x, device)) if fast else (lambda x: x.contiguous())
    scale = lambda x: (x.to(device).float() / 255 - 0.5) / 0.5  # noqa: E731
    losses, start = [], time.perf_counter()
    model.train()
    for step in range(steps):
        index = torch.arange(step * config.batch, (step + 1) * config.batch) % len(train)
        with _autocast(device) if fast else torch.autocast(device.type, enabled=False):
            logits = model(prepare(scale(train.images[index]))).float()
        loss = F.cross_entropy(logits, train.labels[index].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad(), _autocast(device) if fast else torch.autocast(device.type, enabled=False):
        predicted = model(prepare(scale(test.images))).float().argmax(1).cpu()
    return {"final_loss": round(float(np.mean(losses[-5:])), 4), "test_acc": float((predicted == test.labels).float().mean()),
            "images_per_second": round(steps * config.batch / seconds, 1)}


def precision(device: torch.device, dry: bool) -> dict:
    """Part 2: bf16 autocast + channels-last against float32, same weights and batches."""
    config = _config(None, dry, dataset="cifar10", model="resnet18", crop=32, batch=256, lr=0.05, wd=5e-4,
                     device=str(device))
    steps = 4 if dry else 150
    train, test = patterned(2048, "cifar10", 1), patterned(64 if dry else 512, "cifar10", 2)
    fp32 = _short_run(config, train, test, steps, fast=False)
    fast = _short_run(config, train, test, steps, fast=True)
    return {"model": config.model, "steps": steps, "batch": config.batch, "fp32": fp32, "bf16_channels_last": fast,
            "loss_difference": round(abs(fast["final_loss"] - fp32["final_loss"]), 4),
            "accuracy_difference": round(abs(fast["test_acc"] - fp32["test_acc"]), 4),
            "speedup": round(fast["images_per_second"] / fp32["images_per_second"], 2)}


def recipes(device: torch.device, dry: bool) -> list[dict]:
    """Part 3: a fixed number of steps of each published recipe; images/s and the projected full-recipe time."""
    steps = 2 if dry else 20
    rows = []
    for name in sorted(n for n in PRESETS if published_preset(*_cell(n)) == n):
        config = _config(name, dry, device=str(device), epochs=1)
        dataset = config.dataset
        if not dry:  # CUDA loads its kernels during the first steps
            fit(config, *[patterned(2 * config.batch, dataset, s) for s in (3, 4)], progress=False)
        timed = fit(config, patterned(steps * config.batch, dataset, 5), patterned(config.batch, dataset, 6),
                    progress=False)
        speed = timed.metrics["images_per_second"]
        epochs = PRESETS[name]["epochs"]
        rows.append({"preset": name, "model": config.model, "crop": config.crop, "batch": config.batch,
                     "steps": steps, "images_per_second": speed, "epochs": epochs,
                     "train_images": TRAIN_SIZES[dataset],
                     "projected_hours": round(epochs * TRAIN_SIZES[dataset] / speed / 3600, 3)})
    return rows


def _cell(preset: str) -> tuple[str, str, str]:
    values = PRESETS[preset]
    return values.get("dataset", ""), values["model"], values.get("scheme", PLAIN)  # smallcnn_cpu names no dataset: any


def determinism(device: torch.device, dry: bool) -> dict:
    """Part 4: one short recipe (fashion ResNet-18 plain, 2 epochs on generated images) twice."""
    config = _config("fashion_resnet18_origin", dry, device=str(device), epochs=2)
    train, test = patterned(8 * config.batch, "fashion", 7), patterned(8 * config.batch, "fashion", 8)
    runs = [[{k: v for k, v in row.items() if k not in ("seconds", "train_seconds")}
             for row in fit(config, train, test, progress=False).history] for _ in range(2)]
    return {"preset": config.preset, "epochs": 2, "identical": runs[0] == runs[1], "history": runs[0]}


def markdown(report: dict) -> str:
    """docs/gpu.md: the report's figures as tables, with the command and the device."""
    d, p = report["data_path"], report["precision"]
    lines = [
        "# GPU check", "",
        f"`python benchmarks/gpu_check.py{' --dry-run' if report['dry_run'] else ''}` on {report['device']} "
        f"(torch {report['torch']}), {report['seconds']:.0f} s in all; figures from `{report['json']}`.", "",
        "## Data path (same model, same device)", "",
        "| model | crop | batch | ours (images/s) | PIL DataLoader, float32 (images/s) | ratio |", "|---|---|---|---|---|---|",
        f"| {d['model']} | {d['crop']} | {d['batch']} | {d['ours_images_per_second']} | "
        f"{d['reference_images_per_second']} ({d['workers']} workers) | {d['ratio']}x |", "",
        f"## bf16 autocast + channels-last against float32 ({p['steps']} steps, batch {p['batch']}, {p['model']})", "",
        "| | final loss | test accuracy | images/s |", "|---|---|---|---|",
        *[f"| {k} | {p[k]['final_loss']} | {p[k]['test_acc']:.4f} | {p[k]['images_per_second']} |"
          for k in ("fp32", "bf16_channels_last")],
        "", f"Loss difference {p['loss_difference']}, accuracy difference {p['accuracy_difference']}, "
        f"speed-up {p['speedup']}x.", "",
        "## The 18 published recipes", "",
        "| preset | model | crop | batch | images/s | epochs | projected hours (training passes) |",
        "|---|---|---|---|---|---|---|",
        *[f"| {r['preset']} | {r['model']} | {r['crop']} | {r['batch']} | {r['images_per_second']} | {r['epochs']} | "
          f"{r['projected_hours']} |" for r in report["recipes"]],
        "", f"Total projected: {sum(r['projected_hours'] for r in report['recipes']):.1f} hours.", "",
        "## Determinism", "",
        f"{report['determinism']['preset']}, {report['determinism']['epochs']} epochs, run twice: histories "
        f"{'identical' if report['determinism']['identical'] else 'DIFFERENT'}.", "",
    ]
    return "\n".join(lines)


@app.command()
def main(dry_run: bool = typer.Option(False, "--dry-run", help=meaning("--dry-run")),
         json_path: Path = typer.Option(Path("docs/gpu.json"), "--json", help=meaning("--json")),
         doc: Path = typer.Option(Path("docs/gpu.md"), help=meaning("--doc")),
         device: str = typer.Option("cuda", help=meaning("--device", "of a real check (--dry-run: cpu)"))) -> None:
    """Run the four parts and write the JSON and the Markdown report."""
    dev = resolve_device("cpu" if dry_run else device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU ({platform.processor() or 'unknown'})"
    start = time.perf_counter()
    report = {"device": name, "torch": torch.__version__, "dry_run": dry_run, "json": str(json_path)}
    for part, run in (("data_path", data_path), ("precision", precision), ("recipes", recipes),
                      ("determinism", determinism)):
        typer.echo(f"{part}...", err=True)
        began = time.perf_counter()
        report[part] = run(dev, dry_run)
        report.setdefault("part_seconds", {})[part] = round(time.perf_counter() - began, 1)
    report["seconds"] = round(time.perf_counter() - start, 1)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(markdown(report))
    typer.echo(markdown(report))


if __name__ == "__main__":
    app()
