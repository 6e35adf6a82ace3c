"""Spectrum images made by the linear mixing model, with their ground truth.

Endmembers are smooth positive spectra (peaks on a decaying background), at least a
given angle apart; abundances are Dirichlet distributed at every pixel and smooth in
space, with some pixels made exactly pure. Gaussian or Poisson noise comes from
:mod:`lectlib.mixing`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, stats
from sklearn.utils import Bunch

from .._validation import (
    check_option,
    check_pair,
    check_random_state,
    check_scalar,
    check_shape2,
    check_size,
    check_snr_db,
)
from ..mixing import add_gaussian_noise, add_poisson_noise, mix
from .registry import register

__all__ = ["make_mixture"]


def _endmember_spectra(n_components, energy, rng, min_angle_deg=12.0, max_tries=200):
    """Smooth, positive, clearly distinct spectra: peaks on a decaying background."""
    span = energy[-1] - energy[0]
    x = (energy - energy[0]) / span
    for _ in range(max_tries):
        spectra = np.empty((n_components, energy.size))
        for k in range(n_components):
            n_peaks = rng.integers(2, 5)
            centers = rng.uniform(0.08, 0.92, n_peaks)
            widths = rng.uniform(0.012, 0.045, n_peaks)
            heights = rng.uniform(0.35, 1.0, n_peaks)
            peaks = heights[:, None] * np.exp(
                -0.5 * ((x[None, :] - centers[:, None]) / widths[:, None]) ** 2
            )
            background = rng.uniform(0.1, 0.3) * np.exp(-x / rng.uniform(0.3, 1.0))
            spectrum = background + peaks.sum(axis=0)
            spectra[k] = spectrum / spectrum.max()
        unit = spectra / np.linalg.norm(spectra, axis=1, keepdims=True)
        cos = np.clip(unit @ unit.T, -1.0, 1.0)
        angles = np.degrees(np.arccos(cos[np.triu_indices(n_components, 1)]))
        if angles.size == 0 or angles.min() >= min_angle_deg:
            return spectra
    raise ValueError(
        f"could not draw {n_components} endmembers at least {min_angle_deg:g} degrees "
        f"apart on {energy.size} channels; use more channels or fewer components"
    )


def _smooth_dirichlet_maps(n_components, shape, concentration, length_scale, rng):
    """Abundance maps that are Dirichlet(concentration) at every
    pixel and smooth in space.

    A Gaussian copula: smoothed white noise, rescaled to unit variance, is mapped
    through the normal CDF to uniform values and then through the Gamma(concentration)
    quantile function. Independent Gamma variables divided by their sum are Dirichlet
    distributed, so each pixel's abundances follow exactly Dirichlet(concentration, ...,
    concentration), while neighboring pixels within ``length_scale`` are correlated.
    """
    fields = rng.standard_normal((n_components,) + shape)
    if length_scale > 0:
        smooth = (0, length_scale, length_scale)
        fields = ndimage.gaussian_filter(fields, sigma=smooth, mode="wrap")
        # Smoothing white noise shrinks its variance by the sum of the squared filter
        # weights (periodic boundaries: the same at every pixel). Dividing by that known
        # factor, not by the sample spread, keeps every pixel exactly N(0, 1) on any
        # grid size.
        impulse = np.zeros((1,) + shape)
        impulse[0, 0, 0] = 1.0
        fields /= np.sqrt(
            np.sum(ndimage.gaussian_filter(impulse, sigma=smooth, mode="wrap") ** 2)
        )
    uniform = stats.norm.cdf(fields)
    gammas = stats.gamma.ppf(uniform, a=concentration)
    gammas = np.maximum(
        gammas, np.finfo(float).tiny
    )  # tiny concentrations underflow to 0
    abundances = gammas / gammas.sum(axis=0, keepdims=True)
    return np.moveaxis(abundances, 0, -1)


def _place_pure_pixels(abundances, n_pure):
    """Make the ``n_pure`` pixels where each component is most abundant exactly pure."""
    ny, nx, k = abundances.shape
    flat = abundances.reshape(ny * nx, k)
    taken = np.zeros(ny * nx, dtype=bool)
    chosen = np.empty((k, n_pure), dtype=np.intp)
    order = np.argsort(-flat, axis=0, kind="stable")
    for comp in range(k):
        free = order[:, comp][~taken[order[:, comp]]]
        chosen[comp] = free[:n_pure]
        taken[chosen[comp]] = True
    for comp in range(k):
        flat[chosen[comp]] = 0.0
        flat[chosen[comp], comp] = 1.0
    rows, cols = np.divmod(chosen, nx)
    return np.stack([rows, cols], axis=-1)


def make_mixture(
    n_components=3,
    shape=(64, 64),
    n_channels=256,
    *,
    energy_range=(0.0, 100.0),
    concentration=1.0,
    n_pure=1,
    length_scale=6.0,
    noise="gaussian",
    snr_db=30.0,
    dose=100.0,
    random_state=None,
):
    """A spectrum image made by the linear mixing model, with its ground truth.

    Each pixel's spectrum is ``sum_k a_k w_k`` plus noise, with abundances ``a`` that
    are non-negative and sum to one, drawn Dirichlet(``concentration``) at every pixel
    and smooth in space, and endmembers ``w`` that are smooth positive spectra
    (peaks on a background).

    Parameters
    ----------
    n_components : int, default=3
        Number of endmembers.
    shape : (ny, nx), default=(64, 64)
        Pixel grid.
    n_channels : int, default=256
        Points per spectrum.
    energy_range : (float, float), default=(0.0, 100.0)
        First and last channel energy, in eV.
    concentration : float, default=1.0
        Dirichlet concentration of the abundances at each pixel. Small values (0.1) make
        most pixels nearly pure; 1 spreads them evenly over the simplex; large values
        (10) crowd them around the equal mixture, far from every vertex.
    n_pure : int, default=1
        Pixels per component made exactly pure (placed where that component is most
        abundant). 0 guarantees nothing, as in real data.
    length_scale : float, default=6.0
        Spatial correlation length of the abundance maps,
        in pixels (0: independent pixels).
    noise : {"gaussian", "poisson", None}, default="gaussian"
        ``"gaussian"``: white noise at ``snr_db``. ``"poisson"``: spectra are scaled to
        counts (mean ``dose`` per channel) and counts are Poisson draws. ``None``: no
        noise.
    snr_db : float, default=30.0
        Signal-to-noise ratio in dB for Gaussian noise (power ratio).
    dose : float, default=100.0
        Mean expected counts per channel for Poisson noise.
    random_state : None, int or numpy.random.Generator
        Seed; the same seed gives the same dataset.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``cube`` (ny, nx, n_channels): the measured data. ``clean``: the noise-free
        cube, equal to ``mix(abundances, endmembers)``. ``energy`` (n_channels,): eV.
        ``endmembers`` (n_components, n_channels). ``abundances``
        (ny, nx, n_components), non-negative, summing to one. ``noise_variance``: the
        true variance of every element of ``cube`` (a float for Gaussian noise, an array
        like ``cube`` for Poisson noise, 0.0 with no noise). ``pure_pixels``
        (n_components, n_pure, 2): the ``(row, col)`` of each component's pure pixels.
        ``params``: the arguments used. ``DESCR``: a description.

    See Also
    --------
    lectlib.datasets.load : the course's fixed ``"mixture"``, one call of this function.
    lectlib.datasets.make_eels_interface : spectra from physics with fixed references,
        not random.
    lectlib.datasets.make_lattice_phases : images of atoms, not spectra.

    Notes
    -----
    Each endmember is two to four Gaussian peaks (centers between 8% and 92% of the
    energy range, widths 1.2–4.5% of it) on an exponential background, scaled to a
    maximum of 1; the set is redrawn until every pair is at least 12° apart. The
    abundances are a Gaussian copula: white noise smoothed over ``length_scale``
    (periodic boundaries) is mapped through the normal CDF to Gamma(``concentration``)
    values, which divided by their sum are exactly Dirichlet at every pixel. Each
    component in turn then makes the ``n_pure`` free pixels where it is most abundant
    exactly pure. Noise is :func:`lectlib.mixing.add_gaussian_noise` (the SNR is
    ``mean(clean**2) / sigma**2`` in dB) or :func:`lectlib.mixing.add_poisson_noise`.

    Examples
    --------
    >>> from lectlib.datasets import make_mixture
    >>> data = make_mixture(
    ...     n_components=3, shape=(16, 20), n_channels=64, random_state=0
    ... )
    >>> data.cube.shape, data.endmembers.shape, data.abundances.shape
    ((16, 20, 64), (3, 64), (16, 20, 3))
    >>> bool(abs(data.abundances.sum(axis=-1) - 1).max() < 1e-12)
    True
    """
    ny, nx = check_shape2(shape)
    n_channels = check_scalar(n_channels, "n_channels", low=2, integer=True)
    # Distinct endmembers need at least as many channels as there are endmembers.
    n_components = check_scalar(
        n_components, "n_components", low=1, high=n_channels, integer=True
    )
    check_size(ny * nx * max(n_channels, n_components), "the spectrum image")
    e0, e1 = check_pair(
        energy_range, "energy_range", increasing=True, labels="(first, last)"
    )
    concentration = check_scalar(
        concentration, "concentration", low=0.0, low_inclusive=False
    )
    n_pure = check_scalar(n_pure, "n_pure", low=0, integer=True)
    if n_components * n_pure > ny * nx:
        raise ValueError(
            f"n_components * n_pure = {n_components * n_pure} pure pixels do not fit "
            f"in {ny} x {nx} = {ny * nx} pixels"
        )
    length_scale = check_scalar(
        length_scale, "length_scale", low=0.0, high=10 * max(ny, nx)
    )
    check_option(noise, "noise", ("gaussian", "poisson", None))
    snr_db = check_snr_db(snr_db)
    dose = check_scalar(dose, "dose", low=0.0, low_inclusive=False)
    rng = check_random_state(random_state)

    energy = np.linspace(e0, e1, n_channels)
    endmembers = _endmember_spectra(n_components, energy, rng)
    abundances = _smooth_dirichlet_maps(
        n_components, (ny, nx), concentration, length_scale, rng
    )
    pure = _place_pure_pixels(abundances, n_pure)

    if noise == "poisson":
        # Scale to counts so that the mean expected count per channel equals the dose.
        endmembers = endmembers * (dose / mix(abundances, endmembers).mean())
    clean = mix(abundances, endmembers)
    if noise == "gaussian":
        cube, noise_variance = add_gaussian_noise(clean, snr_db, random_state=rng)
    elif noise == "poisson":
        cube, noise_variance = add_poisson_noise(clean, random_state=rng)
    else:
        cube, noise_variance = clean.copy(), 0.0

    params = dict(
        n_components=n_components,
        shape=(ny, nx),
        n_channels=n_channels,
        energy_range=(e0, e1),
        concentration=concentration,
        n_pure=n_pure,
        length_scale=length_scale,
        noise=noise,
        snr_db=snr_db,
        dose=dose,
    )
    level = {
        "gaussian": f"Gaussian noise at {snr_db:g} dB",
        "poisson": f"Poisson noise at dose {dose:g}",
        None: "no noise",
    }[noise]
    descr = (
        f"Linear mixture of {n_components} endmembers on a {ny} x {nx} grid, "
        f"{n_channels} channels from {e0:g} to {e1:g} eV; abundances "
        f"Dirichlet({concentration:g}) per pixel, correlated over {length_scale:g} px, "
        f"{n_pure} pure pixel(s) per component; {level}."
    )
    return Bunch(
        cube=cube,
        clean=clean,
        energy=energy,
        endmembers=endmembers,
        abundances=abundances,
        noise_variance=noise_variance,
        pure_pixels=pure,
        params=params,
        DESCR=descr,
    )


def _finish_mixture(data):
    """The stored mixture lacks ``clean``,
    which follows from abundances and endmembers."""
    if np.ndim(data.noise_variance) == 0:
        data.noise_variance = float(data.noise_variance)
    data.clean = mix(data.abundances, data.endmembers)


register(
    "mixture",
    make_mixture,
    dict(
        n_components=3,
        shape=(48, 48),
        n_channels=128,
        noise="gaussian",
        snr_db=25.0,
        random_state=20240901,
    ),
    fields=(
        "cube",
        "energy",
        "endmembers",
        "abundances",
        "noise_variance",
        "pure_pixels",
    ),
    sha256="54adadb05cb13369899a1c7855e0f43a01e276efe08c38eef206fdb3017c3c8a",
    finish=_finish_mixture,
)
