"""Each chapter's run time as a student's kernel runs it: no thread variables set.

The Makefile, the tests and the other benchmarks pin BLAS and OpenMP to one thread; a
student on a laptop, on Colab (two shared cores) or on Binder does not. This script
executes every chapter top to bottom in a fresh kernel (``jupyter nbconvert --execute``,
as a student's "Run all" does) with the thread variables removed from the environment
and reports the wall time:

- ``quiet``: nothing else runs;
- ``busy``: another process keeps one core busy the whole time (a shared machine);
- ``pinned``: the thread variables set to 1, as the Makefile and CI run the chapters;
- with ``--without-limit``, also ``quiet`` and ``busy`` with ``OMP_NUM_THREADS`` etc.
  set to the machine's core count, which overrides the chapters' set-up cell (it keeps
  variables a user has set): what a kernel does without the course's one-thread default.

Each time is the median of ``--repeats`` runs. Results go to ``results/runtimes.json``;
the course map on the intro page reads ``quiet_s`` and ``busy_s`` from there.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness

#: The chapters' budget in a fresh kernel without thread variables (seconds).
BUDGET_S = 20.0


def _spin(stop):
    """Keep one core busy until ``stop`` is set."""
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def student_env(threads=None):
    """The environment of a student's kernel: no thread variables, the default backend.

    ``threads`` sets every thread variable to that number instead (``None``: unset).
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in harness.THREAD_ENV and k != "MPLBACKEND"
    }
    if threads is not None:
        env.update({k: str(threads) for k in harness.THREAD_ENV})
    return env


def run_chapter(path, env):
    """Wall time (s) of executing the notebook at ``path`` in a fresh kernel."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.timeout=600",
            "--output-dir",
            tmp,
            str(path),
        ]
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        return time.perf_counter() - start


def timed_runs(path, env, repeats, busy):
    """Median wall time of ``repeats`` runs, with one core kept busy if ``busy``."""
    stop = mp.Event()
    spinner = mp.Process(target=_spin, args=(stop,), daemon=True) if busy else None
    if spinner:
        spinner.start()
        time.sleep(0.5)
    try:
        times = [run_chapter(path, env) for _ in range(repeats)]
    finally:
        if spinner:
            stop.set()
            spinner.join()
    return statistics.median(times)


def main(argv=None):
    parser = harness.bench_parser(
        __doc__, "runtimes", "runs of each chapter per condition (median reported)"
    )
    parser.set_defaults(repeats=1)
    parser.add_argument(
        "--without-limit",
        action="store_true",
        help="also run with the thread variables set to the core count",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="keep the other chapters' rows of the --out file (e.g. after adding one "
        "chapter); each row records when it was measured",
    )
    parser.add_argument(
        "chapters", nargs="*", help="notebooks to run (default: every chapter)"
    )
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.chapters] or sorted(
        (harness.ROOT / "chapters").glob("[0-9]*.ipynb")
    )
    cores = os.cpu_count() or 2
    conditions = {
        "quiet_s": (student_env(), False),
        "busy_s": (student_env(), True),
        "pinned_s": (student_env(1), False),
    }
    if args.without_limit:
        conditions["quiet_unlimited_s"] = (student_env(cores), False)
        conditions["busy_unlimited_s"] = (student_env(cores), True)
    chapters, measured, repeats = {}, {}, str(args.repeats)
    if args.update and Path(args.out).is_file():
        kept = json.loads(Path(args.out).read_text())
        counts = sorted({int(n) for n in str(kept["repeats"]).split("–")})
        counts = sorted(set(counts) | {args.repeats})
        repeats = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
        previous = kept.get("measured", {})
        for name, row in kept["chapters"].items():
            chapters[name] = row
            measured[name] = previous.get(name, kept["date"])
    for path in paths:
        measured[path.stem] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        chapters[path.stem] = row = {}
        for name, (env, busy) in conditions.items():
            row[name] = round(timed_runs(path, env, args.repeats, busy), 1)
            print(f"{path.stem:24s} {name:18s} {row[name]:6.1f} s", flush=True)

    header = ["chapter", "quiet", "one core busy", "pinned (CI)"]
    if args.without_limit:
        header += ["quiet, all threads", "busy, all threads"]
    chapters = dict(sorted(chapters.items()))
    rows = [
        [name] + [f"{t[k]:.1f} s" if k in t else "–" for k in conditions]
        for name, t in chapters.items()
    ]
    result = harness.run_header(
        "chapter run times in a fresh kernel without thread variables",
        "unset in the kernel's environment; the chapters' set-up cell defaults them"
        " to 1",
    )
    result.update(
        python=result["machine"]["python"],
        versions=harness.course_versions(),
        repeats=repeats if args.update else args.repeats,
        budget_s=BUDGET_S,
        chapters=chapters,
        measured=dict(sorted(measured.items())),
        table_markdown=harness.md_table(header, rows),
    )
    harness.write_result(args.out, result)
    slow = [
        f"{name} {k} {t[k]:.1f} s > {BUDGET_S:.0f} s"
        for name, t in chapters.items()
        for k in ("quiet_s", "busy_s")
        if t[k] > BUDGET_S
    ]
    return harness.exit_status(slow)


if __name__ == "__main__":
    sys.exit(main())
