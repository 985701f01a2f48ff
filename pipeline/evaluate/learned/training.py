"""The learned attacks' one training loop: seeded steps, progress, and a resumable checkpoint.

Every attack trains a few modules for a fixed number of steps. Step ``t`` draws its batch from
``numpy.random.default_rng([seed, t])``, so a run resumed from a checkpoint takes exactly the
batches the uninterrupted run would have taken, and the same seed gives the same weights.

Checkpoints hold state dicts and plain numbers only, are loaded with ``weights_only=True``,
and carry a SHA-256 digest file beside them that is checked before loading; a checkpoint made
with other settings is refused with a message saying so.
"""
from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from pipeline.cli import progress_bar
from pipeline.errors import PipelineError
from train.errors import TrainError
from train.loop import read_verified, write_verified

StepFn = Callable[[np.random.Generator], dict[str, float]]  # one optimisation step -> its losses


@contextmanager
def deterministic(seed: int, threads: int, device: str) -> Iterator[None]:
    """Seeded torch on ``threads`` CPU threads for the duration, restored afterwards.

    CPU kernels are deterministic for a fixed thread count already (the tests check it);
    ``torch.use_deterministic_algorithms`` is only switched on for other devices, since merely
    calling it imports torch's compiler stack (17 s on the loaded test machine).
    """
    was, was_threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    if torch.device(device).type != "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(threads)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        yield
    finally:
        if torch.device(device).type != "cpu":
            torch.use_deterministic_algorithms(was)
        torch.set_num_threads(was_threads)
        torch.random.set_rng_state(state)


def save_checkpoint(path: Path, state: dict) -> None:
    """Write ``state`` (tensors, dicts, numbers, text) and ``<path>.sha256`` beside it, atomically."""
    write_verified(path, state)


def load_checkpoint(path: Path, recipe: str, device: str = "cpu") -> dict | None:
    """The checkpoint at ``path`` if there is one made with ``recipe``; refuses a damaged or foreign one."""
    if not path.exists():
        return None
    try:
        state = read_verified(path, "delete it and its .sha256 to start over", device=device)
    except TrainError as err:
        raise PipelineError(str(err)) from None
    if not isinstance(state, dict) or state.get("recipe") != recipe:
        raise PipelineError(f"{path}: checkpoint was made with other settings; use another --checkpoints folder or the same settings")
    return state


def train(modules: Mapping[str, nn.Module], optimizers: Mapping[str, torch.optim.Optimizer], step: StepFn, *, steps: int, seed: int,
          name: str, recipe: dict, checkpoint: Path | None, every: int, progress: bool, device: str = "cpu") -> float:
    """Run ``step`` ``steps`` times (resuming from ``checkpoint`` where one exists); the seconds of
    training that earlier runs had done (kept in the checkpoint, 0 without one), so a resumed
    result can report its whole cost. The checkpoint also keeps the losses, one row per ``every`` steps.

    ``recipe`` (JSON-ready) names everything the weights depend on except the number of steps;
    a checkpoint of another recipe, or of more steps than asked, is refused. A checkpoint of
    fewer steps is continued: a longer run resumes a shorter one exactly. Progress: a bar on a terminal, else one summary line per ``every`` steps.
    """

    text = json.dumps(recipe, sort_keys=True)
    start, history, earlier = 0, [], 0.0
    state = None if checkpoint is None else load_checkpoint(checkpoint, text, device)
    if state is not None:
        for key, module in modules.items():
            module.load_state_dict(state["modules"][key])
        for key, optimizer in optimizers.items():
            optimizer.load_state_dict(state["optimizers"][key])
        start, history = int(state["step"]), json.loads(state["history"])
        earlier = float(state.get("seconds", 0.0))    # checkpoints older than this field: unknown, 0
        if start > steps:
            raise PipelineError(f"{checkpoint}: checkpoint is of {start} steps, more than the {steps} asked; delete it or ask for {start}")
    bar = progress_bar(total=steps, initial=start, desc=name, disable=not progress)
    sums: dict[str, float] = {}
    count = 0
    clock = time.perf_counter()
    for t in range(start, steps):
        losses = step(np.random.default_rng([seed, t]))
        for key, value in losses.items():
            sums[key] = sums.get(key, 0.0) + value
        count += 1
        bar.update(1)
        done = t + 1
        if done % every == 0 or done == steps:
            row = {"step": done, **{k: round(v / count, 5) for k, v in sums.items()}}
            history.append(row)
            sums, count = {}, 0
            if progress and not bar.disable:
                bar.set_postfix({k: v for k, v in row.items() if k != "step"})
            elif progress:
                print(f"{name}: step {done}/{steps} " + " ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "step"), file=sys.stderr)
            if checkpoint is not None:
                save_checkpoint(checkpoint, {"recipe": text, "step": done, "history": json.dumps(history),
                                             "seconds": earlier + time.perf_counter() - clock,
                                             "modules": {k: m.state_dict() for k, m in modules.items()},
                                             "optimizers": {k: o.state_dict() for k, o in optimizers.items()}})
    bar.close()
    return earlier


def to_tensor(pictures: np.ndarray, device: str = "cpu") -> torch.Tensor:
    """uint8 (N, H, W, C) pictures as float (N, C, H, W) in [0, 1] on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(pictures.transpose(0, 3, 1, 2))).to(device).float().div_(255.0)


def to_pictures(x: torch.Tensor) -> np.ndarray:
    """Float (N, C, H, W) in [0, 1] as rounded uint8 (N, H, W, C) pictures."""
    return np.rint(x.clamp(0, 1).mul(255.0).permute(0, 2, 3, 1).cpu().numpy()).astype(np.uint8)


@torch.no_grad()
def apply(module: nn.Module, pictures: np.ndarray, device: str = "cpu", batch: int = 512) -> np.ndarray:
    """``module`` (on ``device``) applied to uint8 pictures in batches, as uint8 pictures."""
    module.eval()
    out = [to_pictures(module(to_tensor(pictures[i:i + batch], device))) for i in range(0, len(pictures), batch)]
    module.train()
    return np.concatenate(out) if out else np.zeros_like(pictures)
