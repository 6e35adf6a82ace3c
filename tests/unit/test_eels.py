"""Unit and property tests of lectlib.eels and lectlib.datasets.make_eels_interface.

Expected values come from physics (Egerton's free-electron plasmon energy 28.82 √(zρ/A)
eV, the Drude loss function and its Bethe f-sum rule, the screened plasmon at E_p/√ε_b),
from the definitions written out in the tests, and from the Poisson statistics of
counts.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import FAST

from lectlib.datasets import make_eels_interface
from lectlib.eels import (
    EDGE_ONSETS,
    EDGE_SHAPES,
    MATERIALS,
    MEASURED_LOW_LOSS,
    edge_profile,
    energy_loss_function,
    plasmon_energy,
    power_law,
    reference_spectrum,
)

ENERGY = np.arange(5.0, 125.5, 0.5)


def _drude_elf(E, ep, gamma):
    """Im(−1/ε) of ε = 1 − E_p² / (E² + iEΓ), worked out by hand."""
    return E * gamma * ep**2 / ((E**2 - ep**2) ** 2 + (E * gamma) ** 2)


# ----------------------------------------------------------------------- plasmon energy


def test_plasmon_energy_of_silicon():
    # Egerton (2011), Table 3.2: free-electron value 16.6 eV for Si (measured 16.7 eV)
    assert plasmon_energy(4, 2.33, 28.09) == pytest.approx(16.6, abs=0.05)
    # aluminium: z = 3, ρ = 2.70, A = 26.98 -> 15.8 eV (measured 15.0 eV)
    assert plasmon_energy(3, 2.70, 26.98) == pytest.approx(15.8, abs=0.05)


@FAST
@given(
    z=st.floats(0.1, 20.0),
    rho=st.floats(0.1, 25.0),
    a=st.floats(1.0, 500.0),
    s=st.floats(0.01, 100.0),
)
def test_plasmon_energy_formula_and_scaling(z, rho, a, s):
    ep = plasmon_energy(z, rho, a)
    assert ep == pytest.approx(
        28.82 * np.sqrt(z * rho / a), rel=1e-3
    )  # Egerton Eq. (3.41)
    assert plasmon_energy(s * z, rho, a) == pytest.approx(np.sqrt(s) * ep, rel=1e-12)
    assert plasmon_energy(z, s * rho, s * a) == pytest.approx(ep, rel=1e-12)


def test_plasmon_energy_errors():
    with pytest.raises(ValueError, match=r"valence_electrons must be > 0"):
        plasmon_energy(0, 2.33, 28.09)
    with pytest.raises(ValueError, match=r"density must be > 0"):
        plasmon_energy(4, -1.0, 28.09)
    with pytest.raises(TypeError, match=r"molar_mass must be a real number"):
        plasmon_energy(4, 2.33, "28")


def test_materials_table():
    for name, spec in MATERIALS.items():
        assert set(spec["edges"]) <= set(EDGE_ONSETS), name
        assert sum(f for _, f, _ in spec["interband"]) <= 1.0
        ep = plasmon_energy(
            spec["valence_electrons"], spec["density"], spec["molar_mass"]
        )
        assert 20.0 < ep < 30.0, (name, ep)  # oxide valence plasmons lie at 20-30 eV
    # tabulated onsets (Gatan EELS Atlas)
    assert EDGE_ONSETS == {
        "Ti M2,3": 35.0,
        "Mn M2,3": 51.0,
        "Fe M2,3": 57.0,
        "La N4,5": 99.0,
    }
    assert MATERIALS["La0.7Sr0.3MnO3"]["molar_mass"] == pytest.approx(
        0.7 * 138.91 + 0.3 * 87.62 + 54.94 + 48.0
    )


# ----------------------------------------------------------------- energy-loss function


@FAST
@given(ep=st.floats(5.0, 40.0), gamma=st.floats(0.3, 3.0))
def test_drude_loss_function_peaks_at_plasmon(ep, gamma):
    E = np.linspace(0.5, 2 * ep, 4001)
    elf = energy_loss_function(E, ep, gamma)
    np.testing.assert_allclose(elf, _drude_elf(E, ep, gamma), rtol=1e-10)
    # the peak of E Γ E_p² / ((E² − E_p²)² + E²Γ²) is within Γ²/E_p of E_p
    assert abs(E[np.argmax(elf)] - ep) < gamma**2 / ep + 2 * (E[1] - E[0])
    assert np.all(elf > 0)


def test_screened_plasmon_and_interband_terms():
    E = np.linspace(0.5, 60.0, 11801)
    # screening by deeper electrons moves the zero of ε, and the peak, to E_p / √ε_b
    elf = energy_loss_function(E, 30.0, 0.5, background_permittivity=2.25)
    assert E[np.argmax(elf)] == pytest.approx(30.0 / 1.5, abs=0.05)
    # an interband oscillator: the documented Drude–Lorentz ε, written out here
    terms = ((8.0, 0.2, 2.0), (15.0, 0.1, 3.0))
    eps = 1.0 - 0.7 * 25.0**2 / (E**2 + 1j * E * 4.0)
    for ej, fj, gj in terms:
        eps += fj * 25.0**2 / (ej**2 - E**2 - 1j * E * gj)
    np.testing.assert_allclose(
        energy_loss_function(E, 25.0, 4.0, terms), (-1.0 / eps).imag, rtol=1e-10
    )


@pytest.mark.parametrize(
    "interband", [(), ((6.5, 0.1, 2.5), (10.5, 0.08, 3.0), (15.5, 0.06, 4.0))]
)
def test_loss_function_obeys_bethe_sum_rule(interband):
    """∫ E Im(−1/ε) dE = π E_p² / 2 whatever the split of
    oscillator strength (Egerton Eq. 3.47)."""
    E = np.geomspace(1e-4, 1e6, 400001)
    elf = energy_loss_function(E, 22.0, 6.0, interband)
    integral = np.trapezoid(E * elf, E)
    assert integral == pytest.approx(np.pi * 22.0**2 / 2, rel=2e-3)


def test_loss_function_errors():
    E = np.linspace(1.0, 40.0, 50)
    with pytest.raises(ValueError, match=r"f-sum rule"):
        energy_loss_function(E, 20.0, 3.0, ((5.0, 0.6, 1.0), (9.0, 0.5, 1.0)))
    with pytest.raises(ValueError, match=r"energy must be positive"):
        energy_loss_function(np.r_[0.0, E], 20.0, 3.0)
    with pytest.raises(ValueError, match=r"energy must be positive"):
        energy_loss_function(-E, 20.0, 3.0)
    with pytest.raises(ValueError, match=r"needs energy > 0, strength >= 0, width > 0"):
        energy_loss_function(E, 20.0, 3.0, ((5.0, -0.1, 1.0),))
    with pytest.raises(ValueError, match=r"each interband term must be"):
        energy_loss_function(E, 20.0, 3.0, ((5.0, 0.1),))
    with pytest.raises(ValueError, match=r"damping must be > 0"):
        energy_loss_function(E, 20.0, 0.0)
    with pytest.raises(ValueError, match=r"plasmon must be > 0"):
        energy_loss_function(E, -20.0, 3.0)
    # exactly the full strength in interband terms is allowed (no free electrons)
    assert np.all(
        np.isfinite(
            energy_loss_function(E, 20.0, 3.0, ((5.0, 0.5, 1.0), (9.0, 0.5, 1.0)))
        )
    )


# ------------------------------------------------------------------------- edge profile


@FAST
@given(
    onset=st.floats(1.0, 100.0),
    delay=st.floats(0.5, 10.0),
    width=st.floats(0.5, 10.0),
    decay=st.floats(0.0, 4.0),
)
def test_edge_profile_shape(onset, delay, width, decay):
    # delay / width <= 20 here; sharper rises: test_edge_profile_sharp_rise_is_finite
    peak = onset + delay
    E = np.unique(
        np.r_[np.linspace(0.1, peak + 5 * delay + 30.0, 701), onset, peak, peak - width]
    )
    p = edge_profile(E, onset, delay=delay, width=width, decay=decay)
    assert p.shape == E.shape
    assert np.all(p[E <= onset] == 0.0)
    assert p[E == peak][0] == pytest.approx(1.0, abs=1e-12)
    assert p.max() <= 1.0 + 1e-12 and p.min() >= 0.0
    if width <= delay / 2:
        # the rise takes about `width` eV: one width below the maximum the profile is
        # near e^(-1/2) (second order of the log of (x/d)^k e^(k(1-x/d)) with
        # k = (d/w)^2)
        assert 0.4 < p[E == peak - width][0] <= np.exp(-0.5) + 1e-12
    rising = (E >= onset) & (E <= peak)
    assert np.all(np.diff(p[rising]) >= -1e-12)
    after = E >= peak
    assert np.all(np.diff(p[after]) <= 1e-12)
    np.testing.assert_allclose(p[after], (E[after] / peak) ** (-decay), rtol=1e-12)


@pytest.mark.parametrize("width", [0.3, 0.1])
def test_edge_profile_sharp_rise_is_finite(width):
    """A sharp rise (delay / width = 30, 90) is valid input:
    the profile must stay in [0, 1].

    Just above the onset (x/d)^k underflows to 0 while
    exp(k (1 − x/d)) overflows to inf.
    """
    E = np.array([30.0, 35.5, 38.0, 43.0, 44.0, 60.0])
    with np.errstate(all="ignore"):
        p = edge_profile(E, 35.0, delay=9.0, width=width)
    assert np.all(np.isfinite(p)), p
    assert p[0] == 0.0 and p[4] == pytest.approx(1.0)
    assert np.all((p >= 0) & (p <= 1.0 + 1e-12))
    assert p[1] < 1e-100  # 0.5 eV above the onset of a rise 9 eV long and < 0.3 eV wide


def test_edge_profile_errors():
    E = np.linspace(1.0, 40.0, 50)
    with pytest.raises(ValueError, match=r"onset must be > 0"):
        edge_profile(E, 0.0)
    with pytest.raises(ValueError, match=r"delay must be > 0"):
        edge_profile(E, 10.0, delay=0.0)
    with pytest.raises(ValueError, match=r"energy must be 1-D"):
        edge_profile(E[None], 10.0)


@FAST
@given(a=st.floats(0.01, 1e4), r=st.floats(0.0, 6.0), ref=st.floats(1.0, 100.0))
def test_power_law(a, r, ref):
    E = np.array([ref, 2 * ref, 0.5 * ref, 3.7])
    np.testing.assert_allclose(
        power_law(E, a, r, ref), a * (E / ref) ** (-r), rtol=1e-12
    )
    assert power_law(E, a, r, ref)[0] == pytest.approx(a)
    assert power_law(E, a, r, ref)[1] == pytest.approx(a * 2.0 ** (-r))
    with pytest.raises(ValueError, match=r"energy must be positive"):
        power_law(np.array([0.0, 1.0]), a, r)


# -------------------------------------------------------------------- reference spectra


@pytest.mark.parametrize("material", list(MATERIALS))
def test_reference_spectrum_unit_area_positive(material):
    s = reference_spectrum(material, ENERGY)
    assert s.shape == ENERGY.shape and np.all(s > 0)
    assert np.sum(s) * 0.5 == pytest.approx(1.0, rel=1e-12)
    # on an uneven axis the area is still one (rectangles of np.gradient's widths)
    uneven = np.r_[np.arange(5.0, 40.0, 0.25), np.arange(40.0, 125.0, 1.0)]
    su = reference_spectrum(material, uneven)
    assert np.sum(su * np.gradient(uneven)) == pytest.approx(1.0, rel=1e-12)
    # the valence-loss maximum lies near the free-electron plasmon energy of the layer
    spec = MATERIALS[material]
    ep = plasmon_energy(spec["valence_electrons"], spec["density"], spec["molar_mass"])
    assert abs(ENERGY[np.argmax(s)] - ep) < 3.5


@pytest.mark.parametrize("material", list(MATERIALS))
@pytest.mark.parametrize("shift", [0.0, 4.0, -2.5])
def test_first_edge_starts_exactly_at_its_onset(material, shift):
    """Without edges the spectrum is the loss function alone; the ratio to it stays
    constant (the normalization) below the first edge onset and departs from it right
    above."""
    s = reference_spectrum(material, ENERGY, edge_shift=shift)
    s0 = reference_spectrum(material, ENERGY, edge_strength=0.0)
    q = s / s0
    first = min(EDGE_ONSETS[e] for e in MATERIALS[material]["edges"]) + shift
    below = ENERGY <= first
    np.testing.assert_allclose(q[below], q[0], rtol=1e-12)
    assert q[np.searchsorted(ENERGY, first, side="right")] > q[0] * (1 + 1e-9)
    assert np.all(q[~below] > q[0])  # edges only add intensity
    # a layer without edges in range: no departure at all
    np.testing.assert_allclose(
        reference_spectrum(material, ENERGY, edge_strength=0.0, edge_shift=shift),
        s0,
        rtol=1e-14,
    )


# From each onset to the edge's maximum: the cited delays of EDGE_SHAPES.
_ABOVE = {edge: EDGE_SHAPES[edge]["delay"] for edge in EDGE_ONSETS}


@pytest.mark.parametrize("edge", list(EDGE_ONSETS))
def test_spectrum_rises_across_each_edge_of_the_elements_held(edge):
    onset = EDGE_ONSETS[edge]
    i0 = np.searchsorted(ENERGY, onset)
    i1 = np.searchsorted(ENERGY, onset + _ABOVE[edge])
    rise = {
        m: reference_spectrum(m, ENERGY)[i1] / reference_spectrum(m, ENERGY)[i0]
        for m in MATERIALS
    }
    holders = [m for m in MATERIALS if edge in MATERIALS[m]["edges"]]
    others = [m for m in MATERIALS if m not in holders]
    assert len(holders) == 1
    # the falling loss tail of the other layers drops; the layer holding the edge
    # keeps at least twice as much (Ti M2,3 sits on SrTiO3's steep plasmon tail, so
    # its maximum need not top the intensity at the onset)
    assert rise[holders[0]] > 2.0 * max(rise[m] for m in others)
    # a stronger edge rises more, and without edges nothing rises
    stronger = reference_spectrum(holders[0], ENERGY, edge_strength=0.6)
    assert stronger[i1] / stronger[i0] > rise[holders[0]]
    bare = reference_spectrum(holders[0], ENERGY, edge_strength=0.0)
    assert bare[i1] / bare[i0] < 1.0
    assert rise[holders[0]] > 2.0 * bare[i1] / bare[i0]


@pytest.mark.parametrize("edge", list(EDGE_ONSETS))
def test_edge_shapes_are_cited_and_peak_where_measured(edge):
    shape = EDGE_SHAPES[edge]
    assert shape["citation"] and shape["width"] <= shape["delay"]
    # the model's maximum: onset + delay, within 2 eV of the measured maximum
    peak = EDGE_ONSETS[edge] + shape["delay"]
    assert abs(peak - shape["measured_maximum"]) <= 2.0
    E = np.arange(EDGE_ONSETS[edge] - 5.0, EDGE_ONSETS[edge] + 40.0, 0.05)
    p = edge_profile(
        E,
        EDGE_ONSETS[edge],
        delay=shape["delay"],
        width=shape["width"],
        decay=shape["decay"],
    )
    assert E[np.argmax(p)] == pytest.approx(peak, abs=0.05)
    # the three M2,3 maxima are distinct now: Mn and Fe no longer 9 eV above onset
    maxima = [EDGE_ONSETS[e] + EDGE_SHAPES[e]["delay"] for e in EDGE_ONSETS]
    assert maxima == sorted(maxima) and len(set(maxima)) == 4


def test_measured_low_loss_table():
    for name, entry in MEASURED_LOW_LOSS.items():
        assert name in MATERIALS and entry["citation"]
        if entry["energy"] is not None:
            assert 10.0 < entry["energy"] < 40.0 and entry["uncertainty"] > 0


def test_edge_shift_moves_the_edges():
    shift = 6.0
    for material in MATERIALS:
        for edge in MATERIALS[material]["edges"]:
            i0 = np.searchsorted(ENERGY, EDGE_ONSETS[edge] + shift)
            i1 = np.searchsorted(ENERGY, EDGE_ONSETS[edge] + shift + _ABOVE[edge])
            s = reference_spectrum(material, ENERGY, edge_shift=shift)
            s_plain = reference_spectrum(material, ENERGY)
            shifted_rise = s[i1] / s[i0]
            assert shifted_rise > 1.0, (material, edge)
            # the unshifted edge at the same energies is already past its rise
            assert shifted_rise > s_plain[i1] / s_plain[i0], (material, edge)


def test_reference_spectrum_errors():
    with pytest.raises(ValueError, match=r"unknown material 'Si'"):
        reference_spectrum("Si", ENERGY)
    with pytest.raises(ValueError, match=r"strictly increasing"):
        reference_spectrum("SrTiO3", ENERGY[::-1])
    with pytest.raises(ValueError, match=r"energy must be positive"):
        reference_spectrum("SrTiO3", ENERGY - 10.0)
    with pytest.raises(ValueError, match=r"edge_strength must be >= 0"):
        reference_spectrum("SrTiO3", ENERGY, edge_strength=-0.1)
    with pytest.raises(ValueError, match=r"NaN"):
        reference_spectrum("SrTiO3", np.r_[ENERGY, np.nan])


# ------------------------------------------------------------------ make_eels_interface


@pytest.fixture(scope="module")
def interface():
    return make_eels_interface(random_state=0)


def test_interface_shapes_and_energy(interface):
    d = interface
    assert d.cube.shape == d.clean.shape == (32, 48, 241)
    assert d.energy[0] == 5.0 and d.energy[-1] == 125.0
    np.testing.assert_allclose(np.diff(d.energy), 0.5)
    assert d.references.shape == (3, 241)
    assert list(d.reference_names) == ["SrTiO3", "La0.7Sr0.3MnO3", "BiFeO3"]
    assert d.coefficients.shape == d.fractions.shape == (32, 48, 3)
    assert d.thickness.shape == d.interface_coefficient.shape == (32, 48)
    assert d.interface_spectrum.shape == (241,) and d.interfaces.shape == (32, 2)
    assert np.array_equal(d.noise_variance, d.clean)
    assert np.all(d.cube == np.round(d.cube)) and d.cube.min() >= 0  # counts


def test_interface_forward_model(interface):
    d = interface
    model = np.einsum("yxk,kc->yxc", d.coefficients, d.references)
    model += d.interface_coefficient[..., None] * d.interface_spectrum
    np.testing.assert_allclose(d.clean, model, rtol=1e-12)
    np.testing.assert_allclose(
        d.coefficients, d.fractions * d.thickness[..., None], rtol=1e-12
    )
    np.testing.assert_allclose(d.fractions.sum(axis=-1), 1.0, atol=1e-12)
    assert d.fractions.min() >= 0.0
    # the thickness wedge: t/λ from 0.45 on the first row to 0.75 on the last,
    # ±4 % variation
    rows = d.thickness.mean(axis=1)
    np.testing.assert_allclose(rows, np.linspace(0.45, 0.75, 32), rtol=0.1)
    assert np.all(d.interface_coefficient >= 0) and d.interface_coefficient.max() > 0


def test_interface_layer_order(interface):
    dominant = np.argmax(interface.fractions, axis=-1)
    assert np.all(dominant[:, 0] == 0) and np.all(dominant[:, -1] == 2)
    assert np.all(
        np.diff(dominant, axis=1) >= 0
    )  # STO -> LSMO -> BFO from left to right
    assert all(set(row) == {0, 1, 2} for row in dominant)
    # the interfaces sit near the boundaries of the layer fractions
    bounds = 48 * np.cumsum([0.34, 0.32])
    assert np.all(np.abs(interface.interfaces - bounds) < 5.0)
    assert np.all(interface.interfaces[:, 0] < interface.interfaces[:, 1])
    # the interface layer sits at the LSMO/BFO interface
    peak_cols = np.argmax(interface.interface_coefficient, axis=1)
    assert np.all(np.abs(peak_cols - interface.interfaces[:, 1]) <= 1.0)


def test_interface_references_carry_the_dose():
    d = make_eels_interface(
        shape=(2, 6), noise=None, resolution_fwhm=0.0, dose=1234.0, random_state=1
    )
    for name, ref in zip(d.reference_names, d.references):
        np.testing.assert_allclose(
            ref, 1234.0 * 0.5 * reference_spectrum(name, d.energy), rtol=1e-12
        )
        assert ref.sum() == pytest.approx(1234.0, rel=1e-12)
    assert d.interface_spectrum.sum() == pytest.approx(1234.0, rel=1e-12)
    # broadened by the resolution, the sums change only by what leaks
    # past the ends of the axis
    blurred = make_eels_interface(shape=(2, 6), noise=None, dose=1234.0, random_state=1)
    np.testing.assert_allclose(blurred.references.sum(axis=1), 1234.0, rtol=1e-2)
    assert blurred.interface_spectrum.sum() == pytest.approx(1234.0, rel=1e-2)


def test_interface_noise():
    clean = make_eels_interface(noise=None, random_state=3)
    assert np.array_equal(clean.cube, clean.clean)
    noisy = make_eels_interface(random_state=3)
    np.testing.assert_array_equal(noisy.clean, clean.clean)
    col = noisy.cube.shape[1] // 2
    counts, expected = noisy.cube[:, col], noisy.clean[:, col]
    z = (counts - expected) / np.sqrt(expected)
    n = z.size
    # Poisson: variance equals the mean, pixel by pixel
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert z.var() == pytest.approx(1.0, abs=4 * np.sqrt(2.0 / n))
    # the ratio var/mean over bright channels of pixels with about the same expectation
    bright = expected > np.percentile(expected, 90)
    assert np.var(counts[bright] - expected[bright]) / expected[
        bright
    ].mean() == pytest.approx(1.0, abs=0.15)


def test_interface_line_scan():
    line = make_eels_interface(shape=(7, 60), scan="line", random_state=0)
    assert line.cube.shape == line.clean.shape == (60, 241)
    assert line.coefficients.shape == line.fractions.shape == (60, 3)
    assert line.thickness.shape == line.interface_coefficient.shape == (60,)
    np.testing.assert_allclose(line.thickness, 0.6)  # the middle of the wedge
    model = (
        line.coefficients @ line.references
        + line.interface_coefficient[:, None] * line.interface_spectrum
    )
    np.testing.assert_allclose(line.clean, model, rtol=1e-12)
    dominant = np.argmax(line.fractions, axis=-1)
    assert dominant[0] == 0 and dominant[-1] == 2 and np.all(np.diff(dominant) >= 0)


def test_interface_determinism():
    a = make_eels_interface(shape=(6, 20), random_state=11)
    b = make_eels_interface(shape=(6, 20), random_state=11)
    c = make_eels_interface(shape=(6, 20), random_state=12)
    for key in ("cube", "clean", "coefficients", "interfaces"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a.cube, c.cube)
    assert not np.array_equal(a.interfaces, c.interfaces)
    g = make_eels_interface(shape=(6, 20), random_state=np.random.default_rng(11))
    np.testing.assert_array_equal(g.cube, a.cube)


def test_interface_without_interface_layer():
    d = make_eels_interface(
        shape=(8, 30), interface_component=0.0, noise=None, random_state=2
    )
    assert np.all(d.interface_coefficient == 0.0)
    np.testing.assert_allclose(d.clean, d.coefficients @ d.references, rtol=1e-12)


def test_interface_abrupt_and_smooth():
    abrupt = make_eels_interface(
        shape=(4, 30), intermixing=0.0, roughness=0.0, noise=None, random_state=0
    )
    assert set(np.unique(abrupt.fractions)) <= {0.0, 1.0}
    assert np.all(
        abrupt.fractions == abrupt.fractions[0]
    )  # no roughness: every row alike
    smooth = make_eels_interface(
        shape=(4, 30), intermixing=3.0, noise=None, random_state=0
    )
    assert np.sum((smooth.fractions > 0.01) & (smooth.fractions < 0.99)) > 8 * 4


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(shape=(0, 5)), ValueError, r"shape\[0\] must be >= 1"),
        (dict(shape=(4,)), ValueError, r"shape must be a pair"),
        (dict(scan="point"), ValueError, r"scan must be 'area' or 'line'"),
        (
            dict(energy_range=(10.0, 5.0)),
            ValueError,
            r"energy_range must be increasing",
        ),
        (dict(energy_range=(-1.0, 5.0)), ValueError, r"energy_range\[0\] must be > 0"),
        (
            dict(energy_range=("a", 5.0)),
            TypeError,
            r"energy_range\[0\] must be a real number",
        ),
        (dict(energy_step=0.0), ValueError, r"energy_step must be > 0"),
        (dict(energy_step=100.0), ValueError, r"fewer than 3 channels"),
        (dict(layer_fractions=(0.5, 0.5)), ValueError, r"three numbers"),
        (
            dict(layer_fractions=(0.5, -0.1, 0.5)),
            ValueError,
            r"layer_fractions must be > 0",
        ),
        (dict(layer_fractions=(0.5, "x", 0.5)), TypeError, r"three positive numbers"),
        (dict(thickness=(0.0, 0.5)), ValueError, r"thickness\[0\] must be > 0"),
        (dict(intermixing=-1.0), ValueError, r"intermixing must be >= 0"),
        (dict(roughness=-1.0), ValueError, r"roughness must be >= 0"),
        (dict(dose=0.0), ValueError, r"dose must be > 0"),
        (dict(resolution_fwhm=-1.0), ValueError, r"resolution_fwhm must be >= 0"),
        (
            dict(interface_component=-0.1),
            ValueError,
            r"interface_component must be >= 0",
        ),
        (dict(noise="gaussian"), ValueError, r"noise must be 'poisson' or None"),
        (dict(random_state=-1), ValueError, r"non-negative integer"),
        (dict(random_state="seed"), TypeError, r"random_state must be"),
    ],
)
def test_interface_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_eels_interface(**kwargs)
