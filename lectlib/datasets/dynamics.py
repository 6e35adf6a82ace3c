"""Si dopants in graphene under the electron beam: a movie of configurations that hop.

Graphene is a honeycomb of carbon atoms (C–C 1.42 Å, lattice parameter a = 2.46 Å).
A substitutional Si dopant takes one of a few local configurations: threefold Si–C₃
(the Si on a lattice site), fourfold Si–C₄ (the Si in the middle of a divacancy) or
Si–C₂ next to a vacancy. Under a 60 keV beam the configuration changes from frame to
frame, so a movie of annular dark-field (ADF) frames holds a trajectory of states per
dopant: the data a Markov-state analysis starts from. Here the configuration changes by
a known Markov chain, so that an analysis can be checked against the truth. Geometry
comes from :mod:`lectlib.lattice`, atoms from :mod:`lectlib.datasets.rendering`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from sklearn.utils import Bunch

from .._validation import (
    as_float_array,
    check_random_state,
    check_scalar,
    check_shape2,
    check_size,
)
from ..lattice import lattice_points, lattice_vectors
from .rendering import render_atoms

__all__ = ["DOPANT_CLASSES", "make_dopant_movie"]

#: Configuration classes of :func:`make_dopant_movie`: a Si on a lattice site with
#: three C neighbors, a Si in a divacancy with four, a Si next to a vacancy with two.
DOPANT_CLASSES = ("Si–C₃", "Si–C₄", "Si–C₂ + vacancy")

#: C–C bond length and lattice parameter of graphene (Å).
_CC = 1.42
_A = _CC * np.sqrt(3.0)
#: Standard deviation (Å) of an atom's image: an aberration-corrected 60 kV probe,
#: about 1 Å wide at half maximum.
_WIDTH = 0.4
#: ADF contrast exponent: intensity ∝ Z^γ (Krivanek et al., Nature 464, 571 (2010)).
_GAMMA = 1.64
#: Peak of a Si atom (Z = 14) relative to a C atom (Z = 6): about 4.
_SI_INTENSITY = (14.0 / 6.0) ** _GAMMA
#: Flat background, as a fraction of a C atom's peak.
_BACKGROUND = 0.05
#: Smallest distance (Å) between two dopants' home sites.
_MIN_SEPARATION = 8.0
#: Smallest distance (Å) from a home site to the image's edge (before drift): the
#: farthest C atom of a configuration lies 2.46 Å from the home site.
_EDGE = 3.0
#: Nominal time between two frames (s).
_FRAME_TIME = 1.0
#: Tolerance on the row sums of a transition matrix.
_ROW_SUM_TOL = 1e-6
#: Rotational symmetry of each class's configuration: orientations ``k`` and
#: ``k + 6 / n`` draw the same atoms.
_ROTATION_ORDER = np.array([3, 2, 1])

#: The default chain (per frame): reversible, with stationary distribution
#: (0.5, 0.3, 0.2) and mean dwell times 5, 3.3 and 2.9 frames.
_DEFAULT_T = np.array(
    [
        [0.80, 0.12, 0.08],
        [0.20, 0.70, 0.10],
        [0.20, 0.15, 0.65],
    ]
)


def _direction(degrees):
    """Unit vectors ``(sin θ, cos θ)`` (row, col) at angles from +col towards +row."""
    t = np.radians(degrees)
    return np.stack([np.sin(t), np.cos(t)], axis=-1)


def _site_offsets():
    """The canonical configuration of each class: C offsets (Å) from the Si.

    The canonical Si sits on sublattice A, whose three bonds point at 30°, 150° and
    270°; Si–C₄ takes the bond at 270° (the divacancy's axis along rows), Si–C₂ lacks
    the neighbor at 270°.
    """
    c3 = _CC * _direction([30.0, 150.0, 270.0])
    c4 = _CC * np.array([[1.0, s * np.sqrt(3) / 2] for s in (1.0, -1.0)] * 2)
    c4[2:, 0] *= -1.0
    c2 = _CC * _direction([30.0, 150.0])
    return [c3, c4, c2]


def _rotate(offsets, k):
    """Offsets (row, col) turned by ``60° k`` (from +col towards +row)."""
    t = np.radians(60.0 * k)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return offsets @ rot


def _neighbor_tables():
    """Which bond ``m`` of a home site on sublattice ``s`` orientation ``k`` uses.

    Bond ``m`` of sublattice ``s`` points at ``30° + 60° s + 120° m``. Si–C₄ in
    orientation ``k`` removes the neighbor along ``270° + 60° k`` modulo 180°, Si–C₂
    the one along ``270° + 60° k`` (-1: the orientation does not fit the sublattice).
    """
    table = np.full((2, 2, 6), -1)
    for s in range(2):
        bonds = 30.0 + 60.0 * s + 120.0 * np.arange(3)
        for k in range(6):
            target = 270.0 + 60.0 * k
            for cls, period in ((0, 180.0), (1, 360.0)):
                diff = (bonds - target) % period
                hit = np.flatnonzero(np.minimum(diff, period - diff) < 1e-6)
                if hit.size:
                    table[cls, s, k] = hit[0]
    return table


def _check_transition_matrix(transition_matrix, k):
    if transition_matrix is None:
        return _DEFAULT_T.copy()
    T = as_float_array(transition_matrix, "transition_matrix", ndim=2)
    if T.shape != (k, k):
        raise ValueError(
            f"transition_matrix must be ({k}, {k}), one row and column per class "
            f"{DOPANT_CLASSES}, got shape {T.shape}"
        )
    if np.any(T < 0):
        raise ValueError("transition_matrix must hold probabilities >= 0")
    sums = T.sum(axis=1)
    if np.any(np.abs(sums - 1.0) > _ROW_SUM_TOL):
        raise ValueError(
            "transition_matrix must be row-stochastic (every row sums to 1 within "
            f"{_ROW_SUM_TOL:g}), got row sums {np.round(sums, 10).tolist()}"
        )
    return T / sums[:, None]


def _stationary(T):
    """A stationary distribution of ``T`` (the unique one if ``T`` is irreducible)."""
    k = len(T)
    A = np.vstack([T.T - np.eye(k), np.ones(k)])
    b = np.zeros(k + 1)
    b[-1] = 1.0
    pi = np.clip(np.linalg.lstsq(A, b, rcond=None)[0], 0.0, None)
    return pi / pi.sum()


def _place_homes(sites, sublattice, n, low, high, separation, rng):
    """Indices of ``n`` home sites inside ``[low, high)``, ``separation`` apart,
    alternating between the sublattices; None if the random placement fails."""
    inside = np.all((sites >= low) & (sites < high), axis=1)
    chosen = []
    for i in range(n):
        ok = inside & (sublattice == i % 2)
        if chosen:
            d = sites[:, None, :] - sites[chosen][None, :, :]
            ok &= np.min(np.hypot(d[..., 0], d[..., 1]), axis=1) >= separation
        candidates = np.flatnonzero(ok)
        if not candidates.size:
            return None
        chosen.append(int(rng.choice(candidates)))
    return np.array(chosen, dtype=int)


def _drift_path(n_frames, drift, rng):
    """A smooth random walk starting at 0 whose largest excursion is ``drift`` px."""
    steps = rng.standard_normal((n_frames, 2))
    walk = ndimage.gaussian_filter1d(np.cumsum(steps, axis=0), 3.0, axis=0)
    walk -= walk[0]
    largest = np.max(np.hypot(walk[:, 0], walk[:, 1]))
    if largest > 0:
        walk *= drift / largest
    return walk


def _jitter_rows(stack, shifts):
    """Each scan line resampled at ``col + shift`` (linear interpolation, the edge
    values held beyond the frame); ``shifts`` is (n_frames, height)."""
    w = stack.shape[-1]
    whole = np.floor(shifts).astype(int)
    frac = (shifts - whole)[..., None]
    pad = int(np.max(np.abs(whole))) + 1
    padded = np.pad(stack, ((0, 0), (0, 0), (pad, pad)), mode="edge")
    out = np.empty_like(stack)
    # One slice per whole-pixel shift: a few of them for sub-pixel noise.
    for n in np.unique(whole):
        rows = whole == n
        lo = pad + n
        part = padded[rows]
        out[rows] = (1 - frac[rows]) * part[:, lo : lo + w] + frac[rows] * part[
            :, lo + 1 : lo + 1 + w
        ]
    return out


def make_dopant_movie(
    n_frames=100,
    *,
    n_dopants=6,
    shape=(128, 128),
    pixel_size=0.25,
    dose=20.0,
    transition_matrix=None,
    miss_rate=0.03,
    drift=3.0,
    scan_noise=0.15,
    atom_size=None,
    random_state=None,
):
    """A movie of ADF frames of graphene whose Si dopants change configuration by a
    known Markov chain, and its truth.

    Every dopant has a home lattice site; in each frame it takes one of three
    configurations (:data:`DOPANT_CLASSES`), in a random orientation that fits the
    lattice around it:

    * 0, **Si–C₃**: the Si on its home site, bonded to the three C neighbors;
    * 1, **Si–C₄**: the Si in the middle of a divacancy (its home site and one of the
      three neighbors removed), with four C neighbors at √7/2 × 1.42 ≈ 1.88 Å;
    * 2, **Si–C₂ + vacancy**: the Si on its home site with one of its three neighbors
      missing.

    From frame to frame the class of each dopant follows a Markov chain with the
    transition matrix ``T``. Frames drift slowly, scan lines jitter a little, and now
    and then a dopant is missed: it moved during the scan and its Si is smeared out.

    Parameters
    ----------
    n_frames : int, default=100
        Number of frames (≥ 1).
    n_dopants : int, default=6
        Number of Si dopants (≥ 0). Home sites lie at least 8 Å apart and 3 Å plus
        ``drift`` from the edges, alternating between the two sublattices; a field too
        small for them raises a ``ValueError``.
    shape : (int, int), default=(128, 128)
        ``(height, width)`` of a frame in pixels.
    pixel_size : float, default=0.25
        Å per pixel, in [0.02, 0.5]: at 0.25 the lattice parameter is 9.8 px and a C–C
        bond 5.7 px; a frame of 128 px is 32 Å wide.
    dose : float, default=20.0
        Expected counts at the peak of a C atom (above the background); the frames are
        Poisson counts, so the dose sets the noise. A Si peak holds about 4 times more.
    transition_matrix : array_like of shape (3, 3), optional
        Per-frame transition probabilities between the classes, row-stochastic (rows
        sum to 1 within 1e-6; they are then rescaled to sum to 1 exactly). By default
        a reversible chain with stationary distribution (0.5, 0.3, 0.2) and mean
        dwell times 5, 3.3 and 2.9 frames::

            [[0.80, 0.12, 0.08],
             [0.20, 0.70, 0.10],
             [0.20, 0.15, 0.65]]

    miss_rate : float, default=0.03
        Probability, per dopant and frame, that the Si is smeared out (in [0, 1]).
    drift : float, default=3.0
        The largest displacement of the field from its place in the first frame, in
        pixels (≥ 0): a smooth random walk of the whole field over the movie.
    scan_noise : float, default=0.15
        Standard deviation, in pixels, of a random sideways shift of each scan line
        (≥ 0, at most the frame's width).
    atom_size : float, optional
        Standard deviation of an atom's Gaussian image, in pixels; by default 0.4 Å
        (``0.4 / pixel_size`` px, 1.6 px at the default pixel size): the probe. At
        most ``max(shape) / 2.5``, so that a smeared Si (twice as wide) fits.
    random_state : None, int or numpy.random.Generator
        Sets the lattice's origin, the home sites, the chain's path, the orientations,
        the missed frames, the drift, the scan noise and the counts.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``frames`` (n_frames, height, width), the counts; ``clean``, their expected
        values; ``pixel_size`` (Å per pixel); ``frame_time``, a nominal 1 s between
        frames; ``class_names`` (:data:`DOPANT_CLASSES`); ``atom_size`` (px);
        ``intensity`` (2,), the peak counts of a C and a Si atom; ``background``
        (counts per pixel); ``params``; ``DESCR``; and ``truth``, a Bunch:

        * ``transition_matrix`` (3, 3), per frame, and its
          ``stationary_distribution`` (3,);
        * ``classes`` (n_frames, n_dopants) int, the class of each dopant per frame;
        * ``orientations`` (n_frames, n_dopants) int in 0..5: turning the canonical
          configuration ``site_offsets[c]`` by ``60° × k`` (from +col towards +row)
          gives the drawn one. A configuration with an n-fold rotation
          (``rotation_order``: 3 for Si–C₃, 2 for Si–C₄, 1 for Si–C₂) looks the same
          at ``k`` and ``k + 6/n``; the smallest such ``k`` is recorded;
        * ``dopant_positions`` (n_frames, n_dopants, 2), the Si's ``(row, col)`` in px,
          drift included;
        * ``visible`` (n_frames, n_dopants) bool, False where the Si is smeared;
        * ``atoms``, a list of (n_atoms_f, 2) arrays, the atoms whose centers lie on
          frame f (drift included), C first and the n_dopants Si last, in dopant order
          (a missed Si is listed too);
          ``species``, a list of (n_atoms_f,) int arrays, 0 for C and 1 for Si;
        * ``drift`` (n_frames, 2), the field's displacement in px (0 in frame 0);
        * ``site_offsets``, a list of three (n_neighbors, 2) arrays: the C neighbors'
          offsets from the Si, ``(row, col)`` in Å, of each class's canonical
          configuration; ``rotation_order`` (3,);
        * ``home_sites`` (n_dopants, 2), the home sites in px without drift, and
          their ``sublattice`` (n_dopants,), 0 or 1;
        * ``lattice_vectors`` (2, 2), rows ``a₁, a₂`` in px, and ``origin``, a site of
          sublattice 0 (sublattice 1 is shifted by ``(a₁ + a₂) / 3``).

    See Also
    --------
    lectlib.datasets.make_alloy_series : static frames of a layered alloy, where the
        chemistry distorts the lattice instead of hopping.
    lectlib.datasets.make_ferroic_lattice : one static frame, with domains of
        displacements instead of dopant configurations.
    lectlib.datasets.render_atoms : the Gaussian atoms the frames are made of.

    Notes
    -----
    **Lattice.** A honeycomb with a = 2.46 Å, a₁ along +col, at a random origin; sites
    of sublattice 0 have bonds at 30°, 150° and 270° (from +col towards +row),
    those of sublattice 1 at 90°, 210° and 330°.

    **Configurations** (Zhou et al., Phys. Rev. Lett. 109, 206803 (2012); Ramasse et
    al., Nano Lett. 13, 4989 (2013)). In Si–C₃ the Si sits about 1 Å out of the
    plane, with Si–C bonds of 1.77 Å; seen from above (the projection drawn here)
    the three C neighbors keep their lattice sites, 1.42 Å from the Si. In Si–C₄ the
    Si sits at the middle of the removed C–C pair, and the four C neighbors keep
    their lattice sites, √7/2 × 1.42 ≈ 1.88 Å away. In Si–C₂ the Si keeps its site
    and one neighbor is missing. Relaxations of the surrounding C atoms are left out.
    The canonical configurations put the Si on sublattice 0 (Si–C₄ along the bond at
    270°, Si–C₂ missing that neighbor); each frame draws, independently, one of the
    orientations that fit the home site: Si–C₃ has one per sublattice, Si–C₄ one
    per bond direction, Si–C₂ one per missing neighbor.

    **Dynamics** (Susi et al., Phys. Rev. Lett. 113, 115501 (2014); Ziatdinov et al.,
    ACS Nano 11, 12742 (2017)). The first frame's classes are drawn from the
    stationary distribution of ``T`` (a least-squares solution of πT = π, Σπ = 1:
    the unique one when ``T`` is irreducible), then each dopant moves on
    independently by ``T``. A stand-in: real beam-driven hops also move the Si to a
    new lattice site, and the C atoms a divacancy or a vacancy lacks do not come back
    from nowhere; here each dopant keeps its home site and the neighbors a
    configuration removes return when it changes, so that tracking is easy and the
    classes carry the dynamics.

    **Image.** ADF contrast grows as Z^γ with γ = 1.64 (Krivanek et al., Nature
    464, 571 (2010)), so a Si atom peaks (14/6)^1.64 ≈ 4.0 times higher than a C atom.
    The expected frame is ``dose × (Σ_C G + 4.0 Σ_Si G + 0.05)`` with unit-peak
    Gaussians ``G`` of width ``atom_size`` (:func:`render_atoms`), shifted by the
    drift. A missed Si is drawn as a blob of the same integrated intensity, twice as
    wide, whose peak is at the level of a C atom: no intensity threshold can call it
    Si. The drift is a random walk smoothed over 3 frames and scaled to its largest
    excursion. Scan noise resamples each line of the expected frame at ``col + s``,
    ``s ~ N(0, scan_noise²)``, by linear interpolation; the counts are then a Poisson
    draw. The truth's positions are the atoms' places before the scan noise.

    Cost: about 0.2 s for the default movie of 100 frames of 128 × 128 px (the
    time grows with the number of pixels: 2 s for 4,000 frames of 64 × 64).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.datasets.dynamics import make_dopant_movie
    >>> movie = make_dopant_movie(20, shape=(64, 64), n_dopants=2, random_state=0)
    >>> movie.frames.shape, movie.truth.classes.shape
    ((20, 64, 64), (20, 2))
    >>> movie.class_names
    ('Si–C₃', 'Si–C₄', 'Si–C₂ + vacancy')
    >>> movie.truth.transition_matrix.sum(axis=1).tolist()
    [1.0, 1.0, 1.0]
    >>> movie.truth.stationary_distribution.round(3).tolist()
    [0.5, 0.3, 0.2]
    """
    n_frames = check_scalar(n_frames, "n_frames", low=1, integer=True)
    n_dopants = check_scalar(n_dopants, "n_dopants", low=0, integer=True)
    h, w = check_shape2(shape)
    check_size(3 * n_frames * h * w, "the movie (frames, expected counts, work)")
    pixel_size = check_scalar(pixel_size, "pixel_size", low=0.02, high=0.5)
    dose = check_scalar(dose, "dose", low=0.0, low_inclusive=False, high=1e12)
    k = len(DOPANT_CLASSES)
    T = _check_transition_matrix(transition_matrix, k)
    miss_rate = check_scalar(miss_rate, "miss_rate", low=0.0, high=1.0)
    drift = check_scalar(drift, "drift", low=0.0, high=max(h, w))
    scan_noise = check_scalar(scan_noise, "scan_noise", low=0.0, high=w)
    # A missed Si is twice as wide as an atom: both must fit the renderer's limit.
    widest = max(h, w) / 2.5
    if atom_size is None:
        atom_size = _WIDTH / pixel_size
        if atom_size > widest:
            raise ValueError(
                f"at {pixel_size:g} Å/px an atom is {atom_size:.3g} px wide (0.4 Å), "
                f"too wide for a {h} x {w} px frame (at most {widest:.3g} px): use a "
                "larger pixel size or frame"
            )
    atom_size = check_scalar(
        atom_size, "atom_size", low=0.0, low_inclusive=False, high=widest
    )
    rng = check_random_state(random_state)

    # The honeycomb: sublattice 0 on the triangular lattice, sublattice 1 shifted.
    a = _A / pixel_size
    vectors = lattice_vectors("hexagonal", a)
    shift = vectors.sum(axis=0) / 3
    origin = rng.uniform(0.0, 1.0, 2) @ vectors
    margin = 4 * atom_size + drift + 2
    check_size(
        int(4 * (h + 2 * margin) * (w + 2 * margin) / (a * a) + 100),
        "the lattice sites around the frame",
    )
    sites_a, _ = lattice_points((h, w), vectors, origin, margin=margin)
    sites_b, _ = lattice_points((h, w), vectors, origin + shift, margin=margin)
    sites = np.concatenate([sites_a, sites_b])
    sublattice = np.repeat([0, 1], [len(sites_a), len(sites_b)])

    # Home sites, well inside the frame and apart.
    edge = _EDGE / pixel_size + drift
    low, high = np.array([edge, edge]), np.array([h - 1 - edge, w - 1 - edge])
    separation = _MIN_SEPARATION / pixel_size
    homes = np.zeros(0, dtype=int)
    if n_dopants:
        inside = np.all((sites >= low) & (sites < high), axis=1)
        if n_dopants > inside.sum():
            homes = None
        else:
            for _ in range(20):
                homes = _place_homes(
                    sites, sublattice, n_dopants, low, high, separation, rng
                )
                if homes is not None:
                    break
        if homes is None:
            raise ValueError(
                f"{n_dopants} dopants {_MIN_SEPARATION:g} Å apart and "
                f"{_EDGE:g} Å + drift ({drift:g} px) from the edges do not fit in a "
                f"{h} x {w} px frame at {pixel_size:g} Å/px: use fewer dopants, a "
                "larger frame or a larger pixel size"
            )
    home_sub = sublattice[homes]
    tree = cKDTree(sites)
    # Neighbor m of a home on sublattice s lies along 30° + 60° s + 120° m.
    bond_angles = 30.0 + 60.0 * home_sub[:, None] + 120.0 * np.arange(3)
    bonds = _direction(bond_angles) * (_CC / pixel_size)  # (n_dopants, 3, 2)
    neighbors = np.zeros((n_dopants, 3), dtype=int)
    if n_dopants:
        _, found = tree.query(sites[homes][:, None, :] + bonds)
        neighbors = np.asarray(found, dtype=int).reshape(n_dopants, 3)

    # The chain: classes, then orientations that fit each home site.
    pi = _stationary(T)
    cum = np.cumsum(T, axis=1)
    cum[:, -1] = 1.0  # no rounding can step past the last class
    cum_pi = np.cumsum(pi)
    cum_pi[-1] = 1.0
    classes = np.zeros((n_frames, n_dopants), dtype=int)
    classes[0] = np.searchsorted(cum_pi, rng.random(n_dopants), side="right")
    u = rng.random((n_frames, n_dopants))
    for t in range(1, n_frames):
        classes[t] = np.sum(u[t][:, None] >= cum[classes[t - 1]], axis=1)
    turn = rng.integers(0, 3, (n_frames, n_dopants))
    sub = np.broadcast_to(home_sub, (n_frames, n_dopants))
    orientations = np.select(
        [classes == 0, classes == 1], [sub, turn], default=sub + 2 * turn
    )
    table = _neighbor_tables()
    bond = np.where(
        classes == 1,
        table[0, sub, orientations],
        np.where(classes == 2, table[1, sub, orientations], -1),
    )
    removed_neighbor = np.where(
        bond >= 0, neighbors[np.arange(n_dopants), np.maximum(bond, 0)], -1
    )
    si = np.broadcast_to(sites[homes], (n_frames, n_dopants, 2)).copy()
    pair = classes == 1
    if pair.any():
        f_idx, d_idx = np.nonzero(pair)
        si[f_idx, d_idx] += 0.5 * bonds[d_idx, bond[f_idx, d_idx]]
    visible = rng.random((n_frames, n_dopants)) >= miss_rate
    path = _drift_path(n_frames, drift, rng)

    # Which C sites are present in each frame.
    check_size(n_frames * len(sites), "the sites of every frame")
    present = np.ones((n_frames, len(sites)), dtype=bool)
    frame_of = np.repeat(np.arange(n_frames), n_dopants)
    present[frame_of, np.tile(homes, n_frames)] = False
    gone = removed_neighbor >= 0
    present[np.nonzero(gone)[0], removed_neighbor[gone]] = False

    clean = np.empty((n_frames, h, w))
    atoms, species = [], []
    blob = atom_size * np.sqrt(_SI_INTENSITY)
    for f in range(n_frames):
        carbon = sites[present[f]] + path[f]
        silicon = si[f] + path[f]
        bright = silicon[visible[f]]
        image = render_atoms(
            (h, w),
            np.concatenate([carbon, bright]),
            np.concatenate([np.ones(len(carbon)), np.full(len(bright), _SI_INTENSITY)]),
            atom_size=atom_size,
        )
        if not visible[f].all():
            image += render_atoms((h, w), silicon[~visible[f]], atom_size=blob)
        clean[f] = image
        on = (
            (carbon[:, 0] >= -0.5)
            & (carbon[:, 0] < h - 0.5)
            & (carbon[:, 1] >= -0.5)
            & (carbon[:, 1] < w - 0.5)
        )
        atoms.append(np.concatenate([carbon[on], silicon]))
        species.append(np.repeat([0, 1], [int(on.sum()), n_dopants]))
    if scan_noise > 0:
        clean = _jitter_rows(clean, rng.normal(0.0, scan_noise, (n_frames, h)))
    clean = dose * (clean + _BACKGROUND)
    frames = rng.poisson(clean).astype(float)

    params = dict(
        n_frames=n_frames,
        n_dopants=n_dopants,
        shape=(h, w),
        pixel_size=pixel_size,
        dose=dose,
        transition_matrix=T.copy(),
        miss_rate=miss_rate,
        drift=drift,
        scan_noise=scan_noise,
        atom_size=atom_size,
    )
    descr = (
        f"Graphene with {n_dopants} Si dopant(s): {n_frames} ADF frames of {h} x {w} "
        f"px at {pixel_size:g} A/px; each dopant's configuration (Si-C3, Si-C4, "
        f"Si-C2 + vacancy) follows a Markov chain; Poisson counts, {dose:g} at a C "
        f"atom's peak; drift up to {drift:g} px, scan noise {scan_noise:g} px, "
        f"{miss_rate:g} of the dopants missed per frame."
    )
    truth = Bunch(
        transition_matrix=T.copy(),
        stationary_distribution=pi,
        classes=classes,
        orientations=orientations.astype(int),
        dopant_positions=si + path[:, None, :],
        visible=visible,
        atoms=atoms,
        species=species,
        drift=path,
        site_offsets=_site_offsets(),
        rotation_order=_ROTATION_ORDER.copy(),
        home_sites=sites[homes],
        sublattice=home_sub.astype(int),
        lattice_vectors=vectors,
        origin=origin,
    )
    return Bunch(
        frames=frames,
        clean=clean,
        pixel_size=pixel_size,
        frame_time=_FRAME_TIME,
        class_names=DOPANT_CLASSES,
        atom_size=atom_size,
        intensity=np.array([dose, dose * _SI_INTENSITY]),
        background=dose * _BACKGROUND,
        truth=truth,
        params=params,
        DESCR=descr,
    )
