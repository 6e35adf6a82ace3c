"""Unit and property tests of lectlib.mixing: the forward model, (un)folding,
resolution, noise.

Expected values come from the mathematics (a loop over components, numpy.convolve with a
Gaussian kernel, the statistics of Gaussian and Poisson noise), never from running
lectlib.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from helpers import FAST

from lectlib.metrics import snr_db
from lectlib.mixing import (
    add_gaussian_noise,
    add_poisson_noise,
    fold,
    gaussian_noise_std,
    mix,
    resolution_matrix,
    unfold,
)

# fwhm values: exactly 0 (the identity) or a resolvable width;
# sub-channel widths have their own test
fwhms = st.one_of(st.just(0.0), st.floats(0.01, 20.0))
SIGMA_PER_FWHM = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))

finite = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)


# ---------------------------------------------------------------------------------- mix


@FAST
@given(
    n_pixels=st.integers(1, 12),
    n_components=st.integers(1, 5),
    n_channels=st.integers(1, 20),
    seed=st.integers(0, 2**32 - 1),
)
def test_mix_2d_is_sum_of_weighted_endmembers(n_pixels, n_components, n_channels, seed):
    rng = np.random.default_rng(seed)
    A = rng.random((n_pixels, n_components))
    W = rng.normal(size=(n_components, n_channels))
    expected = np.zeros((n_pixels, n_channels))
    for k in range(n_components):  # S = sum_k a_k w_k, written out
        expected += A[:, k : k + 1] * W[k][None, :]
    out = mix(A, W)
    assert out.shape == (n_pixels, n_channels)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@FAST
@given(
    ny=st.integers(1, 6),
    nx=st.integers(1, 6),
    n_components=st.integers(1, 4),
    n_channels=st.integers(1, 10),
    seed=st.integers(0, 2**32 - 1),
)
def test_mix_3d_is_pixelwise(ny, nx, n_components, n_channels, seed):
    rng = np.random.default_rng(seed)
    A = rng.random((ny, nx, n_components))
    W = rng.normal(size=(n_components, n_channels))
    out = mix(A, W)
    assert out.shape == (ny, nx, n_channels)
    for r in range(ny):
        for c in range(nx):
            spectrum = sum(A[r, c, k] * W[k] for k in range(n_components))
            np.testing.assert_allclose(out[r, c], spectrum, rtol=1e-12, atol=1e-12)


def test_mix_accepts_lists_and_returns_float64():
    out = mix([[0.25, 0.75]], [[4, 0], [0, 4]])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[1.0, 3.0]])


def test_mix_component_mismatch():
    with pytest.raises(ValueError, match=r"3 components.*2 rows"):
        mix(np.ones((4, 3)), np.ones((2, 5)))


def test_mix_endmembers_must_be_2d():
    with pytest.raises(ValueError, match=r"endmembers must be 2-D"):
        mix(np.ones((4, 3)), np.ones(3))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_mix_rejects_non_finite(bad):
    A = np.ones((4, 2))
    A[1, 1] = bad
    with pytest.raises(ValueError, match=r"abundances contains 1 NaN or infinite"):
        mix(A, np.ones((2, 3)))
    W = np.ones((2, 3))
    W[0, 2] = bad
    with pytest.raises(ValueError, match=r"endmembers contains 1 NaN or infinite"):
        mix(np.ones((4, 2)), W)


def test_mix_rejects_non_numeric():
    with pytest.raises(TypeError, match=r"abundances must hold real numbers"):
        mix(np.array([["a", "b"]]), np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"endmembers must be a numeric array"):
        mix(np.ones((1, 2)), "spectra")
    with pytest.raises(TypeError, match=r"complex"):
        mix(np.ones((1, 2)) + 1j, np.ones((2, 3)))


def test_mix_rejects_empty():
    with pytest.raises(ValueError, match=r"abundances is empty"):
        mix(np.ones((0, 2)), np.ones((2, 3)))


# ------------------------------------------------------------------------ unfold / fold

cubes = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=7),
    elements=finite,
)


@FAST
@given(cube=cubes)
def test_unfold_fold_round_trip(cube):
    ny, nx, c = cube.shape
    X = unfold(cube)
    assert X.shape == (ny * nx, c)
    back = fold(X, (ny, nx))
    assert back.shape == cube.shape
    np.testing.assert_array_equal(back, cube)


@FAST
@given(cube=cubes)
def test_unfold_is_row_major(cube):
    ny, nx, _ = cube.shape
    X = unfold(cube)
    for r in range(ny):
        for c in range(nx):
            np.testing.assert_array_equal(X[r * nx + c], cube[r, c])


@FAST
@given(ny=st.integers(1, 8), nx=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_fold_1d_gives_a_map_in_row_major_order(ny, nx, seed):
    values = np.random.default_rng(seed).normal(size=ny * nx)
    m = fold(values, (ny, nx))
    assert m.shape == (ny, nx)
    for r in range(ny):
        for c in range(nx):
            assert m[r, c] == values[r * nx + c]


def test_unfold_hand_example():
    cube = np.zeros((2, 3, 1))
    cube[1, 2, 0] = 7.0  # pixel (1, 2) -> row 1 * 3 + 2 = 5
    X = unfold(cube)
    assert X[5, 0] == 7.0 and np.count_nonzero(X) == 1


def test_unfold_needs_3d():
    with pytest.raises(ValueError, match=r"cube must be 3-D, got a 2-D array"):
        unfold(np.ones((4, 5)))


def test_unfold_rejects_nan():
    cube = np.ones((2, 2, 2))
    cube[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"cube contains 1 NaN"):
        unfold(cube)


def test_fold_wrong_number_of_rows():
    with pytest.raises(
        ValueError, match=r"X has 10 rows but shape \(3, 4\) needs ny \* nx = 12"
    ):
        fold(np.ones((10, 2)), (3, 4))


@pytest.mark.parametrize("shape", [(3,), (1, 2, 3)])
def test_fold_shape_of_another_length(shape):
    with pytest.raises(ValueError, match=r"shape must be a pair \(ny, nx\) of ints"):
        fold(np.ones((6, 2)), shape)


@pytest.mark.parametrize("shape", [5, "abc", "ab", None])
def test_fold_shape_that_is_not_a_sequence(shape):
    """A number, a string or None is a wrong type (as everywhere in lectlib):
    TypeError."""
    with pytest.raises(TypeError, match=r"shape must be a pair \(ny, nx\) of ints"):
        fold(np.ones((6, 2)), shape)


def test_fold_non_positive_or_non_integer_shape():
    with pytest.raises(ValueError, match=r"shape\[0\] must be >= 1"):
        fold(np.ones((1, 2)), (0, 4))
    with pytest.raises(TypeError, match=r"shape\[0\] must be an integer"):
        fold(np.ones((6, 2)), (2.0, 3))
    with pytest.raises(TypeError, match=r"shape\[1\] must be an integer"):
        fold(np.ones((6, 2)), (2, 3.0))


def test_fold_rejects_3d_input():
    with pytest.raises(ValueError, match=r"X must be 1-D or 2-D"):
        fold(np.ones((2, 3, 4)), (2, 3))


# -------------------------------------------------------------------- resolution matrix


@st.composite
def energy_axes(draw, min_size=2, max_size=60):
    """Strictly increasing axes, evenly or unevenly spaced."""
    n = draw(st.integers(min_size, max_size))
    steps = draw(hnp.arrays(np.float64, n - 1, elements=st.floats(0.01, 5.0)))
    start = draw(st.floats(-100.0, 100.0))
    return start + np.concatenate([[0.0], np.cumsum(steps)])


@FAST
@given(energy=energy_axes(), fwhm=fwhms)
def test_resolution_rows_sum_to_one_and_are_non_negative(energy, fwhm):
    R = resolution_matrix(energy, fwhm)
    assert R.shape == (energy.size, energy.size)
    assert np.all(R >= 0)
    np.testing.assert_allclose(R.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    # so a flat spectrum stays flat, at the ends too
    np.testing.assert_allclose(R @ np.full(energy.size, 3.5), 3.5, rtol=1e-12)


@FAST
@given(energy=energy_axes())
def test_resolution_zero_fwhm_is_identity(energy):
    np.testing.assert_array_equal(resolution_matrix(energy, 0.0), np.eye(energy.size))
    np.testing.assert_array_equal(resolution_matrix(energy, 0), np.eye(energy.size))


@FAST
@given(
    step=st.floats(0.05, 2.0),
    fwhm_in_steps=st.floats(0.5, 6.0),
    start=st.floats(-50.0, 50.0),
)
def test_resolution_symmetric_on_uniform_axis_away_from_edges(
    step, fwhm_in_steps, start
):
    fwhm = fwhm_in_steps * step
    sigma_steps = fwhm_in_steps * SIGMA_PER_FWHM
    margin = int(np.ceil(10 * sigma_steps)) + 1  # beyond which the Gaussian is < 1e-21
    n = 2 * margin + 15
    R = resolution_matrix(start + step * np.arange(n), fwhm)
    inner = slice(margin, n - margin)
    block = R[inner, inner]
    np.testing.assert_allclose(block, block.T, rtol=0, atol=1e-12)
    # each interior row is symmetric about its diagonal
    for i in range(margin, n - margin):
        for d in range(1, margin + 1):
            assert abs(R[i, i + d] - R[i, i - d]) < 1e-12


@FAST
@given(
    step=st.floats(0.05, 2.0),
    fwhm_in_steps=st.floats(0.3, 8.0),
    spectrum_seed=st.integers(0, 2**32 - 1),
    extra=st.integers(1, 40),
)
def test_resolution_interior_equals_numpy_convolve(
    step, fwhm_in_steps, spectrum_seed, extra
):
    fwhm = fwhm_in_steps * step
    sigma = fwhm * SIGMA_PER_FWHM
    half = int(np.ceil(10 * sigma / step)) + 1  # kernel support: +-10 sigma
    n = 2 * half + extra
    energy = 3.0 + step * np.arange(n)
    s = np.random.default_rng(spectrum_seed).normal(size=n) * 5
    offsets = step * np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    reference = np.convolve(
        s, kernel, mode="valid"
    )  # outputs for channels half .. n-half-1
    broadened = resolution_matrix(energy, fwhm) @ s
    np.testing.assert_allclose(
        broadened[half : n - half], reference, rtol=0, atol=1e-10
    )


def _measured_fwhm(x, y):
    """FWHM of a single peak by linear interpolation of the half-maximum crossings."""
    half = y.max() / 2
    above = np.flatnonzero(y >= half)
    lo, hi = above[0], above[-1]
    left = x[lo - 1] + (half - y[lo - 1]) * (x[lo] - x[lo - 1]) / (y[lo] - y[lo - 1])
    right = x[hi] + (half - y[hi]) * (x[hi + 1] - x[hi]) / (y[hi + 1] - y[hi])
    return right - left


@pytest.mark.parametrize("fwhm", [0.3, 1.0, 2.5])
def test_broadened_spike_has_requested_fwhm(fwhm):
    energy = np.linspace(0.0, 20.0, 2001)  # 0.01 eV channels
    spike = np.zeros(energy.size)
    spike[1000] = 1.0  # at 10 eV
    peak = resolution_matrix(energy, fwhm) @ spike
    assert np.argmax(peak) == 1000
    assert abs(_measured_fwhm(energy, peak) - fwhm) < 0.01 * fwhm


@st.composite
def uneven_axes(draw):
    """A smoothly uneven axis e = lo + span * t**p, t in [t0, 1]."""
    p = draw(st.floats(1.3, 2.5))
    t0 = draw(st.floats(0.2, 0.4))
    n = draw(st.integers(600, 1200))
    t = np.linspace(t0, 1.0, n)
    return 5.0 + 100.0 * t**p


@FAST
@given(energy=uneven_axes(), fwhm=st.floats(2.0, 5.0), where=st.floats(0.35, 0.65))
def test_resolution_on_uneven_axis(energy, fwhm, where):
    widths = np.diff(energy)
    assert widths.max() / widths.min() > 1.2  # really uneven
    R = resolution_matrix(energy, fwhm)
    np.testing.assert_allclose(R.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all(R >= 0)

    # A unit-area spike, broadened, keeps its center
    # (quadrature over the channel widths).
    w = np.gradient(energy)
    j0 = int(np.argmin(np.abs(energy - (energy[0] + where * (energy[-1] - energy[0])))))
    spike = np.zeros(energy.size)
    spike[j0] = 1.0 / w[j0]
    y = R @ spike
    centroid = np.sum(energy * y * w) / np.sum(y * w)
    assert abs(centroid - energy[j0]) < 1e-3 * fwhm

    # A symmetric kernel leaves a straight line unchanged away from the ends.
    line = 2.0 + 0.3 * energy
    sigma = fwhm * SIGMA_PER_FWHM
    inner = (energy > energy[0] + 10 * sigma) & (energy < energy[-1] - 10 * sigma)
    assert inner.sum() > 10
    np.testing.assert_allclose((R @ line)[inner], line[inner], rtol=1e-6)


@FAST
@given(
    n_pixels=st.integers(5, 40),
    n_components=st.integers(1, 4),
    fwhm=st.one_of(st.just(0.0), st.floats(0.05, 3.0)),
    seed=st.integers(0, 2**32 - 1),
)
def test_blurred_mixture_is_a_mixture_of_same_rank(n_pixels, n_components, fwhm, seed):
    rng = np.random.default_rng(seed)
    energy = np.linspace(0.0, 50.0, 60)
    A = rng.dirichlet(np.ones(n_components), size=n_pixels)
    W = rng.random((n_components, energy.size))
    R = resolution_matrix(energy, fwhm)
    blurred = (A @ W) @ R.T
    # convolution with the resolution function is mixing with broadened endmembers
    np.testing.assert_allclose(blurred, mix(A, W @ R.T), rtol=1e-10, atol=1e-12)
    rank_clean = np.linalg.matrix_rank(A @ W)
    assert rank_clean == min(n_components, n_pixels)
    assert np.linalg.matrix_rank(blurred) == rank_clean


@pytest.mark.parametrize("fwhm", [1e-3, 1e-30, 1e-160, 5e-324])
def test_resolution_sub_channel_fwhm_is_identity_without_warnings(fwhm):
    # A Gaussian far narrower than the 1 eV channels puts all weight on its own channel:
    # the identity, and no overflow RuntimeWarning (a printed warning fails the -W book
    # build).
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        R = resolution_matrix(np.arange(6.0), fwhm)
    np.testing.assert_array_equal(R, np.eye(6))


def test_resolution_rejects_non_increasing_energy():
    with pytest.raises(ValueError, match=r"energy must be strictly increasing"):
        resolution_matrix(np.array([0.0, 1.0, 1.0, 2.0]), 1.0)
    with pytest.raises(ValueError, match=r"energy must be strictly increasing"):
        resolution_matrix(np.array([3.0, 2.0, 1.0]), 1.0)


def test_resolution_rejects_negative_or_bad_fwhm():
    e = np.arange(5.0)
    with pytest.raises(ValueError, match=r"fwhm must be >= 0"):
        resolution_matrix(e, -0.1)
    with pytest.raises(ValueError, match=r"fwhm must be finite"):
        resolution_matrix(e, np.nan)
    with pytest.raises(TypeError, match=r"fwhm must be a real number"):
        resolution_matrix(e, "1 eV")
    with pytest.raises(TypeError, match=r"fwhm must be a real number"):
        resolution_matrix(e, True)


def test_resolution_rejects_bad_energy():
    with pytest.raises(ValueError, match=r"energy needs at least 2 channels"):
        resolution_matrix(np.array([1.0]), 1.0)
    with pytest.raises(ValueError, match=r"energy must be 1-D"):
        resolution_matrix(np.ones((3, 3)), 1.0)
    with pytest.raises(ValueError, match=r"energy contains 1 NaN"):
        resolution_matrix(np.array([0.0, np.nan, 2.0]), 1.0)
    with pytest.raises(TypeError, match=r"energy must hold real numbers"):
        resolution_matrix(np.array(["0", "1"]), 1.0)


# -------------------------------------------------------------------------------- noise


@FAST
@given(target=st.floats(-10.0, 40.0), seed=st.integers(0, 2**32 - 1))
def test_gaussian_noise_reaches_requested_snr(target, seed):
    rng = np.random.default_rng(seed)
    clean = rng.random((200, 500)) + 0.5
    noisy, variance = add_gaussian_noise(clean, target, random_state=seed + 1)
    assert noisy.shape == clean.shape
    # sigma**2 from the definition SNR = 10 log10(mean(clean**2) / sigma**2)
    expected_variance = np.mean(clean**2) / 10 ** (target / 10)
    assert isinstance(variance, float)
    assert variance == pytest.approx(expected_variance, rel=1e-12)
    assert gaussian_noise_std(clean, target) ** 2 == pytest.approx(
        expected_variance, rel=1e-12
    )
    # the noise power estimate has relative std sqrt(2/N): 0.02 dB here,
    # so 0.1 dB is 5 sigma
    assert abs(snr_db(clean, noisy) - target) < 0.1
    noise = noisy - clean
    assert abs(noise.mean()) < 5 * np.sqrt(variance / noise.size)


def test_gaussian_noise_hand_value():
    # power 4, SNR 20 dB -> noise power 0.04 -> sigma 0.2
    assert gaussian_noise_std(np.full(10, -2.0), 20.0) == pytest.approx(0.2, rel=1e-14)
    assert gaussian_noise_std(np.full(10, 2.0), 0.0) == pytest.approx(2.0, rel=1e-14)


def test_gaussian_noise_is_seeded():
    clean = np.linspace(1.0, 2.0, 1000)
    a, _ = add_gaussian_noise(clean, 10.0, random_state=7)
    b, _ = add_gaussian_noise(clean, 10.0, random_state=7)
    c, _ = add_gaussian_noise(clean, 10.0, random_state=8)
    d, _ = add_gaussian_noise(clean, 10.0, random_state=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, d)
    assert not np.array_equal(a, c)


def test_gaussian_noise_errors():
    with pytest.raises(ValueError, match=r"clean is all zeros"):
        add_gaussian_noise(np.zeros(10), 20.0)
    with pytest.raises(ValueError, match=r"snr_db must be finite"):
        add_gaussian_noise(np.ones(10), np.inf)
    with pytest.raises(TypeError, match=r"snr_db must be a real number"):
        add_gaussian_noise(np.ones(10), "20 dB")
    with pytest.raises(ValueError, match=r"clean contains 1 NaN"):
        add_gaussian_noise(np.array([1.0, np.nan]), 20.0)


@pytest.mark.parametrize("bad", ["seed", 1.5, [1, 2]])
def test_bad_random_state_type(bad):
    with pytest.raises(
        TypeError, match=r"random_state must be None, a non-negative int"
    ):
        add_gaussian_noise(np.ones(10), 20.0, random_state=bad)
    with pytest.raises(
        TypeError, match=r"random_state must be None, a non-negative int"
    ):
        add_poisson_noise(np.ones(10), random_state=bad)


def test_negative_random_state():
    with pytest.raises(
        ValueError, match=r"random_state must be a non-negative integer, got -1"
    ):
        add_gaussian_noise(np.ones(10), 20.0, random_state=-1)


@pytest.mark.parametrize("lam", [0.5, 7.0, 120.0])
def test_poisson_mean_equals_variance(lam):
    n = 400_000
    expected = np.full(n, lam)
    counts, variance = add_poisson_noise(expected, random_state=3)
    np.testing.assert_array_equal(variance, expected)
    assert variance is not expected
    assert counts.dtype == np.float64
    np.testing.assert_array_equal(counts, np.round(counts))  # integer counts
    assert counts.min() >= 0
    # standard errors of the sample mean and the sample variance of Poisson(lam)
    assert abs(counts.mean() - lam) < 5 * np.sqrt(lam / n)
    assert abs(counts.var() - lam) < 5 * np.sqrt((lam + 2 * lam**2) / n)


def test_poisson_per_element_expectation():
    lam = np.linspace(0.0, 40.0, 9)
    expected = np.tile(lam, (50_000, 1))
    counts, variance = add_poisson_noise(expected, random_state=11)
    assert counts.shape == expected.shape
    np.testing.assert_array_equal(variance, expected)
    assert np.all(counts[:, 0] == 0)  # zero expectation gives zero counts
    n = expected.shape[0]
    se = 5 * np.sqrt(np.maximum(lam, 1e-12) / n)
    assert np.all(np.abs(counts.mean(axis=0) - lam) <= se)
    assert np.all(
        np.abs(counts.var(axis=0) - lam) <= 5 * np.sqrt((lam + 2 * lam**2) / n) + 1e-12
    )


def test_poisson_is_seeded():
    expected = np.full((30, 40), 12.0)
    a, _ = add_poisson_noise(expected, random_state=5)
    b, _ = add_poisson_noise(expected, random_state=5)
    c, _ = add_poisson_noise(expected, random_state=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_poisson_rejects_negative_and_nan():
    with pytest.raises(ValueError, match=r"expected counts must be non-negative"):
        add_poisson_noise(np.array([1.0, -0.5]))
    with pytest.raises(ValueError, match=r"expected contains 1 NaN"):
        add_poisson_noise(np.array([1.0, np.nan]))
    with pytest.raises(TypeError, match=r"expected must hold real numbers"):
        add_poisson_noise(np.array(["1", "2"]))


@FAST
@given(target=st.floats(-5.0, 40.0), seed=st.integers(0, 2**32 - 1))
def test_poisson_noise_at_a_requested_snr(target, seed):
    clean = np.abs(np.random.default_rng(seed).normal(size=(30, 40))) + 0.1
    counts, expected = add_poisson_noise(clean, snr_db=target, random_state=seed)
    # the scale is exact: expected counts have
    # mean(lambda^2) / mean(lambda) = 10^(SNR/10)
    assert 10 * np.log10(np.mean(expected**2) / expected.mean()) == pytest.approx(
        target
    )
    np.testing.assert_allclose(expected / clean, expected[0, 0] / clean[0, 0])
    assert counts.shape == clean.shape


def test_poisson_noise_at_snr_errors():
    with pytest.raises(ValueError, match=r"expected is all zeros"):
        add_poisson_noise(np.zeros(5), snr_db=10.0)
    with pytest.raises(TypeError, match=r"snr_db must be a real number"):
        add_poisson_noise(np.ones(5), snr_db="10")
