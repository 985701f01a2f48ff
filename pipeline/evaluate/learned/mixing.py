"""The translator's first layer: a learnable global linear mixing of an image's samples, initialised to the identity.

It is what lets a translator undo encryptions that move samples across the whole image (the
vortex, block scrambling); a U-Net alone only sees a neighbourhood. Up to
:data:`MAX_MIXED_SAMPLES` samples an image (64 x 64 x 3) it is one dense S x S map
(:class:`DenseMixing`, the 28-32 px results' layer). Above, an S x S map cannot fit (224 x 224 x 3:
150,528^2 = 2.3e10 weights, 84 GiB), so the mixing is factorised and its size stays bounded:

* :class:`BlockMixing` where the scheme has a block size B (EtC, block scrambling): a
  (blocks x blocks) map over block positions times a (B B C x B B C) map within a block, the
  Kronecker product of the two applied as two batched matmuls (never built). It is the structure
  of a block-wise key: a block permutation times one transformation shared by every block.
  224 x 224 x 3, B = 16: 196^2 + 768^2 weights and a bias of 150,528 = 778,768 parameters
  (3.0 MiB float32; 12 MiB with the gradient and Adam's two moments).
* :class:`SeparableMixing` for the others (pixel-wise schemes: the vortex, permutations): an
  H x H row map, a W x W column map and a C x C channel map. 224 x 224 x 3: 224^2 + 224^2 + 3^2
  weights and the bias = 250,889 parameters (1.0 MiB float32; 4 MiB with gradient and Adam).
  It cannot express an arbitrary pixel permutation (nothing of bounded size can); the U-Net
  behind it repairs what it can.

The block-wise layer may also be asked for at any size (the ``block_mixing`` learned setting, for
a scheme with a public block size: EtC, block scrambling): a block-wise key of 32 x 32 x 3 images in blocks of 4 is 64^2 + 48^2 weights and a bias of 3,072
(9,472 parameters) against the dense map's 9.4 million, which a few hundred training images (the
CIFAR-10 subset) cannot fit, and a translator step costs half as much.

The activations of either are a few copies of the batch (S floats an image).
"""
from __future__ import annotations

import torch
from torch import nn

from pipeline.errors import PipelineError

#: Most samples an image may have for the dense S x S map, and the largest side of any factor: S^2
#: weights (4 S^2 bytes, as much again for the gradient and twice for Adam): 12,288 (64 x 64 x 3) are 0.56 GiB.
MAX_MIXED_SAMPLES = 64 * 64 * 3


def dense_fits(shape: tuple[int, int, int]) -> bool:
    """Whether (H, W, C) images take the dense S x S mixing (at most :data:`MAX_MIXED_SAMPLES` samples)."""
    return shape[0] * shape[1] * shape[2] <= MAX_MIXED_SAMPLES


class DenseMixing(nn.Linear):
    """One S x S map over the flattened (N, C, H, W) pictures (an ``nn.Linear``: its weights, their random
    initialisation and its ``weight``/``bias`` names are those of the layer it replaces), set to the identity."""

    def __init__(self, size: int) -> None:
        super().__init__(size, size)
        with torch.no_grad():
            self.weight.copy_(torch.eye(size))
            self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.flatten(1)).view_as(x)


class BlockMixing(nn.Module):
    """(positions kron within) over the B x B blocks of (N, C, H, W) pictures, plus a bias per sample.

    A block's samples are ordered (row, column, channel); blocks row by row. Output block j is
    ``sum_i positions[j, i] * (block i @ within.T)``."""

    def __init__(self, shape: tuple[int, int, int], block: int) -> None:
        super().__init__()
        h, w, c = shape
        self.grid, self.block, self.channels = (h // block, w // block), block, c
        self.positions = nn.Parameter(torch.eye(self.grid[0] * self.grid[1]))
        self.within = nn.Parameter(torch.eye(block * block * c))
        self.bias = nn.Parameter(torch.zeros(c, h, w))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, (gh, gw), b, c = x.shape[0], self.grid, self.block, self.channels
        blocks = x.reshape(n, c, gh, b, gw, b).permute(0, 2, 4, 3, 5, 1).reshape(n, gh * gw, b * b * c)
        mixed = self.positions @ (blocks @ self.within.T)
        return mixed.reshape(n, gh, gw, b, b, c).permute(0, 5, 1, 3, 2, 4).reshape(x.shape) + self.bias


class SeparableMixing(nn.Module):
    """rows (H x H), columns (W x W) and channels (C x C) maps over (N, C, H, W) pictures, plus a bias per sample."""

    def __init__(self, shape: tuple[int, int, int]) -> None:
        super().__init__()
        h, w, c = shape
        self.rows, self.columns, self.colours = (nn.Parameter(torch.eye(k)) for k in (h, w, c))
        self.bias = nn.Parameter(torch.zeros(c, h, w))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = self.rows @ x @ self.columns.T
        return torch.einsum("dc,nchw->ndhw", self.colours, mixed) + self.bias


def mixing_problem(shape: tuple[int, int, int]) -> str | None:
    """Why no mixing fits (H, W, C) images (a side above :data:`MAX_MIXED_SAMPLES`), else None."""
    h, w, c = shape
    if dense_fits(shape) or max(h, w) <= MAX_MIXED_SAMPLES:
        return None
    return (f"the translator's row and column maps of a {h} x {w} x {c} image would be {max(h, w)} x {max(h, w)}; "
            f"a side takes at most {MAX_MIXED_SAMPLES} samples")


def mixing_for(shape: tuple[int, int, int], block: int | None, block_wise: bool = False) -> nn.Module:
    """The mixing layer for (H, W, C) images: block-wise for a ``block`` that tiles the image with both
    factors at most :data:`MAX_MIXED_SAMPLES` a side where the dense map does not fit, or wherever
    ``block_wise`` asks for it (the structure of a block-wise key, in far fewer weights); else dense
    where it fits, else separable."""
    h, w, c = shape
    tiles = bool(block) and not h % block and not w % block and max((h // block) * (w // block), block * block * c) <= MAX_MIXED_SAMPLES
    if block_wise and tiles:
        return BlockMixing(shape, block)
    if dense_fits(shape):
        return DenseMixing(h * w * c)
    problem = mixing_problem(shape)
    if problem is not None:
        raise PipelineError(problem)
    return BlockMixing(shape, block) if tiles else SeparableMixing(shape)
