"""Neighbor vectors keep one slot order for every atom; angles and lattice fits."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lectlib.crystallography import (
    fit_lattice_vectors,
    neighbor_angles,
    neighbor_vectors,
)
from lectlib.lattice import lattice_points, lattice_vectors


def _lattice(symmetry="square", spacing=10.0, angle=0.0, size=160, noise=0.0, seed=0):
    a = lattice_vectors(symmetry, spacing, angle)
    pts = lattice_points((size, size), a, origin=(size / 2, size / 2))[0]
    rng = np.random.default_rng(seed)
    return pts + rng.normal(0.0, noise, pts.shape), a


def _rotate(vectors, degrees):
    t = np.radians(degrees)
    # lectlib's angles run from +col towards +row: (row, col) = r (sin, cos)
    rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    return vectors @ rot.T


@settings(max_examples=40, deadline=None)
@given(
    angle=st.floats(-360.0, 360.0), symmetry=st.sampled_from(["square", "hexagonal"])
)
def test_every_atom_has_the_same_slot_order_at_any_rotation(angle, symmetry):
    pts, a = _lattice(symmetry, angle=angle, noise=0.3)
    k = 4 if symmetry == "square" else 6
    for nb in (neighbor_vectors(pts, k), neighbor_vectors(pts, lattice_vectors=a)):
        v = nb.vectors[nb.complete]
        assert len(v) > 0.6 * len(pts)
        # slot j is the neighbor along reference j for every atom: within the noise
        # (a swapped slot would be off by a whole spacing or more)
        assert np.abs(v - nb.reference).max() < 3.0
        assert len(nb.reference) == k


def test_atan2_sorting_flips_slots_at_the_branch_cut_and_reference_slots_do_not():
    # a square lattice turned so that one neighbor lies at 180 degrees: noise puts it
    # on either side of the atan2 branch cut
    pts, a = _lattice("square", angle=0.0, noise=0.3, seed=3)
    nb = neighbor_vectors(pts, lattice_vectors=a)
    v = nb.vectors[nb.complete]
    by_angle = np.argsort(np.arctan2(v[..., 0], v[..., 1]), axis=1)
    sorted_v = np.take_along_axis(v, by_angle[..., None], axis=1)
    first = sorted_v[:, 0]  # the first vector after sorting by atan2
    # two different neighbors come first for different atoms: the flip
    assert np.abs(first[:, 1]).max() > 8.0 and np.abs(first[:, 0]).max() > 8.0
    # the reference assignment keeps slot 2 the (0, -10) neighbor for every atom
    assert np.allclose(v[:, 2], [0.0, -10.0], atol=2.0)


def test_rotating_the_image_rotates_the_vectors_slot_by_slot():
    pts, a = _lattice("hexagonal", angle=5.0, noise=0.2, seed=1)
    center = np.array([80.0, 80.0])
    for turn in (30.0, 90.0, 175.0, 181.0):
        rotated = _rotate(pts - center, turn) + center
        ref = _rotate(neighbor_vectors(pts, 6).reference, turn)
        nb0 = neighbor_vectors(pts, reference=_rotate(ref, -turn))
        nb1 = neighbor_vectors(rotated, reference=ref)
        assert np.array_equal(nb0.indices, nb1.indices)
        both = nb0.complete
        assert np.allclose(_rotate(nb0.vectors[both], turn), nb1.vectors[both])


def test_vacancy_and_edge_atoms_are_incomplete_with_nan_slots():
    pts, a = _lattice("square", noise=0.0)
    middle = np.argmin(np.hypot(*(pts - 80.0).T))
    vacancy = np.delete(pts, middle, axis=0)
    nb = neighbor_vectors(vacancy, lattice_vectors=a)
    d = np.hypot(*(vacancy - pts[middle]).T)
    # the four atoms next to the vacancy lost one neighbor each
    assert not nb.complete[np.isclose(d, 10.0)].any()
    assert np.isnan(nb.vectors[~nb.complete]).any(axis=(1, 2)).all()
    assert (nb.indices[~nb.complete] == -1).any(axis=1).all()
    assert nb.complete.sum() == np.sum(
        (np.abs(pts - 80) < 75).all(axis=1)
    ) - 1 - 4 or nb.complete.sum() > 0.6 * len(pts)
    # filled slots point at the right atoms
    ok = nb.indices >= 0
    got = vacancy[nb.indices[ok]] - np.repeat(vacancy, 4, axis=0)[ok.ravel()]
    assert np.allclose(got, nb.vectors[ok])


def test_targets_give_the_a_site_cage_of_every_b_site():
    a = lattice_vectors("square", 12.0, 10.0)
    A = lattice_points((150, 150), a, origin=(75.0, 75.0))[0]
    rng = np.random.default_rng(0)
    shift = rng.normal(0, 0.4, (len(A), 2))
    B = A + (a[0] + a[1]) / 2 + shift
    for nb in (
        neighbor_vectors(B, lattice_vectors=a, targets=A),
        neighbor_vectors(B, 4, targets=A),
    ):
        assert len(nb.reference) == 4
        half = np.abs(np.linalg.solve(a.T, nb.reference.T).T)
        assert np.allclose(half, 0.5, atol=0.05)
        v = nb.vectors[nb.complete]
        # every cage is the reference minus that B site's own shift
        assert np.allclose(v, nb.reference - shift[nb.complete][:, None, :], atol=0.1)


def test_angles_sorted_are_invariant_under_slot_permutation():
    rng = np.random.default_rng(2)
    v = rng.normal(size=(20, 4, 2))
    shifted = np.roll(v, 1, axis=1)
    mirrored = v[:, ::-1]
    a = neighbor_angles(v, sort=True)
    assert np.allclose(a, neighbor_angles(shifted, sort=True))
    assert np.allclose(a, neighbor_angles(mirrored, sort=True))
    # unsorted, a cyclic shift of the slots shifts the angles
    assert np.allclose(np.roll(neighbor_angles(v), 1, axis=1), neighbor_angles(shifted))
    assert np.all((a >= 0) & (a <= 180))
    with_nan = v.copy()
    with_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="complete"):
        neighbor_angles(with_nan)


def test_fit_lattice_vectors_measures_the_cell_to_its_standard_error():
    pts, a = _lattice("hexagonal", spacing=11.3, angle=17.0, noise=0.3, seed=4)
    stray = np.array([[80.0 + 3.5, 80.0 + 2.0]])  # not on the lattice
    fit = fit_lattice_vectors(np.vstack([pts, stray]), np.round(a))
    assert not fit.inlier[-1] and fit.inlier[:-1].all()
    z = (fit.vectors - a) / fit.vector_std
    assert np.all(np.abs(z) < 5.0)
    assert np.all(fit.vector_std < 0.02)
    assert np.allclose(
        fit.origin + fit.indices @ fit.vectors + fit.residuals, np.vstack([pts, stray])
    )


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda p: neighbor_vectors(np.full((5, 2), np.nan), 2), "finite|NaN"),
        (lambda p: neighbor_vectors(p[:3], 4), "only 2 candidate"),
        (lambda p: neighbor_vectors(p, 4, tolerance=0.6), "tolerance"),
        (lambda p: neighbor_vectors(p), "n_neighbors is needed"),
        (
            lambda p: neighbor_vectors(
                p, lattice_vectors=[[0, 10], [10, 0]], n_neighbors=5
            ),
            "splits a shell",
        ),
        (
            lambda p: neighbor_vectors(
                p, reference=[[0, 10]], lattice_vectors=[[0, 10], [10, 0]]
            ),
            "not both",
        ),
        (lambda p: neighbor_vectors(p, reference=[[0, 10], [0, 11]]), "too close"),
        (lambda p: neighbor_vectors(p[:, :1], 2), r"\(n, 2\)"),
        (
            lambda p: neighbor_vectors(p, reference=[[0, 10]], n_neighbors=2),
            "reference holds",
        ),
        (lambda p: neighbor_angles(np.zeros((3, 1, 2))), "k >= 2"),
        (lambda p: neighbor_angles(np.zeros((3, 4, 2))), "zero"),
        (lambda p: fit_lattice_vectors(p[:2], [[0, 10], [10, 0]]), "at least 3"),
        (lambda p: fit_lattice_vectors(p, [[0, 10], [0, 20]]), "parallel"),
    ],
)
def test_bad_input_raises_a_clear_error(call, match):
    pts, _ = _lattice("square")
    with pytest.raises(ValueError, match=match):
        call(pts)


def test_input_is_not_modified():
    pts, a = _lattice("square", noise=0.2)
    before = pts.copy()
    neighbor_vectors(pts, 4)
    fit_lattice_vectors(pts, a)
    assert np.array_equal(pts, before)


def test_measured_lattice_vectors_give_the_whole_first_shell():
    # fitted vectors are square only to within the noise: still four neighbors
    a = np.array([[0.003, 12.0004], [11.9991, -0.002]])
    A = lattice_points((120, 120), a, origin=(60.0, 60.0))[0]
    B = A + (a[0] + a[1]) / 2
    nb = neighbor_vectors(B, lattice_vectors=a, targets=A)
    assert len(nb.reference) == 4
    # a rectangular cell 10 % longer along one axis has a first shell of two
    rect = np.array([[0.0, 11.0], [10.0, 0.0]])
    pts = lattice_points((120, 120), rect, origin=(60.0, 60.0))[0]
    assert len(neighbor_vectors(pts, lattice_vectors=rect).reference) == 2
