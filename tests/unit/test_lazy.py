"""lectlib.lazy: the per-pixel methods on cubes larger than memory.

1. Every lazy function gives the in-memory result (to 1e-10) on a cube that fits, for
   numpy, memmap and dask inputs and for chunkings that do and do not divide the image.
2. Incremental PCA agrees with the exact PCA: exactly for data of rank n_components,
   and within a bound set by the discarded eigenvalues for noisy data.
3. Peak memory is bounded: subprocesses write a cube of 100 MB and one of 400 MB with
   write_cube, then run FCLS, the regression and a PCA projection on each, storing
   the results to disk; the peak resident memory above the imports is a small multiple
   of the chunk and does not grow with the cube.
4. A dask.distributed cluster of two worker processes on loopback gives the results of
   the local scheduler.
5. Bad input raises clearly; a chunked channel axis is rechunked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import dask
import dask.array as da
import numpy as np
import pytest
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError

from helpers import REPO
from lectlib.decomposition import WeightedPCA, pca, poisson_normalize
from lectlib.lazy import (
    MemoryTrace,
    compute,
    fcls_cube,
    fit_known_endmembers_cube,
    incremental_pca,
    map_spectra,
    open_cube,
    poisson_normalize_cube,
    store_cube,
    transform_cube,
    write_cube,
)
from lectlib.mixing import fold, unfold
from lectlib.regression import KnownEndmemberRegression, fit_known_endmembers
from lectlib.unmixing import fcls

NY, NX, C, K = 13, 17, 24, 3
#: Pixels per chunk: 3, 5 and 40 (none divides nx = 17 or the 221
#: pixels), 34 (two whole rows) and more than the image (one chunk).
CHUNKINGS = (3, 5, 34, 40, 10_000)
TOL = 1e-10


def _mixture(seed=0, dose=50.0, shape=(NY, NX)):
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.5, 2.0, (K, C)) + 3.0 * np.eye(K, C)
    A = rng.dirichlet(np.ones(K), shape[0] * shape[1])
    counts = rng.poisson(dose * (A @ E)).astype(float)
    return E * dose, counts.reshape(shape + (C,))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Endmembers, a float32 cube of counts (as stored on disk), its file."""
    E, counts = _mixture()
    path = tmp_path_factory.mktemp("lazy") / "cube.npy"
    np.save(path, counts.astype(np.float32))
    return E, np.load(path), path


def _inputs(cube, path, chunk_pixels):
    """The same cube as numpy, memmap, an opened file and a dask array whose chunks
    split the channel axis (rechunked by the functions)."""
    return {
        "numpy": cube,
        "memmap": np.load(path, mmap_mode="r"),
        "open_cube": open_cube(path, chunk_pixels=chunk_pixels),
        "dask, channels split": da.from_array(cube, chunks=(4, 5, 7)),
    }


def _close(got, expected, tol=TOL):
    scale = max(1.0, float(np.abs(expected).max()))
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= tol * scale


# ----------------------------------------------------------- equal to in-memory results


@pytest.mark.parametrize("chunk_pixels", CHUNKINGS)
def test_fcls_cube_equals_fcls(data, chunk_pixels):
    E, cube, path = data
    expected = fcls(cube, E)
    for kind, source in _inputs(cube, path, chunk_pixels).items():
        lazy = fcls_cube(source, E, chunk_pixels=chunk_pixels)
        assert isinstance(lazy, da.Array), kind
        _close(compute(lazy), expected)


@pytest.mark.parametrize("chunk_pixels", CHUNKINGS)
@pytest.mark.parametrize("method", ["ols", "nnls", "poisson"])
def test_fit_known_endmembers_cube_equals_the_fit(data, chunk_pixels, method):
    E, cube, path = data
    fit = fit_known_endmembers(cube, E, method=method)
    for source in _inputs(cube, path, chunk_pixels).values():
        lazy = fit_known_endmembers_cube(
            source, E, method=method, chunk_pixels=chunk_pixels
        )
        coefficients, chi2, reduced = compute(
            lazy.coefficients, lazy.chi2, lazy.reduced_chi2
        )
        # The Poisson fit stops at a relative change of 1e-11 per chunk.
        _close(coefficients, fit.coefficients)
        _close(chi2, fit.chi2)
        _close(reduced, fit.reduced_chi2)
        assert lazy.dof == fit.dof and lazy.method == method
        assert np.array_equal(lazy.channels, fit.channels)


def test_fit_known_endmembers_cube_with_a_window_and_a_variance(data):
    E, cube, path = data
    energy = np.linspace(0.0, 23.0, C)
    options = dict(energy=energy, window=(2.0, 20.0), variance=np.full(C, 4.0))
    fit = fit_known_endmembers(cube, E, **options)
    lazy = fit_known_endmembers_cube(open_cube(path, chunk_pixels=7), E, **options)
    _close(compute(lazy.coefficients), fit.coefficients)
    _close(compute(lazy.chi2), fit.chi2)
    assert np.array_equal(lazy.energy, fit.energy)


def _fitted_transformers(E, X):
    return [
        PCA(3).fit(X),
        WeightedPCA(3).fit(X),
        KnownEndmemberRegression(E).fit(X),
        KnownEndmemberRegression(E, method="ols").fit(X),
        incremental_pca(X.reshape(NY, NX, C), 3),
    ]


@pytest.mark.parametrize("chunk_pixels", CHUNKINGS)
def test_transform_cube_equals_transform(data, chunk_pixels):
    E, cube, path = data
    X = unfold(cube)
    for estimator in _fitted_transformers(E, X):
        expected = fold(estimator.transform(X), (NY, NX))
        for source in _inputs(cube, path, chunk_pixels).values():
            got = compute(transform_cube(estimator, source, chunk_pixels=chunk_pixels))
            _close(got, expected)


def test_transform_cube_copies_the_estimator(data):
    E, cube, _ = data
    model = PCA(2).fit(unfold(cube))
    lazy = transform_cube(model, cube)
    expected = fold(model.transform(unfold(cube)), (NY, NX))
    model.fit(unfold(cube)[::-1] * 2.0)  # refitting afterwards changes nothing
    _close(compute(lazy), expected)


@pytest.mark.parametrize("chunk_pixels", CHUNKINGS)
def test_poisson_normalize_cube_equals_poisson_normalize(data, chunk_pixels):
    E, cube, path = data
    cube = cube.copy()
    cube[0, 0] = 0.0  # a pixel without counts scales to zero
    scaled, row, col = poisson_normalize(unfold(cube))
    for source in _inputs(cube, path, chunk_pixels).values():
        if isinstance(source, np.memmap) or not isinstance(source, np.ndarray):
            continue  # the file does not hold the zero pixel
        lazy_scaled, lazy_row, lazy_col = poisson_normalize_cube(
            source, chunk_pixels=chunk_pixels
        )
        _close(compute(lazy_scaled), fold(scaled, (NY, NX)))
        _close(compute(lazy_row), fold(row, (NY, NX)))
        _close(lazy_col, col)
    lazy_scaled, _, lazy_col = poisson_normalize_cube(
        open_cube(path, chunk_pixels=chunk_pixels)
    )
    file_scaled, _, file_col = poisson_normalize(unfold(np.load(path)))
    _close(compute(lazy_scaled), fold(file_scaled, (NY, NX)))
    _close(lazy_col, file_col)


def test_map_spectra_sees_float64_spectra_in_row_major_order(data):
    _, cube, path = data

    def first_and_total(X):
        assert X.dtype == np.float64 and X.ndim == 2
        return np.column_stack([X[:, 0], X.sum(axis=1)])

    got = compute(map_spectra(first_and_total, open_cube(path, chunk_pixels=5), 2))
    expected = np.stack([cube[..., 0], cube.astype(float).sum(axis=-1)], axis=-1)
    _close(got, expected)


def test_map_spectra_refuses_a_result_of_the_wrong_shape(data):
    _, cube, _ = data
    lazy = map_spectra(lambda X: X[:, :2], cube, 3)
    with pytest.raises(ValueError, match=r"must return \(221, 3\).*got shape"):
        compute(lazy)


def test_inputs_are_not_modified_and_results_are_deterministic(data):
    E, cube, _ = data
    before = cube.copy()
    first = compute(fcls_cube(cube, E, chunk_pixels=9))
    again = compute(fcls_cube(cube, E, chunk_pixels=9))
    assert np.array_equal(cube, before) and np.array_equal(first, again)


# ------------------------------------------------------------------- incremental PCA


@pytest.mark.parametrize("center", [True, False])
def test_incremental_pca_is_exact_on_data_of_low_rank(center):
    """Rank ≤ n_components: no truncation drops anything, so IncrementalPCA is the
    exact PCA up to rounding."""
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (1600, K)) @ rng.uniform(0, 2, (K, C))
    n = K  # abundances that do not sum to one: rank K also after centering
    exact = pca(X, n, center=center)
    for batch_pixels in (50, 400):
        model = incremental_pca(
            X.reshape(40, 40, C), n, batch_pixels=batch_pixels, center=center
        )
        angles = subspace_angles(exact.components.T, model.components_.T)
        assert angles.max() < 1e-10
        assert np.allclose(model.explained_variance_, exact.eigenvalues[:n], rtol=1e-10)
        assert np.allclose(model.singular_values_, exact.singular_values[:n])
        assert model.n_samples_seen_ == 1600
        if not center:
            assert np.array_equal(model.mean_, np.zeros(C))
            scores = model.transform(X)
            assert np.allclose(scores @ model.components_, X, atol=1e-10)


@pytest.mark.parametrize("dose", [5.0, 50.0, 500.0])
@pytest.mark.parametrize("center", [True, False])
def test_incremental_pca_approaches_pca_as_the_noise_falls(dose, center):
    """With noise, each partial_fit truncates to n_components and drops the variance
    beyond them. The perturbation of the kept scatter is then of the order of the
    first dropped eigenvalue λ_{n+1}, so by Davis–Kahan the subspace angle is at most
    about λ_{n+1} / (λ_n − λ_{n+1}) and by Weyl each kept eigenvalue moves by at most
    about λ_{n+1}, i.e. λ_{n+1} / λ_n relative. Measured errors are far below (second
    order in the ratio: 1e-2 rad at ratio 0.3, 2e-5 at 4e-3); the bounds hold with a
    margin from heavy noise (dose 5) to light (dose 500)."""
    E, counts = _mixture(seed=1, dose=dose, shape=(40, 40))
    X = unfold(counts)
    # The mixture sums to one: after centering it has rank K - 1.
    n = K - 1 if center else K
    exact = pca(X, n, center=center)
    ratio = exact.eigenvalues[n] / exact.eigenvalues[n - 1]
    for batch_pixels in (50, 400):
        model = incremental_pca(counts, n, batch_pixels=batch_pixels, center=center)
        angle = subspace_angles(exact.components.T, model.components_.T).max()
        assert angle <= ratio / (1.0 - ratio)
        relative = model.explained_variance_ / exact.eigenvalues[:n] - 1.0
        assert np.abs(relative).max() <= ratio


def test_incremental_pca_reads_every_input_kind_alike(data):
    E, cube, path = data
    models = [
        incremental_pca(source, 3, batch_pixels=40)
        for source in _inputs(cube, path, 40).values()
    ]
    for model in models[1:]:
        _close(model.components_, models[0].components_)
        _close(model.explained_variance_, models[0].explained_variance_)


def test_incremental_pca_merges_a_small_last_batch(data, capsys):
    _, cube, _ = data
    # 221 pixels in batches of 10 leave 1: merged, since each batch needs ≥ 5 pixels
    model = incremental_pca(cube, 5, batch_pixels=10, progress=True)
    assert model.n_samples_seen_ == NY * NX
    assert "100% Completed" in capsys.readouterr().out


# --------------------------------------------------------------------- files on disk


def test_write_cube_open_cube_store_cube_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    cube = rng.uniform(0, 100, (7, 5, 6))
    path = write_cube(tmp_path / "c.npy", cube.shape, lambda r: cube[r], block_rows=3)
    assert np.array_equal(np.load(path), cube.astype(np.float32))
    lazy = open_cube(path, chunk_pixels=4)
    assert lazy.dtype == np.float32 and lazy.chunks[1] == (4, 1)
    stored = store_cube(lazy * 2, tmp_path / "twice.npy", progress=True)
    assert np.array_equal(np.load(stored), 2 * cube.astype(np.float32))
    counts = write_cube(
        tmp_path / "n.npy", cube.shape, lambda r: np.round(cube[r]), dtype="uint16"
    )
    assert np.load(counts).dtype == np.uint16
    assert not list(tmp_path.glob("*.part"))


def test_write_cube_leaves_no_file_when_a_block_is_wrong(tmp_path):
    path = tmp_path / "bad.npy"
    with pytest.raises(ValueError, match=r"shape \(2, 5, 6\), got \(2, 5, 5\)"):
        write_cube(
            path, (4, 5, 6), lambda r: np.zeros((r.stop - r.start, 5, 5)), block_rows=2
        )
    with pytest.raises(ValueError, match="NaN"):
        write_cube(path, (4, 5, 6), lambda r: np.full((2, 5, 6), np.nan), block_rows=2)
    with pytest.raises(ValueError, match="range of float32"):
        write_cube(path, (2, 5, 6), lambda r: np.full((2, 5, 6), 1e39))
    with pytest.raises(ValueError, match="integers"):
        write_cube(path, (2, 5, 6), lambda r: np.full((2, 5, 6), 0.5), dtype="uint8")
    assert not list(tmp_path.iterdir())


def test_open_cube_refuses_what_is_not_a_cube(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros((4, 5)))
    with pytest.raises(ValueError, match="must be 3-D"):
        open_cube(tmp_path / "flat.npy")
    (tmp_path / "text.npy").write_text("not an array")
    with pytest.raises(ValueError, match="not a .npy array file"):
        open_cube(tmp_path / "text.npy")
    np.save(tmp_path / "words.npy", np.array([[["a"]]]))
    with pytest.raises(TypeError, match="real numbers"):
        open_cube(tmp_path / "words.npy")
    with pytest.raises(FileNotFoundError):
        open_cube(tmp_path / "missing.npy")


def test_default_chunks_hold_about_64_mib_of_float64(tmp_path):
    path = tmp_path / "wide.npy"
    np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(300, 64, 2048))
    cube = open_cube(path)
    pixels = cube.chunks[0][0] * cube.chunks[1][0]
    assert cube.chunks[2] == (2048,)
    assert 0.9 * 2**26 <= pixels * 2048 * 8 <= 2**26


# ------------------------------------------------------------------------ bad input


def test_bad_input_raises_clearly(data):
    E, cube, path = data
    with pytest.raises(ValueError, match=r"3-D \(ny, nx, n_channels\).*2-D"):
        fcls_cube(unfold(cube), E)
    with pytest.raises(ValueError, match=r"3-D.*4-D"):
        transform_cube(PCA(2).fit(unfold(cube)), cube[None])
    E_nan = E.copy()
    E_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="endmembers contains 1 NaN"):
        fcls_cube(cube, E_nan)
    with pytest.raises(ValueError, match="endmembers contains 1 NaN"):
        fit_known_endmembers_cube(cube, E_nan)
    with pytest.raises(ValueError, match="endmembers have 23 channels"):
        fit_known_endmembers_cube(cube, E[:, 1:])
    with pytest.raises(ValueError, match="method must be"):
        fit_known_endmembers_cube(cube, E, method="lsq")
    with pytest.raises(ValueError, match="one value per channel"):
        fit_known_endmembers_cube(cube, E, variance=np.ones(cube.shape))
    with pytest.raises(TypeError, match="real numbers"):
        fcls_cube(cube.astype(complex), E)
    with pytest.raises(TypeError, match="real numbers"):
        fcls_cube(np.full((2, 2, 3), "1"), E[:, :3])
    with pytest.raises(TypeError, match="chunk_pixels must be an integer"):
        fcls_cube(cube, E, chunk_pixels=2.5)
    with pytest.raises(ValueError, match="chunk_pixels must be >= 1"):
        open_cube(path, chunk_pixels=0)
    with pytest.raises(NotFittedError):
        transform_cube(PCA(2), cube)
    with pytest.raises(TypeError, match="transform method"):
        transform_cube(np.mean, cube)
    with pytest.raises(ValueError, match="24 channels but the estimator was fitted on"):
        transform_cube(PCA(2).fit(unfold(cube)[:, :20]), cube)
    with pytest.raises(ValueError, match="n_components=30 exceeds"):
        incremental_pca(cube, 30)
    with pytest.raises(TypeError, match="progress must be True or False"):
        compute(da.zeros(3), progress="yes")


def test_bad_values_inside_the_data_raise_when_their_chunk_is_computed(data):
    E, cube, _ = data
    bad = cube.astype(float)
    bad[5, 6, 7] = np.nan
    lazy = fcls_cube(bad, E, chunk_pixels=20)  # the graph is made; nothing read yet
    with pytest.raises(ValueError, match="contains 1 NaN"):
        compute(lazy)
    negative = cube.astype(float)
    negative[1, 2, 3] = -1.0
    with pytest.raises(ValueError, match="Negative values.*poisson_normalize_cube"):
        poisson_normalize_cube(negative)
    with pytest.raises(ValueError, match="needs counts"):
        compute(fit_known_endmembers_cube(negative, E, method="poisson").coefficients)


def test_a_chunked_channel_axis_is_rechunked_not_refused(data):
    """Per-pixel methods need whole spectra: channel chunks are merged into blocks of
    pixels × all channels of about chunk_pixels pixels."""
    E, cube, _ = data
    split = da.from_array(cube, chunks=(NY, NX, 5))
    lazy = fcls_cube(split, E, chunk_pixels=17)
    assert lazy.chunks == ((1,) * NY, (NX,), (K,))
    _close(compute(lazy), fcls(cube, E))
    # pixel-only chunks of a dask array are kept as they come
    kept = da.from_array(cube, chunks=(3, 4, C))
    assert fcls_cube(kept, E).chunks[:2] == kept.chunks[:2]


# -------------------------------------------------------------------- bounded memory

#: One chunk: 4096 pixels × 256 channels, 8 MiB in float64 (4 MiB on disk in float32).
MEMORY_CHANNELS = 256
MEMORY_CHUNK_PIXELS = 4096
CHUNK_MB = MEMORY_CHUNK_PIXELS * MEMORY_CHANNELS * 8 / 2**20

_MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    import dask
    import numpy as np
    from sklearn.decomposition import PCA
    from lectlib.lazy import (
        fcls_cube, fit_known_endmembers_cube, open_cube, store_cube,
        transform_cube, write_cube,
    )

    folder, megabytes, c, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(
        sys.argv[4]
    )
    dask.config.set(scheduler="threads", num_workers=2)

    def status(key):  # MiB
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith(key + ":")) / 1024

    def measure(name, run):
        # Linux resets the high-water mark of the resident memory to the current one
        # (where it cannot, the mark is the peak so far: growth is still measured)
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        before, t = status("VmRSS"), time.perf_counter()
        result = run()
        out[name] = {
            "before": before,
            "peak": status("VmHWM"),
            "seconds": time.perf_counter() - t,
        }
        return result

    nx = 256
    ny = megabytes * 2**20 // (4 * nx * c)
    rng = np.random.default_rng(0)
    E = rng.uniform(0.5, 2.0, (3, c)) + 3.0 * np.eye(3, c)

    def rows(r):
        g = np.random.default_rng(r.start)
        a = g.dirichlet(np.ones(3), (r.stop - r.start) * nx)
        x = a @ E + g.uniform(0.0, 0.05, (a.shape[0], c))
        return x.reshape(r.stop - r.start, nx, c)

    out = {"shape": [ny, nx, c]}
    rows(slice(0, 1))
    path = measure(
        "write",
        lambda: write_cube(
            folder + "/cube.npy", (ny, nx, c), rows, block_rows=chunk // nx
        ),
    )
    # warm up threads, BLAS and the code paths of the methods on one chunk
    warm = open_cube(path, chunk_pixels=chunk)[: chunk // nx]
    store_cube(fit_known_endmembers_cube(warm, E).coefficients, folder + "/warm.npy")
    cube = open_cube(path, chunk_pixels=chunk)
    pca = PCA(3).fit(rows(slice(0, 16)).reshape(-1, c))
    steps = {
        "fcls": lambda: fcls_cube(cube, E),
        "regression": lambda: fit_known_endmembers_cube(cube, E).coefficients,
        "transform": lambda: transform_cube(pca, cube),
    }
    for name, make in steps.items():
        measure(name, lambda: store_cube(make(), folder + f"/{name}.npy"))
    for name in ("cube", "warm", *steps):
        os.remove(folder + f"/{name}.npy")
    print(json.dumps(out))
    """
)


def _memory_run(folder, megabytes):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEMORY_SCRIPT,
            str(folder),
            str(megabytes),
            str(MEMORY_CHANNELS),
            str(MEMORY_CHUNK_PIXELS),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_peak_memory_is_bounded_by_the_chunk_not_the_cube(tmp_path):
    """Two cubes, 100 MB and 400 MB in float32 on disk, each written by write_cube and
    processed by FCLS, the regression and a PCA projection, results stored to disk.

    Each step's peak resident memory is measured above the memory before it (Linux's
    high-water mark, reset before each step). write_cube holds one block of rows: the
    test's block function makes it with two temporaries of the same size in float64,
    then the float32 conversion: at most 6 chunks of 8 MiB (48 MiB, measured 23),
    against a cube of 100 or 400 MB. The methods run on 2 threads, each holding a few
    chunk-sized arrays at once (the float32 block, its float64 copy, and the method's
    temporaries: the regression makes model, residuals, variance and χ² terms, each
    as large as the chunk), and dask holds finished blocks until they are written: at
    most 16 chunks (128 MiB; measured 4 for FCLS, 6 for the regression, 1 for the
    projection). And the peak may not grow with the cube: from 100 MB to 400 MB it may
    rise by at most 2 chunks (allocator noise; measured about 1 MiB), against the
    300 MB that holding the cube would add."""
    small = _memory_run(tmp_path, 100)
    large = _memory_run(tmp_path, 400)
    report = {
        tuple(run["shape"]): {
            step: round(run[step]["peak"] - run[step]["before"], 1)
            for step in ("write", "fcls", "regression", "transform")
        }
        for run in (small, large)
    }
    for extra in report.values():
        assert extra["write"] < 6 * CHUNK_MB, report
        assert max(extra.values()) < 16 * CHUNK_MB, report
    for step in ("write", "fcls", "regression", "transform"):
        growth = large[step]["peak"] - small[step]["peak"]
        assert growth < 2 * CHUNK_MB, (step, growth, report)
    print(json.dumps({"small": small, "large": large}))


# --------------------------------------------------------------------- a real cluster


# Without a dashboard the scheduler still serves its health routes, on port 8787 when
# it is free and elsewhere (with this warning) when another cluster holds it.
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use:UserWarning")
def test_a_local_cluster_of_processes_gives_the_local_results(data, tmp_path):
    """Two worker processes of one thread each on loopback (the cluster a user gets
    with ``Client("tcp://scheduler:8786")``, on one machine): the same calls give the
    same numbers as the local threads. The file is read by the workers by path."""
    distributed = pytest.importorskip("distributed")
    E, cube, path = data
    model = PCA(3).fit(unfold(cube))

    def run(out):
        fit = fit_known_endmembers_cube(open_cube(path, chunk_pixels=40), E)
        scaled, _, col = poisson_normalize_cube(open_cube(path, chunk_pixels=40))
        stored = store_cube(
            fcls_cube(open_cube(path, chunk_pixels=40), E), out, progress=False
        )
        results = compute(
            fit.coefficients,
            fit.chi2,
            transform_cube(model, open_cube(path, chunk_pixels=40)),
            scaled,
            progress=True,
        )
        ipca = incremental_pca(open_cube(path, chunk_pixels=40), 3)
        return (*results, col, np.load(stored), ipca.components_)

    with dask.config.set(scheduler="threads"):
        local = run(tmp_path / "local.npy")
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        remote = run(tmp_path / "remote.npy")
    for a, b in zip(local, remote):
        _close(b, a)


# ------------------------------------------------------------------------- MemoryTrace


def test_memory_trace_sees_an_allocation_and_its_release():
    with MemoryTrace(interval=0.005) as trace:
        block = np.ones((4096, 4096))  # 128 MiB, touched so that it is resident
        time.sleep(0.05)  # held for ten intervals
        del block
        time.sleep(0.05)
    assert 100 < trace.peak_mib < 200
    assert trace.mib[-1] < trace.peak_mib - 100  # released before the block ended
    assert trace.times[0] == 0.0 and np.all(np.diff(trace.times) >= 0)
    assert trace.times.shape == trace.mib.shape and len(trace.times) > 10


@pytest.mark.parametrize("interval", [0.0, -1.0, 11.0, np.nan, "fast"])
def test_memory_trace_refuses_a_bad_interval(interval):
    with pytest.raises((ValueError, TypeError), match="interval"):
        MemoryTrace(interval)
