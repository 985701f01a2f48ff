"""timm's ConvMixer-``width``/``depth`` with ``patch`` and ``kernel``."""
from __future__ import annotations

from timm.models.convmixer import ConvMixer
from torch import nn

from train.errors import TrainError


def build(in_channels: int, num_classes: int, crop: int, normalisation=None, *, width: int, depth: int,
          patch: int, kernel: int) -> nn.Module:
    return ConvMixer(dim=int(width), depth=int(depth), kernel_size=int(kernel), patch_size=int(patch),
                     in_chans=in_channels, num_classes=num_classes)


def check(crop: int, options: dict) -> None:
    if int(options["patch"]) > crop:
        raise TrainError(f"convmixer: patch {options['patch']} is larger than the crop {crop} (--crop)", "patch")
