"""What every benchmark records about its run: the machine, the thread settings, the commit.

Standard library only, so that the peer environments can import it too.
"""

from __future__ import annotations

import gc
import os
import platform
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: One thread for BLAS and OpenMP in every process: the times compare algorithms, not cores.
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info():
    return dict(cpu=cpu_model(), logical_cpus=os.cpu_count(), platform=platform.platform(),
                python=platform.python_version(),
                thread_env={k: os.environ.get(k) for k in THREAD_ENV})


def git_commit():
    """HEAD of the course repository, marked when lectlib has uncommitted changes."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "lectlib"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty-lectlib" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def best_time(func, repeats, setup=None):
    """Best wall time (s) of ``repeats`` calls of ``func(setup())``, the GC off while timing.

    ``setup`` runs before each call, outside the timed region. Returns (seconds, outputs), the
    outputs of every call in order.
    """
    best = float("inf")
    outputs = []
    for _ in range(repeats):
        arg = setup() if setup is not None else None
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            t0 = time.perf_counter()
            out = func(arg)
            elapsed = time.perf_counter() - t0
        finally:
            if gc_was_on:
                gc.enable()
        outputs.append(out)
        best = min(best, elapsed)
    return best, outputs
