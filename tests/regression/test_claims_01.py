"""Regression checks of chapter 01 (the linear mixing model): the numbers its prose and
figures show for the course's seeds.

The chapter's checkpoints assert the claims with bounds from the noise level and
sampling theory; these tests pin what the seeds give on top of that (a method's angle,
a margin), so a change in lectlib or in a dataset that moves them is noticed. They call
the same lectlib functions as the notebook.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import NMF, PCA

from lectlib.datasets import load, make_mixture
from lectlib.metrics import match_components, spectral_angle
from lectlib.mixing import unfold
from lectlib.regression import fit_known_endmembers


@pytest.fixture(scope="module")
def mixture():
    data = load("mixture")
    return data, unfold(data.cube), data.endmembers


def _shifted(energy, spectrum, shift):
    return np.interp(energy, energy + shift, spectrum)


def test_nmf_finds_the_endmembers_and_pca_does_not(mixture):
    data, X, W = mixture
    nmf = NMF(n_components=3, init="nndsvda", max_iter=1000, random_state=0)
    nmf.fit(np.clip(X, 0, None))
    nmf_angles = match_components(nmf.components_, W).angles
    pca = PCA(n_components=3).fit(X)
    pca_angles = match_components(pca.components_, W, sign_invariant=True).angles
    assert nmf_angles.max() < 10
    assert pca_angles.min() > 30


def test_first_principal_component_turns_on_the_top_half(mixture):
    data, X, W = mixture
    ny, nx, _ = data.cube.shape
    first = PCA(n_components=3).fit(X).components_[0]
    top = PCA(n_components=3).fit(X[: (ny // 2) * nx]).components_[0]
    turn = min(spectral_angle(first, top), spectral_angle(first, -top))
    assert turn > 5


def test_weak_component_threshold(mixture):
    """The chapter's weak fourth component: buried at 0.5 and 1 times the BBP threshold,
    an outlier at 2 and 4 times."""
    data, X, W = mixture
    ny, nx, _ = data.cube.shape
    sigma = np.sqrt(data.noise_variance)
    edge = sigma * (np.sqrt(X.shape[0]) + np.sqrt(X.shape[1]))
    peak = np.exp(-0.5 * ((data.energy - 70) / 3) ** 2)
    peak -= W.T @ np.linalg.lstsq(W.T, peak, rcond=None)[0]
    patch = np.zeros((ny, nx, 1))
    patch[30:40, 8:18] = 0.1
    weak = unfold(patch) @ (peak / np.linalg.norm(peak))[None, :]
    threshold = sigma * (X.shape[0] * X.shape[1]) ** 0.25
    s4 = {
        f: np.linalg.svd(X + f * threshold * weak, compute_uv=False)[3] / edge
        for f in (0.5, 1, 2, 4)
    }
    assert s4[0.5] < 1 and s4[1] < 1
    assert 1.05 < s4[2] < s4[4]


@pytest.mark.parametrize(("snr", "low", "high"), [(10, 1.1, 1.5), (30, 10, 60)])
def test_shifted_reference_chi2(snr, low, high):
    m = make_mixture(
        n_components=3,
        shape=(48, 48),
        n_channels=128,
        snr_db=snr,
        random_state=20240901,
    )
    Wm = m.endmembers.copy()
    Wm[0] = _shifted(m.energy, Wm[0], 2.0)
    fit = fit_known_endmembers(
        unfold(m.cube), Wm, method="ols", variance=m.noise_variance
    )
    assert low < fit.reduced_chi2.mean() < high


def test_delocalised_interface_widths():
    """Chapter 01's abrupt SrTiO3/BiFeO3 interface, each channel blurred by d50(E):
    about 1.6 nm unmixed from the low-loss window, 1.1 nm from the core-loss window."""
    from scipy.special import ndtr

    from lectlib.eels import delocalization_length, reference_spectrum

    loss = np.arange(5, 125.5, 0.5)
    d50 = delocalization_length(loss, beam_energy=200.0)
    x = np.arange(-5, 5, 0.05)
    w2 = np.stack([reference_spectrum(m, loss) for m in ("SrTiO3", "BiFeO3")])
    share = ndtr(x[:, None] / (d50 / (2 * np.sqrt(2 * np.log(2)))))
    line = w2[0] + share * (w2[1] - w2[0])
    widths = {}
    for name, (low, high) in {"low": (5, 35), "core": (35, 125)}.items():
        inside = (loss >= low) & (loss <= high)
        fitted = np.linalg.lstsq(w2[:, inside].T, line[:, inside].T, rcond=None)[0][1]
        widths[name] = x[fitted >= 0.9][0] - x[fitted >= 0.1][0]
    assert 1.4 < widths["low"] < 1.9
    assert 0.9 < widths["core"] < 1.4


def test_detector_gain_and_colour(mixture):
    """The chapter's scintillator/CCD (gain 4, point-spread 1.5 channels) at 50
    electrons per unit: per-channel Poisson chi2 about 0.69, lag-1 about 0.88; the gain
    summed over 8 channels about 3.2."""
    from scipy.ndimage import gaussian_filter

    from lectlib.metrics import estimate_gain, lag_autocorrelation
    from lectlib.mixing import add_detector_noise

    data, X, W = mixture
    A = unfold(data.abundances)
    clean = unfold(data.clean)
    counts, _ = add_detector_noise(50 * clean, gain=4.0, psf_sigma=1.5, random_state=0)
    Wd = gaussian_filter(W, (0, 1.5), mode="constant")
    fit = fit_known_endmembers(counts, Wd, method="ols", variance="poisson")
    assert 0.6 < fit.reduced_chi2.mean() < 0.8
    assert lag_autocorrelation(fit.residuals) > 0.8
    mean = 4.0 * 50 * A @ Wd
    assert 3.0 < estimate_gain(mean, counts, bin_channels=8).gain < 3.4


def test_pfm_loops_components():
    """Chapter 01's loop maps (seed 0): one component above the edge when the loops
    are fixed, five when they shift; chi2 of the mean loops about 2.8."""
    from lectlib.datasets import make_pfm_loops

    counts = {}
    for name, m in {
        "linear": make_pfm_loops(
            coercive_variation=0, imprint_variation=0, random_state=0
        ),
        "shifted": make_pfm_loops(random_state=0),
    }.items():
        Xl = unfold(m.loops)
        values = np.linalg.svd(Xl - Xl.mean(axis=0), compute_uv=False)
        edge = m.noise_sigma * (np.sqrt(Xl.shape[0]) + np.sqrt(Xl.shape[1]))
        counts[name] = int(np.sum(values > 1.05 * edge))
        fit = fit_known_endmembers(
            Xl, m.endmembers, method="ols", variance=m.noise_sigma**2
        )
        if name == "shifted":
            assert 2.0 < fit.reduced_chi2.mean() < 4.0
    assert counts == {"linear": 1, "shifted": 5}
