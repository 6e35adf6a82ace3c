"""An EELS spectrum image of an oxide heterostructure, from physics,
with its ground truth.

The references of each layer come from :mod:`lectlib.eels` (a Drude–Lorentz energy-loss
function and core edges at their tabulated onsets); the layer fractions, the thickness
wedge and an extra interface layer make the coefficients that multiple linear regression
should recover.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, stats
from sklearn.utils import Bunch

from ..eels import EDGE_ONSETS, MATERIALS, edge_profile, reference_spectrum
from .._validation import (
    check_option,
    check_pair,
    check_random_state,
    check_scalar,
    check_shape2,
    check_size,
)
from ..mixing import add_poisson_noise, broaden, mix

__all__ = ["make_eels_interface"]


def _smooth_profile(n, length_scale, rng):
    """A smooth random profile of ``n`` values with zero mean and
    unit standard deviation."""
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

    The lecture's example of regression with known references (Borisevich et al. 2010).
    The layers are stacked along the columns (growth direction, x): substrate SrTiO₃ on
    the left, then La₀.₇Sr₀.₃MnO₃, then BiFeO₃. Each layer's reference spectrum is built
    from physics by :func:`lectlib.eels.reference_spectrum`: the energy-loss function of
    a Drude–Lorentz dielectric function with the free-electron plasmon energy of the
    layer (23.6, 25.6 and 26.2 eV) and the shallow core edges at their tabulated onsets
    (Ti M₂,₃ 35 eV, Mn M₂,₃ 51 eV, Fe M₂,₃ 57 eV, La N₄,₅ 99 eV;
    :data:`lectlib.eels.EDGE_ONSETS`), broadened by the instrument resolution.

    Each pixel's spectrum is ``Σ_i c_i(x) w_i(E)`` with coefficient ``c_i`` = (fraction
    of layer i in the column) × (local thickness t/λ): interfaces are error-function
    profiles of width ``intermixing`` whose position wanders along the rows by
    ``roughness``, and the thickness is a wedge across the rows with a gentle random
    variation. Optionally a thin interface layer at the La₀.₇Sr₀.₃MnO₃/BiFeO₃ interface
    adds a spectrum that is in none of the references (an in-gap interband transition
    near 11 eV and a Mn M₂,₃ edge shifted 3 eV down, as for reduced Mn), so that
    residual and χ² maps can find it. Counts are Poisson.

    Parameters
    ----------
    shape : (ny, nx), default=(32, 48)
        Scan grid. For ``scan="line"`` only ``nx`` is used.
    scan : {"area", "line"}, default="area"
        An area scan gives a cube ``(ny, nx, n_channels)``; a line scan across the
        interfaces (along x, at the middle of the thickness wedge) gives
        ``(nx, n_channels)``.
    energy_range : (float, float), default=(5.0, 125.0)
        First and last energy loss in eV (positive).
    energy_step : float, default=0.5
        Channel width in eV.
    layer_fractions : three floats, default=(0.34, 0.32, 0.34)
        Share of the scan width taken by each layer (normalized to sum to one).
    intermixing : float, default=1.5
        Width (px) of the error-function intermixing profile at each interface;
        0 for abrupt.
    roughness : float, default=1.0
        Standard deviation (px) of the interface position along the rows.
    thickness : (float, float), default=(0.45, 0.75)
        t/λ at the first and last row of the wedge.
    dose : float, default=2e4
        Expected counts in the spectrum of a pure layer of t/λ = 1 (the sum over the
        channels of each reference spectrum).
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
        (3, n_channels) expected counts of each pure layer at t/λ = 1,
        ``reference_names``, ``coefficients`` (grid + (3,)) the true regression
        coefficients, ``fractions`` (grid + (3,)) the layer fractions, ``thickness``
        (grid) t/λ, ``interface_spectrum`` (n_channels,) and ``interface_coefficient``
        (grid) of the extra interface layer, ``interfaces`` (grid rows, 2) the column
        positions of the two interfaces, ``noise_variance`` (the expected counts:
        Poisson variance), ``params``, ``DESCR``.

    See Also
    --------
    lectlib.datasets.make_mixture : random endmembers and Dirichlet abundances, not
        physics.
    lectlib.eels.reference_spectrum : one layer's spectrum, the references here before
        scaling.
    lectlib.mixing.resolution_matrix : the instrument broadening applied to every
        spectrum.

    Notes
    -----
    The geometry follows the heterostructure of Borisevich et al. (2010). The references
    are :func:`lectlib.eels.reference_spectrum` (unit area), broadened by a Gaussian of
    FWHM ``resolution_fwhm`` and scaled by ``dose × energy_step``. Along a row the layer
    fractions are differences of normal CDFs centered on the two interfaces. In an area
    scan each interface sits at its nominal column plus ``roughness`` times a smooth
    random profile of unit standard deviation, and the thickness is a linear wedge times
    ``1 + 0.04 v``, with ``v`` smoothed noise of unit standard deviation. The interface
    layer's coefficient is ``interface_component × t`` times a Gaussian of width
    ``max(intermixing, 0.8)`` px about the second interface. Counts are
    :func:`lectlib.mixing.add_poisson_noise` of the expected counts ``clean``.

    References
    ----------
    A. Y. Borisevich et al., Phys. Rev. Lett. 105, 087204 (2010).

    Examples
    --------
    >>> from lectlib.datasets import make_eels_interface
    >>> data = make_eels_interface(random_state=0)
    >>> data.cube.shape, data.references.shape, data.reference_names.tolist()
    ((32, 48, 241), (3, 241), ['SrTiO3', 'La0.7Sr0.3MnO3', 'BiFeO3'])
    >>> line = make_eels_interface(shape=(1, 60), scan="line", random_state=0)
    >>> line.cube.shape, line.coefficients.shape
    ((60, 241), (60, 3))
    """
    ny, nx = check_shape2(shape)
    check_option(scan, "scan", ("area", "line"))
    e0, e1 = check_pair(
        energy_range,
        "energy_range",
        low=0.0,
        low_inclusive=False,
        increasing=True,
        labels="(first, last) in eV",
    )
    step = check_scalar(energy_step, "energy_step", low=0.0, low_inclusive=False)
    if (e1 - e0) / step < 2:
        raise ValueError(
            f"energy_step {step:g} eV leaves fewer than 3 channels in {energy_range!r}"
        )
    n_channels = int(np.floor((e1 - e0) / step + 1e-9)) + 1
    check_size(ny * nx * n_channels, "the spectrum image")
    try:
        fractions_in = np.array(
            [
                check_scalar(f, "layer_fractions", low=0.0, low_inclusive=False)
                for f in layer_fractions
            ]
        )
    except TypeError:
        raise TypeError(
            f"layer_fractions must be three positive numbers, got {layer_fractions!r}"
        ) from None
    if fractions_in.size != 3:
        raise ValueError(
            f"layer_fractions must hold three numbers, got {layer_fractions!r}"
        )
    intermixing = check_scalar(intermixing, "intermixing", low=0.0)
    roughness = check_scalar(roughness, "roughness", low=0.0)
    t0, t1 = check_pair(
        thickness,
        "thickness",
        low=0.0,
        low_inclusive=False,
        labels="(first row, last row)",
    )
    dose = check_scalar(dose, "dose", low=0.0, low_inclusive=False)
    resolution_fwhm = check_scalar(resolution_fwhm, "resolution_fwhm", low=0.0)
    interface_component = check_scalar(
        interface_component, "interface_component", low=0.0
    )
    check_option(noise, "noise", ("poisson", None))
    rng = check_random_state(random_state)

    energy = e0 + step * np.arange(n_channels)
    names = np.array(list(MATERIALS))
    references = broaden(
        np.stack([reference_spectrum(name, energy) for name in names]),
        energy,
        resolution_fwhm,
    )
    references *= dose * step
    # The interface layer: an in-gap transition and a reduced-Mn edge,
    # 3 eV below Mn M2,3.
    gap_state = np.exp(-0.5 * ((energy - 11.0) / 1.2) ** 2)
    shifted_edge = edge_profile(
        energy, EDGE_ONSETS["Mn M2,3"] - 3.0, delay=6.0, width=2.5
    )
    interface_spectrum = reference_spectrum("La0.7Sr0.3MnO3", energy) * 0.4
    interface_spectrum += 0.03 * gap_state + 0.01 * shifted_edge
    interface_spectrum = broaden(
        interface_spectrum / (interface_spectrum.sum() * step), energy, resolution_fwhm
    )
    interface_spectrum *= dose * step

    rows = 1 if scan == "line" else ny
    col = np.arange(nx, dtype=float)
    bounds = nx * np.cumsum(fractions_in / fractions_in.sum())[:2] - 0.5
    wander = np.stack(
        [_smooth_profile(rows, max(rows / 6, 1.0), rng) for _ in range(2)], axis=1
    )
    interfaces = (
        bounds[None, :] + roughness * wander if rows > 1 else np.tile(bounds, (1, 1))
    )
    d1 = col[None, :] - interfaces[:, :1]
    d2 = col[None, :] - interfaces[:, 1:]
    if intermixing > 1e-6:  # (narrower than a millionth of a pixel is abrupt)
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
        variation = ndimage.gaussian_filter(
            rng.standard_normal((rows, nx)), 4.0, mode="reflect"
        )
        # Zero mean and unit spread, so that the wedge is the mean thickness on any grid
        # (on a small one the smoothed field is nearly constant: dividing by its tiny
        # spread without removing that constant would swing the thickness by hundreds of
        # percent).
        variation -= variation.mean()
        variation /= max(variation.std(), 1e-12)
        t = wedge * (1.0 + 0.04 * variation)
    else:
        t = np.full((1, nx), 0.5 * (t0 + t1))
    coefficients = fractions * t[..., None]
    width = max(intermixing, 0.8)
    interface_coefficient = interface_component * t * np.exp(-0.5 * (d2 / width) ** 2)

    clean = (
        mix(coefficients, references)
        + interface_coefficient[..., None] * interface_spectrum
    )
    if noise == "poisson":
        cube, _ = add_poisson_noise(clean, random_state=rng)
    else:
        cube = clean.copy()

    if scan == "line":
        cube, clean, coefficients, fractions = (
            cube[0],
            clean[0],
            coefficients[0],
            fractions[0],
        )
        t, interface_coefficient = t[0], interface_coefficient[0]
    params = dict(
        shape=(ny, nx),
        scan=scan,
        energy_range=(e0, e1),
        energy_step=step,
        layer_fractions=tuple(float(f) for f in fractions_in),
        intermixing=intermixing,
        roughness=roughness,
        thickness=(t0, t1),
        dose=dose,
        resolution_fwhm=resolution_fwhm,
        interface_component=interface_component,
        noise=noise,
    )
    grid = (
        f"a line scan of {nx} positions"
        if scan == "line"
        else f"a {ny} x {nx} area scan"
    )
    descr = (
        f"EELS spectrum image of SrTiO3 / La0.7Sr0.3MnO3 / BiFeO3 ({grid}), "
        f"{energy.size} channels from {energy[0]:g} to {energy[-1]:g} eV, resolution "
        f"{resolution_fwhm:g} eV; intermixing {intermixing:g} px, roughness "
        f"{roughness:g} px, t/lambda {t0:g}-{t1:g}; interface layer "
        f"{interface_component:g}; {'Poisson noise' if noise else 'no noise'} at dose "
        f"{dose:g}."
    )
    return Bunch(
        cube=cube,
        clean=clean,
        energy=energy,
        references=references,
        reference_names=names,
        coefficients=coefficients,
        fractions=fractions,
        thickness=t,
        interface_spectrum=interface_spectrum,
        interface_coefficient=interface_coefficient,
        interfaces=interfaces,
        noise_variance=clean,
        params=params,
        DESCR=descr,
    )
