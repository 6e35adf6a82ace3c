"""Atomic-resolution images of crystal lattices, with their ground truth.

Grains of several phases (lattices of given symmetry, spacing and orientation) with
drift, vacancies and defect lines; and the Cl-terminated α-RuCl₃ surface, whose
regions carry different charge orders (superlattices). Geometry comes from
:mod:`lectlib.lattice`, atoms and noise from :mod:`lectlib.datasets.rendering`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from sklearn.utils import Bunch

from .._validation import (
    check_option,
    check_random_state,
    check_scalar,
    check_shape2,
    check_size,
)
from ..lattice import SYMMETRIES, lattice_points, lattice_vectors, reciprocal_vectors
from .rendering import add_image_noise, render_atoms

__all__ = [
    "LATTICE_PHASES",
    "CHARGE_ORDERS",
    "CHARGE_ORDER_SPOTS",
    "make_lattice_phases",
    "make_charge_order",
]

#: Atoms this far outside the image (px) are drawn too: their tails shine in.
_MARGIN = 8.0


def _check_image_noise(noise, noise_level):
    """Validate the noise settings up front, before any work is done."""
    check_option(noise, "noise", ("gaussian", "poisson", None))
    return check_scalar(
        noise_level, "noise_level", low=0.0, low_inclusive=noise != "poisson"
    )


def _pixel_of(points, shape):
    """The (row, col) pixel each point falls on, clipped to the image."""
    h, w = shape
    return (
        np.clip(np.rint(points[:, 0]), 0, h - 1).astype(int),
        np.clip(np.rint(points[:, 1]), 0, w - 1).astype(int),
    )


#: Default phases of :func:`make_lattice_phases`: symmetry,
#: spacing (px) and orientation (deg).
LATTICE_PHASES = (
    dict(symmetry="square", spacing=8.0, angle=0.0),
    dict(symmetry="hexagonal", spacing=9.0, angle=10.0),
    dict(symmetry="square", spacing=8.0, angle=30.0),
)


def make_lattice_phases(
    shape=(256, 256),
    *,
    phases=LATTICE_PHASES,
    n_grains=6,
    drift=1.5,
    vacancies=0.02,
    defect_lines=2,
    atom_size=1.2,
    noise="gaussian",
    noise_level=0.3,
    random_state=None,
):
    """An atomic-resolution image of several crystalline phases in grains,
    with its phase map.

    Grains are the Voronoi cells of ``n_grains`` random seeds; each grain holds one of
    the ``phases`` (every phase at least once) — a lattice of given symmetry, spacing
    and orientation. Each phase has its own random origin, which grains of the same
    phase share. Atoms are Gaussian; the whole image drifts by a smooth random
    displacement field (as in a slow scan), some atoms are missing (vacancies) and
    ``defect_lines`` straight rows of atoms are removed (extended defects).

    Parameters
    ----------
    shape : (int, int), default=(256, 256)
    phases : sequence of dict, default=LATTICE_PHASES
        Each with ``symmetry`` ("square" or "hexagonal"),
        ``spacing`` (px) and ``angle`` (deg).
    n_grains : int, default=6
        At least ``len(phases)``, at most ``height * width``.
    drift : float, default=1.5
        Largest displacement (px) of the smooth drift field along either axis: the
        largest absolute value of its two components together.
    vacancies : float, default=0.02
        Fraction of atoms missing at random.
    defect_lines : int, default=2
        Lines along which atoms are missing (at most ``height + width``).
    atom_size : float, default=1.2
        Gaussian width of an atom (px), at most the image's larger side.
    noise : {"gaussian", "poisson", None}, default="gaussian"
    noise_level : float, default=0.3
        Gaussian: standard deviation relative to the clean image's; Poisson: counts per
        unit intensity (the dose).
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    data : sklearn.utils.Bunch
        ``image``, ``clean``, ``phase_map`` (int per pixel), ``grain_map``, ``atoms``
        (n, 2) positions, ``atom_phase`` (n,), ``phases``, ``displacement`` (2, h, w),
        ``params``, ``DESCR``.

    See Also
    --------
    make_charge_order : one lattice whose regions differ by a superlattice, not by the
        lattice.
    lectlib.datasets.make_mixture : spectra, not images.
    lectlib.lattice.lattice_points : one phase's atom positions, before defects and
        drift.
    lectlib.datasets.render_atoms : the image of atoms at given positions.

    Notes
    -----
    A pixel belongs to the grain of its nearest seed; the ``len(phases)`` largest grains
    get the phases in random order, the other grains random ones. A phase's atoms are
    the points of its lattice (:func:`lectlib.lattice.lattice_points`, 8 px beyond the
    edges) whose pixel lies in a grain of that phase. Each atom is then dropped with
    probability ``vacancies``, and so is every atom within 1.5 px of any of
    ``defect_lines`` random straight lines. The drift field is white noise smoothed over
    a quarter of the image and scaled to ``drift``; every atom moves by its value at the
    atom's pixel. Then :func:`render_atoms` and :func:`add_image_noise`.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.datasets import make_lattice_phases
    >>> data = make_lattice_phases((128, 128), random_state=0)
    >>> data.image.shape, sorted(np.unique(data.phase_map).tolist())
    ((128, 128), [0, 1, 2])
    """
    h, w = check_shape2(shape)
    phases = list(phases)
    if not phases:
        raise ValueError("phases must hold at least one phase")
    for ph in phases:
        if not {"symmetry", "spacing", "angle"} <= set(ph):
            raise ValueError(
                f"each phase needs symmetry, spacing and angle, got {ph!r}"
            )
        check_option(ph["symmetry"], "symmetry", SYMMETRIES)
        check_scalar(ph["spacing"], "spacing", low=2.0)
        check_scalar(ph["angle"], "angle")
    # Sizes beyond these describe no image: more grains than pixels, more defect lines
    # than rows and columns together, an atom wider than the image.
    n_grains = check_scalar(
        n_grains, "n_grains", low=len(phases), high=h * w, integer=True
    )
    drift = check_scalar(drift, "drift", low=0.0)
    vacancies = check_scalar(
        vacancies, "vacancies", low=0.0, high=1.0, high_inclusive=False
    )
    defect_lines = check_scalar(
        defect_lines, "defect_lines", low=0, high=h + w, integer=True
    )
    atom_size = check_scalar(
        atom_size, "atom_size", low=0.0, low_inclusive=False, high=max(h, w)
    )
    check_size(h * w * n_grains, "the grain assignment (height x width x n_grains)")
    noise_level = _check_image_noise(noise, noise_level)
    rng = check_random_state(random_state)

    rr, cc = np.mgrid[:h, :w]
    for _ in range(100):
        seeds = rng.uniform([0, 0], [h, w], size=(n_grains, 2))
        d2 = (rr[..., None] - seeds[:, 0]) ** 2 + (cc[..., None] - seeds[:, 1]) ** 2
        grain_map = np.argmin(d2, axis=-1)
        sizes = np.bincount(grain_map.ravel(), minlength=n_grains)
        if np.count_nonzero(sizes) >= len(
            phases
        ):  # (on tiny images a cell can be empty)
            break
    else:
        raise ValueError(
            f"a {h} x {w} image is too small for {len(phases)} phases in "
            f"{n_grains} grains; use a larger image"
        )
    # Every phase goes to one of the largest grains (in random order), so each is
    # present; the other grains get random phases.
    assignment = rng.integers(0, len(phases), n_grains)
    assignment[np.argsort(-sizes, kind="stable")[: len(phases)]] = rng.permutation(
        len(phases)
    )
    phase_map = assignment[grain_map]

    field = ndimage.gaussian_filter(
        rng.standard_normal((2, h, w)), (0, h / 4, w / 4), mode="reflect"
    )
    scale = np.abs(field).max()
    displacement = field / scale * drift if scale > 0 else field

    positions, labels = [], []
    for k, ph in enumerate(phases):
        vectors = lattice_vectors(
            ph["symmetry"], float(ph["spacing"]), float(ph["angle"])
        )
        origin = rng.uniform(0, 1, 2) * float(ph["spacing"])
        pts, _ = lattice_points((h, w), vectors, origin, margin=_MARGIN)
        pts = pts[phase_map[_pixel_of(pts, (h, w))] == k]
        positions.append(pts)
        labels.append(np.full(len(pts), k))
    positions = np.concatenate(positions)
    labels = np.concatenate(labels)
    keep = rng.uniform(size=len(positions)) >= vacancies
    for _ in range(defect_lines):
        point = rng.uniform([0, 0], [h, w])
        angle = rng.uniform(0, np.pi)
        normal = np.array([np.cos(angle), -np.sin(angle)])
        keep &= np.abs((positions - point) @ normal) > 1.5
    positions, labels = positions[keep], labels[keep]
    ri, ci = _pixel_of(positions, (h, w))
    moved = positions + displacement[:, ri, ci].T
    clean = render_atoms((h, w), moved, atom_size=atom_size)
    image = add_image_noise(clean, noise, noise_level, random_state=rng)
    params = dict(
        shape=(h, w),
        phases=phases,
        n_grains=n_grains,
        drift=drift,
        vacancies=vacancies,
        defect_lines=defect_lines,
        atom_size=atom_size,
        noise=noise,
        noise_level=noise_level,
    )
    names = ", ".join(
        f"{p['symmetry']} {p['spacing']:g} px at {p['angle']:g} deg" for p in phases
    )
    descr = (
        f"Atomic lattice image {h} x {w}: {n_grains} grains of {len(phases)} phases "
        f"({names}); drift {drift:g} px, vacancies {vacancies:g}, {defect_lines} "
        f"defect lines, {noise or 'no'} noise {noise_level:g}."
    )
    return Bunch(
        image=image,
        clean=clean,
        phase_map=phase_map,
        grain_map=grain_map,
        atoms=moved,
        atom_phase=labels,
        phases=phases,
        displacement=displacement,
        params=params,
        DESCR=descr,
    )


#: Region labels of :func:`make_charge_order`: no order, the trigonal and the
#: dimer-like charge order of the α-RuCl₃ surface.
CHARGE_ORDERS = ("none", "trigonal", "dimer")

#: Which superlattice waves ``Q_i`` (indices into the returned ``q``) each order holds.
CHARGE_ORDER_SPOTS = {"none": (), "trigonal": (0, 1, 2), "dimer": (0, 1)}

#: Former names of the orders, still accepted.
_ORDER_ALIASES = {"hexagonal": "trigonal"}

#: The Cl–Cl distance of the Cl-terminated α-RuCl₃ surface, in Å (Ziatdinov et al.
#: 2016); the Ru honeycomb period is √3 times it, 5.97 Å.
_RUCL3_CL_SPACING = 3.45


def make_charge_order(
    shape=(256, 256),
    *,
    spacing=6.0,
    angle=0.0,
    amplitude=0.35,
    orders=("trigonal", "dimer"),
    length_scale=40.0,
    atom_size=1.0,
    noise="gaussian",
    noise_level=0.2,
    random_state=None,
):
    """An STM-like image of the Cl-terminated α-RuCl₃ surface whose regions carry
    different √3 × √3 R30° charge orders.

    The top layer is a triangular lattice of Cl atoms (3.45 Å apart). The Ru honeycomb
    below has the period √3 × 3.45 Å ≈ 5.97 Å, rotated by 30°: a √3 × √3 R30°
    superstructure of the Cl lattice, whose Fourier spots are the corners ``±Q_i`` of
    the Cl lattice's Brillouin zone (the K points), an inner hexagon at ``|G| / √3``
    rotated by 30° from the six Bragg spots. Ziatdinov et al. describe two coexisting
    charge orders on this surface: a *trigonal* one and a *dimer-like* one. Here the
    local density of states carries a charge-density wave on the superlattice: all
    three waves ``Q_1, Q_2, Q_3`` in the trigonal regions (round maxima over Cl trimers,
    threefold symmetric), only ``Q_1`` and ``Q_2`` in the dimer-like regions (a
    double-Q order: oval maxima over Cl pairs along ``Q_3``, twofold symmetric), so
    that its Fourier transform lacks the pair ``±Q_3``. Regions come from a smooth
    random field, split into the requested orders.

    Parameters
    ----------
    shape : (int, int), default=(256, 256)
    spacing : float, default=6.0
        The Cl–Cl distance (3.45 Å) in pixels: it sets the pixel size
        ``3.45 / spacing`` Å.
    angle : float, default=0.0
        Orientation of the Cl lattice (deg).
    amplitude : float, default=0.35
        Amplitude of each superlattice wave, relative to the mean intensity of the Cl
        lattice.
    orders : sequence of {"none", "trigonal", "dimer"}, default=("trigonal", "dimer")
        The orders present, one region label each (in this order). "hexagonal", the
        former name of "trigonal", is accepted.
    length_scale : float, default=40.0
        Size of the regions (px), at most ten times the image's larger side.
    atom_size, noise, noise_level, random_state
        As in :func:`make_lattice_phases`.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``image``, ``clean``, ``region_map`` (index into ``orders`` per pixel),
        ``orders`` (the names, aliases resolved), ``bragg`` (3, 2) the Cl lattice's
        first-order Bragg vectors and ``q`` (3, 2) the superlattice vectors ``Q_i``
        (the K points), both (row, col) in cycles per pixel; ``superlattice`` (2, 2)
        the real-space vectors of the √3 × √3 R30° cell (px); ``spots`` (dict: order →
        indices into ``q`` of the waves it holds); ``suppressed`` (index of the ``Q``
        the dimer-like order lacks, 2); ``centers`` (dict: order → (row, col) of one
        maximum of its wave pattern); ``atoms`` (Cl positions), ``pixel_size``
        (Å per px), ``params``, ``DESCR``.

    See Also
    --------
    make_lattice_phases : grains of different lattices, not one lattice with different
        orders.
    lectlib.lattice.bragg_spots : the Bragg spots of the Cl lattice; the ``q`` here are
        ``(2 b₁ + b₂) / 3`` and its rotations by 120°.
    lectlib.sliding.SlidingFFT : the local Fourier transform in which the inner spots
        show.

    Notes
    -----
    With the Cl lattice vectors ``a₁, a₂`` (60° apart) and their reciprocal ``b₁, b₂``,
    the superlattice vectors are ``Q_1 = (2b₁ + b₂)/3``, ``Q_2 = (−b₁ + b₂)/3`` and
    ``Q_3 = −Q_1 − Q_2``, all of length ``2 / (3a)``; each points along a Cl–Cl bond,
    and any two differ by a Bragg vector (they are the equivalent K points). The
    real-space cell is ``A₁ = a₁ + a₂``, ``A₂ = 2a₂ − a₁`` (``|A| = √3 a``).

    The image is the Cl lattice (Gaussian atoms of unit height, :func:`render_atoms`)
    plus the charge-density wave

    ``amplitude × m × (2 + Σ_{i active} cos 2π Q_i · (r − c))``,

    with ``m`` the lattice's mean intensity ``2π σ² / (√3 a² / 2)``; the constant 2
    keeps it non-negative and the regions' mean intensities equal. The centre ``c`` is
    a hollow site of the Cl lattice (the centre of a Cl triangle) for the trigonal
    order, so its maxima sit over Cl trimers, and the midpoint of a Cl–Cl bond along
    ``Q_3`` for the dimer-like order, so its oval maxima (√3 times longer along ``Q_3``
    than across) sit over Cl pairs. The regions cut white noise smoothed over
    ``length_scale / 2`` at its quantiles into ``len(orders)`` parts of equal area.

    What follows the paper: the Cl-terminated surface, the Cl period 3.45 Å, the
    5.97 Å (√3 × √3 R30°) period of the orders, two coexisting orders, one threefold
    ("trigonal") and one that breaks the threefold symmetry ("dimer-like"), which
    N-FINDR on sliding FFTs separates. What is a stand-in: the orders' waveforms. The
    charge-density wave is a sum of equal cosines *added* to the lattice image, not the
    measured intra-cell charge distribution, and the dimer-like order is modelled as a
    double-Q order (two of the three ``Q``); it is not a stripe (single-Q) order.
    Because the wave is added rather than multiplied onto the atoms, the ``±Q_3`` spots
    of the dimer-like order are exactly zero; a modulation locked to the atoms would
    also put weight there, since ``Q_3 = Q_1 + G`` for a Bragg vector ``G``. The
    pixel size follows from ``spacing``; the amplitude, the regions and the noise are
    free parameters, not measured ones.

    References
    ----------
    M. Ziatdinov, A. Banerjee, A. Maksov, T. Berlijn, W. Zhou, H. B. Cao, J.-Q. Yan,
    C. A. Bridges, D. G. Mandrus, S. E. Nagler, A. P. Baddorf and S. V. Kalinin,
    "Atomic-scale observation of structural and electronic orders in the layered
    compound α-RuCl₃", Nat. Commun. 7, 13774 (2016).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.datasets import make_charge_order
    >>> data = make_charge_order((128, 128), random_state=0)
    >>> data.image.shape, data.orders, data.spots["dimer"], int(data.suppressed)
    ((128, 128), ('trigonal', 'dimer'), (0, 1), 2)
    >>> # the Ru period: √3 times the Cl spacing (3.45 Å)
    >>> round(float(np.linalg.norm(data.superlattice[0]) * data.pixel_size), 2)
    5.98
    """
    h, w = check_shape2(shape)
    spacing = check_scalar(spacing, "spacing", low=2.0)
    angle = check_scalar(angle, "angle")
    amplitude = check_scalar(amplitude, "amplitude", low=0.0, high=1.0)
    if isinstance(orders, str):
        orders = None  # a lone name is not a sequence of names
    orders = tuple(orders) if orders is not None else ()
    if not orders or any(
        not isinstance(o, str) or _ORDER_ALIASES.get(o, o) not in CHARGE_ORDERS
        for o in orders
    ):
        raise ValueError(
            f"orders must be a non-empty sequence of {CHARGE_ORDERS}, got {orders!r}"
        )
    orders = tuple(_ORDER_ALIASES.get(o, o) for o in orders)
    length_scale = check_scalar(
        length_scale, "length_scale", low=0.0, low_inclusive=False, high=10 * max(h, w)
    )
    atom_size = check_scalar(
        atom_size, "atom_size", low=0.0, low_inclusive=False, high=max(h, w)
    )
    noise_level = _check_image_noise(noise, noise_level)
    rng = check_random_state(random_state)

    vectors = lattice_vectors("hexagonal", spacing, angle)
    a1, a2 = vectors
    origin = rng.uniform(0, 1, 2) * spacing
    atoms, _ = lattice_points((h, w), vectors, origin, margin=_MARGIN)
    # With a1, a2 at 60°, b1 and b2 are at 120°, and the three Bragg vectors of the
    # first hexagon (up to sign) are b1, b2 and b1 + b2; the K points are a third of
    # the way to the second shell.
    b1, b2 = reciprocal_vectors(vectors)
    bragg = np.array([b1, b2, b1 + b2])
    q = np.array([2 * b1 + b2, b2 - b1, -b1 - 2 * b2]) / 3
    superlattice = np.array([a1 + a2, 2 * a2 - a1])
    # Wave centres: a hollow site (centroid of the triangle origin, +a1, +a2) for the
    # trigonal order; the midpoint of the bond parallel to Q_3 (that is a2) for the
    # dimer-like one.
    centers = {
        "none": origin.copy(),
        "trigonal": origin + (a1 + a2) / 3,
        "dimer": origin + a2 / 2,
    }

    field = ndimage.gaussian_filter(
        rng.standard_normal((h, w)), length_scale / 2, mode="reflect"
    )
    quantiles = np.quantile(field, np.linspace(0, 1, len(orders) + 1)[1:-1])
    region_map = np.searchsorted(quantiles, field)

    lattice = render_atoms((h, w), atoms, atom_size=atom_size)
    mean_intensity = 2 * np.pi * atom_size**2 / (np.sqrt(3) / 2 * spacing**2)
    pixels = np.stack(np.mgrid[:h, :w], axis=-1).astype(float)  # (h, w, 2)
    wave = np.full((h, w), 2.0)
    for k, order in enumerate(orders):
        sel = region_map == k
        for i in CHARGE_ORDER_SPOTS[order]:
            wave[sel] += np.cos(2 * np.pi * (pixels[sel] - centers[order]) @ q[i])
    clean = lattice + amplitude * mean_intensity * wave
    image = add_image_noise(clean, noise, noise_level, random_state=rng)
    pixel_size = _RUCL3_CL_SPACING / spacing
    params = dict(
        shape=(h, w),
        spacing=spacing,
        angle=angle,
        amplitude=amplitude,
        orders=orders,
        length_scale=length_scale,
        atom_size=atom_size,
        noise=noise,
        noise_level=noise_level,
    )
    descr = (
        f"Cl-terminated α-RuCl3 surface (stand-in orders) {h} x {w}: Cl lattice "
        f"{spacing:g} px = {_RUCL3_CL_SPACING:g} Å ({pixel_size:.3g} Å/px), "
        f"√3 x √3 R30° charge-order regions {', '.join(orders)} (wave amplitude "
        f"{amplitude:g}); {noise or 'no'} noise {noise_level:g}."
    )
    return Bunch(
        image=image,
        clean=clean,
        region_map=region_map,
        orders=orders,
        bragg=bragg,
        q=q,
        superlattice=superlattice,
        spots={o: CHARGE_ORDER_SPOTS[o] for o in orders},
        suppressed=2,
        centers={o: centers[o] for o in orders},
        atoms=atoms,
        pixel_size=pixel_size,
        params=params,
        DESCR=descr,
    )
