"""Unit and property tests of lectlib.sliding (sliding windows, SlidingFFT, local
autocorrelations and histograms).

Expected values are built independently of the implementation: explicit slices of the
image, one window at a time, tapered with
``scipy.signal.get_window(..., fftbins=False)`` and transformed with ``numpy.fft`` (the
implementation uses a separable, batched ``scipy.fft`` transform of strided views);
brute-force circular autocorrelations by ``numpy.roll``; ``numpy.histogram`` of every
window; and analytic results for plane waves (a spot at k, an autocorrelation
cos(2π k·d)).
"""

from __future__ import annotations

import gc
import itertools
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import sparse
from scipy.signal import get_window
from sklearn.exceptions import NotFittedError

from helpers import FAST, SEEDS, run_estimator_checks

from lectlib.sliding import (
    SlidingFFT,
    fold_windows,
    labels_at_centers,
    sliding_autocorrelation,
    sliding_histogram,
    sliding_windows,
    window_fractions,
    window_grid,
)


# --------------------------------------------------------------------------- references


def _as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _ref_windows(image, window, step):
    """Every window as an explicit slice, in row-major order,
    with its (row, col) center."""
    image = np.asarray(image, dtype=float)
    (wy, wx), (sy, sx) = _as_pair(window), _as_pair(step)
    h, w = image.shape
    out, centers = [], []
    r = 0
    rows = 0
    while r + wy <= h:
        c = 0
        cols = 0
        while c + wx <= w:
            out.append(image[r : r + wy, c : c + wx])
            centers.append((np.arange(r, r + wy).mean(), np.arange(c, c + wx).mean()))
            c += sx
            cols += 1
        r += sy
        rows += 1
    return out, np.array(centers), (rows, cols)


def _taper_ref(name, n):
    if name is None:
        return np.ones(n)
    return get_window(name, n, fftbins=False) if n > 1 else np.ones(1)


def _bins(wy, wx):
    """Signed FFT bin indices of the rows (natural order) and the rfft columns."""
    by = np.concatenate([np.arange(0, (wy - 1) // 2 + 1), np.arange(-(wy // 2), 0)])
    bx = np.arange(wx // 2 + 1)
    return by, bx


def _ref_fft(image, window, step, *, taper="hann", log=True, crop=None, mask_center=1):
    """Per-window reference of SlidingFFT: taper, numpy rfft2, |.|, log1p, crop,
    mask."""
    wy, wx = _as_pair(window)
    tp = np.outer(_taper_ref(taper, wy), _taper_ref(taper, wx))
    by, bx = _bins(wy, wx)
    rows = np.arange(wy)
    cols = np.arange(bx.size)
    if crop is not None:
        cy, cx = _as_pair(crop)
        rows = rows[np.abs(by) <= cy]
        cols = cols[bx <= cx]
    BY, BX = np.meshgrid(by[rows], bx[cols], indexing="ij")
    masked = (
        (np.maximum(np.abs(BY), np.abs(BX)) <= mask_center)
        if mask_center > 0
        else np.zeros(BY.shape, bool)
    )
    windows, _, _ = _ref_windows(image, window, step)
    feats = []
    for win in windows:
        mag = np.abs(np.fft.rfft2(win * tp))
        if log:
            mag = np.log1p(mag)
        mag = mag[np.ix_(rows, cols)]
        mag[masked] = 0.0
        feats.append(mag.ravel())
    freqs = np.stack([BY / wy, BX / wx], axis=-1).reshape(-1, 2)
    return np.array(feats), freqs, masked.ravel()


def _assert_rel(got, ref, rtol):
    scale = max(np.abs(ref).max(), 1e-300)
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * scale)


def _plane_wave(shape, k, phase=0.0):
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    return np.cos(2 * np.pi * (k[0] * rr + k[1] * cc) + phase)


# -------------------------------------------------------- sliding_windows / window_grid


def test_sliding_windows_is_a_read_only_view_of_a_float64_image():
    image = np.random.default_rng(0).normal(size=(13, 17))
    w = sliding_windows(image, (4, 5), (3, 2))
    assert w.shape == (4, 7, 4, 5)
    assert np.shares_memory(w, image)
    assert not w.flags.writeable
    # a strided (non-contiguous) float64 input is still viewed, not copied
    t = image.T
    wt = sliding_windows(t, 3, 2)
    assert np.shares_memory(wt, image)
    np.testing.assert_array_equal(wt[1, 2], t[2:5, 4:7])


def test_sliding_windows_of_non_float_input_is_a_float64_copy():
    image = np.arange(30, dtype=np.int32).reshape(5, 6)
    w = sliding_windows(image, 2, (2, 3))
    assert w.dtype == np.float64
    np.testing.assert_array_equal(w[1, 1], [[15.0, 16.0], [21.0, 22.0]])
    f32 = np.arange(30, dtype=np.float32).reshape(5, 6)
    assert not np.shares_memory(sliding_windows(f32, 2), f32)


@st.composite
def _geometry(draw):
    h = draw(st.integers(1, 20))
    w = draw(st.integers(1, 20))
    wy = draw(st.integers(1, h))
    wx = draw(st.integers(1, w))
    sy = draw(st.integers(1, 7))
    sx = draw(st.integers(1, 7))
    window = wy if (wy == wx and draw(st.booleans())) else (wy, wx)
    step = sy if (sy == sx and draw(st.booleans())) else (sy, sx)
    return (h, w), window, step


@FAST
@given(geom=_geometry(), seed=SEEDS)
def test_windows_grid_and_centers_match_explicit_slices(geom, seed):
    shape, window, step = geom
    image = np.random.default_rng(seed).normal(size=shape)
    (wy, wx), (sy, sx) = _as_pair(window), _as_pair(step)
    ref, centers, grid = _ref_windows(image, window, step)
    w = sliding_windows(image, window, step)
    assert w.shape == grid + (wy, wx)
    assert np.shares_memory(w, image)
    for i, win in enumerate(ref):
        r, c = divmod(i, grid[1])
        np.testing.assert_array_equal(w[r, c], win)
        np.testing.assert_array_equal(
            w[r, c], image[r * sy : r * sy + wy, c * sx : c * sx + wx]
        )
    # windows that would run past the edge are left out, and no fitting window is missed
    assert (grid[0] - 1) * sy + wy <= shape[0] < grid[0] * sy + wy
    assert (grid[1] - 1) * sx + wx <= shape[1] < grid[1] * sx + wx
    g, ctr = window_grid(shape, window, step)
    assert g == grid
    np.testing.assert_allclose(ctr, centers, rtol=0, atol=1e-12)
    # fold_windows undoes the row-major flattening
    flat = w.reshape(-1, wy, wx)
    np.testing.assert_array_equal(fold_windows(flat, grid), w)
    idx = fold_windows(np.arange(len(ref)), grid)
    assert idx.shape == grid
    for r, c in itertools.product(range(grid[0]), range(grid[1])):
        assert idx[r, c] == r * grid[1] + c


def test_fold_windows_trailing_dimensions_and_count_check():
    values = np.arange(24).reshape(6, 2, 2)
    folded = fold_windows(values, (2, 3))
    assert folded.shape == (2, 3, 2, 2)
    np.testing.assert_array_equal(folded[1, 2], values[5])
    with pytest.raises(ValueError, match=r"5 values do not fill a grid of 2 x 3"):
        fold_windows(np.arange(5), (2, 3))


@pytest.mark.parametrize("value", [0.0, 1.0, -3.25, 0.1])
def test_windows_of_a_constant_image_are_constant(value):
    w = sliding_windows(np.full((9, 11), value), (3, 4), (2, 3))
    assert np.all(w == value)


@pytest.mark.parametrize(
    "image, window, step, exc, message",
    [
        (
            np.zeros((5, 6)),
            7,
            1,
            ValueError,
            r"a window of 7 x 7 does not fit in an image of 5 x 6",
        ),
        (np.zeros((5, 6)), (2, 7), 1, ValueError, r"a window of 2 x 7 does not fit"),
        (np.zeros((5, 6)), 2, 0, ValueError, r"step\[0\] must be >= 1, got 0"),
        (np.zeros((5, 6)), 2, (1, -2), ValueError, r"step\[1\] must be >= 1, got -2"),
        (np.zeros((5, 6)), 0, 1, ValueError, r"window\[0\] must be >= 1, got 0"),
        (np.zeros((5, 6)), (3, -1), 1, ValueError, r"window\[1\] must be >= 1, got -1"),
        (
            np.zeros((5, 6)),
            (1, 2, 3),
            1,
            ValueError,
            r"window must be an int or a pair",
        ),
        (np.zeros((5, 6)), (2.5, 2), 1, TypeError, r"window\[0\] must be an integer"),
        (np.zeros((5, 6)), 2, (1, 1.5), TypeError, r"step\[1\] must be an integer"),
        (np.zeros((2, 5, 6)), 2, 1, ValueError, r"image must be 2-D, got a 3-D array"),
        (np.zeros(6), 2, 1, ValueError, r"image must be 2-D, got a 1-D array"),
        (
            np.array([[0.0, np.nan], [1.0, 2.0]]),
            1,
            1,
            ValueError,
            r"image contains 1 NaN",
        ),
        (
            np.array([[0.0, np.inf], [1.0, 2.0]]),
            1,
            1,
            ValueError,
            r"image contains 1 NaN or infinite",
        ),
        ("not an image", 1, 1, TypeError, r"image must be a numeric array"),
        (
            np.ones((3, 3), dtype=complex),
            1,
            1,
            TypeError,
            r"image must hold real numbers",
        ),
    ],
)
def test_sliding_windows_errors(image, window, step, exc, message):
    with pytest.raises(exc, match=message):
        sliding_windows(image, window, step)


@pytest.mark.parametrize("window", [2.5, None, "3", np.float64(2.0)])
def test_window_of_a_wrong_type_raises_type_error(window):
    """A window that is not an int nor a pair is a wrong type, as (2.5, 2) already is
    (TypeError from check_scalar); the message names the window."""
    with pytest.raises(TypeError, match=r"window"):
        sliding_windows(np.zeros((5, 6)), window, 1)


def test_window_grid_errors():
    with pytest.raises(ValueError, match=r"does not fit in an image of 3 x 3"):
        window_grid((3, 3), 4, 1)
    with pytest.raises(ValueError, match=r"image_shape\[1\] must be >= 1"):
        window_grid((3, 0), 1, 1)


# ---------------------------------------------------------------- SlidingFFT: reference


FFT_CONFIGS = [
    dict(window=16, step=5),
    dict(window=(32, 48), step=(9, 13)),
    dict(window=15, step=4, log=False),
    dict(window=(9, 16), step=(3, 7), crop=(2, 5), mask_center=2),
    dict(window=(17, 12), step=(6, 4), crop=(3, 9), mask_center=0, taper=None),
    dict(window=(13, 11), step=(5, 3), crop=(20, 2), taper="hamming", log=False),
    dict(window=(8, 10), step=(2, 3), taper="blackman", mask_center=3),
    dict(window=(12, 7), step=(4, 2), taper="tukey", crop=0, mask_center=0),
    dict(window=(1, 8), step=(1, 3), mask_center=1),
    dict(window=(6, 1), step=(2, 1), mask_center=0, log=False),
]


def _test_image(seed, shape=(70, 90)):
    """Noise plus an oblique lattice, so that the spectra have
    both spots and a floor."""
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=shape)
        + 2 * _plane_wave(shape, (0.11, 0.23))
        + _plane_wave(shape, (-0.19, 0.07), 0.4)
        + 5.0
    )


@pytest.mark.parametrize("config", FFT_CONFIGS, ids=lambda c: repr(c))
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_sliding_fft_equals_per_window_reference(config, dtype, rtol):
    image = _test_image(1)
    fft = SlidingFFT(**config, dtype=dtype)
    features = fft.fit_transform(image)
    kwargs = {k: v for k, v in config.items() if k not in ("window", "step")}
    ref, freqs, masked = _ref_fft(image, config["window"], config["step"], **kwargs)
    assert features.dtype == dtype
    assert features.shape == ref.shape
    _assert_rel(features, ref, rtol)
    np.testing.assert_allclose(fft.frequencies_, freqs, rtol=0, atol=1e-15)
    assert np.all(features[:, masked] == 0)
    wy, wx = _as_pair(config["window"])
    n_ky = np.unique(freqs[:, 0]).size
    assert fft.feature_shape_ == (n_ky, freqs.shape[0] // n_ky)


@FAST
@given(
    seed=SEEDS,
    wy=st.integers(1, 12),
    wx=st.integers(1, 12),
    sy=st.integers(1, 5),
    sx=st.integers(1, 5),
    taper=st.sampled_from(["hann", None, "hamming"]),
    log=st.booleans(),
    crop=st.one_of(st.none(), st.tuples(st.integers(0, 7), st.integers(0, 7))),
    mask=st.integers(0, 3),
    transpose=st.booleans(),
)
def test_sliding_fft_reference_property(
    seed, wy, wx, sy, sx, taper, log, crop, mask, transpose
):
    if taper == "hann" and 2 in (wy, wx):
        with pytest.raises(
            ValueError, match=r"'hann' taper over 2 pixels is zero everywhere"
        ):
            SlidingFFT((wy, wx), (sy, sx), taper=taper).fit(np.ones((20, 23)))
        return
    rng = np.random.default_rng(seed)
    image = rng.normal(size=(20, 23)) + 1.0
    if transpose:  # a non-contiguous image
        image = image.T
    fft = SlidingFFT(
        (wy, wx),
        (sy, sx),
        taper=taper,
        log=log,
        crop=crop,
        mask_center=mask,
        dtype=np.float64,
    )
    features = fft.fit_transform(image)
    ref, freqs, _ = _ref_fft(
        image, (wy, wx), (sy, sx), taper=taper, log=log, crop=crop, mask_center=mask
    )
    _assert_rel(features, ref, 1e-10)
    np.testing.assert_allclose(fft.frequencies_, freqs, rtol=0, atol=1e-15)


def test_taper_is_applied_before_the_transform():
    """Tapering the spectrum instead (some peer code) smooths the spots and keeps the
    leakage; lectlib must equal 'taper, then transform'."""
    L = 32
    image = _plane_wave((L, L), (2.3 / L, 5.4 / L), 0.7) + 0.5 * _plane_wave(
        (L, L), (0, 3 / L)
    )
    hann = np.outer(_taper_ref("hann", L), _taper_ref("hann", L))
    before = np.abs(np.fft.rfft2(image * hann))
    # 'after': the full spectrum multiplied by the taper laid out in (centered) k space
    after = (np.abs(np.fft.fft2(image)) * np.fft.ifftshift(hann))[:, : L // 2 + 1]
    # and 'after' as a smoothing of the spectrum
    # (convolution with the taper's transform)
    kernel = np.fft.fft2(hann) / hann.size
    spectrum = np.abs(np.fft.fft2(image))
    smoothed = np.abs(np.fft.ifft2(np.fft.fft2(spectrum) * kernel))[:, : L // 2 + 1]
    got = SlidingFFT(L, L, log=False, mask_center=0, dtype=np.float64).fit_transform(
        image
    )[0]
    _assert_rel(got, before.ravel(), 1e-10)
    for other in (after, smoothed):
        assert np.linalg.norm(got - other.ravel()) > 0.2 * np.linalg.norm(got)


@pytest.mark.parametrize("window", [32, (32, 48)])
@pytest.mark.parametrize("crop", [None, (7, 9)])
@pytest.mark.parametrize("taper", ["hann", None])
def test_plane_wave_peaks_at_its_wave_vector(window, crop, taper):
    wy, wx = _as_pair(window)
    for my, mx in [(0, 5), (3, 4), (-2, 6), (5, 1), (-6, 9), (4, 0)]:
        k = (my / wy, mx / wx)
        image = _plane_wave((2 * wy, 2 * wx), k, 0.3)
        fft = SlidingFFT(
            window,
            (wy // 2, wx // 2),
            taper=taper,
            crop=crop,
            log=False,
            dtype=np.float64,
        )
        features = fft.fit_transform(image)
        for row in features:
            top = np.flatnonzero(row >= row.max() * (1 - 1e-9))
            peaks = {
                tuple(np.round(fft.frequencies_[i] * [wy, wx]).astype(int)) for i in top
            }
            # on the k_x = 0 axis both k and −k are in the kept half plane
            expected = {(my, mx)} if mx > 0 else {(my, 0), (-my, 0)}
            assert peaks == expected, (k, peaks)


@pytest.mark.parametrize(
    "k", [(0.0, 4.5 / 32), (2.3 / 32, 4.5 / 32), (3.7 / 32, -5.2 / 32)]
)
def test_hann_taper_removes_edge_leakage(k):
    """Period not dividing the window: the boxcar leaks ~7-11 % of the energy further
    than 3 bins from the spot, the Hann taper ~0.02 % (measured); assert a 10x
    margin."""
    L = 32
    image = _plane_wave((64, 64), k, 0.3)
    fractions = {}
    for taper in ("hann", None):
        fft = SlidingFFT(L, L, taper=taper, log=False, mask_center=0, dtype=np.float64)
        energy = fft.fit_transform(image) ** 2
        d_plus = np.hypot(*((fft.frequencies_ - k) * L).T)
        d_minus = np.hypot(*((fft.frequencies_ + k) * L).T)
        near = (d_plus <= 3) | (d_minus <= 3)
        fractions[taper] = energy[:, ~near].sum(axis=1) / energy.sum(axis=1)
    assert fractions[None].min() > 0.03
    assert fractions["hann"].max() < 1e-3
    assert fractions["hann"].max() < 0.02 * fractions[None].min()


# --------------------------------------------------- SlidingFFT: grid, maps, reciprocal


def test_transform_rows_are_windows_in_row_major_order():
    """Each non-overlapping window holds its own plane wave: window (r, c) has its spot
    at k = (r, 2 + c) bins, so the argmax of every row says which window it came
    from."""
    L, n_rows, n_cols = 16, 3, 4
    image = np.zeros((n_rows * L, n_cols * L))
    for r, c in itertools.product(range(n_rows), range(n_cols)):
        image[r * L : (r + 1) * L, c * L : (c + 1) * L] = _plane_wave(
            (L, L), (r / L, (2 + c) / L)
        )
    fft = SlidingFFT(L, L, taper=None, log=False)
    features = fft.fit_transform(image)
    assert features.shape == (n_rows * n_cols, L * (L // 2 + 1))
    assert fft.grid_shape_ == (n_rows, n_cols)
    found = np.rint(fft.frequencies_[features.argmax(axis=1)] * L).astype(int)
    expected = [(r, 2 + c) for r, c in itertools.product(range(n_rows), range(n_cols))]
    np.testing.assert_array_equal(found, expected)
    _, centers, _ = _ref_windows(image, L, L)
    np.testing.assert_allclose(fft.centers_, centers)
    maps = fft.to_maps(features)
    assert maps.shape == (n_rows, n_cols, features.shape[1])
    for r, c in itertools.product(range(n_rows), range(n_cols)):
        np.testing.assert_array_equal(maps[r, c], features[r * n_cols + c])
    np.testing.assert_array_equal(
        fft.to_maps(features.argmax(axis=1)),
        features.argmax(axis=1).reshape(n_rows, n_cols),
    )


@pytest.mark.parametrize(
    "window, step", [(15, 4), ((9, 13), (3, 5)), (16, 6), ((12, 10), 5), ((11, 8), 4)]
)
def test_grid_and_centers_match_window_grid(window, step):
    image = _test_image(2, (41, 53))
    fft = SlidingFFT(window, step).fit(image)
    grid, centers = window_grid(image.shape, window, step)
    _, ref_centers, ref_grid = _ref_windows(image, window, step)
    assert fft.grid_shape_ == grid == ref_grid
    np.testing.assert_allclose(fft.centers_, ref_centers)
    assert fft.image_shape_ == image.shape


def _full_centered(win, taper="hann"):
    wy, wx = win.shape
    tp = np.outer(_taper_ref(taper, wy), _taper_ref(taper, wx))
    return np.fft.fftshift(np.abs(np.fft.fft2(win * tp)))


@pytest.mark.parametrize("window", [(15, 9), (7, 7), (1, 5)])
def test_to_reciprocal_odd_window_is_the_full_centered_spectrum(window):
    image = _test_image(3, (30, 30))
    fft = SlidingFFT(window, 6, log=False, mask_center=0, dtype=np.float64)
    features = fft.fit_transform(image)
    recip = fft.to_reciprocal(features)
    wy, wx = window
    assert recip.shape == (features.shape[0], wy, wx)
    windows, _, _ = _ref_windows(image, window, 6)
    for i, win in enumerate(windows):
        full = _full_centered(win)
        _assert_rel(recip[i], full, 1e-10)
        _assert_rel(recip[i], recip[i][::-1, ::-1], 1e-12)  # centrosymmetric
        # the center is k = 0: the sum of the tapered window
        tp = np.outer(_taper_ref("hann", wy), _taper_ref("hann", wx))
        assert recip[i][wy // 2, wx // 2] == pytest.approx(
            abs(np.sum(win * tp)), rel=1e-10
        )
    # one feature vector in, one image out
    assert fft.to_reciprocal(features[0]).shape == (wy, wx)


@pytest.mark.parametrize("window", [(16, 12), (8, 8), (10, 7), (7, 10)])
def test_to_reciprocal_even_window_overlaps_the_full_centered_spectrum(window):
    """Even, uncropped: the unpaired Nyquist row is dropped (n_ky = wy − 1), and the
    columns run from k_x = −(n_kx − 1) to n_kx − 1 bins; on the rows and columns shared
    with fftshift(|fft2|) the two are equal."""
    image = _test_image(4, (33, 35))
    wy, wx = window
    fft = SlidingFFT(window, 7, log=False, mask_center=0, dtype=np.float64)
    features = fft.fit_transform(image)
    recip = fft.to_reciprocal(features)
    n_ky = wy - 1 if wy % 2 == 0 else wy
    n_kx = wx // 2 + 1
    assert recip.shape == (features.shape[0], n_ky, 2 * n_kx - 1)
    # bin coordinates of both pictures
    rec_ky = np.arange(n_ky) - n_ky // 2
    rec_kx = np.arange(2 * n_kx - 1) - (n_kx - 1)
    full_ky = np.arange(wy) - wy // 2
    full_kx = np.arange(wx) - wx // 2
    ry = [i for i, k in enumerate(rec_ky) if k in full_ky]
    rx = [i for i, k in enumerate(rec_kx) if k in full_kx]
    fy = [int(np.flatnonzero(full_ky == rec_ky[i])[0]) for i in ry]
    fx = [int(np.flatnonzero(full_kx == rec_kx[i])[0]) for i in rx]
    windows, _, _ = _ref_windows(image, window, 7)
    for i, win in enumerate(windows):
        full = _full_centered(win)
        _assert_rel(recip[i][np.ix_(ry, rx)], full[np.ix_(fy, fx)], 1e-10)
        _assert_rel(recip[i], recip[i][::-1, ::-1], 1e-12)
        assert recip[i][n_ky // 2, n_kx - 1] == pytest.approx(
            full[wy // 2, wx // 2], rel=1e-10
        )


@pytest.mark.parametrize(
    "window, crop", [(16, (3, 4)), ((12, 9), (5, 2)), ((10, 16), (9, 9))]
)
def test_to_reciprocal_of_cropped_features(window, crop):
    image = _test_image(5, (32, 32))
    fft = SlidingFFT(window, 8, crop=crop, log=False, mask_center=0, dtype=np.float64)
    features = fft.fit_transform(image)
    recip = fft.to_reciprocal(features)
    wy, wx = _as_pair(window)
    cy = min(crop[0], wy // 2)
    cx = min(crop[1], wx // 2)
    full_rows = np.arange(wy) - wy // 2
    full_cols = np.arange(wx) - wx // 2
    if cy == wy // 2 and wy % 2 == 0:  # all rows kept: the Nyquist row is dropped
        cy -= 1
    assert recip.shape[1:] == (2 * cy + 1, 2 * cx + 1)
    fy = [int(np.flatnonzero(full_rows == k)[0]) for k in range(-cy, cy + 1)]
    keep_x = [k for k in range(-cx, cx + 1) if k in full_cols]
    fx = [int(np.flatnonzero(full_cols == k)[0]) for k in keep_x]
    rx = [k + cx for k in keep_x]
    windows, _, _ = _ref_windows(image, window, 8)
    for i, win in enumerate(windows):
        _assert_rel(recip[i][:, rx], _full_centered(win)[np.ix_(fy, fx)], 1e-10)
    with pytest.raises(ValueError, match=r"features have 3 values, expected"):
        fft.to_reciprocal(np.zeros(3))


@pytest.mark.parametrize("window", [16, (12, 20), (9, 14)])
@pytest.mark.parametrize("mask", [0, 1, 2, 3])
def test_mask_center_zeroes_exactly_the_square_around_zero(window, mask):
    image = _test_image(6, (40, 40))
    wy, wx = _as_pair(window)
    kept = SlidingFFT(window, 8, mask_center=0, dtype=np.float64).fit_transform(image)
    fft = SlidingFFT(window, 8, mask_center=mask, dtype=np.float64)
    got = fft.fit_transform(image)
    by, bx = _bins(wy, wx)
    BY, BX = np.meshgrid(by, bx, indexing="ij")
    inside = (
        (np.maximum(np.abs(BY), np.abs(BX)) <= mask).ravel()
        if mask
        else np.zeros(BY.size, bool)
    )
    assert np.all(got[:, inside] == 0)
    assert np.all(kept > 0)  # nothing is zero unless masked
    np.testing.assert_array_equal(got[:, ~inside], kept[:, ~inside])
    # the half plane k_x >= 0 of a (2 mask + 1)^2 square: (2 mask + 1)(mask + 1) bins
    assert inside.sum() == ((2 * mask + 1) * (mask + 1) if mask else 0)


@pytest.mark.parametrize(
    "window, crop",
    [(16, (3, 4)), ((12, 20), (0, 7)), ((9, 14), (4, 0)), (10, 2), ((11, 6), (8, 8))],
)
def test_crop_keeps_the_central_bins(window, crop):
    wy, wx = _as_pair(window)
    cy, cx = _as_pair(crop)
    fft = SlidingFFT(window, 4, crop=crop).fit(np.zeros((24, 24)))
    bins = np.rint(fft.frequencies_ * [wy, wx]).astype(int)
    by, bx = _bins(wy, wx)
    expected = {(y, x) for y in by for x in bx if abs(y) <= cy and x <= cx}
    assert set(map(tuple, bins)) == expected
    assert len(bins) == len(expected)
    assert fft.feature_shape_[0] * fft.feature_shape_[1] == len(expected)


@pytest.mark.parametrize("block_rows", [1, 2, 7, None, 1000])
def test_block_rows_does_not_change_the_result(block_rows):
    image = _test_image(7, (256, 256))
    ref = SlidingFFT(32, 2, dtype=np.float64, block_rows=1000).fit_transform(image)
    got = SlidingFFT(32, 2, dtype=np.float64, block_rows=block_rows).fit_transform(
        image
    )
    _assert_rel(got, ref, 1e-12)
    windows, _, _ = _ref_windows(image, 32, 2)
    for i in (0, 57, 113 * 60 + 5, len(windows) - 1):
        ref_i, _, _ = _ref_fft(windows[i], 32, 32)
        _assert_rel(got[i], ref_i[0], 1e-10)


def test_fit_records_the_grid_of_the_image_size():
    image = _test_image(9, (57, 83))
    fft = SlidingFFT((16, 12), (5, 7)).fit(image)
    grid, centers = window_grid(image.shape, (16, 12), (5, 7))
    assert fft.image_shape_ == (57, 83) and fft.grid_shape_ == grid
    assert fft.n_windows_ == grid[0] * grid[1] and fft.n_features_in_ == 83
    np.testing.assert_allclose(fft.centers_, centers)
    features = fft.transform(image)
    ref, _, _ = _ref_fft(image, (16, 12), (5, 7))
    _assert_rel(features, ref, 1e-10)
    assert fft.to_maps(features).shape[:2] == grid


def test_transform_takes_images_of_the_fitted_size_only():
    """The grid, the centers and to_maps belong to one image size: another size is
    refused with a message that says both sizes (fit again for another size)."""
    fft = SlidingFFT((16, 12), (5, 7)).fit(_test_image(8, (40, 40)))
    with pytest.raises(
        ValueError,
        match=r"X has 41 features, but SlidingFFT is expecting 40 "
        r"features as input \(images of 40 x 40 px",
    ):
        fft.transform(_test_image(9, (40, 41)))
    with pytest.raises(
        ValueError,
        match=r"X holds images of 39 x 40 px, but SlidingFFT was "
        r"fitted on images of 40 x 40 px",
    ):
        fft.transform(_test_image(9, (39, 40)))


def test_a_stack_of_images_gives_the_windows_of_each_in_turn():
    images = np.stack([_test_image(seed, (36, 44)) for seed in (1, 2, 3)])
    fft = SlidingFFT((12, 16), (6, 4), crop=(3, 5))
    stacked = fft.fit_transform(images)
    assert fft.image_shape_ == (36, 44)
    assert stacked.shape == (
        3 * fft.n_windows_,
        fft.feature_shape_[0] * fft.feature_shape_[1],
    )
    for i, image in enumerate(images):
        rows = slice(i * fft.n_windows_, (i + 1) * fft.n_windows_)
        np.testing.assert_array_equal(stacked[rows], fft.transform(image))
        np.testing.assert_array_equal(
            stacked[rows],
            SlidingFFT((12, 16), (6, 4), crop=(3, 5)).fit_transform(image),
        )
    maps = fft.to_maps(stacked)
    assert maps.shape == (3,) + fft.grid_shape_ + (stacked.shape[1],)
    np.testing.assert_array_equal(
        maps[1], fft.to_maps(stacked[rows.start - fft.n_windows_ : rows.start])
    )
    with pytest.raises(ValueError, match=r"not a whole number of images"):
        fft.to_maps(stacked[:-1])


def test_transform_does_not_change_what_fit_learned():
    """fit learns; transform only reads (scikit-learn's check_dict_unchanged)."""
    image = _test_image(10, (30, 30))
    fft = SlidingFFT(8, 3).fit(image)
    before = {
        key: np.copy(value) if isinstance(value, np.ndarray) else value
        for key, value in fft.__dict__.items()
    }
    fft.transform(np.stack([image, image[::-1]]))
    assert set(fft.__dict__) == set(before)
    for key, value in before.items():
        np.testing.assert_array_equal(fft.__dict__[key], value)


def test_default_dtype_is_float64_and_float32_is_asked_for():
    image = _test_image(12, (40, 40))
    default = SlidingFFT(16, 8).fit_transform(image)
    single = SlidingFFT(16, 8, dtype=np.float32).fit_transform(image.astype(np.float32))
    assert default.dtype == np.float64 and single.dtype == np.float32
    _assert_rel(single, default, 1e-5)


@pytest.mark.parametrize(
    "params, message",
    [
        (
            dict(taper="gauss"),
            r"taper must be 'hann', 'hamming', 'blackman', 'tukey' or None",
        ),
        (dict(taper="Hann"), r"got 'Hann'"),
        (dict(dtype=np.int32), r"dtype must be float32 or float64, got int32"),
        (dict(dtype=np.float16), r"dtype must be float32 or float64, got float16"),
        (dict(dtype=np.complex64), r"dtype must be float32 or float64, got complex64"),
        (dict(window=40), r"a window of 40 x 40 does not fit in an image of 30 x 30"),
        (dict(step=0), r"step\[0\] must be >= 1"),
        (dict(crop=(-1, 2)), r"crop\[0\] must be >= 0"),
        (dict(mask_center=-1), r"mask_center must be >= 0"),
    ],
)
def test_sliding_fft_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        SlidingFFT(**{"window": 8, "step": 4, **params}).fit_transform(
            np.zeros((30, 30))
        )


def test_sliding_fft_bad_input_and_state():
    fft = SlidingFFT(4, 2)
    with pytest.raises(NotFittedError):
        fft.transform(np.zeros((8, 8)))
    with pytest.raises(ValueError, match=r"block_rows must be >= 1"):
        SlidingFFT(4, 2, block_rows=0).fit_transform(np.zeros((8, 8)))
    with pytest.raises(
        ValueError,
        match=r"X must be one image \(height, width\) or a stack "
        r"of images \(n_images, height, width\), got a 4-D",
    ):
        fft.fit(np.zeros((2, 2, 8, 8)))
    with pytest.raises(ValueError, match=r"Expected 2D array, got 1D array"):
        fft.fit(np.zeros(8))
    nan = np.zeros((8, 8))
    nan[3, 3] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN"):
        fft.fit(nan)
    fft.fit(np.zeros((8, 8)))
    with pytest.raises(ValueError, match=r"X contains NaN"):
        fft.transform(nan)


def test_sparse_image_error_names_sparse_input():
    """A scipy.sparse image is refused; the message should say so. (It currently reads
    'X must hold real numbers, got dtype object', which points at the wrong problem.)"""
    image = sparse.random(16, 16, density=0.3, format="csr", random_state=0)
    with pytest.raises((TypeError, ValueError), match=r"(?i)sparse"):
        SlidingFFT(4, 2).fit(image)


def test_transform_peak_memory_is_within_twice_the_output():
    """512 x 512, window 32, step 4: output 14641 x 544 float32 (31.9 MB); the peak
    traced memory of transform was measured at 1.66x the output; the claim is < 2x."""
    image = np.random.default_rng(11).normal(size=(512, 512))
    fft = SlidingFFT(32, 4, dtype=np.float32).fit(image)
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = fft.transform(image)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == (121 * 121, 32 * 17)
    assert out.dtype == np.float32
    assert peak < 2.0 * out.nbytes, peak / out.nbytes


# ---------------------------------------------------------------------- check_estimator

# Every expected failure comes from one fact: a 2-D X is one image, its rows are rows of
# pixels, not samples, and the output has a row per window. Checks that assume rows are
# samples cannot pass; each reason says which assumption breaks.
_WINDOWS_NOT_ROWS = (
    "the output has a row per window, (h − wy + 1)(w − wx + 1) of them for "
    "one image, not a row per input row"
)
_ROWS_ARE_IMAGE = (
    "the rows of X are rows of one image, not samples: reordering them makes "
    "another image, and a subset of them an image of another height, which "
    "transform refuses (the grid belongs to the fitted size)"
)
_ONE_ROW_IMAGE = (
    "one row (or column) of X is an image one pixel high (or wide), smaller than "
    "the window: the error says so, not 'n_samples = 1'"
)

SLIDING_FFT_EXPECTED_FAILURES = {
    "check_transformer_general": _WINDOWS_NOT_ROWS,
    "check_transformer_data_not_an_array": _WINDOWS_NOT_ROWS,
    "check_methods_sample_order_invariance": _ROWS_ARE_IMAGE,
    "check_methods_subset_invariance": _ROWS_ARE_IMAGE,
    "check_fit_idempotent": _ROWS_ARE_IMAGE,
    "check_fit2d_1sample": _ONE_ROW_IMAGE,
    "check_fit2d_1feature": _ONE_ROW_IMAGE,
}

# A fragment of each failure's message that shows the failure is the principled one.
_EXPECTED_MESSAGE = {
    "check_transformer_general": "",
    "check_transformer_data_not_an_array": "",
    "check_methods_sample_order_invariance": "different sample order",
    "check_methods_subset_invariance": (
        "but SlidingFFT was fitted on images of 20 x 3 px"
    ),
    "check_fit_idempotent": "but SlidingFFT was fitted on images of",
    "check_fit2d_1sample": "a window of 2 x 2 does not fit in an image of 1 x 10",
    "check_fit2d_1feature": "a window of 2 x 2 does not fit in an image of 10 x 1",
}


def test_check_estimator_sliding_fft():
    # No taper and no mask, so that the 2 x 2 windows' features are not all zero and the
    # comparisons mean something (a Hann taper over 2 pixels is zero everywhere).
    estimator = SlidingFFT(window=2, step=1, taper=None, mask_center=0)
    xfailed = run_estimator_checks(estimator, SLIDING_FFT_EXPECTED_FAILURES)
    for name, message in xfailed.items():
        assert _EXPECTED_MESSAGE[name] in message, (name, message)


def test_one_image_rows_reason_holds():
    """The reason given for the transformer checks: rows out = windows, not rows in."""
    X = np.random.default_rng(12).normal(size=(30, 3))
    out = SlidingFFT(window=2, step=1, taper=None, mask_center=0).fit_transform(X)
    assert out.shape == (29 * 2, 4)
    assert out.shape[0] != X.shape[0]


# -------------------------------------------------------------- sliding_autocorrelation


def _ref_autocorrelation_roll(win, taper):
    """Brute force: mean removed, tapered,
    sum over every circular shift by numpy.roll."""
    wy, wx = win.shape
    x = (win - win.mean()) * np.outer(_taper_ref(taper, wy), _taper_ref(taper, wx))
    ac = np.empty((wy, wx))
    for dy in range(wy):
        for dx in range(wx):
            ac[dy, dx] = np.sum(
                x * np.roll(x, (dy - wy // 2, dx - wx // 2), axis=(0, 1))
            )
    return ac


def _ref_autocorrelation_fft(win, taper):
    wy, wx = win.shape
    x = (win - win.mean()) * np.outer(_taper_ref(taper, wy), _taper_ref(taper, wx))
    return np.fft.fftshift(np.fft.ifft2(np.abs(np.fft.fft2(x)) ** 2).real)


@pytest.mark.parametrize(
    "window, step, taper",
    [
        ((6, 7), (3, 2), "hann"),
        ((5, 4), 3, None),
        (8, (4, 5), "hamming"),
        ((1, 6), 2, None),
    ],
)
@pytest.mark.parametrize("normalize", [True, False])
def test_autocorrelation_equals_brute_force_reference(window, step, taper, normalize):
    image = _test_image(13, (17, 19))
    got = sliding_autocorrelation(image, window, step, taper=taper, normalize=normalize)
    windows, _, _ = _ref_windows(image, window, step)
    wy, wx = _as_pair(window)
    assert got.shape == (len(windows), wy, wx)
    for i, win in enumerate(windows):
        ref = _ref_autocorrelation_roll(win, taper)
        if normalize:
            ref = ref / ref[wy // 2, wx // 2]
        _assert_rel(got[i], ref, 1e-10)


@pytest.mark.parametrize("window", [16, (24, 32), (15, 10)])
def test_autocorrelation_equals_numpy_fft_reference(window):
    image = _test_image(14, (40, 50))
    got = sliding_autocorrelation(image, window, 7)
    windows, _, _ = _ref_windows(image, window, 7)
    wy, wx = _as_pair(window)
    for i, win in enumerate(windows):
        ref = _ref_autocorrelation_fft(win, "hann")
        _assert_rel(got[i], ref / ref[wy // 2, wx // 2], 1e-10)
        assert got[i][wy // 2, wx // 2] == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    "window, cycles",
    [
        ((16, 24), (0, 3)),
        (16, (2, 0)),
        ((24, 16), (3, 2)),
        ((20, 30), (-4, 5)),
        (16, (1, 1)),
    ],
)
def test_autocorrelation_of_a_plane_wave_is_cos_k_dot_shift(window, cycles):
    """A plane wave with a whole number of periods in the (untapered, periodic) window
    has the autocorrelation cos(2π k·d): 1 at one period, −1 at half a period."""
    wy, wx = _as_pair(window)
    k = (cycles[0] / wy, cycles[1] / wx)
    image = _plane_wave((2 * wy + 3, 2 * wx + 5), k, 0.9)
    ac = sliding_autocorrelation(image, window, 3, taper=None)
    dy, dx = np.meshgrid(
        np.arange(wy) - wy // 2, np.arange(wx) - wx // 2, indexing="ij"
    )
    expected = np.cos(2 * np.pi * (k[0] * dy + k[1] * dx))
    for a in ac:
        np.testing.assert_allclose(a, expected, atol=1e-10)
    if cycles == (0, 3):  # period p = 8 px along x
        p = wx // 3
        for a in ac:
            assert a[wy // 2, wx // 2 + p] == pytest.approx(1.0)
            assert a[wy // 2, wx // 2 - p] == pytest.approx(1.0)
            assert a[wy // 2, wx // 2 + p // 2] == pytest.approx(-1.0)
            assert a[wy // 2 + 3, wx // 2] == pytest.approx(1.0)  # constant along y


@pytest.mark.parametrize("value", [0.0, 1.0, 0.1, 7.3])
@pytest.mark.parametrize("taper", [None, "hann"])
def test_autocorrelation_of_constant_windows_is_zero(value, taper):
    """A flat window has no structure: its autocorrelation must be 0, not NaN and not
    the normalized round-off of the mean removal."""
    ac = sliding_autocorrelation(np.full((32, 32), value), 8, 4, taper=taper)
    assert np.all(np.isfinite(ac))
    np.testing.assert_array_equal(ac, 0.0)


def test_autocorrelation_bad_input():
    with pytest.raises(ValueError, match=r"taper must be"):
        sliding_autocorrelation(np.zeros((8, 8)), 4, taper="gauss")
    with pytest.raises(ValueError, match=r"does not fit"):
        sliding_autocorrelation(np.zeros((8, 8)), 9)
    with pytest.raises(ValueError, match=r"image contains 1 NaN"):
        sliding_autocorrelation(np.array([[np.nan, 0.0], [0.0, 0.0]]), 1)


# -------------------------------------------------------------------- sliding_histogram


@FAST
@given(
    seed=SEEDS,
    geom=_geometry(),
    bins=st.integers(1, 20),
    density=st.booleans(),
    range_mode=st.sampled_from(["none", "cover", "exact"]),
)
def test_histogram_equals_numpy_histogram_of_each_window(
    seed, geom, bins, density, range_mode
):
    shape, window, step = geom
    rng = np.random.default_rng(seed)
    image = rng.gamma(2.0, 1.5, size=shape)
    lo, hi = image.min(), image.max()
    if range_mode == "none":
        value_range, ref_range = None, (lo, hi)  # the image's range, shared by all
    elif range_mode == "exact":
        value_range = ref_range = (float(lo), float(hi))
    else:
        value_range = ref_range = (
            float(lo) - rng.uniform(0, 2),
            float(hi) + rng.uniform(0, 2),
        )
    if range_mode == "exact" and hi == lo:  # a one-pixel or flat image: (v, v) is empty
        with pytest.raises(ValueError, match=r"range must be increasing"):
            sliding_histogram(image, window, step, bins=bins, range=value_range)
        return
    got = sliding_histogram(
        image, window, step, bins=bins, range=value_range, density=density
    )
    windows, _, _ = _ref_windows(image, window, step)
    assert got.shape == (len(windows), bins)
    for i, win in enumerate(windows):
        if hi == lo:
            continue  # a one-pixel or flat image: no range
        counts, _ = np.histogram(win, bins=bins, range=ref_range)
        expected = counts / win.size if density else counts
        np.testing.assert_allclose(got[i], expected, rtol=1e-12, atol=1e-12)
    if density:
        np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-12)
    else:
        np.testing.assert_array_equal(got.sum(axis=1), np.prod(_as_pair(window)))


def test_histogram_values_at_the_range_edges_land_in_the_end_bins():
    image = np.array([[2.0, 2.0, 5.0, 5.0], [2.0, 3.1, 5.0, 4.9]])
    h = sliding_histogram(image, 2, 2, bins=3, range=(2.0, 5.0), density=False)
    np.testing.assert_array_equal(h, [[3.0, 1.0, 0.0], [0.0, 0.0, 4.0]])
    h = sliding_histogram(image, (2, 4), 1, bins=4, density=True)  # range = (2, 5)
    np.testing.assert_allclose(h, [[3 / 8, 1 / 8, 0.0, 4 / 8]])


@pytest.mark.parametrize("n_levels", [10, 16, 22, 26])
def test_histogram_one_bin_per_integer_level(n_levels):
    """Integer data (counts), range (0, n) and n bins: the edges are the integers, so
    value v belongs to bin v (n to the last bin) — as np.histogram says."""
    values = np.arange(n_levels + 1, dtype=float)
    image = np.tile(values, (2, 1))
    got = sliding_histogram(
        image, 1, 1, bins=n_levels, range=(0, n_levels), density=False
    )
    found = got[: n_levels + 1].argmax(axis=1)
    expected = np.minimum(values.astype(int), n_levels - 1)
    ref = [
        int(np.argmax(np.histogram([v], bins=n_levels, range=(0, n_levels))[0]))
        for v in values
    ]
    np.testing.assert_array_equal(ref, expected)
    np.testing.assert_array_equal(found, expected)


def test_histogram_bad_input():
    with pytest.raises(ValueError, match=r"bins must be >= 1"):
        sliding_histogram(np.zeros((4, 4)), 2, bins=0)
    with pytest.raises(TypeError, match=r"bins must be an integer"):
        sliding_histogram(np.zeros((4, 4)), 2, bins=2.5)
    with pytest.raises(ValueError, match=r"does not fit"):
        sliding_histogram(np.zeros((4, 4)), 5)
    with pytest.raises(ValueError, match=r"image must be 2-D"):
        sliding_histogram(np.zeros(4), 1)


# -------------------------------------------------- window_fractions, labels_at_centers


@FAST
@given(
    seed=SEEDS,
    n_labels=st.integers(1, 4),
    window=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    step=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    taper=st.sampled_from(["hann", "blackman", None]),
)
def test_window_fractions_equal_a_weighted_count_in_every_window(
    seed, n_labels, window, step, taper
):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_labels, (14, 17))
    if taper is not None and 2 in window:  # a 2-pixel taper is all zeros
        with pytest.raises(ValueError, match=r"taper over 2 pixels is zero everywhere"):
            window_fractions(labels, window, step, taper=taper)
        return
    got = window_fractions(labels, window, step, n_labels=n_labels, taper=taper)
    weight = np.outer(_taper_ref(taper, window[0]), _taper_ref(taper, window[1]))
    windows = sliding_windows(labels, window, step).reshape(-1, *window)
    expected = (
        np.stack(
            [
                (windows == p).astype(float).reshape(len(windows), -1) @ weight.ravel()
                for p in range(n_labels)
            ],
            axis=1,
        )
        / weight.sum()
    )
    np.testing.assert_allclose(got, expected, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-12)


def test_labels_at_centers_take_the_pixel_at_each_window_center():
    labels = np.arange(10 * 12).reshape(10, 12)
    _, centers = window_grid(labels.shape, (3, 4), (2, 3))
    got = labels_at_centers(labels, (3, 4), (2, 3))
    rows, cols = np.rint(centers).astype(int).T
    np.testing.assert_array_equal(got, labels[rows, cols])
    # odd windows: exactly the center pixel
    np.testing.assert_array_equal(
        labels_at_centers(labels, 3, 3), labels[1:9:3][:, 1:11:3].ravel()
    )


def test_window_fractions_and_center_labels_agree_with_sliding_fft_windows():
    labels = np.zeros((40, 48), dtype=int)
    labels[:, 20:] = 1
    labels[25:, :] = 2
    fft = SlidingFFT(12, 4).fit(labels.astype(float))
    fractions = window_fractions(labels, 12, 4)
    assert fractions.shape == (fft.n_windows_, 3)
    center = labels_at_centers(labels, 12, 4)
    pure = fractions.max(axis=1) == 1
    np.testing.assert_array_equal(center[pure], fractions[pure].argmax(axis=1))


def test_window_fractions_errors():
    labels = np.zeros((8, 8), dtype=int)
    with pytest.raises(
        ValueError, match=r"labels must hold non-negative integer labels"
    ):
        window_fractions(labels - 1, 4)
    with pytest.raises(ValueError, match=r"labels go up to 2 but n_labels is 2"):
        window_fractions(labels + 2, 4, n_labels=2)
    with pytest.raises(ValueError, match=r"a window of 9 x 9 does not fit"):
        window_fractions(labels, 9)
    with pytest.raises(ValueError, match=r"labels must be 2-D"):
        labels_at_centers(np.zeros(8), 2)
