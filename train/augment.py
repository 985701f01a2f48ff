"""The reference's augmentation, done on whole batches on the device (no PIL, no workers).

The reference transforms each image as a PIL image: ``Resize(crop)``, ``RandomCrop(crop,
padding=4)``, ``RandomHorizontalFlip(0.5)``, ``ColorJitter(0.4, 0.4, 0.4, 0.2)``,
``ToTensor``, ``Normalize``; the test images only get ``Resize`` (+ a no-op ``CenterCrop``).
Here a batch of uint8 images (N, C, H, W) gets the same steps with one random draw per image,
working on values 0..255 held as floats and keeping PIL's uint8 steps: the resize gives PIL's
bytes, the colour operations truncate (PIL's ``Image.blend``), the hue shift rounds. As with PIL
'L' images, saturation and hue do nothing to grey images, and each image gets the four
colour operations in its own random order, as ``ColorJitter`` does.

RICAP follows the reference's ``ricap``: one boundary and four crop positions per batch, four
shuffles of the batch, the loss weights being the four areas (they sum to 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

#: ColorJitter(brightness, contrast, saturation, hue) of the reference.
REFERENCE_JITTER = (0.4, 0.4, 0.4, 0.2)


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """``Resize(size)`` of square images exactly as PIL does it (bilinear, antialiased).

    PIL resamples in two passes, horizontal then vertical, rounding to uint8 (half up) after
    each; the same two passes here give PIL's bytes.
    """
    height = x.shape[-2]
    if x.shape[-2:] == (size, size):
        return x
    for shape in ((height, size), (size, size)):
        x = F.interpolate(x, size=shape, mode="bilinear", align_corners=False, antialias=True)
        x = torch.floor_(x + 0.5).clamp_(0, 255)
    return x


def crop_offsets(n: int, extent: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """One offset per image in 0..extent-size, as ``RandomCrop.get_params`` draws them."""
    return torch.randint(0, extent - size + 1, (n,), generator=gen, device=gen.device)


def random_crop(x: torch.Tensor, size: int, padding: int, gen: torch.Generator) -> torch.Tensor:
    """``RandomCrop(size, padding)``: zero-pad every side, cut a size x size window per image."""
    if padding:
        x = F.pad(x, (padding, padding, padding, padding))
    n, _, h, w = x.shape
    top, left = crop_offsets(n, h, size, gen), crop_offsets(n, w, size, gen)
    span = torch.arange(size, device=x.device)
    rows = (top[:, None] + span)[:, :, None]
    cols = (left[:, None] + span)[:, None, :]
    picked = x[torch.arange(n, device=x.device)[:, None, None], :, rows, cols]  # (n, size, size, C)
    return picked.permute(0, 3, 1, 2)


def random_flip(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """``RandomHorizontalFlip(p)``: mirror each image left-right with probability p."""
    if p <= 0:
        return x
    flip = torch.rand(x.shape[0], generator=gen, device=x.device) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def grey(x: torch.Tensor) -> torch.Tensor:
    """PIL's ``convert('L')`` of integer-valued images (N, 1 or 3, H, W) -> (N, 1, H, W)."""
    if x.shape[1] == 1:
        return x
    r, g, b = x.unbind(1)
    return torch.floor((r * 19595 + g * 38470 + b * 7471 + 32768) / 65536)[:, None]


def _blend(degenerate: torch.Tensor, x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL's ``Image.blend(degenerate, x, factor)`` on uint8 values: clip, then truncate."""
    return (degenerate + factor[:, None, None, None] * (x - degenerate)).clamp_(0, 255).floor_()


def adjust_brightness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return _blend(torch.zeros_like(x), x, factor)


def adjust_contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    mean = torch.floor(grey(x).mean(dim=(1, 2, 3), keepdim=True) + 0.5)
    return _blend(mean.expand_as(x), x, factor)


def adjust_saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    return _blend(grey(x).expand_as(x), x, factor)


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the hue by ``shift`` turns (-0.5..0.5) per image; grey images are unchanged."""
    if x.shape[1] == 1:
        return x
    from torchvision.transforms.v2.functional._color import _hsv_to_rgb, _rgb_to_hsv

    h, s, v = _rgb_to_hsv(x / 255).unbind(1)
    h = (h + shift[:, None, None]).remainder(1.0)
    return (_hsv_to_rgb(torch.stack((h, s, v), 1)) * 255).round_().clamp_(0, 255)


_COLOUR_OPS = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
_IDENTITY = (1.0, 1.0, 1.0, 0.0)


def jitter_factors(n: int, strengths: tuple[float, float, float, float], gen: torch.Generator) -> torch.Tensor:
    """(n, 4) factors drawn as ``ColorJitter.get_params``: U[max(0, 1-s), 1+s] and U[-hue, hue]."""
    lows = [max(0.0, 1 - s) for s in strengths[:3]] + [-strengths[3]]
    highs = [1 + s for s in strengths[:3]] + [strengths[3]]
    low, high = torch.tensor(lows, device=gen.device), torch.tensor(highs, device=gen.device)
    return low + torch.rand(n, 4, generator=gen, device=gen.device) * (high - low)


def color_jitter(x: torch.Tensor, strengths: tuple[float, float, float, float], gen: torch.Generator) -> torch.Tensor:
    """``ColorJitter(*strengths)`` with per-image factors and a per-image random order of the four operations."""
    n = x.shape[0]
    active = [j for j, s in enumerate(strengths) if s > 0 and not (x.shape[1] == 1 and j >= 2)]
    if not active:
        return x
    factors = jitter_factors(n, strengths, gen)
    order = torch.rand(n, 4, generator=gen, device=x.device).argsort(dim=1)  # a random permutation per image
    for position in range(4):
        for j in active:
            chosen = order[:, position] == j
            factor = torch.where(chosen, factors[:, j], torch.full_like(factors[:, j], _IDENTITY[j]))
            x = torch.where(chosen[:, None, None, None], _COLOUR_OPS[j](x, factor), x)
    return x


@dataclass(frozen=True)
class BatchAugment:
    """The train and test transforms of one run, applied to uint8 batches (N, C, H, W) on their device."""

    crop: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    padding: int = 4
    flip: float = 0.5
    jitter: tuple[float, float, float, float] = REFERENCE_JITTER

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
        return (x / 255 - mean) / std

    def train(self, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Resize, random crop with zero padding, flip, colour jitter, normalise (float32)."""
        x = resize(images.float(), self.crop)
        if self.padding:
            x = random_crop(x, self.crop, self.padding, gen)
        x = random_flip(x, self.flip, gen)
        x = color_jitter(x, self.jitter, gen)
        return self.normalise(x)

    def test(self, images: torch.Tensor) -> torch.Tensor:
        """Resize and normalise (the reference's CenterCrop after Resize changes nothing)."""
        return self.normalise(resize(images.float(), self.crop))


def ricap(x: torch.Tensor, labels: torch.Tensor, beta: float, rng: np.random.Generator,
          gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """RICAP of one batch: (patched images, labels (4, N), weights (4,)) as the reference's ``ricap``.

    The boundary (w, h) is drawn once per batch from Beta(beta, beta) and rounded as
    ``numpy.round`` does; each quarter comes from a fresh shuffle of the batch at one random
    position; the weights are the quarters' areas over the image's area.
    """
    n, _, height, width = x.shape
    w = int(np.round(height * rng.beta(beta, beta)))
    h = int(np.round(width * rng.beta(beta, beta)))
    ws, hs = (w, height - w, w, height - w), (h, h, width - h, width - h)
    pieces, chosen, weights = [], [], []
    for k in range(4):
        index = torch.randperm(n, generator=gen, device=gen.device).to(x.device)
        top = int(rng.integers(0, height - ws[k] + 1))
        left = int(rng.integers(0, width - hs[k] + 1))
        pieces.append(x[index, :, top:top + ws[k], left:left + hs[k]])
        chosen.append(labels[index])
        weights.append(ws[k] * hs[k] / (height * width))
    patched = torch.cat((torch.cat(pieces[:2], 2), torch.cat(pieces[2:], 2)), 3)
    return patched, torch.stack(chosen), torch.tensor(weights, device=x.device)
