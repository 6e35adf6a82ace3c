"""Linear unmixing: N-FINDR, minimum-volume simplex (SISAL), fully constrained least
squares and Bayesian linear unmixing.

Under the linear mixing model with abundances that are non-negative and sum to one,
every spectrum is a convex combination of the endmembers: the data fill a simplex whose
vertices are the endmembers. N-FINDR (Winter 1999) looks among the pixels for the
vertices of the simplex of largest volume, which needs a pure pixel of every endmember;
the minimum-volume estimator (SISAL, Bioucas-Dias 2009) looks for the smallest simplex
that holds the data, whose vertices may lie beyond every pixel; fully constrained least
squares (FCLS) then gives each pixel's abundances; the Bayesian linear unmixing of
Dobigeon et al. (2009) samples endmembers, abundances and the noise level from their
posterior, so every abundance comes with a credible interval.

References
----------
M. E. Winter, Proc. SPIE 3753, 266 (1999).
D. C. Heinz and C.-I Chang, IEEE Trans. Geosci. Remote Sens. 39, 529 (2001).
N. Dobigeon, S. Moussaoui, M. Coulon, J.-Y. Tourneret and A. O. Hero, IEEE Trans. Signal
Process. 57, 4355 (2009).
J. M. Bioucas-Dias, Proc. WHISPERS 2009, doi:10.1109/WHISPERS.2009.5289072.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import linalg, special
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from ._active_set import active_set
from ._validation import (
    as_float_array,
    check_endmembers,
    check_option,
    check_random_state,
    check_scalar,
    check_size,
    validate_estimator_input,
)

__all__ = [
    "fcls",
    "simplex_projection",
    "NFINDR",
    "MinimumVolume",
    "BayesianUnmixing",
]

#: The most Gibbs iterations (burn-in and kept samples together) one fit runs.
MAX_ITERATIONS = 1_000_000


def fcls(X, endmembers, *, max_iter=None):
    """Fully constrained least squares: abundances ≥ 0 that sum to one, for every pixel.

    Minimizes ‖x − Eᵀ a‖² subject to a ≥ 0 and Σ a = 1, exactly, for all spectra at
    once: an active-set method (Lawson & Hanson's, with the sum-to-one constraint
    carried by a Lagrange multiplier) in which pixels that share a set of non-zero
    abundances share one small factorized system.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_channels) or (ny, nx, n_channels)
        Spectra, one per row, or a spectrum image.
    endmembers : array_like, shape (k, n_channels)
        Endmember spectra that are the vertices of a simplex (affinely independent; at
        most ``n_channels + 1`` of them).
    max_iter : int, optional
        Outer iterations of the active-set method (default ``3 k``).

    Returns
    -------
    abundances : ndarray, shape (n_samples, k) or (ny, nx, k)
        Non-negative, summing to one over the last axis.

    See Also
    --------
    NFINDR : finds the endmembers among the pixels; its ``transform`` is this function.
    BayesianUnmixing : samples endmembers and abundances, with credible intervals.
    lectlib.regression.fit_known_endmembers : no sum-to-one: amounts, not fractions.
    simplex_projection : a picture of the simplex the abundances are coordinates in.

    Notes
    -----
    Data and endmembers are first shifted by the mean endmember, which the sum-to-one
    constraint allows, for better conditioning. Each pixel starts at its best single
    endmember (a feasible point); every outer iteration frees the endmember with the
    largest positive gradient and solves the bordered system
    ``[[E_P E_Pᵀ, 1], [1ᵀ, 0]]`` on the free set P, stepping back to the boundary where
    an abundance would turn negative. A ``ConvergenceWarning`` says ``max_iter`` was too
    small. Heinz & Chang (2001), who defined FCLS, impose the sum to one approximately
    (an appended row of weight δ); here it is exact.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.unmixing import fcls
    >>> E = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> X = np.array([[0.2, 0.3, 0.5], [2.0, 0.0, 0.0], [0.6, 0.6, -0.2]])
    >>> fcls(X, E).round(6).tolist()
    [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]
    """
    X = as_float_array(X, "X", min_ndim=2, max_ndim=3)
    grid = X.shape[:-1]
    flat = X.reshape(-1, X.shape[-1])
    E = check_endmembers(endmembers, flat.shape[1], affine=True)
    # Sum-to-one makes the problem invariant to a common shift of data and endmembers;
    # working relative to the mean endmember keeps a large shared background from
    # ruining the conditioning of the small systems.
    ref = E.mean(axis=0)
    D = E - ref
    a, _ = active_set(
        D @ D.T, (flat - ref) @ D.T, sum_to_one=True, max_iter=max_iter, caller="fcls"
    )
    return a.reshape(grid + (E.shape[0],))


def simplex_projection(X, n_components=2, *, center=None, components=None):
    """Coordinates of spectra in the plane (or space) of their
    first principal components.

    The picture of the simplex: with ``components``/``center`` from one fit
    (e.g. of the data), data, true endmembers and found endmembers can all be projected
    the same way.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_channels)
        Spectra, one per row.
    n_components : int, default=2
        Axes to compute; ignored when ``components`` is given.
    center : array_like, shape (n_channels,), optional
        The point subtracted before projecting onto given ``components`` (zeros when
        omitted). Without ``components`` it is ignored: the mean of ``X`` is used.
    components : array_like, shape (n_components, n_channels), optional
        Axes from an earlier call; by default the principal axes of ``X``.

    Returns
    -------
    coords : ndarray, shape (n_samples, n_components)
        ``(X − center) @ components.T``.
    center : ndarray, shape (n_channels,)
        The point subtracted, to pass to the next call.
    components : ndarray, shape (n_components, n_channels)
        The axes, to pass to the next call.

    See Also
    --------
    lectlib.plotting.plot_simplex : draws these coordinates for data and endmembers.
    lectlib.decomposition.pca : the same axes with fixed signs, plus scores and
        eigenvalues.
    fcls : the abundances, which are the coordinates inside the simplex itself.

    Notes
    -----
    The axes are the first right singular vectors of the centered data
    (``numpy.linalg.svd``), with the signs LAPACK gives them. Mixtures of k endmembers
    lie in a (k − 1)-dimensional affine subspace: for three endmembers and little noise
    the first two axes span that plane and the simplex, a triangle, appears at its true
    shape; for more endmembers the picture is a projection of it.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.unmixing import simplex_projection
    >>> rng = np.random.default_rng(0)
    >>> W = rng.uniform(0, 1, (3, 10))
    >>> X = rng.dirichlet([1, 1, 1], 200) @ W
    >>> xy, c, V = simplex_projection(X)
    >>> xy.shape, V.shape
    ((200, 2), (2, 10))
    >>> simplex_projection(W, center=c, components=V)[0].shape  # endmembers, same axes
    (3, 2)
    """
    X = as_float_array(X, "X", ndim=2)
    if components is None:
        center = X.mean(axis=0)
        _, _, Vt = np.linalg.svd(X - center, full_matrices=False)
        n_components = check_scalar(
            n_components, "n_components", low=1, high=len(Vt), integer=True
        )
        components = Vt[:n_components]
    else:
        components = as_float_array(components, "components", ndim=2)
        center = (
            np.zeros(X.shape[1])
            if center is None
            else as_float_array(center, "center", ndim=1)
        )
    return (X - center) @ components.T, center, components


class NFINDR(TransformerMixin, BaseEstimator):
    """N-FINDR: the pixels that span the simplex of largest volume are the endmembers.

    It assumes that every endmember appears pure in at least one pixel; the endmembers
    are then vertices of the data cloud, and ``transform`` gives the abundances of any
    spectrum on them.

    Parameters
    ----------
    n_endmembers : int, default=3
        Number of endmembers p (at least 2).
    init : {"random"} or array_like of int, default="random"
        Initial vertices: p distinct pixels drawn with ``random_state`` (redrawn if they
        span no volume), or the indices of p pixels.
    max_iter : int, default=20
        Passes over the p vertices.
    random_state : None, int or numpy.random.Generator
        Seed of the random initial vertices (unused when ``init`` gives indices).

    Attributes
    ----------
    endmembers_ : ndarray, shape (n_endmembers, n_features)
        The spectra of the vertex pixels.
    indices_ : ndarray of int, shape (n_endmembers,)
        Their row indices in ``X``.
    volume_ : float
        (p−1)-dimensional volume of the simplex of the endmember spectra,
        √det(D Dᵀ)/(p−1)! with D the edges from the first vertex: the volume in the full
        channel space, which the reduced space (used only to find the vertices) slightly
        underestimates.
    n_iter_ : int
        Passes made.
    components_ : ndarray, shape (n_endmembers − 1, n_features)
        Principal axes of the reduction (estimated from at most 1024 evenly spaced
        pixels, and from all of them if some pixel lies far outside the subspace those
        span).
    mean_ : ndarray, shape (n_features,)
        The center of the reduction: the mean of the pixels the axes came from.
    n_features_in_ : int

    See Also
    --------
    fcls : the abundances, as ``transform`` returns them.
    BayesianUnmixing : starts from N-FINDR, then samples endmembers and abundances
        (intervals).
    lectlib.regression.fit_known_endmembers : when the endmembers are known, not
        searched for.
    simplex_projection : a picture of the data and of the simplex found.

    Notes
    -----
    The data are reduced to ``n_endmembers − 1`` dimensions by PCA. Only the subspace
    matters, so the principal axes are estimated from a sample of at most 1024 evenly
    spaced pixels (the whole image is then checked, and used, if some pixel lies far
    outside that subspace); on large images this reduction, not the vertex search, is
    most of the cost. In homogeneous coordinates the volume of the simplex with vertices
    y_1..y_p is |det M| / (p−1)!, with M = [[1, …, 1], [y_1, …, y_p]]. N-FINDR
    (Winter 1999) replaces one vertex at a time by the pixel that makes the volume
    largest, and repeats until no replacement grows it (or stops, without a warning,
    after ``max_iter`` passes). The determinant is linear in the replaced column —
    det M' = Σ_i v_i C_ij with the cofactors C_ij = det M · (M⁻¹)_ji — so the volume
    ratio for *every* candidate pixel is one matrix–vector product, |[1, y] · (M⁻¹)_j|,
    instead of one determinant per pixel.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.unmixing import NFINDR
    >>> rng = np.random.default_rng(0)
    >>> W = rng.uniform(0, 1, (3, 20))
    >>> A = np.vstack([np.eye(3), rng.dirichlet([1, 1, 1], 100)])
    >>> model = NFINDR(3, random_state=0).fit(A @ W)
    >>> sorted(model.indices_.tolist())
    [0, 1, 2]
    >>> abundances = model.transform(A @ W)[:3].round(6).tolist()
    >>> abundances == np.eye(3)[model.indices_].T.tolist()
    True
    """

    def __init__(
        self, n_endmembers=3, *, init="random", max_iter=20, random_state=None
    ):
        self.n_endmembers = n_endmembers
        self.init = init
        self.max_iter = max_iter
        self.random_state = random_state

    # Pixels used to estimate the principal axes (evenly spaced), the factor by which a
    # pixel may lie farther from their subspace than the average before all pixels are
    # used, and the rows projected at a time (a block that stays in cache).
    _PCA_SAMPLE = 1024
    _OUTLIER_FACTOR = 3.0
    _BLOCK = 1024

    @staticmethod
    def _axes(centered, p):
        """The first p − 1 principal axes of the rows of ``centered``, largest variance
        first, and the ratio of the smallest of their variances to the largest."""
        n, c = centered.shape
        m = min(n, c)
        gram = centered.T @ centered if c <= n else centered @ centered.T
        vals, vecs = linalg.eigh(gram, subset_by_index=[m - p + 1, m - 1])
        vals, vecs = vals[::-1], np.ascontiguousarray(vecs[:, ::-1].T)
        if c > n:
            vecs = vecs @ centered
            vecs /= np.maximum(
                np.linalg.norm(vecs, axis=1, keepdims=True), np.finfo(float).tiny
            )
        weakest = vals[-1] / vals[0] if vals[0] > 0 else 0.0
        # Deterministic signs: the largest entry of each axis is positive.
        vecs *= np.sign(vecs[np.arange(p - 1), np.argmax(np.abs(vecs), axis=1)])[
            :, None
        ]
        return vecs, weakest

    def _project(self, X, mean, V):
        """``(X − μ) Vᵀ`` and each pixel's squared distance from the affine subspace,
        computed block by block so that the centered copy never leaves the cache."""
        n = X.shape[0]
        Y = np.empty((n, V.shape[0]))
        dist = np.empty(n)
        Vt = np.ascontiguousarray(V.T)
        for lo in range(0, n, self._BLOCK):
            block = X[lo : lo + self._BLOCK] - mean
            y = block @ Vt
            Y[lo : lo + self._BLOCK] = y
            dist[lo : lo + self._BLOCK] = np.einsum(
                "ij,ij->i", block, block
            ) - np.einsum("ij,ij->i", y, y)
        return Y, dist

    def _reduce(self, X, p, scale):
        """The center, the principal axes and the projected pixels ``Y = (X − μ) Vᵀ``.

        The axes come from the covariance of at most ``_PCA_SAMPLE`` evenly spaced
        pixels. All pixels are then projected and checked: if some pixel lies much
        farther from the subspace than the others (structure the sample missed), the
        axes are recomputed from all pixels.
        """
        n = X.shape[0]
        step = max(1, n // self._PCA_SAMPLE)
        sample = X[::step]
        mean = sample.mean(axis=0)
        # The axes from data of largest magnitude 1 (``scale``): no square underflows or
        # overflows; the projections stay in the data's units.
        V, weakest = self._axes((sample - mean) / scale, p)
        Y, dist = self._project(X, mean, V)
        if step > 1 and dist.max() > self._OUTLIER_FACTOR * max(dist.mean(), 0.0):
            mean = X.mean(axis=0)
            V, weakest = self._axes((X - mean) / scale, p)
            Y, _ = self._project(X, mean, V)
        if weakest <= 1e-12:
            raise ValueError(
                f"the data span fewer than n_endmembers - 1 = {p - 1} dimensions: "
                "no simplex with volume exists; use fewer endmembers"
            )
        return mean, V, Y

    def fit(self, X, y=None):
        X, scale = validate_estimator_input(self, X, reset=True, return_scale=True)
        p = check_scalar(self.n_endmembers, "n_endmembers", low=2, integer=True)
        n, c = X.shape
        if p > n:
            raise ValueError(
                f"n_endmembers={p} exceeds the number of pixels, n_samples = {n}"
            )
        if p - 1 > c:
            raise ValueError(
                f"n_endmembers={p} needs {p - 1} dimensions but the data have "
                f"n_features = {c}"
            )
        max_iter = check_scalar(self.max_iter, "max_iter", low=1, integer=True)
        # Volumes scale as (data scale)^(p-1) and their ratios not at all: the search
        # works on coordinates of largest magnitude 1 (Y / spread), and the axes and the
        # volume are computed from data divided by their scale (at least their largest
        # magnitude), so that neither squares underflow nor determinants overflow.
        if scale == 0:
            raise ValueError("X is all zeros: its pixels span no simplex")
        mean, V, Y = self._reduce(X, p, scale)
        spread = np.abs(Y).max()
        H = np.vstack([np.ones(n), (Y / spread).T])  # (p, n) homogeneous

        def flat(indices):
            # Relative volume of the simplex on these pixels, from their exact
            # (double precision) coordinates, scaled like H: scale-free, so 1e-10 means
            # "no volume".
            coords = (X[indices] - mean) @ V.T / spread
            return abs(np.linalg.det(np.vstack([np.ones(p), coords.T]))) <= 1e-10

        if isinstance(self.init, str):
            if self.init != "random":
                raise ValueError(
                    f"init must be 'random' or p pixel indices, got {self.init!r}"
                )
            rng = check_random_state(self.random_state)
            for _ in range(100):
                idx = rng.choice(n, size=p, replace=False)
                if not flat(idx):
                    break
            else:
                raise ValueError(
                    f"the data span fewer than n_endmembers - 1 = {p - 1} dimensions: "
                    "no simplex with volume found; use fewer endmembers"
                )
        else:
            idx = np.asarray(self.init)
            if idx.shape != (p,) or not np.issubdtype(idx.dtype, np.integer):
                raise ValueError(f"init must hold {p} pixel indices, got {self.init!r}")
            if idx.min() < 0 or idx.max() >= n or np.unique(idx).size != p:
                raise ValueError(
                    f"init indices must be {p} distinct values in [0, {n})"
                )
            idx = idx.copy()
            if flat(idx):
                raise ValueError("the initial pixels span no volume")

        n_iter = 0
        for n_iter in range(1, max_iter + 1):
            swapped = False
            for j in range(p):
                inv = np.linalg.inv(H[:, idx])
                # Volume with vertex j replaced by each pixel / current volume. (einsum,
                # not BLAS: a p x n product is too small to gain from threads, which
                # only add synchronization.)
                ratio = np.abs(np.einsum("i,in->n", inv[j], H))
                best = int(np.argmax(ratio))
                if ratio[best] > 1.0 + 1e-9:
                    idx[j] = best
                    swapped = True
            if not swapped:
                break
        self.indices_ = idx
        self.endmembers_ = X[idx].copy()
        # The volume of the simplex of the vertex spectra themselves (in its own affine
        # hull, from the Gram determinant of its edges), independent of the reduction.
        self.volume_ = _simplex_volume(self.endmembers_, scale)
        self.n_iter_ = n_iter
        self.components_ = V
        self.mean_ = mean
        return self

    def transform(self, X):
        """Fully constrained abundances of each spectrum on the endmembers found."""
        check_is_fitted(self)
        X = validate_estimator_input(self, X, reset=False)
        return fcls(X, self.endmembers_)


def _farthest_points(Y, k):
    """Indices of k rows of ``Y``: the row farthest from the origin (the mean), then
    in turn the row farthest from the affine hull of those chosen. A start for
    N-FINDR that does not depend on the order of the rows."""
    idx = [int(np.argmax(np.einsum("ij,ij->i", Y, Y)))]
    for _ in range(1, k):
        origin = Y[idx[0]]
        rel = Y - origin
        if len(idx) > 1:
            basis, _ = np.linalg.qr((Y[idx[1:]] - origin).T)
            rel = rel - (rel @ basis) @ basis.T
        idx.append(int(np.argmax(np.einsum("ij,ij->i", rel, rel))))
    return np.array(idx)


def _simplex_volume(E, scale):
    """(p−1)-dimensional volume of the simplex whose vertices are the rows of ``E``,
    from the Gram determinant of its edges (in its own affine hull), computed on data
    divided by ``scale`` so that no determinant overflows; 0.0 for a flat simplex."""
    p = E.shape[0]
    edges = (E[1:] - E[0]) / scale
    gram_det = np.linalg.det(edges @ edges.T)
    if not gram_det > 0:
        return 0.0
    log_volume = 0.5 * np.log(gram_det) + (p - 1) * np.log(scale) - math.lgamma(p)
    if log_volume > np.log(np.finfo(float).max):
        raise ValueError(
            f"the simplex volume, of order {scale:.2g}^{p - 1}, is beyond "
            "float range: rescale the data"
        )
    return float(np.exp(log_volume))


class MinimumVolume(TransformerMixin, BaseEstimator):
    """Minimum-volume simplex unmixing (SISAL): endmembers without pure pixels.

    N-FINDR takes its vertices among the pixels, so it needs a pure pixel of every
    endmember. This estimator instead looks for the simplex of smallest volume that
    holds the data, with a soft (hinge) penalty on every negative abundance so that
    noise may poke out of it (Bioucas-Dias 2009). Its vertices can lie beyond every
    pixel: they are pinned down when pixels lie on the simplex's facets, for example
    binary mixtures at the boundaries between phases. When every pixel is a mixture
    of all endmembers, deep inside the simplex, nothing in the data fixes the vertices
    and no method recovers them.

    Parameters
    ----------
    n_endmembers : int, default=3
        Number of endmembers k (at least 2).
    regularization : float or None, default=None
        Weight of the log-volume of the simplex against the mean hinge penalty of the
        pixels, in (0, 1]: at the optimum about this fraction of the pixels lies
        outside each facet. None means 1 / n_samples, about one pixel outside each
        facet: the smallest simplex that encloses (nearly) every pixel, noise
        included. On noisy data a larger value (e.g. 0.01) lets each facet sit inside
        the noisy cloud of the pixels on it, but cuts the corners of a simplex whose
        vertices only few pixels approach.
    max_iter : int, default=10000
        Iterations of the alternating direction method of multipliers (ADMM).
    tol : float, default=1e-5
        Stop when the simplex (the matrix Q below) changes by less than this, relative
        to its size, in one iteration. The last iterations move the vertices slowly:
        1e-6 takes about five times as many iterations and moves them by a further
        0.1–0.2° on the course's data.
    init : {"extreme", "random"}, default="extreme"
        Start of the N-FINDR search the iterations start from: ``"extreme"`` the
        pixel farthest from the mean, then in turn the pixel farthest from the affine
        hull of those chosen (independent of the order of the pixels); ``"random"``
        random pixels drawn with ``random_state``.
    random_state : None, int or numpy.random.Generator
        Seed of the random N-FINDR start (unused with ``init="extreme"``).

    Attributes
    ----------
    endmembers_ : ndarray, shape (n_endmembers, n_features)
        The vertices of the simplex found, as spectra.
    volume_ : float
        (k−1)-dimensional volume of their simplex, as ``NFINDR.volume_``.
    n_iter_ : int
        ADMM iterations made.
    components_ : ndarray, shape (n_endmembers − 1, n_features)
        Principal axes of the affine subspace the simplex is sought in.
    mean_ : ndarray, shape (n_features,)
        The mean spectrum, the origin of that subspace.
    init_ : NFINDR
        The N-FINDR fit (in the subspace) the iterations started from.
    n_features_in_ : int

    See Also
    --------
    NFINDR : vertices among the pixels: needs pure pixels, no iterations to tune.
    BayesianUnmixing : samples endmembers and abundances, with credible intervals.
    fcls : the abundances on given endmembers; ``transform`` uses it.
    simplex_projection : a picture of the data and of the simplex found.

    Notes
    -----
    The data are reduced by PCA to the (k−1)-dimensional affine subspace of the
    simplex and whitened there, y_n (n = 1..N). A simplex with vertices m_1..m_k is
    written through the inverse Q of the k × k matrix [[1, …, 1], [m_1, …, m_k]]:
    the barycentric coordinates (abundances) of a point are a = Q [1; y], they sum to
    one because 1ᵀQ = e_1ᵀ, and the volume is proportional to 1/|det Q|. SISAL
    (Bioucas-Dias 2009) minimizes

        −log |det Q| + λ Σ_n Σ_i max(−(Q [1; y_n])_i, 0)   subject to 1ᵀQ = e_1ᵀ,

    here with λ = (k − 1) / (``regularization`` · N): moving a facet outward by δ (in
    barycentric units) scales the simplex by 1 + δ about the opposite vertex, which
    grows the log-volume by (k − 1) δ, and removes about λ δ of penalty for each pixel
    outside the facet, so the two balance when ``regularization`` · N pixels lie
    outside it. As in the paper, the problem is split with Z = Q Ỹ (Ỹ the pixels in
    homogeneous coordinates) and solved by ADMM, with −log |det Q| linearized at the
    current Q (gradient −Q⁻ᵀ). Each iteration: Q solves a least-squares problem under
    the linear constraint (closed form: Ỹ Ỹᵀ = N·I after whitening), Z is the
    proximal map of the hinge (soft threshold λ/μ on the negative side), and the scaled
    multipliers are updated; μ = 10⁴ / N. The start is N-FINDR's simplex in the
    subspace (SISAL starts from VCA's, another pure-pixel method).

    The whole problem is affine-invariant (barycentric coordinates do not change under
    an affine map, and the log-volume changes by a constant), so the result does not
    depend on the units or offset of the data; it does depend on the noise through
    ``regularization``. MVSA (Li & Bioucas-Dias 2008) is the same problem with hard
    constraints a ≥ 0, which noise makes too large a simplex.

    References
    ----------
    J. M. Bioucas-Dias, "A variable splitting augmented Lagrangian approach to linear
    spectral unmixing", WHISPERS 2009, doi:10.1109/WHISPERS.2009.5289072,
    arXiv:0904.4635.
    J. Li and J. M. Bioucas-Dias, "Minimum volume simplex analysis: a fast algorithm to
    unmix hyperspectral data", IGARSS 2008, vol. 3, p. III-250.

    Examples
    --------
    Binary mixtures only (every pixel on an edge of the triangle), no pure pixel:

    >>> import numpy as np
    >>> from lectlib.metrics import match_components
    >>> from lectlib.unmixing import MinimumVolume, NFINDR
    >>> rng = np.random.default_rng(0)
    >>> W = rng.uniform(0, 1, (3, 20))
    >>> t = rng.uniform(0.1, 0.9, 300)
    >>> pair = rng.integers(0, 3, 300)
    >>> A = np.zeros((300, 3))
    >>> A[np.arange(300), pair] = t
    >>> A[np.arange(300), (pair + 1) % 3] = 1 - t
    >>> model = MinimumVolume(3).fit(A @ W)
    >>> bool(match_components(model.endmembers_, W).angles.max() < 0.1)
    True
    >>> nfindr = NFINDR(3, random_state=0).fit(A @ W)
    >>> bool(match_components(nfindr.endmembers_, W).angles.max() > 1.0)
    True
    >>> bool(np.allclose(model.transform(A @ W).sum(axis=1), 1))
    True
    """

    def __init__(
        self,
        n_endmembers=3,
        *,
        regularization=None,
        max_iter=10000,
        tol=1e-5,
        init="extreme",
        random_state=None,
    ):
        self.n_endmembers = n_endmembers
        self.regularization = regularization
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    #: μ · n_samples, the ADMM's penalty parameter (chosen on the course's data: the
    #: iterations needed change little between 1e3 and 1e5).
    _MU = 1e4

    def fit(self, X, y=None):
        X, scale = validate_estimator_input(self, X, reset=True, return_scale=True)
        k = check_scalar(self.n_endmembers, "n_endmembers", low=2, integer=True)
        if self.regularization is None:
            rho = None
        else:
            rho = check_scalar(
                self.regularization,
                "regularization",
                low=0.0,
                high=1.0,
                low_inclusive=False,
            )
        max_iter = check_scalar(self.max_iter, "max_iter", low=1, integer=True)
        tol = check_scalar(self.tol, "tol", low=0.0, low_inclusive=False)
        check_option(self.init, "init", ("extreme", "random"))
        rng = check_random_state(self.random_state)
        n, c = X.shape
        if k > n:
            raise ValueError(
                f"n_endmembers={k} exceeds the number of pixels, n_samples = {n}"
            )
        if k - 1 > c:
            raise ValueError(
                f"n_endmembers={k} needs {k - 1} dimensions but the data have "
                f"n_features = {c}"
            )
        if scale == 0:
            raise ValueError("X is all zeros: its pixels span no simplex")
        # The affine subspace of the simplex: mean and k - 1 principal axes, computed
        # on data of largest magnitude 1; whitened coordinates there.
        mean = X.mean(axis=0)
        V, weakest = NFINDR._axes((X - mean) / scale, k)
        if weakest <= 1e-12:
            raise ValueError(
                f"the data span fewer than n_endmembers - 1 = {k - 1} dimensions: "
                "no simplex with volume exists; use fewer components"
            )
        Y = (X - mean) @ V.T
        spread = np.sqrt(np.mean(Y**2, axis=0))
        Y /= spread
        Yh = np.vstack([np.ones(n), Y.T])  # (k, n), homogeneous; Yh Yhᵀ = n I
        if self.init == "extreme":
            start = _farthest_points(Y, k)
        else:
            start = "random"
        self.init_ = NFINDR(k, init=start, random_state=rng).fit(Y)
        Q = np.linalg.inv(np.vstack([np.ones(k), self.init_.endmembers_.T]))

        # The hinge weight: (k - 1) / (rho n) leaves about rho n pixels outside each
        # facet (see Notes); the default rho = 1 / n, about one pixel.
        lam = (k - 1.0) if rho is None else (k - 1.0) / (rho * n)
        mu = self._MU / n
        threshold = lam / mu
        gram = Yh @ Yh.T
        gram_inv = np.linalg.inv(gram)
        A = Q @ Yh
        Z = A.copy()
        D = np.zeros_like(A)
        n_iter = 0
        converged = False
        for n_iter in range(1, max_iter + 1):
            # Q: least squares to Z + D with the linearized -log|det Q|, under the
            # constraint 1ᵀQ = e_1ᵀ (a Lagrange multiplier per column, closed form).
            R = (Z + D) @ Yh.T + np.linalg.inv(Q).T / mu
            R -= (R.sum(axis=0) - gram[0]) / k
            Q_new = R @ gram_inv
            A = Q_new @ Yh
            # Z: proximal map of the hinge max(-z, 0) with weight lam / mu.
            W = A - D
            Z = np.where(W >= 0, W, np.minimum(W + threshold, 0.0))
            D -= A - Z
            change = np.linalg.norm(Q_new - Q) / np.linalg.norm(Q_new)
            Q = Q_new
            if not np.all(np.isfinite(Q)):  # pragma: no cover (a safeguard)
                raise ValueError(
                    "the iterations diverged: check the data or increase regularization"
                )
            if change < tol:
                converged = True
                break
        if not converged:
            warnings.warn(
                f"MinimumVolume did not converge in max_iter={max_iter} iterations "
                f"(last relative change {change:.2g} > tol={tol:g})",
                ConvergenceWarning,
                stacklevel=2,
            )
        vertices = np.linalg.inv(Q)[1:].T * spread  # (k, k - 1) in PCA coordinates
        self.endmembers_ = mean + vertices @ V
        self.volume_ = _simplex_volume(self.endmembers_, scale)
        self.n_iter_ = n_iter
        self.components_ = V
        self.mean_ = mean
        return self

    def transform(self, X):
        """Fully constrained abundances of each spectrum on the endmembers found."""
        check_is_fitted(self)
        X = validate_estimator_input(self, X, reset=False)
        return fcls(X, self.endmembers_)


def _truncated_normal(mean, std, low, high, rng):
    """Draws from N(mean, std²) truncated to [low, high], elementwise (``low`` where the
    interval is empty).

    Inverse-CDF sampling with one uniform draw per element, as ``scipy.stats.truncnorm``
    draws, without its per-call overhead (the Gibbs sampler calls this thousands of
    times on small arrays).
    """
    mean, low, high = np.broadcast_arrays(mean, low, high)
    out = np.array(low, dtype=float, copy=True)
    room = high > low
    if np.any(room):
        m, lo, hi = mean[room], low[room], high[room]
        s = np.broadcast_to(std, mean.shape)[room]
        u = rng.uniform(size=m.shape)
        out[room] = m + s * _truncated_standard_ppf(u, (lo - m) / s, (hi - m) / s)
    return out


def _truncated_standard_ppf(q, a, b):
    """Quantile ``q`` of the standard normal truncated to [a, b] (a < b), elementwise.

    Computed in log space on the left of 0, where log Φ is accurate far into the tail:
    an interval right of 0 is mirrored (quantile q of [a, b] is minus quantile 1 - q of
    [-b, -a]). Φ⁻¹ of log((1 - q) Φ(a) + q Φ(b)), clipped to [a, b].
    """
    flip = a > 0
    lo, hi = np.where(flip, -b, a), np.where(flip, -a, b)
    q = np.where(flip, 1 - q, q)
    with np.errstate(divide="ignore"):  # q = 0 or 1: log 0 = -inf picks one bound
        log_p = np.logaddexp(
            special.log_ndtr(lo) + np.log1p(-q), special.log_ndtr(hi) + np.log(q)
        )
    x = np.clip(special.ndtri_exp(log_p), lo, hi)
    return np.where(flip, -x, x)


class BayesianUnmixing(TransformerMixin, BaseEstimator):
    """Bayesian linear unmixing by Gibbs sampling, after Dobigeon et al. (2009).

    The model: x_n = Eᵀ a_n + ε_n with Gaussian noise of variance σ², abundances a_n on
    the simplex with a uniform (Dirichlet(1)) prior, non-negative endmembers with a flat
    prior, and Jeffreys' prior on σ². The posterior means are the estimates; the 2.5 and
    97.5 percentiles of the samples give 95 % credible intervals.

    The intervals are those of the model. Likelihood and prior treat the pixels as
    exchangeable: permuting the pixels permutes the posterior, so the spatial layout of
    the abundances (smooth maps or independent pixels) cannot change how often the
    intervals hold the truth. What changes it is where the pixels lie in the simplex.
    With a uniform prior on every pixel's abundances, each pixel's likelihood carries a
    factor 1/(simplex volume), so the posterior favors the smallest simplex that holds
    the data up to the noise (a minimum-volume pull, as in :class:`MinimumVolume`). How
    far that pull moves the endmembers inside the noisy cloud depends on how many
    pixels lie near each vertex and facet, i.e. on the histogram of the abundances over
    the simplex; when it is far from the uniform prior (few pixels near the vertices),
    the abundances carry a bias as large as their posterior width and the intervals
    hold the truth less often than their nominal 95 % (chapter 4 measures this).

    Parameters
    ----------
    n_endmembers : int, default=3
        Number of endmembers p (at least 2).
    n_samples : int, default=300
        Gibbs iterations kept after burn-in.
    burn_in : int, default=100
        Iterations discarded first.
    sample_endmembers : bool, default=True
        Sample the endmembers too (otherwise they stay at their N-FINDR values).
    random_state : None, int or numpy.random.Generator
        Seed of the N-FINDR start and of the chain.

    Attributes
    ----------
    endmembers_ : ndarray, shape (n_endmembers, n_features)
        Posterior mean of the endmembers.
    endmembers_interval_ : ndarray, shape (2, n_endmembers, n_features)
        95 % credible interval of each endmember value.
    abundances_ : ndarray, shape (n_samples_fit, n_endmembers)
        Posterior mean abundances of the training spectra.
    abundances_interval_ : ndarray, shape (2, n_samples_fit, n_endmembers)
        Their 95 % credible intervals.
    abundances_std_ : ndarray, shape (n_samples_fit, n_endmembers)
        Posterior standard deviations.
    noise_variance_ : float
        Posterior mean of σ².
    init_ : NFINDR
        The N-FINDR fit the chain started from.
    n_iter_ : int
        Total Gibbs iterations.
    n_features_in_ : int

    See Also
    --------
    NFINDR : the point estimate of the endmembers this starts from, without intervals.
    fcls : abundances for given endmembers, without intervals; ``transform`` uses it.
    lectlib.regression.fit_known_endmembers : known endmembers and no sum-to-one.

    Notes
    -----
    Every full conditional is simple, so a Gibbs sampler draws from the joint posterior
    (Dobigeon et al. 2009):

    * abundances, one coordinate at a time against the last one (which keeps the sum at
      one): a Gaussian truncated to the interval that keeps both non-negative — for all
      pixels at once;
    * each endmember, all channels at once: a Gaussian truncated to non-negative values;
    * σ²: an inverse-gamma distribution, IG(n c / 2, ‖R‖² / 2), for n pixels of c
      channels with residuals R.

    The chain starts from N-FINDR and FCLS. Unlike Dobigeon et al., who sample the
    endmembers in a PCA subspace, the endmembers are sampled channel by channel here.
    The kept abundance samples are stored in single precision,
    ``n_samples × n_samples_fit × n_endmembers × 4`` bytes.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.unmixing import BayesianUnmixing
    >>> rng = np.random.default_rng(1)
    >>> W = rng.uniform(0.2, 1.0, (3, 15))
    >>> A = np.vstack([np.eye(3), rng.dirichlet([1, 1, 1], 150)])
    >>> X = A @ W + 0.01 * rng.standard_normal((153, 15))
    >>> model = BayesianUnmixing(3, n_samples=100, burn_in=50, random_state=0).fit(X)
    >>> model.abundances_.shape, bool(np.allclose(model.abundances_.sum(axis=1), 1))
    ((153, 3), True)
    >>> low, high = model.abundances_interval_
    >>> a = model.abundances_
    >>> bool(np.all(low <= a + 1e-6) and np.all(a <= high + 1e-6))
    True
    """

    def __init__(
        self,
        n_endmembers=3,
        *,
        n_samples=300,
        burn_in=100,
        sample_endmembers=True,
        random_state=None,
    ):
        self.n_endmembers = n_endmembers
        self.n_samples = n_samples
        self.burn_in = burn_in
        self.sample_endmembers = sample_endmembers
        self.random_state = random_state

    def fit(self, X, y=None):
        X = validate_estimator_input(self, X, reset=True)
        p = check_scalar(self.n_endmembers, "n_endmembers", low=2, integer=True)
        n_keep = check_scalar(self.n_samples, "n_samples", low=1, integer=True)
        burn = check_scalar(self.burn_in, "burn_in", low=0, integer=True)
        rng = check_random_state(self.random_state)
        n, c = X.shape
        if burn + n_keep > MAX_ITERATIONS:
            raise ValueError(
                f"burn_in + n_samples = {burn + n_keep} iterations: at most "
                f"{MAX_ITERATIONS} are run"
            )
        check_size(
            n_keep * n * (p + c), "the kept samples (n_samples x pixels x endmembers)"
        )
        self.init_ = NFINDR(p, random_state=rng).fit(X)
        E = self.init_.endmembers_.copy()
        if self.sample_endmembers:
            E = np.maximum(E, 0.0)
        A = fcls(X, E)
        R = X - A @ E
        sigma2 = max(float(np.mean(R**2)), 1e-12 * float(np.mean(X**2)) + 1e-300)

        total = burn + n_keep
        kept_A = np.empty((n_keep, n, p), dtype=np.float32)
        kept_E = np.empty((n_keep, p, c))
        kept_s2 = np.empty(n_keep)
        last = p - 1
        for it in range(total):
            # Abundances: move a_j against a_last along d = e_j − e_last
            # (the sum stays 1).
            for j in range(p - 1):
                d = E[j] - E[last]
                dd = float(d @ d)
                if dd <= 0:
                    continue
                step_mean = (R @ d) / dd  # least-squares move of a_j
                room = A[:, j] + A[:, last]
                new = _truncated_normal(
                    A[:, j] + step_mean, np.sqrt(sigma2 / dd), 0.0, room, rng
                )
                delta = new - A[:, j]
                A[:, j] = new
                A[:, last] = room - new
                R -= np.outer(delta, d)
            if self.sample_endmembers:
                for j in range(p):
                    aa = float(A[:, j] @ A[:, j])
                    if aa <= 0:
                        continue
                    mean = E[j] + (A[:, j] @ R) / aa
                    low = np.zeros(c)
                    new = _truncated_normal(
                        mean, np.sqrt(sigma2 / aa), low, np.inf, rng
                    )
                    R -= np.outer(A[:, j], new - E[j])
                    E[j] = new
            ssr = float(np.sum(R**2))
            sigma2 = ssr / 2.0 / rng.gamma(n * c / 2.0)
            if it >= burn:
                kept_A[it - burn] = A
                kept_E[it - burn] = E
                kept_s2[it - burn] = sigma2

        self.abundances_ = kept_A.mean(axis=0, dtype=np.float64)
        self.abundances_std_ = kept_A.std(axis=0, dtype=np.float64)
        self.abundances_interval_ = np.percentile(kept_A, [2.5, 97.5], axis=0).astype(
            np.float64
        )
        self.endmembers_ = kept_E.mean(axis=0)
        self.endmembers_interval_ = np.percentile(kept_E, [2.5, 97.5], axis=0)
        self.noise_variance_ = float(kept_s2.mean())
        self.n_iter_ = total
        return self

    def transform(self, X):
        """Fully constrained abundances on the posterior-mean endmembers."""
        check_is_fitted(self)
        X = validate_estimator_input(self, X, reset=False)
        return fcls(X, self.endmembers_)
