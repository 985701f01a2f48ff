"""The resolved configuration of one training run: preset values, overridden by the command line.

:func:`resolve_config` builds it; :meth:`TrainConfig.to_dict` is what ``metrics.json`` and the
checkpoints record, so a run says exactly how it was made.
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from workbench.data.datasets import variant_scheme
from workbench.errors import WorkbenchError
from train.augment import REFERENCE_JITTER
from train.data import PLAIN, parse_dataset
from train.errors import TrainError
from train.model_registry import MODELS
from train.presets import PROFILES, get_preset, profile_preset

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "onecycle", "triangle")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run (defaults: the reference script's own defaults)."""

    dataset: str  # mnist, fashion, cifar10 or a declared dataset
    scheme: str = PLAIN  # the encrypted variant data/<dataset>/<scheme>; origin: the plain images
    model: str = "resnet18"
    preset: str | None = None
    epochs: int = 100
    batch: int = 128
    crop: int = 32
    lr: float = 0.1
    wd: float = 1e-4
    momentum: float = 0.9
    optimizer: str = "sgd"  # sgd: SGD with Nesterov momentum; adamw
    schedule: str = "cosine"  # cosine: CosineAnnealingLR(T_max=epochs) per epoch; onecycle, triangle: per step
    ricap: float | None = 0.3  # Beta(ricap, ricap) boundary; None: plain cross-entropy
    label_smoothing: float = 0.0  # cross-entropy label smoothing (with RICAP and plain labels)
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
    sync_bn: bool = False  # under DDP: BatchNorm statistics over the global batch (SyncBatchNorm)
    jpeg_quality: int | None = None  # train and test on JPEG-compressed pictures of this quality (1..95)

    def __post_init__(self) -> None:
        parse_dataset(self.dataset, self.data_dir)
        _check("scheme", self.scheme, "a variant's name (a folder data/<dataset>/<scheme> or <scheme>-k<key seed>), "
               "or origin for the plain images", _is_variant(self.scheme))
        if self.model not in MODELS:
            raise TrainError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}", "model")
        model = MODELS.get(self.model)
        model.with_defaults(self.model_options)
        for name, value in self.model_options.items():
            if not isinstance(model.options[name], bool):
                _check(name, value, "a whole number >= 1", _is_int(value) and value >= 1)
        for name in ("epochs", "batch", "crop", "checkpoint_every", "eval_batch"):
            _check(name, getattr(self, name), "a whole number >= 1", _is_int(getattr(self, name)) and getattr(self, name) >= 1)
        model.check(self.crop, self.model_options)
        _check("seed", self.seed, "a whole number >= 0", _is_int(self.seed) and self.seed >= 0)
        _check("jpeg_quality", self.jpeg_quality, "a whole number 1..95 (or none)",
               self.jpeg_quality is None or (_is_int(self.jpeg_quality) and 1 <= self.jpeg_quality <= 95))
        _check("padding", self.padding, "a whole number >= 0", _is_int(self.padding) and self.padding >= 0)
        _check("lr", self.lr, "a finite number > 0", _finite(self.lr) and self.lr > 0)
        for name in ("wd", "mixup", "cutmix"):
            _check(name, getattr(self, name), "a finite number >= 0", _finite(getattr(self, name)) and getattr(self, name) >= 0)
        _check("momentum", self.momentum, "a number in [0, 1)", _finite(self.momentum) and 0 <= self.momentum < 1)
        _check("label_smoothing", self.label_smoothing, "a number in [0, 1)",
               _finite(self.label_smoothing) and 0 <= self.label_smoothing < 1)
        _check("flip", self.flip, "a probability in [0, 1]", _finite(self.flip) and 0 <= self.flip <= 1)
        _check("ricap", self.ricap, "a finite beta > 0 (or none)",
               self.ricap is None or (_finite(self.ricap) and self.ricap > 0))
        _check("jitter", ",".join(map(str, self.jitter)), "four finite values >= 0 with the hue at most 0.5",
               len(self.jitter) == 4 and all(_finite(v) and v >= 0 for v in self.jitter) and self.jitter[3] <= 0.5)
        _check("device", self.device, "auto, cpu, cuda or cuda:<index>",
               re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device) is not None)
        _check("optimizer", self.optimizer, f"one of {', '.join(OPTIMIZERS)}", self.optimizer in OPTIMIZERS)
        _check("schedule", self.schedule, f"one of {', '.join(SCHEDULES)}", self.schedule in SCHEDULES)
        if self.ricap is not None and (self.mixup or self.cutmix):
            raise TrainError("RICAP and mixup/CutMix exclude each other; pass --ricap none", "ricap")
        if (self.mixup or self.cutmix) and self.batch % 2:
            raise TrainError(f"mixup/CutMix pair each image with another: the batch must be even, got {self.batch}",
                             "batch")

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """The model's options with its defaults filled in."""
        return MODELS.get(self.model).with_defaults(self.model_options)

    def default_out(self) -> str:
        """``results/runs/<dataset>_<model>_<scheme>``, plus the preset's own suffix when it names another cell."""
        cell = f"{self.dataset}_{MODELS.get(self.model).tag}"
        name = f"{cell}_{self.scheme}"
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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_variant(value: Any) -> bool:
    """A name :func:`workbench.data.datasets.variant_name` makes (the one naming of a scheme's key variants)."""
    if not isinstance(value, str):
        return False
    try:
        variant_scheme(value)
    except WorkbenchError:
        return False
    return True


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check(name: str, value: Any, wanted: str, ok: bool) -> None:
    """Raise the :class:`TrainError` of option ``name`` unless ``ok``: "must be <wanted>, got <value>"."""
    if not ok:
        raise TrainError(f"must be {wanted}, got {value}", name)


def resolve_config(preset: str | None, overrides: dict[str, Any]) -> TrainConfig:
    """Preset values (if any), then ``overrides`` (only the options the user gave), then ``out``'s default.

    A profile name (``cpu``, ``paper``) as ``preset`` picks the profile's preset for the
    ``dataset`` and ``model`` given in ``overrides``.
    """
    if preset in PROFILES:
        if "dataset" not in overrides or "model" not in overrides:
            raise TrainError(f"--preset {preset} picks a recipe per cell: give --dataset and --model too")
        spec = parse_dataset(overrides["dataset"], overrides.get("data_dir", "data"))
        preset = profile_preset(preset, spec.name, overrides["model"], overrides.get("scheme", PLAIN))
    values: dict[str, Any] = get_preset(preset) if preset else {}
    values["preset"] = preset
    options = dict(values.pop("model_options", {}))
    options.update(overrides.pop("model_options", {}) or {})
    values.update(overrides)
    if "dataset" not in values or "model" not in values:
        raise TrainError("give --dataset and --model, or a --preset that names them")
    if "jitter" in values:
        values["jitter"] = tuple(values["jitter"])
    if "crop" in values and values["crop"] is None:  # a recipe for any dataset: the network sees its image size
        values["crop"] = parse_dataset(values["dataset"], values.get("data_dir", "data")).height
    config = TrainConfig(model_options=options, **values)
    if config.out is None:
        config = dataclasses.replace(config, out=config.default_out())
    return config
