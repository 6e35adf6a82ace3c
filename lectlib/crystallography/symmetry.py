"""Point groups, character tables and symmetry-adapted distortion modes of a site.

An atom's neighbors sit at ``offsets`` ``(k, d)`` from it; a distortion moves each
neighbor by a small vector, ``d·k`` numbers in all. The operations ``g`` of the site's
point group permute the neighbors and turn their displacements, which makes the space
of distortions a representation ``D(g) = P(g) ⊗ R(g)`` of the group (``P`` the
permutation of the neighbors, ``R`` the operation's matrix). The projection operators
``P_Γ = (d_Γ/|G|) Σ_g χ_Γ(g) D(g)`` split it into the irreducible representations
(irreps) ``Γ`` of the character table, exactly as the normal modes of a molecule are
classified (Wilson, Decius and Cross, *Molecular Vibrations*, 1955, ch. 5–6; Cotton,
*Chemical Applications of Group Theory*, 3rd ed. 1990, ch. 4 and 10).

Conventions (lectlib's own: vectors ``(row, col)``, angles in degrees from the +col axis
towards +row):

* The 2-D groups ``1, 2, m, 2mm, 3, 3m, 4, 4mm, 6, 6mm`` act on ``(row, col)`` vectors.
  Their tables name functions with **x = col and y = row** (the image's axes, as in
  ``imshow``), and z = x × y points into the screen. A rotation ``Cn`` turns by
  ``+360°/n`` in lectlib's angle sense: ``C4`` turns +col into +row, which is
  **clockwise as seen on the screen** (rows run down). ``Cn^p`` is ``Cn`` applied ``p``
  times. A mirror ``σ(φ°)`` reflects across the line through the atom at angle ``φ``
  from +col towards +row: ``σ(0°)`` keeps the col axis (row → −row), ``σ(90°)`` keeps
  the row axis (col → −col).
* Orientation of the groups: ``m`` is ``{E, σ(90°)}`` (col → −col); ``2mm`` has
  ``σv(xz) = σ(0°)`` and ``σv'(yz) = σ(90°)``; in ``4mm`` the ``σv`` are ``σ(0°),
  σ(90°)`` and the ``σd`` the diagonals ``σ(45°), σ(135°)``; in ``3m`` and ``6mm`` the
  ``σv`` are ``σ(0°), σ(60°), σ(120°)`` (through the neighbors of a hexagonal lattice
  made by :func:`lectlib.lattice.lattice_vectors`) and in ``6mm`` the ``σd`` are
  ``σ(30°), σ(90°), σ(150°)``. A site turned by another angle is described by
  turning its offsets first.
* ``D2h`` acts on ``(x, y, z)`` vectors, with the columns ``E, C2(z), C2(y), C2(x), i,
  σ(xy), σ(xz), σ(yz)`` and the rows ``Ag … B3u`` of the lecture's table (the usual
  one, e.g. Cotton's appendix).
* Irreps carry Mulliken labels in plain text: ``A, B, A1, A2, B1, B2, E, E1, E2`` and
  ``A'``, ``A''`` for the group ``m``, ``Ag … B3u`` for ``D2h``. The tables are
  **real**: in the cyclic groups ``3, 4, 6`` each pair of complex-conjugate 1-D irreps
  is combined into one real 2-D ``E`` with characters ``2 cos(2πk/n)``. Such an ``E``
  has ``⟨χ, χ⟩ = 2`` (the table's ``norms``), so the reduction formula and the
  projection operator divide by that norm: ``n_Γ = Σ_g χ_Γ(g) χ(g) / (⟨χ_Γ, χ_Γ⟩ |G|)``.
"""

from __future__ import annotations

import functools
from math import gcd

import numpy as np
from sklearn.utils import Bunch

from .._validation import as_float_array, check_scalar, check_size

__all__ = [
    "POINT_GROUPS",
    "point_group",
    "character_table",
    "symmetry_modes",
    "mode_amplitudes",
    "reduce_representation",
    "replicas",
]

#: The point groups this module knows (Hermann–Mauguin names; ``D2h`` in Schoenflies').
POINT_GROUPS = ("1", "2", "m", "2mm", "3", "3m", "4", "4mm", "6", "6mm", "D2h")

#: Schoenflies names accepted as aliases.
_ALIASES = {
    "C1": "1",
    "C2": "2",
    "Cs": "m",
    "C2v": "2mm",
    "mm2": "2mm",
    "C3": "3",
    "C3v": "3m",
    "C4": "4",
    "C4v": "4mm",
    "C6": "6",
    "C6v": "6mm",
    "mmm": "D2h",
}
_SCHOENFLIES = {v: k for k, v in _ALIASES.items() if k not in ("mm2", "mmm")}
_SCHOENFLIES["D2h"] = "D2h"

# A seed whose residual is at least this fraction (squared) of the largest one is good
# enough to start a mode; the earliest such seed wins. (A value away from simple
# fractions, so that rounding never decides between two seeds.)
_PICK = 0.2137

# ------------------------------------------------------------------- the groups' data
#
# A 2-D group: rotations by 360°·p/n (p = 0 … n-1) and the mirrors listed, the irreps
# as (label, spec) with spec ("1", k, s, q): χ(rotation α) = cos(k α),
# χ(mirror φ) = s cos(q φ); or ("2", k): the matrices R(k α) and M(k φ).
# Functions: (linear, rotations, quadratic); "(x, y)" is one copy of a 2-D irrep.

_Q2 = ("x2+y2", "x2-y2", "xy")
_2D = {
    "1": dict(
        n=1,
        mirrors=(),
        class_labels=["E"],
        irreps=[("A", ("1", 0, 1, 0), (("x", "y"), ("Rz",), _Q2))],
    ),
    "2": dict(
        n=2,
        mirrors=(),
        class_labels=["E", "C2"],
        irreps=[
            ("A", ("1", 0, 1, 0), ((), ("Rz",), _Q2)),
            ("B", ("1", 1, 1, 0), (("x", "y"), (), ())),
        ],
    ),
    "m": dict(
        n=1,
        mirrors=(90,),
        class_labels=["E", "σ"],
        irreps=[
            ("A'", ("1", 0, 1, 0), (("y",), (), ("x2+y2", "x2-y2"))),
            ("A''", ("1", 0, -1, 0), (("x",), ("Rz",), ("xy",))),
        ],
    ),
    "2mm": dict(
        n=2,
        mirrors=(0, 90),
        class_labels=["E", "C2", "σv(xz)", "σv'(yz)"],
        irreps=[
            ("A1", ("1", 0, 1, 0), ((), (), ("x2+y2", "x2-y2"))),
            ("A2", ("1", 0, -1, 0), ((), ("Rz",), ("xy",))),
            ("B1", ("1", 1, 1, 2), (("x",), (), ())),
            ("B2", ("1", 1, -1, 2), (("y",), (), ())),
        ],
    ),
    "3": dict(
        n=3,
        mirrors=(),
        class_labels=["E", "C3", "C3^2"],
        irreps=[
            ("A", ("1", 0, 1, 0), ((), ("Rz",), ("x2+y2",))),
            ("E", ("2", 1), (("(x, y)",), (), ("(x2-y2, xy)",))),
        ],
    ),
    "3m": dict(
        n=3,
        mirrors=(0, 60, 120),
        class_labels=["E", "2C3", "3σv"],
        irreps=[
            ("A1", ("1", 0, 1, 0), ((), (), ("x2+y2",))),
            ("A2", ("1", 0, -1, 0), ((), ("Rz",), ())),
            ("E", ("2", 1), (("(x, y)",), (), ("(x2-y2, xy)",))),
        ],
    ),
    "4": dict(
        n=4,
        mirrors=(),
        class_labels=["E", "C4", "C2", "C4^3"],
        irreps=[
            ("A", ("1", 0, 1, 0), ((), ("Rz",), ("x2+y2",))),
            ("B", ("1", 2, 1, 0), ((), (), ("x2-y2", "xy"))),
            ("E", ("2", 1), (("(x, y)",), (), ())),
        ],
    ),
    "4mm": dict(
        n=4,
        mirrors=(0, 90, 45, 135),
        class_labels=["E", "2C4", "C2", "2σv", "2σd"],
        irreps=[
            ("A1", ("1", 0, 1, 0), ((), (), ("x2+y2",))),
            ("A2", ("1", 0, -1, 0), ((), ("Rz",), ())),
            ("B1", ("1", 2, 1, 4), ((), (), ("x2-y2",))),
            ("B2", ("1", 2, -1, 4), ((), (), ("xy",))),
            ("E", ("2", 1), (("(x, y)",), (), ())),
        ],
    ),
    "6": dict(
        n=6,
        mirrors=(),
        class_labels=["E", "C6", "C3", "C2", "C3^2", "C6^5"],
        irreps=[
            ("A", ("1", 0, 1, 0), ((), ("Rz",), ("x2+y2",))),
            ("B", ("1", 3, 1, 0), ((), (), ())),
            ("E1", ("2", 1), (("(x, y)",), (), ())),
            ("E2", ("2", 2), ((), (), ("(x2-y2, xy)",))),
        ],
    ),
    "6mm": dict(
        n=6,
        mirrors=(0, 60, 120, 30, 90, 150),
        class_labels=["E", "2C6", "2C3", "C2", "3σv", "3σd"],
        irreps=[
            ("A1", ("1", 0, 1, 0), ((), (), ("x2+y2",))),
            ("A2", ("1", 0, -1, 0), ((), ("Rz",), ())),
            ("B1", ("1", 3, 1, 6), ((), (), ())),
            ("B2", ("1", 3, -1, 6), ((), (), ())),
            ("E1", ("2", 1), (("(x, y)",), (), ())),
            ("E2", ("2", 2), ((), (), ("(x2-y2, xy)",))),
        ],
    ),
}

# D2h, the lecture's Table 2: columns E, C2(z), C2(y), C2(x), i, σ(xy), σ(xz), σ(yz).
_D2H_LABELS = ["E", "C2(z)", "C2(y)", "C2(x)", "i", "σ(xy)", "σ(xz)", "σ(yz)"]
_D2H_DIAGONALS = [
    (1, 1, 1),
    (-1, -1, 1),
    (-1, 1, -1),
    (1, -1, -1),
    (-1, -1, -1),
    (1, 1, -1),
    (1, -1, 1),
    (-1, 1, 1),
]
_D2H_IRREPS = [
    ("Ag", (1, 1, 1, 1, 1, 1, 1, 1), ((), (), ("x2", "y2", "z2"))),
    ("B1g", (1, 1, -1, -1, 1, 1, -1, -1), ((), ("Rz",), ("xy",))),
    ("B2g", (1, -1, 1, -1, 1, -1, 1, -1), ((), ("Ry",), ("xz",))),
    ("B3g", (1, -1, -1, 1, 1, -1, -1, 1), ((), ("Rx",), ("yz",))),
    ("Au", (1, 1, 1, 1, -1, -1, -1, -1), ((), (), ())),
    ("B1u", (1, 1, -1, -1, -1, -1, 1, 1), (("z",), (), ())),
    ("B2u", (1, -1, 1, -1, -1, 1, -1, 1), (("y",), (), ())),
    ("B3u", (1, -1, -1, 1, -1, 1, 1, -1), (("x",), (), ())),
]


def _clean(m):
    """Exact 0, ±1/2 and ±1 where trigonometry left rounding."""
    m = np.array(m, dtype=float)
    for value in (0.0, 0.5, 1.0):
        near = np.abs(np.abs(m) - value) < 1e-12
        m[near] = np.sign(m[near]) * value
    return m + 0.0  # no negative zeros


def _rotation_xy(angle):
    a = np.radians(angle)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def _mirror_xy(angle):
    a = np.radians(2.0 * angle)
    return np.array([[np.cos(a), np.sin(a)], [np.sin(a), -np.cos(a)]])


def _rotation_label(n, p):
    if p == 0:
        return "E"
    common = gcd(n, p)
    order, power = n // common, p // common
    return f"C{order}" if power == 1 else f"C{order}^{power}"


def _conjugacy_classes(ops):
    inverse = np.transpose(ops, (0, 2, 1))  # orthogonal matrices
    classes, assigned = [], set()
    for i in range(len(ops)):
        if i in assigned:
            continue
        conjugates = ops @ ops[i] @ inverse  # h g h⁻¹ for every h
        members = sorted(
            {int(np.argmin(np.abs(ops - c).sum(axis=(1, 2)))) for c in conjugates}
        )
        assigned.update(members)
        classes.append(members)
    return classes


@functools.lru_cache(maxsize=None)
def _group(name):
    """Everything about one group, built once (read-only arrays)."""
    if name == "D2h":
        ops = np.array([np.diag(d) for d in _D2H_DIAGONALS], dtype=float)
        labels = list(_D2H_LABELS)
        class_labels = list(_D2H_LABELS)
        irreps = [label for label, _, _ in _D2H_IRREPS]
        chars = np.array([c for _, c, _ in _D2H_IRREPS], dtype=float)  # per operation
        matrices = [chars[i][:, None, None] for i in range(len(irreps))]
        functions = [f for _, _, f in _D2H_IRREPS]
        kinds = [("other", 0.0)] * len(ops)
    else:
        spec = _2D[name]
        n = spec["n"]
        kinds = [("rot", 360.0 * p / n) for p in range(n)]
        kinds += [("mirror", float(phi)) for phi in spec["mirrors"]]
        labels = [_rotation_label(n, p) for p in range(n)]
        labels += [f"σ({phi:g}°)" for phi in spec["mirrors"]]
        # (row, col) = (y, x): the matrix in (row, col) is the (x, y) one with both
        # axes swapped.
        swap = np.array([[0.0, 1.0], [1.0, 0.0]])
        ops = np.array(
            [
                swap @ (_rotation_xy(a) if k == "rot" else _mirror_xy(a)) @ swap
                for k, a in kinds
            ]
        )
        class_labels = list(spec["class_labels"])
        irreps, matrices, functions = [], [], []
        for label, irrep, funcs in spec["irreps"]:
            if irrep[0] == "1":
                _, k, s, q = irrep
                values = [
                    np.cos(np.radians(k * a))
                    if kind == "rot"
                    else s * np.cos(np.radians(q * a))
                    for kind, a in kinds
                ]
                mats = np.array(values)[:, None, None]
            else:
                k = irrep[1]
                mats = np.array(
                    [
                        _rotation_xy(k * a) if kind == "rot" else _mirror_xy(k * a)
                        for kind, a in kinds
                    ]
                )
            irreps.append(label)
            matrices.append(_clean(mats))
            functions.append(funcs)
        ops = _clean(ops)
        chars = np.array([np.trace(m, axis1=1, axis2=2) for m in matrices])
    classes = _conjugacy_classes(ops)
    if len(classes) != len(class_labels):  # pragma: no cover (a table typo)
        raise AssertionError(f"{name}: {len(classes)} classes, labels {class_labels}")
    class_sizes = np.array([len(c) for c in classes])
    order = len(ops)
    characters = chars[:, [c[0] for c in classes]]
    norms = (characters**2 * class_sizes).sum(axis=1) / order
    dims = np.array([m.shape[1] for m in matrices])
    frozen = [ops, chars, characters, norms, dims, class_sizes, *matrices]
    for a in frozen:
        a.setflags(write=False)
    return dict(
        name=name,
        dim=ops.shape[1],
        ops=ops,
        labels=labels,
        kinds=kinds,
        classes=classes,
        class_labels=class_labels,
        class_sizes=class_sizes,
        irreps=irreps,
        op_characters=chars,
        characters=characters,
        norms=norms,
        dims=dims,
        matrices=dict(zip(irreps, matrices)),
        functions=functions,
    )


def _check_group(point_group):
    if isinstance(point_group, str) and point_group in _ALIASES:
        return _ALIASES[point_group]
    if isinstance(point_group, str) and point_group in POINT_GROUPS:
        return point_group
    known = ", ".join(repr(g) for g in POINT_GROUPS)
    raise ValueError(
        f"point_group must be one of {known} (or a Schoenflies name such as 'C4v'), "
        f"got {point_group!r}"
    )


# ------------------------------------------------------------------ groups and tables


def point_group(name):
    """The operations of a point group, as matrices acting on vectors.

    Parameters
    ----------
    name : str
        One of :data:`POINT_GROUPS`: ``"1", "2", "m", "2mm", "3", "3m", "4", "4mm",
        "6", "6mm"`` (2-D, acting on ``(row, col)`` vectors) or ``"D2h"`` (3-D, acting
        on ``(x, y, z)``). Schoenflies names (``"C2v"``, ``"C4v"``, ``"C6v"``, ``"Cs"``
        …) are accepted too.

    Returns
    -------
    group : sklearn.utils.Bunch
        ``name`` (the Hermann–Mauguin name, ``"D2h"`` for D2h), ``schoenflies``,
        ``dim`` (2 or 3), ``operations`` ``(g, dim, dim)`` (``v' = operations[i] @ v``),
        ``labels`` (``g`` strings), ``classes`` (a list of operation indices per
        conjugacy class, in the order of the character table's columns),
        ``class_labels``.

    See Also
    --------
    character_table : the irreps of the group and their characters.
    symmetry_modes : the displacement patterns of a site, sorted by irrep.

    Notes
    -----
    The conventions are in the module docstring: ``Cn`` turns by ``+360°/n`` from
    +col towards +row (clockwise on the screen), ``σ(φ°)`` reflects across the line at
    ``φ`` degrees from +col towards +row. The classes are found by conjugating every
    operation (``h g h⁻¹``).

    Examples
    --------
    >>> from lectlib.crystallography import point_group
    >>> g = point_group("4mm")
    >>> g.labels
    ['E', 'C4', 'C2', 'C4^3', 'σ(0°)', 'σ(90°)', 'σ(45°)', 'σ(135°)']
    >>> g.operations[1] @ [0.0, 1.0]  # C4 turns +col into +row
    array([1., 0.])
    >>> g.class_labels, g.classes[1]
    (['E', '2C4', 'C2', '2σv', '2σd'], [1, 3])
    """
    data = _group(_check_group(name))
    return Bunch(
        name=data["name"],
        schoenflies=_SCHOENFLIES[data["name"]],
        dim=data["dim"],
        operations=data["ops"].copy(),
        labels=list(data["labels"]),
        classes=[list(c) for c in data["classes"]],
        class_labels=list(data["class_labels"]),
    )


def character_table(name):
    """The real character table of a point group, with Mulliken labels and functions.

    Parameters
    ----------
    name : str
        A point group of :data:`POINT_GROUPS` (or its Schoenflies name).

    Returns
    -------
    table : sklearn.utils.Bunch
        ``name``; ``irreps`` (Mulliken labels, plain text); ``class_labels``;
        ``class_sizes`` ``(n_classes,)``; ``characters`` ``(n_irreps, n_classes)``;
        ``dims`` ``(n_irreps,)``; ``functions`` ``{irrep: str}`` (the linear functions
        ``x, y, z``, the rotations ``Rx, Ry, Rz`` and the quadratic functions ``x2,
        xy, x2-y2 …`` that transform like the irrep; ``""`` for none); and:
        ``norms`` ``(n_irreps,)``, ``⟨χ, χ⟩ = Σ_classes size χ² / |G|``, 1 for an
        irreducible representation and 2 for a real ``E`` made of a complex pair;
        ``order`` ``|G|``; ``matrices`` ``{irrep: (g, d, d)}``, the representation's
        matrices for every operation in :func:`point_group`'s order (the partners of
        ``E`` and ``E1`` transform like ``(x, y)``, those of ``E2`` like
        ``(x2-y2, 2xy)``); ``translations`` and ``rotations``
        ``{irrep: copies}`` (how ``x, y(, z)`` and ``R`` decompose: the rigid motions);
        ``ir_active`` and ``raman_active`` (the irreps with a linear, resp. quadratic
        function: the selection rules of infrared absorption and Raman scattering).

    See Also
    --------
    point_group : the operations themselves.
    reduce_representation : how many times each irrep occurs among a site's distortions.

    Notes
    -----
    Characters are traces of the matrices, the same for every operation of a class.
    In the 2-D groups, ``x = col`` and ``y = row``; ``Rz`` is the rotation in the image
    plane. The rows are orthogonal: ``Σ_classes size χ_Γ χ_Γ' = |G| ⟨χ_Γ, χ_Γ⟩ δ_ΓΓ'``,
    and ``Σ_Γ dim_Γ² / ⟨χ_Γ, χ_Γ⟩ = |G|``.

    Examples
    --------
    >>> from lectlib.crystallography import character_table
    >>> t = character_table("4mm")
    >>> t.class_labels
    ['E', '2C4', 'C2', '2σv', '2σd']
    >>> for irrep, chi in zip(t.irreps, t.characters.astype(int).tolist()):
    ...     print(f"{irrep:3s}", chi, t.functions[irrep])
    A1  [1, 1, 1, 1, 1] x2+y2
    A2  [1, 1, 1, -1, -1] Rz
    B1  [1, -1, 1, 1, -1] x2-y2
    B2  [1, -1, 1, -1, 1] xy
    E   [2, 0, -2, 0, 0] (x, y)
    >>> character_table("D2h").raman_active
    ['Ag', 'B1g', 'B2g', 'B3g']
    """
    data = _group(_check_group(name))
    irreps = list(data["irreps"])
    funcs = data["functions"]
    return Bunch(
        name=data["name"],
        irreps=irreps,
        class_labels=list(data["class_labels"]),
        class_sizes=data["class_sizes"].copy(),
        characters=data["characters"].copy(),
        dims=data["dims"].copy(),
        functions={i: ", ".join((*f[0], *f[1], *f[2])) for i, f in zip(irreps, funcs)},
        norms=data["norms"].copy(),
        order=len(data["ops"]),
        matrices={i: m.copy() for i, m in data["matrices"].items()},
        translations={i: len(f[0]) for i, f in zip(irreps, funcs) if f[0]},
        rotations={i: len(f[1]) for i, f in zip(irreps, funcs) if f[1]},
        ir_active=[i for i, f in zip(irreps, funcs) if f[0]],
        raman_active=[i for i, f in zip(irreps, funcs) if f[2]],
    )


# ------------------------------------------------------------------- a site's offsets


def _check_offsets(offsets, data):
    o = as_float_array(offsets, "offsets", ndim=2, allow_empty=True)
    d = data["dim"]
    if o.shape[1:] != (d,) or o.shape[0] < 1:
        what = "(row, col)" if d == 2 else "(x, y, z)"
        raise ValueError(
            f"offsets must have shape (k, {d}) with k >= 1 {what} vectors for the "
            f"{d}-D point group {data['name']!r}, got shape {o.shape}"
        )
    check_size(len(data["ops"]) * (d * o.shape[0]) ** 2, "the representation D(g)")
    return o


def _fmt(vector):
    return "(" + ", ".join(f"{v:.6g}" for v in vector) + ")"


def _permutations(o, data, tol):
    """perm[g, j]: the offset that operation g moves offset j onto; and the offsets
    in units of the largest one (so that tiny or huge offsets compare alike)."""
    ops, k = data["ops"], len(o)
    largest = float(np.abs(o).max())
    u = o / largest if largest > 0 else o
    lengths = np.sqrt((u**2).sum(axis=1))
    scale = largest * float(lengths.max()) or 1.0
    u = u / (float(lengths.max()) or 1.0)
    gaps = np.sqrt(((u[:, None, :] - u[None, :, :]) ** 2).sum(axis=-1))
    gaps[np.diag_indices(k)] = np.inf
    if k > 1 and gaps.min() <= 2 * tol:
        i, j = np.unravel_index(np.argmin(gaps), gaps.shape)
        raise ValueError(
            f"offsets {min(i, j)} and {max(i, j)} are {gaps.min() * scale:.3g} apart, "
            f"not more than 2·tol·scale = {2 * tol * scale:.3g}: list every site once "
            "(or lower tol)"
        )
    moved = np.einsum("gab,kb->gka", ops, u)
    dist = np.sqrt(((moved[:, :, None, :] - u[None, None, :, :]) ** 2).sum(axis=-1))
    perm = dist.argmin(axis=2)
    miss = dist.min(axis=2)
    if (miss > tol).any():
        g, j = np.argwhere(miss > tol)[0]  # the first operation, the first offset
        raise ValueError(
            f"the offsets are not symmetric under {data['name']}: "
            f"{data['labels'][g]} moves offset {j} {_fmt(o[j])} to "
            f"{_fmt(ops[g] @ o[j])}, {miss[g, j] * scale:.3g} from the "
            f"nearest offset (tolerance tol·scale = {tol * scale:.3g})"
        )
    return perm, u


def _representation(perm, data):
    """D(g) = P(g) ⊗ R(g) for every operation, ``(g, d·k, d·k)``."""
    ops = data["ops"]
    n_ops, k = perm.shape
    P = np.zeros((n_ops, k, k))
    P[np.arange(n_ops)[:, None], perm, np.arange(k)[None, :]] = 1.0
    return np.einsum("gij,gab->giajb", P, ops).reshape(n_ops, k * len(ops[0]), -1)


def _multiplicities(perm, data):
    fixed = (perm == np.arange(perm.shape[1])).sum(axis=1)
    chi = fixed * np.trace(data["ops"], axis1=1, axis2=2)
    order = len(chi)
    counts = data["op_characters"] @ chi / (order * data["norms"])
    return np.rint(counts).astype(int)


def _seeds(u, perm, data, tol):
    """Displacements the modes start from, in order: for each site its radial
    direction, then the tangential one (2-D) or x, y, z (3-D); x, y(, z) for a site at
    the center. ``u``: the offsets in units of the largest."""
    ops, (k, d) = data["ops"], u.shape
    # symmetrised offsets (R_gᵀ u[π_g(j)] averaged): exact for nearly symmetric input
    r = np.einsum("gba,gkb->ka", ops, u[perm]) / len(ops)
    length = np.sqrt((r**2).sum(axis=1))
    seeds = []
    for j in range(k):
        if length[j] > tol:
            radial = r[j] / length[j]
            # the tangent turned +90° from +col towards +row, the sense of Cn and Rz
            more = [[radial[1], -radial[0]]] if d == 2 else np.eye(d)
            directions = [radial, *more]
        else:
            directions = np.eye(d)
        for direction in directions:
            seed = np.zeros((k, d))
            seed[j] = direction
            seeds.append(seed.ravel())
    return np.array(seeds)


def _orthogonalize(W, rows):
    if not rows:
        return W
    Q = np.array(rows)
    for _ in range(2):  # twice is enough (Kahan)
        W = W - (W @ Q.T) @ Q
    return W


def _basis(F, seeds, n_rows, J=None):
    """Rows from the seeds projected by F: the first good seed each time."""
    candidates = seeds @ F  # F is symmetric
    rows = []
    while len(rows) < n_rows:
        R = _orthogonalize(candidates, rows)
        sq = (R**2).sum(axis=1)
        pick = int(np.flatnonzero(sq >= _PICK * sq.max())[0])
        u = R[pick] / np.sqrt(sq[pick])
        rows.append(u)
        if J is not None:  # the partner: how u turns under the group's generator
            v = _orthogonalize((J @ u)[None, :], rows)[0]
            rows.append(v / np.sqrt(v @ v))
    return np.array(rows).reshape(n_rows, F.shape[0])


def _site(offsets, point_group, tol):
    name = _check_group(point_group)
    data = _group(name)
    tol = check_scalar(tol, "tol", low=0.0, high=0.25, low_inclusive=False)
    o = _check_offsets(offsets, data)
    perm, unit = _permutations(o, data, tol)
    return data, o, perm, unit, tol


def symmetry_modes(offsets, point_group, *, tol=1e-6):
    """Symmetry-adapted displacement patterns of a site: an orthonormal basis per irrep.

    Parameters
    ----------
    offsets : array_like of shape (k, d)
        The neighbors' positions relative to the atom (``(row, col)`` for the 2-D
        groups, ``(x, y, z)`` for D2h), in slot order; a site at the origin (the atom
        itself) may be one of them. Every operation must map them onto themselves.
    point_group : str
        A point group of :data:`POINT_GROUPS`.
    tol : float, default=1e-6
        How far (relative to the largest offset) a moved offset may land from the one
        it is taken for; larger for offsets measured on an image (at most 0.25).

    Returns
    -------
    modes : dict of {str: ndarray of shape (n_Γ·d_Γ, d·k)}
        Every irrep of :func:`character_table`, in its order, with the displacement
        patterns that transform by it as orthonormal rows ``(drow₁, dcol₁, drow₂, …)``
        (``(dx₁, dy₁, dz₁, …)`` for D2h) in the order of ``offsets`` (``(0, d·k)``
        when it does not occur). All the rows together form an orthogonal
        ``d·k × d·k`` matrix.

    Raises
    ------
    ValueError
        For an unknown group, offsets of the wrong dimension, NaN, a repeated offset,
        or offsets that an operation does not map onto themselves.

    See Also
    --------
    reduce_representation : only how many modes each irrep has (the reduction formula).
    mode_amplitudes : project measured displacements onto these modes.
    replicas : the descriptor as seen after each operation, rather than its modes.

    Notes
    -----
    The operations act on the ``d·k`` displacements as ``D(g) = P(g) ⊗ R(g)``, where
    ``P(g)`` sends slot ``j`` to the slot its offset is moved onto and ``R(g)`` turns
    the displacement vector. For each irrep the projection operator
    ``P_Γ = d_Γ/(⟨χ_Γ, χ_Γ⟩ |G|) Σ_g χ_Γ(g) D(g)`` (``⟨χ_Γ, χ_Γ⟩ = 1``, or 2 for the
    real ``E`` of a cyclic group) keeps the part of a displacement that transforms like
    ``Γ``. Its image has dimension ``n_Γ d_Γ`` (the reduction formula's count times the
    irrep's dimension).

    The number of rows comes from the reduction formula (no rank threshold); the
    basis is chosen to be readable and reproducible. Seeds, in order: for each site,
    its outward radial displacement, then the tangential one turned ``+90°`` (the
    sense of ``Cn``; 2-D) or x, y, z (3-D); a site at the center gives x, y(, z). Each
    row is the projection of the earliest seed whose part not yet covered is large
    (at least ~46 % of the largest), made orthogonal to the rows before it, so that it
    has a positive overlap with its seed: a shell's A1 breathing mode points outward
    and an A2 mode turns in the ``+Rz`` sense. For a 2-D irrep the rows come in
    partner pairs ``(u, v)`` that transform by the table's ``matrices`` (like
    ``(x, y)`` for ``E``, ``E1``): ``u`` is projected with
    ``(d_Γ/|G|) Σ_g D_Γ(g)₁₁ D(g)`` (for the real ``E`` of a cyclic group that is the
    whole ``P_Γ``) and ``v`` is ``u`` turned by the group's rotation ``Cn``,
    ``v = (D(Cn) u − cos θ u)/sin θ`` with ``θ`` the irrep's angle for ``Cn``.

    Examples
    --------
    >>> from lectlib.crystallography import symmetry_modes
    >>> square = [[0, 1], [1, 0], [0, -1], [-1, 0]]  # +col, +row, -col, -row
    >>> modes = symmetry_modes(square, "4mm")
    >>> {irrep: rows.shape for irrep, rows in modes.items()}
    {'A1': (1, 8), 'A2': (1, 8), 'B1': (1, 8), 'B2': (1, 8), 'E': (4, 8)}
    >>> (2 * modes["A1"]).round(12) + 0.0  # breathing: every neighbor moves outward
    array([[ 0.,  1.,  1.,  0.,  0., -1., -1.,  0.]])
    """
    data, o, perm, unit, tol = _site(offsets, point_group, tol)
    D = _representation(perm, data)
    counts = _multiplicities(perm, data)
    seeds = _seeds(unit, perm, data, tol)
    order = len(D)
    modes = {}
    for index, irrep in enumerate(data["irreps"]):
        mats = data["matrices"][irrep]
        dim, n = mats.shape[1], int(counts[index])
        if n == 0:
            modes[irrep] = np.zeros((0, D.shape[1]))
            continue
        first = dim / order * np.einsum("g,gij->ij", mats[:, 0, 0], D)
        J = None
        if dim == 2:  # Cn: the first rotation, whose irrep matrix turns by θ
            g = next(
                i for i, (kind, _) in enumerate(data["kinds"]) if kind == "rot" and i
            )
            cos, sin = mats[g, 0, 0], mats[g, 1, 0]
            J = (D[g] - cos * np.eye(D.shape[1])) / sin
        modes[irrep] = _basis(first, seeds, n * dim, J)
    return modes


def reduce_representation(offsets, point_group, *, tol=1e-6):
    """How many times each irrep occurs among the displacements of a site.

    Parameters
    ----------
    offsets : array_like of shape (k, d)
        The neighbors' positions relative to the atom, as in :func:`symmetry_modes`.
    point_group : str
        A point group of :data:`POINT_GROUPS`.
    tol : float, default=1e-6
        As in :func:`symmetry_modes`.

    Returns
    -------
    counts : dict of {str: int}
        Every irrep of the table, in its order, with its multiplicity ``n_Γ``; the
        patterns of ``Γ`` span ``n_Γ · d_Γ`` dimensions, ``d·k`` in all.

    See Also
    --------
    symmetry_modes : the patterns themselves, not only their number.
    character_table : the characters the reduction formula uses.

    Notes
    -----
    The reduction formula: the character of the displacement representation is
    ``χ(g) = (number of offsets g leaves in place) · tr R(g)``, and
    ``n_Γ = Σ_g χ_Γ(g) χ(g) / (⟨χ_Γ, χ_Γ⟩ |G|)`` (Cotton, ch. 4.3).

    Examples
    --------
    >>> from lectlib.crystallography import reduce_representation
    >>> square = [[0, 1], [1, 0], [0, -1], [-1, 0]]
    >>> reduce_representation(square, "4mm")
    {'A1': 1, 'A2': 1, 'B1': 1, 'B2': 1, 'E': 2}
    """
    data, o, perm, _, tol = _site(offsets, point_group, tol)
    counts = _multiplicities(perm, data)
    return {irrep: int(c) for irrep, c in zip(data["irreps"], counts)}


def _check_modes(modes):
    if not isinstance(modes, dict) or not modes:
        raise TypeError(
            "modes must be a non-empty dict {irrep: (n_modes, d·k) array}, as "
            f"symmetry_modes returns, got {type(modes).__name__}"
        )
    checked, width = {}, None
    for irrep, rows in modes.items():
        B = as_float_array(rows, f"modes[{irrep!r}]", ndim=2, allow_empty=True)
        if width is not None and B.shape[1] != width:
            raise ValueError(
                f"modes[{irrep!r}] has {B.shape[1]} columns, the other modes {width}"
            )
        width = B.shape[1]
        checked[irrep] = B
    if not width:
        raise ValueError("modes have no columns (no displacement coordinates)")
    return checked, width


def mode_amplitudes(displacements, modes):
    """The amplitude of every symmetry-adapted mode in measured displacements.

    Parameters
    ----------
    displacements : array_like of shape (n, k, d) or (n, d·k)
        Displacements of the ``k`` neighbors of ``n`` atoms (e.g. each atom's neighbor
        vectors minus the reference offsets), in the slot order of the modes.
    modes : dict of {str: array_like of shape (n_modes, d·k)}
        Orthonormal patterns per irrep, as :func:`symmetry_modes` returns.

    Returns
    -------
    amplitudes : dict of {str: ndarray of shape (n, n_modes)}
        The projections ``displacements @ modes[Γ].T``; with all the modes of a site,
        ``Σ_Γ amplitudes[Γ] @ modes[Γ]`` gives the displacements back and the sum of
        the squared amplitudes is their squared norm.

    See Also
    --------
    symmetry_modes : where the modes come from.
    replicas : the symmetry-equivalent versions of the displacements.

    Notes
    -----
    An orthonormal basis makes the amplitudes plain dot products. The squared
    amplitudes of one irrep, summed over its rows, do not depend on the basis chosen
    inside that irrep, so they say how much of a distortion has that symmetry.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.crystallography import mode_amplitudes, symmetry_modes
    >>> square = np.array([[0, 1], [1, 0], [0, -1], [-1, 0]])
    >>> modes = symmetry_modes(square, "4mm")
    >>> stretched = 0.1 * square  # every neighbor 10 % further out
    >>> amp = mode_amplitudes(stretched[None], modes)
    >>> round(float(amp["A1"][0, 0]), 12), round(float(np.abs(amp["E"]).max()), 12)
    (0.2, 0.0)
    """
    B, width = _check_modes(modes)
    X = as_float_array(displacements, "displacements", ndim=(2, 3))
    n = X.shape[0]
    flat = X.reshape(n, -1)
    if flat.shape[1] != width:
        raise ValueError(
            f"displacements must have shape (n, k, d) or (n, d·k) with d·k = {width} "
            f"(the modes' length), got shape {X.shape}"
        )
    return {irrep: flat @ rows.T for irrep, rows in B.items()}


def replicas(vectors, offsets, point_group, *, tol=1e-6):
    """A descriptor as seen after each operation of the group: its symmetry variants.

    Parameters
    ----------
    vectors : array_like of shape (n, k, d) or (n, d·k)
        Neighbor vectors of ``n`` atoms in the slot order of ``offsets`` (e.g.
        ``neighbor_vectors(...).vectors`` of the complete atoms).
    offsets : array_like of shape (k, d)
        The reference offsets of the slots, which the group maps onto themselves.
    point_group : str
        A point group of :data:`POINT_GROUPS`.
    tol : float, default=1e-6
        As in :func:`symmetry_modes`.

    Returns
    -------
    replicas : ndarray of shape (g, n, k, d)
        ``replicas[i]`` is the descriptor after the operation ``point_group(...)
        .operations[i]``: each vector turned by ``R_g`` and put in the slot its offset
        is moved onto, ``v'[π_g(j)] = R_g v[j]``. ``replicas[0]`` (``E``) is the input.

    See Also
    --------
    symmetry_modes : splits the descriptor by symmetry instead of copying it.
    mode_amplitudes : amplitudes of the modes in a descriptor.

    Notes
    -----
    If atoms of one phase form a cluster in descriptor space, that cluster sits at the
    same place in every replica when the phase has the group's symmetry
    (non-ferroic); when it lacks some operations, the replicas are the other
    variants (the ferroic domains) and the cluster moves (Belianinov et al., Nat.
    Commun. 6, 7801 (2015)). The offsets themselves are the same in every replica.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.crystallography import replicas
    >>> square = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, -1.0], [-1.0, 0.0]])
    >>> polar = square - [0.0, 0.1]  # the atom moved +col within its cage
    >>> r = replicas(polar[None], square, "4mm")
    >>> r.shape
    (8, 1, 4, 2)
    >>> (r[:, 0] - square).mean(axis=1).round(12) + 0.0  # the 8 variants' shifts
    array([[ 0. , -0.1],
           [-0.1,  0. ],
           [ 0. ,  0.1],
           [ 0.1,  0. ],
           [ 0. , -0.1],
           [ 0. ,  0.1],
           [-0.1,  0. ],
           [ 0.1,  0. ]])
    """
    data, o, perm, _, tol = _site(offsets, point_group, tol)
    k, d = o.shape
    V = as_float_array(vectors, "vectors", ndim=(2, 3))
    if V.shape[1:] not in ((k, d), (k * d,)):
        raise ValueError(
            f"vectors must have shape (n, {k}, {d}) or (n, {k * d}) for {k} offsets "
            f"of dimension {d}, got shape {V.shape}"
        )
    V = V.reshape(len(V), k, d)
    ops = data["ops"]
    check_size(len(ops) * V.size, "replicas")
    out = np.empty((len(ops), len(V), k, d))
    for g, R in enumerate(ops):
        out[g][:, perm[g], :] = V @ R.T
    return out
