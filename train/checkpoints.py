"""Checkpoints of a run: each with its SHA-256 beside it, verified before it is loaded, the every-N ones
kept (``kept.json``), and a resume refused (naming the option that asked for it) when the
checkpoint is damaged or was made with other settings."""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch

from workbench.outputs import atomic_output
from workbench.paths import path_problem
from train.config import TrainConfig
from train.errors import TrainError

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


def save_checkpoint(out: Path, epoch: int, keep: bool, model, optimizer, scheduler, history, config) -> None:
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


def load_checkpoint(path: Path, config: TrainConfig, option: str = "resume") -> dict[str, Any]:
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



def resume_state(out: Path, config: TrainConfig, option: str) -> dict[str, Any] | None:
    """The verified latest checkpoint in ``out`` (None when there is none); ``kept.json`` is checked too."""
    path = latest_checkpoint(out)
    read_kept(checkpoint_dir(out))
    return None if path is None else load_checkpoint(path, config, option)
