"""MATLAB semantics helpers: round, 1-based ranges, column-major reshapes."""
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matlab_compat.semantics import flatten_f, mrange, mround, mslice, reshape_f


def test_mround_halves_go_away_from_zero():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.4, -0.6, 3.0])
    assert mround(x).tolist() == [1, 2, 3, -1, -2, -3, 0, -1, 3]
    assert np.round(2.5) == 2  # numpy's banker's rounding, which the port must not use


def test_mround_edge_values():
    below_half = np.nextafter(0.5, 0)  # 0.49999999999999994: floor(x + 0.5) would give 1
    assert mround(below_half) == 0 and mround(-below_half) == 0
    assert mround(4503599627370495.5) == 4503599627370496
    assert mround(2.0**60) == 2.0**60
    out = mround([np.inf, -np.inf, np.nan])
    assert out[0] == np.inf and out[1] == -np.inf and np.isnan(out[2])


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_mround_matches_exact_decimal_rounding(v):
    assert mround(v) == float(Decimal(v).to_integral_value(rounding=ROUND_HALF_UP))


def test_mrange_is_one_based_inclusive():
    assert mrange(1, 3).tolist() == [0, 1, 2]
    assert mrange(5, 5).tolist() == [4]
    assert mrange(3, 2).size == 0
    assert mrange(1, -1).size == 0  # e.g. the region of a [0 17 -1 1] vortex: c1-r .. c1+r = 1..-1
    assert mrange(-3, -5).size == 0
    assert mrange(2, 4).dtype == np.int64


def test_mrange_never_wraps_on_a_non_positive_start():
    with pytest.raises(IndexError):
        mrange(0, 3)
    with pytest.raises(IndexError):
        mrange(-1, 2)
    with pytest.raises(IndexError):
        mrange(1.5, 3)


def test_mslice_selects_like_matlab_and_checks_bounds():
    a = np.arange(10)
    assert a[mslice(2, 4, 10)].tolist() == [1, 2, 3]
    assert a[mslice(3, 1, 10)].size == 0
    assert a[mslice(0, -2, 10)].size == 0  # empty, although the 0-based start would be -1
    with pytest.raises(IndexError):
        mslice(0, 2, 10)
    with pytest.raises(IndexError):
        mslice(9, 11, 10)


def test_reshape_f_is_column_major():
    # MATLAB: reshape(1:6, 2, 3) == [1 3 5; 2 4 6]
    assert reshape_f(np.arange(1, 7), (2, 3)).tolist() == [[1, 3, 5], [2, 4, 6]]
    # MATLAB: a = [1 2 3; 4 5 6]; a(:)' == [1 4 2 5 3 6]
    assert flatten_f(np.array([[1, 2, 3], [4, 5, 6]])).tolist() == [1, 4, 2, 5, 3, 6]


def test_mnist_row_to_image_orientation():
    # image = reshape(row, 28, 28)' is the picture read row by row (spec section 2)
    row = np.arange(784)
    image = reshape_f(row, (28, 28)).T
    assert np.array_equal(image, row.reshape(28, 28))
    assert np.array_equal(flatten_f(image.T), row)  # written back with reshape(image', 1, 784)


def test_cifar_row_to_image_is_the_transposed_picture():
    # image(i, j, k) = row[(k-1)*1024 + (j-1)*32 + i] (1-based i): the first index walks a picture row
    row = np.arange(3072)
    image = reshape_f(row, (32, 32, 3))
    assert image[4, 7, 2] == 2 * 1024 + 7 * 32 + 4
    picture = row.reshape(3, 32, 32).transpose(1, 2, 0)
    assert np.array_equal(image, picture.transpose(1, 0, 2))
