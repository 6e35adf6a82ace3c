"""Tests of the band-excitation PFM loop map, lectlib.datasets.make_pfm_loops, and of
its loop, lectlib.datasets.pfm_loop.

Expected values come from the model's definition and from analysis, not from the
implementation: a triangular sweep's turning points and constant step, tanh branches
that pass zero at the switching biases and saturate far from them, the loop area
``4 × saturation × coercive bias`` (the integral of the difference of two shifted
tanh steps), the rank of an exact linear mixture (k − 1 after centring), the
statistics of white Gaussian noise (mean, variance, kurtosis and lag-1 correlation
within a few standard errors) and the angle noise alone puts between a pixel and its
endmember.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from lectlib.datasets import (
    PFM_PARAMETERS,
    PFM_REGIONS,
    make_pfm_loops,
    pfm_loop,
)
from lectlib.unmixing import NFINDR

LINEAR = dict(coercive_variation=0.0, imprint_variation=0.0)


# ----------------------------------------------------------------------------- pfm_loop


def test_loop_passes_zero_at_the_switching_biases_and_saturates():
    v = np.linspace(-30, 30, 601)
    up, down = np.ones_like(v), -np.ones_like(v)
    kw = dict(coercive_bias=4.0, imprint=1.0, saturation=2.0, width=0.5)
    rising, falling = pfm_loop(v, up, **kw), pfm_loop(v, down, **kw)
    # the rising branch switches at V+ = 1 + 4, the falling one at V- = 1 - 4
    assert np.interp(5.0, v, rising) == pytest.approx(0.0, abs=1e-12)
    assert np.interp(-3.0, v, falling) == pytest.approx(0.0, abs=1e-12)
    far = np.abs(v) > 20
    np.testing.assert_allclose(np.abs(rising[far]), 2.0, rtol=1e-12)
    np.testing.assert_allclose(rising[far], falling[far], rtol=1e-12)
    # hysteresis: between the switching biases the falling branch lies above
    between = (v > -3) & (v < 5)
    assert np.all(falling[between] > rising[between])


@pytest.mark.parametrize("coercive, saturation", [(2.0, 1.0), (4.0, 0.5), (0.5, 3.0)])
def test_loop_area_is_four_saturation_times_coercive_bias(coercive, saturation):
    """∫ (R_falling − R_rising) dV = saturation (2V+ − 2V−) = 4 saturation V_c over a
    range far wider than the loop; the linear slope cancels."""
    v = np.linspace(-60, 60, 24001)
    kw = dict(coercive_bias=coercive, imprint=-0.7, saturation=saturation, width=0.8)
    kw["slope"] = 0.03
    gap = pfm_loop(v, -np.ones_like(v), **kw) - pfm_loop(v, np.ones_like(v), **kw)
    area = np.sum(0.5 * (gap[1:] + gap[:-1]) * np.diff(v))
    assert area == pytest.approx(4 * saturation * coercive, rel=1e-6)


def test_loop_slope_adds_a_line_and_parameters_broadcast():
    v = np.linspace(-5, 5, 11)
    d = np.where(np.arange(11) < 6, 1.0, -1.0)
    base = pfm_loop(v, d, coercive_bias=2.0)
    np.testing.assert_allclose(
        pfm_loop(v, d, coercive_bias=2.0, slope=0.1) - base, 0.1 * v, atol=1e-15
    )
    vc = np.array([[1.0], [2.0], [3.0]])  # (3, 1)
    imprint = np.array([0.0, 0.5])  # (2,)
    out = pfm_loop(v, d, coercive_bias=vc, imprint=imprint)
    assert out.shape == (3, 2, 11)
    np.testing.assert_allclose(
        out[2, 1], pfm_loop(v, d, coercive_bias=3.0, imprint=0.5), rtol=1e-15
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(direction=[1, 0, -1]), r"direction must hold \+1"),
        (dict(direction=[1, -1]), r"direction has 2 values for 3 voltages"),
        (dict(coercive_bias=-1.0), r"coercive_bias must be >= 0"),
        (dict(saturation=0.0), r"saturation must be > 0"),
        (dict(width=np.array([1.0, 0.0])), r"width must be > 0"),
        (dict(imprint=np.nan), r"imprint contains 1 NaN"),
        (dict(voltage=[[0.0, 1.0, 2.0]]), r"voltage must be 1-D"),
        (
            dict(coercive_bias=np.ones(2), imprint=np.ones(3)),
            r"the loop parameters do not broadcast",
        ),
    ],
)
def test_loop_bad_input(kwargs, message):
    call = {"voltage": [0.0, 1.0, 2.0], "direction": [1, 1, -1], **kwargs}
    with pytest.raises(ValueError, match=message):
        pfm_loop(**call)


# ----------------------------------------------------------------------- make_pfm_loops


def test_fields_shapes_and_types():
    d = make_pfm_loops((12, 18), n_voltages=40, random_state=0)
    assert d.loops.shape == d.clean.shape == (12, 18, 40)
    assert d.voltage.shape == d.direction.shape == (40,)
    assert d.regions.shape == (12, 18)
    assert np.issubdtype(d.regions.dtype, np.integer)
    assert d.abundances.shape == (12, 18, 2)
    assert d.endmembers.shape == (2, 40)
    assert d.parameters.shape == (12, 18, len(PFM_PARAMETERS))
    assert d.parameter_names == PFM_PARAMETERS
    assert d.region_names == ("switching", "pinned down")
    assert np.all(np.isfinite(d.loops))
    assert isinstance(d.DESCR, str) and "12 x 18" in d.DESCR
    assert d.noise_sigma == pytest.approx(0.05)


def test_default_map_is_fast():
    make_pfm_loops(random_state=0)  # warm-up (imports, caches)
    tic = time.perf_counter()
    make_pfm_loops(random_state=1)
    # 0.005 s measured; the bound leaves room for a loaded machine
    assert time.perf_counter() - tic < 0.2


@pytest.mark.parametrize("n", [8, 64, 100, 36])
def test_sweep_is_one_triangular_cycle(n):
    d = make_pfm_loops((4, 4), n_voltages=n, v_max=7.0, random_state=0)
    v = d.voltage
    assert v[0] == 0.0
    assert v[n // 4] == pytest.approx(7.0) and v[3 * n // 4] == pytest.approx(-7.0)
    assert v.max() <= 7.0 + 1e-12 and v.min() >= -7.0 - 1e-12
    steps = np.diff(v)
    # a constant step of 4 v_max / n, up, down, up: two turning points
    np.testing.assert_allclose(np.abs(steps), 4 * 7.0 / n, rtol=1e-9)
    signs = np.sign(steps)
    assert np.count_nonzero(np.diff(signs)) == 2
    # the direction is the sign of the step to the next point (turning points aside)
    for k in range(n - 1):
        if k > 0 and signs[k] != signs[k - 1]:
            continue
        assert d.direction[k] == signs[k], k
    assert d.direction[-1] == 1


@pytest.mark.parametrize(
    "regions",
    [
        ("switching",),
        ("switching", "pinned down"),
        ("pinned up", "switching", "non-polar"),
        PFM_REGIONS,
    ],
)
def test_abundances_are_a_smoothed_partition(regions):
    d = make_pfm_loops((30, 30), regions=regions, random_state=3)
    k = len(regions)
    assert d.abundances.shape == (30, 30, k)
    assert d.abundances.min() >= 0
    np.testing.assert_allclose(d.abundances.sum(axis=-1), 1.0, atol=1e-12)
    labels, counts = np.unique(d.regions, return_counts=True)
    np.testing.assert_array_equal(labels, np.arange(k))
    np.testing.assert_allclose(counts / counts.sum(), 1 / k, atol=0.01)
    sharp = make_pfm_loops((30, 30), regions=regions, boundary_width=0, random_state=3)
    onehot = (sharp.regions[..., None] == np.arange(k)).astype(float)
    np.testing.assert_array_equal(sharp.abundances, onehot)


@pytest.mark.parametrize("seed", range(3))
def test_without_variation_the_map_is_an_exact_linear_mixture(seed):
    """clean = abundances @ endmembers; centred, its rank is k − 1 for affinely
    independent endmembers, and one less with all four kinds (the non-polar line is
    the mean of the two pinned ones); the endmembers are the documented loops."""
    for regions, rank in (
        (("switching", "pinned up", "non-polar"), 2),
        (("switching", "pinned up", "pinned down", "non-polar"), 2),
    ):
        d = make_pfm_loops(
            regions=regions, noise_level=0.0, random_state=seed, **LINEAR
        )
        np.testing.assert_allclose(d.clean, d.abundances @ d.endmembers, atol=1e-12)
        np.testing.assert_array_equal(d.loops, d.clean)
        X = d.clean.reshape(-1, d.clean.shape[-1])
        s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
        assert s[rank - 1] > 1e-3 * s[0] and s[rank] < 1e-10 * s[0], regions
    v, sat, slope = d.voltage, d.params["saturation"], d.params["slope"]
    np.testing.assert_allclose(d.endmembers[1], sat + slope * v)
    np.testing.assert_allclose(d.endmembers[2], -sat + slope * v)
    np.testing.assert_allclose(d.endmembers[3], slope * v)
    np.testing.assert_allclose(
        d.endmembers[0],
        pfm_loop(
            v,
            d.direction,
            coercive_bias=d.params["coercive_bias"],
            imprint=d.params["imprint"],
            saturation=sat,
            width=d.params["width"],
            slope=slope,
        ),
    )


def test_coercive_and_imprint_variation_break_the_linear_mixture():
    """A shifted loop is not a mixture of the mean loops: the centred rank grows well
    beyond k − 1 = 1, and the residual of the best fit by the true abundances times
    free endmembers stays far above rounding."""
    d = make_pfm_loops(noise_level=0.0, random_state=0)
    X = d.clean.reshape(-1, d.clean.shape[-1])
    s = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    assert s[1] > 0.02 * s[0] and s[2] > 0.01 * s[0]
    A = d.abundances.reshape(-1, 2)
    E, *_ = np.linalg.lstsq(A, X, rcond=None)
    assert np.linalg.norm(X - A @ E) > 0.05 * np.linalg.norm(X)


@pytest.mark.parametrize("seed", range(3))
def test_parameters_vary_within_the_stated_bounds(seed):
    d = make_pfm_loops(
        coercive_bias=3.0,
        coercive_variation=1.2,
        imprint=-0.4,
        imprint_variation=0.8,
        random_state=seed,
    )
    p = d.parameters
    dev_c, dev_i = p[..., 0] - 3.0, p[..., 1] + 0.4
    # the smooth fields reach magnitude 1 exactly once
    assert np.abs(dev_c).max() == pytest.approx(1.2)
    assert np.abs(dev_i).max() == pytest.approx(0.8)
    np.testing.assert_array_equal(p[..., 2], d.params["saturation"])
    np.testing.assert_array_equal(p[..., 3], d.params["width"])
    np.testing.assert_array_equal(p[..., 4], d.params["slope"])
    # smooth: neighbouring pixels differ by a small part of the range
    assert np.abs(np.diff(dev_c, axis=0)).max() < 0.5 * 1.2


def test_pure_switching_pixels_hold_the_loop_of_their_parameters():
    d = make_pfm_loops(noise_level=0.0, boundary_width=0.0, random_state=4)
    pure = d.regions == d.region_names.index("switching")
    names = dict(zip(PFM_PARAMETERS, np.moveaxis(d.parameters[pure], -1, 0)))
    expected = pfm_loop(d.voltage, d.direction, **names)  # (n_pure, n_voltages)
    np.testing.assert_allclose(d.clean[pure], expected, atol=1e-12)


def test_noise_is_white_gaussian_of_the_stated_level():
    """Residual mean within 5 standard errors of 0, standard deviation within 5
    standard errors (σ / √(2n)) of noise_sigma, excess kurtosis within 5 × √(24 / n),
    lag-1 correlation along the bias within 5 / √n."""
    d = make_pfm_loops((60, 60), noise_level=0.08, random_state=5)
    r = (d.loops - d.clean).ravel()
    n, sigma = r.size, d.noise_sigma
    assert sigma == pytest.approx(0.08 * d.params["saturation"])
    assert abs(r.mean()) < 5 * sigma / np.sqrt(n)
    assert abs(r.std() - sigma) < 5 * sigma / np.sqrt(2 * n)
    assert abs(stats.kurtosis(r)) < 5 * np.sqrt(24 / n)
    res = (d.loops - d.clean).reshape(-1, d.loops.shape[-1])
    lag1 = np.mean(res[:, 1:] * res[:, :-1]) / sigma**2
    assert abs(lag1) < 5 / np.sqrt(res[:, 1:].size)


@pytest.mark.parametrize("seed", range(3))
def test_nfindr_recovers_the_endmembers_of_a_linear_map(seed):
    """N-FINDR's endmembers are pure pixels: each lies within about the noise angle
    atan(σ √p / |e|) of its true loop (bound: twice that)."""
    regions = ("switching", "pinned up", "pinned down")
    d = make_pfm_loops(regions=regions, random_state=seed, **LINEAR)
    X = d.loops.reshape(-1, d.loops.shape[-1])
    found = NFINDR(3, random_state=0).fit(X).endmembers_
    p = X.shape[1]
    for e in d.endmembers:
        cos = found @ e / np.linalg.norm(found, axis=1) / np.linalg.norm(e)
        angle = np.degrees(np.arccos(np.clip(cos.max(), -1, 1)))
        bound = np.degrees(np.arctan(d.noise_sigma * np.sqrt(p) / np.linalg.norm(e)))
        assert angle < 2 * bound, (angle, bound)


def test_deterministic_given_random_state():
    a = make_pfm_loops((16, 16), random_state=9)
    b = make_pfm_loops((16, 16), random_state=np.random.default_rng(9))
    c = make_pfm_loops((16, 16), random_state=10)
    for key in ("loops", "clean", "regions", "abundances", "parameters"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a.loops, c.loops)


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        (dict(shape=(0, 4)), ValueError, r"shape\[0\] must be >= 1"),
        (dict(n_voltages=7), ValueError, r"n_voltages must be >= 8"),
        (dict(n_voltages=30), ValueError, r"n_voltages must be a multiple of 4"),
        (dict(n_voltages=8.5), TypeError, r"n_voltages must be an integer"),
        (dict(v_max=0.0), ValueError, r"v_max must be > 0"),
        (dict(regions=()), ValueError, r"regions must be a non-empty sequence"),
        (dict(regions="switching"), ValueError, r"regions must be a non-empty"),
        (dict(regions=("switching", "paraelectric")), ValueError, r"got \("),
        (dict(regions=("switching", "switching")), ValueError, r"must not repeat"),
        (dict(coercive_bias=-1.0), ValueError, r"coercive_bias must be >= 0"),
        (dict(coercive_variation=5.0), ValueError, r"coercive_variation must be <="),
        (dict(imprint_variation=-0.1), ValueError, r"imprint_variation must be >= 0"),
        (dict(saturation=0.0), ValueError, r"saturation must be > 0"),
        (dict(width=0.0), ValueError, r"width must be > 0"),
        (dict(slope=np.inf), ValueError, r"slope must be finite"),
        (dict(length_scale=0.0), ValueError, r"length_scale must be > 0"),
        (dict(boundary_width=-1.0), ValueError, r"boundary_width must be >= 0"),
        (dict(noise_level=-0.1), ValueError, r"noise_level must be >= 0"),
        (dict(random_state="seed"), TypeError, r"random_state must be None"),
    ],
)
def test_bad_input(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        make_pfm_loops(**{"shape": (8, 8), **kwargs})


@settings(deadline=None, max_examples=60, derandomize=True, database=None)
@given(
    ny=st.integers(1, 12),
    nx=st.integers(1, 12),
    quarter=st.integers(2, 20),
    regions=st.lists(st.sampled_from(PFM_REGIONS), min_size=1, max_size=4, unique=True),
    length=st.floats(0.01, 1.0),
    boundary=st.floats(0.0, 1.0),
    level=st.floats(0.0, 10.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_valid_setting_gives_a_finite_map(
    ny, nx, quarter, regions, length, boundary, level, seed
):
    """Tiny grids too: finite loops, abundances on the simplex, labels in range."""
    d = make_pfm_loops(
        (ny, nx),
        n_voltages=4 * quarter,
        regions=regions,
        length_scale=length * 10 * max(ny, nx),
        boundary_width=boundary * max(ny, nx),
        noise_level=level,
        random_state=seed,
    )
    assert d.loops.shape == (ny, nx, 4 * quarter)
    assert np.all(np.isfinite(d.loops)) and np.all(np.isfinite(d.abundances))
    assert d.abundances.min() >= 0
    np.testing.assert_allclose(d.abundances.sum(axis=-1), 1.0, atol=1e-9)
    assert set(np.unique(d.regions)) <= set(range(len(regions)))
