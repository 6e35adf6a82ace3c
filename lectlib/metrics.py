"""Scores against ground truth: spectral angles, component, label and position
matching, abundance error, chi-square, and the statistics of residuals and noise.

Unmixing methods return components in an arbitrary order and scale (and ICA or PCA in an
arbitrary sign), so comparing them with the truth starts by matching each true endmember
with one estimated component. :func:`match_components` does that by the optimal
assignment of spectral angles (the Hungarian algorithm), and the angle of each matched
pair is the score. Found atoms are scored the same way: :func:`match_positions` pairs
each with one true atom, closest pairs first, for recall and precision.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.utils import Bunch

from ._validation import as_float_array, check_labels, check_scalar

__all__ = [
    "spectral_angle",
    "pairwise_spectral_angles",
    "match_components",
    "abundance_rmse",
    "snr_db",
    "reduced_chi_square",
    "lag_autocorrelation",
    "match_labels",
    "match_positions",
    "variance_by_intensity",
    "estimate_gain",
    "transition_width",
]


def _unit_rows(a, name):
    # Scaled by the largest magnitude first, so that the norm neither overflows nor
    # underflows (a spectrum of values near 1e-170 has a norm of 1e-170, whose square is
    # 0 in float64).
    scale = np.max(np.abs(a), axis=-1, keepdims=True)
    if np.any(scale == 0):
        raise ValueError(
            f"{name} contains an all-zero spectrum, whose angle is undefined"
        )
    a = a / scale
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def spectral_angle(a, b):
    """Angle in degrees between spectra, along the last axis.

    The spectral angle ``arccos(a.b / |a||b|)`` ignores the scale of each spectrum, so
    it compares shapes: 0 for proportional spectra, 90 for orthogonal ones. Leading axes
    broadcast, so ``spectral_angle(X, w)`` scores every row of ``X`` against one
    spectrum.

    Parameters
    ----------
    a, b : array_like of shape (..., n_channels)
        Spectra along the last axis, none of them all zeros; the leading axes broadcast.

    Returns
    -------
    angle : ndarray of shape (...) or numpy.float64
        Angles in degrees, between 0 and 180 (a scalar for two single spectra).

    See Also
    --------
    pairwise_spectral_angles : every row of one matrix against every row of another.
    match_components : pairs components with references by these angles, then scores
        them.
    abundance_rmse : scores the abundance maps instead of the spectra.

    Notes
    -----
    Both spectra are scaled to unit length, ``â`` and ``b̂``, and the angle is computed
    as ``2 atan2(|â - b̂|, |â + b̂|)``. This equals ``arccos(â·b̂)`` but stays accurate
    near 0° and 180°, where ``arccos`` of the dot product loses half the digits: for
    ``[1, 1e-9]`` against ``[1, 0]`` it gives 5.73e-8°, where ``arccos`` gives 0.

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
        raise ValueError(
            f"a has {a.shape[-1]} channels and b has {b.shape[-1]}; they must match"
        )
    return _angle(_unit_rows(a, "a"), _unit_rows(b, "b"))


def _angle(ua, ub):
    # 2 atan2(|a - b|, |a + b|) for unit vectors: accurate at 0 and 180 degrees, where
    # arccos of the dot product loses half the digits.
    apart = np.linalg.norm(ua - ub, axis=-1)
    together = np.linalg.norm(ua + ub, axis=-1)
    return np.degrees(2 * np.arctan2(apart, together))


def pairwise_spectral_angles(A, B):
    """Angles in degrees between every row of ``A`` and every row of ``B``.

    Parameters
    ----------
    A : array_like of shape (n_a, n_channels)
    B : array_like of shape (n_b, n_channels)
        Spectra, one per row, none of them all zeros.

    Returns
    -------
    angles : ndarray of shape (n_a, n_b)
        ``angles[i, j]`` is the angle between ``A[i]`` and ``B[j]`` in degrees.

    See Also
    --------
    spectral_angle : the angles of corresponding (broadcast) rows only, not of every
        pair.
    match_components : uses this matrix to pair each reference with one component.

    Notes
    -----
    The formula of :func:`spectral_angle`, broadcast over both row axes; the
    intermediate arrays have shape ``(n_a, n_b, n_channels)``, so for many spectra
    against a few references memory grows with all three.

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
        raise ValueError(
            f"A has {A.shape[1]} channels and B has {B.shape[1]}; they must match"
        )
    return _angle(_unit_rows(A, "A")[:, None, :], _unit_rows(B, "B")[None, :, :])


def match_components(estimated, reference, *, sign_invariant=False):
    """Pair estimated components with reference endmembers,
    indifferent to order and scale.

    Parameters
    ----------
    estimated : array of shape (n_estimated, n_channels)
        Components found by a method, in any order and scale;
        ``n_estimated >= n_reference``.
    reference : array of shape (n_reference, n_channels)
        The true endmembers.
    sign_invariant : bool, default=False
        Treat ``-w`` like ``w``
        (for PCA and ICA, whose components have no defined sign).

    Returns
    -------
    result : sklearn.utils.Bunch
        ``order`` (n_reference,): index of the estimated component matched to each
        reference row. ``angles`` (n_reference,): spectral angle of each pair in
        degrees. ``matched`` (n_reference, n_channels): the matched components rescaled
        (and, if ``sign_invariant``, sign-flipped) to fit their reference in the
        least-squares sense, so they can be plotted on top of it.

    See Also
    --------
    pairwise_spectral_angles : all the angles, before any pairing.
    match_labels : the same matching for class labels, by the number of agreeing
        samples.
    abundance_rmse : scores the abundances once their components are in the reference
        order.

    Notes
    -----
    The assignment minimizes the sum of angles over all pairs (Hungarian algorithm,
    :func:`scipy.optimize.linear_sum_assignment` on the matrix of
    :func:`pairwise_spectral_angles`), so one estimated component is never credited to
    two references. With ``sign_invariant`` an angle ``θ`` counts as
    ``min(θ, 180° - θ)``. Each matched component is then multiplied by
    ``<w, r> / <w, w>``, the least-squares scale onto its reference ``r``; without
    ``sign_invariant`` the absolute value of that scale is used.

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
            f"estimated has {est.shape[1]} channels and reference has {ref.shape[1]}; "
            "they must match"
        )
    if est.shape[0] < ref.shape[0]:
        raise ValueError(
            "need at least as many estimated components as references, got "
            f"{est.shape[0]} < {ref.shape[0]}"
        )
    angles = pairwise_spectral_angles(ref, est)
    if sign_invariant:
        angles = np.minimum(angles, 180.0 - angles)
    rows, cols = linear_sum_assignment(angles)
    order = cols[np.argsort(rows)]
    picked = est[order]
    # w <w, r> / <w, w> is unchanged when w is scaled: use w scaled to a largest
    # magnitude of 1, so that the square of a tiny w does not underflow to zero. (No row
    # is all zero: the angles checked that.)
    unit = picked / np.abs(picked).max(axis=1, keepdims=True)
    scale = np.sum(unit * ref, axis=1) / np.sum(unit * unit, axis=1)
    if not sign_invariant:
        scale = np.abs(scale)
    return Bunch(
        order=order,
        angles=angles[np.arange(ref.shape[0]), order],
        matched=unit * scale[:, None],
    )


def abundance_rmse(estimated, true, *, per_component=False):
    """Root-mean-square error between abundance maps.

    Parameters
    ----------
    estimated, true : arrays of the same shape (..., n_components)
        E.g. ``(ny, nx, n_components)`` or ``(n_pixels, n_components)``, components in
        the same order (use :func:`match_components` first to order estimated
        components).
    per_component : bool, default=False
        Return one RMSE per component instead of one over everything.

    Returns
    -------
    rmse : float or ndarray of shape (n_components,)
        In the units of the abundances (fractions for abundances that sum to one).

    See Also
    --------
    match_components : finds the component order to use before this score.
    spectral_angle : scores the endmember spectra instead of the maps.

    Notes
    -----
    ``sqrt(mean((estimated - true)**2))`` over every element, or, with
    ``per_component``, over all pixels for each component (the last axis) separately.

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
        raise ValueError(
            f"estimated has shape {est.shape} but true has shape {tru.shape}"
        )
    sq = (est - tru) ** 2
    if per_component:
        return np.sqrt(sq.reshape(-1, sq.shape[-1]).mean(axis=0))
    return float(np.sqrt(sq.mean()))


def snr_db(clean, noisy):
    """Measured signal-to-noise ratio in dB.

    ``SNR = 10 log10(mean(clean**2) / mean((noisy - clean)**2))``.

    Parameters
    ----------
    clean : array_like
        The noise-free signal.
    noisy : array_like, same shape as ``clean``
        The signal with noise.

    Returns
    -------
    snr : float
        In dB; ``inf`` when ``noisy`` equals ``clean`` (no noise). An all-zero
        ``clean``, a signal of no power, raises a ``ValueError``.

    See Also
    --------
    lectlib.mixing.gaussian_noise_std : the reverse, the noise level for a requested
        SNR.
    variance_by_intensity : the noise power as a curve over intensity instead of one
        number.
    reduced_chi_square : the residual power relative to a stated noise variance, per
        spectrum.

    Notes
    -----
    The definition used by :mod:`lectlib.mixing`: signal power is the mean square of
    ``clean`` (not its variance), noise power the mean square of the difference, both
    over all elements. For noise added by :func:`lectlib.mixing.add_gaussian_noise` at
    ``snr_db`` it returns about that value, within the scatter of a finite sample. Both
    powers are computed in log form from values scaled by their largest magnitude, so
    neither overflows nor underflows.

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
        raise ValueError(
            f"clean has shape {clean.shape} but noisy has shape {noisy.shape}"
        )
    signal = _log10_mean_square(clean)
    if signal == -np.inf:
        raise ValueError(
            "clean is all zeros: a signal of no power has no SNR (it would be -inf dB)"
        )
    noise = _log10_mean_square(noisy - clean)
    if noise == -np.inf:
        return float("inf")
    return float(10 * (signal - noise))


def _log10_mean_square(x):
    """log10(mean(x²)), from x scaled by its largest magnitude: no overflow,
    no underflow."""
    scale = float(np.max(np.abs(x)))
    if scale == 0:
        return -np.inf
    return 2 * np.log10(scale) + float(np.log10(np.mean((x / scale) ** 2)))


def reduced_chi_square(residuals, variance, n_parameters):
    """Reduced chi-square of each spectrum's fit, along the last axis.

    ``chi2_red = sum(residuals**2 / variance) / (n_channels - n_parameters)``. For a
    model that is right and noise of the stated variance, it scatters around 1; a value
    well above 1 means the residual holds more than noise (a wrong or incomplete model:
    epistemic error), a value well below 1 that the variance was overestimated or the
    data overfitted.

    Parameters
    ----------
    residuals : array of shape (..., n_channels)
        Data minus model.
    variance : float or array broadcastable to ``residuals``
        Noise variance of each element (``sigma**2`` for Gaussian noise, the expected
        counts for Poisson noise). Must be positive.
    n_parameters : int
        Parameters fitted per spectrum (e.g. the number of endmembers in a linear fit).

    Returns
    -------
    chi2 : ndarray of shape (...)
        One value per spectrum (a map for a cube).

    See Also
    --------
    lag_autocorrelation : tells a structured residual from noise without knowing the
        variance.
    snr_db : one signal-to-noise ratio for everything, with no noise model and no fit.
    lectlib.regression.fit_known_endmembers : returns this map (``reduced_chi2``) for
        its fits.

    Notes
    -----
    For Gaussian noise of the stated variance and a correct model linear in
    ``n_parameters`` fitted parameters, Pearson's statistic ``chi2_red * dof`` follows a
    χ² distribution with ``dof = n_channels - n_parameters`` degrees of freedom, so
    ``chi2_red`` has mean 1 and standard deviation ``sqrt(2 / dof)``
    (0.14 for 100 channels): a map of it is flat noise around 1 where the model holds.

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
        raise ValueError(
            f"variance of shape {var.shape} does not broadcast to residuals {r.shape}"
        ) from None
    p = check_scalar(n_parameters, "n_parameters", low=0, integer=True)
    dof = r.shape[-1] - p
    if dof <= 0:
        raise ValueError(
            f"{r.shape[-1]} channels leave no degrees of freedom for {p} parameters"
        )
    with np.errstate(over="ignore"):
        chi2 = np.sum(r**2 / var, axis=-1) / dof
    if not np.all(np.isfinite(chi2)):
        raise ValueError(
            "the chi-square exceeds float64's range: the residuals are too large for "
            f"the variance (largest |residual| {np.abs(r).max():.3g}, smallest "
            f"variance {var.min():.3g}); rescale the data and the variance together"
        )
    return chi2


def lag_autocorrelation(residuals, lag=1):
    """Autocorrelation of residual spectra at a channel lag, pooled over all spectra.

    White noise gives about 0 (within a few ``1/sqrt(n)`` for ``n`` values, less a bias
    of ``1/n_channels`` from removing each spectrum's mean); a residual that holds
    structure the model missed (a peak, an edge, a shift) is smooth along the energy
    axis and gives a value near 1.
    Together with :func:`reduced_chi_square` it tells an aleatoric residual (noise) from
    an epistemic one (a wrong model).

    Parameters
    ----------
    residuals : array of shape (..., n_channels)
        Data minus model, the energy axis last; not every spectrum constant.
    lag : int, default=1
        The channel offset, smaller than ``n_channels``.

    Returns
    -------
    rho : float
        One value for all spectra together, at most 1 in magnitude.

    See Also
    --------
    reduced_chi_square : the size of the residual relative to the noise, one value per
        spectrum.

    Notes
    -----
    Each spectrum's mean is subtracted, then ``rho = Σ r[c + lag] r[c] / Σ r[c]²``, both
    sums over all channels and all spectra pooled, so a weak structure shared by many
    spectra still shows. It needs no noise variance, which is what makes it a check on
    ``reduced_chi_square`` when the variance itself is in doubt.

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
        raise ValueError(
            "residuals are constant along the last axis; autocorrelation is undefined"
        )
    r = r - r.mean(axis=1, keepdims=True)
    r = r / np.abs(r).max()  # a ratio of sums of products: scale-free, and no underflow
    denom = float(np.sum(r * r))
    return float(np.sum(r[:, lag:] * r[:, :-lag]) / denom)


def match_labels(found, truth):
    """Relabel a segmentation to agree best with the truth, and score it.

    Clustering and unmixing number their classes arbitrarily. The best relabeling maps
    each found label to one true label, no two to the same, so that as many samples as
    possible agree: an assignment problem on the confusion matrix.

    Parameters
    ----------
    found : array_like of int, shape (n_samples,)
        Labels ``0 .. n_found - 1`` from a method, in any numbering.
    truth : array_like of int, shape (n_samples,)
        True labels ``0 .. n_true - 1``.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``accuracy``: the share of samples whose relabeled label is the true one.
        ``mapping`` (n_found,): the true label given to each found label (-1 for a found
        label left over when there are more found labels than true ones). ``labels``
        (n_samples,): ``mapping[found]``. ``confusion`` (n_found, n_true): samples with
        each pair of labels.

    See Also
    --------
    match_components : the same matching for spectra, by spectral angle.
    sklearn.metrics.adjusted_rand_score : agreement without a relabeling,
        chance-corrected.

    Notes
    -----
    The assignment maximizes the trace of the permuted confusion matrix with the
    Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`) in O(n³) for n
    labels, instead of trying all n! relabelings.

    Examples
    --------
    >>> from lectlib.metrics import match_labels
    >>> result = match_labels([2, 2, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2, 0])
    >>> result.mapping.tolist(), result.labels.tolist(), round(result.accuracy, 3)
    ([1, 2, 0], [0, 0, 1, 1, 2, 2, 2], 0.857)
    """
    found = check_labels(found, "found", ndim=1)
    truth = check_labels(truth, "truth", ndim=1)
    if found.shape != truth.shape:
        raise ValueError(
            f"found has {found.size} labels and truth {truth.size}; they must match"
        )
    n_found, n_true = int(found.max()) + 1, int(truth.max()) + 1
    confusion = np.zeros((n_found, n_true), dtype=np.int64)
    np.add.at(confusion, (found, truth), 1)
    rows, cols = linear_sum_assignment(confusion, maximize=True)
    mapping = np.full(n_found, -1, dtype=np.intp)
    mapping[rows] = cols
    labels = mapping[found]
    return Bunch(
        accuracy=float(np.mean(labels == truth)),
        mapping=mapping,
        labels=labels,
        confusion=confusion,
    )


def match_positions(found, truth, max_distance):
    """Match found positions to true ones, one to one, and score the detection.

    Closest pairs first: a found position and a true one are matched when each is the
    other's nearest still unmatched, within ``max_distance``; repeated until no pair
    is left. That is the greedy closest-first matching, found in a few vectorised
    rounds instead of a loop over pairs.

    Parameters
    ----------
    found : array_like of shape (n_found, 2)
        Positions from a method, e.g. :func:`lectlib.crystallography.find_atoms`.
    truth : array_like of shape (n_true, 2)
        The true positions.
    max_distance : float
        Pairs farther apart than this (> 0, in the positions' unit) never match,
        e.g. a third of the lattice spacing.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``recall`` (matched / n_true), ``precision`` (matched / n_found; 1 when nothing
        was found), ``found_index`` and ``truth_index`` (the matched pairs, sorted by
        ``truth_index``), ``distance`` of each pair, ``n_matched``.

    See Also
    --------
    match_labels : the same question for class labels, by the best relabeling.

    Notes
    -----
    The pair (i, j) whose distance is the smallest of all pairs involving i or j is
    taken first by the greedy matching, so every round's mutual nearest pairs are the
    greedy choices; removing them and repeating reproduces it exactly.

    Examples
    --------
    >>> from lectlib.metrics import match_positions
    >>> m = match_positions([[0, 0.2], [5, 5], [9, 9]], [[0, 0], [5, 5.4], [20, 20]], 1)
    >>> round(m.recall, 3), round(m.precision, 3), m.truth_index.tolist()
    (0.667, 0.667, [0, 1])
    """
    from scipy.spatial import cKDTree

    f = as_float_array(found, "found", ndim=2, allow_empty=True)
    t = as_float_array(truth, "truth", ndim=2)
    for name, a in (("found", f), ("truth", t)):
        if a.shape[1:] != (2,):
            raise ValueError(f"{name} must have shape (n, 2), got {a.shape}")
    max_distance = check_scalar(
        max_distance, "max_distance", low=0.0, low_inclusive=False
    )
    fi = np.zeros(0, dtype=np.intp)
    ti = np.zeros(0, dtype=np.intp)
    left_f, left_t = np.arange(len(f)), np.arange(len(t))
    while len(left_f) and len(left_t):
        d_ft, j = cKDTree(t[left_t]).query(f[left_f])
        _, i = cKDTree(f[left_f]).query(t[left_t])
        mutual = (i[j] == np.arange(len(left_f))) & (d_ft <= max_distance)
        if not mutual.any():
            break
        fi = np.concatenate([fi, left_f[mutual]])
        ti = np.concatenate([ti, left_t[j[mutual]]])
        left_f = left_f[~mutual]
        left_t = np.setdiff1d(left_t, left_t[j[mutual]])
    order = np.argsort(ti, kind="stable")
    fi, ti = fi[order], ti[order]
    n = len(ti)
    return Bunch(
        recall=n / len(t),
        precision=n / len(f) if len(f) else 1.0,
        found_index=fi,
        truth_index=ti,
        distance=np.hypot(*(f[fi] - t[ti]).T) if n else np.zeros(0),
        n_matched=n,
    )


def variance_by_intensity(expected, noisy, n_bins=12):
    """Noise variance as a function of intensity,
    in quantile bins of the expected intensity.

    The noise model in one picture: Gaussian read-out noise has the same variance at
    every intensity; Poisson counting noise has a variance equal to the expected counts.

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
    lectlib.mixing.add_poisson_noise : makes noise whose curve is the diagonal,
        variance = level.
    lectlib.mixing.add_gaussian_noise : makes noise whose curve is flat.

    Notes
    -----
    The bin edges are the quantiles of ``expected`` at ``0, 1/n_bins, …, 1``, so each
    bin holds about the same number of values. In each bin, ``level`` is the mean of
    ``expected`` and ``variance`` the mean of ``(noisy - expected)²`` about the known
    expected value, not about the bin's own mean; a bias of the noise therefore adds to
    the variance.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.metrics import variance_by_intensity
    >>> rng = np.random.default_rng(0)
    >>> expected = rng.uniform(10, 100, 200_000)
    >>> counts = rng.poisson(expected)
    >>> level, variance = variance_by_intensity(expected, counts, n_bins=4)
    >>> bool(np.allclose(variance / level, 1, atol=0.03))     # Poisson: variance = mean
    True
    """
    expected = as_float_array(expected, "expected")
    noisy = as_float_array(noisy, "noisy")
    if expected.shape != noisy.shape:
        raise ValueError(
            f"expected has shape {expected.shape} but noisy has {noisy.shape}"
        )
    n_bins = check_scalar(n_bins, "n_bins", low=1, integer=True)
    if n_bins > expected.size:
        raise ValueError(f"{n_bins} bins for {expected.size} values; use fewer bins")
    expected, noise = expected.ravel(), (noisy - expected).ravel()
    edges = np.quantile(expected, np.linspace(0, 1, n_bins + 1))
    which = np.clip(np.searchsorted(edges, expected, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    if np.any(counts == 0):
        raise ValueError(
            "some intensity bins are empty (many equal expected values); use fewer bins"
        )
    level = np.bincount(which, expected, minlength=n_bins) / counts
    variance = np.bincount(which, noise**2, minlength=n_bins) / counts
    return level, variance


def estimate_gain(expected, noisy, *, n_bins=12, bin_channels=1):
    """The detector's gain (and read-noise variance) from variance against mean.

    A detector that records ``g`` counts per electron has noise variance
    ``g × mean + read variance``: a straight line whose slope is the gain.

    Parameters
    ----------
    expected : array_like, shape (..., n_channels)
        Mean counts in the detector's units (a noise-free model, or the expected
        electrons times a trial gain of 1 when the mean is known).
    noisy : array_like, same shape
        The recorded counts.
    n_bins : int, default=12
        Intensity bins (quantiles of ``expected``), as in
        :func:`variance_by_intensity`; at least 2.
    bin_channels : int, default=1
        Sum groups of this many neighboring channels (along the last axis; a
        remainder at the end is dropped) before binning. Summing over more channels
        than the point-spread width gathers each electron's spread charge again.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``gain`` (the slope), ``offset`` (the intercept: read-noise variance of one
        summed channel, ``bin_channels × read_noise²``), ``level`` and ``variance``
        (n_bins,) the points fitted.

    See Also
    --------
    variance_by_intensity : the points this fits.
    lectlib.mixing.add_detector_noise : noise with a gain, a point-spread and read
        noise.

    Notes
    -----
    The fit is weighted least squares of ``variance = gain × level + offset`` with
    weights ``1 / variance`` on the residuals (the standard error of a bin's variance
    is proportional to the variance). Neighboring channels correlated by a
    point-spread ``w`` have variance ``g Σw² × mean`` (``Σw² = 1 / (2σ√π)`` for a
    Gaussian of σ channels), so per channel the apparent gain is too low; summed over
    blocks of ``b`` channels much wider than σ the charge is whole again, up to what
    crosses the block's two edges, and the slope is ``g (1 − 2σ / (√π b))`` (the
    photon-transfer method of CCD calibration).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.metrics import estimate_gain
    >>> from lectlib.mixing import add_detector_noise
    >>> rng = np.random.default_rng(0)
    >>> electrons = rng.uniform(20, 400, (2000, 64))
    >>> counts, _ = add_detector_noise(electrons, gain=3.0, random_state=1)
    >>> round(float(estimate_gain(3.0 * electrons, counts).gain), 1)
    3.0
    """
    expected = as_float_array(expected, "expected", min_ndim=1)
    noisy = as_float_array(noisy, "noisy", min_ndim=1)
    if expected.shape != noisy.shape:
        raise ValueError(
            f"expected has shape {expected.shape} but noisy has {noisy.shape}"
        )
    n_bins = check_scalar(n_bins, "n_bins", low=2, integer=True)
    b = check_scalar(bin_channels, "bin_channels", low=1, integer=True)
    n = expected.shape[-1]
    if b > n:
        raise ValueError(f"bin_channels {b} exceeds the {n} channels")
    if b > 1:
        keep = (n // b) * b
        shape = expected.shape[:-1] + (n // b, b)
        expected = expected[..., :keep].reshape(shape).sum(axis=-1)
        noisy = noisy[..., :keep].reshape(shape).sum(axis=-1)
    level, variance = variance_by_intensity(expected, noisy, n_bins=n_bins)
    if np.ptp(level) <= 0:
        raise ValueError(
            "every intensity bin has the same mean; the gain needs a range of "
            "intensities"
        )
    weights = 1.0 / np.maximum(variance, np.finfo(float).tiny ** 0.5)
    design = np.stack([level, np.ones_like(level)], axis=1) * weights[:, None]
    (gain, offset), *_ = np.linalg.lstsq(design, variance * weights, rcond=None)
    return Bunch(gain=float(gain), offset=float(offset), level=level, variance=variance)


def _crossing(x, u, level):
    """The first ``x`` at which ``u`` reaches ``level``, linearly interpolated between
    the two samples around it (``u`` rises from below ``level`` at ``u[0]``)."""
    j = int(np.argmax(u >= level))
    if j == 0:
        return x[0]
    frac = (level - u[j - 1]) / (u[j] - u[j - 1])
    return x[j - 1] + frac * (x[j] - x[j - 1])


def transition_width(x, profile, *, low=0.1, high=0.9):
    """Width of a step: the distance over which a profile goes from ``low`` to ``high``
    of the way between its two ends (the 10–90 % width, by default).

    Parameters
    ----------
    x : array_like, shape (n,)
        Positions, strictly increasing (pixels, nm, ...).
    profile : array_like, shape (n,)
        Values at ``x``, rising or falling from one end value to the other, e.g. an
        abundance across an interface.
    low, high : float, default=0.1 and 0.9
        Fractions of the step, ``0 < low < high < 1``.

    Returns
    -------
    width : float
        In the units of ``x``; always positive.

    See Also
    --------
    lectlib.eels.delocalization_length : the blur that widens an unmixed interface
        (a length, not a measurement of one).
    lag_autocorrelation : a residual statistic, not a property of a profile.

    Notes
    -----
    The profile is scaled to ``u = (p - p[0]) / (p[-1] - p[0])``, which rises from 0 to
    1 whichever way the step goes; the width is the distance between the first
    positions where ``u`` reaches ``low`` and ``high``, each linearly interpolated
    between the two samples around it. The ends set the scale, so the profile should
    reach its plateaus on both sides; with noise, the first crossing is taken. For an
    error-function step of standard deviation σ the 10–90 % width is
    ``2 Φ⁻¹(0.9) σ ≈ 2.563 σ``.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import ndtr
    >>> from lectlib.metrics import transition_width
    >>> x = np.linspace(-10.0, 10.0, 2001)
    >>> round(transition_width(x, ndtr(x / 2.0)), 3)
    5.126
    >>> round(transition_width(x, 1 - ndtr(x / 2.0)), 3)
    5.126
    """
    x = as_float_array(x, "x", ndim=1)
    profile = as_float_array(profile, "profile", ndim=1)
    if x.size < 2 or profile.shape != x.shape:
        raise ValueError(
            f"x and profile must be 1-D of the same length >= 2, got {x.shape} and "
            f"{profile.shape}"
        )
    if np.any(np.diff(x) <= 0):
        raise ValueError("x must be strictly increasing")
    low = check_scalar(low, "low", low=0.0, high=1.0, low_inclusive=False)
    high = check_scalar(high, "high", low=0.0, high=1.0, high_inclusive=False)
    if not low < high:
        raise ValueError(f"low must be below high, got low={low:g}, high={high:g}")
    step = profile[-1] - profile[0]
    scale = np.max(np.abs(profile))
    if not abs(step) > 1e-12 * scale:
        raise ValueError("profile has no step: its two ends are equal")
    with np.errstate(over="ignore", invalid="ignore"):
        u = (profile - profile[0]) / step
    if not np.all(np.isfinite(u)):
        raise ValueError("profile's step is too small for its values (overflow)")
    return float(abs(_crossing(x, u, high) - _crossing(x, u, low)))
