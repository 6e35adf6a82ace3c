"""Benchmark: lectlib's ``SlidingFFT`` against the FFT floor, pycroscopy and atomai.

What
    One image, ``lectlib.datasets.make_lattice_phases((1024, 1024), random_state=0).image``
    (float64), cut into 64 × 64 windows every 8 pixels: a grid of 121 × 121 = 14 641 windows.

    * **The floor**: the Hann-tapered window stack (taper × windows, the symmetric Hann window of
      ``scipy.signal.windows.hann(64)`` in both directions, as lectlib's ``taper="hann"``)
      transformed by ``scipy.fft.rfft2(..., workers=1)``, in float64 and in float32, two ways:
      the whole stack (121 × 121 × 64 × 64) in one call, and one grid row (121 windows) per
      call. The floor is the faster of the two. It computes the complex spectrum only: no
      magnitude, no log, and no output array is kept (each row's spectrum is dropped).
    * **lectlib**: ``SlidingFFT(window=64, step=8, dtype=...).fit(image).transform(image)`` with
      its defaults (Hann taper, ``log=True``, ``crop=None``, ``mask_center=1``), float32 (its
      default) and float64, and the same with ``crop=16`` (only |k_y| ≤ 16 and k_x ≤ 16 bins).
      The ratio lectlib / floor compares like with like (float64 with the float64 floor, float32
      with the float32 floor); lectlib's float32 is also set against the float64 floor.
    * **Peers**, each run by this script in its own venv (``--peer NAME``), only if it installs:
      pycroscopy 0.63.3, ``pycroscopy.image.ImageWindowing`` in ``mode="fft"`` with
      ``filter="hann"``, and atomai 0.8.1, ``atomai.stat.SlidingFFTNMF`` (its
      ``make_windows`` + ``process_fft``, without the NMF), both with the same window and step.
      Their spectra are compared with lectlib's (see README.md for what each computes).

How
    Arrays go to the peers as ``.npy`` (``np.save``) and come back the same way, always loaded
    with ``allow_pickle=False``. The peer mode imports numpy, threadpoolctl and the peer only,
    never lectlib. ::

        .venv/bin/python benchmarks/bench_sliding.py \\
            --pycroscopy-python benchmarks/.venv-pycroscopy/bin/python \\
            --atomai-python benchmarks/.venv-atomai/bin/python \\
            --out benchmarks/results/sliding.json

    One thread: ``threadpoolctl.threadpool_limits(1)`` in every process, the OMP/OpenBLAS/MKL
    variables, ``workers=1`` for every ``scipy.fft`` call of the floor (lectlib passes
    ``workers=1`` itself), and dask's synchronous scheduler for pycroscopy.

    Timing: every method runs once untimed; then the floors and lectlib are timed in
    ``--repeats`` rounds, each round timing every one of them once (so that a slow spell of the
    machine hits all alike), and each time is the best over the rounds, garbage collector off.
    The peers are timed ``--peer-repeats`` times after an untimed call on a 128 × 128 crop.

    Memory allocator: glibc returns a freed block of a few MB to the kernel or keeps it for the
    next allocation depending on its dynamic thresholds, i.e. on what the process did before,
    and a row-by-row loop over 4 MB arrays then costs 0.10 s or 0.28 s (float32) depending on
    history alone. Every process of this benchmark therefore fixes the thresholds with
    ``mallopt`` (mmap threshold 64 MiB, trim threshold 512 MiB) before it allocates anything;
    this is recorded in the JSON.

    Peak memory: ``tracemalloc`` (numpy reports its buffers to it) over one call, above what
    was allocated before the call, for lectlib's ``transform`` (target: at most 2× the
    descriptor array it returns) and for the floor's two variants.

Targets
    * accuracy (enforced, exit status 1): lectlib's magnitudes (``log=False, mask_center=0``)
      equal the floor's |rfft2| in lectlib's frequency order (read from ``frequencies_``) to
      1e-10 (float64) / 1e-5 (float32) of the largest magnitude, against the floor of the same
      precision and against the float64 floor; the timed outputs (``log=True``, masked centre,
      uncropped and cropped) equal log(1 + |floor|), to the same tolerances relative to the
      largest value, except for the bins that ``mask_center=1`` zeroes, which must be zero in
      every window, include k = 0 and lie within one bin of it along both axes;
    * speed (reported): lectlib / floor ≤ 1.25, like with like, uncropped;
    * memory (reported): lectlib's peak ≤ 2× its output's nbytes.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import gc
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

from _common import THREAD_ENV, git_commit, machine_info  # noqa: E402 (the benchmarks' folder)

import numpy as np

HERE = Path(__file__).resolve().parent
SHAPE = (1024, 1024)
WINDOW = 64
STEP = 8
CROP = 16
TOL = {"float64": 1e-10, "float32": 1e-5}
SPEED_TARGET = 1.25      # lectlib / floor, at most
MEMORY_TARGET = 2.0      # lectlib's peak / output nbytes, at most
MMAP_THRESHOLD = 64 << 20
TRIM_THRESHOLD = 512 << 20
PEERS = ("pycroscopy", "atomai")
WARMUP_CROP = 128
ZOOM_CHECK_CROP = 192    # pycroscopy's filter-after-FFT path is checked on this crop
PEAKS = 12               # strongest local maxima of the power spectrum counted as "the peaks"
PEAK_RADIUS = 2          # their neighbourhoods: (2 r + 1)² bins
DC_RADIUS = 2            # bins with |k| ≤ this are left out of the leakage measures


def fix_malloc():
    """Fix glibc's mmap and trim thresholds (see the module docstring). Returns what was done."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = (libc.mallopt(-3, MMAP_THRESHOLD) == 1      # M_MMAP_THRESHOLD
              and libc.mallopt(-1, TRIM_THRESHOLD) == 1)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        ok = False
    return dict(mallopt_applied=bool(ok), m_mmap_threshold=MMAP_THRESHOLD,
                m_trim_threshold=TRIM_THRESHOLD,
                note="glibc mallopt(M_MMAP_THRESHOLD, M_TRIM_THRESHOLD) at start, in every "
                     "process of this benchmark")


def timed(func):
    """Wall time (s) of one call of ``func()``, garbage collector off; the result is dropped."""
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - t0
    finally:
        if gc_was_on:
            gc.enable()
    del result
    return elapsed


def rounds(funcs, repeats):
    """Times of each of ``funcs`` (name → callable) over ``repeats`` interleaved rounds.

    Returns name → list of the times (s), one per round.
    """
    times = {name: [] for name in funcs}
    for r in range(repeats):
        names = list(funcs)
        names = names[r % len(names):] + names[:r % len(names)]   # rotate the order
        for name in names:
            times[name].append(timed(funcs[name]))
    return times


def peak_memory(func):
    """(peak bytes allocated during one call above the level before it, result)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = func()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return int(peak), result


def window_stack(image):
    """All 64 × 64 windows every 8 px, a read-only view (n_rows, n_cols, 64, 64)."""
    return np.lib.stride_tricks.sliding_window_view(image, (WINDOW, WINDOW))[::STEP, ::STEP]


def thread_pools():
    import threadpoolctl
    return [{k: p.get(k) for k in ("internal_api", "version", "num_threads")}
            for p in threadpoolctl.threadpool_info()]


# ------------------------------------------------------------------ peer mode (peer venvs)


def peer_pycroscopy(image, out_dir, repeats):
    import dask
    import pycroscopy
    import scipy
    import sidpy
    import skimage
    from pycroscopy.image import ImageWindowing

    params = dict(window_size_x=WINDOW, window_size_y=WINDOW, window_step_x=STEP,
                  window_step_y=STEP, mode="fft", fft_mode="abs", filter="hann")

    def run(img, **extra):
        windowing = ImageWindowing({**params, **extra})   # it adds keys to the dict it gets
        result = windowing.MakeWindows(sidpy.Dataset.from_array(img))
        return windowing, result

    with dask.config.set(scheduler="synchronous"):
        run(image[:WARMUP_CROP, :WARMUP_CROP])
        seconds = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            windowing, result = run(image)
            seconds.append(time.perf_counter() - t0)
        spectra = np.asarray(result)
        # The only path on which the filter is used at all: a zoom factor other than 1 (the
        # method returns before the filter otherwise), and the filter must not be "hann".
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            zoomed_windowing, zoomed = run(image[:ZOOM_CHECK_CROP, :ZOOM_CHECK_CROP],
                                           filter="hamming", zoom_factor=2)
    np.save(out_dir / "spectra.npy", spectra, allow_pickle=False)
    np.save(out_dir / "positions.npy", np.asarray(windowing.pos_vec, np.int64),
            allow_pickle=False)
    np.save(out_dir / "zoomed.npy", np.asarray(zoomed), allow_pickle=False)
    np.save(out_dir / "zoomed_positions.npy", np.asarray(zoomed_windowing.pos_vec, np.int64),
            allow_pickle=False)
    return dict(
        seconds=min(seconds), all_seconds=seconds, repeats=repeats,
        call=("ImageWindowing(dict(window_size_x=64, window_size_y=64, window_step_x=8, "
              "window_step_y=8, mode='fft', fft_mode='abs', filter='hann'))"
              ".MakeWindows(sidpy.Dataset.from_array(image))"),
        timed="the ImageWindowing construction, the sidpy.Dataset wrapping and MakeWindows",
        scheduler="dask synchronous (one thread); its default is dask's threaded scheduler",
        output=dict(type=type(result).__name__, shape=list(spectra.shape),
                    dtype=str(spectra.dtype)),
        filter_attribute=windowing.filter,
        has_filter_matrix=hasattr(windowing, "filter_mat"),
        zoom_check=dict(
            crop=ZOOM_CHECK_CROP,
            call=("ImageWindowing(dict(..., filter='hamming', zoom_factor=2))"
                  ".MakeWindows(...) on image[:192, :192]"),
            filter_matrix_shape=list(np.shape(zoomed_windowing.filter_mat)),
            output_shape=list(np.shape(zoomed)), output_dtype=str(np.asarray(zoomed).dtype),
            warnings=sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
        ),
        versions=dict(pycroscopy=pycroscopy.__version__, sidpy=sidpy.__version__,
                      dask=dask.__version__, numpy=np.__version__, scipy=scipy.__version__,
                      skimage=skimage.__version__),
    )


def peer_atomai(image, out_dir, repeats):
    import atomai
    import scipy
    import torch
    from atomai.stat import SlidingFFTNMF

    def model(wy=WINDOW, wx=WINDOW):
        # window_size_x is along axis 0 (rows), window_size_y along axis 1 (columns).
        return SlidingFFTNMF(window_size_x=wy, window_size_y=wx, window_step_x=STEP,
                             window_step_y=STEP, interpolation_factor=1, zoom_factor=1,
                             hamming_filter=True)

    def run(img):
        m = model()
        with contextlib.redirect_stdout(io.StringIO()):      # it prints as it goes
            spectra = m.process_fft(m.make_windows(img))
        return m, spectra

    run(image[:WARMUP_CROP, :WARMUP_CROP])
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        m, spectra = run(image)
        seconds.append(time.perf_counter() - t0)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            model(WINDOW, WINDOW // 2).make_windows(image[:256, :256])
        non_square = "ran"
    except Exception as exc:                                    # noqa: BLE001 (recorded)
        non_square = f"{type(exc).__name__}: {exc}"
    np.save(out_dir / "spectra.npy", np.asarray(spectra), allow_pickle=False)
    np.save(out_dir / "positions.npy", np.asarray(m.pos_vec, np.int64), allow_pickle=False)
    return dict(
        seconds=min(seconds), all_seconds=seconds, repeats=repeats,
        call=("m = SlidingFFTNMF(window_size_x=64, window_size_y=64, window_step_x=8, "
              "window_step_y=8, interpolation_factor=1, zoom_factor=1, hamming_filter=True); "
              "m.process_fft(m.make_windows(image))"),
        timed="make_windows + process_fft (not run_nmf), with its printing sent to a buffer",
        output=dict(shape=list(np.shape(spectra)), dtype=str(np.asarray(spectra).dtype)),
        window_64x32=non_square,
        versions=dict(atomai=atomai.__version__, torch=torch.__version__,
                      numpy=np.__version__, scipy=scipy.__version__),
    )


def peer_main(name, image_path, out_dir, repeats):
    from threadpoolctl import threadpool_limits

    allocator = fix_malloc()
    out_dir = Path(out_dir)
    image = np.load(image_path, allow_pickle=False)
    with threadpool_limits(limits=1):
        info = (peer_pycroscopy if name == "pycroscopy" else peer_atomai)(image, out_dir,
                                                                         repeats)
        info["blas_pools_during_timing"] = thread_pools()
    info["versions"]["python"] = platform.python_version()
    info["allocator"] = allocator
    info["thread_env"] = {k: os.environ.get(k) for k in THREAD_ENV}
    (out_dir / "peer.json").write_text(json.dumps(info, indent=2) + "\n")


# ------------------------------------------------------------------- main mode (.venv)


def frequency_index(frequencies):
    """Row and column of each of lectlib's features in a natural-order full FFT plane."""
    fy, fx = np.asarray(frequencies).T
    iy, ix = np.rint(fy * WINDOW).astype(int), np.rint(fx * WINDOW).astype(int)
    if not (np.allclose(fy * WINDOW, iy, atol=1e-9) and np.allclose(fx * WINDOW, ix, atol=1e-9)
            and ix.min() >= 0 and ix.max() <= WINDOW // 2 and np.abs(iy).max() <= WINDOW // 2):
        raise RuntimeError("lectlib's frequencies_ are not FFT bins of a 64 × 64 half plane")
    return iy % WINDOW, ix, iy


def half_to_full(half):
    """(n, 64, 33) natural-order rfft2 magnitudes → (n, 64, 64), by |F(−k)| = |F(k)|."""
    n = half.shape[0]
    full = np.empty((n, WINDOW, WINDOW), dtype=half.dtype)
    full[:, :, :WINDOW // 2 + 1] = half
    neg_rows = (-np.arange(WINDOW)) % WINDOW
    full[:, :, WINDOW // 2 + 1:] = half[:, neg_rows][:, :, WINDOW // 2 - 1:0:-1]
    return full


def lectlib_to_full(features, model):
    """lectlib's uncropped magnitudes (n, 2112) → natural-order full planes (n, 64, 64)."""
    iy, ix, _ = frequency_index(model.frequencies_)
    half = np.zeros((features.shape[0], WINDOW, WINDOW // 2 + 1), dtype=np.float64)
    half[:, iy, ix] = features
    return half_to_full(half)


def spectrum_measures(full, reference=None, chunk=1024):
    """Per-window leakage, and the difference in shape to ``reference``, of magnitude planes.

    ``full`` (n, 64, 64): magnitudes in natural FFT order. Bins with |k| ≤ DC_RADIUS are left
    out. Off-peak fraction: the share of the power that lies farther than PEAK_RADIUS bins
    (Chebyshev) from all of the PEAKS strongest local maxima (5 × 5, periodic) of the window's
    power spectrum. With ``reference``: the L2 distance between the two spectra, each scaled to
    unit norm (0: same shape; √2: nothing in common).
    """
    from scipy import ndimage

    k = np.fft.fftfreq(WINDOW) * WINDOW
    dc = (k[:, None] ** 2 + k[None, :] ** 2) <= DC_RADIUS ** 2
    size = (1, 2 * PEAK_RADIUS + 1, 2 * PEAK_RADIUS + 1)
    off_peak, distance = [], []
    for c0 in range(0, full.shape[0], chunk):
        power = np.asarray(full[c0:c0 + chunk], dtype=np.float64) ** 2
        power[:, dc] = 0.0
        local_max = (power == ndimage.maximum_filter(power, size=size, mode="wrap")) & (power > 0)
        score = np.where(local_max, power, 0.0).reshape(len(power), -1)
        top = np.argpartition(score, -PEAKS, axis=1)[:, -PEAKS:]
        near = np.zeros(score.shape, dtype=np.uint8)
        np.put_along_axis(near, top, 1, axis=1)
        near = ndimage.maximum_filter(near.reshape(power.shape), size=size, mode="wrap") > 0
        total = power.sum(axis=(1, 2))
        off_peak.append(1.0 - (power * near).sum(axis=(1, 2)) / total)
        if reference is not None:
            a = np.sqrt(power).reshape(len(power), -1)
            b = np.asarray(reference[c0:c0 + chunk], dtype=np.float64).reshape(len(power), -1)
            b = b * ~dc.ravel()
            a = a / np.linalg.norm(a, axis=1, keepdims=True)
            b = b / np.linalg.norm(b, axis=1, keepdims=True)
            distance.append(np.linalg.norm(a - b, axis=1))
    off_peak = np.concatenate(off_peak)
    out = dict(off_peak_power_median=float(np.median(off_peak)),
               off_peak_power_mean=float(off_peak.mean()))
    if reference is not None:
        distance = np.concatenate(distance)
        out.update(unit_spectrum_distance_median=float(np.median(distance)),
                   unit_spectrum_distance_max=float(distance.max()))
    return out


def rel_max_diff(a, b):
    """max |a − b| / max |b|."""
    return float(np.abs(np.asarray(a, np.float64) - b).max() / np.abs(b).max())


def run_peer(name, peer_python, image_path, tmp, repeats):
    """Run one peer in its venv; (info, arrays) or (status dict, None) if it cannot run."""
    venv = Path(peer_python).parent.parent
    if not Path(peer_python).exists():
        error_file = venv.with_name(venv.name + ".install-error.txt")
        reason = (error_file.read_text().strip() if error_file.exists()
                  else f"no venv at {venv} (run benchmarks/run.sh to create it)")
        return dict(status="not installed", reason=reason), None
    out_dir = tmp / name
    out_dir.mkdir()
    env = {**os.environ, **THREAD_ENV, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    cmd = [str(peer_python), str(Path(__file__).resolve()), "--peer", name, str(image_path),
           str(out_dir), "--peer-repeats", str(repeats)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        return dict(status="failed", reason=f"exit {proc.returncode}: "
                                            f"{proc.stderr.strip()[-2000:]}"), None
    info = json.loads((out_dir / "peer.json").read_text())
    arrays = {p.stem: np.load(p, allow_pickle=False) for p in out_dir.glob("*.npy")}
    info["status"] = "ran"
    info["venv"] = str(venv)
    return info, arrays


def grid_index(positions, n_cols):
    """Window (row, col) offsets in pixels → row-major index in lectlib's window order."""
    positions = np.asarray(positions)
    if (positions % STEP).any():
        raise RuntimeError("a peer window does not start on the 8-px grid")
    return positions[:, 0] // STEP * n_cols + positions[:, 1] // STEP


def compare_pycroscopy_main(info, arrays, windows, grid, lectlib_untapered, hann_full):
    """pycroscopy's spectra against the untapered |FFT| and against lectlib's."""
    from scipy import fft as sp_fft

    n_rows, n_cols = grid
    spectra = arrays["spectra"]                          # (121, 121, 64, 64), fftshifted
    flat = spectra.reshape(-1, WINDOW, WINDOW)
    order = grid_index(arrays["positions"], n_cols)
    if sorted(order.tolist()) != list(range(n_rows * n_cols)):
        raise RuntimeError("pycroscopy's windows are not lectlib's windows")
    ours = np.empty_like(flat)
    ours[order] = flat                                   # into lectlib's (row-major) order
    natural = np.fft.ifftshift(ours, axes=(-2, -1))
    del ours
    untapered = np.abs(sp_fft.fft2(windows.reshape(-1, WINDOW, WINDOW), workers=1))
    to_untapered = rel_max_diff(natural, untapered)
    del untapered
    second = arrays["positions"][1].tolist()
    info["comparison"] = dict(
        window_order=("column-major: its result[i, j] is the window at row offset 8 j, column "
                      "offset 8 i" if second == [STEP, 0] else f"second window at {second}"),
        rel_max_diff_to_untapered_abs_fft=to_untapered,
        rel_max_diff_to_lectlib_taper_none=rel_max_diff(natural, lectlib_untapered),
        hann_applied=bool(to_untapered > 1e-6),
        **{f"vs_lectlib_hann_{k}": v for k, v in
           spectrum_measures(natural, reference=hann_full).items()},
    )


def main_compare_zoom(info, arrays, image):
    """pycroscopy's filter path: the real part of the centred spectrum, tapered after the FFT."""
    zoomed = arrays["zoomed"].astype(np.float64)
    flat = zoomed.reshape(-1, WINDOW // 2, WINDOW // 2)
    positions = arrays["zoomed_positions"]
    h = np.hamming(WINDOW // 2)
    taper = np.sqrt(np.outer(h, h))
    lo, hi = WINDOW // 4, 3 * WINDOW // 4
    real_part, magnitude = [], []
    for (r, c), out in zip(positions, flat):
        spectrum = np.fft.fftshift(np.fft.fft2(image[r:r + WINDOW, c:c + WINDOW]))[lo:hi, lo:hi]
        real_part.append(rel_max_diff(out, spectrum.real * taper))
        magnitude.append(rel_max_diff(out, np.abs(spectrum) * taper))
    info["zoom_check"].update(
        n_windows=int(len(flat)),
        rel_max_diff_to_real_part_times_sqrt_hamming=float(max(real_part)),
        rel_max_diff_to_magnitude_times_sqrt_hamming=float(min(magnitude)),
        min_value=float(zoomed.min()),
    )


def compare_atomai(info, arrays, image, grid, hann_full):
    """atomai's spectra against its recipe, recomputed here, and against lectlib's."""
    from scipy import fft as sp_fft

    n_rows, n_cols = grid
    spectra = arrays["spectra"]                          # (14641, 64, 64), fftshifted log1p|F|
    order = grid_index(arrays["positions"], n_cols)
    if order.tolist() != list(range(n_rows * n_cols)):
        raise RuntimeError("atomai's windows are not lectlib's windows in lectlib's order")
    normalised = (image - image.min()) / (image.max() - image.min())
    h = np.hamming(WINDOW)
    taper = np.sqrt(np.outer(h, np.ones(WINDOW)) * np.outer(np.ones(WINDOW), h))
    recipe = np.log1p(np.abs(sp_fft.fftshift(
        sp_fft.fft2(window_stack(normalised).reshape(-1, WINDOW, WINDOW) * taper, workers=1),
        axes=(-2, -1))))
    diff_recipe = float(np.abs(spectra - recipe).max())
    del recipe
    natural = np.fft.ifftshift(np.expm1(spectra), axes=(-2, -1))
    info["comparison"] = dict(
        recipe=("log(1 + |fftshift(fft2(√(Hamming ⊗ Hamming) × w))|) for each window w of the "
                "image rescaled to [0, 1] by its minimum and maximum"),
        max_abs_diff_to_recipe_log=diff_recipe,
        image_range=[float(image.min()), float(image.max())],
        **{f"vs_lectlib_hann_{k}": v for k, v in
           spectrum_measures(natural, reference=hann_full).items()},
    )


def lectlib_variants():
    """label → (SlidingFFT keyword arguments, dtype name, whether the speed target applies)."""
    return {
        "float32": (dict(dtype=np.float32), "float32", True),
        "float64": (dict(dtype=np.float64), "float64", True),
        "float32, crop=16": (dict(dtype=np.float32, crop=CROP), "float32", False),
        "float64, crop=16": (dict(dtype=np.float64, crop=CROP), "float64", False),
    }


def check_accuracy(image, floors_abs):
    """lectlib's magnitudes and log features against the floors' |rfft2|."""
    from lectlib.sliding import SlidingFFT

    out = {}
    for name in ("float64", "float32"):
        dtype = np.dtype(name)
        tol = TOL[name]
        model = SlidingFFT(window=WINDOW, step=STEP, log=False, mask_center=0,
                           dtype=dtype).fit(image)
        features = model.transform(image)
        iy, ix, _ = frequency_index(model.frequencies_)
        row = dict(
            dtype=name, tolerance=tol, n_features=int(features.shape[1]),
            output_dtype=str(features.dtype),
            natural_fft_row_order=bool(np.array_equal(
                iy.reshape(model.feature_shape_)[:, 0], np.arange(WINDOW))),
            rel_max_diff_magnitude_same_precision_floor=rel_max_diff(
                features, floors_abs[name][:, iy, ix]),
            rel_max_diff_magnitude_float64_floor=rel_max_diff(
                features, floors_abs["float64"][:, iy, ix]),
        )
        del features
        scale = float(floors_abs["float64"].max())
        for label, (kwargs, dname, _) in lectlib_variants().items():
            if dname != name:
                continue
            model = SlidingFFT(window=WINDOW, step=STEP, **kwargs).fit(image)
            features = model.transform(image)
            iy, ix, ky = frequency_index(model.frequencies_)
            expected = np.log1p(floors_abs["float64"][:, iy, ix])
            # mask_center=1 zeroes the bins next to k = 0 (which ones is lectlib's choice: a
            # disc or a square); those must be zero in every window, near k = 0, and include it
            masked = (features == 0).all(axis=0)
            near_zero = np.maximum(np.abs(ky), ix) <= 1
            mask_ok = bool(masked[(ky == 0) & (ix == 0)].all() and not masked[~near_zero].any())
            expected[:, masked] = 0.0
            diff = rel_max_diff(features, expected)
            if "crop" in label:     # exactly the bins |k_y| ≤ 16, 0 ≤ k_x ≤ 16
                in_crop = bool(np.abs(ky).max() <= CROP and ix.max() <= CROP
                               and len(set(zip(ky.tolist(), ix.tolist())))
                               == features.shape[1] == (2 * CROP + 1) * (CROP + 1))
            else:
                in_crop = features.shape[1] == WINDOW * (WINDOW // 2 + 1)
            row[f"rel_max_diff_log_features[{label}]"] = diff
            row[f"n_features[{label}]"] = int(features.shape[1])
            row[f"frequencies_within_crop[{label}]"] = in_crop
            row[f"masked_bins_zero[{label}]"] = mask_ok
            row[f"masked_bins[{label}]"] = [[int(a), int(b)] for a, b in
                                            zip(ky[masked], ix[masked])]
            del features, expected
        row["largest_magnitude"] = scale
        checks = [row["rel_max_diff_magnitude_same_precision_floor"] <= tol,
                  row["rel_max_diff_magnitude_float64_floor"] <= tol]
        checks += [v <= tol for k, v in row.items() if k.startswith("rel_max_diff_log")]
        checks += [v for k, v in row.items() if k.startswith(("frequencies_within",
                                                               "masked_bins_zero"))]
        row["accuracy_ok"] = bool(all(checks))
        out[name] = row
    return out


def measure(image, repeats, whole_repeats):
    """Floors and lectlib: times, ratios, peak memory (and the load average around the timing)."""
    from scipy import fft as sp_fft
    from scipy.signal import windows as sp_windows

    from lectlib.sliding import SlidingFFT

    windows = window_stack(image)
    hann = sp_windows.hann(WINDOW, sym=True)

    def floor_whole(dtype, taper):
        return lambda: sp_fft.rfft2(np.multiply(windows, taper, dtype=dtype), workers=1)

    def floor_rows(dtype, taper):
        def run():
            for r in range(windows.shape[0]):
                sp_fft.rfft2(np.multiply(windows[r], taper, dtype=dtype), workers=1)
        return run

    def complete_rows(dtype, taper):
        # not the floor: the same loop doing lectlib's whole job (log(1 + |F|) into an output
        # array kept to the end), for reference
        n_rows, n_cols = windows.shape[:2]

        def run():
            out = np.empty((n_rows * n_cols, WINDOW * (WINDOW // 2 + 1)), dtype=dtype)
            for r in range(n_rows):
                spectrum = sp_fft.rfft2(np.multiply(windows[r], taper, dtype=dtype), workers=1)
                dest = out[r * n_cols:(r + 1) * n_cols].reshape(spectrum.shape)
                np.abs(spectrum, out=dest)
                np.log1p(dest, out=dest)
            return out
        return run

    funcs, models = {}, {}
    for name in ("float64", "float32"):
        taper = np.outer(hann, hann).astype(name)
        funcs[f"floor whole {name}"] = floor_whole(name, taper)
        funcs[f"floor rows {name}"] = floor_rows(name, taper)
        funcs[f"complete rows {name}"] = complete_rows(name, taper)
    for label, (kwargs, _, _) in lectlib_variants().items():
        model = SlidingFFT(window=WINDOW, step=STEP, **kwargs).fit(image)
        models[label] = model
        funcs[f"lectlib {label}"] = (lambda m: lambda: m.transform(image))(model)
    # closest lectlib settings to each peer (for the peers' time ratios)
    for label, kwargs in (("untapered float64 |F|", dict(taper=None, log=False, mask_center=0,
                                                          dtype=np.float64)),
                          ("hamming float64 log", dict(taper="hamming", log=True, mask_center=0,
                                                       dtype=np.float64))):
        model = SlidingFFT(window=WINDOW, step=STEP, **kwargs).fit(image)
        models[label] = model
        funcs[f"lectlib {label}"] = (lambda m: lambda: m.transform(image))(model)

    for func in funcs.values():                    # untimed first call of everything
        timed(func)
    whole = {k: v for k, v in funcs.items() if k.startswith("floor whole")}
    rest = {k: v for k, v in funcs.items() if k not in whole}
    load = [os.getloadavg()[0]]
    all_times = rounds(rest, repeats)
    all_times.update(rounds(whole, whole_repeats))
    load.append(os.getloadavg()[0])
    times = {name: min(t) for name, t in all_times.items()}
    medians = {name: float(np.median(t)) for name, t in all_times.items()}

    memory = {}
    for name, func in funcs.items():
        if name.startswith(("lectlib", "floor", "complete")):
            peak, result = peak_memory(func)
            memory[name] = dict(peak_bytes=peak,
                                output_nbytes=int(result.nbytes) if result is not None else 0)
            del result

    floors = {}
    for name in ("float64", "float32"):
        w, r = times[f"floor whole {name}"], times[f"floor rows {name}"]
        variant = "whole" if w <= r else "rows"
        floors[name] = dict(
            whole_s=w, rows_s=r, floor_s=min(w, r), floor_variant=variant,
            floor_median_s=medians[f"floor {variant} {name}"],
            whole_all_s=all_times[f"floor whole {name}"],
            rows_all_s=all_times[f"floor rows {name}"],
            peak_bytes_whole=memory[f"floor whole {name}"]["peak_bytes"],
            peak_bytes_rows=memory[f"floor rows {name}"]["peak_bytes"],
            whole_repeats=whole_repeats, rows_repeats=repeats,
            complete_rows_s=times[f"complete rows {name}"],
            complete_rows_peak_bytes=memory[f"complete rows {name}"]["peak_bytes"],
        )
    rows = []
    for label, (kwargs, dname, target) in lectlib_variants().items():
        t = times[f"lectlib {label}"]
        mem = memory[f"lectlib {label}"]
        model = models[label]
        ratio = t / floors[dname]["floor_s"]
        rows.append(dict(
            label=label, dtype=dname, crop=kwargs.get("crop"), log=True, mask_center=1,
            n_features=int(np.prod(model.feature_shape_)),
            feature_shape=list(model.feature_shape_),
            time_s=t, repeats=repeats, floor_dtype=dname, ratio_to_floor=ratio,
            all_s=all_times[f"lectlib {label}"],
            ratio_of_medians_to_floor=(medians[f"lectlib {label}"]
                                       / floors[dname]["floor_median_s"]),
            ratio_to_float64_floor=t / floors["float64"]["floor_s"],
            speed_target_applies=target,
            speed_target_met=bool(ratio <= SPEED_TARGET) if target else None,
            output_nbytes=mem["output_nbytes"], peak_bytes=mem["peak_bytes"],
            peak_over_output=mem["peak_bytes"] / mem["output_nbytes"],
            memory_target_met=bool(mem["peak_bytes"] <= MEMORY_TARGET * mem["output_nbytes"]),
            ratio_to_complete_rows=t / floors[dname]["complete_rows_s"],
        ))
    peer_configs = {
        label: dict(time_s=times[f"lectlib {label}"],
                    peak_bytes=memory[f"lectlib {label}"]["peak_bytes"],
                    output_nbytes=memory[f"lectlib {label}"]["output_nbytes"])
        for label in ("untapered float64 |F|", "hamming float64 log")}
    return floors, rows, models, peer_configs, load


def fmt_ms(seconds):
    return f"{1e3 * seconds:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def mb(n):
    return f"{n / 1e6:.1f} MB"


def markdown_tables(result):
    """The tables printed by this script (report.py renders the book's tables itself)."""
    f = result["floors"]
    lines = ["| floor (Hann × windows → rfft2, complex spectrum only) | whole stack | "
             "row by row | floor | peak memory, whole | peak memory, rows | "
             "rows + log(1+|F|) into an output |",
             "|---|---|---|---|---|---|---|"]
    for name in ("float64", "float32"):
        x = f[name]
        lines.append(f"| {name} | {fmt_ms(x['whole_s'])} | {fmt_ms(x['rows_s'])} | "
                     f"**{fmt_ms(x['floor_s'])}** ({x['floor_variant']}) | "
                     f"{mb(x['peak_bytes_whole'])} | {mb(x['peak_bytes_rows'])} | "
                     f"{fmt_ms(x['complete_rows_s'])} |")
    lines += ["", "| lectlib SlidingFFT | features | time | / floor (same dtype) | "
              "/ float64 floor | output | peak | peak / output |", "|---|---|---|---|---|---|---|---|"]
    for r in result["lectlib"]:
        lines.append(f"| {r['label']} | {r['n_features']} | {fmt_ms(r['time_s'])} | "
                     f"{r['ratio_to_floor']:.2f}× | {r['ratio_to_float64_floor']:.2f}× | "
                     f"{mb(r['output_nbytes'])} | {mb(r['peak_bytes'])} | "
                     f"{r['peak_over_output']:.2f}× |")
    lines += ["", "| accuracy | vs floor, same dtype (rel) | vs float64 floor (rel) | "
              "log features (rel, worst variant) | tolerance | ok |", "|---|---|---|---|---|---|"]
    for name, a in result["accuracy"].items():
        worst = max(v for k, v in a.items() if k.startswith("rel_max_diff_log"))
        lines.append(f"| {name} | {a['rel_max_diff_magnitude_same_precision_floor']:.1e} | "
                     f"{a['rel_max_diff_magnitude_float64_floor']:.1e} | {worst:.1e} | "
                     f"{a['tolerance']:g} | {'yes' if a['accuracy_ok'] else 'NO'} |")
    lines += ["", "| peer | status | time | / lectlib (closest settings) | notes |",
              "|---|---|---|---|---|"]
    for name, p in result["peers"].items():
        if p["status"] != "ran":
            lines.append(f"| {name} | {p['status']} | | | {p['reason'][:200]} |")
            continue
        c = p["comparison"]
        note = (f"off-peak power {100 * c['vs_lectlib_hann_off_peak_power_median']:.1f} % "
                f"(lectlib Hann {100 * result['leakage']['lectlib_hann_off_peak_power_median']:.1f} %)")
        lines.append(f"| {name} {p['versions'][name]} | ran | {fmt_ms(p['seconds'])} | "
                     f"{p['ratio_to_lectlib_closest']:.0f}× | {note} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", nargs=3, metavar=("NAME", "IMAGE_NPY", "OUT_DIR"),
                        help="internal: run one peer (in its venv)")
    parser.add_argument("--pycroscopy-python", type=Path,
                        default=HERE / ".venv-pycroscopy" / "bin" / "python")
    parser.add_argument("--atomai-python", type=Path,
                        default=HERE / ".venv-atomai" / "bin" / "python")
    parser.add_argument("--repeats", type=int, default=7,
                        help="timing rounds of lectlib and the row-by-row floor")
    parser.add_argument("--whole-repeats", type=int, default=3,
                        help="timing rounds of the whole-stack floor (about 1 GB per call)")
    parser.add_argument("--peer-repeats", type=int, default=1, help="timed calls of each peer")
    parser.add_argument("--skip-peer", action="append", default=[], choices=PEERS,
                        help="do not run this peer (it is reported as skipped)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sliding.json")
    args = parser.parse_args(argv)

    if args.peer:
        name, image_path, out_dir = args.peer
        if name not in PEERS:
            parser.error(f"unknown peer {name!r}")
        peer_main(name, image_path, out_dir, args.peer_repeats)
        return 0

    allocator = fix_malloc()

    import scipy
    import sklearn
    import threadpoolctl
    from scipy import fft as sp_fft
    from scipy.signal import windows as sp_windows
    from threadpoolctl import threadpool_limits

    import lectlib
    from lectlib.datasets import make_lattice_phases
    from lectlib.sliding import SlidingFFT

    image = make_lattice_phases(SHAPE, random_state=0).image
    windows = window_stack(image)
    grid = windows.shape[:2]
    n_windows = grid[0] * grid[1]
    hann = sp_windows.hann(WINDOW, sym=True)

    with tempfile.TemporaryDirectory(prefix="bench-sliding-") as tmp:
        tmp = Path(tmp)
        image_path = tmp / "image.npy"
        np.save(image_path, image, allow_pickle=False)
        with threadpool_limits(limits=1):
            pools = [{k: p.get(k) for k in ("internal_api", "version", "num_threads",
                                            "filepath")}
                     for p in threadpoolctl.threadpool_info()]
            # timing first, while the process is small and no peer has run yet
            print("timing the floors and lectlib ...", flush=True)
            floors, rows, models, peer_configs, load = measure(image, args.repeats,
                                                               args.whole_repeats)
        peers, peer_arrays = {}, {}
        python = {"pycroscopy": args.pycroscopy_python, "atomai": args.atomai_python}
        for name in PEERS:
            if name in args.skip_peer:
                peers[name], peer_arrays[name] = dict(
                    status="skipped", reason="left out of SLIDING_PEERS (run.sh)"), None
                continue
            print(f"running {name} ...", flush=True)
            peers[name], peer_arrays[name] = run_peer(name, python[name], image_path, tmp,
                                                      args.peer_repeats)

        with threadpool_limits(limits=1):
            # exact references: |rfft2| of the Hann-tapered windows in float64 and float32
            floors_abs = {}
            for name in ("float64", "float32"):
                taper = np.outer(hann, hann).astype(name)
                floors_abs[name] = np.concatenate([
                    np.abs(sp_fft.rfft2(np.multiply(windows[r], taper, dtype=name), workers=1))
                    for r in range(grid[0])]).astype(np.float64)
            accuracy = check_accuracy(image, floors_abs)
            del floors_abs["float32"]

            # lectlib's spectra as full planes, for the peers and the leakage measure
            hann_model = SlidingFFT(window=WINDOW, step=STEP, log=False, mask_center=0,
                                    dtype=np.float64).fit(image)
            hann_full = lectlib_to_full(hann_model.transform(image), hann_model)
            untapered_model = SlidingFFT(window=WINDOW, step=STEP, taper=None, log=False,
                                         mask_center=0, dtype=np.float64).fit(image)
            untapered_full = lectlib_to_full(untapered_model.transform(image), untapered_model)
            leakage = dict(
                measure=(f"share of each window's power (bins with |k| > {DC_RADIUS}) lying "
                         f"more than {PEAK_RADIUS} bins from all of its {PEAKS} strongest "
                         f"local maxima ({2 * PEAK_RADIUS + 1} × {2 * PEAK_RADIUS + 1}, "
                         "periodic); median over the windows"),
                **{f"lectlib_hann_{k}": v for k, v in spectrum_measures(hann_full).items()},
                **{f"lectlib_untapered_{k}": v for k, v in
                   spectrum_measures(untapered_full, reference=hann_full).items()},
            )
            del floors_abs

            closest = {"pycroscopy": "untapered float64 |F|", "atomai": "hamming float64 log"}
            for name in PEERS:
                info, arrays = peers[name], peer_arrays[name]
                if info["status"] != "ran":
                    continue
                print(f"comparing {name} ...", flush=True)
                try:
                    if name == "pycroscopy":
                        compare_pycroscopy_main(info, arrays, windows, grid, untapered_full,
                                                hann_full)
                        main_compare_zoom(info, arrays, image)
                    else:
                        compare_atomai(info, arrays, image, grid, hann_full)
                except Exception as exc:                      # noqa: BLE001 (recorded)
                    info["status"] = "failed"
                    info["reason"] = f"comparison failed: {type(exc).__name__}: {exc}"
                    continue
                label = closest[name]
                info["lectlib_closest"] = dict(label=label, **peer_configs[label])
                info["ratio_to_lectlib_closest"] = info["seconds"] / peer_configs[label]["time_s"]
                info["ratio_to_lectlib_default"] = info["seconds"] / rows[0]["time_s"]
                peer_arrays[name] = None

    result = dict(
        benchmark="sliding FFT: lectlib.sliding.SlidingFFT vs the batched scipy.fft.rfft2 floor; "
                  "pycroscopy and atomai in their own venvs",
        date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        machine=machine_info(),
        threads="1: threadpoolctl.threadpool_limits(1) in every process, OMP/OpenBLAS/"
                "MKL_NUM_THREADS=1, workers=1 for scipy.fft, dask's synchronous scheduler",
        allocator=allocator,
        blas_pools_during_timing=pools,
        versions=dict(lectlib=lectlib.__version__, lectlib_commit=git_commit(),
                      numpy=np.__version__, scipy=scipy.__version__, sklearn=sklearn.__version__,
                      threadpoolctl=threadpoolctl.__version__,
                      peers={n: p.get("versions") for n, p in peers.items()}),
        data=dict(call=f"make_lattice_phases({SHAPE}, random_state=0).image",
                  shape=list(SHAPE), dtype=str(image.dtype), window=WINDOW, step=STEP,
                  grid=list(grid), n_windows=int(n_windows), taper="hann (symmetric, "
                  "scipy.signal.windows.hann(64) in both directions)"),
        timing=dict(statistic="best over interleaved rounds, wall time (s), GC off; one untimed "
                              "call first",
                    repeats=args.repeats, whole_repeats=args.whole_repeats,
                    peer_repeats=args.peer_repeats,
                    load_average_1min_before_and_after=load,
                    note="other processes on the machine are not controlled; the load average "
                         "says whether something else was running"),
        floor_note="the floor computes the complex spectrum only: no magnitude, no log, and no "
                   "output array is kept",
        floors=floors, lectlib=rows, accuracy=accuracy, leakage=leakage, peers=peers,
        targets=dict(speed_ratio_max=SPEED_TARGET, memory_ratio_max=MEMORY_TARGET,
                     accuracy=TOL, crop=CROP),
    )
    result["table_markdown"] = markdown_tables(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(result["table_markdown"])
    print(f"\nwritten to {args.out}")
    for r in rows:
        if r["speed_target_applies"] and not r["speed_target_met"]:
            print(f"note: lectlib {r['label']} takes {r['ratio_to_floor']:.2f}× the floor "
                  f"(target ≤ {SPEED_TARGET})")
        if not r["memory_target_met"]:
            print(f"note: lectlib {r['label']} peaks at {r['peak_over_output']:.2f}× its output "
                  f"(target ≤ {MEMORY_TARGET})")
    failed = [n for n, a in accuracy.items() if not a["accuracy_ok"]]
    for name in failed:
        print(f"FAILED: lectlib's {name} spectra differ from the floor's beyond "
              f"{TOL[name]:g}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
