"""Benchmark: lectlib.lazy on a 1 GiB spectrum image on disk, out of core: time and
peak memory, against the in-memory functions, and from one worker process to two.

What
    A cube of 512 × 512 pixels × 1024 channels in float32 (1 GiB) written to a
    temporary ``.npy`` file by :func:`lectlib.lazy.write_cube`, 16 rows at a time,
    never whole in memory: the linear mixture of 4 endmembers (smooth peaked spectra,
    scaled to 100 expected counts per channel on average) with smooth Dirichlet
    abundance maps (``lectlib.datasets.make_mixture``, fixed seeds), and Poisson
    counts drawn block by block (one seed per block). On that file, with
    :func:`lectlib.lazy.open_cube`'s default chunks (16 rows, 8 192 pixels × all
    channels: 64 MiB in float64):

    * **regression**: ``fit_known_endmembers_cube(cube, E, method="nnls")``, the
      coefficients and χ² maps computed together;
    * **FCLS**: ``fcls_cube(cube, E)``;
    * **PCA**: ``incremental_pca(cube, 4)`` (scikit-learn's ``IncrementalPCA``, one
      ``partial_fit`` per chunk), then the projection ``transform_cube(model, cube)``.

    Each runs in a process of its own, so that its peak resident memory is its own.
    Four measurements:

    1. out of core on the 1 GiB cube with dask's threaded scheduler on one thread:
       time and peak memory;
    2. the same on the first 64, 256 and 512 rows of the file (128 MiB, 512 MiB,
       1 GiB): the peak against the cube's size;
    3. in memory on the 128 MiB cube (read whole with ``numpy.fromfile``, as
       ``numpy.load`` does) with lectlib's in-memory functions
       (``fit_known_endmembers``, ``fcls``, and the exact ``decomposition.pca`` in
       place of the incremental fit), and on the 512 MiB cube for the regression and
       FCLS (the exact SVD of that cube would take minutes): the memory contrast,
       and the results compared with the out-of-core ones;
    4. scaling, on the 1 GiB cube: the regression, FCLS and the projection onto the
       components fitted in step 1, with dask's threaded scheduler on 1 and 2
       threads, and on a ``dask.distributed.LocalCluster`` of 1 and of 2 worker
       processes of one thread each (loopback), the best of ``--scaling-repeats``
       (3) runs each; and the incremental fit on 1 and 2 workers, on the 128 MiB
       cube (its updates run in the client, one chunk after another). Time, the
       peak memory of the client (which also runs the scheduler) and of each worker,
       their CPU time (user and system), the time the workers' tasks ran
       (``distributed.get_task_stream``), and the 1 → 2 speed-ups.

    And the floor: one pass reading the file (the sum of every chunk), cold (the
    file's pages dropped from the page cache with ``posix_fadvise(DONTNEED)``, for
    this file only; ``mincore`` confirms it) and warm (from the page cache, as every
    method above reads it: the file has just been written), on 1 and 2 threads.

How
    ::

        .venv/bin/python benchmarks/bench_outofcore.py \\
            --out benchmarks/results/outofcore.json

    The cube goes to a temporary folder (``--tmpdir``, by default the system's),
    which is deleted at the end; the script first checks that the disk has room for
    it. Every process has one BLAS/OpenMP thread (``threadpoolctl`` and the thread
    variables; dask's workers get the same). Each process first runs its method on
    one chunk (untimed: imports, thread pools, code paths), then resets Linux's
    high-water mark of its resident memory (``VmHWM``, by writing "5" to
    ``/proc/self/clear_refs``) and notes its resident memory (``VmRSS``), then runs
    the method on the whole cube, timed: the **peak** is the high-water mark after
    the run, the **rise** the peak less the memory before it (on a cluster, the
    same in the client, which also runs the scheduler, and in each worker). The
    local runs also record their memory over time with
    :class:`lectlib.lazy.MemoryTrace` (every 20 ms; 60 points kept). glibc's
    allocator keeps its defaults here (``harness.fix_malloc`` is not called): its
    large trim threshold would keep freed chunks counted as resident, and the point
    is the memory a user's process holds. In steps 1-3 the time of the regression
    and FCLS is the best of ``--repeats`` (3) runs in their process, that of the PCA
    one run (``--pca-repeats``); the peak is over all of a process's runs, and the
    CPU time (user and system) is per run.

Targets
    * equality (enforced): out of core against in memory on the 128 MiB cube, max
      |out of core − in memory| / max |in memory| ≤ 1e-10 for the regression's
      coefficients and χ², FCLS and the projection; the distributed results against
      the local ones on the 1 GiB cube, likewise;
    * bounded memory (enforced): for each method, the peak resident memory on the
      1 GiB cube exceeds that on the 128 MiB cube by at most 2 chunks (128 MiB),
      against the 896 MiB that holding the larger cube would add;
    * scaling (reported): the 1 → 2 worker speed-up and what limits it.
    The script exits with status 1, after writing its JSON, if an enforced target
    is missed, and with status 2 if the disk has no room for the cube.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness  # beside this script: Python puts the script's folder first on the path

SHAPE = (512, 512, 1024)
N_ENDMEMBERS = 4
N_COMPONENTS = 4
DOSE = 100.0  # mean expected counts per channel
LENGTH_SCALE = 16.0  # correlation length of the abundance maps, pixels
SEED = 0
EQUAL_TOL = 1e-10
FLAT_CHUNKS = 2  # the peak may grow by at most this many chunks from 1/8 to all rows
SIZE_FRACTIONS = (8, 2, 1)  # the cube's rows / these: 128 MiB, 512 MiB, 1 GiB
METHODS = ("regression", "fcls", "pca")
SCALING_METHODS = ("regression", "fcls", "projection")
SCALING_REPEATS = 3
LABELS = {
    "regression": "regression (NNLS) + χ²",
    "fcls": "FCLS",
    "pca": "incremental PCA fit + projection",
    "projection": "projection onto the components",
    "pca_fit": "incremental PCA fit",
}
MiB = 2**20
TRACE_INTERVAL = 0.02  # seconds between two samples of lectlib.lazy.MemoryTrace
TRACE_POINTS = 60  # points of each memory curve kept in the JSON


# ------------------------------------------------------------------------------ memory


def status(key):
    """A line of ``/proc/self/status`` in bytes (``VmRSS``: now, ``VmHWM``: peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def cpu_seconds():
    """CPU time of this process so far: (user, system) seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def memory_before():
    """Reset the peak (``VmHWM``) to the memory now and return the memory now.

    Linux resets a process's high-water mark when "5" is written to
    ``/proc/self/clear_refs``; where that is refused the peak stays the peak so far
    (the process's imports and warm-up), which is recorded as ``peak_reset``.
    """
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    return dict(rss_before=status("VmRSS"), peak_reset=reset, cpu_s=cpu_seconds())


def memory_after(before):
    """The peak since :func:`memory_before`, its rise above the memory then, CPU."""
    peak = status("VmHWM")
    return dict(
        rss_before=before["rss_before"],
        peak_rss=peak,
        rise=peak - before["rss_before"],
        peak_reset=before["peak_reset"],
        cpu_user_s=cpu_seconds()[0] - before["cpu_s"][0],
        cpu_sys_s=cpu_seconds()[1] - before["cpu_s"][1],
        lifetime_peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    )


def worker_before():
    """Run on every worker of a cluster before the timed run."""
    return memory_before()


def worker_after(before):
    """Run on every worker of a cluster after the timed run."""
    return memory_after(before)


def traced(run):
    """Time one call of ``run``, its memory traced over time when lectlib has
    :class:`lectlib.lazy.MemoryTrace`; returns (seconds, result, curve or None)."""
    try:
        from lectlib.lazy import MemoryTrace
    except ImportError:  # an older lectlib: the peak (VmHWM) is measured anyway
        seconds, result = harness.timed(run)
        return seconds, result, None
    with MemoryTrace(interval=TRACE_INTERVAL) as trace:
        seconds, result = harness.timed(run)
    return seconds, result, curve(trace.times, trace.mib)


def curve(times, mib, n_bins=TRACE_POINTS):
    """A memory trace thinned to at most ``n_bins`` points: the largest sample of each
    bin of time, at that bin's end (peaks kept), rounded."""
    import numpy as np

    times, mib = np.asarray(times), np.asarray(mib)
    edges = np.linspace(0.0, times[-1], n_bins + 1)
    which = np.clip(np.searchsorted(edges, times, side="right") - 1, 0, n_bins - 1)
    t, m = [], []
    for b in np.unique(which):
        t.append(round(float(edges[b + 1]), 3))
        m.append(round(float(mib[which == b].max()), 1))
    return dict(
        seconds=t,
        mib=m,
        samples=int(times.size),
        interval_s=TRACE_INTERVAL,
        peak_mib=round(float(mib.max()), 1),
    )


def worker_warm():
    """Run on every worker before the baseline: the imports a task needs."""
    import lectlib.lazy  # noqa: F401
    import lectlib.regression  # noqa: F401
    import lectlib.unmixing  # noqa: F401
    import sklearn.decomposition  # noqa: F401

    return True


# --------------------------------------------------------------------------------- data


def mixture_parts(shape):
    """The endmembers (counts) and the abundance maps of the cube; both small."""
    from lectlib.datasets import make_mixture

    ny, nx, c = shape
    spectra = make_mixture(
        N_ENDMEMBERS, (8, 8), c, noise="poisson", dose=DOSE, random_state=SEED
    )
    maps = make_mixture(
        N_ENDMEMBERS,
        (ny, nx),
        max(N_ENDMEMBERS, 8),
        length_scale=LENGTH_SCALE,
        noise=None,
        random_state=SEED + 1,
    )
    return spectra.endmembers, maps.abundances


def write_data(spec):
    """The ``write`` task: the cube on disk, block by block, and E and A beside it."""
    import numpy as np

    from lectlib.lazy import write_cube

    shape = tuple(spec["shape"])
    E, A = mixture_parts(shape)
    np.save(spec["endmembers"], E)
    np.save(spec["abundances"], A)

    def make_block(rows):
        rng = np.random.default_rng([SEED, rows.start])
        return rng.poisson(A[rows] @ E).astype(np.float32)

    before = memory_before()
    seconds, path, trace = traced(
        lambda: write_cube(spec["cube"], shape, make_block, dtype="float32")
    )
    return dict(
        seconds=seconds,
        **memory_after(before),
        trace=trace,
        bytes=Path(path).stat().st_size,
        n_counts_mean=float(np.mean(A.reshape(-1, N_ENDMEMBERS) @ E.sum(axis=1)))
        / shape[2],
    )


def npy_offset(path):
    """Where the array starts in a ``.npy`` file, its shape and dtype."""
    import numpy as np

    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        return f.tell(), shape, dtype


def read_rows(path, rows):
    """The first ``rows`` rows of the cube, read into memory as ``numpy.load`` does."""
    import numpy as np

    offset, shape, dtype = npy_offset(path)
    count = rows * shape[1] * shape[2]
    cube = np.fromfile(path, dtype=dtype, count=count, offset=offset)
    return cube.reshape(rows, shape[1], shape[2])


def drop_from_page_cache(path):
    """Ask the kernel to forget this file's cached pages (this file only)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def cached_fraction(path):
    """The share of the file's pages in the page cache (``mincore``), or None."""
    import ctypes
    import mmap

    size = os.path.getsize(path)
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_long,
        ]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
        n = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
        vec = (ctypes.c_ubyte * n)()
        fd = os.open(path, os.O_RDONLY)
        try:
            address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
            if address in (None, ctypes.c_void_p(-1).value):
                return None
            try:
                ok = libc.mincore(address, size, vec)
            finally:
                libc.munmap(address, size)
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        return None
    return sum(v & 1 for v in vec) / n if ok == 0 else None


# ------------------------------------------------------------------------ the children


def lazy_call(method, cube, E, model=None):
    """The out-of-core computation of ``method``: (outputs, phase times)."""
    from lectlib.lazy import (
        compute,
        fcls_cube,
        fit_known_endmembers_cube,
        incremental_pca,
        transform_cube,
    )

    if method == "regression":
        fit = fit_known_endmembers_cube(cube, E, method="nnls")
        coefficients, chi2 = compute(fit.coefficients, fit.chi2)
        return dict(coefficients=coefficients, chi2=chi2), {}
    if method == "fcls":
        return dict(abundances=compute(fcls_cube(cube, E))), {}
    if method == "projection":
        return dict(projection=compute(transform_cube(model, cube))), {}
    t0 = time.perf_counter()
    fitted = incremental_pca(cube, N_COMPONENTS)
    t1 = time.perf_counter()
    if method == "pca_fit":
        return dict(model=fitted), {"fit_s": t1 - t0}
    projection = compute(transform_cube(fitted, cube))
    t2 = time.perf_counter()
    return dict(model=fitted, projection=projection), {
        "fit_s": t1 - t0,
        "projection_s": t2 - t1,
    }


def memory_call(method, cube, E):
    """The in-memory computation of ``method`` on a cube already in memory."""
    from lectlib.decomposition import pca
    from lectlib.mixing import unfold
    from lectlib.regression import fit_known_endmembers
    from lectlib.unmixing import fcls

    X = unfold(cube)
    grid = cube.shape[:2]
    if method == "regression":
        fit = fit_known_endmembers(X, E, method="nnls")
        return dict(
            coefficients=fit.coefficients.reshape(grid + (-1,)),
            chi2=fit.chi2.reshape(grid),
        )
    if method == "fcls":
        return dict(abundances=fcls(X, E).reshape(grid + (-1,)))
    res = pca(X, N_COMPONENTS)
    return dict(
        scores=res.scores.reshape(grid + (-1,)),
        components=res.components,
        eigenvalues=res.eigenvalues[:N_COMPONENTS],
        mean=res.mean,
    )


def save_outputs(outputs, directory):
    import numpy as np

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, value in outputs.items():
        if name == "model":
            (directory / "model.pkl").write_bytes(pickle.dumps(value))
        else:
            np.save(directory / f"{name}.npy", np.asarray(value))


def run_local(spec):
    """``lazy``, ``memory`` and ``read`` tasks in this process (dask's threads)."""
    import dask
    import numpy as np

    from lectlib.lazy import compute, open_cube

    task, method, rows = spec["task"], spec.get("method"), spec["rows"]
    E = np.load(spec["endmembers"])
    model = (
        pickle.loads(Path(spec["model"]).read_bytes()) if spec.get("model") else None
    )
    dask.config.set(scheduler="threads", num_workers=spec["threads"])
    out = dict(task=task, method=method, rows=rows, threads=spec["threads"])
    if task == "read":
        cube = open_cube(spec["cube"])[:rows]
        compute(cube[:16].sum(dtype="f8"))  # warm-up
        passes = {}
        for kind, threads in (("cold", 1), ("warm", 1), ("warm_2_threads", 2)):
            if kind == "cold":
                drop_from_page_cache(spec["cube"])
            cached = cached_fraction(spec["cube"])
            with dask.config.set(num_workers=threads):
                seconds, _ = harness.timed(lambda: compute(cube.sum(dtype="f8")))
            passes[kind] = dict(seconds=seconds, threads=threads, cached_before=cached)
        out.update(passes=passes, bytes=int(cube.nbytes))
        return out
    chunk_rows = open_cube(spec["cube"]).chunks[0][0]
    if task == "lazy":
        cube = open_cube(spec["cube"])[:rows]
        out["chunks"] = [list(c) for c in cube.chunks[:2]]
        lazy_call(method, cube[:chunk_rows], E, model)  # warm-up, one chunk
        run = lambda: lazy_call(method, cube, E, model)  # noqa: E731
    else:
        memory_call(method, read_rows(spec["cube"], 1), E)  # warm-up, one row

        def run():
            t0 = time.perf_counter()
            cube = read_rows(spec["cube"], rows)
            t1 = time.perf_counter()
            result = memory_call(method, cube, E)
            return result, {"read_s": t1 - t0, "compute_s": time.perf_counter() - t1}

    times, phases, traces, load = [], [], [], [os.getloadavg()[0]]
    before = memory_before()
    for _ in range(spec["repeats"]):
        seconds, (outputs, phase), trace = traced(run)
        times.append(seconds)
        phases.append(phase)
        traces.append(trace)
        if spec.get("save"):
            save_outputs(outputs, spec["save"])
            spec["save"] = None
        del outputs
    memory = memory_after(before)
    load.append(os.getloadavg()[0])
    out.update(
        seconds=min(times),
        all_seconds=times,
        phases=phases[int(np.argmin(times))],
        **memory,
        trace=traces[0],
        load_1min=load,
    )
    return out


def run_cluster(spec):
    """``cluster`` tasks: a LocalCluster of ``workers`` processes, one thread each."""
    import numpy as np
    from distributed import Client, LocalCluster, get_task_stream

    from lectlib.lazy import open_cube

    method, workers = spec["method"], spec["workers"]
    E = np.load(spec["endmembers"])
    model = (
        pickle.loads(Path(spec["model"]).read_bytes()) if spec.get("model") else None
    )
    out = dict(task="cluster", method=method, rows=spec["rows"], workers=workers)
    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(workers)
        out["startup_s"] = time.perf_counter() - t0
        client.run(worker_warm)
        cube = open_cube(spec["cube"])[: spec["rows"]]
        chunk_rows = cube.chunks[0][0]
        lazy_call(method, cube[: workers * chunk_rows], E, model)  # warm-up
        before = client.run(worker_before)
        client_before = memory_before()
        load = [os.getloadavg()[0]]
        times, busy, traces = [], [], []
        for _ in range(spec["repeats"]):
            with get_task_stream() as stream:
                seconds, (outputs, phase), trace = traced(
                    lambda: lazy_call(method, cube, E, model)
                )
            traces.append(trace)
            times.append(seconds)
            busy.append(
                sum(
                    s["stop"] - s["start"]
                    for t in stream.data
                    for s in t.get("startstops", ())
                    if s.get("action") == "compute"
                )
            )
            if spec.get("save"):
                save_outputs(outputs, spec["save"])
                spec["save"] = None
            del outputs
        client_memory = memory_after(client_before)
        load.append(os.getloadavg()[0])
        after = {w: client.run(worker_after, before[w], workers=[w])[w] for w in before}
    best = int(np.argmin(times))
    out.update(
        seconds=times[best],
        all_seconds=times,
        phases=phase,
        task_compute_s=busy[best],
        client=dict(client_memory, trace=traces[0]),
        workers_state=[after[w] for w in sorted(after)],
        load_1min=load,
    )
    return out


def child(spec_path):
    """The entry point of every measuring process: read the spec, run, write JSON."""
    from threadpoolctl import threadpool_limits

    spec = json.loads(Path(spec_path).read_text())
    with threadpool_limits(limits=1):
        if spec["task"] == "write":
            result = write_data(spec)
        elif spec["task"] == "cluster":
            result = run_cluster(spec)
        else:
            result = run_local(spec)
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


# ------------------------------------------------------------------------------ parent


class Runner:
    """Starts each measurement in a fresh process of this script."""

    def __init__(self, folder, repeats):
        self.folder, self.repeats, self.count = Path(folder), repeats, 0

    def __call__(self, task, **spec):
        self.count += 1
        spec = {
            "task": task,
            "repeats": self.repeats,
            "cube": str(self.folder / "cube.npy"),
            "endmembers": str(self.folder / "endmembers.npy"),
            "abundances": str(self.folder / "abundances.npy"),
            "result": str(self.folder / f"result-{self.count}.json"),
            "threads": 1,
            **spec,
        }
        path = self.folder / f"spec-{self.count}.json"
        path.write_text(json.dumps(spec))
        env = {**os.environ, **harness.THREAD_ENV, "MPLBACKEND": "Agg"}
        label = " ".join(
            str(spec[k]) for k in ("task", "method", "rows", "workers") if spec.get(k)
        )
        print(f"  {label} ...", end="", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", str(path)],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"the {label} process failed (exit {proc.returncode}):\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        print(f" {time.perf_counter() - t0:.1f} s")
        return json.loads(Path(spec["result"]).read_text())


def rel_diff(a, b):
    """max |a − b| / max |b|, and max |a − b|."""
    import numpy as np

    a, b = np.asarray(a, float), np.asarray(b, float)
    diff = float(np.max(np.abs(a - b)))
    scale = float(np.max(np.abs(b)))
    return dict(max_abs=diff, max_rel=diff / scale if scale > 0 else diff)


def principal_angles_deg(A, B):
    """The principal angles (degrees) between the row spaces of A and B."""
    import numpy as np

    qa, _ = np.linalg.qr(np.asarray(A).T)
    qb, _ = np.linalg.qr(np.asarray(B).T)
    s = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), -1.0, 1.0)
    return np.degrees(np.arccos(s)).tolist()


def compare_small(folder, rows, cube_path):
    """Out of core against in memory on the small cube."""
    import numpy as np

    lazy, mem = folder / "lazy-small", folder / "memory-small"
    out = {}
    for name in ("coefficients", "chi2"):
        out[f"regression_{name}"] = rel_diff(
            np.load(lazy / "regression" / f"{name}.npy"),
            np.load(mem / "regression" / f"{name}.npy"),
        )
    out["fcls"] = rel_diff(
        np.load(lazy / "fcls" / "abundances.npy"),
        np.load(mem / "fcls" / "abundances.npy"),
    )
    model = pickle.loads((lazy / "pca" / "model.pkl").read_bytes())
    X = read_rows(cube_path, rows).reshape(-1, model.components_.shape[1])
    projection = model.transform(X.astype(np.float64)).reshape(rows, -1, N_COMPONENTS)
    out["projection"] = rel_diff(np.load(lazy / "pca" / "projection.npy"), projection)
    del X, projection
    signal = N_ENDMEMBERS - 1  # centered: k endmembers span k − 1 directions
    exact_eig = np.load(mem / "pca" / "eigenvalues.npy")
    out["ipca_vs_exact_pca"] = dict(
        signal_components=signal,
        principal_angles_deg=principal_angles_deg(
            model.components_[:signal], np.load(mem / "pca" / "components.npy")[:signal]
        ),
        eigenvalue_rel_diff=(
            np.abs(model.explained_variance_[:signal] - exact_eig[:signal])
            / exact_eig[:signal]
        ).tolist(),
        noise_component_angle_deg=principal_angles_deg(
            model.components_[signal:], np.load(mem / "pca" / "components.npy")[signal:]
        ),
    )
    return out


def compare_outputs(a, b, names):
    import numpy as np

    return {
        name: rel_diff(
            np.load(Path(a) / f"{name}.npy"), np.load(Path(b) / f"{name}.npy")
        )
        for name in names
    }


OUTPUTS = {
    "regression": ("coefficients", "chi2"),
    "fcls": ("abundances",),
    "projection": ("projection",),
    "pca_fit": (),
}


def run_all(args, folder):
    import numpy as np

    run = Runner(folder, args.repeats)
    ny, nx, c = args.shape
    cube_bytes = ny * nx * c * 4
    print("writing the cube ...")
    written = run("write", shape=[ny, nx, c])
    chunk_rows = max(1, (64 * MiB) // (8 * nx * c))
    chunk_bytes = chunk_rows * nx * c * 8
    sizes = [ny // f for f in SIZE_FRACTIONS]
    small = sizes[0]

    print("reading it once, cold and warm ...")
    read = run("read", rows=ny)

    print("out of core, one thread, by cube size ...")
    reps = {m: args.pca_repeats if m == "pca" else args.repeats for m in METHODS}
    lazy = {}
    for rows in sizes:
        for method in METHODS:
            save = None
            if rows == small:
                save = str(folder / "lazy-small" / method)
            elif rows == ny:
                save = str(folder / "lazy-full" / method)
            lazy[(method, rows)] = run(
                "lazy", method=method, rows=rows, save=save, repeats=reps[method]
            )
    model = str(folder / "lazy-full" / "pca" / "model.pkl")
    (folder / "lazy-full" / "projection").mkdir()
    os.replace(
        folder / "lazy-full" / "pca" / "projection.npy",
        folder / "lazy-full" / "projection" / "projection.npy",
    )

    print("in memory ...")
    memory = {}
    for rows in sizes[:2]:
        for method in METHODS:
            if method == "pca" and rows != small:
                continue  # the exact SVD grows with the cube: run on the small one
            save = str(folder / "memory-small" / method) if rows == small else None
            memory[(method, rows)] = run(
                "memory", method=method, rows=rows, save=save, repeats=reps[method]
            )

    print("scaling: one and two threads, one and two worker processes ...")
    scaling = {}
    for method in SCALING_METHODS:
        spec = dict(method=method, rows=ny, model=model, repeats=args.scaling_repeats)
        for kind, n in (("threads", 1), ("threads", 2), ("cluster", 1), ("cluster", 2)):
            save = str(folder / f"{kind}{n}-{method}")
            if kind == "threads":
                scaling[(kind, n, method)] = run("lazy", threads=n, save=save, **spec)
            else:
                scaling[(kind, n, method)] = run(
                    "cluster", workers=n, save=save, **spec
                )
    if args.scaling_pca:  # on the smallest cube: the fit runs in the client
        for n in (1, 2):
            scaling[("cluster", n, "pca_fit")] = run(
                "cluster", method="pca_fit", rows=small, workers=n
            )

    print("comparing ...")
    equality = dict(small=compare_small(folder, small, folder / "cube.npy"))
    same = {}
    for kind, n, method in scaling:
        if not OUTPUTS[method]:
            continue
        same[f"{kind}{n}_{method}"] = compare_outputs(
            folder / f"{kind}{n}-{method}",
            folder / "lazy-full" / method,
            OUTPUTS[method],
        )
    equality["whole_cube_against_local_one_thread"] = same
    truth = np.load(folder / "abundances.npy")
    fcls_full = np.load(folder / "lazy-full" / "fcls" / "abundances.npy")
    recovery = dict(
        fcls_abundance_mae=float(np.mean(np.abs(fcls_full - truth))),
        fcls_abundance_max_abs_error=float(np.max(np.abs(fcls_full - truth))),
    )
    return dict(
        cube_bytes=cube_bytes,
        chunk_rows=chunk_rows,
        chunk_bytes=chunk_bytes,
        sizes_rows=sizes,
        written=written,
        read=read,
        lazy=lazy,
        memory=memory,
        scaling=scaling,
        equality=equality,
        recovery=recovery,
    )


# ------------------------------------------------------------------------------ result


def summarize(raw, args):
    """The JSON's measurements, keyed by strings, with the derived numbers."""
    ny, nx, c = args.shape
    chunk = raw["chunk_bytes"]
    sizes = raw["sizes_rows"]
    row_bytes = nx * c * 4

    def mem_entry(r):
        return dict(
            seconds=r["seconds"],
            all_seconds=r["all_seconds"],
            phases=r["phases"],
            cpu_user_s=r["cpu_user_s"] / len(r["all_seconds"]),  # per run
            cpu_sys_s=r["cpu_sys_s"] / len(r["all_seconds"]),
            rss_before=r["rss_before"],
            peak_rss=r["peak_rss"],
            rise=r["rise"],
            rise_in_chunks=r["rise"] / chunk,
            lifetime_peak_rss=r["lifetime_peak_rss"],
            peak_reset=r["peak_reset"],
            load_1min=r["load_1min"],
            trace=r["trace"],
        )

    by_size = {}
    for method in METHODS:
        rows_out = []
        for rows in sizes:
            entry = dict(rows=rows, cube_bytes=rows * row_bytes)
            entry["out_of_core"] = mem_entry(raw["lazy"][(method, rows)])
            m = raw["memory"].get((method, rows))
            if m is not None:
                entry["in_memory"] = mem_entry(m)
                entry["in_memory"]["rise_over_cube"] = (
                    entry["in_memory"]["rise"] / entry["cube_bytes"]
                )
            rows_out.append(entry)
        first, last = rows_out[0]["out_of_core"], rows_out[-1]["out_of_core"]
        growth = last["peak_rss"] - first["peak_rss"]
        by_size[method] = dict(
            sizes=rows_out,
            peak_growth_small_to_whole=growth,
            flat_ok=bool(growth <= FLAT_CHUNKS * chunk),
        )

    scaling = {}
    for (kind, n, method), r in raw["scaling"].items():
        runs = len(r["all_seconds"])
        entry = dict(
            rows=r["rows"],
            cube_bytes=r["rows"] * row_bytes,
            seconds=r["seconds"],
            all_seconds=r["all_seconds"],
            phases=r["phases"],
            load_1min=r["load_1min"],
        )
        if kind == "cluster":
            workers = r["workers_state"]
            entry.update(
                startup_s=r["startup_s"],
                task_compute_s=r["task_compute_s"],
                busy_fraction=r["task_compute_s"] / (n * r["seconds"]),
                client_peak_rss=r["client"]["peak_rss"],
                client_rise=r["client"]["rise"],
                client_cpu_s=(r["client"]["cpu_user_s"] + r["client"]["cpu_sys_s"])
                / runs,
                client_trace=r["client"]["trace"],
                workers=workers,
                worker_peak_rss_max=max(w["peak_rss"] for w in workers),
                worker_rise_max=max(w["rise"] for w in workers),
                # CPU seconds per run (the totals over the repeats / repeats)
                workers_cpu_user_s=sum(w["cpu_user_s"] for w in workers) / runs,
                workers_cpu_sys_s=sum(w["cpu_sys_s"] for w in workers) / runs,
            )
        else:
            entry.update(
                cpu_user_s=r["cpu_user_s"] / runs,  # per run
                cpu_sys_s=r["cpu_sys_s"] / runs,
                peak_rss=r["peak_rss"],
                rise=r["rise"],
                trace=r["trace"],
            )
        scaling.setdefault(method, {})[f"{kind}_{n}"] = entry
    if "pca_fit" in scaling:  # one thread: the fit of the same cube, by size above
        small = raw["lazy"][("pca", sizes[0])]
        scaling["pca_fit"]["threads_1"] = dict(
            rows=sizes[0],
            cube_bytes=sizes[0] * row_bytes,
            seconds=small["phases"]["fit_s"],
            from_run="the out-of-core PCA run on this cube (its fit)",
        )
    for method, entries in scaling.items():
        for kind in ("threads", "cluster"):
            if f"{kind}_1" in entries and f"{kind}_2" in entries:
                entries[f"speedup_{kind}_1_to_2"] = (
                    entries[f"{kind}_1"]["seconds"] / entries[f"{kind}_2"]["seconds"]
                )

    eq = raw["equality"]
    checks = {
        f"small_{k}": v["max_rel"]
        for k, v in eq["small"].items()
        if k != "ipca_vs_exact_pca"
    }
    for key, values in eq["whole_cube_against_local_one_thread"].items():
        for name, v in values.items():
            checks[f"{key}_{name}"] = v["max_rel"]
    read = raw["read"]
    return dict(
        data=dict(
            shape=list(args.shape),
            dtype="float32",
            cube_bytes=raw["cube_bytes"],
            n_endmembers=N_ENDMEMBERS,
            n_components=N_COMPONENTS,
            dose=DOSE,
            length_scale=LENGTH_SCALE,
            mean_expected_counts_per_channel=raw["written"]["n_counts_mean"],
            call=f"endmembers: make_mixture({N_ENDMEMBERS}, (8, 8), {c}, "
            f'noise="poisson", dose={DOSE:g}, random_state={SEED}).endmembers; '
            f"abundances: make_mixture({N_ENDMEMBERS}, ({ny}, {nx}), 8, length_scale="
            f"{LENGTH_SCALE:g}, noise=None, random_state={SEED + 1}).abundances; "
            "block of rows r: numpy.random.default_rng([0, r.start]).poisson(A[r] @ E)"
            " as float32, written by lectlib.lazy.write_cube",
        ),
        chunks=dict(
            rows=raw["chunk_rows"],
            pixels=raw["chunk_rows"] * nx,
            bytes_float64=raw["chunk_bytes"],
            bytes_on_disk=raw["chunk_rows"] * row_bytes,
        ),
        write=dict(
            seconds=raw["written"]["seconds"],
            peak_rss=raw["written"]["peak_rss"],
            rise=raw["written"]["rise"],
            bytes=raw["written"]["bytes"],
            cpu_user_s=raw["written"]["cpu_user_s"],
            cpu_sys_s=raw["written"]["cpu_sys_s"],
            trace=raw["written"]["trace"],
        ),
        read={
            kind: dict(
                x,
                gib_per_s=read["bytes"] / 2**30 / x["seconds"],
                bytes=read["bytes"],
            )
            for kind, x in read["passes"].items()
        },
        by_size=by_size,
        scaling=scaling,
        equality=eq,
        equality_checks_max_rel=checks,
        equality_ok=bool(all(v <= EQUAL_TOL for v in checks.values())),
        recovery=raw["recovery"],
    )


def markdown_tables(result):
    """The tables this script prints (report.py renders the book's tables itself)."""
    ms = harness.fmt_ms

    def mib(n):
        return f"{n / MiB:.0f} MiB"

    rows = []
    for method, m in result["by_size"].items():
        for s in m["sizes"]:
            o, i = s["out_of_core"], s.get("in_memory")
            rows.append(
                [
                    LABELS[method],
                    mib(s["cube_bytes"]),
                    ms(o["seconds"]),
                    mib(o["peak_rss"]),
                    mib(o["rise"]),
                    ms(i["seconds"]) if i else "",
                    mib(i["peak_rss"]) if i else "",
                    mib(i["rise"]) if i else "",
                ]
            )
    size_table = harness.md_table(
        [
            "method",
            "cube",
            "out of core",
            "peak RSS",
            "rise",
            "in memory",
            "peak RSS",
            "rise",
        ],
        rows,
    )
    srows = []
    for method, s in result["scaling"].items():
        for key in ("threads_1", "threads_2", "cluster_1", "cluster_2"):
            if key in s:
                x = s[key]
                srows.append(
                    [
                        LABELS[method],
                        mib(x["cube_bytes"]),
                        key.replace("_", " "),
                        ms(x["seconds"]),
                        f"{x['busy_fraction']:.2f}" if "busy_fraction" in x else "",
                        mib(x["worker_rise_max"]) if "worker_rise_max" in x else "",
                    ]
                )
    scaling_table = harness.md_table(
        ["method", "cube", "run", "time", "workers busy", "worker rise"], srows
    )
    checks = result["equality_checks_max_rel"]
    return "\n".join(
        [
            f"Peak resident memory by cube size (chunk: "
            f"{result['chunks']['bytes_float64'] / MiB:.0f} MiB in float64):\n",
            size_table,
            "\nScaling on the whole cube:\n",
            scaling_table,
            f"\nLargest relative difference over {len(checks)} comparisons: "
            f"{max(checks.values()):.1e}",
        ]
    )


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1])
    parser = harness.bench_parser(
        __doc__, "outofcore", "timed runs of each measurement (best kept)"
    )
    parser.set_defaults(repeats=3)
    parser.add_argument(
        "--pca-repeats",
        type=int,
        default=1,
        help="timed runs of the PCA in steps 1-3 (best kept)",
    )
    parser.add_argument(
        "--tmpdir", type=Path, default=None, help="where the temporary cube goes"
    )
    parser.add_argument(
        "--shape",
        type=int,
        nargs=3,
        default=SHAPE,
        metavar=("NY", "NX", "C"),
        help="the cube's shape (a smaller one to try the script)",
    )
    parser.add_argument(
        "--scaling-repeats",
        type=int,
        default=SCALING_REPEATS,
        help="timed runs of each scaling measurement (best kept)",
    )
    parser.add_argument(
        "--no-scaling-pca",
        dest="scaling_pca",
        action="store_false",
        help="leave the incremental fit out of the scaling runs",
    )
    args = parser.parse_args(argv)
    args.shape = tuple(args.shape)
    ny, nx, c = args.shape
    need = ny * nx * c * 4
    where = args.tmpdir or Path(tempfile.gettempdir())
    free = shutil.disk_usage(where).free
    # the cube, the small outputs, and a margin
    if free < need + 2 * 2**30:
        print(
            f"error: {where} has {free / 2**30:.1f} GiB free; the cube needs "
            f"{need / 2**30:.2f} GiB (+ 2 GiB margin). Pass --tmpdir.",
            file=sys.stderr,
        )
        return 2
    print(
        f"{ny} x {nx} x {c} float32 = {need / 2**30:.2f} GiB in {where} "
        f"({free / 2**30:.0f} GiB free)"
    )
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-outofcore-", dir=args.tmpdir) as tmp:
        raw = run_all(args, Path(tmp))
    total = time.perf_counter() - t0

    import dask
    import distributed
    import numpy as np  # noqa: F401

    import lectlib

    summary = summarize(raw, args)
    result = dict(
        **harness.run_header(
            "outofcore: lectlib.lazy (fit_known_endmembers_cube, fcls_cube, "
            "incremental_pca, transform_cube) on a cube on disk vs the in-memory "
            "functions; dask threads and a distributed LocalCluster",
            threads="1 BLAS/OpenMP thread in every process (threadpoolctl + env); "
            "dask: threaded scheduler with 1 thread unless said (2 threads; "
            "LocalCluster workers of 1 thread)",
        ),
        versions=dict(
            **harness.course_versions(),
            dask=dask.__version__,
            distributed=distributed.__version__,
        ),
        disk=dict(tmpdir=str(where), free_bytes_before=free),
        allocator="glibc defaults (harness.fix_malloc is not called: its trim "
        "threshold would keep freed chunks resident)",
        memory_measure="peak: Linux's VmHWM after the timed run, reset (clear_refs "
        "5) after the imports and a one-chunk warm-up; rise: peak − VmRSS then",
        timing_settings=dict(
            statistic="wall time after a one-chunk warm-up: best of repeats "
            "(regression, FCLS) or pca_repeats (PCA) runs in steps 1-3, of "
            "scaling_repeats runs in the scaling step",
            repeats=args.repeats,
            pca_repeats=args.pca_repeats,
            scaling_repeats=args.scaling_repeats,
            scaling_statistic=f"best of {args.scaling_repeats} runs",
            page_cache="the cube is read from the page cache (written just before); "
            "the cold read pass shows the disk",
        ),
        targets=dict(equal_max_rel=EQUAL_TOL, flat_chunks=FLAT_CHUNKS),
        total_seconds=total,
        **summary,
    )
    result["table_markdown"] = markdown_tables(result)
    harness.write_result(
        args.out,
        result,
        versions=f"lectlib {lectlib.__version__}, dask {dask.__version__}, "
        f"distributed {distributed.__version__}; {total:.0f} s in all",
    )
    failed = []
    if not result["equality_ok"]:
        bad = {
            k: v for k, v in summary["equality_checks_max_rel"].items() if v > EQUAL_TOL
        }
        failed.append(f"out of core differs from in memory by more than 1e-10: {bad}")
    for method, m in summary["by_size"].items():
        if not m["flat_ok"]:
            grew = m["peak_growth_small_to_whole"] / MiB
            failed.append(
                f"{method}: the peak grew by {grew:.0f} MiB from the smallest cube "
                f"to the whole one (> {FLAT_CHUNKS} chunks)"
            )
    return harness.exit_status(failed)


if __name__ == "__main__":
    sys.exit(main())
