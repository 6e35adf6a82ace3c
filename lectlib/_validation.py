"""Input checks shared by lectlib's public functions.

Every public function validates its arguments here, so that a wrong shape, a NaN or an
impossible parameter raises one clear ``ValueError``/``TypeError`` that says what was expected
and what came, instead of a silent NaN several calls later.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(x, name, *, ndim=None, min_ndim=None, max_ndim=None, allow_empty=False):
    """Return ``x`` as a finite float64 array, or raise naming ``name``.

    ``ndim`` may be an int or a tuple of allowed ints.
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}")
    if hasattr(x, "tocsr") and hasattr(x, "nnz"):    # scipy.sparse, without importing it
        raise TypeError(f"{name} is a sparse matrix; pass a dense array (e.g. {name}.toarray())")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got complex dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            expected = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {expected}, got a {arr.ndim}-D array of shape {arr.shape}")
    if min_ndim is not None and arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimensions, got shape {arr.shape}")
    if max_ndim is not None and arr.ndim > max_ndim:
        raise ValueError(f"{name} must have at most {max_ndim} dimensions, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s)")
    return arr


def check_scalar(x, name, *, low=None, high=None, low_inclusive=True, high_inclusive=True, integer=False):
    """Return ``x`` as a Python float (or int), checking type and range."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        kind = "an integer" if integer else "a real number"
        raise TypeError(f"{name} must be {kind}, got {x!r} ({type(x).__name__})")
    if integer and not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {x!r}")
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x!r}")
    if low is not None and (x < low or (x == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, got {x!r}")
    if high is not None and (x > high or (x == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {op} {high}, got {x!r}")
    return int(x) if integer else float(x)


def check_shape2(shape, name="shape"):
    """Return a ``(ny, nx)`` tuple of positive ints."""
    try:
        ny, nx = shape
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (ny, nx), got {shape!r}") from None
    return (
        check_scalar(ny, f"{name}[0]", low=1, integer=True),
        check_scalar(nx, f"{name}[1]", low=1, integer=True),
    )


def check_random_state(random_state):
    """Return a ``numpy.random.Generator`` from None, an int, a SeedSequence or a Generator."""
    if random_state is None or isinstance(random_state, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(random_state, numbers.Integral) and random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state}")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    raise TypeError(
        "random_state must be None, a non-negative int or a numpy.random.Generator, "
        f"got {type(random_state).__name__}"
    )
