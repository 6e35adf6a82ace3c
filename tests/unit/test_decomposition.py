"""Unit and property tests of lectlib.decomposition.

Expected values come from scikit-learn's PCA, numpy's eigen-solvers, scipy's χ² test of
independence, random-matrix theory (the Marchenko–Pastur edge of pure noise), the
Poisson variance of counts and the definitions of entropy and contrast.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from sklearn.decomposition import PCA

from helpers import FAST, run_estimator_checks

from lectlib.decomposition import (
    CorrespondenceAnalysis,
    WeightedPCA,
    image_statistics,
    n_above_noise,
    noise_edge,
    pca,
    poisson_normalize,
)


def _same_up_to_sign(A, B, atol):
    """Rows of A and B equal up to a sign per row."""
    A, B = np.atleast_2d(A), np.atleast_2d(B)
    signs = np.sign(np.sum(A * B, axis=1))
    np.testing.assert_allclose(A, B * signs[:, None], atol=atol)


def _positive_counts(rng, n, p, rank=2, scale=20.0):
    return rng.poisson(
        rng.uniform(0.5, 2.0, (n, rank)) @ rng.uniform(0.2, 1.0, (rank, p)) * scale
    ).astype(float)


# ---------------------------------------------------------------------------------- PCA


@FAST
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 40), p=st.integers(2, 15))
def test_pca_matches_sklearn(seed, n, p):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.5, 3.0, p) + rng.normal(size=p)
    res = pca(X)
    m = min(n, p)
    assert res.eigenvalues.shape == (m,) and res.components.shape == (m, p)
    assert res.scores.shape == (n, m)
    assert np.all(np.diff(res.eigenvalues) <= 1e-12 * res.eigenvalues[0])
    ref = PCA(svd_solver="full").fit(X)
    np.testing.assert_allclose(
        res.eigenvalues,
        ref.explained_variance_,
        rtol=1e-9,
        atol=1e-12 * ref.explained_variance_[0],
    )
    np.testing.assert_allclose(res.mean, X.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(res.explained_variance_ratio.sum(), 1.0)
    np.testing.assert_allclose(
        res.singular_values**2 / (n - 1), res.eigenvalues, rtol=1e-12
    )
    # component directions agree up to sign where the eigenvalue is well separated
    eig = ref.explained_variance_
    gaps = np.minimum(
        np.abs(np.diff(np.r_[np.inf, eig])), np.abs(np.diff(np.r_[eig, -np.inf]))
    )
    separated = (gaps > 1e-3 * eig[0]) & (eig > 1e-8 * eig[0])
    _same_up_to_sign(res.components[separated], ref.components_[separated], atol=1e-6)
    # scores are the centered data projected on the eigenspectra; all of them rebuild X
    np.testing.assert_allclose(
        res.scores, (X - X.mean(0)) @ res.components.T, atol=1e-9
    )
    np.testing.assert_allclose(res.scores @ res.components + res.mean, X, atol=1e-9)
    # deterministic sign: the largest entry of each eigenspectrum is positive
    idx = np.argmax(np.abs(res.components), axis=1)
    assert np.all(res.components[np.arange(m), idx] > 0)


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    rank=st.integers(1, 5),
    n=st.integers(20, 60),
    p=st.integers(8, 20),
    center=st.booleans(),
)
def test_pca_detects_exact_rank(seed, rank, n, p, center):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, p))
    if center:
        X = X + rng.normal(size=p)  # an offset adds nothing after centering
    res = pca(X, rank, center=center)
    assert int(np.sum(res.eigenvalues > 1e-9 * res.eigenvalues[0])) == rank
    np.testing.assert_allclose(
        res.scores @ res.components + res.mean, X, atol=1e-8 * np.abs(X).max()
    )


def test_pca_uncentered_and_n_components():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 6)) + 2.0
    res = pca(X, 2, center=False)
    np.testing.assert_array_equal(res.mean, np.zeros(6))
    ref = np.sort(np.linalg.eigvalsh(X.T @ X / 30))[::-1]
    np.testing.assert_allclose(res.eigenvalues, ref, rtol=1e-10)
    assert res.scores.shape == (30, 2) and res.components.shape == (2, 6)
    assert res.eigenvalues.shape == (6,)  # always all of them, for the scree plot
    with pytest.raises(ValueError, match=r"n_components=7 exceeds"):
        pca(X, 7)
    with pytest.raises(ValueError, match=r"at least 2 samples"):
        pca(X[:1])
    with pytest.raises(TypeError, match=r"n_components must be an integer"):
        pca(X, 2.5)
    with pytest.raises(ValueError, match=r"X must be 2-D"):
        pca(X[0])


def test_noise_edge_matches_largest_noise_eigenvalue():
    rng = np.random.default_rng(1)
    n, p, var = 2000, 200, 2.5
    X = rng.normal(scale=np.sqrt(var), size=(n, p))
    largest = pca(X).eigenvalues[0]
    edge = noise_edge(n, p, var)
    assert edge == pytest.approx(var * (1 + np.sqrt(p / (n - 1))) ** 2, rel=1e-12)
    assert largest == pytest.approx(edge, rel=0.03)
    smallest = pca(X).eigenvalues[-1]
    assert smallest == pytest.approx(var * (1 - np.sqrt(p / (n - 1))) ** 2, rel=0.05)
    assert noise_edge(n, p, var, center=False) == pytest.approx(
        var * (1 + np.sqrt(p / n)) ** 2
    )
    with pytest.raises(ValueError, match=r"n_samples must be >= 2"):
        noise_edge(1, 5)
    with pytest.raises(ValueError, match=r"noise_variance must be >= 0"):
        noise_edge(10, 5, -1.0)


@pytest.mark.parametrize("rank", [0, 1, 3])
def test_n_above_noise_counts_planted_signal(rank):
    rng = np.random.default_rng(2 + rank)
    n, p, sigma = 1500, 120, 1.0
    signal = (
        rng.normal(size=(n, rank))
        * np.array([6.0, 4.0, 3.0])[:rank]
        @ np.linalg.qr(rng.normal(size=(p, max(rank, 1))))[0][:, :rank].T
    )
    X = signal + sigma * rng.normal(size=(n, p))
    eig = pca(X).eigenvalues
    assert n_above_noise(eig, n, p, sigma**2) == rank
    # pure noise scaled down: nothing above an edge computed for a far larger variance
    assert n_above_noise(eig, n, p, 100.0) == 0
    with pytest.raises(ValueError, match=r"margin must be > 0"):
        n_above_noise(eig, n, p, margin=0.0)


# ---------------------------------------------------------------- Poisson normalization


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 10),
    p=st.integers(1, 10),
    lam=st.floats(0.1, 50.0),
)
def test_poisson_normalize_definition(seed, n, p, lam):
    rng = np.random.default_rng(seed)
    X = rng.poisson(lam, (n, p)).astype(float)
    X[rng.random(n) < 0.2] = 0.0  # some empty rows
    X[:, rng.random(p) < 0.2] = 0.0  # and empty columns
    scaled, r, c = poisson_normalize(X)
    assert scaled.shape == X.shape and np.isfinite(scaled).all()
    np.testing.assert_allclose(r, np.sqrt(X.sum(axis=1)), rtol=1e-12)
    np.testing.assert_allclose(c, np.sqrt(X.sum(axis=0)), rtol=1e-12)
    np.testing.assert_allclose(scaled * r[:, None] * c, X, rtol=1e-12, atol=1e-12)
    assert np.all(scaled[r == 0] == 0) and np.all(scaled[:, c == 0] == 0)
    for i, j in zip(*np.nonzero(X)):
        assert scaled[i, j] == pytest.approx(
            X[i, j] / np.sqrt(X[i].sum() * X[:, j].sum()), rel=1e-12
        )


def test_poisson_normalize_whitens_rank_one_counts():
    rng = np.random.default_rng(3)
    a = rng.uniform(1.0, 10.0, 30)
    b = rng.uniform(0.5, 5.0, 20)
    lam = 4.0 * np.outer(a, b)
    reps = np.stack(
        [poisson_normalize(rng.poisson(lam).astype(float))[0] for _ in range(300)]
    )
    var = reps.var(axis=0, ddof=1)
    total = lam.sum()
    # Every element has variance ≈ 1/Σ λ, whatever its expected count (here 2 to 200),
    # up to the correction from the margins being measured on the same counts. To first
    # order (delta method on x / √(r c), with x counted in both its row sum r and column
    # sum c): Var · T = 1 − ¾ (λ_ij / R_i + λ_ij / C_j), R, C the expected margins.
    R, C = lam.sum(axis=1, keepdims=True), lam.sum(axis=0, keepdims=True)
    first_order = 1.0 - 0.75 * (lam / R + lam / C)
    assert var.mean() * total == pytest.approx(first_order.mean(), abs=0.012)
    assert first_order.mean() == pytest.approx(1.0, abs=0.07)
    assert np.all(np.abs(var * total - 1.0) < 0.5)
    # without the scaling the variances would differ by the ratio of the expected counts
    assert lam.max() / lam.min() > 20
    # on a larger table the correction vanishes: the variance is 1/T
    a, b = rng.uniform(1.0, 10.0, 400), rng.uniform(0.5, 5.0, 300)
    lam = 0.5 * np.outer(a, b)
    pair = [poisson_normalize(rng.poisson(lam).astype(float))[0] for _ in range(2)]
    # the difference of two independent replicates has twice the variance
    assert np.var(pair[0] - pair[1]) / 2 * lam.sum() == pytest.approx(1.0, abs=0.02)


def test_poisson_normalize_errors():
    with pytest.raises(
        ValueError,
        match=r"Negative values in data passed to poisson_normalize: it needs counts",
    ):
        poisson_normalize(np.array([[1.0, -1.0], [2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"X must be 2-D"):
        poisson_normalize(np.ones(4))
    with pytest.raises(ValueError, match=r"NaN"):
        poisson_normalize(np.array([[1.0, np.nan]]))


# -------------------------------------------------------------------------- WeightedPCA


def test_weighted_pca_without_weighting_is_uncentered_pca():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(50, 8)) + 1.0
    model = WeightedPCA(weighting=None).fit(X)
    ref = pca(X, center=False)
    np.testing.assert_allclose(
        model.eigenvalues_, np.sort(np.linalg.eigvalsh(X.T @ X / 50))[::-1], rtol=1e-10
    )
    _same_up_to_sign(model.components_, ref.components, atol=1e-10)
    np.testing.assert_array_equal(model.col_weights_, np.ones(8))
    np.testing.assert_array_equal(model.row_weights_, np.ones(50))
    assert model.noise_level_ is None
    np.testing.assert_allclose(model.transform(X), X @ model.components_.T, atol=1e-12)
    # negative data are fine without weighting
    WeightedPCA(weighting=None).fit(X - 5.0)


@pytest.mark.parametrize("factor", [1.0, 37.5])
def test_weighting_is_neutral_on_constant_margins(factor):
    """With equal row sums and equal column sums the Poisson scaling
    is one constant factor."""
    rng = np.random.default_rng(5)
    n, p = 40, 12
    R = rng.normal(size=(n, p))
    B = (
        R - R.mean(axis=0) - R.mean(axis=1, keepdims=True) + R.mean()
    )  # zero row and column sums
    X = factor * (3.0 + B / np.abs(B).max() * 2.5)
    assert X.min() > 0
    np.testing.assert_allclose(X.sum(axis=1), X.sum(axis=1)[0])
    np.testing.assert_allclose(X.sum(axis=0), X.sum(axis=0)[0])
    weighted = WeightedPCA(weighting="poisson").fit(X)
    plain = WeightedPCA(weighting=None).fit(X)
    scale = X.sum(axis=1)[0] * X.sum(axis=0)[0]  # r c: the scaled data are X / √(r c)
    np.testing.assert_allclose(
        weighted.eigenvalues_ * scale,
        plain.eigenvalues_,
        rtol=1e-9,
        atol=1e-12 * plain.eigenvalues_[0],
    )
    keep = plain.eigenvalues_ > 1e-9 * plain.eigenvalues_[0]
    _same_up_to_sign(weighted.components_[keep], plain.components_[keep], atol=1e-8)
    np.testing.assert_allclose(
        weighted.explained_variance_ratio_, plain.explained_variance_ratio_, atol=1e-12
    )


@pytest.mark.parametrize("weighting", ["poisson", None])
@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize("shape", [(30, 12), (8, 20)])
def test_weighted_pca_round_trip_all_components(weighting, center, shape):
    X = _positive_counts(np.random.default_rng(6), *shape, rank=3)
    model = WeightedPCA(weighting=weighting, center=center).fit(X)
    assert model.n_components_ == min(shape)
    np.testing.assert_allclose(
        model.inverse_transform(model.transform(X)), X, rtol=1e-9, atol=1e-9 * X.max()
    )


@pytest.mark.parametrize("weighting", ["poisson", None])
@pytest.mark.parametrize("center", [False, True])
def test_weighted_pca_true_rank_recovers_clean_data(weighting, center):
    rng = np.random.default_rng(7)
    rank = 3
    clean = rng.uniform(0.0, 5.0, (60, rank)) @ rng.uniform(0.0, 3.0, (rank, 25))
    model = WeightedPCA(rank, weighting=weighting, center=center).fit(clean)
    back = model.inverse_transform(model.transform(clean))
    np.testing.assert_allclose(back, clean, rtol=1e-9, atol=1e-9 * clean.max())
    assert model.components_.shape == (rank, 25)
    # one component fewer cannot describe it
    short = WeightedPCA(rank - 1, weighting=weighting, center=center).fit(clean)
    assert np.abs(short.inverse_transform(short.transform(clean)) - clean).max() > 1e-3


def test_weighted_noise_eigenvalues_are_flat_at_the_poisson_level():
    rng = np.random.default_rng(8)
    n, p = 1200, 80
    expected = np.outer(
        rng.uniform(20.0, 200.0, n), rng.uniform(0.2, 2.0, p)
    )  # rank one
    counts = rng.poisson(expected).astype(float)
    model = WeightedPCA().fit(counts)
    assert model.noise_level_ == pytest.approx(1.0 / counts.sum(), rel=1e-12)
    noise = model.eigenvalues_[1:]
    # white noise of variance 1/T: the uncentered covariance eigenvalues fill the
    # Marchenko–Pastur bulk σ²[(1 − √γ)², (1 + √γ)²], γ = p/n, and their mean is ≈ σ²
    gamma = p / n
    assert noise.mean() / model.noise_level_ == pytest.approx(1.0, rel=0.02)
    # finite size: the largest noise eigenvalue follows Tracy–Widom, for 1200 x 80
    # centered about 1.5 % below the asymptotic edge with a spread of about 1.5 %
    upper = noise.max() / model.noise_level_ / (1 + np.sqrt(gamma)) ** 2
    assert 0.92 < upper < 1.04
    assert noise.min() / model.noise_level_ == pytest.approx(
        (1 - np.sqrt(gamma)) ** 2, rel=0.1
    )
    assert model.eigenvalues_[0] > 100 * noise.max()
    # the unweighted eigenvalues of the same counts spread far beyond a flat floor
    plain = WeightedPCA(weighting=None).fit(counts).eigenvalues_[1:]
    assert plain.max() / plain.min() > 3 * noise.max() / noise.min()


def test_weighted_pca_counts_planted_components_above_the_floor():
    rng = np.random.default_rng(9)
    n, p = 1000, 60
    W = np.stack(
        [np.exp(-0.5 * ((np.arange(p) - m) / 6.0) ** 2) + 0.3 for m in (15, 40)]
    )
    A = rng.uniform(50.0, 100.0, (n, 2))
    counts = rng.poisson(A @ W).astype(float)
    model = WeightedPCA().fit(counts)
    assert (
        n_above_noise(model.eigenvalues_, n, p, model.noise_level_, center=False) == 2
    )


def test_weighted_pca_inverse_transform_rows():
    X = _positive_counts(np.random.default_rng(10), 40, 15)
    model = WeightedPCA().fit(X)
    part = X[:7]
    scores = model.transform(part)
    with pytest.raises(
        ValueError, match=r"X has 7 rows but the model was fitted on 40"
    ):
        model.inverse_transform(scores)
    back = model.inverse_transform(scores, row_weights=np.sqrt(part.sum(axis=1)))
    np.testing.assert_allclose(back, part, rtol=1e-9, atol=1e-9 * X.max())
    with pytest.raises(ValueError, match=r"row_weights has 6 values for 7 rows"):
        model.inverse_transform(scores, row_weights=np.ones(6))
    with pytest.raises(ValueError, match=r"X has 3 columns, expected 15 scores"):
        model.inverse_transform(np.ones((7, 3)))
    # without weighting any number of rows is fine
    plain = WeightedPCA(weighting=None).fit(X)
    np.testing.assert_allclose(
        plain.inverse_transform(plain.transform(part)), part, atol=1e-9 * X.max()
    )


def test_weighted_pca_errors():
    X = _positive_counts(np.random.default_rng(11), 10, 5)
    with pytest.raises(ValueError, match=r"Negative values in data"):
        WeightedPCA().fit(X - 100.0)
    with pytest.raises(ValueError, match=r"weighting must be 'poisson' or None"):
        WeightedPCA(weighting="gaussian").fit(X)
    with pytest.raises(ValueError, match=r"n_components=6 exceeds"):
        WeightedPCA(6).fit(X)
    with pytest.raises(ValueError, match=r"at least 2 samples"):
        WeightedPCA().fit(X[:1])
    model = WeightedPCA().fit(X)
    with pytest.raises(ValueError, match=r"Negative values in data"):
        model.transform(X - 100.0)
    with pytest.raises(
        ValueError, match=r"X has 4 features, but WeightedPCA is expecting 5"
    ):
        model.transform(X[:, :4])


# scikit-learn's checks match error messages against its own wording; lectlib's messages
# say the same thing in other words.
WEIGHTED_PCA_EXPECTED_FAILURES = {}


def test_check_estimator_weighted_pca():
    # every check passes, with Poisson weighting (positive-only input) and without
    run_estimator_checks(WeightedPCA(), WEIGHTED_PCA_EXPECTED_FAILURES)
    run_estimator_checks(WeightedPCA(weighting=None), WEIGHTED_PCA_EXPECTED_FAILURES)
    assert WeightedPCA().__sklearn_tags__().input_tags.positive_only
    assert not WeightedPCA(weighting=None).__sklearn_tags__().input_tags.positive_only


# -------------------------------------------------------------- correspondence analysis


def _table(seed, n=12, p=7):
    rng = np.random.default_rng(seed)
    return (
        rng.poisson(rng.uniform(1, 3, (n, 2)) @ rng.uniform(0.5, 5, (2, p)) * 5).astype(
            float
        )
        + 1.0
    )


@FAST
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 15), p=st.integers(3, 10))
def test_ca_inertia_is_chi2_over_n(seed, n, p):
    X = _table(seed, n, p)
    ca = CorrespondenceAnalysis().fit(X)
    chi2 = stats.chi2_contingency(X, correction=False).statistic
    assert ca.total_inertia_ == pytest.approx(chi2 / X.sum(), rel=1e-10)
    assert ca.principal_inertias_.sum() == pytest.approx(ca.total_inertia_, rel=1e-10)
    assert np.all(np.diff(ca.principal_inertias_) <= 1e-12)
    np.testing.assert_allclose(ca.explained_inertia_ratio_.sum(), 1.0)
    # independent: the non-trivial eigenvalues of D_r⁻¹ P D_c⁻¹ Pᵀ
    # (the trivial one is 1)
    P = X / X.sum()
    r, c = P.sum(axis=1), P.sum(axis=0)
    M = (P / r[:, None] / c) @ P.T
    eig = np.sort(np.linalg.eigvals(M).real)[::-1]
    np.testing.assert_allclose(eig[0], 1.0, atol=1e-9)
    m = min(n, p) - 1  # at most this many non-trivial axes
    k = min(ca.principal_inertias_.size, m)
    np.testing.assert_allclose(ca.principal_inertias_[:k], eig[1 : k + 1], atol=1e-10)
    np.testing.assert_allclose(ca.row_masses_, r)
    np.testing.assert_allclose(ca.column_masses_, c)
    # the documented bound on the number of axes, and transform of the training rows
    assert ca.principal_inertias_.size <= m
    np.testing.assert_allclose(ca.transform(X), ca.row_coordinates_, atol=1e-10)


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(4, 15),
    p=st.integers(4, 10),
    k=st.integers(1, 3),
)
def test_ca_coordinates_transition_formulas(seed, n, p, k):
    X = _table(seed, n, p)
    ca = CorrespondenceAnalysis(k).fit(X)
    F, G, lam = ca.row_coordinates_, ca.column_coordinates_, ca.principal_inertias_[:k]
    assert F.shape == (n, k) and G.shape == (p, k)
    P = X / X.sum()
    r, c = P.sum(axis=1), P.sum(axis=0)
    row_profiles = P / r[:, None]
    col_profiles = (P / c).T
    # barycentric relations: each point is the weighted mean of the other set,
    # stretched by 1/√λ
    np.testing.assert_allclose(F, row_profiles @ G / np.sqrt(lam), atol=1e-9)
    np.testing.assert_allclose(G, col_profiles @ F / np.sqrt(lam), atol=1e-9)
    # principal coordinates are centered and have inertia λ on each axis
    np.testing.assert_allclose(r @ F, 0.0, atol=1e-10)
    np.testing.assert_allclose(c @ G, 0.0, atol=1e-10)
    np.testing.assert_allclose(r @ F**2, lam, rtol=1e-9)
    np.testing.assert_allclose(c @ G**2, lam, rtol=1e-9)
    # transform of the training rows gives their coordinates;
    # scaling a row changes nothing
    np.testing.assert_allclose(ca.transform(X), F, atol=1e-10)
    np.testing.assert_allclose(ca.transform(X * 7.0), F, atol=1e-10)


def test_ca_all_axes_reconstruct_the_table():
    X = _table(12, 9, 6)
    ca = CorrespondenceAnalysis().fit(X)
    P = X / X.sum()
    r, c = ca.row_masses_, ca.column_masses_
    lam = ca.principal_inertias_
    # reconstitution formula: P = r cᵀ (1 + Σ_k F_ik G_jk / √λ_k)
    rebuilt = np.outer(r, c) * (
        1.0 + (ca.row_coordinates_ / np.sqrt(lam)) @ ca.column_coordinates_.T
    )
    np.testing.assert_allclose(rebuilt, P, atol=1e-12)


def test_ca_drops_the_trivial_axis_of_a_small_table():
    """A 3 x 3 table has at most 2 axes;
    the third singular value of S is rounding noise.

    The docstring promises "at most min(n_samples, n_features) − 1" axes and that
    transform of the training rows gives row_coordinates_.
    """
    X = np.array([[84.0, 82.0, 46.0], [39.0, 46.0, 21.0], [116.0, 115.0, 38.0]])
    ca = CorrespondenceAnalysis().fit(X)
    assert ca.principal_inertias_.size <= 2
    np.testing.assert_allclose(ca.transform(X), ca.row_coordinates_, atol=1e-10)
    chi2 = stats.chi2_contingency(X, correction=False).statistic
    assert ca.total_inertia_ == pytest.approx(chi2 / X.sum(), rel=1e-10)


def test_ca_column_without_counts():
    X = _table(13, 8, 5)
    X[:, 2] = 0.0
    ca = CorrespondenceAnalysis().fit(X)
    assert np.all(np.isfinite(ca.column_coordinates_)) and np.all(
        ca.column_coordinates_[2] == 0
    )
    ref = CorrespondenceAnalysis().fit(np.delete(X, 2, axis=1))
    np.testing.assert_allclose(
        ca.principal_inertias_, ref.principal_inertias_, rtol=1e-10
    )
    _same_up_to_sign(ca.row_coordinates_.T, ref.row_coordinates_.T, atol=1e-10)


def test_ca_errors():
    profile = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"exactly independent"):
        CorrespondenceAnalysis().fit(np.outer([1.0, 4.0, 2.0, 7.0], profile))
    X = _table(14)
    shifted = X.copy()
    shifted[0, 0] = -1.0
    with pytest.raises(ValueError, match=r"Negative values in data"):
        CorrespondenceAnalysis().fit(shifted)
    empty_row = X.copy()
    empty_row[3] = 0.0
    with pytest.raises(ValueError, match=r"every row of X needs a positive sum"):
        CorrespondenceAnalysis().fit(empty_row)
    with pytest.raises(ValueError, match=r"X has no counts"):
        CorrespondenceAnalysis().fit(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"exceeds"):
        CorrespondenceAnalysis(7).fit(X)  # 7 columns give at most 6 axes
    ca = CorrespondenceAnalysis(2).fit(X)
    with pytest.raises(ValueError, match=r"Negative values in data"):
        ca.transform(shifted)
    with pytest.raises(ValueError, match=r"every row of X needs a positive sum"):
        ca.transform(empty_row)


CA_EXPECTED_FAILURES = {
    "check_fit2d_1feature": (
        "after the check shifts the data to min 0, a one-column table has an empty "
        "row, whose profile is undefined: rejected with 'every row of X needs a "
        "positive sum'"
    ),
    "check_estimators_dtypes": (
        "the integer-cast copies of the check's uniform data contain an all-zero row, "
        "whose profile is undefined: rejected with 'every row of X needs a positive "
        "sum'"
    ),
}


def test_check_estimator_correspondence_analysis():
    xfailed = run_estimator_checks(CorrespondenceAnalysis(), CA_EXPECTED_FAILURES)
    assert "every row of X needs a positive sum" in xfailed["check_fit2d_1feature"]
    assert "every row of X needs a positive sum" in xfailed["check_estimators_dtypes"]
    # the dtype check passes on its float data: reproduce the row the int cast empties
    X32 = 3 * np.random.RandomState(0).uniform(size=(20, 5)).astype(np.float32)
    X32 = X32 - X32.min()
    assert np.any(X32.astype(np.int64).sum(axis=1) == 0) and np.all(X32.sum(axis=1) > 0)
    CorrespondenceAnalysis().fit(X32)


# --------------------------------------------------------------------- image statistics


def test_flat_poisson_images_carry_noise_information_only():
    rel, pvals = [], []
    for seed in range(40):
        img = np.random.default_rng(100 + seed).poisson(40.0, (32, 32))
        s = image_statistics(img)
        rel.append(s.relative_information)
        pvals.append(s.p_value)
    rel = np.array(rel)
    # 2 T ln2 · information is χ²(N − 1): relative information has mean 1, sd
    # √(2/(N − 1)) (plus the G statistic's small-sample excess, Williams'
    # (N + 1) / (6 T) ≈ 0.4 % here)
    se = np.sqrt(2.0 / (32 * 32 - 1)) / np.sqrt(rel.size)
    assert abs(rel.mean() - 1.0) < 4 * se + 1025 / (6 * 40.0 * 1024)
    assert rel.std() == pytest.approx(np.sqrt(2.0 / 1023), rel=0.35)
    assert min(pvals) > 1e-3
    assert stats.kstest(pvals, "uniform").pvalue > 1e-3


def test_structured_image_has_much_information():
    rng = np.random.default_rng(15)
    clean = np.where(np.arange(64) < 32, 30.0, 70.0) * np.ones((64, 1))
    img = rng.poisson(clean).astype(float)
    s = image_statistics(img)
    # information of the noise-free image, from the definition (log N − H, in bits)
    q = clean.ravel() / clean.sum()
    info_clean = np.log2(q.size) + np.sum(q * np.log2(q))
    # noise adds on average its own expected information (relative information 1)
    assert s.relative_information == pytest.approx(
        info_clean / s.noise_information + 1.0, rel=0.1
    )
    assert s.relative_information > 7
    assert s.p_value < 1e-12
    assert s.contrast == pytest.approx(img.std() / img.mean())
    # the p-value from an independent computation of the G statistic of uniformity
    p = img.ravel() / img.sum()
    info_nats = np.log(img.size) + np.sum(p[p > 0] * np.log(p[p > 0]))
    s2 = image_statistics(img, base=np.e)
    assert s2.information == pytest.approx(info_nats, rel=1e-10)
    assert s2.p_value == pytest.approx(
        stats.chi2.sf(2 * img.sum() * info_nats, img.size - 1), rel=1e-6, abs=1e-300
    )


@FAST
@given(value=st.floats(0.1, 1e4), ny=st.integers(1, 20), nx=st.integers(2, 20))
def test_flat_image_entropy_is_maximal(value, ny, nx):
    s = image_statistics(np.full((ny, nx), value))
    n = ny * nx
    assert s.entropy == pytest.approx(np.log2(n), abs=1e-9)
    assert s.max_entropy == pytest.approx(np.log2(n), abs=1e-12)
    assert s.information == pytest.approx(0.0, abs=1e-9)
    assert s.contrast == pytest.approx(0.0, abs=1e-9)
    assert s.mean == pytest.approx(value) and s.variance == pytest.approx(
        0.0, abs=1e-6 * value**2
    )


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 200),
    base=st.sampled_from([2.0, np.e, 10.0, 1.5]),
)
def test_image_statistics_definitions_and_base(seed, n, base):
    rng = np.random.default_rng(seed)
    img = rng.poisson(rng.uniform(0.5, 30.0), n).astype(float)
    img[0] += 1.0  # at least one count
    s = image_statistics(img, base=base)
    bits = image_statistics(img)
    assert s.mean == pytest.approx(img.mean()) and s.variance == pytest.approx(
        img.var()
    )
    assert s.contrast == pytest.approx(img.std() / img.mean())
    p = img / img.sum()
    H = -np.sum(p[p > 0] * np.log(p[p > 0]))
    assert s.entropy == pytest.approx(H / np.log(base), rel=1e-9, abs=1e-12)
    assert s.max_entropy == pytest.approx(np.log(n) / np.log(base))
    assert bits.entropy * np.log(2) == pytest.approx(
        s.entropy * np.log(base), rel=1e-9, abs=1e-12
    )
    assert bits.information * np.log(2) == pytest.approx(
        s.information * np.log(base), rel=1e-9, abs=1e-12
    )
    # relative information and p-value are dimensionless: the same in every base
    assert s.relative_information == pytest.approx(
        bits.relative_information, rel=1e-9, abs=1e-12
    )
    assert s.p_value == pytest.approx(bits.p_value, rel=1e-9, abs=1e-300)
    assert s.noise_information == pytest.approx(
        (n - 1) / (2 * img.sum() * np.log(base))
    )
    assert 0.0 <= s.p_value <= 1.0 and s.information >= 0.0


def test_image_statistics_base_below_one():
    """A base in (0, 1) would flip the sign of every logarithm: it is rejected, and any
    base above 1 gives the same base-free numbers (relative information, p-value)."""
    img = np.where(np.arange(32) < 16, 30.0, 70.0) * np.ones((32, 1))
    with pytest.raises(ValueError, match=r"base must be > 1"):
        image_statistics(img, base=0.5)
    bits, nats = image_statistics(img), image_statistics(img, base=np.e)
    assert nats.information == pytest.approx(bits.information * np.log(2.0), rel=1e-9)
    assert nats.relative_information == pytest.approx(
        bits.relative_information, rel=1e-9
    )
    assert nats.p_value == pytest.approx(bits.p_value, rel=1e-9, abs=1e-300)


def test_image_statistics_errors():
    with pytest.raises(
        ValueError,
        match=r"Negative values in data passed to image_statistics: it needs counts",
    ):
        image_statistics(np.array([[1.0, -1.0], [2.0, 3.0]]))
    with pytest.raises(ValueError, match=r"image has no counts"):
        image_statistics(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"base must be > 1"):
        image_statistics(np.ones((4, 4)), base=1.0)
    with pytest.raises(ValueError, match=r"base must be > 1"):
        image_statistics(np.ones((4, 4)), base=0.0)
    with pytest.raises(TypeError, match=r"base must be a real number"):
        image_statistics(np.ones((4, 4)), base="2")
    with pytest.raises(ValueError, match=r"NaN"):
        image_statistics(np.array([1.0, np.nan]))
