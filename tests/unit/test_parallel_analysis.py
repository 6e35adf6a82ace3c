"""parallel_analysis: the simulated noise floor of plain PCA."""

import numpy as np
import pytest

from lectlib.decomposition import noise_edge, parallel_analysis, pca


def _counts(mean, seed):
    return np.random.default_rng(seed).poisson(mean).astype(float)


def test_white_poisson_floor_is_the_marchenko_pastur_edge():
    # Constant mean: Poisson noise is white with variance = mean, so the floor must be
    # the closed-form edge (Tracy-Widom fluctuations are a few percent at this size).
    n, p, mean = 600, 60, 40.0
    X = _counts(np.full((n, p), mean), 0)
    res = parallel_analysis(X, n_draws=30, random_state=1)
    edge = noise_edge(n, p, mean)
    assert abs(res.floor / edge - 1) < 0.06
    # the data's own largest eigenvalue is one more draw of the same noise
    assert res.eigenvalues[0] < 1.06 * res.floor


def test_heteroscedastic_floor_follows_the_true_noise():
    # Counts whose mean varies 100-fold across channels: the white edge at the mean
    # variance is far too low; the simulated floor matches the eigenvalues of the true
    # noise (X - mean) within their own spread.
    rng = np.random.default_rng(2)
    n, p = 500, 40
    profile = np.geomspace(1.0, 100.0, p)
    mean = np.outer(rng.uniform(0.8, 1.2, n), profile)
    X = _counts(mean, 3)
    res = parallel_analysis(X, n_draws=30, random_state=4)
    true_noise = [pca(_counts(mean, s) - mean).eigenvalues[0] for s in range(10, 30)]
    lo, hi = np.quantile(true_noise, [0.0, 1.0])
    assert 0.9 * lo < res.floor < 1.1 * hi
    assert res.floor > 3 * noise_edge(n, p, X.mean())


def test_planted_components_are_counted():
    # Three strong components (abundances that do not sum to one, so centering keeps
    # all three) well above the noise: exactly three above the floor, with or without
    # centering (uncentered, the mean lies in their span).
    rng = np.random.default_rng(5)
    A = rng.uniform(0.2, 1.0, (400, 3))
    E = rng.uniform(0, 1, (3, 50)) ** 3 * 200.0
    X = _counts(A @ E, 6)
    for center in (True, False):
        res = parallel_analysis(X, center=center, random_state=0)
        assert res.n_components == 3, center
        assert np.allclose(res.eigenvalues, pca(X, center=center).eigenvalues)


def test_permutation_floor_of_pure_noise_matches_poisson():
    # Without signal, shuffling keeps only noise: both floors agree.
    X = _counts(np.full((400, 30), 25.0), 7)
    a = parallel_analysis(X, random_state=0).floor
    b = parallel_analysis(X, method="permutation", random_state=0).floor
    assert abs(a / b - 1) < 0.08


def test_permutation_floor_includes_the_signal():
    # A strong two-level signal: each channel's spread across pixels is mostly signal,
    # which permutation keeps, so its floor lies far above the counting-noise floor.
    rng = np.random.default_rng(8)
    levels = np.where(rng.uniform(size=(300, 1)) < 0.5, 1.0, 3.0)
    X = _counts(levels * np.linspace(50, 150, 20), 9)
    a = parallel_analysis(X, random_state=0)
    b = parallel_analysis(X, method="permutation", random_state=0)
    assert b.floor > 10 * a.floor
    assert a.n_components == 1


def test_shapes_seed_and_input_untouched():
    X = _counts(np.full((30, 8), 10.0), 0)
    copy = X.copy()
    a = parallel_analysis(X, n_draws=5, quantile=0.5, random_state=3)
    b = parallel_analysis(X, n_draws=5, quantile=0.5, random_state=3)
    assert a.noise_eigenvalues.shape == (5, 8)
    assert np.array_equal(a.noise_eigenvalues, b.noise_eigenvalues)
    assert a.floor == np.quantile(a.noise_eigenvalues[:, 0], 0.5)
    assert np.array_equal(X, copy)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(X=-np.ones((5, 3))), "counts"),
        (dict(X=np.ones((1, 3))), "at least 2"),
        (dict(X=np.ones(3)), "2-D"),
        (dict(X=np.full((4, 3), np.nan)), "X"),
        (dict(X=np.ones((4, 3)), method="bootstrap"), "method"),
        (dict(X=np.ones((4, 3)), n_draws=0), "n_draws"),
        (dict(X=np.ones((4, 3)), quantile=1.5), "quantile"),
        (dict(X=np.full((4, 3), 1e20)), "Poisson"),
    ],
)
def test_bad_input_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        parallel_analysis(**kwargs)
