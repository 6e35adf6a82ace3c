"""Polar descriptors of a site, and their alignment by the lattice's discrete rotations.

The claims: turning a neighborhood by 360°/n_angles rolls its descriptor exactly;
turned copies of a descriptor align to the very same vector; a set of configurations
in random orientations, symmetric ones among them (a threefold Si–C₃, a twofold
Si–C₄), aligns each configuration to one vector, where one mean reference does not;
and on the dopant movie's atoms a Gaussian mixture then finds the true classes.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from lectlib.crystallography.descriptors import align_rotations, polar_descriptors

BOND = 6.0  # C–C bond in px
A_LAT = BOND * np.sqrt(3.0)
RING = dict(radius=1.4 * BOND, n_radial=2, n_angles=12, width=0.25 * BOND)


def _turn(points, degrees, about=(0.0, 0.0)):
    """Points (row, col) turned by +degrees (from +col towards +row) about a point."""
    t = np.radians(degrees)
    rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    about = np.asarray(about, dtype=float)
    return (np.asarray(points, dtype=float) - about) @ rot.T + about


def _honeycomb(reach=4):
    """Graphene around a site of sublattice A at the origin; bonds of A at 30°, 150°,
    270° (lectlib's angles)."""
    a1 = np.array([0.0, A_LAT])
    a2 = np.array([A_LAT * np.sqrt(3) / 2, A_LAT / 2])
    n = np.arange(-reach, reach + 1)
    n1, n2 = (g.ravel() for g in np.meshgrid(n, n, indexing="ij"))
    sites_a = np.outer(n1, a1) + np.outer(n2, a2)
    return np.concatenate([sites_a, sites_a + (a1 + a2) / 3])


def _configuration(kind):
    """(atoms, center) of a Si configuration: 0 Si–C₃ (threefold), 1 Si–C₄ (twofold,
    in a divacancy), 2 Si–C₂ next to a vacancy (no rotation symmetry)."""
    atoms = _honeycomb()
    down = np.array([-BOND, 0.0])  # the neighbor along 270°
    gone = [np.zeros(2)] if kind == 0 else [np.zeros(2), down]
    if kind == 2:
        gone = [down]
    keep = np.ones(len(atoms), dtype=bool)
    for g in gone:
        keep &= np.hypot(*(atoms - g).T) > 1e-6
    center = down / 2 if kind == 1 else np.zeros(2)
    return np.concatenate([atoms[keep], center[None]]), center


def _library(counts, jitter, seed):
    """Descriptors of noisy configurations in random orientations (multiples of 60°),
    with the noise-free descriptor of each, and the true kinds."""
    rng = np.random.default_rng(seed)
    noisy, clean, kinds = [], [], []
    for kind, count in enumerate(counts):
        atoms, center = _configuration(kind)
        for _ in range(count):
            turned = _turn(atoms, 60.0 * rng.integers(6), about=center)
            clean.append(polar_descriptors(turned, [center], **RING))
            moved = turned + rng.normal(0.0, jitter, turned.shape)
            noisy.append(polar_descriptors(moved, moved[-1:], **RING))
            kinds.append(kind)
    return np.concatenate(noisy), np.concatenate(clean), np.array(kinds)


def _roll(descriptors, steps, n_angles):
    d = np.asarray(descriptors)
    grid = d.reshape(len(d), -1, n_angles)
    return np.roll(grid, steps, axis=-1).reshape(d.shape)


def _mirror(descriptors, n_angles):
    """The mirror θ → −θ: angle j takes the value of angle −j."""
    d = np.asarray(descriptors)
    grid = d.reshape(len(d), -1, n_angles)
    return np.roll(grid[..., ::-1], 1, axis=-1).reshape(d.shape)


def _strays(clean, rotation, mirrored, kinds, n_angles=12, n_fold=6):
    """For each kind, how many of its members end up in another orientation than
    the most common one: the noise-free descriptors turned by the operations chosen
    for the noisy ones (0: one canonical vector per kind)."""
    step = n_angles // n_fold
    out = []
    for kind in np.unique(kinds):
        vectors = []
        ops = zip(
            clean[kinds == kind], rotation[kinds == kind], mirrored[kinds == kind]
        )
        for d, k, m in ops:
            grid = d.reshape(-1, n_angles)
            if m:
                grid = np.roll(grid[:, ::-1], 1, axis=1)  # θ → −θ
            vectors.append(np.roll(grid, k * step, axis=1).ravel())
        _, counts = np.unique(np.round(vectors, 6), axis=0, return_counts=True)
        out.append(int(len(vectors) - counts.max()))
    return out


# ---------------------------------------------------------------- polar_descriptors


def test_descriptor_is_the_gaussian_density_on_the_polar_grid():
    rng = np.random.default_rng(0)
    atoms = rng.uniform(-15, 15, (40, 2))
    centers = np.array([[0.0, 0.0], [3.0, -2.0]])
    weights = rng.uniform(0.5, 2.0, 40)
    radius, n_radial, n_angles, width = 8.0, 3, 8, 1.5
    d = polar_descriptors(
        atoms,
        centers,
        radius=radius,
        n_radial=n_radial,
        n_angles=n_angles,
        width=width,
        weights=weights,
    )
    assert d.shape == (2, n_radial * n_angles) and d.dtype == np.float64
    for c, center in enumerate(centers):
        for i in range(n_radial):
            r = radius * (i + 1) / n_radial
            for j in range(n_angles):
                t = 2 * np.pi * j / n_angles
                g = center + r * np.array([np.sin(t), np.cos(t)])
                dist = np.hypot(*(atoms - center).T)
                near = (dist >= width) & (dist <= radius + 5 * width)
                expect = np.sum(
                    weights[near]
                    * np.exp(-np.sum((atoms[near] - g) ** 2, axis=1) / (2 * width**2))
                )
                assert d[c, i * n_angles + j] == pytest.approx(expect, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    steps=st.integers(-30, 30),
    n_angles=st.sampled_from([6, 12, 24]),
    seed=st.integers(0, 1000),
)
def test_turning_the_neighborhood_rolls_the_angle_axis(steps, n_angles, seed):
    rng = np.random.default_rng(seed)
    center = rng.uniform(-5, 5, 2)
    atoms = center + rng.uniform(-12, 12, (25, 2))
    ring = dict(radius=9.0, n_radial=3, n_angles=n_angles, width=1.2)
    d = polar_descriptors(atoms, [center], **ring)
    turned = polar_descriptors(
        _turn(atoms, steps * 360.0 / n_angles, about=center), [center], **ring
    )
    assert np.allclose(turned, _roll(d, steps, n_angles), rtol=0, atol=1e-12)


def test_a_mirror_reverses_the_angle_axis():
    rng = np.random.default_rng(1)
    atoms = rng.uniform(-10, 10, (20, 2))
    d = polar_descriptors(atoms, [[0.0, 0.0]], **RING)
    mirrored = polar_descriptors(atoms * [-1.0, 1.0], [[0.0, 0.0]], **RING)
    assert np.allclose(mirrored, _mirror(d, 12), atol=1e-12)


def test_the_center_s_own_atom_and_far_atoms_are_left_out():
    atoms = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 6.0], [0.0, 40.0]])
    with_all = polar_descriptors(atoms, [[0.0, 0.0]], **RING)
    only_neighbor = polar_descriptors(atoms[2:3], [[0.0, 0.0]], **RING)
    assert np.array_equal(with_all, only_neighbor)


def test_translation_and_order_do_not_matter_and_empty_input_gives_zeros():
    atoms, center = _configuration(2)
    d = polar_descriptors(atoms, [center], **RING)
    shift = np.array([123.4, -56.7])
    order = np.random.default_rng(2).permutation(len(atoms))
    moved = polar_descriptors(atoms[order] + shift, [center + shift], **RING)
    assert np.allclose(d, moved, atol=1e-12)
    assert polar_descriptors(np.zeros((0, 2)), [center], **RING).tolist() == [
        [0.0] * 24
    ]
    assert polar_descriptors(atoms, np.zeros((0, 2)), **RING).shape == (0, 24)


def test_polar_descriptors_bad_input_raises_and_input_is_kept():
    atoms, center = _configuration(0)
    before = atoms.copy()
    polar_descriptors(atoms, [center], **RING)
    assert np.array_equal(atoms, before)
    bad_nan = atoms.copy()
    bad_nan[0, 0] = np.nan
    for kwargs, error in [
        (dict(positions=atoms[:, :1]), "shape"),
        (dict(positions=bad_nan), "NaN"),
        (dict(centers=[1.0, 2.0]), "2-D"),
        (dict(radius=0.0), "radius"),
        (dict(width=-1.0), "width"),
        (dict(n_radial=0), "n_radial"),
        (dict(weights=np.ones(3)), "one value per atom"),
    ]:
        call = dict(positions=atoms, centers=[center], **RING) | kwargs
        with pytest.raises(ValueError, match=error):
            polar_descriptors(**call)
    with pytest.raises(TypeError):
        polar_descriptors("atoms", [center], **RING)
    with pytest.raises(TypeError):
        polar_descriptors(atoms, [center], **(RING | dict(n_angles=12.5)))


# ------------------------------------------------------------------ align_rotations


def _symmetric(rng, n_radial, n_angles, order):
    """A random descriptor with an exact ``order``-fold symmetry (tiled)."""
    base = rng.uniform(0, 1, (n_radial, n_angles // order))
    return np.tile(base, (1, order)).ravel()


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    order=st.sampled_from([1, 2, 3, 6]),
    mirror=st.booleans(),
)
def test_turned_copies_align_to_the_very_same_vector(seed, order, mirror):
    rng = np.random.default_rng(seed)
    n_angles = 12
    base = _symmetric(rng, 2, n_angles, order)
    images = [base[None]] + ([_mirror(base[None], n_angles)] if mirror else [])
    copies = np.concatenate(
        [_roll(image, 2 * k, n_angles) for image in images for k in range(6)]
    )
    res = align_rotations(copies, n_angles, mirror=mirror)
    assert np.array_equal(res.aligned, np.repeat(res.aligned[:1], len(copies), 0))
    # the operation reported is the one applied
    step = n_angles // 6
    for d, a, k, m in zip(copies, res.aligned, res.rotation, res.mirrored):
        grid = d.reshape(2, n_angles)
        if m:
            grid = np.roll(grid[:, ::-1], 1, axis=1)
        assert np.array_equal(np.roll(grid, k * step, axis=1).ravel(), a)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    copies=st.lists(st.integers(1, 6), min_size=3, max_size=3),
    mirror=st.booleans(),
    n_references=st.integers(1, 20),
)
def test_a_set_of_symmetric_configurations_aligns_exactly(
    seed, copies, mirror, n_references
):
    # a onefold, a twofold and a threefold descriptor, each in several random
    # orientations: each gives one vector, and turning the members again changes
    # nothing
    rng = np.random.default_rng(seed)
    bases = [_symmetric(rng, 2, 12, order) for order in (1, 2, 3)]
    members, kinds = [], []
    for kind, (base, count) in enumerate(zip(bases, copies)):
        for _ in range(count):
            d = _mirror(base[None], 12) if mirror and rng.random() < 0.5 else base
            members.append(_roll(np.atleast_2d(d), 2 * int(rng.integers(6)), 12))
            kinds.append(kind)
    members, kinds = np.concatenate(members), np.array(kinds)
    res = align_rotations(members, 12, mirror=mirror, n_references=n_references)
    for kind in range(3):
        group = res.aligned[kinds == kind]
        assert np.array_equal(group, np.repeat(group[:1], len(group), axis=0))
    again = np.concatenate(
        [_roll(d[None], 2 * int(rng.integers(6)), 12) for d in members]
    )
    second = align_rotations(again, 12, mirror=mirror, n_references=n_references)
    assert np.array_equal(res.aligned, second.aligned)


def test_turning_members_of_a_set_changes_no_aligned_vector():
    noisy, _, kinds = _library((12, 10, 8), jitter=0.3, seed=3)
    rng = np.random.default_rng(4)
    turned = np.concatenate(
        [_roll(d[None], 2 * int(rng.integers(6)), 12) for d in noisy]
    )
    first = align_rotations(noisy, 12)
    second = align_rotations(turned, 12)
    assert np.array_equal(first.aligned, second.aligned)
    assert np.array_equal(first.labels, second.labels)
    # a given reference: the same
    ref = first.reference
    assert np.array_equal(
        align_rotations(noisy, 12, reference=ref).aligned,
        align_rotations(turned, 12, reference=ref).aligned,
    )


def test_a_threefold_reference_cannot_orient_a_twofold_site_and_ties_stay_exact():
    # against a threefold (Si–C₃) template the three orientations of a twofold
    # (Si–C₄) descriptor score exactly alike: the tie is broken by the descriptor
    # itself, never by the orientation it came in
    c3_atoms, c3_center = _configuration(0)
    c4_atoms, c4_center = _configuration(1)
    c3 = polar_descriptors(c3_atoms, [c3_center], **RING)[0]
    c4 = polar_descriptors(c4_atoms, [c4_center], **RING)[0]
    ref = c3.reshape(2, 12)
    ref = np.tile(ref[:, :4], (1, 3)).ravel()  # exactly threefold
    copies = np.concatenate([_roll(c4[None], 2 * k, 12) for k in range(6)])
    scores = copies @ ref
    assert np.ptp(scores) <= 1e-12 * scores.max()
    res = align_rotations(copies, 12, reference=ref)
    assert np.array_equal(res.aligned, np.repeat(res.aligned[:1], 6, axis=0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_symmetric_configurations_in_random_orientations_align_to_one_vector_each(
    seed,
):
    # 60 threefold Si–C₃, 40 twofold Si–C₄ and 30 Si–C₂ (no rotation symmetry), each
    # in a random orientation, positions jittered by 0.2 px (3 % of a bond)
    noisy, clean, kinds = _library((60, 40, 30), jitter=0.2, seed=seed)
    res = align_rotations(noisy, 12)
    assert _strays(clean, res.rotation, res.mirrored, kinds) == [0, 0, 0]
    # every reference is the mean of the descriptors that match it
    for j in range(len(res.reference)):
        assert np.allclose(res.reference[j], res.aligned[res.labels == j].mean(0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_mean_reference_splits_the_minority_configuration_into_turned_copies(
    seed,
):
    # the design's reason: the mean of the aligned set, dominated by the threefold
    # Si–C₃, orients the Si–C₂ minority by a margin below the noise (at 0.3 px, 5 %
    # of a bond); references of its own orient it (a stray member at most)
    noisy, clean, kinds = _library((60, 40, 30), jitter=0.3, seed=seed)
    one = align_rotations(noisy, 12, n_references=1)
    several = align_rotations(noisy, 12)
    assert _strays(clean, one.rotation, one.mirrored, kinds)[2] >= 8  # of 30
    assert sum(_strays(clean, several.rotation, several.mirrored, kinds)) <= 1


def test_mirror_merges_mirror_images():
    rng = np.random.default_rng(6)
    d = rng.uniform(0, 1, (1, 24))
    both = np.concatenate([d, _mirror(d, 12)])
    assert not np.array_equal(*align_rotations(both, 12).aligned)
    res = align_rotations(both, 12, mirror=True)
    assert np.array_equal(*res.aligned)
    assert res.mirrored.tolist().count(True) == 1


def test_align_rotations_options_and_determinism():
    noisy, _, _ = _library((10, 10, 10), jitter=0.3, seed=7)
    before = noisy.copy()
    a = align_rotations(noisy, 12, random_state=3)
    b = align_rotations(noisy, 12, random_state=3)
    assert np.array_equal(noisy, before)
    assert np.array_equal(a.aligned, b.aligned)
    assert a.aligned.shape == noisy.shape and a.rotation.dtype == np.int64
    assert set(a.rotation.tolist()) <= set(range(6)) and not a.mirrored.any()
    # a descriptor and its aligned vector hold the same values
    assert np.array_equal(np.sort(noisy, axis=1), np.sort(a.aligned, axis=1))
    start = align_rotations(noisy, 12, n_iter=0)
    assert start.n_iter == 0 and start.aligned.shape == noisy.shape
    # n_fold=3 on a grid of 12: turns by 120°
    three = align_rotations(noisy, 12, n_fold=3)
    assert set(three.rotation.tolist()) <= {0, 1, 2}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        align_rotations(noisy, 12)


def test_too_few_refinements_warn():
    noisy, _, _ = _library((40, 40, 40), jitter=0.5, seed=8)
    with pytest.warns(ConvergenceWarning, match="n_iter"):
        align_rotations(noisy, 12, n_iter=1)


def test_align_rotations_bad_input_raises():
    d = np.ones((4, 24))
    with pytest.raises(ValueError, match="multiple of n_fold"):
        align_rotations(d, 12, n_fold=5)
    with pytest.raises(ValueError, match="not a multiple of"):
        align_rotations(d, 10)
    with pytest.raises(ValueError, match="24 features"):
        align_rotations(d, 12, reference=np.ones(12))
    with pytest.raises(ValueError, match="2-D"):
        align_rotations(np.ones(24), 12)
    with pytest.raises(ValueError, match="NaN"):
        align_rotations(np.full((4, 24), np.nan), 12)
    with pytest.raises(ValueError, match="n_references"):
        align_rotations(d, 12, n_references=0)
    with pytest.raises(TypeError, match="mirror"):
        align_rotations(d, 12, mirror="yes")
    with pytest.raises(TypeError):
        align_rotations(d.astype(str), 12)


# ------------------------------------------------------- the dopant movie's classes


def _bic_classes(X, max_classes=8):
    from sklearn.mixture import GaussianMixture

    models = [
        GaussianMixture(k, covariance_type="full", random_state=0).fit(X)
        for k in range(1, max_classes + 1)
    ]
    best = int(np.argmin([m.bic(X) for m in models]))
    return best + 1, models[best].predict(X)


def test_aligned_descriptors_of_the_movie_give_its_classes():
    from sklearn.metrics import adjusted_rand_score

    from lectlib.datasets.dynamics import make_dopant_movie

    movie = make_dopant_movie(60, random_state=0)
    truth = movie.truth
    ring = dict(radius=8.0, n_radial=2, n_angles=12, width=1.5)  # bond: 5.7 px
    rng = np.random.default_rng(0)
    exact, jittered = [], []
    for atoms, species in zip(truth.atoms, truth.species):
        exact.append(polar_descriptors(atoms, atoms[species == 1], **ring))
        moved = atoms + rng.normal(0.0, 0.2, atoms.shape)  # a detector's error
        jittered.append(polar_descriptors(moved, moved[species == 1], **ring))
    exact, jittered = np.concatenate(exact), np.concatenate(jittered)
    classes = truth.classes.ravel()
    # the true atoms: every dopant-frame of a class aligns to one vector
    aligned = np.round(align_rotations(exact, 12).aligned, 9)
    vectors, which = np.unique(aligned, axis=0, return_inverse=True)
    assert len(vectors) == 3
    assert adjusted_rand_score(classes, which.ravel()) == 1.0
    # positions with a detector's error: the mixture's BIC finds the three classes
    k, labels = _bic_classes(align_rotations(jittered, 12).aligned)
    assert k == 3 and adjusted_rand_score(classes, labels) == 1.0
    k_raw, _ = _bic_classes(jittered)
    assert k_raw > 3  # without alignment, orientations split into classes
