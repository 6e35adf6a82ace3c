"""An EELS spectrum image of an oxide heterostructure, from physics,
with its ground truth.

The references of each layer come from :mod:`lectlib.eels` (a Drude–Lorentz energy-loss
function and core edges at their tabulated onsets); the layer fractions, the thickness
wedge and an extra interface layer make the coefficients that multiple linear regression
should recover. Options add what a thick specimen and a real instrument add: the
zero-loss peak and plural scattering, the delocalization of low-loss scattering over
the scan, and a detector with gain, point-spread and read noise.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, stats
from sklearn.utils import Bunch

from ..eels import (
    EDGE_ONSETS,
    EDGE_SHAPES,
    MATERIALS,
    delocalization_length,
    edge_profile,
    plural_scattering,
    reference_spectrum,
)
from .._validation import (
    check_option,
    check_pair,
    check_random_state,
    check_scalar,
    check_shape2,
    check_size,
)
from ..mixing import _psf_kernel, add_detector_noise, broaden, mix

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


def _delocalize(cube, energy, pixel_size, beam_energy):
    """Blur each energy channel of ``cube`` (rows, cols, channels) over the scan by a
    Gaussian whose FWHM is the delocalization length d50(E) at that channel (channels
    at or below 0 eV are left alone). Reflecting boundaries; one DCT per axis, so
    every channel gets its own width at the cost of two transforms."""
    from scipy import fft

    sigma = np.zeros(energy.size)
    losses = energy > 0
    with np.errstate(over="ignore"):  # (a sub-atomic pixel: every channel is uniform)
        sigma[losses] = np.minimum(
            delocalization_length(energy[losses], beam_energy)
            / pixel_size
            / 2.3548200450,
            1e8,  # px: far wider than any scan, and its square stays finite
        )
    rows, cols = cube.shape[:2]
    wy = np.pi * np.arange(rows) / rows
    wx = np.pi * np.arange(cols) / cols
    # exp(-σ² ω² / 2), the transfer function of the Gaussian, per channel
    factor = np.exp(
        -0.5
        * sigma[None, None, :] ** 2
        * (wy[:, None, None] ** 2 + wx[None, :, None] ** 2)
    )
    spectrum = fft.dctn(cube, type=2, axes=(0, 1), norm="ortho")
    return fft.idctn(spectrum * factor, type=2, axes=(0, 1), norm="ortho")


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
    scattering="single",
    delocalization=False,
    pixel_size=0.4,
    beam_energy=200.0,
    gain=1.0,
    psf_sigma=0.0,
    read_noise=0.0,
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
    scattering : {"single", "plural"}, default="single"
        ``"single"``: each spectrum is ``Σ c_i w_i`` as above (single scattering, no
        zero-loss peak). ``"plural"``: the zero-loss peak and every order of
        inelastic scattering (:func:`lectlib.eels.plural_scattering`, Poisson in the
        number of events); ``energy_range`` must then start below 0 eV with a channel
        at 0 eV (e.g. ``(-5.0, 125.0)``), and ``dose`` is the total number of electrons
        per pixel.
    delocalization : bool, default=False
        Blur each energy channel over the scan by the delocalization length of
        inelastic scattering at that loss (:func:`lectlib.eels.delocalization_length`,
        a Gaussian of FWHM d₅₀(E)): low losses see broader interfaces than core losses.
        ``coefficients`` stay the undelocalized truth.
    pixel_size : float, default=0.4
        Scan step in nm (> 0), for the delocalization.
    beam_energy : float, default=200.0
        Incident energy in keV (> 0), for the delocalization.
    gain, psf_sigma, read_noise : float, default=1.0, 0.0, 0.0
        Detector: counts per electron, point-spread along the energy axis (channels)
        and Gaussian read noise (counts), as in
        :func:`lectlib.mixing.add_detector_noise`. The defaults are an ideal counting
        detector.
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
        positions of the two interfaces, ``noise_variance`` (the variance of each
        count: the expected counts for an ideal counting detector), ``params``,
        ``DESCR``. With ``scattering="plural"`` also ``single`` (same shape as the
        cube): the expected single-scattering counts ``I_0 · (Σ c_i w_i + interface)``
        (broadened by the resolution), the target of Fourier-log deconvolution;
        ``zero_loss`` (grid): the expected zero-loss counts ``I_0``; and
        ``t_over_lambda`` (grid): the total t/λ, ``thickness`` plus the interface
        layer's coefficient, what the log-ratio method measures.

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
    :func:`lectlib.mixing.add_detector_noise` of the expected electrons (Poisson
    counts for the default detector), and ``clean`` is their mean in counts (``gain``
    times the electrons, spread by the point-spread).

    With ``scattering="plural"`` a pixel's single-scattering distribution is
    ``X(E) = Σ c_i S_i(E) + c_int S_int(E)`` (unit-area spectra per eV, zero at and
    below 0 eV), its area is the total ``t/λ = τ``, and its spectrum is ``dose ×
    plural_scattering(X / τ, τ)`` per eV, with a zero-loss peak of FWHM
    ``resolution_fwhm``: so ``I_0 = dose e^{−τ}`` and single scattering is
    ``e^{−τ}`` times the single-scattering cube. The references stay the
    single-scattering counts of each layer at t/λ = 1 and dose ``dose``.

    The low-loss part is a stand-in: the model's plasmons are free-electron values
    with illustrative interband terms (compare
    :data:`lectlib.eels.MEASURED_LOW_LOSS`), and the semicore Sr N₂,₃ (~20 eV) and
    La O₂,₃ (~17–20 eV) excitations are missing, as are surface and interface
    plasmons, which would raise χ² at every interface.

    References
    ----------
    A. Y. Borisevich et al., Phys. Rev. Lett. 105, 087204 (2010). R. F. Egerton,
    Ultramicroscopy 107, 575 (2007) (delocalization).

    Examples
    --------
    >>> from lectlib.datasets import make_eels_interface
    >>> data = make_eels_interface(random_state=0)
    >>> data.cube.shape, data.references.shape, data.reference_names.tolist()
    ((32, 48, 241), (3, 241), ['SrTiO3', 'La0.7Sr0.3MnO3', 'BiFeO3'])
    >>> line = make_eels_interface(shape=(1, 60), scan="line", random_state=0)
    >>> line.cube.shape, line.coefficients.shape
    ((60, 241), (60, 3))
    >>> thick = make_eels_interface(
    ...     scattering="plural", energy_range=(-5.0, 125.0), random_state=0
    ... )
    >>> thick.cube.shape, thick.single.shape, thick.zero_loss.shape
    ((32, 48, 261), (32, 48, 261), (32, 48))
    """
    ny, nx = check_shape2(shape)
    check_option(scan, "scan", ("area", "line"))
    check_option(scattering, "scattering", ("single", "plural"))
    plural = scattering == "plural"
    e0, e1 = check_pair(
        energy_range,
        "energy_range",
        low=None if plural else 0.0,
        low_inclusive=False,
        increasing=True,
        labels="(first, last) in eV",
    )
    step = check_scalar(energy_step, "energy_step", low=0.0, low_inclusive=False)
    if (e1 - e0) / step < 2:
        raise ValueError(
            f"energy_step {step:g} eV leaves fewer than 3 channels in {energy_range!r}"
        )
    if plural:
        zero_at = -e0 / step
        if e0 >= 0 or e1 <= 0 or abs(zero_at - round(zero_at)) > 1e-6:
            raise ValueError(
                'scattering="plural" needs the zero-loss peak on the axis: '
                "energy_range must start below 0 eV and have a channel at 0 eV, "
                f"e.g. (-5.0, 125.0); got {energy_range!r} in steps of {step:g} eV"
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
    if not isinstance(delocalization, (bool, np.bool_)):
        raise TypeError(f"delocalization must be True or False, got {delocalization!r}")
    delocalization = bool(delocalization)
    pixel_size = check_scalar(pixel_size, "pixel_size", low=0.0, low_inclusive=False)
    beam_energy = check_scalar(beam_energy, "beam_energy", low=0.0, low_inclusive=False)
    if beam_energy > 1e7:
        raise ValueError(f"beam_energy is in keV; {beam_energy:g} is not a microscope")
    gain = check_scalar(gain, "gain", low=0.0, low_inclusive=False)
    psf_sigma = check_scalar(psf_sigma, "psf_sigma", low=0.0)
    read_noise = check_scalar(read_noise, "read_noise", low=0.0)
    if psf_sigma > 1e6:
        raise ValueError(f"psf_sigma is in channels; {psf_sigma:g} is too wide")
    rng = check_random_state(random_state)

    energy = e0 + step * np.arange(n_channels)
    if plural:
        energy[int(round(-e0 / step))] = 0.0  # exactly, not to rounding
    losses = energy > 0  # every channel in single scattering
    names = np.array(list(MATERIALS))
    # unit-area single-scattering spectra per eV, zero at and below 0 eV
    sharp = np.zeros((3, n_channels))
    sharp[:, losses] = np.stack(
        [reference_spectrum(name, energy[losses]) for name in names]
    )
    references = broaden(sharp, energy, resolution_fwhm) * (dose * step)
    # The interface layer: an in-gap transition and a reduced-Mn edge,
    # 3 eV below Mn M2,3.
    e_loss = energy[losses]
    gap_state = np.exp(-0.5 * ((e_loss - 11.0) / 1.2) ** 2)
    mn = EDGE_SHAPES["Mn M2,3"]  # the whole Mn edge shape, moved 3 eV down
    shifted_edge = edge_profile(
        e_loss,
        EDGE_ONSETS["Mn M2,3"] - 3.0,
        delay=mn["delay"],
        width=mn["width"],
        decay=mn["decay"],
    )
    interface_sharp = np.zeros(n_channels)
    interface_sharp[losses] = reference_spectrum("La0.7Sr0.3MnO3", e_loss) * 0.4
    interface_sharp[losses] += 0.03 * gap_state + 0.01 * shifted_edge
    interface_sharp /= interface_sharp.sum() * step
    interface_spectrum = broaden(interface_sharp, energy, resolution_fwhm)
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

    extra = {}
    if plural or delocalization:
        # the single-scattering distribution X(E) per eV of every pixel
        x = mix(coefficients, sharp) + interface_coefficient[..., None] * (
            interface_sharp
        )
        if delocalization:
            x = np.clip(_delocalize(x, energy, pixel_size, beam_energy), 0.0, None)
            x[..., ~losses] = 0.0
        if plural:
            tau = x.sum(axis=-1) * step
            if resolution_fwhm > 0:
                spectra = plural_scattering(
                    x, energy, tau, resolution_fwhm=resolution_fwhm
                )
            else:  # a zero-loss peak one channel wide
                delta = (np.abs(energy) < 0.5 * step).astype(float)
                spectra = plural_scattering(x, energy, tau, zero_loss=delta)
            clean = np.clip(spectra, 0.0, None) * (dose * step)
            i0 = dose * np.exp(-tau)
            extra = dict(
                single=broaden(x, energy, resolution_fwhm)
                * (dose * step)
                * np.exp(-tau)[..., None],
                zero_loss=i0,
                t_over_lambda=tau,
            )
        else:
            clean = broaden(x, energy, resolution_fwhm) * (dose * step)
    else:
        clean = (
            mix(coefficients, references)
            + interface_coefficient[..., None] * interface_spectrum
        )
    if noise == "poisson":
        cube, variance = add_detector_noise(
            clean,
            gain=gain,
            psf_sigma=psf_sigma,
            read_noise=read_noise,
            random_state=rng,
        )
    else:
        cube = None
        variance = clean.copy()
        if psf_sigma > 0:
            variance = ndimage.correlate1d(
                variance, _psf_kernel(psf_sigma) ** 2, axis=-1, mode="constant"
            )
        variance = variance * gain**2 + read_noise**2
    if gain != 1.0 or psf_sigma > 0:  # the mean counts the detector records
        if psf_sigma > 0:
            clean = ndimage.correlate1d(
                clean, _psf_kernel(psf_sigma), axis=-1, mode="constant"
            )
        clean = clean * gain
    if cube is None:
        cube = clean.copy()

    if scan == "line":
        cube, clean, coefficients, fractions = (
            cube[0],
            clean[0],
            coefficients[0],
            fractions[0],
        )
        t, interface_coefficient = t[0], interface_coefficient[0]
        variance = variance[0]
        extra = {key: value[0] for key, value in extra.items()}
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
        scattering=scattering,
        delocalization=delocalization,
        pixel_size=pixel_size,
        beam_energy=beam_energy,
        gain=gain,
        psf_sigma=psf_sigma,
        read_noise=read_noise,
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
        f"{dose:g}; {scattering} scattering"
        f"{', delocalized' if delocalization else ''}"
        + (
            f"; detector gain {gain:g}, point-spread {psf_sigma:g} channels, read "
            f"noise {read_noise:g}"
            if (gain != 1.0 or psf_sigma > 0 or read_noise > 0)
            else ""
        )
        + "."
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
        noise_variance=variance,
        params=params,
        DESCR=descr,
        **extra,
    )
