"""The vortex gather map against a direct per-pixel transcription of the MATLAB loops."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matlab_compat.rng import rng
from workbench.data.datasets import DATASETS, pictures_from_rows, rows_from_pictures
from pipeline.encrypt.vortex import (
    apply_row_map,
    channel_map,
    row_gather_map,
    vortex_map,
    vortex_transform,
)
from pipeline.encrypt.vortex_loops import vortex_loops as oracle
from pipeline.encrypt.vortex_params import new_vor_params
from pipeline.errors import PipelineError


def random_rows(seed: int, count: int, height: int, width: int, scale: float) -> list[np.ndarray]:
    """Arbitrary in-image vortices (any centre, any fitting radius, wild degrees) plus no-op rows."""
    gen = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        c1, c2 = int(gen.integers(1, height + 1)), int(gen.integers(1, width + 1))
        r_max = min(c1 - 1, height - c1, c2 - 1, width - c2)
        kind = gen.integers(0, 6)
        if kind == 0:
            rows.append(np.array([float(gen.integers(0, height + 1)), float(c2), -1.0, 1.0]))
        elif kind == 1 or r_max < 1:
            rows.append(np.array([float(c1), float(c2), 0.0, 1.0]))
        else:
            r = int(gen.integers(1, r_max + 1))
            degree = gen.normal(0, scale, size=r + 1)
            rows.append(np.concatenate([[c1, c2, r], degree]).astype(np.float64))
    return rows


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 12), size=st.sampled_from([(28, 28), (32, 32), (9, 13)]),
       divisor=st.sampled_from([1000.0, 10000.0, 7.0]))
def test_map_equals_per_pixel_oracle_for_random_vortices(seed, count, size, divisor):
    h, w = size
    rows = random_rows(seed, count, h, w, 3 * divisor)
    image = np.random.default_rng(seed).integers(0, 256, size=(h, w, 2), dtype=np.uint8)
    src = vortex_map(rows, h, w, divisor=divisor)
    assert np.array_equal(image.reshape(h * w, -1)[src].reshape(image.shape), oracle(image, rows, divisor))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dataset=st.sampled_from(["mnist", "cifar10"]))
def test_map_equals_oracle_for_parameters_drawn_like_random_function(seed, dataset):
    spec = DATASETS[dataset]
    rows = new_vor_params(10, spec.height, spec.width, spec.degree_scale, rng(seed))
    image = np.random.default_rng(seed).integers(0, 256, size=(spec.height, spec.width, spec.channels), dtype=np.uint8)
    out = vortex_transform(image[None], rows, divisor=spec.divisor)[0]
    assert np.array_equal(out, oracle(image, rows, spec.divisor))


def test_degenerate_vortices_are_no_ops():
    # rows of vor_params_mnist_result.mat: r = -1 with a centre on or outside the border, r = 0
    rows = [np.array([0.0, 17, -1, 1]), np.array([28.0, 10, -1, 1]), np.array([21.0, 27, 0, 1]), np.array([1.0, 6, 0, 1])]
    assert np.array_equal(vortex_map(rows, 28, 28), np.arange(784))


def test_one_vortex_is_a_gather_inside_its_region_only():
    row = np.concatenate([[10.0, 12, 4], np.full(5, 900.0)])
    src = vortex_map([row], 28, 28).reshape(28, 28)
    ident = np.arange(784).reshape(28, 28)
    inside = np.zeros((28, 28), bool)
    inside[5:14, 7:16] = True
    assert np.array_equal(src[~inside], ident[~inside])
    assert np.all(inside.ravel()[src[inside]])  # reads only from the region
    assert not np.array_equal(src[inside], ident[inside])


def test_num_vortices_takes_the_first_ones_and_never_reads_past_the_file():
    rows = random_rows(3, 5, 28, 28, 1000.0)
    assert np.array_equal(vortex_map(rows, 28, 28, num_vortices=2), vortex_map(rows[:2], 28, 28))
    assert np.array_equal(vortex_map(rows, 28, 28, num_vortices=0), np.arange(784))
    with pytest.raises(PipelineError, match="asked for 6 vortices, the parameters hold 5"):
        vortex_map(rows, 28, 28, num_vortices=6)


def test_vortex_sequence_composes_in_order():
    a = np.concatenate([[10.0, 10, 5], np.full(6, 3000.0)])
    b = np.concatenate([[12.0, 13, 6], np.full(7, -2000.0)])
    img = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    once = vortex_transform(img[None], [a])[0]
    assert np.array_equal(vortex_transform(img[None], [a, b])[0], vortex_transform(once[None], [b])[0])
    assert not np.array_equal(vortex_transform(img[None], [a, b]), vortex_transform(img[None], [b, a]))


@pytest.mark.parametrize(
    "row",
    [[0.0, 10, 2, 1, 1], [27.0, 10, 2, 1, 1], [10.0, 1, 1, 1], [29.0, 5, 0, 1], [10.0, 10, 3, 1, 1]],
    ids=["top", "bottom", "left", "outside-r0", "short-degree"],
)
def test_bad_rows_are_pipeline_errors(row):
    with pytest.raises(PipelineError):
        vortex_map([np.array(row)], 28, 28)


def test_vortex_transform_shapes():
    rows = random_rows(5, 6, 28, 28, 1000.0)
    gray = np.random.default_rng(1).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    colour = np.random.default_rng(1).integers(0, 256, (4, 28, 28, 3), dtype=np.uint8)
    out_gray, out_colour = vortex_transform(gray, rows), vortex_transform(colour, rows)
    assert out_gray.shape == gray.shape and out_gray.dtype == np.uint8
    for c in range(3):
        assert np.array_equal(out_colour[..., c], vortex_transform(colour[..., c], rows))
    with pytest.raises(PipelineError):
        vortex_transform(gray[0], rows)


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_row_gather_map_matches_the_matlab_orientation(dataset):
    spec = DATASETS[dataset]
    rows = new_vor_params(8, spec.height, spec.width, spec.degree_scale, rng(11))
    stored = np.random.default_rng(2).integers(0, 256, (5, spec.row_length), dtype=np.uint8)
    pictures = pictures_from_rows(stored, spec)
    # the script's image: the picture (MNIST) or the transposed picture (CIFAR: reshape(row, [32 32 3]))
    matlab = pictures.transpose(0, 2, 1, 3) if dataset == "cifar10" else pictures
    out = vortex_transform(matlab, rows, divisor=spec.divisor)
    expected = rows_from_pictures(out.transpose(0, 2, 1, 3) if dataset == "cifar10" else out, spec)
    m = row_gather_map(spec, rows)
    assert m.dtype == np.int64 and m.shape == (spec.pixels,)
    full = channel_map(m, spec.channels)
    assert np.array_equal(stored[:, full], expected)
    assert np.array_equal(apply_row_map(np.asfortranarray(stored), full), expected)


def test_apply_row_map_keeps_the_column_major_layout():
    rows = np.asfortranarray(np.random.default_rng(3).integers(0, 256, (7, 12), dtype=np.uint8))
    full = np.random.default_rng(4).integers(0, 12, 12)
    out = apply_row_map(rows, full)
    assert out.flags.f_contiguous and np.array_equal(out, np.ascontiguousarray(rows)[:, full])


def _layouts(n, h, w, c, seed=0):
    """The same (N, H, W, C) images in several memory layouts."""
    base = np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)
    rows_f = np.asfortranarray(base.transpose(0, 3, 2, 1).reshape(n, -1))  # MAT-file: N x L column-major
    mat_view = rows_f.T.reshape(c, w, h, n).transpose(3, 2, 1, 0)  # reshape(row, [h w c]) per image, zero copy
    return base, {
        "c-order": base,
        "mat-file view": mat_view,
        "fortran": np.asfortranarray(base),
        "strided slice": np.repeat(base, 2, axis=0)[::2],
        "flipped": base[::-1][::-1],
    }


@pytest.mark.parametrize("c", [1, 3])
def test_gather_images_is_layout_independent_and_keeps_the_layout(c):
    from pipeline.encrypt.vortex import gather_images

    base, layouts = _layouts(5, 6, 7, c)
    element_map = np.random.default_rng(1).integers(0, 6 * 7 * c, 6 * 7 * c)
    expected = base.reshape(5, -1)[:, element_map].reshape(base.shape)
    for name, images in layouts.items():
        assert np.array_equal(images, base), name
        out = gather_images(images, element_map)
        assert np.array_equal(out, expected), name
    mat = gather_images(layouts["mat-file view"], element_map)
    assert np.moveaxis(mat, 0, -1).transpose(2, 1, 0, 3).flags.c_contiguous  # still pixel-major, image axis fastest
    assert gather_images(base[:1], element_map).shape == (1, 6, 7, c)


def test_vortex_transform_on_the_mat_file_layout():
    rows = random_rows(8, 6, 32, 32, 10000.0)
    base, layouts = _layouts(4, 32, 32, 3, seed=2)
    expected = vortex_transform(base, rows, divisor=10000.0)
    assert np.array_equal(vortex_transform(layouts["mat-file view"], rows, divisor=10000.0), expected)
    assert np.array_equal(expected[0], oracle(base[0], rows, 10000.0))
