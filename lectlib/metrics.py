"""Scores against ground truth: spectral angles, component and label matching, abundance error,
chi-square, and the statistics of residuals and noise.

Unmixing methods return components in an arbitrary order and scale (and ICA or PCA in an
arbitrary sign), so comparing them with the truth starts by matching each true endmember with
one estimated component. :func:`match_components` does that by the optimal assignment of
spectral angles (the Hungarian algorithm), and the angle of each matched pair is the score.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.utils import Bunch

from ._validation import as_float_array, check_scalar

__all__ = [
    "spectral_angle",
    "pairwise_spectral_angles",
    "match_components",
    "abundance_rmse",
    "snr_db",
    "reduced_chi_square",
    "lag_autocorrelation",
    "match_labels",
    "variance_by_intensity",
]


def _unit_rows(a, name):
    norms = np.linalg.norm(a, axis=-1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(f"{name} contains an all-zero spectrum, whose angle is undefined")
    return a / norms


def spectral_angle(a, b):
    """Angle in degrees between spectra, along the last axis.

    The spectral angle ``arccos(a.b / |a||b|)`` ignores the scale of each spectrum, so it
    compares shapes: 0 for proportional spectra, 90 for orthogonal ones. Leading axes
    broadcast, so ``spectral_angle(X, w)`` scores every row of ``X`` against one spectrum.

    Examples
    --------
    >>> from lectlib.metrics import spectral_angle
    >>> float(spectral_angle([1.0, 0.0], [3.0, 3.0]))
    45.0
    >>> float(spectral_angle([1.0, 2.0], [2.0, 4.0]))
    0.0
    """
    a = as_float_array(a, "a", min_ndim=1)
    b = as_float_array(b, "b", min_ndim=1)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"a has {a.shape[-1]} channels and b has {b.shape[-1]}; they must match")
    return _angle(_unit_rows(a, "a"), _unit_rows(b, "b"))


def _angle(ua, ub):
    # 2 atan2(|a - b|, |a + b|) for unit vectors: accurate at 0 and 180 degrees, where
    # arccos of the dot product loses half the digits.
    apart = np.linalg.norm(ua - ub, axis=-1)
    together = np.linalg.norm(ua + ub, axis=-1)
    return np.degrees(2 * np.arctan2(apart, together))


def pairwise_spectral_angles(A, B):
    """Angles in degrees between every row of ``A`` and every row of ``B``.

    Returns an array of shape ``(len(A), len(B))``.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.metrics import pairwise_spectral_angles
    >>> pairwise_spectral_angles(np.eye(2), np.array([[1.0, 1.0]])).round(1)
    array([[45.],
           [45.]])
    """
    A = as_float_array(A, "A", ndim=2)
    B = as_float_array(B, "B", ndim=2)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A has {A.shape[1]} channels and B has {B.shape[1]}; they must match")
    return _angle(_unit_rows(A, "A")[:, None, :], _unit_rows(B, "B")[None, :, :])


def match_components(estimated, reference, *, sign_invariant=False):
    """Pair estimated components with reference endmembers, indifferent to order and scale.

    Parameters
    ----------
    estimated : array of shape (n_estimated, n_channels)
        Components found by a method, in any order and scale; ``n_estimated >= n_reference``.
    reference : array of shape (n_reference, n_channels)
        The true endmembers.
    sign_invariant : bool, default=False
        Treat ``-w`` like ``w`` (for PCA and ICA, whose components have no defined sign).

    Returns
    -------
    result : sklearn.utils.Bunch
        ``order`` (n_reference,): index of the estimated component matched to each reference
        row. ``angles`` (n_reference,): spectral angle of each pair in degrees. ``matched``
        (n_reference, n_channels): the matched components rescaled (and, if
        ``sign_invariant``, sign-flipped) to fit their reference in the least-squares sense, so
        they can be plotted on top of it.

    Notes
    -----
    The assignment minimises the sum of angles over all pairs (Hungarian algorithm), so one
    estimated component is never credited to two references.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.metrics import match_components
    >>> truth = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    >>> found = np.array([[0.0, 5.0, 5.0], [2.0, 0.1, 0.0]])
    >>> result = match_components(found, truth)
    >>> result.order
    array([1, 0])
    >>> result.angles.round(2)
    array([2.86, 0.  ])
    """
    est = as_float_array(estimated, "estimated", ndim=2)
    ref = as_float_array(reference, "reference", ndim=2)
    if est.shape[1] != ref.shape[1]:
        raise ValueError(
            f"estimated has {est.shape[1]} channels and reference has {ref.shape[1]}; they must match"
        )
    if est.shape[0] < ref.shape[0]:
        raise ValueError(
            f"need at least as many estimated components as references, got {est.shape[0]} < {ref.shape[0]}"
        )
    angles = pairwise_spectral_angles(ref, est)
    if sign_invariant:
        angles = np.minimum(angles, 180.0 - angles)
    rows, cols = linear_sum_assignment(angles)
    order = cols[np.argsort(rows)]
    picked = est[order]
    scale = np.sum(picked * ref, axis=1) / np.sum(picked * picked, axis=1)
    if not sign_invariant:
        scale = np.abs(scale)
    return Bunch(order=order, angles=angles[np.arange(ref.shape[0]), order], matched=picked * scale[:, None])


def abundance_rmse(estimated, true, *, per_component=False):
    """Root-mean-square error between abundance maps.

    Parameters
    ----------
    estimated, true : arrays of the same shape (..., n_components)
        E.g. ``(ny, nx, n_components)`` or ``(n_pixels, n_components)``, components in the same
        order (use :func:`match_components` first to order estimated components).
    per_component : bool, default=False
        Return one RMSE per component instead of one over everything.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.metrics import abundance_rmse
    >>> abundance_rmse(np.array([[0.5, 0.5]]), np.array([[0.4, 0.6]]))
    0.1
    """
    est = as_float_array(estimated, "estimated", min_ndim=1)
    tru = as_float_array(true, "true", min_ndim=1)
    if est.shape != tru.shape:
        raise ValueError(f"estimated has shape {est.shape} but true has shape {tru.shape}")
    sq = (est - tru) ** 2
    if per_component:
        return np.sqrt(sq.reshape(-1, sq.shape[-1]).mean(axis=0))
    return float(np.sqrt(sq.mean()))


def snr_db(clean, noisy):
    """Measured signal-to-noise ratio in dB: ``10 log10(mean(clean**2) / mean((noisy - clean)**2))``.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.metrics import snr_db
    >>> snr_db(np.ones(4), np.array([1.1, 0.9, 1.1, 0.9]))
    20.0
    """
    clean = as_float_array(clean, "clean")
    noisy = as_float_array(noisy, "noisy")
    if clean.shape != noisy.shape:
        raise ValueError(f"clean has shape {clean.shape} but noisy has shape {noisy.shape}")
    noise_power = float(np.mean((noisy - clean) ** 2))
    if noise_power == 0:
        return float("inf")
    return float(10 * np.log10(np.mean(clean**2) / noise_power))


def reduced_chi_square(residuals, variance, n_parameters):
    """Reduced chi-square of each spectrum's fit, along the last axis.

    ``chi2_red = sum(residuals**2 / variance) / (n_channels - n_parameters)``. For a model that
    is right and noise of the stated variance, it scatters around 1; a value well above 1
    means the residual holds more than noise (a wrong or incomplete model: epistemic error),
    a value well below 1 that the variance was overestimated or the data overfitted.

    Parameters
    ----------
    residuals : array of shape (..., n_channels)
        Data minus model.
    variance : float or array broadcastable to ``residuals``
        Noise variance of each element (``sigma**2`` for Gaussian noise, the expected counts for
        Poisson noise). Must be positive.
    n_parameters : int
        Parameters fitted per spectrum (e.g. the number of endmembers in a linear fit).

    Returns
    -------
    chi2 : ndarray of shape (...)
        One value per spectrum (a map for a cube).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.metrics import reduced_chi_square
    >>> rng = np.random.default_rng(0)
    >>> r = rng.normal(scale=2.0, size=(1000, 100))
    >>> round(float(reduced_chi_square(r, 4.0, n_parameters=0).mean()), 2)
    1.0
    """
    r = as_float_array(residuals, "residuals", min_ndim=1)
    var = as_float_array(variance, "variance")
    if np.any(var <= 0):
        raise ValueError("variance must be positive everywhere")
    try:
        np.broadcast_shapes(var.shape, r.shape)
    except ValueError:
        raise ValueError(f"variance of shape {var.shape} does not broadcast to residuals {r.shape}") from None
    p = check_scalar(n_parameters, "n_parameters", low=0, integer=True)
    dof = r.shape[-1] - p
    if dof <= 0:
        raise ValueError(f"{r.shape[-1]} channels leave no degrees of freedom for {p} parameters")
    return np.sum(r**2 / var, axis=-1) / dof


def lag_autocorrelation(residuals, lag=1):
    """Autocorrelation of residual spectra at a channel lag, pooled over all spectra.

    White noise gives about 0 (within a few ``1/sqrt(n)`` for ``n`` values, less a bias of
    ``1/n_channels`` from removing each spectrum's mean); a residual that holds structure the
    model missed (a peak, an edge, a shift) is smooth along the energy axis and gives a value
    near 1.
    Together with :func:`reduced_chi_square` it tells an aleatoric residual (noise) from an
    epistemic one (a wrong model).

    Parameters
    ----------
    residuals : array of shape (..., n_channels)
    lag : int, default=1

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.metrics import lag_autocorrelation
    >>> rng = np.random.default_rng(1)
    >>> abs(lag_autocorrelation(rng.normal(size=(500, 200)))) < 0.02
    True
    >>> lag_autocorrelation(np.sin(np.linspace(0, 6, 200))[None, :]) > 0.99
    True
    """
    r = as_float_array(residuals, "residuals", min_ndim=1)
    lag = check_scalar(lag, "lag", low=1, integer=True)
    if lag >= r.shape[-1]:
        raise ValueError(f"lag {lag} must be smaller than the {r.shape[-1]} channels")
    r = r.reshape(-1, r.shape[-1])
    if np.all(r.max(axis=1) == r.min(axis=1)):
        raise ValueError("residuals are constant along the last axis; autocorrelation is undefined")
    r = r - r.mean(axis=1, keepdims=True)
    denom = float(np.sum(r * r))
    return float(np.sum(r[:, lag:] * r[:, :-lag]) / denom)


def match_labels(found, truth):
    """Relabel a segmentation to agree best with the truth, and score it.

    Clustering and unmixing number their classes arbitrarily. The best relabelling maps each
    found label to one true label, no two to the same, so that as many samples as possible
    agree: an assignment problem on the confusion matrix.

    Parameters
    ----------
    found : array_like of int, shape (n_samples,)
        Labels ``0 .. n_found - 1`` from a method, in any numbering.
    truth : array_like of int, shape (n_samples,)
        True labels ``0 .. n_true - 1``.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``accuracy``: the share of samples whose relabelled label is the true one.
        ``mapping`` (n_found,): the true label given to each found label (-1 for a found label
        left over when there are more found labels than true ones). ``labels`` (n_samples,):
        ``mapping[found]``. ``confusion`` (n_found, n_true): samples with each pair of labels.

    See Also
    --------
    match_components : the same matching for spectra, by spectral angle.
    sklearn.metrics.adjusted_rand_score : agreement without a relabelling, chance-corrected.

    Notes
    -----
    The assignment maximises the trace of the permuted confusion matrix with the Hungarian
    algorithm (:func:`scipy.optimize.linear_sum_assignment`) in O(n³) for n labels, instead of
    trying all n! relabellings.

    Examples
    --------
    >>> from lectlib.metrics import match_labels
    >>> result = match_labels([2, 2, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2, 0])
    >>> result.mapping.tolist(), result.labels.tolist(), round(result.accuracy, 3)
    ([1, 2, 0], [0, 0, 1, 1, 2, 2, 2], 0.857)
    """
    found = _labels(found, "found")
    truth = _labels(truth, "truth")
    if found.shape != truth.shape:
        raise ValueError(f"found has {found.size} labels and truth {truth.size}; they must match")
    n_found, n_true = int(found.max()) + 1, int(truth.max()) + 1
    confusion = np.zeros((n_found, n_true), dtype=np.int64)
    np.add.at(confusion, (found, truth), 1)
    rows, cols = linear_sum_assignment(confusion, maximize=True)
    mapping = np.full(n_found, -1, dtype=np.intp)
    mapping[rows] = cols
    labels = mapping[found]
    return Bunch(accuracy=float(np.mean(labels == truth)), mapping=mapping, labels=labels,
                 confusion=confusion)


def _labels(x, name):
    values = as_float_array(x, name, ndim=1)
    if np.any(values < 0) or np.any(values != np.round(values)):
        raise ValueError(f"{name} must hold non-negative integer labels")
    return values.astype(np.intp)


def variance_by_intensity(expected, noisy, n_bins=12):
    """Noise variance as a function of intensity, in quantile bins of the expected intensity.

    The noise model in one picture: Gaussian read-out noise has the same variance at every
    intensity; Poisson counting noise has a variance equal to the expected counts.

    Parameters
    ----------
    expected : array_like
        Noise-free intensities (any shape).
    noisy : array_like, same shape
        The measured values.
    n_bins : int, default=12
        Bins with (about) equal numbers of values, from quantiles of ``expected``.

    Returns
    -------
    level : ndarray of shape (n_bins,)
        Mean expected intensity in each bin.
    variance : ndarray of shape (n_bins,)
        Mean squared noise ``(noisy - expected)²`` in each bin.

    See Also
    --------
    snr_db : one number for the whole signal instead of a curve.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.metrics import variance_by_intensity
    >>> rng = np.random.default_rng(0)
    >>> expected = rng.uniform(10, 100, 200_000)
    >>> level, variance = variance_by_intensity(expected, rng.poisson(expected), n_bins=4)
    >>> bool(np.allclose(variance / level, 1, atol=0.03))     # Poisson: variance = mean
    True
    """
    expected = as_float_array(expected, "expected")
    noisy = as_float_array(noisy, "noisy")
    if expected.shape != noisy.shape:
        raise ValueError(f"expected has shape {expected.shape} but noisy has {noisy.shape}")
    n_bins = check_scalar(n_bins, "n_bins", low=1, integer=True)
    if n_bins > expected.size:
        raise ValueError(f"{n_bins} bins for {expected.size} values; use fewer bins")
    expected, noise = expected.ravel(), (noisy - expected).ravel()
    edges = np.quantile(expected, np.linspace(0, 1, n_bins + 1))
    which = np.clip(np.searchsorted(edges, expected, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    if np.any(counts == 0):
        raise ValueError("some intensity bins are empty (many equal expected values); "
                         "use fewer bins")
    level = np.bincount(which, expected, minlength=n_bins) / counts
    variance = np.bincount(which, noise**2, minlength=n_bins) / counts
    return level, variance
