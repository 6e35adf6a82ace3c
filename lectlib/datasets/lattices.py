"""Atomic-resolution images of crystal lattices, with their ground truth.

Grains of several phases (lattices of given symmetry, spacing and orientation) with
drift, vacancies and defect lines; and one lattice whose regions carry different charge
orders (superlattices). Geometry comes from :mod:`lectlib.lattice`, atoms and noise from
:mod:`lectlib.datasets.rendering`.
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


#: Region labels of :func:`make_charge_order`.
CHARGE_ORDERS = ("none", "hexagonal", "dimer")


def make_charge_order(
    shape=(256, 256),
    *,
    spacing=6.0,
    angle=0.0,
    amplitude=0.35,
    orders=("hexagonal", "dimer"),
    length_scale=40.0,
    atom_size=1.0,
    noise="gaussian",
    noise_level=0.2,
    random_state=None,
):
    """A hexagonal lattice whose regions carry different superlattices (charge orders).

    Atom intensities are modulated by waves at half the Bragg vectors, Q_i = G_i / 2
    (the M points): with all three Q_i a hexagonal 2 × 2 superlattice, whose Fourier
    transform adds an inner hexagon of six spots; with only Q_1 and Q_2 a dimer-like
    superlattice, in which two of the six inner spots (±Q_3) are missing — the situation
    of the α-RuCl₃ example in the lecture. Regions come from a smooth random field,
    split into the requested orders.

    Parameters
    ----------
    shape : (int, int), default=(256, 256)
    spacing : float, default=6.0
        Atom spacing (px).
    angle : float, default=0.0
        Orientation of the lattice (deg).
    amplitude : float, default=0.35
        Relative modulation of the atom intensities by each wave.
    orders : sequence of {"none", "hexagonal", "dimer"}, default=("hexagonal", "dimer")
        The orders present, one region label each (in this order).
    length_scale : float, default=40.0
        Size of the regions (px), at most ten times the image's larger side.
    atom_size, noise, noise_level, random_state
        As in :func:`make_lattice_phases`.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``image``, ``clean``, ``region_map`` (index into ``orders`` per pixel),
        ``orders``, ``bragg`` (3, 2) and ``q`` (3, 2) reciprocal vectors (row, col) in
        cycles per pixel, ``suppressed`` (index of the Q missing in the dimer order),
        ``atoms``, ``params``, ``DESCR``.

    See Also
    --------
    make_lattice_phases : grains of different lattices, not one lattice with different
        orders.
    lectlib.lattice.bragg_spots : the Bragg spots, whose halves are the ``q`` here.
    lectlib.sliding.SlidingFFT : the local Fourier transform in which the inner spots
        show.

    Notes
    -----
    The atom at ``r`` has weight ``1 + amplitude Σ_i cos(2π Q_i · (r − origin))`` over
    the region's active waves, clipped at 0.05, with ``Q_i`` half of
    ``b₁, b₂, b₁ + b₂``. Every cosine is ±1 on the lattice, so the hexagonal order
    brightens one atom in four (``1 + 3 amplitude``) and dims the other three
    (``1 − amplitude``); the dimer order gives ``1 + 2 amplitude``, 1, 1,
    ``1 − 2 amplitude``. The regions cut white noise smoothed over ``length_scale / 2``
    at its quantiles into ``len(orders)`` parts of equal area. After the α-RuCl₃ images
    of Ziatdinov et al., Nat. Commun. 7, 13774 (2016).

    Examples
    --------
    >>> from lectlib.datasets import make_charge_order
    >>> data = make_charge_order((128, 128), random_state=0)
    >>> data.image.shape, data.orders, int(data.suppressed)
    ((128, 128), ('hexagonal', 'dimer'), 2)
    """
    h, w = check_shape2(shape)
    spacing = check_scalar(spacing, "spacing", low=2.0)
    angle = check_scalar(angle, "angle")
    amplitude = check_scalar(amplitude, "amplitude", low=0.0, high=1.0)
    orders = tuple(orders)
    if not orders or any(o not in CHARGE_ORDERS for o in orders):
        raise ValueError(
            f"orders must be a non-empty sequence of {CHARGE_ORDERS}, got {orders!r}"
        )
    length_scale = check_scalar(
        length_scale, "length_scale", low=0.0, low_inclusive=False, high=10 * max(h, w)
    )
    atom_size = check_scalar(
        atom_size, "atom_size", low=0.0, low_inclusive=False, high=max(h, w)
    )
    noise_level = _check_image_noise(noise, noise_level)
    rng = check_random_state(random_state)

    vectors = lattice_vectors("hexagonal", spacing, angle)
    origin = rng.uniform(0, 1, 2) * spacing
    atoms, _ = lattice_points((h, w), vectors, origin, margin=_MARGIN)
    # With a1, a2 at 60°, b1 and b2 are at 120°, and the three Bragg vectors of the
    # first hexagon (up to sign) are b1, b2 and b1 + b2.
    b1, b2 = reciprocal_vectors(vectors)
    bragg = np.array([b1, b2, b1 + b2])
    q = bragg / 2

    field = ndimage.gaussian_filter(
        rng.standard_normal((h, w)), length_scale / 2, mode="reflect"
    )
    quantiles = np.quantile(field, np.linspace(0, 1, len(orders) + 1)[1:-1])
    region_map = np.searchsorted(quantiles, field)
    region = region_map[_pixel_of(atoms, (h, w))]
    waves = np.cos(
        2 * np.pi * (atoms - origin) @ q.T
    )  # (n_atoms, 3): ±1 on the 2 × 2 lattice
    active = {"none": [], "hexagonal": [0, 1, 2], "dimer": [0, 1]}
    weights = np.ones(len(atoms))
    for k, order in enumerate(orders):
        sel = region == k
        if active[order]:
            weights[sel] += amplitude * waves[sel][:, active[order]].sum(axis=1)
    weights = np.clip(weights, 0.05, None)
    clean = render_atoms((h, w), atoms, weights, atom_size=atom_size)
    image = add_image_noise(clean, noise, noise_level, random_state=rng)
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
        f"Hexagonal lattice {h} x {w}, spacing {spacing:g} px, with charge-order "
        f"regions {', '.join(orders)} (modulation {amplitude:g}); {noise or 'no'} "
        f"noise {noise_level:g}."
    )
    return Bunch(
        image=image,
        clean=clean,
        region_map=region_map,
        orders=orders,
        bragg=bragg,
        q=q,
        suppressed=2,
        atoms=atoms,
        params=params,
        DESCR=descr,
    )
