"""Tests of lectlib.unmixing.MinimumVolume (minimum-volume simplex, SISAL).

Expected values come from the construction of the data, not from the implementation:
simplices whose vertices are known and whose pixels lie on the facets (binary or
ternary mixtures, no pure pixel), uniformly contracted simplices whose vertices no
method can see, N-FINDR's vertices when pure pixels exist, the exact barycentric
coordinates of noiseless pixels, affine maps of the data and permutations of the
pixels.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from helpers import run_estimator_checks

from lectlib.datasets import make_mixture
from lectlib.metrics import match_components
from lectlib.unmixing import NFINDR, MinimumVolume, fcls

pytestmark = pytest.mark.filterwarnings("error::sklearn.exceptions.ConvergenceWarning")


def _vertices(rng, k, c, max_cond=30.0):
    """Random positive vertices (k, c) with well-conditioned edges."""
    for _ in range(200):
        W = rng.uniform(0.1, 1.0, (k, c))
        if np.linalg.cond(W[1:] - W[0]) < max_cond:
            return W
    raise AssertionError("no well-conditioned simplex drawn")  # pragma: no cover


def _facet_abundances(rng, k, n, a_max=0.8):
    """Abundances on the facets of the simplex and never pure: each pixel mixes the
    k − 1 endmembers of one random facet (one abundance exactly 0), pulled toward that
    facet's centroid until no abundance exceeds ``a_max``."""
    A = np.zeros((n, k))
    missing = rng.integers(0, k, n)
    on_facet = np.ones((n, k), dtype=bool)
    on_facet[np.arange(n), missing] = False
    A[on_facet] = rng.dirichlet(np.ones(k - 1), n).ravel()
    centroid = on_facet / (k - 1.0)
    top = A.max(axis=1)
    pull = np.clip((top - a_max) / (top - 1.0 / (k - 1)), 0.0, 1.0)
    return (1 - pull[:, None]) * A + pull[:, None] * centroid


def _angles(found, truth):
    return match_components(found, truth).angles


# ------------------------------------------------------------ where it works: facets


@pytest.mark.parametrize("k", [3, 4])
@pytest.mark.parametrize("seed", [0, 1])
def test_recovers_the_vertices_without_pure_pixels(k, seed):
    """Noiseless pixels on the facets, every abundance ≤ 0.8: the facets' planes meet
    at the true vertices, which no pixel reaches."""
    rng = np.random.default_rng(seed)
    W = _vertices(rng, k, 30)
    A = _facet_abundances(rng, k, 600)
    X = A @ W
    assert A.max() <= 0.8 + 1e-12 and np.all(A.min(axis=1) == 0)
    model = MinimumVolume(k, random_state=seed).fit(X)
    assert _angles(model.endmembers_, W).max() < 1.0
    # the vertices themselves, not only their directions: to 1e-3 of the simplex size
    order = match_components(model.endmembers_, W).order
    np.testing.assert_allclose(model.endmembers_[order], W, atol=1e-3 * np.ptp(W))
    # N-FINDR can only pick pixels, which are 20 % of an edge away from each vertex
    nfindr = NFINDR(k, random_state=seed).fit(X)
    assert _angles(nfindr.endmembers_, W).max() > 1.0
    # and the abundances are the true ones
    a = model.transform(X)[:, order]
    np.testing.assert_allclose(a, A, atol=1e-3)


def test_recovers_binary_mixtures_at_phase_boundaries():
    """Three phases in stripes with binary mixtures across the two boundaries and
    between the outer phases, none pure (the lecture's picture of a binary phase
    boundary without a pure region)."""
    rng = np.random.default_rng(5)
    W = _vertices(rng, 3, 50)
    t = rng.uniform(0.15, 0.85, 900)
    pair = rng.integers(0, 3, 900)
    A = np.zeros((900, 3))
    A[np.arange(900), pair] = t
    A[np.arange(900), (pair + 1) % 3] = 1 - t
    model = MinimumVolume(3, random_state=0).fit(A @ W)
    assert _angles(model.endmembers_, W).max() < 1.0


def test_a_noisy_facet_sits_inside_its_cloud_with_a_larger_regularization():
    """Gaussian noise σ: with the default (about one pixel outside each facet) every
    facet moves out to the extreme of the noise, so the simplex is too large; with
    regularization ρ about ρ n pixels lie outside each facet, as the Notes derive."""
    rng = np.random.default_rng(2)
    k, n, c = 3, 2000, 40
    W = _vertices(rng, k, c)
    A = _facet_abundances(rng, k, n)
    sigma = 0.01
    X = A @ W + sigma * rng.standard_normal((n, c))
    tight = MinimumVolume(k, random_state=0).fit(X)
    loose = MinimumVolume(k, regularization=0.1, random_state=0).fit(X)
    truth_volume = _gram_volume(W)
    assert tight.volume_ > loose.volume_
    assert abs(loose.volume_ / truth_volume - 1) < abs(tight.volume_ / truth_volume - 1)
    for model, rho in ((loose, 0.1),):
        a = _barycentric(model, X)
        outside = np.mean(a < 0, axis=0)
        # ρ n pixels outside each facet, within the pixels on the kink and the
        # ADMM's tolerance: a factor 1.5 either way
        assert np.all((outside > rho / 1.5) & (outside < rho * 1.5)), outside


def _gram_volume(V):
    D = V[1:] - V[0]
    return math.sqrt(np.linalg.det(D @ D.T)) / math.factorial(V.shape[0] - 1)


def _barycentric(model, X):
    """Barycentric coordinates of X in the simplex found (may be negative)."""
    k = model.endmembers_.shape[0]
    Y = (X - model.mean_) @ model.components_.T
    M = (model.endmembers_ - model.mean_) @ model.components_.T
    H = np.vstack([np.ones(k), M.T])
    return np.linalg.solve(H, np.vstack([np.ones(len(X)), Y.T])).T


# ----------------------------------------------------- with pure pixels: as N-FINDR


@pytest.mark.parametrize("snr_db", [None, 30.0])
def test_equals_nfindr_when_pure_pixels_exist(snr_db):
    """With a pure pixel per endmember the smallest simplex enclosing the pixels has
    N-FINDR's pixels as vertices; with noise both are off by about the angle one
    noise vector makes with an endmember, atan(σ √c / ‖w‖)."""
    data = make_mixture(
        3,
        shape=(40, 40),
        n_channels=64,
        n_pure=1,
        noise=None if snr_db is None else "gaussian",
        snr_db=30.0 if snr_db is None else snr_db,
        random_state=1,
    )
    X = data.cube.reshape(-1, 64)
    W = data.endmembers
    model = MinimumVolume(3, random_state=0).fit(X)
    nfindr = NFINDR(3, random_state=0).fit(X)
    between = _angles(model.endmembers_, nfindr.endmembers_)
    if snr_db is None:
        assert between.max() < 0.5, between
        return
    sigma = math.sqrt(data.noise_variance)
    noise_angle = np.degrees(
        np.arctan(sigma * math.sqrt(64) / np.linalg.norm(W, axis=1))
    )
    # both within a few noise angles of the truth, and of each other
    assert _angles(model.endmembers_, W).max() < 3 * noise_angle.max()
    assert _angles(nfindr.endmembers_, W).max() < 3 * noise_angle.max()
    assert between.max() < 4 * noise_angle.max()


# ---------------------------------------------------- where it cannot: deep inside


def test_pixels_deep_inside_do_not_constrain_the_vertices():
    """Every pixel a mixture of all three (a uniform contraction of the simplex toward
    its centroid by a factor 1 − s): the data are also a full simplex of their own,
    the contracted one, and the smallest simplex holding them is that one, not the
    truth. The volume found is (1 − s)^(k−1) of the truth's."""
    rng = np.random.default_rng(3)
    k, s = 3, 0.4
    W = _vertices(rng, k, 30)
    A = (1 - s) * rng.dirichlet(np.ones(k), 1500) + s / k
    X = A @ W
    contracted = (1 - s) * W + s * W.mean(axis=0)
    model = MinimumVolume(k, random_state=0).fit(X)
    assert _angles(model.endmembers_, contracted).max() < 1.0
    assert _angles(model.endmembers_, W).max() > 3.0
    assert model.volume_ / _gram_volume(W) == pytest.approx(
        (1 - s) ** (k - 1), rel=0.05
    )


# ------------------------------------------------------------------- the estimator


def test_abundances_are_non_negative_and_sum_to_one():
    rng = np.random.default_rng(4)
    W = _vertices(rng, 4, 25)
    X = _facet_abundances(rng, 4, 400) @ W + 0.01 * rng.standard_normal((400, 25))
    model = MinimumVolume(4, random_state=0).fit(X)
    a = model.transform(X)
    assert a.shape == (400, 4)
    assert np.all(a >= 0)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(a, fcls(X, model.endmembers_))
    assert model.endmembers_.shape == (4, 25)
    assert model.components_.shape == (3, 25) and model.mean_.shape == (25,)
    assert model.n_features_in_ == 25 and 1 <= model.n_iter_ <= model.max_iter
    assert model.volume_ == pytest.approx(_gram_volume(model.endmembers_), rel=1e-9)


def test_invariant_to_the_order_of_the_pixels():
    """The default start (farthest points) does not depend on the pixel order, and
    every step treats the pixels alike: the same simplex, to rounding, vertices in
    the same order. A random N-FINDR start may end elsewhere on the flat bottom of
    the objective, within the iterations' tolerance."""
    rng = np.random.default_rng(6)
    W = _vertices(rng, 3, 30)
    X = _facet_abundances(rng, 3, 500) @ W + 0.005 * rng.standard_normal((500, 30))
    perm = rng.permutation(500)
    one = MinimumVolume(3).fit(X)
    other = MinimumVolume(3).fit(X[perm])
    np.testing.assert_allclose(other.endmembers_, one.endmembers_, rtol=0, atol=1e-12)
    assert other.n_iter_ == one.n_iter_
    one = MinimumVolume(3, init="random", random_state=0).fit(X)
    other = MinimumVolume(3, init="random", random_state=0).fit(X[perm])
    assert _angles(other.endmembers_, one.endmembers_).max() < 0.2


@pytest.mark.parametrize("scale, offset", [(1e-3, 0.0), (1e3, 5.0), (1.0, 100.0)])
def test_equivariant_to_units_and_offset(scale, offset):
    """Barycentric coordinates do not change under an affine map of the data, and the
    log-volume only by a constant: the same simplex, in the new units."""
    rng = np.random.default_rng(7)
    W = _vertices(rng, 3, 20)
    X = _facet_abundances(rng, 3, 400) @ W + 0.005 * rng.standard_normal((400, 20))
    base = MinimumVolume(3, random_state=0).fit(X)
    moved = MinimumVolume(3, random_state=0).fit(scale * X + offset)
    np.testing.assert_allclose(
        moved.endmembers_, scale * base.endmembers_ + offset, rtol=1e-6, atol=1e-6
    )


def test_deterministic_given_random_state():
    rng = np.random.default_rng(8)
    W = _vertices(rng, 3, 20)
    X = _facet_abundances(rng, 3, 300) @ W + 0.01 * rng.standard_normal((300, 20))
    a = MinimumVolume(3, init="random", random_state=5).fit(X)
    b = MinimumVolume(3, init="random", random_state=5).fit(X)
    np.testing.assert_array_equal(a.endmembers_, b.endmembers_)
    assert a.n_iter_ == b.n_iter_


def test_two_endmembers_are_the_ends_of_a_segment():
    rng = np.random.default_rng(9)
    W = _vertices(rng, 2, 10)
    t = rng.uniform(0.1, 0.9, 200)
    X = np.outer(t, W[0]) + np.outer(1 - t, W[1])
    ends = np.vstack([X[np.argmax(t)], X[np.argmin(t)]])
    model = MinimumVolume(2, random_state=0).fit(X)
    # the enclosing segment of the pixels: their extreme two
    order = match_components(model.endmembers_, ends).order
    np.testing.assert_allclose(model.endmembers_[order], ends, atol=1e-3)


def test_warns_when_max_iter_is_too_small():
    rng = np.random.default_rng(10)
    W = _vertices(rng, 3, 20)
    X = _facet_abundances(rng, 3, 300) @ W
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        model = MinimumVolume(3, max_iter=2, random_state=0).fit(X)
    assert model.n_iter_ == 2


def test_bad_input_raises():
    rng = np.random.default_rng(11)
    X = rng.uniform(size=(30, 6))
    with pytest.raises(ValueError, match=r"n_endmembers must be >= 2"):
        MinimumVolume(1).fit(X)
    with pytest.raises(TypeError, match=r"n_endmembers must be an integer"):
        MinimumVolume(2.5).fit(X)
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"regularization must be"):
            MinimumVolume(3, regularization=bad).fit(X)
    with pytest.raises(TypeError, match=r"regularization must be a real number"):
        MinimumVolume(3, regularization="0.1").fit(X)
    with pytest.raises(ValueError, match=r"max_iter must be >= 1"):
        MinimumVolume(3, max_iter=0).fit(X)
    with pytest.raises(ValueError, match=r"init must be 'extreme' or 'random'"):
        MinimumVolume(3, init="vca").fit(X)
    with pytest.raises(ValueError, match=r"tol must be > 0"):
        MinimumVolume(3, tol=0.0).fit(X)
    with pytest.raises(ValueError, match=r"exceeds the number of pixels"):
        MinimumVolume(4).fit(X[:3])
    with pytest.raises(ValueError, match=r"needs 3 dimensions"):
        MinimumVolume(4).fit(X[:, :2])
    with pytest.raises(ValueError, match=r"all zeros"):
        MinimumVolume(3).fit(np.zeros((10, 4)))
    line = np.outer(rng.uniform(size=30), np.ones(6))  # pixels on a line: no triangle
    with pytest.raises(ValueError, match=r"span fewer than"):
        MinimumVolume(3).fit(line)
    nan = X.copy()
    nan[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN"):
        MinimumVolume(3).fit(nan)
    with pytest.raises(ValueError, match=r"dim 3"):
        MinimumVolume(3).fit(X.reshape(5, 6, 6))
    model = MinimumVolume(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"features"):
        model.transform(X[:, :5])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MinimumVolume(3).transform(X)


# ---------------------------------------------------------------------- check_estimator


def test_check_estimator_minimum_volume():
    # every scikit-learn estimator check passes: none is expected to fail
    xfailed = run_estimator_checks(MinimumVolume(), {})
    assert xfailed == {}
