"""Input checks shared by lectlib's public functions.

Every public function validates its arguments here, so that a wrong shape, a NaN or an
impossible parameter raises one clear ``ValueError``/``TypeError`` that says what was
expected and what came, instead of a silent NaN several calls later.

Two limits keep every computation finite and every call short:

* numbers are at most :data:`MAX_MAGNITUDE` (1e100) in size, so that their squares and
  the sums of many squares stay far inside float64 (the largest float is 1.8e308);
  physical data are many orders below it, and data that are not can be rescaled;
* an array a call would make holds at most :data:`MAX_ELEMENTS` (2³¹) elements
  (16 GiB in float64): a larger one is a mistaken parameter, not a computation to start.
"""

from __future__ import annotations

import numbers

import numpy as np

#: The largest magnitude lectlib accepts in an input (squares of it stay finite).
MAX_MAGNITUDE = 1e100
#: The most elements an array made by one call may hold.
MAX_ELEMENTS = 2**31


def check_magnitude(arr, name):
    """Raise unless every value of a float array is finite and at most MAX_MAGNITUDE in
    size; return a scale of the data: a positive number no smaller than the largest
    magnitude (to rounding; 0 for an all-zero array).

    One pass in the usual case: the sum of squares (a BLAS dot product, no temporary
    array) is NaN or inf for non-finite data, and when it lies in [tiny, MAX_MAGNITUDE²]
    its square root bounds every value. Otherwise (all zeros, underflow, or huge values)
    the minimum and the maximum decide, and the message counts the bad values.
    """
    if not arr.size:
        return 0.0
    flat = arr.ravel(order="K")
    squares = float(np.dot(flat, flat))
    if np.finfo(float).tiny <= squares <= MAX_MAGNITUDE**2:  # (a normal float)
        return float(np.sqrt(squares))
    low, high = float(arr.min()), float(arr.max())
    if not (np.isfinite(low) and np.isfinite(high)):
        n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s)")
    largest = max(high, -low)
    if largest > MAX_MAGNITUDE:
        raise ValueError(
            f"{name} holds values up to {largest:.3g} in magnitude; lectlib "
            f"works with magnitudes up to {MAX_MAGNITUDE:g} (rescale the data)"
        )
    return largest


def check_size(n_elements, what):
    """Raise unless an array of ``n_elements`` (``what`` says which)
    is within MAX_ELEMENTS."""
    if n_elements > MAX_ELEMENTS:
        raise ValueError(
            f"{what} would hold {n_elements:.3g} values, more than lectlib's "
            f"limit of {MAX_ELEMENTS:.3g} (16 GiB): check the parameters"
        )
    return n_elements


def _object_to_float(arr, name):
    """An object array of real numbers as float64;
    strings and other objects are refused."""
    for value in arr.flat:
        if isinstance(value, (str, bytes)) or not isinstance(
            value, (numbers.Real, np.bool_)
        ):
            kind = (
                "strings" if isinstance(value, (str, bytes)) else type(value).__name__
            )
            raise TypeError(
                f"{name} must hold real numbers, got {kind} (e.g. {value!r})"
            )
    return arr.astype(np.float64)


def reject_strings(X, name="X"):
    """Refuse string input (numeric strings included) before
    scikit-learn would convert it.

    lectlib's functions and estimators accept the same inputs: real numbers in any
    numeric dtype, booleans, or an object array holding numbers; never strings.
    """
    arr = X if isinstance(X, np.ndarray) else None
    if arr is None and isinstance(X, (list, tuple)):
        try:
            arr = np.asarray(X, dtype=object)
        except Exception:  # noqa: BLE001 (ragged: sklearn says)
            return
    if arr is None:
        return
    if arr.dtype.kind in "USa" or (
        arr.dtype == object and any(isinstance(v, (str, bytes)) for v in arr.flat)
    ):
        raise TypeError(
            f"{name} must hold real numbers, got strings (dtype {arr.dtype})"
        )


def validate_estimator_input(estimator, X, *, reset, return_scale=False, **kwargs):
    """scikit-learn's ``validate_data`` as float64, with lectlib's two additions:
    strings are refused and magnitudes are bounded (see the module docstring). With
    ``return_scale``, also the data's scale from :func:`check_magnitude`."""
    from sklearn.utils.validation import validate_data

    reject_strings(X)
    X = validate_data(estimator, X, dtype=np.float64, reset=reset, **kwargs)
    scale = check_magnitude(X, "X")
    return (X, scale) if return_scale else X


def as_float_array(
    x, name, *, ndim=None, min_ndim=None, max_ndim=None, allow_empty=False
):
    """Return ``x`` as a finite float64 array, or raise naming ``name``.

    ``ndim`` may be an int or a tuple of allowed ints.
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}")
    if hasattr(x, "tocsr") and hasattr(x, "nnz"):  # scipy.sparse, without importing it
        raise TypeError(
            f"{name} is a sparse matrix; pass a dense array (e.g. {name}.toarray())"
        )
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype == object and arr.size:
        arr = _object_to_float(arr, name)
    if not (np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got complex dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            expected = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(
                f"{name} must be {expected}, got a {arr.ndim}-D array of shape "
                f"{arr.shape}"
            )
    if min_ndim is not None and arr.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions, got shape {arr.shape}"
        )
    if max_ndim is not None and arr.ndim > max_ndim:
        raise ValueError(
            f"{name} must have at most {max_ndim} dimensions, got shape {arr.shape}"
        )
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    check_magnitude(arr, name)
    return arr


def check_scalar(
    x,
    name,
    *,
    low=None,
    high=None,
    low_inclusive=True,
    high_inclusive=True,
    integer=False,
):
    """Return ``x`` as a Python float (or int), checking type and range."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        kind = "an integer" if integer else "a real number"
        raise TypeError(f"{name} must be {kind}, got {x!r} ({type(x).__name__})")
    if integer and not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {x!r}")
    if not integer:
        x = float(x)  # numpy scalars too: compare in double precision
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x!r}")
    if not integer and abs(x) > MAX_MAGNITUDE:
        raise ValueError(
            f"{name} must be at most {MAX_MAGNITUDE:g} in magnitude, got {x!r}"
        )
    if low is not None and (x < low or (x == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, got {x!r}")
    if high is not None and (x > high or (x == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {op} {high}, got {x!r}")
    return int(x) if integer else float(x)


#: The range of signal-to-noise ratios lectlib accepts, in dB (a power ratio of 10^±30).
SNR_DB_RANGE = (-300.0, 300.0)


def check_snr_db(snr_db):
    """``snr_db`` as a float within :data:`SNR_DB_RANGE`: beyond it no instrument
    measures, and the noise level ``10^(-SNR/20)`` of a large signal would leave float
    range."""
    return check_scalar(snr_db, "snr_db", low=SNR_DB_RANGE[0], high=SNR_DB_RANGE[1])


def _quote(option):
    return "None" if option is None else repr(option)


def check_option(value, name, options):
    """Return ``value`` if it is one of ``options`` (strings or None),
    else raise naming them.

    >>> check_option("hann", "taper", ("hann", "blackman", None))
    'hann'
    """
    if not any(value is o or (isinstance(value, str) and value == o) for o in options):
        listed = [_quote(o) for o in options]
        expected = (
            listed[0]
            if len(listed) == 1
            else ", ".join(listed[:-1]) + " or " + listed[-1]
        )
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def check_pair(
    value,
    name,
    *,
    integer=False,
    low=None,
    low_inclusive=True,
    broadcast=False,
    increasing=False,
    labels=None,
):
    """Return a pair of numbers as a tuple, each checked like :func:`check_scalar`.

    Something that is not a sequence (a string, None, a lone number without
    ``broadcast``) is a ``TypeError``; a sequence of another length a ``ValueError``.

    Parameters
    ----------
    integer, low, low_inclusive
        As in :func:`check_scalar`, for both numbers.
    broadcast : bool
        A single number ``v`` stands for ``(v, v)`` (a square window, the same step
        along both axes).
    increasing : bool
        The pair is a range: the second number must exceed the first.
    labels : str, optional
        What the numbers are, for the message, e.g. ``"(ny, nx)"``.
    """
    kind = "ints" if integer else "numbers"
    what = f"a pair {labels} of {kind}" if labels else f"a pair of {kind}"
    if broadcast:
        what = f"{'an int' if integer else 'a number'} or {what}"
    if broadcast and isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = (value, value)
    try:
        length = None if isinstance(value, (str, bytes, dict)) else len(value)
    except TypeError:  # a number, None, a 0-d array
        length = None
    if length is None:
        raise TypeError(f"{name} must be {what}, got {value!r}")
    if length != 2:
        raise ValueError(f"{name} must be {what}, got {value!r}")
    first, second = value
    pair = tuple(
        check_scalar(
            v, f"{name}[{i}]", low=low, low_inclusive=low_inclusive, integer=integer
        )
        for i, v in enumerate((first, second))
    )
    if increasing and not pair[1] > pair[0]:
        raise ValueError(f"{name} must be increasing (low, high), got {value!r}")
    return pair


def check_shape2(shape, name="shape"):
    """Return a ``(ny, nx)`` tuple of positive ints."""
    return check_pair(shape, name, integer=True, low=1, labels="(ny, nx)")


def check_endmembers(endmembers, n_channels=None, *, affine=False):
    """Endmembers ``(k, n_channels)`` (one spectrum per row) as a float array.

    With ``affine=False`` they must be linearly independent, the condition of a
    regression on them; with ``affine=True`` only affinely independent, the vertices of
    a simplex (the condition of a sum-to-one fit): at most ``n_channels + 1`` of them,
    and a zero spectrum may be one. For a regression a 1-D array is one endmember; the
    vertices of a simplex must be listed as rows.
    """
    E = as_float_array(endmembers, "endmembers", ndim=2 if affine else (1, 2))
    if E.ndim == 1:
        E = E[None, :]
    k, c = E.shape
    if n_channels is not None and c != n_channels:
        raise ValueError(f"endmembers have {c} channels but data have {n_channels}")
    if affine:
        if k > c + 1:
            raise ValueError(
                f"{k} endmembers in {c} channels: at most {c + 1} can be the "
                "vertices of a simplex"
            )
        if k > 1 and np.linalg.matrix_rank(E[1:] - E[0]) < k - 1:
            raise ValueError(
                "the endmembers are affinely dependent: they are not the vertices "
                "of a simplex (one lies in the span of the others' differences)"
            )
    elif np.linalg.matrix_rank(E) < k:
        raise ValueError(
            f"the {k} endmembers are linearly dependent"
            + (f" ({k} endmembers in {c} channels)" if k > c else "")
        )
    return E


def check_labels(x, name, *, ndim):
    """Class labels (non-negative integers, in any numeric dtype)
    as an ``intp`` array."""
    values = as_float_array(x, name, ndim=ndim)
    if np.any(values < 0) or np.any(values != np.round(values)):
        raise ValueError(f"{name} must hold non-negative integer labels")
    return values.astype(np.intp)


def check_non_negative(X, what, need="it needs counts"):
    """Raise unless every value of ``X`` is >= 0; ``what`` names the caller,
    ``need`` says why.

    The message starts as scikit-learn's own check does, so estimators that need counts
    pass its ``check_estimator`` tests for non-negative input.
    """
    if np.any(X < 0):
        raise ValueError(f"Negative values in data passed to {what}: {need}")


def check_random_state(random_state):
    """Return a ``numpy.random.Generator`` from None, an int,
    a SeedSequence or a Generator."""
    if random_state is None or isinstance(
        random_state, (numbers.Integral, np.random.SeedSequence)
    ):
        if isinstance(random_state, numbers.Integral) and random_state < 0:
            raise ValueError(
                f"random_state must be a non-negative integer, got {random_state}"
            )
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    raise TypeError(
        "random_state must be None, a non-negative int or a numpy.random.Generator, "
        f"got {type(random_state).__name__}"
    )
