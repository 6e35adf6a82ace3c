"""The deeptime side of ``bench_markov.py``, run in ``benchmarks/.venv-deeptime``.

Loads the trajectories and the count matrix that ``bench_markov.py`` hands over, then
runs and times deeptime 0.4.5:

* each long trajectory (``traj_*``): the counts
  ``TransitionCountEstimator(lagtime=1, count_mode="sliding").fit(traj).fetch_model()``,
  and from that count model the maximum-likelihood MSMs
  ``MaximumLikelihoodMSM(reversible=False)`` and ``MaximumLikelihoodMSM(reversible=True,
  maxerr=MAXERR)`` (``--maxerr``, tighter than deeptime's default 1e-8): their
  transition matrices, stationary distributions, implied timescales and active sets.
  Timed, best of ``--repeats`` calls each: the counting alone, and counting + reversible
  estimation with deeptime's default ``maxerr`` and with ``MAXERR``;
* the short trajectories with gaps (``gapped``, concatenated, with ``gapped_lengths``):
  deeptime has no marker for a missing frame, so each trajectory is split at its ``-1``
  frames into the runs of known states between them (runs of one frame hold no
  transition and are left out), and the list of runs is counted as above
  (``n_states`` given); untimed;
* the count matrix with disconnected states (``disconnected_counts``): both MSMs fitted
  on the matrix as it is, with deeptime's defaults (``allow_disconnected=False``,
  ``use_lcc=False``): deeptime fits one MSM per connected set (strongly connected for
  the reversible estimate, weakly for the other) and the model it returns acts as the
  MSM of the largest set; the states of every set, and what deeptime logged, are handed
  back;
* optionally (``--n-samples`` > 0) the non-reversible posterior
  ``BayesianMSM(reversible=False, n_samples=N).fit_from_counts(count_model,
  ignore_counting_mode=True)`` on the first trajectory's counts (deeptime's check for
  "effective" counts set aside: the same sliding counts as everywhere else): its
  samples of T, of the stationary distribution and of the timescales. deeptime draws
  each row from ``numpy.random.dirichlet`` (numpy's global generator, which its
  ``seed`` does not reach), so ``numpy.random.seed(SEED)`` is set first.

glibc's allocator thresholds are fixed first (``harness.fix_malloc``), as in
``bench_markov.py``. Imports numpy, threadpoolctl, deeptime and the harness, never
lectlib. ::

    .venv-deeptime/bin/python markov_peer.py DIRECTORY --repeats 7 --maxerr 1e-12 \\
        --n-samples 1000 --seed 0
"""

from __future__ import annotations

import logging
import sys
import warnings

import numpy as np

import harness  # beside this script: Python puts the script's folder first on the path

DEFAULT_MAXERR = 1e-8  # MaximumLikelihoodMSM's default
COUNT_CALL = 'TransitionCountEstimator(lagtime=1, count_mode="sliding")'


class _Records(logging.Handler):
    """Keeps the messages deeptime logs (it logs, not warns, a skipped state set)."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(f"{record.name}: {record.getMessage()[:300]}")


def split_at_gaps(concatenated, lengths):
    """The runs of known states (≥ 2 frames) of each trajectory, split at -1."""
    runs = []
    for traj in np.split(concatenated, np.cumsum(lengths)[:-1]):
        known = traj >= 0
        edges = np.flatnonzero(np.diff(np.r_[0, known.astype(np.int8), 0]))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            if stop - start >= 2:
                runs.append(np.ascontiguousarray(traj[start:stop]))
    return runs


def describe(model):
    """A fitted MSM collection: the selected MSM's arrays and every set's states."""
    sets = []
    for i in range(model.n_connected_msms):
        model.select(i)
        sets.append(model.state_symbols().astype(np.int64).tolist())
    model.select(0)
    arrays = dict(
        T=np.asarray(model.transition_matrix, dtype=np.float64),
        pi=np.asarray(model.stationary_distribution, dtype=np.float64),
        its=np.asarray(model.timescales(), dtype=np.float64),
        states=model.state_symbols().astype(np.int64),
    )
    return arrays, dict(connected_sets=sets, n_connected_msms=len(sets))


def run_deeptime(inputs, repeats, maxerr, n_samples, seed):
    """deeptime on every case: (info, outputs)."""
    import scipy
    import sklearn
    import threadpoolctl
    from threadpoolctl import threadpool_limits

    import deeptime
    from deeptime.markov import TransitionCountEstimator
    from deeptime.markov.msm import BayesianMSM, MaximumLikelihoodMSM

    records = _Records()
    logger = logging.getLogger("deeptime")
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)

    def count(traj, n_states=None):
        return (
            TransitionCountEstimator(lagtime=1, count_mode="sliding", n_states=n_states)
            .fit(traj)
            .fetch_model()
        )

    def mle(counts, reversible, tol=maxerr):
        return MaximumLikelihoodMSM(reversible=reversible, maxerr=tol).fit(counts)

    def estimate(counts):
        """Both MSMs from ``counts``: arrays named *_rev / *_nonrev, and the sets."""
        arrays, sets = {}, {}
        for name, reversible in (("rev", True), ("nonrev", False)):
            a, s = describe(mle(counts, reversible).fetch_model())
            arrays.update({f"{k}_{name}": v for k, v in a.items()})
            sets[name] = s
        return arrays, sets

    info = dict(cases={}, calls={}, warnings=[], log=[])
    outputs = {}
    with (
        threadpool_limits(limits=1),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        for name in sorted(k for k in inputs if k.startswith("traj_")):
            traj = inputs[name]
            counts = count(traj)  # untimed first call; its output is the one compared
            arrays, sets = estimate(counts)
            outputs[f"{name}_counts"] = np.asarray(counts.count_matrix, np.float64)
            outputs.update({f"{name}_{k}": v for k, v in arrays.items()})

            def count_only(traj=traj):
                return count(traj)

            def count_and_rev(tol, traj=traj):
                return mle(count(traj), True, tol).fetch_model()

            def rev_only(tol, counts=counts):
                return mle(counts, True, tol).fetch_model()

            t_count, _ = harness.best_time(count_only, repeats)
            t_default, _ = harness.best_time(
                lambda: count_and_rev(DEFAULT_MAXERR), repeats
            )
            t_tight, _ = harness.best_time(lambda: count_and_rev(maxerr), repeats)
            t_rev_tight, _ = harness.best_time(lambda: rev_only(maxerr), repeats)
            info["cases"][name] = dict(
                n_frames=int(traj.size),
                sets=sets,
                time_s=dict(
                    count=t_count,
                    count_and_reversible_default_maxerr=t_default,
                    count_and_reversible=t_tight,
                    reversible_from_counts=t_rev_tight,
                ),
            )

        runs = split_at_gaps(inputs["gapped"], inputs["gapped_lengths"])
        n_states = int(inputs["gapped_n_states"])
        counts = count(runs, n_states)
        arrays, sets = estimate(counts)
        outputs["gapped_counts"] = np.asarray(counts.count_matrix, np.float64)
        outputs.update({f"gapped_{k}": v for k, v in arrays.items()})
        info["cases"]["gapped"] = dict(
            n_runs=len(runs),
            n_frames_in_runs=int(sum(r.size for r in runs)),
            sets=sets,
            split="each trajectory split at its -1 frames; runs of one frame dropped",
        )

        counts = inputs["disconnected_counts"].astype(np.float64)
        before = len(records.messages)
        arrays, sets = estimate(counts)
        outputs.update({f"disconnected_{k}": v for k, v in arrays.items()})
        info["cases"]["disconnected"] = dict(sets=sets, log=records.messages[before:])

        if n_samples > 0:
            first = sorted(k for k in inputs if k.startswith("traj_"))[0]
            counts = count(inputs[first])

            def posterior():
                np.random.seed(seed)
                # fit(counts, ignore_counting_mode=True) would not pass the flag on
                return BayesianMSM(
                    reversible=False, n_samples=n_samples
                ).fit_from_counts(counts, ignore_counting_mode=True)

            t_post, fits = harness.best_time(posterior, 1)
            samples = fits[0].fetch_model().samples
            outputs["posterior_T"] = np.stack([s.transition_matrix for s in samples])
            outputs["posterior_pi"] = np.stack(
                [s.stationary_distribution for s in samples]
            )
            outputs["posterior_its"] = np.stack([s.timescales() for s in samples])
            info["posterior"] = dict(
                case=first,
                n_samples=n_samples,
                seed=f"numpy.random.seed({seed})",
                time_s=t_post,
                call=f"BayesianMSM(reversible=False, n_samples={n_samples})"
                ".fit_from_counts(count_model, ignore_counting_mode=True)",
            )
        pools = harness.thread_pools(filepath=False)

    logger.removeHandler(records)
    info["calls"] = dict(
        count=f"{COUNT_CALL}.fit(traj).fetch_model()",
        reversible=f"MaximumLikelihoodMSM(reversible=True, maxerr={maxerr:g})"
        ".fit(count_model).fetch_model()",
        reversible_default=f"MaximumLikelihoodMSM(reversible=True)  # maxerr="
        f"{DEFAULT_MAXERR:g}",
        nonreversible="MaximumLikelihoodMSM(reversible=False).fit(count_model)"
        ".fetch_model()",
        maxerr=maxerr,
        default_maxerr=DEFAULT_MAXERR,
    )
    info["warnings"] = sorted(
        {f"{w.category.__name__}: {str(w.message)[:200]}" for w in caught}
    )
    info["log"] = records.messages
    info["versions"] = dict(
        deeptime=deeptime.__version__,
        numpy=np.__version__,
        scipy=scipy.__version__,
        sklearn=sklearn.__version__,
        threadpoolctl=threadpoolctl.__version__,
    )
    info["blas_pools_during_timing"] = pools
    info["repeats"] = repeats
    return info, outputs


def main(argv=None):
    parser = harness.peer_parser(__doc__)
    parser.add_argument(
        "--maxerr",
        type=float,
        required=True,
        help="MaximumLikelihoodMSM's maxerr for the compared estimates",
    )
    parser.add_argument(
        "--n-samples",
        type=int,
        default=0,
        help="posterior samples of BayesianMSM(reversible=False); 0: none",
    )
    parser.add_argument("--seed", type=int, default=0, help="numpy.random.seed")
    args = parser.parse_args(argv)
    allocator = harness.fix_malloc()  # before the trajectories are loaded
    inputs = harness.load_inputs(args.directory)
    info, outputs = run_deeptime(
        inputs, args.repeats, args.maxerr, args.n_samples, args.seed
    )
    info["allocator"] = allocator
    harness.save_outputs(args.directory, info, outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
