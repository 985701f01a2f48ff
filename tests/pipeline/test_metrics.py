"""PSNR and SSIM against hand-computed values and a direct implementation of the definition."""
import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.evaluate.metrics import PSNR_CAP, psnr, ssim


def test_psnr_known_values():
    a = np.zeros((2, 12, 12, 1), np.uint8)
    b = a.copy()
    b[0] = 1  # MSE 1 -> 20 log10(255)
    b[1, 0, 0, 0] = 12  # MSE 144 / 144 = 1 as well
    assert psnr(a, b) == pytest.approx([48.130803608679, 48.130803608679])
    assert psnr(a, a)[0] == PSNR_CAP


def test_ssim_of_identical_images_is_one():
    x = np.random.default_rng(0).integers(0, 256, (3, 20, 17, 3), dtype=np.uint8)
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-12)


def test_ssim_of_constant_images_is_the_luminance_term():
    # Both images constant: variances and covariance vanish, the contrast-structure term is C2/C2.
    a = np.full((1, 16, 16, 1), 100.0)
    b = np.full((1, 16, 16, 1), 150.0)
    c1 = (0.01 * 255) ** 2
    assert ssim(a, b)[0] == pytest.approx((2 * 100 * 150 + c1) / (100**2 + 150**2 + c1), rel=1e-12)


def _ssim_by_definition(a: np.ndarray, b: np.ndarray) -> float:
    """Wang et al.: 11 x 11 Gaussian window (sigma 1.5, normalised), 'valid' positions only."""
    r = np.arange(-5, 6)
    w = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5**2))
    w /= w.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for i in range(5, a.shape[0] - 5):
        for j in range(5, a.shape[1] - 5):
            x, y = a[i - 5 : i + 6, j - 5 : j + 6], b[i - 5 : i + 6, j - 5 : j + 6]
            mx, my = (w * x).sum(), (w * y).sum()
            vx, vy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
            cov = (w * (x - mx) * (y - my)).sum()
            values.append((2 * mx * my + c1) * (2 * cov + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))
    return float(np.mean(values))


def test_ssim_matches_the_definition():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (14, 13)).astype(np.float64)
    b = np.clip(a + rng.normal(0, 40, a.shape), 0, 255)
    got = ssim(a[None, :, :, None], b[None, :, :, None])[0]
    assert got == pytest.approx(_ssim_by_definition(a, b), rel=1e-9)
    assert 0.05 < got < 0.95


def test_bad_shapes_are_refused():
    with pytest.raises(PipelineError, match="same shape|one shape"):
        psnr(np.zeros((1, 12, 12, 1)), np.zeros((1, 12, 12, 3)))
    with pytest.raises(PipelineError, match="larger than 11"):
        ssim(np.zeros((1, 8, 8, 1)), np.zeros((1, 8, 8, 1)))
