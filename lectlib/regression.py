"""Multiple linear regression with known endmembers (references),
for every pixel at once.

The linear mixing model S(x, E) = Σ_i a_i(x) w_i(E) + N with the w_i known is a linear
least-squares problem per pixel, all with the same design matrix. Ordinary least squares
solves them together in one LAPACK call with many right-hand sides; the non-negative fit
is Lawson & Hanson's active-set algorithm (1974, chapter 23) run on all pixels in
lock-step, each pixel with its own active set; the Poisson fit is the maximum-likelihood
estimate for counts, found by iteratively reweighted non-negative least squares.
Goodness of fit is Pearson's χ².

References
----------
C. L. Lawson and R. J. Hanson, *Solving Least Squares Problems*, Prentice-Hall (1974).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._active_set import active_set
from ._validation import (
    as_float_array,
    check_endmembers,
    check_option,
    check_pair,
    check_scalar,
    validate_estimator_input,
)

__all__ = ["fit_known_endmembers", "nnls_batch", "KnownEndmemberRegression"]

_METHODS = ("ols", "nnls", "poisson")
#: Smallest variance used for the Poisson χ² (counts): keeps a model that predicts no
#: counts from dividing by zero, and flags it (a huge χ²) if counts were seen there.
POISSON_VARIANCE_FLOOR = 1e-3
# Below this condition number of the endmembers the normal equations lose at most
# cond² · eps ≈ 1e-10 (relative) against a QR solution, so the non-negative fit skips
# the QR polish (submatrices of columns are never worse conditioned than the whole).
_POLISH_CONDITION = 1e3


def nnls_batch(gram, rhs, *, max_iter=None):
    """Non-negative least squares for many right-hand sides at once,
    from normal equations.

    Minimizes ‖A_n x_n − b_n‖² subject to x_n ≥ 0 for every row n, given the Gram
    matrices ``G_n = A_nᵀ A_n`` and ``h_n = A_nᵀ b_n``. Lawson & Hanson's active-set
    algorithm runs on all rows together: each outer step frees, in every row that is not
    yet optimal, the variable with the largest positive gradient; the inner loop steps
    back to the feasible region where a free variable would turn negative. With one Gram
    matrix for all rows, rows that share a passive set are solved together; with one per
    row, all systems go to one batched solve.

    Parameters
    ----------
    gram : ndarray, shape (k, k) or (n, k, k)
        One Gram matrix for all rows, or one per row; symmetric positive definite.
    rhs : ndarray, shape (n, k)
        ``A_nᵀ b_n`` for each row.
    max_iter : int, optional
        Outer iterations; default ``3 k``.

    Returns
    -------
    x : ndarray, shape (n, k)
        The non-negative solutions.
    n_iter : int
        Outer iterations used.

    See Also
    --------
    fit_known_endmembers : builds the normal equations from spectra and endmembers, then
        solves.
    lectlib.unmixing.fcls : the same active-set method with abundances that also sum to
        one.
    scipy.optimize.nnls : one problem at a time, from ``A`` and ``b`` rather than
        ``AᵀA``.

    Notes
    -----
    A variable is freed while its gradient ``h_n - G_n x_n`` exceeds ``10 k`` machine
    epsilons relative to the sizes of ``G``, ``h`` and ``x``; a row is done when none is
    left (the Karush–Kuhn–Tucker conditions hold). If rows are still not optimal after
    ``max_iter`` outer iterations, a :class:`~sklearn.exceptions.ConvergenceWarning` is
    issued. Working from ``AᵀA`` squares the condition number of ``A``;
    :func:`fit_known_endmembers` therefore re-solves by QR when its endmembers are
    ill-conditioned.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.regression import nnls_batch
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> b = np.array([[2.0, -1.0, 1.0], [1.0, 1.0, 2.0]])
    >>> x, _ = nnls_batch(A.T @ A, b @ A)
    >>> # without the bound, the first right-hand side would need x₂ = -1
    >>> x.round(6).tolist()
    [[1.5, 0.0], [1.0, 1.0]]
    """
    rhs = as_float_array(rhs, "rhs", ndim=2)
    gram = as_float_array(gram, "gram", ndim=(2, 3))
    n, k = rhs.shape
    if gram.shape[-2:] != (k, k) or (gram.ndim == 3 and gram.shape[0] != n):
        raise ValueError(
            f"gram must be ({k}, {k}) or ({n}, {k}, {k}), got {gram.shape}"
        )
    # The active set solves subsystems of the Gram matrix: it must be AᵀA of independent
    # columns, symmetric positive definite (a Cholesky factorization exists).
    if not np.allclose(
        gram, np.swapaxes(gram, -1, -2), rtol=1e-10, atol=1e-12 * np.abs(gram).max()
    ):
        raise ValueError("gram must be symmetric (AᵀA), got an asymmetric matrix")
    try:
        np.linalg.cholesky(gram)
    except np.linalg.LinAlgError:
        raise ValueError(
            "gram must be positive definite: AᵀA of linearly independent "
            "columns (it is singular or indefinite)"
        ) from None
    return active_set(gram, rhs, max_iter=max_iter, caller="nnls_batch")


def _as_pixels(data, n_channels=None):
    data = as_float_array(data, "data", min_ndim=2, max_ndim=3)
    grid = data.shape[:-1]
    X = data.reshape(-1, data.shape[-1])
    if n_channels is not None and X.shape[1] != n_channels:
        raise ValueError(
            f"data has {X.shape[1]} channels but the endmembers have {n_channels}"
        )
    return X, grid


def _channel_mask(n_channels, energy, window):
    if window is None:
        return np.ones(n_channels, dtype=bool), energy
    if energy is None:
        raise ValueError("window needs the energy axis: pass energy=")
    lo, hi = check_pair(window, "window", increasing=True, labels="(low, high) in eV")
    mask = (energy >= lo) & (energy <= hi)
    return mask, energy[mask]


def _variance(variance, model, grid, mask):
    """Noise variance on the fitted channels, as a (n_pixels, n_window) array."""
    if isinstance(variance, str):
        if variance != "poisson":
            raise ValueError(
                f"variance must be 'poisson', a number or an array, got {variance!r}"
            )
        return np.maximum(model, POISSON_VARIANCE_FLOOR)
    var = as_float_array(variance, "variance")
    n_window = int(mask.sum())
    full, windowed = grid + (mask.size,), grid + (n_window,)
    for shape, select in ((full, True), (windowed, False)):
        try:
            out = np.broadcast_to(var, shape)
        except ValueError:
            continue
        out = out.reshape(-1, shape[-1])
        out = out[:, mask] if select and n_window < mask.size else out
        break
    else:
        raise ValueError(
            f"variance of shape {var.shape} broadcasts neither to the data's {full} "
            f"nor to the fitted window's {windowed}"
        )
    if np.any(out <= 0):
        raise ValueError("variance must be positive")
    return out


def _solve(X, E, method, max_iter):
    """Coefficients (n, k) for spectra X (n, c) and endmembers E (k, c)."""
    k = E.shape[0]
    if method == "ols":
        coef, *_ = np.linalg.lstsq(E.T, X.T, rcond=None)
        return coef.T, 1
    if method == "nnls":
        coef, n_iter = nnls_batch(E @ E.T, X @ E.T)
        if np.linalg.cond(E) < _POLISH_CONDITION:
            return coef, n_iter
        # Polish: the normal equations square the condition number of the endmembers, so
        # for ill-conditioned ones re-solve each distinct active set by QR, as accurate
        # as lstsq.
        support = coef > 0
        codes = support.astype(np.int64) @ (1 << np.arange(k, dtype=np.int64))
        for code in np.unique(codes):
            pattern = (int(code) >> np.arange(k)) & 1 == 1
            if not pattern.any():
                continue
            rows = np.flatnonzero(codes == code)
            q, r = np.linalg.qr(E[pattern].T)
            sub = np.linalg.solve(r, q.T @ X[rows].T).T
            if np.all(sub > 0):
                coef[np.ix_(rows, pattern)] = sub
        return coef, n_iter
    # Poisson maximum likelihood: Σ_c (x_c - μ_c) w_ic / μ_c = 0 is the fixed point of
    # least squares weighted by 1/μ, so iterate non-negative weighted fits.
    if np.any(X < 0):
        raise ValueError("method='poisson' needs counts: data must be non-negative")
    coef, _ = _solve(X, E, "nnls", max_iter)
    for it in range(1, max_iter + 1):
        mu = np.maximum(coef @ E, POISSON_VARIANCE_FLOOR)
        weights = 1.0 / mu
        gram = np.einsum("kc,nc,jc->nkj", E, weights, E)
        new, _ = nnls_batch(gram, (X * weights) @ E.T)
        change = np.abs(new - coef).max() / max(np.abs(new).max(), 1e-300)
        coef = new
        if change < 1e-11:
            return coef, it
    warnings.warn(
        f"Poisson fit did not converge in {max_iter} iterations (last relative change "
        f"{change:.2e})",
        ConvergenceWarning,
        stacklevel=3,
    )
    return coef, max_iter


def fit_known_endmembers(
    data,
    endmembers,
    *,
    energy=None,
    window=None,
    method="nnls",
    variance="poisson",
    max_iter=100,
):
    """Fit every spectrum as a linear combination of known endmembers.

    Parameters
    ----------
    data : array_like, shape (ny, nx, n_channels) or (n_pixels, n_channels)
        A spectrum image or one spectrum per row.
    endmembers : array_like, shape (k, n_channels)
        The known reference spectra, one per row.
    energy : array_like, shape (n_channels,), optional
        The energy axis; needed for ``window``.
    window : (float, float), optional
        Fit only the channels with ``low <= energy <= high`` (eV).
    method : {"ols", "nnls", "poisson"}, default="nnls"
        Ordinary least squares, non-negative least squares, or the non-negative Poisson
        maximum-likelihood fit for counts (iteratively reweighted by the model). The
        default is the same in :class:`KnownEndmemberRegression`; see Notes for why.
    variance : "poisson", float or array_like, default="poisson"
        Noise variance for χ²: ``"poisson"`` uses the fitted model (counts; floored at
        :data:`POISSON_VARIANCE_FLOOR`), otherwise a value broadcastable to ``data``'s
        shape or to its windowed shape (e.g. σ² for Gaussian noise, or a per-pixel
        array).
    max_iter : int, default=100
        Iterations of the Poisson fit.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``coefficients`` (grid + (k,)), ``model`` and ``residuals``
        (grid + (n_window,)), ``chi2`` and ``reduced_chi2`` (grid) — Pearson's Σ r²/var
        and that over the degrees of freedom ``dof = n_window - k`` (NaN when ``dof``
        is 0) —, ``dof``, ``channels`` (boolean mask of the fitted channels), ``energy``
        (their energies, or None), ``method``, ``n_iter`` (1 for ``"ols"``; outer
        active-set iterations for ``"nnls"``; reweighting iterations for ``"poisson"``).

    See Also
    --------
    KnownEndmemberRegression : the same fit as a scikit-learn transformer
        (coefficients only).
    nnls_batch : the non-negative solver, for given normal equations.
    lectlib.unmixing.fcls : abundances that also sum to one (fractions, not amounts).

    Notes
    -----
    Ordinary least squares solves all pixels in one LAPACK call; the non-negative fit is
    Lawson & Hanson's active-set method on all pixels in lock-step (:func:`nnls_batch`),
    with each distinct set of non-zero coefficients re-solved by QR when the condition
    number of the endmembers on the fitted channels is 1000 or more; the Poisson fit
    maximizes the likelihood of counts by iteratively reweighted non-negative fits
    (weights ``1 / model``, starting from the non-negative fit), until no coefficient
    changes by more than 1e-11 of the largest, or warns with a
    :class:`~sklearn.exceptions.ConvergenceWarning` after ``max_iter`` iterations.

    Why ``"nnls"`` by default, here and in :class:`KnownEndmemberRegression`: a
    coefficient is an amount of a reference (thickness times fraction), never negative.
    On noisy counts ordinary least squares returns negative amounts wherever a reference
    is absent and is the less accurate estimate (chapter 2 measures both); the
    non-negative fit costs little more. Ask for ``method="ols"`` for the unconstrained
    linear estimate, e.g. to see a wrong model as negative coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.regression import fit_known_endmembers
    >>> E = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    >>> cube = np.einsum("yxk,kc->yxc", np.full((2, 3, 2), [0.5, 2.0]), E)
    >>> fit = fit_known_endmembers(cube, E, method="nnls", variance=1.0)
    >>> fit.coefficients.shape, fit.coefficients[0, 0].round(12).tolist()
    ((2, 3, 2), [0.5, 2.0])
    >>> float(fit.chi2.max()) < 1e-20
    True
    """
    check_option(method, "method", _METHODS)
    X, grid = _as_pixels(data)
    E = check_endmembers(endmembers, X.shape[1])
    if energy is not None:
        energy = as_float_array(energy, "energy", ndim=1)
        if energy.size != X.shape[1]:
            raise ValueError(
                f"energy has {energy.size} values but data have {X.shape[1]} channels"
            )
    mask, window_energy = _channel_mask(X.shape[1], energy, window)
    k = E.shape[0]
    n_window = int(mask.sum())
    if n_window < k:
        raise ValueError(
            f"the window {window!r} holds {n_window} channel(s): fewer than the {k} "
            "endmembers"
        )
    Xw, Ew = (X, E) if mask.all() else (X[:, mask], E[:, mask])
    if np.linalg.matrix_rank(Ew) < k:
        raise ValueError("the endmembers are linearly dependent on the fitted channels")
    max_iter = check_scalar(max_iter, "max_iter", low=1, integer=True)

    coef, n_iter = _solve(Xw, Ew, method, max_iter)
    model = coef @ Ew
    residuals = Xw - model
    var = _variance(variance, model, grid, mask)
    chi2 = np.sum(residuals**2 / var, axis=1)
    dof = n_window - k
    with np.errstate(divide="ignore", invalid="ignore"):
        reduced = chi2 / dof if dof > 0 else np.full_like(chi2, np.nan)
    return Bunch(
        coefficients=coef.reshape(grid + (k,)),
        model=model.reshape(grid + (n_window,)),
        residuals=residuals.reshape(grid + (n_window,)),
        chi2=chi2.reshape(grid),
        reduced_chi2=reduced.reshape(grid),
        dof=dof,
        channels=mask,
        energy=window_energy,
        method=method,
        n_iter=n_iter,
    )


class KnownEndmemberRegression(TransformerMixin, BaseEstimator):
    """Linear regression on known endmembers as a scikit-learn transformer.

    ``transform`` maps each spectrum (a row of ``X``) to its coefficients on the
    endmembers, so the regression can be the first step of a
    :class:`~sklearn.pipeline.Pipeline` (e.g. followed by clustering of the coefficient
    vectors). Nothing is learned from ``X`` except its number of features; the
    endmembers are given.

    Parameters
    ----------
    endmembers : array_like, shape (k, n_features)
        Reference spectra, one per row.
    method : {"ols", "nnls", "poisson"}, default="nnls"
        See :func:`fit_known_endmembers`.
    energy : array_like, shape (n_features,), optional
        Energy axis, needed for ``window``.
    window : (float, float), optional
        Fit only the channels in this energy window.

    Attributes
    ----------
    endmembers_ : ndarray, shape (k, n_window)
        The endmembers on the fitted channels.
    channels_ : ndarray of bool, shape (n_features,)
        The fitted channels.
    n_features_in_ : int
        Number of features (channels) seen in ``fit``.

    See Also
    --------
    fit_known_endmembers : the function form, which also returns residual and χ² maps.
    nnls_batch : the non-negative solver alone, for given normal equations.
    lectlib.unmixing.fcls : abundances that also sum to one (fractions, not amounts).
    lectlib.unmixing.NFINDR : finds the endmembers from the data instead of taking them
        given.

    Notes
    -----
    ``fit`` only validates: the method, the endmembers against the number of features,
    and that they stay linearly independent on the channels of ``window``; it keeps
    those channels. ``transform`` solves exactly as :func:`fit_known_endmembers` does
    (``"poisson"`` with at most 100 iterations), so the coefficients are the same;
    ``inverse_transform`` returns the model spectra ``coefficients @ endmembers_`` on
    the fitted channels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.cluster import KMeans
    >>> from lectlib.regression import KnownEndmemberRegression
    >>> E = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]]) @ E
    >>> kmeans = KMeans(2, n_init=3, random_state=0)
    >>> pipe = make_pipeline(KnownEndmemberRegression(E), kmeans)
    >>> labels = pipe.fit_predict(X)
    >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
    True
    """

    def __init__(self, endmembers, *, method="nnls", energy=None, window=None):
        self.endmembers = endmembers
        self.method = method
        self.energy = energy
        self.window = window

    def fit(self, X, y=None):
        X = validate_estimator_input(self, X, reset=True)
        check_option(self.method, "method", _METHODS)
        E = check_endmembers(self.endmembers, X.shape[1])
        energy = (
            None
            if self.energy is None
            else as_float_array(self.energy, "energy", ndim=1)
        )
        if energy is not None and energy.size != X.shape[1]:
            raise ValueError(
                f"energy has {energy.size} values but X has {X.shape[1]} features"
            )
        self.channels_, _ = _channel_mask(X.shape[1], energy, self.window)
        if (
            self.channels_.sum() < E.shape[0]
            or np.linalg.matrix_rank(E[:, self.channels_]) < E.shape[0]
        ):
            raise ValueError(
                "the endmembers are not independent on the fitted channels"
            )
        self.endmembers_ = E[:, self.channels_]
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_estimator_input(self, X, reset=False)
        coef, _ = _solve(X[:, self.channels_], self.endmembers_, self.method, 100)
        return coef

    def inverse_transform(self, X):
        """Model spectra on the fitted channels from coefficients."""
        check_is_fitted(self)
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.endmembers_.shape[0]:
            raise ValueError(
                f"X has {X.shape[1]} columns but there are {self.endmembers_.shape[0]} "
                "endmembers"
            )
        return X @ self.endmembers_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
