"""lectlib's promise under any input, tried on every public callable.

The promise (the package docstring's): bad input raises a ``ValueError`` or
``TypeError`` that names the problem; valid input gives finite results, without a
warning escaping; no input is modified; the same seed gives the same result; nothing
hangs.

``CASES`` holds one small valid call of every public function and estimator method.
Every argument of it is then replaced, one at a time, by the members of a family of
inputs an adversarial user would try (:func:`variants`): arrays that are empty, 0-d, 1-d
or of one more dimension, hold NaN or inf, values near 1e±300, integer, boolean,
complex, object or string dtypes, lists, read-only, non-contiguous, big-endian, float32,
constant or duplicated data; numbers that are NaN, inf, negative, zero, huge, of the
wrong type; options that do not exist; pairs of the wrong length. Each call's outcome is
sorted into ``OK``, ``CLEAR_ERROR`` or one of the broken outcomes. Calls run in worker
processes with a time limit per call, since a hang inside compiled code cannot be
interrupted (:func:`run_all`).

``tests/unit/test_promise.py`` runs it and checks that every public callable has a case.
``python tests/promise.py`` prints the outcomes of every call that breaks the promise.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

OK = "ok"
CLEAR_ERROR = "clear error"
#: Outcomes that break the promise.
BROKEN = (
    "other exception",
    "nan or inf output",
    "non-finite input accepted",
    "warning escaped",
    "input modified",
    "not deterministic",
    "timeout",
    "empty message",
)

#: Seconds a single call may take on these tiny inputs.
CALL_TIMEOUT = 5.0


@dataclass
class Case:
    """A valid call ``call(**kwargs)`` and how to judge its variants."""

    call: object
    kwargs: dict
    #: The keyword that seeds the call (its value is kept when checking determinism).
    seed: str | None = None
    #: Keyword arguments left as they are (e.g. a figure's axes made per call).
    fixed: tuple = ()
    #: Keyword arguments whose values lectlib only passes on or shows (slider values,
    #: plot labels): NaN there is the user's business, not an error.
    opaque: tuple = ()
    #: Output fields that may hold NaN or inf by documented design:
    #: ``{field_name, ...}`` ("result" for the return value itself).
    nan_fields: frozenset = field(default_factory=frozenset)


# ------------------------------------------------------------------------- valid inputs


def _data():
    rng = np.random.default_rng(0)
    energy = np.linspace(10.0, 60.0, 8)
    E = rng.uniform(0.5, 1.5, (3, 8)) + np.eye(3, 8) * 2.0
    A = rng.dirichlet([1.0, 1.0, 1.0], 12)
    X = A @ E + rng.normal(0.0, 0.01, (12, 8))
    counts = rng.poisson(20.0 * (A @ E)).astype(float)
    image = rng.uniform(0.0, 1.0, (16, 16)) + np.cos(np.arange(16) * 1.3)[None, :]
    labels = np.zeros((16, 16), dtype=int)
    labels[:, 8:] = 1
    labels[10:, :] = 2
    return dict(
        rng=rng,
        energy=energy,
        E=E,
        A=A,
        X=X,
        counts=counts,
        cube=X.reshape(3, 4, 8),
        image=image,
        labels=labels,
    )


def _fresh_axes():
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def _colorbar_of_an_image(plotting, image, **kwargs):
    ax = _fresh_axes()
    return plotting.colorbar(ax.imshow(image), ax, **kwargs)


def _draw(a, b=1):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, a, b])
    return fig


def _fit(cls, X, **params):
    return cls(**params).fit(X)


def _fit_transform(cls, X, **params):
    return cls(**params).fit_transform(X)


def _lazy(call, **kwargs):
    """Call a function of lectlib.lazy and compute the dask arrays it returns, with
    dask's synchronous scheduler: the promise's workers are forked, and a thread pool
    that dask made in the parent process (tests/unit/test_lazy.py runs first) has no
    threads in a child."""
    import dask

    with dask.config.set(scheduler="synchronous"):
        result = call(**kwargs)
        if isinstance(result, dict):
            return dict(zip(result, dask.compute(*result.values())))
        if isinstance(result, tuple):
            return dask.compute(*result)
        return dask.compute(result)[0]


def _traced(interval):
    from lectlib.lazy import MemoryTrace

    with MemoryTrace(interval) as trace:
        np.ones((64, 64)).sum()
    return trace.peak_mib, trace.times, trace.mib


def _transform(cls, fit_on, X, params):
    return cls(**params).fit(fit_on).transform(X)


def _register(**kwargs):
    from lectlib.datasets import registry

    saved = dict(registry.DATASETS)
    try:
        return registry.register(**kwargs)
    finally:
        registry.DATASETS.clear()
        registry.DATASETS.update(saved)


def _srtio3_home():
    """The cache folder holding the real SrTiO₃ images (downloaded once if needed)."""
    from lectlib.datasets import fetch_srtio3, get_data_home

    fetch_srtio3()
    return str(get_data_home())


def cases():
    """Every public callable of lectlib (and every estimator method)
    with a small valid call."""
    import matplotlib.pyplot as plt
    from sklearn.cluster import KMeans
    from sklearn.pipeline import make_pipeline

    from lectlib import (
        crystallography,
        datasets,
        decomposition,
        eels,
        lattice,
        lazy,
        markov,
        metrics,
        mixing,
        plotting,
        provenance,
        regression,
        sliding,
        unmixing,
        widgets,
    )

    d = _data()
    E, X, A, energy, cube, counts = (
        d["E"],
        d["X"],
        d["A"],
        d["energy"],
        d["cube"],
        d["counts"],
    )
    image, labels = d["image"], d["labels"]
    vectors = lattice.lattice_vectors("square", 4.0, 10.0)
    atoms = lattice.lattice_points((24, 24), vectors, origin=(12.0, 12.0))[0]
    atoms = atoms + d["rng"].normal(0.0, 0.1, atoms.shape)
    atom_image = datasets.render_atoms((24, 24), atoms, atom_size=1.0) * 30.0 + 2.0
    square_site = 4.0 * np.array([[0.0, 1.0], [1.0, 0.0], [0.0, -1.0], [-1.0, 0.0]])
    site_vectors = square_site + d["rng"].normal(0.0, 0.2, (5, 4, 2))
    fft = sliding.SlidingFFT(8, 4, crop=2).fit(image)
    # two trajectories with an unknown frame (-1), the counts of a connected chain and
    # a transition matrix
    markov_trajectories = [
        np.array([0, 1, 1, 2, 0, -1, 2, 2, 1, 0, 0, 1]),
        np.array([2, 1, 1, 0, 2]),
    ]
    markov_counts = np.array([[20.0, 5.0, 1.0], [4.0, 30.0, 6.0], [2.0, 7.0, 25.0]])
    markov_T = markov_counts / markov_counts.sum(axis=1, keepdims=True)

    # two small training frames (the square lattice of atom_image and its transpose)
    # and detectors fitted once, on scaled images and on raw intensities
    detector_images = np.stack([atom_image, atom_image.T])
    detector_atoms = [atoms, atoms[:, ::-1].copy()]
    detector_params = dict(
        patch_size=5, label_radius=1.0, min_distance=1, n_train_pixels=400
    )
    detector = crystallography.LearnedAtomDetector(
        random_state=0, **detector_params
    ).fit(detector_images, detector_atoms)
    raw_detector = crystallography.LearnedAtomDetector(
        normalize=None, random_state=0, **detector_params
    ).fit(detector_images, detector_atoms)
    # regression on the known endmembers, then k-means (seeded: record() warns on an
    # unseeded random_state, and a warning must not escape a valid call)
    provenance_pipe = make_pipeline(
        regression.KnownEndmemberRegression(E), KMeans(2, n_init=1, random_state=0)
    )
    provenance_labels = provenance_pipe.fit_predict(X)
    provenance_record = provenance.record(
        provenance_pipe, X, provenance_labels, method="fit_predict"
    )
    provenance_allow = ("lectlib", "sklearn", "numpy")
    est = dict
    tmp = tempfile.mkdtemp(prefix="lectlib-promise-")
    # a cube of counts (3 × 4 pixels, 8 channels) on disk in float32, a fitted model
    lazy_cube = counts.reshape(3, 4, 8)
    lazy_file = os.path.join(tmp, "lazy_cube.npy")
    np.save(lazy_file, lazy_cube.astype(np.float32))
    lazy_model = _fit(decomposition.WeightedPCA, counts, n_components=2)

    def lazy_compute(array, progress):
        import dask.array

        lazy_array = dask.array.from_array(np.asarray(array), chunks=-1)
        return lazy.compute(lazy_array * 1.0, progress=progress)

    def transform_case(cls, params, fit_on, X_new):
        return Case(
            lambda X, params=params: _transform(cls, fit_on, X, params), dict(X=X_new)
        )

    def inverse_case(cls, params, fit_on, Y):
        fitted = cls(**params).fit(fit_on)
        return Case(
            lambda X, fitted=fitted: copy.deepcopy(fitted).inverse_transform(X),
            dict(X=Y),
        )

    # a short evenly spaced axis with a channel at 0 eV, a single-scattering
    # distribution zero at and below 0 eV, and counts of its plural scattering
    eels_axis = np.arange(-3.0, 30.0, 1.0)
    eels_single = np.where(
        eels_axis > 2.0, np.exp(-0.5 * ((eels_axis - 12.0) / 3.0) ** 2), 0.0
    )
    eels_counts = 1e3 * eels.plural_scattering(eels_single, eels_axis, [0.4, 0.7])
    eels_zero_loss = eels.zero_loss_peak(eels_axis, 1.0)
    # expected counts with a range of intensities, and their detector counts
    gain_expected = np.linspace(20.0, 400.0, 48).reshape(6, 8)
    gain_counts = gain_expected + np.sqrt(gain_expected) * np.cos(
        np.arange(48.0)
    ).reshape(6, 8)
    pfm_voltage = np.array([0.0, 2.5, 5.0, 2.5, 0.0, -2.5, -5.0, -2.5])
    pfm_direction = np.array([1, 1, -1, -1, -1, -1, 1, 1])

    c = {
        # datasets
        "lectlib.datasets.spectra.make_mixture": Case(
            datasets.make_mixture,
            dict(
                n_components=2,
                shape=(4, 5),
                n_channels=8,
                energy_range=(0.0, 10.0),
                concentration=1.0,
                n_pure=1,
                length_scale=1.0,
                noise="gaussian",
                snr_db=20.0,
                dose=50.0,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.datasets.eels.make_eels_interface": Case(
            datasets.make_eels_interface,
            dict(
                shape=(4, 6),
                scan="area",
                energy_range=(5.0, 40.0),
                energy_step=1.0,
                layer_fractions=(0.3, 0.4, 0.3),
                intermixing=1.0,
                roughness=0.5,
                thickness=(0.4, 0.6),
                dose=1000.0,
                resolution_fwhm=1.0,
                interface_component=0.2,
                noise="poisson",
                scattering="single",
                delocalization=True,
                pixel_size=0.4,
                beam_energy=200.0,
                gain=2.0,
                psf_sigma=1.0,
                read_noise=1.0,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.datasets.eels.make_eels_interface[plural]": Case(
            datasets.make_eels_interface,
            dict(
                shape=(3, 6),
                energy_range=(-4.0, 40.0),
                energy_step=1.0,
                thickness=(0.4, 0.6),
                dose=1000.0,
                resolution_fwhm=1.0,
                noise="poisson",
                scattering="plural",
                delocalization=False,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.eels.zero_loss_peak": Case(
            eels.zero_loss_peak, dict(energy=eels_axis, fwhm=1.0)
        ),
        "lectlib.eels.plural_scattering": Case(
            eels.plural_scattering,
            dict(
                single=eels_single,
                energy=eels_axis,
                thickness=0.5,
                zero_loss=None,
                resolution_fwhm=1.0,
            ),
        ),
        "lectlib.eels.plural_scattering[zero_loss]": Case(
            eels.plural_scattering,
            dict(
                single=np.stack([eels_single, 2.0 * eels_single]),
                energy=eels_axis,
                thickness=np.array([0.3, 0.8]),
                zero_loss=eels_zero_loss,
            ),
        ),
        "lectlib.eels.log_ratio_thickness": Case(
            eels.log_ratio_thickness,
            dict(spectra=eels_counts, energy=eels_axis, zero_loss_window=None),
        ),
        "lectlib.eels.log_ratio_thickness[window]": Case(
            eels.log_ratio_thickness,
            dict(spectra=eels_counts, energy=eels_axis, zero_loss_window=(-2.0, 2.0)),
        ),
        "lectlib.eels.fourier_log_deconvolution": Case(
            eels.fourier_log_deconvolution,
            dict(
                spectra=eels_counts,
                energy=eels_axis,
                zero_loss_window=None,
                resolution_fwhm=None,
                zero_loss=None,
            ),
        ),
        "lectlib.eels.fourier_log_deconvolution[known]": Case(
            eels.fourier_log_deconvolution,
            dict(
                spectra=eels_counts[0],
                energy=eels_axis,
                resolution_fwhm=1.0,
                zero_loss=1e3 * np.exp(-0.4) * eels_zero_loss,
            ),
        ),
        "lectlib.eels.delocalization_length": Case(
            eels.delocalization_length,
            dict(energy=np.array([5.0, 20.0, 50.0, 120.0]), beam_energy=200.0),
        ),
        "lectlib.eels.delocalization_length[scalar]": Case(
            eels.delocalization_length, dict(energy=20.0, beam_energy=300.0)
        ),
        "lectlib.mixing.add_detector_noise": Case(
            mixing.add_detector_noise,
            dict(
                expected=d["counts"],
                gain=2.0,
                psf_sigma=1.0,
                read_noise=1.5,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.metrics.transition_width": Case(
            metrics.transition_width,
            dict(
                x=np.arange(12.0),
                profile=np.tanh(np.arange(12.0) - 5.5),
                low=0.1,
                high=0.9,
            ),
        ),
        "lectlib.metrics.estimate_gain": Case(
            metrics.estimate_gain,
            dict(
                expected=gain_expected,
                noisy=gain_counts,
                n_bins=3,
                bin_channels=2,
            ),
        ),
        "lectlib.datasets.lattices.make_lattice_phases": Case(
            datasets.make_lattice_phases,
            dict(
                shape=(24, 24),
                phases=(
                    dict(symmetry="square", spacing=4.0, angle=0.0),
                    dict(symmetry="hexagonal", spacing=5.0, angle=10.0),
                ),
                n_grains=2,
                drift=1.0,
                vacancies=0.05,
                defect_lines=1,
                atom_size=1.0,
                noise="gaussian",
                noise_level=0.2,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.datasets.lattices.make_charge_order": Case(
            datasets.make_charge_order,
            dict(
                shape=(24, 24),
                spacing=4.0,
                angle=5.0,
                amplitude=0.3,
                orders=("trigonal", "dimer"),
                length_scale=8.0,
                atom_size=1.0,
                noise="poisson",
                noise_level=20.0,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.datasets.spm.make_pfm_loops": Case(
            datasets.make_pfm_loops,
            dict(
                shape=(6, 7),
                n_voltages=16,
                v_max=8.0,
                regions=("switching", "pinned up", "non-polar"),
                coercive_bias=3.0,
                imprint=0.5,
                saturation=1.0,
                width=1.0,
                slope=0.02,
                coercive_variation=1.0,
                imprint_variation=0.5,
                length_scale=3.0,
                boundary_width=1.0,
                noise_level=0.05,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.datasets.spm.pfm_loop": Case(
            datasets.pfm_loop,
            dict(
                voltage=pfm_voltage,
                direction=pfm_direction,
                coercive_bias=np.array([2.0, 3.0]),
                imprint=0.5,
                saturation=1.0,
                width=0.8,
                slope=0.01,
            ),
        ),
        "lectlib.datasets.ferroics.make_ferroic_lattice": Case(
            datasets.make_ferroic_lattice,
            dict(
                shape=(48, 48),
                spacing=8.0,
                displacement=0.07,
                dose=50.0,
                background=0.05,
                doubled=True,
                atom_size=None,
                b_intensity=None,
                jitter=0.01,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.datasets.alloys.make_alloy_series": Case(
            datasets.make_alloy_series,
            dict(
                compositions=(0.1, 0.8),
                shape=(40, 40),
                spacing=8.0,
                angle=0.0,
                distortion=0.06,
                chain_length=2.0,
                domain_size=4.0,
                dose=50.0,
                background=0.05,
                atom_size=None,
                jitter=0.01,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.datasets.fetchers.get_data_home": Case(
            datasets.get_data_home, dict(data_home=tmp)
        ),
        # the cached copy only: the fuzz must not download (fetched once here)
        "lectlib.datasets.fetchers.fetch_srtio3": Case(
            datasets.fetch_srtio3,
            dict(data_home=_srtio3_home(), download_if_missing=False, timeout=60.0),
        ),
        "lectlib.datasets.registry.register": Case(
            _register,
            dict(
                name="promise",
                maker=datasets.make_mixture,
                kwargs=dict(shape=(2, 2)),
                fields=("cube",),
                sha256="0" * 64,
                finish=None,
            ),
        ),
        "lectlib.datasets.registry.load": Case(
            datasets.load, dict(name="mixture", source="generate")
        ),
        "lectlib.datasets.registry.export": Case(
            datasets.export, dict(name="mixture", directory=tmp)
        ),
        "lectlib.datasets.rendering.render_atoms": Case(
            datasets.render_atoms,
            dict(
                shape=(12, 12),
                positions=np.array([[5.0, 5.0], [2.5, 7.25]]),
                weights=np.array([1.0, 2.0]),
                atom_size=1.0,
            ),
        ),
        "lectlib.datasets.rendering.add_image_noise": Case(
            datasets.add_image_noise,
            dict(clean=image, noise="poisson", level=10.0, random_state=0),
            seed="random_state",
        ),
        # decomposition
        "lectlib.decomposition.pca": Case(
            decomposition.pca, dict(X=X, n_components=2, center=True)
        ),
        "lectlib.decomposition.noise_edge": Case(
            decomposition.noise_edge,
            dict(n_samples=12, n_features=8, noise_variance=1.0, center=True),
        ),
        "lectlib.decomposition.n_above_noise": Case(
            decomposition.n_above_noise,
            dict(
                eigenvalues=np.array([5.0, 1.0, 0.1]),
                n_samples=12,
                n_features=8,
                noise_variance=0.5,
                center=True,
                margin=1.1,
            ),
        ),
        "lectlib.decomposition.poisson_normalize": Case(
            decomposition.poisson_normalize, dict(X=counts)
        ),
        "lectlib.decomposition.image_statistics": Case(
            decomposition.image_statistics, dict(image=counts, base=2.0)
        ),
        "lectlib.decomposition.parallel_analysis": Case(
            decomposition.parallel_analysis,
            dict(
                X=counts,
                method="poisson",
                n_draws=3,
                quantile=0.95,
                center=True,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.decomposition.WeightedPCA.fit": Case(
            lambda X, **p: _fit(decomposition.WeightedPCA, X, **p),
            dict(X=counts, n_components=2, weighting="poisson", center=False),
        ),
        "lectlib.decomposition.WeightedPCA.transform": transform_case(
            decomposition.WeightedPCA, est(n_components=2), counts, counts[:5]
        ),
        "lectlib.decomposition.WeightedPCA.inverse_transform": inverse_case(
            decomposition.WeightedPCA, est(n_components=2), counts, np.ones((12, 2))
        ),
        "lectlib.decomposition.CorrespondenceAnalysis.fit": Case(
            lambda X, **p: _fit(decomposition.CorrespondenceAnalysis, X, **p),
            dict(X=counts, n_components=2),
        ),
        "lectlib.decomposition.CorrespondenceAnalysis.transform": transform_case(
            decomposition.CorrespondenceAnalysis,
            est(n_components=2),
            counts,
            counts[:5],
        ),
        # eels
        "lectlib.eels.plasmon_energy": Case(
            eels.plasmon_energy,
            dict(valence_electrons=24, density=5.1, molar_mass=183.5),
        ),
        "lectlib.eels.energy_loss_function": Case(
            eels.energy_loss_function,
            dict(
                energy=energy,
                plasmon=20.0,
                damping=3.0,
                interband=((12.0, 0.1, 2.0),),
                background_permittivity=1.0,
            ),
        ),
        "lectlib.eels.edge_profile": Case(
            eels.edge_profile,
            dict(energy=energy, onset=35.0, delay=9.0, width=4.0, decay=2.5),
        ),
        "lectlib.eels.power_law": Case(
            eels.power_law,
            dict(energy=energy, amplitude=1.0, exponent=3.0, reference=35.0),
        ),
        "lectlib.eels.reference_spectrum": Case(
            eels.reference_spectrum,
            dict(material="SrTiO3", energy=energy, edge_strength=0.3, edge_shift=0.0),
        ),
        # lattice
        "lectlib.lattice.lattice_vectors": Case(
            lattice.lattice_vectors, dict(symmetry="hexagonal", spacing=4.0, angle=10.0)
        ),
        "lectlib.lattice.reciprocal_vectors": Case(
            lattice.reciprocal_vectors, dict(vectors=vectors)
        ),
        "lectlib.lattice.bragg_spots": Case(
            lattice.bragg_spots,
            dict(vectors=vectors, shells=2, k_max=None, return_indices=False),
        ),
        "lectlib.lattice.lattice_points": Case(
            lattice.lattice_points,
            dict(shape=(10, 10), vectors=vectors, origin=(0.5, 0.5), margin=0.5),
        ),
        # metrics
        "lectlib.metrics.spectral_angle": Case(
            metrics.spectral_angle, dict(a=E[0], b=E[1])
        ),
        "lectlib.metrics.pairwise_spectral_angles": Case(
            metrics.pairwise_spectral_angles, dict(A=E, B=X[:4])
        ),
        "lectlib.metrics.match_components": Case(
            metrics.match_components,
            dict(estimated=X[:4], reference=E, sign_invariant=False),
        ),
        "lectlib.metrics.abundance_rmse": Case(
            metrics.abundance_rmse, dict(estimated=A, true=A[::-1], per_component=False)
        ),
        "lectlib.metrics.match_positions": Case(
            metrics.match_positions,
            dict(found=atoms[::2] + 0.2, truth=atoms, max_distance=1.0),
        ),
        "lectlib.metrics.snr_db": Case(
            metrics.snr_db, dict(clean=A @ E, noisy=X), nan_fields=frozenset({"result"})
        ),  # inf: no noise
        "lectlib.metrics.reduced_chi_square": Case(
            metrics.reduced_chi_square,
            dict(residuals=X - A @ E, variance=1e-4, n_parameters=3),
        ),
        "lectlib.metrics.lag_autocorrelation": Case(
            metrics.lag_autocorrelation, dict(residuals=X - A @ E, lag=1)
        ),
        "lectlib.metrics.match_labels": Case(
            metrics.match_labels,
            dict(found=labels.ravel()[::-1].copy(), truth=labels.ravel()),
        ),
        "lectlib.metrics.variance_by_intensity": Case(
            metrics.variance_by_intensity, dict(expected=A @ E, noisy=X, n_bins=3)
        ),
        # mixing
        "lectlib.mixing.mix": Case(mixing.mix, dict(abundances=A, endmembers=E)),
        "lectlib.mixing.unfold": Case(mixing.unfold, dict(cube=cube)),
        "lectlib.mixing.fold": Case(mixing.fold, dict(X=X, shape=(3, 4))),
        "lectlib.mixing.gaussian_noise_std": Case(
            mixing.gaussian_noise_std, dict(clean=X, snr_db=20.0)
        ),
        "lectlib.mixing.add_gaussian_noise": Case(
            mixing.add_gaussian_noise,
            dict(clean=X, snr_db=20.0, random_state=0),
            seed="random_state",
        ),
        "lectlib.mixing.add_poisson_noise": Case(
            mixing.add_poisson_noise,
            dict(expected=X, snr_db=15.0, random_state=0),
            seed="random_state",
        ),
        "lectlib.mixing.resolution_matrix": Case(
            mixing.resolution_matrix, dict(energy=energy, fwhm=5.0)
        ),
        "lectlib.mixing.broaden": Case(
            mixing.broaden, dict(spectra=E, energy=energy, fwhm=5.0)
        ),
        # plotting
        "lectlib.plotting.use_style": Case(plotting.use_style, {}),
        "lectlib.plotting.plot_spectra": Case(
            plotting.plot_spectra,
            dict(energy=energy, spectra=E, labels=["a", "b", "c"], ax=None, title="t"),
            opaque=("labels",),
        ),
        "lectlib.plotting.plot_maps": Case(
            plotting.plot_maps,
            dict(
                maps=cube[..., :2],
                titles=["a", "b"],
                vmin=None,
                vmax=None,
                share_scale=False,
                axes=None,
                ncols=2,
                panel_size=1.0,
            ),
            opaque=("titles",),
        ),
        "lectlib.plotting.plot_singular_values": Case(
            plotting.plot_singular_values,
            dict(values=np.array([5.0, 1.0, 0.1]), ax=None, label="s", n_marked=1),
        ),
        "lectlib.plotting.plot_simplex": Case(
            plotting.plot_simplex,
            dict(X=X, vertices={"truth": E}, ax=None, max_points=50, random_state=0),
        ),
        "lectlib.plotting.plot_reciprocal": Case(
            plotting.plot_reciprocal,
            dict(
                model=fft,
                features=fft.transform(image)[0],
                ax=None,
                title="k",
                symmetric=False,
                spots=np.array([[0.0, 0.25]]),
            ),
        ),
        "lectlib.plotting.colorbar": Case(
            lambda **k: _colorbar_of_an_image(plotting, image, **k),
            dict(label="counts", size=0.05, pad=0.03),
        ),
        "lectlib.plotting.categorical_cmap": Case(plotting.categorical_cmap, dict(n=3)),
        "lectlib.plotting.mark_spots": Case(
            lambda **k: plotting.mark_spots(_fresh_axes(), **k),
            dict(spots=np.array([[0.1, 0.0]]), size=50.0, lw=1.0),
        ),
        # regression
        "lectlib.regression.fit_known_endmembers": Case(
            regression.fit_known_endmembers,
            dict(
                data=counts.reshape(3, 4, 8),
                endmembers=E,
                energy=energy,
                window=(15.0, 60.0),
                method="nnls",
                variance="poisson",
                max_iter=20,
            ),
            nan_fields=frozenset(),
        ),
        "lectlib.regression.nnls_batch": Case(
            regression.nnls_batch, dict(gram=E @ E.T, rhs=X @ E.T, max_iter=10)
        ),
        "lectlib.regression.KnownEndmemberRegression.fit": Case(
            lambda X, **p: _fit(regression.KnownEndmemberRegression, X, **p),
            dict(X=X, endmembers=E, method="nnls", energy=energy, window=(15.0, 60.0)),
        ),
        "lectlib.regression.KnownEndmemberRegression.transform": transform_case(
            regression.KnownEndmemberRegression, est(endmembers=E), X, X[:5]
        ),
        "lectlib.regression.KnownEndmemberRegression.inverse_transform": inverse_case(
            regression.KnownEndmemberRegression, est(endmembers=E), X, A[:4]
        ),
        # sliding
        "lectlib.sliding.sliding_windows": Case(
            sliding.sliding_windows, dict(image=image, window=4, step=2)
        ),
        "lectlib.sliding.window_grid": Case(
            sliding.window_grid, dict(image_shape=(16, 16), window=4, step=(2, 3))
        ),
        "lectlib.sliding.fold_windows": Case(
            sliding.fold_windows,
            dict(values=np.arange(12.0), grid_shape=(3, 4)),
            opaque=("values",),
        ),
        "lectlib.sliding.window_fractions": Case(
            sliding.window_fractions,
            dict(labels=labels, window=4, step=2, n_labels=3, taper="hann"),
        ),
        "lectlib.sliding.labels_at_centers": Case(
            sliding.labels_at_centers, dict(labels=labels, window=4, step=2)
        ),
        "lectlib.sliding.SlidingFFT.fit": Case(
            lambda X, **p: _fit(sliding.SlidingFFT, X, **p),
            dict(
                X=image,
                window=8,
                step=4,
                taper="hann",
                log=True,
                crop=2,
                mask_center=1,
                dtype=np.float64,
                block_rows=None,
            ),
        ),
        "lectlib.sliding.SlidingFFT.transform": transform_case(
            sliding.SlidingFFT, est(window=8, step=4), image, np.stack([image, image.T])
        ),
        "lectlib.sliding.SlidingFFT.transform[float32]": transform_case(
            sliding.SlidingFFT,
            est(window=8, step=4, dtype=np.float32),
            image,
            image * 1e30,
        ),
        "lectlib.sliding.SlidingFFT.to_maps": Case(
            fft.to_maps, dict(values=np.ones((9, 2))), opaque=("values",)
        ),
        "lectlib.sliding.SlidingFFT.to_reciprocal": Case(
            fft.to_reciprocal,
            dict(features=fft.transform(image)[:2]),
            opaque=("features",),
        ),
        "lectlib.sliding.sliding_autocorrelation": Case(
            sliding.sliding_autocorrelation,
            dict(image=image, window=4, step=2, taper="hann", normalize=True),
        ),
        "lectlib.sliding.sliding_histogram": Case(
            sliding.sliding_histogram,
            dict(image=image, window=4, step=2, bins=4, range=(0.0, 2.0), density=True),
        ),
        # unmixing
        "lectlib.unmixing.fcls": Case(
            unmixing.fcls, dict(X=X, endmembers=E, max_iter=20)
        ),
        "lectlib.unmixing.simplex_projection": Case(
            unmixing.simplex_projection, dict(X=X, n_components=2)
        ),
        "lectlib.unmixing.NFINDR.fit": Case(
            lambda X, **p: _fit(unmixing.NFINDR, X, **p),
            dict(X=X, n_endmembers=3, init="random", max_iter=5, random_state=0),
            seed="random_state",
        ),
        "lectlib.unmixing.NFINDR.transform": transform_case(
            unmixing.NFINDR, est(n_endmembers=3, random_state=0), X, X[:5]
        ),
        "lectlib.unmixing.MinimumVolume.fit": Case(
            lambda X, **p: _fit(unmixing.MinimumVolume, X, **p),
            dict(
                X=X,
                n_endmembers=3,
                regularization=0.1,
                max_iter=3000,
                tol=1e-4,
                init="random",
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.unmixing.MinimumVolume.fit[default regularization]": Case(
            lambda X, **p: _fit(unmixing.MinimumVolume, X, **p),
            dict(X=X, n_endmembers=2, regularization=None, init="extreme"),
        ),
        "lectlib.unmixing.MinimumVolume.transform": transform_case(
            unmixing.MinimumVolume, est(n_endmembers=3, random_state=0), X, X[:5]
        ),
        "lectlib.unmixing.BayesianUnmixing.fit": Case(
            lambda X, **p: _fit(unmixing.BayesianUnmixing, X, **p),
            dict(
                X=X,
                n_endmembers=2,
                n_samples=10,
                burn_in=5,
                sample_endmembers=True,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.unmixing.BayesianUnmixing.transform": transform_case(
            unmixing.BayesianUnmixing,
            est(n_endmembers=2, n_samples=10, burn_in=5, random_state=0),
            X,
            X[:5],
        ),
        # widgets
        "lectlib.widgets.interact": Case(
            widgets.interact,
            dict(
                draw=_draw,
                descriptions={"a": "A"},
                initial={"a": 2},
                formats={"a": "{} px"},
                dpi=20,
                a=[1, 2],
            ),
            opaque=("a",),
        ),
        "lectlib.widgets.FrameSlider": Case(
            widgets.FrameSlider,
            dict(
                draw=_draw,
                parameters={"a": [1, 2], "b": [0, 1]},
                descriptions=None,
                initial=None,
                formats=None,
                dpi=20,
            ),
        ),
        "lectlib.widgets.cube_browser": Case(
            widgets.cube_browser,
            dict(
                cube=cube,
                energy=energy,
                reference=None,
                n_energies=2,
                n_positions=2,
                window=1,
                dpi=20,
            ),
        ),
        "lectlib.widgets.figure_to_png": Case(
            widgets.figure_to_png, dict(fig=plt.figure(figsize=(1, 1)), dpi=20)
        ),
        "lectlib.widgets.glue": Case(
            widgets.glue, dict(name="x", value=1.0), opaque=("value",)
        ),
        # crystallography
        "lectlib.crystallography.atoms.find_atoms": Case(
            crystallography.find_atoms,
            dict(
                image=atom_image,
                min_distance=2,
                threshold=None,
                refine="gaussian",
                atom_size=1.0,
                exclude_border=True,
                max_atoms=None,
            ),
        ),
        "lectlib.crystallography.atoms.refine_positions": Case(
            crystallography.refine_positions,
            dict(
                image=atom_image,
                positions=atoms[:6] + 0.3,
                method="gaussian",
                sigma=None,
                radius=None,
                max_iter=10,
                tol=1e-4,
                noise="poisson",
                background="local",
                subtract_neighbors=True,
            ),
        ),
        "lectlib.crystallography.atoms.position_crlb": Case(
            crystallography.position_crlb,
            dict(
                amplitude=np.array([20.0, 50.0]),
                sigma=1.2,
                background=2.0,
                radius=4.0,
                offset=None,
            ),
        ),
        "lectlib.crystallography.neighbors.neighbor_vectors": Case(
            crystallography.neighbor_vectors,
            dict(
                positions=atoms,
                n_neighbors=4,
                lattice_vectors=None,
                reference=None,
                targets=atoms[::2] + 0.3,
                tolerance=0.3,
                random_state=0,
            ),
            seed="random_state",
            nan_fields=frozenset({"vectors"}),
        ),
        "lectlib.crystallography.neighbors.neighbor_angles": Case(
            crystallography.neighbor_angles,
            dict(vectors=atoms[:12].reshape(3, 4, 2) + 1.0, sort=True),
        ),
        "lectlib.crystallography.symmetry.point_group": Case(
            crystallography.point_group, dict(name="6mm")
        ),
        "lectlib.crystallography.symmetry.character_table": Case(
            crystallography.character_table, dict(name="D2h")
        ),
        "lectlib.crystallography.symmetry.symmetry_modes": Case(
            crystallography.symmetry_modes,
            dict(offsets=square_site, point_group="4mm", tol=1e-6),
        ),
        "lectlib.crystallography.symmetry.reduce_representation": Case(
            crystallography.reduce_representation,
            dict(offsets=square_site, point_group="4mm", tol=1e-6),
        ),
        "lectlib.crystallography.symmetry.mode_amplitudes": Case(
            crystallography.mode_amplitudes,
            dict(
                displacements=site_vectors - square_site,
                modes=crystallography.symmetry_modes(square_site, "4mm"),
            ),
        ),
        "lectlib.crystallography.symmetry.replicas": Case(
            crystallography.replicas,
            dict(
                vectors=site_vectors, offsets=square_site, point_group="4mm", tol=1e-6
            ),
        ),
        "lectlib.crystallography.neighbors.fit_lattice_vectors": Case(
            crystallography.fit_lattice_vectors,
            dict(positions=atoms, lattice_vectors=vectors, max_residual=0.25),
        ),
        "lectlib.datasets.dynamics.make_dopant_movie": Case(
            datasets.make_dopant_movie,
            dict(
                n_frames=3,
                n_dopants=1,
                shape=(48, 48),
                pixel_size=0.25,
                dose=20.0,
                transition_matrix=np.array(
                    [[0.8, 0.12, 0.08], [0.2, 0.7, 0.1], [0.2, 0.15, 0.65]]
                ),
                miss_rate=0.3,
                drift=1.0,
                scan_noise=0.15,
                atom_size=None,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.crystallography.descriptors.polar_descriptors": Case(
            crystallography.polar_descriptors,
            dict(
                positions=atoms,
                centers=atoms[[5, 14]] + 0.2,
                radius=5.0,
                n_radial=2,
                n_angles=6,
                width=1.0,
                weights=np.linspace(0.5, 1.5, len(atoms)),
            ),
        ),
        "lectlib.crystallography.descriptors.align_rotations": Case(
            crystallography.align_rotations,
            dict(
                descriptors=np.random.default_rng(3).uniform(0.0, 1.0, (7, 12)),
                n_angles=6,
                n_fold=3,
                mirror=True,
                reference=None,
                n_references=3,
                n_iter=20,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.crystallography.tracking.link_positions": Case(
            crystallography.link_positions,
            dict(
                positions=[atoms[:5], atoms[1:6] + 0.3, atoms[:0], atoms[:4] - 0.2],
                max_distance=2.0,
                max_gap=1,
            ),
        ),
        "lectlib.crystallography.detector.LearnedAtomDetector.fit": Case(
            lambda images, positions, **p: crystallography.LearnedAtomDetector(**p).fit(
                images, positions
            ),
            dict(
                images=detector_images,
                positions=detector_atoms,
                classifier=None,
                patch_size=5,
                label_radius=1.0,
                normalize="image",
                threshold=0.5,
                min_distance=1,
                n_train_pixels=400,
                random_state=0,
            ),
            seed="random_state",
        ),
        "lectlib.crystallography.detector.LearnedAtomDetector.predict_proba": Case(
            detector.predict_proba, dict(image=atom_image[:20, 3:])
        ),
        "lectlib.crystallography.detector.LearnedAtomDetector.predict": Case(
            detector.predict, dict(image=atom_image[:20, 3:])
        ),
        "lectlib.crystallography.detector.LearnedAtomDetector.predict_proba[raw]": Case(
            raw_detector.predict_proba, dict(image=atom_image[2:, :21])
        ),
        "lectlib.crystallography.detector.LearnedAtomDetector.predict[raw]": Case(
            raw_detector.predict, dict(image=atom_image[2:, :21])
        ),
        # markov
        "lectlib.markov.DisconnectedStatesWarning": Case(
            lambda message: markov.DisconnectedStatesWarning(message),
            dict(message="states [2] lie outside the largest set"),
        ),
        "lectlib.markov.count_transitions": Case(
            markov.count_transitions,
            dict(trajectories=markov_trajectories, n_states=3, lag=1),
        ),
        "lectlib.markov.count_transitions[one trajectory]": Case(
            markov.count_transitions,
            dict(trajectories=markov_trajectories[0], n_states=None, lag=2),
        ),
        "lectlib.markov.transition_matrix": Case(
            markov.transition_matrix,
            dict(
                counts=markov_counts,
                reversible=True,
                tol=1e-12,
                max_iter=None,
                method="newton",
            ),
        ),
        "lectlib.markov.transition_matrix[non-reversible]": Case(
            markov.transition_matrix, dict(counts=markov_counts, reversible=False)
        ),
        "lectlib.markov.stationary_distribution": Case(
            markov.stationary_distribution, dict(T=markov_T)
        ),
        # inf: |λ| = 1 (a second closed set, a periodic chain), documented
        "lectlib.markov.implied_timescales": Case(
            markov.implied_timescales,
            dict(T=markov_T, lag=1.0),
            nan_fields=frozenset({"result"}),
        ),
        # inf: a state from which the target may never be reached, documented
        "lectlib.markov.mean_first_passage_time": Case(
            markov.mean_first_passage_time,
            dict(T=markov_T, target=0),
            nan_fields=frozenset({"result"}),
        ),
        "lectlib.markov.mean_first_passage_time[set]": Case(
            markov.mean_first_passage_time,
            dict(T=markov_T, target=[0, 2]),
            nan_fields=frozenset({"result"}),
        ),
        "lectlib.markov.sample_path": Case(
            markov.sample_path,
            dict(T=markov_T, n_steps=20, start=None, random_state=0),
            seed="random_state",
        ),
        "lectlib.markov.dwell_times": Case(
            markov.dwell_times, dict(trajectories=markov_trajectories, n_states=3)
        ),
        "lectlib.markov.posterior_samples": Case(
            markov.posterior_samples,
            dict(counts=markov_counts, n_samples=20, prior=0.5, random_state=0),
            seed="random_state",
        ),
        # inf std: a row without counts at a lag (nothing known), documented
        "lectlib.markov.chapman_kolmogorov": Case(
            markov.chapman_kolmogorov,
            dict(
                trajectories=markov_trajectories,
                n_states=3,
                lag=1,
                n_steps=2,
                reversible=False,
            ),
            nan_fields=frozenset({"estimated_std"}),
        ),
        # provenance: X and result are only hashed (any numbers, NaN included, have a
        # hash), so they are opaque; a record is written into the scratch folder
        "lectlib.provenance.UnseededWarning": Case(
            lambda message: provenance.UnseededWarning(message),
            dict(message="random_state is None at ['kmeans__random_state']"),
        ),
        "lectlib.provenance.describe": Case(
            provenance.describe, dict(estimator=provenance_pipe)
        ),
        "lectlib.provenance.build": Case(
            provenance.build,
            dict(
                description=provenance.describe(provenance_pipe),
                allow=provenance_allow,
            ),
        ),
        "lectlib.provenance.array_hash": Case(
            provenance.array_hash, dict(X=X), opaque=("X",)
        ),
        "lectlib.provenance.array_hash[sequence]": Case(
            provenance.array_hash, dict(X=[X, E]), opaque=("X",)
        ),
        "lectlib.provenance.record": Case(
            provenance.record,
            dict(
                estimator=provenance_pipe,
                X=X,
                result=provenance_labels,
                method="fit_predict",
                path=os.path.join(tmp, "record.json"),
                note="two layers",
            ),
            opaque=("X", "result"),
        ),
        "lectlib.provenance.replay": Case(
            provenance.replay,
            dict(record=provenance_record, X=X, check=True, allow=provenance_allow),
        ),
        # lazy (out-of-core): results computed, so that their values are judged
        "lectlib.lazy.open_cube": Case(
            lambda **kw: _lazy(lazy.open_cube, **kw),
            dict(path=lazy_file, chunk_pixels=5),
        ),
        "lectlib.lazy.write_cube": Case(
            lambda **kw: np.load(_lazy(lazy.write_cube, **kw)),
            dict(
                path=os.path.join(tmp, "lazy_written.npy"),
                shape=(3, 4, 8),
                make_block=lambda rows: lazy_cube[rows],
                dtype="float32",
                block_rows=2,
            ),
        ),
        "lectlib.lazy.store_cube": Case(
            lambda **kw: np.load(_lazy(lazy.store_cube, **kw)),
            dict(
                array=lazy_cube,
                path=os.path.join(tmp, "lazy_stored.npy"),
                dtype="float64",
                progress=False,
            ),
        ),
        "lectlib.lazy.map_spectra": Case(
            lambda **kw: _lazy(lazy.map_spectra, **kw),
            dict(
                func=lambda X: X[:, :2] * 2.0,
                cube=lazy_cube,
                n_out=2,
                dtype=np.float64,
                chunk_pixels=5,
            ),
        ),
        "lectlib.lazy.transform_cube": Case(
            lambda **kw: _lazy(lazy.transform_cube, **kw),
            dict(estimator=lazy_model, cube=lazy_cube, n_out=None, chunk_pixels=5),
        ),
        "lectlib.lazy.fcls_cube": Case(
            lambda **kw: _lazy(lazy.fcls_cube, **kw),
            dict(cube=cube, endmembers=E, max_iter=20, chunk_pixels=5),
        ),
        "lectlib.lazy.fit_known_endmembers_cube": Case(
            lambda **kw: _lazy(lazy.fit_known_endmembers_cube, **kw),
            dict(
                cube=lazy_cube,
                endmembers=E,
                method="nnls",
                energy=energy,
                window=(15.0, 60.0),
                variance="poisson",
                max_iter=20,
                chunk_pixels=5,
            ),
        ),
        "lectlib.lazy.poisson_normalize_cube": Case(
            lambda **kw: _lazy(lazy.poisson_normalize_cube, **kw),
            dict(cube=lazy_cube, chunk_pixels=5, progress=False),
        ),
        "lectlib.lazy.incremental_pca": Case(
            lambda **kw: _lazy(lazy.incremental_pca, **kw),
            dict(
                cube=lazy_cube,
                n_components=2,
                batch_pixels=5,
                center=True,
                progress=False,
            ),
        ),
        # compute passes values through: NaN in, NaN out is the caller's business
        "lectlib.lazy.compute": Case(
            lambda **kw: _lazy(lazy_compute, **kw),
            dict(array=cube, progress=False),
            opaque=("array",),
        ),
        "lectlib.lazy.MemoryTrace": Case(
            lambda interval: _traced(interval), dict(interval=0.01)
        ),
    }
    return c


# ------------------------------------------------------------------------- the families


def _array_variants(x):
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (casting huge values to int, say)
        return _make_array_variants(np.asarray(x))


def _make_array_variants(x):
    out = [
        ("empty", np.empty((0,) + x.shape[1:])),
        ("0-d", np.array(1.5)),
        ("1-d", x.ravel()[:3].astype(float)),
        ("one more axis", x[None, ...].astype(float)),
        ("4-d", np.ones((2, 2, 2, 2))),
    ]
    if x.size == 0 or not np.issubdtype(x.dtype, np.number):
        return out
    f = x.astype(float)
    nan = f.copy()
    nan.flat[0] = np.nan
    inf = f.copy()
    inf.flat[-1] = np.inf
    read_only = f.copy()
    read_only.setflags(write=False)
    out += [
        ("nan", nan),
        ("inf", inf),
        ("huge 1e300", f * 1e300 + 1e300),
        ("tiny 1e-300", f * 1e-300),
        ("near max 1e308", np.full_like(f, 1.5e308)),
        ("negative", -np.abs(f) - 1.0),
        ("zeros", np.zeros_like(f)),
        ("constant", np.full_like(f, float(np.mean(f)) or 1.0)),
        ("int", np.rint(f).astype(np.int64)),
        ("bool", f > np.median(f)),
        ("complex", f + 0j),
        ("object", f.astype(object)),
        ("numeric strings", f.astype(str)),
        ("list", f.tolist()),
        ("read-only", read_only),
        ("non-contiguous", np.asfortranarray(f) if f.ndim > 1 else f[::-1]),
        ("big-endian", f.astype(">f8")),
        ("float32", f.astype(np.float32)),
    ]
    if f.ndim >= 1 and len(f) > 1:
        out += [
            ("duplicated rows", np.repeat(f[:1], len(f), axis=0)),
            ("one row", f[:1]),
            ("transposed", np.swapaxes(f, 0, -1).copy()),
        ]
    return out


def _number_variants(v):
    out = [
        ("nan", float("nan")),
        ("inf", float("inf")),
        ("-inf", float("-inf")),
        ("negative", -1),
        ("zero", 0),
        ("huge", 1e300),
        ("tiny", 1e-300),
        ("string", "1"),
        ("None", None),
        ("bool", True),
        ("list", [v]),
        ("complex", 1 + 1j),
    ]
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        out += [("fraction", 2.5), ("big int", 2**40), ("numpy int", np.int64(v))]
    else:
        out += [
            ("float32", np.float32(v)),
            ("above 3100", 3200.0),
            ("below -3100", -3200.0),
        ]
    return out


def _sequence_variants(v):
    seq = list(v)
    out = [
        ("None", None),
        ("string", "ab"),
        ("one item", tuple(seq[:1])),
        ("one more item", tuple(seq) + tuple(seq[:1])),
        ("empty", ()),
        ("reversed", tuple(reversed(seq))),
        ("nan item", (float("nan"),) + tuple(seq[1:])),
        ("inf item", tuple(seq[:-1]) + (float("inf"),)),
        ("zeros", (0,) * len(seq)),
        (
            "negative",
            tuple(-abs(s) - 1 if isinstance(s, (int, float)) else s for s in seq),
        ),
        ("huge", (1e300,) * len(seq)),
    ]
    return out


def variants(value):
    """The family of replacements an adversarial user would try for an argument."""
    if isinstance(value, np.ndarray):
        return _array_variants(value)
    if isinstance(value, bool):
        return [
            ("None", None),
            ("string", "yes"),
            ("int", 2),
            ("array", np.array([True])),
        ]
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _number_variants(value)
    if isinstance(value, str):
        return [
            ("unknown", "nonsense"),
            ("other case", value.upper()),
            ("None", None),
            ("number", 3),
            ("empty", ""),
        ]
    if value is None:
        return [
            ("nan", float("nan")),
            ("string", "x"),
            ("negative", -1),
            ("list", [1, 2]),
            ("empty array", np.empty(0)),
        ]
    if isinstance(value, dict):
        return [
            ("None", None),
            ("empty", {}),
            ("string", "x"),
            ("unknown key", {"zz": 1}),
            ("list", [1, 2]),
            ("values of a wrong type", {k: 3 + 1j for k in value}),
        ]
    if isinstance(value, (tuple, list)):
        return _sequence_variants(value)
    if callable(value) and not hasattr(value, "savefig"):
        return [
            ("None", None),
            ("string", "draw"),
            ("returns None", lambda **k: None),
            ("returns a number", lambda **k: 1.0),
        ]
    if isinstance(value, type):
        return [("int", int), ("complex", complex), ("string", "float64")]
    return [("None", None), ("string", "x")]


#: Examples hypothesis draws for every case (random values of the valid call's shapes).
HYPOTHESIS_EXAMPLES = 15


def tasks(cases_):
    """What the workers run: ``("family", name, label, key)`` for the valid call and
    every variant of one argument, and ``("hypothesis", name, None, None)`` for the
    random draws."""
    out = []
    for name, case in cases_.items():
        out.append(("family", name, "valid", None))
        for key, value in case.kwargs.items():
            if key in case.fixed or key == case.seed:
                continue
            for label, _ in variants(value):
                out.append(("family", name, label, key))
        if _strategies(case):
            out.append(("hypothesis", name, None, None))
    return out


def _strategy(value):
    """Values of the same kind and shape as ``value`` across
    float64's range (up to 1e100)."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    numbers = st.floats(-1e100, 1e100, allow_nan=False, allow_infinity=False)
    if isinstance(value, np.ndarray) and value.size and value.dtype.kind == "f":
        return hnp.arrays(np.float64, value.shape, elements=numbers)
    if isinstance(value, np.ndarray) and value.size and value.dtype.kind in "iu":
        return hnp.arrays(
            np.int64, value.shape, elements=st.integers(0, int(value.max()) + 1)
        )
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, (int, np.integer)):
        return st.integers(-3, 3 * max(int(value), 1))
    if isinstance(value, (float, np.floating)):
        return numbers
    return None


def _strategies(case):
    return {
        k: st
        for k, v in case.kwargs.items()
        if k not in case.fixed and k != case.seed and (st := _strategy(v)) is not None
    }


# ----------------------------------------------------------------------------- one call


def _leaves(obj, path="", seen=None):
    """(path, float array) for every numeric array inside a result."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc":
            yield path, obj
        return
    if isinstance(obj, (float, np.floating)):
        yield path, np.asarray(obj)
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, f"{path}.{k}", seen)
        return
    if isinstance(obj, (tuple, list)):
        for i, v in enumerate(obj):
            yield from _leaves(v, f"{path}[{i}]", seen)
        return
    if hasattr(obj, "get_params") and hasattr(obj, "__dict__"):  # a fitted estimator
        for k, v in vars(obj).items():
            if k.endswith("_") and not k.startswith("_"):
                yield from _leaves(v, f"{path}.{k}", seen)


def _snapshot(value):
    """A copy of a data argument, to see whether the call
    changed it (None: not data)."""
    data = (np.ndarray, list, tuple, dict, str, bytes, int, float, complex, np.generic)
    if not (isinstance(value, data) or hasattr(value, "get_params")):
        return None  # figures, axes, callables, widgets
    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001
        return None


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            return (
                np.shape(a) == np.shape(b)
                and np.asarray(a).dtype == np.asarray(b).dtype
                and np.array_equal(a, b, equal_nan=np.asarray(a).dtype.kind in "fc")
            )
        except Exception:  # noqa: BLE001
            return False
    if hasattr(a, "get_params") and type(a) is type(b):  # estimators: their state
        return _same(vars(a), vars(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:  # noqa: BLE001
        return True


def _finite_input(value):
    for _, arr in _leaves(value):
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            return False
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return False
    return True


def _fingerprint(result):
    return [(p, a.copy()) for p, a in _leaves(result)]


def call_once(case, key, label):
    """Run the valid call (``key`` None) or one variant of it;
    return (outcome, detail)."""
    kwargs = dict(case.kwargs)
    if key is not None:
        kwargs[key] = dict(variants(case.kwargs[key]))[label]
    return evaluate(case, kwargs, changed=() if key is None else (key,))


def evaluate(case, kwargs, changed):
    """Call ``case.call(**kwargs)`` and judge it against the promise:
    (outcome, detail)."""
    import matplotlib.pyplot as plt

    before = {k: _snapshot(v) for k, v in kwargs.items()}
    finite = all(_finite_input(kwargs[k]) for k in kwargs if k not in case.opaque)
    # NaN passed through an argument that is only carried (opaque) may come back out.
    all_finite = finite and all(
        _finite_input(kwargs[k]) for k in case.opaque if k in kwargs
    )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = case.call(**kwargs)
            except (ValueError, TypeError, FileNotFoundError) as exc:
                if not str(exc).strip():
                    return "empty message", f"{type(exc).__name__} with no message"
                return CLEAR_ERROR, f"{type(exc).__name__}: {str(exc)[:160]}"
            except Exception as exc:  # noqa: BLE001 (what we look for)
                return "other exception", f"{type(exc).__name__}: {str(exc)[:160]}"
            fingerprint = _fingerprint(result)
            escaped = [
                w for w in caught if not issubclass(w.category, _allowed_warnings())
            ]
        if escaped:
            w = escaped[0]
            return "warning escaped", f"{w.category.__name__}: {str(w.message)[:160]}"
        for k, v in kwargs.items():
            if before[k] is not None and not _same(before[k], v):
                return "input modified", k
        if not finite:
            return "non-finite input accepted", f"{', '.join(changed)} gave a result"
        for path, arr in fingerprint if all_finite else ():
            if (path.split(".")[-1] or "result") in case.nan_fields:
                continue
            if not np.all(np.isfinite(arr)):
                return "nan or inf output", f"{path or 'result'} from finite input"
        if case.seed is not None:
            again = _fingerprint(
                case.call(
                    **{
                        k: _snapshot(v) if before[k] is not None else v
                        for k, v in kwargs.items()
                    }
                )
            )
            if len(again) != len(fingerprint) or not all(
                np.array_equal(a, b, equal_nan=True)
                for (_, a), (_, b) in zip(fingerprint, again)
            ):
                return "not deterministic", "two calls with the same seed differ"
        return OK, ""
    finally:
        plt.close("all")


def _describe(drawn):
    parts = []
    for k, v in drawn.items():
        if isinstance(v, np.ndarray):
            parts.append(f"{k}=array{v.shape} |max| {np.abs(v).max():.2g}")
        else:
            parts.append(f"{k}={v!r}")
    return "; ".join(parts)[:300]


def run_hypothesis(case, send):
    """Random values of the valid call's kinds and shapes for all its arguments at once,
    drawn by hypothesis (derandomized: the same examples on every run)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    counter = iter(range(10**6))

    @settings(
        max_examples=HYPOTHESIS_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.fixed_dictionaries(_strategies(case)))
    def probe(drawn):
        example = next(counter)
        send(("start", example))
        start = time.perf_counter()
        outcome, detail = evaluate(case, {**case.kwargs, **drawn}, changed=tuple(drawn))
        if outcome != OK and outcome != CLEAR_ERROR:
            detail = f"{detail} [{_describe(drawn)}]"
        send(("done", example, (outcome, detail), time.perf_counter() - start))

    probe()


def _allowed_warnings():
    from sklearn.exceptions import ConvergenceWarning

    from lectlib.markov import DisconnectedStatesWarning

    # a count graph that falls apart is said, by a documented warning
    return (ConvergenceWarning, DisconnectedStatesWarning)


# --------------------------------------------------------------------- worker processes


def _worker(todo, conn):
    import matplotlib

    matplotlib.use("Agg")
    # Calls that write files (export to "" or ".") write into a scratch folder.
    os.chdir(tempfile.mkdtemp(prefix="lectlib-promise-cwd-"))
    cases_ = cases()
    for index, (kind, name, label, key) in todo:

        def send(message, index=index):
            conn.send((message[0], index) + tuple(message[1:]))

        try:
            if kind == "family":
                send(("start", 0))
                start = time.perf_counter()
                outcome = call_once(cases_[name], key, label)
                send(("done", 0, outcome, time.perf_counter() - start))
            else:
                run_hypothesis(cases_[name], send)
        except Exception as exc:  # noqa: BLE001 (the checker itself)
            send(
                (
                    "done",
                    -1,
                    (
                        "other exception",
                        f"in the check: {type(exc).__name__}: "
                        f"{exc}\n" + traceback.format_exc(limit=3),
                    ),
                    0.0,
                )
            )
    conn.send(("finished",))


def run_all(n_workers=None, timeout=CALL_TIMEOUT, only=None):
    """Run every task in worker processes.

    Returns ``{(task, example): (name, label, key, outcome, detail)}``. A call that
    exceeds ``timeout`` is recorded as a timeout and its worker replaced by a new one
    that goes on with the next task.
    """
    everything = tasks(cases())
    indexed = [(i, t) for i, t in enumerate(everything) if only is None or t[1] in only]
    n_workers = n_workers or max(1, min(2, os.cpu_count() or 1))
    ctx = multiprocessing.get_context("fork")
    results, durations = {}, {}
    active = [
        _start(ctx, indexed[w::n_workers])
        for w in range(n_workers)
        if indexed[w::n_workers]
    ]
    while active:
        for slot in list(active):
            proc, conn, chunk, state = slot
            if conn.poll(0.02):
                try:
                    message = conn.recv()
                except EOFError:
                    message = ("died",)
                if message[0] == "start":
                    state["current"], state["since"] = message[1:3], time.monotonic()
                elif message[0] == "done":
                    task, example, (outcome, detail), seconds = message[1:5]
                    _, name, label, key = everything[task]
                    results[task, example] = (
                        name,
                        label if label else f"hypothesis #{example}",
                        key,
                        outcome,
                        detail,
                    )
                    durations[task, example] = seconds
                    state["current"] = None
                    state["done"].add(task)
                else:  # finished, or the worker died
                    proc.join(1)
                    active.remove(slot)
                    if message[0] == "died" and state["current"] is not None:
                        _record_and_restart(
                            ctx,
                            active,
                            slot,
                            everything,
                            results,
                            "other exception",
                            "the worker process died",
                        )
                continue
            if (
                state["current"] is not None
                and time.monotonic() - state["since"] > timeout
            ):
                proc.kill()
                proc.join()
                active.remove(slot)
                _record_and_restart(
                    ctx,
                    active,
                    slot,
                    everything,
                    results,
                    "timeout",
                    f"over {timeout:g} s",
                )
    run_all.durations = {
        results[k][:3]: v for k, v in durations.items() if k in results
    }
    return results


def _start(ctx, chunk):
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker, args=(chunk, child), daemon=True)
    proc.start()
    child.close()
    return (
        proc,
        parent,
        chunk,
        {"current": None, "since": time.monotonic(), "done": set()},
    )


def _record_and_restart(ctx, active, slot, everything, results, outcome, detail):
    _, _, chunk, state = slot
    task, example = state["current"]
    _, name, label, key = everything[task]
    results[task, example] = (
        name,
        label or f"hypothesis #{example}",
        key,
        outcome,
        detail,
    )
    rest = [(i, t) for i, t in chunk if i not in state["done"] and i != task]
    if rest:
        active.append(_start(ctx, rest))


def summary(results):
    """Counts per outcome, and the broken calls grouped by callable."""
    counts = Counter(outcome for *_, outcome, _ in results.values())
    broken = {}
    for name, label, key, outcome, detail in results.values():
        if outcome not in (OK, CLEAR_ERROR):
            broken.setdefault(name, []).append((key, label, outcome, detail))
    return counts, broken


if __name__ == "__main__":  # python tests/promise.py [name ...]
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    os.environ.setdefault("MPLBACKEND", "Agg")
    start = time.perf_counter()
    res = run_all(only=set(sys.argv[1:]) or None)
    counts, broken = summary(res)
    for name in sorted(broken):
        print(name)
        for key, label, outcome, detail in broken[name]:
            print(f"   {key}={label}: {outcome}: {detail}")
    print(dict(counts), f"{len(res)} calls in {time.perf_counter() - start:.1f} s")
    slowest = sorted(run_all.durations.items(), key=lambda kv: -kv[1])[:5]
    print(
        "slowest calls:",
        "; ".join(f"{n} {k}={l}: {t:.2f} s" for (n, l, k), t in slowest),
    )
