"""Tests of lectlib.lattice (lattice and reciprocal vectors, Bragg spots, lattice
points) and of the atom rendering and image noise in lectlib.datasets.rendering."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from helpers import FAST
from lectlib.datasets import add_image_noise, make_charge_order, render_atoms
from lectlib.lattice import (
    SYMMETRIES,
    bragg_spots,
    lattice_points,
    lattice_vectors,
    reciprocal_vectors,
)

ANGLES = st.floats(-180.0, 180.0, allow_nan=False)
SPACINGS = st.floats(2.0, 40.0, allow_nan=False)


# ---------------------------------------------------------------------- lattice_vectors


@FAST
@given(symmetry=st.sampled_from(SYMMETRIES), spacing=SPACINGS, angle=ANGLES)
def test_lattice_vectors_have_the_spacing_and_the_angle_between_them(
    symmetry, spacing, angle
):
    a = lattice_vectors(symmetry, spacing, angle)
    assert a.shape == (2, 2)
    np.testing.assert_allclose(np.hypot(*a.T), spacing, rtol=1e-12)
    between = np.degrees(np.arccos(np.clip(a[0] @ a[1] / spacing**2, -1, 1)))
    assert between == pytest.approx(90.0 if symmetry == "square" else 60.0, abs=1e-6)
    # a1 points at `angle` from +col towards +row
    assert (
        np.degrees(np.arctan2(a[0, 0], a[0, 1]))
        == pytest.approx((angle + 180) % 360 - 180, abs=1e-6)
        or abs(abs(angle) - 180) < 1e-9
    )


def test_lattice_vectors_errors():
    with pytest.raises(
        ValueError, match=r"symmetry must be 'square' or 'hexagonal', got 'cubic'"
    ):
        lattice_vectors("cubic", 5.0)
    with pytest.raises(ValueError, match=r"spacing must be > 0"):
        lattice_vectors("square", 0.0)
    with pytest.raises(TypeError, match=r"angle must be a real number"):
        lattice_vectors("square", 5.0, "10")


# ------------------------------------------------------------------- reciprocal_vectors


@FAST
@given(a=st.lists(st.floats(-20, 20, allow_nan=False), min_size=4, max_size=4))
def test_reciprocal_vectors_are_dual_to_the_lattice(a):
    a = np.reshape(a, (2, 2))
    relative_area = abs(np.linalg.det(a)) / max(np.sum(a**2), 1e-300)
    if relative_area <= 1e-12:
        with pytest.raises(ValueError, match=r"parallel"):
            reciprocal_vectors(a)
        return
    assume(relative_area > 1e-3)  # between the two, duality holds only to round-off
    b = reciprocal_vectors(a)
    np.testing.assert_allclose(b @ a.T, np.eye(2), atol=1e-9)


def test_reciprocal_vectors_errors():
    with pytest.raises(ValueError, match=r"vectors must be a \(2, 2\) array"):
        reciprocal_vectors(np.eye(3))
    with pytest.raises(ValueError, match=r"parallel"):
        reciprocal_vectors([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(ValueError, match=r"NaN"):
        reciprocal_vectors([[1.0, np.nan], [0.0, 1.0]])


def test_a_periodic_image_has_its_fourier_peaks_at_the_reciprocal_vectors():
    """The physics the module exists for: cos(2π b·r) summed over the Bragg vectors of a
    lattice is a periodic image whose FFT peaks sit on the predicted spots."""
    n = 240
    a = lattice_vectors("hexagonal", 10.0, 0.0)  # a1 along +col: integer periods in 240
    spots = bragg_spots(a)
    r, c = np.mgrid[:n, :n]
    image = sum(np.cos(2 * np.pi * (k[0] * r + k[1] * c)) for k in spots)
    power = np.abs(np.fft.fft2(image))
    power[0, 0] = 0
    freqs = np.fft.fftfreq(n)
    found = np.argwhere(power > 0.5 * power.max())
    found_k = np.column_stack([freqs[found[:, 0]], freqs[found[:, 1]]])
    for k in spots:
        assert np.min(np.hypot(*(found_k - k).T)) <= 1.0 / n


# -------------------------------------------------------------------------- bragg_spots


def _brute_force_shells(a, shells, reach=12):
    b = reciprocal_vectors(a)
    hk = np.array(
        [
            p
            for p in itertools.product(range(-reach, reach + 1), repeat=2)
            if p != (0, 0)
        ]
    )
    g = hk @ b
    length = np.hypot(*g.T)
    distinct = []
    for value in np.sort(length):
        if not distinct or value > distinct[-1] * (1 + 1e-9):
            distinct.append(value)
    return g[length <= distinct[shells - 1] * (1 + 1e-9)]


@pytest.mark.parametrize(
    "symmetry, counts", [("square", [4, 8, 12]), ("hexagonal", [6, 12, 18])]
)
def test_bragg_spot_shells_of_square_and_hexagonal_lattices(symmetry, counts):
    a = lattice_vectors(symmetry, 9.0, 17.0)
    first = np.hypot(*bragg_spots(a).T)
    # first-order spots: 1 / (a sin 90°) or 1 / (a sin 60°)
    expected = 1 / 9.0 if symmetry == "square" else 1 / (9.0 * np.sin(np.pi / 3))
    np.testing.assert_allclose(first, expected, rtol=1e-12)
    for shells, count in zip((1, 2, 3), counts):
        spots = bragg_spots(a, shells=shells)
        assert len(spots) == count
        # Friedel pairs: -G is there for every G
        for g in spots:
            assert np.min(np.hypot(*(spots + g).T)) < 1e-12


@FAST
@given(
    a=st.lists(st.floats(-20, 20, allow_nan=False), min_size=4, max_size=4),
    shells=st.integers(1, 3),
)
def test_bragg_spots_match_a_brute_force_search(a, shells):
    """Also for oblique, sheared cells, where the shortest vectors are not h, k = ±1."""
    a = np.reshape(a, (2, 2))
    if abs(np.linalg.det(a)) < 0.05 * max(np.sum(a**2), 1.0) or np.sum(a**2) < 1:
        return
    spots, hk = bragg_spots(a, shells=shells, return_indices=True)
    np.testing.assert_allclose(spots, hk @ reciprocal_vectors(a), atol=1e-12)
    expected = _brute_force_shells(a, shells)
    assert len(spots) == len(expected)
    for g in expected:
        assert np.min(np.hypot(*(spots - g).T)) < 1e-9


def test_bragg_spots_within_k_max_and_their_order():
    a = lattice_vectors("square", 8.0)
    spots = bragg_spots(a, k_max=0.2)
    assert len(spots) == 8  # |G| = 0.125 and 0.177; 0.25 is beyond
    length = np.hypot(*spots.T)
    assert np.all(np.diff(length) >= -1e-12)
    np.testing.assert_allclose(
        spots[:4],
        [[0.0, 0.125], [0.125, 0.0], [0.0, -0.125], [-0.125, 0.0]],
        atol=1e-12,
    )


def test_bragg_spots_errors():
    a = lattice_vectors("square", 8.0)
    with pytest.raises(ValueError, match=r"shells must be >= 1"):
        bragg_spots(a, shells=0)
    with pytest.raises(ValueError, match=r"k_max must be > 0"):
        bragg_spots(a, k_max=0.0)


# ----------------------------------------------------------------------- lattice_points


@FAST
@given(
    symmetry=st.sampled_from(SYMMETRIES),
    spacing=st.floats(2.0, 12.0),
    angle=ANGLES,
    origin=st.tuples(st.floats(-20, 20), st.floats(-20, 20)),
    margin=st.floats(0.0, 10.0),
    shape=st.tuples(st.integers(1, 40), st.integers(1, 40)),
)
def test_lattice_points_are_every_point_inside_the_margin(
    symmetry, spacing, angle, origin, margin, shape
):
    a = lattice_vectors(symmetry, spacing, angle)
    points, nm = lattice_points(shape, a, origin, margin=margin)
    np.testing.assert_allclose(points, nm @ a + origin, atol=1e-9)
    h, w = shape
    inside = lambda p: (
        (p[:, 0] > -margin)
        & (p[:, 0] < h - 1 + margin)  # noqa: E731
        & (p[:, 1] > -margin)
        & (p[:, 1] < w - 1 + margin)
    )
    assert inside(points).all()
    # brute force over a generous range of indices finds no point that was left out
    reach = int((h + w + 2 * margin + 2 * np.hypot(*origin)) / (spacing * 0.5)) + 3
    n, m = np.meshgrid(
        np.arange(-reach, reach + 1), np.arange(-reach, reach + 1), indexing="ij"
    )
    every = np.column_stack([n.ravel(), m.ravel()]) @ a + origin
    assert inside(every).sum() == len(points)


def test_lattice_points_order_and_errors():
    points, nm = lattice_points((10, 10), lattice_vectors("square", 4.0))
    assert len(points) == 9
    assert np.all(np.diff(nm[:, 0]) >= 0)  # n slowest
    with pytest.raises(ValueError, match=r"margin must be >= 0"):
        lattice_points((10, 10), lattice_vectors("square", 4.0), margin=-1.0)
    with pytest.raises(ValueError, match=r"origin must be a pair"):
        lattice_points((10, 10), lattice_vectors("square", 4.0), origin=(1.0, 2.0, 3.0))


def test_charge_order_bragg_vectors_come_from_the_lattice_module():
    d = make_charge_order((64, 64), spacing=6.0, angle=12.0, random_state=0)
    b = reciprocal_vectors(lattice_vectors("hexagonal", 6.0, 12.0))
    np.testing.assert_allclose(d.bragg, [b[0], b[1], b[0] + b[1]], atol=1e-15)
    first = bragg_spots(lattice_vectors("hexagonal", 6.0, 12.0))
    for g in d.bragg:
        assert np.min(np.hypot(*(first - g).T)) < 1e-12


# ---------------------------------------------------------------------------- rendering


@FAST
@given(
    r=st.floats(10, 22),
    c=st.floats(10, 22),
    weight=st.floats(0.1, 10),
    size=st.floats(0.8, 2.0),
)
def test_render_atoms_keeps_intensity_and_center_of_mass(r, c, weight, size):
    """Away from the edges (the tails of an atom 4 sigma away are not cut off)."""
    image = render_atoms((32, 32), [[r, c]], [weight], atom_size=size)
    total = image.sum()
    assert total == pytest.approx(2 * np.pi * size**2 * weight, rel=1e-6)
    rows, cols = np.mgrid[:32, :32]
    assert (image * rows).sum() / total == pytest.approx(r, abs=1e-6)
    assert (image * cols).sum() / total == pytest.approx(c, abs=1e-6)


def test_render_atoms_outside_the_image_shine_in_and_errors():
    inside = render_atoms((20, 20), [[10.0, 10.0]], atom_size=1.0)
    edge = render_atoms((20, 20), [[-2.0, 10.0]], atom_size=1.0)
    assert edge[0, 10] > 0 and edge.sum() < inside.sum()
    assert render_atoms((8, 8), np.empty((0, 2))).sum() == 0
    with pytest.raises(ValueError, match=r"positions must have shape \(n_atoms, 2\)"):
        render_atoms((8, 8), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"weights has 2 values for 3 positions"):
        render_atoms((8, 8), np.zeros((3, 2)), [1.0, 2.0])
    with pytest.raises(ValueError, match=r"atom_size must be > 0"):
        render_atoms((8, 8), np.zeros((1, 2)), atom_size=0.0)


def test_add_image_noise_levels_and_errors():
    clean = np.full((200, 200), 4.0) + np.linspace(0, 1, 200)
    g = add_image_noise(clean, "gaussian", 0.5, random_state=0)
    assert np.std(g - clean) == pytest.approx(0.5 * clean.std(), rel=0.02)
    p = add_image_noise(clean, "poisson", 25.0, random_state=0)
    assert np.var((p - clean) * 25.0 / np.sqrt(clean)) == pytest.approx(25.0, rel=0.03)
    np.testing.assert_array_equal(add_image_noise(clean, None, 3.0), clean)
    np.testing.assert_array_equal(
        add_image_noise(clean, "poisson", 2.0, random_state=5),
        add_image_noise(clean, "poisson", 2.0, random_state=5),
    )
    with pytest.raises(
        ValueError, match=r"noise must be 'gaussian', 'poisson' or None"
    ):
        add_image_noise(clean, "shot", 1.0)
    with pytest.raises(ValueError, match=r"noise_level must be > 0"):
        add_image_noise(clean, "poisson", 0.0)
