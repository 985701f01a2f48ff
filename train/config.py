"""The resolved configuration of one training run: preset values, overridden by the command line.

:func:`resolve_config` builds it; :meth:`TrainConfig.to_dict` is what ``metrics.json`` and the
checkpoints record, so a run says exactly how it was made.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from train.augment import REFERENCE_JITTER
from train.data import parse_dataset
from train.errors import TrainError
from train.models import MODEL_DEFAULTS, MODEL_TAGS, MODELS
from train.presets import PROFILES, get_preset, profile_preset

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "onecycle")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run (defaults: the reference script's own defaults)."""

    dataset: str  # <dataset>[_<variant>], e.g. fashion_vor
    model: str = "resnet18"
    preset: str | None = None
    epochs: int = 100
    batch: int = 128
    crop: int = 32
    lr: float = 0.1
    wd: float = 1e-4
    momentum: float = 0.9
    optimizer: str = "sgd"  # sgd: SGD with Nesterov momentum; adamw
    schedule: str = "cosine"  # cosine: CosineAnnealingLR(T_max=epochs) per epoch; onecycle: triangular per step
    ricap: float | None = 0.3  # Beta(ricap, ricap) boundary; None: plain cross-entropy
    mixup: float = 0.0  # mixup alpha (timm Mixup); 0: off
    cutmix: float = 0.0  # CutMix alpha (timm Mixup); 0: off
    padding: int = 4  # RandomCrop(crop, padding); 0: no random crop
    flip: float = 0.5  # RandomHorizontalFlip probability
    jitter: tuple[float, float, float, float] = REFERENCE_JITTER  # ColorJitter(b, c, s, h)
    model_options: dict[str, Any] = field(default_factory=dict)  # width/depth/patch/kernel...
    seed: int = 3407
    device: str = "auto"  # auto: CUDA when available
    data_dir: str = "data"
    out: str | None = None
    weights: str | None = None  # a local torchvision state-dict file (pre-trained ViT)
    checkpoint_every: int = 10
    eval_batch: int = 1024

    def __post_init__(self) -> None:
        parse_dataset(self.dataset)
        if self.model not in MODELS:
            raise TrainError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        unknown = set(self.model_options) - set(MODEL_DEFAULTS[self.model])
        if unknown:
            raise TrainError(f"model {self.model} takes no option(s) {', '.join(sorted(unknown))}")
        for name in ("epochs", "batch", "crop", "checkpoint_every", "eval_batch"):
            if getattr(self, name) < 1:
                raise TrainError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.padding < 0 or not 0 <= self.flip <= 1 or len(self.jitter) != 4 or min(self.jitter) < 0:
            raise TrainError("padding must be >= 0, flip in [0, 1], jitter four values >= 0")
        if self.jitter[3] > 0.5:
            raise TrainError(f"the hue jitter must be at most 0.5, got {self.jitter[3]}")
        if self.optimizer not in OPTIMIZERS or self.schedule not in SCHEDULES:
            raise TrainError(f"optimizer must be one of {OPTIMIZERS}, schedule one of {SCHEDULES}")
        if self.ricap is not None and self.ricap <= 0:
            raise TrainError(f"ricap beta must be positive (or none), got {self.ricap}")
        if self.ricap is not None and (self.mixup or self.cutmix):
            raise TrainError("RICAP and mixup/CutMix exclude each other; pass --ricap none")
        if (self.mixup or self.cutmix) and self.batch % 2:
            raise TrainError(f"mixup/CutMix pair each image with another: the batch must be even, got {self.batch}")
        if self.lr <= 0 or self.wd < 0:
            raise TrainError(f"lr must be positive and wd non-negative, got lr={self.lr}, wd={self.wd}")

    @property
    def variant(self) -> str:
        return parse_dataset(self.dataset)[1]

    @property
    def base_dataset(self) -> str:
        return parse_dataset(self.dataset)[0].name

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """The model's options with its defaults filled in."""
        return {**MODEL_DEFAULTS[self.model], **self.model_options}

    def default_out(self) -> str:
        """``results/runs/<dataset>_<model>_<variant>``, plus the preset's own suffix when it names another cell."""
        cell = f"{self.base_dataset}_{MODEL_TAGS[self.model]}"
        name = f"{cell}_{self.variant}"
        if self.preset and self.preset != name:
            suffix = self.preset[len(cell) + 1:] if self.preset.startswith(cell + "_") else self.preset
            name = f"{name}_{suffix}"
        return f"results/runs/{name}"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["jitter"] = list(self.jitter)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def recipe(self) -> dict[str, Any]:
        """The fields a resumed run must share with its checkpoint (all but where files and devices are)."""
        d = self.to_dict()
        for key in ("device", "data_dir", "out", "preset", "eval_batch", "checkpoint_every"):
            d.pop(key)
        return d


def resolve_config(preset: str | None, overrides: dict[str, Any]) -> TrainConfig:
    """Preset values (if any), then ``overrides`` (only the options the user gave), then ``out``'s default.

    A profile name (``cpu``, ``paper``) as ``preset`` picks the profile's preset for the
    ``dataset`` and ``model`` given in ``overrides``.
    """
    if preset in PROFILES:
        if "dataset" not in overrides or "model" not in overrides:
            raise TrainError(f"--preset {preset} picks a recipe per cell: give --dataset and --model too")
        spec, variant = parse_dataset(overrides["dataset"])
        preset = profile_preset(preset, spec.name, overrides["model"], variant)
    values: dict[str, Any] = get_preset(preset) if preset else {}
    values["preset"] = preset
    options = dict(values.pop("model_options", {}))
    options.update(overrides.pop("model_options", {}) or {})
    values.update(overrides)
    if "dataset" not in values or "model" not in values:
        raise TrainError("give --dataset and --model, or a --preset that names them")
    if "jitter" in values:
        values["jitter"] = tuple(values["jitter"])
    config = TrainConfig(model_options=options, **values)
    if config.out is None:
        config = dataclasses.replace(config, out=config.default_out())
    return config
