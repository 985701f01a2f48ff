"""The learned attacks' one training loop: seeded steps, a held-out score, a stopping rule, a resumable checkpoint.

Every attack trains a few modules until its held-out score reaches a plateau or a cap of steps.
Step ``t`` draws its batch from ``numpy.random.default_rng([seed, t])``, so a run resumed from a
checkpoint takes exactly the batches the uninterrupted run would have taken, and the same seed
gives the same weights. Every ``eval_every`` steps the score (SSIM on data held out of the
adversary's own, never the attacked test split) is taken: one point of the curve. The rule
(:func:`plateaued`): stop when none of the last ``patience`` scores beats the best score before
them by more than ``min_delta``. The weights of the best score are the result.

Checkpoints hold state dicts and plain numbers only, are loaded with ``weights_only=True``,
and carry a SHA-256 digest file beside them that is checked before loading; a checkpoint made
with other settings is refused with a message saying so.
"""
from __future__ import annotations

import copy
import hashlib
import json
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from workbench.cli import progress_bar
from pipeline.errors import PipelineError
from pipeline.evaluate.metrics import ssim
from train.errors import TrainError
from train.checkpoints import read_verified, write_verified

StepFn = Callable[[np.random.Generator], dict[str, float]]  # one optimisation step -> its losses ("loss": the one minimised)
ScoreFn = Callable[[], float]  # the held-out score of the current weights (higher is better)


@dataclass
class Training:
    """What one training did: its curve (``step``, ``heldout_ssim``, ``train_loss``, the other losses),
    why it stopped (``plateau`` or ``cap``), the steps run, the step whose weights were kept, its
    seconds (earlier runs resumed from a checkpoint included) and those earlier seconds alone."""

    name: str
    curve: list[dict] = field(default_factory=list)
    stopped: str = "cap"
    steps: int = 0
    best_step: int = 0
    seconds: float = 0.0
    earlier: float = 0.0

    def record(self, rule: dict, score: str) -> dict:
        return {"stage": self.name, "stopped": self.stopped, "steps": self.steps, "best_step": self.best_step,
                "seconds": round(self.seconds, 1),
                "resumed_seconds": round(self.earlier, 1), "score": score, "rule": rule, "curve": self.curve}


def plateaued(scores: list[float], patience: int, min_delta: float) -> bool:
    """True when none of the last ``patience`` scores beats the best score before them by more than ``min_delta``."""
    if len(scores) <= patience:
        return False
    return max(scores[-patience:]) <= max(scores[:-patience]) + min_delta


def optimizer(params: Iterable[torch.Tensor], lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam with the fused kernel (one pass over every parameter: 1.3-1.6x faster steps for the colour translator's mixing)."""
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)


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


def train(modules: Mapping[str, nn.Module], optimizers: Mapping[str, torch.optim.Optimizer], step: StepFn, *, cap: int, seed: int,
          name: str, recipe: dict, checkpoint: Path | None, score: ScoreFn, eval_every: int, patience: int, min_delta: float,
          checkpoint_every: int, progress: bool, device: str = "cpu") -> Training:
    """Run ``step`` until the held-out ``score`` reaches a plateau or ``cap`` steps are done (resuming
    from ``checkpoint`` where one exists); leaves the modules at the weights of the best score.

    ``recipe`` (JSON-ready) names everything the weights depend on except
    the cap, and the checkpoint file is named by it (``<checkpoint stem>_<recipe digest>.pt``): other
    settings, data or keys train into a file of their own; a file whose content is of another recipe,
    or of more steps than the cap, is refused. A checkpoint
    of fewer steps is continued, one that stopped at a plateau is final. Checkpoints every
    ``checkpoint_every`` steps (a multiple of ``eval_every``) and at the stop; progress: a bar on
    a terminal, else one line per evaluation.
    """

    text = json.dumps(recipe, sort_keys=True)
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        checkpoint = checkpoint.with_name(f"{checkpoint.stem}_{hashlib.sha256(text.encode()).hexdigest()[:12]}{checkpoint.suffix}")
    run = Training(name)
    best: dict | None = None
    state = None if checkpoint is None else load_checkpoint(checkpoint, text, device)
    if state is not None:
        for key, module in modules.items():
            module.load_state_dict(state["modules"][key])
        for key, optimizer_ in optimizers.items():
            optimizer_.load_state_dict(state["optimizers"][key])
        run.steps, run.curve, run.stopped = int(state["step"]), json.loads(state["history"]), str(state["stopped"])
        run.earlier, run.best_step, best = float(state["seconds"]), int(state["best_step"]), state["best"]
        if run.steps > cap:
            raise PipelineError(f"{checkpoint}: checkpoint is of {run.steps} steps, more than the {cap} asked; delete it or ask for {run.steps}")
    bar = progress_bar(total=cap, initial=run.steps, desc=name, disable=not progress)
    sums: dict[str, float] = {}
    count, clock = 0, time.perf_counter()
    while run.stopped != "plateau" and run.steps < cap:
        losses = step(np.random.default_rng([seed, run.steps]))
        for key, value in losses.items():
            sums[key] = sums.get(key, 0.0) + value
        count += 1
        run.steps += 1
        bar.update(1)
        if run.steps % eval_every and run.steps != cap:
            continue
        value = round(float(score()), 5)
        means = {k: round(v / count, 5) for k, v in sums.items()}
        run.curve.append({"step": run.steps, "heldout_ssim": value, "train_loss": means.pop("loss", None), **means})
        sums, count = {}, 0
        scores = [row["heldout_ssim"] for row in run.curve]
        if value > max(scores[:-1], default=-np.inf):
            run.best_step, best = run.steps, {k: copy.deepcopy(m.state_dict()) for k, m in modules.items()}
        if plateaued(scores, patience, min_delta):
            run.stopped = "plateau"
        if progress and not bar.disable:
            bar.set_postfix({k: v for k, v in run.curve[-1].items() if k != "step"})
        elif progress:
            print(f"{name}: step {run.steps}/{cap} " + " ".join(f"{k} {v}" for k, v in run.curve[-1].items() if k != "step"), file=sys.stderr)
        if checkpoint is not None and (run.steps % checkpoint_every == 0 or run.stopped == "plateau" or run.steps == cap):
            save_checkpoint(checkpoint, {"recipe": text, "step": run.steps, "history": json.dumps(run.curve), "stopped": run.stopped,
                                         "seconds": run.earlier + time.perf_counter() - clock, "best_step": run.best_step, "best": best,
                                         "modules": {k: m.state_dict() for k, m in modules.items()},
                                         "optimizers": {k: o.state_dict() for k, o in optimizers.items()}})
    bar.close()
    run.seconds = run.earlier + time.perf_counter() - clock
    for key, module in modules.items():
        module.load_state_dict(best[key])
    return run


def heldout_ssim(module: nn.Module, inputs: np.ndarray, targets: np.ndarray, device: str = "cpu") -> float:
    """Mean SSIM of ``module`` applied to held-out ``inputs`` against ``targets`` (uint8 pictures)."""
    return float(ssim(apply(module, inputs, device), targets).mean())


def to_tensor(pictures: np.ndarray, device: str = "cpu") -> torch.Tensor:
    """uint8 (N, H, W, C) pictures as float (N, C, H, W) in [0, 1] on ``device``, channels-last in memory
    (the layout oneDNN's convolutions run fastest in on a CPU; the values and shape are the same)."""
    x = torch.from_numpy(np.ascontiguousarray(pictures)).to(device).float().div_(255.0)
    return x.permute(0, 3, 1, 2)


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
