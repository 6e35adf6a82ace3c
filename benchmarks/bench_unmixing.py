"""Benchmark: lectlib's N-FINDR and FCLS vs pysptools,
with NMF and FastICA as references.

What
    One synthetic spectrum image, ``lectlib.datasets.make_mixture(n_components=6,
    shape=(128, 128), n_channels=200, n_pure=1, noise="gaussian", snr_db=30,
    random_state=0)``: 16 384 pixels, 6 endmembers, abundances on the simplex, one pure
    pixel per endmember.

    * N-FINDR (endmember extraction):
      ``lectlib.unmixing.NFINDR(n_endmembers=6, random_state=0).fit(X)`` on the unfolded
      image ``X`` (16384 × 200), vs pysptools 0.15.0
      ``pysptools.eea.NFINDR().extract(cube, 6)`` on the cube (128 × 128 × 200; its
      defaults: built-in PCA to 5 dimensions, random initial pixels, ``maxit = 3 q``).
      Each set of endmembers is matched to the true ones by
      ``lectlib.metrics.match_components`` (spectral angles in degrees).
    * FCLS (abundances with a ≥ 0 and Σ a = 1): ``lectlib.unmixing.fcls(X, E)`` vs
      pysptools ``pysptools.abundance_maps.FCLS().map(cube, E)`` (one cvxopt quadratic
      program per pixel), both with the TRUE endmembers E, so that only the solvers are
      compared.
    * References, in the course's venv, that solve different problems: scikit-learn
      ``NMF(n_components=6, init="nndsvda", max_iter=500, random_state=0)`` on ``X``
      clipped at 0 (NMF refuses negative values; Gaussian noise makes a few), its
      ``components_`` being the spectra, and
      ``FastICA(n_components=6, random_state=0, whiten="unit-variance")`` on ``X``, its
      mixing-matrix columns being the spectra (matched with ``sign_invariant=True``).

How
    This script runs in the course's venv. It hands the cube and the true endmembers to
    ``unmixing_peer.py``, run under the pysptools venv's Python
    (``benchmarks/.venv-pysptools``, built from ``requirements-pysptools.txt`` by
    ``run.sh``; ``harness.run_peer``: the arrays go as ``.npy`` through a temporary
    folder and both sides load them with ``allow_pickle=False``). That module imports
    only numpy, threadpoolctl and pysptools, never lectlib; it runs and times pysptools
    and hands back its results and timings. ::

        .venv/bin/python benchmarks/bench_unmixing.py \\
            --peer-python benchmarks/.venv-pysptools/bin/python \\
            --out benchmarks/results/unmixing.json

    Every method runs once untimed (that run's output is the one compared), then each
    time is the best of several calls with the garbage collector off: ``--repeats`` for
    lectlib, ``--peer-repeats`` for pysptools, ``--ref-repeats`` for NMF and FastICA.
    BLAS/OpenMP are limited to one thread in both processes (``threadpoolctl`` and the
    environment variables).

    Seeding: pysptools' N-FINDR draws its initial pixels with Python's ``random`` module
    (``random.random()``), not numpy, so the peer calls ``random.seed(seed)`` (and, for
    good measure, ``np.random.seed(seed)``) before every call.

Targets
    * N-FINDR accuracy (enforced): lectlib's max and mean angles to the true endmembers
      are at most pysptools' (plus 1e-6° for rounding);
    * FCLS agreement (enforced): max |lectlib − pysptools| over all abundances ≤ 1e-4,
      against pysptools' FCLS run to convergence. pysptools leaves cvxopt's stopping
      tolerances at their defaults (abstol=1e-7, reltol=1e-6, feastol=1e-7), and its
      interior-point solutions then stop short of the bound a = 0 by up to about 1e-3,
      so the peer runs FCLS a second time, once, with ``cvxopt.solvers.options``
      abstol = reltol = feastol = 1e-12; the difference to the default run, and which of
      the two fits has the smaller residual, are reported too;
    * speed (reported, not enforced): pysptools / lectlib ≥ 20× for N-FINDR and ≥ 30×
      for FCLS (pysptools' FCLS timed with its default settings).
    The script exits with status 1, after writing its JSON,
    if an enforced target is missed.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

import harness  # beside this script: Python puts the script's folder first on the path

PEER = harness.HERE / "unmixing_peer.py"
N_ENDMEMBERS = 6
SEED = 0
DATA_KWARGS = dict(
    n_components=N_ENDMEMBERS,
    shape=(128, 128),
    n_channels=200,
    n_pure=1,
    noise="gaussian",
    snr_db=30,
    random_state=0,
)
ANGLE_TOL_DEG = 1e-6
FCLS_TOL = 1e-4
PEER_TIGHT_TOL = (
    1e-12  # cvxopt abstol/reltol/feastol for the converged pysptools FCLS run
)
NFINDR_SPEED_TARGET = 20.0
FCLS_SPEED_TARGET = 30.0


# ------------------------------------------------------------------------------ methods


def angles_summary(found, truth, sign_invariant=False):
    from lectlib.metrics import match_components

    match = match_components(found, truth, sign_invariant=sign_invariant)
    angles = np.asarray(match.angles, dtype=float)
    return dict(
        angles_deg=angles.tolist(),
        max_angle_deg=float(angles.max()),
        mean_angle_deg=float(angles.mean()),
        order=np.asarray(match.order).tolist(),
    )


def pixel_rc(indices, width):
    return [[int(i) // width, int(i) % width] for i in indices]


def run_nfindr(X, truth, width, peer, peer_arrays, repeats):
    from lectlib.unmixing import NFINDR

    def fit():
        return NFINDR(n_endmembers=N_ENDMEMBERS, random_state=SEED).fit(X)

    model = fit()
    seconds, fits = harness.best_time(fit, repeats)
    ours = dict(
        time_s=seconds,
        repeats=repeats,
        n_iter=int(model.n_iter_),
        indices=np.asarray(model.indices_).tolist(),
        pixels_row_col=pixel_rc(model.indices_, width),
        same_indices_every_run=all(
            np.array_equal(f.indices_, model.indices_) for f in fits
        ),
        **angles_summary(model.endmembers_, truth),
    )

    p_idx = peer_arrays["nfindr_indices"]
    p_em = peer_arrays["nfindr_endmembers"]
    # pysptools returns float32 copies of the chosen pixels; compare the exact float64
    # pixels (the same spectra before rounding) so that the angles are not blurred by
    # float32.
    rows = X[p_idx]
    if not np.allclose(p_em, rows, rtol=1e-6, atol=1e-6):
        raise RuntimeError(
            "pysptools' N-FINDR endmembers are not the pixels at its indices"
        )
    theirs = dict(
        time_s=peer["nfindr"]["seconds"],
        repeats=peer["nfindr"]["repeats"],
        n_iter=peer["nfindr"]["n_iter"],
        indices=p_idx.tolist(),
        pixels_row_col=pixel_rc(p_idx, width),
        same_indices_every_run=peer["nfindr"]["same_indices_every_run"],
        endmembers_dtype=peer["nfindr"]["endmembers_dtype"],
        **angles_summary(rows, truth),
    )
    theirs["angles_from_float32_endmembers"] = angles_summary(
        p_em.astype(np.float64), truth
    )["angles_deg"]
    ratio = theirs["time_s"] / ours["time_s"]
    accurate = (
        ours["max_angle_deg"] <= theirs["max_angle_deg"] + ANGLE_TOL_DEG
        and ours["mean_angle_deg"] <= theirs["mean_angle_deg"] + ANGLE_TOL_DEG
    )
    return dict(
        lectlib=ours,
        pysptools=theirs,
        ratio_pysptools_over_lectlib=ratio,
        same_pixels=sorted(ours["indices"]) == sorted(theirs["indices"]),
        accuracy_ok=bool(accurate),
        speed_target_met=bool(ratio >= NFINDR_SPEED_TARGET),
    )


def run_fcls(X, truth_E, truth_A, peer, peer_arrays, repeats, fcls_pixels):
    from lectlib.unmixing import fcls

    Xs = X if fcls_pixels is None else X[:fcls_pixels]
    As = truth_A if fcls_pixels is None else truth_A[:fcls_pixels]
    ours = fcls(Xs, truth_E)
    seconds, _ = harness.best_time(lambda: fcls(Xs, truth_E), repeats)
    k = truth_E.shape[0]
    theirs = peer_arrays["fcls_abundances"].reshape(-1, k).astype(np.float64)
    tight = peer_arrays["fcls_abundances_tight"].reshape(-1, k).astype(np.float64)
    if theirs.shape != ours.shape or tight.shape != ours.shape:
        raise RuntimeError(f"pysptools FCLS gave {theirs.shape}, lectlib {ours.shape}")
    diff = np.abs(ours - theirs)
    diff_tight = np.abs(ours - tight)
    ratio = peer["fcls"]["seconds"] / seconds

    def rss(a):
        return ((Xs - a @ truth_E) ** 2).sum(axis=1)

    def checks(a):
        return dict(
            min_abundance=float(a.min()),
            max_abs_sum_minus_one=float(np.abs(a.sum(axis=1) - 1.0).max()),
            fraction_exactly_zero=float((a == 0).mean()),
            max_abs_error_vs_true_abundances=float(np.abs(a - As).max()),
        )

    rss_ours, rss_theirs = rss(ours), rss(theirs)
    return dict(
        n_pixels=int(Xs.shape[0]),
        subset=None
        if fcls_pixels is None
        else f"first {fcls_pixels} pixels of the unfolded image",
        lectlib=dict(time_s=seconds, repeats=repeats, **checks(ours)),
        pysptools=dict(
            time_s=peer["fcls"]["seconds"],
            repeats=peer["fcls"]["repeats"],
            cvxopt_options=peer["fcls"]["cvxopt_options"],
            abundances_dtype=peer["fcls"]["abundances_dtype"],
            **checks(theirs),
        ),
        pysptools_tight=dict(
            time_s=peer["fcls"]["tight"]["seconds"],
            repeats=1,
            cvxopt_options=peer["fcls"]["tight"]["cvxopt_options"],
            **checks(tight),
        ),
        ratio_pysptools_over_lectlib=ratio,
        max_abs_diff=float(diff.max()),
        mean_abs_diff=float(diff.mean()),
        fraction_of_pixels_diff_above_tol=float((diff.max(axis=1) > FCLS_TOL).mean()),
        max_abs_diff_tight=float(diff_tight.max()),
        mean_abs_diff_tight=float(diff_tight.mean()),
        # residual sum of squares per pixel: which solution fits better
        max_rss_excess_lectlib=float((rss_ours - rss_theirs).max()),
        max_rss_excess_pysptools=float((rss_theirs - rss_ours).max()),
        fraction_rss_lower_lectlib=float((rss_ours < rss_theirs).mean()),
        accuracy_ok=bool(diff_tight.max() <= FCLS_TOL),
        speed_target_met=bool(ratio >= FCLS_SPEED_TARGET),
    )


def run_references(X, truth, repeats):
    from sklearn.decomposition import NMF, FastICA
    from sklearn.exceptions import ConvergenceWarning

    X_nonneg = np.clip(X, 0.0, None)
    out = {}

    def nmf():
        return NMF(
            n_components=N_ENDMEMBERS, init="nndsvda", max_iter=500, random_state=SEED
        ).fit(X_nonneg)

    def ica():
        return FastICA(
            n_components=N_ENDMEMBERS, random_state=SEED, whiten="unit-variance"
        ).fit(X)

    for name, func, spectra, sign_inv, call in (
        (
            "nmf",
            nmf,
            lambda m: m.components_,
            False,
            'NMF(n_components=6, init="nndsvda", max_iter=500, '
            "random_state=0).fit(clip(X, 0))",
        ),
        (
            "fastica",
            ica,
            lambda m: m.mixing_.T,
            True,
            'FastICA(n_components=6, random_state=0, whiten="unit-variance").fit(X); '
            "spectra = mixing_.T, matched sign-invariantly",
        ),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model = func()
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            seconds, _ = harness.best_time(func, repeats)
        out[name] = dict(
            call=call,
            time_s=seconds,
            repeats=repeats,
            n_iter=int(model.n_iter_),
            converged=converged,
            **angles_summary(spectra(model), truth, sign_inv),
        )
    out["nmf"]["n_negative_values_clipped"] = int((X < 0).sum())
    return out


def markdown_tables(result):
    """The tables this script prints (report.py renders the book's tables itself)."""
    nf, fc, refs = result["nfindr"], result["fcls"], result["references"]
    ms = harness.fmt_ms
    methods = [
        ("lectlib NFINDR", nf["lectlib"]),
        ("pysptools NFINDR", nf["pysptools"]),
        ("sklearn NMF (reference)", refs["nmf"]),
        ("sklearn FastICA (reference)", refs["fastica"]),
    ]
    endmembers = harness.md_table(
        [
            "method",
            "time",
            "angles to the true endmembers (°)",
            "max",
            "mean",
            "passes",
        ],
        [
            [
                name,
                ms(r["time_s"]),
                ", ".join(f"{a:.2f}" for a in r["angles_deg"]),
                f"{r['max_angle_deg']:.2f}",
                f"{r['mean_angle_deg']:.2f}",
                r["n_iter"],
            ]
            for name, r in methods
        ],
    )
    n = fc["n_pixels"]
    abundances = harness.md_table(
        [
            "FCLS (true endmembers)",
            "pixels",
            "time",
            "pysptools / lectlib",
            "max abs diff to lectlib",
        ],
        [
            ["lectlib fcls", n, ms(fc["lectlib"]["time_s"]), "", ""],
            [
                "pysptools FCLS, cvxopt defaults",
                n,
                ms(fc["pysptools"]["time_s"]),
                f"{fc['ratio_pysptools_over_lectlib']:.0f}×",
                f"{fc['max_abs_diff']:.1e}",
            ],
            [
                f"pysptools FCLS, cvxopt tolerances {PEER_TIGHT_TOL:g} (1 run)",
                n,
                ms(fc["pysptools_tight"]["time_s"]),
                "",
                f"{fc['max_abs_diff_tight']:.1e}",
            ],
        ],
    )
    return "\n".join(
        [
            endmembers,
            "\nN-FINDR: pysptools / lectlib = "
            f"{nf['ratio_pysptools_over_lectlib']:.1f}×, same pixels: "
            f"{'yes' if nf['same_pixels'] else 'no'}\n",
            abundances,
        ]
    )


def main(argv=None):
    parser = harness.bench_parser(__doc__, "unmixing", "timed calls of lectlib")
    harness.add_peer_python(parser, ".venv-pysptools", "pysptools")
    parser.add_argument(
        "--peer-repeats", type=int, default=3, help="timed calls of pysptools"
    )
    parser.add_argument(
        "--ref-repeats", type=int, default=3, help="timed fits of NMF/FastICA"
    )
    parser.add_argument(
        "--fcls-pixels",
        type=int,
        default=None,
        help="compare FCLS on the first N pixels only (default: all)",
    )
    args = parser.parse_args(argv)
    harness.require_peer(args.peer_python, "pysptools")

    from threadpoolctl import threadpool_limits

    import lectlib
    from lectlib.datasets import make_mixture

    data = make_mixture(**DATA_KWARGS)
    cube, truth = data.cube, data.endmembers
    ny, nx, n_channels = cube.shape
    X = cube.reshape(-1, n_channels)
    truth_A = data.abundances.reshape(-1, N_ENDMEMBERS)
    pure = np.asarray(data.pure_pixels).reshape(-1, 2)

    with (
        threadpool_limits(limits=1),
        tempfile.TemporaryDirectory(prefix="bench-unmix-") as tmp,
    ):
        peer_args = [
            "--repeats",
            args.peer_repeats,
            "--seed",
            SEED,
            "--tight-tol",
            PEER_TIGHT_TOL,
        ]
        if args.fcls_pixels is not None:
            peer_args += ["--fcls-pixels", args.fcls_pixels]
        peer, peer_arrays = harness.run_peer(
            PEER,
            args.peer_python,
            dict(cube=cube, endmembers=truth),
            Path(tmp) / "peer",
            peer_args,
        )
        pools = harness.thread_pools()
        nfindr = run_nfindr(X, truth, nx, peer, peer_arrays, args.repeats)
        fcls_row = run_fcls(
            X, truth, truth_A, peer, peer_arrays, args.repeats, args.fcls_pixels
        )
        refs = run_references(X, truth, args.ref_repeats)

    pure_idx = sorted(int(r) * nx + int(c) for r, c in pure)
    nfindr["lectlib"]["found_the_pure_pixels"] = (
        sorted(nfindr["lectlib"]["indices"]) == pure_idx
    )
    nfindr["pysptools"]["found_the_pure_pixels"] = (
        sorted(nfindr["pysptools"]["indices"]) == pure_idx
    )
    result = dict(
        **harness.run_header(
            "unmixing: lectlib.unmixing NFINDR and fcls vs pysptools NFINDR and FCLS; "
            "scikit-learn NMF and FastICA as references",
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
        data=dict(
            call="make_mixture(n_components=6, shape=(128, 128), n_channels=200, "
            "n_pure=1, noise='gaussian', snr_db=30, random_state=0)",
            shape=[ny, nx, n_channels],
            n_pixels=int(X.shape[0]),
            n_endmembers=N_ENDMEMBERS,
            pure_pixels_row_col=pure.tolist(),
            n_negative_values=int((X < 0).sum()),
        ),
        timing=dict(
            statistic="best of repeats, wall time (s), GC off; one untimed run first",
            lectlib_repeats=args.repeats,
            pysptools_repeats=args.peer_repeats,
            reference_repeats=args.ref_repeats,
        ),
        seeding=dict(
            lectlib="NFINDR(random_state=0)",
            pysptools="random.seed(0) (Python's random module, which its N-FINDR "
            "uses for the initial pixels) and np.random.seed(0) before "
            "every call",
            pysptools_same_indices_every_run=peer["nfindr"]["same_indices_every_run"],
            pysptools_indices_with_seed_1=peer["nfindr"]["indices_with_seed_plus_1"],
            pysptools_same_set_with_seed_1=peer["nfindr"]["same_set_with_seed_plus_1"],
        ),
        peer_calls=dict(nfindr=peer["nfindr"]["call"], fcls=peer["fcls"]["call"]),
        targets=dict(
            nfindr_angle_tolerance_deg=ANGLE_TOL_DEG,
            nfindr_speedup=NFINDR_SPEED_TARGET,
            fcls_max_abs_diff=FCLS_TOL,
            fcls_max_abs_diff_applies_to=f"pysptools FCLS run to convergence (cvxopt "
            f"abstol=reltol=feastol={PEER_TIGHT_TOL:g})",
            fcls_speedup=FCLS_SPEED_TARGET,
        ),
        nfindr=nfindr,
        fcls=fcls_row,
        references=refs,
    )
    result["table_markdown"] = markdown_tables(result)
    pv = peer["versions"]
    harness.write_result(
        args.out,
        result,
        versions=(
            f"pysptools {pv['pysptools']} (numpy {pv['numpy']}, scipy {pv['scipy']}, "
            f"cvxopt {pv['cvxopt']}) vs lectlib {lectlib.__version__} (numpy "
            f"{np.__version__})"
        ),
    )
    if not nfindr["speed_target_met"]:
        print(
            f"note: N-FINDR speed-up {nfindr['ratio_pysptools_over_lectlib']:.1f}x is "
            f"below the {NFINDR_SPEED_TARGET:g}x target"
        )
    if not fcls_row["speed_target_met"]:
        print(
            f"note: FCLS speed-up {fcls_row['ratio_pysptools_over_lectlib']:.1f}x is "
            f"below the {FCLS_SPEED_TARGET:g}x target"
        )
    failed = []
    if not nfindr["accuracy_ok"]:
        failed.append(
            "N-FINDR: lectlib's endmembers are farther from the truth than pysptools'"
        )
    if not fcls_row["accuracy_ok"]:
        failed.append(
            f"FCLS: abundances differ from pysptools' converged ones by "
            f"{fcls_row['max_abs_diff_tight']:.1e} > {FCLS_TOL:g}"
        )
    elif fcls_row["max_abs_diff"] > FCLS_TOL:
        print(
            "note: FCLS with cvxopt's default tolerances (pysptools' setting) differs "
            f"by {fcls_row['max_abs_diff']:.1e}; converged ({PEER_TIGHT_TOL:g}): "
            f"{fcls_row['max_abs_diff_tight']:.1e}"
        )
    return harness.exit_status(failed)


if __name__ == "__main__":
    sys.exit(main())
