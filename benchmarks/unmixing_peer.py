"""The pysptools side of ``bench_unmixing.py``, run in ``benchmarks/.venv-pysptools``.

Loads the cube and the true endmembers that ``bench_unmixing.py`` hands over, then runs
and times pysptools 0.15's N-FINDR (``pysptools.eea.NFINDR().extract(cube, q)``) and
FCLS (``pysptools.abundance_maps.FCLS().map(cube, E)``), and hands back the endmembers,
their pixel indices and the abundances, with the timings and versions. Imports numpy,
threadpoolctl, pysptools and the harness, never lectlib (pysptools needs numpy < 1.24).
::

    .venv-pysptools/bin/python unmixing_peer.py DIRECTORY --repeats 3 --seed 0 \\
        --tight-tol 1e-12 [--fcls-pixels N]

Seeding: pysptools' N-FINDR draws its initial pixels with Python's ``random`` module,
not numpy, so ``random.seed(seed)`` (and ``np.random.seed(seed)``, which it does not
use) is set before every call; one more call with ``seed + 1`` shows whether the seed
matters.

FCLS is timed with cvxopt's default stopping tolerances, which pysptools leaves as they
are, and run once more with abstol = reltol = feastol = ``--tight-tol``: the converged
solution of the same problem.
"""

from __future__ import annotations

import sys

import numpy as np

import harness  # beside this script: Python puts the script's folder first on the path


def run_pysptools(cube, E, repeats, seed, tight_tol, fcls_pixels=None):
    """N-FINDR and FCLS of pysptools on ``cube`` with the endmembers ``E``:
    (info, outputs)."""
    import random

    import cvxopt
    import matplotlib
    import pysptools
    import scipy
    import sklearn
    import threadpoolctl
    from cvxopt import solvers
    from pysptools.abundance_maps import FCLS
    from pysptools.eea import NFINDR
    from threadpoolctl import threadpool_limits

    q = E.shape[0]

    def seeded():
        random.seed(seed)  # what pysptools' N-FINDR uses for its initial pixels
        np.random.seed(seed)  # not used by it; set anyway
        return NFINDR()

    def run_nfindr(model):
        endmembers = model.extract(cube, q)
        return endmembers, np.asarray(model.idx, dtype=np.int64), int(model.it)

    fcls_cube = (
        cube
        if fcls_pixels is None
        else cube.reshape(-1, cube.shape[-1])[:fcls_pixels].reshape(1, fcls_pixels, -1)
    )

    def run_fcls():
        return FCLS().map(fcls_cube, E)

    with threadpool_limits(limits=1):
        # untimed runs first (they also import sklearn's PCA inside pysptools);
        # compared later
        nf_endmembers, nf_idx, nf_it = run_nfindr(seeded())
        abundances = run_fcls()
        nf_seconds, nf_runs = harness.best_time(run_nfindr, repeats, setup=seeded)
        fcls_seconds, _ = harness.best_time(run_fcls, repeats)
        # pysptools sets only show_progress and leaves cvxopt's defaults (abstol=1e-7,
        # reltol=1e-6, feastol=1e-7); tightened, the same FCLS gives the converged
        # solution.
        solvers.options.update(abstol=tight_tol, reltol=tight_tol, feastol=tight_tol)
        try:
            tight_seconds, (tight_abundances,) = harness.best_time(run_fcls, 1)
        finally:
            for key in ("abstol", "reltol", "feastol"):
                solvers.options.pop(key, None)
        pools = harness.thread_pools(filepath=False)
        # what seeding does: a different seed of `random` may start elsewhere
        random.seed(seed + 1)
        other_model = NFINDR()
        other_model.extract(cube, q)
        other_idx = np.asarray(other_model.idx, dtype=np.int64)

    outputs = dict(
        nfindr_endmembers=nf_endmembers,
        nfindr_indices=nf_idx,
        fcls_abundances=abundances,
        fcls_abundances_tight=tight_abundances,
    )
    info = dict(
        nfindr=dict(
            seconds=nf_seconds,
            repeats=repeats,
            n_iter=nf_it,
            call=(
                "pysptools.eea.NFINDR().extract(cube, q)  # transform=None, "
                "maxit=None, normalize=False, ATGP_init=False, mask=None"
            ),
            endmembers_dtype=str(np.asarray(nf_endmembers).dtype),
            indices=nf_idx.tolist(),
            same_indices_every_run=all(np.array_equal(r[1], nf_idx) for r in nf_runs),
            indices_with_seed_plus_1=other_idx.tolist(),
            same_set_with_seed_plus_1=sorted(other_idx.tolist())
            == sorted(nf_idx.tolist()),
        ),
        fcls=dict(
            seconds=fcls_seconds,
            repeats=repeats,
            n_pixels=int(fcls_cube.shape[0] * fcls_cube.shape[1]),
            call=(
                "pysptools.abundance_maps.FCLS().map(cube, E)  # normalize=False, "
                "mask=None"
            ),
            abundances_dtype=str(np.asarray(abundances).dtype),
            abundances_shape=list(np.asarray(abundances).shape),
            cvxopt_options="defaults (pysptools sets only show_progress=False)",
            tight=dict(
                seconds=tight_seconds,
                repeats=1,
                cvxopt_options=dict(
                    abstol=tight_tol, reltol=tight_tol, feastol=tight_tol
                ),
            ),
        ),
        seed=dict(random_seed=seed, numpy_seed=seed),
        versions=dict(
            pysptools=pysptools.__version__,
            numpy=np.__version__,
            scipy=scipy.__version__,
            cvxopt=cvxopt.__version__,
            sklearn=sklearn.__version__,
            matplotlib=matplotlib.__version__,
            threadpoolctl=threadpoolctl.__version__,
        ),
        blas_pools_during_timing=pools,
    )
    return info, outputs


def main(argv=None):
    parser = harness.peer_parser(__doc__)
    parser.add_argument(
        "--seed", type=int, required=True, help="for Python's random module"
    )
    parser.add_argument(
        "--tight-tol",
        type=float,
        required=True,
        help="cvxopt's abstol, reltol and feastol for the converged FCLS run",
    )
    parser.add_argument(
        "--fcls-pixels",
        type=int,
        default=None,
        help="FCLS on the first N pixels only (default: all)",
    )
    args = parser.parse_args(argv)
    inputs = harness.load_inputs(args.directory)
    info, outputs = run_pysptools(
        inputs["cube"],
        inputs["endmembers"],
        args.repeats,
        args.seed,
        args.tight_tol,
        args.fcls_pixels,
    )
    harness.save_outputs(args.directory, info, outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
