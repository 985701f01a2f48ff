"""``workbench.data.preview``: the PNG grid of original / encrypted pictures."""
import numpy as np
import pytest
from PIL import Image

from workbench.data.preview import preview_grid, save_preview
from workbench.errors import WorkbenchError


def test_grid_places_each_row_and_tile():
    gray = np.zeros((3, 4, 5, 1), np.uint8)
    gray[1] = 200
    colour = np.zeros((3, 4, 5, 3), np.uint8)
    colour[2, ..., 0] = 255
    grid = preview_grid([gray, colour], scale=1)
    assert grid.shape == (2 * (4 + 2) + 2, 3 * (5 + 2) + 2, 3) and grid.dtype == np.uint8
    assert np.all(grid[2:6, 2 + 7:7 + 7] == 200)  # row 0, tile 1: grey shown on all three channels
    assert grid[8, 2 + 14].tolist() == [255, 0, 0]  # row 1, tile 2: red
    assert grid[0, 0].tolist() == [255, 255, 255]  # white gaps
    assert preview_grid([gray], scale=3).shape == (3 * 8, 3 * 23, 3)


def test_save_preview_writes_a_png_with_labels(tmp_path):
    originals = np.random.default_rng(0).integers(0, 256, (6, 28, 28, 1), dtype=np.uint8)
    path = save_preview(tmp_path / "sub" / "p.png", [originals, originals[:, ::-1]], ["original", "vortex"])
    with Image.open(path) as png:
        assert png.format == "PNG" and png.mode == "RGB"
        unlabeled = preview_grid([originals, originals], scale=3)
        assert png.height == unlabeled.shape[0] and png.width > unlabeled.shape[1]
        pixels = np.asarray(png)
    assert np.array_equal(pixels[:, -unlabeled.shape[1]:][6:6 + 84, 6:6 + 84, 0], originals[0, :, :, 0].repeat(3, 0).repeat(3, 1))
    assert (pixels[:, :60] < 128).any()  # label text drawn left of the grid


@pytest.mark.parametrize(
    "rows, labels",
    [([], None), ([np.zeros((2, 4, 4, 2), np.uint8)], None), ([np.zeros((2, 4, 4, 1), np.uint8), np.zeros((3, 4, 4, 1), np.uint8)], None),
     ([np.zeros((2, 4, 4, 1), np.uint8)], ["a", "b"])],
    ids=["no-rows", "two-channels", "unequal", "label-count"],
)
def test_bad_previews_are_pipeline_errors(tmp_path, rows, labels):
    with pytest.raises(WorkbenchError):
        save_preview(tmp_path / "p.png", rows, labels)
    assert not (tmp_path / "p.png").exists()
