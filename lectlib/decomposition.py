"""PCA of spectrum images, Poisson weighting,
correspondence analysis and image statistics.

The tools of the history chapter: principal component analysis by the singular value
decomposition (eigenvalues in descending order, a noise edge for the scree plot); the
two-way scaling of counts by Keenan & Kotula (2004) that Bosman et al. (2006) call
weighted PCA; Trebbia & Bonnet's (1990) factorial analysis of correspondence; and the
image statistics they start from — contrast, variance, entropy and the information of an
image relative to a signal-free one.

References
----------
P. Trebbia and N. Bonnet, Ultramicroscopy 34, 165 (1990).
M. R. Keenan and P. G. Kotula, Surf. Interface Anal. 36, 203 (2004).
M. Bosman, M. Watanabe, D. T. L. Alexander and V. J. Keast, Ultramicroscopy 106,
1024 (2006).
M. J. Greenacre, *Theory and Applications of Correspondence Analysis*, Academic Press
(1984).
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._validation import (
    as_float_array,
    check_non_negative,
    check_option,
    check_random_state,
    check_scalar,
    validate_estimator_input,
)

__all__ = [
    "pca",
    "noise_edge",
    "n_above_noise",
    "poisson_normalize",
    "WeightedPCA",
    "CorrespondenceAnalysis",
    "image_statistics",
    "parallel_analysis",
]


def _matrix(X, name="X"):
    return as_float_array(X, name, ndim=2)


def _check_n_components(n_components, limit):
    if n_components is None:
        return limit
    n = check_scalar(n_components, "n_components", low=1, integer=True)
    if n > limit:
        raise ValueError(
            f"n_components={n} exceeds min(n_samples, n_features) = {limit}"
        )
    return n


def pca(X, n_components=None, *, center=True):
    """Principal component analysis by the singular value decomposition.

    ``X = U S Vᵀ`` (after subtracting the mean spectrum when ``center``): the rows of
    ``Vᵀ`` are the eigenspectra (eigenvectors of the covariance), ``U S`` the scores
    (loading maps when folded back onto the image), and ``S² / (n - 1)`` the eigenvalues
    (``S² / n`` uncentered), in descending order.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        One spectrum per row.
    n_components : int, optional
        Components to keep (all ``min(n_samples, n_features)`` by default). Eigenvalues
        are always returned in full, for the scree plot.
    center : bool, default=True
        Subtract the mean spectrum first.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``scores`` (n_samples, n_components), ``components`` (n_components, n_features),
        ``eigenvalues`` (all, descending), ``explained_variance_ratio`` (all),
        ``singular_values`` (all), ``mean`` (n_features,; zeros when not centered).

    See Also
    --------
    WeightedPCA : scales counts by their row and column sums first, so Poisson noise is
        white.
    CorrespondenceAnalysis : removes the independence model first, not only the mean
        spectrum.
    n_above_noise : how many of these eigenvalues stand above the noise edge.
    lectlib.unmixing.simplex_projection : the same axes for a picture, without
        eigenvalues.

    Notes
    -----
    One thin SVD (``numpy.linalg.svd`` with ``full_matrices=False``) of the centered
    data. An eigenspectrum's sign is arbitrary; it is fixed here so that the entry of
    largest magnitude is positive, which makes the result reproducible. Without
    centering the eigenvalues are those of the second-moment matrix ``XᵀX / n`` instead
    of the covariance.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.decomposition import pca
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 2)) @ rng.standard_normal((2, 6))
    >>> res = pca(X, 3)
    >>> descending = bool(np.all(np.diff(res.eigenvalues) <= 0))
    >>> res.scores.shape, descending, int(np.sum(res.eigenvalues > 1e-10))
    ((200, 3), True, 2)
    """
    X = _matrix(X)
    n, p = X.shape
    if n < 2:
        raise ValueError(f"PCA needs at least 2 samples, got {n}")
    k = _check_n_components(n_components, min(n, p))
    mean = X.mean(axis=0) if center else np.zeros(p)
    U, s, Vt = np.linalg.svd(X - mean, full_matrices=False)
    # A deterministic sign: the largest entry of each eigenspectrum is positive.
    signs = np.sign(Vt[np.arange(Vt.shape[0]), np.argmax(np.abs(Vt), axis=1)])
    signs[signs == 0] = 1.0
    U, Vt = U * signs, Vt * signs[:, None]
    eig = s**2 / (n - 1 if center else n)
    total = eig.sum()
    return Bunch(
        scores=U[:, :k] * s[:k],
        components=Vt[:k],
        eigenvalues=eig,
        explained_variance_ratio=eig / total if total > 0 else np.zeros_like(eig),
        singular_values=s,
        mean=mean,
    )


def noise_edge(n_samples, n_features, noise_variance=1.0, *, center=True):
    """Largest covariance eigenvalue expected from pure white noise (Marchenko–Pastur).

    For an ``n_samples × n_features`` matrix of independent noise of variance σ², the
    eigenvalues of its sample covariance fill [σ²(1 − √γ)², σ²(1 + √γ)²], γ = p/n, in
    the limit of large matrices; eigenvalues above the upper edge carry signal.

    Parameters
    ----------
    n_samples : int
        Rows of the data matrix (pixels), at least 2.
    n_features : int
        Columns (channels).
    noise_variance : float, default=1.0
        σ², the variance of every element of the noise.
    center : bool, default=True
        Whether the eigenvalues come from centered data (as :func:`pca` with
        ``center=True``): the covariance then has ``n_samples − 1`` degrees of freedom
        instead of ``n_samples``.

    Returns
    -------
    edge : float
        σ² (1 + √γ)².

    See Also
    --------
    n_above_noise : counts the eigenvalues above this edge, with a margin for finite
        size.
    pca : the eigenvalues to compare with it.

    Notes
    -----
    The Marchenko–Pastur law (Marchenko & Pastur 1967) with γ = ``n_features / dof``,
    where ``dof`` is ``n_samples − 1`` for centered data and ``n_samples`` otherwise. It
    holds for white noise only: for counts, weight them first
    (:func:`poisson_normalize`, after which σ² ≈ 1 / Σ counts).

    References
    ----------
    V. A. Marchenko and L. A. Pastur, Math. USSR Sb. 1, 457 (1967).

    Examples
    --------
    >>> from lectlib.decomposition import noise_edge
    >>> round(noise_edge(1000, 250, 2.0), 2)
    4.5
    """
    n = check_scalar(n_samples, "n_samples", low=2, integer=True)
    p = check_scalar(n_features, "n_features", low=1, integer=True)
    var = check_scalar(noise_variance, "noise_variance", low=0.0)
    dof = n - 1 if center else n
    return float(var * (1 + np.sqrt(p / dof)) ** 2)


def n_above_noise(
    eigenvalues, n_samples, n_features, noise_variance=1.0, *, center=True, margin=1.1
):
    """How many eigenvalues exceed the Marchenko–Pastur noise edge
    by the factor ``margin``.

    On a finite matrix the largest noise eigenvalue fluctuates around the asymptotic
    edge by a few percent (Tracy–Widom), hence the default margin of 10 %.

    Parameters
    ----------
    eigenvalues : array_like, shape (n,)
        Covariance eigenvalues, e.g. ``pca(X).eigenvalues`` or
        ``WeightedPCA.eigenvalues_``.
    n_samples, n_features : int
        Shape of the matrix they came from.
    noise_variance : float, default=1.0
        σ² of the noise, in the units of the eigenvalues.
    center : bool, default=True
        Whether the data were centered before the
        decomposition (see :func:`noise_edge`).
    margin : float, default=1.1
        Factor (> 0) on the edge that an eigenvalue must exceed.

    Returns
    -------
    n : int
        The number of eigenvalues above ``margin * noise_edge(...)``: an estimate of the
        number of components that carry signal.

    See Also
    --------
    noise_edge : the edge itself, without a margin.
    pca : the eigenvalues to count.
    lectlib.plotting.plot_singular_values : the scree plot, to judge the same by eye.

    Notes
    -----
    It only compares: ``sum(eigenvalues > margin * noise_edge(n_samples, n_features,
    noise_variance, center=center))``. The noise variance must be known. After Poisson
    weighting it is ``WeightedPCA.noise_level_``, and the default ``WeightedPCA`` does
    not center, so pass ``center=False`` with it.

    Examples
    --------
    >>> from lectlib.decomposition import n_above_noise
    >>> n_above_noise([9.0, 5.0, 1.2, 1.1], 1000, 10, 1.0)
    2
    """
    eig = as_float_array(eigenvalues, "eigenvalues", ndim=1)
    margin = check_scalar(margin, "margin", low=0.0, low_inclusive=False)
    edge = noise_edge(n_samples, n_features, noise_variance, center=center)
    return int(np.sum(eig > margin * edge))


def poisson_normalize(X):
    """Two-way scaling of counts for PCA
    (Keenan & Kotula 2004; Bosman et al.'s weighted PCA).

    ``D / √(r cᵀ)`` with ``r`` the row sums (total counts per pixel) and ``c`` the
    column sums (total counts per channel). If the counts are Poisson and their
    expectation is close to rank one, every scaled element has about the same variance,
    1/Σ D: the noise becomes white, which is what PCA assumes. Rows or columns without
    counts scale to zero.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Non-negative counts, one spectrum per row.

    Returns
    -------
    scaled : ndarray, shape (n_samples, n_features)
    row_weights : ndarray, shape (n_samples,)
        √r; the data are ``scaled * row_weights[:, None] * col_weights``.
    col_weights : ndarray, shape (n_features,)
        √c.

    See Also
    --------
    WeightedPCA : PCA of these scaled counts, as an estimator that maps back to counts.
    CorrespondenceAnalysis : also subtracts the independence model before the same
        division.
    pca : no weighting; right for white noise, not for counts.

    Notes
    -----
    Poisson counts have variance equal to their expectation. If that expectation is rank
    one, ``E[D] = r cᵀ / T`` with ``T = Σ D``, then ``Var(D_ij / √(r_i c_j)) = 1 / T``
    for every element. The observed sums stand in for the expected ones. The scaling is
    Keenan & Kotula's (2004); Bosman et al. (2006) call PCA after it weighted PCA.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.decomposition import poisson_normalize
    >>> X = np.array([[4.0, 0.0], [1.0, 3.0]])
    >>> scaled, r, c = poisson_normalize(X)
    >>> r.tolist(), c.tolist(), np.allclose(scaled * r[:, None] * c, X)
    ([2.0, 2.0], [2.23606797749979, 1.7320508075688772], True)
    """
    X = _matrix(X)
    check_non_negative(X, "poisson_normalize")
    row = np.sqrt(X.sum(axis=1))
    col = np.sqrt(X.sum(axis=0))
    denom = row[:, None] * col[None, :]
    scaled = np.divide(X, denom, out=np.zeros_like(X), where=denom > 0)
    return scaled, row, col


class WeightedPCA(TransformerMixin, BaseEstimator):
    """PCA of counts after Poisson two-way scaling, with reconstruction back to counts.

    With ``weighting="poisson"`` the data are scaled by :func:`poisson_normalize` before
    the SVD, so that the Poisson noise is (nearly) white and the noise eigenvalues form
    a flat floor at about 1/Σ X; the signal components then stand above a known level.
    With ``weighting=None`` it is plain PCA (uncentered by default, as in Keenan &
    Kotula).

    Parameters
    ----------
    n_components : int, optional
        Components kept (all by default).
    weighting : {"poisson", None}, default="poisson"
        ``"poisson"`` scales by the square roots of the row and column sums (the data
        must be non-negative counts); None leaves the data as they are.
    center : bool, default=False
        Subtract the mean of the scaled spectra before the SVD. Off by default, unlike
        :func:`pca`, because the weighted PCA of Keenan & Kotula decomposes the scaled
        counts themselves: the first component is the mean-like one, and the noise floor
        of the eigenvalues sits at the known level 1/Σ X (:func:`noise_edge` with
        ``center=False``).

    Attributes
    ----------
    components_ : ndarray, shape (n_components, n_features)
        Eigenspectra in the scaled space.
    eigenvalues_ : ndarray, shape (min(n_samples, n_features),)
        All eigenvalues, descending.
    explained_variance_ratio_ : ndarray
        Each eigenvalue over their sum.
    mean_ : ndarray, shape (n_features,)
        Mean of the scaled training spectra (zeros unless ``center``).
    col_weights_ : ndarray, shape (n_features,)
        √(column sums) of the training counts (ones without weighting).
    row_weights_ : ndarray, shape (n_samples,)
        √(row sums) of the training counts, used by :meth:`inverse_transform`.
    noise_level_ : float or None
        Expected noise eigenvalue: 1/Σ X with Poisson weighting; None without weighting,
        where it depends on the data's unknown noise variance.
    n_components_ : int
        Components kept.
    n_features_in_ : int

    See Also
    --------
    poisson_normalize : the scaling alone, as a function of one array.
    pca : the decomposition without weighting, as a function that also returns the
        scores.
    CorrespondenceAnalysis : removes the independence model ``r cᵀ`` too, not just the
        scale.
    n_above_noise : counts ``eigenvalues_`` above ``noise_level_``
        (pass ``center=False``).

    Notes
    -----
    With Poisson weighting, ``fit`` takes the column weights √c from the training counts
    and runs :func:`pca` on ``X / (√r √cᵀ)``. ``transform`` scales each new spectrum by
    its own √(row sum) and the training √c, and projects it on ``components_``;
    ``inverse_transform`` multiplies back. Keeping only the components above the noise
    floor and mapping back to counts denoises the data (Keenan & Kotula 2004; Bosman et
    al. 2006).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.decomposition import WeightedPCA
    >>> rng = np.random.default_rng(0)
    >>> expected = rng.uniform(1, 3, (300, 2)) @ rng.uniform(5, 20, (2, 40))
    >>> counts = rng.poisson(expected).astype(float)
    >>> model = WeightedPCA(n_components=2).fit(counts)
    >>> denoised = model.inverse_transform(model.transform(counts))
    >>> error = np.abs(denoised - expected).mean()
    >>> noise = np.abs(counts - expected).mean()
    >>> denoised.shape, bool(error < noise / 3)  # over three times closer to the truth
    ((300, 40), True)
    """

    def __init__(self, n_components=None, *, weighting="poisson", center=False):
        self.n_components = n_components
        self.weighting = weighting
        self.center = center

    def _row_weights(self, X):
        if self.weighting is None:
            return np.ones(X.shape[0])
        return np.sqrt(X.sum(axis=1))

    def _scale(self, X, row_weights):
        if self.weighting is None:
            return X
        denom = row_weights[:, None] * self.col_weights_[None, :]
        return np.divide(X, denom, out=np.zeros_like(X), where=denom > 0)

    def fit(self, X, y=None):
        X = validate_estimator_input(self, X, reset=True)
        check_option(self.weighting, "weighting", ("poisson", None))
        if self.weighting == "poisson":
            check_non_negative(X, "WeightedPCA", "weighting='poisson' needs counts")
            if not X.sum() > 0:
                raise ValueError("X has no counts: Poisson weighting needs some")
        if X.shape[0] < 2:
            raise ValueError(
                f"WeightedPCA needs at least 2 samples, got n_samples = {X.shape[0]}"
            )
        k = _check_n_components(self.n_components, min(X.shape))
        self.col_weights_ = (
            np.sqrt(X.sum(axis=0)) if self.weighting else np.ones(X.shape[1])
        )
        self.row_weights_ = self._row_weights(X)
        res = pca(self._scale(X, self.row_weights_), k, center=self.center)
        self.components_ = res.components
        self.eigenvalues_ = res.eigenvalues
        self.explained_variance_ratio_ = res.explained_variance_ratio
        self.mean_ = res.mean
        self.n_components_ = k
        self.noise_level_ = 1.0 / X.sum() if self.weighting else None
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_estimator_input(self, X, reset=False)
        if self.weighting == "poisson":
            check_non_negative(X, "WeightedPCA", "weighting='poisson' needs counts")
        return (self._scale(X, self._row_weights(X)) - self.mean_) @ self.components_.T

    def inverse_transform(self, X, row_weights=None):
        """Back to counts: ``(scores Vᵀ + mean) · √r √cᵀ``.

        ``row_weights`` are the √(row sums) of the spectra the scores came from; by
        default those of the training data (so ``X`` must then have as many rows).
        """
        check_is_fitted(self)
        X = as_float_array(X, "X", ndim=2)
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} columns, expected {self.n_components_} scores"
            )
        if row_weights is None:
            if self.weighting is None:
                row_weights = np.ones(X.shape[0])
            elif X.shape[0] != self.row_weights_.size:
                raise ValueError(
                    f"X has {X.shape[0]} rows but the model was fitted on "
                    f"{self.row_weights_.size}: pass row_weights = sqrt of the row "
                    "sums of the spectra that were transformed"
                )
            else:
                row_weights = self.row_weights_
        row_weights = as_float_array(row_weights, "row_weights", ndim=1)
        if row_weights.size != X.shape[0]:
            raise ValueError(
                f"row_weights has {row_weights.size} values for {X.shape[0]} rows"
            )
        scaled = X @ self.components_ + self.mean_
        return scaled * row_weights[:, None] * self.col_weights_[None, :]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self.weighting == "poisson"
        return tags


class CorrespondenceAnalysis(TransformerMixin, BaseEstimator):
    """Correspondence analysis of a table of counts
    (Trebbia & Bonnet's factorial analysis).

    The counts ``N`` become proportions ``P = N / n``, with row masses ``r`` and column
    masses ``c``. The standardized residuals from independence,
    ``S = (P − r cᵀ) / √(r cᵀ)``, are decomposed as ``U Σ Vᵀ``: the principal inertias
    are Σ², their sum is χ²/n, the χ² statistic of independence; rows (pixels) get
    principal coordinates ``U Σ / √r`` and columns (channels) ``V Σ / √c``. Compared
    with :func:`poisson_normalize`, which divides by the same ``√(r cᵀ)``,
    correspondence analysis first removes the independence model ``r cᵀ``, so no
    component spends itself on the mean spectrum.

    Parameters
    ----------
    n_components : int, optional
        Axes kept (by default all with non-zero inertia;
        at most min(n_samples, n_features) − 1).

    Attributes
    ----------
    principal_inertias_ : ndarray
        Σ², descending (all axes).
    explained_inertia_ratio_ : ndarray
        Each principal inertia over the total.
    total_inertia_ : float
        χ² / n.
    row_coordinates_ : ndarray, shape (n_samples, n_components)
        Principal coordinates of the training rows.
    column_coordinates_ : ndarray, shape (n_features, n_components)
        Principal coordinates of the columns.
    row_masses_, column_masses_ : ndarray
        ``r`` and ``c``, the row and column sums of ``P``.
    n_components_ : int
        Axes kept.
    n_features_in_ : int

    See Also
    --------
    pca : decomposes the centered data; the mean spectrum is removed but not the row
        totals.
    poisson_normalize : the same division by ``√(r cᵀ)``, without subtracting ``r cᵀ``.
    WeightedPCA : PCA after that division, with reconstruction back to counts.

    Notes
    -----
    One SVD of ``S``. Axes with a singular value below √eps times the largest carry no
    inertia and have arbitrary vectors (among them the trivial direction √c), so they
    are dropped; signs are fixed as in :func:`pca`. ``transform`` projects row profiles
    ``x / Σ x`` by ``D_c^(−1/2) V``, which gives ``U Σ / √r`` for the training rows
    (the transition formula) and places new rows as supplementary points. Channels
    without counts get zero coordinates. The method follows Greenacre (1984) and Trebbia
    & Bonnet (1990).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.decomposition import CorrespondenceAnalysis
    >>> N = np.array(
    ...     [[10.0, 0.0, 5.0], [0.0, 10.0, 5.0], [5.0, 5.0, 0.0], [8.0, 2.0, 5.0]]
    ... )
    >>> ca = CorrespondenceAnalysis(2).fit(N)
    >>> ca.row_coordinates_.shape, np.allclose(ca.transform(N), ca.row_coordinates_)
    ((4, 2), True)
    """

    def __init__(self, n_components=None):
        self.n_components = n_components

    def fit(self, X, y=None):
        X = validate_estimator_input(self, X, reset=True)
        check_non_negative(X, "CorrespondenceAnalysis")
        if X.shape[0] < 2:
            raise ValueError(
                "correspondence analysis needs at least 2 samples, got n_samples = "
                f"{X.shape[0]}"
            )
        total = X.sum()
        if total <= 0:
            raise ValueError("X has no counts")
        if np.any(X.sum(axis=1) <= 0):
            raise ValueError("every row of X needs a positive sum (drop empty spectra)")
        P = X / total
        r = P.sum(axis=1)
        c = P.sum(axis=0)
        keep = c > 0
        expected = np.outer(r, c)
        S = np.zeros_like(P)
        S[:, keep] = (P[:, keep] - expected[:, keep]) / np.sqrt(expected[:, keep])
        U, s, Vt = np.linalg.svd(S, full_matrices=False)
        # Axes with (numerically) zero inertia carry no information, and their singular
        # vectors are arbitrary (they may include the trivial direction √c): keep only
        # the others. Building S leaves rounding errors of order eps relative to its
        # largest entries; a cut-off at sqrt(eps) of the largest singular value keeps
        # them out (an inertia ratio of 2e-16 carries no information anyway).
        rank = int(np.sum(s > s[0] * np.sqrt(np.finfo(float).eps))) if s[0] > 0 else 0
        if rank < 1:
            raise ValueError(
                "the table is exactly independent (all rows have the same profile): "
                "there are no axes to find"
            )
        k = _check_n_components(self.n_components, rank)
        signs = np.sign(Vt[np.arange(Vt.shape[0]), np.argmax(np.abs(Vt), axis=1)])
        signs[signs == 0] = 1.0
        U, Vt = U * signs, Vt * signs[:, None]
        inertia = s[:rank] ** 2
        self.principal_inertias_ = inertia
        self.total_inertia_ = float(np.sum(S**2))
        self.explained_inertia_ratio_ = inertia / self.total_inertia_
        self.row_masses_ = r
        self.column_masses_ = c
        inv_sqrt_c = np.zeros_like(c)
        inv_sqrt_c[keep] = 1.0 / np.sqrt(c[keep])
        # Rows in principal coordinates are their profiles projected by D_c^{-1/2} V.
        self._projection = inv_sqrt_c[:, None] * Vt[:k].T
        self.column_coordinates_ = self._projection * s[:k]
        self.row_coordinates_ = (U[:, :k] * s[:k]) / np.sqrt(r)[:, None]
        self.n_components_ = k
        return self

    def transform(self, X):
        """Principal coordinates of rows
        (supplementary rows are projected the same way)."""
        check_is_fitted(self)
        X = validate_estimator_input(self, X, reset=False)
        check_non_negative(X, "CorrespondenceAnalysis")
        sums = X.sum(axis=1, keepdims=True)
        if np.any(sums <= 0):
            raise ValueError("every row of X needs a positive sum")
        return (X / sums) @ self._projection

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags


def image_statistics(image, *, base=2.0):
    """Contrast, variance, entropy and information of a counts image
    (Trebbia & Bonnet 1990).

    The image is read as a distribution of its counts over the pixels,
    ``p_i = I_i / Σ I``. Its Shannon entropy ``H = −Σ p_i log p_i`` is largest,
    ``log N``, for a perfectly flat image; the **information** ``log N − H`` is the
    relative entropy (Kullback–Leibler divergence) of the image with respect to a flat,
    signal-free one; compared with what noise alone gives, it tells whether an image
    holds signal.

    Parameters
    ----------
    image : array_like
        Non-negative counts (any shape).
    base : float, default=2
        Logarithm base, > 1 (2: bits, e: nats).

    Returns
    -------
    stats : sklearn.utils.Bunch
        ``mean``, ``variance``, ``contrast`` (standard deviation over mean),
        ``entropy``, ``max_entropy`` (log N), ``information`` (log N − H),
        ``noise_information`` (its expectation for a flat Poisson image of the same
        total), ``relative_information`` (information / noise_information), ``p_value``
        (of the information under pure noise).

    See Also
    --------
    CorrespondenceAnalysis : the χ² of independence of a table of spectra, split into
        axes.
    noise_edge : the noise level of covariance eigenvalues, not of one image.

    Notes
    -----
    A flat image with pure Poisson noise is not exactly flat, so its information is not
    zero: ``2 T · ln(base) · information`` (T the total counts) is the likelihood-ratio
    statistic of uniformity, χ² with N − 1 degrees of freedom for pure noise, and
    ``p_value`` is its χ² survival function. The information expected from noise alone
    is therefore (N − 1) / (2 T ln base); an image whose information is well above it
    holds signal. (That expectation is the large-count limit: at about one count per
    pixel a pure-noise image averages some 15 % more.) ``variance`` is the population
    variance (``numpy.var``). Contrast, variance, entropy and information are the
    statistics Trebbia & Bonnet (1990) start from.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.decomposition import image_statistics
    >>> rng = np.random.default_rng(0)
    >>> flat = rng.poisson(50.0, (64, 64))
    >>> edge = rng.poisson(np.where(np.arange(64) < 32, 40.0, 60.0) * np.ones((64, 1)))
    >>> s_flat, s_edge = image_statistics(flat), image_statistics(edge)
    >>> round(s_flat.relative_information, 1), round(s_edge.relative_information, 1)
    (1.0, 3.0)
    """
    image = as_float_array(image, "image", min_ndim=1)
    check_non_negative(image, "image_statistics")
    base = check_scalar(base, "base", low=1.0, low_inclusive=False)
    total = image.sum()
    if total <= 0:
        raise ValueError("image has no counts")
    n = image.size
    if n < 2:
        raise ValueError(
            "image_statistics needs at least 2 pixels: the statistics of one "
            "pixel (its contrast, its information) are undefined"
        )
    log = np.log(base)
    p = image.ravel() / total
    nz = p > 0
    entropy = float(-np.sum(p[nz] * np.log(p[nz])) / log)
    max_entropy = float(np.log(n) / log)
    information = max(max_entropy - entropy, 0.0)
    noise_information = (n - 1) / (2 * total * log)
    statistic = 2 * total * log * information
    mean = float(image.mean())
    variance = float(image.var())
    return Bunch(
        mean=mean,
        variance=variance,
        contrast=float(np.sqrt(variance) / mean),
        entropy=entropy,
        max_entropy=max_entropy,
        information=information,
        noise_information=float(noise_information),
        relative_information=float(information / noise_information)
        if n > 1
        else float("nan"),
        p_value=float(stats.chi2.sf(statistic, n - 1)) if n > 1 else float("nan"),
    )


def _eigenvalues(X, center):
    """Covariance eigenvalues of X, descending, as :func:`pca` gives them, from the
    smaller Gram matrix (no singular vectors: several times faster than the SVD)."""
    n = X.shape[0]
    Xc = X - X.mean(axis=0) if center else X
    gram = Xc.T @ Xc if Xc.shape[1] <= n else Xc @ Xc.T
    eig = np.clip(np.linalg.eigvalsh(gram)[::-1], 0.0, None)
    return eig / (n - 1 if center else n)


#: Largest expected count :func:`parallel_analysis` simulates (numpy's Poisson sampler
#: refuses means near 2**63; no detector counts that many in one channel).
_MAX_POISSON_MEAN = 1e15


def parallel_analysis(
    X,
    *,
    method="poisson",
    n_draws=20,
    quantile=0.95,
    center=True,
    random_state=None,
):
    """Noise floor of plain PCA by simulation (parallel analysis).

    The Marchenko–Pastur edge (:func:`noise_edge`) is the floor of white noise only.
    Counting noise is not white: its variance follows the counts. Parallel analysis
    (Horn 1965) computes the floor instead: it makes ``n_draws`` matrices of the
    shape of ``X`` that hold noise but no signal, runs the same PCA on each, and takes
    the ``quantile`` of their largest eigenvalue. Eigenvalues of ``X`` above it carry
    signal.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        One spectrum per row; non-negative counts for ``method="poisson"``.
    method : {"poisson", "permutation"}, default="poisson"
        How the signal-free matrices are made. ``"poisson"``: Poisson counts drawn at
        the measured counts minus those counts, i.e. noise with the variance profile of
        counting noise (each entry's variance is its count, an unbiased estimate of its
        expectation). ``"permutation"``: each column shuffled across the rows on its
        own (Buja & Eyuboglu 1992), which keeps every channel's distribution, signal
        included, and breaks the correlations between channels.
    n_draws : int, default=20
        Simulated matrices, 1 to 10,000.
    quantile : float, default=0.95
        Quantile of the simulated largest eigenvalue taken as the floor, in [0, 1].
    center : bool, default=True
        Subtract each matrix's mean spectrum before the decomposition, as :func:`pca`
        does; ``False`` matches ``WeightedPCA(weighting=None)``.
    random_state : None, int or numpy.random.Generator
        Seed of the simulation.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``eigenvalues`` (all, descending) of ``X``, as :func:`pca` gives them;
        ``noise_eigenvalues`` (n_draws, min(n_samples, n_features)) those of each
        simulated matrix; ``floor`` (float) the ``quantile`` of the largest simulated
        eigenvalue; ``n_components`` (int) how many leading eigenvalues of ``X``
        exceed the floor.

    See Also
    --------
    noise_edge : the same floor in closed form, for white noise of known variance.
    n_above_noise : counts eigenvalues above that closed-form edge.
    WeightedPCA : makes counting noise white first, so the closed-form edge applies.

    Notes
    -----
    With ``"poisson"`` the simulated matrix ``Y − X``, ``Y ~ Poisson(X)``, has zero
    mean and, given ``X``, the variance ``X`` of each entry; averaged over the noise of
    ``X`` that is the variance of the counting noise itself, so no number of
    components has to be chosen to fit a mean first. The floor is that of the noise
    alone: a strong signal pushes the largest noise eigenvalues of the data up by a few
    percent (the Baik–Ben Arous–Péché transition), so take eigenvalues within a few
    percent of the floor as undecided. ``"permutation"`` keeps the signal's variance
    in every channel; when the signal varies strongly from pixel to pixel its floor
    lies far above the noise and hides real components.

    References
    ----------
    J. L. Horn, Psychometrika 30, 179 (1965).
    A. Buja and N. Eyuboglu, Multivariate Behav. Res. 27, 509 (1992).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.decomposition import parallel_analysis
    >>> rng = np.random.default_rng(0)
    >>> mean = 50.0 * rng.uniform(0.5, 1.5, (400, 2)) @ rng.uniform(0, 1, (2, 30))
    >>> counts = rng.poisson(mean).astype(float)
    >>> res = parallel_analysis(counts, random_state=0)
    >>> res.n_components, res.noise_eigenvalues.shape
    (2, (20, 30))
    """
    X = _matrix(X)
    method = check_option(method, "method", ("poisson", "permutation"))
    n_draws = check_scalar(n_draws, "n_draws", low=1, high=10_000, integer=True)
    quantile = check_scalar(quantile, "quantile", low=0.0, high=1.0)
    n, p = X.shape
    if n < 2:
        raise ValueError(f"parallel_analysis needs at least 2 samples, got {n}")
    if method == "poisson":
        check_non_negative(X, "parallel_analysis", 'method="poisson" needs counts')
        if X.max() > _MAX_POISSON_MEAN:
            raise ValueError(
                f"counts above {_MAX_POISSON_MEAN:g} cannot be simulated as Poisson "
                f'counts (largest {X.max():g}); use method="permutation"'
            )
    rng = check_random_state(random_state)
    noise = np.empty((n_draws, min(n, p)))
    for draw in range(n_draws):
        if method == "poisson":
            simulated = rng.poisson(X) - X
        else:
            simulated = rng.permuted(X, axis=0)
        noise[draw] = _eigenvalues(simulated, center)
    eigenvalues = pca(X, 1, center=center).eigenvalues
    floor = float(np.quantile(noise[:, 0], quantile))
    above = eigenvalues > floor
    n_components = int(np.argmin(above)) if not above.all() else int(above.size)
    return Bunch(
        eigenvalues=eigenvalues,
        noise_eigenvalues=noise,
        floor=floor,
        n_components=n_components,
    )
