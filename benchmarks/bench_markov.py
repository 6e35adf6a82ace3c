"""Benchmark: lectlib's Markov state models vs deeptime, on the same trajectories.

What
    Trajectories simulated (``lectlib.markov.sample_path``, fixed seeds) from known
    reversible transition matrices, the same arrays for both libraries:

    * ``traj_10``: 10⁶ steps of a 10-state chain, three metastable groups of states;
    * ``traj_50``: 10⁶ steps of a 50-state chain, five groups, each state linked to
      about a fifth of the others (the true T has zeros);
    * ``gapped``: 200 short trajectories (20 to 400 frames) of the 10-state chain with
      3 % of the frames replaced by ``-1`` (state unknown). lectlib counts the list as
      it is (no transition through a ``-1`` is counted); deeptime has no marker for a
      missing frame, so its side splits each trajectory at the ``-1`` frames and
      counts the runs between them, which counts the same pairs;
    * ``disconnected``: the 10 × 10 counts of ``traj_10`` with two states added: state
      10 was left once for state 2 and never entered (a trajectory that started there),
      state 11 only ever stayed where it was (a closed set of its own).

    For each case: the counts (lectlib ``count_transitions(traj)`` against deeptime
    ``TransitionCountEstimator(lagtime=1, count_mode="sliding")``), the non-reversible
    and the reversible maximum-likelihood estimates (lectlib ``transition_matrix(C,
    reversible=...)`` with its defaults, Newton's method to ``tol=1e-12``, against
    deeptime ``MaximumLikelihoodMSM(reversible=..., maxerr=MAXERR)``, the fixed-point
    iteration in C++, fitted on deeptime's own count model), the stationary
    distribution and the implied timescales of each, how far each estimate is from the
    true matrix and from the fixed point of the likelihood equations; and lectlib's
    ``method="fixed-point"`` (deeptime's algorithm) against both. For
    ``disconnected``, what each library does with the two extra states (deeptime's
    default keeps the largest connected set as its active set; lectlib keeps every
    state and warns), and the agreement on the states both keep.

    Time, on the two 10⁶-step trajectories: counting + reversible estimation, from the
    trajectory to T, for both (deeptime with its default ``maxerr`` 1e-8 and with
    ``MAXERR``), and the counting and the estimation alone (lectlib's with both of its
    methods).

    Posterior (reported only): 1 000 samples of the non-reversible posterior of the
    ``traj_10`` counts, lectlib ``posterior_samples(C, 1000, random_state=0)`` against
    deeptime ``BayesianMSM(reversible=False, n_samples=1000)``; the widths of the 95 %
    credible intervals of every non-zero entry of T, of π and of the timescales.

How
    This script runs in the course's venv. It hands the trajectories and the count
    matrix to ``markov_peer.py``, run under the deeptime venv's Python
    (``benchmarks/.venv-deeptime``, built from ``requirements-deeptime.txt`` by
    ``run.sh``; ``harness.run_peer``: the arrays go as ``.npy`` through a temporary
    folder and both sides load them with ``allow_pickle=False``). That module imports
    only numpy, threadpoolctl and deeptime, never lectlib. ::

        .venv/bin/python benchmarks/bench_markov.py \\
            --peer-python benchmarks/.venv-deeptime/bin/python \\
            --out benchmarks/results/markov.json

    Every method runs once untimed (that run's output is the one compared), then each
    time is the best of ``--repeats`` calls with the garbage collector off (the same
    number for both libraries). BLAS/OpenMP are limited to one thread in both
    processes, and both fix glibc's allocator thresholds before allocating anything
    (``harness.fix_malloc``): a 10⁶-step trajectory is 8 MB, and without it whether
    such a block is reused or mapped afresh, page faults included, depends on what the
    process freed before: deeptime counted the first trajectory in 16 ms and, after
    larger blocks had been freed, the second in 7 ms; with it, 6 ms each (lectlib's
    counting, 2 ms, hardly changed).

Targets
    * agreement (enforced), on the same counts: max |lectlib − deeptime| over the
      entries of T ≤ 1e-10 for the non-reversible estimate and ≤ 1e-6 for the
      reversible one, in every case (for ``disconnected``, on the states that both
      estimate together); the counts equal;
    * speed (reported, not enforced): deeptime / lectlib ≥ 1 for counting + reversible
      estimation on each 10⁶-step trajectory, deeptime at its default ``maxerr``.
    The script exits with status 1, after writing its JSON,
    if an enforced target is missed.
"""

from __future__ import annotations

import inspect
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

import harness  # beside this script: Python puts the script's folder first on the path

PEER = harness.HERE / "markov_peer.py"
SEED = 0
N_STEPS = 1_000_000
MAXERR = 1e-12  # deeptime's maxerr for the compared reversible estimates
DEEPTIME_DEFAULT_MAXERR = 1e-8
N_TRAJ_GAPPED = 200
GAPPED_LENGTHS = (20, 400)
MISS_RATE = 0.03
N_SAMPLES = 1000
NONREV_MAX_ABS_DIFF = 1e-10
REV_MAX_ABS_DIFF = 1e-6
SPEED_TARGET = 1.0
CHAINS = {  # name: (states, metastable groups, share of pairs linked, seed)
    "traj_10": (10, 3, 1.0, 10),
    "traj_50": (50, 5, 0.2, 50),
}


# --------------------------------------------------------------------------------- data


def reversible_chain(n_states, n_groups, density, seed):
    """A reversible T with metastable groups: symmetric weights W, T = W / row sums.

    W_ij = W_ji ~ Gamma(1, 1) within a group and 1/100 of that between groups; with
    ``density`` < 1 a pair is linked with that probability (always to the next state,
    so that the chain is irreducible). Detailed balance holds with π ∝ the row sums.
    """
    rng = np.random.default_rng(seed)
    group = np.arange(n_states) * n_groups // n_states
    weights = rng.gamma(1.0, 1.0, (n_states, n_states))
    weights = np.where(group[:, None] == group[None, :], 1.0, 0.01) * weights
    if density < 1:
        linked = rng.random((n_states, n_states)) < density
        linked |= np.eye(n_states, k=1, dtype=bool)
        weights *= linked
    weights = np.triu(weights) + np.triu(weights, 1).T
    return weights / weights.sum(axis=1, keepdims=True)


def make_data():
    """The arrays handed to both libraries, the true matrices, how they were made."""
    from lectlib.markov import count_transitions, sample_path

    truth, inputs, described = {}, {}, {}
    for name, (n, groups, density, seed) in CHAINS.items():
        T = reversible_chain(n, groups, density, seed)
        traj = np.asarray(sample_path(T, N_STEPS, random_state=seed), dtype=np.int64)
        truth[name], inputs[name] = T, traj
        described[name] = dict(
            n_states=n,
            n_frames=N_STEPS,
            metastable_groups=groups,
            linked_pairs=float(np.mean(T > 0)),
            slowest_true_timescale=float(
                -1 / np.log(np.sort(np.linalg.eigvals(T).real)[-2])
            ),
            call=f"reversible_chain({n}, {groups}, {density:g}, seed={seed}); "
            f"sample_path(T, {N_STEPS}, random_state={seed})",
        )

    rng = np.random.default_rng(SEED)
    T10 = truth["traj_10"]
    lengths = rng.integers(GAPPED_LENGTHS[0], GAPPED_LENGTHS[1] + 1, N_TRAJ_GAPPED)
    trajs = []
    for i, length in enumerate(lengths):
        t = np.asarray(sample_path(T10, int(length), random_state=1000 + i), np.int64)
        t[rng.random(t.size) < MISS_RATE] = -1
        trajs.append(t)
    inputs["gapped"] = np.concatenate(trajs)
    inputs["gapped_lengths"] = lengths.astype(np.int64)
    inputs["gapped_n_states"] = np.int64(10)
    truth["gapped"] = T10
    described["gapped"] = dict(
        n_states=10,
        n_trajectories=N_TRAJ_GAPPED,
        n_frames=int(inputs["gapped"].size),
        n_missing=int((inputs["gapped"] < 0).sum()),
        call=f"{N_TRAJ_GAPPED} × sample_path(T_10, L, random_state=1000 + i), L "
        f"uniform in {list(GAPPED_LENGTHS)}; each frame -1 with probability "
        f"{MISS_RATE:g} (numpy.random.default_rng({SEED}))",
    )

    counts = np.zeros((12, 12), dtype=np.int64)
    counts[:10, :10] = count_transitions(inputs["traj_10"], 10)
    counts[10, 10], counts[10, 2] = 3, 1  # left once, never entered
    counts[11, 11] = 4  # only ever stays: a closed set of its own
    inputs["disconnected_counts"] = counts
    described["disconnected"] = dict(
        n_states=12,
        call="count_transitions(traj_10) with state 10 (C[10, 10] = 3, C[10, 2] = 1: "
        "left once, never entered) and state 11 (C[11, 11] = 4: only stays) added",
    )
    return inputs, truth, described


# ------------------------------------------------------------------------------ metrics


def max_abs(a, b):
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


def max_rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    finite = np.isfinite(a) & np.isfinite(b)
    same_inf = bool(np.array_equal(~np.isfinite(a), ~np.isfinite(b)))
    rel = np.abs(a[finite] - b[finite]) / np.maximum(np.abs(b[finite]), 1e-300)
    return float(rel.max()) if rel.size else 0.0 if same_inf else float("inf")


def detailed_balance(T, pi):
    """max |π_i T_ij − π_j T_ji|."""
    flux = pi[:, None] * T
    return float(np.abs(flux - flux.T).max())


def mle_residual(T, pi, counts):
    """How far (T, π) is from the reversible MLE's fixed point: the largest relative
    difference between X_ij = π_i T_ij and (C_ij + C_ji) / (c_i / x_i + c_j / x_j)
    (x = X's row sums, c = C's), over the pairs with counts (scale-free)."""
    C = np.asarray(counts, dtype=float)
    X = pi[:, None] * T
    q = C.sum(axis=1) / X.sum(axis=1)
    Cs = C + C.T
    seen = Cs > 0
    target = Cs[seen] / (q[:, None] + q[None, :])[seen]
    return float(np.max(np.abs(X[seen] - target) / target))


def compare(ours, theirs, truth=None, counts=None):
    """lectlib's estimates against deeptime's on the same states."""
    out = {}
    for kind in ("nonrev", "rev"):
        T, pi, its = ours[kind]
        tT, tpi, tits = theirs[kind]
        out[kind] = dict(
            T_max_abs_diff=max_abs(T, tT),
            pi_max_abs_diff=max_abs(pi, tpi),
            timescales_max_rel_diff=max_rel(its, tits),
            slowest_timescale=dict(lectlib=float(its[0]), deeptime=float(tits[0])),
        )
        if truth is not None:
            out[kind]["max_abs_error_to_truth"] = dict(
                lectlib=max_abs(T, truth), deeptime=max_abs(tT, truth)
            )
    out["rev"]["detailed_balance"] = dict(
        lectlib=detailed_balance(*ours["rev"][:2]),
        deeptime=detailed_balance(*theirs["rev"][:2]),
    )
    if counts is not None:
        out["rev"]["fixed_point_residual"] = dict(
            lectlib=mle_residual(*ours["rev"][:2], counts),
            deeptime=mle_residual(*theirs["rev"][:2], counts),
        )
    return out


# ------------------------------------------------------------------------------ methods


def estimate(counts):
    """lectlib's two estimates from ``counts``: kind → (T, π, timescales)."""
    from lectlib.markov import (
        implied_timescales,
        stationary_distribution,
        transition_matrix,
    )

    out = {}
    for kind, reversible in (("nonrev", False), ("rev", True)):
        T = transition_matrix(counts, reversible=reversible)
        out[kind] = (T, stationary_distribution(T), implied_timescales(T))
    return out


def peer_estimates(arrays, case):
    return {
        kind: tuple(arrays[f"{case}_{x}_{kind}"] for x in ("T", "pi", "its"))
        for kind in ("nonrev", "rev")
    }


def run_case(case, data, truth, peer, arrays):
    from lectlib.markov import count_transitions, transition_matrix

    if case == "gapped":
        lengths = data["gapped_lengths"]
        trajs = np.split(data["gapped"], np.cumsum(lengths)[:-1])
        counts = count_transitions(list(trajs), 10)
    else:
        counts = count_transitions(data[case])
    theirs = peer_estimates(arrays, case)
    states = arrays[f"{case}_states_rev"]
    result = dict(
        n_states=int(counts.shape[0]),
        n_counts=int(counts.sum()),
        nonzero_counts=float(np.mean(counts > 0)),
        counts_max_abs_diff=max_abs(counts, arrays[f"{case}_counts"]),
        deeptime_active_set_size=int(states.size),
        **compare(estimate(counts), theirs, truth, counts),
    )
    # lectlib's other solver, the fixed-point iteration that deeptime also uses
    fixed = transition_matrix(counts, reversible=True, method="fixed-point")
    result["rev"]["fixed_point_method_T_max_abs_diff"] = dict(
        to_deeptime=max_abs(fixed, theirs["rev"][0]),
        to_newton=max_abs(fixed, estimate(counts)["rev"][0]),
    )
    if case == "gapped":
        result["deeptime_runs"] = peer["cases"]["gapped"]["n_runs"]
    result["agreement_ok"] = bool(
        result["counts_max_abs_diff"] == 0
        and result["nonrev"]["T_max_abs_diff"] <= NONREV_MAX_ABS_DIFF
        and result["rev"]["T_max_abs_diff"] <= REV_MAX_ABS_DIFF
    )
    return result


def run_disconnected(counts, peer, arrays):
    """What each library does with states outside the largest connected set."""
    from lectlib.markov import (
        implied_timescales,
        stationary_distribution,
        transition_matrix,
    )

    out = dict(deeptime=peer["cases"]["disconnected"]["sets"])
    for kind, reversible in (("nonrev", False), ("rev", True)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            T = transition_matrix(counts, reversible=reversible)
        states = arrays[f"disconnected_states_{kind}"]
        sub = T[np.ix_(states, states)]
        tT = arrays[f"disconnected_T_{kind}"]
        try:
            stationary_distribution(T)
            pi_error = None
        except ValueError as e:
            pi_error = str(e)
        # lectlib's T on the states deeptime keeps: its rows there stay inside them
        # (the set is closed), so the block is itself a transition matrix
        out[f"lectlib_{kind}"] = dict(
            shape=list(T.shape),
            warnings=[f"{w.category.__name__}: {w.message}" for w in caught],
            # the rows of the two added states: (to state, probability) where non-zero
            added_state_rows={
                str(i): [[int(j), float(T[i, j])] for j in np.flatnonzero(T[i])]
                for i in (10, 11)
            },
            stationary_distribution_error=pi_error,
            T_max_abs_diff_on_deeptime_active_set=max_abs(sub, tT),
            timescales_on_active_set_max_rel_diff=max_rel(
                implied_timescales(sub), arrays[f"disconnected_its_{kind}"]
            ),
        )
        out[f"deeptime_{kind}_active_set"] = states.tolist()
    out["agreement_ok"] = bool(
        out["lectlib_nonrev"]["T_max_abs_diff_on_deeptime_active_set"]
        <= NONREV_MAX_ABS_DIFF
        and out["lectlib_rev"]["T_max_abs_diff_on_deeptime_active_set"]
        <= REV_MAX_ABS_DIFF
    )
    out["deeptime_log"] = peer["cases"]["disconnected"]["log"]
    return out


def run_timing(case, traj, peer, repeats):
    from lectlib.markov import count_transitions, transition_matrix

    counts = count_transitions(traj)
    seconds = dict(
        count=harness.best_time(lambda: count_transitions(traj), repeats)[0],
        count_and_reversible=harness.best_time(
            lambda: transition_matrix(count_transitions(traj), reversible=True),
            repeats,
        )[0],
        reversible_from_counts=harness.best_time(
            lambda: transition_matrix(counts, reversible=True), repeats
        )[0],
        reversible_from_counts_fixed_point=harness.best_time(
            lambda: transition_matrix(counts, reversible=True, method="fixed-point"),
            repeats,
        )[0],
    )
    theirs = peer["cases"][case]["time_s"]
    ratio = (
        theirs["count_and_reversible_default_maxerr"] / seconds["count_and_reversible"]
    )
    return dict(
        n_frames=int(traj.size),
        n_states=int(counts.shape[0]),
        lectlib=seconds,
        deeptime=theirs,
        ratio_deeptime_over_lectlib=ratio,
        ratio_deeptime_tight_over_lectlib=theirs["count_and_reversible"]
        / seconds["count_and_reversible"],
        ratio_counting=theirs["count"] / seconds["count"],
        ratio_reversible_from_counts=theirs["reversible_from_counts"]
        / seconds["reversible_from_counts"],
        speed_target_met=bool(ratio >= SPEED_TARGET),
    )


def run_posterior(counts, n_samples, peer, arrays):
    """Widths of the 95 % credible intervals, lectlib's against deeptime's."""
    from lectlib.markov import (
        implied_timescales,
        posterior_samples,
        stationary_distribution,
    )

    def draw(seed):
        samples = posterior_samples(counts, n_samples, random_state=seed)
        return dict(
            T=samples[:, counts > 0],  # the entries that can be non-zero
            pi=stationary_distribution(samples),
            its=implied_timescales(samples),
        )

    def widths(x):
        return np.diff(np.quantile(x, [0.025, 0.975], axis=0), axis=0)[0]

    def width_ratios(a, b):
        out = {}
        for name in ("T", "pi", "its"):
            ratio = widths(a[name]) / widths(b[name])
            out[name] = dict(
                n_quantities=int(ratio.size),
                width_ratio_median=float(np.median(ratio)),
                width_ratio_min=float(ratio.min()),
                width_ratio_max=float(ratio.max()),
                mean_max_abs_diff=max_abs(a[name].mean(axis=0), b[name].mean(axis=0)),
            )
        return out

    seconds, _ = harness.best_time(
        lambda: posterior_samples(counts, n_samples, random_state=SEED), 1
    )
    ours = draw(SEED)
    theirs = {name: arrays[f"posterior_{name}"] for name in ("pi", "its")} | dict(
        T=arrays["posterior_T"][:, counts > 0]
    )
    return dict(
        n_samples=n_samples,
        lectlib_call=f"posterior_samples(C, {n_samples}, random_state={SEED})",
        deeptime_call=peer["posterior"]["call"],
        deeptime_seed=peer["posterior"]["seed"],
        time_s=dict(lectlib=seconds, deeptime=peer["posterior"]["time_s"]),
        **width_ratios(ours, theirs),
        # the same comparison between two seeds of lectlib: the spread that sampling
        # alone gives
        lectlib_seed_vs_seed=dict(
            seeds=[SEED, SEED + 1], **width_ratios(ours, draw(SEED + 1))
        ),
    )


def markdown_tables(result):
    """The tables this script prints (report.py renders the book's tables itself)."""
    ms = harness.fmt_ms
    agree = harness.md_table(
        [
            "case",
            "counts diff",
            "T non-rev",
            "T rev",
            "π rev",
            "timescales rev (rel)",
        ],
        [
            [
                name,
                f"{c['counts_max_abs_diff']:g}",
                f"{c['nonrev']['T_max_abs_diff']:.1e}",
                f"{c['rev']['T_max_abs_diff']:.1e}",
                f"{c['rev']['pi_max_abs_diff']:.1e}",
                f"{c['rev']['timescales_max_rel_diff']:.1e}",
            ]
            for name, c in result["cases"].items()
        ],
    )
    timing = harness.md_table(
        [
            "case",
            "deeptime count + rev",
            f"deeptime, maxerr {MAXERR:g}",
            "lectlib count + rev",
            "deeptime / lectlib",
        ],
        [
            [
                name,
                ms(t["deeptime"]["count_and_reversible_default_maxerr"]),
                ms(t["deeptime"]["count_and_reversible"]),
                ms(t["lectlib"]["count_and_reversible"]),
                f"{t['ratio_deeptime_over_lectlib']:.2f}×",
            ]
            for name, t in result["timing"].items()
        ],
    )
    d = result["disconnected"]
    lines = [
        "Max |lectlib − deeptime| on the same counts:\n",
        agree,
        "\nCounting + reversible estimation, best of "
        f"{result['timing_settings']['repeats']}:\n",
        timing,
        "\nDisconnected states: deeptime's active set (reversible) "
        f"{d['deeptime_rev_active_set']}, lectlib keeps "
        f"{d['lectlib_rev']['shape'][0]} states and warns: "
        f"{len(d['lectlib_rev']['warnings'])} warning(s)",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = harness.bench_parser(__doc__, "markov", "timed calls of each library")
    harness.add_peer_python(parser, ".venv-deeptime", "deeptime")
    parser.add_argument(
        "--n-samples",
        type=int,
        default=N_SAMPLES,
        help="posterior samples for the interval widths (0: skip)",
    )
    args = parser.parse_args(argv)
    harness.require_peer(args.peer_python, "deeptime")
    allocator = harness.fix_malloc()  # before anything large is allocated

    from threadpoolctl import threadpool_limits

    import lectlib
    from lectlib.markov import count_transitions, transition_matrix

    inputs, truth, described = make_data()
    with (
        threadpool_limits(limits=1),
        tempfile.TemporaryDirectory(prefix="bench-markov-") as tmp,
    ):
        peer, arrays = harness.run_peer(
            PEER,
            args.peer_python,
            inputs,
            Path(tmp) / "peer",
            [
                "--repeats",
                args.repeats,
                "--maxerr",
                MAXERR,
                "--n-samples",
                args.n_samples,
                "--seed",
                SEED,
            ],
        )
        pools = harness.thread_pools()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cases = {
                case: run_case(case, inputs, truth[case], peer, arrays)
                for case in ("traj_10", "traj_50", "gapped")
            }
            timing = {
                case: run_timing(case, inputs[case], peer, args.repeats)
                for case in CHAINS
            }
        lectlib_warnings = sorted(
            {f"{w.category.__name__}: {str(w.message)[:200]}" for w in caught}
        )
        disconnected = run_disconnected(inputs["disconnected_counts"], peer, arrays)
        posterior = (
            run_posterior(
                count_transitions(inputs["traj_10"]), args.n_samples, peer, arrays
            )
            if args.n_samples > 0
            else None
        )

    parameters = inspect.signature(transition_matrix).parameters
    tol_default = parameters.get("tol")
    method_default = parameters.get("method")
    result = dict(
        **harness.run_header(
            "markov: lectlib.markov count_transitions, transition_matrix, "
            "stationary_distribution, implied_timescales, posterior_samples vs "
            "deeptime TransitionCountEstimator, MaximumLikelihoodMSM, BayesianMSM",
            threads="1: threadpoolctl.threadpool_limits(1) in both processes, and "
            "OMP/OpenBLAS/MKL_NUM_THREADS=1",
        ),
        blas_pools_during_timing=pools,
        peer_blas_pools_during_timing=peer["blas_pools_during_timing"],
        versions=dict(
            **harness.course_versions(),
            peer=peer["versions"],
            peer_python=str(args.peer_python),
        ),
        data=described,
        tolerances=dict(
            lectlib_tol=None if tol_default is None else tol_default.default,
            lectlib_method=None if method_default is None else method_default.default,
            lectlib_criterion="transition_matrix's default tol: the largest relative "
            "change of the stationary vector in one step (Newton's method also stops "
            "when a change below 1e-8 no longer shrinks: float64 rounding)",
            deeptime_maxerr=MAXERR,
            deeptime_default_maxerr=DEEPTIME_DEFAULT_MAXERR,
            deeptime_criterion="maxerr: Euclidean norm of the relative changes "
            "(x_i' − x_i) / (x_i' + x_i) of the row sums x_i of the symmetric "
            "iterate",
        ),
        calls=dict(
            lectlib=dict(
                count="count_transitions(traj)",
                nonreversible="transition_matrix(C)",
                reversible="transition_matrix(C, reversible=True)",
                stationary="stationary_distribution(T)",
                timescales="implied_timescales(T)",
            ),
            deeptime=peer["calls"],
        ),
        allocator=dict(lectlib=allocator, deeptime=peer["allocator"]),
        timing_settings=dict(
            statistic="best of repeats, wall time (s), GC off; one untimed run first",
            repeats=args.repeats,
            timed="from the trajectory (int64, in memory) to T: counting + "
            "reversible estimation",
        ),
        targets=dict(
            nonrev_max_abs_diff=NONREV_MAX_ABS_DIFF,
            rev_max_abs_diff=REV_MAX_ABS_DIFF,
            speed_ratio=SPEED_TARGET,
        ),
        cases=cases,
        timing=timing,
        disconnected=disconnected,
        posterior=posterior,
        lectlib_warnings=lectlib_warnings,
        peer_warnings=peer["warnings"],
        peer_log=peer["log"],
    )
    result["table_markdown"] = markdown_tables(result)
    pv = peer["versions"]
    harness.write_result(
        args.out,
        result,
        versions=(
            f"deeptime {pv['deeptime']} (numpy {pv['numpy']}) vs lectlib "
            f"{lectlib.__version__} (numpy {np.__version__})"
        ),
    )
    for case, t in timing.items():
        if not t["speed_target_met"]:
            print(
                f"note: {case}: deeptime / lectlib = "
                f"{t['ratio_deeptime_over_lectlib']:.2f}x, below {SPEED_TARGET:g}x"
            )
    failed = []
    for case, c in cases.items():
        if not c["agreement_ok"]:
            failed.append(
                f"{case}: counts differ by {c['counts_max_abs_diff']:g}, T by "
                f"{c['nonrev']['T_max_abs_diff']:.1e} (non-reversible, ≤ "
                f"{NONREV_MAX_ABS_DIFF:g}) and {c['rev']['T_max_abs_diff']:.1e} "
                f"(reversible, ≤ {REV_MAX_ABS_DIFF:g})"
            )
    if not disconnected["agreement_ok"]:
        failed.append("disconnected: T differs on deeptime's active set")
    return harness.exit_status(failed)


if __name__ == "__main__":
    sys.exit(main())
