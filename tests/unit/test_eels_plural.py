"""Tests of the zero-loss peak, plural scattering, the log-ratio thickness, Fourier-log
deconvolution and the delocalization length (lectlib.eels), and of the options of
make_eels_interface that use them.

Expected values come from analytic cases: the Poisson weights of the n-fold terms, the
exact inverse of the Fourier-log relation, the standard error of a ratio of Poisson
counts, and Egerton's d₅₀ ∝ E^(−3/4).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from helpers import FAST

from lectlib.datasets import make_eels_interface
from lectlib.eels import (
    delocalization_length,
    fourier_log_deconvolution,
    log_ratio_thickness,
    plural_scattering,
    zero_loss_peak,
)

H = 0.5
LONG = np.arange(-10.0, 600.0, H)  # long enough to hold the plural tail (< 1e-7)


def _compact_single(energy):
    """A single-scattering distribution zero below 4 eV and negligible above 100 eV:
    a plasmon-like peak and a weaker broad feature, unit area."""
    s = np.where(
        energy > 4.0,
        np.exp(-0.5 * ((energy - 22.0) / 4.0) ** 2)
        + 0.3 * np.exp(-0.5 * ((energy - 60.0) / 8.0) ** 2),
        0.0,
    )
    return s / (s.sum() * H)


def _gaussian_kernel(fwhm):
    sigma = fwhm / (2 * np.sqrt(2 * np.log(2))) / H
    x = np.arange(-60, 61)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


# ------------------------------------------------------------------------ zero loss


@pytest.mark.parametrize("fwhm", [0.3, 1.0, 2.5])
def test_zero_loss_peak_area_and_width(fwhm):
    e = np.arange(-10.0, 10.0, 0.01)
    z = zero_loss_peak(e, fwhm)
    assert z.sum() * 0.01 == pytest.approx(1.0, rel=1e-9)
    above = e[z >= z.max() / 2]
    assert above[-1] - above[0] == pytest.approx(fwhm, abs=0.02)
    with pytest.raises(ValueError, match="fwhm must be > 0"):
        zero_loss_peak(e, 0.0)


# ---------------------------------------------------------------- plural scattering


@FAST
@given(t=st.floats(0.05, 2.0))
def test_n_fold_terms_carry_poisson_weights(t):
    """A narrow single-scattering line at 25 eV: the n-fold term sits at 25 n eV and
    its area is P(n; t/λ) = e^(−t) tⁿ / n!."""
    s = np.where(LONG > 0, np.exp(-0.5 * ((LONG - 25.0) / 0.5) ** 2), 0.0)
    j = plural_scattering(s, LONG, t, resolution_fwhm=0.3)
    for n in range(6):
        window = np.abs(LONG - 25.0 * n) < 10.0
        area = j[window].sum() * H
        assert area == pytest.approx(stats.poisson.pmf(n, t), abs=1e-9)
    assert j.sum() * H == pytest.approx(1.0, abs=1e-9)


def test_plural_scattering_limits_and_broadcasting():
    s = _compact_single(LONG)
    z = zero_loss_peak(LONG, 1.0)
    np.testing.assert_allclose(
        plural_scattering(s, LONG, 0.0), z / (z.sum() * H), atol=1e-15
    )
    # only the shape of S matters; thickness broadcasts with the leading shape
    a = plural_scattering(3.0 * s, LONG, [0.2, 0.7])
    b = np.stack([plural_scattering(s, LONG, t) for t in (0.2, 0.7)])
    np.testing.assert_allclose(a, b, atol=1e-15)
    many = plural_scattering(np.stack([s, s]), LONG, np.array([[0.2, 0.7]]))
    assert many.shape == (1, 2, LONG.size)
    # to first order in t the spectrum is Z + t (Z ⊗ S − Z)
    t = 1e-4
    j = plural_scattering(s, LONG, t)
    linear = (
        plural_scattering(s, LONG, 0.0) * (1 - t)
        + t * np.convolve(z / (z.sum() * H), s * H, mode="full")[20 : 20 + LONG.size]
    )
    np.testing.assert_allclose(j, linear, atol=1e-8 * j.max())


def test_plural_scattering_errors():
    s = _compact_single(LONG)
    with pytest.raises(ValueError, match="channel at 0 eV"):
        plural_scattering(s, LONG + 0.25, 0.5)
    with pytest.raises(ValueError, match="evenly spaced"):
        plural_scattering(s, np.r_[LONG[:-1], LONG[-1] + 1.0], 0.5)
    with pytest.raises(ValueError, match="zero at and below 0 eV"):
        plural_scattering(np.ones_like(LONG), LONG, 0.5)
    with pytest.raises(ValueError, match="thickness"):
        plural_scattering(s, LONG, -0.1)
    with pytest.raises(ValueError, match="does not broadcast"):
        plural_scattering(np.stack([s, s, s]), LONG, [0.1, 0.2])
    with pytest.raises(ValueError, match="all-zero"):
        plural_scattering(np.zeros_like(LONG), LONG, 0.5)
    with pytest.raises(ValueError, match="channels"):
        plural_scattering(s[:-1], LONG, 0.5)


# ------------------------------------------------------------------------- log-ratio


@FAST
@given(t=st.floats(0.05, 1.5))
def test_log_ratio_recovers_thickness_on_noiseless_data(t):
    j = 1e4 * H * plural_scattering(_compact_single(LONG), LONG, t)
    assert log_ratio_thickness(j, LONG) == pytest.approx(t, abs=1e-6)
    # a fixed window that holds the zero-loss peak and none of the losses
    assert log_ratio_thickness(j, LONG, zero_loss_window=(-3.0, 3.0)) == pytest.approx(
        t, abs=1e-6
    )


def test_log_ratio_on_poisson_counts_within_its_standard_error():
    """ln(I_t / I_0) with Poisson I_0 and I_t − I_0 has standard error
    √((1 − I_0/I_t) / I_0): the standardized errors have mean 0 and variance 1."""
    rng = np.random.default_rng(0)
    t = np.linspace(0.3, 1.2, 400)
    j = 2e4 * H * plural_scattering(_compact_single(LONG), LONG, t)
    counts = rng.poisson(j).astype(float)  # (j >= 0: round-off negatives are clipped)
    found = log_ratio_thickness(counts, LONG)
    i0 = 2e4 * np.exp(-t)
    se = np.sqrt((1 - np.exp(-t)) / i0)
    z = (found - t) / se
    assert abs(z.mean()) < 4 / np.sqrt(t.size)
    assert z.var() == pytest.approx(1.0, abs=4 * np.sqrt(2 / t.size))


def test_log_ratio_errors():
    j = plural_scattering(_compact_single(LONG), LONG, 0.5)
    with pytest.raises(ValueError, match="must contain 0 eV"):
        log_ratio_thickness(j, LONG, zero_loss_window=(2.0, 4.0))
    with pytest.raises(ValueError, match="no counts in its zero-loss peak"):
        log_ratio_thickness(
            np.where(np.abs(LONG) < 2, 0.0, j), LONG, zero_loss_window=(-1.0, 1.0)
        )
    with pytest.raises(ValueError, match="channels"):
        log_ratio_thickness(j[:-1], LONG)


# ------------------------------------------------------------ Fourier-log deconvolution


@pytest.mark.parametrize("t", [0.3, 0.75, 1.5])
def test_fourier_log_deconvolution_inverts_plural_scattering(t):
    """On noiseless data with the zero-loss peak known, the deconvolution returns
    I_0 t S ⊗ g to round-off; with the peak taken from its window, to 1e-6."""
    s = _compact_single(LONG)
    dose = 1e5
    j = dose * H * plural_scattering(s, LONG, t, resolution_fwhm=1.0)
    z = zero_loss_peak(LONG, 1.0)
    z *= dose * np.exp(-t) / z.sum()
    want = np.convolve(dose * np.exp(-t) * t * s * H, _gaussian_kernel(1.0), "same")
    known = fourier_log_deconvolution(j, LONG, zero_loss=z, resolution_fwhm=1.0)
    inside = LONG < 500.0  # away from the cut at the last channel
    np.testing.assert_allclose(
        known.single[inside], want[inside], rtol=0, atol=1e-11 * want.max()
    )
    measured = fourier_log_deconvolution(j, LONG)
    assert measured.resolution_fwhm == pytest.approx(1.0, abs=1e-3)
    assert measured.zero_loss_intensity == pytest.approx(dose * np.exp(-t), rel=1e-6)
    np.testing.assert_allclose(
        measured.single[inside], want[inside], rtol=0, atol=1e-6 * want.max()
    )
    # re-convolving the result with the plural-scattering series gives the data back
    back = plural_scattering(np.clip(s, 0, None), LONG, t, resolution_fwhm=1.0)
    np.testing.assert_allclose(dose * H * back, j, atol=1e-9 * j.max())


def test_fourier_log_deconvolution_is_vectorised_and_removes_double_scattering():
    s = _compact_single(LONG)
    t = np.array([[0.4, 0.8], [1.2, 0.2]])
    j = 1e4 * H * plural_scattering(s, LONG, t)
    out = fourier_log_deconvolution(j, LONG)
    assert out.single.shape == j.shape and out.thickness.shape == (2, 2)
    np.testing.assert_allclose(out.thickness, t, atol=1e-6)
    # the single-scattering shape is the same for every thickness
    shapes = out.single / out.single.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(
        shapes, np.broadcast_to(shapes[0, 0], j.shape), atol=1e-8
    )
    # the double-plasmon at 44 eV is gone: the result at 44 eV is S's value there
    i = np.searchsorted(LONG, 44.0)
    assert shapes[0, 0, i] < 0.5 * (j[1, 0, i] / j[1, 0].sum())


def test_fourier_log_deconvolution_errors():
    j = plural_scattering(_compact_single(LONG), LONG, 0.5)
    with pytest.raises(ValueError, match="zero_loss has"):
        fourier_log_deconvolution(j, LONG, zero_loss=np.ones(3))
    with pytest.raises(ValueError, match="resolution_fwhm must be >= 0"):
        fourier_log_deconvolution(j, LONG, resolution_fwhm=-1.0)


# ------------------------------------------------------------------- delocalization


def test_delocalization_length_at_200_kV():
    # Egerton (2007): d50 ≈ 0.5 λ / θ_E^(3/4); about 2 nm at 20 eV, half at 50 eV
    d20, d50 = delocalization_length(20.0), delocalization_length(50.0)
    assert d20 == pytest.approx(1.88, abs=0.01)
    assert d20 / d50 == pytest.approx((50 / 20) ** 0.75, rel=1e-12)
    assert d50 == pytest.approx(d20 / 2, rel=0.01)
    # written out: λ = hc / √(E0 (E0 + 2 m c²)), θ_E = E / (γ m v²)
    lam = 1.23984198 / np.sqrt(200.0 * (200.0 + 2 * 510.99895))
    gmv2 = 1e3 * 200.0 * (200.0 + 2 * 510.99895) / (200.0 + 510.99895)
    e = np.array([5.0, 20.0, 99.0])
    np.testing.assert_allclose(
        delocalization_length(e), 0.5 * lam / (e / gmv2) ** 0.75, rtol=1e-12
    )
    assert isinstance(delocalization_length(20.0), float)
    with pytest.raises(ValueError, match="energy must be positive"):
        delocalization_length(0.0)
    with pytest.raises(ValueError, match="beam_energy must be > 0"):
        delocalization_length(20.0, beam_energy=0.0)


# ------------------------------------------------------- make_eels_interface options

PLURAL = dict(scattering="plural", energy_range=(-5.0, 125.0))


def test_defaults_are_single_scattering_and_an_ideal_detector():
    a = make_eels_interface(shape=(6, 20), random_state=4)
    b = make_eels_interface(
        shape=(6, 20),
        scattering="single",
        delocalization=False,
        gain=1.0,
        psf_sigma=0.0,
        read_noise=0.0,
        random_state=4,
    )
    for key in ("cube", "clean", "noise_variance", "references"):
        np.testing.assert_array_equal(a[key], b[key])
    assert "single" not in a and "zero_loss" not in a


def test_plural_cube_is_the_forward_model():
    d = make_eels_interface(shape=(4, 12), noise=None, random_state=0, **PLURAL)
    e, step = d.energy, d.params["energy_step"]
    assert d.cube.shape == d.single.shape == (4, 12, 261) and e[10] == 0.0
    # I0 = dose e^(-τ); log-ratio on the noiseless cube gives τ up to what scatters
    # beyond 125 eV (plural terms of the edges)
    np.testing.assert_allclose(
        d.zero_loss, d.params["dose"] * np.exp(-d.t_over_lambda), rtol=1e-12
    )
    found = log_ratio_thickness(d.cube, e)
    assert np.all(found <= d.t_over_lambda + 1e-9)
    # the plural terms of losses near 125 eV fall past the last channel: a few % low
    assert np.max((d.t_over_lambda - found) / d.t_over_lambda) < 0.06
    # single = e^(-τ) × (Σ c_i references_i + interface) of the same pixels
    model = np.einsum("yxk,kc->yxc", d.coefficients, d.references)
    model += d.interface_coefficient[..., None] * d.interface_spectrum
    np.testing.assert_allclose(
        d.single, model * np.exp(-d.t_over_lambda)[..., None], rtol=1e-12
    )
    np.testing.assert_allclose(
        d.t_over_lambda, d.thickness + d.interface_coefficient, rtol=1e-12
    )
    # the double-scattering share at the default wedge: t/2, 23-38 %
    share = d.thickness / 2  # P(2; t) / P(1; t)
    np.testing.assert_allclose(share.mean(axis=1)[[0, -1]], [0.225, 0.375], rtol=0.1)


def test_plural_cube_deconvolves_to_its_single_scattering():
    d = make_eels_interface(shape=(4, 12), noise=None, random_state=0, **PLURAL)
    out = fourier_log_deconvolution(d.cube, d.energy)
    inside = (d.energy > 0) & (d.energy < 110.0)
    err = np.abs(out.single - d.single)[..., inside].max() / d.single.max()
    # what scatters past 125 eV is missing from the cube: small, not round-off
    assert err < 0.02


def _interface_width(d, lo, hi):
    """10-90 % width (px) of the first interface of a line scan, in the intensity
    summed over lo-hi eV, between plateaus 20-25 px either side."""
    window = (d.energy >= lo) & (d.energy < hi)
    p = d.clean[:, window].sum(axis=1)
    b = int(d.interfaces[0, 0])
    left, right = p[b - 25 : b - 20].mean(), p[b + 20 : b + 25].mean()
    f = (p[b - 20 : b + 20] - left) / (right - left)
    x = np.arange(b - 20, b + 20, dtype=float)
    if f[-1] < f[0]:
        f = -f + 1.0
    # crossings, interpolated linearly (f rises monotonically across a blurred step)
    return np.interp(0.9, f, x) - np.interp(0.1, f, x)


def test_delocalization_broadens_low_loss_interfaces():
    """The 5-35 eV window sees a wider interface than the 35-125 eV window: d50 is
    ~2 nm at 20 eV (5 px of 0.4 nm) and under 1.3 nm above 35 eV. A line scan has a
    constant thickness, so the window sums change only at the interface."""
    kw = dict(
        shape=(1, 90),
        scan="line",
        roughness=0.0,
        intermixing=0.0,
        interface_component=0.0,
        noise=None,
        random_state=0,
    )
    sharp = make_eels_interface(**kw)
    blurred = make_eels_interface(delocalization=True, **kw)
    np.testing.assert_array_equal(sharp.coefficients, blurred.coefficients)
    low, core = _interface_width(blurred, 5, 35), _interface_width(blurred, 35, 125)
    # an abrupt step sampled on pixels reads 0.8 px; a Gaussian of σ px, 2.56 σ
    assert _interface_width(sharp, 5, 35) == pytest.approx(0.8, abs=1e-9)
    sigma_20 = delocalization_length(20.0) / 0.4 / 2.3548
    assert low > 2.56 * sigma_20 and low > 3 * core
    assert core < 2.56 * delocalization_length(35.0) / 0.4 / 2.3548
    # total counts are conserved by the blur (reflecting ends)
    assert blurred.clean.sum() == pytest.approx(sharp.clean.sum(), rel=1e-9)


def test_detector_options_of_the_cube():
    d = make_eels_interface(
        shape=(16, 24), gain=3.0, psf_sigma=1.5, read_noise=2.0, random_state=0
    )
    electrons = make_eels_interface(shape=(16, 24), noise=None, random_state=0)
    # clean is the mean in counts: gain × the point-spread electrons
    assert d.clean.sum() == pytest.approx(3.0 * electrons.clean.sum(), rel=0.01)
    z = (d.cube - d.clean) / np.sqrt(d.noise_variance)
    assert abs(z.mean()) < 0.02 and z.var() == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(scattering="plural"), ValueError, r"start below 0 eV"),
        (
            dict(scattering="plural", energy_range=(-5.25, 125.0)),
            ValueError,
            r"channel at 0 eV",
        ),
        (dict(scattering="double"), ValueError, r"scattering must be"),
        (dict(delocalization="yes"), TypeError, r"delocalization must be"),
        (dict(pixel_size=0.0), ValueError, r"pixel_size must be > 0"),
        (dict(beam_energy=-1.0), ValueError, r"beam_energy must be > 0"),
        (dict(gain=0.0), ValueError, r"gain must be > 0"),
        (dict(psf_sigma=-1.0), ValueError, r"psf_sigma must be >= 0"),
        (dict(read_noise=-1.0), ValueError, r"read_noise must be >= 0"),
    ],
)
def test_new_options_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_eels_interface(shape=(2, 6), **kwargs)


@FAST
@given(
    ny=st.integers(1, 5),
    nx=st.integers(1, 9),
    scan=st.sampled_from(["area", "line"]),
    below=st.integers(1, 8),
    step=st.sampled_from([0.25, 0.5, 1.0, 2.0]),
    span=st.floats(3.0, 130.0),
    t=st.floats(0.01, 2.0),
    fwhm=st.sampled_from([0.0, 0.3, 1.0, 3.0]),
    delocalization=st.booleans(),
    gain=st.floats(0.1, 10.0),
    psf=st.floats(0.0, 4.0),
    noise=st.sampled_from(["poisson", None]),
)
def test_plural_options_on_any_grid(
    ny, nx, scan, below, step, span, t, fwhm, delocalization, gain, psf, noise
):
    d = make_eels_interface(
        shape=(ny, nx),
        scan=scan,
        energy_range=(-below * step, span),
        energy_step=step,
        thickness=(t, t),
        resolution_fwhm=fwhm,
        scattering="plural",
        delocalization=delocalization,
        gain=gain,
        psf_sigma=psf,
        noise=noise,
        random_state=0,
    )
    grid = (nx,) if scan == "line" else (ny, nx)
    assert d.cube.shape == d.single.shape == d.noise_variance.shape
    assert d.cube.shape[:-1] == grid == d.zero_loss.shape == d.t_over_lambda.shape
    for key in ("cube", "clean", "single", "noise_variance", "zero_loss"):
        assert np.all(np.isfinite(d[key])) and d[key].min() >= 0, key
    assert d.energy[below] == 0.0
