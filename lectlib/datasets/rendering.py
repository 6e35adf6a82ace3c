"""Images of atoms, and the noise of an image detector: shared by every image dataset.

An atom is a 2-D Gaussian of width ``atom_size`` (the probe and the atom's potential
blurred together, as in an annular dark-field STEM image); an image is the sum of its
atoms. Noise is Gaussian (a detector read-out, relative to the image's contrast) or
Poisson (counting electrons at a given dose).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .._validation import (
    as_float_array,
    check_option,
    check_random_state,
    check_scalar,
    check_shape2,
    check_size,
)

__all__ = ["render_atoms", "add_image_noise"]


def render_atoms(shape, positions, weights=None, *, atom_size=1.0):
    """An image of Gaussian atoms at sub-pixel positions.

    Parameters
    ----------
    shape : (int, int)
        ``(height, width)`` of the image.
    positions : array_like of shape (n_atoms, 2)
        ``(row, col)`` of each atom's center, in pixels; atoms outside the image still
        add their tails to it.
    weights : array_like of shape (n_atoms,), optional
        Each atom's peak height (default 1 for all); its integrated intensity is
        ``2π atom_size² × weight``.
    atom_size : float, default=1.0
        Standard deviation of each Gaussian, in pixels; at most the image's larger side.

    Returns
    -------
    image : ndarray of shape (height, width)

    See Also
    --------
    add_image_noise : the detector's noise on top of the rendered image.
    lectlib.lattice.lattice_points : positions on a lattice.

    Notes
    -----
    Every atom is split between its four nearest pixels with bilinear weights and the
    image is then convolved with one Gaussian: the cost is one filter pass, whatever the
    number of atoms. The split keeps each atom's integrated intensity and center of mass
    exactly; it widens the atom a little, by a variance ``f (1 - f) ≤ 1/4`` px² along
    each axis for a fractional position ``f``.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.datasets import render_atoms
    >>> image = render_atoms((9, 9), [[4.0, 4.0]], atom_size=1.0)
    >>> peak = np.unravel_index(image.argmax(), (9, 9))
    >>> round(float(image.max()), 3), [int(i) for i in peak]
    (1.0, [4, 4])
    """
    h, w = check_shape2(shape)
    positions = as_float_array(positions, "positions", ndim=2, allow_empty=True)
    if positions.shape[1:] != (2,):
        raise ValueError(
            f"positions must have shape (n_atoms, 2), got {positions.shape}"
        )
    if weights is None:
        weights = np.ones(len(positions))
    weights = as_float_array(weights, "weights", ndim=1, allow_empty=True)
    if weights.shape != (len(positions),):
        raise ValueError(
            f"weights has {weights.size} values for {len(positions)} positions"
        )
    atom_size = check_scalar(
        atom_size, "atom_size", low=0.0, low_inclusive=False, high=max(h, w)
    )
    pad = int(np.ceil(4 * atom_size)) + 4  # atoms just outside still shine in
    check_size((h + 2 * pad) * (w + 2 * pad), "the padded image")
    image = np.zeros((h + 2 * pad, w + 2 * pad))
    r, c = positions[:, 0] + pad, positions[:, 1] + pad
    # Atoms too far outside add nothing; they are dropped before any cast to integers.
    inside = (r >= 0) & (r < h + 2 * pad - 1) & (c >= 0) & (c < w + 2 * pad - 1)
    r, c, wt = r[inside], c[inside], weights[inside]
    r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
    fr, fc = r - r0, c - c0
    for dr, dc, f in (
        (0, 0, (1 - fr) * (1 - fc)),
        (1, 0, fr * (1 - fc)),
        (0, 1, (1 - fr) * fc),
        (1, 1, fr * fc),
    ):
        np.add.at(image, (r0 + dr, c0 + dc), wt * f)
    image = ndimage.gaussian_filter(image, atom_size, mode="constant")[
        pad:-pad, pad:-pad
    ]
    return image * (2 * np.pi * atom_size**2)


def add_image_noise(clean, noise, level, *, random_state=None):
    """A noisy copy of an image: Gaussian read-out noise or Poisson counting noise.

    Parameters
    ----------
    clean : array_like
        The noise-free image.
    noise : {"gaussian", "poisson", None}
        ``None`` returns a copy.
    level : float
        Gaussian: the noise's standard deviation relative to the clean image's (≥ 0).
        Poisson: the dose, counts per unit of intensity (> 0); the counts are divided by
        it again, so the image keeps the clean image's scale.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    image : ndarray, same shape as ``clean``

    See Also
    --------
    render_atoms : the clean image of atoms this noise is usually added to.
    lectlib.mixing.add_gaussian_noise : noise at a signal-to-noise ratio, for spectra.
    lectlib.mixing.add_poisson_noise : counts with the expected values given directly.

    Notes
    -----
    Poisson counts at dose ``d`` have a relative error ``1 / √(d I)`` at intensity
    ``I``: the image's signal-to-noise ratio grows as the square root of the dose.
    Negative clean values (there are none in rendered atoms) count as zero.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.datasets import add_image_noise
    >>> clean = np.full((100, 100), 4.0)
    >>> noisy = add_image_noise(clean, "poisson", 25.0, random_state=0)
    >>> round(float(noisy.mean()), 1), round(float(noisy.std() ** 2 * 25 / 4), 1)
    (4.0, 1.0)
    """
    clean = as_float_array(clean, "clean")
    check_option(noise, "noise", ("gaussian", "poisson", None))
    rng = check_random_state(random_state)
    if noise is None:
        return clean.copy()
    if noise == "gaussian":
        level = check_scalar(level, "noise_level", low=0.0)
        return clean + level * clean.std() * rng.standard_normal(clean.shape)
    level = check_scalar(level, "noise_level", low=0.0, low_inclusive=False)
    return np.asarray(rng.poisson(np.clip(clean, 0, None) * level), dtype=float) / level
