"""The chapters' set-up cell gives a student's kernel one BLAS/OpenMP thread by default.

A student's kernel has no thread variables set. On two shared cores (Colab, Binder, a
laptop running other work) multi-threaded BLAS on the course's small arrays waits on
itself and a chapter runs several times slower (benchmarks/bench_runtimes.py measures
it), so the set-up cell defaults the variables to 1 and limits the pools already loaded,
unless the user set a variable. Each test runs a chapter's set-up cell in a fresh
interpreter and reads the pools with threadpoolctl after loading numpy's and scipy's
OpenBLAS and scikit-learn's OpenMP.
"""

import json
import os
import subprocess
import sys

import nbformat
import pytest
from helpers import CHAPTERS
from repository import install_cell

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

LOAD_POOLS = "import numpy, scipy.linalg, sklearn.cluster"

REPORT = """
import json
from threadpoolctl import threadpool_info
print(json.dumps([[p["internal_api"], p["num_threads"]] for p in threadpool_info()]))
"""


def pools_after_setup(path, preload=False, env_extra=None):
    """[api, threads] of each pool once ``path``'s set-up cell ran in a new process."""
    cell = install_cell(nbformat.read(path, as_version=4).cells)
    script = (LOAD_POOLS + "\n" if preload else "") + cell.source
    script += "\n" + LOAD_POOLS + "\n" + REPORT
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env.update(env_extra or {})
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def check_pools(pools, threads):
    apis = {api for api, _ in pools}
    assert {"openblas", "openmp"} <= apis, pools
    assert all(n == threads for _, n in pools), pools


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_set_up_cell_limits_a_fresh_kernel_to_one_thread(path):
    check_pools(pools_after_setup(path), 1)


def test_set_up_cell_limits_pools_loaded_before_it():
    # Colab's kernel may have numpy loaded before the first cell runs.
    check_pools(pools_after_setup(NOTEBOOKS[0], preload=True), 1)


def test_set_up_cell_keeps_the_threads_a_user_asked_for():
    two = {k: "2" for k in THREAD_VARS}
    check_pools(pools_after_setup(NOTEBOOKS[0], env_extra=two), 2)


def test_without_the_set_up_cell_the_pools_use_every_core():
    # The control: by default the pools use more than one thread; the cell changes that.
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    out = subprocess.run(
        [sys.executable, "-c", LOAD_POOLS + "\n" + REPORT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    pools = json.loads(out.stdout.strip().splitlines()[-1])
    if (os.cpu_count() or 1) < 2:
        pytest.fail("this test needs a machine with at least two cores")
    assert any(n > 1 for _, n in pools), pools
