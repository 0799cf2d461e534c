"""PSNR and SSIM of paired frames, computed one pair at a time (bounded memory).

SSIM follows Wang et al. 2004 on the grey image: 11-tap Gaussian window
(sigma 1.5), C1 = (0.01 L)^2, C2 = (0.03 L)^2 with L = 255, population
statistics, mean over the valid (non-padded) area.
"""

from __future__ import annotations

import numpy as np

PSNR_CAP = 100.0  # dB reported for identical frames (JSON has no infinity)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images (RGB or grey); PSNR_CAP when identical."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    if mse <= 0:
        return PSNR_CAP
    return float(min(PSNR_CAP, 10 * np.log10(255.0 ** 2 / mse)))


def _grey(x: np.ndarray) -> np.ndarray:
    import cv2

    if x.ndim == 3:
        x = cv2.cvtColor(np.ascontiguousarray(x), cv2.COLOR_RGB2GRAY)
    return x.astype(np.float64)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of the grey versions of two uint8 images."""
    import cv2

    x, y = _grey(a), _grey(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)[5:-5, 5:-5]

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))


class PairStats:
    """Accumulates per-pair PSNR and SSIM; ``mean()`` gives the video figures."""

    def __init__(self) -> None:
        self.psnr: list[float] = []
        self.ssim: list[float] = []

    def add(self, ours: np.ndarray, real: np.ndarray) -> None:
        self.psnr.append(psnr(ours, real))
        self.ssim.append(ssim(ours, real))

    def mean(self) -> tuple[float | None, float | None]:
        if not self.psnr:
            return None, None
        return float(np.mean(self.psnr)), float(np.mean(self.ssim))
