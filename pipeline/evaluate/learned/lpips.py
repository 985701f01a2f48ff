"""LPIPS v0.1 (Zhang et al. 2018) with the AlexNet backbone, from weight files the user gives (never downloaded).

Files (``--lpips-weights``, one or more, each a ``torch.save``d dict of tensors, read with
``weights_only=True``; their keys are merged):

* the backbone: torchvision's AlexNet state dict (``alexnet-owt-7be5be79.pth``); the
  ``features.*`` tensors are used, ``classifier.*`` ones are ignored;
* the linear layers: the ``lpips`` package's ``weights/v0.1/alex.pth`` (keys
  ``lin0.model.1.weight`` .. ``lin4.model.1.weight``, 1 x 1 convolutions without bias).

One merged file holding both key sets works too. Pictures are scaled to [-1, 1], grey ones
repeated over three channels, and resized (bilinear) to at least 64 x 64, since AlexNet's
strides leave nothing of a 28 x 28 image; the distance is LPIPS's: unit-normalised features of
the five ReLU outputs, squared differences weighted by the linear layers, averaged over
positions and summed over layers. Lower is more similar.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torchvision.models import alexnet

from pipeline.errors import PipelineError

CHANNELS = (64, 192, 384, 256, 256)
TAPS = (1, 4, 7, 9, 11)  # indices of the ReLUs in torchvision's alexnet().features
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
MIN_SIDE = 64


class Lpips(nn.Module):
    """LPIPS v0.1 distance on AlexNet features; build it with :func:`load_lpips`."""

    def __init__(self) -> None:
        super().__init__()

        self.features = alexnet(weights=None).features[: TAPS[-1] + 1]
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))

    def _taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        x = (x - self.shift) / self.scale
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in TAPS:
                out.append(x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
        return out

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Per-image distances of two (N, 3, H, W) batches in [-1, 1]."""
        return sum(lin((fa - fb) ** 2).mean(dim=(1, 2, 3)) for lin, fa, fb in zip(self.lins, self._taps(a), self._taps(b)))


def load_lpips(paths: Sequence[Path]) -> Lpips:
    """The LPIPS model from the user's weight files (see the module docstring for their format)."""
    state: dict[str, torch.Tensor] = {}
    for path in paths:
        try:
            loaded = torch.load(Path(path), map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises several types for an unreadable file
            raise PipelineError(f"--lpips-weights {path}: cannot be read as a tensor dict ({err})") from None
        if not isinstance(loaded, dict):
            raise PipelineError(f"--lpips-weights {path}: holds no dict of tensors")
        state.update(loaded)
    model = Lpips()
    wanted = {f"features.{k}": v for k, v in model.features.state_dict().items()}
    wanted.update({f"lin{i}.model.1.weight": lin.weight for i, lin in enumerate(model.lins)})
    missing = sorted(k for k in wanted if k not in state)
    if missing:
        raise PipelineError(f"--lpips-weights {', '.join(map(str, paths))}: missing {', '.join(missing[:4])}"
                            f"{' ...' if len(missing) > 4 else ''} (give the AlexNet and the LPIPS v0.1 alex files)")
    with torch.no_grad():
        for key, target in wanted.items():
            if state[key].shape != target.shape:
                raise PipelineError(f"--lpips-weights: {key} has shape {tuple(state[key].shape)}, expected {tuple(target.shape)}")
            target.copy_(state[key])
    return model.eval()


def _prepared(pictures: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(pictures.transpose(0, 3, 1, 2))).float().div_(127.5).sub_(1.0)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    h, w = x.shape[2:]
    if min(h, w) < MIN_SIDE:
        factor = MIN_SIDE / min(h, w)
        x = nn.functional.interpolate(x, size=(round(h * factor), round(w * factor)), mode="bilinear", align_corners=False)
    return x


@torch.no_grad()
def lpips(model: Lpips, a: np.ndarray, b: np.ndarray, batch: int = 256) -> np.ndarray:
    """Per-image LPIPS (float64, N) between two uint8 (N, H, W, C) picture sets."""
    if a.shape != b.shape or a.ndim != 4:
        raise PipelineError(f"LPIPS needs two (N, H, W, C) arrays of one shape, got {a.shape} and {b.shape}")
    out = [model(_prepared(a[i:i + batch]), _prepared(b[i:i + batch])).double().numpy() for i in range(0, len(a), batch)]
    return np.concatenate(out) if out else np.zeros(0)
