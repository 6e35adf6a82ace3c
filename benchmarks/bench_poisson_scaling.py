"""Benchmark: ``lectlib.decomposition.poisson_normalize`` vs HyperSpy's Poisson-noise scaling.

What
    The Keenan & Kotula two-way scaling of counts, ``D / √(r cᵀ)`` (r: counts per pixel,
    c: counts per channel; empty rows and columns scale to 0), computed

    * by ``lectlib.decomposition.poisson_normalize(X)`` on the unfolded cube
      ``X = cube.reshape(-1, n_channels)``, in the course's venv (.venv);
    * by the peer, HyperSpy's ``Signal1D(cube).normalize_poissonian_noise()``
      (``navigation_mask=None, signal_mask=None``; it replaces ``.data`` by the scaled cube), in
      its own venv ``benchmarks/.venv-hyperspy`` built from ``requirements-hyperspy.txt``.
      lectlib never imports HyperSpy and HyperSpy is not in the course's requirements.

    Two cubes, the same for both: the 64 × 64 EELS interface of
    ``lectlib.datasets.make_eels_interface(shape=(64, 64), random_state=0)`` (counts, 241
    channels), and a larger random Poisson cube, 128 × 128 × 1024, whose expectation mixes
    three spectra and which has empty pixels and empty channels (so that 0/0 → 0 is exercised).

How
    This script runs in the course's venv. For each cube it writes the array with ``np.save``
    to a temporary folder, runs *itself* with ``--peer`` under the peer venv's Python (that mode
    imports only numpy and HyperSpy, never lectlib), which loads it with
    ``allow_pickle=False``, times the HyperSpy call and saves the scaled cube and its timing;
    then it times lectlib on the same array, compares the two results and prints one table. ::

        .venv/bin/python benchmarks/bench_poisson_scaling.py \\
            --peer-python benchmarks/.venv-hyperspy/bin/python \\
            --out benchmarks/results/poisson_scaling.json

    (``make bench`` creates the peer venv and runs both benchmarks.) Each timing is the best of
    ``--repeats`` calls (``timeit``-style, garbage collector off); the HyperSpy signal is built
    from a fresh copy of the array before each call, outside the timed region. BLAS/OpenMP are
    limited to one thread in both processes (``threadpoolctl`` here, environment variables in the
    peer; the operation is element-wise and uses no BLAS).

Targets
    * agreement: max |lectlib − HyperSpy| / |HyperSpy| over the non-zero elements ≤ 1e-12, and
      the same elements exactly zero (the script exits with status 1 otherwise);
    * speed: reported (HyperSpy time / lectlib time), no target.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import THREAD_ENV, best_time, git_commit, machine_info  # noqa: E402 (the benchmarks' folder)

import numpy as np

HERE = Path(__file__).resolve().parent
REL_TOL = 1e-12


# ------------------------------------------------------------------- peer mode (HyperSpy venv)


def peer_main(in_path, out_path, json_path, repeats):
    """Run HyperSpy on the saved cube; save the scaled cube and the timing. No lectlib here."""
    import hyperspy
    import hyperspy.api as hs

    cube = np.load(in_path, allow_pickle=False)

    def make_signal(_=None):
        return hs.signals.Signal1D(cube.copy())

    def normalize(signal):
        signal.normalize_poissonian_noise()
        return signal

    seconds, signals = best_time(normalize, repeats, setup=make_signal)
    signal = signals[-1]
    scaled = np.asarray(signal.data)
    np.save(out_path, scaled, allow_pickle=False)
    info = dict(
        seconds=seconds, repeats=repeats, shape=list(scaled.shape), dtype=str(scaled.dtype),
        signal_class=f"{type(signal).__module__}.{type(signal).__name__}",
        versions=dict(hyperspy=hyperspy.__version__, numpy=np.__version__,
                      python=platform.python_version()),
        thread_env={k: os.environ.get(k) for k in THREAD_ENV},
    )
    Path(json_path).write_text(json.dumps(info, indent=2) + "\n")


# ------------------------------------------------------------------------ main mode (.venv)


def eels_cube():
    from lectlib.datasets import make_eels_interface

    data = make_eels_interface(shape=(64, 64), random_state=0)
    return ("eels_interface_64x64", data.cube,
            "make_eels_interface(shape=(64, 64), random_state=0): Poisson counts")


def random_poisson_cube(shape=(128, 128), n_channels=1024, seed=2):
    """Poisson counts whose expectation mixes three spectra; some pixels and channels empty."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, n_channels)
    spectra = np.stack([2.0 * np.exp(-x / s) + np.exp(-0.5 * ((x - m) / 0.02) ** 2)
                        for s, m in ((0.2, 0.3), (0.4, 0.55), (0.8, 0.8))])
    abundances = rng.dirichlet(np.ones(3), size=shape) * rng.uniform(2.0, 8.0, shape + (1,))
    lam = abundances @ spectra
    lam[..., :16] = 0.0                                      # empty channels
    lam[rng.random(shape) < 0.01] = 0.0                      # empty pixels
    cube = rng.poisson(lam).astype(np.float64)
    return (f"random_poisson_{shape[0]}x{shape[1]}x{n_channels}", cube,
            f"Poisson counts, mean {lam.mean():.2f}/element, 16 empty channels, about 1% empty "
            f"pixels, seed={seed}")


def run_peer(peer_python, cube, tmp, name, repeats):
    in_path, out_path, json_path = (tmp / f"{name}.npy", tmp / f"{name}.scaled.npy",
                                    tmp / f"{name}.json")
    np.save(in_path, cube, allow_pickle=False)
    env = {**os.environ, **THREAD_ENV, "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)
    cmd = [str(peer_python), str(Path(__file__).resolve()), "--peer", str(in_path), str(out_path),
           str(json_path), "--repeats", str(repeats)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the HyperSpy peer failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    info = json.loads(json_path.read_text())
    scaled = np.load(out_path, allow_pickle=False)
    return scaled, info


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

    theirs, peer = run_peer(peer_python, cube, tmp, name, repeats)
    X = cube.reshape(-1, cube.shape[-1])
    seconds, runs = best_time(lambda _: poisson_normalize(X), repeats)
    ours = runs[-1][0]
    if theirs.shape != cube.shape:
        raise RuntimeError(f"HyperSpy returned shape {theirs.shape} for a cube of {cube.shape}")
    cmp = compare(ours, theirs.reshape(X.shape))
    return dict(
        case=name, description=description, shape=list(cube.shape),
        time_s=dict(lectlib=seconds, hyperspy=peer["seconds"]),
        ratio_hyperspy_over_lectlib=peer["seconds"] / seconds,
        **cmp,
        agreement_ok=cmp["max_rel_diff"] <= REL_TOL and cmp["same_zeros"],
        peer=peer,
    )


def markdown_table(rows):
    lines = ["| case | shape (ny, nx, channels) | HyperSpy (ms) | lectlib (ms) | "
             "HyperSpy / lectlib | max abs diff | max rel diff | same zeros |",
             "|" + "---|" * 8]
    for r in rows:
        lines.append(
            f"| {r['case']} | {' × '.join(map(str, r['shape']))} |"
            f" {1e3 * r['time_s']['hyperspy']:.1f} | {1e3 * r['time_s']['lectlib']:.1f} |"
            f" {r['ratio_hyperspy_over_lectlib']:.2f}× | {r['max_abs_diff']:.1e} |"
            f" {r['max_rel_diff']:.1e} | {'yes' if r['same_zeros'] else 'NO'} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", nargs=3, metavar=("IN_NPY", "OUT_NPY", "OUT_JSON"),
                        help="internal: run the HyperSpy side (in the peer venv)")
    parser.add_argument("--peer-python", type=Path,
                        default=HERE / ".venv-hyperspy" / "bin" / "python",
                        help="Python of the HyperSpy venv")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls (best kept)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "poisson_scaling.json")
    args = parser.parse_args(argv)

    if args.peer:
        peer_main(*args.peer, repeats=args.repeats)
        return 0

    if not args.peer_python.exists():
        print(f"error: no HyperSpy venv at {args.peer_python}; run benchmarks/run.sh "
              "(or make bench) to create it", file=sys.stderr)
        return 2

    import lectlib
    import scipy
    import sklearn
    from threadpoolctl import threadpool_limits

    cases = [eels_cube(), random_poisson_cube()]
    with threadpool_limits(limits=1), tempfile.TemporaryDirectory(prefix="bench-poisson-") as tmp:
        rows = [run_case(name, cube, descr, args.peer_python, Path(tmp), args.repeats)
                for name, cube, descr in cases]
    table = markdown_table(rows)
    peer_versions = rows[0]["peer"]["versions"]
    result = dict(
        benchmark="Poisson two-way scaling: lectlib.decomposition.poisson_normalize vs "
                  "hyperspy Signal1D.normalize_poissonian_noise",
        date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        machine=machine_info(),
        threads="1: threadpoolctl.threadpool_limits(1) for lectlib; OMP/OpenBLAS/MKL_NUM_THREADS=1 "
                "for the HyperSpy process (element-wise operation, no BLAS)",
        versions=dict(lectlib=lectlib.__version__, lectlib_commit=git_commit(),
                      numpy=np.__version__, scipy=scipy.__version__, sklearn=sklearn.__version__,
                      peer=peer_versions, peer_python=str(args.peer_python)),
        timing=dict(statistic="best of repeats, wall time (s); HyperSpy: the method call only, "
                              "signal built from a fresh copy before each call",
                    repeats=args.repeats),
        targets=dict(max_rel_diff=REL_TOL),
        cases=rows, table_markdown=table,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table)
    print(f"\nHyperSpy {peer_versions['hyperspy']} (numpy {peer_versions['numpy']}) vs lectlib "
          f"{lectlib.__version__} (numpy {np.__version__}); written to {args.out}")
    bad = [r["case"] for r in rows if not r["agreement_ok"]]
    if bad:
        print(f"FAILED: lectlib and HyperSpy disagree (relative tolerance {REL_TOL:g}) in {bad}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
