"""The learned attacks' networks: an image-to-image translator and a PatchGAN discriminator.

The translator is a learnable global linear mixing of the samples (initialised to the identity;
dense up to 64 x 64 x 3, factorised above: :mod:`pipeline.evaluate.learned.mixing`) followed by a
small U-Net, which repairs what a linear map cannot (lost samples, negation, texture). Both work
for any (H, W, C) whose H and W are multiples of 4.
"""
from __future__ import annotations

import torch
from torch import nn

from pipeline.encrypt.scheme import KeyOptions, Scheme
from pipeline.errors import PipelineError
from pipeline.evaluate.attack_data import AttackData
from pipeline.evaluate.learned.mixing import dense_fits, mixing_for
from pipeline.evaluate.learned.settings import LearnedSettings


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(1, cout), nn.LeakyReLU(0.2),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(1, cout), nn.LeakyReLU(0.2))


class Translator(nn.Module):
    """Pictures in [0, 1] (N, C, H, W) -> pictures in [0, 1]: global linear mixing, then a two-level U-Net.

    ``block``: the scheme's block size, used by the factorised mixing of images above 64 x 64 x 3, and at
    any size where ``block_wise`` asks for it."""

    def __init__(self, shape: tuple[int, int, int], width: int = 16, block: int | None = None, block_wise: bool = False) -> None:
        super().__init__()
        h, w, c = shape
        if h % 4 or w % 4:
            raise PipelineError(f"the learned attacks need image sides that are multiples of 4, got {h} x {w}")
        self.mix = mixing_for(shape, block, block_wise)
        self.down1 = _block(2 * c, width)
        self.down2 = _block(width, 2 * width)
        self.bottom = _block(2 * width, 4 * width)
        self.up2 = nn.ConvTranspose2d(4 * width, 2 * width, 2, stride=2)
        self.dec2 = _block(4 * width, 2 * width)
        self.up1 = nn.ConvTranspose2d(2 * width, width, 2, stride=2)
        self.dec1 = _block(2 * width, width)
        self.out = nn.Conv2d(width, c, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = self.mix(x)
        d1 = self.down1(torch.cat([mixed, x], 1))
        d2 = self.down2(self.pool(d1))
        b = self.bottom(self.pool(d2))
        u2 = self.dec2(torch.cat([self.up2(b), d2], 1))
        u1 = self.dec1(torch.cat([self.up1(u2), d1], 1))
        return torch.sigmoid(self.out(u1) + torch.logit(mixed.clamp(0.01, 0.99)))


def translator(data: AttackData, scheme: Scheme, options: KeyOptions, width: int, block_mixing: bool = False) -> Translator:
    """A :class:`Translator` for ``data`` encrypted by ``scheme``: the scheme's public block size (asked only
    where the dense mixing does not fit, or where ``block_mixing`` asks for the block-wise mixing) shapes the mixing."""
    asked = block_mixing or not dense_fits(data.shape)
    return Translator(data.shape, width, scheme.public_block_size(data.spec, options) if asked else None, block_mixing)


def chosen_mixing(net: Translator, settings: LearnedSettings) -> dict:
    """The translator's mixing for a checkpoint's recipe, named only where the ``block_mixing`` setting is on
    (elsewhere the image's shape decides it, and the recipes, so their checkpoints, stay as they were)."""
    return {"mixing": type(net.mix).__name__} if settings.block_mixing else {}


class Discriminator(nn.Module):
    """PatchGAN-style critic: a real/fake score per overlapping patch (LSGAN targets 1 and 0)."""

    def __init__(self, channels: int, width: int = 16) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.GroupNorm(1, 2 * width), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 1, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
