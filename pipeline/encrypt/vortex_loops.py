"""The MATLAB scripts' vortex loops, transcribed pixel by pixel: the specification of the transformation.

:mod:`pipeline.encrypt.vortex` computes the same images with one gather map; this transcription
(its own MATLAB rounding, exact through :class:`decimal.Decimal`, independent of
``matlab_compat.mround``) is what the tests check the map against and what ``benchmarks/vortex.py``
times it against. Slow on purpose: never used to encrypt.
"""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np


def matlab_round(v: float) -> int:
    """MATLAB round, computed exactly (independent of matlab_compat.mround)."""
    return int(Decimal(v).to_integral_value(rounding=ROUND_HALF_UP))


def vortex_loops(image: np.ndarray, rows, divisor: float) -> np.ndarray:
    """The MATLAB scripts' loops, pixel by pixel, on one (H, W[, C]) image in MATLAB orientation.

    for each vortex: T = I(c1-r:c1+r, c2-r:c2+r, :); w = size(T, 1); M = w / 2; out = T;
    for x = 1:w, for y = 1:w: rho = sqrt(dx^2 + dy^2); skip rho > r; theta = atan2(dy, dx);
    q = round(rho); angle = theta + (r - q) * degree(q) / s;
    out(x, y, :) = T(round(rho cos(angle) + M), round(rho sin(angle) + M), :); I(region) = out.
    """
    img = image.copy()
    for row in rows:
        c1, c2, r = int(row[0]), int(row[1]), int(row[2])
        degree = [float(d) for d in row[3:]]
        if c1 + r < c1 - r:  # MATLAB's empty range c1-r:c1+r
            continue
        region = (slice(c1 - r - 1, c1 + r), slice(c2 - r - 1, c2 + r))
        t = img[region].copy()
        out = t.copy()
        w = t.shape[0]
        m = w / 2
        for x in range(1, w + 1):
            for y in range(1, w + 1):
                dx, dy = x - m, y - m
                rho = math.sqrt(dx * dx + dy * dy)
                if rho > r:
                    continue
                theta = math.atan2(dy, dx)
                q = matlab_round(rho)
                angle = theta + (r - q) * degree[q - 1] / divisor
                big_x = matlab_round(rho * math.cos(angle) + m)
                big_y = matlab_round(rho * math.sin(angle) + m)
                out[x - 1, y - 1] = t[big_x - 1, big_y - 1]
        img[region] = out
    return img
