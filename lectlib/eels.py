"""Electron energy-loss spectra built from physics, for the EELS chapters.

A valence-loss spectrum is the energy-loss function Im(-1/ε(E)) of a Drude–Lorentz
dielectric function: a free-electron plasmon at the energy set by the valence-electron
density, plus interband transitions (Egerton 2011, chapter 3). The core-loss region adds
the shallow edges of the elements at their tabulated onsets on the power-law tail of the
valence loss. The onsets in :data:`EDGE_ONSETS` are those of the Gatan EELS Atlas (Ahn &
Krivanek 1983; eels.info), the table HyperSpy's EELS tools also use. Each edge's maximum
sits where measured spectra of these oxides put it (:data:`EDGE_SHAPES`, with the
source of every number).

What a measured spectrum has and this module only sketches, or leaves out:

* edge *shapes* are smooth "delayed maximum" profiles (:func:`edge_profile`), not
  calculated cross-sections: the maxima are placed from measured spectra to about
  ±1–2 eV, the widths, fall-offs and relative strengths are rounded, and fine structure
  (the Fe³⁺ pre-edge peak of Fe M₂,₃, the sharp 4d⁹4f¹ lines before the La N₄,₅ giant
  resonance, crystal-field and valence shifts) is left out;
* the low-loss region is a stand-in: free-electron plasmon energies with illustrative
  interband terms, without the semicore Sr N₂,₃ (~20 eV) and La O₂,₃ (~17–20 eV)
  excitations, and without surface and interface plasmons; compare the model with the
  measured values in :data:`MEASURED_LOW_LOSS`;
* plural scattering (:func:`plural_scattering`) assumes the same single-scattering
  shape at every order, and the delocalization length (:func:`delocalization_length`)
  is Egerton's d₅₀ estimate, used as the FWHM of a Gaussian, not a calculated
  point-spread with its long tails.

The course needs spectra whose features sit where the physics puts them, that differ
between materials the way real ones do, and that thickness changes the way it changes
real ones (the zero-loss peak, plural scattering, the log-ratio thickness and
Fourier-log deconvolution) — not quantification.

References
----------
R. F. Egerton, *Electron Energy-Loss Spectroscopy in the Electron Microscope*, 3rd ed.,
Springer (2011): free-electron plasmon energy, Eq. (3.41); Drude dielectric function,
Sec. 3.3; plural scattering and its Fourier-log deconvolution, Sec. 4.2; log-ratio
thickness, Sec. 5.1. R. F. Egerton, Ultramicroscopy 107, 575 (2007): delocalization.
C. C. Ahn and O. L. Krivanek, *EELS Atlas*, Gatan and Arizona State University (1983).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from ._validation import as_float_array, check_pair, check_scalar, check_size

__all__ = [
    "EDGE_ONSETS",
    "EDGE_SHAPES",
    "MEASURED_LOW_LOSS",
    "MATERIALS",
    "plasmon_energy",
    "energy_loss_function",
    "edge_profile",
    "power_law",
    "reference_spectrum",
    "zero_loss_peak",
    "plural_scattering",
    "log_ratio_thickness",
    "fourier_log_deconvolution",
    "delocalization_length",
]

#: Onset energies (eV) of the shallow core edges between 35 and 125 eV of the elements
#: in the SrTiO₃ / La₀.₇Sr₀.₃MnO₃ / BiFeO₃ stack, from the Gatan EELS Atlas. Sr's first
#: edge in range, M₄,₅, starts at 134 eV, and Bi and O have none in 35–125 eV.
EDGE_ONSETS = {
    "Ti M2,3": 35.0,
    "Mn M2,3": 51.0,
    "Fe M2,3": 57.0,
    "La N4,5": 99.0,
}

#: Per-formula-unit data of the three layers: molar mass (g/mol), density (g/cm³),
#: valence electrons counted for the plasmon (outer s, p, d electrons of the cations;
#: 2s² 2p⁴ of O), the edges present with their atoms per formula unit, and the interband
#: transitions (energy, oscillator fraction, width in eV) that shape the low-loss
#: region; BiFeO₃'s at 24.5 eV stands for the Bi 5d (O₄,₅) excitations.
MATERIALS = {
    "SrTiO3": dict(
        molar_mass=183.49,
        density=5.12,
        valence_electrons=2 + 4 + 3 * 6,
        edges={"Ti M2,3": 1.0},
        interband=((6.5, 0.10, 2.5), (10.5, 0.08, 3.0), (15.5, 0.06, 4.0)),
        damping=6.0,
    ),
    "La0.7Sr0.3MnO3": dict(
        molar_mass=0.7 * 138.91 + 0.3 * 87.62 + 54.94 + 3 * 16.00,
        density=6.45,
        valence_electrons=0.7 * 3 + 0.3 * 2 + 7 + 3 * 6,
        edges={"Mn M2,3": 1.0, "La N4,5": 0.7},
        interband=((3.5, 0.10, 2.0), (8.5, 0.08, 3.5), (13.0, 0.06, 4.0)),
        damping=8.0,
    ),
    "BiFeO3": dict(
        molar_mass=208.98 + 55.85 + 3 * 16.00,
        density=8.34,
        valence_electrons=5 + 8 + 3 * 6,
        edges={"Fe M2,3": 1.0},
        interband=((4.5, 0.10, 2.5), (9.5, 0.08, 3.0), (24.5, 0.06, 3.0)),
        damping=9.0,
    ),
}

#: Shapes of the edges in :data:`EDGE_ONSETS`, each with where its numbers come from.
#: ``delay`` is the distance (eV) from the tabulated onset to the maximum, ``width`` the
#: width (eV) of the rise, ``decay`` the power-law exponent of the fall above the
#: maximum (:func:`edge_profile`), ``strength`` the height of the maximum per atom
#: relative to the other edges, ``measured_maximum`` the energy (eV) of the maximum in
#: the measured spectrum cited in ``citation``. The maxima are read from published
#: spectra to about ±1–2 eV; the widths and strengths are rounded, not fitted.
EDGE_SHAPES = {
    "Ti M2,3": dict(
        delay=12.0,
        width=5.0,
        decay=2.5,
        strength=2.5,
        measured_maximum=47.0,
        citation=(
            "Ti⁴⁺ 3p→3d: a broad delayed maximum near 47 eV in Ti oxides, some 12 eV "
            "above the Atlas onset (Ahn & Krivanek 1983, EELS Atlas, Ti M₂,₃; the "
            "delayed maxima of M₂,₃ edges: Egerton 2011, chapter 3)"
        ),
    ),
    "Mn M2,3": dict(
        delay=3.0,
        width=1.5,
        decay=3.0,
        strength=1.0,
        measured_maximum=54.0,
        citation=(
            "Mn 3p→3d: a rounded maximum a few eV above the onset, moving up with the "
            "Mn valence (Rask, Miner & Buseck, Ultramicroscopy 21, 321 (1987), Mn "
            "oxide reference spectra)"
        ),
    ),
    "Fe M2,3": dict(
        delay=2.0,
        width=1.0,
        decay=3.0,
        strength=1.0,
        measured_maximum=57.0,
        citation=(
            "Fe 3p→3d: main maximum at about 57 eV, with a pre-edge peak 4.2 eV below "
            "it for Fe³⁺ (2.2 eV for Fe²⁺) (van Aken et al., Phys. Chem. Minerals 26, "
            "584 (1999)); with the Atlas onset kept at 57 eV the model's maximum sits "
            "2 eV higher, at 59 eV, and the pre-edge peak is left out"
        ),
    ),
    "La N4,5": dict(
        delay=18.0,
        width=5.0,
        decay=15.0,
        strength=1.6,
        measured_maximum=117.0,
        citation=(
            "La 4d→4f 'giant resonance': a broad peak near 117 eV, 10–20 eV above the "
            "4d threshold, after weak sharp 4d⁹4f¹ lines at 97–103 eV (Dehmer et al., "
            "Phys. Rev. Lett. 26, 1521 (1971); EELS of La by Moser et al. (1984) "
            "beside XAS in Baer & Schneider, Handbook on the Physics and Chemistry "
            "of Rare Earths 10 (1987), Fig. 13); the sharp lines are left out"
        ),
    ),
}

#: Measured position (eV) of the main valence-loss peak (the bulk plasmon) of the three
#: layers, for comparison with the model's free-electron plasmon. ``energy`` is None
#: where no measured value with a checkable source is held here.
MEASURED_LOW_LOSS = {
    "SrTiO3": dict(
        energy=30.0,
        uncertainty=2.0,
        feature="bulk plasmon, the main valence-loss peak",
        citation=(
            "valence EELS and VUV-derived loss function of SrTiO₃: K. van Benthem, "
            "C. Elsässer and R. H. French, J. Appl. Phys. 90, 6156 (2001)"
        ),
    ),
    "La0.7Sr0.3MnO3": dict(
        energy=None,
        uncertainty=None,
        feature="bulk plasmon, the main valence-loss peak",
        citation="no measured value with a checkable source is held here",
    ),
    "BiFeO3": dict(
        energy=None,
        uncertainty=None,
        feature="bulk plasmon, the main valence-loss peak",
        citation=(
            "valence EELS of BiFeO₃ is shown by S. Wang et al., Micron 120, 43 "
            "(2019); its plasmon energy is not held here"
        ),
    ),
}


def _finite(compute, what):
    """Evaluate ``compute()`` with numpy's floating-point warnings off and raise a clear
    error if the result left float range (inputs that are finite but extreme for the
    formula)."""
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        result = compute()
    if not np.all(np.isfinite(result)):
        raise ValueError(
            f"{what} overflows float64 for these inputs; they are far outside "
            "the range of the physics it describes"
        )
    return result


def plasmon_energy(valence_electrons, density, molar_mass):
    """Free-electron plasmon energy in eV, E_p = ħ √(n e² / (ε₀ m)).

    Parameters
    ----------
    valence_electrons : float
        Electrons per formula unit taking part in the plasma oscillation.
    density : float
        Mass density in g/cm³.
    molar_mass : float
        Molar mass of the formula unit in g/mol.

    Returns
    -------
    float
        The plasmon energy, 28.82 √(z ρ / A) eV (Egerton 2011, Eq. 3.41).

    See Also
    --------
    energy_loss_function : the whole valence-loss spectrum, whose plasmon peak sits at
        E_p.
    reference_spectrum : takes E_p of each layer in :data:`MATERIALS` from this
        function.

    Notes
    -----
    The valence-electron density is ``n = z ρ N_A / A`` (with ρ converted to g/m³), and
    the free-electron plasma frequency gives ``E_p = ħ √(n e² / (ε₀ m_e))`` with the
    CODATA 2018 constants: 28.816 √(z ρ / A) eV (Egerton 2011, Eq. 3.41). It ignores
    band structure (effective mass, interband screening), which the measured plasmon of
    a semiconductor or an oxide also reflects.

    Examples
    --------
    >>> from lectlib.eels import plasmon_energy
    >>> round(plasmon_energy(4, 2.33, 28.09), 1)  # silicon, measured 16.7 eV
    16.6
    """
    z = check_scalar(
        valence_electrons, "valence_electrons", low=0.0, low_inclusive=False
    )
    rho = check_scalar(density, "density", low=0.0, low_inclusive=False)
    a = check_scalar(molar_mass, "molar_mass", low=0.0, low_inclusive=False)
    hbar = 1.054571817e-34
    e = 1.602176634e-19
    eps0 = 8.8541878128e-12
    m_e = 9.1093837015e-31

    def compute():
        n = np.float64(z) * rho * 1e6 / a * 6.02214076e23  # electrons per m³
        return float(hbar * np.sqrt(n * e**2 / (eps0 * m_e)) / e)

    return _finite(compute, "the plasmon energy")


def energy_loss_function(
    energy, plasmon, damping, interband=(), *, background_permittivity=1.0
):
    """Im(-1/ε) of a Drude–Lorentz dielectric function.

    ε(E) = ε_b − (1 − Σf_j) E_p² / (E² + iEΓ) + Σ_j f_j E_p² / (E_j² − E² − iEγ_j): the
    valence electrons' oscillator strength shared (f-sum rule) between a free-electron
    (Drude) term with plasmon energy ``plasmon`` and damping ``damping`` and Lorentz
    oscillators for interband transitions at E_j with fraction f_j and width γ_j.

    Parameters
    ----------
    energy : array_like, shape (n_channels,)
        Energy losses in eV, all positive.
    plasmon, damping : float
        E_p and Γ in eV.
    interband : sequence of (E_j, f_j, gamma_j)
        Interband transitions; the fractions f_j sum to at most 1.
    background_permittivity : float, default=1.0
        ε_b, the screening by deeper electrons.

    Returns
    -------
    ndarray, shape (n_channels,)
        Im(-1/ε(E)) at each energy, positive.

    See Also
    --------
    plasmon_energy : E_p of the free-electron term, from the composition and density.
    reference_spectrum : this function for a layer of :data:`MATERIALS`, with core edges
        added.
    power_law : a bare E⁻ʳ tail, no plasmon and no interband structure.

    Notes
    -----
    ``Im(-1/ε) = Im ε / |ε|²`` is large where ``Re ε`` crosses zero while ``Im ε`` is
    small: a free-electron gas peaks at ``E_p / √ε_b`` (``E_p`` for the default
    ``ε_b = 1``), and interband transitions shift and broaden the plasmon and add their
    own features below it. Well above ``E_p`` the Drude term makes the loss function
    fall as ``E⁻³``, the start of the tail on which core edges sit. The model follows
    Egerton (2011), Sec. 3.3.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.eels import energy_loss_function
    >>> e = np.linspace(1, 40, 391)
    >>> elf = energy_loss_function(e, plasmon=20.0, damping=3.0)
    >>> round(float(e[np.argmax(elf)]), 1)   # a free-electron gas peaks at E_p
    19.9
    """
    energy = as_float_array(energy, "energy", ndim=1)
    if np.any(energy <= 0):
        raise ValueError("energy must be positive (energy losses in eV)")
    ep = check_scalar(plasmon, "plasmon", low=0.0, low_inclusive=False)
    gamma = check_scalar(damping, "damping", low=0.0, low_inclusive=False)
    eb = check_scalar(
        background_permittivity, "background_permittivity", low=0.0, low_inclusive=False
    )
    terms = []
    for term in interband:
        try:
            ej, fj, gj = (float(v) for v in term)
        except (TypeError, ValueError):
            raise ValueError(
                f"each interband term must be (energy, strength, width), got {term!r}"
            ) from None
        if ej <= 0 or fj < 0 or gj <= 0:
            raise ValueError(
                f"interband term {term!r} needs energy > 0, strength >= 0, width > 0"
            )
        terms.append((ej, fj, gj))
    free = 1.0 - sum(fj for _, fj, _ in terms)
    if free < 0:
        raise ValueError(
            "the interband strengths f_j must sum to at most 1 (the f-sum rule)"
        )

    def compute():
        eps = eb - free * ep**2 / (energy**2 + 1j * energy * gamma)
        for ej, fj, gj in terms:
            eps = eps + fj * ep**2 / (ej**2 - energy**2 - 1j * energy * gj)
        return np.imag(-1.0 / eps)

    return _finite(compute, "the energy-loss function")


def edge_profile(energy, onset, *, delay=9.0, width=4.0, decay=2.5):
    """A smooth "delayed maximum" core-edge shape,
    zero below ``onset`` and 1 at its maximum.

    A rise of width ``width`` that peaks ``delay`` eV above the onset, then falls as a
    power law (E/E_max)^−decay, the tail of a core-loss cross-section.

    Parameters
    ----------
    energy : array_like, shape (n_channels,)
        Energy losses in eV.
    onset : float
        Edge onset in eV (> 0), e.g. a value of :data:`EDGE_ONSETS`.
    delay : float, default=9.0
        Distance in eV from the onset to the maximum (> 0).
    width : float, default=4.0
        Width in eV of the rise to the maximum (> 0).
    decay : float, default=2.5
        Power-law exponent of the fall above the maximum (>= 0).

    Returns
    -------
    profile : ndarray, shape (n_channels,)
        Between 0 and 1; 1 at ``E_max = onset + delay``.

    See Also
    --------
    reference_spectrum : places these profiles at the onsets of :data:`EDGE_ONSETS`.
    power_law : the background under an edge, the same power-law form as this tail.
    energy_loss_function : the valence-loss part of the spectrum, on which edges sit.

    Notes
    -----
    With ``u = (E - onset) / delay`` the rise is ``u^k exp(k (1 - u))``, 0 at the onset
    and 1 at ``u = 1``, with ``k = max((delay / width)², 1)``. Since
    ``log u + 1 - u ≈ -(u - 1)² / 2`` near ``u = 1``, the top of the rise is close to a
    Gaussian of standard deviation ``width`` eV (when ``width <= delay``; a wider
    ``width`` leaves ``k = 1``). Above ``E_max`` the profile is ``(E / E_max)^-decay``.
    The shape is illustrative, not a calculated cross-section.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.eels import edge_profile
    >>> e = np.arange(30.0, 80.0, 0.5)
    >>> p = edge_profile(e, 35.0)
    >>> bool(p[e < 35].max() == 0), float(e[np.argmax(p)])
    (True, 44.0)
    """
    energy = as_float_array(energy, "energy", ndim=1)
    onset = check_scalar(onset, "onset", low=0.0, low_inclusive=False)
    delay = check_scalar(delay, "delay", low=0.0, low_inclusive=False)
    width = check_scalar(width, "width", low=0.0, low_inclusive=False)
    decay = check_scalar(decay, "decay", low=0.0)
    x = np.clip(energy - onset, 0.0, None)
    peak = onset + delay
    # Rising part: (x/delay)^k exp(k (1 - x/delay)) peaks at x = delay with value 1; k
    # sets the sharpness, chosen so that the rise takes about ``width`` eV.
    # (capped: beyond 1e300 every rise is a step, and the square must not overflow)
    k = max(min(delay / width, 1e150) ** 2, 1.0)
    # In log form, so that a sharp rise (large k) neither underflows nor overflows.
    u = x / delay

    def compute():
        rise = np.where(
            x > 0, np.exp(k * (np.log(np.where(x > 0, u, 1.0)) + 1.0 - u)), 0.0
        )
        tail = (np.maximum(energy, peak) / peak) ** (-decay)
        return np.where(energy < peak, rise, tail)

    return _finite(compute, "the edge profile")


def power_law(energy, amplitude, exponent, reference=35.0):
    """A power-law background A (E / E_ref)^−r.

    Parameters
    ----------
    energy : array_like, shape (n_channels,)
        Energy losses in eV, all positive.
    amplitude : float
        A, the value at ``E_ref``.
    exponent : float
        r; larger values fall faster.
    reference : float, default=35.0
        E_ref in eV; 35 eV is the lowest onset in :data:`EDGE_ONSETS` (Ti M₂,₃).

    Returns
    -------
    ndarray, shape (n_channels,)

    See Also
    --------
    energy_loss_function : the physical valence loss, whose tail falls as E⁻³ well above
        E_p.
    edge_profile : an edge that sits on such a background, with a power-law tail of its
        own.

    Notes
    -----
    The usual model of the background under an EELS core edge (Egerton 2011): A and r
    are fitted in a window just below the onset and the curve is extrapolated under the
    edge. Here it is only evaluated: ``amplitude * (energy / reference) ** -exponent``;
    doubling the energy divides the background by ``2**r``.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.eels import power_law
    >>> power_law(np.array([35.0, 70.0]), 8.0, 3.0).tolist()
    [8.0, 1.0]
    """
    energy = as_float_array(energy, "energy", ndim=1)
    if np.any(energy <= 0):
        raise ValueError("energy must be positive (energy losses in eV)")
    amplitude = check_scalar(amplitude, "amplitude")
    exponent = check_scalar(exponent, "exponent")
    reference = check_scalar(reference, "reference", low=0.0, low_inclusive=False)
    return _finite(
        lambda: amplitude * (energy / reference) ** (-exponent), "the power law"
    )


def reference_spectrum(material, energy, *, edge_strength=0.3, edge_shift=0.0):
    """The single-scattering spectrum of one layer,
    normalized to unit area on ``energy``.

    The energy-loss function of the material's Drude–Lorentz dielectric function
    (plasmon at the free-electron energy of :data:`MATERIALS`) plus its shallow core
    edges at the onsets of :data:`EDGE_ONSETS`, scaled by the atoms per formula unit.

    Parameters
    ----------
    material : str
        A key of :data:`MATERIALS`.
    energy : array_like, shape (n_channels,)
        Energy-loss axis in eV (positive).
    edge_strength : float, default=0.3
        Height of a one-atom edge maximum relative to the valence-loss intensity at 35
        eV, before each edge's own relative strength per atom (1 for Mn and Fe M₂,₃, 2.5
        for Ti M₂,₃, 1.6 for La N₄,₅): at the default, SrTiO₃'s Ti edge rises 0.75 times
        the loss function at 35 eV above it.
    edge_shift : float, default=0.0
        Chemical shift (eV) added to every edge onset, e.g. for a reduced cation.

    Returns
    -------
    spectrum : ndarray, shape (n_channels,)
        Intensity per eV, with ``sum(spectrum * numpy.gradient(energy)) == 1``.

    See Also
    --------
    energy_loss_function : the valence-loss part alone, for any plasmon and interband
        terms.
    edge_profile : the shape of each core edge added here.
    lectlib.datasets.make_eels_interface : these spectra broadened, mixed and with
        Poisson noise.

    Notes
    -----
    ``E_p`` comes from :func:`plasmon_energy` with the layer's entries in
    :data:`MATERIALS`, and :func:`energy_loss_function` with its damping and interband
    terms gives the valence loss. Each edge adds
    ``edge_strength × ELF(35 eV) × atoms × strength × edge_profile`` with its onset
    (plus ``edge_shift``) and the delay, width, decay and strength of
    :data:`EDGE_SHAPES`. The sum is divided by its area, computed with channel widths
    ``numpy.gradient(energy)``. Neither plural scattering nor the instrument resolution
    nor noise is included; :func:`lectlib.datasets.make_eels_interface` adds the
    resolution and the noise, and with ``scattering="plural"`` the zero-loss peak and
    plural scattering (:func:`plural_scattering`).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.eels import reference_spectrum
    >>> e = np.arange(5.0, 125.5, 0.5)
    >>> s = reference_spectrum("SrTiO3", e)
    >>> round(float(s.sum() * 0.5), 6), 20 < float(e[np.argmax(s)]) < 35
    (1.0, True)
    """
    if material not in MATERIALS:
        raise ValueError(
            f"unknown material {material!r}; available: {sorted(MATERIALS)}"
        )
    energy = as_float_array(energy, "energy", ndim=1)
    if np.any(energy <= 0):
        raise ValueError("energy must be positive (energy losses in eV)")
    if energy.size > 1 and np.any(np.diff(energy) <= 0):
        raise ValueError("energy must be strictly increasing")
    edge_strength = check_scalar(edge_strength, "edge_strength", low=0.0)
    edge_shift = check_scalar(edge_shift, "edge_shift")
    spec = MATERIALS[material]
    ep = plasmon_energy(spec["valence_electrons"], spec["density"], spec["molar_mass"])
    spectrum = energy_loss_function(energy, ep, spec["damping"], spec["interband"])
    at35 = energy_loss_function(
        np.array([35.0]), ep, spec["damping"], spec["interband"]
    )[0]
    for edge, atoms in spec["edges"].items():
        shape = EDGE_SHAPES[edge]
        profile = edge_profile(
            energy,
            EDGE_ONSETS[edge] + edge_shift,
            delay=shape["delay"],
            width=shape["width"],
            decay=shape["decay"],
        )
        spectrum = spectrum + edge_strength * at35 * atoms * shape["strength"] * profile
    step = np.gradient(energy) if energy.size > 1 else np.ones(1)
    return _finite(lambda: spectrum / np.sum(spectrum * step), "the reference spectrum")


# ------------------------------------------------------ zero loss, plural scattering

_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def _uniform_axis_with_zero(energy, name="energy"):
    """Check a uniform, increasing energy axis that holds a channel at 0 eV; return the
    axis, its step and the index of the 0-eV channel."""
    energy = as_float_array(energy, name, ndim=1)
    if energy.size < 3:
        raise ValueError(f"{name} needs at least 3 channels, got {energy.size}")
    step = np.diff(energy)
    if np.any(step <= 0):
        raise ValueError(f"{name} must be strictly increasing")
    h = float(step.mean())
    if not np.allclose(step, h, rtol=1e-6, atol=0):
        raise ValueError(f"{name} must be evenly spaced (a uniform channel width)")
    position = -energy[0] / h
    zero = int(round(position))
    if not (0 <= zero < energy.size) or abs(position - zero) > 1e-6:
        raise ValueError(
            f"{name} must hold a channel at 0 eV (the zero-loss position), from "
            f"{energy[0]:g} to {energy[-1]:g} eV in steps of {h:g} eV it does not"
        )
    return energy, h, zero


def _padded_length(n):
    from scipy.fft import next_fast_len

    # Four times the axis: the n-fold terms of plural scattering reach n times the
    # axis, and those that would wrap around the periodic transform carry a weight
    # below round-off (five-fold and more at t/λ ≤ 1).
    return next_fast_len(4 * n, real=True)


def _to_origin(spectra, zero, length):
    """Place spectra ``(m, n)`` on a periodic axis of ``length`` with the 0-eV channel
    at index 0 (negative energies wrap to the end), zero-padded."""
    m, n = spectra.shape
    out = np.zeros((m, length))
    out[:, : n - zero] = spectra[:, zero:]
    if zero:
        out[:, length - zero :] = spectra[:, :zero]
    return out


def _from_origin(padded, zero, n):
    return np.concatenate(
        [padded[:, padded.shape[1] - zero :], padded[:, : n - zero]], 1
    )


def _gaussian_kernel_ft(fwhm_channels, length):
    """rfft of a unit-sum sampled Gaussian of FWHM ``fwhm_channels`` (one per row of a
    column vector, or a scalar), centered on index 0 of a periodic axis."""
    d = np.minimum(np.arange(length), length - np.arange(length)).astype(float)
    sigma = np.atleast_1d(np.asarray(fwhm_channels, dtype=float)) / _FWHM_PER_SIGMA
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        kernel = np.where(
            sigma[:, None] > 0,
            np.exp(-0.5 * (d[None, :] / np.where(sigma > 0, sigma, 1.0)[:, None]) ** 2),
            (d[None, :] == 0).astype(float),
        )
    kernel /= kernel.sum(axis=1, keepdims=True)
    return np.fft.rfft(kernel, axis=1)


def zero_loss_peak(energy, fwhm=1.0):
    """The zero-loss peak: a unit-area Gaussian at 0 eV, per eV.

    Parameters
    ----------
    energy : array_like, shape (n_channels,)
        Energy losses in eV (may be negative: the peak's low side).
    fwhm : float, default=1.0
        Full width at half maximum in eV (> 0), the energy resolution of the
        instrument (spread of the source and spectrometer).

    Returns
    -------
    ndarray, shape (n_channels,)
        ``exp(-E² / 2σ²) / (σ √(2π))`` with ``σ = fwhm / (2 √(2 ln 2))``; its sum times
        the channel width is 1 when the axis covers the peak and the channels are
        narrower than about σ.

    See Also
    --------
    plural_scattering : convolves a single-scattering spectrum with this peak.
    lectlib.mixing.broaden : the same Gaussian as a resolution function applied to
        spectra.

    Notes
    -----
    Electrons that crossed the specimen without losing energy make the zero-loss peak;
    its width is the energy resolution, and every inelastic feature is convolved with
    it (Egerton 2011, chapter 4). A cold field emitter gives ~0.3 eV, a Schottky source
    ~0.7 eV, a monochromator 0.01–0.1 eV. Real peaks have tails (a Schottky peak is
    asymmetric); the Gaussian is the simple stand-in.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.eels import zero_loss_peak
    >>> e = np.arange(-5.0, 5.05, 0.1)
    >>> z = zero_loss_peak(e, fwhm=1.0)
    >>> round(float(z.sum() * 0.1), 6), round(float(z[e.size // 2] / z.max()), 6)
    (1.0, 1.0)
    """
    energy = as_float_array(energy, "energy", ndim=1)
    fwhm = check_scalar(fwhm, "fwhm", low=0.0, low_inclusive=False)
    sigma = fwhm / _FWHM_PER_SIGMA
    return _finite(
        lambda: np.exp(-0.5 * (energy / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi)),
        "the zero-loss peak",
    )


def plural_scattering(
    single, energy, thickness, *, zero_loss=None, resolution_fwhm=1.0
):
    """The whole spectrum from a single-scattering distribution:
    zero-loss peak plus all orders of inelastic scattering.

    ``J = Z ⊗ Σ_n P(n; t/λ) S^{*n}``: the number of inelastic events an electron
    suffers in a specimen of thickness ``t`` is Poisson with mean ``t/λ``, and ``n``
    events convolve the single-scattering distribution ``S`` ``n`` times.

    Parameters
    ----------
    single : array_like, shape (..., n_channels)
        Single-scattering distributions ``S`` per eV, zero at and below 0 eV; each is
        normalized to unit area here (only its shape matters).
    energy : array_like, shape (n_channels,)
        Evenly spaced energy losses in eV, with a channel at 0 eV (e.g. -5 to 125 eV).
    thickness : float or array_like
        t/λ, the thickness in inelastic mean free paths (>= 0); its shape broadcasts
        with the leading shape of ``single`` (one value for all spectra, one per
        spectrum, or several thicknesses of one spectrum).
    zero_loss : array_like, shape (n_channels,), optional
        The zero-loss peak (normalized to unit area here); default
        ``zero_loss_peak(energy, resolution_fwhm)``.
    resolution_fwhm : float, default=1.0
        FWHM (eV) of the default zero-loss peak.

    Returns
    -------
    ndarray, shape (broadcast leading shape, n_channels)
        ``J`` per eV with unit area (multiply by the dose for counts per eV; by the
        dose and the channel width for counts per channel), less what scatters beyond
        the last channel; non-negative (round-off below zero is set to 0).

    See Also
    --------
    log_ratio_thickness : t/λ back from ``J``, ``ln(I_total / I_zero-loss)``.
    fourier_log_deconvolution : ``S`` back from ``J``.
    zero_loss_peak : the default ``Z``.

    Notes
    -----
    In Fourier space the sum is an exponential: ``j(ν) = z(ν) exp(t/λ (s(ν) − 1))``
    (Egerton 2011, chapters 3–4), so the zero-loss peak carries ``e^{−t/λ}`` of the
    electrons, single scattering ``t/λ e^{−t/λ}``, double ``(t/λ)² e^{−t/λ} / 2``: at
    t/λ = 0.5 double scattering is a quarter of single. The transforms use zero
    padding to four times the axis, so the n-fold terms do not wrap around; the
    spectrum is taken as zero beyond the last channel. ``S`` is the same at every
    order (no angular redistribution) — the textbook model.

    References
    ----------
    R. F. Egerton, *Electron Energy-Loss Spectroscopy in the Electron Microscope*, 3rd
    ed., Springer (2011), chapters 3–4 (Poisson statistics of plural scattering).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.eels import plural_scattering
    >>> e = np.arange(-5.0, 200.0, 0.5)
    >>> s = np.where(e > 0, np.exp(-0.5 * ((e - 20.0) / 3.0) ** 2), 0.0)
    >>> j = plural_scattering(s, e, 0.5)
    >>> zlp = j[np.abs(e) < 3].sum() * 0.5                 # e^(-t/λ)
    >>> round(float(zlp), 4), round(float(np.exp(-0.5)), 4)
    (0.6065, 0.6065)
    """
    energy, h, zero = _uniform_axis_with_zero(energy)
    n = energy.size
    single = as_float_array(single, "single", min_ndim=1)
    if single.shape[-1] != n:
        raise ValueError(f"single has {single.shape[-1]} channels but energy has {n}")
    if np.any(single < 0):
        raise ValueError("single must be non-negative (a scattering distribution)")
    if np.any(single[..., : zero + 1] != 0):
        raise ValueError(
            "single must be zero at and below 0 eV (energy losses are positive)"
        )
    area = single.sum(axis=-1) * h
    if np.any(area <= 0):
        raise ValueError("single holds an all-zero spectrum, which has no shape")
    t = as_float_array(thickness, "thickness", allow_empty=True)
    if np.any(t < 0):
        raise ValueError("thickness (t/λ) must be >= 0")
    try:
        lead = np.broadcast_shapes(single.shape[:-1], t.shape)
    except ValueError:
        raise ValueError(
            f"thickness of shape {t.shape} does not broadcast with the spectra's "
            f"leading shape {single.shape[:-1]}"
        ) from None
    check_size(int(np.prod(lead)) * n, "the spectra")
    t = np.broadcast_to(t, lead)
    single = np.broadcast_to(single, lead + (n,))
    area = np.broadcast_to(area, lead)
    if np.any(t > 50):
        raise ValueError(
            "thickness (t/λ) above 50 leaves no zero-loss peak in float64; EELS "
            "works below t/λ ≈ 1–3"
        )
    if zero_loss is None:
        fwhm = check_scalar(
            resolution_fwhm, "resolution_fwhm", low=0.0, low_inclusive=False
        )
        z = zero_loss_peak(energy, fwhm)
    else:
        z = as_float_array(zero_loss, "zero_loss", ndim=1)
        if z.size != n:
            raise ValueError(f"zero_loss has {z.size} channels but energy has {n}")
        if np.any(z < 0) or z.sum() <= 0:
            raise ValueError("zero_loss must be non-negative with a positive area")
    z = z / (z.sum() * h)
    length = _padded_length(n)
    flat = (single / area[..., None]).reshape(-1, n)
    s_ft = np.fft.rfft(_to_origin(flat * h, zero, length), axis=1)
    z_ft = np.fft.rfft(_to_origin(z[None, :], zero, length), axis=1)
    tt = t.reshape(-1, 1)
    j = np.fft.irfft(z_ft * np.exp(tt * (s_ft - 1.0)), n=length, axis=1)
    # (round-off leaves values of order -1e-17 where J is zero: they are set to 0)
    return np.clip(_from_origin(j, zero, n), 0.0, None).reshape(single.shape)


def _zero_loss_mask(flat, energy, zero, zero_loss_window):
    """A boolean mask ``(m, n)`` of the zero-loss window of every spectrum."""
    m, n = flat.shape
    if zero_loss_window is not None:
        lo, hi = check_pair(
            zero_loss_window,
            "zero_loss_window",
            increasing=True,
            labels="(low, high) in eV",
        )
        if not lo <= 0.0 <= hi:
            raise ValueError(
                f"zero_loss_window must contain 0 eV, got {zero_loss_window!r}"
            )
        inside = (energy >= lo) & (energy <= hi)
        return np.broadcast_to(inside, (m, n))
    # The first minimum after 0 eV: the first channel past the peak's half maximum
    # whose right neighbor is no lower (the half-maximum condition keeps noise on the
    # top of the peak from ending the window early).
    right = flat[:, zero:]
    falls = (np.diff(right, axis=1) >= 0) & (right[:, :-1] < 0.5 * right[:, :1])
    found = falls.any(axis=1)
    stop = np.where(found, np.argmax(falls, axis=1), right.shape[1] - 1)
    offset = np.abs(np.arange(n) - zero)
    return offset[None, :] <= stop[:, None]


def _measured_fwhm(peaks, h):
    """FWHM (eV) of each row of ``peaks`` (a peak padded with zeros), from the
    half-maximum crossings interpolated linearly on both sides of the maximum."""
    m, n = peaks.shape
    top = np.argmax(peaks, axis=1)
    peak = peaks[np.arange(m), top]
    half = 0.5 * peak
    idx = np.arange(n)[None, :]
    below = peaks < half[:, None]
    right = np.where(below & (idx > top[:, None]), idx, n).min(axis=1)
    left = np.where(below & (idx < top[:, None]), idx, -1).max(axis=1)
    rows = np.arange(m)

    def crossing(outer, inner):
        y0, y1 = peaks[rows, outer], peaks[rows, inner]
        frac = (half - y0) / np.where(y1 != y0, y1 - y0, 1.0)
        return outer + frac * (inner - outer)

    ok = (right < n) & (left >= 0)
    r = crossing(np.where(ok, right, top), np.where(ok, right - 1, top))
    lft = crossing(np.where(ok, left, top), np.where(ok, left + 1, top))
    return np.where(ok, (r - lft) * h, np.nan)


def _split_zero_loss(spectra, energy, zero_loss_window, zero_loss):
    energy, h, zero = _uniform_axis_with_zero(energy)
    n = energy.size
    spectra = as_float_array(spectra, "spectra", min_ndim=1)
    if spectra.shape[-1] != n:
        raise ValueError(
            f"spectra have {spectra.shape[-1]} channels but energy has {n}"
        )
    flat = spectra.reshape(-1, n)
    if zero_loss is None:
        mask = _zero_loss_mask(flat, energy, zero, zero_loss_window)
        peaks = np.where(mask, flat, 0.0)
    else:
        peaks = as_float_array(zero_loss, "zero_loss", min_ndim=1)
        if peaks.shape[-1] != n:
            raise ValueError(
                f"zero_loss has {peaks.shape[-1]} channels but energy has {n}"
            )
        try:
            peaks = np.broadcast_to(peaks, spectra.shape).reshape(-1, n)
        except ValueError:
            raise ValueError(
                f"zero_loss of shape {peaks.shape} does not match spectra of shape "
                f"{spectra.shape}"
            ) from None
    i0 = peaks.sum(axis=1)
    total = flat.sum(axis=1)
    if np.any(i0 <= 0):
        raise ValueError(
            "a spectrum has no counts in its zero-loss peak; the log-ratio and the "
            "deconvolution need the zero-loss peak on the energy axis"
        )
    if np.any(total < i0):
        raise ValueError(
            "a spectrum's total is below its zero-loss intensity (negative counts "
            "outside the zero-loss peak)"
        )
    return energy, h, zero, spectra.shape, flat, peaks, i0, total


def log_ratio_thickness(spectra, energy, *, zero_loss_window=None):
    """Thickness t/λ from the log-ratio of the whole spectrum to its zero-loss peak.

    Parameters
    ----------
    spectra : array_like, shape (..., n_channels)
        Low-loss spectra (counts) that include the zero-loss peak and reach far enough
        to hold most of the inelastic scattering.
    energy : array_like, shape (n_channels,)
        Evenly spaced energy losses in eV with a channel at 0 eV.
    zero_loss_window : (float, float), optional
        The energies (eV) of the zero-loss peak, the same for every spectrum. Default:
        from 0 eV to the first minimum past the peak's half maximum, mirrored below
        0 eV, for each spectrum.

    Returns
    -------
    ndarray, shape (...)
        ``ln(I_t / I_0)``: ``I_t`` the sum over all channels, ``I_0`` over the window.

    See Also
    --------
    plural_scattering : the forward model, where ``I_0 / I_t = e^{−t/λ}`` exactly.
    fourier_log_deconvolution : also returns t/λ, and removes plural scattering.

    Notes
    -----
    Poisson statistics of the number of inelastic events give ``I_0 = I_t e^{−t/λ}``
    (Egerton 2011, Sec. 5.1). With Poisson counts ``I_0`` and ``I_t − I_0``, the
    standard error of the estimate is ``√((1 − I_0/I_t) / I_0)``. Intensity beyond
    the last channel is missing from ``I_t`` and biases t/λ low; a window cut short of
    the peak's tails, or reaching into the first losses, biases ``I_0``.

    References
    ----------
    R. F. Egerton, *Electron Energy-Loss Spectroscopy in the Electron Microscope*, 3rd
    ed., Springer (2011), Sec. 5.1.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.eels import log_ratio_thickness, plural_scattering
    >>> e = np.arange(-5.0, 300.0, 0.5)
    >>> s = np.where(e > 4, np.exp(-0.5 * ((e - 22.0) / 4.0) ** 2), 0.0)
    >>> j = 1e5 * plural_scattering(s, e, [0.3, 0.6])
    >>> np.round(log_ratio_thickness(j, e), 6).tolist()
    [0.3, 0.6]
    """
    *_, shape, flat, peaks, i0, total = _split_zero_loss(
        spectra, energy, zero_loss_window, None
    )
    return np.log(total / i0).reshape(shape[:-1])


def fourier_log_deconvolution(
    spectra, energy, *, zero_loss_window=None, resolution_fwhm=None, zero_loss=None
):
    """Remove plural scattering: the single-scattering distribution from whole spectra.

    Parameters
    ----------
    spectra : array_like, shape (..., n_channels)
        Spectra (counts) with their zero-loss peak, on an evenly spaced axis.
    energy : array_like, shape (n_channels,)
        Energy losses in eV with a channel at 0 eV.
    zero_loss_window : (float, float), optional
        Where the zero-loss peak is (eV); default as in :func:`log_ratio_thickness`.
    resolution_fwhm : float, optional
        FWHM (eV) of the Gaussian the result is convolved with, to keep the noise
        finite. Default: the median measured FWHM of the zero-loss peaks, so the result
        has the instrument's resolution; one width for all spectra, so that it does not
        vary from pixel to pixel.
    zero_loss : array_like, shape (n_channels,) or (..., n_channels), optional
        The zero-loss peak itself (counts), when it is known, e.g. from a model or a
        vacuum reference scaled to each spectrum; overrides ``zero_loss_window``.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``single`` (..., n_channels): the single-scattering counts per channel,
        ``I_0 · t/λ · S`` convolved with the Gaussian; ``thickness`` (...): t/λ from the
        log-ratio; ``zero_loss_intensity`` (...): ``I_0``; ``resolution_fwhm`` (eV):
        the width used.

    See Also
    --------
    plural_scattering : the forward model this inverts.
    log_ratio_thickness : only t/λ.

    Notes
    -----
    With ``j(ν)`` and ``z(ν)`` the discrete Fourier transforms of the spectrum and of
    its zero-loss peak (0 eV at index 0, zero-padded to four times the axis),
    ``j = z exp(s / I_0)``, so ``s(ν) = I_0 ln(j(ν) / z(ν))`` (Egerton 2011, Sec.
    4.2.1). Dividing by ``z`` also removes the resolution broadening and multiplies the
    noise at high frequencies; the result is therefore multiplied by ``g(ν)``, the
    transform of a unit-area Gaussian. On noise-free data made by
    :func:`plural_scattering` with the same zero-loss peak this returns
    ``I_0 t/λ S ⊗ g`` to round-off, except within a few widths of the last channel,
    where the spectrum is cut. The principal complex logarithm is right while
    ``t/λ < π``.

    References
    ----------
    R. F. Egerton, *Electron Energy-Loss Spectroscopy in the Electron Microscope*, 3rd
    ed., Springer (2011), Sec. 4.2.1 (Fourier-log deconvolution).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.eels import fourier_log_deconvolution, plural_scattering
    >>> e = np.arange(-5.0, 300.0, 0.5)
    >>> s = np.where(e > 4, np.exp(-0.5 * ((e - 22.0) / 4.0) ** 2), 0.0)
    >>> j = 1e5 * 0.5 * plural_scattering(s, e, 0.6)         # counts per channel
    >>> out = fourier_log_deconvolution(j, e)
    >>> round(float(out.thickness), 6), round(float(out.resolution_fwhm), 3)
    (0.6, 1.0)
    >>> bool(abs(e[np.argmax(out.single)] - 22.0) < 0.5)    # no double peak at 44 eV
    True
    """
    energy, h, zero, shape, flat, peaks, i0, total = _split_zero_loss(
        spectra, energy, zero_loss_window, zero_loss
    )
    n = energy.size
    if resolution_fwhm is None:
        widths = _measured_fwhm(peaks, h)
        if not np.any(np.isfinite(widths)):
            raise ValueError(
                "the zero-loss peak's width could not be measured; pass resolution_fwhm"
            )
        fwhm = float(np.nanmedian(widths))
    else:
        fwhm = check_scalar(resolution_fwhm, "resolution_fwhm", low=0.0)
    length = _padded_length(n)
    j_ft = np.fft.rfft(_to_origin(flat, zero, length), axis=1)
    z_ft = np.fft.rfft(_to_origin(peaks, zero, length), axis=1)
    g_ft = _gaussian_kernel_ft(fwhm / h, length)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = np.log(j_ft / z_ft)
    log_ratio[~np.isfinite(log_ratio)] = 0.0
    single = np.fft.irfft(g_ft * i0[:, None] * log_ratio, n=length, axis=1)
    single = _from_origin(single, zero, n).reshape(shape)
    return Bunch(
        single=single,
        thickness=np.log(total / i0).reshape(shape[:-1]),
        zero_loss_intensity=i0.reshape(shape[:-1]),
        resolution_fwhm=fwhm,
    )


def delocalization_length(energy, beam_energy=200.0):
    """Egerton's delocalization length d₅₀ (nm) of inelastic scattering at loss E.

    The diameter that holds half of the inelastic scattering around the electron's
    path: an energy loss E is detected up to about d₅₀/2 away from the atom or
    interface that caused it, so maps made with low losses are blurred by it.

    Parameters
    ----------
    energy : float or array_like
        Energy losses in eV (> 0).
    beam_energy : float, default=200.0
        Incident electron energy in keV (> 0).

    Returns
    -------
    float or ndarray, same shape as ``energy``
        ``d₅₀ ≈ 0.5 λ / θ_E^{3/4}`` in nm.

    See Also
    --------
    lectlib.datasets.make_eels_interface : blurs each channel's abundance maps by it
        with ``delocalization=True``.

    Notes
    -----
    ``λ`` is the relativistic electron wavelength and ``θ_E = E / (γ m₀ v²)`` the
    characteristic scattering angle (Egerton 2007, with ``γ m₀ v² = E₀ (E₀ + 2 m₀c²)
    / (E₀ + m₀c²)``). At 200 kV, d₅₀ ≈ 1.9 nm at 20 eV and half that at 50 eV; it
    scales as ``E^{−3/4}``. The formula is a fit to wave-optical estimates that
    include the Lorentzian tails; it is not a hard radius.

    References
    ----------
    R. F. Egerton, Ultramicroscopy 107, 575 (2007).

    Examples
    --------
    >>> from lectlib.eels import delocalization_length
    >>> round(float(delocalization_length(20.0)), 2)
    1.88
    >>> round(float(delocalization_length(20.0) / delocalization_length(50.0)), 4)
    1.9882
    """
    scalar = np.ndim(energy) == 0 and not isinstance(energy, np.ndarray)
    e = as_float_array(energy, "energy")
    if np.any(e <= 0):
        raise ValueError("energy must be positive (energy losses in eV)")
    e0 = check_scalar(beam_energy, "beam_energy", low=0.0, low_inclusive=False)
    if e0 > 1e7:
        raise ValueError(f"beam_energy is in keV; {e0:g} keV is not a microscope")
    mc2 = 510.99895  # keV
    wavelength = 1.23984198 / np.sqrt(e0 * (e0 + 2 * mc2))  # nm
    gmv2 = 1e3 * e0 * (e0 + 2 * mc2) / (e0 + mc2)  # eV
    d50 = _finite(
        lambda: 0.5 * wavelength / (e / gmv2) ** 0.75, "the delocalization length"
    )
    return float(d50) if scalar else d50
