"""The training loop: whole dataset on the device, batched augmentation, history, checkpoints, resume.

One loop serves the command line (:mod:`train.__main__`) and the Python API (:mod:`train.api`).
Every epoch draws its randomness from generators seeded by (seed, epoch), so a run resumed
from the checkpoint of epoch k continues exactly as the uninterrupted run would have, and the
same seed on the same device gives the same history.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
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

from workbench.data.datasets import variant_scheme
from workbench.outputs import atomic_output
from workbench.paths import path_problem
from train import distributed as dist
from train.augment import BatchAugment, ricap
from train.config import TrainConfig
from train.data import Split, parse_dataset
from train.distributed import resolve_device
from train.errors import TrainError
from train.models import create_model, load_weights

HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds")


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
    build_opts = {k: v for k, v in opts.items() if k != "fresh_patch_embedding"}
    spec, _ = parse_dataset(config.dataset, config.data_dir)
    model = create_model(config.model, in_channels, num_classes, config.crop, (spec.mean, spec.std), **build_opts)
    if config.weights:
        note = load_weights(model, config.model, config.weights, crop=config.crop, patch=int(opts.get("patch", 16)),
                            fresh_patch_embedding=bool(opts.get("fresh_patch_embedding", True)))
    else:
        note = "from scratch (no --weights given)" if config.model == "vit_b_16" else "from scratch"
    return model, note


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    if config.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.wd)
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.wd,
                           nesterov=True)


class Triangular:
    """ConvMixer's one-cycle schedule as a LambdaLR factor of step t (in epochs):
    0 -> 1 over the first 2/5, -> 1/20 at 4/5, -> 0 at the end (piecewise linear)."""

    def __init__(self, epochs: int, steps_per_epoch: int):
        self.epochs, self.steps = epochs, steps_per_epoch

    def __call__(self, step: int) -> float:
        t = (step + 1) / self.steps  # the rate of the step about to be taken, as ConvMixer's train.py sets it
        e = self.epochs
        return float(np.interp(t, [0, e * 2 // 5, e * 4 // 5, e], [0, 1, 1 / 20, 0]))


class WarmupLinear:
    """The short-run schedule of the CPU recipes as a LambdaLR factor of step t: linear warm-up to 1 over
    the first fifth of all steps, then linear decay to 0 at the last one (fast-training practice, as airbench).
    Where the two lines meet between steps the factor exceeds 1 by at most 1/(0.8 x steps) (0.1 % in the
    5-epoch Fashion-MNIST recipe)."""

    def __init__(self, epochs: int, steps_per_epoch: int, warmup: float = 0.2):
        self.total, self.warmup = epochs * steps_per_epoch, warmup

    def __call__(self, step: int) -> float:
        return min((step + 1) / (self.warmup * self.total), (self.total - step) / ((1 - self.warmup) * self.total))


#: Schedules that step after every batch (the others after every epoch).
PER_STEP = ("onecycle", "triangle")


def _scheduler(config: TrainConfig, optimizer, steps_per_epoch: int):
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, Triangular(config.epochs, steps_per_epoch))
    if config.schedule == "triangle":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupLinear(config.epochs, steps_per_epoch))
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)


def _mixer(config: TrainConfig, num_classes: int):
    if not (config.mixup or config.cutmix):
        return None
    from timm.data import Mixup

    return Mixup(mixup_alpha=config.mixup, cutmix_alpha=config.cutmix, label_smoothing=0.1, num_classes=num_classes)


@contextlib.contextmanager
def _numpy_seeded(seed: int):
    """timm's Mixup draws from numpy's global generator: seed it for the epoch, then restore it."""
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)


# ---- checkpoints -------------------------------------------------------------------------

CHECKPOINT_KEYS = {"model", "optimizer", "scheduler", "epoch", "history", "recipe"}


def checkpoint_dir(out: Path) -> Path:
    return out / "checkpoints"


def latest_checkpoint(out: Path) -> Path | None:
    """The checkpoint of the highest epoch under ``out/checkpoints`` (``epoch_0007.pt``), if any."""
    found = sorted(checkpoint_dir(out).glob("epoch_*.pt"))
    return found[-1] if found else None


def digest_path(checkpoint: Path) -> Path:
    """``epoch_0007.pt.sha256``: the SHA-256 of the checkpoint, in ``sha256sum`` format."""
    return checkpoint.with_name(checkpoint.name + ".sha256")


def write_verified(path: Path, state: dict) -> None:
    """Save ``state`` (tensors, dicts, numbers, text) to ``path`` with its SHA-256 beside it.

    The digest is written first, so every checkpoint on disk has one (a kill between the two
    leaves a digest without its checkpoint, which the next save replaces).
    """
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    with atomic_output(digest_path(path)) as tmp:
        tmp.write_text(f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)


def read_verified(path: Path, advice: str, option: str | None = None, device: str = "cpu") -> Any:
    """What :func:`write_verified` saved at ``path``, once its bytes match the digest (the bytes
    checked are the bytes loaded; tensors only, nothing unpickled). A missing digest, a mismatch
    or an unreadable file raises :class:`TrainError` (for ``option``) ending in ``advice``."""
    digest_file = digest_path(path)
    _check_readable(path, advice, option)
    try:
        data = path.read_bytes()
        expected = digest_file.read_text().split()[:1] if digest_file.exists() else None
    except (OSError, UnicodeDecodeError) as err:
        raise TrainError(f"found {path} but cannot read it or its digest ({err})", option) from None
    if expected is None:
        raise TrainError(f"found {path} without its digest {digest_file.name}, so it cannot be verified; {advice}",
                         option)
    actual = hashlib.sha256(data).hexdigest()
    if expected != [actual]:
        raise TrainError(f"found {path}, but it is corrupt or truncated: its SHA-256 is {actual[:16]}..., "
                         f"{digest_file.name} says {expected[0][:16]}...; {advice}", option)
    try:
        return torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    except Exception as err:  # torch raises several types for a file that is not a checkpoint
        raise TrainError(f"found {path}, but torch cannot load it ({_first_line(err)}); {advice}", option) from None


def _check_readable(path: Path, advice: str, option: str | None) -> None:
    """Refuse a checkpoint or digest that is not a regular file (a FIFO would block the read), before opening it."""
    digest_file = digest_path(path)
    problem = path_problem(path) or (digest_file.exists() and path_problem(digest_file))
    if problem:
        raise TrainError(f"found {path} but cannot read it or its digest ({problem}); {advice}", option)


def check_resumable(out: Path, option: str = "resume") -> None:
    """What a resume of ``out`` will read, checked before any data is loaded: ``kept.json`` (small,
    read here) and the latest checkpoint and its digest being regular files (verified when loaded)."""
    read_kept(checkpoint_dir(out))
    path = latest_checkpoint(out)
    if path is not None:
        _check_readable(path, _advice(option), option)


def read_kept(folder: Path) -> set[int]:
    """The epochs ``kept.json`` lists (the every-N checkpoints that are never deleted)."""
    marker = folder / "kept.json"
    if not marker.exists():
        return set()
    problem = path_problem(marker)  # a FIFO would block the read
    try:
        kept = None if problem else json.loads(marker.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        kept, problem = None, str(err)
    else:
        problem = problem or "not a list of epoch numbers"
    if not isinstance(kept, list) or not all(isinstance(e, int) and not isinstance(e, bool) for e in kept):
        raise TrainError(f"{marker} is corrupt ({problem}); it only lists the checkpoints to keep: "
                         f"delete it or repair it")
    return set(kept)


def _save_checkpoint(out: Path, epoch: int, keep: bool, model, optimizer, scheduler, history, config) -> None:
    """Write ``epoch_NNNN.pt`` and its digest; the previous one goes unless it was a kept (every-N) one."""
    folder = checkpoint_dir(out)
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "epoch": epoch, "history": history, "recipe": json.dumps(config.recipe(), sort_keys=True)}
    write_verified(folder / f"epoch_{epoch:04d}.pt", state)
    kept = read_kept(folder)
    if keep:
        kept.add(epoch)
        with atomic_output(folder / "kept.json") as tmp:
            tmp.write_text(json.dumps(sorted(kept)))
    for old in folder.glob("epoch_*.pt"):
        e = int(old.stem.split("_")[1])
        if e < epoch and e not in kept:
            old.unlink()
            digest_path(old).unlink(missing_ok=True)


def _load_checkpoint(path: Path, config: TrainConfig, option: str = "resume") -> dict[str, Any]:
    """The verified checkpoint: its SHA-256 must match its digest file, its content be ours and of this recipe.

    A refusal names ``option``: ``--resume`` for the command line, else the option that named the
    run folder (a cache of classifiers: ``--classifier-cache``)."""
    advice, other = _advice(option), _folder_option(option)
    state = read_verified(path, advice, option)
    if not isinstance(state, dict) or not CHECKPOINT_KEYS <= set(state) or state["epoch"] != len(state["history"]):
        raise TrainError(f"found {path}, but it is not a checkpoint of python -m train; {advice}", option)
    saved = json.loads(state["recipe"])
    if saved != config.recipe():
        diff = sorted(k for k in set(saved) | set(config.recipe()) if saved.get(k) != config.recipe().get(k))
        raise TrainError(f"found {path}, made with other settings ({', '.join(diff)}); "
                         f"use another {other} or the same settings to resume", option)
    return state


def _folder_option(option: str) -> str:
    """The option naming the run folder: ``--out`` when ``--resume`` asked for the checkpoint, else ``option`` itself."""
    return "--out" if option == "resume" else f"--{option.replace('_', '-')}"


def _advice(option: str) -> str:
    return f"delete it and its .sha256 to resume from an earlier checkpoint, or use another {_folder_option(option)}"


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


# ---- outputs -----------------------------------------------------------------------------

def _write_outputs(out: Path, history: list[dict[str, float]], metrics: dict[str, Any]) -> None:
    """``history.tsv``, then ``metrics.json`` carrying the SHA-256 of that history, so that a pair
    left mixed by a kill between the two writes is recognisable (and ``--resume`` rewrites both)."""
    lines = ["\t".join(HISTORY_COLUMNS)]
    lines += ["\t".join(f"{row[c]:.6g}" if c != "epoch" else str(row[c]) for c in HISTORY_COLUMNS) for row in history]
    text = "\n".join(lines) + "\n"
    with atomic_output(out / "history.tsv") as tmp:
        tmp.write_text(text)
    metrics = {**metrics, "history_sha256": hashlib.sha256(text.encode()).hexdigest()}
    with atomic_output(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(metrics, indent=2) + "\n")


def summarise(history: list[dict[str, float]], config: TrainConfig, weights_note: str, device: torch.device,
              train_size: int) -> dict[str, Any]:
    """metrics.json: best and final test accuracy (fractions), epochs, time, speed, processes, the configuration;
    ``scheme`` and ``key_seed`` of the variant trained on (None, None for the plain images) for reports that group by them."""
    train_seconds = sum(row["train_seconds"] for row in history)
    scheme, key_seed = variant_scheme(config.variant)
    return {
        "scheme": None if scheme == "origin" else scheme,
        "key_seed": key_seed,
        "test_acc_best": max((row["test_acc"] for row in history), default=float("nan")),
        "test_acc_final": history[-1]["test_acc"] if history else float("nan"),
        "epochs": len(history),
        "train_seconds": round(train_seconds, 3),
        "images_per_second": round(train_size * len(history) / train_seconds, 1) if train_seconds else 0.0,
        "device": str(device),
        "world_size": dist.world_size(),
        "weights": weights_note,
        "config": config.to_dict(),
    }


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
    spec, _ = parse_dataset(config.dataset, config.data_dir)
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
        mixer = _mixer(config, num_classes)
        steps = len(train) // config.batch if mixer else math.ceil(len(train) / config.batch)
        if 0 < len(train) % config.batch < dist.world_size():
            steps = len(train) // config.batch  # a last batch too small to give every rank an image is left out
        if steps == 0:
            raise TrainError(f"{len(train)} training images are fewer than one batch of {config.batch}")
        optimizer = _optimizer(config, model)
        scheduler = _scheduler(config, optimizer, steps)
        history: list[dict[str, float]] = []
        out_dir = Path(out) if out is not None else None
        if out_dir is not None and resume:
            state = dist.from_rank0(lambda: _resume_state(out_dir, config, resume_option))
            if state is not None:
                model.load_state_dict(state["model"])
                optimizer.load_state_dict(state["optimizer"])
                scheduler.load_state_dict(state["scheduler"])
                history = list(state["history"])
                if primary:  # outputs left mixed by a kill are made whole again
                    _write_outputs(out_dir, history, summarise(history, config, weights_note, device, len(train)))
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
                _save_checkpoint(out_dir, epoch, keep, model, optimizer, scheduler, history, config)
                _write_outputs(out_dir, history, summarise(history, config, weights_note, device, len(train)))
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


def _resume_state(out: Path, config: TrainConfig, option: str) -> dict[str, Any] | None:
    """The verified latest checkpoint in ``out`` (None when there is none); ``kept.json`` is checked too."""
    path = latest_checkpoint(out)
    read_kept(checkpoint_dir(out))
    return None if path is None else _load_checkpoint(path, config, option)


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
    with _numpy_seeded(seed):
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
