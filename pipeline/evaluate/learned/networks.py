"""The learned attacks' networks: an image-to-image translator and a PatchGAN discriminator, sized for 28-32 px.

The translator is a learnable global linear map over all samples (initialised to the
identity) followed by a small U-Net. The linear map is what lets a network undo encryptions
that move samples across the whole image (the vortex, block scrambling): a U-Net alone only
sees a neighbourhood. The U-Net then repairs what a linear map cannot (lost samples,
negation, texture). Both work for any (H, W, C) whose H and W are multiples of 4.
"""
from __future__ import annotations

import torch
from torch import nn

from pipeline.errors import PipelineError

#: Most samples an image may have for a translator: its global linear map holds S^2 weights (4 S^2
#: bytes, as much again for the gradient and twice for Adam): 12,288 (64 x 64 x 3) are 0.56 GiB of weights.
MAX_MIXED_SAMPLES = 64 * 64 * 3


def mixing_problem(shape: tuple[int, int, int]) -> str | None:
    """Why no translator is built for (H, W, C) images (its S x S map would not fit), else None."""
    size = shape[0] * shape[1] * shape[2]
    if size <= MAX_MIXED_SAMPLES:
        return None
    return (f"the translator's global linear map over the {size} samples of a {shape[0]} x {shape[1]} x {shape[2]} image would hold "
            f"{size}^2 weights ({4 * size**2 / 2**30:.0f} GiB); it takes at most {MAX_MIXED_SAMPLES} samples (64 x 64 x 3)")


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(1, cout), nn.LeakyReLU(0.2),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(1, cout), nn.LeakyReLU(0.2))


class Translator(nn.Module):
    """Pictures in [0, 1] (N, C, H, W) -> pictures in [0, 1]: global linear mixing, then a two-level U-Net."""

    def __init__(self, shape: tuple[int, int, int], width: int = 16) -> None:
        super().__init__()
        h, w, c = shape
        if h % 4 or w % 4:
            raise PipelineError(f"the learned attacks need image sides that are multiples of 4, got {h} x {w}")
        problem = mixing_problem(shape)
        if problem is not None:
            raise PipelineError(problem)
        self.shape = (c, h, w)
        size = h * w * c
        self.mix = nn.Linear(size, size)
        with torch.no_grad():
            self.mix.weight.copy_(torch.eye(size))
            self.mix.bias.zero_()
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
        mixed = self.mix(x.flatten(1)).view(-1, *self.shape)
        d1 = self.down1(torch.cat([mixed, x], 1))
        d2 = self.down2(self.pool(d1))
        b = self.bottom(self.pool(d2))
        u2 = self.dec2(torch.cat([self.up2(b), d2], 1))
        u1 = self.dec1(torch.cat([self.up1(u2), d1], 1))
        return torch.sigmoid(self.out(u1) + torch.logit(mixed.clamp(0.01, 0.99)))


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
