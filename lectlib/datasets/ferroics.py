"""A ferroelectric perovskite along a cubic axis: polar domains at atomic resolution.

An ABO₃ perovskite such as PbTiO₃ projected along [001] shows two kinds of atomic
columns: A (Pb) columns at the corners of the square cell, bright in an annular
dark-field (HAADF) image, and B–O (Ti–O) columns at the cell centers, dimmer because
the image contrast grows as about Z^1.7. The pure oxygen columns, at the edge centers,
are too faint in HAADF to be drawn. Below the Curie temperature the B cation moves off
the center of its A cage: the displacement is the local electric polarization, and
regions of equal displacement are the ferroelectric domains that local crystallography
maps column by column. Geometry comes from :mod:`lectlib.lattice`, atoms from
:mod:`lectlib.datasets.rendering`.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from .._validation import check_random_state, check_scalar, check_shape2, check_size
from ..lattice import lattice_vectors
from .rendering import render_atoms

__all__ = ["FERROIC_VARIANTS", "make_ferroic_lattice"]

#: Variant codes of :func:`make_ferroic_lattice`: the four polar variants (the
#: B-site displacement along +row, +col, -row, -col; each is the previous one turned by
#: 90°), the non-polar (paraelectric) region and the antipolar (cell-doubled) region.
FERROIC_VARIANTS = ("+row", "+col", "-row", "-col", "non-polar", "antipolar")

#: Unit displacement of the four polar variants, (row, col).
_POLAR = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
_NONPOLAR, _ANTIPOLAR = 4, 5

#: Lattice parameter (Å) of the cubic cell drawn: PbTiO₃'s a = 3.90 Å.
_A_ANGSTROM = 3.9
#: Standard deviation (Å) of a column's image, the probe and the thermal smearing: an
#: aberration-corrected HAADF column is about 1 Å wide at half maximum (σ ≈ 0.45 Å).
_WIDTH_ANGSTROM = 0.45
#: Peak of a Ti–O column relative to a Pb column, from HAADF's Z^1.7 contrast.
_B_INTENSITY = (22.0**1.7 + 8.0**1.7) / 82.0**1.7


def _vortex_sector(du, dv):
    """Which triangle of the flux closure an offset ``(du, dv)`` from the core lies in.

    0: right (dv > 0, the half-open sector from -45° to 45°), 1: bottom, 2: left,
    3: top; each sector is the previous one turned by 90° clockwise on the screen, and
    the half-open bounds put a point on a diagonal into exactly one of them. -1 at the
    core itself.
    """
    sector = np.full(np.shape(du), -1)
    r, c = du, dv
    for k in range(4):
        inside = (c > 0) & (-c <= r) & (r < c)
        sector[inside] = k
        r, c = -c, r  # turn the offset back by 90°, so sector k + 1 maps onto sector 0
    return sector


def _variant_of(u, v, layout, doubled):
    """The variant code at cell coordinates ``(u, v)`` (row, col, in cells).

    The image is split at cell boundaries into four quadrants: a flux closure (top
    left), 180° stripes (top right), 90° stripes (bottom left) and the non-polar and
    antipolar regions (bottom right).
    """
    split_u, split_v, core, walls_180, walls_90, split_np, first = layout
    code = np.full(np.shape(u), _NONPOLAR)
    top, left = u < split_u, v < split_v
    # Flux closure: polarization circulates clockwise around the core, tangent to it
    # (right triangle +row, bottom -col, left -row, top +col): every wall is a 90°
    # wall along a diagonal, and head to tail.
    sector = _vortex_sector(u - core[0], v - core[1])
    vortex = np.array([0, 3, 2, 1, _NONPOLAR])[sector]  # sector -1: the core
    sel = top & left
    code[sel] = vortex[sel]
    # 180° stripes: bands of constant col, alternating +row / -row; the walls are
    # parallel to the polarization (uncharged).
    band = np.searchsorted(walls_180, v, side="right")
    stripes = np.where((band + first[0]) % 2 == 0, 0, 2)
    sel = top & ~left
    code[sel] = stripes[sel]
    # 90° stripes: bands of constant u + v, alternating +row / +col; the walls run
    # along row + col = const, where the two polarizations meet head to tail.
    band = np.searchsorted(walls_90, u + v, side="right")
    stripes = np.where((band + first[1]) % 2 == 0, 0, 1)
    sel = ~top & left
    code[sel] = stripes[sel]
    if doubled:
        code[~top & ~left & (v >= split_np)] = _ANTIPOLAR
    return code


def make_ferroic_lattice(
    shape=(320, 320),
    *,
    spacing=12.0,
    displacement=0.07,
    dose=300.0,
    background=0.05,
    doubled=True,
    atom_size=None,
    b_intensity=None,
    jitter=0.01,
    random_state=None,
):
    """A HAADF-like image of a ferroelectric perovskite with polar domains,
    a flux-closure vortex, a non-polar and an antipolar region, and its truth.

    A PbTiO₃-like ABO₃ perovskite seen along [001]: bright A (Pb) columns on a square
    lattice of spacing ``a``, dimmer B (Ti–O) columns at the cell centers, each B column
    displaced from its center by the local polarization. The image holds four regions,
    one per quadrant:

    * top left, a **flux closure**: four triangular domains, one per polar variant,
      meeting at a core whose B column is not displaced; the polarization circulates
      (a topological defect) and the walls are 90° walls along the diagonals;
    * top right, **180° walls**: stripes of +row and -row polarization;
    * bottom left, **90° walls**: stripes of +row and +col polarization, the walls along
      the diagonal where the two meet head to tail;
    * bottom right, a **non-polar** region (B columns at the cell centers) and, with
      ``doubled=True``, an **antipolar** region whose B displacements alternate from
      cell to cell in a checkerboard (a doubled, √2 × √2 cell).

    Parameters
    ----------
    shape : (int, int), default=(320, 320)
        ``(height, width)`` in pixels.
    spacing : float, default=12.0
        The lattice parameter ``a`` in pixels (at least 4). The cell drawn has
        PbTiO₃'s a = 3.9 Å, so the pixel size is ``3.9 / spacing`` Å (0.325 Å at 12).
    displacement : float, default=0.07
        The B displacement of the polar and antipolar regions, as a fraction of ``a``
        (0.07 a = 0.27 Å, about PbTiO₃'s Ti displacement), at most 0.25.
    dose : float, default=300.0
        Mean counts at the peak of an A column (above the background); the image is
        Poisson counts, so the dose sets the noise.
    background : float, default=0.05
        A flat background, as a fraction of the A column's peak: ``background * dose``
        counts per pixel.
    doubled : bool, default=True
        Include the antipolar (cell-doubled) region; without it the whole bottom-right
        quadrant is non-polar.
    atom_size : float, optional
        Standard deviation of a column's Gaussian image, in pixels; by default 0.45 Å
        (``0.45 / pixel_size`` px, 1.4 px at the default spacing), a column about 1 Å
        wide at half maximum.
    b_intensity : float, optional
        Peak of a B column relative to an A column; by default HAADF's Z^1.7 rule for a
        Ti–O column against a Pb column, ``(22^1.7 + 8^1.7) / 82^1.7 ≈ 0.126``.
    jitter : float, default=0.01
        Standard deviation of a random static displacement added to every B column, as
        a fraction of ``a`` (along each axis), at most 0.05.
    random_state : None, int or numpy.random.Generator
        Sets the lattice's origin, the domain layout (core position, stripe widths),
        the jitter and the counts.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``image`` (height, width), the counts; ``clean``, their expected values;
        ``positions`` (n, 2), every column whose center lies on the image (A columns
        first, each sublattice in the order of its cells, row by row);
        ``ideal_positions`` (n, 2),
        the undisplaced ones; ``sublattice`` (n,), 0 for A and 1 for B; ``cells``
        (n, 2), the integer cell ``(i, j)`` of each column (A at ``origin + (i, j) a``,
        B at ``origin + (i + ½, j + ½) a``); ``displacement`` (n, 2), positions minus
        ideal positions (zero for A columns); ``variant`` (n,), an index into
        ``variant_names`` for B columns and -1 for A columns; ``variant_names``
        (:data:`FERROIC_VARIANTS`); ``variant_vectors`` (4, 2), the unit displacement
        of the polar variants 0-3; ``domain_map`` (height, width), the variant code of
        the region at every pixel; ``vortex_core`` (row, col) of the flux closure's
        core; ``lattice_vectors`` (2, 2), rows ``a₁, a₂`` as ``(row, col)`` px;
        ``origin``; ``pixel_size`` (Å per pixel); ``atom_size`` (px);
        ``intensity`` (2,), the peak of an A and a B column in counts;
        ``background`` (counts per pixel); ``params``; ``DESCR``.

    See Also
    --------
    make_alloy_series : a hexagonal lattice whose distortions follow its chemistry,
        not its polarization.
    lectlib.datasets.make_lattice_phases : grains of different lattices, with no
        displacements inside a grain.
    lectlib.datasets.render_atoms : the Gaussian columns the image is made of.

    Notes
    -----
    The layout is drawn in cell coordinates ``(u, v) = (position - origin) / a``.
    Quadrants are split at the cell boundary nearest the image's center; the core of
    the flux closure sits on the B column nearest the center of its quadrant (± one
    cell at random), its four triangles are the half-open 90° sectors around it, so
    that a B column on a diagonal belongs to exactly one; the stripes are 2 to 4 cells
    wide, with walls between B columns. A B column in a polar region of variant ``k``
    moves by ``displacement · a`` along ``variant_vectors[k]``; in the antipolar region
    cell ``(i, j)`` moves by ``(-1)^(i+j) displacement · a`` along +row; then every B
    column gets the jitter. The pixels' ``domain_map`` applies the same rule at each
    pixel's cell coordinates.

    The expected image is ``dose × (Σ_A G + b_intensity Σ_B G + background)`` with
    unit-peak Gaussians ``G`` (drawn by :func:`render_atoms`, which also draws the
    columns just outside the image whose tails shine in), and ``image`` is a Poisson
    draw of it. Simplified: the tetragonal strain of PbTiO₃ (c/a ≈ 1.06), which would
    make the cell of the ±row domains differ from that of the ±col domains, is left
    out; oxygen columns and probe channelling are not modelled; domain walls are
    sharp (one cell).

    Flux-closure domains of this kind were imaged in PbTiO₃/SrTiO₃ films by Tang et
    al., Science 348, 547 (2015).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.datasets import make_ferroic_lattice
    >>> data = make_ferroic_lattice((96, 96), random_state=0)
    >>> data.image.shape, round(float(data.pixel_size), 3)
    ((96, 96), 0.325)
    >>> b = data.sublattice == 1
    >>> sorted(set(data.variant[b].tolist()))
    [0, 1, 2, 3, 4, 5]
    >>> bool(np.allclose(data.positions - data.ideal_positions, data.displacement))
    True
    """
    h, w = check_shape2(shape)
    check_size(4 * h * w, "the image and its domain map")
    spacing = check_scalar(spacing, "spacing", low=4.0, high=max(h, w, 4))
    displacement = check_scalar(displacement, "displacement", low=0.0, high=0.25)
    dose = check_scalar(dose, "dose", low=0.0, low_inclusive=False, high=1e12)
    background = check_scalar(background, "background", low=0.0, high=1e3)
    if not isinstance(doubled, (bool, np.bool_)):
        raise TypeError(f"doubled must be True or False, got {doubled!r}")
    pixel_size = _A_ANGSTROM / spacing
    if atom_size is None:
        atom_size = _WIDTH_ANGSTROM / pixel_size
    atom_size = check_scalar(
        atom_size, "atom_size", low=0.0, low_inclusive=False, high=max(h, w)
    )
    if b_intensity is None:
        b_intensity = _B_INTENSITY
    b_intensity = check_scalar(b_intensity, "b_intensity", low=0.0, high=10.0)
    jitter = check_scalar(jitter, "jitter", low=0.0, high=0.05)
    rng = check_random_state(random_state)

    origin = rng.uniform(0.0, spacing, 2)
    # Cells whose columns lie within the margin: their tails shine into the image.
    margin = 4 * atom_size + spacing
    i_lo, j_lo = np.floor((-margin - origin) / spacing).astype(int)
    i_hi = int(np.ceil((h - 1 + margin - origin[0]) / spacing))
    j_hi = int(np.ceil((w - 1 + margin - origin[1]) / spacing))
    check_size((i_hi - i_lo + 1) * (j_hi - j_lo + 1), "the cells around the image")
    ii, jj = np.meshgrid(
        np.arange(i_lo, i_hi + 1), np.arange(j_lo, j_hi + 1), indexing="ij"
    )
    cells = np.stack([ii.ravel(), jj.ravel()], axis=1)

    # The layout, in cell coordinates: the image's center, split at a cell boundary.
    center = ((np.array([h, w]) - 1) / 2 - origin) / spacing
    split_u, split_v = np.round(center)
    lo_u, lo_v = -origin / spacing  # the image's top-left corner
    hi_u, hi_v = (np.array([h, w]) - 1 - origin) / spacing
    # The core on the B column nearest the top-left quadrant's center, ± one cell.
    core = np.floor([(lo_u + split_u) / 2, (lo_v + split_v) / 2]) + 0.5
    core = core + rng.integers(-1, 2, 2)
    # Stripe walls 2-4 cells apart, enough of them to cross the image: the 180° walls
    # at integer v (between B columns), the 90° walls at half-integer u + v.
    n_walls = int(np.ceil((h + w) / spacing)) + 2
    walls_180 = split_v + np.cumsum(rng.integers(2, 5, n_walls))
    walls_90 = np.floor(split_u + lo_v) + 0.5 + np.cumsum(rng.integers(2, 5, n_walls))
    split_np = split_v + max(np.round((hi_v - split_v) / 2), 1.0)
    # The first 180° stripe is -row, so that it meets the flux closure's +row triangle
    # at a 180° wall; the 90° stripes start at random.
    first = np.array([1, rng.integers(0, 2)])
    layout = (split_u, split_v, core, walls_180, walls_90, split_np, first)

    a_ideal = origin + cells * spacing
    b_cells = cells + 0.5
    b_ideal = origin + b_cells * spacing
    variant = _variant_of(b_cells[:, 0], b_cells[:, 1], layout, doubled)
    shift = np.zeros_like(b_ideal)
    polar = variant < _NONPOLAR
    shift[polar] = _POLAR[variant[polar]] * displacement * spacing
    anti = variant == _ANTIPOLAR
    sign = np.where((cells[anti].sum(axis=1) % 2) == 0, 1.0, -1.0)
    shift[anti] = sign[:, None] * np.array([1.0, 0.0]) * displacement * spacing
    shift += rng.normal(0.0, jitter * spacing, shift.shape)
    b_pos = b_ideal + shift

    clean = render_atoms(
        (h, w),
        np.concatenate([a_ideal, b_pos]),
        np.concatenate([np.ones(len(a_ideal)), np.full(len(b_pos), b_intensity)]),
        atom_size=atom_size,
    )
    clean = dose * (clean + background)
    image = rng.poisson(clean).astype(float)

    def on_image(p):
        return (
            (p[:, 0] >= -0.5)
            & (p[:, 0] < h - 0.5)
            & (p[:, 1] >= -0.5)
            & (p[:, 1] < w - 0.5)
        )

    keep_a, keep_b = on_image(a_ideal), on_image(b_pos)
    positions = np.concatenate([a_ideal[keep_a], b_pos[keep_b]])
    ideal = np.concatenate([a_ideal[keep_a], b_ideal[keep_b]])
    n_a, n_b = int(keep_a.sum()), int(keep_b.sum())
    rr, cc = np.mgrid[:h, :w]
    domain_map = _variant_of(
        (rr - origin[0]) / spacing, (cc - origin[1]) / spacing, layout, doubled
    )
    params = dict(
        shape=(h, w),
        spacing=spacing,
        displacement=displacement,
        dose=dose,
        background=background,
        doubled=bool(doubled),
        atom_size=atom_size,
        b_intensity=b_intensity,
        jitter=jitter,
    )
    descr = (
        f"PbTiO3-like perovskite along [001], {h} x {w} px at {pixel_size:.3f} A/px "
        f"(a = {spacing:g} px): {n_a} A (Pb) and {n_b} B (Ti-O) columns; B displaced "
        f"by {displacement:g} a in a flux closure, 180 and 90 degree stripes, a "
        f"non-polar{' and an antipolar' if doubled else ''} region; Poisson counts, "
        f"{dose:g} at an A column's peak."
    )
    return Bunch(
        image=image,
        clean=clean,
        positions=positions,
        ideal_positions=ideal,
        sublattice=np.repeat([0, 1], [n_a, n_b]),
        cells=np.concatenate([cells[keep_a], cells[keep_b]]),
        displacement=positions - ideal,
        variant=np.concatenate([np.full(n_a, -1), variant[keep_b]]),
        variant_names=FERROIC_VARIANTS,
        variant_vectors=_POLAR.copy(),
        domain_map=domain_map,
        vortex_core=origin + core * spacing,
        lattice_vectors=lattice_vectors("square", spacing),
        origin=origin,
        pixel_size=pixel_size,
        atom_size=atom_size,
        intensity=np.array([dose, dose * b_intensity]),
        background=dose * background,
        params=params,
        DESCR=descr,
    )
