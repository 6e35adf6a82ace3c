"""Tests of lectlib.crystallography.symmetry: point groups, character tables,
symmetry-adapted displacement modes, mode amplitudes and replicas."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import FAST, SEEDS
from lectlib.crystallography.symmetry import (
    POINT_GROUPS,
    character_table,
    mode_amplitudes,
    point_group,
    reduce_representation,
    replicas,
    symmetry_modes,
)

TWO_D = [g for g in POINT_GROUPS if g != "D2h"]

# the sites: neighbors of an atom in a square and a hexagonal lattice, (row, col)
SQUARE = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, -1.0], [-1.0, 0.0]]) * 3.9
HEX = 2.5 * np.array(
    [[np.sin(t), np.cos(t)] for t in np.radians(np.arange(0.0, 360.0, 60.0))]
)
TRIANGLE = HEX[::2]  # a honeycomb site: three neighbors 120° apart


def ethylene():
    """C2H4 with C=C along x, the molecule in the xy plane (z perpendicular):
    C–C 1.33 Å, C–H 1.08 Å, HCH 117°; atoms C, C, H, H, H, H, offsets from the
    center of mass's point (the inversion center), in Å."""
    c = 1.33 / 2
    half = np.radians(117.0 / 2)
    hx, hy = c + 1.08 * np.cos(half), 1.08 * np.sin(half)
    return np.array(
        [
            [c, 0, 0],
            [-c, 0, 0],
            [hx, hy, 0],
            [hx, -hy, 0],
            [-hx, hy, 0],
            [-hx, -hy, 0],
        ]
    )


def orbit(point, group):
    """The images of one point under every operation, each once."""
    images = point_group(group).operations @ np.asarray(point, float)
    out = []
    for p in images:
        if not any(np.allclose(p, q, atol=1e-9) for q in out):
            out.append(p)
    return np.array(out)


# sites that every group maps onto themselves
SITES = [(g, "square", SQUARE) for g in ("1", "2", "m", "2mm", "4", "4mm")]
SITES += [(g, "hexagonal", HEX) for g in ("1", "2", "m", "2mm", "3", "3m", "6", "6mm")]
SITES += [(g, "triangle", TRIANGLE) for g in ("1", "3", "3m")]
SITES += [(g, "general orbit", orbit([0.7, 2.3], g)) for g in TWO_D]
SITES += [
    (
        "4mm",
        "two shells + center",
        np.vstack([SQUARE, 2 * orbit([1, 1], "4mm"), [[0, 0]]]),
    )
]
SITES += [("6mm", "center + shell", np.vstack([[[0.0, 0.0]], HEX]))]
SITES += [("D2h", "ethylene", ethylene())]
SITES += [("D2h", "general orbit", orbit([0.3, 0.7, 1.1], "D2h"))]
SITE_IDS = [f"{g}-{name}" for g, name, _ in SITES]


def displacement_representation(offsets, group):
    """D(g) built here independently: permutation by nearest offset, then kron."""
    ops = point_group(group).operations
    out = []
    for R in ops:
        moved = offsets @ R.T
        P = np.zeros((len(offsets), len(offsets)))
        for j, m in enumerate(moved):
            P[np.argmin(np.linalg.norm(offsets - m, axis=1)), j] = 1.0
        out.append(np.kron(P, R))
    return np.array(out)


# ------------------------------------------------------------------------ point groups


@pytest.mark.parametrize("name", POINT_GROUPS)
def test_point_group_is_a_group_of_orthogonal_matrices(name):
    g = point_group(name)
    ops = g.operations
    n, d = len(ops), g.dim
    assert ops.shape == (n, d, d) and d == (3 if name == "D2h" else 2)
    assert len(g.labels) == n == len(set(g.labels)) and g.labels[0] == "E"
    np.testing.assert_array_equal(ops[0], np.eye(d))
    np.testing.assert_allclose(
        ops @ ops.transpose(0, 2, 1), np.eye(d)[None].repeat(n, 0), atol=1e-14
    )
    # closed under products: every product is one of the operations
    for a, b in itertools.product(ops, ops):
        assert np.abs(ops - a @ b).sum(axis=(1, 2)).min() < 1e-12
    # the classes partition the group and are closed under conjugation
    assert sorted(i for c in g.classes for i in c) == list(range(n))
    assert len(g.classes) == len(g.class_labels)
    for members in g.classes:
        for h in ops:
            conj = h @ ops[members[0]] @ h.T
            hit = int(np.argmin(np.abs(ops - conj).sum(axis=(1, 2))))
            assert hit in members


def test_point_group_conventions():
    c4 = point_group("4mm")
    # C4 turns +col into +row: clockwise on the screen, lectlib's positive angle
    np.testing.assert_array_equal(c4.operations[c4.labels.index("C4")] @ [0, 1], [1, 0])
    # σ(0°) keeps the col axis, σ(90°) the row axis, σ(45°) swaps row and col
    np.testing.assert_array_equal(
        c4.operations[c4.labels.index("σ(0°)")], [[-1, 0], [0, 1]]
    )
    np.testing.assert_array_equal(
        c4.operations[c4.labels.index("σ(90°)")], [[1, 0], [0, -1]]
    )
    np.testing.assert_array_equal(
        c4.operations[c4.labels.index("σ(45°)")], [[0, 1], [1, 0]]
    )
    m = point_group("m")
    assert m.labels == ["E", "σ(90°)"]
    np.testing.assert_array_equal(m.operations[1] @ [2.0, 3.0], [2.0, -3.0])
    assert point_group("6mm").labels == [
        "E", "C6", "C3", "C2", "C3^2", "C6^5",
        "σ(0°)", "σ(60°)", "σ(120°)", "σ(30°)", "σ(90°)", "σ(150°)",
    ]  # fmt: skip
    # the three σv of 3m go through the neighbors of lattice_vectors("hexagonal", ...)
    g3m = point_group("3m")
    for label in ("σ(0°)", "σ(60°)", "σ(120°)"):
        R = g3m.operations[g3m.labels.index(label)]
        assert sum(np.allclose(R @ p, p) for p in HEX) == 2
    d2h = point_group("D2h")
    assert d2h.labels == [
        "E",
        "C2(z)",
        "C2(y)",
        "C2(x)",
        "i",
        "σ(xy)",
        "σ(xz)",
        "σ(yz)",
    ]
    np.testing.assert_array_equal(d2h.operations[1], np.diag([-1, -1, 1]))  # C2(z)
    np.testing.assert_array_equal(d2h.operations[5], np.diag([1, 1, -1]))  # σ(xy)


def test_point_group_aliases_and_copies():
    assert point_group("C4v").name == "4mm" and point_group("4mm").schoenflies == "C4v"
    assert point_group("Cs").name == "m" and point_group("mmm").name == "D2h"
    a = point_group("4mm")
    a.operations[:] = 0.0
    a.labels.append("junk")
    b = point_group("4mm")
    assert np.abs(b.operations).sum() > 0 and "junk" not in b.labels


# -------------------------------------------------------------------- character tables


@pytest.mark.parametrize("name", POINT_GROUPS)
def test_character_table_rows_are_orthogonal(name):
    t = character_table(name)
    chi, sizes = t.characters, t.class_sizes
    assert (
        chi.shape == (len(t.irreps), len(t.class_labels)) == (len(t.irreps), len(sizes))
    )
    assert sizes.sum() == t.order == len(point_group(name).operations)
    gram = (chi * sizes) @ chi.T / t.order
    np.testing.assert_allclose(gram, np.diag(t.norms), atol=1e-12)
    assert set(np.round(t.norms, 12)) <= {1.0, 2.0}
    # Σ dim² = |G| over the complex irreps: a real E of a complex pair counts twice 1²
    assert (t.dims**2 / t.norms).sum() == pytest.approx(t.order)
    # the first column (E) holds the dimensions
    np.testing.assert_array_equal(chi[:, 0], t.dims)
    assert len(t.irreps) == len(set(t.irreps))


@pytest.mark.parametrize("name", POINT_GROUPS)
def test_character_table_matrices_are_representations_with_these_characters(name):
    g, t = point_group(name), character_table(name)
    ops = g.operations
    product = [
        [int(np.argmin(np.abs(ops - a @ b).sum(axis=(1, 2)))) for b in ops] for a in ops
    ]
    for irrep, chi in zip(t.irreps, t.characters):
        M = t.matrices[irrep]
        dim = t.dims[t.irreps.index(irrep)]
        assert M.shape == (len(ops), dim, dim)
        np.testing.assert_allclose(
            M @ M.transpose(0, 2, 1),
            np.eye(M.shape[1])[None].repeat(len(M), 0),
            atol=1e-12,
        )
        for i, j in itertools.product(range(len(ops)), repeat=2):
            np.testing.assert_allclose(M[i] @ M[j], M[product[i][j]], atol=1e-12)
        traces = np.trace(M, axis1=1, axis2=2)
        for c, members in enumerate(g.classes):  # a class function, = the table
            np.testing.assert_allclose(traces[members], chi[c], atol=1e-12)


@pytest.mark.parametrize("name", POINT_GROUPS)
def test_functions_decompose_the_vector_axial_and_quadratic_representations(name):
    """x, y(, z) transform like the vector representation (trace of the operation),
    R like an axial vector (det·trace), the quadratic functions like the symmetric
    square; the table's functions must decompose exactly these characters."""
    g, t = point_group(name), character_table(name)
    ops = g.operations
    per_op = np.zeros((len(t.irreps), len(ops)))
    for c, members in enumerate(g.classes):
        per_op[:, members] = t.characters[:, [c]]
    trace = np.trace(ops, axis1=1, axis2=2)
    det = np.linalg.det(ops)
    axial = det if g.dim == 2 else det * trace  # Rz only in the plane
    square = (trace**2 + np.trace(ops @ ops, axis1=1, axis2=2)) / 2

    def kind(item):
        if item.startswith("R"):
            return "rot"
        return "lin" if item.strip("()") in ("x", "y", "z", "x, y") else "quad"

    def copies(wanted):
        """Copies of each irrep among the functions; "(x, y)" is one copy."""
        return np.array(
            [
                sum(kind(i) == wanted for i in re.findall(r"\([^)]*\)|[^,\s]+", f))
                for f in (t.functions[irrep] for irrep in t.irreps)
            ]
        )

    np.testing.assert_allclose(copies("lin") @ per_op, trace, atol=1e-12)
    np.testing.assert_allclose(copies("rot") @ per_op, axial, atol=1e-12)
    np.testing.assert_allclose(copies("quad") @ per_op, square, atol=1e-12)
    # the structured fields say the same
    lin = {i: int(c) for i, c in zip(t.irreps, copies("lin")) if c}
    rot = {i: int(c) for i, c in zip(t.irreps, copies("rot")) if c}
    assert t.translations == lin and t.rotations == rot
    assert t.ir_active == list(lin)
    assert t.raman_active == [i for i, c in zip(t.irreps, copies("quad")) if c]


def test_d2h_is_the_lecture_table():
    t = character_table("D2h")
    assert t.class_labels == [
        "E",
        "C2(z)",
        "C2(y)",
        "C2(x)",
        "i",
        "σ(xy)",
        "σ(xz)",
        "σ(yz)",
    ]
    assert t.irreps == ["Ag", "B1g", "B2g", "B3g", "Au", "B1u", "B2u", "B3u"]
    lecture = [
        [1, 1, 1, 1, 1, 1, 1, 1],
        [1, 1, -1, -1, 1, 1, -1, -1],
        [1, -1, 1, -1, 1, -1, 1, -1],
        [1, -1, -1, 1, 1, -1, -1, 1],
        [1, 1, 1, 1, -1, -1, -1, -1],
        [1, 1, -1, -1, -1, -1, 1, 1],
        [1, -1, 1, -1, -1, 1, -1, 1],
        [1, -1, -1, 1, -1, 1, 1, -1],
    ]
    np.testing.assert_array_equal(t.characters, lecture)
    assert t.functions == {
        "Ag": "x2, y2, z2",
        "B1g": "Rz, xy",
        "B2g": "Ry, xz",
        "B3g": "Rx, yz",
        "Au": "",
        "B1u": "z",
        "B2u": "y",
        "B3u": "x",
    }
    assert t.translations == {"B1u": 1, "B2u": 1, "B3u": 1}
    assert t.rotations == {"B1g": 1, "B2g": 1, "B3g": 1}


@pytest.mark.parametrize(
    ("name", "irreps"),
    [
        ("1", ["A"]),
        ("2", ["A", "B"]),
        ("m", ["A'", "A''"]),
        ("2mm", ["A1", "A2", "B1", "B2"]),
        ("3", ["A", "E"]),
        ("3m", ["A1", "A2", "E"]),
        ("4", ["A", "B", "E"]),
        ("4mm", ["A1", "A2", "B1", "B2", "E"]),
        ("6", ["A", "B", "E1", "E2"]),
        ("6mm", ["A1", "A2", "B1", "B2", "E1", "E2"]),
    ],
)
def test_mulliken_labels_and_cyclic_e(name, irreps):
    t = character_table(name)
    assert t.irreps == irreps
    if name in ("3", "4", "6"):  # complex pairs combined: χ(Cn^p) = 2 cos(2πkp/n)
        n = int(name)
        for irrep in [i for i in irreps if i.startswith("E")]:
            k = 2 if irrep == "E2" else 1
            expected = 2 * np.cos(2 * np.pi * k * np.arange(n) / n)
            row = t.characters[irreps.index(irrep)]
            np.testing.assert_allclose(row, expected, atol=1e-12)
            assert t.norms[irreps.index(irrep)] == pytest.approx(2.0)


def test_familiar_tables():
    t = character_table("6mm")
    assert t.class_labels == ["E", "2C6", "2C3", "C2", "3σv", "3σd"]
    np.testing.assert_allclose(
        t.characters,
        [
            [1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, -1, -1],
            [1, -1, 1, -1, 1, -1],
            [1, -1, 1, -1, -1, 1],
            [2, 1, -1, -2, 0, 0],
            [2, -1, -1, 2, 0, 0],
        ],
        atol=1e-12,
    )
    assert t.functions["E1"] == "(x, y)" and t.functions["E2"] == "(x2-y2, xy)"
    t = character_table("2mm")
    assert t.class_labels == ["E", "C2", "σv(xz)", "σv'(yz)"]
    np.testing.assert_array_equal(
        t.characters, [[1, 1, 1, 1], [1, 1, -1, -1], [1, -1, 1, -1], [1, -1, -1, 1]]
    )
    assert t.functions == {"A1": "x2+y2, x2-y2", "A2": "Rz, xy", "B1": "x", "B2": "y"}
    t = character_table("m")
    assert t.irreps == ["A'", "A''"] and t.functions["A''"] == "x, Rz, xy"
    t = character_table("3m")
    np.testing.assert_allclose(t.characters, [[1, 1, 1], [1, 1, -1], [2, -1, 0]])


def test_character_table_returns_copies():
    t = character_table("4mm")
    t.characters[:] = 7
    t.matrices["E"][:] = 7
    t.functions["A1"] = "junk"
    u = character_table("4mm")
    assert u.characters[0, 0] == 1 and u.matrices["E"][0, 0, 0] == 1
    assert u.functions["A1"] == "x2+y2"


# ---------------------------------------------------------------------- symmetry modes


@pytest.mark.parametrize(("group", "site", "offsets"), SITES, ids=SITE_IDS)
def test_modes_are_orthonormal_complete_and_transform_by_their_characters(
    group, site, offsets
):
    modes = symmetry_modes(offsets, group)
    t, g = character_table(group), point_group(group)
    k, d = offsets.shape
    assert list(modes) == t.irreps
    Q = np.vstack(list(modes.values()))
    assert Q.shape == (d * k, d * k)
    np.testing.assert_allclose(Q @ Q.T, np.eye(d * k), atol=1e-12)  # complete basis
    counts = reduce_representation(offsets, group)
    D = displacement_representation(offsets, group)
    for i, irrep in enumerate(t.irreps):
        B = modes[irrep]
        dim = t.dims[i]
        assert B.shape == (counts[irrep] * dim, d * k)
        if not len(B):
            continue
        for c, members in enumerate(g.classes):
            for op in members:
                restricted = B @ D[op] @ B.T
                # D(g) keeps the subspace: the restriction is orthogonal
                np.testing.assert_allclose(
                    restricted @ restricted.T, np.eye(len(B)), atol=1e-10
                )
                trace = np.trace(restricted)
                assert trace == pytest.approx(
                    counts[irrep] * t.characters[i, c], abs=1e-10
                )
                if dim == 2:  # partner pairs transform by the table's matrices
                    for p in range(0, len(B), 2):
                        np.testing.assert_allclose(
                            restricted[p : p + 2, p : p + 2],
                            t.matrices[irrep][op],
                            atol=1e-10,
                        )
        # in the image of the projection operator
        per_op = np.zeros(len(D))
        for c, members in enumerate(g.classes):
            per_op[members] = t.characters[i, c]
        P = dim / (t.norms[i] * len(D)) * np.einsum("g,gij->ij", per_op, D)
        np.testing.assert_allclose(B @ P, B, atol=1e-12)
        assert np.trace(P) == pytest.approx(len(B))


@pytest.mark.parametrize(("group", "site", "offsets"), SITES, ids=SITE_IDS)
def test_modes_are_deterministic_and_signed_by_their_seed(group, site, offsets):
    a = symmetry_modes(offsets, group)
    b = symmetry_modes(offsets.copy(), group)
    for irrep in a:
        np.testing.assert_array_equal(a[irrep], b[irrep])
    # the first totally symmetric mode grows from the first site's outward radial
    # seed, so it overlaps the breathing pattern (the offsets themselves) positively
    first = a[character_table(group).irreps[0]][0]
    if np.any(offsets[0]):
        assert first @ offsets.ravel() > 0.1 * np.linalg.norm(offsets)


def test_square_site_modes_are_the_textbook_patterns():
    modes = symmetry_modes(SQUARE, "4mm")
    r = SQUARE / np.linalg.norm(SQUARE, axis=1, keepdims=True)
    t = r @ np.array([[0, -1], [1, 0]])  # r turned +90° (from +col towards +row)
    np.testing.assert_allclose(modes["A1"], [r.ravel() / 2], atol=1e-15)  # breathing
    np.testing.assert_allclose(modes["A2"], [t.ravel() / 2], atol=1e-15)  # rotation Rz
    # B1 ~ x2-y2: the col-axis pair out, the row-axis pair in; B2 ~ xy: shear
    np.testing.assert_allclose(
        modes["B1"], [[0, 1, -1, 0, 0, -1, 1, 0]] / np.float64(2), atol=1e-15
    )
    np.testing.assert_allclose(
        modes["B2"], [[1, 0, 0, 1, -1, 0, 0, -1]] / np.float64(2), atol=1e-15
    )
    # E: (x, y) pairs: the col-axis pair moving +col, then its C4 partner
    s = 1 / np.sqrt(2)
    np.testing.assert_allclose(modes["E"][0], [0, s, 0, 0, 0, s, 0, 0], atol=1e-15)
    np.testing.assert_allclose(modes["E"][1], [0, 0, s, 0, 0, 0, s, 0], atol=1e-15)


@FAST
@given(perm=st.permutations(range(4)))
def test_square_modes_follow_the_slot_order(perm):
    """The breathing and rotation modes do not depend on how the slots are listed."""
    perm = list(perm)
    base = symmetry_modes(SQUARE, "4mm")
    modes = symmetry_modes(SQUARE[perm], "4mm")
    for irrep in ("A1", "A2", "B1", "B2"):
        expected = base[irrep].reshape(4, 2)[perm].ravel()
        # B1 and B2 have no seed-independent sign; A1 (outward) and A2 (+Rz) do
        sign = 1.0 if irrep in ("A1", "A2") else np.sign(modes[irrep][0] @ expected)
        np.testing.assert_allclose(modes[irrep][0], sign * expected, atol=1e-12)


def test_hexagonal_site():
    counts = reduce_representation(HEX, "6mm")
    assert counts == {"A1": 1, "A2": 1, "B1": 1, "B2": 1, "E1": 2, "E2": 2}
    modes = symmetry_modes(HEX, "6mm")
    r = HEX / 2.5
    np.testing.assert_allclose(modes["A1"][0], r.ravel() / np.sqrt(6), atol=1e-14)
    assert reduce_representation(HEX, "6") == {"A": 2, "B": 2, "E1": 2, "E2": 2}
    assert reduce_representation(TRIANGLE, "3m") == {"A1": 1, "A2": 1, "E": 2}
    assert reduce_representation(TRIANGLE, "3") == {"A": 2, "E": 2}


def test_regular_orbit_holds_every_irrep_dim_times_d():
    """A general point's orbit carries the regular representation, d times."""
    for group in POINT_GROUPS:
        p = [0.7, 2.3] if group != "D2h" else [0.3, 0.7, 1.1]
        t = character_table(group)
        counts = reduce_representation(orbit(p, group), group)
        d = len(p)
        expected = {
            i: int(round(d * dim / nu)) for i, dim, nu in zip(t.irreps, t.dims, t.norms)
        }
        assert counts == expected, group


def test_central_atom_alone_moves_like_x_y():
    for group in TWO_D:
        t = character_table(group)
        assert {
            i: c for i, c in reduce_representation([[0.0, 0.0]], group).items() if c
        } == t.translations


def test_nearly_symmetric_offsets_within_tol():
    rng = np.random.default_rng(3)
    noisy = SQUARE + rng.normal(0.0, 1e-3, SQUARE.shape)
    with pytest.raises(ValueError, match="not symmetric under 4mm"):
        symmetry_modes(noisy, "4mm")
    modes = symmetry_modes(noisy, "4mm", tol=0.01)
    exact = symmetry_modes(SQUARE, "4mm")
    for irrep in modes:  # built from the exact permutations: the same modes
        np.testing.assert_allclose(modes[irrep], exact[irrep], atol=1e-12)


# ------------------------------------------------------------------------- ethylene


def test_ethylene_vibrations_agree_with_the_literature():
    """C2H4 (D2h): 12 vibrations, 3 Ag, 1 Au (the silent torsion), 6 Raman-active (g)
    and 5 IR-active (u but Au): Herzberg (1945); Shimanouchi, NSRDS-NBS 39 (1972).
    These counts do not depend on which axis is called x."""
    t = character_table("D2h")
    total = reduce_representation(ethylene(), "D2h")
    assert sum(n * d for n, d in zip(total.values(), t.dims)) == 18
    vib = dict(total)
    for rigid in (t.translations, t.rotations):
        for irrep, n in rigid.items():
            vib[irrep] -= n
    assert sum(vib.values()) == 3 * 6 - 6
    assert vib["Ag"] == 3 and vib["Au"] == 1
    raman = sum(vib[i] for i in t.raman_active)
    ir = sum(vib[i] for i in t.ir_active)
    assert raman == sum(n for i, n in vib.items() if i.endswith("g")) == 6
    assert ir == sum(n for i, n in vib.items() if i.endswith("u") and i != "Au") == 5
    # the full decomposition in this frame (C=C along x, plane xy), by hand: the
    # characters χ(g) = (atoms g leaves in place) · tr R(g) are
    # E 6·3, C2(z) 0, C2(y) 0, C2(x) 2·(-1) (the carbons), i 0, σ(xy) 6·1,
    # σ(xz) 2·1 (the carbons), σ(yz) 0; the reduction formula gives
    chi = np.array([18, 0, 0, -2, 0, 6, 2, 0])
    by_hand = dict(zip(t.irreps, (t.characters @ chi // 8).tolist()))
    assert total == by_hand == {
        "Ag": 3, "B1g": 3, "B2g": 2, "B3g": 1, "Au": 1, "B1u": 2, "B2u": 3, "B3u": 3,
    }  # fmt: skip
    assert vib == {
        "Ag": 3, "B1g": 2, "B2g": 1, "B3g": 0, "Au": 1, "B1u": 1, "B2u": 2, "B3u": 2,
    }  # fmt: skip


def test_ethylene_modes_are_readable():
    modes = symmetry_modes(ethylene(), "D2h")
    ag = modes["Ag"].reshape(3, 6, 3)
    # the C=C stretch (carbons only, apart along x), the H breathing, and a third
    np.testing.assert_allclose(
        ag[0, :2], [[np.sqrt(0.5), 0, 0], [-np.sqrt(0.5), 0, 0]], atol=1e-14
    )
    assert np.abs(ag[0, 2:]).max() < 1e-14
    assert np.abs(ag[1, :2]).max() < 1e-14
    h = ethylene()[2:]
    np.testing.assert_allclose(ag[1, 2:], h / np.linalg.norm(h), atol=1e-14)
    # the torsion Au: out of plane, H pairs on one carbon opposite
    au = modes["Au"].reshape(6, 3)
    assert np.abs(au[:, :2]).max() < 1e-14 and np.abs(au[:2]).max() < 1e-14
    np.testing.assert_allclose(au[2:, 2], [0.5, -0.5, -0.5, 0.5], atol=1e-14)


# -------------------------------------------------------------------- mode amplitudes


@FAST
@given(
    site=st.sampled_from(range(len(SITES))),
    seed=SEEDS,
    n=st.integers(1, 5),
)
def test_amplitudes_reconstruct_and_keep_the_norm(site, seed, n):
    group, _, offsets = SITES[site]
    modes = symmetry_modes(offsets, group)
    X = np.random.default_rng(seed).normal(0.0, 0.3, (n, *offsets.shape))
    amp = mode_amplitudes(X, modes)
    assert all(amp[i].shape == (n, len(modes[i])) for i in modes)
    back = sum(amp[i] @ modes[i] for i in modes)
    np.testing.assert_allclose(back, X.reshape(n, -1), atol=1e-12)
    squares = sum((a**2).sum(axis=1) for a in amp.values())
    np.testing.assert_allclose(squares, (X**2).sum(axis=(1, 2)), rtol=1e-12)
    flat = mode_amplitudes(X.reshape(n, -1), modes)
    for i in modes:
        np.testing.assert_array_equal(flat[i], amp[i])


def test_amplitudes_of_a_polar_shift_are_pure_translation():
    """All neighbors shifted alike (the atom moved the other way) is the E of 4mm,
    the irrep of (x, y)."""
    modes = symmetry_modes(SQUARE, "4mm")
    shift = np.broadcast_to([0.2, -0.1], SQUARE.shape)
    amp = mode_amplitudes(shift[None], modes)
    power = {i: float((a**2).sum()) for i, a in amp.items()}
    assert power["E"] == pytest.approx(4 * 0.05)
    assert sum(v for i, v in power.items() if i != "E") < 1e-24


# -------------------------------------------------------------------------- replicas


@pytest.mark.parametrize(("group", "site", "offsets"), SITES, ids=SITE_IDS)
def test_replicas_of_the_offsets_are_the_offsets(group, site, offsets):
    r = replicas(offsets[None], offsets, group)
    n_ops = len(point_group(group).operations)
    assert r.shape == (n_ops, 1, *offsets.shape)
    np.testing.assert_allclose(r, np.broadcast_to(offsets, r.shape), atol=1e-12)


def test_replicas_of_a_polar_shift_are_its_symmetry_variants():
    g = point_group("4mm")
    shift = np.array([0.0, 0.3])
    r = replicas((SQUARE + shift)[None], SQUARE, "4mm")
    np.testing.assert_array_equal(r[0, 0], SQUARE + shift)  # E: as it was
    for R, replica in zip(g.operations, r[:, 0]):
        np.testing.assert_allclose(replica, SQUARE + R @ shift, atol=1e-12)
    variants = {tuple(np.round((rep - SQUARE).mean(axis=0), 9)) for rep in r[:, 0]}
    assert variants == {(0.0, 0.3), (0.0, -0.3), (0.3, 0.0), (-0.3, 0.0)}


@FAST
@given(seed=SEEDS, site=st.sampled_from(range(len(SITES))))
def test_replicas_compose_like_the_group(seed, site):
    group, _, offsets = SITES[site]
    ops = point_group(group).operations
    X = offsets + np.random.default_rng(seed).normal(0.0, 0.2, (3, *offsets.shape))
    r = replicas(X, offsets, group)
    flat = replicas(X.reshape(3, -1), offsets, group)
    np.testing.assert_array_equal(flat, r)
    for a, b in itertools.product(range(len(ops)), repeat=2):
        ab = int(np.argmin(np.abs(ops - ops[a] @ ops[b]).sum(axis=(1, 2))))
        np.testing.assert_allclose(replicas(r[b], offsets, group)[a], r[ab], atol=1e-12)
    # replicas are D(g) acting on the flattened descriptor
    D = displacement_representation(offsets, group)
    np.testing.assert_allclose(
        r.reshape(len(ops), 3, -1),
        np.einsum("gij,nj->gni", D, X.reshape(3, -1)),
        atol=1e-12,
    )


# ------------------------------------------------------------------------- bad input


def test_unknown_group_lists_the_known_ones():
    for call in (
        lambda: point_group("432"),
        lambda: character_table("C5v"),
        lambda: symmetry_modes(SQUARE, "square"),
        lambda: reduce_representation(SQUARE, 4),
        lambda: replicas(SQUARE[None], SQUARE, None),
    ):
        with pytest.raises(
            ValueError, match=r"point_group must be one of '1', '2', 'm'.*'D2h'"
        ):
            call()


def test_bad_offsets():
    with pytest.raises(ValueError, match=r"shape \(k, 3\).*'D2h', got shape \(4, 2\)"):
        symmetry_modes(SQUARE, "D2h")
    with pytest.raises(ValueError, match=r"shape \(k, 2\).*got shape \(6, 3\)"):
        reduce_representation(ethylene(), "4mm")
    with pytest.raises(ValueError, match=r"got shape \(0, 2\)"):
        symmetry_modes(np.zeros((0, 2)), "4mm")
    with pytest.raises(ValueError, match=r"must be 2-D"):
        symmetry_modes([1.0, 2.0], "4mm")
    nan = SQUARE.copy()
    nan[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"offsets contains 1 NaN"):
        symmetry_modes(nan, "4mm")
    with pytest.raises(TypeError, match=r"offsets must hold real numbers"):
        symmetry_modes([["0", "1"]], "4mm")
    with pytest.raises(ValueError, match=r"not symmetric under 6mm: C6 moves offset 0"):
        symmetry_modes(SQUARE, "6mm")
    with pytest.raises(ValueError, match=r"not symmetric under 4mm: C4 moves offset 0"):
        reduce_representation(SQUARE * [1.0, 1.2], "4mm")
    with pytest.raises(ValueError, match=r"not symmetric under 2mm"):
        replicas(SQUARE[None], SQUARE[:3], "2mm")
    with pytest.raises(ValueError, match=r"offsets 0 and 4 are 0 apart"):
        symmetry_modes(np.vstack([SQUARE, SQUARE[:1]]), "4mm")
    with pytest.raises(ValueError, match=r"tol must be > 0"):
        symmetry_modes(SQUARE, "4mm", tol=0.0)
    with pytest.raises(ValueError, match=r"tol must be <= 0.25"):
        symmetry_modes(SQUARE, "4mm", tol=0.5)
    with pytest.raises(TypeError, match=r"tol must be a real number"):
        symmetry_modes(SQUARE, "4mm", tol="1e-6")


def test_bad_displacements_and_modes():
    modes = symmetry_modes(SQUARE, "4mm")
    with pytest.raises(
        ValueError, match=r"d·k = 8 \(the modes' length\), got shape \(2, 3, 2\)"
    ):
        mode_amplitudes(np.zeros((2, 3, 2)), modes)
    with pytest.raises(ValueError, match=r"must be 2-D or 3-D"):
        mode_amplitudes(np.zeros(8), modes)
    bad = np.zeros((1, 8))
    bad[0, 3] = np.inf
    with pytest.raises(ValueError, match=r"displacements contains 1 NaN or infinite"):
        mode_amplitudes(bad, modes)
    with pytest.raises(TypeError, match=r"modes must be a non-empty dict"):
        mode_amplitudes(np.zeros((1, 8)), [modes["A1"]])
    with pytest.raises(TypeError, match=r"modes must be a non-empty dict"):
        mode_amplitudes(np.zeros((1, 8)), {})
    with pytest.raises(
        ValueError, match=r"modes\['E'\] has 6 columns, the other modes 8"
    ):
        mode_amplitudes(np.zeros((1, 8)), {"A1": modes["A1"], "E": np.zeros((2, 6))})
    with pytest.raises(
        ValueError, match=r"vectors must have shape \(n, 4, 2\) or \(n, 8\)"
    ):
        replicas(np.zeros((2, 3, 2)), SQUARE, "4mm")
    with pytest.raises(ValueError, match=r"vectors contains"):
        replicas(np.full((1, 4, 2), np.nan), SQUARE, "4mm")


def test_inputs_are_not_modified():
    offsets = SQUARE.copy()
    offsets.setflags(write=False)
    X = np.ones((2, 4, 2))
    X.setflags(write=False)
    modes = symmetry_modes(offsets, "4mm")
    for rows in modes.values():
        rows.setflags(write=False)
    mode_amplitudes(X, modes)
    replicas(X, offsets, "4mm")
    reduce_representation(offsets.tolist(), "4mm")
    np.testing.assert_array_equal(offsets, SQUARE)
