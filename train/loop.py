"""The training loop: whole dataset on the device, batched augmentation, one epoch after another.

One loop serves the command line (:mod:`train.__main__`) and the Python API (:mod:`train.api`).
Every epoch draws its randomness from generators seeded by (seed, epoch), so a run resumed
from the checkpoint of epoch k continues exactly as the uninterrupted run would have, and the
same seed on the same device gives the same history. What it writes is in :mod:`train.history`
and :mod:`train.checkpoints`; what its steps follow, in :mod:`train.schedules`.
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from train import distributed as dist
from train.augment import BatchAugment, ricap
from train.checkpoints import checkpoint_dir, latest_checkpoint, resume_state, save_checkpoint
from train.config import TrainConfig
from train.data import Split, parse_dataset
from train.distributed import resolve_device
from train.errors import TrainError
from train.history import summarise, write_outputs
from train.model_registry import MODELS
from train.models import create_model, load_weights
from train.schedules import PER_STEP, make_mixer, make_optimizer, make_scheduler, numpy_seeded


@dataclass
class Classifier:
    """A trained network with the test transform it expects (uint8 (N, C, H, W) batches in)."""

    model: nn.Module
    augment: BatchAugment
    device: torch.device
    eval_batch: int = 1024

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (float32, on CPU) of uint8 images (N, C, H, W), in batches."""
        self.model.eval()
        out = []
        for start in range(0, len(images), self.eval_batch):
            x = self.augment.test(images[start:start + self.eval_batch].to(self.device))
            with _autocast(self.device):
                out.append(self.model(_layout(x, self.device)).float().cpu())
        return torch.cat(out) if out else torch.empty(0)


@dataclass
class FitResult:
    classifier: Classifier
    history: list[dict[str, float]]
    metrics: dict[str, Any]
    weights_note: str


def _autocast(device: torch.device):
    """bfloat16 mixed precision on CUDA, nothing on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _layout(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Channels-last batches: faster convolutions with cuDNN (mixed precision) and oneDNN on CPU alike."""
    return x.contiguous(memory_format=torch.channels_last)


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % (2**63 - 1)


def build_model(config: TrainConfig, in_channels: int, num_classes: int) -> tuple[nn.Module, str]:
    """The run's network (seeded by ``config.seed``) and a line saying where its weights come from."""
    torch.manual_seed(config.seed)
    opts = config.model_kwargs
    spec = parse_dataset(config.dataset, config.data_dir)
    model = create_model(config.model, in_channels, num_classes, config.crop, (spec.mean, spec.std), **opts)
    if config.weights:
        note = load_weights(model, config.model, config.weights, crop=config.crop, **opts)
    else:
        note = "from scratch (no --weights given)" if MODELS.get(config.model).pretrained else "from scratch"
    return model, note


# ---- the loop ----------------------------------------------------------------------------

def fit(config: TrainConfig, train: Split, test: Split, *, out: str | Path | None = None, resume: bool = False,
        progress: bool = True, stop_after: int | None = None, log: bool = False, resume_option: str = "resume") -> FitResult:
    """Train ``config``'s model on ``train``, evaluating on ``test`` after each epoch.

    With ``out`` the run writes ``history.tsv``, ``metrics.json`` and checkpoints there after
    every epoch (``resume`` continues from the latest checkpoint); ``stop_after`` ends this
    call after that many epochs in total (a later ``resume`` carries on; a checkpoint it cannot use is
    refused naming ``resume_option``, the option that asked for it). ``progress`` shows
    bars, ``log`` (or ``progress``) one line per epoch on stderr.

    Under torchrun (:mod:`train.distributed`) every rank holds both splits, draws the same
    permutation and augments the same global batch of ``config.batch`` images, and trains on
    its slice of it; DistributedDataParallel averages the gradients of the slices' losses,
    each weighted by its share of the batch, so the step is that of the global batch (BatchNorm
    statistics per slice unless ``config.sync_bn``). Rank 0 writes the outputs.
    """
    device = resolve_device(config.device) if dist.world_size() == 1 else _rank_device(config.device)
    spec = parse_dataset(config.dataset, config.data_dir)
    channels = int(train.images.shape[1])
    if channels != spec.channels or test.images.shape[1] != spec.channels:
        raise TrainError(f"{spec.name} images have {spec.channels} channel(s), got {channels} (train) and "
                         f"{test.images.shape[1]} (test): pass the dataset the pictures come from")
    mean, std = spec.mean, spec.std
    augment = BatchAugment(config.crop, mean, std, config.padding, config.flip, tuple(config.jitter))
    train = Split(train.images.to(device), train.labels.to(device))
    test = Split(test.images.to(device), test.labels.to(device))
    if len(train) == 0 or len(test) == 0:
        raise TrainError("the train and test splits must not be empty")
    if config.batch < dist.world_size():
        raise TrainError(f"a global batch of {config.batch} cannot be split over {dist.world_size()} processes", "batch")
    num_classes = spec.num_classes
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    primary = dist.rank() == 0
    progress, log = progress and primary, (log or progress) and primary

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        model, weights_note = build_model(config, channels, num_classes)
        if log:
            tqdm.write(f"{config.model} weights: {weights_note}")
        if config.sync_bn and dist.world_size() > 1:
            model = dist.sync_batchnorm(model, device)
        model = model.to(device, memory_format=torch.channels_last)
        mixer = make_mixer(config, num_classes)
        steps = len(train) // config.batch if mixer else math.ceil(len(train) / config.batch)
        if 0 < len(train) % config.batch < dist.world_size():
            steps = len(train) // config.batch  # a last batch too small to give every rank an image is left out
        if steps == 0:
            raise TrainError(f"{len(train)} training images are fewer than one batch of {config.batch}")
        optimizer = make_optimizer(config, model)
        scheduler = make_scheduler(config, optimizer, steps)
        history: list[dict[str, float]] = []
        out_dir = Path(out) if out is not None else None
        if out_dir is not None and resume:
            state = dist.from_rank0(lambda: resume_state(out_dir, config, resume_option))
            if state is not None:
                model.load_state_dict(state["model"])
                optimizer.load_state_dict(state["optimizer"])
                scheduler.load_state_dict(state["scheduler"])
                history = list(state["history"])
                if primary:  # outputs left mixed by a kill are made whole again
                    write_outputs(out_dir, history, summarise(history, config, weights_note, device, len(train)))
            if log:
                tqdm.write(f"resuming from {latest_checkpoint(out_dir)} (epoch {len(history)})" if state
                           else f"no checkpoint in {checkpoint_dir(out_dir)}: starting at epoch 1")
        trained = model
        if dist.world_size() > 1:
            trained = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[device] if device.type == "cuda" else None)
        last = config.epochs if stop_after is None else min(config.epochs, stop_after)
        classifier = Classifier(model, augment, device, config.eval_batch)
        for epoch in range(len(history) + 1, last + 1):
            row = _run_epoch(epoch, config, trained, optimizer, scheduler, mixer, augment, train, test, steps,
                             device, progress)
            history.append(row)
            if out_dir is not None and primary:
                keep = epoch % config.checkpoint_every == 0 or epoch == config.epochs
                save_checkpoint(out_dir, epoch, keep, model, optimizer, scheduler, history, config)
                write_outputs(out_dir, history, summarise(history, config, weights_note, device, len(train)))
            if log:
                tqdm.write(f"epoch {epoch}/{config.epochs}: train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}, "
                           f"test loss {row['test_loss']:.4f} acc {row['test_acc']:.4f}, {row['seconds']:.1f} s")
        dist.barrier()  # no rank leaves (and tears down the group) while rank 0 still writes
    metrics = summarise(history, config, weights_note, device, len(train))
    return FitResult(classifier, history, metrics, weights_note)


def _rank_device(name: str) -> torch.device:
    """Under torchrun: the device :func:`train.distributed.distributed` gave this rank (its own GPU)."""
    device = resolve_device(name)
    return torch.device("cuda", torch.cuda.current_device()) if device.type == "cuda" else device


def _slice(size: int) -> slice:
    """This rank's part of a batch of ``size`` (``torch.tensor_split``'s bounds: near-equal, in rank order)."""
    world, rank = dist.world_size(), dist.rank()
    low, extra = divmod(size, world)
    start = rank * low + min(rank, extra)
    return slice(start, start + low + (rank < extra))


def _run_epoch(epoch, config, model, optimizer, scheduler, mixer, augment, train: Split, test: Split, steps,
               device, progress) -> dict[str, float]:
    seed = _epoch_seed(config.seed, epoch)
    torch.manual_seed(seed)  # the model's own randomness (dropout), if any
    gen = torch.Generator(device=device).manual_seed(seed)
    rng = np.random.default_rng([config.seed, epoch])
    lr = optimizer.param_groups[0]["lr"]
    smoothing = config.label_smoothing
    world = dist.world_size()
    start = time.perf_counter()
    model.train()
    order = torch.randperm(len(train), generator=gen, device=device)
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    seen = 0
    bar = tqdm(range(steps), desc=f"epoch {epoch}/{config.epochs}", leave=False, disable=not progress, unit="batch")
    with numpy_seeded(seed):
        for step in bar:
            index = order[step * config.batch:(step + 1) * config.batch]
            labels = train.labels[index]
            x = augment.train(train.images[index], gen)  # every rank: the whole global batch, the same draws
            if config.ricap is not None:
                x, picked, weights = ricap(x, labels, config.ricap, rng, gen)
            elif mixer is not None:
                x, soft = mixer(x, labels)
            part = _slice(len(index))
            x, labels = x[part], labels[part]
            with _autocast(device):
                logits = model(_layout(x, device)).float()
            if config.ricap is not None:
                picked = [p[part] for p in picked]
                loss = sum(weights[k] * F.cross_entropy(logits, picked[k], label_smoothing=smoothing) for k in range(4))
                hits = sum(weights[k] * (logits.argmax(1) == picked[k]).sum() for k in range(4))
            elif mixer is not None:
                soft = soft[part]
                loss = torch.sum(-soft * F.log_softmax(logits, dim=-1), dim=-1).mean()
                hits = (logits.argmax(1) == soft.argmax(1)).sum()
            else:
                loss = F.cross_entropy(logits, labels, label_smoothing=smoothing)
                hits = (logits.argmax(1) == labels).sum()
            optimizer.zero_grad(set_to_none=True)
            # DDP averages the ranks' gradients: weighting each slice's mean loss by its share of the
            # batch (times the number of ranks) makes that average the gradient of the batch's mean loss
            (loss * (len(labels) * world / len(index)) if world > 1 else loss).backward()
            optimizer.step()
            if config.schedule in PER_STEP:
                scheduler.step()
            loss_sum += loss.detach() * len(labels)
            correct += hits.detach()
            seen += len(labels)
            if progress and step % 20 == 0:
                bar.set_postfix(loss=f"{loss_sum.item() / seen:.4f}", acc=f"{correct.item() / seen:.4f}")
    if config.schedule == "cosine":
        scheduler.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    train_seconds = time.perf_counter() - start
    loss_total, correct_total, seen_total = dist.all_sum([loss_sum, correct, torch.tensor(float(seen))])
    module = model.module if world > 1 else model
    dist.broadcast_buffers(module)
    test_loss, test_acc = evaluate(module, augment, test, config.eval_batch, device)
    return {"epoch": epoch, "train_loss": loss_total / seen_total, "train_acc": correct_total / seen_total,
            "test_loss": test_loss, "test_acc": test_acc, "lr": lr,
            "seconds": time.perf_counter() - start, "train_seconds": train_seconds}


@torch.no_grad()
def evaluate(model: nn.Module, augment: BatchAugment, split: Split, batch: int, device: torch.device) -> tuple[float, float]:
    """(mean cross-entropy, accuracy as a fraction) on ``split`` with the test transform (under torchrun:
    each rank scores its share of the split, and the sums are added up)."""
    model.eval()
    loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    part = _slice(len(split))
    images, labels = split.images[part], split.labels[part]
    for start in range(0, len(labels), batch):
        x = augment.test(images[start:start + batch])
        y = labels[start:start + batch]
        with _autocast(device):
            logits = model(_layout(x, device)).float()
        loss += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    loss_total, correct_total = dist.all_sum([loss, correct])
    return loss_total / len(split), correct_total / len(split)
