"""Tests of lectlib.datasets.make_dopant_movie: graphene frames whose Si dopants change
configuration by a known Markov chain.

Expected values come from the structures and the physics the docstring states, not from
the implementation: graphene's geometry (a = 2.46 Å, C–C 1.42 Å, Si–C₄ at √7/2 × 1.42
Å), ADF contrast ∝ Z^1.64 (a Si atom ≈ 4 times a C atom), the canonical configurations
turned by 60° k, Poisson statistics (variance = mean), and sampling theory for the
chain (an estimated transition probability lies within a few binomial standard errors
of the true one).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from lectlib.datasets.dynamics import DOPANT_CLASSES, make_dopant_movie

CC = 1.42  # Å
A = 2.46  # Å
T_DEFAULT = np.array([[0.80, 0.12, 0.08], [0.20, 0.70, 0.10], [0.20, 0.15, 0.65]])
QUIET = dict(drift=0.0, scan_noise=0.0, miss_rate=0.0)


@pytest.fixture(scope="module")
def movie():
    return make_dopant_movie(random_state=0)


def _turn(offsets, k):
    """Offsets (row, col) turned by 60° k from +col towards +row, written from the
    definition of the angle: (r, c) = ρ (sin θ, cos θ) goes to ρ (sin(θ + φ),
    cos(θ + φ))."""
    rho = np.hypot(offsets[:, 0], offsets[:, 1])
    theta = np.arctan2(offsets[:, 0], offsets[:, 1]) + np.radians(60.0 * k)
    return np.stack([rho * np.sin(theta), rho * np.cos(theta)], axis=1)


def _count(classes, k=3):
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (classes[:-1].ravel(), classes[1:].ravel()), 1)
    return counts


# ----------------------------------------------------------------------- the defaults


def test_defaults_describe_graphene_with_six_dopants(movie):
    m, t = movie, movie.truth
    assert m.frames.shape == m.clean.shape == (100, 128, 128)
    assert m.frames.dtype == m.clean.dtype == np.float64
    assert np.array_equal(m.frames, np.round(m.frames))  # counts
    assert m.pixel_size == 0.25 and m.frame_time > 0
    assert m.class_names == DOPANT_CLASSES and len(DOPANT_CLASSES) == 3
    assert m.atom_size * m.pixel_size == pytest.approx(0.4)  # Å, the probe
    # ADF contrast Z^1.64: Si (Z = 14) about 4 times C (Z = 6).
    assert m.intensity[0] == 20.0
    assert m.intensity[1] / m.intensity[0] == pytest.approx((14 / 6) ** 1.64)
    assert 3.9 < m.intensity[1] / m.intensity[0] < 4.1
    assert np.hypot(*t.lattice_vectors.T) * m.pixel_size == pytest.approx(
        [A, A], rel=1e-3
    )
    shapes = {
        "classes": (100, 6),
        "orientations": (100, 6),
        "visible": (100, 6),
        "dopant_positions": (100, 6, 2),
        "drift": (100, 2),
        "home_sites": (6, 2),
        "sublattice": (6,),
    }
    for name, shape in shapes.items():
        assert np.shape(t[name]) == shape, name
    assert len(t.atoms) == len(t.species) == 100
    assert t.classes.dtype.kind == t.orientations.dtype.kind == "i"
    assert t.visible.dtype == bool


def test_default_chain_is_the_documented_one(movie):
    t = movie.truth
    assert np.array_equal(t.transition_matrix, T_DEFAULT)
    pi = t.stationary_distribution
    assert pi == pytest.approx([0.5, 0.3, 0.2])
    assert pi @ T_DEFAULT == pytest.approx(pi)
    # Reversible: detailed balance π_i T_ij = π_j T_ji.
    flux = pi[:, None] * T_DEFAULT
    assert flux == pytest.approx(flux.T)
    # Mean dwell times 1 / (1 - T_ii): a few frames.
    assert 1 / (1 - np.diag(T_DEFAULT)) == pytest.approx([5.0, 10 / 3, 20 / 7])


@pytest.mark.parametrize("seed", range(4))
def test_every_class_appears_in_the_default_movie(seed):
    classes = make_dopant_movie(random_state=seed).truth.classes
    assert set(np.unique(classes)) == {0, 1, 2}


# ----------------------------------------------------------------- geometry and truth


def test_home_sites_are_apart_inside_and_on_both_sublattices(movie):
    m, t = movie, movie.truth
    homes = t.home_sites
    d = np.hypot(*(homes[:, None] - homes[None]).transpose(2, 0, 1))
    assert d[~np.eye(6, dtype=bool)].min() * m.pixel_size >= 8.0
    assert set(t.sublattice.tolist()) == {0, 1}
    # Every Si, drift included, stays 3 Å from the edges in every frame.
    pos = t.dopant_positions
    edge = 3.0 / m.pixel_size
    assert pos.min() >= edge - 1e-9
    assert pos[..., 0].max() <= 127 - edge + 1e-9
    assert pos[..., 1].max() <= 127 - edge + 1e-9
    # A home site is a lattice site of its sublattice.
    shift = t.lattice_vectors.sum(axis=0) / 3
    for home, s in zip(homes, t.sublattice):
        nm = np.linalg.solve(t.lattice_vectors.T, home - t.origin - s * shift)
        assert nm == pytest.approx(np.round(nm), abs=1e-9)


def test_atoms_are_on_the_frame_and_on_the_drifted_honeycomb(movie):
    m, t = movie, movie.truth
    shift = t.lattice_vectors.sum(axis=0) / 3
    for f in (0, 37, 99):
        atoms, species = t.atoms[f], t.species[f]
        assert atoms.shape == (len(species), 2)
        assert np.all((atoms >= -0.5) & (atoms < 127.5))
        # C first, the six Si last in dopant order.
        assert np.array_equal(species[-6:], np.ones(6)) and not species[:-6].any()
        assert np.allclose(atoms[-6:], t.dopant_positions[f])
        carbon = atoms[species == 0] - t.drift[f] - t.origin
        nm = np.linalg.solve(t.lattice_vectors.T, carbon.T).T
        on_a = np.all(np.abs(nm - np.round(nm)) < 1e-6, axis=1)
        nm_b = np.linalg.solve(t.lattice_vectors.T, (carbon - shift).T).T
        on_b = np.all(np.abs(nm_b - np.round(nm_b)) < 1e-6, axis=1)
        assert np.all(on_a ^ on_b)
        # A hexagonal frame of 128 px at 0.25 Å/px: 4 atoms per a² √3 (2 per cell).
        cell_area = (A / m.pixel_size) ** 2 * np.sqrt(3) / 2
        assert len(carbon) == pytest.approx(2 * 128 * 128 / cell_area, rel=0.05)


def test_orientations_turn_the_canonical_configurations_onto_the_drawn_atoms(movie):
    m, t = movie, movie.truth
    assert [len(o) for o in t.site_offsets] == [3, 4, 2]
    assert np.hypot(*t.site_offsets[0].T) == pytest.approx([CC] * 3)
    assert np.hypot(*t.site_offsets[1].T) == pytest.approx([np.sqrt(7) / 2 * CC] * 4)
    assert np.hypot(*t.site_offsets[2].T) == pytest.approx([CC] * 2)
    # An n-fold configuration looks the same turned by 360°/n = 60° × 6/n.
    for c, n in enumerate(t.rotation_order):
        turned = _turn(t.site_offsets[c], 6 // n)
        gap = np.hypot(*(turned[:, None] - t.site_offsets[c][None]).transpose(2, 0, 1))
        assert gap.min(axis=1).max() < 1e-9
    reach = 2.1 / m.pixel_size  # beyond 1.88 Å, short of the next shell (2.46 Å)
    seen = set()
    for f in range(100):
        atoms = t.atoms[f]
        tree = cKDTree(atoms)
        for d in range(6):
            c, k = t.classes[f, d], t.orientations[f, d]
            assert 0 <= k < 6 // t.rotation_order[c]  # the smallest equivalent k
            si = t.dopant_positions[f, d]
            near = atoms[tree.query_ball_point(si, reach)] - si
            near = near[np.hypot(*near.T) > 1e-9]  # all but the Si itself
            expected = _turn(t.site_offsets[c], k) / m.pixel_size
            assert len(near) == len(expected), (f, d)
            dist = np.hypot(*(near[:, None] - expected[None]).transpose(2, 0, 1))
            assert dist.min(axis=1).max() < 1e-9, (f, d)
            seen.add((int(c), int(k)))
    # Si–C₃ on both sublattices, Si–C₄ along three bonds, Si–C₂ missing any of six.
    assert {k for c, k in seen if c == 0} == {0, 1}
    assert {k for c, k in seen if c == 1} == {0, 1, 2}
    assert {k for c, k in seen if c == 2} == set(range(6))


def test_si_sits_on_its_home_site_or_in_the_middle_of_a_bond(movie):
    m, t = movie, movie.truth
    moved = np.hypot(*(t.dopant_positions - t.drift[:, None] - t.home_sites).T).T
    expected = np.where(t.classes == 1, CC / 2 / m.pixel_size, 0.0)
    assert moved == pytest.approx(expected, abs=1e-9)


def test_visible_si_is_about_four_times_brighter_than_carbon_missed_si_is_not():
    m = make_dopant_movie(40, miss_rate=0.3, random_state=3)
    t, dose = m.truth, m.intensity[0]
    assert 0.2 < 1 - t.visible.mean() < 0.4
    r, c = np.rint(t.dopant_positions).astype(int).transpose(2, 0, 1)
    f = np.arange(40)[:, None]
    # Expected counts at the Si's pixel (at most 0.7 px from its center, σ = 1.6 px).
    peak = (m.clean[f, r, c] - m.background) / dose
    assert np.all(peak[t.visible] > 3.0)
    assert np.all(peak[~t.visible] < 1.5)
    # The same seen in the counts: a 3 x 3 sum around each Si against that around C.
    box = sum(
        m.frames[f, r + i, c + j] for i in (-1, 0, 1) for j in (-1, 0, 1)
    )  # (40, 6)
    atoms = np.rint(t.atoms[0][t.species[0] == 0]).astype(int)
    inner = np.all((atoms >= 1) & (atoms <= 126), axis=1)
    ar, ac = atoms[inner].T
    carbon = (
        np.mean([m.frames[0, ar + i, ac + j] for i in (-1, 0, 1) for j in (-1, 0, 1)])
        * 9
    )
    assert box[t.visible].mean() > 3.0 * carbon
    assert box[~t.visible].mean() < 2.5 * carbon


def test_a_missed_si_keeps_its_integrated_intensity_at_the_peak_of_a_carbon():
    seen = make_dopant_movie(10, miss_rate=0.0, random_state=5)
    missed = make_dopant_movie(10, miss_rate=1.0, random_state=5)
    assert seen.truth.visible.all() and not missed.truth.visible.any()
    # The same draws otherwise: classes, positions and drift agree.
    assert np.array_equal(seen.truth.classes, missed.truth.classes)
    assert np.array_equal(seen.truth.dopant_positions, missed.truth.dopant_positions)
    assert missed.clean.sum() == pytest.approx(seen.clean.sum(), rel=1e-4)
    assert missed.clean.max() < 0.4 * seen.clean.max()


def test_a_carbon_atom_peaks_at_the_dose_above_the_background():
    m = make_dopant_movie(1, n_dopants=0, dose=50.0, **QUIET, random_state=2)
    assert m.background == pytest.approx(0.05 * 50)
    atoms = m.truth.atoms[0]
    inner = np.all((atoms >= 3) & (atoms <= 124), axis=1)
    for r, c in atoms[inner][:20]:
        r0, c0 = int(np.rint(r)), int(np.rint(c))
        peak = m.clean[0, r0 - 1 : r0 + 2, c0 - 1 : c0 + 2].max() - m.background
        # The pixel grid samples the Gaussian at most 0.7 px off its center (0.91),
        # and the three neighbors 5.7 px away add 3 exp(-6.3) ≈ 0.005.
        assert 0.85 * 50 < peak < 1.02 * 50


def test_frames_are_poisson_counts_of_the_expected_image(movie):
    m = movie
    z = (m.frames - m.clean) / np.sqrt(m.clean)
    assert abs(z.mean()) < 0.01  # 1.6e6 pixels
    assert z.var() == pytest.approx(1.0, abs=0.01)


# -------------------------------------------------------------------- drift and noise


def test_drift_is_a_smooth_walk_of_the_stated_size(movie):
    d = movie.truth.drift
    assert np.array_equal(d[0], [0.0, 0.0])
    assert np.hypot(*d.T).max() == pytest.approx(3.0)
    assert np.hypot(*np.diff(d, axis=0).T).max() < 0.5  # slow: a few px per movie
    still = make_dopant_movie(5, drift=0.0, random_state=0).truth
    assert not still.drift.any()


def test_the_whole_field_moves_with_the_drift():
    m = make_dopant_movie(30, drift=4.0, random_state=1)
    t = m.truth
    # Si–C₃ and Si–C₂ sit on their home site: their position minus drift is constant.
    on_site = t.classes != 1
    pos = t.dopant_positions - t.drift[:, None]
    assert np.allclose(pos[on_site], np.broadcast_to(t.home_sites, pos.shape)[on_site])

    # The C atoms too: away from the dopants, frame 29's atoms minus its drift are
    # frame 0's atoms minus its drift.
    def carbon(f):
        c = t.atoms[f][t.species[f] == 0] - t.drift[f]
        far = cKDTree(t.home_sites).query(c)[0] > 3.0 / m.pixel_size
        inner = np.all((c > 8) & (c < 119), axis=1)
        return c[far & inner]

    dist, _ = cKDTree(t.atoms[0] - t.drift[0]).query(carbon(29))
    assert len(dist) > 100 and dist.max() < 1e-9
    assert np.hypot(*(t.drift[29] - t.drift[0])) > 0.1


def test_scan_noise_shifts_each_line_by_the_stated_amount():
    kw = dict(n_frames=20, n_dopants=0, drift=0.0, miss_rate=0.0, random_state=4)
    still = make_dopant_movie(scan_noise=0.0, **kw).clean
    jitter = make_dopant_movie(scan_noise=0.2, **kw).clean
    # Linearised: jitter(c) ≈ still(c) + s ∂still/∂c, one s per line.
    grad = np.gradient(still, axis=-1)[..., 4:-4]
    diff = (jitter - still)[..., 4:-4]
    s = np.sum(diff * grad, axis=-1) / np.sum(grad**2, axis=-1)
    assert s.std() == pytest.approx(0.2, rel=0.1)  # 2560 lines
    assert abs(s.mean()) < 0.02


# ------------------------------------------------------------------------ the dynamics


def test_transitions_agree_with_the_matrix_within_the_binomial_error():
    m = make_dopant_movie(4000, n_dopants=2, shape=(64, 64), **QUIET, random_state=7)
    t = m.truth
    counts = _count(t.classes)
    n = counts.sum(axis=1, keepdims=True)
    estimate = counts / n
    se = np.sqrt(T_DEFAULT * (1 - T_DEFAULT) / n)
    assert np.all(np.abs(estimate - T_DEFAULT) < 4 * se)
    # Started from π, the occupancy stays at π (within a few correlated errors).
    occupancy = np.bincount(t.classes.ravel(), minlength=3) / t.classes.size
    assert occupancy == pytest.approx([0.5, 0.3, 0.2], abs=0.04)


def test_a_given_transition_matrix_drives_the_classes():
    cycle = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    t = make_dopant_movie(9, n_dopants=2, transition_matrix=cycle, random_state=0).truth
    assert np.array_equal(t.classes[1:], (t.classes[:-1] + 1) % 3)
    assert t.stationary_distribution == pytest.approx([1 / 3] * 3)
    same = make_dopant_movie(
        6, n_dopants=3, transition_matrix=np.eye(3), random_state=1
    ).truth
    assert np.all(same.classes == same.classes[0])
    # Absorbing state 2: a stationary distribution exists (all of it on state 2).
    absorbing = np.array([[0.5, 0.25, 0.25], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
    before = absorbing.copy()
    t = make_dopant_movie(4, n_dopants=1, transition_matrix=absorbing, random_state=0)
    assert np.array_equal(absorbing, before)  # input not modified
    assert t.truth.stationary_distribution == pytest.approx([0, 0, 1], abs=1e-12)
    assert np.all(t.truth.classes == 2)
    # float32 and lists of ints are fine.
    f32 = np.array(T_DEFAULT, dtype=np.float32)
    make_dopant_movie(2, n_dopants=1, transition_matrix=f32, random_state=0)


def test_missed_frames_occur_at_the_stated_rate():
    t = make_dopant_movie(200, miss_rate=0.1, n_dopants=4, random_state=0).truth
    missed = 1 - t.visible.mean()  # 800 draws: σ ≈ 0.011
    assert missed == pytest.approx(0.1, abs=0.04)
    assert make_dopant_movie(5, miss_rate=0.0, random_state=0).truth.visible.all()


# ----------------------------------------------------------- small cases, determinism


def test_small_and_empty_movies():
    one = make_dopant_movie(1, random_state=0)
    assert one.frames.shape == (1, 128, 128) and not one.truth.drift.any()
    none = make_dopant_movie(3, n_dopants=0, shape=(20, 30), random_state=0)
    assert none.truth.classes.shape == (3, 0)
    assert none.truth.dopant_positions.shape == (3, 0, 2)
    assert all(not s.any() for s in none.truth.species)
    small = make_dopant_movie(3, n_dopants=1, shape=(48, 48), random_state=0)
    assert small.frames.shape == (3, 48, 48)


def test_the_same_seed_gives_the_same_movie():
    a = make_dopant_movie(5, shape=(64, 64), n_dopants=2, random_state=11)
    b = make_dopant_movie(5, shape=(64, 64), n_dopants=2, random_state=11)
    c = make_dopant_movie(5, shape=(64, 64), n_dopants=2, random_state=12)
    for key in ("frames", "clean"):
        assert np.array_equal(a[key], b[key])
    for key in ("classes", "orientations", "dopant_positions", "visible", "drift"):
        assert np.array_equal(a.truth[key], b.truth[key])
    assert all(np.array_equal(x, y) for x, y in zip(a.truth.atoms, b.truth.atoms))
    assert not np.array_equal(a.frames, c.frames)
    g = make_dopant_movie(
        5, shape=(64, 64), n_dopants=2, random_state=np.random.default_rng(11)
    )
    assert g.frames.shape == a.frames.shape


# ---------------------------------------------------------------------- bad parameters


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n_frames=0), ValueError, "n_frames"),
        (dict(n_frames=2.5), TypeError, "n_frames"),
        (dict(n_frames="3"), TypeError, "n_frames"),
        (dict(n_dopants=-1), ValueError, "n_dopants"),
        (dict(n_dopants=1.0), TypeError, "n_dopants"),
        (dict(n_dopants=40), ValueError, "do not fit"),
        (dict(shape=(0, 10)), ValueError, "shape"),
        (dict(shape=(10,)), ValueError, "shape"),
        (dict(shape=(16, 16)), ValueError, "do not fit"),
        (dict(pixel_size=0.0), ValueError, "pixel_size"),
        (dict(pixel_size=1.0), ValueError, "pixel_size"),
        (dict(pixel_size=np.nan), ValueError, "pixel_size"),
        (dict(dose=0.0), ValueError, "dose"),
        (dict(dose=-5.0), ValueError, "dose"),
        (dict(dose=None), TypeError, "dose"),
        (dict(miss_rate=1.5), ValueError, "miss_rate"),
        (dict(miss_rate=-0.1), ValueError, "miss_rate"),
        (dict(drift=-1.0), ValueError, "drift"),
        (dict(drift=40.0), ValueError, "do not fit"),
        (dict(scan_noise=-0.1), ValueError, "scan_noise"),
        (dict(scan_noise=np.inf), ValueError, "scan_noise"),
        (dict(atom_size=0.0), ValueError, "atom_size"),
        (dict(atom_size=100.0), ValueError, "atom_size"),
        (dict(atom_size="1"), TypeError, "atom_size"),
        (dict(pixel_size=0.02, shape=(40, 40), n_dopants=0), ValueError, "too wide"),
        (dict(transition_matrix=np.eye(2)), ValueError, r"\(3, 3\)"),
        (dict(transition_matrix=np.ones((3, 3))), ValueError, "row-stochastic"),
        (dict(transition_matrix=-np.eye(3)), ValueError, ">= 0"),
        (dict(transition_matrix=[[1, 0, 0], [0, 1, 0]]), ValueError, r"\(3, 3\)"),
        (dict(transition_matrix=np.full((3, 3), np.nan)), ValueError, "NaN"),
        (dict(transition_matrix=[["a"] * 3] * 3), TypeError, "real numbers"),
        (dict(random_state="seed"), TypeError, "random_state"),
        (dict(random_state=-1), ValueError, "random_state"),
    ],
)
def test_bad_parameters_raise_clear_errors(kwargs, error, match):
    kwargs = {"n_frames": 2, "shape": (64, 64), "n_dopants": 2, **kwargs}
    with pytest.raises(error, match=match):
        make_dopant_movie(**kwargs)
