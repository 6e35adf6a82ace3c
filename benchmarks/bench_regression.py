r"""Benchmark: lectlib's vectorized non-negative fit vs a
per-pixel ``scipy.optimize.nnls`` loop.

What
    Non-negative least squares of every pixel's spectrum on known endmembers, solved

    * by :func:`lectlib.regression.fit_known_endmembers` (``method="nnls"``): Lawson &
      Hanson's active-set algorithm on all pixels in lock-step, polished by QR per
      active set; the call also returns the model, the residuals and Pearson's χ² of
      every pixel;
    * by :func:`lectlib.regression.nnls_batch` alone (the solver inside it, coefficients
      only, from the normal equations ``E Eᵀ`` and ``X Eᵀ``, which are included in its
      time);
    * by the peer: a Python loop over the pixels calling
      ``scipy.optimize.nnls(E.T, spectrum)`` (coefficients only).

    Two data sets, the same for all three: the 64 × 64 EELS interface of
    ``lectlib.datasets.make_eels_interface(shape=(64, 64), random_state=0)`` (Poisson
    counts, 241 channels, 3 references), and a harder synthetic one: 128 × 128 pixels, 6
    overlapping endmembers on 200 channels, half of the true coefficients exactly zero
    and Gaussian noise, so that many non-negativity constraints are active at the
    solution.

How
    Each timing is the best of ``--repeats`` runs (garbage collector off), with the
    BLAS/OpenMP pools limited to one thread by ``threadpoolctl`` (``run.sh`` also sets
    ``OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=1``). Every method is run
    once untimed first; that run's coefficients are the ones compared. ::

        .venv/bin/python benchmarks/bench_regression.py \
            --out benchmarks/results/regression.json

    (or ``make bench``, which runs every benchmark). It prints a markdown table and
    writes the numbers, versions, machine and date as JSON.

Targets
    * accuracy: max |lectlib − scipy| over all coefficients ≤ 1e-8 for
      ``fit_known_endmembers`` (the script exits with status 1 if it is not met;
      ``nnls_batch``'s difference is reported);
    * speed: scipy loop time / ``fit_known_endmembers`` time ≥ 10
      (reported, not enforced).
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.optimize import nnls
from threadpoolctl import threadpool_limits

from lectlib.datasets import make_eels_interface
from lectlib.regression import fit_known_endmembers, nnls_batch

import harness  # beside this script: Python puts the script's folder first on the path

ACCURACY_TOL = 1e-8
SPEED_TARGET = 10.0
SYNTHETIC_NOISE = 0.05


# --------------------------------------------------------------------------------- data


def eels_case():
    """The course's EELS interface, 64 × 64 pixels of Poisson counts on 241 channels."""
    data = make_eels_interface(shape=(64, 64), random_state=0)
    return dict(
        name="eels_interface_64x64",
        cube=data.cube,
        endmembers=data.references,
        fit_kwargs=dict(method="nnls"),
        description="make_eels_interface(shape=(64, 64), random_state=0): Poisson "
        "counts, 3 references",
    )


def synthetic_case(
    shape=(128, 128),
    n_endmembers=6,
    n_channels=200,
    zero_fraction=0.5,
    noise=SYNTHETIC_NOISE,
    seed=1,
):
    """Overlapping Gaussian-peak endmembers, sparse non-negative coefficients,
    Gaussian noise.

    Each true coefficient is Gamma(2, 1) distributed and set to zero with probability
    ``zero_fraction``: wherever a zero coefficient's unconstrained estimate comes out
    negative (about half of them, through the noise), its constraint is active at the
    solution.
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, n_channels)
    centers = rng.uniform(0.1, 0.9, (n_endmembers, 3))
    widths = rng.uniform(0.03, 0.12, (n_endmembers, 3))
    peaks = np.exp(-0.5 * ((x - centers[..., None]) / widths[..., None]) ** 2).sum(
        axis=1
    )
    endmembers = peaks + 0.2 * np.exp(-x / 0.5)
    endmembers /= endmembers.max(axis=1, keepdims=True)
    n_pixels = shape[0] * shape[1]
    truth = rng.gamma(2.0, 1.0, (n_pixels, n_endmembers))
    truth[rng.random(truth.shape) < zero_fraction] = 0.0
    spectra = truth @ endmembers + rng.normal(0.0, noise, (n_pixels, n_channels))
    return dict(
        name=f"synthetic_{shape[0]}x{shape[1]}_k{n_endmembers}",
        cube=spectra.reshape(shape + (n_channels,)),
        endmembers=endmembers,
        fit_kwargs=dict(method="nnls", variance=noise**2),
        description=(
            f"{n_endmembers} Gaussian-peak endmembers, {zero_fraction:.0%} of the true "
            f"coefficients zero, Gaussian noise sigma={noise}, seed={seed}"
        ),
    )


# ------------------------------------------------------------------------------ methods


def lectlib_fit(cube, endmembers, fit_kwargs):
    """The public call: coefficients, model, residuals and χ² for every pixel."""
    fit = fit_known_endmembers(cube, endmembers, **fit_kwargs)
    return fit.coefficients.reshape(-1, endmembers.shape[0])


def lectlib_batch(cube, endmembers):
    """The solver alone, from the normal equations (coefficients only, no polishing)."""
    X = cube.reshape(-1, cube.shape[-1])
    coef, _ = nnls_batch(endmembers @ endmembers.T, X @ endmembers.T)
    return coef


def scipy_loop(cube, endmembers):
    """The peer: one ``scipy.optimize.nnls`` call per pixel."""
    X = cube.reshape(-1, cube.shape[-1])
    A = endmembers.T
    out = np.empty((X.shape[0], endmembers.shape[0]))
    for i, spectrum in enumerate(X):
        out[i] = nnls(A, spectrum)[0]
    return out


def markdown_table(rows):
    """The table this script prints (report.py renders the book's tables itself)."""
    header = [
        "case",
        "pixels × channels, k",
        "active constraints",
        "scipy nnls loop (ms)",
        "fit_known_endmembers (ms)",
        "speed-up",
        "max abs diff",
        "nnls_batch (ms)",
        "speed-up",
        "max abs diff",
    ]
    t, sp, d = "time_s", "speedup", "max_abs_diff"
    return harness.md_table(
        header,
        [
            [
                r["case"],
                f"{r['n_pixels']} × {r['n_channels']}, {r['n_endmembers']}",
                f"{r['active_constraint_fraction']:.1%} of coefficients",
                f"{1e3 * r[t]['scipy_nnls_loop']:.1f}",
                f"{1e3 * r[t]['fit_known_endmembers']:.1f}",
                f"{r[sp]['fit_known_endmembers']:.1f}×",
                f"{r[d]['fit_known_endmembers']:.1e}",
                f"{1e3 * r[t]['nnls_batch']:.1f}",
                f"{r[sp]['nnls_batch']:.1f}×",
                f"{r[d]['nnls_batch']:.1e}",
            ]
            for r in rows
        ],
    )


# --------------------------------------------------------------------------------- main


def run_case(case, repeats, peer_repeats):
    cube, E, kwargs = case["cube"], case["endmembers"], case["fit_kwargs"]
    coef_fit = lectlib_fit(cube, E, kwargs)
    coef_batch = lectlib_batch(cube, E)
    coef_ref = scipy_loop(cube, E)
    times = dict(
        fit_known_endmembers=harness.best_time(
            lambda: lectlib_fit(cube, E, kwargs), repeats
        )[0],
        nnls_batch=harness.best_time(lambda: lectlib_batch(cube, E), repeats)[0],
        scipy_nnls_loop=harness.best_time(lambda: scipy_loop(cube, E), peer_repeats)[0],
    )
    diffs = dict(
        fit_known_endmembers=float(np.abs(coef_fit - coef_ref).max()),
        nnls_batch=float(np.abs(coef_batch - coef_ref).max()),
    )
    at_bound = coef_ref == 0
    return dict(
        case=case["name"],
        description=case["description"],
        n_pixels=int(coef_ref.shape[0]),
        n_channels=int(cube.shape[-1]),
        n_endmembers=int(E.shape[0]),
        fit_kwargs=dict(kwargs),
        active_constraint_fraction=float(at_bound.mean()),
        pixels_with_active_constraint=float(at_bound.any(axis=1).mean()),
        distinct_active_sets=int(np.unique(at_bound, axis=0).shape[0]),
        max_abs_coefficient=float(np.abs(coef_ref).max()),
        time_s=times,
        max_abs_diff=diffs,
        speedup={
            k: times["scipy_nnls_loop"] / times[k]
            for k in ("fit_known_endmembers", "nnls_batch")
        },
        accuracy_ok=diffs["fit_known_endmembers"] <= ACCURACY_TOL,
        speed_target_met=times["scipy_nnls_loop"] / times["fit_known_endmembers"]
        >= SPEED_TARGET,
    )


def main(argv=None):
    parser = harness.bench_parser(
        __doc__, "regression", "timed runs of lectlib (best kept)"
    )
    parser.add_argument(
        "--peer-repeats",
        type=int,
        default=3,
        help="timed runs of the scipy loop (best kept)",
    )
    args = parser.parse_args(argv)

    with threadpool_limits(limits=1):
        pools = harness.thread_pools()
        rows = [
            run_case(case, args.repeats, args.peer_repeats)
            for case in (eels_case(), synthetic_case())
        ]
    table = markdown_table(rows)
    result = dict(
        **harness.run_header(
            "regression: lectlib non-negative fit vs per-pixel scipy.optimize.nnls",
            threads=(
                "BLAS/OpenMP limited to 1 thread "
                "(threadpoolctl.threadpool_limits(1) + env)"
            ),
        ),
        blas_pools_during_timing=pools,
        versions=harness.course_versions(),
        timing=dict(
            statistic="best of repeats, wall time (s)",
            lectlib_repeats=args.repeats,
            scipy_repeats=args.peer_repeats,
        ),
        targets=dict(max_abs_diff=ACCURACY_TOL, speedup=SPEED_TARGET),
        cases=rows,
        table_markdown=table,
    )
    harness.write_result(args.out, result)
    for r in rows:
        if not r["speed_target_met"]:
            print(
                f"note: {r['case']}: speed-up "
                f"{r['speedup']['fit_known_endmembers']:.1f}x is below the "
                f"{SPEED_TARGET:g}x target"
            )
    bad = [r["case"] for r in rows if not r["accuracy_ok"]]
    return harness.exit_status(
        [f"coefficients differ from scipy by more than {ACCURACY_TOL:g} in {bad}"]
        if bad
        else []
    )


if __name__ == "__main__":
    sys.exit(main())
