"""Unit and property tests of lectlib.regression.

Expected values come from independent solvers (numpy.linalg.lstsq, scipy.optimize.nnls
run pixel by pixel), from optimality conditions (the Karush–Kuhn–Tucker conditions of
NNLS, the score equations of the Poisson likelihood) and from the χ² distribution of
residuals.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from helpers import FAST, run_estimator_checks, well_conditioned

from lectlib.regression import (
    KnownEndmemberRegression,
    fit_known_endmembers,
    nnls_batch,
)


@st.composite
def problems(draw, cube=None):
    """A random linear-mixing problem:
    data on a grid (cube or matrix) and its endmembers."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    k = draw(st.integers(1, 4))
    c = draw(st.integers(k + 1, 16))
    is_cube = draw(st.booleans()) if cube is None else cube
    grid = (
        (draw(st.integers(1, 4)), draw(st.integers(1, 5)))
        if is_cube
        else (draw(st.integers(1, 12)),)
    )
    E = well_conditioned(rng, k, c)
    data = rng.normal(size=grid + (c,)) * draw(st.floats(0.1, 10.0))
    return data, E


def _scipy_nnls_rows(X, E):
    return np.array([optimize.nnls(E.T, x)[0] for x in X])


def _poisson_loglik(x, mu):
    return np.sum(x * np.log(mu) - mu, axis=-1)


# ------------------------------------------------------------ agreement with references


@FAST
@given(problem=problems())
def test_ols_matches_lstsq_and_shapes(problem):
    data, E = problem
    grid, (k, c) = data.shape[:-1], E.shape
    fit = fit_known_endmembers(data, E, method="ols", variance=1.0)
    X = data.reshape(-1, c)
    ref = np.linalg.lstsq(E.T, X.T, rcond=None)[0].T
    assert fit.coefficients.shape == grid + (k,)
    assert fit.model.shape == grid + (c,)
    assert fit.residuals.shape == grid + (c,)
    assert fit.chi2.shape == grid and fit.reduced_chi2.shape == grid
    scale = max(1.0, np.abs(ref).max())
    np.testing.assert_allclose(
        fit.coefficients.reshape(-1, k), ref, rtol=0, atol=1e-8 * scale
    )
    np.testing.assert_allclose(
        fit.model.reshape(-1, c), ref @ E, rtol=0, atol=1e-8 * scale
    )
    np.testing.assert_allclose(fit.residuals, data - fit.model, atol=1e-12 * scale)
    rss = np.sum((X - ref @ E) ** 2, axis=1)
    np.testing.assert_allclose(fit.chi2.ravel(), rss, rtol=1e-7, atol=1e-10 * scale**2)
    np.testing.assert_allclose(
        fit.reduced_chi2.ravel(), rss / (c - k), rtol=1e-7, atol=1e-10 * scale**2
    )
    assert fit.dof == c - k
    assert fit.channels.all() and fit.energy is None and fit.method == "ols"


@FAST
@given(problem=problems())
def test_nnls_matches_scipy_pixel_by_pixel(problem):
    data, E = problem
    grid, (k, c) = data.shape[:-1], E.shape
    fit = fit_known_endmembers(data, E, method="nnls", variance=1.0)
    ref = _scipy_nnls_rows(data.reshape(-1, c), E)
    assert fit.coefficients.shape == grid + (k,)
    assert fit.model.shape == grid + (c,) and fit.chi2.shape == grid
    assert np.all(fit.coefficients >= 0)
    scale = max(1.0, np.abs(ref).max())
    np.testing.assert_allclose(
        fit.coefficients.reshape(-1, k), ref, rtol=0, atol=1e-8 * scale
    )


@FAST
@given(problem=problems(), method=st.sampled_from(["ols", "nnls", "poisson"]))
def test_exact_recovery_without_noise(problem, method):
    data, E = problem
    rng = np.random.default_rng(int(abs(data.ravel()[0]) * 1e6) % 2**32)
    grid, (k, c) = data.shape[:-1], E.shape
    if method == "poisson":
        E = np.abs(E) + 0.2  # counts need a positive model
    true = rng.uniform(0.5, 5.0, grid + (k,))
    clean = np.einsum("...k,kc->...c", true, E)
    fit = fit_known_endmembers(clean, E, method=method, variance=1.0)
    np.testing.assert_allclose(fit.coefficients, true, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(fit.model, clean, rtol=1e-8, atol=1e-9)
    assert np.all(fit.chi2 < 1e-12 * max(1.0, np.abs(clean).max()) ** 2)


def test_exact_recovery_with_some_true_zeros():
    """Coefficients that are exactly zero stay zero for the constrained fits."""
    rng = np.random.default_rng(1)
    E = np.abs(rng.normal(size=(3, 30))) + 0.1
    true = rng.uniform(1.0, 3.0, (5, 6, 3))
    true[::2, :, 1] = 0.0
    true[:, ::3, 2] = 0.0
    clean = true @ E
    for method in ("ols", "nnls", "poisson"):
        fit = fit_known_endmembers(clean, E, method=method)
        np.testing.assert_allclose(
            fit.coefficients, true, rtol=1e-8, atol=1e-9, err_msg=method
        )


# ------------------------------------------------------------------------------- window


def test_window_restricts_channels():
    rng = np.random.default_rng(2)
    energy = np.linspace(10.0, 60.0, 101)
    E = well_conditioned(rng, 3, energy.size)
    data = rng.normal(size=(4, 5, energy.size))
    fit = fit_known_endmembers(
        data, E, energy=energy, window=(20.0, 35.0), method="ols", variance=2.0
    )
    mask = (energy >= 20.0) & (energy <= 35.0)
    assert mask.sum() == 31
    np.testing.assert_array_equal(fit.channels, mask)
    np.testing.assert_array_equal(fit.energy, energy[mask])
    assert fit.dof == mask.sum() - 3
    assert fit.model.shape == (4, 5, mask.sum()) and fit.residuals.shape == (
        4,
        5,
        mask.sum(),
    )
    ref = np.linalg.lstsq(
        E[:, mask].T, data[..., mask].reshape(-1, mask.sum()).T, rcond=None
    )[0].T
    np.testing.assert_allclose(fit.coefficients.reshape(-1, 3), ref, atol=1e-10)
    # the channels outside the window do not matter at all
    changed = data.copy()
    changed[..., ~mask] = 1e6
    np.testing.assert_allclose(
        fit_known_endmembers(
            changed, E, energy=energy, window=(20.0, 35.0), method="ols"
        ).coefficients,
        fit.coefficients,
        atol=1e-10,
    )
    np.testing.assert_allclose(
        fit.reduced_chi2, np.sum(fit.residuals**2, axis=-1) / 2.0 / fit.dof
    )


def test_window_errors():
    energy = np.arange(10.0)
    E = np.random.default_rng(3).normal(size=(3, 10))
    data = np.ones((4, 10))
    with pytest.raises(ValueError, match=r"window needs the energy axis"):
        fit_known_endmembers(data, E, window=(1.0, 5.0))
    with pytest.raises(
        ValueError, match=r"holds 2 channel\(s\): fewer than the 3 endmembers"
    ):
        fit_known_endmembers(data, E, energy=energy, window=(2.0, 3.0))
    with pytest.raises(ValueError, match=r"window must be increasing"):
        fit_known_endmembers(data, E, energy=energy, window=(5.0, 2.0))
    with pytest.raises(ValueError, match=r"window must be a pair"):
        fit_known_endmembers(data, E, energy=energy, window=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match=r"energy has 9 values but data have 10"):
        fit_known_endmembers(data, E, energy=energy[:9], window=(1.0, 5.0))


# ------------------------------------------------------------------------------ χ² maps


def test_reduced_chi2_is_one_for_gaussian_noise():
    rng = np.random.default_rng(4)
    k, c, n, sigma = 3, 40, 3000, 0.7
    E = well_conditioned(rng, k, c)
    true = rng.uniform(0.0, 2.0, (n, k))
    data = true @ E + sigma * rng.standard_normal((n, c))
    fit = fit_known_endmembers(data, E, method="ols", variance=sigma**2)
    dof = c - k
    # RSS / σ² of a linear least-squares fit is χ²(dof): reduced χ² has mean 1,
    # var 2/dof
    se = np.sqrt(2.0 / dof / n)
    assert abs(fit.reduced_chi2.mean() - 1.0) < 4 * se
    assert fit.reduced_chi2.var() == pytest.approx(2.0 / dof, rel=0.15)
    # the variance may be given per channel (broadcast over pixels) with the same result
    per_channel = fit_known_endmembers(
        data, E, method="ols", variance=np.full(c, sigma**2)
    )
    np.testing.assert_allclose(per_channel.chi2, fit.chi2, rtol=1e-12)
    # or per element, for a (pixels, channels) matrix
    per_element = fit_known_endmembers(
        data, E, method="ols", variance=np.full((n, c), sigma**2)
    )
    np.testing.assert_allclose(per_element.chi2, fit.chi2, rtol=1e-12)


def test_variance_of_the_cube_shape_is_accepted():
    """The docstring: variance is 'a value broadcastable to data's windowed shape'.

    For a spectrum image (ny, nx, c) the natural per-element variance (e.g. the expected
    counts returned by make_eels_interface as ``noise_variance``) has the shape of the
    cube.
    """
    rng = np.random.default_rng(5)
    E = np.abs(rng.normal(size=(2, 12))) + 0.5
    cube = rng.uniform(1.0, 2.0, (3, 4, 2)) @ E + 0.01 * rng.standard_normal((3, 4, 12))
    var = np.full(cube.shape, 0.5)
    fit = fit_known_endmembers(cube, E, variance=var)
    ref = fit_known_endmembers(cube, E, variance=0.5)
    np.testing.assert_allclose(fit.chi2, ref.chi2, rtol=1e-12)


def test_poisson_fit_is_the_maximum_likelihood():
    rng = np.random.default_rng(6)
    k, c, n = 3, 25, 400
    E = rng.uniform(0.2, 3.0, (k, c))
    true = rng.uniform(0.0, 20.0, (n, k))
    true[: n // 4, 0] = 0.0  # some pixels without the first endmember
    counts = rng.poisson(true @ E).astype(float)
    fit = fit_known_endmembers(counts, E, method="poisson")
    coef = fit.coefficients
    assert np.all(coef >= 0)
    mu = coef @ E
    assert mu.min() > 1e-3  # the floor of the implementation is not active here
    score = (counts / mu - 1.0) @ E.T  # ∂ log L / ∂ a_k
    scale = np.abs(counts / mu) @ np.abs(E.T) + E.sum(axis=1)
    positive = coef > 1e-9
    assert np.abs(score[positive] / scale[positive]).max() < 1e-7
    assert np.all(score[~positive] / scale[~positive] <= 1e-7)
    assert (~positive).sum() > 0  # the constraint is active somewhere
    # its likelihood is at least that of the least-squares fits
    nnls = fit_known_endmembers(counts, E, method="nnls").coefficients
    ll_poisson = _poisson_loglik(counts, mu)
    ll_nnls = _poisson_loglik(counts, np.maximum(nnls @ E, 1e-300))
    assert np.all(ll_poisson >= ll_nnls - 1e-8 * np.abs(ll_nnls))
    assert np.mean(ll_poisson > ll_nnls + 1e-6) > 0.9
    # and at least that of small feasible perturbations of it
    for _ in range(5):
        other = np.maximum(coef + 0.01 * rng.standard_normal(coef.shape), 0.0)
        assert np.all(
            ll_poisson >= _poisson_loglik(counts, np.maximum(other @ E, 1e-300)) - 1e-9
        )


def test_poisson_reduced_chi2_is_one_on_poisson_data():
    rng = np.random.default_rng(7)
    k, c, n = 3, 60, 1500
    E = rng.uniform(1.0, 4.0, (k, c))
    true = rng.uniform(20.0, 60.0, (n, k))
    counts = rng.poisson(true @ E).astype(float)
    fit = fit_known_endmembers(counts, E, method="poisson", variance="poisson")
    dof = c - k
    # Pearson's χ² of Poisson counts: each term has variance 2 + 1/μ ≈ 2
    se = np.sqrt(2.0 / dof / n)
    assert abs(fit.reduced_chi2.mean() - 1.0) < 4 * se
    # the same data with the wrong (too small) variance gives χ² far above 1
    assert (
        fit_known_endmembers(
            counts, E, method="poisson", variance=1.0
        ).reduced_chi2.mean()
        > 50
    )


def test_poisson_variance_floor_flags_counts_where_model_predicts_none():
    E = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    counts = np.array([[10.0, 10.0, 0.0, 0.0]])
    fit = fit_known_endmembers(counts, E, method="poisson")
    np.testing.assert_allclose(fit.coefficients, [[10.0, 0.0]], atol=1e-9)
    assert np.isfinite(fit.chi2).all() and fit.chi2[0] == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------------- NNLS


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 6),
    extra=st.integers(0, 10),
    n=st.integers(1, 30),
)
def test_nnls_batch_kkt_conditions(seed, k, extra, n):
    rng = np.random.default_rng(seed)
    A = well_conditioned(rng, k, k + extra + 1).T  # (c, k)
    B = rng.normal(size=(n, A.shape[0])) * 3.0
    x, n_iter = nnls_batch(A.T @ A, B @ A)
    assert x.shape == (n, k) and isinstance(n_iter, int)
    assert np.all(x >= 0)
    grad = (B - x @ A.T) @ A  # minus the gradient of ½‖Ax − b‖²
    tol = 1e-9 * (np.abs(B) @ np.abs(A)).max(initial=1.0)
    assert np.all(grad[x == 0] <= tol)
    assert np.all(np.abs(grad[x > 0]) <= tol)
    ref = _scipy_nnls_rows(B, A.T)
    np.testing.assert_allclose(x, ref, atol=1e-8 * max(1.0, np.abs(ref).max()))


@FAST
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 5), n=st.integers(1, 12))
def test_nnls_batch_per_row_gram_equals_row_by_row(seed, k, n):
    rng = np.random.default_rng(seed)
    c = k + 4
    A = np.stack([well_conditioned(rng, k, c).T for _ in range(n)])  # (n, c, k)
    B = rng.normal(size=(n, c))
    gram = np.einsum("nck,ncj->nkj", A, A)
    rhs = np.einsum("nc,nck->nk", B, A)
    x, _ = nnls_batch(gram, rhs)
    for i in range(n):
        xi, _ = nnls_batch(gram[i], rhs[i : i + 1])
        np.testing.assert_allclose(x[i], xi[0], atol=1e-10)
        ref = optimize.nnls(A[i], B[i])[0]
        np.testing.assert_allclose(x[i], ref, atol=1e-8 * max(1.0, np.abs(ref).max()))


def test_nnls_batch_warns_when_stopped_early():
    rng = np.random.default_rng(8)
    A = well_conditioned(rng, 6, 12).T
    B = np.abs(rng.normal(size=(5, 12))) @ np.ones(
        (12, 12)
    )  # all variables want to be free
    B = B + rng.normal(size=B.shape)
    x_full, _ = nnls_batch(A.T @ A, B @ A)
    needs = int((x_full > 0).sum(axis=1).max())
    assert needs >= 2
    with pytest.warns(ConvergenceWarning, match=r"max_iter=1"):
        x, n_iter = nnls_batch(A.T @ A, B @ A, max_iter=1)
    assert n_iter == 1 and np.all(x >= 0)


# ---------------------------------------------------------------------------- bad input


def test_bad_input_raises():
    rng = np.random.default_rng(9)
    E = rng.uniform(0.5, 1.5, (2, 6))
    data = rng.uniform(1.0, 2.0, (3, 4, 6))
    nan = data.copy()
    nan[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"data contains 1 NaN"):
        fit_known_endmembers(nan, E)
    with pytest.raises(ValueError, match=r"endmembers have 6 channels but data have 5"):
        fit_known_endmembers(data[..., :5], E)
    with pytest.raises(ValueError, match=r"at least 2 dimensions"):
        fit_known_endmembers(data[0, 0], E)
    with pytest.raises(ValueError, match=r"at most 3 dimensions"):
        fit_known_endmembers(data[None], E)
    with pytest.raises(ValueError, match=r"method must be 'ols', 'nnls' or 'poisson'"):
        fit_known_endmembers(data, E, method="lasso")
    with pytest.raises(ValueError, match=r"linearly dependent"):
        fit_known_endmembers(data, np.vstack([E, 2 * E[0] - 3 * E[1]]))
    negative = data.copy()
    negative[0, 0, 0] = -1.0
    with pytest.raises(ValueError, match=r"method='poisson' needs counts"):
        fit_known_endmembers(negative, E, method="poisson")
    with pytest.raises(ValueError, match=r"broadcasts neither"):
        fit_known_endmembers(data, E, variance=np.ones(5))
    with pytest.raises(ValueError, match=r"variance must be positive"):
        fit_known_endmembers(data, E, variance=0.0)
    with pytest.raises(ValueError, match=r"variance must be positive"):
        fit_known_endmembers(data, E, variance=-np.ones(6))
    with pytest.raises(ValueError, match=r"variance must be 'poisson'"):
        fit_known_endmembers(data, E, variance="gaussian")
    with pytest.raises(ValueError, match=r"max_iter must be >= 1"):
        fit_known_endmembers(data, E, max_iter=0)
    with pytest.raises(TypeError, match=r"data must be a numeric array"):
        fit_known_endmembers("spectra", E)
    with pytest.raises(TypeError, match=r"endmembers must hold real numbers"):
        fit_known_endmembers(data, np.array([["a"] * 6, ["b"] * 6]))
    with pytest.raises(ValueError, match=r"endmembers must be 1-D or 2-D"):
        fit_known_endmembers(data, E[None])


def test_single_endmember_as_1d_array():
    E = np.array([1.0, 2.0, 3.0])
    fit = fit_known_endmembers(np.array([[2.0, 4.0, 6.0], [1.0, 2.0, 3.0]]), E)
    np.testing.assert_allclose(fit.coefficients, [[2.0], [1.0]])
    assert fit.dof == 2


# ------------------------------------------------------------- KnownEndmemberRegression


def _dataset(seed=10, n=60, c=20, k=3):
    rng = np.random.default_rng(seed)
    E = np.abs(rng.normal(size=(k, c))) + 0.2
    X = rng.uniform(0.0, 3.0, (n, k)) @ E + 0.05 * rng.standard_normal((n, c))
    return X, E


@pytest.mark.parametrize("method", ["ols", "nnls", "poisson"])
def test_transformer_matches_function(method):
    X, E = _dataset()
    X = np.abs(X)
    est = KnownEndmemberRegression(E, method=method).fit(X)
    assert est.n_features_in_ == X.shape[1]
    coef = est.transform(X)
    fit = fit_known_endmembers(X, E, method=method)
    np.testing.assert_allclose(coef, fit.coefficients, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        est.inverse_transform(coef), fit.model, rtol=1e-10, atol=1e-10
    )
    np.testing.assert_allclose(est.fit_transform(X), coef)


def test_transformer_with_window():
    X, E = _dataset(c=30)
    energy = np.linspace(0.0, 29.0, 30)
    est = KnownEndmemberRegression(
        E, method="ols", energy=energy, window=(5.0, 20.0)
    ).fit(X)
    mask = (energy >= 5.0) & (energy <= 20.0)
    np.testing.assert_array_equal(est.channels_, mask)
    np.testing.assert_array_equal(est.endmembers_, E[:, mask])
    ref = np.linalg.lstsq(E[:, mask].T, X[:, mask].T, rcond=None)[0].T
    np.testing.assert_allclose(est.transform(X), ref, atol=1e-10)
    assert est.inverse_transform(ref).shape == (X.shape[0], mask.sum())
    with pytest.raises(ValueError, match=r"energy has 29 values but X has 30 features"):
        KnownEndmemberRegression(E, energy=energy[:29], window=(5.0, 20.0)).fit(X)


def test_transformer_in_pipeline_and_clone():
    rng = np.random.default_rng(11)
    E = np.abs(rng.normal(size=(2, 15))) + 0.1
    groups = np.repeat([[1.0, 0.05], [0.05, 1.0]], 20, axis=0)
    X = groups @ E + 0.01 * rng.standard_normal((40, 15))
    est = KnownEndmemberRegression(E, method="nnls")
    twin = clone(est)
    assert twin is not est and np.array_equal(twin.get_params()["endmembers"], E)
    assert twin.get_params()["method"] == "nnls" and not hasattr(twin, "endmembers_")
    pipe = Pipeline(
        [
            ("regress", twin),
            ("scale", FunctionTransformer(lambda a: 10 * a)),
            ("cluster", KMeans(2, n_init=3, random_state=0)),
        ]
    )
    labels = pipe.fit_predict(X)
    assert (
        len(set(labels[:20])) == 1
        and len(set(labels[20:])) == 1
        and labels[0] != labels[-1]
    )
    np.testing.assert_allclose(
        pipe[:-1].transform(X),
        10 * fit_known_endmembers(X, E, method="nnls").coefficients,
    )
    assert not hasattr(est, "endmembers_")  # the original was not fitted


def test_transformer_errors():
    X, E = _dataset()
    est = KnownEndmemberRegression(E).fit(X)
    with pytest.raises(
        ValueError,
        match=r"X has 21 features, but KnownEndmemberRegression is expecting 20",
    ):
        est.transform(np.hstack([X, X[:, :1]]))
    with pytest.raises(
        ValueError, match=r"endmembers have 20 channels but data have 19"
    ):
        KnownEndmemberRegression(E).fit(X[:, :19])
    with pytest.raises(ValueError, match=r"method must be 'ols', 'nnls' or 'poisson'"):
        KnownEndmemberRegression(E, method="magic").fit(X)
    with pytest.raises(ValueError, match=r"linearly dependent"):
        KnownEndmemberRegression(np.vstack([E, E[0] + E[1]])).fit(X)
    with pytest.raises(ValueError, match=r"X has 2 columns but there are 3 endmembers"):
        est.inverse_transform(np.ones((4, 2)))


# Estimator checks of scikit-learn 1.7, run with endmembers of 3 channels: that matches
# the 3-feature data of most checks. Each check below instead fits random data with
# another number of features, which the fixed endmembers cannot describe, so fit raises
# "endmembers have 3 channels but data have N". (Verified in the test below for every
# one.)
_N_FEATURES_REASON = (
    "endmembers fix the number of features at 3; this check fits data with {}"
)
KNOWN_ENDMEMBER_EXPECTED_FAILURES = {
    "check_estimators_dtypes": _N_FEATURES_REASON.format("5 features"),
    "check_dtype_object": _N_FEATURES_REASON.format("10 features"),
    "check_estimators_fit_returns_self": _N_FEATURES_REASON.format("2 features"),
    "check_readonly_memmap_input": _N_FEATURES_REASON.format("2 features"),
    "check_estimators_overwrite_params": _N_FEATURES_REASON.format("2 features"),
    "check_fit_idempotent": _N_FEATURES_REASON.format("2 features"),
    "check_fit_check_is_fitted": _N_FEATURES_REASON.format("2 features"),
    "check_n_features_in": _N_FEATURES_REASON.format("2 features"),
    "check_n_features_in_after_fitting": _N_FEATURES_REASON.format("4 features"),
    "check_positive_only_tag_during_fit": _N_FEATURES_REASON.format(
        "4 features (iris)"
    ),
    "check_fit2d_1sample": _N_FEATURES_REASON.format("10 features (and 1 sample)"),
    "check_fit2d_1feature": _N_FEATURES_REASON.format("1 feature"),
}


def test_check_estimator_known_endmember_regression():
    E = np.array([[1.0, 0.5, 0.2], [0.1, 0.6, 1.2]])
    xfailed = run_estimator_checks(
        KnownEndmemberRegression(E), KNOWN_ENDMEMBER_EXPECTED_FAILURES
    )
    # every listed check fails only because of the number of features
    for name, message in xfailed.items():
        n = KNOWN_ENDMEMBER_EXPECTED_FAILURES[name].split("data with ")[1].split(" ")[0]
        assert f"endmembers have 3 channels but data have {n}" in message, (
            name,
            message,
        )


def test_function_and_estimator_share_the_default_method():
    """One default for one parameter: fit_known_endmembers and KnownEndmemberRegression
    both fit non-negative amounts unless told otherwise."""
    import inspect

    function_default = (
        inspect.signature(fit_known_endmembers).parameters["method"].default
    )
    assert function_default == KnownEndmemberRegression(np.eye(2)).method == "nnls"
    rng = np.random.default_rng(4)
    E = well_conditioned(rng, 3, 12)
    X = rng.normal(size=(50, 12))  # noise: OLS would go negative
    np.testing.assert_allclose(
        fit_known_endmembers(X, E).coefficients,
        KnownEndmemberRegression(E).fit_transform(X),
        atol=1e-12,
    )
    assert fit_known_endmembers(X, E).coefficients.min() >= 0
