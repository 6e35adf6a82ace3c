"""Lattice geometry in an image: lattice vectors, reciprocal vectors, Bragg spots,
lattice points.

A two-dimensional lattice is the set of points ``n a₁ + m a₂ + origin`` for integers
``n, m``. Its reciprocal lattice is spanned by ``b₁, b₂`` with ``bᵢ · aⱼ = δᵢⱼ``; a
periodic image of the lattice has its Fourier spots (Bragg spots) at the
reciprocal-lattice vectors ``G = h b₁ + k b₂``. The datasets draw atoms on the points,
the sliding-FFT chapter predicts where its spots must be, and local crystallography
measures atoms against the same vectors.

Conventions, as everywhere in lectlib: vectors are ``(row, col)`` pairs, real-space
lengths in pixels, reciprocal ones in cycles per pixel (the units of
:func:`numpy.fft.fftfreq`); a lattice is described by the array ``vectors`` of shape
``(2, 2)`` whose rows are ``a₁`` and ``a₂``. An orientation ``angle`` is in degrees,
from the +col (x) axis towards +row: since rows run down the screen, a positive angle
turns clockwise on an image shown with ``origin="upper"``.
"""

from __future__ import annotations

import numpy as np

from ._validation import (
    as_float_array,
    check_option,
    check_pair,
    check_scalar,
    check_shape2,
    check_size,
)

__all__ = [
    "SYMMETRIES",
    "lattice_vectors",
    "reciprocal_vectors",
    "bragg_spots",
    "lattice_points",
]

#: Lattice symmetries :func:`lattice_vectors` knows:
#: the angle between a₁ and a₂ is 90° or 60°.
SYMMETRIES = ("square", "hexagonal")

_SECOND_VECTOR_TURN = {"square": np.pi / 2, "hexagonal": np.pi / 3}
_SAME_LENGTH = 1e-9  # relative difference below which two spots are in one shell


def _check_vectors(vectors):
    a = as_float_array(vectors, "vectors", ndim=2)
    if a.shape != (2, 2):
        raise ValueError(
            f"vectors must be a (2, 2) array with rows a1, a2, got shape {a.shape}"
        )
    area = abs(np.linalg.det(a))
    if not area > 1e-12 * max(float(np.sum(a**2)), 1e-300):
        raise ValueError(
            f"the lattice vectors {a.tolist()} are parallel: they span no cell"
        )
    return a


def lattice_vectors(symmetry, spacing, angle=0.0):
    """The two primitive vectors of a square or hexagonal lattice.

    Parameters
    ----------
    symmetry : {"square", "hexagonal"}
        The angle between ``a₁`` and ``a₂`` is 90° (square) or 60° (hexagonal, one of
        the two equivalent choices of a triangular lattice's primitive cell).
    spacing : float
        ``|a₁| = |a₂|``, the nearest-neighbor distance, in pixels (> 0).
    angle : float, default=0.0
        Orientation of ``a₁`` in degrees, from the +col axis towards +row.

    Returns
    -------
    vectors : ndarray of shape (2, 2)
        Rows ``a₁`` and ``a₂`` as ``(row, col)``.

    See Also
    --------
    reciprocal_vectors : the reciprocal basis, where the Fourier spots are.
    bragg_spots : the Fourier spots themselves, for any number of shells.
    lattice_points : the lattice's points that fall in an image.

    Notes
    -----
    ``a₁ = spacing (sin θ, cos θ)`` in ``(row, col)`` for the orientation ``θ = angle``,
    and ``a₂`` is the same vector turned 90° (square) or 60° (hexagonal) further,
    towards +row. Any other primitive cell of the same lattice (e.g. ``a₂`` at 120°)
    gives the same points.

    Examples
    --------
    >>> from lectlib.lattice import lattice_vectors
    >>> lattice_vectors("square", 8.0).round(12).tolist()
    [[0.0, 8.0], [8.0, 0.0]]
    >>> lattice_vectors("hexagonal", 2.0).round(6).tolist()
    [[0.0, 2.0], [1.732051, 1.0]]
    """
    check_option(symmetry, "symmetry", SYMMETRIES)
    spacing = check_scalar(spacing, "spacing", low=0.0, low_inclusive=False)
    t = np.radians(check_scalar(angle, "angle"))
    second = t + _SECOND_VECTOR_TURN[symmetry]
    a1 = spacing * np.array([np.sin(t), np.cos(t)])
    a2 = spacing * np.array([np.sin(second), np.cos(second)])
    return np.array([a1, a2])


def reciprocal_vectors(vectors):
    """The reciprocal basis ``b₁, b₂`` of a lattice: ``bᵢ · aⱼ = δᵢⱼ``,
    in cycles per pixel.

    Parameters
    ----------
    vectors : array_like of shape (2, 2)
        Rows ``a₁`` and ``a₂`` in pixels, ``(row, col)``; they must not be parallel.

    Returns
    -------
    reciprocal : ndarray of shape (2, 2)
        Rows ``b₁`` and ``b₂``, ``(k_row, k_col)`` in cycles per pixel.

    See Also
    --------
    bragg_spots : the reciprocal-lattice vectors ``h b₁ + k b₂`` themselves.
    lattice_vectors : the real-space basis ``a₁, a₂`` of a square or hexagonal lattice.

    Notes
    -----
    With ``A`` the matrix whose rows are ``a₁, a₂``, the conditions ``bᵢ · aⱼ = δᵢⱼ``
    read ``B Aᵀ = I``, so ``B = (A⁻¹)ᵀ``. The factor 2π of the solid-state convention is
    left out: frequencies in cycles per pixel are what a discrete Fourier transform's
    bins measure.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.lattice import lattice_vectors, reciprocal_vectors
    >>> a = lattice_vectors("hexagonal", 6.0, angle=10.0)
    >>> b = reciprocal_vectors(a)
    >>> bool(np.allclose(b @ a.T, np.eye(2)))
    True
    >>> round(float(np.hypot(*b[0])), 4)   # 1 / (6 sin 60°)
    0.1925
    """
    a = _check_vectors(vectors)
    return np.linalg.inv(a).T


def bragg_spots(vectors, *, shells=1, k_max=None, return_indices=False):
    """Reciprocal-lattice vectors ``G = h b₁ + k b₂ ≠ 0``:
    where a lattice's Fourier spots are.

    Parameters
    ----------
    vectors : array_like of shape (2, 2)
        Real-space lattice vectors (rows ``a₁``, ``a₂``), in pixels.
    shells : int, default=1
        How many distinct lengths ``|G|`` to return, shortest first: 1 gives the
        first-order spots (4 for a square lattice, 6 for a hexagonal one).
    k_max : float, optional
        Instead of ``shells``: every spot with ``|G| <= k_max`` (cycles per pixel).
    return_indices : bool, default=False
        Also return the integer indices ``(h, k)`` of each spot.

    Returns
    -------
    spots : ndarray of shape (n_spots, 2)
        ``(k_row, k_col)`` in cycles per pixel, sorted by length and then by angle from
        the +k_col axis; every spot comes with its opposite ``-G`` (Friedel pairs).
    indices : ndarray of int, shape (n_spots, 2)
        Only with ``return_indices``.

    See Also
    --------
    reciprocal_vectors : the basis ``b₁, b₂`` alone.
    lattice_points : the real-space points, not the reciprocal ones.

    Notes
    -----
    All ``(h, k)`` with ``max(|h|, |k|) ≤ N`` are generated and sorted by length. A spot
    outside that box is at least ``N + 1`` times the reciprocal cell's smaller height
    long, so ``N`` is chosen from ``k_max``, or doubled until that bound exceeds the
    last shell asked for: no spot is missed, however oblique the lattice. Lengths that
    agree to a relative 1e-9 count as one shell, so the six first-order spots of a
    hexagonal lattice come out together despite round-off.

    Examples
    --------
    >>> from lectlib.lattice import bragg_spots, lattice_vectors
    >>> (bragg_spots(lattice_vectors("square", 8.0)).round(6) + 0.0).tolist()
    [[0.0, 0.125], [0.125, 0.0], [0.0, -0.125], [-0.125, 0.0]]
    >>> len(bragg_spots(lattice_vectors("hexagonal", 9.0, 10.0)))
    6
    >>> len(bragg_spots(lattice_vectors("square", 8.0), shells=2))   # (1, 1) spots too
    8
    """
    b = reciprocal_vectors(vectors)
    # A spot with max(|h|, |k|) = N lies N cell heights away from one of the basis
    # lines, so its length is at least N times the cell's smallest height.
    height = abs(np.linalg.det(b)) / np.max(np.hypot(*b.T))
    if k_max is not None:
        k_max = check_scalar(k_max, "k_max", low=0.0, low_inclusive=False)
        bound = int(np.ceil(k_max / height))
    else:
        shells = check_scalar(shells, "shells", low=1, integer=True)
        bound = shells
    while True:
        check_size(
            (2 * bound + 1) ** 2,
            "the search for Bragg spots (too many shells, or a "
            "k_max far beyond the first spots)",
        )
        h, k = np.meshgrid(
            np.arange(-bound, bound + 1), np.arange(-bound, bound + 1), indexing="ij"
        )
        hk = np.stack([h.ravel(), k.ravel()], axis=1)
        hk = hk[np.any(hk != 0, axis=1)]
        spots = hk @ b + 0.0  # (+ 0.0 turns -0.0 into 0.0)
        length = np.hypot(*spots.T)
        order = np.argsort(length, kind="stable")
        sorted_length = length[order]
        # Shell number of every spot: lengths equal to a relative 1e-9 share a shell.
        steps = np.diff(sorted_length) > _SAME_LENGTH * sorted_length[1:]
        shell = np.empty(length.size, dtype=np.int64)
        shell[order] = np.concatenate([[0], np.cumsum(steps)])
        if k_max is not None:
            keep = length <= k_max * (1 + _SAME_LENGTH)
            break
        # Complete once every spot outside the search box is longer than the last shell.
        if shell.max() >= shells - 1:
            last = sorted_length[np.searchsorted(shell[order], shells - 1)]
            if (bound + 1) * height > last * (1 + _SAME_LENGTH):
                keep = shell < shells
                break
        bound *= 2
    spots, hk, shell = spots[keep], hk[keep], shell[keep]
    angle = np.mod(np.round(np.degrees(np.arctan2(spots[:, 0], spots[:, 1])), 9), 360.0)
    order = np.lexsort((angle, shell))
    if return_indices:
        return spots[order], hk[order]
    return spots[order]


def lattice_points(shape, vectors, origin=(0.0, 0.0), *, margin=0.5):
    """The lattice points ``n a₁ + m a₂ + origin`` that fall in an image.

    Parameters
    ----------
    shape : (int, int)
        The image's ``(height, width)`` in pixels;
        pixel ``(r, c)`` is centered on ``(r, c)``.
    vectors : array_like of shape (2, 2)
        Rows ``a₁`` and ``a₂``, ``(row, col)`` in pixels.
    origin : (float, float), default=(0.0, 0.0)
        The lattice point with ``n = m = 0``, ``(row, col)``.
    margin : float, default=0.5
        Keep points with ``-margin < row < height - 1 + margin`` (and the same along
        columns): 0.5 keeps the points that lie on the image's pixels; a few pixels more
        keeps the atoms just outside whose tails still shine into the image.

    Returns
    -------
    points : ndarray of shape (n_points, 2)
        ``(row, col)`` positions, in the order of their indices
        ``(n, m)`` (``n`` slowest).
    indices : ndarray of shape (n_points, 2)
        The integers ``(n, m)`` of each point (as floats, exact).

    See Also
    --------
    lattice_vectors : ``vectors`` of a square or hexagonal lattice.
    bragg_spots : where the Fourier spots of an image of these points are.
    lectlib.datasets.render_atoms : an image with an atom on each point.

    Notes
    -----
    The image's corners, pushed out by ``margin``, are written in the basis ``a₁, a₂``
    (a 2 × 2 linear solve); every ``(n, m)`` in the box these coordinates span, two more
    on each side, is generated, and the points outside the image are dropped. The box
    contains the whole image however oblique the lattice, so no point is missed.

    Examples
    --------
    >>> from lectlib.lattice import lattice_points, lattice_vectors
    >>> points, nm = lattice_points((10, 10), lattice_vectors("square", 4.0))
    >>> len(points), points[:3].round(9).tolist()   # n = 0, m = 0, 1, 2: along a₂
    (9, [[0.0, 0.0], [4.0, 0.0], [8.0, 0.0]])
    """
    h, w = check_shape2(shape)
    a = _check_vectors(vectors)
    origin = np.asarray(check_pair(origin, "origin", labels="(row, col)"))
    margin = check_scalar(margin, "margin", low=0.0)
    a1, a2 = a
    basis = a.T  # columns a1, a2 in (row, col)
    corners = np.array([[0, 0], [0, w], [h, 0], [h, w]], dtype=float) - origin
    # Corners pushed out by the margin, so that points in the margin are enumerated too.
    reach = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]]) * margin
    nm = np.linalg.solve(basis, np.vstack([corners, corners + reach]).T).T
    lo = np.floor(nm.min(axis=0)) - 2
    hi = np.ceil(nm.max(axis=0)) + 2
    check_size(
        (hi[0] - lo[0] + 1) * (hi[1] - lo[1] + 1),
        "the lattice points around the image (spacing far below a pixel, or a huge "
        "margin)",
    )
    n, m = np.meshgrid(
        np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1), indexing="ij"
    )
    pts = n.ravel()[:, None] * a1 + m.ravel()[:, None] * a2 + origin
    keep = (
        (pts[:, 0] > -margin)
        & (pts[:, 0] < h - 1 + margin)
        & (pts[:, 1] > -margin)
        & (pts[:, 1] < w - 1 + margin)
    )
    return pts[keep], np.stack([n.ravel(), m.ravel()], axis=1)[keep]
