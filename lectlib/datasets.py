"""Synthetic spectroscopic-imaging datasets with known ground truth.

Every ``make_*`` function returns a :class:`sklearn.utils.Bunch` holding the data, their axes
and the truth they were made from, so that every claim of the course can be checked against a
number. All randomness goes through ``random_state``; nothing is downloaded.

:func:`load` returns a named, fixed dataset: from the committed file in ``data/`` when lectlib
runs from a checkout of the course, otherwise (e.g. on Colab) by regenerating the identical
arrays. The test suite checks that both give the same numbers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from scipy import ndimage, stats
from sklearn.utils import Bunch

from ._validation import check_random_state, check_scalar, check_shape2
from . import eels
from .mixing import add_gaussian_noise, add_poisson_noise, mix, resolution_matrix

__all__ = ["make_mixture", "make_eels_interface", "make_lattice_phases", "make_charge_order", "load",
           "export", "DATASETS"]


def _endmember_spectra(n_components, energy, rng, min_angle_deg=12.0, max_tries=200):
    """Smooth, positive, clearly distinct spectra: peaks on a decaying background."""
    span = energy[-1] - energy[0]
    x = (energy - energy[0]) / span
    for _ in range(max_tries):
        spectra = np.empty((n_components, energy.size))
        for k in range(n_components):
            n_peaks = rng.integers(2, 5)
            centres = rng.uniform(0.08, 0.92, n_peaks)
            widths = rng.uniform(0.012, 0.045, n_peaks)
            heights = rng.uniform(0.35, 1.0, n_peaks)
            peaks = heights[:, None] * np.exp(-0.5 * ((x[None, :] - centres[:, None]) / widths[:, None]) ** 2)
            background = rng.uniform(0.1, 0.3) * np.exp(-x / rng.uniform(0.3, 1.0))
            spectrum = background + peaks.sum(axis=0)
            spectra[k] = spectrum / spectrum.max()
        unit = spectra / np.linalg.norm(spectra, axis=1, keepdims=True)
        cos = np.clip(unit @ unit.T, -1.0, 1.0)
        angles = np.degrees(np.arccos(cos[np.triu_indices(n_components, 1)]))
        if angles.size == 0 or angles.min() >= min_angle_deg:
            return spectra
    raise ValueError(
        f"could not draw {n_components} endmembers at least {min_angle_deg:g} degrees apart on "
        f"{energy.size} channels; use more channels or fewer components"
    )


def _smooth_dirichlet_maps(n_components, shape, concentration, length_scale, rng):
    """Abundance maps that are Dirichlet(concentration) at every pixel and smooth in space.

    A Gaussian copula: smoothed white noise, rescaled to unit variance, is mapped through the
    normal CDF to uniform values and then through the Gamma(concentration) quantile function.
    Independent Gamma variables divided by their sum are Dirichlet distributed, so each pixel's
    abundances follow exactly Dirichlet(concentration, ..., concentration), while neighbouring
    pixels within ``length_scale`` are correlated.
    """
    fields = rng.standard_normal((n_components,) + shape)
    if length_scale > 0:
        smooth = (0, length_scale, length_scale)
        fields = ndimage.gaussian_filter(fields, sigma=smooth, mode="wrap")
        # Smoothing white noise shrinks its variance by the sum of the squared filter weights
        # (periodic boundaries: the same at every pixel). Dividing by that known factor, not
        # by the sample spread, keeps every pixel exactly N(0, 1) on any grid size.
        impulse = np.zeros((1,) + shape)
        impulse[0, 0, 0] = 1.0
        fields /= np.sqrt(np.sum(ndimage.gaussian_filter(impulse, sigma=smooth, mode="wrap") ** 2))
    uniform = stats.norm.cdf(fields)
    gammas = stats.gamma.ppf(uniform, a=concentration)
    gammas = np.maximum(gammas, np.finfo(float).tiny)  # tiny concentrations underflow to 0
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

    Each pixel's spectrum is ``sum_k a_k w_k`` plus noise, with abundances ``a`` that are
    non-negative and sum to one, drawn Dirichlet(``concentration``) at every pixel and smooth in
    space, and endmembers ``w`` that are smooth positive spectra (peaks on a background).

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
        Dirichlet concentration of the abundances at each pixel. Small values (0.1) make most
        pixels nearly pure; 1 spreads them evenly over the simplex; large values (10) crowd them
        around the equal mixture, far from every vertex.
    n_pure : int, default=1
        Pixels per component made exactly pure (placed where that component is most abundant).
        0 guarantees nothing, as in real data.
    length_scale : float, default=6.0
        Spatial correlation length of the abundance maps, in pixels (0: independent pixels).
    noise : {"gaussian", "poisson", None}, default="gaussian"
        ``"gaussian"``: white noise at ``snr_db``. ``"poisson"``: spectra are scaled to counts
        (mean ``dose`` per channel) and counts are Poisson draws. ``None``: no noise.
    snr_db : float, default=30.0
        Signal-to-noise ratio in dB for Gaussian noise (power ratio).
    dose : float, default=100.0
        Mean expected counts per channel for Poisson noise.
    random_state : None, int or numpy.random.Generator
        Seed; the same seed gives the same dataset.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``cube`` (ny, nx, n_channels): the measured data. ``clean``: the noise-free cube,
        equal to ``mix(abundances, endmembers)``. ``energy`` (n_channels,): eV.
        ``endmembers`` (n_components, n_channels). ``abundances`` (ny, nx, n_components),
        non-negative, summing to one. ``noise_variance``: the true variance of every element of
        ``cube`` (a float for Gaussian noise, an array like ``cube`` for Poisson noise, 0.0 with
        no noise). ``pure_pixels`` (n_components, n_pure, 2): the ``(row, col)`` of each
        component's pure pixels. ``params``: the arguments used. ``DESCR``: a description.

    Examples
    --------
    >>> from lectlib.datasets import make_mixture
    >>> data = make_mixture(n_components=3, shape=(16, 20), n_channels=64, random_state=0)
    >>> data.cube.shape, data.endmembers.shape, data.abundances.shape
    ((16, 20, 64), (3, 64), (16, 20, 3))
    >>> bool(abs(data.abundances.sum(axis=-1) - 1).max() < 1e-12)
    True
    """
    n_components = check_scalar(n_components, "n_components", low=1, integer=True)
    ny, nx = check_shape2(shape)
    n_channels = check_scalar(n_channels, "n_channels", low=2, integer=True)
    try:
        e0, e1 = (check_scalar(e, "energy_range") for e in energy_range)
    except TypeError:
        raise TypeError(f"energy_range must be a pair of numbers, got {energy_range!r}") from None
    if not e1 > e0:
        raise ValueError(f"energy_range must be increasing, got {energy_range!r}")
    concentration = check_scalar(concentration, "concentration", low=0.0, low_inclusive=False)
    n_pure = check_scalar(n_pure, "n_pure", low=0, integer=True)
    if n_components * n_pure > ny * nx:
        raise ValueError(
            f"n_components * n_pure = {n_components * n_pure} pure pixels do not fit in "
            f"{ny} x {nx} = {ny * nx} pixels"
        )
    length_scale = check_scalar(length_scale, "length_scale", low=0.0)
    if noise not in ("gaussian", "poisson", None):
        raise ValueError(f"noise must be 'gaussian', 'poisson' or None, got {noise!r}")
    snr_db = check_scalar(snr_db, "snr_db")
    dose = check_scalar(dose, "dose", low=0.0, low_inclusive=False)
    rng = check_random_state(random_state)

    energy = np.linspace(e0, e1, n_channels)
    endmembers = _endmember_spectra(n_components, energy, rng)
    abundances = _smooth_dirichlet_maps(n_components, (ny, nx), concentration, length_scale, rng)
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
        n_components=n_components, shape=(ny, nx), n_channels=n_channels,
        energy_range=(e0, e1), concentration=concentration, n_pure=n_pure,
        length_scale=length_scale, noise=noise, snr_db=snr_db, dose=dose,
    )
    level = {"gaussian": f"Gaussian noise at {snr_db:g} dB", "poisson": f"Poisson noise at dose {dose:g}",
             None: "no noise"}[noise]
    descr = (
        f"Linear mixture of {n_components} endmembers on a {ny} x {nx} grid, {n_channels} channels "
        f"from {e0:g} to {e1:g} eV; abundances Dirichlet({concentration:g}) per pixel, correlated "
        f"over {length_scale:g} px, {n_pure} pure pixel(s) per component; {level}."
    )
    return Bunch(
        cube=cube, clean=clean, energy=energy, endmembers=endmembers, abundances=abundances,
        noise_variance=noise_variance, pure_pixels=pure, params=params, DESCR=descr,
    )


def _smooth_profile(n, length_scale, rng):
    """A smooth random profile of ``n`` values with zero mean and unit standard deviation."""
    field = rng.standard_normal(n)
    if n == 1:
        return np.zeros(1)
    field = ndimage.gaussian_filter1d(field, length_scale, mode="reflect")
    field -= field.mean()
    spread = field.std()
    return field / spread if spread > 0 else field


def make_eels_interface(
    shape=(32, 48),
    *,
    scan="area",
    energy_range=(5.0, 125.0),
    energy_step=0.5,
    layer_fractions=(0.34, 0.32, 0.34),
    intermixing=1.5,
    roughness=1.0,
    thickness=(0.45, 0.75),
    dose=2.0e4,
    resolution_fwhm=1.0,
    interface_component=0.25,
    noise="poisson",
    random_state=None,
):
    """An EELS spectrum image across a SrTiO₃ / La₀.₇Sr₀.₃MnO₃ / BiFeO₃ heterostructure.

    The lecture's example of regression with known references (Borisevich et al. 2010). The
    layers are stacked along the columns (growth direction, x): substrate SrTiO₃ on the left,
    then La₀.₇Sr₀.₃MnO₃, then BiFeO₃. Each layer's reference spectrum is built from physics by
    :func:`lectlib.eels.reference_spectrum`: the energy-loss function of a Drude–Lorentz
    dielectric function with the free-electron plasmon energy of the layer (23.6, 25.6 and
    26.2 eV) and the shallow core edges at their tabulated onsets (Ti M₂,₃ 35 eV, Mn M₂,₃ 51 eV,
    Fe M₂,₃ 57 eV, La N₄,₅ 99 eV; :data:`lectlib.eels.EDGE_ONSETS`), broadened by the instrument
    resolution.

    Each pixel's spectrum is ``Σ_i c_i(x) w_i(E)`` with coefficient ``c_i`` = (fraction of layer
    i in the column) × (local thickness t/λ): interfaces are error-function profiles of width
    ``intermixing`` whose position wanders along the rows by ``roughness``, and the thickness
    is a wedge across the rows with a gentle random variation. Optionally a thin interface
    layer at the La₀.₇Sr₀.₃MnO₃/BiFeO₃ interface adds a spectrum that is in none of the
    references (an in-gap interband transition near 11 eV and a Mn M₂,₃ edge shifted 3 eV down,
    as for reduced Mn), so that residual and χ² maps can find it. Counts are Poisson.

    Parameters
    ----------
    shape : (ny, nx), default=(32, 48)
        Scan grid. For ``scan="line"`` only ``nx`` is used.
    scan : {"area", "line"}, default="area"
        An area scan gives a cube ``(ny, nx, n_channels)``; a line scan across the interfaces
        (along x, at the middle of the thickness wedge) gives ``(nx, n_channels)``.
    energy_range : (float, float), default=(5.0, 125.0)
        First and last energy loss in eV (positive).
    energy_step : float, default=0.5
        Channel width in eV.
    layer_fractions : three floats, default=(0.34, 0.32, 0.34)
        Share of the scan width taken by each layer (normalised to sum to one).
    intermixing : float, default=1.5
        Width (px) of the error-function intermixing profile at each interface; 0 for abrupt.
    roughness : float, default=1.0
        Standard deviation (px) of the interface position along the rows.
    thickness : (float, float), default=(0.45, 0.75)
        t/λ at the first and last row of the wedge.
    dose : float, default=2e4
        Expected counts in the spectrum of a pure layer of t/λ = 1 (the sum over the channels of
        each reference spectrum).
    resolution_fwhm : float, default=1.0
        Energy resolution (eV) by which the spectra are broadened; 0 for none.
    interface_component : float, default=0.25
        Peak coefficient of the interface layer relative to t/λ; 0 for none.
    noise : {"poisson", None}, default="poisson"
        Poisson counting noise, or the noise-free expected counts.
    random_state : None, int or numpy.random.Generator
        Seeds the interface roughness, the thickness variation and the noise.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``cube`` (counts), ``clean`` (expected counts), ``energy`` (eV), ``references``
        (3, n_channels) expected counts of each pure layer at t/λ = 1, ``reference_names``,
        ``coefficients`` (grid + (3,)) the true regression coefficients, ``fractions``
        (grid + (3,)) the layer fractions, ``thickness`` (grid) t/λ, ``interface_spectrum``
        (n_channels,) and ``interface_coefficient`` (grid) of the extra interface layer,
        ``interfaces`` (grid rows, 2) the column positions of the two interfaces,
        ``noise_variance`` (the expected counts: Poisson variance), ``params``, ``DESCR``.

    References
    ----------
    A. Y. Borisevich et al., Phys. Rev. Lett. 105, 087204 (2010).

    Examples
    --------
    >>> data = make_eels_interface(random_state=0)
    >>> data.cube.shape, data.references.shape, data.reference_names.tolist()
    ((32, 48, 241), (3, 241), ['SrTiO3', 'La0.7Sr0.3MnO3', 'BiFeO3'])
    >>> line = make_eels_interface(shape=(1, 60), scan="line", random_state=0)
    >>> line.cube.shape, line.coefficients.shape
    ((60, 241), (60, 3))
    """
    ny, nx = check_shape2(shape)
    if scan not in ("area", "line"):
        raise ValueError(f"scan must be 'area' or 'line', got {scan!r}")
    try:
        e0, e1 = (check_scalar(e, "energy_range") for e in energy_range)
    except TypeError:
        raise TypeError(f"energy_range must be a pair of numbers, got {energy_range!r}") from None
    if not (0 < e0 < e1):
        raise ValueError(f"energy_range must be positive and increasing, got {energy_range!r}")
    step = check_scalar(energy_step, "energy_step", low=0.0, low_inclusive=False)
    if (e1 - e0) / step < 2:
        raise ValueError(f"energy_step {step:g} eV leaves fewer than 3 channels in {energy_range!r}")
    try:
        fractions_in = np.array([check_scalar(f, "layer_fractions", low=0.0, low_inclusive=False)
                                 for f in layer_fractions])
    except TypeError:
        raise TypeError(f"layer_fractions must be three positive numbers, got {layer_fractions!r}") from None
    if fractions_in.size != 3:
        raise ValueError(f"layer_fractions must hold three numbers, got {layer_fractions!r}")
    intermixing = check_scalar(intermixing, "intermixing", low=0.0)
    roughness = check_scalar(roughness, "roughness", low=0.0)
    try:
        t0, t1 = (check_scalar(t, "thickness", low=0.0, low_inclusive=False) for t in thickness)
    except TypeError:
        raise TypeError(f"thickness must be a pair of positive numbers, got {thickness!r}") from None
    dose = check_scalar(dose, "dose", low=0.0, low_inclusive=False)
    resolution_fwhm = check_scalar(resolution_fwhm, "resolution_fwhm", low=0.0)
    interface_component = check_scalar(interface_component, "interface_component", low=0.0)
    if noise not in ("poisson", None):
        raise ValueError(f"noise must be 'poisson' or None, got {noise!r}")
    rng = check_random_state(random_state)

    energy = e0 + step * np.arange(int(np.floor((e1 - e0) / step + 1e-9)) + 1)
    names = np.array(list(eels.MATERIALS))
    blur = resolution_matrix(energy, resolution_fwhm)
    references = np.stack([eels.reference_spectrum(name, energy) for name in names]) @ blur.T
    references *= dose * step
    # The interface layer: an in-gap transition and a reduced-Mn edge, 3 eV below Mn M2,3.
    gap_state = np.exp(-0.5 * ((energy - 11.0) / 1.2) ** 2)
    shifted_edge = eels.edge_profile(energy, eels.EDGE_ONSETS["Mn M2,3"] - 3.0, delay=6.0, width=2.5)
    interface_spectrum = eels.reference_spectrum("La0.7Sr0.3MnO3", energy) * 0.4
    interface_spectrum += 0.03 * gap_state + 0.01 * shifted_edge
    interface_spectrum = (interface_spectrum / (interface_spectrum.sum() * step)) @ blur.T
    interface_spectrum *= dose * step

    rows = 1 if scan == "line" else ny
    col = np.arange(nx, dtype=float)
    bounds = nx * np.cumsum(fractions_in / fractions_in.sum())[:2] - 0.5
    wander = np.stack([_smooth_profile(rows, max(rows / 6, 1.0), rng) for _ in range(2)], axis=1)
    interfaces = bounds[None, :] + roughness * wander if rows > 1 else np.tile(bounds, (1, 1))
    d1 = col[None, :] - interfaces[:, :1]
    d2 = col[None, :] - interfaces[:, 1:]
    if intermixing > 0:
        past1 = stats.norm.cdf(d1 / intermixing)
        past2 = stats.norm.cdf(d2 / intermixing)
    else:
        past1 = (d1 >= 0).astype(float)
        past2 = (d2 >= 0).astype(float)
    fractions = np.stack([1.0 - past1, past1 - past2, past2], axis=-1)
    fractions = np.clip(fractions, 0.0, None)
    fractions /= fractions.sum(axis=-1, keepdims=True)

    if rows > 1:
        wedge = np.linspace(t0, t1, rows)[:, None]
        variation = ndimage.gaussian_filter(rng.standard_normal((rows, nx)), 4.0, mode="reflect")
        variation /= max(variation.std(), 1e-12)
        t = wedge * (1.0 + 0.04 * variation)
    else:
        t = np.full((1, nx), 0.5 * (t0 + t1))
    coefficients = fractions * t[..., None]
    width = max(intermixing, 0.8)
    interface_coefficient = interface_component * t * np.exp(-0.5 * (d2 / width) ** 2)

    clean = mix(coefficients, references) + interface_coefficient[..., None] * interface_spectrum
    if noise == "poisson":
        cube, _ = add_poisson_noise(clean, random_state=rng)
    else:
        cube = clean.copy()

    if scan == "line":
        cube, clean, coefficients, fractions = cube[0], clean[0], coefficients[0], fractions[0]
        t, interface_coefficient = t[0], interface_coefficient[0]
    params = dict(
        shape=(ny, nx), scan=scan, energy_range=(e0, e1), energy_step=step,
        layer_fractions=tuple(float(f) for f in fractions_in), intermixing=intermixing,
        roughness=roughness, thickness=(t0, t1), dose=dose, resolution_fwhm=resolution_fwhm,
        interface_component=interface_component, noise=noise,
    )
    grid = f"a line scan of {nx} positions" if scan == "line" else f"a {ny} x {nx} area scan"
    descr = (
        f"EELS spectrum image of SrTiO3 / La0.7Sr0.3MnO3 / BiFeO3 ({grid}), {energy.size} channels "
        f"from {energy[0]:g} to {energy[-1]:g} eV, resolution {resolution_fwhm:g} eV; intermixing "
        f"{intermixing:g} px, roughness {roughness:g} px, t/lambda {t0:g}-{t1:g}; interface layer "
        f"{interface_component:g}; {'Poisson noise' if noise else 'no noise'} at dose {dose:g}."
    )
    return Bunch(
        cube=cube, clean=clean, energy=energy, references=references, reference_names=names,
        coefficients=coefficients, fractions=fractions, thickness=t,
        interface_spectrum=interface_spectrum, interface_coefficient=interface_coefficient,
        interfaces=interfaces, noise_variance=clean, params=params, DESCR=descr,
    )


def _lattice_points(shape, a1, a2, origin):
    """Points n a1 + m a2 + origin covering an image of ``shape`` (with a margin)."""
    h, w = shape
    basis = np.array([a1, a2]).T                       # columns a1, a2 in (row, col)
    corners = np.array([[0, 0], [0, w], [h, 0], [h, w]], dtype=float) - origin
    nm = np.linalg.solve(basis, corners.T).T
    lo = np.floor(nm.min(axis=0)) - 2
    hi = np.ceil(nm.max(axis=0)) + 2
    n, m = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1), indexing="ij")
    pts = n.ravel()[:, None] * np.asarray(a1) + m.ravel()[:, None] * np.asarray(a2) + origin
    keep = (pts[:, 0] > -8) & (pts[:, 0] < h + 7) & (pts[:, 1] > -8) & (pts[:, 1] < w + 7)
    return pts[keep], np.stack([n.ravel(), m.ravel()], axis=1)[keep]


def _lattice_vectors(symmetry, spacing, angle_deg):
    t = np.radians(angle_deg)
    if symmetry == "square":
        second = t + np.pi / 2
    elif symmetry == "hexagonal":
        second = t + np.pi / 3
    else:
        raise ValueError(f"symmetry must be 'square' or 'hexagonal', got {symmetry!r}")
    # (row, col) components: angle measured from the +col (x) axis towards +row.
    a1 = spacing * np.array([np.sin(t), np.cos(t)])
    a2 = spacing * np.array([np.sin(second), np.cos(second)])
    return a1, a2


def _render_atoms(shape, positions, weights, atom_size):
    """Gaussian atoms: bilinear splats of the positions, then one Gaussian filter."""
    h, w = shape
    pad = int(np.ceil(4 * atom_size)) + 4       # atoms just outside still shine in
    image = np.zeros((h + 2 * pad, w + 2 * pad))
    r, c = positions[:, 0] + pad, positions[:, 1] + pad
    r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
    fr, fc = r - r0, c - c0
    inside = (r0 >= 0) & (r0 < h + 2 * pad - 1) & (c0 >= 0) & (c0 < w + 2 * pad - 1)
    r0, c0, fr, fc, wt = r0[inside], c0[inside], fr[inside], fc[inside], weights[inside]
    for dr, dc, f in ((0, 0, (1 - fr) * (1 - fc)), (1, 0, fr * (1 - fc)),
                      (0, 1, (1 - fr) * fc), (1, 1, fr * fc)):
        np.add.at(image, (r0 + dr, c0 + dc), wt * f)
    image = ndimage.gaussian_filter(image, atom_size, mode="constant")[pad:-pad, pad:-pad]
    return image * (2 * np.pi * atom_size**2)


def _add_image_noise(clean, noise, level, rng):
    if noise is None:
        return clean.copy()
    if noise == "gaussian":
        return clean + level * clean.std() * rng.standard_normal(clean.shape)
    if noise == "poisson":
        return rng.poisson(np.clip(clean, 0, None) * level).astype(float) / level
    raise ValueError(f"noise must be 'gaussian', 'poisson' or None, got {noise!r}")


#: Default phases of :func:`make_lattice_phases`: symmetry, spacing (px) and orientation (deg).
LATTICE_PHASES = (
    dict(symmetry="square", spacing=8.0, angle=0.0),
    dict(symmetry="hexagonal", spacing=9.0, angle=10.0),
    dict(symmetry="square", spacing=8.0, angle=30.0),
)


def make_lattice_phases(
    shape=(256, 256),
    *,
    phases=LATTICE_PHASES,
    n_grains=6,
    drift=1.5,
    vacancies=0.02,
    defect_lines=2,
    atom_size=1.2,
    noise="gaussian",
    noise_level=0.3,
    random_state=None,
):
    """An atomic-resolution image of several crystalline phases in grains, with its phase map.

    Grains are the Voronoi cells of ``n_grains`` random seeds; each grain holds one of the
    ``phases`` (every phase at least once) — a lattice of given symmetry, spacing and
    orientation, with its own random origin. Atoms are Gaussian; the whole image drifts by a
    smooth random displacement field (as in a slow scan), some atoms are missing (vacancies)
    and ``defect_lines`` straight rows of atoms are removed (extended defects).

    Parameters
    ----------
    shape : (int, int), default=(256, 256)
    phases : sequence of dict, default=LATTICE_PHASES
        Each with ``symmetry`` ("square" or "hexagonal"), ``spacing`` (px) and ``angle`` (deg).
    n_grains : int, default=6
        At least ``len(phases)``.
    drift : float, default=1.5
        Largest displacement (px) of the smooth drift field along each axis.
    vacancies : float, default=0.02
        Fraction of atoms missing at random.
    defect_lines : int, default=2
        Lines along which atoms are missing.
    atom_size : float, default=1.2
        Gaussian width of an atom (px).
    noise : {"gaussian", "poisson", None}, default="gaussian"
    noise_level : float, default=0.3
        Gaussian: standard deviation relative to the clean image's; Poisson: counts per unit
        intensity (the dose).
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    data : sklearn.utils.Bunch
        ``image``, ``clean``, ``phase_map`` (int per pixel), ``grain_map``, ``atoms`` (n, 2)
        positions, ``atom_phase`` (n,), ``phases``, ``displacement`` (2, h, w), ``params``,
        ``DESCR``.

    Examples
    --------
    >>> data = make_lattice_phases((128, 128), random_state=0)
    >>> data.image.shape, sorted(np.unique(data.phase_map).tolist())
    ((128, 128), [0, 1, 2])
    """
    h, w = check_shape2(shape)
    phases = list(phases)
    if not phases:
        raise ValueError("phases must hold at least one phase")
    for ph in phases:
        if not {"symmetry", "spacing", "angle"} <= set(ph):
            raise ValueError(f"each phase needs symmetry, spacing and angle, got {ph!r}")
        check_scalar(ph["spacing"], "spacing", low=2.0)
    n_grains = check_scalar(n_grains, "n_grains", low=len(phases), integer=True)
    drift = check_scalar(drift, "drift", low=0.0)
    vacancies = check_scalar(vacancies, "vacancies", low=0.0, high=1.0, high_inclusive=False)
    defect_lines = check_scalar(defect_lines, "defect_lines", low=0, integer=True)
    atom_size = check_scalar(atom_size, "atom_size", low=0.0, low_inclusive=False)
    noise_level = check_scalar(noise_level, "noise_level", low=0.0)
    rng = check_random_state(random_state)

    rr, cc = np.mgrid[:h, :w]
    for _ in range(100):
        seeds = rng.uniform([0, 0], [h, w], size=(n_grains, 2))
        d2 = (rr[..., None] - seeds[:, 0]) ** 2 + (cc[..., None] - seeds[:, 1]) ** 2
        grain_map = np.argmin(d2, axis=-1)
        sizes = np.bincount(grain_map.ravel(), minlength=n_grains)
        if np.count_nonzero(sizes) >= len(phases):   # (on tiny images a cell can be empty)
            break
    else:
        raise ValueError(f"a {h} x {w} image is too small for {len(phases)} phases in "
                         f"{n_grains} grains; use a larger image")
    # Every phase goes to one of the largest grains (in random order), so each is present;
    # the other grains get random phases.
    assignment = rng.integers(0, len(phases), n_grains)
    assignment[np.argsort(-sizes, kind="stable")[:len(phases)]] = rng.permutation(len(phases))
    phase_map = assignment[grain_map]

    field = ndimage.gaussian_filter(rng.standard_normal((2, h, w)), (0, h / 4, w / 4), mode="reflect")
    scale = np.abs(field).max()
    displacement = field / scale * drift if scale > 0 else field

    positions, labels = [], []
    for k, ph in enumerate(phases):
        a1, a2 = _lattice_vectors(ph["symmetry"], float(ph["spacing"]), float(ph["angle"]))
        pts, _ = _lattice_points((h, w), a1, a2, rng.uniform(0, 1, 2) * float(ph["spacing"]))
        ri = np.clip(np.rint(pts[:, 0]).astype(int), 0, h - 1)
        ci = np.clip(np.rint(pts[:, 1]).astype(int), 0, w - 1)
        pts = pts[phase_map[ri, ci] == k]
        positions.append(pts)
        labels.append(np.full(len(pts), k))
    positions = np.concatenate(positions)
    labels = np.concatenate(labels)
    keep = rng.uniform(size=len(positions)) >= vacancies
    for _ in range(defect_lines):
        point = rng.uniform([0, 0], [h, w])
        angle = rng.uniform(0, np.pi)
        normal = np.array([np.cos(angle), -np.sin(angle)])
        keep &= np.abs((positions - point) @ normal) > 1.5
    positions, labels = positions[keep], labels[keep]
    ri = np.clip(np.rint(positions[:, 0]).astype(int), 0, h - 1)
    ci = np.clip(np.rint(positions[:, 1]).astype(int), 0, w - 1)
    moved = positions + displacement[:, ri, ci].T
    clean = _render_atoms((h, w), moved, np.ones(len(moved)), atom_size)
    image = _add_image_noise(clean, noise, noise_level, rng)
    params = dict(shape=(h, w), phases=phases, n_grains=n_grains, drift=drift, vacancies=vacancies,
                  defect_lines=defect_lines, atom_size=atom_size, noise=noise,
                  noise_level=noise_level)
    names = ", ".join(f"{p['symmetry']} {p['spacing']:g} px at {p['angle']:g} deg" for p in phases)
    descr = (f"Atomic lattice image {h} x {w}: {n_grains} grains of {len(phases)} phases ({names}); "
             f"drift {drift:g} px, vacancies {vacancies:g}, {defect_lines} defect lines, "
             f"{noise or 'no'} noise {noise_level:g}.")
    return Bunch(image=image, clean=clean, phase_map=phase_map, grain_map=grain_map, atoms=moved,
                 atom_phase=labels, phases=phases, displacement=displacement, params=params,
                 DESCR=descr)


#: Region labels of :func:`make_charge_order`.
CHARGE_ORDERS = ("none", "hexagonal", "dimer")


def make_charge_order(
    shape=(256, 256),
    *,
    spacing=6.0,
    angle=0.0,
    amplitude=0.35,
    orders=("hexagonal", "dimer"),
    length_scale=40.0,
    atom_size=1.0,
    noise="gaussian",
    noise_level=0.2,
    random_state=None,
):
    """A hexagonal lattice whose regions carry different superlattices (charge orders).

    Atom intensities are modulated by waves at half the Bragg vectors, Q_i = G_i / 2 (the M
    points): with all three Q_i a hexagonal 2 × 2 superlattice, whose Fourier transform adds an
    inner hexagon of six spots; with only Q_1 and Q_2 a dimer-like superlattice, in which two of
    the six inner spots (±Q_3) are missing — the situation of the α-RuCl₃ example in the
    lecture. Regions come from a smooth random field, split into the requested orders.

    Parameters
    ----------
    shape : (int, int), default=(256, 256)
    spacing : float, default=6.0
        Atom spacing (px).
    angle : float, default=0.0
        Orientation of the lattice (deg).
    amplitude : float, default=0.35
        Relative modulation of the atom intensities by each wave.
    orders : sequence of {"none", "hexagonal", "dimer"}, default=("hexagonal", "dimer")
        The orders present, one region label each (in this order).
    length_scale : float, default=40.0
        Size of the regions (px).
    atom_size, noise, noise_level, random_state
        As in :func:`make_lattice_phases`.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``image``, ``clean``, ``region_map`` (index into ``orders`` per pixel), ``orders``,
        ``bragg`` (3, 2) and ``q`` (3, 2) reciprocal vectors (row, col) in cycles per pixel,
        ``suppressed`` (index of the Q missing in the dimer order), ``atoms``, ``params``,
        ``DESCR``.

    Examples
    --------
    >>> data = make_charge_order((128, 128), random_state=0)
    >>> data.image.shape, data.orders, int(data.suppressed)
    ((128, 128), ('hexagonal', 'dimer'), 2)
    """
    h, w = check_shape2(shape)
    spacing = check_scalar(spacing, "spacing", low=2.0)
    angle = check_scalar(angle, "angle")
    amplitude = check_scalar(amplitude, "amplitude", low=0.0, high=1.0)
    orders = tuple(orders)
    if not orders or any(o not in CHARGE_ORDERS for o in orders):
        raise ValueError(f"orders must be a non-empty sequence of {CHARGE_ORDERS}, got {orders!r}")
    length_scale = check_scalar(length_scale, "length_scale", low=0.0, low_inclusive=False)
    atom_size = check_scalar(atom_size, "atom_size", low=0.0, low_inclusive=False)
    noise_level = check_scalar(noise_level, "noise_level", low=0.0)
    rng = check_random_state(random_state)

    a1, a2 = _lattice_vectors("hexagonal", spacing, angle)
    origin = rng.uniform(0, 1, 2) * spacing
    atoms, _ = _lattice_points((h, w), a1, a2, origin)
    # Reciprocal vectors (cycles per pixel): b_i · a_j = δ_ij. With a1, a2 at 60°, b1 and b2
    # are at 120°, and the three Bragg vectors of the first hexagon are b1, b2 and b1 + b2.
    B = np.linalg.inv(np.array([a1, a2])).T            # rows b1, b2 in (row, col)
    bragg = np.array([B[0], B[1], B[0] + B[1]])
    q = bragg / 2

    field = ndimage.gaussian_filter(rng.standard_normal((h, w)), length_scale / 2, mode="reflect")
    quantiles = np.quantile(field, np.linspace(0, 1, len(orders) + 1)[1:-1])
    region_map = np.searchsorted(quantiles, field)
    ri = np.clip(np.rint(atoms[:, 0]).astype(int), 0, h - 1)
    ci = np.clip(np.rint(atoms[:, 1]).astype(int), 0, w - 1)
    region = region_map[ri, ci]
    waves = np.cos(2 * np.pi * (atoms - origin) @ q.T)   # (n_atoms, 3): ±1 on the 2 × 2 lattice
    active = {"none": [], "hexagonal": [0, 1, 2], "dimer": [0, 1]}
    weights = np.ones(len(atoms))
    for k, order in enumerate(orders):
        sel = region == k
        if active[order]:
            weights[sel] += amplitude * waves[sel][:, active[order]].sum(axis=1)
    weights = np.clip(weights, 0.05, None)
    clean = _render_atoms((h, w), atoms, weights, atom_size)
    image = _add_image_noise(clean, noise, noise_level, rng)
    params = dict(shape=(h, w), spacing=spacing, angle=angle, amplitude=amplitude, orders=orders,
                  length_scale=length_scale, atom_size=atom_size, noise=noise,
                  noise_level=noise_level)
    descr = (f"Hexagonal lattice {h} x {w}, spacing {spacing:g} px, with charge-order regions "
             f"{', '.join(orders)} (modulation {amplitude:g}); {noise or 'no'} noise "
             f"{noise_level:g}.")
    return Bunch(image=image, clean=clean, region_map=region_map, orders=orders, bragg=bragg, q=q,
                 suppressed=2, atoms=atoms, params=params, DESCR=descr)


# Named datasets: how each is made, and the SHA-256 of its committed arrays in data/.
DATASETS = {
    "mixture": dict(
        maker=make_mixture,
        kwargs=dict(n_components=3, shape=(48, 48), n_channels=128, noise="gaussian", snr_db=25.0,
                    random_state=20240901),
        fields=("cube", "energy", "endmembers", "abundances", "noise_variance", "pure_pixels"),
        sha256="54adadb05cb13369899a1c7855e0f43a01e276efe08c38eef206fdb3017c3c8a",
    ),
}


def _checksum(arrays):
    digest = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        digest.update(key.encode())
        digest.update(str(arr.dtype).encode() + str(arr.shape).encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _data_dir():
    """``data/`` of the course checkout lectlib runs from, or None when installed elsewhere."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "data").is_dir():
        return root / "data"
    return None


def _generate(name):
    spec = DATASETS[name]
    made = spec["maker"](**spec["kwargs"])
    return {key: made[key] for key in spec["fields"]}


def _finish(name, arrays, source):
    spec = DATASETS[name]
    data = Bunch(**arrays)
    if "noise_variance" in data and np.ndim(data.noise_variance) == 0:
        data.noise_variance = float(data.noise_variance)
    if "abundances" in data and "endmembers" in data:
        data.clean = mix(data.abundances, data.endmembers)
    data.source = source
    data.DESCR = (
        f"Dataset {name!r}: {spec['maker'].__name__}("
        + ", ".join(f"{k}={v!r}" for k, v in spec["kwargs"].items())
        + ")"
    )
    return data


def load(name, *, source="auto"):
    """A named dataset of the course, identical on every machine.

    Parameters
    ----------
    name : str
        One of ``lectlib.datasets.DATASETS``.
    source : {"auto", "file", "generate"}, default="auto"
        ``"file"`` reads ``data/<name>.npz`` of the course checkout (and verifies its checksum);
        ``"generate"`` recomputes the arrays with the recorded ``make_*`` call; ``"auto"`` reads
        the file when lectlib runs from a checkout and generates otherwise (Colab, pip install).

    Returns
    -------
    data : sklearn.utils.Bunch
        The dataset's arrays (for ``"mixture"``: ``cube``, ``energy``, ``endmembers``,
        ``abundances``, ``noise_variance``, ``pure_pixels``, as :func:`make_mixture` names
        them), plus ``clean`` where it follows from them, ``source`` (the file read, or
        ``"generated"``) and ``DESCR``.

    Examples
    --------
    >>> from lectlib.datasets import load
    >>> data = load("mixture")
    >>> data.cube.shape
    (48, 48, 128)
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {sorted(DATASETS)}")
    if source not in ("auto", "file", "generate"):
        raise ValueError(f"source must be 'auto', 'file' or 'generate', got {source!r}")
    directory = _data_dir()
    if source == "generate" or (source == "auto" and directory is None):
        return _finish(name, _generate(name), "generated")
    if directory is None:
        raise FileNotFoundError(
            "source='file' needs lectlib to run from a course checkout with a data/ folder"
        )
    path = directory / f"{name}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; recreate it with lectlib.datasets.export({name!r})")
    with np.load(path, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    expected = DATASETS[name]["sha256"]
    if _checksum(arrays) != expected:
        raise ValueError(
            f"{path} does not match its recorded checksum: the file was modified or damaged. "
            f"Restore it from the repository (git checkout -- data/{name}.npz), or use "
            f"load({name!r}, source='generate')"
        )
    return _finish(name, arrays, str(path))


def export(name, directory=None):
    """Write dataset ``name`` to ``<directory>/<name>.npz`` and return its path and checksum.

    ``directory`` defaults to the checkout's ``data/``. The file is a plain NumPy ``.npz``
    (no pickled objects), readable by ``numpy.load`` in any tool. For maintainers: after
    changing how a dataset is made, export it and record the returned checksum in
    :data:`DATASETS`. (Regeneration on another CPU or NumPy build can differ in the last bit
    of a float, so the checksum guards the committed file, and the test suite compares that
    file with a fresh regeneration to a relative 1e-12.)
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {sorted(DATASETS)}")
    directory = Path(directory) if directory is not None else _data_dir()
    if directory is None:
        raise FileNotFoundError("no data/ folder found; pass directory=")
    arrays = _generate(name)
    path = Path(directory) / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    return path, _checksum(arrays)
