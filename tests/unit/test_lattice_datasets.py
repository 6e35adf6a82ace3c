"""Tests of the atomic-lattice dataset makers lectlib.datasets.make_lattice_phases and
make_charge_order.

Expected values come from crystallography, not from the implementation: atom densities
of 1 / (cell area), reciprocal vectors with b_i · a_j = δ_ij (|b| = 1/a for a square
lattice, 2/(√3 a) at θ + 30° + 60° n for a hexagonal one), Fourier transforms of windows
computed here with numpy (zero-padded, or a direct sum at the exact frequency), Gaussian
atoms evaluated exactly, the K points and cell of a √3 × √3 R30° superlattice, and the
rotation symmetry of the charge-order patterns (threefold or twofold).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from scipy.signal import get_window

from lectlib.datasets import LATTICE_PHASES, make_charge_order, make_lattice_phases

FAST = settings(deadline=None, max_examples=25)

CLEAN = dict(drift=0.0, vacancies=0.0, defect_lines=0, noise=None)


# ------------------------------------------------------------------------------ helpers


def _hann2(n):
    w = get_window("hann", n, fftbins=False)
    return np.outer(w, w)


def _window_inside(label_map, label, size):
    """Top-left corner of a size x size window lying wholly in the region ``label``."""
    edt = ndimage.distance_transform_edt(np.pad(label_map == label, 1))[1:-1, 1:-1]
    r, c = np.unravel_index(np.argmax(edt), edt.shape)
    r0, c0 = r - size // 2, c - size // 2
    assert edt.max() > size / np.sqrt(2) + 1, "no window fits in the region"
    assert np.all(label_map[r0 : r0 + size, c0 : c0 + size] == label)
    return r0, c0


def _dft_at(win, ks):
    """|Σ win(r) exp(−2πi k·r)| at arbitrary (k_row, k_col), cycles per pixel."""
    rr, cc = np.mgrid[: win.shape[0], : win.shape[1]]
    return np.array(
        [abs(np.sum(win * np.exp(-2j * np.pi * (k[0] * rr + k[1] * cc)))) for k in ks]
    )


def _direction(angle_deg):
    """Unit vector at ``angle`` from +col towards +row, in (row, col)."""
    t = np.radians(angle_deg)
    return np.array([np.sin(t), np.cos(t)])


def _expected_first_shell(symmetry, spacing, angle):
    """First-order reciprocal vectors (all ± pairs) of a lattice whose nearest-neighbor
    vector points along ``angle``: square 1/a at θ + 90° n, hexagonal 2/(√3 a) at
    θ + 30° + 60° n."""
    if symmetry == "square":
        return [1 / spacing * _direction(angle + 90 * n) for n in range(4)]
    return [
        2 / (np.sqrt(3) * spacing) * _direction(angle + 30 + 60 * n) for n in range(6)
    ]


def _inside(points, shape):
    h, w = shape
    return (
        (points[:, 0] >= -0.5)
        & (points[:, 0] < h - 0.5)
        & (points[:, 1] >= -0.5)
        & (points[:, 1] < w - 0.5)
    )


# ------------------------------------------------------------------ make_lattice_phases


def test_lattice_phases_shapes_and_fields():
    d = make_lattice_phases((80, 96), random_state=0)
    for key in ("image", "clean", "phase_map", "grain_map"):
        assert d[key].shape == (80, 96), key
    assert d.displacement.shape == (2, 80, 96)
    assert d.atoms.ndim == 2 and d.atoms.shape[1] == 2
    assert d.atom_phase.shape == (len(d.atoms),)
    assert np.issubdtype(d.phase_map.dtype, np.integer)
    assert len(d.phases) == len(LATTICE_PHASES)
    assert np.all(np.isfinite(d.image))
    assert isinstance(d.DESCR, str) and "80 x 96" in d.DESCR


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    n_phases=st.integers(1, 4),
    extra=st.integers(0, 4),
    h=st.integers(24, 72),
    w=st.integers(24, 72),
)
def test_every_phase_present_and_constant_in_each_grain(seed, n_phases, extra, h, w):
    phases = [
        dict(symmetry=("square", "hexagonal")[k % 2], spacing=6.0 + k, angle=15.0 * k)
        for k in range(n_phases)
    ]
    d = make_lattice_phases(
        (h, w), phases=phases, n_grains=n_phases + extra, random_state=seed, noise=None
    )
    grains = np.unique(d.grain_map)
    assert grains.min() >= 0 and grains.max() < n_phases + extra
    for g in grains:
        assert np.unique(d.phase_map[d.grain_map == g]).size == 1
    # every phase is assigned to some grain;
    # with one grain per phase each seed owns a cell
    assert set(np.unique(d.phase_map)) <= set(range(n_phases))
    if extra == 0:
        assert set(np.unique(d.phase_map)) == set(range(n_phases))


@pytest.mark.parametrize("seed", range(5))
def test_every_default_phase_is_present(seed):
    d = make_lattice_phases((128, 128), random_state=seed)
    assert set(np.unique(d.phase_map)) == {0, 1, 2}
    assert set(np.unique(d.atom_phase)) == {0, 1, 2}


def test_every_phase_present_in_a_small_image():
    """'every phase at least once' also holds when the image is small: with 6 phases in
    6 grains of an 8 x 8 image, no grain may be left without pixels."""
    phases = [dict(symmetry="square", spacing=4.0, angle=15.0 * k) for k in range(6)]
    d = make_lattice_phases(
        (8, 8), phases=phases, n_grains=6, noise=None, random_state=4
    )
    assert set(np.unique(d.phase_map)) == set(range(6))


def test_grains_are_voronoi_cells():
    """Each grain is convex (a Voronoi cell):
    the pixels between two of its pixels are in it."""
    d = make_lattice_phases((96, 96), random_state=3, **CLEAN)
    rng = np.random.default_rng(0)
    for g in np.unique(d.grain_map):
        pix = np.argwhere(d.grain_map == g)
        pairs = pix[rng.integers(0, len(pix), (200, 2))]
        for t in (0.25, 0.5, 0.75):
            mid = pairs[:, 0] + t * (pairs[:, 1] - pairs[:, 0])
            inside = d.grain_map[tuple(np.rint(mid).astype(int).T)] == g
            assert inside.mean() > 0.97


@pytest.mark.parametrize("seed", range(4))
def test_atoms_of_a_phase_sit_in_pixels_of_that_phase(seed):
    d = make_lattice_phases((128, 128), random_state=seed, **CLEAN)
    assert np.all(d.displacement == 0)
    ins = _inside(d.atoms, (128, 128))
    idx = np.rint(d.atoms[ins]).astype(int)
    np.testing.assert_array_equal(d.phase_map[idx[:, 0], idx[:, 1]], d.atom_phase[ins])


@pytest.mark.parametrize("seed", range(3))
def test_atom_density_is_one_per_unit_cell(seed):
    d = make_lattice_phases((256, 256), random_state=seed, **CLEAN)
    ins = _inside(d.atoms, (256, 256))
    total_expected = 0.0
    for k, ph in enumerate(d.phases):
        cell = ph["spacing"] ** 2 * (
            1.0 if ph["symmetry"] == "square" else np.sqrt(3) / 2
        )
        expected = np.sum(d.phase_map == k) / cell
        total_expected += expected
        assert np.sum(ins & (d.atom_phase == k)) == pytest.approx(expected, rel=0.15)
    assert np.sum(ins) == pytest.approx(total_expected, rel=0.03)


def test_lattices_are_periodic_with_the_phase_vectors():
    """Atoms of one phase differ by integer combinations of the
    phase's lattice vectors."""
    d = make_lattice_phases((128, 128), random_state=5, **CLEAN)
    for k, ph in enumerate(d.phases):
        s, t = ph["spacing"], ph["angle"]
        second = t + (90 if ph["symmetry"] == "square" else 60)
        basis = np.array([s * _direction(t), s * _direction(second)]).T
        pts = d.atoms[d.atom_phase == k]
        nm = np.linalg.solve(basis, (pts - pts[0]).T).T
        np.testing.assert_allclose(nm, np.rint(nm), atol=1e-9)


def test_local_lattice_matches_the_phase_spec():
    """The zero-padded Fourier transform of a 48 x 48 window inside a grain of each
    phase peaks at the first reciprocal shell of that phase: |k| = 1/a (square) or
    2/(√3 a) (hexagonal) along the expected directions."""
    d = make_lattice_phases((256, 256), random_state=0, **CLEAN)
    L, P = 48, 512
    k = np.fft.fftfreq(P)
    KY, KX = np.meshgrid(k, k, indexing="ij")
    for label, ph in enumerate(d.phases):
        r0, c0 = _window_inside(d.phase_map, label, L)
        win = d.image[r0 : r0 + L, c0 : c0 + L]
        F = np.abs(np.fft.fft2((win - win.mean()) * _hann2(L), s=(P, P)))
        F[np.hypot(KY, KX) < 0.06] = 0  # the taper's central lobe
        shell = _expected_first_shell(ph["symmetry"], ph["spacing"], ph["angle"])
        top = np.array([KY.flat[np.argmax(F)], KX.flat[np.argmax(F)]])
        # the strongest spot is one of the first-shell vectors
        assert min(np.linalg.norm(top - g) for g in shell) < 0.004, (ph, top)
        # and every first-shell vector carries a strong local maximum close to it
        for g in shell:
            near = np.hypot(KY - g[0], KX - g[1]) < 0.008
            assert F[near].max() > 0.5 * F.max(), (ph, g)
            loc = np.array([KY[near][np.argmax(F[near])], KX[near][np.argmax(F[near])]])
            assert np.linalg.norm(loc - g) < 0.004, (ph, g, loc)


def test_clean_noise_free_and_reproducible():
    a = make_lattice_phases((64, 64), random_state=7, **CLEAN)
    b = make_lattice_phases((64, 64), random_state=7, **CLEAN)
    np.testing.assert_array_equal(a.image, a.clean)  # noise=None: no noise
    np.testing.assert_array_equal(a.displacement, 0.0)  # drift=0: no displacement
    for key in ("image", "phase_map", "grain_map", "atoms", "atom_phase"):
        np.testing.assert_array_equal(a[key], b[key])


def test_clean_image_is_gaussian_atoms_at_the_listed_positions():
    """The clean image is a sum of Gaussians of width atom_size centered on ``atoms``,
    up to the bilinear-splat approximation (measured ≤ 0.12 of an atom's peak in the
    interior) — also at the image borders, where atoms just outside the image still
    show."""
    d = make_lattice_phases((64, 64), random_state=3, **CLEAN)
    s = d.params["atom_size"]
    rr, cc = np.mgrid[:64, :64]
    ref = np.zeros((64, 64))
    for p in d.atoms:
        ref += np.exp(-((rr - p[0]) ** 2 + (cc - p[1]) ** 2) / (2 * s * s))
    m = 6
    assert np.abs(d.clean - ref)[m:-m, m:-m].max() < 0.2
    assert np.abs(d.clean - ref).max() < 0.2


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5])
def test_vacancies_remove_that_fraction_of_atoms(fraction):
    full = make_lattice_phases((192, 192), random_state=11, **CLEAN)
    holey = make_lattice_phases(
        (192, 192), random_state=11, **{**CLEAN, "vacancies": fraction}
    )
    n = len(full.atoms)
    missing = 1 - len(holey.atoms) / n
    assert abs(missing - fraction) < 4 * np.sqrt(fraction * (1 - fraction) / n)
    # the survivors are atoms of the full lattice
    dist = np.min(
        np.linalg.norm(holey.atoms[:, None] - full.atoms[None, ::1], axis=-1), axis=1
    )
    assert dist.max() < 1e-9


def test_defect_lines_remove_straight_rows_of_atoms():
    full = make_lattice_phases((128, 128), random_state=2, **CLEAN)
    lined = make_lattice_phases(
        (128, 128), random_state=2, **{**CLEAN, "defect_lines": 2}
    )
    assert len(lined.atoms) < len(full.atoms)


def test_drift_is_a_smooth_displacement_of_about_drift_pixels():
    """The largest displacement is ``drift`` per component (so between drift and √2
    drift in length), the field varies slowly (scale ~ image / 4), and atoms move by the
    field."""
    d0 = make_lattice_phases((96, 96), random_state=4, **CLEAN)
    d = make_lattice_phases((96, 96), random_state=4, **{**CLEAN, "drift": 2.0})
    mag = np.hypot(*d.displacement)
    assert 2.0 - 1e-9 <= mag.max() <= 2.0 * np.sqrt(2) + 1e-9
    gradient = np.abs(np.gradient(d.displacement, axis=(1, 2))).max()
    assert gradient < 0.2  # < 0.2 px of displacement per px
    shift = np.linalg.norm(d.atoms - d0.atoms, axis=1)
    assert 0.5 < shift.max() <= mag.max() + 1e-9


@pytest.mark.parametrize("noise", ["gaussian", "poisson"])
def test_lattice_deterministic_given_random_state(noise):
    a = make_lattice_phases((64, 64), noise=noise, random_state=21)
    b = make_lattice_phases(
        (64, 64), noise=noise, random_state=np.random.default_rng(21)
    )
    c = make_lattice_phases((64, 64), noise=noise, random_state=22)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.atoms, b.atoms)
    assert not np.array_equal(a.image, c.image)
    assert not np.array_equal(a.image, a.clean)


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        (dict(phases=[]), ValueError, r"phases must hold at least one phase"),
        (
            dict(phases=[dict(symmetry="square", spacing=8.0)]),
            ValueError,
            r"each phase needs symmetry, spacing and angle",
        ),
        (
            dict(phases=[dict(symmetry="cubic", spacing=8.0, angle=0.0)], n_grains=1),
            ValueError,
            r"symmetry must be 'square' or 'hexagonal'",
        ),
        (
            dict(phases=[dict(symmetry="square", spacing=1.0, angle=0.0)], n_grains=1),
            ValueError,
            r"spacing must be >= 2",
        ),
        (dict(n_grains=2), ValueError, r"n_grains must be >= 3"),
        (dict(n_grains=4.5), TypeError, r"n_grains must be an integer"),
        (dict(drift=-1.0), ValueError, r"drift must be >= 0"),
        (dict(vacancies=1.0), ValueError, r"vacancies must be < 1"),
        (dict(defect_lines=-1), ValueError, r"defect_lines must be >= 0"),
        (dict(atom_size=0.0), ValueError, r"atom_size must be > 0"),
        (
            dict(noise="speckle"),
            ValueError,
            r"noise must be 'gaussian', 'poisson' or None",
        ),
        (dict(noise_level=-0.1), ValueError, r"noise_level must be >= 0"),
        (dict(shape=(0, 32)), ValueError, r"shape\[0\] must be >= 1"),
        (dict(shape=32), TypeError, r"shape must be a pair"),
        (
            dict(random_state=-1),
            ValueError,
            r"random_state must be a non-negative integer",
        ),
        (dict(random_state="seed"), TypeError, r"random_state must be None"),
    ],
)
def test_lattice_phases_bad_input(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        make_lattice_phases(**{"shape": (32, 32), **kwargs})


# -------------------------------------------------------------------- make_charge_order


@pytest.mark.parametrize(
    "orders",
    [
        ("trigonal",),
        ("trigonal", "dimer"),
        ("none", "trigonal", "dimer"),
        ("dimer", "none"),
    ],
)
def test_region_map_labels_every_order(orders):
    d = make_charge_order((96, 96), orders=orders, random_state=1)
    assert d.region_map.shape == (96, 96)
    assert d.orders == tuple(orders)
    labels, counts = np.unique(d.region_map, return_counts=True)
    np.testing.assert_array_equal(labels, np.arange(len(orders)))
    # split at quantiles of a smooth field: equal areas
    np.testing.assert_allclose(counts / counts.sum(), 1 / len(orders), atol=0.01)
    assert set(d.spots) == set(orders)


def test_hexagonal_is_the_former_name_of_trigonal():
    a = make_charge_order((48, 48), orders=("hexagonal", "dimer"), random_state=3)
    b = make_charge_order((48, 48), orders=("trigonal", "dimer"), random_state=3)
    assert a.orders == ("trigonal", "dimer")
    np.testing.assert_array_equal(a.image, b.image)


@pytest.mark.parametrize("spacing, angle", [(6.0, 0.0), (7.5, 13.0), (5.0, -40.0)])
def test_bragg_vectors_are_the_first_hexagon(spacing, angle):
    """|G| = 2/(√3 a) for all three, 60° or 120° apart, along θ + 30° + 60° n."""
    d = make_charge_order(
        (64, 64), spacing=spacing, angle=angle, random_state=0, noise=None
    )
    assert d.bragg.shape == (3, 2) and d.q.shape == (3, 2)
    np.testing.assert_allclose(
        np.linalg.norm(d.bragg, axis=1), 2 / (np.sqrt(3) * spacing), rtol=1e-12
    )
    for i in range(3):
        for j in range(i + 1, 3):
            cos = (
                d.bragg[i]
                @ d.bragg[j]
                / np.linalg.norm(d.bragg[i])
                / np.linalg.norm(d.bragg[j])
            )
            angle_ij = np.degrees(np.arccos(np.clip(cos, -1, 1)))
            assert min(abs(angle_ij - 60), abs(angle_ij - 120)) < 1e-9, (i, j, angle_ij)
    shell = _expected_first_shell("hexagonal", spacing, angle)
    for g in d.bragg:
        assert min(np.linalg.norm(g - s) for s in shell) < 1e-12


@pytest.mark.parametrize("spacing, angle", [(6.0, 0.0), (7.5, 13.0), (5.0, -40.0)])
def test_q_are_the_k_points_of_a_root3_superlattice(spacing, angle):
    """√3 × √3 R30°: the Q_i are the Brillouin-zone corners of the Cl lattice,
    |Q| = |G| / √3 = 2 / (3a) along the bond directions θ + 60° n (30° from the Bragg
    spots), 120° apart, summing to zero, any two differing by a Bragg vector; the
    real-space cell is √3 a long, three Cl cells in area, and reciprocal to the Q."""
    d = make_charge_order(
        (64, 64), spacing=spacing, angle=angle, random_state=2, noise=None
    )
    np.testing.assert_allclose(np.linalg.norm(d.q, axis=1), 2 / (3 * spacing))
    bonds = [_direction(angle + 60 * n) for n in range(6)]
    for qi in d.q:
        unit = qi / np.linalg.norm(qi)
        assert min(np.linalg.norm(unit - b) for b in bonds) < 1e-9
    np.testing.assert_allclose(d.q.sum(axis=0), 0, atol=1e-15)
    # Q_i − Q_j = h b₁ + k b₂ with integers h, k (b₁, b₂ = the first two Bragg rows)
    basis = d.bragg[:2].T
    for i in range(3):
        for j in range(3):
            hk = np.linalg.solve(basis, d.q[i] - d.q[j])
            np.testing.assert_allclose(hk, np.rint(hk), atol=1e-9)
    A = d.superlattice
    np.testing.assert_allclose(np.linalg.norm(A, axis=1), np.sqrt(3) * spacing)
    cell = abs(np.linalg.det(A))
    assert cell == pytest.approx(3 * np.sqrt(3) / 2 * spacing**2, rel=1e-12)
    phase = d.q @ A.T  # exp(2πi Q·A) = 1
    np.testing.assert_allclose(phase, np.rint(phase), atol=1e-9)
    # every Cl atom sits on the Cl lattice, whose vectors are reciprocal to the Bragg
    phase = (d.atoms - d.atoms[0]) @ d.bragg.T
    np.testing.assert_allclose(phase, np.rint(phase), atol=1e-9)


@pytest.mark.parametrize("spacing", [4.0, 6.0, 9.0])
def test_pixel_size_gives_the_rucl3_periods(spacing):
    """The Cl spacing is 3.45 Å and the Ru honeycomb period √3 × 3.45 = 5.98 Å
    (5.97 Å in the paper)."""
    d = make_charge_order((32, 32), spacing=spacing, random_state=0, noise=None)
    assert spacing * d.pixel_size == pytest.approx(3.45)
    ru = np.linalg.norm(d.superlattice, axis=1) * d.pixel_size
    np.testing.assert_allclose(ru, 5.97, atol=0.01)


def _spots(image, q, bragg, r0, c0, L):
    """Superlattice (±q) and Bragg (±G) magnitudes of a Hann-tapered L x L window at the
    exact frequencies, and the median magnitude of the window's FFT as the
    background."""
    win = image[r0 : r0 + L, c0 : c0 + L]
    win = (win - win.mean()) * _hann2(L)
    on = _dft_at(win, np.concatenate([q, -q]))
    bragg_mag = _dft_at(win, np.concatenate([bragg, -bragg]))
    background = np.median(np.abs(np.fft.fft2(win)))
    return on, bragg_mag, background


@pytest.mark.parametrize("seed", range(3))
def test_superlattice_spots_of_single_order_images(seed):
    """Whole images of one order (no noise), 96 x 96 window: the trigonal order has all
    six ±Q_i, equally strong; the dimer-like one ±Q_1 and ±Q_2 as strong, and not
    ±Q_3; none has no superlattice spot."""
    out = {}
    for order in ("trigonal", "dimer", "none"):
        d = make_charge_order((96, 96), orders=(order,), noise=None, random_state=seed)
        on, bragg_mag, _ = _spots(d.image, d.q, d.bragg, 0, 0, 96)
        out[order] = on / bragg_mag[:2].mean()  # relative to the first Bragg spots
        present = list(d.spots[order]) + [i + 3 for i in d.spots[order]]
        absent = [i for i in range(6) if i not in present]
        assert np.all(out[order][present] > 0.1), (order, out[order])
        assert np.all(out[order][absent] < 0.01), (order, out[order])
    assert d.spots == {"none": ()} and d.suppressed == 2
    # equal cosines: equal spots, the same in both orders (Hann leakage aside)
    np.testing.assert_allclose(out["trigonal"], out["trigonal"].mean(), rtol=0.05)
    np.testing.assert_allclose(out["dimer"][[0, 1, 3, 4]], out["trigonal"][0], rtol=0.1)


def test_superlattice_spots_inside_regions_of_a_mixed_image():
    d = make_charge_order(
        (192, 192),
        orders=("none", "trigonal", "dimer"),
        length_scale=80,
        noise="gaussian",
        noise_level=0.1,
        random_state=0,
    )
    L = 40
    s = d.suppressed
    for label, order in enumerate(d.orders):
        r0, c0 = _window_inside(d.region_map, label, L)
        on, bragg_mag, bg = _spots(d.image, d.q, d.bragg, r0, c0, L)
        assert np.all(bragg_mag[:2] > 30 * bg)  # the lattice is there
        ratio = on / bg
        if order == "trigonal":
            assert np.all(ratio > 10), ratio
        elif order == "dimer":
            assert np.all(np.delete(ratio, [s, s + 3]) > 10), ratio
            assert ratio[s] < 4 and ratio[s + 3] < 4, ratio
        else:
            assert np.all(ratio < 4), ratio


def _wave(order, seed, shape=(64, 64)):
    """The charge-density wave alone: an image of one order minus the bare lattice of
    the same seed (same atoms)."""
    d = make_charge_order(shape, orders=(order,), noise=None, random_state=seed)
    bare = make_charge_order(shape, orders=("none",), noise=None, random_state=seed)
    np.testing.assert_array_equal(d.atoms, bare.atoms)
    return d, d.clean - bare.clean


def _rotated(image, center, degrees, points):
    """``image`` at ``points`` rotated about ``center``, cubic interpolation."""
    t = np.radians(degrees)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    where = center + (points - center) @ rot.T
    return ndimage.map_coordinates(image, where.T, order=3, mode="nearest")


@pytest.mark.parametrize("seed", range(3))
def test_trigonal_order_is_threefold_and_dimer_order_twofold(seed):
    """Rotations about the order's centre: the trigonal wave is unchanged by 120°, the
    dimer-like one is not (by a sizeable fraction of its range) but is unchanged by
    180°. Interpolation error of a wave ≥ 9 px in period: < 2 % of its range."""
    rng = np.random.default_rng(seed)
    for order, symmetric, broken in (("trigonal", 120, None), ("dimer", 180, 120)):
        d, wave = _wave(order, seed)
        c = d.centers[order]
        # centres near the middle of the image, by a whole superlattice translation
        shift = np.rint(np.linalg.solve(d.superlattice.T, np.array([32.0, 32.0]) - c))
        c = c + shift @ d.superlattice
        points = c + rng.uniform(-10, 10, (300, 2))
        here = ndimage.map_coordinates(wave, points.T, order=3, mode="nearest")
        span = np.ptp(wave)
        same = _rotated(wave, c, symmetric, points)
        assert np.abs(same - here).max() < 0.02 * span, order
        if broken is not None:
            other = _rotated(wave, c, broken, points)
            assert np.abs(other - here).max() > 0.2 * span, order
        # the maximum of the wave sits at the centre
        at_c = ndimage.map_coordinates(wave, c[:, None], order=3)[0]
        assert at_c > wave.max() - 0.02 * span, order


def test_trigonal_maxima_sit_on_hollow_sites_and_dimer_maxima_on_bonds():
    """The trigonal centre is equidistant (a / √3) from its three nearest Cl atoms; the
    dimer-like centre is the midpoint of two Cl atoms a apart along Q_3."""
    d = make_charge_order((64, 64), orders=("trigonal", "dimer"), random_state=4)
    a = d.params["spacing"]
    dist = np.sort(np.linalg.norm(d.atoms - d.centers["trigonal"], axis=1))
    np.testing.assert_allclose(dist[:3], a / np.sqrt(3), rtol=1e-9)
    assert dist[3] > a / np.sqrt(3) + 1
    near = np.argsort(np.linalg.norm(d.atoms - d.centers["dimer"], axis=1))[:2]
    pair = d.atoms[near[1]] - d.atoms[near[0]]
    np.testing.assert_allclose(np.linalg.norm(pair), a, rtol=1e-9)
    q3 = d.q[d.suppressed]
    assert abs(pair @ q3) / (a * np.linalg.norm(q3)) == pytest.approx(1.0)


def test_wave_is_non_negative_and_keeps_the_mean():
    """The charge-density wave is added, never negative, and every order has the same
    mean intensity, (1 + 2 amplitude) times the lattice's 2π σ² / (√3 a² / 2)."""
    means = {}
    for order in ("none", "trigonal", "dimer"):
        d, wave = _wave(order, 7, shape=(120, 120))
        p = d.params
        m = 2 * np.pi * p["atom_size"] ** 2 / (np.sqrt(3) / 2 * p["spacing"] ** 2)
        # the bare lattice carries the constant 2 amplitude m of the wave
        assert (wave + 2 * p["amplitude"] * m).min() >= -1e-12
        means[order] = d.clean.mean()
    for order, mean in means.items():
        assert mean == pytest.approx(m * (1 + 2 * p["amplitude"]), rel=0.02), order


def test_charge_order_deterministic_given_random_state():
    a = make_charge_order((64, 64), random_state=5)
    b = make_charge_order((64, 64), random_state=np.random.default_rng(5))
    c = make_charge_order((64, 64), random_state=6)
    for key in ("image", "region_map", "atoms", "bragg", "q", "superlattice"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a.image, c.image)
    n = make_charge_order((64, 64), noise=None, random_state=5)
    np.testing.assert_array_equal(n.image, n.clean)


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        (dict(orders=()), ValueError, r"orders must be a non-empty sequence"),
        (
            dict(orders=("trigonal", "stripes")),
            ValueError,
            r"got \('trigonal', 'stripes'\)",
        ),
        (dict(orders="trigonal"), ValueError, r"orders must be a non-empty sequence"),
        (dict(orders=(1, 2)), ValueError, r"orders must be a non-empty sequence"),
        (dict(spacing=1.5), ValueError, r"spacing must be >= 2"),
        (dict(amplitude=1.5), ValueError, r"amplitude must be <= 1"),
        (dict(amplitude=-0.1), ValueError, r"amplitude must be >= 0"),
        (dict(length_scale=0.0), ValueError, r"length_scale must be > 0"),
        (dict(atom_size=-1.0), ValueError, r"atom_size must be > 0"),
        (dict(noise="speckle"), ValueError, r"noise must be"),
        (dict(angle=float("nan")), ValueError, r"angle must be finite"),
        (dict(shape=(16,)), ValueError, r"shape must be a pair"),
    ],
)
def test_charge_order_bad_input(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        make_charge_order(**{"shape": (32, 32), **kwargs})
