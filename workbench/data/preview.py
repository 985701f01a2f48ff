"""PNG previews: a grid of pictures, one row per variant (original / encrypted, like the paper's figure).

Generic over (N, H, W, C) uint8 picture arrays (C = 1 grey or 3 colour, as
:func:`workbench.data.datasets.pictures_from_rows` gives them), so every encryption reuses it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from workbench.outputs import atomic_output
from workbench.errors import WorkbenchError

_GAP = 2  # pixels between tiles, before scaling
_LABEL_WIDTH = 64  # pixels left of the grid for the row labels (after scaling)
_BACKGROUND = 255


def preview_grid(image_rows: Sequence[np.ndarray], scale: int = 3) -> np.ndarray:
    """The tiles of ``image_rows`` (each (N, H, W, C) uint8, same N, H, W; C = 1 or 3) as one RGB uint8 array."""
    if len(image_rows) == 0:
        raise WorkbenchError("a preview needs at least one row of images")
    arrays = [np.asarray(a) for a in image_rows]
    first = arrays[0]
    for a in arrays:
        if a.ndim != 4 or a.shape[-1] not in (1, 3) or a.shape[0] == 0:
            raise WorkbenchError(f"preview images must be (N, H, W, 1 or 3) with N >= 1, got {a.shape}")
        if a.shape[:3] != first.shape[:3]:
            raise WorkbenchError(f"preview rows must hold as many pictures of one size, got {first.shape} and {a.shape}")
    if scale < 1:
        raise WorkbenchError(f"preview scale must be >= 1, got {scale}")
    n, h, w, _ = first.shape
    grid = np.full((len(arrays) * (h + _GAP) + _GAP, n * (w + _GAP) + _GAP, 3), _BACKGROUND, dtype=np.uint8)
    for i, a in enumerate(arrays):
        rgb = np.broadcast_to(a, a.shape[:3] + (3,)).astype(np.uint8, copy=False)
        for j in range(n):
            top, left = _GAP + i * (h + _GAP), _GAP + j * (w + _GAP)
            grid[top:top + h, left:left + w] = rgb[j]
    return grid.repeat(scale, axis=0).repeat(scale, axis=1)


def save_preview(path: str | Path, image_rows: Sequence[np.ndarray], row_labels: Sequence[str] | None = None,
                 *, scale: int = 3) -> Path:
    """Write a PNG grid: row i shows the pictures of ``image_rows[i]`` (e.g. originals, then encrypted).

    ``image_rows``: (N, H, W, C) uint8 arrays, the same N, H, W in each, C = 1 or 3; ``row_labels``:
    optional text drawn left of each row. Written atomically; returns the path.
    """
    grid = preview_grid(image_rows, scale)
    if row_labels is not None and len(row_labels) != len(image_rows):
        raise WorkbenchError(f"{len(image_rows)} preview rows but {len(row_labels)} labels")
    picture = Image.fromarray(grid, "RGB")
    if row_labels:
        canvas = Image.new("RGB", (picture.width + _LABEL_WIDTH, picture.height), (_BACKGROUND,) * 3)
        canvas.paste(picture, (_LABEL_WIDTH, 0))
        draw = ImageDraw.Draw(canvas)
        row_height = picture.height / len(image_rows)
        for i, label in enumerate(row_labels):
            draw.text((4, int((i + 0.5) * row_height) - 5), str(label), fill=(0, 0, 0))
        picture = canvas
    path = Path(path)
    with atomic_output(path) as tmp:
        picture.save(tmp, format="PNG")
    return path
