"""The benchmarks' harness: timing, peers in their own venvs, run metadata, tables,
options.

Every ``bench_*.py`` script measures lectlib against a peer with these pieces, and every
``*_peer.py`` / ``*_peers.py`` module runs a peer's side of a benchmark in that peer's
venv. This module imports the standard library only (numpy, threadpoolctl and lectlib
inside the functions that need them), so that it imports in every peer venv too, from
HyperSpy's, which has no threadpoolctl, to pysptools', which is held at numpy 1.23.

How a peer runs (:func:`run_peer` on the course's side, :func:`peer_parser`,
:func:`load_inputs` and :func:`save_outputs` on the peer's)::

    DIR/input/NAME.npy      the arrays the course's side hands over (np.save)
    DIR/output/NAME.npy     the arrays the peer hands back
    DIR/output/peer.json    the peer's timings, versions, Python and thread settings

Both sides load arrays with ``allow_pickle=False``.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"

#: One thread for BLAS and OpenMP in every process: the times compare algorithms,
#: not cores.
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}

#: glibc allocator thresholds that :func:`fix_malloc` sets (see there why).
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 512 << 20


# ------------------------------------------------------------------------------- timing


def timed(func, *args, gc_off=True):
    """Wall time (s) of one call ``func(*args)``, and what it returned.

    The garbage collector is off during the call unless ``gc_off=False``; a caller that
    does not need the result should not keep the returned pair, so that the result is
    freed at once.
    """
    gc_was_on = gc.isenabled()
    if gc_off:
        gc.disable()
    try:
        t0 = time.perf_counter()
        result = func(*args)
        elapsed = time.perf_counter() - t0
    finally:
        if gc_was_on:
            gc.enable()
    return elapsed, result


def best_time(func, repeats, setup=None):
    """Best wall time (s) of ``repeats`` calls of ``func()``, the garbage collector off.

    With ``setup``, each call is ``func(setup())``, ``setup`` running outside the timed
    region (e.g. to build a fresh object for a method that changes it). Returns
    (seconds, outputs), the outputs of every call in order.
    """
    best, outputs = math.inf, []
    for _ in range(repeats):
        args = () if setup is None else (setup(),)
        seconds, out = timed(func, *args)
        outputs.append(out)
        best = min(best, seconds)
    return best, outputs


def rounds(funcs, repeats):
    """Times of each of ``funcs`` (name → callable) over ``repeats`` interleaved rounds.

    Each round calls every function once, in an order that rotates from round to round,
    so that a slow spell of the machine hits all of them alike; results are dropped as
    soon as they are made. Returns name → list of the times (s), one per round.
    """
    times = {name: [] for name in funcs}
    for r in range(repeats):
        names = list(funcs)
        names = names[r % len(names) :] + names[: r % len(names)]
        for name in names:
            times[name].append(timed(funcs[name])[0])
    return times


def fix_malloc():
    """Fix glibc's mmap and trim thresholds for this process; returns what was done.

    glibc returns a freed block of a few MB to the kernel, or keeps it for the next
    allocation, depending on thresholds it adjusts as the process runs, i.e. on what the
    process did before: a loop over 4 MB arrays then costs two or three times as much in
    a fresh process as after a larger block was freed. Called before anything large is
    allocated (mmap threshold 64 MiB, trim threshold 512 MiB), every method then runs
    with memory reused.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = (
            libc.mallopt(-3, MMAP_THRESHOLD) == 1  # M_MMAP_THRESHOLD
            and libc.mallopt(-1, TRIM_THRESHOLD) == 1
        )  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        ok = False
    return dict(
        mallopt_applied=bool(ok),
        m_mmap_threshold=MMAP_THRESHOLD,
        m_trim_threshold=TRIM_THRESHOLD,
        note="glibc mallopt(M_MMAP_THRESHOLD, M_TRIM_THRESHOLD) at start, in every "
        "process of this benchmark",
    )


# ------------------------------------------------------------------------- run metadata


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def thread_env():
    """The thread-count variables of :data:`THREAD_ENV` as this process sees them."""
    return {k: os.environ.get(k) for k in THREAD_ENV}


def machine_info():
    return dict(
        cpu=cpu_model(),
        logical_cpus=os.cpu_count(),
        platform=platform.platform(),
        python=platform.python_version(),
        thread_env=thread_env(),
    )


def thread_pools(filepath=True):
    """The BLAS/OpenMP pools that threadpoolctl sees: API, version,
    threads (and library)."""
    import threadpoolctl

    keys = ("internal_api", "version", "num_threads") + (
        ("filepath",) if filepath else ()
    )
    return [{k: p.get(k) for k in keys} for p in threadpoolctl.threadpool_info()]


def git_commit():
    """HEAD of the course repository, marked when lectlib has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "lectlib"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return head + ("+dirty-lectlib" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def run_header(benchmark, threads):
    """The first fields of every results file: what, when (UTC), on which machine,
    threads."""
    return dict(
        benchmark=benchmark,
        date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        machine=machine_info(),
        threads=threads,
    )


def course_versions(threadpoolctl=True):
    """lectlib (version and commit) and the course venv's numpy, scipy, scikit-learn."""
    import numpy
    import scipy
    import sklearn

    import lectlib

    versions = dict(
        lectlib=lectlib.__version__,
        lectlib_commit=git_commit(),
        numpy=numpy.__version__,
        scipy=scipy.__version__,
        sklearn=sklearn.__version__,
    )
    if threadpoolctl:
        import threadpoolctl as tpc

        versions["threadpoolctl"] = tpc.__version__
    return versions


# -------------------------------------------------------------------------------- peers


class PeerFailed(RuntimeError):
    """A peer process exited with an error; ``returncode``, ``stdout``,
    ``stderr`` are kept."""

    def __init__(self, cmd, proc):
        self.returncode, self.stdout, self.stderr = (
            proc.returncode,
            proc.stdout,
            proc.stderr,
        )
        super().__init__(
            f"the peer failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )


def missing_peer(python):
    """Why the peer venv whose interpreter is ``python`` cannot run, or None if it can.

    The reason is ``run.sh``'s record of a failed install
    (``.venv-NAME.install-error.txt`` beside the venv) when there is one.
    """
    python = Path(python)
    if python.exists():
        return None
    venv = python.parent.parent
    error_file = venv.with_name(venv.name + ".install-error.txt")
    if error_file.exists():
        return error_file.read_text().strip()
    return f"no venv at {venv} (run benchmarks/run.sh to create it)"


def require_peer(python, peer):
    """Stop with exit status 2 and the reason if the ``peer`` venv cannot run."""
    missing = missing_peer(python)
    if missing:
        print(f"error: {peer} cannot run: {missing}", file=sys.stderr)
        raise SystemExit(2)


def run_peer(script, python, inputs, directory, args=(), env=None):
    """Run a peer module under its venv's ``python`` on ``inputs``;
    returns (info, outputs).

    Parameters
    ----------
    script : path
        The peer module, run as ``python script DIRECTORY *args``.
    python : path
        The peer venv's interpreter.
    inputs : dict
        name → array, saved as ``DIRECTORY/input/NAME.npy``.
    directory : path
        A folder for this run alone; created.
    args : sequence
        Further command-line arguments of the peer module.
    env : dict, optional
        Environment variables to add. The thread limits of :data:`THREAD_ENV` and a
        non-interactive matplotlib backend are always set, and ``PYTHONPATH`` is dropped
        so that nothing of the course's venv leaks into the peer's.

    Returns
    -------
    info : dict
        The peer's ``peer.json``.
    outputs : dict
        name → array, every ``DIRECTORY/output/NAME.npy``.

    Raises
    ------
    PeerFailed
        If the peer exits with an error.
    """
    import numpy as np

    directory = Path(directory)
    (directory / "input").mkdir(parents=True)
    (directory / "output").mkdir()
    for name, array in inputs.items():
        np.save(directory / "input" / f"{name}.npy", array, allow_pickle=False)
    environment = {**os.environ, **THREAD_ENV, "MPLBACKEND": "Agg", **(env or {})}
    environment.pop("PYTHONPATH", None)
    cmd = [str(python), str(Path(script).resolve()), str(directory), *map(str, args)]
    proc = subprocess.run(cmd, env=environment, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PeerFailed(cmd, proc)
    info = json.loads((directory / "output" / "peer.json").read_text())
    outputs = {
        p.stem: np.load(p, allow_pickle=False)
        for p in sorted((directory / "output").glob("*.npy"))
    }
    return info, outputs


def peer_parser(doc):
    """Command line of a peer module: the folder :func:`run_peer` made,
    and ``--repeats``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument(
        "directory", type=Path, help="holds input/ and receives output/"
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="timed calls of the peer"
    )
    return parser


def load_inputs(directory):
    """The arrays :func:`run_peer` handed over: name → array."""
    import numpy as np

    return {
        p.stem: np.load(p, allow_pickle=False)
        for p in sorted((Path(directory) / "input").glob("*.npy"))
    }


def save_outputs(directory, info, outputs):
    """Hand back a peer's arrays and ``info``,
    adding its Python version and thread settings.

    ``info["versions"]`` gets ``python``; ``info`` gets ``thread_env`` last.
    """
    import numpy as np

    out = Path(directory) / "output"
    for name, array in outputs.items():
        np.save(out / f"{name}.npy", np.asarray(array), allow_pickle=False)
    info["versions"]["python"] = platform.python_version()
    info["thread_env"] = thread_env()
    (out / "peer.json").write_text(json.dumps(info, indent=2) + "\n")


# ---------------------------------------------------------------------- tables, options


def fmt_ms(seconds):
    """A wall time: milliseconds below one second, seconds above."""
    return f"{1e3 * seconds:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def md_table(header, rows):
    """A markdown table; an empty cell is written ``| |``."""

    def line(cells):
        return "|" + "".join(f" {c} |" if str(c) else " |" for c in cells)

    return "\n".join(
        [line(header), "|" + "---|" * len(header)] + [line(r) for r in rows]
    )


def bench_parser(doc, result, repeats_help):
    """Command line of a benchmark: ``--repeats`` (default 7)
    and ``--out`` (results/NAME.json).

    The description is the first paragraph of the script's docstring.
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help=repeats_help)
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS / f"{result}.json",
        help="the results file to write",
    )
    return parser


def add_peer_python(parser, venv, peer, option="--peer-python"):
    """``--peer-python`` (or ``option``): the interpreter of ``benchmarks/VENV``.

    ``run.sh`` creates the peer venvs there and passes their interpreters explicitly.
    """
    parser.add_argument(
        option,
        type=Path,
        default=HERE / venv / "bin" / "python",
        help=f"Python of the {peer} venv",
    )


def write_result(path, result, versions=None):
    """Write a benchmark's results as indented JSON;
    print its tables and where they went.

    ``versions``, if given, is a line naming the versions compared,
    printed before the path.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(result["table_markdown"])
    print(f"\n{versions}; written to {path}" if versions else f"\nwritten to {path}")


def exit_status(failures):
    """Print each missed enforced target to stderr; the exit status: 1 if any,
    else 0."""
    for message in failures:
        print(f"FAILED: {message}", file=sys.stderr)
    return 1 if failures else 0
