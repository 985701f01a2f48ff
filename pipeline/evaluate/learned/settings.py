"""How long and how big the learned attacks train: one frozen settings object, two profiles.

The ``cpu`` profile keeps every attack within about 5 minutes on 2 CPU cores for 28 x 28 and
32 x 32 data (a subset of the public images, a fixed number of steps); ``paper`` is the
GPU-sized run. The settings are written into every result file.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from pipeline.errors import PipelineError


@dataclass(frozen=True)
class LearnedSettings:
    seed: int = 0
    threads: int = 1  # torch CPU threads: one is fastest on a shared machine, and results never depend on it
    width: int = 16  # U-Net channels at full resolution
    batch: int = 64
    lr: float = 1e-3
    public_images: int = 12_000  # public plain images the adversary uses (ITN: encrypts them; GAN: the plain domain)
    adversary_keys: int = 4  # ITN: keys the adversary draws itself (the public images are shared among them)
    itn_steps: int = 400
    known_pairs: int = 0  # ITN's stronger variant: the first k victim (encrypted, plain) train pairs (0: own keys only)
    pairs_steps: int = 300
    gan_steps: int = 240
    gan_batch: int = 32
    cycle_weight: float = 10.0
    checkpoint_every: int = 100
    lpips_weights: tuple[Path, ...] = ()  # LPIPS v0.1 files (pipeline.evaluate.learned.lpips); none: no LPIPS

    def __post_init__(self) -> None:
        for name in ("threads", "width", "batch", "public_images", "adversary_keys", "itn_steps", "pairs_steps", "gan_steps", "gan_batch", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise PipelineError(f"learned attack setting {name} must be at least 1, got {getattr(self, name)}")
        if self.known_pairs < 0:
            raise PipelineError(f"--known-pairs must be at least 0, got {self.known_pairs}")
        if not self.lr > 0:
            raise PipelineError(f"learned attack setting lr must be positive, got {self.lr}")

    def record(self) -> dict:
        """JSON-ready settings (weight files by name only: records stay machine-independent)."""
        out = asdict(self)
        out["lpips_weights"] = [Path(p).name for p in self.lpips_weights]
        return out

    def recipe(self, *names: str) -> dict:
        """The named settings, for a checkpoint's recipe (what its weights depend on)."""
        return {name: getattr(self, name) for name in names}

    def with_(self, **changes) -> "LearnedSettings":
        return replace(self, **changes)


PROFILES: dict[str, LearnedSettings] = {
    "cpu": LearnedSettings(),
    "paper": LearnedSettings(width=32, batch=128, public_images=50_000, adversary_keys=10, itn_steps=20_000,
                             pairs_steps=5_000, gan_steps=20_000, gan_batch=64, threads=16, checkpoint_every=1_000),
}


def profile(name: str) -> LearnedSettings:
    try:
        return PROFILES[name]
    except KeyError:
        raise PipelineError(f"unknown --profile {name!r}; choose one of {', '.join(PROFILES)}") from None
