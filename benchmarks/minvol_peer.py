"""The SPICE side of ``bench_minvol.py``, run in ``benchmarks/.venv-minvol``.

Loads the spectra (one data set per array, ``CASE.npy``, pixels as rows) that
``bench_minvol.py`` hands over, runs SPICE-HSI 1.4 (``SPICE.SPICE(X.T, parameters)``)
on each with its sparsity term off (``gamma = 0``) and a fixed number of endmembers,
which is ICE: least squares plus ``u`` times the sum of squared distances between the
endmembers; hands back the endmembers (rows) with the time and the number of
iterations. Imports numpy, threadpoolctl, SPICE and the harness, never lectlib. ::

    .venv-minvol/bin/python minvol_peer.py DIRECTORY --seed 0 --u 1e-3 \\
        --change-thresh 1e-8 --iteration-cap 300

Seeding: SPICE draws its initial endmembers among the pixels with
``np.random.permutation``; ``np.random.seed(seed)`` is set before every call.

SPICE stops when its objective changes by less than ``changeThresh`` (default 1e-4);
that default stops ICE long before it converges on these data, so the benchmark runs it
with a smaller threshold and, on the first data set, once more with the default.
"""

from __future__ import annotations

import sys

import numpy as np

import harness  # beside this script: Python puts the script's folder first on the path


def run_spice(X, k, seed, u, change_thresh, iteration_cap):
    """SPICE (ICE) on the pixels X (n, c): endmembers (k, c), seconds, iterations."""
    import importlib

    # the module, not the function of the same name that SPICE/__init__ re-exports
    spice_module = importlib.import_module("SPICE.SPICE")

    calls = []
    original = spice_module.unmix_cvxopt

    def counted(*args, **kwargs):  # one call per iteration: count them
        calls.append(1)
        return original(*args, **kwargs)

    params = spice_module.SPICEParameters()
    params.u = u
    params.gamma = 0.0
    params.M = k
    params.changeThresh = change_thresh
    params.iterationCap = iteration_cap
    params.produceDisplay = 0
    params.qp_solver = "cvxopt"
    params.prescale = True
    spice_module.unmix_cvxopt = counted
    try:
        np.random.seed(seed)
        data = np.array(X.T, dtype=np.float64, copy=True)  # SPICE rescales in place
        seconds, (endmembers, _) = harness.timed(spice_module.SPICE, data, params)
    finally:
        spice_module.unmix_cvxopt = original
    return np.asarray(endmembers).T.copy(), seconds, len(calls)


def main(argv=None):
    parser = harness.peer_parser(__doc__)
    parser.add_argument("--seed", type=int, required=True, help="np.random.seed")
    parser.add_argument("--k", type=int, required=True, help="number of endmembers")
    parser.add_argument("--u", type=float, required=True, help="SPICE's u")
    parser.add_argument(
        "--change-thresh", type=float, required=True, help="SPICE's changeThresh"
    )
    parser.add_argument(
        "--iteration-cap", type=int, required=True, help="SPICE's iterationCap"
    )
    args = parser.parse_args(argv)
    inputs = harness.load_inputs(args.directory)

    import cvxopt
    import scipy
    import threadpoolctl
    from cvxopt import solvers
    from threadpoolctl import threadpool_limits

    solvers.options["show_progress"] = False
    names = sorted(inputs)
    runs, outputs = {}, {}
    with threadpool_limits(limits=1):
        for name in names:
            E, seconds, n_iter = run_spice(
                inputs[name],
                args.k,
                args.seed,
                args.u,
                args.change_thresh,
                args.iteration_cap,
            )
            outputs[name] = E
            runs[name] = dict(seconds=seconds, n_iter=n_iter)
        # SPICE's own stopping threshold, once, on the first data set
        first = names[0]
        E, seconds, n_iter = run_spice(
            inputs[first], args.k, args.seed, args.u, 1e-4, args.iteration_cap
        )
        outputs[f"{first}__default_thresh"] = E
        runs[f"{first}__default_thresh"] = dict(
            seconds=seconds, n_iter=n_iter, change_thresh=1e-4
        )
        pools = harness.thread_pools(filepath=False)

    from importlib.metadata import version

    info = dict(
        runs=runs,
        call=(
            "SPICE.SPICE(X.T, p) with p = SPICEParameters(); p.gamma = 0; "
            f"p.M = {args.k}; p.u = {args.u:g}; p.changeThresh = "
            f"{args.change_thresh:g}; p.iterationCap = {args.iteration_cap}; "
            "p.qp_solver = 'cvxopt'; p.prescale = True"
        ),
        seed=dict(numpy_seed=args.seed),
        versions=dict(
            spice_hsi=version("SPICE-HSI"),
            numpy=np.__version__,
            scipy=scipy.__version__,
            cvxopt=cvxopt.__version__,
            threadpoolctl=threadpoolctl.__version__,
        ),
        blas_pools_during_timing=pools,
    )
    harness.save_outputs(args.directory, info, outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
