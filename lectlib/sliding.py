"""Sliding-window descriptors of images: local Fourier transforms, autocorrelations, histograms.

A window slides over the image with a fixed step; each window becomes one descriptor vector
(one row of a feature matrix), so that the machinery of the spectral chapters — PCA, N-FINDR,
clustering — applies to images. The local Fourier magnitude is the workhorse: it does not depend
on where the lattice sits inside the window (translation invariance), it is non-negative (so
unmixing applies), and symmetry and periodicity appear as spots.

Windows are tapered **before** the transform: multiplying by a smooth window (Hann) removes the
jump at the window edges that otherwise spreads every spot into a cross of leakage. (Tapering
the transform afterwards, as some peer code does, smooths the spots instead and leaves the
leakage.)

Coordinates are ``(row, col)``; windows are listed in row-major order of their grid.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import fft as sp_fft
from scipy import signal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._validation import as_float_array, check_scalar

__all__ = [
    "sliding_windows",
    "window_grid",
    "fold_windows",
    "SlidingFFT",
    "sliding_autocorrelation",
    "sliding_histogram",
]


def _pair(value, name, low=1):
    """An int or a pair of ints as a (y, x) tuple."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (tuple, list, np.ndarray)):
        raise TypeError(f"{name} must be an int or a pair (y, x) of ints, got {value!r}")
    try:
        y, x = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or a pair (y, x) of ints, got {value!r}") from None
    return (check_scalar(y, f"{name}[0]", low=low, integer=True),
            check_scalar(x, f"{name}[1]", low=low, integer=True))


def _check_image(image, name="image"):
    return as_float_array(image, name, ndim=2)


def window_grid(image_shape, window, step):
    """Shape of the grid of windows and the centres of the windows, ``(grid_shape, centres)``.

    ``centres`` is (n_windows, 2) in (row, col) image coordinates, in row-major grid order.

    Examples
    --------
    >>> grid, centres = window_grid((10, 12), 4, (2, 4))
    >>> grid, centres[:2].tolist()
    ((4, 3), [[1.5, 1.5], [1.5, 5.5]])
    """
    h, w = _pair(image_shape, "image_shape")
    wy, wx = _pair(window, "window")
    sy, sx = _pair(step, "step")
    if wy > h or wx > w:
        raise ValueError(f"a window of {wy} x {wx} does not fit in an image of {h} x {w}")
    grid = ((h - wy) // sy + 1, (w - wx) // sx + 1)
    rows = np.arange(grid[0]) * sy + (wy - 1) / 2
    cols = np.arange(grid[1]) * sx + (wx - 1) / 2
    centres = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)
    return grid, centres


def sliding_windows(image, window, step=1):
    """All windows of an image as a strided view (no copy), shape (n_rows, n_cols, wy, wx).

    Parameters
    ----------
    image : array_like, shape (height, width)
    window : int or (int, int)
        Window size (wy, wx).
    step : int or (int, int), default=1
        Step between windows (sy, sx). Windows that would run past the edge are left out.

    Returns
    -------
    windows : ndarray, shape (n_rows, n_cols, wy, wx)
        A read-only view into ``image`` (a float64 copy of it if it was not float64).

    Examples
    --------
    >>> image = np.arange(20.0).reshape(4, 5)
    >>> w = sliding_windows(image, 2, (2, 3))
    >>> w.shape, w[1, 1].tolist(), np.shares_memory(w, image)
    ((2, 2, 2, 2), [[13.0, 14.0], [18.0, 19.0]], True)
    """
    image = _check_image(image)
    grid, _ = window_grid(image.shape, window, step)
    wy, wx = _pair(window, "window")
    sy, sx = _pair(step, "step")
    view = np.lib.stride_tricks.sliding_window_view(image, (wy, wx))[::sy, ::sx]
    assert view.shape[:2] == grid
    return view


def fold_windows(values, grid_shape):
    """Per-window results (n_windows, ...) back onto the window grid (n_rows, n_cols, ...).

    Examples
    --------
    >>> fold_windows(np.arange(6), (2, 3)).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    values = np.asarray(values)
    grid = _pair(grid_shape, "grid_shape")
    if values.shape[0] != grid[0] * grid[1]:
        raise ValueError(f"{values.shape[0]} values do not fill a grid of {grid[0]} x {grid[1]}")
    return values.reshape(grid + values.shape[1:])


def _taper_1d(kind, wy, wx):
    """The taper's two factors (it is separable): arrays of length wy and wx."""
    if kind is None or kind == "none":
        return np.ones(wy), np.ones(wx)
    if kind not in ("hann", "hamming", "blackman", "tukey"):
        raise ValueError(f"taper must be 'hann', 'hamming', 'blackman', 'tukey' or None, got {kind!r}")
    wy_ = signal.get_window(kind, wy, fftbins=False) if wy > 1 else np.ones(1)
    wx_ = signal.get_window(kind, wx, fftbins=False) if wx > 1 else np.ones(1)
    return wy_, wx_


def _taper(kind, wy, wx, dtype):
    if kind is None or kind == "none":
        return None
    wy_, wx_ = _taper_1d(kind, wy, wx)
    return np.outer(wy_, wx_).astype(dtype)


class SlidingFFT(TransformerMixin, BaseEstimator):
    """Local Fourier-magnitude descriptors of an image, one row per window.

    Each window is tapered, Fourier transformed (all windows of a block of grid rows in one
    batched real FFT), and its magnitude — optionally log-scaled, cropped to the central part
    of reciprocal space and with the zero frequency masked — becomes a feature vector. The
    magnitude of the transform of a real image is centrosymmetric, |F(−k)| = |F(k)|, so only
    the half plane k_x ≥ 0 is kept: no information is lost.

    Parameters
    ----------
    window : int or (int, int), default=32
        Window size (wy, wx) in pixels.
    step : int or (int, int), default=8
        Step between windows.
    taper : {"hann", "hamming", "blackman", "tukey", None}, default="hann"
        Window function applied to each window before the transform.
    log : bool, default=True
        Return log(1 + |F|) instead of |F|.
    crop : int or (int, int), optional
        Keep only frequencies with |k_y| ≤ crop_y and 0 ≤ k_x ≤ crop_x (in FFT bins); by default
        all of them.
    mask_center : int, default=1
        Zero the frequencies within this many bins of k = 0 along both axes (a square: the
        mean intensity, spread by the taper over the neighbouring bins, carries no structure);
        0 keeps them.
    dtype : numpy dtype, default=numpy.float32
        Precision of the transform and of the descriptors: single precision is ample for
        magnitudes used in segmentation, halves the memory and doubles the speed.
    block_rows : int, optional
        Grid rows transformed at a time (bounds the temporary memory); chosen automatically.

    Attributes
    ----------
    grid_shape_ : (int, int)
        Windows per column and per row of the image, from the last ``fit``/``transform``.
    centers_ : ndarray, shape (n_windows, 2)
        (row, col) centres of the windows in the image.
    frequencies_ : ndarray, shape (n_features, 2)
        (k_y, k_x) of every feature in cycles per pixel (rows of the half plane in the FFT's
        natural order, k_y = 0, 1/wy, …, then the negative ones; :meth:`to_reciprocal` puts
        them in order for display).
    feature_shape_ : (int, int)
        The kept half plane as an image, (n_ky, n_kx).
    image_shape_ : (int, int)
        Shape of the image seen in ``fit``.

    Examples
    --------
    >>> y, x = np.mgrid[:64, :64]
    >>> image = np.cos(2 * np.pi * (x / 8))             # fringes along x, period 8 px
    >>> fft = SlidingFFT(window=32, step=16, log=False)
    >>> features = fft.fit_transform(image)
    >>> features.shape, fft.grid_shape_
    ((9, 544), (3, 3))
    >>> fft.frequencies_[np.argmax(features[0])].tolist()   # the peak at k_x = 1/8
    [0.0, 0.125]
    """

    def __init__(self, window=32, step=8, *, taper="hann", log=True, crop=None, mask_center=1,
                 dtype=np.float32, block_rows=None):
        self.window = window
        self.step = step
        self.taper = taper
        self.log = log
        self.crop = crop
        self.mask_center = mask_center
        self.dtype = dtype
        self.block_rows = block_rows

    def _setup(self, image_shape):
        wy, wx = _pair(self.window, "window")
        _pair(self.step, "step")
        dtype = np.dtype(self.dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        grid, centres = window_grid(image_shape, self.window, self.step)
        # FFT rows stay in their natural order (k_y = 0, 1, ..., then the negative ones), so
        # that the uncropped magnitudes need no reordering; frequencies_ says which is which.
        ky = sp_fft.fftfreq(wy)
        kx = sp_fft.rfftfreq(wx)
        bins_y = np.rint(ky * wy).astype(int)                 # signed bin index of each row
        rows = np.arange(wy)
        cols = np.arange(kx.size)
        if self.crop is not None:
            cy, cx = _pair(self.crop, "crop", low=0)
            rows = rows[np.abs(bins_y) <= cy]
            cols = cols[cols <= cx]
        mask = check_scalar(self.mask_center, "mask_center", low=0, integer=True)
        fy, fx = np.meshgrid(ky[rows], kx[cols], indexing="ij")
        by, bx = np.meshgrid(bins_y[rows], cols, indexing="ij")
        # A square around k = 0: the taper spreads the window's mean over the 3 x 3 bins
        # around zero (Hann), diagonals included.
        keep_zero = np.maximum(np.abs(by), np.abs(bx)) > (mask if mask > 0 else -1)
        return dict(
            wy=wy, wx=wx, dtype=dtype, grid=grid, centres=centres, rows=rows, cols=cols,
            taper=_taper(self.taper, wy, wx, dtype), frequencies=np.stack([fy, fx], -1).reshape(-1, 2),
            masked=~keep_zero.ravel(),
        )

    def fit(self, X, y=None):
        """Record the window grid and the frequencies for images of this shape."""
        image = _check_image(X, "X")
        setup = self._setup(image.shape)
        self.image_shape_ = image.shape
        self.grid_shape_ = setup["grid"]
        self.centers_ = setup["centres"]
        self.frequencies_ = setup["frequencies"]
        self.feature_shape_ = (setup["rows"].size, setup["cols"].size)
        self.n_features_in_ = image.shape[1]
        return self

    def transform(self, X):
        """Descriptors of every window of the image ``X``: (n_windows, n_features)."""
        check_is_fitted(self)
        image = _check_image(X, "X")
        setup = self._setup(image.shape)
        self.grid_shape_ = setup["grid"]
        self.centers_ = setup["centres"]
        wy, wx, dtype = setup["wy"], setup["wx"], setup["dtype"]
        rows, cols = setup["rows"], setup["cols"]
        n_rows, n_cols = setup["grid"]
        n_features = rows.size * cols.size
        out = np.empty((n_rows * n_cols, n_features), dtype=dtype)
        sy, sx = _pair(self.step, "step")
        ty, tx = (t.astype(dtype) for t in _taper_1d(self.taper, wy, wx))
        complex_dtype = np.complex64 if dtype == np.float32 else np.complex128
        # The taper is separable and the 2-D transform is a transform along x, then along y.
        # A window's rows are segments of image rows, and every image row segment at a given
        # column offset is shared by the wy / sy windows stacked above each other: transform
        # each segment along x once (tapered by the x factor), then, for each window, only
        # along y (tapered by the y factor). The result is the tapered window's rfft2.
        used = (n_rows - 1) * sy + wy
        segments = np.lib.stride_tricks.sliding_window_view(image[:used], wx, axis=1)[:, ::sx]
        row_fft = np.empty((used, n_cols, cols.size), dtype=complex_dtype)
        chunk = max(1, int(4e6 // (n_cols * wx * dtype.itemsize)))
        for i0 in range(0, used, chunk):
            part = np.multiply(segments[i0:i0 + chunk], tx, dtype=dtype)
            row_fft[i0:i0 + chunk] = sp_fft.rfft(part, axis=-1, workers=1,
                                                 overwrite_x=True)[..., cols]
        # Windows along y: (n_rows, n_cols, n_kx, wy) views into row_fft.
        stacks = np.lib.stride_tricks.sliding_window_view(row_fft, wy, axis=0)[::sy]
        if self.block_rows is None:
            per_row = n_cols * cols.size * wy * np.dtype(complex_dtype).itemsize
            block = max(1, int(4e6 // per_row))
        else:
            block = check_scalar(self.block_rows, "block_rows", low=1, integer=True)
        for r0 in range(0, n_rows, block):
            r1 = min(n_rows, r0 + block)
            tapered = np.multiply(stacks[r0:r1], ty, dtype=complex_dtype)
            spectrum = sp_fft.fft(tapered, axis=-1, workers=1, overwrite_x=True)
            if rows.size < wy:
                spectrum = spectrum[..., rows]
            dest = out[r0 * n_cols:r1 * n_cols].reshape(r1 - r0, n_cols, rows.size, cols.size)
            np.abs(spectrum.swapaxes(-1, -2), out=dest)
            if self.log:
                np.log1p(dest, out=dest)
        out[:, setup["masked"]] = 0
        return out

    def to_maps(self, values):
        """Per-window values (n_windows, ...) as maps on the window grid (n_rows, n_cols, ...)."""
        check_is_fitted(self)
        return fold_windows(values, self.grid_shape_)

    def to_reciprocal(self, features):
        """Feature vectors as centred reciprocal-space images (..., n_ky, 2 n_kx − 1).

        The kept half plane is mirrored through k = 0 (|F(−k)| = |F(k)|) to give the full,
        centrosymmetric picture, k_x increasing to the right and k_y downwards.
        """
        check_is_fitted(self)
        features = np.asarray(features)
        ny, nx = self.feature_shape_
        if features.shape[-1] != ny * nx:
            raise ValueError(f"features have {features.shape[-1]} values, expected {ny * nx}")
        half = features.reshape(features.shape[:-1] + (ny, nx))
        ky = self.frequencies_.reshape(ny, nx, 2)[:, 0, 0]
        half = half[..., np.argsort(ky, kind="stable"), :]          # ascending k_y
        # Mirror: column kx ↦ −kx, row ky ↦ −ky (rows are symmetric about the centre row when
        # cropped symmetrically; for an even uncropped window the lowest k_y has no partner).
        mirrored = half[..., ::-1, :0:-1]
        if ny % 2 == 0:                 # uncropped even window: drop the unpaired Nyquist row
            half, mirrored = half[..., 1:, :], mirrored[..., :-1, :]
        return np.concatenate([mirrored, half], axis=-1)


def sliding_autocorrelation(image, window, step=1, *, taper="hann", normalize=True):
    """Local autocorrelation of every window, through the Fourier transform (Wiener–Khinchin).

    Returns (n_windows, wy, wx) autocorrelations with zero shift at the centre ``(wy // 2,
    wx // 2)``; each window's mean is removed first, and with ``normalize`` the zero-shift
    value is 1. Periodic order shows as a lattice of peaks at the lattice vectors.

    Examples
    --------
    >>> y, x = np.mgrid[:32, :32]
    >>> ac = sliding_autocorrelation(np.cos(2 * np.pi * x / 8), 16, 16, taper=None)
    >>> ac.shape, round(float(ac[0, 8, 8 - 8]), 6), round(float(ac[0, 8, 8 - 4]), 6)
    ((4, 16, 16), 1.0, -1.0)
    """
    windows = sliding_windows(image, window, step)
    wy, wx = windows.shape[2:]
    stack = windows.reshape(-1, wy, wx)
    scale = np.abs(stack).max(axis=(1, 2))
    stack = stack - stack.mean(axis=(1, 2), keepdims=True)
    # A constant window leaves only round-off after removing its mean: no structure at all.
    flat = np.abs(stack).max(axis=(1, 2)) <= 64 * np.finfo(float).eps * scale
    stack[flat] = 0.0
    tp = _taper(taper, wy, wx, np.float64)
    if tp is not None:
        stack = stack * tp
    power = np.abs(sp_fft.rfft2(stack, axes=(1, 2))) ** 2
    ac = sp_fft.irfft2(power, s=(wy, wx), axes=(1, 2))
    ac = sp_fft.fftshift(ac, axes=(1, 2))
    if normalize:
        zero = ac[:, wy // 2, wx // 2][:, None, None]
        ac = np.divide(ac, zero, out=np.zeros_like(ac), where=zero > 0)
    return ac


def sliding_histogram(image, window, step=1, *, bins=16, range=None, density=True):
    """Local intensity histogram of every window: (n_windows, bins).

    The bins are those of :func:`numpy.histogram` with the same ``range`` (by default the whole
    image's minimum and maximum, shared by all windows); values outside ``range`` are not
    counted. With ``density`` the counts are divided by the window's pixel count (fractions).
    Counts come from one cumulative sum per bin (summed-area tables), so the cost does not grow
    with the window size.

    Examples
    --------
    >>> image = np.zeros((8, 8)); image[:, 4:] = 1.0
    >>> h = sliding_histogram(image, 4, 4, bins=2, range=(0, 1), density=False)
    >>> h.tolist()
    [[16.0, 0.0], [0.0, 16.0], [16.0, 0.0], [0.0, 16.0]]
    """
    image = _check_image(image)
    grid, _ = window_grid(image.shape, window, step)
    wy, wx = _pair(window, "window")
    sy, sx = _pair(step, "step")
    bins = check_scalar(bins, "bins", low=1, integer=True)
    lo, hi = (float(image.min()), float(image.max())) if range is None else map(float, range)
    if not hi > lo:
        hi = lo + 1.0
    # The bins of numpy.histogram: [e_i, e_i+1) and the last one closed; values outside the
    # range are not counted.
    edges = np.linspace(lo, hi, bins + 1)
    index = np.searchsorted(edges, image, side="right") - 1
    index[image == hi] = bins - 1
    index[(image < lo) | (image > hi)] = -1
    out = np.empty((grid[0] * grid[1], bins))
    r = np.arange(grid[0]) * sy
    c = np.arange(grid[1]) * sx
    for b in np.arange(bins):
        table = np.zeros((image.shape[0] + 1, image.shape[1] + 1))
        table[1:, 1:] = np.cumsum(np.cumsum(index == b, axis=0), axis=1)
        counts = (table[np.ix_(r + wy, c + wx)] - table[np.ix_(r, c + wx)]
                  - table[np.ix_(r + wy, c)] + table[np.ix_(r, c)])
        out[:, b] = counts.ravel()
    if density:
        out /= wy * wx
    return out
