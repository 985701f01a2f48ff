"""A run's record: ``history.tsv`` (one row per epoch) and ``metrics.json`` (best and final accuracy,
speed, the configuration), written after every epoch."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from workbench.outputs import atomic_output
from train import distributed as dist
from train.config import TrainConfig
from train.data import run_identity

HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds")


def write_outputs(out: Path, history: list[dict[str, float]], metrics: dict[str, Any]) -> None:
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
    """metrics.json: what was trained (:func:`train.data.run_identity`), best and final test accuracy
    (fractions), epochs, time, speed, processes, the configuration."""
    train_seconds = sum(row["train_seconds"] for row in history)
    return {
        **run_identity(config.dataset, config.scheme, config.model, config.seed, config.data_dir),
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
