"""Image-quality metrics for recovered images against the plain ones: PSNR and SSIM.

Both take (N, H, W, C) uint8 (or any numeric) pictures and return one value per image, so a
whole dataset is scored in a few vectorised calls.

* PSNR with peak 255. Identical images have infinite PSNR; it is capped at ``PSNR_CAP`` dB
  (MSE floored at 255^2 * 10^-10) so that means and JSON files stay finite.
* SSIM as defined by Wang et al. (2004): Gaussian window (sigma 1.5, 11 x 11), K1 = 0.01,
  K2 = 0.03, L = 255, population (not sample) statistics; local maps are computed with
  reflecting borders and averaged over the pixels at least 5 from the border (the ``valid``
  region of the 11 x 11 window), then over the channels.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from pipeline.errors import PipelineError

PEAK = 255.0
PSNR_CAP = 100.0
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # 11 x 11 window
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 4:
        raise PipelineError(f"metrics need two (N, H, W, C) arrays of one shape, got {a.shape} and {b.shape}")
    return a, b


def psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image PSNR in dB (float64, N) between two (N, H, W, C) image sets, capped at PSNR_CAP."""
    a, b = _pair(a, b)
    mse = ((a - b) ** 2).mean(axis=(1, 2, 3))
    mse = np.maximum(mse, PEAK**2 * 10.0 ** (-PSNR_CAP / 10.0))
    return 10.0 * np.log10(PEAK**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, *, chunk: int = 4096) -> np.ndarray:
    """Per-image SSIM (float64, N) between two (N, H, W, C) image sets (Wang et al. 2004)."""
    a, b = _pair(a, b)
    h, w = a.shape[1:3]
    if min(h, w) <= 2 * SSIM_RADIUS:
        raise PipelineError(f"SSIM needs images larger than {2 * SSIM_RADIUS + 1} pixels, got {h} x {w}")
    return np.concatenate([_ssim_chunk(a[i : i + chunk], b[i : i + chunk]) for i in range(0, max(len(a), 1), chunk)])


def _ssim_chunk(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    c1 = (SSIM_K1 * PEAK) ** 2
    c2 = (SSIM_K2 * PEAK) ** 2
    truncate = SSIM_RADIUS / SSIM_SIGMA

    def blur(x: np.ndarray) -> np.ndarray:
        return gaussian_filter(x, sigma=(0, SSIM_SIGMA, SSIM_SIGMA, 0), mode="reflect", truncate=truncate)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    r = SSIM_RADIUS
    local = (num / den)[:, r:-r, r:-r, :]
    return local.mean(axis=(1, 2, 3))
