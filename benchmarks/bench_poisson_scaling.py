"""Benchmark: ``lectlib.decomposition.poisson_normalize`` vs
HyperSpy's Poisson-noise scaling.

What
    The Keenan & Kotula two-way scaling of counts, ``D / √(r cᵀ)`` (r: counts per pixel,
    c: counts per channel; empty rows and columns scale to 0), computed

    * by ``lectlib.decomposition.poisson_normalize(X)`` on the unfolded cube
      ``X = cube.reshape(-1, n_channels)``, in the course's venv (.venv);
    * by the peer, HyperSpy's ``Signal1D(cube).normalize_poissonian_noise()``
      (``navigation_mask=None, signal_mask=None``; it replaces ``.data`` by the scaled
      cube), in its own venv ``benchmarks/.venv-hyperspy`` built from
      ``requirements-hyperspy.txt``. lectlib never imports HyperSpy and HyperSpy is not
      in the course's requirements.

    Two cubes, the same for both: the 64 × 64 EELS interface of
    ``lectlib.datasets.make_eels_interface(shape=(64, 64), random_state=0)``
    (counts, 241 channels), and a larger random Poisson cube, 128 × 128 × 1024, whose
    expectation mixes three spectra and which has empty pixels and empty channels (so
    that 0/0 → 0 is exercised).

How
    This script runs in the course's venv. For each cube it hands the array to
    ``poisson_scaling_peer.py``, run under the peer venv's Python (``harness.run_peer``:
    the array goes as ``.npy`` through a temporary folder and both sides load with
    ``allow_pickle=False``; the peer module imports numpy and HyperSpy, never lectlib),
    which times the HyperSpy call and hands back the scaled cube and its timing; then it
    times lectlib on the same array, compares the two results and prints one table. ::

        .venv/bin/python benchmarks/bench_poisson_scaling.py \\
            --peer-python benchmarks/.venv-hyperspy/bin/python \\
            --out benchmarks/results/poisson_scaling.json

    (``make bench`` creates the peer venv and runs every benchmark.) Each timing is the
    best of ``--repeats`` calls (``timeit``-style, garbage collector off); the HyperSpy
    signal is built from a fresh copy of the array before each call, outside the timed
    region. BLAS/OpenMP are limited to one thread in both processes (``threadpoolctl``
    here, environment variables in the peer; the operation is element-wise and uses no
    BLAS).

Targets
    * agreement: max |lectlib − HyperSpy| / |HyperSpy| over the non-zero
      elements ≤ 1e-12, and the same elements exactly zero (the script exits with status
      1 otherwise);
    * speed: reported (HyperSpy time / lectlib time), no target.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import harness  # beside this script: Python puts the script's folder first on the path

REL_TOL = 1e-12
PEER = harness.HERE / "poisson_scaling_peer.py"


# --------------------------------------------------------------------------------- data


def eels_cube():
    from lectlib.datasets import make_eels_interface

    data = make_eels_interface(shape=(64, 64), random_state=0)
    return (
        "eels_interface_64x64",
        data.cube,
        "make_eels_interface(shape=(64, 64), random_state=0): Poisson counts",
    )


def random_poisson_cube(shape=(128, 128), n_channels=1024, seed=2):
    """Poisson counts whose expectation mixes three spectra;
    some pixels and channels empty."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, n_channels)
    spectra = np.stack(
        [
            2.0 * np.exp(-x / s) + np.exp(-0.5 * ((x - m) / 0.02) ** 2)
            for s, m in ((0.2, 0.3), (0.4, 0.55), (0.8, 0.8))
        ]
    )
    abundances = rng.dirichlet(np.ones(3), size=shape) * rng.uniform(
        2.0, 8.0, shape + (1,)
    )
    lam = abundances @ spectra
    lam[..., :16] = 0.0  # empty channels
    lam[rng.random(shape) < 0.01] = 0.0  # empty pixels
    cube = rng.poisson(lam).astype(np.float64)
    return (
        f"random_poisson_{shape[0]}x{shape[1]}x{n_channels}",
        cube,
        f"Poisson counts, mean {lam.mean():.2f}/element, 16 empty channels, about 1% "
        f"empty pixels, seed={seed}",
    )


def compare(ours, theirs):
    diff = np.abs(ours - theirs)
    nonzero = theirs != 0
    rel = diff[nonzero] / np.abs(theirs[nonzero])
    return dict(
        max_abs_diff=float(diff.max()),
        max_rel_diff=float(rel.max()) if rel.size else 0.0,
        max_abs_value=float(np.abs(theirs).max()),
        same_zeros=bool(np.array_equal(ours == 0, theirs == 0)),
        n_zero=int((~nonzero).sum()),
    )


def run_case(name, cube, description, peer_python, tmp, repeats):
    from lectlib.decomposition import poisson_normalize

    peer, outputs = harness.run_peer(
        PEER, peer_python, dict(cube=cube), tmp / name, ["--repeats", repeats]
    )
    theirs = outputs["scaled"]
    X = cube.reshape(-1, cube.shape[-1])
    seconds, runs = harness.best_time(lambda: poisson_normalize(X), repeats)
    ours = runs[-1][0]
    if theirs.shape != cube.shape:
        raise RuntimeError(
            f"HyperSpy returned shape {theirs.shape} for a cube of {cube.shape}"
        )
    cmp = compare(ours, theirs.reshape(X.shape))
    return dict(
        case=name,
        description=description,
        shape=list(cube.shape),
        time_s=dict(lectlib=seconds, hyperspy=peer["seconds"]),
        ratio_hyperspy_over_lectlib=peer["seconds"] / seconds,
        **cmp,
        agreement_ok=cmp["max_rel_diff"] <= REL_TOL and cmp["same_zeros"],
        peer=peer,
    )


def markdown_table(rows):
    """The table this script prints (report.py renders the book's tables itself)."""
    header = [
        "case",
        "shape (ny, nx, channels)",
        "HyperSpy (ms)",
        "lectlib (ms)",
        "HyperSpy / lectlib",
        "max abs diff",
        "max rel diff",
        "same zeros",
    ]
    return harness.md_table(
        header,
        [
            [
                r["case"],
                " × ".join(map(str, r["shape"])),
                f"{1e3 * r['time_s']['hyperspy']:.1f}",
                f"{1e3 * r['time_s']['lectlib']:.1f}",
                f"{r['ratio_hyperspy_over_lectlib']:.2f}×",
                f"{r['max_abs_diff']:.1e}",
                f"{r['max_rel_diff']:.1e}",
                "yes" if r["same_zeros"] else "NO",
            ]
            for r in rows
        ],
    )


def main(argv=None):
    parser = harness.bench_parser(__doc__, "poisson_scaling", "timed calls (best kept)")
    harness.add_peer_python(parser, ".venv-hyperspy", "HyperSpy")
    args = parser.parse_args(argv)
    harness.require_peer(args.peer_python, "HyperSpy")

    from threadpoolctl import threadpool_limits

    import lectlib

    cases = [eels_cube(), random_poisson_cube()]
    with (
        threadpool_limits(limits=1),
        tempfile.TemporaryDirectory(prefix="bench-poisson-") as tmp,
    ):
        rows = [
            run_case(name, cube, descr, args.peer_python, Path(tmp), args.repeats)
            for name, cube, descr in cases
        ]
    table = markdown_table(rows)
    peer_versions = rows[0]["peer"]["versions"]
    result = dict(
        **harness.run_header(
            "Poisson two-way scaling: lectlib.decomposition.poisson_normalize vs "
            "hyperspy Signal1D.normalize_poissonian_noise",
            threads="1: threadpoolctl.threadpool_limits(1) for lectlib; "
            "OMP/OpenBLAS/MKL_NUM_THREADS=1 for the HyperSpy process (element-wise "
            "operation, no BLAS)",
        ),
        versions=dict(
            **harness.course_versions(threadpoolctl=False),
            peer=peer_versions,
            peer_python=str(args.peer_python),
        ),
        timing=dict(
            statistic="best of repeats, wall time (s); HyperSpy: the method call only, "
            "signal built from a fresh copy before each call",
            repeats=args.repeats,
        ),
        targets=dict(max_rel_diff=REL_TOL),
        cases=rows,
        table_markdown=table,
    )
    harness.write_result(
        args.out,
        result,
        versions=(
            f"HyperSpy {peer_versions['hyperspy']} (numpy {peer_versions['numpy']}) vs "
            f"lectlib {lectlib.__version__} (numpy {np.__version__})"
        ),
    )
    bad = [r["case"] for r in rows if not r["agreement_ok"]]
    return harness.exit_status(
        [f"lectlib and HyperSpy disagree (relative tolerance {REL_TOL:g}) in {bad}"]
        if bad
        else []
    )


if __name__ == "__main__":
    sys.exit(main())
