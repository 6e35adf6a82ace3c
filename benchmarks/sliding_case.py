"""The sliding-FFT benchmark's case: the image, its window grid,
and the settings compared.

Shared by the course's side (``bench_sliding.py``, ``sliding_timing.py``,
``sliding_accuracy.py``) and by the peers' side (``sliding_peers.py``), so it imports
numpy only (scipy inside :func:`hann_taper`, which the peers do not call).
"""

from __future__ import annotations

import numpy as np

SHAPE = (1024, 1024)  # make_lattice_phases(SHAPE, random_state=0).image
WINDOW = 64
STEP = 8
CROP = 16  # the cropped lectlib variants keep |k_y| ≤ 16 and 0 ≤ k_x ≤ 16
PEERS = ("pycroscopy", "atomai")
WARMUP_CROP = 128  # each peer's untimed first call runs on image[:128, :128]
ZOOM_CHECK_CROP = 192  # pycroscopy's filter-after-FFT path is checked on this crop

#: The lectlib settings closest to each peer's computation, timed for the peers' time
#: ratios: peer → (label, SlidingFFT keyword arguments besides window and step).
CLOSEST_SETTINGS = {
    "pycroscopy": (
        "untapered float64 |F|",
        dict(taper=None, log=False, mask_center=0, dtype=np.float64),
    ),
    "atomai": (
        "hamming float64 log",
        dict(taper="hamming", log=True, mask_center=0, dtype=np.float64),
    ),
}


def window_stack(image):
    """All 64 × 64 windows every 8 px, a read-only view (n_rows, n_cols, 64, 64)."""
    return np.lib.stride_tricks.sliding_window_view(image, (WINDOW, WINDOW))[
        ::STEP, ::STEP
    ]


def hann_taper(dtype):
    """The floor's taper: the symmetric Hann window in both directions,
    as lectlib's "hann"."""
    from scipy.signal import windows

    hann = windows.hann(WINDOW, sym=True)
    return np.outer(hann, hann).astype(dtype)


def lectlib_variants():
    """label → (SlidingFFT keyword arguments, dtype name, whether
    the speed target applies).

    The dtype is always passed, so that the comparison does not
    depend on lectlib's default.
    """
    return {
        "float32": (dict(dtype=np.float32), "float32", True),
        "float64": (dict(dtype=np.float64), "float64", True),
        "float32, crop=16": (dict(dtype=np.float32, crop=CROP), "float32", False),
        "float64, crop=16": (dict(dtype=np.float64, crop=CROP), "float64", False),
    }
