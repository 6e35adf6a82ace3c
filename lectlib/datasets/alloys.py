"""A composition series of a layered alloy: chemistry that distorts the lattice.

A single layer of Mo₁₋ₓReₓS₂ seen from above: metal atoms on a triangular lattice
(a = 3.16 Å), S₂ column pairs on the other sublattice of a honeycomb. MoS₂ is
hexagonal; ReS₂ is not: its Re atoms pull together into chains of Re₄ "diamonds"
(the distorted 1T structure), which picks one of the three equivalent lattice
directions and breaks the hexagonal symmetry. In the alloy, Re atoms cluster into such
chains, and the pairing grows with the local Re fraction. Frames at several Re fractions
hold the truth a bottom-up analysis is checked against: every site's chemistry, its
displacement, its local composition and the symmetry-adapted distortion modes of its
six-neighbor metal shell. Geometry comes from :mod:`lectlib.lattice`, atoms from
:mod:`lectlib.datasets.rendering`, modes from :mod:`lectlib.crystallography`.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from sklearn.utils import Bunch

from .._validation import check_random_state, check_scalar, check_shape2, check_size
from ..lattice import lattice_points, lattice_vectors
from .rendering import render_atoms

__all__ = ["ALLOY_SPECIES", "make_alloy_series"]

#: Chemistry codes of :func:`make_alloy_series`: a Mo column, a Re column, an S₂ pair.
ALLOY_SPECIES = ("Mo", "Re", "S2")

#: Lattice parameter (Å) of MoS₂.
_A_ANGSTROM = 3.16
#: Standard deviation (Å) of a column's image.
_WIDTH_ANGSTROM = 0.6
#: Column peaks from HAADF's Z^1.7 contrast, relative to Re (Z = 42, 75, 2 × 16).
_INTENSITY = np.array([42.0**1.7, 75.0**1.7, 2 * 16.0**1.7]) / 75.0**1.7
#: Width across a chain of the chain-shaped clustering (in units of a).
_CHAIN_WIDTH = 0.5
#: Displacement along a chain relative to that across it (Re₄ diamonds).
_ALONG = 0.5
#: Metal sites averaged for the local composition: the site and three shells.
_LOCAL_SITES = 19


def _check_compositions(compositions):
    if isinstance(compositions, (str, bytes)) or not hasattr(compositions, "__len__"):
        raise TypeError(
            "compositions must be a sequence of Re fractions in [0, 1], got "
            f"{compositions!r}"
        )
    values = list(compositions)
    if not values:
        raise ValueError("compositions must hold at least one Re fraction, got none")
    if len(values) > 64:
        raise ValueError(f"compositions may hold at most 64 frames, got {len(values)}")
    for i, x in enumerate(values):
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"compositions[{i}] must be a real number, got {x!r}")
    return tuple(
        check_scalar(x, f"compositions[{i}]", low=0.0, high=1.0)
        for i, x in enumerate(values)
    )


def _chain_geometry(vectors):
    """Unit vectors along and across the three chain directions a₁, a₂ and a₂ - a₁.

    ``across[k]`` points from one row of atoms along direction ``k`` to the next row
    (the row index grows by one).
    """
    a1, a2 = vectors
    along = np.array([a1, a2, a2 - a1])
    along /= np.hypot(*along.T)[:, None]
    # From a row to the next: +a₂ for rows along a₁, +a₁ for rows along a₂ and a₂ - a₁.
    step = np.array([a2, a1, a1])
    across = step - np.sum(step * along, axis=1)[:, None] * along
    across /= np.hypot(*across.T)[:, None]
    return along, across


def _row_and_rank(nm, orientation):
    """Row index (across the chains) and rank along the chain of each metal site."""
    n1, n2 = np.rint(nm).astype(np.int64).T
    row = np.choose(orientation, [n2, n1, n1 + n2])
    rank = np.choose(orientation, [n1, n2, n2])
    return row, rank


def _chain_fields(points, along, across, length, width, noise):
    """White noise on the sites smoothed by an anisotropic Gaussian, one field per chain
    direction: long (``length``) along it, narrow (``width``) across it."""
    tree = cKDTree(points)
    pairs = tree.query_pairs(3.0 * length, output_type="ndarray")
    delta = points[pairs[:, 1]] - points[pairs[:, 0]]
    n = len(points)
    fields = np.empty((3, n))
    for k in range(3):
        p, q = delta @ along[k], delta @ across[k]
        wt = np.exp(-0.5 * (p / length) ** 2 - 0.5 * (q / width) ** 2)
        f = noise.copy()
        f += np.bincount(pairs[:, 0], wt * noise[pairs[:, 1]], minlength=n)
        f += np.bincount(pairs[:, 1], wt * noise[pairs[:, 0]], minlength=n)
        fields[k] = (f - f.mean()) / max(f.std(), 1e-300)
    return fields


def _symmetry_modes(spacing, angle):
    """The 6mm modes of the six-neighbor shell at ``angle``.

    The modes are built on the hexagon at 0° (whose mirrors are the group's) and each
    neighbor's block of every mode is then turned by ``angle``, so the modes act on the
    turned shell in the same slot order.
    """
    from ..crystallography.symmetry import symmetry_modes

    turns = np.radians(60.0 * np.arange(6))
    hexagon = spacing * np.stack([np.sin(turns), np.cos(turns)], axis=1)
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    rotation = np.array([[c, s], [-s, c]])  # (row, col) turned by angle towards +row
    return {
        irrep: (basis.reshape(len(basis), 6, 2) @ rotation.T).reshape(len(basis), 12)
        for irrep, basis in symmetry_modes(hexagon, "6mm").items()
    }


def _amplitudes(rel, modes):
    """Mode amplitudes of neighbor displacements (n, 6, 2), also for n = 0."""
    if not len(rel):
        return {irrep: np.zeros((0, len(basis))) for irrep, basis in modes.items()}
    from ..crystallography.symmetry import mode_amplitudes

    return mode_amplitudes(rel, modes)


def _frame(x, rng, geom, settings):
    """One frame of the series at Re fraction ``x``."""
    h, w = settings["shape"]
    spacing, vectors = settings["spacing"], geom["vectors"]
    along, across, offsets = geom["along"], geom["across"], geom["offsets"]
    margin = settings["margin"]
    origin = rng.uniform(0, 1, 2) @ vectors
    metal, nm = lattice_points((h, w), vectors, origin, margin=margin)
    n_metal = len(metal)

    # Orientation domains: the largest of three smooth random fields picks the chain
    # direction. The fields are white noise smoothed on a grid of half a cell (they
    # vary over many cells), then interpolated to the pixels, margin included.
    pad = int(np.ceil(margin)) + 1
    step = spacing / 2
    grid = (
        int(np.ceil((h + 2 * pad) / step)) + 2,
        int(np.ceil((w + 2 * pad) / step)) + 2,
    )
    sigma = min(settings["domain_size"] * spacing, 2.0 * max(h, w) + 2 * pad) / step
    coarse = ndimage.gaussian_filter(
        rng.standard_normal((3, *grid)), (0, sigma, sigma), mode="reflect"
    )
    rr, cc = np.mgrid[: h + 2 * pad, : w + 2 * pad] / step
    orientation_map = np.argmax(
        [ndimage.map_coordinates(f, [rr, cc], order=1) for f in coarse], axis=0
    )
    pix = np.clip(np.rint(metal).astype(np.int64) + pad, 0, None)
    pix = np.minimum(pix, [h + 2 * pad - 1, w + 2 * pad - 1])
    orientation = orientation_map[pix[:, 0], pix[:, 1]]

    # Chemistry: the Re sites are where a chain-shaped random field is highest, so
    # that Re clusters into chains along the local direction.
    chain = _chain_fields(
        metal,
        along,
        across,
        settings["chain_length"] * spacing,
        _CHAIN_WIDTH * spacing,
        rng.standard_normal(n_metal),
    )[orientation, np.arange(n_metal)]
    inside = (
        (metal[:, 0] >= -0.5)
        & (metal[:, 0] < h - 0.5)
        & (metal[:, 1] >= -0.5)
        & (metal[:, 1] < w - 0.5)
    )
    n_re = int(np.rint(x * inside.sum()))
    is_re = np.zeros(n_metal, dtype=bool)
    if n_re:
        threshold = np.sort(chain[inside])[::-1][n_re - 1]
        is_re = chain >= threshold

    # Local composition and the pairing it drives.
    tree = cKDTree(metal)
    k_local = min(_LOCAL_SITES, n_metal)
    _, near = tree.query(metal, k=k_local)
    local = is_re[near.reshape(n_metal, k_local)].mean(axis=1)
    pairing = np.where(is_re, settings["distortion"] * spacing * local**2, 0.0)
    row, rank = _row_and_rank(nm, orientation)
    shift = pairing[:, None] * (
        np.where(row % 2 == 0, 1.0, -1.0)[:, None] * across[orientation]
        + _ALONG * np.where(rank % 2 == 0, 1.0, -1.0)[:, None] * along[orientation]
    )
    shift += rng.normal(0.0, settings["jitter"] * spacing, shift.shape)

    # S₂ columns at the centers of half the triangles, moving with their three metals.
    sulfur = metal + (vectors[0] + vectors[1]) / 3
    _, tri = tree.query(sulfur, k=min(3, n_metal))
    s_shift = shift[tri.reshape(n_metal, -1)].mean(axis=1)

    ideal = np.concatenate([metal, sulfur])
    moved = ideal + np.concatenate([shift, s_shift])
    chemistry = np.concatenate([np.where(is_re, 1, 0), np.full(n_metal, 2)]).astype(
        np.int64
    )
    clean = render_atoms(
        (h, w), moved, _INTENSITY[chemistry], atom_size=settings["atom_size"]
    )
    clean = settings["dose"] * (clean + settings["background"])
    image = rng.poisson(clean).astype(float)

    # The columns listed are those whose ideal site lies on the image: the metal
    # sites the composition was counted on, and the S2 sites alike.
    on_image = (
        (ideal[:, 0] >= -0.5)
        & (ideal[:, 0] < h - 0.5)
        & (ideal[:, 1] >= -0.5)
        & (ideal[:, 1] < w - 0.5)
    )
    keep_metal = np.flatnonzero(on_image[:n_metal])
    keep = np.concatenate([keep_metal, n_metal + np.flatnonzero(on_image[n_metal:])])

    # The six-neighbor metal shell of every metal site kept, in the slot order of
    # ``offsets``: its displacements relative to the ideal hexagon.
    _, nb = tree.query(metal[keep_metal][:, None, :] + offsets, k=1)
    rel = moved[nb] - moved[keep_metal][:, None, :] - offsets
    amplitudes = _amplitudes(rel, geom["modes"])

    n_kept_metal = len(keep_metal)
    frame = Bunch(
        image=image,
        clean=clean,
        positions=moved[keep],
        ideal_positions=ideal[keep],
        chemistry=chemistry[keep],
        displacement=moved[keep] - ideal[keep],
        n_metal=n_kept_metal,
        composition=float(is_re[keep_metal].mean()) if n_kept_metal else 0.0,
        requested_composition=x,
        local_re_fraction=local[keep_metal],
        pairing=pairing[keep_metal],
        orientation=orientation[keep_metal],
        orientation_map=orientation_map[pad : pad + h, pad : pad + w],
        neighbor_displacements=rel,
        mode_amplitudes=amplitudes,
        origin=origin,
    )
    return frame


def make_alloy_series(
    compositions=(0.05, 0.55, 0.78, 0.95),
    *,
    shape=(224, 224),
    spacing=10.0,
    angle=0.0,
    distortion=0.06,
    chain_length=2.0,
    domain_size=4.0,
    dose=200.0,
    background=0.05,
    atom_size=None,
    jitter=0.01,
    random_state=None,
):
    """HAADF-like images of a Mo₁₋ₓReₓS₂ layer at several Re fractions, where Re
    clusters into chains that break the hexagonal symmetry, with the truth of every
    site.

    Metal columns sit on a triangular lattice of spacing ``a`` (MoS₂'s 3.16 Å); Re
    columns are brighter than Mo (Z = 75 against 42) and the S₂ pairs, on the other
    sublattice of the honeycomb, are dim. Re atoms cluster into chains along one of
    the three lattice directions (which one varies in domains) and, as in ReS₂, pair
    up into Re₄ diamonds: the rows of a chain move towards each other in pairs, and
    so do the atoms along a row. The pairing grows with the local Re fraction, so a
    dilute frame stays hexagonal and a Re-rich one is distorted everywhere.

    Parameters
    ----------
    compositions : sequence of float, default=(0.05, 0.55, 0.78, 0.95)
        The Re fraction ``x`` of each frame, in [0, 1] (at most 64 frames).
    shape : (int, int), default=(224, 224)
        ``(height, width)`` of each frame, in pixels.
    spacing : float, default=10.0
        The lattice parameter ``a`` in pixels (at least 4): the pixel size is
        ``3.16 / spacing`` Å (0.316 Å at 10).
    angle : float, default=0.0
        Orientation of ``a₁`` in degrees, from +col towards +row.
    distortion : float, default=0.06
        The largest pairing displacement across a chain, as a fraction of ``a``
        (0.06 a = 0.19 Å; reached by a Re atom whose whole neighborhood is Re), at
        most 0.2.
    chain_length : float, default=2.0
        Correlation length of the Re clustering along a chain, in units of ``a``
        (across it: half a cell), in (0, 20].
    domain_size : float, default=4.0
        Correlation length of the chain-direction domains, in units of ``a``.
    dose : float, default=200.0
        Mean counts at the peak of a Re column (above the background); the images are
        Poisson counts.
    background : float, default=0.05
        Flat background as a fraction of a Re column's peak.
    atom_size : float, optional
        Standard deviation of a column's Gaussian image in pixels; by default 0.6 Å
        (1.9 px at the default spacing).
    jitter : float, default=0.01
        Standard deviation of a random static displacement of every metal column, as a
        fraction of ``a`` (along each axis), at most 0.05.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    data : sklearn.utils.Bunch
        ``frames``, a list with one :class:`~sklearn.utils.Bunch` per composition;
        ``compositions``; ``species`` (:data:`ALLOY_SPECIES`); ``pixel_size`` (Å per
        pixel); ``lattice_vectors`` (2, 2), rows ``a₁, a₂`` as ``(row, col)`` px;
        ``neighbor_offsets`` (6, 2), the ideal six-neighbor shell, ``a`` at
        ``angle + 0°, 60°, …, 300°``, in the slot order of the neighbor data;
        ``point_group`` ("6mm"); ``modes``, the symmetry-adapted displacement modes of
        that shell (``{irrep: (n_modes, 12)}``, orthonormal rows in the layout
        ``(drow₁, dcol₁, drow₂, …)``); ``chain_vectors`` (3, 2), the
        unit vectors along the three chain directions ``a₁``, ``a₂``, ``a₂ - a₁``;
        ``atom_size`` (px); ``params``; ``DESCR``.

        Each frame holds ``image`` and ``clean`` (counts and their expected values);
        ``positions`` (n, 2) of every column whose ideal site lies on the image, the
        ``n_metal`` metal columns first; ``ideal_positions``; ``chemistry`` (n,),
        0 Mo, 1 Re, 2 S₂; ``displacement`` (n, 2), positions minus ideal positions;
        ``composition``, the frame's Re fraction among its metal columns, and
        ``requested_composition``; and, for the metal columns (the first ``n_metal``
        rows), ``local_re_fraction``,
        ``pairing`` (the pairing amplitude, px; zero for Mo), ``orientation`` (chain
        direction 0, 1, 2), ``neighbor_displacements`` (n_metal, 6, 2), the true
        neighbor vectors minus ``neighbor_offsets``, and ``mode_amplitudes``
        (``{irrep: (n_metal, n_modes)}``); ``orientation_map`` (height, width) and
        ``origin``.

    See Also
    --------
    make_ferroic_lattice : a square lattice whose distortions are polar domains, not
        chemistry.
    lectlib.datasets.make_charge_order : a hexagonal lattice modulated in brightness,
        not in position.
    lectlib.crystallography.symmetry_modes : the modes the amplitudes are taken in.

    Notes
    -----
    Per frame: the metal sites are the lattice's points (:func:`lattice_points`, with
    a random origin) on the image and in a margin of three cells around it, so that
    every site on the image has its full neighborhood. Three smooth random fields
    (white noise smoothed over ``domain_size`` cells) choose the chain direction at
    each site, by their largest (the fields are computed on a grid of half a cell and
    interpolated to the pixels). White noise on the sites, smoothed by a Gaussian
    ``chain_length`` cells long along the site's chain direction and half a cell
    wide across it, ranks the sites: the ``round(x n)`` highest of the ``n`` metal
    sites on the image (and the sites of the margin above the same threshold) are Re,
    so the frame's Re fraction is ``x`` to within ``1 / (2 n)``, and Re forms chains.

    A site's local Re fraction ``c`` is the Re fraction of its 19 nearest metal sites
    (itself and the first three shells, out to ``2a``). A Re site in row ``m`` (counted
    across the chain direction) at rank ``p`` along it moves by
    ``s [(-1)^m n̂ + ½ (-1)^p t̂]`` with ``s = distortion · a · c²``, ``t̂`` along the
    chain and ``n̂`` across it: rows ``2k`` and ``2k + 1`` close up, and so do atoms
    ``2l`` and ``2l + 1`` along them, forming Re₄ diamonds. Mo sites do not pair;
    every metal site then gets the jitter, and an S₂ column moves by the mean of its
    three metal neighbors. The modes are
    :func:`lectlib.crystallography.symmetry_modes` of the hexagon at 0° in the group
    6mm (whose mirrors pass through its corners), with each neighbor's block turned by
    ``angle``; the amplitudes are the projections of ``neighbor_displacements`` on
    them (:func:`lectlib.crystallography.mode_amplitudes`).

    The image is ``dose × (Σ I_c G + background)`` with unit-peak Gaussians ``G``
    and column peaks ``I`` by HAADF's Z^1.7 rule (Mo 0.37, Re 1, S₂ 0.15), drawn by
    :func:`render_atoms`, then Poisson counts. Simplified: one layer in projection,
    S positions follow the metals, no vacancies, the pairing is a fixed pattern
    scaled by the local composition rather than a relaxed structure, and ReS₂'s
    triclinic cell is reduced to its chain pattern on the hexagonal lattice. After
    the Mo₁₋ₓReₓS₂ composition series of Yang, Chisholm et al. discussed in the
    lecture (5, 55, 78 and 95 % Re).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.datasets import make_alloy_series
    >>> data = make_alloy_series((0.1, 0.9), shape=(64, 64), random_state=0)
    >>> [round(f.composition, 1) for f in data.frames]
    [0.1, 0.9]
    >>> f = data.frames[1]
    >>> f.image.shape, sorted(np.unique(f.chemistry).tolist())
    ((64, 64), [0, 1, 2])
    >>> bool(np.allclose(f.positions - f.ideal_positions, f.displacement))
    True
    """
    compositions = _check_compositions(compositions)
    h, w = check_shape2(shape)
    check_size(2 * h * w * len(compositions), "the frames")
    spacing = check_scalar(spacing, "spacing", low=4.0, high=max(h, w, 4))
    angle = check_scalar(angle, "angle")
    distortion = check_scalar(distortion, "distortion", low=0.0, high=0.2)
    chain_length = check_scalar(
        chain_length, "chain_length", low=0.0, low_inclusive=False, high=20.0
    )
    domain_size = check_scalar(
        domain_size, "domain_size", low=0.0, low_inclusive=False, high=1e3
    )
    dose = check_scalar(dose, "dose", low=0.0, low_inclusive=False, high=1e12)
    background = check_scalar(background, "background", low=0.0, high=1e3)
    pixel_size = _A_ANGSTROM / spacing
    if atom_size is None:
        atom_size = _WIDTH_ANGSTROM / pixel_size
    atom_size = check_scalar(
        atom_size, "atom_size", low=0.0, low_inclusive=False, high=max(h, w)
    )
    jitter = check_scalar(jitter, "jitter", low=0.0, high=0.05)
    rng = check_random_state(random_state)

    vectors = lattice_vectors("hexagonal", spacing, angle)
    along, across = _chain_geometry(vectors)
    turns = np.radians(angle + 60.0 * np.arange(6))
    offsets = spacing * np.stack([np.sin(turns), np.cos(turns)], axis=1)
    modes = _symmetry_modes(spacing, angle)
    margin = 3 * spacing + 4 * atom_size + 2
    # Sites in the image and its margin, and the pairs within reach of the clustering.
    n_sites = (h + 2 * margin) * (w + 2 * margin) / (0.87 * spacing**2)
    check_size(int(n_sites * (1 + 30 * chain_length**2)), "the site pairs of one frame")
    geom = dict(
        vectors=vectors,
        along=along,
        across=across,
        offsets=offsets,
        modes=modes,
    )
    settings = dict(
        shape=(h, w),
        spacing=spacing,
        margin=margin,
        distortion=distortion,
        chain_length=chain_length,
        domain_size=domain_size,
        dose=dose,
        background=background,
        atom_size=atom_size,
        jitter=jitter,
    )
    frames = [_frame(x, rng, geom, settings) for x in compositions]
    params = dict(compositions=compositions, angle=angle, **settings)
    del params["margin"]  # derived, not a parameter
    listed = ", ".join(f"{100 * x:g}" for x in compositions)
    descr = (
        f"Mo(1-x)Re(x)S2-like layer, {len(frames)} frames of {h} x {w} px at "
        f"{pixel_size:.3f} A/px (a = {spacing:g} px) with x = {listed} % Re; Re "
        f"clusters into chains and pairs up to {distortion:g} a with the local Re "
        f"fraction; Poisson counts, {dose:g} at a Re column's peak."
    )
    return Bunch(
        frames=frames,
        compositions=compositions,
        species=ALLOY_SPECIES,
        pixel_size=pixel_size,
        lattice_vectors=vectors,
        neighbor_offsets=offsets,
        point_group="6mm",
        modes=modes,
        chain_vectors=along,
        atom_size=atom_size,
        params=params,
        DESCR=descr,
    )
