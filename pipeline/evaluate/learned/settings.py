"""How long and how big the learned attacks train: one frozen settings object, three profiles.

Every training runs until a held-out score stops improving (the plateau rule of
:func:`pipeline.evaluate.learned.training.plateaued`: no evaluation among the last ``patience``
beats the best before them by more than ``min_delta`` SSIM), evaluated every ``eval_every``
steps, or until its cap (``itn_steps``, ``pairs_steps``, ``gan_steps``). The ``cpu`` profile is
sized for 28 x 28 and 32 x 32 data on one CPU core each (width 8, batch 64; ``--jobs 2`` trains ITN beside
the GAN): a plateau is no gain of more than 0.002 SSIM in 500 steps, and a training stops at its cap
if it has not found one: 2,000 steps for ITN with its own keys, 4,000 for its fine-tuning on victim
pairs (about 0.05 s a step on a core at 28 x 28) and 2,400 for the GAN (about 0.12 s a step), so a
stage takes about 5 minutes; scaled down for larger images (:mod:`pipeline.evaluate.learned.sample`); ``paper`` is the GPU-sized run, on every image.
``colour`` is ``cpu`` for the colour profile's CIFAR-10 subset (a few hundred training images a
domain): the GAN at CycleGAN's learning rate 2e-4 (at 1e-3 its cycle score collapsed there within
100 steps) and the block-wise mixing for the schemes whose key is of a public block size (EtC and
block scrambling: 9,472 weights instead of 9.4 million at 32 x 32 x 3 in blocks of 4; half the
step's cost). LE and ELE declare no block size (their 4-bit shuffles are no sample map), so they
keep the dense map. The settings are written into every result file.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from pipeline.errors import PipelineError


@dataclass(frozen=True)
class LearnedSettings:
    seed: int = 0
    threads: int = 1  # torch CPU threads: one is fastest on a shared machine, and results never depend on it
    width: int = 8  # U-Net channels at full resolution
    batch: int = 64
    lr: float = 1e-3
    gan_lr: float | None = None  # the GAN's learning rate (None: lr); CycleGAN's published one is 2e-4
    public_images: int = 12_000  # public plain images the adversary uses (ITN: encrypts them; GAN: the plain domain)
    adversary_keys: int = 4  # ITN: keys the adversary draws itself (the public images are shared among them)
    itn_steps: int = 2_000  # caps: a training stops here if its held-out score has not reached a plateau
    known_pairs: int = 0  # ITN's stronger variant: the first k victim (encrypted, plain) train pairs (0: own keys only)
    pairs_steps: int = 4_000
    gan_steps: int = 2_400
    gan_batch: int = 32
    cycle_weight: float = 10.0
    block_mixing: bool = False  # a scheme with a public block size (Scheme.public_block_size) gets the block-wise mixing at any size
    holdout: int = 500  # images held out of the adversary's data to score the training (at most a fifth of it)
    eval_every: int = 100  # steps between two held-out evaluations (one point of the curve)
    patience: int = 5  # evaluations without an improvement of more than min_delta: a plateau
    min_delta: float = 0.002  # SSIM
    checkpoint_every: int = 500  # steps; a multiple of eval_every
    lpips_weights: tuple[Path, ...] = ()  # LPIPS v0.1 files (pipeline.evaluate.learned.lpips); none: no LPIPS
    sized_samples: int | None = 32 * 32 * 3  # samples an image the sizes above are for (learned.sample.sized_for); None: any
    train_images: int | None = None  # images drawn from the train split (None: all; learned.sample.load_capped)
    test_images: int | None = None  # images drawn from the test split (None: all)

    def __post_init__(self) -> None:
        for name in ("threads", "width", "batch", "public_images", "adversary_keys", "itn_steps", "pairs_steps", "gan_steps",
                     "gan_batch", "holdout", "eval_every", "patience", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise PipelineError(f"learned attack setting {name} must be at least 1, got {getattr(self, name)}")
        for name in ("sized_samples", "train_images", "test_images"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise PipelineError(f"learned attack setting {name} must be at least 1, got {getattr(self, name)}")
        if self.known_pairs < 0 or self.known_pairs == 1:
            raise PipelineError(f"--known-pairs must be 0 or at least 2 (a tenth of the pairs is held out to score the training), "
                                f"got {self.known_pairs}")
        for name in ("lr", "gan_lr"):
            if getattr(self, name) is not None and not getattr(self, name) > 0:
                raise PipelineError(f"learned attack setting {name} must be positive, got {getattr(self, name)}")
        if not self.min_delta >= 0:
            raise PipelineError(f"learned attack setting min_delta must be at least 0, got {self.min_delta}")
        if self.checkpoint_every % self.eval_every:
            raise PipelineError(f"learned attack setting checkpoint_every ({self.checkpoint_every}) must be a multiple of "
                                f"eval_every ({self.eval_every})")

    @property
    def gan_learning_rate(self) -> float:
        return self.lr if self.gan_lr is None else self.gan_lr

    def record(self) -> dict:
        """JSON-ready settings (weight files by name only: records stay machine-independent)."""
        out = asdict(self)
        out["lpips_weights"] = [Path(p).name for p in self.lpips_weights]
        return out

    def recipe(self, *names: str) -> dict:
        """The named settings, for a checkpoint's recipe (what its weights depend on)."""
        return {name: getattr(self, name) for name in names}

    def stopping(self) -> dict:
        """The stopping rule's settings (part of every checkpoint's recipe and of the result's record)."""
        return self.recipe("holdout", "eval_every", "patience", "min_delta")

    def with_(self, **changes) -> "LearnedSettings":
        return replace(self, **changes)


PROFILES: dict[str, LearnedSettings] = {
    "cpu": LearnedSettings(),
    "paper": LearnedSettings(width=32, batch=128, public_images=50_000, adversary_keys=10, itn_steps=20_000,
                             pairs_steps=5_000, gan_steps=20_000, gan_batch=64, threads=16, holdout=2_000, eval_every=500,
                             patience=6, min_delta=0.001, checkpoint_every=1_000, sized_samples=None),
    "colour": LearnedSettings(gan_lr=2e-4, block_mixing=True),
}


def profile(name: str) -> LearnedSettings:
    try:
        return PROFILES[name]
    except KeyError:
        raise PipelineError(f"--settings: unknown settings {name!r}; choose one of {', '.join(PROFILES)}") from None
