"""Training throughput: our whole-dataset-on-device path beside a per-image PIL DataLoader like the reference's.

    python benchmarks/train_throughput.py                       # the reference recipe: ResNet-18, crop 224, batch 256
    python benchmarks/train_throughput.py --device cpu --model smallcnn --crop 28 --batch 128 --images 2048

Same model, same device, same run, one epoch each over the same images (grey 28 x 28 uint8,
the Fashion-MNIST shape; generated unless ``--dataset`` names pipeline data), RICAP 0.3 as in
the published recipe. Three figures, in images/second of training:

* ``ours``: :func:`train.loop.fit` (uint8 dataset on the device, batched augmentation there,
  bfloat16 + channels-last on CUDA);
* ``reference``: the reference loop: torchvision transforms on PIL images in a ``DataLoader``
  with ``--workers`` processes (the reference's default is 8), float32 model step;
* ``pil+fast-step``: the same PIL ``DataLoader`` feeding our mixed-precision channels-last step,
  which isolates the data path.

The first ``--warmup`` batches of each are not timed.
"""
from __future__ import annotations

import os
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms as T
import typer
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from workbench.cli import meaning, typer_app
from workbench.data.datasets import dataset_spec
from train.augment import ricap
from train.config import resolve_config
from train.data import Split, load_dataset
from train.distributed import resolve_device
from train.loop import _autocast, _layout, build_model, fit

app = typer_app(__doc__)


class PilImages(Dataset):
    """The reference's datasets: one uint8 picture at a time as a PIL 'L' image through the transforms."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i, 0], mode="L")), int(self.labels[i])


def reference_transform(crop: int, dataset: str) -> T.Compose:
    spec = dataset_spec(dataset)
    mean, std = spec.mean, spec.std
    return T.Compose([T.Resize(crop), T.RandomCrop(crop, padding=4), T.RandomHorizontalFlip(0.5),
                      T.ColorJitter(0.4, 0.4, 0.4, 0.2), T.ToTensor(), T.Normalize(mean, std)])


def pil_epoch(config, split: Split, device, workers: int, fast_step: bool, warmup: int) -> float:
    """Images/second of one epoch of the reference loop (PIL DataLoader), after ``warmup`` batches."""
    model, _ = build_model(config, 1, 10)
    model = model.to(device, memory_format=torch.channels_last) if fast_step else model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.wd, nesterov=True)
    data = PilImages(split.images.cpu().numpy(), split.labels.cpu().numpy(), reference_transform(config.crop, "fashion"))
    loader = DataLoader(data, batch_size=config.batch, shuffle=True, num_workers=workers,
                        pin_memory=device.type == "cuda", persistent_workers=False)
    rng, gen = np.random.default_rng(0), torch.Generator(device=device).manual_seed(0)
    model.train()
    seen, start = 0, None
    for step, (x, y) in enumerate(loader):
        if step == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start, seen = time.perf_counter(), 0
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        x, picked, weights = ricap(x, y, 0.3, rng, gen)
        if fast_step:
            with _autocast(device):
                logits = model(_layout(x, device)).float()
        else:
            logits = model(x)
        loss = sum(weights[k] * F.cross_entropy(logits, picked[k]) for k in range(4))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def ours_epoch(config, split: Split, warmup: int) -> float:
    """Images/second of one epoch of train.loop.fit (its own timing of the training pass), after a warm-up run."""
    small = Split(split.images[: warmup * config.batch], split.labels[: warmup * config.batch])
    fit(config, small, small, progress=False)
    test = Split(split.images[:1], split.labels[:1])
    return fit(config, split, test, progress=False).metrics["images_per_second"]


@app.command()
def main(device: str = typer.Option("auto", help=meaning("--device", "auto, cpu or cuda")),
         model: str = typer.Option("resnet18", help=meaning("--model", "resnet18 (the reference recipe) or smallcnn")),
         crop: int = typer.Option(224, help=meaning("--crop")), batch: int = typer.Option(256, help=meaning("--batch")),
         images: int = typer.Option(20480, help=meaning("--images", "training images in the timed epoch")),
         workers: int = typer.Option(min(8, os.cpu_count() or 1), help=meaning("--workers", "reference: 8")),
         warmup: int = typer.Option(3, help=meaning("--warmup")),
         dataset: str = typer.Option("", help=meaning("--dataset", "one the pipeline wrote, read from --data-dir (e.g. fashion) [default: generated images]")),
         scheme: str = typer.Option("origin", help=meaning("--scheme", "of the dataset read (origin: the plain images)")),
         data_dir: str = typer.Option("data", help=meaning("--data-dir"))) -> None:
    dev = resolve_device(device)
    config = resolve_config(None, dict(dataset=dataset or "fashion", model=model, crop=crop, batch=batch, epochs=1,
                                       ricap=0.3, device=str(dev), out=None))
    if dataset:
        split, _ = load_dataset(data_dir, dataset, scheme, "cpu")
        split = Split(split.images[:images], split.labels[:images])
    else:
        rng = np.random.default_rng(0)
        split = Split(torch.from_numpy(rng.integers(0, 256, (images, 1, 28, 28), dtype=np.uint8)),
                      torch.from_numpy(rng.integers(0, 10, images)))
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    print(f"device: {name}; {model}, crop {crop}, batch {batch}, {len(split)} images of 28 x 28, RICAP 0.3, "
          f"{workers} DataLoader workers")
    ours = ours_epoch(config, split, warmup)
    print(f"ours (uint8 on device, batched augmentation{', bf16 + channels-last' if dev.type == 'cuda' else ''}): "
          f"{ours:.0f} images/s")
    reference = pil_epoch(config, split, dev, workers, fast_step=False, warmup=warmup)
    print(f"reference (PIL DataLoader, float32 step): {reference:.0f} images/s")
    pil_fast = pil_epoch(config, split, dev, workers, fast_step=True, warmup=warmup)
    print(f"pil+fast-step (PIL DataLoader, our step): {pil_fast:.0f} images/s")
    print(f"ratio ours / reference: {ours / reference:.2f}x; ours / pil+fast-step: {ours / pil_fast:.2f}x")


if __name__ == "__main__":
    app()
