"""Tests of lectlib.mixing.add_detector_noise and lectlib.metrics.estimate_gain.

Expected values: the variance of a sum of independent Poisson counts weighted by the
point-spread, ``g² Σ_k w_k² λ``; the correlation of neighbors ``Σ w_k w_{k+1} / Σ w_k²``
for a flat spectrum; and the sampling error of a variance, ``√(2/n)`` relative.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import FAST, SEEDS

from lectlib.metrics import estimate_gain
from lectlib.mixing import _psf_kernel, add_detector_noise, add_poisson_noise


@FAST
@given(seed=SEEDS)
def test_ideal_detector_is_poisson_noise(seed):
    expected = np.random.default_rng(seed).uniform(0, 50, (7, 30))
    a, va = add_detector_noise(expected, random_state=seed)
    b, vb = add_poisson_noise(expected, random_state=seed)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(va, vb)


@pytest.mark.parametrize("gain", [0.5, 3.0])
@pytest.mark.parametrize("psf_sigma", [0.0, 1.5])
@pytest.mark.parametrize("read_noise", [0.0, 4.0])
def test_mean_variance_and_correlation(gain, psf_sigma, read_noise):
    n = 40_000
    lam = np.linspace(20.0, 200.0, 24)
    counts, variance = add_detector_noise(
        np.tile(lam, (n, 1)),
        gain=gain,
        psf_sigma=psf_sigma,
        read_noise=read_noise,
        random_state=0,
    )
    # the documented variance, written out channel by channel
    if psf_sigma > 0:
        w = _psf_kernel(psf_sigma)
        r = w.size // 2
        pad = np.r_[np.zeros(r), lam, np.zeros(r)]
        mean = gain * np.array([w @ pad[i : i + w.size] for i in range(lam.size)])
        var = gain**2 * np.array(
            [(w**2) @ pad[i : i + w.size] for i in range(lam.size)]
        )
    else:
        mean, var = gain * lam, gain**2 * lam
    var = var + read_noise**2
    np.testing.assert_allclose(variance[0], var, rtol=1e-12)
    assert np.all(np.abs(counts.mean(axis=0) - mean) < 5 * np.sqrt(var / n))
    np.testing.assert_allclose(counts.var(axis=0), var, rtol=5 * np.sqrt(2.0 / n))
    # neighbors are correlated by the point-spread only
    resid = counts - counts.mean(axis=0)
    mid = slice(8, 16)
    corr = np.mean(
        (resid[:, 8:16] * resid[:, 9:17]).mean(axis=0)
        / np.sqrt(resid[:, 8:16].var(axis=0) * resid[:, 9:17].var(axis=0))
    )
    if psf_sigma == 0:
        assert abs(corr) < 5 / np.sqrt(n * 8)
    else:
        expected_corr = (w[:-1] @ w[1:]) / (w @ w)
        signal = gain**2 * (w @ w) * lam[mid].mean()
        expected_corr *= signal / (signal + read_noise**2)
        assert corr == pytest.approx(expected_corr, abs=0.02)


def test_detector_noise_errors():
    with pytest.raises(ValueError, match="non-negative"):
        add_detector_noise(np.array([-1.0, 2.0]))
    with pytest.raises(ValueError, match="gain must be > 0"):
        add_detector_noise(np.ones(4), gain=0.0)
    with pytest.raises(ValueError, match="psf_sigma must be >= 0"):
        add_detector_noise(np.ones(4), psf_sigma=-1.0)
    with pytest.raises(ValueError, match="read_noise must be >= 0"):
        add_detector_noise(np.ones(4), read_noise=-1.0)
    with pytest.raises(ValueError, match="NaN"):
        add_detector_noise(np.array([np.nan, 1.0]))


# --------------------------------------------------------------------- estimate_gain


@FAST
@given(gain=st.floats(0.3, 10.0), read=st.floats(0.0, 5.0), seed=SEEDS)
def test_estimate_gain_without_point_spread(gain, read, seed):
    rng = np.random.default_rng(seed)
    electrons = rng.uniform(10, 300, (600, 64))
    counts, _ = add_detector_noise(
        electrons, gain=gain, read_noise=read, random_state=rng
    )
    fit = estimate_gain(gain * electrons, counts)
    # ~3200 values per bin: each bin's variance is good to √(2/3200) = 2.5 %; the
    # slope, through 12 bins, to better than that
    assert fit.gain == pytest.approx(gain, rel=0.05)
    assert fit.level.shape == fit.variance.shape == (12,)


def test_point_spread_lowers_the_per_channel_gain_and_binning_restores_it():
    rng = np.random.default_rng(0)
    gain, sigma = 3.0, 1.5
    electrons = np.repeat(rng.uniform(20, 400, (4000, 1)), 96, axis=1)
    counts, _ = add_detector_noise(
        electrons, gain=gain, psf_sigma=sigma, random_state=1
    )
    w = _psf_kernel(sigma)
    mean = gain * electrons  # interior channels; the ends lose charge
    inner = slice(8, 88)
    per_channel = estimate_gain(mean[:, inner], counts[:, inner])
    # Σ w² = 1 / (2σ√π) for a Gaussian: the apparent gain is g Σ w²
    assert per_channel.gain == pytest.approx(gain * (w @ w), rel=0.05)
    assert w @ w == pytest.approx(1 / (2 * sigma * np.sqrt(np.pi)), rel=0.01)
    # summed over blocks of b channels the block keeps Σ_k W_k² of each electron's
    # charge in variance, W_k the share of an electron at k landing in the block
    previous = per_channel.gain
    for b in (8, 16, 32):
        fit = estimate_gain(mean[:, inner], counts[:, inner], bin_channels=b)
        r = w.size // 2
        shares = np.array(
            [
                sum(w[j - k + r] for j in range(b) if 0 <= j - k + r < w.size)
                for k in range(-r, b + r)
            ]
        )
        expected = gain * (shares**2).sum() / b
        assert fit.gain == pytest.approx(expected, rel=0.05)
        assert previous < fit.gain < gain * 1.05
        previous = fit.gain
    # each block edge loses ∫ Φ(1 − Φ) = σ/√π channels' worth of variance
    assert fit.gain == pytest.approx(
        gain * (1 - 2 * sigma / (np.sqrt(np.pi) * b)), rel=0.03
    )


def test_estimate_gain_errors():
    x = np.ones((4, 8))
    with pytest.raises(ValueError, match="shape"):
        estimate_gain(x, x[:, :4])
    with pytest.raises(ValueError, match="bin_channels 9 exceeds"):
        estimate_gain(x, x, bin_channels=9)
    with pytest.raises(ValueError, match="n_bins must be >= 2"):
        estimate_gain(x, x, n_bins=1)
    with pytest.raises(ValueError, match="bins"):
        estimate_gain(x, x, n_bins=4)
