"""The key of a value-independent encryption as a sample map: which plain sample each encrypted sample reads.

Image x (a flattened picture, H*W*C samples in (H, W, C) order) becomes
``y[s] = x[source[s]] XOR (255 if negate[s])``. The vortex is such a map (a gather: some
sources read twice, some lost), EtC and block scrambling are permutations with per-block
negation; schemes that draw a fresh key per image have one such map per image. The attacks
and the information measure see every fixed-key scheme through this one type.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from pipeline.errors import PipelineError


@dataclass(frozen=True)
class SampleMap:
    """``encrypted[:, s] = plain[:, source[s]] ^ (255 * negate[s])`` over flattened pictures."""

    source: np.ndarray  # (S,) int64
    negate: np.ndarray  # (S,) bool

    def __post_init__(self) -> None:
        s = self.source.shape
        if self.source.ndim != 1 or self.negate.shape != s or self.negate.dtype != bool:
            raise PipelineError(f"sample map needs source (S,) and a bool negate (S,), got {self.source.shape}, {self.negate.shape}")
        if s[0] and (self.source.min() < 0 or self.source.max() >= s[0]):
            raise PipelineError(f"sample map sources must lie in 0..{s[0] - 1}")

    @property
    def size(self) -> int:
        return self.source.shape[0]

    def apply(self, flat: np.ndarray) -> np.ndarray:
        """Encrypt (N, S) uint8 flattened pictures with this map."""
        out = flat[:, self.source]
        return out ^ (self.negate.astype(np.uint8) * np.uint8(255))[None, :]


def probe_sample_map(encrypt: Callable[[np.ndarray], np.ndarray], shape: tuple[int, int, int]) -> SampleMap:
    """The sample map of a value-independent uint8 encryption of (N, H, W, C) pictures, read off
    by encrypting three probe pictures (all zeros: the negation mask; the low and the high byte
    of each sample's index: its source)."""
    size = int(np.prod(shape))
    if size > 65536:
        raise PipelineError(f"probing supports at most 65536 samples per image, got {size}")
    index = np.arange(size)
    probes = np.stack([np.zeros(size, np.uint8), (index & 255).astype(np.uint8), (index >> 8).astype(np.uint8)])
    out = np.asarray(encrypt(probes.reshape(3, *shape))).reshape(3, size)
    negate = out[0] == 255
    if not np.all((out[0] == 0) | negate):
        raise PipelineError("the probed encryption is not a sample map with negation (zero image did not stay 0/255)")
    lo, hi = (out[1:] ^ (negate * np.uint8(255))).astype(np.int64)
    return SampleMap(hi * 256 + lo, negate)
