"""Sliding-window descriptors of images: local Fourier transforms, autocorrelations,
histograms.

A window slides over the image with a fixed step; each window becomes one descriptor
vector (one row of a feature matrix), so that the machinery of the spectral chapters —
PCA, N-FINDR, clustering — applies to images. The local Fourier magnitude is the
workhorse: it does not depend on where the lattice sits inside the window
(translation invariance), it is non-negative (so unmixing applies), and symmetry and
periodicity appear as spots.

Windows are tapered **before** the transform: multiplying by a smooth window (Hann)
removes the jump at the window edges that otherwise spreads every spot into a cross of
leakage. (Tapering the transform afterwards, as some peer code does, smooths the spots
instead and leaves the leakage.)

Coordinates are ``(row, col)``; windows are listed in row-major order of their grid.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft
from scipy import signal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from ._validation import (
    as_float_array,
    check_labels,
    check_magnitude,
    check_option,
    check_pair,
    check_scalar,
    check_size,
    reject_strings,
)

#: Window functions a taper can be (None: no taper),
#: from :func:`scipy.signal.get_window`.
TAPERS = ("hann", "hamming", "blackman", "tukey", None)

__all__ = [
    "sliding_windows",
    "window_grid",
    "fold_windows",
    "window_fractions",
    "labels_at_centers",
    "SlidingFFT",
    "sliding_autocorrelation",
    "sliding_histogram",
]


def _pair(value, name, low=1):
    """An int or a pair of ints as a (y, x) tuple: window sizes, steps, crops,
    grid shapes."""
    return check_pair(
        value, name, integer=True, low=low, broadcast=True, labels="(y, x)"
    )


def _check_image(image, name="image"):
    return as_float_array(image, name, ndim=2)


def window_grid(image_shape, window, step):
    """Shape of the grid of windows and the centers of the windows,
    ``(grid_shape, centers)``.

    Parameters
    ----------
    image_shape : int or (int, int)
        ``(height, width)`` of the image.
    window : int or (int, int)
        Window size (wy, wx); it must fit in the image.
    step : int or (int, int)
        Step between windows (sy, sx).

    Returns
    -------
    grid_shape : (int, int)
        ``(n_rows, n_cols)``: windows per column and per row of the image.
    centers : ndarray, shape (n_windows, 2)
        ``(row, col)`` image coordinates of every window's center,
        in row-major grid order.

    See Also
    --------
    sliding_windows : the windows' pixels on this grid, not only its shape and centers.
    fold_windows : per-window results back onto this grid.
    labels_at_centers : the label of the pixel at each of these centers.

    Notes
    -----
    Windows start at rows ``0, sy, 2 sy, …`` and columns ``0, sx, …``; a window that
    would run past the edge is left out, so ``n_rows = (height - wy) // sy + 1`` (and
    likewise ``n_cols``). A window's center is its first pixel plus ``(wy - 1) / 2``:
    for an even window, a half-integer between two pixels.

    Examples
    --------
    >>> from lectlib.sliding import window_grid
    >>> grid, centers = window_grid((10, 12), 4, (2, 4))
    >>> grid, centers[:2].tolist()
    ((4, 3), [[1.5, 1.5], [1.5, 5.5]])
    """
    h, w = _pair(image_shape, "image_shape")
    wy, wx = _pair(window, "window")
    sy, sx = _pair(step, "step")
    if wy > h or wx > w:
        raise ValueError(
            f"a window of {wy} x {wx} does not fit in an image of {h} x {w}"
        )
    grid = ((h - wy) // sy + 1, (w - wx) // sx + 1)
    rows = np.arange(grid[0]) * sy + (wy - 1) / 2
    cols = np.arange(grid[1]) * sx + (wx - 1) / 2
    centers = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1).reshape(-1, 2)
    return grid, centers


def sliding_windows(image, window, step=1):
    """All windows of an image as a strided view (no copy),
    shape (n_rows, n_cols, wy, wx).

    Parameters
    ----------
    image : array_like, shape (height, width)
    window : int or (int, int)
        Window size (wy, wx).
    step : int or (int, int), default=1
        Step between windows (sy, sx). Windows that would run
        past the edge are left out.

    Returns
    -------
    windows : ndarray, shape (n_rows, n_cols, wy, wx)
        A read-only view into ``image`` (a float64 copy of it if it was not float64).

    See Also
    --------
    window_grid : the grid's shape and the windows' centers, without the pixels.
    SlidingFFT : the tapered Fourier magnitude of every window, one feature row each.
    sliding_autocorrelation : every window's autocorrelation instead of its pixels.

    Notes
    -----
    :func:`numpy.lib.stride_tricks.sliding_window_view` of the image, taken every
    ``step`` pixels: windows that overlap share their pixels in memory, so even a step
    of 1 costs no copy. The view is read-only because a pixel belongs to several
    windows.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.sliding import sliding_windows
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
    """Per-window results (n_windows, ...) back onto the
    window grid (n_rows, n_cols, ...).

    Parameters
    ----------
    values : array_like, shape (n_windows, ...)
        One result per window (a label, a row of abundances, a descriptor), in row-major
        grid order, as :func:`window_grid` and :class:`SlidingFFT` list the windows.
        They are only rearranged, never computed with: any dtype, NaN
        (e.g. for "no value") included.
    grid_shape : int or (int, int)
        ``(n_rows, n_cols)``, e.g. from :func:`window_grid` or
        ``SlidingFFT.grid_shape_``.

    Returns
    -------
    maps : ndarray, shape (n_rows, n_cols, ...)
        ``values`` reshaped: a view, not a copy, when ``values`` is a contiguous array.

    See Also
    --------
    SlidingFFT.to_maps : the same for a fitted estimator, also for the rows of several
        images.
    window_grid : the grid shape and the windows' centers.
    window_fractions : per-window label fractions, the kind of result folded here.

    Notes
    -----
    Row-major order puts the window in grid row ``r`` and column ``c`` at row
    ``r * n_cols + c`` of ``values``, so folding is a reshape and undoes the flattening
    exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.sliding import fold_windows
    >>> fold_windows(np.arange(6), (2, 3)).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    values = np.asarray(values)
    grid = _pair(grid_shape, "grid_shape")
    n_values = values.shape[0] if values.ndim else "a single value: no"
    if n_values != grid[0] * grid[1]:
        raise ValueError(
            f"{n_values} values do not fill a grid of {grid[0]} x {grid[1]}"
        )
    return values.reshape(grid + values.shape[1:])


def window_fractions(labels, window, step=1, *, n_labels=None, taper="hann"):
    """The share of every window that each label covers, weighted by the taper.

    A window's Fourier magnitude is a sum over its pixels weighted by the taper, so the
    natural measure of how much of a phase a window sees is the **taper-weighted
    fraction** ``f_p = Σ h [label = p] / Σ h``: the ground truth that unmixing sliding
    descriptors should recover, and its largest value is the window's **purity**.

    Parameters
    ----------
    labels : array_like of int, shape (height, width)
        A label per pixel (e.g. the true phase map), ``0 .. n_labels - 1``.
    window : int or (int, int)
        Window size (wy, wx).
    step : int or (int, int), default=1
        Step between windows.
    n_labels : int, optional
        Number of labels (columns of the result); by default ``labels.max() + 1``.
    taper : {"hann", "hamming", "blackman", "tukey", None}, default="hann"
        The weights, as in :class:`SlidingFFT`; None weighs every pixel the same.

    Returns
    -------
    fractions : ndarray of shape (n_windows, n_labels)
        Rows sum to one; windows in row-major grid order,
        as :class:`SlidingFFT` lists them.

    See Also
    --------
    labels_at_centers : one label per window, the one at its center.
    fold_windows : the fractions as maps on the window grid.

    Notes
    -----
    The taper is separable, so each label's weighted sum is a correlation along the rows
    and then along the columns, sampled every ``step`` pixels: the cost grows with
    ``wy + wx``, not ``wy * wx``.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.sliding import window_fractions
    >>> labels = np.zeros((8, 12), dtype=int); labels[:, 6:] = 1
    >>> window_fractions(labels, 4, 2, taper=None).round(2).tolist()[:5]
    [[1.0, 0.0], [1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.0, 1.0]]
    """
    labels = check_labels(labels, "labels", ndim=2)
    n_found = int(labels.max()) + 1
    if n_labels is None:
        n_labels = n_found
    n_labels = check_scalar(n_labels, "n_labels", low=1, integer=True)
    check_size(n_labels * labels.size, "the label masks (n_labels x pixels)")
    if n_found > n_labels:
        raise ValueError(f"labels go up to {n_found - 1} but n_labels is {n_labels}")
    window_grid(labels.shape, window, step)  # checks that the window fits
    wy, wx = _pair(window, "window")
    sy, sx = _pair(step, "step")
    ty, tx = _taper_1d(taper, wy, wx)
    one_hot = (labels[None] == np.arange(n_labels)[:, None, None]).astype(float)
    along_y = (
        np.lib.stride_tricks.sliding_window_view(one_hot, wy, axis=1)[:, ::sy] @ ty
    )
    both = (
        np.lib.stride_tricks.sliding_window_view(along_y, wx, axis=2)[:, :, ::sx] @ tx
    )
    return both.reshape(n_labels, -1).T / (ty.sum() * tx.sum())


def labels_at_centers(labels, window, step=1):
    """The label of the pixel at the center of every window: ``(n_windows,)``.

    Parameters
    ----------
    labels : array_like of int, shape (height, width)
        A non-negative integer label per pixel (e.g. the true phase map).
    window : int or (int, int)
        Window size (wy, wx).
    step : int or (int, int), default=1
        Step between windows.

    Returns
    -------
    center_labels : ndarray of int, shape (n_windows,)
        In row-major grid order. An even window's center lies between pixels; the pixel
        taken is the nearest one, ties to the even index (as :func:`numpy.rint`).

    See Also
    --------
    window_fractions : how much of each label every window sees.
    window_grid : the centers themselves.

    Notes
    -----
    The centers of :func:`window_grid`, rounded to the nearest pixel. A cruder ground
    truth than :func:`window_fractions`: a window that straddles a boundary gets one
    label, whatever share of it the other side covers (in the example, the window over
    columns 4–7 is half of each label and is given label 1).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.sliding import labels_at_centers
    >>> labels = np.zeros((8, 12), dtype=int); labels[:, 6:] = 1
    >>> labels_at_centers(labels, 4, 2).tolist()[:5]
    [0, 0, 1, 1, 1]
    """
    labels = check_labels(labels, "labels", ndim=2)
    _, centers = window_grid(labels.shape, window, step)
    rows, cols = np.rint(centers).astype(np.intp).T
    return labels[rows, cols]


def _taper_1d(kind, wy, wx):
    """The taper's two factors (it is separable): arrays of length wy and wx."""
    check_option(kind, "taper", TAPERS)
    if kind is None:
        return np.ones(wy), np.ones(wx)
    wy_ = signal.get_window(kind, wy, fftbins=False) if wy > 1 else np.ones(1)
    wx_ = signal.get_window(kind, wx, fftbins=False) if wx > 1 else np.ones(1)
    for n, factor in ((wy, wy_), (wx, wx_)):
        if not np.any(factor > 0):
            raise ValueError(
                f"a {kind!r} taper over {n} pixels is zero everywhere; use a "
                "window of at least 3 pixels, or taper=None"
            )
    return wy_, wx_


def _taper(kind, wy, wx, dtype):
    if kind is None:
        return None
    wy_, wx_ = _taper_1d(kind, wy, wx)
    return np.outer(wy_, wx_).astype(dtype)


def _check_images(X):
    """A stack of images (n_images, height, width) of float64;
    one 2-D image is a stack of one.

    scikit-learn's validator, so that messages (complex, object, empty input) are the
    ones its estimator checks expect.
    """
    reject_strings(X)
    X = check_array(X, dtype=np.float64, allow_nd=True, input_name="X")
    check_magnitude(X, "X")
    if X.ndim > 3:
        raise ValueError(
            f"X must be one image (height, width) or a stack of images "
            f"(n_images, height, width), got a {X.ndim}-D array of shape {X.shape}"
        )
    return X[None] if X.ndim == 2 else X


class SlidingFFT(TransformerMixin, BaseEstimator):
    """Local Fourier-magnitude descriptors of images, one row per window.

    Each window is tapered, Fourier transformed (all windows of a block of grid rows in
    one batched real FFT), and its magnitude — optionally log-scaled, cropped to the
    central part of reciprocal space and with the zero frequency masked — becomes a
    feature vector. The magnitude of the transform of a real image is centrosymmetric,
    |F(−k)| = |F(k)|, so only the half plane k_x ≥ 0 is kept: no information is lost.

    The input is a stack of images of one size, ``(n_images, height, width)``, or one
    image ``(height, width)`` (a stack of one), as for scikit-learn's
    :class:`~sklearn.feature_extraction.image.PatchExtractor`. Every image gives the
    windows of one grid, so the output has ``n_images * n_windows`` rows: the windows of
    the first image in row-major grid order, then those of the second, and so on.

    Parameters
    ----------
    window : int or (int, int), default=32
        Window size (wy, wx) in pixels.
    step : int or (int, int), default=8
        Step between windows: a quarter of the default window, the usual compromise
        between the smoothness of the maps and the number of transforms. (The window
        functions, :func:`sliding_windows`, :func:`window_fractions` and the others,
        take every pixel, ``step=1``, by default, as
        :func:`numpy.lib.stride_tricks.sliding_window_view` does; pass the estimator's
        step to match its grid.)
    taper : {"hann", "hamming", "blackman", "tukey", None}, default="hann"
        Window function applied to each window before the transform.
    log : bool, default=True
        Return log(1 + |F|) instead of |F|.
    crop : int or (int, int), optional
        Keep only frequencies with |k_y| ≤ crop_y and 0 ≤ k_x ≤ crop_x (in FFT bins); by
        default all of them.
    mask_center : int, default=1
        Zero the frequencies within this many bins of k = 0 along both axes (a square:
        the mean intensity, spread by the taper over the neighboring bins, carries no
        structure); 0 keeps them.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Precision of the transform and of the descriptors. Single precision is ample for
        magnitudes used in segmentation, halves the memory and is about twice as fast
        (see the benchmarks appendix); it is lectlib's one option that returns float32.
    block_rows : int, optional
        Grid rows transformed at a time (bounds the temporary memory);
        chosen automatically.

    Attributes
    ----------
    image_shape_ : (int, int)
        ``(height, width)`` of the images seen in ``fit``; ``transform`` takes images of
        this size.
    grid_shape_ : (int, int)
        Windows per column and per row of an image.
    n_windows_ : int
        Windows per image, ``grid_shape_[0] * grid_shape_[1]``.
    centers_ : ndarray, shape (n_windows_, 2)
        (row, col) centers of the windows in an image.
    frequencies_ : ndarray, shape (n_features, 2)
        (k_y, k_x) of every feature in cycles per pixel (rows of the half plane in the
        FFT's natural order, k_y = 0, 1/wy, …, then the negative ones;
        :meth:`to_reciprocal` puts them in order for display).
    feature_shape_ : (int, int)
        The kept half plane as an image, (n_ky, n_kx).
    n_features_in_ : int
        Width of the images (pixels per image row): the second axis of a 2-D ``X``, as
        scikit-learn counts features.

    See Also
    --------
    sliding_windows : the windows themselves, as a view
        (the first step of this transform).
    sliding_autocorrelation : the same information in real space (Wiener–Khinchin).
    sliding_histogram : a descriptor that sees composition, not structure.

    Notes
    -----
    The descriptor is the sliding fast Fourier transform of Vasudevan et al., Appl.
    Phys. Lett. 106, 091601 (2015). The taper is separable and the 2-D transform is a
    transform along x followed by one along y. Every image-row segment at a given column
    offset belongs to the ``wy / sy`` windows stacked above each other, so each segment
    is tapered and transformed along x once; each window then needs only the transforms
    along y. No tapered copy of every window is made.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.sliding import SlidingFFT
    >>> y, x = np.mgrid[:64, :64]
    >>> image = np.cos(2 * np.pi * (x / 8))             # fringes along x, period 8 px
    >>> fft = SlidingFFT(window=32, step=16, log=False)
    >>> features = fft.fit_transform(image)
    >>> features.shape, fft.grid_shape_
    ((9, 544), (3, 3))
    >>> fft.frequencies_[np.argmax(features[0])].tolist()   # the peak at k_x = 1/8
    [0.0, 0.125]
    >>> fft.transform(np.stack([image, image.T])).shape     # two images: 2 x 9 windows
    (18, 544)
    """

    def __init__(
        self,
        window=32,
        step=8,
        *,
        taper="hann",
        log=True,
        crop=None,
        mask_center=1,
        dtype=np.float64,
        block_rows=None,
    ):
        self.window = window
        self.step = step
        self.taper = taper
        self.log = log
        self.crop = crop
        self.mask_center = mask_center
        self.dtype = dtype
        self.block_rows = block_rows

    def _setup(self, image_shape):
        grid, centers = window_grid(
            image_shape, self.window, self.step
        )  # the window fits
        wy, wx = _pair(self.window, "window")
        dtype = np.dtype(self.dtype)
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {dtype}")
        _taper_1d(self.taper, wy, wx)  # an unknown or all-zero taper fails in fit
        if self.block_rows is not None:
            check_scalar(self.block_rows, "block_rows", low=1, integer=True)
        # FFT rows stay in their natural order (k_y = 0, 1, ..., then the negative
        # ones), so that the uncropped magnitudes need no reordering; frequencies_ says
        # which is which.
        ky = sp_fft.fftfreq(wy)
        kx = sp_fft.rfftfreq(wx)
        bins_y = np.rint(ky * wy).astype(int)  # signed bin index of each row
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
            grid=grid,
            centers=centers,
            rows=rows,
            cols=cols,
            frequencies=np.stack([fy, fx], -1).reshape(-1, 2),
            masked=~keep_zero.ravel(),
        )

    def fit(self, X, y=None):
        """Check the parameters and record the window grid and
        frequencies for these images.

        Everything that can be wrong with the parameters is reported here, before any
        transform: an unknown taper, a window larger than the images, and a taper that
        is zero everywhere on a window side (Hann's over 2 pixels).

        Parameters
        ----------
        X : array_like, shape (n_images, height, width) or (height, width)
        y : None
            Ignored.

        Returns
        -------
        self : SlidingFFT
        """
        images = _check_images(X)
        setup = self._setup(images.shape[1:])
        self.image_shape_ = images.shape[1:]
        self.grid_shape_ = setup["grid"]
        self.n_windows_ = setup["grid"][0] * setup["grid"][1]
        self.centers_ = setup["centers"]
        self.frequencies_ = setup["frequencies"]
        self.feature_shape_ = (setup["rows"].size, setup["cols"].size)
        self.n_features_in_ = images.shape[2]
        self._masked = setup["masked"]
        self._rows, self._cols = setup["rows"], setup["cols"]
        return self

    def transform(self, X):
        """Descriptors of every window of every image:
        ``(n_images * n_windows_, n_features)``.

        Parameters
        ----------
        X : array_like, shape (n_images, height, width) or (height, width)
            Images of the size seen in ``fit``.

        Returns
        -------
        features : ndarray, shape (n_images * n_windows_, n_features), of ``dtype``
        """
        check_is_fitted(self)
        images = _check_images(X)
        height, width = self.image_shape_
        if images.shape[2] != width:
            raise ValueError(
                f"X has {images.shape[2]} features, but SlidingFFT is expecting "
                f"{width} features as input (images of {height} x {width} px, "
                "as in fit)"
            )
        if images.shape[1] != height:
            raise ValueError(
                f"X holds images of {images.shape[1]} x {images.shape[2]} px, but "
                f"SlidingFFT was fitted on images of {height} x {width} px"
            )
        dtype = np.dtype(self.dtype)
        wy, wx = _pair(self.window, "window")
        largest = (
            float(np.abs(images).max()) * wy * wx
        )  # bounds every |F(k)| of a window
        if largest > float(np.finfo(dtype).max):
            raise ValueError(
                f"X holds values up to {np.abs(images).max():.3g}: their transforms "
                f"exceed the range of {dtype.name} ({np.finfo(dtype).max:.3g}); use "
                "dtype=numpy.float64 or rescale the images"
            )
        out = np.empty(
            (len(images) * self.n_windows_, self._rows.size * self._cols.size),
            dtype=dtype,
        )
        for i, image in enumerate(images):
            self._transform_image(
                image, out[i * self.n_windows_ : (i + 1) * self.n_windows_]
            )
        out[:, self._masked] = 0
        return out

    def _transform_image(self, image, out):
        """Fill ``out`` (n_windows_, n_features) with the descriptors
        of one image's windows."""
        wy, wx = _pair(self.window, "window")
        sy, sx = _pair(self.step, "step")
        dtype = out.dtype
        rows, cols = self._rows, self._cols
        n_rows, n_cols = self.grid_shape_
        ty, tx = (t.astype(dtype) for t in _taper_1d(self.taper, wy, wx))
        complex_dtype = np.complex64 if dtype == np.float32 else np.complex128
        # Each image row segment is transformed along x once (tapered by the x factor);
        # every window then only along y (tapered by the y factor): the tapered window's
        # rfft2.
        used = (n_rows - 1) * sy + wy
        segments = np.lib.stride_tricks.sliding_window_view(image[:used], wx, axis=1)[
            :, ::sx
        ]
        row_fft = np.empty((used, n_cols, cols.size), dtype=complex_dtype)
        chunk = max(1, int(4e6 // (n_cols * wx * dtype.itemsize)))
        for i0 in range(0, used, chunk):
            part = np.multiply(segments[i0 : i0 + chunk], tx, dtype=dtype)
            row_fft[i0 : i0 + chunk] = sp_fft.rfft(
                part, axis=-1, workers=1, overwrite_x=True
            )[..., cols]
        # Windows along y: (n_rows, n_cols, n_kx, wy) views into row_fft.
        stacks = np.lib.stride_tricks.sliding_window_view(row_fft, wy, axis=0)[::sy]
        if self.block_rows is None:
            per_row = n_cols * cols.size * wy * np.dtype(complex_dtype).itemsize
            block = max(1, int(4e6 // per_row))
        else:
            block = self.block_rows
        for r0 in range(0, n_rows, block):
            r1 = min(n_rows, r0 + block)
            tapered = np.multiply(stacks[r0:r1], ty, dtype=complex_dtype)
            spectrum = sp_fft.fft(tapered, axis=-1, workers=1, overwrite_x=True)
            if rows.size < wy:
                spectrum = spectrum[..., rows]
            dest = out[r0 * n_cols : r1 * n_cols].reshape(
                r1 - r0, n_cols, rows.size, cols.size
            )
            np.abs(spectrum.swapaxes(-1, -2), out=dest)
            if self.log:
                np.log1p(dest, out=dest)

    def to_maps(self, values):
        """Per-window values as maps on the window grid.

        ``(n_windows_, ...)`` becomes ``(n_rows, n_cols, ...)``; the rows of several
        images, ``(n_images * n_windows_, ...)``, become
        ``(n_images, n_rows, n_cols, ...)``.

        Parameters
        ----------
        values : array_like, shape (n_images * n_windows_, ...)
            One result per window, in the order of :meth:`transform`'s rows; only
            rearranged (any dtype, NaN included), as by :func:`fold_windows`.

        Returns
        -------
        maps : ndarray, shape (n_rows, n_cols, ...) or (n_images, n_rows, n_cols, ...)
        """
        check_is_fitted(self)
        values = np.asarray(values)
        if values.ndim == 0 or values.shape[0] % self.n_windows_:
            raise ValueError(
                f"{values.shape[0] if values.ndim else 0} values are not a whole "
                f"number of images of {self.n_windows_} windows"
            )
        if values.shape[0] == self.n_windows_:
            return fold_windows(values, self.grid_shape_)
        return values.reshape((-1,) + self.grid_shape_ + values.shape[1:])

    def to_reciprocal(self, features):
        """Feature vectors as centered reciprocal-space images (..., n_ky, 2 n_kx − 1).

        The kept half plane is mirrored through k = 0 (|F(−k)| = |F(k)|) to give the
        full, centrosymmetric picture, k_x increasing to the right and k_y downwards.

        Parameters
        ----------
        features : array_like, shape (..., n_features)
            Rows of :meth:`transform`'s output (or anything of that length, e.g. a
            component); only rearranged and mirrored, never computed with
            (NaN passes through).

        Returns
        -------
        images : ndarray, shape (..., n_ky, 2 n_kx − 1) or (..., n_ky − 1, 2 n_kx − 1)
            ``(n_ky, n_kx) = feature_shape_``. When ``n_ky`` is even (an even window
            whose Nyquist row k_y = −1/2 is kept), that row has no mirror partner and is
            dropped.
        """
        check_is_fitted(self)
        features = np.asarray(features)
        ny, nx = self.feature_shape_
        n_values = features.shape[-1] if features.ndim else "a single value: no"
        if n_values != ny * nx:
            raise ValueError(f"features have {n_values} values, expected {ny * nx}")
        half = features.reshape(features.shape[:-1] + (ny, nx))
        ky = self.frequencies_.reshape(ny, nx, 2)[:, 0, 0]
        half = half[..., np.argsort(ky, kind="stable"), :]  # ascending k_y
        # Mirror: column kx ↦ −kx, row ky ↦ −ky (rows are symmetric about the center row
        # when cropped symmetrically; for an even uncropped window the lowest k_y has no
        # partner).
        mirrored = half[..., ::-1, :0:-1]
        if ny % 2 == 0:  # uncropped even window: drop the unpaired Nyquist row
            half, mirrored = half[..., 1:, :], mirrored[..., :-1, :]
        return np.concatenate([mirrored, half], axis=-1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = [np.dtype(self.dtype).name]
        return tags


def sliding_autocorrelation(image, window, step=1, *, taper="hann", normalize=True):
    """Local autocorrelation of every window,
    through the Fourier transform (Wiener–Khinchin).

    Returns (n_windows, wy, wx) autocorrelations with zero shift at the center
    ``(wy // 2, wx // 2)``; each window's mean is removed first, and with ``normalize``
    the zero-shift value is 1. Periodic order shows as a lattice of peaks at the lattice
    vectors.

    Parameters
    ----------
    image : array_like, shape (height, width)
    window : int or (int, int)
        Window size (wy, wx).
    step : int or (int, int), default=1
        Step between windows.
    taper : {"hann", "hamming", "blackman", "tukey", None}, default="hann"
        Window function applied after the mean is removed, as in :class:`SlidingFFT`.
    normalize : bool, default=True
        Divide each autocorrelation by its zero-shift value (the tapered window's sum of
        squares); a window without structure stays all zeros.

    Returns
    -------
    autocorrelations : ndarray, shape (n_windows, wy, wx)
        Zero shift at ``(wy // 2, wx // 2)`` (the layout of :func:`numpy.fft.fftshift`);
        windows in row-major grid order.

    See Also
    --------
    SlidingFFT : the same windows in reciprocal space, as Fourier-magnitude features.
    sliding_windows : the windows themselves.
    sliding_histogram : the windows' intensities, without their arrangement.

    Notes
    -----
    By the Wiener–Khinchin theorem the autocorrelation is the inverse Fourier transform
    of the power spectrum ``|F|²``. Without zero padding it is circular: the window is
    taken as one period of a periodic image, so a shift wraps around the window's edges.
    A window that is constant up to round-off gives zeros, not amplified noise.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.sliding import sliding_autocorrelation
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
    # A constant window leaves only round-off after removing its mean:
    # no structure at all.
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

    The bins are those of :func:`numpy.histogram` with the same ``range`` (by default
    the whole image's minimum and maximum, shared by all windows); values outside
    ``range`` are not counted. With ``density`` the counts are divided by the window's
    pixel count (fractions). Counts come from one cumulative sum per bin
    (summed-area tables), so the cost does not grow with the window size.

    Parameters
    ----------
    image : array_like, shape (height, width)
    window : int or (int, int)
        Window size (wy, wx).
    step : int or (int, int), default=1
        Step between windows.
    bins : int, default=16
        Number of equal-width bins.
    range : (float, float), optional
        Lower and upper edge of the bins; by default the image's minimum and maximum
        (for a constant image, its value and the value plus one).
    density : bool, default=True
        Divide the counts by the window's pixel count ``wy * wx``; the rows then sum to
        one when every value lies in ``range``.

    Returns
    -------
    histograms : ndarray, shape (n_windows, bins)
        Windows in row-major grid order.

    See Also
    --------
    numpy.histogram : the same bins, for one window at a time.
    SlidingFFT : a descriptor of structure (periodicity, orientation), not of
        composition.
    sliding_windows : the windows' pixels, for any other local statistic.

    Notes
    -----
    Every pixel's bin is found once. For each bin, a summed-area table (the 2-D
    cumulative sum of the pixels in that bin) gives any window's count from four of its
    entries, so the cost grows with ``bins × height × width``, not with the window size.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.sliding import sliding_histogram
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
    check_size(
        bins * (image.size + grid[0] * grid[1]), "the histograms (bins x pixels)"
    )
    if range is None:
        lo, hi = float(image.min()), float(image.max())
    else:
        lo, hi = check_pair(range, "range", increasing=True, labels="(low, high)")
    if not hi > lo:
        hi = lo + 1.0
    # The bins of numpy.histogram: [e_i, e_i+1) and the last one closed; values outside
    # the range are not counted.
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
        counts = (
            table[np.ix_(r + wy, c + wx)]
            - table[np.ix_(r, c + wx)]
            - table[np.ix_(r + wy, c)]
            + table[np.ix_(r, c)]
        )
        out[:, b] = counts.ravel()
    if density:
        out /= wy * wx
    return out
