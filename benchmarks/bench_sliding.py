"""Benchmark: lectlib's ``SlidingFFT`` against the FFT floor, pycroscopy and atomai.

What
    One image,
    ``lectlib.datasets.make_lattice_phases((1024, 1024), random_state=0).image``
    (float64), cut into 64 × 64 windows every 8 pixels: a grid of 121 × 121 = 14 641
    windows.

    * **The floor**: the Hann-tapered window stack (taper × windows, the symmetric Hann
      window of ``scipy.signal.windows.hann(64)`` in both directions, as lectlib's
      ``taper="hann"``) transformed by ``scipy.fft.rfft2(..., workers=1)``, in float64
      and in float32, two ways: the whole stack (121 × 121 × 64 × 64) in one call, and
      one grid row (121 windows) per call. The floor is the faster of the two. It
      computes the complex spectrum only: no magnitude, no log, and no output array is
      kept (each row's spectrum is dropped).
    * **lectlib**:
      ``SlidingFFT(window=64, step=8, dtype=...).fit(image).transform(image)`` with
      float32 and with float64 passed explicitly, and its defaults otherwise (Hann
      taper, ``log=True``, ``crop=None``, ``mask_center=1``), and the same with
      ``crop=16`` (only |k_y| ≤ 16 and k_x ≤ 16 bins). The ratio lectlib / floor
      compares like with like (float64 with the float64 floor, float32 with the float32
      floor); lectlib's float32 is also set against the float64 floor.
    * **Peers**, each in its own venv, only if it installs: pycroscopy 0.63.3,
      ``pycroscopy.image.ImageWindowing`` in ``mode="fft"`` with ``filter="hann"``, and
      atomai 0.8.1, ``atomai.stat.SlidingFFTNMF`` (its
      ``make_windows`` + ``process_fft``, without the NMF), both with the same window
      and step. Their spectra are compared with lectlib's (see README.md for what each
      computes).

How
    This script runs in the course's venv and ties the parts together:

    * ``sliding_case.py``: the image size, window, step and crop, the window stack, the
      lectlib settings compared (shared with the peers' side);
    * ``sliding_timing.py``: times and peak memory of the floors and of lectlib;
    * ``sliding_accuracy.py``: lectlib against the floor, the peers against lectlib;
    * ``sliding_peers.py``: pycroscopy and atomai, run by ``harness.run_peer`` under
      each peer venv's Python. The image goes to them as ``.npy`` and the spectra come
      back the same way, always loaded with ``allow_pickle=False``; that side imports
      numpy, threadpoolctl and the peer only, never lectlib. ::

        .venv/bin/python benchmarks/bench_sliding.py \\
            --pycroscopy-python benchmarks/.venv-pycroscopy/bin/python \\
            --atomai-python benchmarks/.venv-atomai/bin/python \\
            --out benchmarks/results/sliding.json

    One thread: ``threadpoolctl.threadpool_limits(1)`` in every process, the
    OMP/OpenBLAS/MKL variables, ``workers=1`` for every ``scipy.fft`` call of the floor
    (lectlib passes ``workers=1`` itself), and dask's synchronous scheduler for
    pycroscopy.

    Timing: every method runs once untimed; then the floors and lectlib are timed in
    ``--repeats`` rounds, each round timing every one of them once (so that a slow spell
    of the machine hits all alike), and each time is the best over the rounds, garbage
    collector off. The peers are timed ``--peer-repeats`` times after an untimed call on
    a 128 × 128 crop.

    Memory allocator: glibc returns a freed block of a few MB to the kernel or keeps it
    for the next allocation depending on its dynamic thresholds, i.e. on what the
    process did before, and a row-by-row loop over 4 MB arrays then costs 0.10 s or 0.28
    s (float32) depending on history alone. Every process of this benchmark therefore
    fixes the thresholds with ``mallopt`` (``harness.fix_malloc``: mmap threshold 64
    MiB, trim threshold 512 MiB) before it allocates anything; this is recorded in the
    JSON.

    Peak memory: ``tracemalloc`` (numpy reports its buffers to it) over one call, above
    what was allocated before the call, for lectlib's ``transform`` (target: at most 2×
    the descriptor array it returns) and for the floor's two variants.

Targets
    * accuracy (enforced, exit status 1): lectlib's magnitudes
      (``log=False, mask_center=0``) equal the floor's |rfft2| in lectlib's frequency
      order (read from ``frequencies_``) to 1e-10 (float64) / 1e-5 (float32) of the
      largest magnitude, against the floor of the same precision and against the float64
      floor; the timed outputs (``log=True``, masked center, uncropped and cropped)
      equal log(1 + |floor|), to the same tolerances relative to the largest value,
      except for the bins that ``mask_center=1`` zeroes, which must be zero in every
      window, include k = 0 and lie within one bin of it along both axes;
    * speed (reported): lectlib / floor ≤ 1.25, like with like, uncropped;
    * memory (reported): lectlib's peak ≤ 2× its output's nbytes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import harness  # beside this script: Python puts the script's folder first on the path
from sliding_case import (
    CLOSEST_SETTINGS,
    CROP,
    PEERS,
    SHAPE,
    STEP,
    WINDOW,
    window_stack,
)

PEER = harness.HERE / "sliding_peers.py"


def run_peers(args, image, tmp):
    """Run each peer that is not skipped; name → (info, arrays),
    arrays None if it did not run."""
    python = {"pycroscopy": args.pycroscopy_python, "atomai": args.atomai_python}
    out = {}
    for name in PEERS:
        if name in args.skip_peer:
            out[name] = (
                dict(status="skipped", reason="left out of SLIDING_PEERS (run.sh)"),
                None,
            )
            continue
        missing = harness.missing_peer(python[name])
        if missing:
            out[name] = dict(status="not installed", reason=missing), None
            continue
        print(f"running {name} ...", flush=True)
        try:
            info, arrays = harness.run_peer(
                PEER,
                python[name],
                dict(image=image),
                tmp / name,
                [name, "--repeats", args.peer_repeats],
                env={"PYTHONWARNINGS": "ignore"},
            )
        except harness.PeerFailed as exc:
            out[name] = (
                dict(
                    status="failed",
                    reason=f"exit {exc.returncode}: {exc.stderr.strip()[-2000:]}",
                ),
                None,
            )
            continue
        info["status"] = "ran"
        info["venv"] = str(Path(python[name]).parent.parent)
        out[name] = info, arrays
    return out


def mb(n):
    return f"{n / 1e6:.1f} MB"


def markdown_tables(result):
    """The tables this script prints (report.py renders the book's tables itself)."""
    ms = harness.fmt_ms
    floors = harness.md_table(
        [
            "floor (Hann × windows → rfft2, complex spectrum only)",
            "whole stack",
            "row by row",
            "floor",
            "peak memory, whole",
            "peak memory, rows",
            "rows + log(1+|F|) into an output",
        ],
        [
            [
                name,
                ms(x["whole_s"]),
                ms(x["rows_s"]),
                f"**{ms(x['floor_s'])}** ({x['floor_variant']})",
                mb(x["peak_bytes_whole"]),
                mb(x["peak_bytes_rows"]),
                ms(x["complete_rows_s"]),
            ]
            for name, x in result["floors"].items()
        ],
    )
    lectlib = harness.md_table(
        [
            "lectlib SlidingFFT",
            "features",
            "time",
            "/ floor (same dtype)",
            "/ float64 floor",
            "output",
            "peak",
            "peak / output",
        ],
        [
            [
                r["label"],
                r["n_features"],
                ms(r["time_s"]),
                f"{r['ratio_to_floor']:.2f}×",
                f"{r['ratio_to_float64_floor']:.2f}×",
                mb(r["output_nbytes"]),
                mb(r["peak_bytes"]),
                f"{r['peak_over_output']:.2f}×",
            ]
            for r in result["lectlib"]
        ],
    )
    accuracy = harness.md_table(
        [
            "accuracy",
            "vs floor, same dtype (rel)",
            "vs float64 floor (rel)",
            "log features (rel, worst variant)",
            "tolerance",
            "ok",
        ],
        [
            [
                name,
                f"{a['rel_max_diff_magnitude_same_precision_floor']:.1e}",
                f"{a['rel_max_diff_magnitude_float64_floor']:.1e}",
                format(
                    max(v for k, v in a.items() if k.startswith("rel_max_diff_log")),
                    ".1e",
                ),
                f"{a['tolerance']:g}",
                "yes" if a["accuracy_ok"] else "NO",
            ]
            for name, a in result["accuracy"].items()
        ],
    )
    hann_off_peak = result["leakage"]["lectlib_hann_off_peak_power_median"]
    peer_rows = []
    for name, p in result["peers"].items():
        if p["status"] != "ran":
            peer_rows.append([name, p["status"], "", "", p["reason"][:200]])
            continue
        off_peak = p["comparison"]["vs_lectlib_hann_off_peak_power_median"]
        peer_rows.append(
            [
                f"{name} {p['versions'][name]}",
                "ran",
                ms(p["seconds"]),
                f"{p['ratio_to_lectlib_closest']:.0f}×",
                f"off-peak power {100 * off_peak:.1f} % "
                f"(lectlib Hann {100 * hann_off_peak:.1f} %)",
            ]
        )
    peers = harness.md_table(
        ["peer", "status", "time", "/ lectlib (closest settings)", "notes"], peer_rows
    )
    return "\n\n".join([floors, lectlib, accuracy, peers])


def main(argv=None):
    parser = harness.bench_parser(
        __doc__, "sliding", "timing rounds of lectlib and the row-by-row floor"
    )
    harness.add_peer_python(
        parser, ".venv-pycroscopy", "pycroscopy", "--pycroscopy-python"
    )
    harness.add_peer_python(parser, ".venv-atomai", "atomai", "--atomai-python")
    parser.add_argument(
        "--whole-repeats",
        type=int,
        default=3,
        help="timing rounds of the whole-stack floor (about 1 GB per call)",
    )
    parser.add_argument(
        "--peer-repeats", type=int, default=1, help="timed calls of each peer"
    )
    parser.add_argument(
        "--skip-peer",
        action="append",
        default=[],
        choices=PEERS,
        help="do not run this peer (it is reported as skipped)",
    )
    args = parser.parse_args(argv)

    allocator = harness.fix_malloc()
    # imported after fix_malloc, so that what they allocate
    # already follows its thresholds
    from threadpoolctl import threadpool_limits

    from lectlib.datasets import make_lattice_phases

    import sliding_accuracy
    import sliding_timing

    image = make_lattice_phases(SHAPE, random_state=0).image
    grid = window_stack(image).shape[:2]

    with tempfile.TemporaryDirectory(prefix="bench-sliding-") as tmp:
        with threadpool_limits(limits=1):
            pools = harness.thread_pools()
            # timing first, while the process is small and no peer has run yet
            print("timing the floors and lectlib ...", flush=True)
            floors, rows, peer_configs, load = sliding_timing.measure(
                image, args.repeats, args.whole_repeats
            )
        peer_runs = run_peers(args, image, Path(tmp))

    peers = {name: info for name, (info, _) in peer_runs.items()}
    with threadpool_limits(limits=1):
        accuracy = sliding_accuracy.check_accuracy(image)
        # lectlib's spectra as full planes, for the peers and the leakage measure
        hann_full, untapered_full, leakage = sliding_accuracy.lectlib_spectra(image)
        for name in PEERS:
            info, arrays = peer_runs.pop(name)
            if info["status"] != "ran":
                continue
            print(f"comparing {name} ...", flush=True)
            try:
                sliding_accuracy.compare_peer(
                    name, info, arrays, image, hann_full, untapered_full
                )
            except Exception as exc:  # noqa: BLE001 (recorded)
                info["status"] = "failed"
                info["reason"] = f"comparison failed: {type(exc).__name__}: {exc}"
                continue
            label = CLOSEST_SETTINGS[name][0]
            info["lectlib_closest"] = dict(label=label, **peer_configs[label])
            info["ratio_to_lectlib_closest"] = (
                info["seconds"] / peer_configs[label]["time_s"]
            )
            info["ratio_to_lectlib_float32"] = info["seconds"] / rows[0]["time_s"]
            del arrays

    result = dict(
        **harness.run_header(
            "sliding FFT: lectlib.sliding.SlidingFFT vs the batched scipy.fft.rfft2 "
            "floor; pycroscopy and atomai in their own venvs",
            threads=(
                "1: threadpoolctl.threadpool_limits(1) in every process, "
                "OMP/OpenBLAS/MKL_NUM_THREADS=1, workers=1 for scipy.fft, dask's "
                "synchronous scheduler"
            ),
        ),
        allocator=allocator,
        blas_pools_during_timing=pools,
        versions=dict(
            **harness.course_versions(),
            peers={n: p.get("versions") for n, p in peers.items()},
        ),
        data=dict(
            call=f"make_lattice_phases({SHAPE}, random_state=0).image",
            shape=list(SHAPE),
            dtype=str(image.dtype),
            window=WINDOW,
            step=STEP,
            grid=list(grid),
            n_windows=int(grid[0] * grid[1]),
            taper="hann (symmetric, scipy.signal.windows.hann(64) in both directions)",
        ),
        timing=dict(
            statistic=(
                "best over interleaved rounds, wall time (s), GC off; one untimed call "
                "first"
            ),
            repeats=args.repeats,
            whole_repeats=args.whole_repeats,
            peer_repeats=args.peer_repeats,
            load_average_1min_before_and_after=load,
            note="other processes on the machine are not controlled; the load average "
            "says whether something else was running",
        ),
        floor_note=(
            "the floor computes the complex spectrum only: no magnitude, no log, and "
            "no output array is kept"
        ),
        floors=floors,
        lectlib=rows,
        accuracy=accuracy,
        leakage=leakage,
        peers=peers,
        targets=dict(
            speed_ratio_max=sliding_timing.SPEED_TARGET,
            memory_ratio_max=sliding_timing.MEMORY_TARGET,
            accuracy=sliding_accuracy.TOL,
            crop=CROP,
        ),
    )
    result["table_markdown"] = markdown_tables(result)
    harness.write_result(args.out, result)
    for r in rows:
        if r["speed_target_applies"] and not r["speed_target_met"]:
            print(
                f"note: lectlib {r['label']} takes {r['ratio_to_floor']:.2f}× the "
                f"floor (target ≤ {sliding_timing.SPEED_TARGET})"
            )
        if not r["memory_target_met"]:
            print(
                f"note: lectlib {r['label']} peaks at {r['peak_over_output']:.2f}× its "
                f"output (target ≤ {sliding_timing.MEMORY_TARGET})"
            )
    return harness.exit_status(
        [
            f"lectlib's {name} spectra differ from the floor's beyond "
            f"{sliding_accuracy.TOL[name]:g}"
            for name, a in accuracy.items()
            if not a["accuracy_ok"]
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
