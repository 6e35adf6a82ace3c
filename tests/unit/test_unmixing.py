"""Unit and property tests of lectlib.unmixing (N-FINDR, FCLS, Bayesian unmixing), of
the active-set engine in lectlib._active_set and of lectlib.plotting.plot_simplex.

Expected values are built independently of the implementation: hand-made simplices whose
vertices and barycentric coordinates are known by construction, the intrinsic volume of
a simplex from its Gram determinant, brute-force determinants (one per pixel), an exact
quadratic-programming reference that enumerates every support set and solves its KKT
system, the closed-form Euclidean projection onto the probability simplex,
scipy.optimize (nnls, SLSQP), scipy.spatial.ConvexHull and the analytic Gaussian
posterior of the linear model.
"""

from __future__ import annotations

import itertools
import math
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from scipy import optimize  # noqa: E402
from scipy.spatial import ConvexHull  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from helpers import FAST, SEEDS, run_estimator_checks, well_conditioned  # noqa: E402

from lectlib._active_set import active_set  # noqa: E402
from lectlib.datasets import make_mixture  # noqa: E402
from lectlib.metrics import abundance_rmse, match_components  # noqa: E402
from lectlib.plotting import plot_simplex  # noqa: E402
from lectlib.unmixing import NFINDR, BayesianUnmixing, fcls  # noqa: E402


# The default max_iter of the active-set method must suffice: a ConvergenceWarning is an
# error unless a test asks for it with pytest.warns.
pytestmark = [
    pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.usefixtures("close_figures"),
]


# --------------------------------------------------------------------------- references


def _affinely_well_conditioned(rng, k, c, max_cond=1e3):
    """Random vertices (k, c) whose edge vectors v_i − v_0 are well conditioned."""
    for _ in range(200):
        W = rng.uniform(0.0, 1.0, (k, c))
        if k == 1 or np.linalg.cond(W[1:] - W[0]) < max_cond:
            return W
    raise AssertionError(
        "could not draw a well-conditioned simplex"
    )  # pragma: no cover


def _simplex_volume(V):
    """(k−1)-dimensional volume of the simplex with vertices V (k, c), from the Gram
    determinant of its edges: √det(D Dᵀ) / (k−1)!, independent of any coordinate
    system."""
    D = V[1:] - V[0]
    return math.sqrt(abs(np.linalg.det(D @ D.T))) / math.factorial(V.shape[0] - 1)


def _exact_simplex(rng, k, c, n_inside, concentration=1.0, margin=0.05):
    """Pixels = the k vertices of a random simplex plus Dirichlet mixtures strictly
    inside it (every abundance ≥ margin / k), shuffled. Returns X, vertices W, the
    vertices' row indices (in the order of W) and the true abundances of every pixel
    (n, k)."""
    W = _affinely_well_conditioned(rng, k, c)
    inside = (1 - margin) * rng.dirichlet(
        np.full(k, concentration), n_inside
    ) + margin / k
    A = np.vstack([np.eye(k), inside])
    perm = rng.permutation(A.shape[0])
    A = A[perm]
    vertex_rows = np.array([np.flatnonzero(perm == i)[0] for i in range(k)])
    return A @ W, W, vertex_rows, A


def _fcls_reference(x, E):
    """Exact minimiser of ‖x − Eᵀa‖² subject to a ≥ 0, Σa = 1,
    by enumerating every support set.

    For each non-empty S the equality-constrained least squares on S is the bordered
    (KKT) system [[E_S E_Sᵀ, 1], [1ᵀ, 0]] [a_S; μ] = [E_S x; 1]. Among the solutions
    with a_S ≥ 0 the one with the smallest residual is the optimum of the
    (strictly convex) QP: the optimum is the equality-constrained solution on its own
    support, and every candidate is feasible.
    """
    k = E.shape[0]
    best, best_res = None, np.inf
    for m in range(1, k + 1):
        for S in itertools.combinations(range(k), m):
            S = list(S)
            ES = E[S]
            K = np.ones((m + 1, m + 1))
            K[:m, :m] = ES @ ES.T
            K[m, m] = 0.0
            sol = np.linalg.solve(K, np.append(ES @ x, 1.0))
            a_S = sol[:m]
            if np.any(a_S < -1e-12):
                continue
            a = np.zeros(k)
            a[S] = np.maximum(a_S, 0.0)
            res = float(np.sum((x - a @ E) ** 2))
            if res < best_res:
                best, best_res = a, res
    return best


def _project_to_probability_simplex(v):
    """Euclidean projection onto {a ≥ 0, Σa = 1}
    (the sort-and-threshold closed form)."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u)
    j = np.arange(1, v.size + 1)
    rho = np.flatnonzero(u - (css - 1) / j > 0)[-1]
    theta = (css[rho] - 1) / (rho + 1)
    return np.maximum(v - theta, 0.0)


def _pca_axes(X, n):
    """Top-n principal axes from the SVD of the centered data (an independent PCA)."""
    mean = X.mean(axis=0)
    _, _, Vt = np.linalg.svd(X - mean, full_matrices=False)
    return mean, Vt[:n]


def _brute_force_nfindr(Y, idx, max_iter):
    """N-FINDR written the slow way: for each vertex j, the determinant of the
    homogeneous matrix with column j replaced by every pixel, one np.linalg.det per
    pixel."""
    n, p = Y.shape[0], len(idx)
    H = np.vstack([np.ones(n), Y.T])
    idx = list(idx)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        swapped = False
        for j in range(p):
            base = abs(np.linalg.det(H[:, idx]))
            vols = np.empty(n)
            for i in range(n):
                M = H[:, idx].copy()
                M[:, j] = H[:, i]
                vols[i] = abs(np.linalg.det(M))
            best = int(np.argmax(vols))
            if vols[best] > base * (1 + 1e-9):
                idx[j] = best
                swapped = True
        if not swapped:
            break
    return np.array(idx), n_iter


# ------------------------------------------------------------- N-FINDR: exact simplices


@settings(deadline=None, max_examples=40)
@given(
    seed=SEEDS,
    k=st.integers(2, 6),
    extra=st.integers(0, 10),
    n_inside=st.integers(0, 80),
    concentration=st.sampled_from([0.5, 1.0, 4.0]),
    scale=st.floats(1.0, 100.0),
    fit_seed=st.integers(0, 2**31 - 1),
)
def test_nfindr_finds_the_vertices_of_an_exact_simplex(
    seed, k, extra, n_inside, concentration, scale, fit_seed
):
    # scales below one: see test_nfindr_is_scale_equivariant (kept out of here so that
    # this property test does not fail at random on that separate, deterministic
    # finding)
    rng = np.random.default_rng(seed)
    c = k + extra
    X, W, vertex_rows, A = _exact_simplex(rng, k, c, n_inside, concentration)
    X, W = scale * X, scale * W
    model = NFINDR(k, random_state=fit_seed).fit(X)

    assert set(model.indices_.tolist()) == set(vertex_rows.tolist())
    np.testing.assert_array_equal(model.endmembers_, X[model.indices_])
    assert 1 <= model.n_iter_ <= model.max_iter
    assert model.n_features_in_ == c
    # the volume is the simplex's own (k−1)-volume: the PCA axes are orthonormal and,
    # for an exact simplex, span its affine hull.
    assert model.volume_ == pytest.approx(_simplex_volume(W), rel=1e-6)
    # ... and the homogeneous determinant of the true vertices
    # in an independent PCA basis
    mean, V = _pca_axes(X, k - 1)
    M = np.vstack([np.ones(k), ((W - mean) @ V.T).T])
    assert model.volume_ == pytest.approx(
        abs(np.linalg.det(M)) / math.factorial(k - 1), rel=1e-6
    )
    # the principal axes are orthonormal and span the same subspace as the SVD's
    assert model.components_.shape == (k - 1, c)
    np.testing.assert_allclose(
        model.components_ @ model.components_.T, np.eye(k - 1), atol=1e-5
    )
    np.testing.assert_allclose(
        model.components_.T @ model.components_, V.T @ V, atol=2e-3
    )

    # transform: the barycentric coordinates of every pixel,
    # columns in the order of indices_
    column_of = {int(row): i for i, row in enumerate(vertex_rows)}
    expected = A[:, [column_of[int(row)] for row in model.indices_]]
    np.testing.assert_allclose(model.transform(X), expected, atol=1e-10)

    # deterministic given random_state; another seed finds the same vertices
    again = NFINDR(k, random_state=fit_seed).fit(X)
    np.testing.assert_array_equal(again.indices_, model.indices_)
    assert again.volume_ == model.volume_
    other = NFINDR(k, random_state=fit_seed + 1).fit(X)
    assert set(other.indices_.tolist()) == set(vertex_rows.tolist())


@FAST
@given(seed=SEEDS, p=st.integers(2, 6), n=st.integers(1, 40))
def test_volume_ratio_is_linear_in_the_swapped_column(seed, p, n):
    """|inv(M)[j] @ h| = |det(M with column j replaced by h)| / |det M| for every pixel
    h: the determinant is linear in one column (Cramer's rule), which N-FINDR's swap
    step relies on."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        M = np.vstack([np.ones(p), rng.normal(size=(p - 1, p))])
        if np.linalg.cond(M) < 1e3:
            break
    H = np.vstack([np.ones(n), 3 * rng.normal(size=(p - 1, n))])
    inv = np.linalg.inv(M)
    det_M = np.linalg.det(M)
    for j in range(p):
        fast = np.abs(inv[j] @ H)
        brute = np.empty(n)
        for i in range(n):
            Mi = M.copy()
            Mi[:, j] = H[:, i]
            brute[i] = abs(np.linalg.det(Mi)) / abs(det_M)
        np.testing.assert_allclose(fast, brute, rtol=1e-8, atol=1e-10)
        # the vertex itself gives ratio one
        np.testing.assert_allclose(np.abs(inv[j] @ M), np.eye(p)[j], atol=1e-10)


@pytest.mark.parametrize("p", [3, 4, 5])
@pytest.mark.parametrize("max_iter", [1, 2, 20])
def test_nfindr_swaps_match_brute_force_determinants(p, max_iter):
    """On a noisy cloud (no exact simplex), every pass of N-FINDR makes the same swaps
    as the brute-force determinant search in an independent PCA of the data."""
    rng = np.random.default_rng(100 + p)
    n, c = 70, 12
    latent = rng.normal(size=(n, p - 1)) * np.linspace(6.0, 3.0, p - 1)
    X = latent @ np.linalg.qr(rng.normal(size=(c, p - 1)))[0].T + 0.05 * rng.normal(
        size=(n, c)
    )
    mean, V = _pca_axes(X, p - 1)
    Y = (X - mean) @ V.T
    init = rng.choice(n, size=p, replace=False)
    ref_idx, ref_iter = _brute_force_nfindr(Y, init, max_iter)
    model = NFINDR(p, init=init, max_iter=max_iter).fit(X)
    np.testing.assert_array_equal(model.indices_, ref_idx)
    assert model.n_iter_ == ref_iter
    # volume_ is the vertex spectra's own simplex volume
    # (Gram determinant of the edges) ...
    edges = X[ref_idx[1:]] - X[ref_idx[0]]
    own = np.sqrt(np.linalg.det(edges @ edges.T)) / math.factorial(p - 1)
    assert model.volume_ == pytest.approx(own, rel=1e-10)
    # ... of which the volume in the PCA space is a projection, so no larger
    H = np.vstack([np.ones(n), Y.T])
    assert abs(np.linalg.det(H[:, ref_idx])) / math.factorial(
        p - 1
    ) <= model.volume_ * (1 + 1e-12)
    if max_iter == 20:
        assert 2 <= ref_iter < 20  # swaps happened, then no single swap grew the volume
        assert set(ref_idx.tolist()) != set(init.tolist())


@pytest.mark.parametrize("k", [3, 4, 6])
@pytest.mark.parametrize("scale", [1e-3, 1e-2, 1.0, 1e3])
def test_nfindr_is_scale_equivariant(k, scale):
    """Multiplying the data by s changes no vertex and multiplies the volume by s^(k−1).

    Fails for small data: the "spans no volume" test compares det(H[:, idx] / max|H|)
    with 1e-10, and max|H| ≥ 1 because of the row of ones in H, so for data with values
    below one the normalized determinant shrinks like s^(k−1) and a perfectly good
    simplex is refused ("the data span fewer than n_endmembers - 1 dimensions" or, with
    init, "the initial pixels span no volume")."""
    rng = np.random.default_rng(20 + k)
    X, W, vertex_rows, _ = _exact_simplex(rng, k, 30, 200)
    model = NFINDR(k, random_state=0).fit(scale * X)
    assert set(model.indices_.tolist()) == set(vertex_rows.tolist())
    assert model.volume_ == pytest.approx(
        scale ** (k - 1) * _simplex_volume(W), rel=1e-6
    )
    interior = np.setdiff1d(np.arange(X.shape[0]), vertex_rows)[:k]
    model = NFINDR(k, init=interior).fit(scale * X)
    assert set(model.indices_.tolist()) == set(vertex_rows.tolist())


@pytest.mark.parametrize("k", [3, 4, 6])
@pytest.mark.parametrize("offset", [100.0, 1000.0])
def test_nfindr_is_shift_invariant(k, offset):
    """Adding one spectrum b to every pixel (a background) moves the simplex without
    changing its shape: same vertices, same volume, same abundances.

    Fails while the data are projected without centering: max|H| then grows with ‖b‖
    while the determinant does not, so the normalized-determinant test (< 1e-10) refuses
    the simplex ("the data span fewer than n_endmembers - 1 dimensions"). With centering
    the vertices are found, but transform (FCLS) is off by up to 0.02 at offset 1000
    (see test_fcls_is_shift_invariant)."""
    rng = np.random.default_rng(20 + k)
    X, W, vertex_rows, A = _exact_simplex(rng, k, 30, 200)
    b = offset * np.random.default_rng(1).uniform(0.5, 1.5, 30)
    model = NFINDR(k, random_state=0).fit(X + b)
    assert set(model.indices_.tolist()) == set(vertex_rows.tolist())
    assert model.volume_ == pytest.approx(_simplex_volume(W), rel=1e-6)
    column_of = {int(row): i for i, row in enumerate(vertex_rows)}
    np.testing.assert_allclose(
        model.transform(X + b),
        A[:, [column_of[int(r)] for r in model.indices_]],
        atol=1e-8,
    )


def test_nfindr_with_as_many_pixels_as_endmembers():
    X = np.array([[0.0, 0.0, 1.0, 2.0], [3.0, 0.0, 1.0, 2.0], [0.0, 4.0, 1.0, 2.0]])
    model = NFINDR(3, random_state=0).fit(X)
    assert sorted(model.indices_.tolist()) == [0, 1, 2]
    assert model.volume_ == pytest.approx(
        6.0, rel=1e-12
    )  # right triangle with legs 3 and 4
    assert model.n_iter_ == 1


# ------------------------------------------------------------------------ N-FINDR: init


def test_nfindr_init_as_indices():
    rng = np.random.default_rng(1)
    X, W, vertex_rows, _ = _exact_simplex(rng, 4, 10, 60)
    # starting at the vertices: nothing to swap, one pass, order kept
    model = NFINDR(4, init=vertex_rows).fit(X)
    np.testing.assert_array_equal(model.indices_, vertex_rows)
    assert model.n_iter_ == 1
    # starting from interior pixels (a list is fine): swaps lead to the vertices
    interior = [i for i in range(X.shape[0]) if i not in set(vertex_rows.tolist())]
    init = list(rng.choice(interior, size=4, replace=False))
    before = list(init)
    model = NFINDR(4, init=init).fit(X)
    assert set(model.indices_.tolist()) == set(vertex_rows.tolist())
    assert model.n_iter_ >= 2
    assert init == before  # the parameter is not modified
    # init makes random_state irrelevant
    np.testing.assert_array_equal(
        NFINDR(4, init=init, random_state=5).fit(X).indices_, model.indices_
    )


def test_nfindr_bad_init_raises():
    rng = np.random.default_rng(2)
    X, _, vertex_rows, _ = _exact_simplex(rng, 3, 6, 20)
    n = X.shape[0]
    with pytest.raises(ValueError, match=r"init must hold 3 pixel indices"):
        NFINDR(3, init=[0, 1]).fit(X)
    with pytest.raises(ValueError, match=r"init must hold 3 pixel indices"):
        NFINDR(3, init=[0.0, 1.0, 2.0]).fit(X)
    with pytest.raises(ValueError, match=r"init must hold 3 pixel indices"):
        NFINDR(3, init=[[0, 1, 2]]).fit(X)
    with pytest.raises(ValueError, match=rf"3 distinct values in \[0, {n}\)"):
        NFINDR(3, init=[0, 1, n]).fit(X)
    with pytest.raises(ValueError, match=rf"3 distinct values in \[0, {n}\)"):
        NFINDR(3, init=[-1, 1, 2]).fit(X)
    with pytest.raises(ValueError, match=rf"3 distinct values in \[0, {n}\)"):
        NFINDR(3, init=[1, 1, 2]).fit(X)
    with pytest.raises(ValueError, match=r"init must be 'random' or p pixel indices"):
        NFINDR(3, init="kmeans").fit(X)


def test_nfindr_refuses_an_initial_simplex_without_volume():
    """Two vertices and their midpoint span no area. (Fails while the projection is done
    in single precision: its rounding gives the three collinear pixels a normalized
    determinant ~1e-8, above the 1e-10 threshold.)"""
    rng = np.random.default_rng(2)
    X, _, vertex_rows, _ = _exact_simplex(rng, 3, 6, 20)
    n = X.shape[0]
    line = np.vstack([X, 0.5 * (X[vertex_rows[0]] + X[vertex_rows[1]])])
    with pytest.raises(ValueError, match=r"the initial pixels span no volume"):
        NFINDR(3, init=[vertex_rows[0], vertex_rows[1], n]).fit(line)


def test_nfindr_bad_input_raises():
    rng = np.random.default_rng(3)
    X, _, _, _ = _exact_simplex(rng, 3, 6, 20)
    with pytest.raises(
        ValueError, match=r"n_endmembers=5 exceeds the number of pixels, n_samples = 4"
    ):
        NFINDR(5).fit(X[:4])
    with pytest.raises(
        ValueError,
        match=r"n_endmembers=4 needs 3 dimensions but the data have n_features = 2",
    ):
        NFINDR(4).fit(X[:, :2])
    nan = X.copy()
    nan[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN"):
        NFINDR(3).fit(nan)
    with pytest.raises(ValueError, match=r"n_endmembers must be >= 2"):
        NFINDR(1).fit(X)
    with pytest.raises(ValueError, match=r"max_iter must be >= 1"):
        NFINDR(3, max_iter=0).fit(X)
    # every pixel on one line: no tetrahedron has volume
    t = rng.uniform(0.0, 1.0, 50)
    on_line = np.outer(t, rng.uniform(size=8)) + rng.uniform(size=8)
    with pytest.raises(
        ValueError, match=r"span fewer than n_endmembers - 1 = 3 dimensions"
    ):
        NFINDR(4, random_state=0).fit(on_line)
    fitted = NFINDR(3, random_state=0).fit(X)
    with pytest.raises(
        ValueError, match=r"X has 5 features, but NFINDR is expecting 6"
    ):
        fitted.transform(X[:, :5])


def test_nfindr_refuses_a_tetrahedron_in_planar_data():
    """Pixels in a 2-D affine plane: a triangle is fine, a tetrahedron has no volume.

    Fails while the projection is done in single precision: the third principal axis is
    then float32 rounding noise, the 1e-10 threshold lets a random start through, and
    fit returns four "endmembers" with a volume of ~1e-17 (and misses one of the true
    vertices)."""
    rng = np.random.default_rng(3)
    in_plane, W, vertex_rows, _ = _exact_simplex(rng, 3, 8, 40)
    model = NFINDR(3, random_state=0).fit(in_plane)
    assert set(model.indices_.tolist()) == set(vertex_rows.tolist())
    with pytest.raises(ValueError, match=r"dimensions"):
        NFINDR(4, random_state=0).fit(in_plane)


def test_nfindr_transform_when_a_vertex_is_the_zero_spectrum():
    """A vacuum (all-zero) pixel is a perfectly good vertex: the three vertices below
    span a triangle of positive area, so every pixel has unique barycentric coordinates
    (the sum-to-one constraint makes FCLS invariant to a common shift of data and
    endmembers; it needs affinely, not linearly, independent endmembers). N-FINDR finds
    the vertices, and transform gives the barycentric coordinates."""
    rng = np.random.default_rng(4)
    W = np.vstack([np.zeros(5), rng.uniform(0.5, 1.5, (2, 5))])  # vacuum, two materials
    A = np.vstack([np.eye(3), 0.9 * rng.dirichlet([1.0, 1.0, 1.0], 40) + 0.1 / 3])
    X = A @ W
    model = NFINDR(3, random_state=0).fit(X)
    assert sorted(model.indices_.tolist()) == [0, 1, 2]
    assert model.volume_ == pytest.approx(_simplex_volume(W), rel=1e-8)
    np.testing.assert_allclose(model.transform(X), A[:, model.indices_], atol=1e-10)


# -------------------------------------------------------------- N-FINDR: noisy mixtures


def _nfindr_on_mixture(seed, n_pure, concentration):
    data = make_mixture(
        n_components=4,
        shape=(40, 40),
        n_channels=64,
        n_pure=n_pure,
        concentration=concentration,
        noise="gaussian",
        snr_db=30,
        random_state=seed,
    )
    X = data.cube.reshape(-1, 64)
    model = NFINDR(4, random_state=seed).fit(X)
    match = match_components(model.endmembers_, data.endmembers)
    abundances = fcls(data.cube, model.endmembers_[match.order])
    return match.angles, abundance_rmse(abundances, data.abundances)


@pytest.mark.parametrize("seed", [0, 1])
def test_nfindr_on_noisy_data_with_and_without_pure_pixels(seed):
    angles, rmse = _nfindr_on_mixture(seed, n_pure=1, concentration=1.0)
    # at 30 dB a pure pixel is itself about √(10⁻³) rad ≈ 1.8° away from its endmember
    assert angles.max() < 4.0, angles
    assert rmse < 0.02
    mixed_angles, mixed_rmse = _nfindr_on_mixture(seed, n_pure=0, concentration=5.0)
    # highly mixed pixels: the largest simplex among the pixels is
    # much smaller than the truth
    assert mixed_angles.min() > 3 * angles.max(), (mixed_angles, angles)
    assert mixed_angles.mean() > 10.0
    assert mixed_rmse > 5 * rmse


# --------------------------------------------------------------------------------- FCLS


@FAST
@given(
    seed=SEEDS,
    k=st.integers(1, 6),
    extra=st.integers(0, 8),
    n=st.integers(1, 20),
    cube=st.booleans(),
)
def test_fcls_gives_barycentric_coordinates_inside(seed, k, extra, n, cube):
    rng = np.random.default_rng(seed)
    E = well_conditioned(rng, k, k + extra)
    A = rng.dirichlet(np.ones(k), n)
    X = A @ E
    if cube:
        A, X = A.reshape(1, n, k), X.reshape(1, n, -1)
    np.testing.assert_allclose(fcls(X, E), A, rtol=0, atol=1e-10)


@FAST
@given(
    seed=SEEDS,
    k=st.integers(1, 5),
    extra=st.integers(0, 8),
    n=st.integers(1, 15),
    scale=st.floats(1e-3, 1e3),
    offset=st.floats(-3.0, 3.0),
)
def test_fcls_matches_the_enumerated_qp_optimum(seed, k, extra, n, scale, offset):
    rng = np.random.default_rng(seed)
    E = scale * well_conditioned(rng, k, k + extra)
    X = scale * (
        offset + 2.0 * rng.normal(size=(n, k + extra))
    )  # mostly outside the simplex
    a = fcls(X, E)
    assert a.shape == (n, k)
    assert np.all(a >= 0)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    ref = np.array([_fcls_reference(x, E) for x in X])
    np.testing.assert_allclose(a, ref, rtol=0, atol=1e-6)
    # and no feasible point fits better
    # (objective-level check, relative to the data scale)
    res = np.sum((X - a @ E) ** 2, axis=1)
    res_ref = np.sum((X - ref @ E) ** 2, axis=1)
    assert np.all(res <= res_ref + 1e-9 * np.sum(X**2, axis=1) + 1e-300)


@FAST
@given(
    seed=SEEDS,
    k=st.integers(1, 7),
    extra=st.integers(0, 5),
    n=st.integers(1, 25),
    scale=st.floats(1e-2, 1e2),
)
def test_fcls_with_orthonormal_endmembers_is_the_projection_onto_the_simplex(
    seed, k, extra, n, scale
):
    """With E = s Qᵀ (orthonormal columns of Q), ‖x − Eᵀa‖² = s²‖Qᵀx/s − a‖² + const, so
    FCLS is the Euclidean projection of Qᵀx/s onto the probability simplex
    (closed form)."""
    rng = np.random.default_rng(seed)
    c = k + extra
    Q = np.linalg.qr(rng.normal(size=(c, k)))[0]
    E = scale * Q.T
    X = scale * rng.normal(size=(n, c)) * rng.uniform(0.1, 3.0)
    expected = np.array([_project_to_probability_simplex(Q.T @ x / scale) for x in X])
    np.testing.assert_allclose(fcls(X, E), expected, rtol=0, atol=1e-9)


def test_fcls_outside_points_get_the_closest_point_of_the_simplex():
    """A triangle in the plane z = 1 of R³: points pushed out of a face or off a vertex
    get the coordinates of the foot of the perpendicular (computed by hand)."""
    E = np.array([[0.0, 0.0, 1.0], [4.0, 0.0, 1.0], [0.0, 4.0, 1.0]])
    X = np.array(
        [
            [1.0, -3.0, 1.0],  # below edge 0–1: closest point (1, 0) → (0.75, 0.25, 0)
            [
                3.0,
                3.0,
                5.0,
            ],  # beyond the hypotenuse, off the plane: foot (2, 2) → (0, ½, ½)
            [-2.0, -1.0, 1.0],  # beyond vertex 0
            [9.0, 1.0, -2.0],  # beyond vertex 1 (its normal cone)
            [1.0, 1.0, 7.0],  # above the interior: (1, 1) → (½, ¼, ¼)
        ]
    )
    expected = np.array(
        [
            [0.75, 0.25, 0.0],
            [0.0, 0.5, 0.5],
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.5, 0.25, 0.25],
        ]
    )
    np.testing.assert_allclose(fcls(X, E), expected, atol=1e-12)


@pytest.mark.parametrize("offset", [10.0, 100.0, 1000.0])
def test_fcls_is_shift_invariant(offset):
    """With Σa = 1, x − Eᵀa = (x + b) − (E + 1bᵀ)ᵀa: adding one spectrum b
    (a background) to the data and to every endmember changes no abundance. The
    enumerated reference, solving the same bordered KKT systems in double precision on
    the shifted problem, stays within ~1e-8 of the truth up to offset 1000; FCLS must
    too (to 1e-6).

    Fails at offset 1000: FCLS silently returns abundances off by up to 0.019
    (0.35 at offset 10⁴), e.g. one abundance of 0.0186 set to zero."""
    rng = np.random.default_rng(24)
    X, W, _, A = _exact_simplex(rng, 4, 30, 200)
    b = offset * np.random.default_rng(1).uniform(0.5, 1.5, 30)
    a = fcls(X + b, W + b)
    worst = np.argsort(np.abs(a - A).max(axis=1))[-3:]
    ref = np.array([_fcls_reference(x, W + b) for x in (X + b)[worst]])
    np.testing.assert_allclose(ref, A[worst], atol=1e-6)  # the problem is well posed
    np.testing.assert_allclose(a, A, atol=1e-6)


def test_fcls_agrees_with_slsqp():
    rng = np.random.default_rng(5)
    k, c = 4, 15
    E = np.abs(well_conditioned(rng, k, c)) + 0.1
    X = rng.dirichlet(np.full(k, 0.5), 8) @ E + 0.3 * rng.normal(size=(8, c))
    a = fcls(X, E)
    for x, ai in zip(X, a):
        result = optimize.minimize(
            lambda v: np.sum((x - v @ E) ** 2),
            np.full(k, 1.0 / k),
            jac=lambda v: -2 * E @ (x - v @ E),
            method="SLSQP",
            bounds=[(0.0, None)] * k,
            constraints=[
                {
                    "type": "eq",
                    "fun": lambda v: v.sum() - 1.0,
                    "jac": lambda v: np.ones(k),
                }
            ],
            options={"ftol": 1e-14, "maxiter": 500},
        )
        assert result.success, result.message
        np.testing.assert_allclose(ai, result.x, atol=1e-5)
        assert np.sum((x - ai @ E) ** 2) <= result.fun + 1e-10


def test_fcls_cube_in_cube_out():
    rng = np.random.default_rng(6)
    E = well_conditioned(rng, 3, 10)
    cube = rng.normal(size=(4, 5, 10))
    a = fcls(cube, E)
    assert a.shape == (4, 5, 3)
    np.testing.assert_array_equal(a.reshape(-1, 3), fcls(cube.reshape(-1, 10), E))
    ref = np.array([_fcls_reference(x, E) for x in cube.reshape(-1, 10)])
    np.testing.assert_allclose(a.reshape(-1, 3), ref, atol=1e-8)


def test_fcls_bad_input_raises():
    rng = np.random.default_rng(7)
    E = rng.uniform(0.5, 1.5, (3, 6))
    X = rng.uniform(0.0, 1.0, (10, 6))
    with pytest.raises(ValueError, match=r"endmembers have 6 channels but data have 5"):
        fcls(X[:, :5], E)
    # the third endmember is the midpoint of the others: linearly and affinely dependent
    with pytest.raises(ValueError, match=r"affinely dependent"):
        fcls(X, np.vstack([E[:2], 0.5 * (E[0] + E[1])]))
    with pytest.raises(ValueError, match=r"8 endmembers in 6 channels"):
        fcls(X, rng.uniform(size=(8, 6)))
    # 7 vertices in 6 channels can be a simplex (affinely independent)
    assert np.allclose(fcls(X, rng.uniform(size=(7, 6))).sum(axis=1), 1)
    nan = X.copy()
    nan[2, 2] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 NaN"):
        fcls(nan, E)
    bad_E = E.copy()
    bad_E[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"endmembers contains 1 NaN or infinite"):
        fcls(X, bad_E)
    with pytest.raises(ValueError, match=r"X must have at least 2 dimensions"):
        fcls(X[0], E)
    with pytest.raises(ValueError, match=r"endmembers must be 2-D"):
        fcls(X, E[0])


# -------------------------------------------------------------------- active-set engine


@FAST
@given(
    seed=SEEDS,
    k=st.integers(1, 6),
    extra=st.integers(0, 8),
    n=st.integers(1, 25),
    per_row=st.booleans(),
)
def test_active_set_without_sum_to_one_is_nnls(seed, k, extra, n, per_row):
    rng = np.random.default_rng(seed)
    c = k + extra + 1
    if per_row:
        A = np.stack([well_conditioned(rng, k, c).T for _ in range(n)])  # (n, c, k)
    else:
        A = np.broadcast_to(well_conditioned(rng, k, c).T, (n, c, k))
    B = 3.0 * rng.normal(size=(n, c))
    gram = np.einsum("nck,ncj->nkj", A, A) if per_row else A[0].T @ A[0]
    rhs = np.einsum("nc,nck->nk", B, A)
    x, n_iter = active_set(gram, rhs, sum_to_one=False)
    assert x.shape == (n, k) and n_iter >= 0
    ref = np.array([optimize.nnls(A[i], B[i])[0] for i in range(n)])
    np.testing.assert_allclose(x, ref, rtol=0, atol=1e-8 * max(1.0, np.abs(ref).max()))


def test_active_set_warns_when_max_iter_is_too_small():
    rng = np.random.default_rng(8)
    E = well_conditioned(rng, 5, 12)
    A_true = (
        0.5 * rng.dirichlet(np.ones(5), 6) + 0.1
    )  # all five variables free at the optimum
    X = A_true @ E
    # with sum-to-one: one variable is freed per outer iteration,
    # starting from one vertex
    with pytest.warns(ConvergenceWarning, match=r"fcls stopped after max_iter=2"):
        a = fcls(X, E, max_iter=2)
    assert np.all(a >= 0)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a_full = fcls(X, E, max_iter=10)
    np.testing.assert_allclose(a_full, A_true, atol=1e-10)  # rows of A_true sum to one
    # without sum-to-one
    with pytest.warns(ConvergenceWarning, match=r"active_set stopped after max_iter=1"):
        x, n_iter = active_set(E @ E.T, X @ E.T, max_iter=1)
    assert n_iter == 1 and np.all(x >= 0)


def test_active_set_per_row_gram_with_sum_to_one_raises():
    gram = np.stack([np.eye(3)] * 4)
    with pytest.raises(
        ValueError, match=r"sum_to_one needs one Gram matrix shared by all rows"
    ):
        active_set(gram, np.ones((4, 3)), sum_to_one=True)


# -------------------------------------------------------------------- Bayesian unmixing

_SNR_DB = 33.0


def _bayes_data(noise_factor=1.0, seed=3):
    """3 endmembers, 30 × 30 pixels, 40 channels, pure pixels,
    Gaussian noise of known σ."""
    data = make_mixture(
        n_components=3,
        shape=(30, 30),
        n_channels=40,
        n_pure=1,
        noise=None,
        random_state=seed,
    )
    clean = data.clean.reshape(-1, 40)
    sigma = noise_factor * math.sqrt(np.mean(clean**2) / 10 ** (_SNR_DB / 10))
    X = clean + sigma * np.random.default_rng(100 + seed).standard_normal(clean.shape)
    return X, data.endmembers, data.abundances.reshape(-1, 3), sigma


@pytest.fixture(scope="module")
def bayes_fit():
    X, W, A, sigma = _bayes_data()
    model = BayesianUnmixing(3, n_samples=150, burn_in=50, random_state=0).fit(X)
    return model, X, W, A, sigma


def test_bayesian_abundances_are_on_the_simplex(bayes_fit):
    model, X, W, A, sigma = bayes_fit
    n = X.shape[0]
    assert model.abundances_.shape == (n, 3) and model.abundances_std_.shape == (n, 3)
    assert model.abundances_interval_.shape == (2, n, 3)
    assert model.endmembers_.shape == (3, 40) and model.endmembers_interval_.shape == (
        2,
        3,
        40,
    )
    assert model.n_iter_ == 200 and model.n_features_in_ == 40
    assert np.all(model.abundances_ >= 0)
    # samples are kept in float32: their mean sums to one to float32 precision
    np.testing.assert_allclose(model.abundances_.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(model.endmembers_ >= 0) and np.all(model.endmembers_interval_[0] >= 0)
    # the credible intervals contain the posterior mean
    low, high = model.abundances_interval_
    assert np.all(low <= model.abundances_ + 1e-6) and np.all(
        model.abundances_ <= high + 1e-6
    )
    assert np.all(low >= 0) and np.all(high <= 1 + 1e-6)
    low, high = model.endmembers_interval_
    assert np.all(low <= model.endmembers_ + 1e-9) and np.all(
        model.endmembers_ <= high + 1e-9
    )
    # transform: FCLS on the posterior-mean endmembers
    np.testing.assert_allclose(model.transform(X[:50]), fcls(X[:50], model.endmembers_))


def test_bayesian_recovers_noise_endmembers_and_covers_the_truth(bayes_fit):
    model, X, W, A, sigma = bayes_fit
    # σ² from 36 000 residuals: its sampling error is below 1 %
    assert model.noise_variance_ == pytest.approx(sigma**2, rel=0.05)
    match = match_components(model.endmembers_, W)
    start = match_components(model.init_.endmembers_, W)
    assert match.angles.max() < 3.0, match.angles
    assert match.angles.mean() <= start.angles.mean(), (match.angles, start.angles)
    low, high = model.abundances_interval_[:, :, match.order]
    coverage = np.mean((low <= A) & (A <= high))
    # Measured 0.77 here (0.74–0.90 over other random_state values for these data,
    # 0.52–0.94 over other datasets at this SNR) and the same with chains ten times
    # longer, so it is not the chain length; 0.95 with sample_endmembers=False. Not
    # 0.95: the endmembers (hence the size of the simplex) are only weakly pinned by the
    # flat prior, and the posterior-mean abundances carry a bias comparable to their
    # posterior width (mean |bias| 0.005 vs mean standard deviation 0.004 here).
    assert coverage > 0.7, coverage


def test_bayesian_is_deterministic_given_random_state(bayes_fit):
    model, X, *_ = bayes_fit
    again = BayesianUnmixing(3, n_samples=150, burn_in=50, random_state=0).fit(X)
    np.testing.assert_array_equal(again.abundances_, model.abundances_)
    np.testing.assert_array_equal(again.endmembers_, model.endmembers_)
    assert again.noise_variance_ == model.noise_variance_
    np.testing.assert_array_equal(again.init_.indices_, model.init_.indices_)


def test_bayesian_coverage_does_not_depend_on_the_pixel_layout():
    """Likelihood and prior treat the pixels as exchangeable, so shuffling the pixels
    of smooth abundance maps (which destroys every spatial correlation and keeps the
    histogram of the abundances over the simplex) cannot change how often the
    intervals hold the truth. The sampler draws its random numbers in pixel order, so
    one seed gives a different chain on the shuffled image, not the same one permuted:
    the coverages over several seeds must agree within their seed-to-seed spread (a
    two-sample bound of three standard errors)."""
    X, W, A, _ = _bayes_data()
    perm = np.random.default_rng(7).permutation(X.shape[0])

    def coverage(X, A, seed):
        model = BayesianUnmixing(3, n_samples=150, burn_in=50, random_state=seed)
        model.fit(X)
        low, high = model.abundances_interval_[
            :, :, match_components(model.endmembers_, W).order
        ]
        return np.mean((low <= A) & (A <= high)), model.init_.indices_

    seeds = range(6)
    kept, shuffled = [], []
    for seed in seeds:
        c, start = coverage(X, A, seed)
        c_perm, start_perm = coverage(X[perm], A[perm], seed)
        # the N-FINDR start finds the same pixels (the pure ones) in both layouts
        assert sorted(perm[start_perm].tolist()) == sorted(start.tolist())
        kept.append(c)
        shuffled.append(c_perm)
    kept, shuffled = np.array(kept), np.array(shuffled)
    se = math.sqrt((kept.var(ddof=1) + shuffled.var(ddof=1)) / len(seeds))
    assert abs(kept.mean() - shuffled.mean()) < 3 * se + 1e-3, (kept, shuffled)
    # and both are short of the nominal 95 % on these maps, layout or not
    assert kept.mean() < 0.92 and shuffled.mean() < 0.92, (kept, shuffled)


def test_bayesian_uncertainty_grows_with_the_noise(bayes_fit):
    model, *_ = bayes_fit
    X3, *_ = _bayes_data(noise_factor=3.0)
    noisy = BayesianUnmixing(3, n_samples=150, burn_in=50, random_state=0).fit(X3)
    ratio = noisy.abundances_std_.mean() / model.abundances_std_.mean()
    # posterior standard deviations scale like σ away from the simplex's faces
    assert 2.0 < ratio < 4.5, ratio


def test_bayesian_abundance_posterior_is_the_analytic_gaussian():
    """With the endmembers fixed, a pixel far from every face of the simplex has the
    Gaussian posterior of sum-to-one least squares: a = e_k + B t with B = [I; −1ᵀ], t ~
    N(t̂, σ² (Bᵀ E Eᵀ B)⁻¹). Its mean is FCLS's solution; its standard deviations follow
    in closed form."""
    X, *_ = _bayes_data()
    model = BayesianUnmixing(
        3, n_samples=150, burn_in=50, sample_endmembers=False, random_state=1
    ).fit(X)
    E = model.endmembers_
    np.testing.assert_allclose(E, model.init_.endmembers_, rtol=1e-12)  # never moved
    B = np.vstack([np.eye(2), -np.ones((1, 2))])
    cov = model.noise_variance_ * B @ np.linalg.inv(B.T @ E @ E.T @ B) @ B.T
    sd = np.sqrt(np.diag(cov))
    a_hat = fcls(X, E)
    interior = a_hat.min(axis=1) > 8 * sd.max()
    assert interior.sum() > 200
    # σ²: integrating the abundances out (k − 1 free per pixel) leaves, under Jeffreys'
    # prior, the inverse-gamma posterior IG((n(c − k + 1))/2, SSR/2) with SSR the
    # least-squares residual, whose mean is SSR / (n(c − k + 1) − 2) (truncation aside)
    n, c = X.shape
    ssr = np.sum((X - a_hat @ E) ** 2)
    assert model.noise_variance_ == pytest.approx(ssr / (n * (c - 2) - 2), rel=0.01)
    # 150 draws per pixel, averaged over hundreds of pixels
    np.testing.assert_allclose(
        model.abundances_std_[interior].mean(axis=0) / sd, 1.0, atol=0.05
    )
    z = (model.abundances_[interior] - a_hat[interior]) / sd
    assert np.all(np.abs(z.mean(axis=0)) < 0.05) and np.all(
        np.abs(z).mean(axis=0) < 0.2
    )


def test_bayesian_fit_when_a_vertex_is_the_zero_spectrum():
    """Counts with a vacuum region: the vacuum pixels record exactly zero counts. The
    data are non-negative and span a triangle of positive area; N-FINDR takes an
    all-zero pixel as a vertex, and the FCLS start must accept it."""
    rng = np.random.default_rng(4)
    W = np.vstack(
        [np.zeros(20), rng.uniform(0.5, 1.5, (2, 20))]
    )  # vacuum, two materials
    A = np.vstack([np.eye(3), rng.dirichlet([1.0, 1.0, 1.0], 200)])
    X = rng.poisson(50.0 * A @ W).astype(float)
    assert np.all(X[0] == 0)
    model = BayesianUnmixing(3, n_samples=20, burn_in=5, random_state=0).fit(X)
    assert np.all(model.abundances_ >= 0)
    np.testing.assert_allclose(model.abundances_.sum(axis=1), 1.0, atol=1e-5)


def test_bayesian_bad_parameters_raise():
    X = np.random.default_rng(9).uniform(size=(20, 6))
    with pytest.raises(ValueError, match=r"n_samples must be >= 1"):
        BayesianUnmixing(3, n_samples=0).fit(X)
    with pytest.raises(ValueError, match=r"burn_in must be >= 0"):
        BayesianUnmixing(3, burn_in=-1).fit(X)
    with pytest.raises(ValueError, match=r"n_endmembers must be >= 2"):
        BayesianUnmixing(1).fit(X)
    nan = X.copy()
    nan[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN"):
        BayesianUnmixing(3).fit(nan)


# ---------------------------------------------------------------------- check_estimator

_CENTERED = (
    "standardized blobs: two of N-FINDR's vertices are negative in every channel and "
    "become the same zero spectrum when clipped to the model's non-negative "
    "endmembers, so the FCLS start has no simplex (affinely dependent endmembers)"
)

# NFINDR passes every check.
NFINDR_EXPECTED_FAILURES = {}

# BayesianUnmixing keeps its endmembers non-negative,
# which the checks' centered data defeat.
BAYESIAN_EXPECTED_FAILURES = {
    "check_transformer_general": _CENTERED,
    "check_transformer_data_not_an_array": _CENTERED,
    "check_transformer_preserve_dtypes": _CENTERED,
}

_EXPECTED_MESSAGE = {_CENTERED: "the endmembers are affinely dependent"}


def _check_messages(xfailed, expected):
    for name, message in xfailed.items():
        reason = expected[name]
        assert _EXPECTED_MESSAGE[reason] in message, (name, message)


def test_check_estimator_nfindr():
    xfailed = run_estimator_checks(NFINDR(), NFINDR_EXPECTED_FAILURES)
    _check_messages(xfailed, NFINDR_EXPECTED_FAILURES)


def test_check_estimator_bayesian_unmixing():
    xfailed = run_estimator_checks(
        BayesianUnmixing(n_samples=20, burn_in=5), BAYESIAN_EXPECTED_FAILURES
    )
    _check_messages(xfailed, BAYESIAN_EXPECTED_FAILURES)


def test_centered_blobs_reason_holds():
    """The reason given for the centered-data checks: on the checks' standardized blobs
    two of N-FINDR's vertices are negative in every channel."""
    X, _ = make_blobs(
        n_samples=30,
        centers=[[0, 0, 0], [1, 1, 1]],
        random_state=0,
        n_features=2,
        cluster_std=0.1,
    )
    X = StandardScaler().fit_transform(X)
    for seed in range(5):
        E = NFINDR(3, random_state=seed).fit(X).endmembers_
        assert np.sum(np.all(E <= 0, axis=1)) >= 2
        with pytest.raises(ValueError, match=r"the endmembers are affinely dependent"):
            BayesianUnmixing(3, n_samples=2, burn_in=0, random_state=seed).fit(X)


# ------------------------------------------------------------------------- plot_simplex


def _scatter(ax, label):
    found = [c for c in ax.collections if c.get_label() == label]
    assert len(found) == 1, [c.get_label() for c in ax.collections]
    return np.asarray(found[0].get_offsets())


def test_plot_simplex_artists_and_projection():
    rng = np.random.default_rng(10)
    X, W, vertex_rows, _ = _exact_simplex(rng, 3, 12, 200)
    found = W[::-1] + 0.01
    ax = plot_simplex(X, {"truth": W, "found": found})
    assert isinstance(ax, Axes)
    assert ax.get_xlabel() == "PC 1" and ax.get_ylabel() == "PC 2"
    assert [c.get_label() for c in ax.collections] == ["pixels", "truth", "found"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "pixels",
        "truth",
        "found",
    ]
    # the pixel cloud is the data in the plane of the first two
    # principal axes (any sign)
    mean, V = _pca_axes(X, 2)
    ref = (X - mean) @ V.T
    xy = _scatter(ax, "pixels")
    signs = np.sign(np.sum(xy * ref, axis=0))
    np.testing.assert_allclose(xy, ref * signs, atol=1e-10)
    np.testing.assert_allclose(
        _scatter(ax, "truth"), ((W - mean) @ V.T) * signs, atol=1e-10
    )
    np.testing.assert_allclose(
        _scatter(ax, "found"), ((found - mean) @ V.T) * signs, atol=1e-10
    )
    # the first set is joined as a closed polygon
    assert len(ax.lines) == 1
    ring = np.asarray(ax.lines[0].get_xydata())
    np.testing.assert_allclose(
        ring, np.vstack([_scatter(ax, "truth"), _scatter(ax, "truth")[:1]])
    )
    # drawing on given axes returns them, without a new figure
    fig, given_ax = plt.subplots()
    assert plot_simplex(X, ax=given_ax) is given_ax
    assert [c.get_label() for c in given_ax.collections] == ["pixels"]


@pytest.mark.parametrize("k", [3, 4, 5])
def test_plot_simplex_vertices_are_the_extreme_points(k):
    rng = np.random.default_rng(11 + k)
    X, W, vertex_rows, A = _exact_simplex(rng, k, 15, 300, concentration=0.5)
    ax = plot_simplex(X, {"truth": W})
    xy, v = _scatter(ax, "pixels"), _scatter(ax, "truth")
    # the projection of the simplex is the convex hull of the projected vertices
    hull = ConvexHull(np.vstack([v, xy]))
    assert set(hull.vertices.tolist()) <= set(range(k))
    if k == 3:
        assert set(hull.vertices.tolist()) == {0, 1, 2}
        # every projected pixel has non-negative barycentric coordinates in the triangle
        T = np.vstack([v.T, np.ones(3)])
        bary = np.linalg.solve(T, np.vstack([xy.T, np.ones(len(xy))]))
        assert bary.min() > -1e-9
        np.testing.assert_allclose(bary.T, A, atol=1e-8)


def test_plot_simplex_subsamples_large_clouds():
    rng = np.random.default_rng(12)
    X, W, _, _ = _exact_simplex(rng, 3, 8, 600)
    ax = plot_simplex(X, {"truth": W}, max_points=100, random_state=3)
    xy = _scatter(ax, "pixels")
    assert xy.shape == (100, 2)
    mean, V = _pca_axes(X, 2)
    full = (X - mean) @ V.T
    signs = np.sign(np.sum(_scatter(ax, "truth") * ((W - mean) @ V.T), axis=0))
    full = full * signs
    # every shown point is one of the pixels, without repeats
    dist = np.linalg.norm(xy[:, None, :] - full[None, :, :], axis=2)
    nearest = dist.argmin(axis=1)
    assert dist.min(axis=1).max() < 1e-10
    assert np.unique(nearest).size == 100
    # and the subsample is reproducible
    again = plot_simplex(X, {"truth": W}, max_points=100, random_state=3)
    np.testing.assert_array_equal(_scatter(again, "pixels"), xy)
