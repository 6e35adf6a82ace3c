"""Tests of lectlib.markov: counting, the maximum-likelihood transition matrix with and
without detailed balance, what a transition matrix implies (stationary distribution,
timescales, passage times), simulation, dwell times, posterior samples and the
Chapman–Kolmogorov test.

Expected values come from definitions computed another way (brute-force loops, the
fundamental matrix, eigenvalues of a matrix built with known ones, a general-purpose
optimizer) or from statistics with a stated tolerance; none is copied from a run.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import optimize, stats
from sklearn.exceptions import ConvergenceWarning

from helpers import FAST, SEEDS
from lectlib.markov import (
    DisconnectedStatesWarning,
    chapman_kolmogorov,
    count_transitions,
    dwell_times,
    implied_timescales,
    mean_first_passage_time,
    posterior_samples,
    sample_path,
    stationary_distribution,
    transition_matrix,
)

# a 3-state chain with every transition possible, and one with forbidden ones
T3 = np.array([[0.80, 0.15, 0.05], [0.10, 0.70, 0.20], [0.10, 0.30, 0.60]])
T_SPARSE = np.array([[0.9, 0.1, 0.0], [0.0, 0.8, 0.2], [0.3, 0.0, 0.7]])


def brute_counts(trajectories, n, lag):
    C = np.zeros((n, n), dtype=np.int64)
    for traj in trajectories:
        for t in range(len(traj) - lag):
            a, b = traj[t], traj[t + lag]
            if a >= 0 and b >= 0:
                C[a, b] += 1
    return C


def brute_dwell(trajectories, n):
    out = [[] for _ in range(n)]
    for traj in trajectories:
        runs = [(s, len(list(g))) for s, g in itertools.groupby(traj)]
        for k in range(1, len(runs) - 1):
            state, length = runs[k]
            if state >= 0 and runs[k - 1][0] >= 0 and runs[k + 1][0] >= 0:
                out[state].append(length)
    return out


def log_likelihood(C, T):
    mask = C > 0
    return float(np.sum(C[mask] * np.log(T[mask])))


def random_stochastic(rng, n, density=1.0):
    """A random row-stochastic matrix, irreducible and aperiodic (a positive diagonal
    and a cycle through all states)."""
    K = rng.uniform(0.05, 1.0, (n, n)) * (rng.random((n, n)) < density)
    K[np.arange(n), (np.arange(n) + 1) % n] += 0.2
    K[np.diag_indices(n)] += 0.2
    return K / K.sum(axis=1, keepdims=True)


@st.composite
def trajectory_lists(draw, max_states=5):
    n = draw(st.integers(1, max_states))
    trajs = draw(
        st.lists(st.lists(st.integers(-1, n - 1), max_size=30), min_size=1, max_size=5)
    )
    return n, trajs


@st.composite
def connected_counts(draw, max_states=6):
    """Integer counts whose graph is strongly connected (a cycle through all)."""
    n = draw(st.integers(2, max_states))
    values = draw(st.lists(st.integers(0, 60), min_size=n * n, max_size=n * n))
    C = np.array(values, dtype=float).reshape(n, n)
    C[np.arange(n), (np.arange(n) + 1) % n] += 1.0
    return C


# ------------------------------------------------------------------ count_transitions


@FAST
@given(trajectory_lists(), st.integers(1, 6))
def test_counts_equal_a_brute_force_loop(drawn, lag):
    n, trajs = drawn
    assume(sum(len(t) for t in trajs) > 0)
    expected = brute_counts(trajs, n, lag)
    got = count_transitions(trajs, n_states=n, lag=lag)
    assert got.dtype == np.int64 and got.shape == (n, n)
    np.testing.assert_array_equal(got, expected)


@FAST
@given(trajectory_lists(), st.integers(1, 3))
def test_pooled_counts_are_the_sum_of_each_trajectorys(drawn, lag):
    n, trajs = drawn
    trajs = [t for t in trajs if t]
    assume(trajs)
    pooled = count_transitions([np.array(t) for t in trajs], n, lag=lag)
    each = sum(count_transitions(t, n, lag=lag) for t in trajs)
    np.testing.assert_array_equal(pooled, each)


def test_one_trajectory_in_every_form_gives_the_same_counts():
    traj = [0, 1, 1, 2, 0, 2, 2, 1]
    expected = brute_counts([traj], 3, 1)
    forms = [
        traj,
        tuple(traj),
        np.array(traj),
        np.array(traj, dtype=np.uint8),
        np.array(traj, dtype=float),
        np.array(traj, dtype=np.float32),
        np.array(traj, dtype=object),
        [np.int64(s) for s in traj],
        [traj],
        (np.array(traj),),
    ]
    for form in forms:
        np.testing.assert_array_equal(count_transitions(form), expected)
    np.testing.assert_array_equal(
        count_transitions(range(4)), brute_counts([[0, 1, 2, 3]], 4, 1)
    )
    # booleans are the states 0 and 1
    np.testing.assert_array_equal(
        count_transitions(np.array([True, False, False])), [[1, 0], [1, 0]]
    )


def test_n_states_defaults_to_the_largest_state_plus_one():
    assert count_transitions([[0, 3], [1, -1]]).shape == (4, 4)
    assert count_transitions([[0, 1]], n_states=6).shape == (6, 6)
    # every frame unknown: nothing to count, fine when n_states is given
    np.testing.assert_array_equal(count_transitions([-1, -1], n_states=2), 0)


def test_counts_a_ragged_list_and_ignores_short_trajectories():
    trajs = [np.array([0, 1, 0, 1, 1]), np.array([1]), np.array([], dtype=int)]
    np.testing.assert_array_equal(
        count_transitions(trajs, 2, lag=2), brute_counts(trajs, 2, 2)
    )
    # a ragged object array is a list of trajectories too
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = np.array([0, 1, 1]), np.array([1, 0])
    np.testing.assert_array_equal(count_transitions(ragged), [[0, 1], [1, 1]])


def test_counting_leaves_the_input_alone():
    traj = np.array([0, 1, -1, 1, 0, 0])
    traj.setflags(write=False)
    before = traj.copy()
    count_transitions([traj, traj], 2)
    dwell_times(traj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisconnectedStatesWarning)
        chapman_kolmogorov(traj, n_steps=2)
    np.testing.assert_array_equal(traj, before)


# ------------------------------------------------------------------ transition_matrix


@FAST
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.lists(st.integers(0, 30), min_size=n * n, max_size=n * n)
    )
)
def test_non_reversible_rows_are_normalised_counts(values):
    n = int(round(np.sqrt(len(values))))
    C = np.array(values, dtype=float).reshape(n, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisconnectedStatesWarning)
        T = transition_matrix(C)
    np.testing.assert_allclose(T.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    assert T.min() >= 0
    row = C.sum(axis=1)
    visited = row > 0
    np.testing.assert_allclose(T[visited], C[visited] / row[visited, None])
    empty = np.flatnonzero(~visited)
    np.testing.assert_array_equal(T[empty], np.eye(n)[empty])  # absorbing


@FAST
@given(connected_counts())
def test_reversible_estimate_satisfies_detailed_balance(C):
    T = transition_matrix(C, reversible=True)
    pi = stationary_distribution(T)
    flux = pi[:, None] * T
    np.testing.assert_allclose(flux, flux.T, rtol=0, atol=1e-10)
    np.testing.assert_allclose(T.sum(axis=1), 1.0, rtol=0, atol=1e-13)
    # a transition never seen either way stays impossible
    assert np.all(T[(C + C.T) == 0] == 0)
    # at the optimum the self-transition probabilities are the counted ones
    np.testing.assert_allclose(np.diag(T), np.diag(C) / C.sum(axis=1), atol=1e-9)


@FAST
@given(connected_counts(max_states=5), SEEDS)
def test_reversible_estimate_maximises_the_likelihood(C, seed):
    """No small perturbation that keeps detailed balance increases the likelihood."""
    rng = np.random.default_rng(seed)
    T = transition_matrix(C, reversible=True)
    pi = stationary_distribution(T)
    X = pi[:, None] * T  # symmetric
    best = log_likelihood(C, T)
    for _ in range(30):
        E = rng.normal(size=X.shape)
        X2 = X * np.exp(1e-4 * (E + E.T))  # symmetric, same zero pattern
        T2 = X2 / X2.sum(axis=1, keepdims=True)
        assert log_likelihood(C, T2) <= best + 1e-10 * abs(best)


def test_reversible_estimate_matches_a_general_optimizer():
    """3 states, no symmetry in the counts: maximise the likelihood over symmetric
    X (six free entries, through their logs) with BFGS."""
    C = np.array([[50.0, 20.0, 3.0], [7.0, 60.0, 25.0], [14.0, 4.0, 40.0]])
    iu = np.triu_indices(3)

    def unpack(theta):
        X = np.zeros((3, 3))
        X[iu] = np.exp(theta)
        X = X + np.triu(X, 1).T
        return X / X.sum(axis=1, keepdims=True)

    result = optimize.minimize(
        lambda th: -log_likelihood(C, unpack(th)),
        np.zeros(6),
        method="BFGS",
        options=dict(gtol=1e-10, maxiter=10_000),
    )
    T_opt = unpack(result.x)
    T = transition_matrix(C, reversible=True)
    assert log_likelihood(C, T) >= log_likelihood(C, T_opt) - 1e-9
    np.testing.assert_allclose(T, T_opt, atol=1e-5)
    # and not the non-reversible answer, which breaks detailed balance here
    assert np.abs(T - transition_matrix(C)).max() > 0.01


def test_newton_and_the_fixed_point_iteration_agree():
    rng = np.random.default_rng(7)
    C = rng.poisson(30.0 * random_stochastic(rng, 6)).astype(float)
    C[np.arange(6), (np.arange(6) + 1) % 6] += 1
    T_newton = transition_matrix(C, reversible=True)
    T_fixed = transition_matrix(C, reversible=True, method="fixed-point")
    np.testing.assert_allclose(T_newton, T_fixed, atol=1e-9)


def test_reversible_estimate_of_symmetric_counts_is_the_row_normalised_one():
    rng = np.random.default_rng(3)
    C = rng.integers(1, 40, (5, 5)).astype(float)
    C = C + C.T
    np.testing.assert_allclose(
        transition_matrix(C, reversible=True),
        C / C.sum(axis=1, keepdims=True),
        atol=1e-12,
    )


def test_estimates_do_not_depend_on_the_scale_of_the_counts():
    C = np.array([[5.0, 3.0, 0.0], [1.0, 9.0, 2.0], [4.0, 0.0, 6.0]])
    for reversible in (False, True):
        T = transition_matrix(C, reversible=reversible)
        for scale in (1e-30, 1e-3, 1e40):
            np.testing.assert_allclose(
                transition_matrix(C * scale, reversible=reversible), T, atol=1e-10
            )


def test_reversible_estimate_recovers_a_reversible_chain():
    """A chain that satisfies detailed balance: the estimate from a long path is
    within a few standard errors of it, and closer than the non-reversible one on
    average (it uses the constraint)."""
    pi = np.array([0.5, 0.3, 0.2])
    S = np.array([[0.0, 0.06, 0.02], [0.06, 0.0, 0.04], [0.02, 0.04, 0.0]])
    T = S / pi[:, None]
    T[np.diag_indices(3)] = 1.0 - T.sum(axis=1)
    C = count_transitions(sample_path(T, 200_000, random_state=2))
    T_rev = transition_matrix(C, reversible=True)
    se = np.sqrt(T * (1 - T) / C.sum(axis=1)[:, None])
    assert np.all(np.abs(T_rev - T) <= 4 * se + 1e-12)
    np.testing.assert_allclose(stationary_distribution(T_rev), pi, atol=0.02)


def test_disconnected_states_are_named_and_kept():
    # {0, 1} strongly connected; 2 leads into it and is never re-entered; 3 is
    # never visited
    C = np.array(
        [[10.0, 5.0, 0.0, 0.0], [4.0, 8.0, 0.0, 0.0], [3.0, 0.0, 2.0, 0.0], [0] * 4]
    )
    for reversible in (False, True):
        with pytest.warns(DisconnectedStatesWarning, match=r"\[2, 3\]") as record:
            T = transition_matrix(C, reversible=reversible)
        warning = record[0].message
        np.testing.assert_array_equal(warning.states, [2, 3])
        np.testing.assert_array_equal(warning.sets[0], [0, 1])
        assert "absorbing" in str(warning)
        np.testing.assert_array_equal(T[3], [0, 0, 0, 1])
        np.testing.assert_allclose(T.sum(axis=1), 1.0)
        if reversible:
            assert "not used" in str(warning)
            np.testing.assert_array_equal(T[2], [0, 0, 1, 0])  # on its own
            pi_block = stationary_distribution(T[:2, :2])
            flux = pi_block[:, None] * T[:2, :2]
            np.testing.assert_allclose(flux, flux.T, atol=1e-12)
        else:
            np.testing.assert_allclose(T[2], [0.6, 0, 0.4, 0])  # its counts kept


def test_a_connected_count_graph_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        transition_matrix([[3, 1], [1, 0]], reversible=True)
        transition_matrix([[7]])


def test_fixed_point_iteration_warns_when_it_runs_out():
    C = np.array([[1e5, 3, 0], [0, 1e5, 2], [1, 0, 1e5]])  # a slow cycle
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        transition_matrix(C, reversible=True, method="fixed-point", max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        T = transition_matrix(C, reversible=True)  # Newton's method: a few steps
    pi = stationary_distribution(T)
    np.testing.assert_allclose(pi[:, None] * T, (pi[:, None] * T).T, atol=1e-12)


def test_estimation_leaves_the_input_alone():
    C = np.array([[5.0, 1.0, 0.0], [2.0, 0.0, 3.0], [0.0, 4.0, 1.0]])
    C.setflags(write=False)
    before = C.copy()
    transition_matrix(C, reversible=True)
    transition_matrix(C)
    posterior_samples(C, 5, random_state=0)
    np.testing.assert_array_equal(C, before)


# ------------------------------------------------------ what a transition matrix says


@FAST
@given(st.integers(1, 7), SEEDS, st.sampled_from([0.4, 1.0]))
def test_stationary_distribution_is_stationary(n, seed, density):
    T = random_stochastic(np.random.default_rng(seed), n, density)
    pi = stationary_distribution(T)
    assert pi.shape == (n,) and pi.min() >= 0
    np.testing.assert_allclose(pi.sum(), 1.0, atol=1e-14)
    np.testing.assert_allclose(pi @ T, pi, atol=1e-13)


def test_stationary_distribution_is_zero_on_transient_states():
    T = np.array([[0.5, 0.5, 0.0], [0.0, 0.9, 0.1], [0.0, 0.2, 0.8]])
    np.testing.assert_allclose(stationary_distribution(T), [0.0, 2 / 3, 1 / 3])


def test_stationary_distribution_of_a_nearly_decomposable_chain():
    """Exchange probabilities far below rounding of 1: π keeps full relative
    accuracy (no subtraction in the elimination)."""
    a, b = 1e-15, 3e-15
    T = np.array([[1 - a, a], [b, 1 - b]])
    np.testing.assert_allclose(
        stationary_distribution(T), [b / (a + b), a / (a + b)], rtol=1e-12
    )


def test_a_matrix_rounded_to_float32_is_accepted():
    T = random_stochastic(np.random.default_rng(2), 12)
    single = T.astype(np.float32)
    assert np.abs(single.astype(float).sum(axis=1) - 1).max() > 1e-9  # not exact
    np.testing.assert_allclose(
        stationary_distribution(single), stationary_distribution(T), atol=1e-6
    )
    np.testing.assert_allclose(
        implied_timescales(single), implied_timescales(T), rtol=1e-4
    )


def test_stationary_distribution_broadcasts_over_a_stack():
    rng = np.random.default_rng(1)
    stack = np.stack([random_stochastic(rng, 4, 0.5) for _ in range(6)])
    stack = stack.reshape(2, 3, 4, 4)
    pi = stationary_distribution(stack)
    assert pi.shape == (2, 3, 4)
    for idx in np.ndindex(2, 3):
        np.testing.assert_allclose(pi[idx], stationary_distribution(stack[idx]))


def test_implied_timescales_from_known_eigenvalues():
    """T = A ⊗ B has the eigenvalues λ_A λ_B: 1, 0.9, 0.7, 0.63."""
    A = np.array([[0.9, 0.1], [0.2, 0.8]])  # eigenvalues 1, 0.7
    B = np.array([[0.95, 0.05], [0.05, 0.95]])  # eigenvalues 1, 0.9
    T = np.kron(A, B)
    for lag in (1, 2.5):
        np.testing.assert_allclose(
            implied_timescales(T, lag=lag),
            -lag / np.log([0.9, 0.7, 0.63]),
            rtol=1e-10,
        )


@FAST
@given(st.integers(2, 6), SEEDS)
def test_implied_timescales_equal_those_of_numpys_eigenvalues(n, seed):
    T = random_stochastic(np.random.default_rng(seed), n, 0.6)
    modulus = np.sort(np.abs(np.linalg.eigvals(T)))[::-1][1:]
    expected = np.where(modulus > 0, -1.0 / np.log(modulus), 0.0)
    np.testing.assert_allclose(implied_timescales(T), expected, rtol=1e-8)
    stack = implied_timescales(np.stack([T, T]), lag=3)
    assert stack.shape == (2, n - 1)
    np.testing.assert_allclose(stack, 3 * np.stack([expected, expected]), rtol=1e-8)


def test_implied_timescales_of_degenerate_chains():
    # rank one: the chain forgets in one step, λ = 0 gives 0
    np.testing.assert_array_equal(implied_timescales([[0.3, 0.7], [0.3, 0.7]]), [0.0])
    # periodic, and two closed sets: |λ| = 1, a process that never relaxes
    assert np.isinf(implied_timescales([[0.0, 1.0], [1.0, 0.0]])).all()
    two_sets = np.array(
        [[0.9, 0.1, 0, 0], [0.2, 0.8, 0, 0], [0, 0, 0.5, 0.5]] + [[0] * 4]
    )
    two_sets[3, 2:] = [0.3, 0.7]
    t = implied_timescales(two_sets)
    assert np.isinf(t[0]) and np.isfinite(t[1:]).all()


def test_mean_first_passage_time_of_a_two_state_chain():
    p, q = 0.02, 0.3
    T = np.array([[1 - p, p], [q, 1 - q]])
    np.testing.assert_allclose(mean_first_passage_time(T, 1), [1 / p, 0.0])
    np.testing.assert_allclose(mean_first_passage_time(T, [0]), [0.0, 1 / q])


@FAST
@given(st.integers(2, 6), SEEDS)
def test_mean_first_passage_time_matches_the_fundamental_matrix(n, seed):
    """Kemeny and Snell: m_ij = (Z_jj - Z_ij) / π_j, Z = (I - T + 1π)^-1."""
    T = random_stochastic(np.random.default_rng(seed), n, 0.5)
    pi = stationary_distribution(T)
    Z = np.linalg.inv(np.eye(n) - T + pi[None, :])
    for j in range(n):
        expected = (Z[j, j] - Z[:, j]) / pi[j]
        np.testing.assert_allclose(
            mean_first_passage_time(T, j), expected, rtol=1e-8, atol=1e-9
        )


def test_mean_first_passage_time_to_a_set_and_where_it_is_never_reached():
    T = np.array(
        [[0.5, 0.5, 0.0, 0.0], [0.2, 0.6, 0.2, 0.0], [0, 0, 0.5, 0.5], [0] * 4]
    )
    T[3, 3] = 1.0  # state 3 absorbs
    m = mean_first_passage_time(T, [2, 3])
    # m0 = 1 + 0.5 m0 + 0.5 m1, m1 = 1 + 0.2 m0 + 0.6 m1: m0 = 2 + m1, m1 = 7
    np.testing.assert_allclose(m, [9.0, 7.0, 0.0, 0.0])
    to_0 = mean_first_passage_time(T, 0)
    assert to_0[0] == 0 and np.isinf(to_0[1:]).all()
    stack = mean_first_passage_time(np.stack([T, T]), [2, 3])
    np.testing.assert_allclose(stack, [m, m])


# ------------------------------------------------------------------------ simulation


def test_sample_path_reproduces_the_transition_matrix():
    path = sample_path(T_SPARSE, 200_000, start=0, random_state=4)
    assert path.dtype == np.int64 and path.shape == (200_000,) and path[0] == 0
    C = count_transitions(path, 3)
    assert np.all(C[T_SPARSE == 0] == 0)  # forbidden transitions never taken
    rows = C.sum(axis=1)[:, None]
    se = np.sqrt(T_SPARSE * (1 - T_SPARSE) / rows)
    assert np.all(np.abs(C / rows - T_SPARSE) <= 4 * se + 1e-12)
    # its occupancy approaches π
    occupancy = np.bincount(path, minlength=3) / len(path)
    np.testing.assert_allclose(occupancy, stationary_distribution(T_SPARSE), atol=0.01)


def test_sample_path_starts_from_the_stationary_distribution():
    pi = stationary_distribution(T3)
    n = 3000
    starts = np.array([sample_path(T3, 1, random_state=s)[0] for s in range(n)])
    for state in range(3):
        count = np.sum(starts == state)
        low, high = stats.binom.interval(0.9999, n, pi[state])
        assert low <= count <= high


def test_sample_path_is_deterministic_and_respects_rounding():
    a = sample_path(T3, 1000, random_state=9)
    np.testing.assert_array_equal(a, sample_path(T3, 1000, random_state=9))
    assert not np.array_equal(a, sample_path(T3, 1000, random_state=10))
    # a row summing to 1 only within the tolerance never jumps to an impossible state
    T = np.array([[1.0 - 5e-7, 0.0], [0.5, 0.5]])
    path = sample_path(T, 20_000, start=0, random_state=0)
    np.testing.assert_array_equal(path, 0)


def test_dwell_times_equal_a_brute_force_loop_on_an_example():
    traj = [2, 0, 0, 1, 1, 1, 0, -1, 0, 0, 2, 2, 1]
    # complete stays: 0 0 (frames 1-2), 1 1 1, 2 2 (frames 10-11); the first and
    # last stays are cut by the ends, the stays of 0 next to -1 by the unknown frame
    d = dwell_times(traj)
    assert [x.tolist() for x in d] == [[2], [3], [2]]
    assert all(x.dtype == np.int64 for x in d)


@FAST
@given(trajectory_lists())
def test_dwell_times_equal_a_brute_force_loop(drawn):
    n, trajs = drawn
    assume(sum(len(t) for t in trajs) > 0)
    got = dwell_times(trajs, n_states=n)
    assert len(got) == n
    for g, expected in zip(got, brute_dwell(trajs, n)):
        assert g.tolist() == expected


def test_dwell_times_of_a_markov_chain_are_geometric():
    path = sample_path(T3, 200_000, random_state=5)
    for state in range(3):
        stays = dwell_times(path)[state]
        mean = 1.0 / (1.0 - T3[state, state])
        sd = np.sqrt(T3[state, state]) / (1.0 - T3[state, state])  # geometric
        assert abs(stays.mean() - mean) <= 4 * sd / np.sqrt(len(stays))


# ------------------------------------------------------------------------ posterior


def test_posterior_samples_are_stochastic_with_the_counts_zeros():
    C = np.array([[20.0, 0.0, 5.0], [0.0, 0.0, 0.0], [3.0, 7.0, 0.0]])
    samples = posterior_samples(C, 500, random_state=0)
    assert samples.shape == (500, 3, 3)
    np.testing.assert_allclose(samples.sum(axis=2), 1.0, atol=1e-14)
    assert samples.min() >= 0
    zero = C == 0
    zero[1] = False  # the empty row is absorbing
    assert np.all(samples[:, zero] == 0)
    np.testing.assert_array_equal(samples[:, 1], np.tile([0.0, 1.0, 0.0], (500, 1)))
    # with a prior every transition is possible, the empty row uniform on average
    with_prior = posterior_samples(C, 4000, prior=1.0, random_state=0)
    assert with_prior.min() > 0
    np.testing.assert_allclose(with_prior[:, 1].mean(axis=0), 1 / 3, atol=0.02)
    # a prior per entry
    prior = np.zeros((3, 3))
    prior[0, 1] = 2.0
    assert np.all(posterior_samples(C, 50, prior=prior, random_state=0)[:, 0, 1] > 0)


def test_posterior_mean_approaches_the_estimate_as_counts_grow():
    C = np.array([[30.0, 8.0, 2.0], [5.0, 20.0, 5.0], [1.0, 4.0, 15.0]])
    distances, spreads = [], []
    for scale in (1, 10, 100, 1000):
        samples = posterior_samples(C * scale, 4000, prior=1.0, random_state=scale)
        exact = (C * scale + 1) / (C * scale + 1).sum(axis=1, keepdims=True)
        sem = samples.std(axis=0) / np.sqrt(len(samples))
        assert np.all(np.abs(samples.mean(axis=0) - exact) <= 5 * sem + 1e-15)
        distances.append(np.abs(exact - transition_matrix(C)).max())
        spreads.append(samples.std(axis=0).max())
    assert all(a > b for a, b in zip(distances, distances[1:]))
    assert distances[-1] < 1e-3
    # the posterior narrows as 1/sqrt(counts)
    np.testing.assert_allclose(spreads[-1] / spreads[-2], 1 / np.sqrt(10), rtol=0.1)


def test_posterior_intervals_cover_the_true_matrix():
    """Over many simulated data sets, the 95 % intervals contain the true entry
    about 95 % of the time: a binomial count with a 99.99 % acceptance band."""
    T = np.array(
        [
            [0.70, 0.15, 0.10, 0.05],
            [0.10, 0.60, 0.20, 0.10],
            [0.05, 0.25, 0.60, 0.10],
            [0.20, 0.10, 0.10, 0.60],
        ]
    )
    covered = total = 0
    for seed in range(40):
        path = sample_path(T, 1500, random_state=seed)
        samples = posterior_samples(count_transitions(path, 4), 2000, random_state=seed)
        low, high = np.quantile(samples, [0.025, 0.975], axis=0)
        covered += int(np.sum((low <= T) & (T <= high)))
        total += T.size
    low, high = stats.binom.interval(0.9999, total, 0.95)
    assert low <= covered <= high, (covered, total)


def test_posterior_samples_with_tiny_parameters_stay_finite():
    C = np.array([[1e-300, 2e-300], [0.0, 5e-320]])
    samples = posterior_samples(C, 200, random_state=1)
    assert np.all(np.isfinite(samples))
    np.testing.assert_allclose(samples.sum(axis=2), 1.0)
    # (shape parameters near 0 put each row at one corner: the Dirichlet limit)
    assert np.all(np.isin(samples[:, 0].round(6), [0.0, 1.0]))


def test_posterior_samples_are_reproducible():
    C = np.array([[5, 2], [1, 9]])
    a = posterior_samples(C, 10, random_state=3)
    np.testing.assert_array_equal(a, posterior_samples(C, 10, random_state=3))
    assert not np.array_equal(a, posterior_samples(C, 10, random_state=4))


# --------------------------------------------------------------- Chapman–Kolmogorov


def test_chapman_kolmogorov_passes_for_a_markov_chain():
    path = sample_path(T3, 200_000, random_state=11)
    ck = chapman_kolmogorov(path, lag=1, n_steps=4)
    np.testing.assert_array_equal(ck.lags, [1, 2, 3, 4])
    assert ck.predicted.shape == ck.estimated.shape == ck.estimated_std.shape
    np.testing.assert_array_equal(ck.predicted[0], ck.estimated[0])
    np.testing.assert_allclose(
        ck.predicted[2], np.linalg.matrix_power(ck.estimated[0], 3)
    )
    z = np.abs(ck.predicted - ck.estimated) / ck.estimated_std
    assert z.max() < 5
    # the lag is a multiple of frames
    assert chapman_kolmogorov(path, lag=3, n_steps=2).lags.tolist() == [3, 6]


def test_chapman_kolmogorov_fails_for_a_lumped_hidden_state():
    """Hidden states 1 (left fast) and 2 (left slowly) are seen as one state: stays
    in it are a mixture of two geometric laws, and the lumped chain has memory."""
    hidden = np.array([[0.90, 0.05, 0.05], [0.50, 0.50, 0.0], [0.01, 0.0, 0.99]])
    path = sample_path(hidden, 200_000, random_state=12)
    observed = np.minimum(path, 1)
    ck = chapman_kolmogorov(observed, lag=1, n_steps=4)
    z = np.abs(ck.predicted - ck.estimated) / ck.estimated_std
    assert z.max() > 20
    # a Markov model at a long lag does better (the fast process has died out)
    ck_long = chapman_kolmogorov(observed, lag=30, n_steps=2)
    z_long = np.abs(ck_long.predicted - ck_long.estimated) / ck_long.estimated_std
    assert z_long.max() < z.max() / 4


def test_chapman_kolmogorov_reversible_and_without_counts():
    path = sample_path(T3, 20_000, random_state=13)
    ck = chapman_kolmogorov(path, n_steps=3, reversible=True)
    pi = stationary_distribution(ck.estimated[0])
    flux = pi[:, None] * ck.estimated[0]
    np.testing.assert_allclose(flux, flux.T, atol=1e-12)
    # a state seen only in the last frame has no counts: unknown, infinite std
    with pytest.warns(DisconnectedStatesWarning) as record:
        ck = chapman_kolmogorov([0, 1, 0, 1, 1, 0, 2], n_steps=2)
    assert len(record) == 1 and record[0].message.states.tolist() == [2]
    assert np.isinf(ck.estimated_std[:, 2]).all()


# ------------------------------------------------------------------------ bad input

BAD_INPUT = [
    # counting
    (count_transitions, dict(trajectories=[0, 3], n_states=3), ValueError, "n_states"),
    (count_transitions, dict(trajectories=[0, -2]), ValueError, "-1 marks"),
    (count_transitions, dict(trajectories=[0.0, np.nan]), ValueError, "NaN"),
    (count_transitions, dict(trajectories=[0.0, np.inf]), ValueError, "NaN or inf"),
    (count_transitions, dict(trajectories=[0, 1.5]), ValueError, "non-integral"),
    (count_transitions, dict(trajectories=[0, 1], lag=0), ValueError, "lag"),
    (count_transitions, dict(trajectories=[0, 1], lag=1.5), TypeError, "lag"),
    (count_transitions, dict(trajectories=[]), ValueError, "empty"),
    (count_transitions, dict(trajectories=[[], []]), ValueError, "empty"),
    (count_transitions, dict(trajectories="0110"), TypeError, "trajectories"),
    (count_transitions, dict(trajectories=["0", "1"]), TypeError, "integer states"),
    (count_transitions, dict(trajectories=[None, None]), TypeError, "trajectories"),
    (count_transitions, dict(trajectories=[0, 1j]), TypeError, "complex"),
    (count_transitions, dict(trajectories=[0, [1, 2]]), ValueError, "mixes"),
    (count_transitions, dict(trajectories=np.zeros((3, 4))), ValueError, r"list\("),
    (count_transitions, dict(trajectories=[[0, 1], [[0]]]), ValueError, r"\[1\]"),
    (count_transitions, dict(trajectories=[-1, -1]), ValueError, "n_states"),
    (count_transitions, dict(trajectories=[0, 1], n_states=0), ValueError, "n_states"),
    (count_transitions, dict(trajectories=[0, 1], n_states=2.0), TypeError, "n_st"),
    (count_transitions, dict(trajectories=[0, 10**6]), ValueError, "limit"),
    (dwell_times, dict(trajectories=[0, 5], n_states=2), ValueError, "n_states"),
    (chapman_kolmogorov, dict(trajectories=[0, 1], n_steps=0), ValueError, "n_steps"),
    (chapman_kolmogorov, dict(trajectories=[0, 1], lag=-1), ValueError, "lag"),
    (chapman_kolmogorov, dict(trajectories=[0, 1], reversible=1), TypeError, "rever"),
    # counts
    (transition_matrix, dict(counts=[[1, -1], [0, 1]]), ValueError, "negative"),
    (transition_matrix, dict(counts=[[1, np.nan], [0, 1]]), ValueError, "NaN"),
    (transition_matrix, dict(counts=[[1, 2, 3]]), ValueError, "square"),
    (transition_matrix, dict(counts=[1, 2]), ValueError, "2-D"),
    (transition_matrix, dict(counts=[["a"]]), TypeError, "counts"),
    (transition_matrix, dict(counts=[[1]], reversible="yes"), TypeError, "reversible"),
    (transition_matrix, dict(counts=[[1]], tol=0.0), ValueError, "tol"),
    (transition_matrix, dict(counts=[[1]], tol=2.0), ValueError, "tol"),
    (transition_matrix, dict(counts=[[1]], max_iter=0), ValueError, "max_iter"),
    (transition_matrix, dict(counts=[[1]], method="em"), ValueError, "method"),
    (posterior_samples, dict(counts=[[1, -1], [0, 1]]), ValueError, "negative"),
    (posterior_samples, dict(counts=[[1]], n_samples=0), ValueError, "n_samples"),
    (posterior_samples, dict(counts=[[1]], prior=-1.0), ValueError, "prior"),
    (posterior_samples, dict(counts=[[1]], prior=np.ones((2, 2))), ValueError, "prior"),
    (posterior_samples, dict(counts=[[1]], random_state="x"), TypeError, "random_st"),
    # transition matrices
    (stationary_distribution, dict(T=[[0.5, 0.4], [0.5, 0.5]]), ValueError, "row 0"),
    (stationary_distribution, dict(T=[[1.2, -0.2], [0, 1]]), ValueError, "entries"),
    (stationary_distribution, dict(T=np.eye(2)), ValueError, "not unique"),
    (stationary_distribution, dict(T=[[1.0, 0.0]]), ValueError, "square"),
    (stationary_distribution, dict(T=[1.0]), ValueError, "dimensions"),
    (implied_timescales, dict(T=[[0.5, 0.6], [0.5, 0.5]]), ValueError, "stochastic"),
    (implied_timescales, dict(T=T3, lag=0), ValueError, "lag"),
    (mean_first_passage_time, dict(T=T3, target=3), ValueError, "target"),
    (mean_first_passage_time, dict(T=T3, target=[]), ValueError, "target"),
    (mean_first_passage_time, dict(T=T3, target="0"), TypeError, "target"),
    (mean_first_passage_time, dict(T=T3, target=True), TypeError, "target"),
    (mean_first_passage_time, dict(T=T3, target=[0.5]), ValueError, "target"),
    (mean_first_passage_time, dict(T=T3 * 2, target=0), ValueError, "stochastic"),
    (sample_path, dict(T=T3, n_steps=0), ValueError, "n_steps"),
    (sample_path, dict(T=T3, n_steps=5, start=3), ValueError, "start"),
    (sample_path, dict(T=T3, n_steps=5, start=1.0), TypeError, "start"),
    (sample_path, dict(T=np.eye(2), n_steps=5), ValueError, "not unique"),
    (sample_path, dict(T=np.stack([T3, T3]), n_steps=5), ValueError, "dimensions"),
    (sample_path, dict(T=T3, n_steps=2**40), ValueError, "limit"),
]


@pytest.mark.parametrize(
    ("func", "kwargs", "error", "match"),
    BAD_INPUT,
    ids=[f"{f.__name__}-{i}" for i, (f, *_) in enumerate(BAD_INPUT)],
)
def test_bad_input_raises_a_clear_error(func, kwargs, error, match):
    with pytest.raises(error, match=match):
        func(**kwargs)


def test_the_warning_can_be_made_by_hand():
    w = DisconnectedStatesWarning("states [4] lie outside")
    assert isinstance(w, UserWarning) and str(w) == "states [4] lie outside"
    assert w.states.size == 0 and w.sets == []
