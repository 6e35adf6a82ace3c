"""Tests of lectlib._validation, the one vocabulary every public function
checks its input with."""

from __future__ import annotations

import numpy as np
import pytest

from lectlib._validation import (
    check_endmembers,
    check_non_negative,
    check_option,
    check_pair,
    check_shape2,
)


@pytest.mark.parametrize(
    "value, expected",
    [(3, (3, 3)), ((2, 5), (2, 5)), ([4, 1], (4, 1)), (np.array([6, 7]), (6, 7))],
)
def test_check_pair_of_ints_with_broadcast(value, expected):
    got = check_pair(
        value, "window", integer=True, low=1, broadcast=True, labels="(y, x)"
    )
    assert got == expected and all(type(v) is int for v in got)


@pytest.mark.parametrize(
    "value, error, message",
    [
        (
            None,
            TypeError,
            r"window must be an int or a pair \(y, x\) of ints, got None",
        ),
        (
            "32",
            TypeError,
            r"window must be an int or a pair \(y, x\) of ints, got '32'",
        ),
        (np.array(3), TypeError, r"window must be an int or a pair"),
        (
            (1, 2, 3),
            ValueError,
            r"window must be an int or a pair \(y, x\) of ints, got \(1, 2, 3\)",
        ),
        ((0, 2), ValueError, r"window\[0\] must be >= 1, got 0"),
        ((2, 2.5), TypeError, r"window\[1\] must be an integer, got 2.5"),
        (2.0, TypeError, r"window\[0\] must be an integer"),
        ((True, 2), TypeError, r"window\[0\] must be an integer"),
    ],
)
def test_check_pair_errors_name_the_argument(value, error, message):
    with pytest.raises(error, match=message):
        check_pair(
            value, "window", integer=True, low=1, broadcast=True, labels="(y, x)"
        )


def test_check_pair_ranges():
    assert check_pair((1, 2.5), "energy_range", increasing=True) == (1.0, 2.5)
    with pytest.raises(
        ValueError, match=r"energy_range must be increasing \(low, high\)"
    ):
        check_pair((3.0, 2.0), "energy_range", increasing=True)
    with pytest.raises(ValueError, match=r"energy_range\[0\] must be > 0"):
        check_pair((0.0, 2.0), "energy_range", low=0.0, low_inclusive=False)
    with pytest.raises(ValueError, match=r"energy_range\[1\] must be finite"):
        check_pair((1.0, np.inf), "energy_range")
    with pytest.raises(
        TypeError, match=r"energy_range must be a pair of numbers, got 5"
    ):
        check_pair(5, "energy_range")
    assert check_shape2((3, 4)) == (3, 4)


def test_check_option_lists_the_options():
    assert check_option(None, "noise", ("gaussian", None)) is None
    assert check_option("gaussian", "noise", ("gaussian", None)) == "gaussian"
    with pytest.raises(
        ValueError, match=r"noise must be 'gaussian', 'poisson' or None, got 'x'"
    ):
        check_option("x", "noise", ("gaussian", "poisson", None))
    with pytest.raises(ValueError, match=r"scan must be 'area', got 'line'"):
        check_option("line", "scan", ("area",))
    with pytest.raises(ValueError, match=r"must be 'a' or 'b', got \['a'\]"):
        check_option(["a"], "x", ("a", "b"))  # unhashable input: still a clear error


def test_check_endmembers_linear_and_affine():
    E = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])  # the midpoint
    with pytest.raises(ValueError, match=r"the 3 endmembers are linearly dependent"):
        check_endmembers(E)
    with pytest.raises(ValueError, match=r"affinely dependent"):
        check_endmembers(E, affine=True)
    # four vertices of a simplex in 3 channels: affinely independent, linearly dependent
    simplex = np.vstack([np.eye(3), np.zeros(3)])
    np.testing.assert_array_equal(check_endmembers(simplex, 3, affine=True), simplex)
    with pytest.raises(ValueError, match=r"4 endmembers in 3 channels"):
        check_endmembers(simplex, 3)
    with pytest.raises(ValueError, match=r"5 endmembers in 3 channels: at most 4"):
        check_endmembers(np.vstack([simplex, np.ones(3)]), affine=True)
    with pytest.raises(ValueError, match=r"endmembers have 3 channels but data have 4"):
        check_endmembers(np.eye(3), 4)
    assert check_endmembers(np.ones(5)).shape == (1, 5)  # one regression reference
    with pytest.raises(ValueError, match=r"endmembers must be 2-D"):
        check_endmembers(np.ones(5), affine=True)


def test_check_non_negative_speaks_scikit_learns_words():
    check_non_negative(np.zeros(3), "WeightedPCA")
    with pytest.raises(
        ValueError, match=r"^Negative values in data passed to CA: it needs counts$"
    ):
        check_non_negative(np.array([1.0, -1.0]), "CA")
