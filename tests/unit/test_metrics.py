"""Unit and property tests of lectlib.metrics.

Expected values come from geometry (angles of hand-built vectors), brute force (double
loops, all permutations), definitions (SNR, RMSE, chi-square) and the statistics of
Gaussian noise.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import signal

from lectlib.metrics import (
    abundance_rmse,
    lag_autocorrelation,
    match_components,
    match_labels,
    pairwise_spectral_angles,
    reduced_chi_square,
    snr_db,
    spectral_angle,
    variance_by_intensity,
)

FAST = settings(deadline=None, max_examples=40)


@st.composite
def spectra(draw, n_rows=None, n_channels=None):
    """Random spectra with well-defined angles (rows of norm >= 0.1)."""
    n = draw(st.integers(1, 6)) if n_rows is None else n_rows
    c = draw(st.integers(2, 12)) if n_channels is None else n_channels
    seed = draw(st.integers(0, 2**32 - 1))
    X = np.random.default_rng(seed).normal(size=(n, c))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X * draw(st.floats(0.1, 100.0))


def _angle(u, v):
    """Independent reference: the angle from the law of cosines,
    via arctan2 (stable at 0/180)."""
    u = np.asarray(u, float)
    v = np.asarray(v, float)
    cross = np.linalg.norm(np.outer(u, v) - np.outer(v, u)) / np.sqrt(
        2
    )  # |u||v| sin(theta)
    return np.degrees(np.arctan2(cross, u @ v))


# ----------------------------------------------------------------------- spectral angle


def test_spectral_angle_hand_values():
    assert spectral_angle([1.0, 0.0], [1.0, 1.0]) == pytest.approx(45.0, abs=1e-12)
    assert spectral_angle([1.0, 0.0], [0.0, 2.0]) == pytest.approx(90.0, abs=1e-12)
    assert spectral_angle([1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]) == pytest.approx(
        180.0, abs=1e-6
    )
    assert spectral_angle([1.0, 2.0], [2.0, 4.0]) == pytest.approx(0.0, abs=1e-6)
    # 60 degrees: cos = 1/2
    assert spectral_angle([1.0, 0.0], [0.5, np.sqrt(3) / 2]) == pytest.approx(
        60.0, abs=1e-9
    )


@FAST
@given(X=spectra(n_rows=2), s=st.floats(1e-3, 1e3), t=st.floats(1e-3, 1e3))
def test_spectral_angle_symmetric_scale_invariant(X, s, t):
    a, b = X
    ab = spectral_angle(a, b)
    assert ab == pytest.approx(spectral_angle(b, a), abs=1e-9)
    assert spectral_angle(s * a, t * b) == pytest.approx(ab, abs=1e-6)
    assert 0.0 <= ab <= 180.0
    assert ab == pytest.approx(_angle(a, b), abs=1e-5)
    assert spectral_angle(a, s * a) == pytest.approx(0.0, abs=1e-5)
    # a negative scale gives the supplementary angle
    assert spectral_angle(-a, b) == pytest.approx(180.0 - ab, abs=1e-6)


@FAST
@given(
    c=st.integers(2, 10),
    i=st.integers(0, 9),
    j=st.integers(0, 9),
    s=st.floats(0.1, 10.0),
)
def test_spectral_angle_orthogonal_basis_vectors(c, i, j, s):
    i, j = i % c, j % c
    e = np.eye(c)
    expected = 0.0 if i == j else 90.0
    assert spectral_angle(e[i], s * e[j]) == pytest.approx(expected, abs=1e-12)


@FAST
@given(X=spectra(), Y=spectra(n_rows=1, n_channels=None))
def test_spectral_angle_broadcasts_over_rows(X, Y):
    c = X.shape[1]
    w = np.resize(Y[0], c) + 0.5  # one spectrum with X's channel count
    angles = spectral_angle(X, w)
    assert angles.shape == (X.shape[0],)
    for i, row in enumerate(X):
        assert angles[i] == pytest.approx(_angle(row, w), abs=1e-5)
    # (n, 1, c) against (m, c) broadcasts to (n, m)
    grid = spectral_angle(X[:, None, :], X[None, :, :])
    assert grid.shape == (X.shape[0], X.shape[0])


def test_spectral_angle_errors():
    with pytest.raises(ValueError, match=r"a has 3 channels and b has 2"):
        spectral_angle(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match=r"b contains an all-zero spectrum"):
        spectral_angle(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"a contains 1 NaN"):
        spectral_angle([1.0, np.nan], [1.0, 1.0])
    with pytest.raises(TypeError, match=r"b must hold real numbers"):
        spectral_angle([1.0, 2.0], ["x", "y"])


@FAST
@given(data=st.data())
def test_pairwise_angles_match_double_loop(data):
    c = data.draw(st.integers(2, 10))
    A = data.draw(spectra(n_channels=c))
    B = data.draw(spectra(n_channels=c))
    P = pairwise_spectral_angles(A, B)
    assert P.shape == (len(A), len(B))
    for i in range(len(A)):
        for j in range(len(B)):
            # arccos near 0 and 180 degrees amplifies rounding to ~1e-6 degrees
            assert P[i, j] == pytest.approx(float(spectral_angle(A[i], B[j])), abs=1e-5)


def test_pairwise_angles_errors():
    with pytest.raises(ValueError, match=r"A has 3 channels and B has 4"):
        pairwise_spectral_angles(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"A must be 2-D"):
        pairwise_spectral_angles(np.ones(3), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"B contains an all-zero spectrum"):
        pairwise_spectral_angles(np.ones((2, 3)), np.zeros((1, 3)))


# --------------------------------------------------------------------- match_components


@FAST
@given(
    k=st.integers(1, 6),
    c=st.integers(8, 30),
    seed=st.integers(0, 2**32 - 1),
)
def test_match_recovers_permutation_and_scale(k, c, seed):
    rng = np.random.default_rng(seed)
    reference = rng.random((k, c)) + np.eye(k, c) * 3  # distinct positive spectra
    perm = rng.permutation(k)
    scales = rng.uniform(0.05, 20.0, k)
    estimated = reference[perm] * scales[:, None]  # estimated[i] is reference[perm[i]]
    result = match_components(estimated, reference)
    np.testing.assert_array_equal(
        result.order, np.argsort(perm)
    )  # the inverse permutation
    np.testing.assert_allclose(result.angles, 0.0, atol=1e-5)
    np.testing.assert_allclose(result.matched, reference, rtol=1e-10, atol=1e-12)


@FAST
@given(k=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_match_sign_invariant(k, seed):
    rng = np.random.default_rng(seed)
    c = 20
    reference = rng.random((k, c)) + np.eye(k, c) * 3
    perm = rng.permutation(k)
    signs = rng.choice([-1.0, 1.0], k)
    signs[0] = -1.0  # at least one flipped component
    estimated = reference[perm] * (signs * rng.uniform(0.5, 5.0, k))[:, None]
    result = match_components(estimated, reference, sign_invariant=True)
    np.testing.assert_array_equal(result.order, np.argsort(perm))
    np.testing.assert_allclose(result.angles, 0.0, atol=1e-5)
    np.testing.assert_allclose(result.matched, reference, rtol=1e-10, atol=1e-12)
    # without sign invariance the flipped component is 180 degrees away from its
    # reference
    # without sign invariance a flipped (positive) spectrum is > 90 degrees from every
    # reference
    plain = match_components(estimated, reference)
    assert plain.angles.max() > 90.0


def test_match_is_globally_optimal_where_greedy_fails():
    # Unit vectors in a plane: the angle between two is the
    # difference of their directions.
    def unit(deg):
        return np.array([np.cos(np.radians(deg)), np.sin(np.radians(deg))])

    reference = np.array([unit(0.0), unit(25.0)])
    estimated = np.array([unit(10.0), unit(-20.0)])
    # r0-e0 = 10 (the closest pair), r0-e1 = 20, r1-e0 = 15, r1-e1 = 45.
    # Greedy takes r0-e0 first and ends at 10 + 45 = 55; the optimum is 20 + 15 = 35.
    greedy_total = 10.0 + 45.0
    result = match_components(estimated, reference)
    np.testing.assert_array_equal(result.order, [1, 0])
    np.testing.assert_allclose(result.angles, [20.0, 15.0], atol=1e-9)
    assert result.angles.sum() < greedy_total


@FAST
@given(
    k=st.integers(1, 3),
    extra=st.integers(0, 2),
    c=st.integers(3, 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_match_minimizes_total_angle_brute_force(k, extra, c, seed):
    rng = np.random.default_rng(seed)
    reference = rng.normal(size=(k, c))
    estimated = rng.normal(size=(k + extra, c))
    result = match_components(estimated, reference)
    assert len(set(result.order.tolist())) == k  # never one estimate for two references
    angles = np.array(
        [[float(spectral_angle(r, e)) for e in estimated] for r in reference]
    )
    best = min(
        sum(angles[i, j] for i, j in enumerate(choice))
        for choice in itertools.permutations(range(k + extra), k)
    )
    assert result.angles.sum() == pytest.approx(best, abs=1e-9)
    np.testing.assert_allclose(
        result.angles, angles[np.arange(k), result.order], atol=1e-12
    )


@FAST
@given(k=st.integers(1, 4), extra=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_match_with_more_estimated_than_reference(k, extra, seed):
    rng = np.random.default_rng(seed)
    c = 12
    reference = np.abs(rng.normal(size=(k, c))) + 3 * np.eye(k, c)
    decoys = -np.abs(
        rng.normal(size=(extra, c))
    )  # every angle to a reference is > 90 degrees
    estimated = np.vstack([decoys, 2.5 * reference])
    order = rng.permutation(len(estimated))
    estimated = estimated[order]
    result = match_components(estimated, reference)
    true_positions = np.argsort(order)[extra:]  # where the scaled references went
    np.testing.assert_array_equal(result.order, true_positions)
    np.testing.assert_allclose(result.angles, 0.0, atol=1e-5)
    assert result.matched.shape == reference.shape


@FAST
@given(X=spectra(n_rows=4, n_channels=9), sign_invariant=st.booleans())
def test_matched_is_least_squares_rescaling(X, sign_invariant):
    reference, estimated = X[:2], X[2:]
    result = match_components(estimated, reference, sign_invariant=sign_invariant)
    picked = estimated[result.order]
    for m, p, r in zip(result.matched, picked, reference):
        # the least-squares multiple s p of p closest to r has s = (p . r) / (p . p)
        s = np.dot(p, r) / np.dot(p, p)
        if not sign_invariant:
            s = abs(s)  # only rescaled, never sign-flipped
        np.testing.assert_allclose(m, s * p, rtol=1e-10, atol=1e-12 * np.linalg.norm(r))
        if sign_invariant:  # the residual is orthogonal to the component
            assert abs(np.dot(r - m, p)) < 1e-9 * np.linalg.norm(p) * np.linalg.norm(r)


def test_match_errors():
    with pytest.raises(
        ValueError,
        match=r"need at least as many estimated components as "
        r"references, got 1 < 2",
    ):
        match_components(np.ones((1, 3)), np.eye(2, 3))
    with pytest.raises(
        ValueError, match=r"estimated has 4 channels and reference has 3"
    ):
        match_components(np.ones((2, 4)), np.eye(2, 3))
    with pytest.raises(ValueError, match=r"estimated must be 2-D"):
        match_components(np.ones(3), np.eye(1, 3))
    with pytest.raises(ValueError, match=r"all-zero spectrum"):
        match_components(np.zeros((2, 3)), np.eye(2, 3))
    with pytest.raises(ValueError, match=r"reference contains 1 NaN"):
        match_components(np.eye(2, 3), np.array([[1.0, np.nan, 0.0]]))


# ----------------------------------------------------------------------- abundance_rmse


def test_abundance_rmse_hand_example():
    est = np.array([[0.2, 0.0], [0.0, 0.0]])
    true = np.zeros((2, 2))
    # one error of 0.2 among 4 values: sqrt(0.04 / 4) = 0.1
    assert abundance_rmse(est, true) == pytest.approx(0.1, abs=1e-15)
    # per component: sqrt(0.04 / 2) and 0
    np.testing.assert_allclose(
        abundance_rmse(est, true, per_component=True), [np.sqrt(0.02), 0.0], atol=1e-15
    )
    assert abundance_rmse([[0.5, 0.5]], [[0.4, 0.6]]) == pytest.approx(0.1, abs=1e-12)


@FAST
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
    seed=st.integers(0, 2**32 - 1),
)
def test_abundance_rmse_matches_loops(shape, seed):
    rng = np.random.default_rng(seed)
    est, true = rng.random(shape), rng.random(shape)
    k = shape[-1]
    flat_e, flat_t = est.reshape(-1, k), true.reshape(-1, k)
    total, count = 0.0, 0
    per = np.zeros(k)
    for row_e, row_t in zip(flat_e, flat_t):
        for j in range(k):
            d2 = (row_e[j] - row_t[j]) ** 2
            total += d2
            count += 1
            per[j] += d2
    assert abundance_rmse(est, true) == pytest.approx(np.sqrt(total / count), rel=1e-12)
    np.testing.assert_allclose(
        abundance_rmse(est, true, per_component=True),
        np.sqrt(per / len(flat_e)),
        rtol=1e-12,
    )
    assert abundance_rmse(true, true) == 0.0
    assert abundance_rmse(est, true) == pytest.approx(
        abundance_rmse(true, est), rel=1e-15
    )


def test_abundance_rmse_errors():
    with pytest.raises(
        ValueError, match=r"estimated has shape \(4, 3\) but true has shape \(4, 2\)"
    ):
        abundance_rmse(np.ones((4, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"true contains 1 NaN"):
        abundance_rmse(np.ones(2), np.array([1.0, np.nan]))


# ------------------------------------------------------------------------------- snr_db


def test_snr_hand_values():
    clean = np.array([3.0, 4.0])  # power 12.5
    noisy = clean + np.array([0.5, -0.5])  # noise power 0.25
    assert snr_db(clean, noisy) == pytest.approx(10 * np.log10(50.0), abs=1e-12)
    assert snr_db(np.ones(4), np.array([1.1, 0.9, 1.1, 0.9])) == pytest.approx(
        20.0, abs=1e-9
    )
    assert snr_db(clean, clean) == float("inf")


@FAST
@given(seed=st.integers(0, 2**32 - 1), a=st.floats(0.01, 100.0), g=st.floats(0.1, 10.0))
def test_snr_definition_and_scaling(seed, a, g):
    rng = np.random.default_rng(seed)
    clean = rng.normal(size=50)
    noise = rng.normal(size=50)
    expected = 10 * np.log10(np.mean(clean**2) / np.mean(noise**2))
    assert snr_db(clean, clean + noise) == pytest.approx(expected, abs=1e-9)
    # scaling signal and noise together leaves it;
    # scaling the noise by g lowers it by 20 log10 g
    assert snr_db(a * clean, a * (clean + noise)) == pytest.approx(expected, abs=1e-8)
    assert snr_db(clean, clean + g * noise) == pytest.approx(
        expected - 20 * np.log10(g), abs=1e-8
    )


def test_snr_errors():
    with pytest.raises(
        ValueError, match=r"clean has shape \(3,\) but noisy has shape \(4,\)"
    ):
        snr_db(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"noisy contains 1 NaN"):
        snr_db(np.ones(2), np.array([1.0, np.inf]))


# ------------------------------------------------------------------- reduced chi-square


@pytest.mark.parametrize("variance", [0.01, 1.0, 6.25])
def test_reduced_chi_square_is_one_for_the_right_noise(variance):
    n, d = 4000, 50
    rng = np.random.default_rng(21)
    r = rng.normal(scale=np.sqrt(variance), size=(n, d))
    chi2 = reduced_chi_square(r, variance, n_parameters=0)
    assert chi2.shape == (n,)
    # each chi2_red has std sqrt(2/d); their mean over n spectra
    # has std sqrt(2/d)/sqrt(n)
    assert abs(chi2.mean() - 1.0) < 4 * np.sqrt(2 / d) / np.sqrt(n)
    assert chi2.std() == pytest.approx(np.sqrt(2 / d), rel=0.1)


def test_reduced_chi_square_counts_fitted_parameters():
    # Fit p parameters by least squares to pure noise:
    # the residual keeps d - p degrees of freedom.
    n, d, p = 3000, 20, 5
    rng = np.random.default_rng(2)
    design = rng.normal(size=(d, p))
    y = rng.normal(scale=0.5, size=(n, d))
    coef, *_ = np.linalg.lstsq(design, y.T, rcond=None)
    residuals = y - (design @ coef).T
    chi2 = reduced_chi_square(residuals, 0.25, n_parameters=p)
    assert abs(chi2.mean() - 1.0) < 4 * np.sqrt(2 / (d - p)) / np.sqrt(n)
    # ignoring the fit would give (d - p) / d = 0.75
    naive = reduced_chi_square(residuals, 0.25, n_parameters=0)
    assert abs(naive.mean() - (d - p) / d) < 4 * np.sqrt(2 / d) / np.sqrt(n)


@FAST
@given(
    residuals=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=3, max_side=8),
        elements=st.floats(-10, 10),
    ),
    variance=st.floats(0.01, 100.0),
    factor=st.floats(0.1, 10.0),
    p=st.integers(0, 2),
)
def test_reduced_chi_square_definition(residuals, variance, factor, p):
    c = residuals.shape[-1]
    chi2 = reduced_chi_square(residuals, variance, n_parameters=p)
    assert np.shape(chi2) == residuals.shape[:-1]
    expected = np.zeros(residuals.shape[:-1])
    for idx in np.ndindex(residuals.shape[:-1]):
        expected[idx] = sum(x * x / variance for x in residuals[idx]) / (c - p)
    np.testing.assert_allclose(chi2, expected, rtol=1e-10, atol=1e-300)
    # scales as 1 / variance
    np.testing.assert_allclose(
        reduced_chi_square(residuals, factor * variance, p),
        chi2 / factor,
        rtol=1e-10,
        atol=1e-300,
    )
    # per-element and per-channel variance arrays broadcast like the scalar
    full = np.full(residuals.shape, variance)
    np.testing.assert_allclose(
        reduced_chi_square(residuals, full, p), chi2, rtol=1e-12, atol=1e-300
    )
    np.testing.assert_allclose(
        reduced_chi_square(residuals, np.full(c, variance), p),
        chi2,
        rtol=1e-12,
        atol=1e-300,
    )


def test_reduced_chi_square_per_element_variance():
    # Poisson-like noise: a different variance in every element
    rng = np.random.default_rng(8)
    variance = rng.uniform(0.5, 50.0, size=(2000, 40))
    r = rng.normal(size=variance.shape) * np.sqrt(variance)
    chi2 = reduced_chi_square(r, variance, n_parameters=0)
    assert abs(chi2.mean() - 1.0) < 4 * np.sqrt(2 / 40) / np.sqrt(2000)
    assert chi2.std() == pytest.approx(np.sqrt(2 / 40), rel=0.1)


def test_reduced_chi_square_map_shape():
    r = np.ones((4, 5, 10))
    np.testing.assert_allclose(
        reduced_chi_square(r, 2.0, n_parameters=2), np.full((4, 5), 10 / 2 / 8)
    )


def test_reduced_chi_square_refuses_a_value_beyond_float64():
    # 1e100 squared over 1e-272 is 1e472: no float64 holds it, so no number is returned
    r = np.full((2, 6), 1e100)
    with pytest.raises(ValueError, match=r"exceeds float64's range"):
        reduced_chi_square(r, 1e-272, 1)
    assert np.isfinite(reduced_chi_square(r, 1e100, 1)).all()


def test_reduced_chi_square_errors():
    r = np.ones((3, 5))
    with pytest.raises(ValueError, match=r"variance must be positive everywhere"):
        reduced_chi_square(r, 0.0, 1)
    with pytest.raises(ValueError, match=r"variance must be positive everywhere"):
        reduced_chi_square(r, np.array([1.0, 1.0, -1.0, 1.0, 1.0]), 1)
    with pytest.raises(
        ValueError, match=r"5 channels leave no degrees of freedom for 5 parameters"
    ):
        reduced_chi_square(r, 1.0, 5)
    with pytest.raises(ValueError, match=r"no degrees of freedom"):
        reduced_chi_square(r, 1.0, 7)
    with pytest.raises(
        ValueError,
        match=r"variance of shape \(4,\) does not broadcast to residuals \(3, 5\)",
    ):
        reduced_chi_square(r, np.ones(4), 1)
    with pytest.raises(ValueError, match=r"n_parameters must be >= 0"):
        reduced_chi_square(r, 1.0, -1)
    with pytest.raises(TypeError, match=r"n_parameters must be an integer"):
        reduced_chi_square(r, 1.0, 1.5)
    with pytest.raises(ValueError, match=r"variance contains 1 NaN"):
        reduced_chi_square(r, np.nan, 1)


# ------------------------------------------------------------------ lag autocorrelation


def test_lag_autocorrelation_white_noise():
    rng = np.random.default_rng(5)
    r = rng.normal(size=(300, 200))
    for lag in (1, 2, 7):
        assert abs(lag_autocorrelation(r, lag)) < 4 / np.sqrt(r.size)


def test_lag_autocorrelation_smooth_and_alternating():
    x = np.linspace(0, 6, 400)
    assert lag_autocorrelation(np.sin(x)[None, :]) > 0.99
    n = 200
    alternating = (-1.0) ** np.arange(n)
    # mean 0; sum of lag-1 products -(n-1), sum of squares n
    assert lag_autocorrelation(alternating) == pytest.approx(-(n - 1) / n, abs=1e-12)
    assert lag_autocorrelation(alternating, lag=2) == pytest.approx(
        (n - 2) / n, abs=1e-12
    )


@pytest.mark.parametrize("phi", [-0.5, 0.3, 0.8])
def test_lag_autocorrelation_of_ar1_process(phi):
    # AR(1): x_t = phi x_(t-1) + e_t has autocorrelation phi**lag
    rng = np.random.default_rng(13)
    n_rows, n = 100, 1000
    e = rng.normal(size=n_rows * n + 500)
    x = signal.lfilter([1.0], [1.0, -phi], e)  # x[t] = phi x[t-1] + e[t]
    r = x[500:].reshape(n_rows, n)
    tol = (
        5 * np.sqrt((1 + phi**2) / (1 - phi**2) / r.size) + 4 / n
    )  # sampling + mean removal
    for lag in (1, 2, 3):
        assert abs(lag_autocorrelation(r, lag) - phi**lag) < tol


@FAST
@given(
    r=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.integers(3, 20)),
        elements=st.integers(-50, 50).map(lambda v: v / 10),
    ),
    lag=st.integers(1, 2),
)
def test_lag_autocorrelation_against_definition(r, lag):
    centered = r - r.mean(axis=1, keepdims=True)
    denom = sum(float(v) ** 2 for v in centered.ravel())
    # all-constant input has its own test
    # (test_lag_autocorrelation_constant_residual_is_undefined)
    assume(not np.all(r == r[:, :1]))
    num = 0.0
    for row in centered:
        for t in range(lag, row.size):
            num += row[t] * row[t - lag]
    value = lag_autocorrelation(r, lag)
    assert value == pytest.approx(num / denom, abs=1e-9)
    assert -1.0 - 1e-12 <= value <= 1.0 + 1e-12


def test_lag_autocorrelation_errors():
    with pytest.raises(ValueError, match=r"lag 5 must be smaller than the 5 channels"):
        lag_autocorrelation(np.arange(5.0), lag=5)
    with pytest.raises(ValueError, match=r"lag must be >= 1"):
        lag_autocorrelation(np.arange(5.0), lag=0)
    with pytest.raises(TypeError, match=r"lag must be an integer"):
        lag_autocorrelation(np.arange(5.0), lag=1.0)
    with pytest.raises(ValueError, match=r"residuals are constant along the last axis"):
        lag_autocorrelation(np.ones((3, 6)))
    with pytest.raises(ValueError, match=r"residuals contains 1 NaN"):
        lag_autocorrelation(np.array([1.0, np.nan, 2.0]))


@pytest.mark.parametrize("value", [1.0, 0.1, 1 / 3, 2.2])
@pytest.mark.parametrize("n", [3, 100])
def test_lag_autocorrelation_constant_residual_is_undefined(value, n):
    # A constant residual has no autocorrelation, whatever the constant; 0.1 is no
    # different from 1.0 (its mean is not exactly 0.1 in floating point, which must not
    # matter).
    with pytest.raises(ValueError, match=r"residuals are constant along the last axis"):
        lag_autocorrelation(np.full((2, n), value))


# ------------------------------------------------------------------------- match_labels


@FAST
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), size=st.integers(1, 60))
def test_match_labels_equals_the_best_of_all_relabelings(seed, n, size):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n, size)
    found = rng.integers(0, n, size)
    result = match_labels(found, truth)
    n_found = int(found.max()) + 1
    best = max(
        np.mean(np.asarray(p)[found] == truth)
        for p in itertools.permutations(
            range(max(n_found, int(truth.max()) + 1)), n_found
        )
    )
    assert result.accuracy == pytest.approx(best)
    np.testing.assert_array_equal(result.labels, result.mapping[found])
    assert result.confusion.sum() == size
    used = result.mapping[result.mapping >= 0]
    assert len(set(used.tolist())) == len(used)  # no two found labels share a truth


def test_match_labels_is_invariant_to_renumbering_and_handles_many_classes():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 40, 5000)
    permutation = rng.permutation(40)
    result = match_labels(permutation[truth], truth)  # 40! relabelings: no brute force
    assert result.accuracy == 1.0
    np.testing.assert_array_equal(result.labels, truth)
    np.testing.assert_array_equal(result.mapping[permutation], np.arange(40))


def test_match_labels_with_more_found_labels_than_true_ones():
    result = match_labels([0, 1, 2, 2], [0, 0, 1, 1])
    assert result.accuracy == 0.75
    assert sorted(result.mapping.tolist()) == [-1, 0, 1]


def test_match_labels_errors():
    with pytest.raises(ValueError, match=r"found has 3 labels and truth 2"):
        match_labels([0, 1, 1], [0, 1])
    with pytest.raises(
        ValueError, match=r"found must hold non-negative integer labels"
    ):
        match_labels([0, 1.5], [0, 1])
    with pytest.raises(
        ValueError, match=r"truth must hold non-negative integer labels"
    ):
        match_labels([0, 1], [0, -1])
    with pytest.raises(ValueError, match=r"truth must be 1-D"):
        match_labels([0, 1], [[0, 1]])


# ---------------------------------------------------------------- variance_by_intensity


def test_variance_by_intensity_tells_the_noise_models_apart():
    rng = np.random.default_rng(8)
    expected = rng.uniform(5, 200, 300_000)
    level, var_p = variance_by_intensity(expected, rng.poisson(expected), n_bins=8)
    slope = np.polyfit(level, var_p, 1)[0]
    assert abs(slope - 1) < 0.05  # Poisson: variance = mean
    _, var_g = variance_by_intensity(
        expected, expected + rng.normal(0, 3.0, expected.size), 8
    )
    np.testing.assert_allclose(var_g, 9.0, rtol=0.05)  # Gaussian: flat
    assert np.all(np.diff(level) > 0)


def test_variance_by_intensity_errors():
    with pytest.raises(
        ValueError, match=r"expected has shape \(3,\) but noisy has \(4,\)"
    ):
        variance_by_intensity(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"5 bins for 3 values"):
        variance_by_intensity(np.arange(3.0), np.arange(3.0), n_bins=5)
    with pytest.raises(ValueError, match=r"bins are empty"):
        variance_by_intensity(np.ones(100), np.ones(100), n_bins=4)


def _greedy_closest_first(found, truth, max_distance):
    pairs = sorted(
        (np.hypot(*(f - t)), i, j)
        for i, f in enumerate(found)
        for j, t in enumerate(truth)
        if np.hypot(*(f - t)) <= max_distance
    )
    used_f, used_t, matched = set(), set(), []
    for _, i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
            matched.append((i, j))
    return sorted(matched, key=lambda p: p[1])


@pytest.mark.parametrize("seed", range(12))
def test_match_positions_is_the_greedy_closest_first_matching(seed):
    from lectlib.metrics import match_positions

    rng = np.random.default_rng(seed)
    truth = rng.uniform(0, 20, (30, 2))
    found = np.vstack(
        [truth[:25] + rng.normal(0, 0.8, (25, 2)), rng.uniform(0, 20, (8, 2))]
    )
    m = match_positions(found, truth, 1.5)
    expected = _greedy_closest_first(found, truth, 1.5)
    assert list(zip(m.found_index.tolist(), m.truth_index.tolist())) == expected
    assert m.recall == len(expected) / 30 and m.precision == len(expected) / 33
    assert np.all(m.distance <= 1.5)


def test_match_positions_edge_cases():
    from lectlib.metrics import match_positions

    empty = match_positions(np.zeros((0, 2)), [[1.0, 1.0]], 1.0)
    assert empty.recall == 0.0 and empty.precision == 1.0 and empty.n_matched == 0
    with pytest.raises(ValueError, match="max_distance"):
        match_positions([[0, 0]], [[0, 0]], 0.0)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        match_positions([[0, 0, 0]], [[0, 0]], 1.0)


# --------------------------------------------------------------------- transition_width


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("falling", [False, True])
def test_transition_width_of_an_error_function_step(sigma, falling):
    from scipy.special import ndtr, ndtri

    from lectlib.metrics import transition_width

    x = np.linspace(-20.0, 20.0, 4001)
    profile = ndtr(x / sigma)
    if falling:
        profile = 1 - profile
    expected = 2 * ndtri(0.9) * sigma  # the 10-90 % width of a Gaussian blur
    assert transition_width(x, profile) == pytest.approx(expected, rel=1e-4)


def test_transition_width_ignores_scale_offset_and_sampling():
    from lectlib.metrics import transition_width

    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(0, 10, 300))
    x = np.unique(x)
    profile = np.tanh(x - 5.0)
    width = transition_width(x, profile, low=0.2, high=0.8)
    assert transition_width(x, 7.0 * profile - 3.0, low=0.2, high=0.8) == pytest.approx(
        width, rel=1e-12
    )
    # the exact crossings of the scaled tanh, from its inverse
    u = (profile - profile[0]) / (profile[-1] - profile[0])
    lo = np.arctanh(profile[0] + 0.2 * (profile[-1] - profile[0])) + 5.0
    hi = np.arctanh(profile[0] + 0.8 * (profile[-1] - profile[0])) + 5.0
    assert u[0] == 0 and u[-1] == 1
    assert width == pytest.approx(
        hi - lo, abs=0.01
    )  # linear interpolation, ~0.03 spacing


@pytest.mark.parametrize(
    "x, profile, kwargs, match",
    [
        ([0, 1, 2], [1, 1, 1], {}, "no step"),
        ([0, 2, 1], [0, 1, 2], {}, "strictly increasing"),
        ([0, 1, 2], [0, 1], {}, "same length"),
        ([0, 1, 2], [0, np.nan, 1], {}, "NaN"),
        ([0, 1, 2], [0, 0.5, 1], dict(low=0.8, high=0.2), "below high"),
        ([0, 1, 2], [0, 0.5, 1], dict(high=1.0), "high"),
    ],
)
def test_transition_width_refuses_bad_input(x, profile, kwargs, match):
    from lectlib.metrics import transition_width

    with pytest.raises(ValueError, match=match):
        transition_width(x, profile, **kwargs)
