"""What a run's steps follow: the optimizer, the learning-rate schedules, mixup/CutMix, and the seeded
numpy generator timm's Mixup draws from."""
from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from train.config import TrainConfig


def make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
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


def make_scheduler(config: TrainConfig, optimizer, steps_per_epoch: int):
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, Triangular(config.epochs, steps_per_epoch))
    if config.schedule == "triangle":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupLinear(config.epochs, steps_per_epoch))
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)


def make_mixer(config: TrainConfig, num_classes: int):
    if not (config.mixup or config.cutmix):
        return None
    from timm.data import Mixup

    return Mixup(mixup_alpha=config.mixup, cutmix_alpha=config.cutmix, label_smoothing=0.1, num_classes=num_classes)


@contextlib.contextmanager
def numpy_seeded(seed: int):
    """timm's Mixup draws from numpy's global generator: seed it for the epoch, then restore it."""
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        np.random.set_state(state)
