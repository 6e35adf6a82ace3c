"""Chapter 02's numbers for the seeds it uses: regression checks, not claims.

The chapter's checkpoints assert what holds for any seed (bounds from the noise level);
these tests pin what its text shows for ``random_state=0`` with tolerances tuned to that
seed, so a change in the generator or the fits that moves them is noticed.
"""

from __future__ import annotations

import numpy as np
import pytest

from lectlib.datasets import make_eels_interface
from lectlib.decomposition import pca
from lectlib.eels import fourier_log_deconvolution, log_ratio_thickness
from lectlib.metrics import match_labels
from lectlib.mixing import unfold
from lectlib.regression import KnownEndmemberRegression, fit_known_endmembers

PLASMON, CHEMISTRY = (5.0, 35.0), (35.0, 125.0)


@pytest.fixture(scope="module")
def data():
    return make_eels_interface(random_state=0)


@pytest.fixture(scope="module")
def masks(data):
    peak = data.interface_coefficient.max()
    return (
        data.interface_coefficient < 0.01 * peak,
        data.interface_coefficient > 0.5 * peak,
    )


def _rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.mark.parametrize("window", [PLASMON, CHEMISTRY])
def test_both_windows_recover_the_coefficients_off_the_interface_layer(
    data, masks, window
):
    far, _ = masks
    fit = fit_known_endmembers(
        data.cube, data.references, energy=data.energy, window=window, method="nnls"
    )
    assert _rmse(fit.coefficients[far], data.coefficients[far]) < 0.03
    assert abs(fit.reduced_chi2[far].mean() - 1) < 0.1


def test_chi2_map_follows_the_interface_layer(data):
    full = fit_known_endmembers(data.cube, data.references, method="nnls")
    r = np.corrcoef(full.reduced_chi2.ravel(), data.interface_coefficient.ravel())[0, 1]
    assert r > 0.8
    assert np.median(full.reduced_chi2[data.interface_coefficient > 0.0]) > 1.0


def test_a_shifted_reference_leaves_a_phantom_coefficient_at_every_dose(data):
    W = data.references
    shifted = W.copy()
    shifted[2] = np.interp(data.energy - 1.0, data.energy, W[2])
    bfo = data.fractions[..., 2] > 0.9
    phantom, chi2 = [], []
    for dose in (1e3, 1e6):
        d = make_eels_interface(dose=dose, interface_component=0.0, random_state=0)
        f = fit_known_endmembers(d.cube, shifted * dose / 2e4, method="nnls")
        phantom.append(f.coefficients[bfo, 1].mean())
        chi2.append(np.median(f.reduced_chi2[bfo]))
    assert min(phantom) > 0.05
    assert chi2[0] < 1.3 and chi2[1] > 20


def test_at_low_dose_ols_goes_negative_and_the_poisson_fit_is_best(masks):
    far, _ = masks
    low = make_eels_interface(dose=2e3, random_state=0)
    rmse = {}
    for method in ("ols", "nnls", "poisson"):
        f = fit_known_endmembers(low.cube, low.references, method=method)
        rmse[method] = _rmse(f.coefficients[far], low.coefficients[far])
        if method == "ols":
            assert np.mean(f.coefficients < 0) > 0.05
    assert rmse["poisson"] < rmse["nnls"] < rmse["ols"]


def test_k_means_on_the_coefficients_finds_the_layers(data):
    from sklearn.cluster import KMeans
    from sklearn.pipeline import make_pipeline

    pipe = make_pipeline(
        KnownEndmemberRegression(data.references, energy=data.energy, window=CHEMISTRY),
        KMeans(3, n_init=5, random_state=0),
    )
    labels = pipe.fit_predict(unfold(data.cube))
    dominant = data.fractions.argmax(axis=-1).ravel()
    assert match_labels(labels, dominant).accuracy > 0.95


@pytest.fixture(scope="module")
def plural():
    return make_eels_interface(
        scattering="plural",
        energy_range=(-5.0, 125.0),
        interface_component=0.0,
        random_state=0,
    )


def test_log_ratio_thickness_of_the_plural_image(plural):
    t = log_ratio_thickness(plural.cube, plural.energy)
    assert _rmse(t, plural.t_over_lambda) < 0.02


def test_deconvolution_removes_the_thickness_component(plural):
    deconvolved = fourier_log_deconvolution(plural.cube, plural.energy)
    loss = plural.energy >= 5.0
    scale = np.sqrt(plural.clean[..., loss].mean(axis=(0, 1)))

    def count(X, expected):
        values = pca(unfold(X[..., loss]) / scale).eigenvalues
        floor = pca(unfold((X - expected)[..., loss]) / scale).eigenvalues[0]
        return int(np.sum(values > 1.1 * floor))

    assert count(plural.cube, plural.clean) == 4
    assert count(deconvolved.single, plural.single) == 3


def test_delocalisation_widens_the_plasmon_window_interface():
    d = make_eels_interface(
        delocalization=True, roughness=0.0, interface_component=0.0, random_state=0
    )
    nx = d.cube.shape[1]
    cols = np.arange(nx // 2)

    def width(coefficients):
        share = (coefficients[..., 0] / coefficients.sum(axis=-1)).mean(axis=0)
        share = share[: nx // 2]
        share = (share - share.min()) / (share.max() - share.min())
        return np.interp(0.1, share[::-1], cols[::-1]) - np.interp(
            0.9, share[::-1], cols[::-1]
        )

    widths = {
        label: width(
            fit_known_endmembers(
                d.cube, d.references, energy=d.energy, window=window
            ).coefficients
        )
        for label, window in (("plasmon", PLASMON), ("chemistry", CHEMISTRY))
    }
    assert widths["plasmon"] > widths["chemistry"] + 0.8
