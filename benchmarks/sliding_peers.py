"""The peers' side of ``bench_sliding.py``: pycroscopy and atomai, each in its own venv.

Loads the image that ``bench_sliding.py`` hands over, runs one peer's sliding FFT with
the benchmark's window (64) and step (8): one untimed call on a 128 × 128 crop, then
``--repeats`` timed calls on the whole image (the garbage collector left on), and hands
back its spectra, its window positions, the timings and the versions. Imports numpy,
threadpoolctl, the peer and the harness, never lectlib. BLAS/OpenMP run on one thread
(``threadpoolctl`` and the environment), and glibc's allocator thresholds are fixed
first, as in the course's process. ::

    .venv-pycroscopy/bin/python sliding_peers.py DIRECTORY pycroscopy --repeats 1
    .venv-atomai/bin/python sliding_peers.py DIRECTORY atomai --repeats 1

* **pycroscopy 0.63**:
  ``ImageWindowing(...).MakeWindows(sidpy.Dataset.from_array(image))`` in
  ``mode="fft"``, ``fft_mode="abs"``, ``filter="hann"``, with dask's synchronous
  scheduler; its filter path (``filter="hamming", zoom_factor=2``) once more on a
  192 × 192 crop.
* **atomai 0.8**: ``SlidingFFTNMF(...)``'s ``make_windows`` + ``process_fft``
  (not its NMF), with ``interpolation_factor=1, zoom_factor=1, hamming_filter=True``;
  and whether it takes a 64 × 32 window.
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings

import numpy as np

import harness  # beside this script: Python puts the script's folder first on the path
from sliding_case import PEERS, STEP, WARMUP_CROP, WINDOW, ZOOM_CHECK_CROP


def time_calls(run, image, repeats):
    """Time ``repeats`` calls ``run(image)``:
    (the timing entries of the info, last result).

    An untimed call on a crop comes first; the garbage collector stays on.
    """
    run(image[:WARMUP_CROP, :WARMUP_CROP])
    seconds = []
    for _ in range(repeats):
        elapsed, result = harness.timed(run, image, gc_off=False)
        seconds.append(elapsed)
    return dict(seconds=min(seconds), all_seconds=seconds, repeats=repeats), result


def run_pycroscopy(image, repeats):
    """pycroscopy's ``ImageWindowing`` in FFT mode: (info, outputs)."""
    import dask
    import pycroscopy
    import scipy
    import sidpy
    import skimage
    from pycroscopy.image import ImageWindowing

    params = dict(
        window_size_x=WINDOW,
        window_size_y=WINDOW,
        window_step_x=STEP,
        window_step_y=STEP,
        mode="fft",
        fft_mode="abs",
        filter="hann",
    )

    def run(img, **extra):
        windowing = ImageWindowing(
            {**params, **extra}
        )  # it adds keys to the dict it gets
        result = windowing.MakeWindows(sidpy.Dataset.from_array(img))
        return windowing, result

    with dask.config.set(scheduler="synchronous"):
        timing, (windowing, result) = time_calls(run, image, repeats)
        spectra = np.asarray(result)
        # The only path on which the filter is used at all: a zoom factor other than 1
        # (the method returns before the filter otherwise), and the filter must not be
        # "hann".
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            zoomed_windowing, zoomed = run(
                image[:ZOOM_CHECK_CROP, :ZOOM_CHECK_CROP],
                filter="hamming",
                zoom_factor=2,
            )
    outputs = dict(
        spectra=spectra,
        positions=np.asarray(windowing.pos_vec, np.int64),
        zoomed=np.asarray(zoomed),
        zoomed_positions=np.asarray(zoomed_windowing.pos_vec, np.int64),
    )
    info = dict(
        **timing,
        call=(
            "ImageWindowing(dict(window_size_x=64, window_size_y=64, window_step_x=8, "
            "window_step_y=8, mode='fft', fft_mode='abs', filter='hann'))"
            ".MakeWindows(sidpy.Dataset.from_array(image))"
        ),
        timed=(
            "the ImageWindowing construction, the sidpy.Dataset wrapping and "
            "MakeWindows"
        ),
        scheduler=(
            "dask synchronous (one thread); its default is dask's threaded scheduler"
        ),
        output=dict(
            type=type(result).__name__,
            shape=list(spectra.shape),
            dtype=str(spectra.dtype),
        ),
        filter_attribute=windowing.filter,
        has_filter_matrix=hasattr(windowing, "filter_mat"),
        zoom_check=dict(
            crop=ZOOM_CHECK_CROP,
            call=(
                "ImageWindowing(dict(..., filter='hamming', zoom_factor=2))"
                ".MakeWindows(...) on image[:192, :192]"
            ),
            filter_matrix_shape=list(np.shape(zoomed_windowing.filter_mat)),
            output_shape=list(np.shape(zoomed)),
            output_dtype=str(np.asarray(zoomed).dtype),
            warnings=sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
        ),
        versions=dict(
            pycroscopy=pycroscopy.__version__,
            sidpy=sidpy.__version__,
            dask=dask.__version__,
            numpy=np.__version__,
            scipy=scipy.__version__,
            skimage=skimage.__version__,
        ),
    )
    return info, outputs


def run_atomai(image, repeats):
    """atomai's ``SlidingFFTNMF`` windows and spectra (without the NMF):
    (info, outputs)."""
    import atomai
    import scipy
    import torch
    from atomai.stat import SlidingFFTNMF

    def model(wy=WINDOW, wx=WINDOW):
        # window_size_x is along axis 0 (rows), window_size_y along axis 1 (columns).
        return SlidingFFTNMF(
            window_size_x=wy,
            window_size_y=wx,
            window_step_x=STEP,
            window_step_y=STEP,
            interpolation_factor=1,
            zoom_factor=1,
            hamming_filter=True,
        )

    def run(img):
        m = model()
        with contextlib.redirect_stdout(io.StringIO()):  # it prints as it goes
            spectra = m.process_fft(m.make_windows(img))
        return m, spectra

    timing, (m, spectra) = time_calls(run, image, repeats)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            model(WINDOW, WINDOW // 2).make_windows(image[:256, :256])
        non_square = "ran"
    except Exception as exc:  # noqa: BLE001 (recorded)
        non_square = f"{type(exc).__name__}: {exc}"
    outputs = dict(
        spectra=np.asarray(spectra), positions=np.asarray(m.pos_vec, np.int64)
    )
    info = dict(
        **timing,
        call=(
            "m = SlidingFFTNMF(window_size_x=64, window_size_y=64, window_step_x=8, "
            "window_step_y=8, interpolation_factor=1, zoom_factor=1, "
            "hamming_filter=True); m.process_fft(m.make_windows(image))"
        ),
        timed=(
            "make_windows + process_fft (not run_nmf), with its printing sent to a "
            "buffer"
        ),
        output=dict(
            shape=list(np.shape(spectra)), dtype=str(np.asarray(spectra).dtype)
        ),
        window_64x32=non_square,
        versions=dict(
            atomai=atomai.__version__,
            torch=torch.__version__,
            numpy=np.__version__,
            scipy=scipy.__version__,
        ),
    )
    return info, outputs


def main(argv=None):
    parser = harness.peer_parser(__doc__)
    parser.add_argument("library", choices=PEERS, help="the peer to run")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    allocator = harness.fix_malloc()  # before the image is loaded
    image = harness.load_inputs(args.directory)["image"]
    run = run_pycroscopy if args.library == "pycroscopy" else run_atomai
    with threadpool_limits(limits=1):
        info, outputs = run(image, args.repeats)
        info["blas_pools_during_timing"] = harness.thread_pools(filepath=False)
    info["allocator"] = allocator
    harness.save_outputs(args.directory, info, outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
