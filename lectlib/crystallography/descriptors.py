"""Local descriptors of a site and their alignment by discrete rotations.

A dopant's surroundings, sampled the same way around every dopant, make a library of
fixed-length vectors that a clustering method can sort into classes (Ziatdinov et al.,
ACS Nano 11, 12742 (2017); Maksov et al., npj Comput. Mater. 5, 12 (2019)). Here the
vector is the neighbor density (a Gaussian at each detected atom) read on a polar grid
around the site: ``n_radial`` rings of ``n_angles`` points, ring ``i`` at radius
``radius·(i+1)/n_radial`` and point ``j`` at angle ``360°·j/n_angles`` (from +col
towards +row, lectlib's sense). The vector is that ``(n_radial, n_angles)`` grid
flattened row by row: feature ``i·n_angles + j``.

The same configuration appears in several orientations, and a clustering method sees
each orientation as its own class. On this grid a turn of the neighborhood by
``360°/n_angles`` is an exact roll of the angle axis, so the symmetry operations of
the lattice (turns by ``360°/n_fold``, and mirrors) permute the features without any
interpolation. :func:`align_rotations` applies to each descriptor the operation that
best matches a reference like it, one of several learned from the data ("discrete
rotation symmetry + structural similarity").
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.spatial import cKDTree
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import Bunch

from .._validation import (
    as_float_array,
    check_random_state,
    check_scalar,
    check_size,
)

__all__ = ["polar_descriptors", "align_rotations"]

#: Atoms farther than ``radius + _CUTOFF·width`` from a site are left out: each would
#: add less than exp(-_CUTOFF²/2) = 4e-6 of its weight to any grid point.
_CUTOFF = 5.0
#: Pairs (site, atom) handled at once, to bound the memory of one block.
_BLOCK = 2**22
#: Scores within this fraction of ``|descriptor|·|reference|`` are ties (rounding).
_TIE_TOL = 1e-9
#: Seed of the fixed generic vector that breaks ties between distinct orientations.
_TIE_SEED = 12742


def _check_points(points, name):
    p = as_float_array(points, name, ndim=2, allow_empty=True)
    if p.shape[1:] != (2,):
        raise ValueError(
            f"{name} must have shape (n, 2) of (row, col) positions, "
            f"got shape {p.shape}"
        )
    return p


def _grid(radius, n_radial, n_angles):
    """The polar grid's points relative to the site, (n_radial * n_angles, 2)."""
    rings = radius * np.arange(1, n_radial + 1) / n_radial
    theta = 2.0 * np.pi * np.arange(n_angles) / n_angles
    rows = rings[:, None] * np.sin(theta)[None, :]
    cols = rings[:, None] * np.cos(theta)[None, :]
    return np.stack([rows.ravel(), cols.ravel()], axis=1)


def polar_descriptors(
    positions, centers, *, radius, n_radial, n_angles=12, width, weights=None
):
    """The neighbor density around each site, sampled on a polar grid.

    Parameters
    ----------
    positions : array-like of shape (n_atoms, 2)
        The detected atoms, ``(row, col)`` in pixels (may be empty).
    centers : array-like of shape (n_centers, 2)
        The sites to describe (e.g. the dopants), ``(row, col)`` in pixels. A center
        is usually one of the atoms: positions closer to a center than ``width`` are
        taken for its own atom and left out.
    radius : float
        The outermost ring, in pixels (> 0). Ring ``i`` (from 0) lies at
        ``radius·(i+1)/n_radial``.
    n_radial : int
        Number of rings (>= 1).
    n_angles : int, default=12
        Points per ring (>= 1), at angles ``360°·j/n_angles`` from +col towards +row.
        A multiple of the lattice's ``n_fold`` (6 for graphene) lets
        :func:`align_rotations` turn the descriptors exactly.
    width : float
        Standard deviation of the Gaussian put at each atom, in pixels (> 0): about
        the uncertainty of a detected position, or a little more.
    weights : array-like of shape (n_atoms,), optional
        The height of each atom's Gaussian (e.g. 1 for carbon and another value for
        a heavier atom, so that the descriptor sees the species); default 1.

    Returns
    -------
    descriptors : ndarray of shape (n_centers, n_radial * n_angles)
        ``descriptors[c, i * n_angles + j]`` is the density at ring ``i``, angle
        ``j`` around center ``c``: ``Σ_k w_k exp(-|g - p_k|² / (2 width²))`` over
        the atoms ``p_k`` near the center.

    Raises
    ------
    ValueError
        Positions or centers not of shape (n, 2), NaN or infinite values, a weight per
        atom missing, non-positive ``radius`` or ``width``.

    See Also
    --------
    align_rotations : turns the descriptors to a common orientation.
    lectlib.crystallography.neighbor_vectors : one vector per neighbor slot, where
        this samples a smooth density (no slot assignment, any number of neighbors).

    Notes
    -----
    Sampling a smooth density instead of listing neighbor vectors makes a vector of
    one length for every site, whatever its number of neighbors (a vacancy simply
    leaves a ring emptier), and a detection error of a fraction of ``width`` changes
    it a little rather than reordering it. Turning the neighborhood by
    ``360°/n_angles`` about the center rolls the angle axis by one step; a mirror
    ``θ → −θ`` reverses it. Atoms farther than ``radius + 5·width`` from a center are
    left out (each would add less than 4e-6 of its weight). Libraries of such local
    descriptors of Si dopants in graphene, clustered with a Gaussian mixture, are the
    approach of Ziatdinov et al., ACS Nano 11, 12742 (2017) and Maksov et al.,
    npj Comput. Mater. 5, 12 (2019).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.crystallography.descriptors import polar_descriptors
    >>> site = np.array([[0.0, 0.0]])
    >>> atoms = np.array([[0.0, 0.0], [0.0, 4.0], [4.0, 0.0]])  # +col and +row
    >>> d = polar_descriptors(atoms, site, radius=4.0, n_radial=1, n_angles=4,
    ...                       width=1.0)
    >>> d.round(3).tolist()  # angles 0°, 90°, 180°, 270°: atoms at 0° and 90°
    [[1.0, 1.0, 0.0, 0.0]]
    >>> turned = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, -4.0]])  # turned by 90°
    >>> polar_descriptors(turned, site, radius=4.0, n_radial=1, n_angles=4,
    ...                   width=1.0).round(3).tolist()  # the axis rolled by one
    [[0.0, 1.0, 1.0, 0.0]]
    """
    p = _check_points(positions, "positions")
    c = _check_points(centers, "centers")
    radius = check_scalar(radius, "radius", low=0.0, low_inclusive=False)
    width = check_scalar(width, "width", low=0.0, low_inclusive=False)
    n_radial = check_scalar(n_radial, "n_radial", low=1, integer=True)
    n_angles = check_scalar(n_angles, "n_angles", low=1, integer=True)
    n_features = check_size(n_radial * n_angles, "the polar grid")
    check_size(len(c) * n_features, "the descriptors")
    if weights is None:
        w = np.ones(len(p))
    else:
        w = as_float_array(weights, "weights", ndim=1, allow_empty=True)
        if len(w) != len(p):
            raise ValueError(
                f"weights must hold one value per atom ({len(p)}), got {len(w)}"
            )
    out = np.zeros((len(c), n_features))
    if not len(p) or not len(c):
        return out
    grid = _grid(radius, n_radial, n_angles)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        cutoff = radius + _CUTOFF * width
        pairs = cKDTree(c).sparse_distance_matrix(
            cKDTree(p), cutoff, output_type="ndarray"
        )
    site, atom, dist = pairs["i"], pairs["j"], pairs["v"]
    keep = dist >= width  # an atom closer than width is the center's own
    site, atom = site[keep], atom[keep]
    block = max(1, _BLOCK // n_features)
    for start in range(0, len(site), block):
        s, a = site[start : start + block], atom[start : start + block]
        offset = p[a] - c[s]  # (pairs, 2)
        with np.errstate(over="ignore", under="ignore"):
            # distance / width, which stays a number even when width² underflows
            z = (
                np.hypot(
                    grid[None, :, 0] - offset[:, None, 0],
                    grid[None, :, 1] - offset[:, None, 1],
                )
                / width
            )
            density = w[a, None] * np.exp(-0.5 * z * z)
        np.add.at(out, s, density)
    return out


def _operations(n_angles, n_radial, n_fold, mirror):
    """The operations as index arrays on the features.

    ``perm`` (n_ops, F): operation ``g`` turns a descriptor ``d`` into ``d[perm[g]]``
    (turn ``k`` is ``g = k``, the mirror then turn ``k`` is ``g = n_fold + k``);
    ``inv``: the inverses (``inv[g][perm[g]] = arange(F)``); ``compose`` (n_ops,
    n_ops): ``compose[h, g]`` is the operation ``g`` followed by ``h``.
    """
    step = n_angles // n_fold
    a = np.arange(n_angles)
    sources = [(a - k * step) % n_angles for k in range(n_fold)]
    if mirror:  # the mirror θ → −θ first, then the turn
        sources += [(k * step - a) % n_angles for k in range(n_fold)]
    angle_perm = np.stack(sources)  # (n_ops, n_angles)
    rows = np.arange(n_radial)[:, None] * n_angles
    perm = (rows[None, :, :] + angle_perm[:, None, :]).reshape(len(angle_perm), -1)
    inv = np.empty_like(perm)
    np.put_along_axis(inv, perm, np.arange(perm.shape[1])[None, :], axis=1)
    # on the angle axis alone: g then h maps angle j to angle_perm[g][angle_perm[h]]
    after = angle_perm[:, angle_perm]  # after[g, h] = angle_perm[g][angle_perm[h]]
    match = np.all(after[:, :, None, :] == angle_perm[None, None, :, :], axis=-1)
    compose = np.argmax(match, axis=-1).T  # compose[h, g]
    return perm, inv, compose


def _norms(X):
    return np.sqrt(np.einsum("ij,ij->i", X, X))


def _select(D, perm, inv, refs, generic):
    """For each row of ``D`` the (reference, operation) pair nearest to it.

    The distance ``|g·d − r|²`` is smallest where ``2⟨g·d, r⟩ − |r|²`` is largest.
    Values equal to within rounding are ties; they go to the largest score against
    the fixed ``generic`` vector, then to the lexicographically largest turned
    descriptor, then to the first reference: a choice that depends on the set of
    turned candidates only, never on the orientation a descriptor came in.
    ``refs`` None: the generic score alone (a canonical form of each row).
    """
    n, n_ops = len(D), len(perm)
    d_norm = _norms(D)
    generic_scores = D @ generic[inv].T  # (n, n_ops): <g·d, generic>
    if refs is None:
        n_refs = 1
        alive = np.ones((n, n_ops), dtype=bool)
    else:
        n_refs = len(refs)
        ref_sq = np.einsum("ij,ij->i", refs, refs)
        # <g·d, r> = <d, g⁻¹·r>: one product with every image of every reference
        images = refs[:, inv].reshape(n_refs * n_ops, -1)
        scores = 2.0 * (D @ images.T) - np.repeat(ref_sq, n_ops)[None, :]
        size = d_norm + float(np.sqrt(ref_sq.max()))
        alive = (
            scores >= scores.max(axis=1, keepdims=True) - _TIE_TOL * size[:, None] ** 2
        )
    generic_scores = np.tile(generic_scores, (1, n_refs))
    generic_scores = np.where(alive, generic_scores, -np.inf)
    best = generic_scores.max(axis=1, keepdims=True)
    tol = _TIE_TOL * d_norm[:, None] * float(np.sqrt(generic @ generic))
    alive &= generic_scores >= best - tol
    pick = np.argmax(alive, axis=1)
    tied = np.flatnonzero(alive.sum(axis=1) > 1)
    if len(tied):
        # the candidates left are equal to rounding: take the lexicographically
        # largest, exactly (the first of equal ones); only the live candidates of
        # the tied rows are turned, alive first and in order
        width = int(alive[tied].sum(axis=1).max())
        which = np.argsort(~alive[tied], axis=1, kind="stable")[:, :width]
        sub = np.take_along_axis(alive[tied], which, axis=1)
        cand = D[tied][:, None, :]
        cand = np.take_along_axis(cand, perm[which % n_ops], axis=2)  # (m, w, F)
        for f in range(D.shape[1]):
            values = np.where(sub, cand[:, :, f], -np.inf)
            sub &= values == values.max(axis=1, keepdims=True)
            if not np.any(sub.sum(axis=1) > 1):
                break
        pick[tied] = np.take_along_axis(which, np.argmax(sub, axis=1)[:, None], 1)[:, 0]
    return pick // n_ops, pick % n_ops


def _apply(D, perm, ops):
    return np.take_along_axis(D, perm[ops], axis=1)


def _group_means(A, labels, n_groups):
    sums = np.zeros((n_groups, A.shape[1]))
    np.add.at(sums, labels, A)
    return sums / np.bincount(labels, minlength=n_groups)[:, None]


def _seed(D, perm, inv, n_refs, generic, rng):
    """k-means++ seeding in the distance between orbits, ``min_g |g·d − e|``; the
    seeds in their canonical orientation. Stops early when every row coincides with
    a seed (fewer distinct configurations than ``n_refs``)."""
    n = len(D)
    scale = float(np.max(_norms(D))) ** 2
    chosen = [int(rng.integers(n))]
    seeds = _apply(D[chosen], perm, _select(D[chosen], perm, inv, None, generic)[1])
    gap = np.full(n, np.inf)
    while True:
        last = seeds[-1:]
        _, ops = _select(D, perm, inv, last, generic)
        gap = np.minimum(gap, np.sum((_apply(D, perm, ops) - last) ** 2, axis=1))
        total = float(gap.sum())
        if len(seeds) == n_refs or total <= _TIE_TOL * scale * n:
            return seeds
        j = int(rng.choice(n, p=gap / total))
        new = _apply(D[[j]], perm, _select(D[[j]], perm, inv, None, generic)[1])
        seeds = np.concatenate([seeds, new])


def _symmetries(refs, perm):
    """Which operations each reference is (nearly) unchanged by, (k, n_ops) bool:
    ``|g·r − r|²`` below half its largest value over ``g`` (a clear break, since a
    symmetry leaves only noise and any other turn moves whole atoms)."""
    moved = np.sum((refs[:, perm] - refs[:, None, :]) ** 2, axis=-1)
    floor = _TIE_TOL * float(np.max(np.einsum("ij,ij->i", refs, refs)))
    return moved <= np.maximum(0.5 * moved.max(axis=1, keepdims=True), floor)


def _merge(D, labels, refs, perm, inv, compose, generic):
    """Turn the references to one another, the most connected first.

    References ``a`` and ``b`` are connected by the descriptors whose two nearest
    references (each in its best orientation) are ``a`` and ``b``: many when the two
    split one configuration between them, few or none between two configurations
    (the edges of a topology-representing network). Pairs join in the order of
    decreasing connection (Kruskal's maximum spanning forest; unconnected pairs never
    join), and a whole group turns by the operation that takes its reference onto
    the other. Moving ``r_a`` onto ``r_b`` is only done when every symmetry of
    ``r_b`` is one of ``r_a`` (otherwise distinct orientations of ``r_a`` match
    ``r_b`` equally well: a twofold reference onto a threefold one); of two allowed
    directions the smaller group moves. Returns the operation per reference and
    the turned references.
    """
    k, n_ops = len(refs), len(perm)
    turn = np.zeros(k, dtype=np.intp)
    turned = refs.copy()
    if k == 1:
        return turn, turned
    images = refs[:, inv].reshape(k * n_ops, -1)
    best = (D @ images.T).reshape(len(D), k, n_ops).max(axis=2)  # max <g·d, r>
    cost = np.einsum("ij,ij->i", refs, refs)[None, :] - 2.0 * best
    cost[np.arange(len(D)), labels] = np.inf  # the nearest: the matched reference
    second = np.argmin(cost, axis=1)
    links = np.zeros((k, k))
    np.add.at(links, (labels, second), 1.0)
    links += links.T
    sym = _symmetries(refs, perm)
    # may_move[a, b]: every symmetry of b is one of a
    may_move = ~np.any(sym[None, :, :] & ~sym[:, None, :], axis=2)
    a_idx, b_idx = np.triu_indices(k, 1)
    keep = links[a_idx, b_idx] > 0
    a_idx, b_idx = a_idx[keep], b_idx[keep]
    order = np.lexsort((b_idx, a_idx, -links[a_idx, b_idx]))
    group = np.arange(k)
    members = np.bincount(labels, minlength=k).astype(float)
    for a, b in zip(a_idx[order].tolist(), b_idx[order].tolist()):
        ga, gb = group[a], group[b]
        if ga == gb:
            continue
        forward, backward = may_move[a, b], may_move[b, a]
        if not (forward or backward):
            continue
        # let a's group be the one that moves: allowed, and the smaller of two
        smaller_b = members[gb] < members[ga] or (
            members[gb] == members[ga] and gb > ga
        )
        if not forward or (backward and smaller_b):
            a, b, ga, gb = b, a, gb, ga
        _, op = _select(turned[[a]], perm, inv, turned[[b]], generic)
        moving = group == ga
        turn[moving] = compose[op[0], turn[moving]]
        turned[moving] = turned[moving][:, perm[op[0]]]
        group[moving] = gb
        members[gb] += members[ga]
    return turn, turned


def align_rotations(
    descriptors,
    n_angles,
    *,
    n_fold=6,
    mirror=False,
    reference=None,
    n_references=16,
    n_iter=50,
    random_state=0,
):
    """Turn each polar descriptor by the symmetry operation that best matches a
    reference like it, so that every orientation of a configuration gives one vector.

    Parameters
    ----------
    descriptors : array-like of shape (n, n_radial * n_angles)
        Polar descriptors laid out as :func:`polar_descriptors` makes them.
    n_angles : int
        Points per ring; a multiple of ``n_fold``.
    n_fold : int, default=6
        The operations tried are the turns by ``k·360°/n_fold``, ``k = 0 …
        n_fold-1`` (6 for the orientations of a site in graphene).
    mirror : bool, default=False
        Also try the mirror ``θ → −θ`` followed by each turn (mirror images then
        count as one configuration).
    reference : array-like of shape (n_features,) or (k, n_features), optional
        Align each descriptor to the nearest of these references (in its best
        orientation), as they are. By default the references are learned (Notes).
    n_references : int, default=16
        How many references to learn (>= 1); fewer when the data hold fewer
        distinct configurations. More references than configurations do no harm
        (those of one configuration are turned onto each other at the end); fewer
        make some configurations share one. 1 aligns everything to the mean of the
        aligned set.
    n_iter : int, default=50
        Most refinements of the learned references (>= 0).
    random_state : None, int or numpy.random.Generator, default=0
        Seeds the choice of the first references (k-means++).

    Returns
    -------
    result : sklearn.utils.Bunch
        ``aligned`` (n, n_features): each descriptor after its operation;
        ``rotation`` (n,) int: ``k`` of the turn by ``k·360°/n_fold`` applied (after
        the mirror where ``mirrored``); ``mirrored`` (n,) bool (all False without
        ``mirror``); ``reference`` (k, n_features): the references, turned to one
        another, each the mean of the aligned descriptors that match it (or as
        given); ``labels`` (n,) int: the reference each descriptor matched;
        ``n_iter`` int: refinements run.

    Raises
    ------
    ValueError
        Not a 2-D array, a feature count that is not a multiple of ``n_angles``,
        ``n_angles`` not a multiple of ``n_fold``, a reference of another length,
        NaN or infinite values.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        When the matches still change after ``n_iter`` refinements.

    See Also
    --------
    polar_descriptors : makes the descriptors aligned here.
    lectlib.crystallography.replicas : all the images of one descriptor under a
        point group, where this picks one image per descriptor.

    Notes
    -----
    A descriptor ``d`` matches the reference ``r`` and operation ``g`` that make
    ``|g·d − r|`` smallest. All descriptors, references and operations are scored
    in one matrix product, since ``⟨g·d, r⟩ = ⟨d, g⁻¹·r⟩``.

    *Why not one reference.* The mean of the aligned set is dominated by the most
    frequent configurations, and a reference with a symmetry of its own cannot
    orient some others at all: against a threefold Si–C₃ template the three
    orientations of a twofold Si–C₄ score exactly alike, and so do the three
    orientations of a Si–C₂ that differ in which neighbor is missing. A minority
    configuration is then oriented by a small margin, and under noise it splits
    into rotated copies, each of which a clustering method reports as a class.

    *Several references* ("structural similarity"). Each configuration is aligned to
    references like itself, as in the multi-reference alignment of single-particle
    electron microscopy: the first references are drawn by k-means++ in the
    distance between orbits ``min_g |g·d − e|`` (each in a canonical orientation),
    then refined as in k-means, each the mean of the descriptors that match it in
    their best orientation. A symmetric configuration's reference orients its own
    members, and asks nothing of the others. A configuration may be split between
    references in different orientations; at the end the references are turned
    onto one another. Two references are linked by the descriptors whose two
    nearest references they are (the edges of a topology-representing network,
    Martinetz and Schulten, Neural Networks 7, 507 (1994)): many when they split
    one configuration, few or none between configurations. Links join groups of
    references in the order of decreasing count (Kruskal's maximum spanning
    forest), each join turning a whole group by the operation that takes one
    reference onto the other, and never moving a reference onto one with a
    symmetry it lacks (several of its orientations would fit equally well).

    *Consistency.* Scores equal to within rounding are ties, broken by the score
    against a fixed generic vector (pseudo-random, the same on every call), then
    by the lexicographic order of the turned descriptor, then by the reference's
    index: the choice depends on the set of turned candidates only. Turned copies
    of one descriptor therefore give the very same aligned vector, and turning
    descriptors of a set before the call changes none of the aligned vectors.

    This is the "discrete rotation symmetry + structural similarity" step before
    the Gaussian-mixture classes of Ziatdinov et al., ACS Nano 11, 12742 (2017)
    and Maksov et al., npj Comput. Mater. 5, 12 (2019).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.crystallography.descriptors import align_rotations
    >>> d = np.array([[3.0, 1.0, 0.0, 0.0, 0.0, 2.0]])  # one ring, 6 angles
    >>> copies = np.concatenate([np.roll(d, k, axis=1) for k in range(6)])
    >>> res = align_rotations(copies, 6)
    >>> bool(np.all(res.aligned == res.aligned[0]))  # one vector for all six
    True
    >>> res.aligned[0].tolist(), res.rotation.tolist()
    ([1.0, 0.0, 0.0, 0.0, 2.0, 3.0], [5, 4, 3, 2, 1, 0])
    """
    D = as_float_array(descriptors, "descriptors", ndim=2)
    n_angles = check_scalar(n_angles, "n_angles", low=1, integer=True)
    n_fold = check_scalar(n_fold, "n_fold", low=1, integer=True)
    n_references = check_scalar(n_references, "n_references", low=1, integer=True)
    n_iter = check_scalar(n_iter, "n_iter", low=0, integer=True)
    if not isinstance(mirror, (bool, np.bool_)):
        raise TypeError(f"mirror must be True or False, got {mirror!r}")
    n, n_features = D.shape
    if n_features % n_angles:
        raise ValueError(
            f"descriptors have {n_features} features, not a multiple of "
            f"n_angles={n_angles} (expected n_radial * n_angles)"
        )
    if n_angles % n_fold:
        raise ValueError(
            f"n_angles={n_angles} must be a multiple of n_fold={n_fold}, so that a "
            f"turn by 360/{n_fold} degrees moves the grid onto itself"
        )
    n_ops = n_fold * (2 if mirror else 1)
    perm, inv, compose = _operations(
        n_angles, n_features // n_angles, n_fold, bool(mirror)
    )
    generic = np.random.default_rng(_TIE_SEED).standard_normal(n_features)

    runs = 0
    if reference is not None:
        refs = as_float_array(reference, "reference", ndim=(1, 2))
        refs = refs.reshape(-1, refs.shape[-1])
        if refs.shape[1] != n_features:
            raise ValueError(
                f"reference must hold {n_features} features like the descriptors, "
                f"got {refs.shape[1]}"
            )
        check_size(n * len(refs) * n_ops, "the scores (descriptors x references)")
        labels, ops = _select(D, perm, inv, refs, generic)
    else:
        check_size(n * min(n_references, n) * n_ops, "the scores")
        rng = check_random_state(random_state)
        refs = _seed(D, perm, inv, min(n_references, n), generic, rng)
        labels, ops = _select(D, perm, inv, refs, generic)
        settled = n_iter == 0
        for runs in range(1, n_iter + 1):
            used, labels = np.unique(labels, return_inverse=True)
            refs = _group_means(_apply(D, perm, ops), labels, len(used))
            new_labels, new_ops = _select(D, perm, inv, refs, generic)
            if np.array_equal(new_labels, labels) and np.array_equal(new_ops, ops):
                settled = True
                break
            labels, ops = new_labels, new_ops
        if not settled:
            warnings.warn(
                f"align_rotations: the matches still changed after n_iter={n_iter} "
                "refinements of the references; raise n_iter",
                ConvergenceWarning,
                stacklevel=2,
            )
        used, labels = np.unique(labels, return_inverse=True)
        refs = _group_means(_apply(D, perm, ops), labels, len(used))
        turn, refs = _merge(D, labels, refs, perm, inv, compose, generic)
        ops = compose[turn[labels], ops]
    return Bunch(
        aligned=_apply(D, perm, ops),
        rotation=(ops % n_fold).astype(np.int64),
        mirrored=ops >= n_fold,
        reference=refs,
        labels=labels.astype(np.int64),
        n_iter=runs,
    )
