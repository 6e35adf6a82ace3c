"""Electron energy-loss spectra built from physics, for the EELS chapters.

A valence-loss spectrum is the energy-loss function Im(-1/ε(E)) of a Drude–Lorentz
dielectric function: a free-electron plasmon at the energy set by the valence-electron
density, plus interband transitions (Egerton 2011, chapter 3). The core-loss region adds
the shallow edges of the elements at their tabulated onsets on the power-law tail of the
valence loss. The onsets in :data:`EDGE_ONSETS` are those of the Gatan EELS Atlas (Ahn &
Krivanek 1983; eels.info), the table HyperSpy's EELS tools also use. Edge *shapes* here
are smooth, illustrative "delayed maximum" profiles, not calculated cross-sections: the
course needs spectra whose features sit where the physics puts them and that differ
between materials the way real ones do, not quantification.

References
----------
R. F. Egerton, *Electron Energy-Loss Spectroscopy in the Electron Microscope*, 3rd ed.,
Springer (2011): free-electron plasmon energy, Eq. (3.41); Drude dielectric function,
Sec. 3.3. C. C. Ahn and O. L. Krivanek, *EELS Atlas*, Gatan and Arizona State University
(1983).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_scalar

__all__ = [
    "EDGE_ONSETS",
    "MATERIALS",
    "plasmon_energy",
    "energy_loss_function",
    "edge_profile",
    "power_law",
    "reference_spectrum",
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

# Edge shapes: delay to the maximum and width of the rise above the onset (eV), and the
# relative strength per atom. 3d-metal M2,3 edges are broad, delayed maxima; La N4,5 is
# the 4d -> 4f "giant resonance", a strong peak some 15-20 eV above its onset.
_EDGE_SHAPES = {
    "Ti M2,3": dict(delay=9.0, width=4.0, strength=2.5),
    "Mn M2,3": dict(delay=9.0, width=4.0, strength=1.0),
    "Fe M2,3": dict(delay=9.0, width=4.0, strength=1.0),
    "La N4,5": dict(delay=18.0, width=6.0, strength=1.6),
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
    (plus ``edge_shift``), delay and width. The sum is divided by its area, computed
    with channel widths ``numpy.gradient(energy)``. Neither plural scattering nor the
    instrument resolution nor noise is included;
    :func:`lectlib.datasets.make_eels_interface` adds the resolution and the Poisson
    noise.

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
        shape = _EDGE_SHAPES[edge]
        profile = edge_profile(
            energy,
            EDGE_ONSETS[edge] + edge_shift,
            delay=shape["delay"],
            width=shape["width"],
        )
        spectrum = spectrum + edge_strength * at35 * atoms * shape["strength"] * profile
    step = np.gradient(energy) if energy.size > 1 else np.ones(1)
    return _finite(lambda: spectrum / np.sum(spectrum * step), "the reference spectrum")
