"""Neighbor vectors: an atom's local descriptor, in the same slot order everywhere.

For every atom, the vectors to its nearest neighbors, ``NA_ij = (r₁, r₂, …, r_k)``,
describe its surroundings: a shift of the atom, a distortion of its cage or a missing
neighbor all show in them. They can only be compared between atoms if slot ``j`` means
the same neighbor for every atom. Sorting each atom's neighbors by their angle
(``atan2``) does not guarantee that: a neighbor that lies near the branch cut at ±180°
lands first for one atom and last for the next, and clustering then reports two phases
in a single-phase lattice. Here every slot has a *reference vector* (given, taken from
the lattice vectors, or estimated once from the whole image) and each atom's neighbor
in slot ``j`` is the one found nearest to ``reference[j]``.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from sklearn.utils import Bunch

from .._validation import as_float_array, check_scalar
from ..lattice import _check_vectors

__all__ = ["neighbor_vectors", "neighbor_angles", "fit_lattice_vectors"]

#: Atoms used to estimate reference vectors (a random subset keeps it fast).
_MAX_ESTIMATION_ATOMS = 4000
_SHELL_TOL = 1e-6  # relative length difference within which two vectors share a shell


def _check_positions(positions, name, *, allow_empty=False):
    p = as_float_array(positions, name, ndim=2, allow_empty=True)
    if p.shape[1:] != (2,):
        raise ValueError(
            f"{name} must have shape (n, 2) of (row, col) positions, "
            f"got shape {p.shape}"
        )
    if p.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} is empty: there are no atoms")
    return p


def _angle(vectors):
    """Angle in degrees, from +col towards +row, in [0, 360) (lectlib's convention)."""
    return np.degrees(np.arctan2(vectors[..., 0], vectors[..., 1])) % 360.0


def _order_by_angle(reference):
    """Sort reference vectors by angle once; ties (within 1e-6°) by length."""
    angle = np.round(_angle(reference), 6) % 360.0
    return reference[np.lexsort((np.hypot(*reference.T), angle))]


def _shortest_lattice_vectors(vectors, shift, k):
    """The ``k`` shortest vectors ``shift + n₁a₁ + n₂a₂`` (excluding zero)."""
    a = vectors
    reach = int(np.ceil(np.sqrt(k))) + 2
    n = np.arange(-reach, reach + 1)
    n1, n2 = np.meshgrid(n, n, indexing="ij")
    cand = shift + n1.reshape(-1, 1) * a[0] + n2.reshape(-1, 1) * a[1]
    length = np.hypot(*cand.T)
    keep = length > 1e-9 * length.max()
    cand, length = cand[keep], length[keep]
    order = np.argsort(length, kind="stable")
    cand, length = cand[order], length[order]
    if k < len(length) and length[k] - length[k - 1] <= _SHELL_TOL * length[k]:
        sizes = np.unique(np.round(length / length[0], 6), return_counts=True)[1]
        ends = np.cumsum(sizes)[:4].tolist()
        raise ValueError(
            f"n_neighbors={k} splits a shell of neighbors at equal distance; "
            f"whole shells end at {ends}"
        )
    return cand[:k]


#: Vectors within this fraction of the shortest length count as the first shell (so
#: that measured lattice vectors, equal only to within the noise, give a whole shell).
_FIRST_SHELL_TOL = 0.05


def _first_shell_size(vectors, shift):
    """How many vectors ``shift + n₁a₁ + n₂a₂`` are (nearly) the shortest."""
    n = np.arange(-3, 4)
    n1, n2 = np.meshgrid(n, n, indexing="ij")
    cand = shift + n1.reshape(-1, 1) * vectors[0] + n2.reshape(-1, 1) * vectors[1]
    length = np.hypot(*cand.T)
    length = length[length > 1e-9 * length.max()]
    return int(np.sum(length <= length.min() * (1 + _FIRST_SHELL_TOL)))


def _fractional_shift(positions, targets, vectors):
    """Where the target sublattice sits in the source's cell, as a vector."""
    tree = cKDTree(targets)
    _, idx = tree.query(positions, k=1)
    d = targets[idx] - positions
    frac = np.linalg.solve(vectors.T, d.T).T  # d = f₁a₁ + f₂a₂
    # the circular mean of each fractional coordinate, modulo one cell
    phase = np.angle(np.exp(2j * np.pi * frac).mean(axis=0)) / (2 * np.pi)
    # sublattices sit at simple fractions of the cell (0, 1/2, 1/3, 2/3): snap to the
    # nearest sixth when the measurement is that close, so that shells are exact
    snapped = np.round(phase * 6) / 6
    phase = np.where(np.abs(phase - snapped) < 0.03, snapped, phase)
    return phase @ vectors


def _estimate_reference(positions, targets, k, same_set, tol, rng):
    """Reference vectors: the k clusters of every atom's k nearest-neighbor vectors."""
    from sklearn.cluster import KMeans

    m = len(positions)
    if m > _MAX_ESTIMATION_ATOMS:
        positions = positions[rng.choice(m, _MAX_ESTIMATION_ATOMS, replace=False)]
    tree = cKDTree(targets)
    kq = k + 1 if same_set else k
    _, idx = tree.query(positions, k=kq)
    idx = idx.reshape(len(positions), kq)
    if same_set:
        idx = idx[:, 1:]
    vec = targets[idx] - positions[:, None, :]
    # start k-means from the neighbors of the atom nearest the middle of the image (it
    # has a whole shell, where an atom at an edge or corner may not), so the clusters
    # are found the same way on every run
    middle = np.argmin(np.hypot(*(positions - np.median(positions, axis=0)).T))
    km = KMeans(n_clusters=k, n_init=1, init=vec[middle], random_state=0)
    vec = vec.reshape(-1, 2)
    labels = km.fit_predict(vec)
    centers = km.cluster_centers_
    if len(np.unique(labels)) < k:
        raise ValueError(
            f"could not find {k} distinct neighbor directions in the data; "
            "pass reference or lattice_vectors"
        )
    # atoms at an edge or next to a vacancy pull a farther atom into their k nearest:
    # keep the vectors that lie within the tolerance of their cluster, and take the
    # median of each cluster
    dist = np.hypot(*(vec - centers[labels]).T)
    inlier = dist <= tol * np.hypot(*centers.T)[labels]
    for j in range(k):
        members = vec[inlier & (labels == j)]
        if len(members):
            centers[j] = np.median(members, axis=0)
    return centers


def neighbor_vectors(
    positions,
    n_neighbors=None,
    *,
    lattice_vectors=None,
    reference=None,
    targets=None,
    tolerance=0.3,
    random_state=0,
):
    """Each atom's vectors to its neighbors, in one slot order for every atom.

    Parameters
    ----------
    positions : array-like of shape (n_atoms, 2)
        The atoms, ``(row, col)`` in pixels.
    n_neighbors : int, optional
        How many neighbors (slots) per atom. Needed when the reference vectors are
        estimated from the data; with ``lattice_vectors`` it defaults to the first
        shell, the vectors within 5 % of the shortest (4 on a square lattice, 6 on a
        hexagonal one); with ``reference`` it must equal ``len(reference)`` when given.
    lattice_vectors : array-like of shape (2, 2), optional
        Rows ``a₁``, ``a₂`` of the lattice of ``targets`` (``(row, col)``, pixels). The
        reference vectors are then the ``n_neighbors`` shortest vectors from an atom to
        that lattice; when ``targets`` is another sublattice, its offset within the cell
        is measured from the data first.
    reference : array-like of shape (k, 2), optional
        The reference vectors themselves, in the slot order wanted.
    targets : array-like of shape (n_targets, 2), optional
        Take the neighbors from these positions instead of from ``positions`` (e.g. the
        A-site cage around each B site of a perovskite).
    tolerance : float, default=0.3
        A neighbor fills slot ``j`` when it lies within ``tolerance·|reference[j]|`` of
        ``atom + reference[j]``; in (0, 0.5).
    random_state : int, default=0
        Seeds the subset of atoms used to estimate the reference vectors on large
        images (more than 4,000 atoms).

    Returns
    -------
    result : sklearn.utils.Bunch
        ``vectors`` (n_atoms, k, 2): neighbor minus atom, NaN in an empty slot;
        ``indices`` (n_atoms, k): the neighbor's row in ``targets`` (or ``positions``),
        ``-1`` in an empty slot; ``complete`` (n_atoms,): True where every slot is
        filled (False for atoms whose shell is cut by the image edge or a vacancy);
        ``reference`` (k, 2): the reference vectors, slot by slot.

    Raises
    ------
    ValueError
        NaN or infinite positions, fewer atoms than neighbors, reference vectors closer
        to each other than the tolerance allows, a shell split by ``n_neighbors``.

    See Also
    --------
    neighbor_angles : the angles between consecutive neighbors.
    lectlib.lattice.lattice_vectors : the vectors of a square or hexagonal lattice.

    Notes
    -----
    Estimated reference vectors are the ``k`` cluster centres (k-means) of every
    atom's ``k`` nearest-neighbor vectors, sorted by angle from +col towards +row. That
    sort happens once, for the whole image, so its branch cut cannot flip the order
    between atoms. Given ``reference`` vectors keep their order.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.crystallography import neighbor_vectors
    >>> rows, cols = np.mgrid[0:5, 0:5] * 10.0
    >>> atoms = np.column_stack([rows.ravel(), cols.ravel()])
    >>> nb = neighbor_vectors(atoms, lattice_vectors=[[0, 10], [10, 0]])
    >>> nb.reference.tolist()
    [[0.0, 10.0], [10.0, 0.0], [0.0, -10.0], [-10.0, 0.0]]
    >>> int(nb.complete.sum())  # the 3 x 3 atoms inside have all four neighbors
    9
    >>> nb.vectors[12].tolist()
    [[0.0, 10.0], [10.0, 0.0], [0.0, -10.0], [-10.0, 0.0]]
    """
    p = _check_positions(positions, "positions")
    same_set = targets is None
    t = p if same_set else _check_positions(targets, "targets")
    tol = check_scalar(
        tolerance,
        "tolerance",
        low=0.0,
        high=0.5,
        low_inclusive=False,
        high_inclusive=False,
    )
    if n_neighbors is not None:
        n_neighbors = check_scalar(n_neighbors, "n_neighbors", low=1, integer=True)
    if reference is not None and lattice_vectors is not None:
        raise ValueError("pass reference or lattice_vectors, not both")

    if reference is not None:
        ref = as_float_array(reference, "reference", ndim=2)
        if ref.shape[1] != 2:
            raise ValueError(f"reference must have shape (k, 2), got {ref.shape}")
        if n_neighbors is not None and n_neighbors != len(ref):
            raise ValueError(
                f"n_neighbors={n_neighbors} but reference holds {len(ref)} vectors"
            )
        k = len(ref)
    else:
        k = n_neighbors
        if lattice_vectors is None and k is None:
            raise ValueError(
                "n_neighbors is needed when the reference vectors are estimated from "
                "the data (or pass lattice_vectors or reference)"
            )
    available = len(t) - (1 if same_set else 0)
    if k is not None and available < k:
        raise ValueError(
            f"{k} neighbors per atom asked for, but there are only {available} "
            "candidate neighbors"
        )

    if reference is None and lattice_vectors is not None:
        a = _check_vectors(lattice_vectors)
        shift = np.zeros(2) if same_set else _fractional_shift(p, t, a)
        if k is None:  # the first shell
            k = _first_shell_size(a, shift)
            if available < k:
                raise ValueError(
                    f"the first shell holds {k} neighbors, but there are only "
                    f"{available} candidate neighbors"
                )
        ref = _order_by_angle(_shortest_lattice_vectors(a, shift, k))
    elif reference is None:
        rng = np.random.default_rng(random_state)
        ref = _order_by_angle(_estimate_reference(p, t, k, same_set, tol, rng))

    length = np.hypot(*ref.T)
    if not np.all(length > 0):
        raise ValueError("reference vectors must be non-zero")
    radius = tol * length
    gap = np.hypot(*(ref[:, None, :] - ref[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(gap, np.inf)
    if np.any(gap <= radius[:, None] + radius[None, :]):
        raise ValueError(
            f"reference vectors are too close to each other for tolerance={tol}: "
            "two slots could take the same neighbor (lower the tolerance)"
        )

    # one query for every (atom, slot): the target nearest atom + reference[j]
    tree = cKDTree(t)
    predicted = p[:, None, :] + ref[None, :, :]
    dist, idx = tree.query(predicted.reshape(-1, 2), k=1)
    dist = dist.reshape(len(p), k)
    idx = idx.reshape(len(p), k)
    found = dist <= radius[None, :]
    if same_set:  # an atom is never its own neighbor
        found &= idx != np.arange(len(p))[:, None]
    indices = np.where(found, idx, -1)
    safe = np.where(found, idx, 0)
    vectors = np.where(found[..., None], t[safe] - p[:, None, :], np.nan)
    return Bunch(
        vectors=vectors,
        indices=indices,
        complete=found.all(axis=1),
        reference=ref,
    )


def neighbor_angles(vectors, *, sort=False):
    """The angles at each atom between consecutive neighbors, in degrees.

    Parameters
    ----------
    vectors : array-like of shape (n_atoms, k, 2)
        Neighbor vectors, e.g. ``neighbor_vectors(...).vectors``, with ``k >= 2``.
    sort : bool, default=False
        Sort each atom's angles (descending). The sorted angles are the same for
        neighborhoods that differ by any rotation or mirror which permutes the
        neighbors: that descriptor cannot tell such variants apart.

    Returns
    -------
    angles : ndarray of shape (n_atoms, k)
        ``angles[i, j]`` is the angle between slots ``j`` and ``j + 1`` (cyclically),
        in [0, 180]. Atoms with an empty slot (NaN vectors) are refused: select
        ``nb.vectors[nb.complete]`` first.

    See Also
    --------
    neighbor_vectors : the vectors themselves, which also tell variants apart.

    Notes
    -----
    Angles throw away the lengths and the orientation of the neighborhood. Two
    polarization variants related by a 90° turn have the same angles in a cyclically
    shifted order; sorted, they are identical. Clustering angles therefore merges
    variants that clustering the full vectors separates.

    Examples
    --------
    >>> from lectlib.crystallography import neighbor_angles
    >>> square = [[[0, 1], [1, 0], [0, -1], [-1, 0]]]
    >>> neighbor_angles(square).tolist()
    [[90.0, 90.0, 90.0, 90.0]]
    >>> neighbor_angles([[[0, 1], [1, 1], [0, -1], [-1, 0]]], sort=True).round(1)
    array([[135.,  90.,  90.,  45.]])
    """
    v = np.asarray(vectors) if not isinstance(vectors, (str, bytes)) else vectors
    if isinstance(v, np.ndarray) and v.dtype.kind == "f" and np.isnan(v).any():
        raise ValueError(
            "vectors hold NaN (atoms with an empty slot): select the complete atoms "
            "first, e.g. nb.vectors[nb.complete]"
        )
    v = as_float_array(vectors, "vectors", ndim=3)
    if v.shape[2] != 2 or v.shape[1] < 2:
        raise ValueError(
            f"vectors must have shape (n_atoms, k, 2) with k >= 2, got shape {v.shape}"
        )
    if np.any(np.hypot(v[..., 0], v[..., 1]) == 0):
        raise ValueError("a neighbor vector is zero: it has no direction")
    nxt = np.roll(v, -1, axis=1)
    cross = v[..., 0] * nxt[..., 1] - v[..., 1] * nxt[..., 0]
    dot = np.sum(v * nxt, axis=-1)
    angles = np.degrees(np.arctan2(np.abs(cross), dot))
    if sort:
        angles = -np.sort(-angles, axis=1)
    return angles


def fit_lattice_vectors(positions, lattice_vectors, *, max_residual=0.25):
    """Least-squares lattice vectors and origin of a set of atoms on one lattice.

    Each atom gets integer indices ``(n₁, n₂)`` from the starting vectors; the origin
    and the vectors are then fitted to every atom at once, ``position ≈ origin + n₁a₁
    + n₂a₂``, and the indices are assigned again with the fitted vectors (twice).
    Atoms farther than ``max_residual`` cells from a lattice point (another sublattice,
    a false detection) are left out of the fit.

    Parameters
    ----------
    positions : array-like of shape (n_atoms, 2)
        Atoms of one sublattice, ``(row, col)`` in pixels; at least 3.
    lattice_vectors : array-like of shape (2, 2)
        Starting vectors (rows ``a₁``, ``a₂``), good to a fraction of a cell over the
        image, e.g. ``neighbor_vectors(positions, 4).reference[:2]``.
    max_residual : float, default=0.25
        In units of a cell, in (0, 0.5].

    Returns
    -------
    fit : sklearn.utils.Bunch
        ``vectors`` (2, 2), ``origin`` (2,), ``indices`` (n_atoms, 2) int,
        ``inlier`` (n_atoms,) bool, ``residuals`` (n_atoms, 2) in pixels, and
        ``vector_std`` (2, 2), the standard error of each fitted vector component.

    See Also
    --------
    neighbor_vectors : local vectors atom by atom, where this fits one cell to all.
    lectlib.lattice.lattice_vectors : ideal vectors of a square or hexagonal lattice.

    Notes
    -----
    The fit is linear in the origin and the vectors once the indices are known, so the
    standard errors come from the usual least-squares covariance, with the residual
    variance of each coordinate estimated from the inliers. Over an image of ``N`` cells
    along a row, the error of a vector falls as ``σ/(N·√n_rows)``: averaging over many
    atoms measures the cell to a small fraction of a pixel.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.crystallography import fit_lattice_vectors
    >>> n1, n2 = np.mgrid[0:6, 0:6].reshape(2, -1)
    >>> atoms = np.outer(n1, [0.5, 10.2]) + np.outer(n2, [9.9, -0.3]) + 3.0
    >>> fit = fit_lattice_vectors(atoms, [[0, 10], [10, 0]])
    >>> fit.vectors.round(6).tolist()
    [[0.5, 10.2], [9.9, -0.3]]
    """
    p = _check_positions(positions, "positions")
    a = _check_vectors(lattice_vectors)
    max_residual = check_scalar(
        max_residual, "max_residual", low=0.0, high=0.5, low_inclusive=False
    )
    if len(p) < 3:
        raise ValueError(f"fitting a lattice needs at least 3 atoms, got {len(p)}")
    center = p[np.argmin(np.hypot(*(p - np.median(p, axis=0)).T))]
    origin = center
    for _ in range(3):
        frac = np.linalg.solve(a.T, (p - origin).T).T
        n = np.rint(frac)
        inlier = np.all(np.abs(frac - n) <= max_residual, axis=1)
        design = np.column_stack([np.ones(len(p)), n])[inlier]
        if inlier.sum() < 3 or np.linalg.matrix_rank(design) < 3:
            raise ValueError(
                "fewer than 3 atoms on distinct lattice rows fit the starting vectors; "
                "check lattice_vectors"
            )
        coef, *_ = np.linalg.lstsq(design, p[inlier], rcond=None)
        origin, a = coef[0], coef[1:]
    frac = np.linalg.solve(a.T, (p - origin).T).T
    n = np.rint(frac)
    model = origin + n @ a
    residuals = p - model
    dof = max(int(inlier.sum()) - 3, 1)
    sigma2 = np.sum(residuals[inlier] ** 2, axis=0) / dof  # per coordinate
    cov = np.linalg.inv(design.T @ design)
    vector_std = np.sqrt(np.outer(np.diag(cov)[1:], sigma2))
    return Bunch(
        vectors=a,
        origin=origin,
        indices=n.astype(int),
        inlier=inlier,
        residuals=residuals,
        vector_std=vector_std,
    )
