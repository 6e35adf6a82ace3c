"""Atoms in an image: find them, refine their positions, and the bound on both.

An atomic-resolution image is read as a list of atoms: :func:`find_atoms` finds them
(a filter matched to the atom's size, then local maxima above a threshold that adapts to
the noise), :func:`refine_positions` refines every atom at once to a sub-pixel position
by fitting a 2-D Gaussian with background (a batched Levenberg–Marquardt, neighbors'
current models subtracted from each atom's patch) or by its center of mass, and
:func:`position_crlb` gives the Cramér–Rao lower bound: the smallest standard deviation
an unbiased estimate of an atom's position can have from Poisson counts.

The model of one atom is the pixel-sampled Gaussian
``b + A exp(-|r - r₀|² / (2σ²))`` (the value at each pixel's center, as
:func:`lectlib.datasets.render_atoms` draws atoms); positions are ``(row, col)`` in
pixels, pixel ``(i, j)`` sits at ``(i, j)``.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse import csgraph
from scipy.sparse.linalg import LinearOperator, cg, spsolve
from scipy.spatial import cKDTree
from sklearn.utils import Bunch

from .._validation import as_float_array, check_option, check_scalar, check_size

__all__ = ["find_atoms", "refine_positions", "position_crlb"]

#: The default detection threshold of :func:`find_atoms`, in standard deviations of the
#: noise of the filtered image: pure noise then gives almost no peak (about 0.1 in a
#: 512 × 512 image).
THRESHOLD_SNR = 5.0
#: Levenberg–Marquardt damping: the factor after an accepted and after a refused step,
#: and its bounds.
_LM_DOWN, _LM_UP, _LM_MIN, _LM_MAX = 0.3, 4.0, 1e-6, 1e12
#: The smallest width (px) a fitted atom may end with (below, it is flagged).
_SIGMA_MIN = 0.3
#: Pixels whose model is below this fraction of the patch's largest value weigh as if
#: they were at it (a floor to the Poisson weights 1/model).
_WEIGHT_FLOOR = 1e-3
#: Each atom's Gaussian is drawn into its neighbors' patches out to this many σ (where
#: it has fallen to 0.1 % of its peak, far below the noise of any image); beyond
#: its own patch, where its own pixels do not constrain its width, with a width of at
#: most ``_TAIL`` times the atoms' starting width (a noisy atom that widens would
#: otherwise push its neighbors around).
_REACH, _TAIL = 3.7, 1.25
#: Atoms closer than the patch radius plus this many σ (a neighbor then puts 14 % of
#: its height in the patch) are stepped jointly.
_COUPLE = 2.0


# ------------------------------------------------------------------------- validation


def _int_like(value, name, *, low, high=None):
    """An integer, or a float holding a whole number, within [low, high]."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    value = check_scalar(value, name, integer=True, low=low)
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    return value


def _check_image(image):
    image = as_float_array(image, "image", ndim=2)
    return image, float(np.abs(image).max())


def _check_positions(positions, shape):
    p = as_float_array(positions, "positions", allow_empty=True)
    if p.size == 0:
        p = p.reshape(0, 2)
    if p.ndim != 2 or p.shape[1:] != (2,):
        raise ValueError(
            f"positions must have shape (n_atoms, 2) of (row, col), got {p.shape}"
        )
    if p.size:
        low = p.min(axis=0)
        high = p.max(axis=0)
        if np.any(low < -0.5) or np.any(high > np.array(shape) - 0.5):
            raise ValueError(
                f"positions must lie inside the {shape[0]} × {shape[1]} image "
                f"(-0.5 to height - 0.5, -0.5 to width - 0.5), got rows "
                f"{low[0]:.4g} to {high[0]:.4g} and columns {low[1]:.4g} to "
                f"{high[1]:.4g}"
            )
    return p


# ------------------------------------------------------------------------- find_atoms


def _matched_filter(image, atom_size, half_width):
    """The amplitude of a Gaussian atom of width ``atom_size`` fitted, with a constant
    background, by least squares to the ``(2 half_width + 1)²`` window around every
    pixel; and the kernel ``h`` that computes it (``Σ h y``)."""
    x = np.arange(-half_width, half_width + 1)
    with np.errstate(over="ignore"):  # an atom far narrower than a pixel
        k = np.exp(-0.5 * (x / atom_size) ** 2)
    g = np.outer(k, k)
    mean = g.mean()
    h = g - mean
    norm = float(np.sum(h * h))  # Σ h g = Σ h²: the estimate is unbiased
    smooth = ndimage.correlate1d(image, k, axis=0, mode="reflect")
    smooth = ndimage.correlate1d(smooth, k, axis=1, mode="reflect")
    box = ndimage.uniform_filter(image, 2 * half_width + 1, mode="reflect")
    return (smooth - mean * g.size * box) / norm, h / norm


def _background_noise(image, atom_size):
    """Standard deviation and third cumulant of the pixel noise between the atoms.

    Pixels of one checkerboard color decide where the background is (the darker half
    of the image smoothed at the atom's width); the noise is measured on the pixels of
    the other color there, from differences of diagonal neighbors, so that choosing
    the dark pixels does not choose low noise."""
    white = (
        np.add.outer(np.arange(image.shape[0]), np.arange(image.shape[1])) % 2
    ) == 0
    width = max(atom_size, 1.0)
    weight = ndimage.gaussian_filter(white.astype(float), width, mode="reflect")
    smooth = ndimage.gaussian_filter(image * white, width, mode="reflect") / weight
    dark = smooth <= np.median(smooth[~white])
    y = image
    # black pixels (i, j) with black diagonal neighbors (i ± 1, j ± 1)
    centre = y[1:-1, 1:-1]
    use = (dark & ~white)[1:-1, 1:-1]
    if not np.any(use):  # an image of one or two rows or columns
        return float(np.std(y)), 0.0
    diff = (centre - y[2:, 2:]) / np.sqrt(2.0)
    variance = float(np.mean(diff[use] ** 2))
    corners = (y[:-2, :-2] + y[:-2, 2:] + y[2:, :-2] + y[2:, 2:]) / 4.0
    third = float(np.mean((centre - corners)[use] ** 3)) / (1.0 - 1.0 / 16.0)
    return np.sqrt(variance), third


def _suppress_ties(coords, values, min_distance):
    """Which peaks to keep so that none is within ``min_distance`` (Chebyshev) of a
    stronger one, or of an equal one listed earlier (a flat top gives several pixels
    with the same value)."""
    if len(coords) < 2:
        return np.ones(len(coords), bool)
    pairs = cKDTree(coords).query_pairs(min_distance, p=np.inf, output_type="ndarray")
    keep = np.ones(len(coords), bool)
    if len(pairs):
        # strongest first (equal values: reading order); a loop over the few peaks
        # that have a neighbor too close
        involved = np.unique(pairs)
        rank = np.empty(len(coords), np.intp)
        rank[np.lexsort((np.arange(len(coords)), -values))] = np.arange(len(coords))
        neighbors = {int(i): [] for i in involved}
        for i, j in pairs:
            neighbors[int(i)].append(int(j))
            neighbors[int(j)].append(int(i))
        for i in involved[np.argsort(rank[involved])]:
            if keep[i]:
                keep[neighbors[int(i)]] = False
    return keep


def find_atoms(
    image,
    *,
    min_distance,
    threshold=None,
    refine="gaussian",
    atom_size=None,
    exclude_border=True,
    max_atoms=None,
):
    """Find the atoms of an image: matched filter, local maxima, sub-pixel refinement.

    Parameters
    ----------
    image : array_like of shape (height, width)
        Bright atoms on a darker background (counts or any linear scale).
    min_distance : int
        The smallest distance between two atoms, in pixels (≥ 1): a peak is the largest
        value of the filtered image in the ``(2 min_distance + 1)²`` square around it.
        About half the nearest-neighbor distance is a good choice.
    threshold : float, optional
        The smallest height of an atom above the local background, in image units, as
        measured by the matched filter (an isolated atom of width ``atom_size`` and
        height ``A`` gives ``A``). Default: 5 (``THRESHOLD_SNR``) standard
        deviations of the filtered image's noise, estimated from the image itself.
    refine : {"gaussian", "com", None}, default="gaussian"
        How the peaks' pixels are refined to sub-pixel positions
        (:func:`refine_positions`); ``None`` returns the pixels.
    atom_size : float, optional
        The atom's standard deviation in pixels, the width of the matched filter and
        the start of the Gaussian fit's width. Default ``min_distance / 3``.
    exclude_border : bool, default=True
        Drop peaks within ``min_distance`` pixels of the image's edge.
    max_atoms : int, optional
        Keep at most this many atoms, the strongest peaks.

    Returns
    -------
    positions : ndarray of shape (n_atoms, 2)
        ``(row, col)`` of every atom, in pixels, sorted by row, then by column
        (``numpy.lexsort`` order of the returned values); shape ``(0, 2)`` when there is
        no atom.

    See Also
    --------
    refine_positions : the sub-pixel refinement alone, from given positions, with
        every atom's width, amplitude, background and convergence.
    position_crlb : the best precision any position estimate can reach.
    lectlib.datasets.render_atoms : images of atoms at known positions.

    Notes
    -----
    At low dose a single atom is a few counts above a noisy background, invisible to
    the eye before smoothing. The filter matched to it is the least-squares fit of a
    Gaussian of width ``atom_size`` plus a constant background to the
    ``(2w + 1)²`` window around every pixel, ``w = max(min_distance, ⌈3 atom_size⌉)``:
    a correlation with the kernel ``h = g - mean(g)`` (normalized), which adds up the
    atom's counts with the weights that maximize its signal-to-noise ratio and removes
    any background that is smooth over the window. Its value is the height of an atom
    centered there, which is what ``threshold`` is compared with. A pixel is a peak if
    it is the largest of its ``(2 min_distance + 1)²`` square and above the threshold;
    of peaks closer than ``min_distance`` (equal maxima of a flat top, or two peaks
    that refine onto one atom, closer than ``min_distance / 2``) the strongest stays.

    The default threshold adapts to the noise. The pixels of one color of a
    checkerboard pick the background (the darker half of the image smoothed at the
    atom's width, between the atoms); on the pixels of the other color there, the
    differences of diagonal neighbors give the noise's variance and third cumulant,
    free of the atoms and of the bias that picking dark pixels by their own noise would
    cause. Carried through the filter, they give the noise of the filtered image; the
    threshold is 5 (``THRESHOLD_SNR``) of its standard deviations, raised for the
    skewness of Poisson counts at low dose (the Cornish–Fisher correction of the
    quantile). Pure noise then passes about once in ten 512 × 512 images, whether it is
    Gaussian or Poisson with a fraction of a count per pixel. Whatever the threshold, a
    peak must exceed 10⁻⁹ of the image's largest magnitude, so a flat image has no
    atom.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.crystallography import find_atoms
    >>> from lectlib.datasets import render_atoms
    >>> truth = np.array([[8.3, 8.6], [8.0, 20.2], [19.7, 13.4]])
    >>> image = render_atoms((28, 28), truth, atom_size=1.5)
    >>> find_atoms(image, min_distance=4).round(1)
    array([[ 8. , 20.2],
           [ 8.3,  8.6],
           [19.7, 13.4]])
    >>> find_atoms(np.ones((28, 28)), min_distance=4).shape
    (0, 2)
    """
    image, scale = _check_image(image)
    md = _int_like(min_distance, "min_distance", low=1, high=max(image.shape))
    check_option(refine, "refine", ("gaussian", "com", None))
    if atom_size is None:
        atom_size = md / 3.0
    atom_size = check_scalar(
        atom_size, "atom_size", low=0.0, low_inclusive=False, high=max(image.shape)
    )
    if threshold is not None:
        threshold = check_scalar(threshold, "threshold", low=0.0)
    if not isinstance(exclude_border, (bool, np.bool_)):
        raise TypeError(f"exclude_border must be True or False, got {exclude_border!r}")
    if max_atoms is not None:
        max_atoms = _int_like(max_atoms, "max_atoms", low=1)
    empty = np.zeros((0, 2))
    if scale == 0.0:
        return empty
    work = image / scale  # values within [-1, 1]: no underflow, no overflow
    half_width = max(md, int(np.ceil(3 * atom_size)))
    filtered, kernel = _matched_filter(work, atom_size, half_width)
    if threshold is None:
        noise, third = _background_noise(work, atom_size)
        spread = noise * np.sqrt(np.sum(kernel**2))
        # the noise's skewness (Poisson counts at low dose) fattens the upper tail:
        # Cornish–Fisher correction of the quantile
        skew = third * np.sum(kernel**3) / max(spread, 1e-300) ** 3 if noise else 0.0
        z = THRESHOLD_SNR + (THRESHOLD_SNR**2 - 1) / 6 * max(skew, 0.0)
        level = z * spread
    else:
        level = threshold / scale
    level = max(level, 1e-9)
    size = 2 * md + 1
    is_peak = filtered == ndimage.maximum_filter(filtered, size=size, mode="nearest")
    is_peak &= filtered > level
    if exclude_border:
        is_peak[:md] = is_peak[-md:] = False
        is_peak[:, :md] = is_peak[:, -md:] = False
    coords = np.argwhere(is_peak)
    values = filtered[is_peak]
    keep = _suppress_ties(coords, values, md)
    coords, values = coords[keep], values[keep]
    if max_atoms is not None and len(coords) > max_atoms:
        strongest = np.sort(np.argsort(-values, kind="stable")[:max_atoms])
        coords, values = coords[strongest], values[strongest]
    if not len(coords):
        return empty
    positions = coords.astype(float)
    if refine is not None:
        positions = refine_positions(
            image, positions, method=refine, sigma=atom_size
        ).positions
        # two peaks refined onto one atom (a noise peak beside it): keep the stronger
        keep = _suppress_ties(positions, values, md / 2)
        positions = positions[keep]
    return positions[np.lexsort((positions[:, 1], positions[:, 0]))]


# -------------------------------------------------------------------- refine_positions


def _disk_offsets(radius):
    """Integer offsets (K, 2) within ``radius`` of (0, 0)."""
    r = int(np.floor(radius))
    d = np.arange(-r, r + 1)
    dr, dc = np.meshgrid(d, d, indexing="ij")
    inside = dr**2 + dc**2 <= radius**2 + 1e-9
    return np.stack([dr[inside], dc[inside]], axis=1).astype(float)


class _Patches:
    """The pixels within ``radius`` of each atom's starting pixel, as (n, K) arrays."""

    def __init__(self, image, centers, radius, offsets=None):
        h, w = image.shape
        self.offsets = _disk_offsets(radius) if offsets is None else offsets  # (K, 2)
        check_size(len(centers) * len(self.offsets) * 8, "the atoms' patches")
        rows = centers[:, :1] + self.offsets[:, 0]  # (n, K)
        cols = centers[:, 1:] + self.offsets[:, 1]
        self.mask = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        self.maskf = self.mask.astype(float)
        rows_i = np.clip(rows, 0, h - 1).astype(np.intp)
        cols_i = np.clip(cols, 0, w - 1).astype(np.intp)
        self.flat = rows_i * w + cols_i
        self.rows, self.cols, self.centers = rows, cols, centers
        self.size = h * w
        self.data = np.where(self.mask, image.ravel()[self.flat], 0.0)


def _cost(model, data, weights_floor, poisson, mask):
    """Per-atom objective: Poisson negative log-likelihood (up to a constant) or the
    sum of squares."""
    if poisson:
        mu = np.maximum(model, weights_floor)
        return np.sum(mask * (mu - data * np.log(mu)), axis=1)
    return np.sum(mask * (data - model) ** 2, axis=1)


def _linear_amplitudes(g, data, mask):
    """Per atom, A and b of data ≈ b + A g by least squares (n,), (n,)."""
    m = mask.astype(float)
    s1, sg, sgg = m.sum(1), (m * g).sum(1), (m * g * g).sum(1)
    sy, sgy = (m * data).sum(1), (m * g * data).sum(1)
    det = s1 * sgg - sg**2
    ok = det > 1e-12 * np.maximum(s1 * sgg, 1e-300)
    det = np.where(ok, det, 1.0)
    amp = np.where(ok, (s1 * sgy - sg * sy) / det, 0.0)
    bg = np.where(ok, (sgg * sy - sg * sgy) / det, sy / np.maximum(s1, 1.0))
    return amp, bg


def _starting_heights(image, centers, params, reach):
    """Starting amplitudes and background: with the positions and widths held, the
    least-squares fit of ``b + Σ_j A_j g_j`` to the pixels within ``reach`` of any
    atom (one background; a sparse linear system in the ``n + 1`` unknowns, so that
    atoms whose tails overlap share the intensity between them from the start)."""
    n = len(params)
    pixels = _Patches(image, centers, reach)
    d2 = (pixels.rows - params[:, :1]) ** 2 + (pixels.cols - params[:, 1:2]) ** 2
    g = np.exp(-0.5 * d2 / params[:, 3:4] ** 2)[pixels.mask]
    atom = np.broadcast_to(np.arange(n)[:, None], pixels.mask.shape)[pixels.mask]
    used, pixel = np.unique(pixels.flat[pixels.mask], return_inverse=True)
    design = sparse.csr_matrix((g, (pixel, atom)), shape=(len(used), n))
    y = image.ravel()[used]
    gram = (design.T @ design).tocoo()
    border = np.asarray(design.sum(axis=0)).ravel()
    diag = gram.diagonal()
    ridge = 1e-9 * (diag.max() if n else 1.0)
    rows = np.concatenate([gram.row, np.full(n, n), np.arange(n), [n]])
    cols = np.concatenate([gram.col, np.arange(n), np.full(n, n), [n]])
    values = np.concatenate([gram.data, border, border, [len(used)]])
    system = sparse.csc_matrix((values, (rows, cols)), shape=(n + 1, n + 1))
    system = system + ridge * sparse.identity(n + 1, format="csc")
    rhs = np.concatenate([design.T @ y, [y.sum()]])
    inverse_diagonal = 1.0 / system.diagonal()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # conjugate gradients (the system is positive definite), Jacobi-preconditioned
        solution, info = cg(
            system.tocsr(),
            rhs,
            rtol=1e-6,  # a start: the fit refines every height
            maxiter=10 * (n + 1),
            M=LinearOperator((n + 1, n + 1), matvec=lambda x: inverse_diagonal * x),
        )
        if info != 0:
            solution = spsolve(system, rhs)
    if not np.all(np.isfinite(solution)):
        solution = np.zeros(n + 1)
        solution[n] = np.median(y) if len(y) else 0.0
    amplitude, background = solution[:n], np.full(n, solution[n])
    spread = np.abs(y).max() if len(y) else 1.0
    amplitude = np.maximum(amplitude, 1e-3 * spread + 1e-12)
    return amplitude, background


def _moments(patches, centers, background):
    """Center of mass, second-moment width and integrated intensity of each patch's
    background-subtracted, clipped intensity."""
    w = np.where(patches.mask, np.clip(patches.data - background[:, None], 0, None), 0)
    total = w.sum(axis=1)
    safe = np.where(total > 0, total, 1.0)
    mean = (w @ patches.offsets) / safe[:, None]
    d2 = ((patches.offsets[None] - mean[:, None]) ** 2).sum(-1)
    var = (w * d2).sum(axis=1) / (2 * safe)
    com = centers + np.where(total[:, None] > 0, mean, 0.0)
    return com, np.sqrt(var), total


def _estimate_width(image, positions, radius=None):
    """The atoms' common width (px): the Gaussian whose least-squares fit (amplitude
    and background free, at the starting pixels) leaves the smallest residual over all
    atoms, among 40 widths from 0.4 px to half the patch's radius (half the median
    nearest-neighbor distance, at least 4 px)."""
    if radius is None:
        radius = 5.0
        if len(positions) > 1:
            nn = cKDTree(positions).query(positions, k=2)[0][:, 1]
            radius = float(np.median(nn)) / 2
        radius = float(np.clip(radius, 4.0, max(image.shape)))
    patches = _Patches(image, np.round(positions), radius)
    m = patches.mask.astype(float)
    y = m * patches.data
    s1, sy, syy = m.sum(1), y.sum(1), (y * patches.data).sum(1)
    d2 = (patches.offsets**2).sum(1)
    best, best_sse = 1.0, np.inf
    for width in np.geomspace(0.4, max(radius / 2, 0.5), 40):
        g = np.exp(-0.5 * d2 / width**2)
        sg, sgg, sgy = m @ g, m @ g**2, y @ g
        det = s1 * sgg - sg**2
        ok = det > 1e-9 * np.maximum(s1 * sgg, 1e-300)
        det = np.where(ok, det, 1.0)
        amp = np.where(ok, (s1 * sgy - sg * sy) / det, 0.0)
        bg = np.where(ok, (sgg * sy - sg * sgy) / det, sy / np.maximum(s1, 1.0))
        sse = float(np.sum(syy - amp * sgy - bg * sy))  # least-squares residual
        if sse < best_sse:
            best, best_sse = float(width), sse
    return best


def _rim_background(image, centers, radius):
    """Median of the ring of pixels just outside each patch (``radius`` to
    ``radius + 1.5``)."""
    ring = _disk_offsets(radius + 1.5)
    ring = ring[np.hypot(*ring.T) > radius]
    pixels = _Patches(image, centers, radius, ring)
    values = np.where(pixels.mask, pixels.data, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ring wholly outside the image
        background = np.nanmedian(values, axis=1)
    return np.where(np.isfinite(background), background, 0.0)


def _com(image, positions, radius, max_iter, tol, shared):
    """Iterated center of mass in a disk that follows it, one pixel at a time; each
    pass subtracts the median of the ring around the disk."""
    h, w = image.shape
    com = positions.copy()
    centers = np.round(com)
    converged = np.zeros(len(positions), bool)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        patches = _Patches(image, centers, radius)
        background = _rim_background(image, centers, radius)
        if shared:
            background = np.full(len(background), np.median(background))
        new, width, total = _moments(patches, centers, background)
        new = np.where(total[:, None] > 0, new, positions)
        new[:, 0] = np.clip(new[:, 0], -0.5, h - 0.5)
        new[:, 1] = np.clip(new[:, 1], -0.5, w - 0.5)
        converged = (np.abs(new - com).max(axis=1) < tol) & (total > 0)
        com = new
        centers = np.clip(np.round(com), 0, [h - 1, w - 1])
        if np.all(converged):
            break
    width = np.clip(width, _SIGMA_MIN, None)
    amplitude = total / (2 * np.pi * width**2)
    return com, width, amplitude, background, converged, n_iter


def _derivatives(params, rows, cols):
    """An atom's Gaussian ``g`` on the given pixels (m, K), the derivatives of
    ``A g`` with respect to (row, col, A, σ) (m, K, 4), and dr, dc, d²."""
    dr = rows - params[:, :1]
    dc = cols - params[:, 1:2]
    d2 = dr**2 + dc**2
    sig = params[:, 3:4]
    g = np.exp(-0.5 * d2 / sig**2)
    ag = params[:, 2:3] * g / sig**2
    return g, np.stack([ag * dr, ag * dc, g, ag * d2 / sig], axis=2), dr, dc, d2


def _second_derivatives(e, g, dr, dc, d2, params):
    """Σ_k e_k ∂²(A g_k)/∂θ∂θᵀ (m, 4, 4) for θ = (row, col, A, σ)."""
    s2 = params[:, 3:4] ** 2
    sig3 = (s2 * params[:, 3:4])[:, 0]
    a = params[:, 2]
    eg = e * g
    q = d2 / s2
    terms = {
        (0, 0): a * (eg * (dr**2 / s2 - 1)).sum(1) / s2[:, 0],
        (1, 1): a * (eg * (dc**2 / s2 - 1)).sum(1) / s2[:, 0],
        (0, 1): a * (eg * dr * dc).sum(1) / s2[:, 0] ** 2,
        (0, 2): (eg * dr).sum(1) / s2[:, 0],
        (1, 2): (eg * dc).sum(1) / s2[:, 0],
        (0, 3): a * (eg * dr * (q - 2)).sum(1) / sig3,
        (1, 3): a * (eg * dc * (q - 2)).sum(1) / sig3,
        (2, 3): (eg * d2).sum(1) / sig3,
        (3, 3): a * (eg * q * (q - 3)).sum(1) / s2[:, 0],
    }
    out = np.zeros((len(e), 4, 4))
    for (i, j), v in terms.items():
        out[:, i, j] = out[:, j, i] = v
    return out


def _solve(matrices, vectors):
    """Batched solve of (m, 5, 5) systems; a singular one (a degenerate fit) gets its
    least-norm solution instead of stopping the batch."""
    try:
        return np.linalg.solve(matrices, vectors[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.einsum("mij,mj->mi", np.linalg.pinv(matrices), vectors)


def _inverse(matrices):
    """Batched inverse of (m, 5, 5) matrices (pseudo-inverse if one is singular)."""
    try:
        return np.linalg.inv(matrices)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(matrices)


def _weighted_gram(a, w, b):
    """Σ_k a_k w_k b_kᵀ for every row: (m, K, p), (m, K), (m, K, q) -> (m, p, q)."""
    return np.matmul((a * w[..., None]).transpose(0, 2, 1), b)


class _GaussianFit:
    """The objective and the damped Newton steps of the batched Gaussian fit.

    Atom i is fitted on its patch P_i (the pixels within ``radius`` of its starting
    pixel) with the model ``b_i + Σ_j A_j g_j``: its own Gaussian and background plus
    the other atoms' Gaussians, each drawn out to ``reach`` from its starting pixel
    (``fixed``, an image of the atoms no longer fitted, is added too). The objective is
    the sum of the patches' costs (Poisson negative log-likelihood or squares). Atoms
    closer than ``radius + couple`` are coupled: their 5 × 5 normal equations and the
    blocks between them form one sparse system, and their steps are judged together
    (``labels``: the connected clusters); every other atom has its own 5 × 5 system,
    solved in one batched call.
    """

    def __init__(
        self,
        image,
        centers,
        radius,
        reach,
        couple,
        *,
        poisson,
        subtract,
        fixed,
        tail_width,
    ):
        self.poisson, self.radius, self.centers = poisson, radius, centers
        self.tail_width = tail_width
        n = len(centers)
        self.patch = _Patches(image, centers, radius)
        self.rows, self.cols = self.patch.rows, self.patch.cols
        self.mask, self.data = self.patch.maskf, self.patch.data
        largest = np.abs(self.data).max(axis=1)
        self.floor = _WEIGHT_FLOOR * np.maximum(largest, 1e-300)[:, None]
        self.fixed = None
        if subtract and fixed is not None:
            self.fixed = fixed[self.patch.flat] * self.mask
        tree = cKDTree(centers) if subtract and n > 1 else None
        # atoms whose drawn Gaussian reaches another atom's patch
        near = (
            tree.query_pairs(radius + max(reach, radius), output_type="ndarray")
            if tree is not None
            else np.zeros((0, 2), np.intp)
        )
        self.subtract = len(near) > 0
        if self.subtract:  # their Gaussians are drawn beyond the patch, out to reach
            self.drawn = np.unique(near)
            wide = _disk_offsets(max(reach, radius))
            ring = wide[np.hypot(*wide.T) > radius + 1e-9]
            self.ring = _Patches(image, centers[self.drawn], radius, ring)
        pairs = np.zeros((0, 2), np.intp)
        if tree is not None:
            p = tree.query_pairs(radius + couple, output_type="ndarray")
            pairs = np.concatenate([p, p[:, ::-1]]).astype(np.intp)
        self.pairs = pairs
        self.coupled = np.zeros(n, bool)
        self.coupled[pairs[:, 0]] = True
        # pairs of pairs (i, j), (i, l) with j ≠ l: two neighbors in one patch
        order = np.argsort(pairs[:, 0], kind="stable")
        owner = pairs[order, 0]
        counts = np.bincount(owner, minlength=n)
        size = counts[owner]  # for each pair (sorted by owner): its owner's pairs
        start = (np.cumsum(counts) - counts)[owner]
        a = np.repeat(np.arange(len(order)), size)
        b = (
            np.repeat(start, size)
            + np.arange(len(a))
            - np.repeat(np.cumsum(size) - size, size)
        )
        keep = a != b
        self.triples = np.stack([order[a[keep]], order[b[keep]]], axis=1).astype(
            np.intp
        )
        # clusters of coupled atoms: a step is judged on each cluster's whole cost
        graph = sparse.coo_matrix(
            (np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
        )
        self.n_clusters, self.labels = csgraph.connected_components(graph)

    def by_cluster(self, values):
        """Per-atom values summed over each atom's cluster, back on the atoms."""
        total = np.bincount(self.labels, weights=values, minlength=self.n_clusters)
        return total[self.labels]

    def evaluate(self, params, full=True, current=None):
        """Per-atom cost, and (``full``) what the normal equations need.

        The other atoms' Gaussians are drawn from ``params``; or, given the
        ``current`` state's parameters and Gaussians, from them for the atoms that
        are not coupled (a trial step is judged atom by atom)."""
        dr = self.rows - params[:, :1]
        dc = self.cols - params[:, 1:2]
        d2 = dr**2 + dc**2
        sig = params[:, 3:4]
        g = np.exp(-0.5 * d2 / sig**2)
        own = params[:, 2:3] * g
        model = params[:, 4:5] + own
        if self.fixed is not None:
            model += self.fixed
        rings = None
        if self.subtract:  # the patch's model includes the other atoms' Gaussians
            ring = self.ring
            q = params[self.drawn]
            d2_ring = (ring.rows - q[:, :1]) ** 2 + (ring.cols - q[:, 1:2]) ** 2
            tail = np.minimum(q[:, 3:4], self.tail_width)
            rings = q[:, 2:3] * np.exp(-0.5 * d2_ring / tail**2)
            drawn, drawn_rings = own, rings
            if current is not None:
                keep = self.coupled[:, None]
                drawn = np.where(keep, own, current[1])
                drawn_rings = np.where(keep[self.drawn], rings, current[2])
            total = np.bincount(
                self.patch.flat.ravel(),
                weights=(drawn * self.mask).ravel(),
                minlength=self.patch.size,
            )
            total += np.bincount(
                ring.flat.ravel(),
                weights=(drawn_rings * ring.maskf).ravel(),
                minlength=ring.size,
            )
            model += (total[self.patch.flat] - drawn) * self.mask
        cost = _cost(model, self.data, self.floor, self.poisson, self.mask)
        if not full:
            return cost, None
        ag = own / sig**2
        jac = np.stack([ag * dr, ag * dc, g, ag * d2 / sig, np.ones_like(g)], axis=2)
        return cost, (model, g, jac, dr, dc, d2, own, rings)

    def normal_equations(self, params, state, newton):
        """Gradient (n, 5), the Fisher and the observed information (n, 5, 5) of
        every atom, and the blocks between coupled atoms: ``(pair, shared)``, the
        blocks (P, 5, 4) between an atom and a neighbor in its patch, and those
        (T, 4, 4) between two neighbors in one patch (Fisher information only: a
        coupled cluster takes the Fisher step in both variants)."""
        model, g, jac, dr, dc, d2 = state[:6]
        mask, data = self.mask, self.data
        if self.poisson:
            mu = np.maximum(model, self.floor)
            weight = mask / mu  # Fisher information's weights
            curv = mask * data / mu**2  # the observed information's
            resid = mask * (1.0 - data / mu)  # d cost / d model
        else:
            weight = curv = mask
            resid = mask * (model - data)
        grad = -np.einsum("nkp,nk->np", jac, resid)
        fisher = _weighted_gram(jac, weight, jac)
        observed = None
        if newton:
            observed = _weighted_gram(jac, curv, jac)
            observed[:, :4, :4] += _second_derivatives(resid, g, dr, dc, d2, params)
        cross = None
        if len(self.pairs):
            i, j = self.pairs.T
            jac_ij = _derivatives(params[j], self.rows[i], self.cols[i])[1]
            np.add.at(grad[:, :4], j, -np.einsum("pkx,pk->px", jac_ij, resid[i]))
            np.add.at(fisher[:, :4, :4], j, _weighted_gram(jac_ij, weight[i], jac_ij))
            pair = _weighted_gram(jac[i], weight[i], jac_ij)
            shared = np.empty((len(self.triples), 4, 4))
            for start in range(0, len(self.triples), 4096):  # a few MB at a time
                a, b = self.triples[start : start + 4096].T
                shared[start : start + 4096] = _weighted_gram(
                    jac_ij[a], weight[i[a]], jac_ij[b]
                )
            cross = (pair, shared)
        return grad, fisher, observed, cross

    def solve(self, grad, matrix, cross, damping, coupled_step=None):
        """The damped steps: batched 5 × 5 solves, one sparse solve for the coupled
        atoms (with the Fisher information's blocks ``cross`` between them), unless
        their ``coupled_step`` is given."""
        n = len(grad)
        damped = matrix + damping[:, :, None] * np.eye(5)
        step = np.zeros((n, 5))
        free = ~self.coupled
        if free.any():
            step[free] = _solve(damped[free], grad[free])
        if coupled_step is not None:
            step[self.coupled] = coupled_step[self.coupled]
        elif self.coupled.any():
            idx = np.flatnonzero(self.coupled)
            local = np.full(n, -1)
            local[idx] = np.arange(len(idx))
            pair, shared = cross
            i, j = self.pairs.T
            a, b = self.triples.T
            blocks = [  # (first row, first column, values)
                (5 * local[idx], 5 * local[idx], damped[idx]),
                (5 * local[i], 5 * local[j], pair),
                (5 * local[j], 5 * local[i], pair.transpose(0, 2, 1)),
                (5 * local[j[a]], 5 * local[j[b]], shared),
            ]
            rows, cols, vals = [], [], []
            for row, col, value in blocks:
                r, c = value.shape[1:]
                rows.append(np.broadcast_to(row[:, None, None] + np.arange(r)[:, None],
                                            value.shape).ravel())  # fmt: skip
                cols.append(np.broadcast_to(col[:, None, None] + np.arange(c)[None, :],
                                            value.shape).ravel())  # fmt: skip
                vals.append(value.ravel())
            size = 5 * len(idx)
            system = sparse.coo_matrix(
                (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                shape=(size, size),
            ).tocsc()
            rhs = grad[idx].ravel()
            m = len(idx)
            blocks = _inverse(damped[idx])

            def precondition(x):
                return np.einsum("mij,mj->mi", blocks, x.reshape(m, 5)).ravel()

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # conjugate gradients, preconditioned with each atom's own block: the
                # damped Fisher information is positive definite
                joint, info = cg(
                    system.tocsr(),
                    rhs,
                    rtol=1e-8,
                    maxiter=20 * 5 * m,
                    M=LinearOperator((5 * m, 5 * m), matvec=precondition),
                )
                if info != 0 or not np.all(np.isfinite(joint)):
                    joint = spsolve(system, rhs)
            step[idx] = np.reshape(joint, (len(idx), 5))
        return step

    def valid(self, trial):
        offset = np.hypot(*(trial[:, :2] - self.centers).T)
        return (
            np.all(np.isfinite(trial), axis=1)
            & (trial[:, 3] > 0.5 * _SIGMA_MIN)
            & (trial[:, 3] < 2 * self.radius)
            & (offset <= self.radius)
        )


def _draw(image, centers, params, radius, reach, tail_width):
    """The atoms' Gaussians drawn into one flattened image: within ``radius`` of
    their starting pixel with their width, beyond it (out to ``reach``) with at most
    ``tail_width``."""
    pixels = _Patches(image, centers, reach)
    d2 = (pixels.rows - params[:, :1]) ** 2 + (pixels.cols - params[:, 1:2]) ** 2
    outside = np.hypot(*pixels.offsets.T) > radius + 1e-9
    sig = np.where(outside, np.minimum(params[:, 3:4], tail_width), params[:, 3:4])
    values = params[:, 2:3] * np.exp(-0.5 * d2 / sig**2) * pixels.maskf
    return np.bincount(
        pixels.flat.ravel(), weights=values.ravel(), minlength=image.size
    )


def _clip_steps(step, params):
    """Steps shortened, atom by atom, to move an atom by at most 1 px and change its
    width by at most half: a nearly undetermined atom (a faint one, or one at the
    edge) would otherwise throw its whole cluster far off and get the step refused."""
    move = np.abs(step[:, :2]).max(axis=1)
    widen = np.abs(step[:, 3]) / (0.5 * params[:, 3])
    factor = 1.0 / np.maximum(1.0, np.maximum(move, widen))
    factor = np.where(np.isfinite(factor), factor, 0.0)
    return np.where(np.isfinite(step), step, 0.0) * factor[:, None]


def _lm_step(fit, params, cost, state, lam, newton, shared):
    """One Levenberg–Marquardt iteration of every atom of ``fit``: a Fisher-scoring
    step and a Newton step are tried and, per cluster of coupled atoms (a lone atom
    is a cluster of one), the one that lowers the cost of its patches most is kept (or
    none, and its damping is raised). Coupled atoms are stepped together; every other
    neighbor stays at its current value while a cluster's trial is judged. With a
    ``shared`` background the atoms' backgrounds stay put."""
    n = len(params)
    grad, fisher, observed, cross = fit.normal_equations(params, state, newton)
    if shared:  # no step along b: zero its gradient, a unit row and column
        grad[:, 4] = 0.0
        for matrix in (fisher, observed):
            if matrix is not None:
                matrix[:, 4, :] = matrix[:, :, 4] = 0.0
                matrix[:, 4, 4] = 1.0
        if cross is not None:
            cross[0][:, 4, :] = 0.0
    diag = np.diagonal(fisher, axis1=1, axis2=2)
    damping = lam[:, None] * diag + 1e-12 * diag.max(1, keepdims=True) + 1e-300
    best = np.full(n, np.inf)
    best_params, best_step = params.copy(), np.zeros((n, 5))
    current = (params, state[6], state[7])
    variants = [fisher] + ([observed] if newton else [])
    first_step = None  # the Fisher step, which coupled clusters take in both variants
    for matrix in variants:
        step = _clip_steps(fit.solve(grad, matrix, cross, damping, first_step), params)
        trial = params + step
        ok = fit.valid(trial)
        trial = np.where(ok[:, None], trial, params)
        trial_cost = fit.evaluate(trial, full=False, current=current)[0]
        trial_cost = fit.by_cluster(np.where(ok, trial_cost, np.inf))
        take = trial_cost < best
        best = np.where(take, trial_cost, best)
        best_params = np.where(take[:, None], trial, best_params)
        best_step = np.where(take[:, None], step, best_step)
        if first_step is None:
            first_step = step
    better = best <= fit.by_cluster(cost)
    params = np.where(better[:, None], best_params, params)
    lam = np.clip(np.where(better, lam * _LM_DOWN, lam * _LM_UP), _LM_MIN, _LM_MAX)
    step = np.where(better[:, None], best_step, first_step)
    return params, lam, step


def _lm(
    make_fit,
    image,
    centers,
    params,
    *,
    max_iter,
    tol,
    radius,
    reach,
    tail_width,
    shared=False,
    newton=False,
):
    """Levenberg–Marquardt on all atoms at once, with a damping per atom.

    Each iteration takes a Fisher-scoring step (the expected information, always
    positive definite); with ``newton`` it also tries a Newton step (the observed
    information) and keeps whichever lowers the cost more, which saves iterations
    only far from the optimum and costs a second trial evaluation every time.

    An atom whose step moved it by less than ``tol`` has converged: it leaves the fit
    (its Gaussian joins a fixed image the remaining atoms' patches include), so the
    iterations that only a few slow atoms need cost little. A ``shared`` background
    takes a Newton step of its own before each step of the atoms."""
    n = len(params)
    params = params.copy()
    lam = np.full(n, 1e-3)
    converged = np.zeros(n, bool)
    active = np.arange(n)
    fixed = None
    fit = make_fit(active, fixed)
    cost, state = fit.evaluate(params)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        if shared:
            params[active], cost, state = _background_step(
                fit, params[active], cost, state
            )
        q, lam_q, step = _lm_step(
            fit, params[active], cost, state, lam[active], newton, shared
        )
        params[active], lam[active] = q, lam_q
        done = np.all(np.abs(step[:, :2]) < tol, axis=1)
        done = fit.by_cluster(~done) == 0  # a cluster is done when all its atoms are
        if done.all():
            converged[active] = True
            break
        if done.sum() >= max(1, len(active) // 8):  # refit the others alone
            leaving = active[done]
            converged[leaving] = True
            drawn = _draw(
                image, centers[leaving], params[leaving], radius, reach, tail_width
            )
            fixed = drawn if fixed is None else fixed + drawn
            active = active[~done]
            fit = make_fit(active, fixed)
        cost, state = fit.evaluate(params[active])
    if shared:
        params[:, 4] = params[active[0] if len(active) else 0, 4]
    return params, converged, n_iter


def _background_step(fit, params, cost, state):
    """A Newton step of the background shared by all atoms (halved until the total
    cost falls; none if it does not)."""
    model, mask, data = state[0], fit.mask, fit.data
    if fit.poisson:
        mu = np.maximum(model, fit.floor)
        slope = np.sum(mask * (1.0 - data / mu))
        curvature = np.sum(mask * data / mu**2)
        if not curvature > 0:
            curvature = np.sum(mask / mu)
    else:
        slope, curvature = np.sum(mask * (model - data)), np.sum(mask)
    if not curvature > 0:
        return params, cost, state
    delta = -slope / curvature
    for factor in (1.0, 0.5, 0.25):
        trial = params.copy()
        trial[:, 4] += factor * delta
        new_cost, new_state = fit.evaluate(trial)
        if np.sum(new_cost) <= np.sum(cost):
            return trial, new_cost, new_state
    return params, cost, state


def refine_positions(
    image,
    positions,
    *,
    method="gaussian",
    sigma=None,
    radius=None,
    max_iter=30,
    tol=1e-4,
    noise="poisson",
    background="local",
    subtract_neighbors=True,
):
    """Refine atoms' positions to sub-pixel precision, all atoms at once.

    Parameters
    ----------
    image : array_like of shape (height, width)
        Bright atoms on a darker background.
    positions : array_like of shape (n_atoms, 2)
        Starting ``(row, col)`` of every atom, inside the image (e.g. from
        :func:`find_atoms` with ``refine=None``): each atom is fitted on the pixels
        within ``radius`` of its starting pixel (the nearest pixel).
    method : {"gaussian", "com"}, default="gaussian"
        ``"gaussian"``: fit ``b + A exp(-|r - r₀|²/(2σ²))`` to every atom (5
        parameters each). ``"com"``: the intensity-weighted center of mass of the
        background-subtracted patch, iterated while its disk follows it.
    sigma : float or array_like of shape (n_atoms,), optional
        The atoms' width (standard deviation, px) to start from. Default: the one
        width that fits all atoms best (least squares over a grid of widths, at the
        starting pixels).
    radius : float, optional
        Radius of each atom's patch in pixels (≥ 1). Default ``3 σ`` (at least 2).
    max_iter : int, default=30
        Most iterations.
    tol : float, default=1e-4
        An atom has converged when a step moves it by less than ``tol`` pixels along
        both axes.
    noise : {"poisson", "gaussian"}, default="poisson"
        ``"poisson"``: the maximum-likelihood fit for counts (weights ``1 / model``;
        the image may be scaled, e.g. divided by the dose). ``"gaussian"``:
        unweighted least squares, for noise of one variance everywhere.
    background : {"local", "global"}, default="local"
        ``"local"``: every atom has its own constant background, which follows a
        background that varies across the image. ``"global"``: one background for the
        whole image (the model of StatSTEM), better posed for broad atoms in a dense
        lattice, where local backgrounds and the neighbors' tails can trade places.
    subtract_neighbors : bool, default=True
        Include the other atoms' current Gaussians in each patch's model. ``False``
        fits every atom alone: overlapping atoms then pull each other.

    Returns
    -------
    result : sklearn.utils.Bunch
        ``positions`` (n_atoms, 2); ``sigma`` (n_atoms,), the width in px;
        ``amplitude`` (n_atoms,), the peak height above the background, and
        ``background`` (n_atoms,), both in image units; ``converged`` (n_atoms,)
        bool; ``n_iter``, the iterations run. For ``"com"``, ``sigma`` is the
        background-subtracted patch's second-moment width, ``amplitude`` its summed
        intensity over ``2πσ²`` (estimates, truncated by the patch), and
        ``background`` the median of the ring of pixels around the patch (from
        ``radius`` to ``radius + 1.5``), subtracted before the center of mass.

    See Also
    --------
    find_atoms : finds the atoms first, then calls this function.
    position_crlb : the bound the Gaussian fit's error is compared with.

    Notes
    -----
    All atoms are fitted together, with no loop over atoms: the parameters are an
    ``(n_atoms, 5)`` array ``(row, col, A, σ, b)``, the patches ``(n_atoms, K)``
    arrays of the ``K`` pixels within ``radius``, and every iteration solves all the
    damped 5 × 5 normal equations ``(H + λ D) δ = g`` in one batched
    ``numpy.linalg.solve`` (Levenberg–Marquardt: ``D`` the diagonal of the Fisher
    information, ``λ`` per atom, lowered 3× after a step that lowers the atom's cost,
    raised 4× and the step refused otherwise). The fit starts from the given positions
    and widths, with the amplitudes and one background that fit the image best by
    linear least squares (one sparse solve), so that overlapping atoms share their
    intensity from the start.

    Overlapping neighbors: every atom's current Gaussian is drawn into one image (out
    to 4.5 σ; beyond its own patch, where its pixels do not pin its width down, at
    most 1.25 times the starting width) and each patch's model includes the other
    atoms' part of it, as in the alternating scheme of StatSTEM. Atoms closer than
    ``radius + 2σ`` are moreover stepped jointly: their Fisher information, with the
    blocks between them (an atom and a neighbor, two neighbors in one patch), forms one
    sparse positive definite system, solved by conjugate gradients preconditioned
    with each atom's own block; a step is kept or refused for the whole cluster of
    atoms coupled this way, and no atom moves by more than 1 px per step. Two or
    four atoms 2σ apart converge in about five iterations, where alternating fits
    need tens. In a dense lattice of broad atoms (neighbors closer than about 5σ)
    the whole lattice is one cluster: still a few tens of iterations, but each one
    solves a large sparse system (about 0.2 s per 1,000 atoms).

    With ``noise="poisson"`` the cost is the Poisson negative log-likelihood
    ``Σ μ - y log μ`` (``μ`` floored at 10⁻³ of the patch's largest value). Each
    iteration tries a Fisher-scoring step (``H`` the expected information
    ``JᵀWJ``, ``W = 1/μ``: safe far from the minimum) and a Newton step (``H`` the
    observed information: fast near it) and keeps the better. The result is the
    maximum-likelihood estimate, whose error approaches :func:`position_crlb`;
    unweighted least squares gives too much weight to the bright, noisy pixels at the
    atom's center and stays 20–40 % above the bound.

    An atom whose step is below ``tol`` leaves the fit (its Gaussian joins a fixed
    image), so that the iterations a few slow atoms need cost little. A step is
    refused if it would take the atom farther than ``radius`` from its starting pixel
    or its width outside ``(0.15, 2 radius)`` px. An atom whose fit ends with a width
    below 0.3 px or above ``radius``, or a non-positive amplitude, is flagged
    ``converged=False`` and keeps its starting values (position, width, and the
    least-squares amplitude and background), so that no value is ever NaN; so is an
    atom still moving after ``max_iter`` iterations, with its last values.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.crystallography import refine_positions
    >>> rows, cols = np.mgrid[:30, :30]
    >>> def atom(row, col, height):  # a Gaussian atom 1.5 px wide
    ...     return height * np.exp(-((rows - row) ** 2 + (cols - col) ** 2) / 4.5)
    >>> image = 2.0 + atom(10.3, 9.8, 50.0) + atom(10.0, 13.6, 80.0)  # 3.8 px apart
    >>> fit = refine_positions(image, [[10, 10], [10, 14]])
    >>> fit.positions.round(2)  # the tails beyond 3.7 σ are left out: < 0.001 px
    array([[10.3,  9.8],
           [10. , 13.6]])
    >>> fit.amplitude.round(1), fit.sigma.round(2), bool(fit.converged.all())
    (array([50., 80.]), array([1.5, 1.5]), True)
    >>> alone = refine_positions(image, [[10, 10], [10, 14]], subtract_neighbors=False)
    >>> alone.positions.round(1)  # fitted alone, each atom is pulled to the other
    array([[10.2, 12. ],
           [10.1, 12.8]])
    """
    image, scale = _check_image(image)
    positions = _check_positions(positions, image.shape)
    check_option(method, "method", ("gaussian", "com"))
    check_option(noise, "noise", ("poisson", "gaussian"))
    check_option(background, "background", ("local", "global"))
    if not isinstance(subtract_neighbors, (bool, np.bool_)):
        raise TypeError(
            f"subtract_neighbors must be True or False, got {subtract_neighbors!r}"
        )
    n = len(positions)
    top = float(max(image.shape))
    if sigma is not None:
        if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):
            sigma = check_scalar(sigma, "sigma", low=0.0, low_inclusive=False, high=top)
            sigma = np.full(n, sigma)
        else:
            sigma = as_float_array(sigma, "sigma", ndim=1, allow_empty=True)
            if sigma.shape != (n,):
                raise ValueError(
                    f"sigma must be a number or have shape ({n},), got {sigma.shape}"
                )
            if np.any(sigma <= 0) or np.any(sigma > top):
                raise ValueError(
                    f"sigma must lie in (0, {top:g}] px, got values from "
                    f"{sigma.min():.4g} to {sigma.max():.4g}"
                )
    if radius is not None:
        radius = check_scalar(radius, "radius", low=1.0, high=top)
    max_iter = _int_like(max_iter, "max_iter", low=1, high=100_000)
    tol = check_scalar(tol, "tol", low=0.0, low_inclusive=False)
    result = Bunch(
        positions=positions.copy(),
        sigma=np.zeros(n) if sigma is None else sigma.copy(),
        amplitude=np.zeros(n),
        background=np.zeros(n),
        converged=np.zeros(n, bool),
        n_iter=0,
    )
    if n == 0 or scale == 0.0:
        return result
    work = image / scale  # values within [-1, 1]
    if sigma is None:
        sigma = np.full(n, _estimate_width(work, positions, radius))
    if radius is None:
        radius = max(2.0, 3.0 * float(np.median(sigma)))
    if method == "com":
        com, width, amp, bg, conv, n_iter = _com(
            work, positions, radius, max_iter, tol, background == "global"
        )
        result.update(
            positions=com,
            sigma=width,
            amplitude=amp * scale,
            background=bg * scale,
            converged=conv,
            n_iter=n_iter,
        )
        return result
    centers = np.round(positions)
    sigma = np.clip(sigma, _SIGMA_MIN, radius)
    width = float(np.median(sigma))
    reach = max(radius, _REACH * width)
    tail_width = _TAIL * width

    def make_fit(active, fixed):
        return _GaussianFit(
            work,
            centers[active],
            radius,
            reach,
            _COUPLE * width,
            poisson=noise == "poisson",
            subtract=subtract_neighbors,
            fixed=fixed,
            tail_width=tail_width,
        )

    start = np.empty((n, 5))
    start[:, :2] = positions
    start[:, 3] = sigma
    shared = background == "global"
    start[:, 2], start[:, 4] = _starting_heights(work, centers, start, reach)
    with np.errstate(all="ignore"):
        params, converged, n_iter = _lm(
            make_fit,
            work,
            centers,
            start,
            max_iter=max_iter,
            tol=tol,
            radius=radius,
            reach=reach,
            tail_width=tail_width,
            shared=shared,
        )
    failed = (
        ~np.all(np.isfinite(params), axis=1)
        | (params[:, 3] < _SIGMA_MIN)
        | (params[:, 3] > radius)
        | (params[:, 2] <= 0)
    )
    params = np.where(failed[:, None], start, params)
    result.update(
        positions=params[:, :2].copy(),
        sigma=params[:, 3].copy(),
        amplitude=params[:, 2] * scale,
        background=params[:, 4] * scale,
        converged=converged & ~failed,
        n_iter=n_iter,
    )
    return result


# ----------------------------------------------------------------------- position_crlb


def position_crlb(amplitude, sigma, background, *, radius=None, offset=None):
    """Cramér–Rao lower bound on the standard deviation of an atom's position.

    Parameters
    ----------
    amplitude : float or array_like
        The atom's peak height above the background, in counts (> 0): the expected
        counts in the atom's center pixel minus the background (for an image divided
        by a dose, multiply by the dose).
    sigma : float or array_like
        The atom's width (standard deviation) in pixels, 0.1 to 100.
    background : float or array_like
        The expected background counts per pixel (≥ 0).
    radius : float, optional
        Only the pixels within ``radius`` of the atom's nearest pixel count (the patch
        of :func:`refine_positions`; ≥ 1). Default: all pixels (the bound of a fit
        on the whole image). Pixels beyond ``5 σ + 1`` add nothing measurable and are
        always left out.
    offset : (float, float), optional
        The atom's position relative to its nearest pixel's center, ``(row, col)`` in
        ``[-0.5, 0.5]``. Default: averaged over a 4 × 4 grid of sub-pixel positions
        (the root of the mean variance: what the root-mean-square error over many
        atoms at random positions is compared with).

    Returns
    -------
    crlb : ndarray of shape (..., 2)
        The bound on the standard deviation of the row and of the column, in pixels,
        for the broadcast shape of the three arguments.

    See Also
    --------
    refine_positions : the maximum-likelihood fit whose error approaches this bound.
    find_atoms : finds the atoms, before any refinement.

    Notes
    -----
    Counts are Poisson with mean ``μ = b + A exp(-|r - r₀|²/(2σ²))`` at each pixel's
    center: the pixel-sampled model, which :func:`refine_positions` fits and
    :func:`lectlib.datasets.render_atoms` draws (its Gaussian is sampled, not
    integrated over the pixel; an integrated one is wider by 1/12 px² in variance,
    under 2 % in σ for σ ≥ 1.5 px). The Fisher information of the five parameters
    ``θ = (row, col, A, σ, b)`` is

    .. math:: I = \\sum_\\text{pixels} \\frac{1}{\\mu}
              \\frac{\\partial\\mu}{\\partial\\theta}
              \\frac{\\partial\\mu}{\\partial\\theta}^\\top,

    and the bound on the position is the square root of the row and column diagonal
    entries of ``I⁻¹``: it accounts for ``A``, ``σ`` and ``b`` being unknown too. For a
    bright atom on no background it tends to ``σ / √N``, with ``N = 2πσ²A`` the atom's
    counts; a background raises it. (Pixels where ``μ`` is below ``10⁻³⁰ A`` count as
    if ``μ`` were that, which keeps ``b = 0`` finite.)

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.crystallography import position_crlb
    >>> bound = position_crlb(1000.0, 1.5, 0.0)
    >>> n = 2 * np.pi * 1.5**2 * 1000.0
    >>> (bound / (1.5 / np.sqrt(n))).round(2)
    array([1., 1.])
    >>> position_crlb([20.0, 500.0], 1.5, 5.0).round(3)
    array([[0.14 , 0.14 ],
           [0.019, 0.019]])
    """
    amp = as_float_array(amplitude, "amplitude")
    sig = as_float_array(sigma, "sigma")
    bg = as_float_array(background, "background")
    if np.any(amp <= 0):
        raise ValueError(f"amplitude must be > 0 counts, got {amp.min():.4g}")
    if np.any(sig < 0.1) or np.any(sig > 100):
        raise ValueError(
            f"sigma must lie in [0.1, 100] px, got {sig.min():.4g} to {sig.max():.4g}"
        )
    if np.any(bg < 0):
        raise ValueError(f"background must be >= 0 counts, got {bg.min():.4g}")
    try:
        amp, sig, bg = np.broadcast_arrays(amp, sig, bg)
    except ValueError:
        raise ValueError(
            "amplitude, sigma and background must broadcast together, got shapes "
            f"{np.shape(amplitude)}, {np.shape(sigma)} and {np.shape(background)}"
        ) from None
    if radius is not None:
        radius = check_scalar(radius, "radius", low=1.0, high=10_000.0)
    if offset is None:
        grid = (np.arange(4) + 0.5) / 4 - 0.5
        subpixel = np.stack(np.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    else:
        if isinstance(offset, (str, bytes)):
            raise TypeError(f"offset must be a pair of numbers, got {offset!r}")
        off = as_float_array(offset, "offset", ndim=1)
        if off.shape != (2,) or np.any(np.abs(off) > 0.5):
            raise ValueError(
                f"offset must be a pair (row, col) within [-0.5, 0.5], got {offset!r}"
            )
        subpixel = off[None]
    shape = amp.shape
    # the bound scales as 1/√(counts): compute with amplitude + background = 1
    scale = (amp + bg).ravel()
    a, s, b = amp.ravel() / scale, sig.ravel(), bg.ravel() / scale
    # beyond 5σ + 1 a pixel adds nothing measurable: the default takes all of them
    limit = np.minimum(5.0 * s + 1.0, np.inf if radius is None else radius)
    variance = np.zeros((len(s), 2))
    order = np.argsort(limit, kind="stable")
    start = 0
    while start < len(s):  # chunks of atoms of similar reach, a few MB at a time
        size = max(1, int(2e5 // len(_disk_offsets(limit[order[-1]]))))
        chunk = order[start : start + size]
        reach = limit[chunk].max()
        variance[chunk] = _crlb_variance(
            a[chunk], s[chunk], b[chunk], limit[chunk], _disk_offsets(reach), subpixel
        )
        start += size
    return np.sqrt(np.abs(variance / scale[:, None])).reshape(shape + (2,))


def _crlb_variance(a, s, b, limit, pixels, subpixel):
    """The Cramér–Rao variance of (row, col) for atoms (m,), averaged over the
    sub-pixel positions ``subpixel`` (p, 2), on the ``pixels`` (K, 2) within each
    atom's ``limit``."""
    inside = np.hypot(*pixels.T)[None, :] <= limit[:, None]
    variance = np.zeros((len(s), 2))
    a_, s_, b_ = a[:, None], s[:, None], b[:, None]
    for u in subpixel:
        dr = pixels[:, 0] - u[0]
        dc = pixels[:, 1] - u[1]
        d2 = dr**2 + dc**2
        g = np.exp(-0.5 * d2 / s_**2)  # (m, K)
        mu = np.maximum(b_ + a_ * g, 1e-30 * a_)
        ag = a_ * g / s_**2
        jac = np.stack([ag * dr, ag * dc, g, ag * d2 / s_, np.ones_like(g)], axis=2)
        info = _weighted_gram(jac, inside / mu, jac)
        # invert with the diagonal scaled to 1: the entries span many decades
        d = np.sqrt(np.diagonal(info, axis1=1, axis2=2))
        if not np.all(d > 0):
            weak = int(np.argmin(d.min(axis=1)))
            raise ValueError(
                f"an atom of amplitude {a[weak]:.3g} on a background of "
                f"{b[weak]:.3g} (relative to their sum) carries no position "
                "information within float64: its bound is beyond range"
            )
        scaled = info / (d[:, :, None] * d[:, None, :])
        try:
            inverse = np.linalg.inv(scaled)
        except np.linalg.LinAlgError:
            inverse = np.linalg.pinv(scaled)
        cov = inverse / (d[:, :, None] * d[:, None, :])
        variance += np.stack([cov[:, 0, 0], cov[:, 1, 1]], axis=1)
    return variance / len(subpixel)
