"""The adaptation network of LE (Tanaka 2018) and ELE (Madono et al. 2020) in front of a ResNet-18.

LE and ELE encrypt the 4-bit halves of the samples inside M x M blocks, so a convolution over
neighbouring pixels sees noise. The papers put a block-wise sub-network in front of the
classifier that learns to undo each block's shuffle and negation:

1. :class:`PlaneSplit`: each 8-bit sample -> its upper and lower 4 bits (2C planes, scaled to
   0..1), the representation the encryption shuffled (``pipeline.encrypt.le.to_planes``);
2. :class:`BlockAdaptation`: per block, the M*M*2C plane values -> two fully connected layers
   (BN, ReLU between) -> M*M*C' values put back at the block's pixels. LE has one key for all
   blocks, so one sub-network is shared by all blocks; ELE has a key per block position, so
   each position gets its own sub-network (Madono's "block-wise" adaptation);
3. the classifier: torchvision's ResNet-18 (``train.models``' CIFAR stem for small images)
   instead of the papers' ShakeDrop PyramidNet, which this project does not have.

Input: (N, C, H, W) floats: pixel values 0..255, or, given the ``mean`` and ``std`` of the
training's normalisation (the dataset's ``mean`` and ``std``, :class:`workbench.data.datasets.DatasetSpec`), normalised pixels, which the plane
split maps back to 0..255 first (the bits are the input). Crops, flips and colour jitter cut
across the blocks and bits: train these models without augmentation.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from train.errors import TrainError


class PlaneSplit(nn.Module):
    """(N, C, H, W) pixels -> (N, 2C, H, W): plane 2c = upper, 2c+1 = lower 4 bits of channel c, / 15.

    Pixels are values 0..255, or with ``mean`` and ``std`` normalised ones, ``(x / 255 - mean) / std``.
    """

    def __init__(self, mean: tuple[float, ...] | None = None, std: tuple[float, ...] | None = None) -> None:
        super().__init__()
        self.normalised = mean is not None
        self.register_buffer("mean", torch.tensor(mean or (0.0,)).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std or (1.0,)).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalised:
            x = (x * self.std + self.mean) * 255
        x = x.round().clamp(0, 255)
        upper = torch.div(x, 16, rounding_mode="floor")
        planes = torch.stack([upper, x - 16 * upper], dim=2)  # (N, C, 2, H, W)
        return planes.flatten(1, 2) / 15


class BlockAdaptation(nn.Module):
    """Fully connected layers over each M x M block's values: shared by all blocks, or one per block position."""

    def __init__(self, in_channels: int, out_channels: int, block_size: int, image_size: int, per_block: bool) -> None:
        super().__init__()
        if block_size < 1 or image_size % block_size:
            raise TrainError(f"adaptation network: block size {block_size} does not divide the image size {image_size}")
        self.block_size, self.image_size = block_size, image_size
        blocks = (image_size // block_size) ** 2
        values_in, values_out = block_size**2 * in_channels, block_size**2 * out_channels
        rows = blocks if per_block else 1
        self.w1 = nn.Parameter(torch.empty(rows, values_in, values_in))
        self.b1 = nn.Parameter(torch.zeros(rows, 1, values_in))
        self.w2 = nn.Parameter(torch.empty(rows, values_in, values_out))
        self.b2 = nn.Parameter(torch.zeros(rows, 1, values_out))
        for w in (self.w1, self.w2):
            for row in w.data:  # nn.Linear's initialisation (fan-in = the block's values), row by row
                nn.init.kaiming_uniform_(row.T, a=5**0.5)
        self.norm = nn.BatchNorm1d(values_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.block_size
        blocks = F.unfold(x, kernel_size=b, stride=b).permute(2, 0, 1)  # (nb, N, M*M*C) in (c, row, col) order
        hidden = torch.matmul(blocks, self.w1) + self.b1  # one weight row per block, or one for all (broadcast)
        nb, n, v = hidden.shape
        hidden = F.relu(self.norm(hidden.reshape(nb * n, v))).reshape(nb, n, v)
        out = torch.matmul(hidden, self.w2) + self.b2  # (nb, N, M*M*C')
        return F.fold(out.permute(1, 2, 0), output_size=(self.image_size, self.image_size), kernel_size=b, stride=b)


def create_adaptation_model(classifier: nn.Module, in_channels: int, block_size: int, image_size: int, *,
                            per_block: bool = False, out_channels: int = 3, mean: tuple[float, ...] | None = None,
                            std: tuple[float, ...] | None = None) -> nn.Module:
    """Plane split, block-wise adaptation (``per_block``: ELE; else LE) and ``classifier`` (a ResNet-18 taking
    ``out_channels``) for (N, ``in_channels``, H, W) pixels (0..255, or normalised with ``mean`` and ``std``)."""
    if in_channels not in (1, 3):
        raise TrainError(f"adaptation network: images have 1 or 3 channels, got {in_channels}")
    if (mean is None) != (std is None) or (mean is not None and not len(mean) == len(std) == in_channels):
        raise TrainError(f"adaptation network: give both mean and std, one value per channel ({in_channels})")
    return nn.Sequential(PlaneSplit(mean, std), BlockAdaptation(2 * in_channels, out_channels, block_size, image_size, per_block),
                         classifier)
