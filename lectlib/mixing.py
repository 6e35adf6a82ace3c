"""The linear mixing model of spectroscopic imaging and its noise.

A spectrum image holds a spectrum at every pixel ``(row, col)``. The lecture writes it as

    S(x, R) = sum_i a_i(x) w_i(R) + N,

loading maps ``a_i`` (here ``abundances``, shape ``(ny, nx, n_components)``) times endmember
spectra ``w_i`` (``endmembers``, shape ``(n_components, n_channels)``) plus noise ``N``. Unfolded
to a matrix ``X`` of shape ``(ny * nx, n_channels)`` the model is one matrix product,
``X = A @ W + N``, which is what every unmixing method in the course works with.

The instrument's finite energy resolution is a matrix too: a measured channel is a weighted
average of neighbouring true channels, ``X_measured = X_true @ R.T`` (see
:func:`resolution_matrix`). Since ``A @ (W @ R.T)`` is again a mixture of the same loading
maps, convolution with the resolution function is itself linear mixing.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_random_state, check_scalar, check_shape2

__all__ = [
    "mix",
    "unfold",
    "fold",
    "gaussian_noise_std",
    "add_gaussian_noise",
    "add_poisson_noise",
    "resolution_matrix",
]


def mix(abundances, endmembers):
    """Forward model: spectra as abundance-weighted sums of endmember spectra.

    Parameters
    ----------
    abundances : array of shape (..., n_components)
        Loading maps, e.g. ``(ny, nx, n_components)`` or ``(n_pixels, n_components)``.
    endmembers : array of shape (n_components, n_channels)
        One spectrum per row.

    Returns
    -------
    spectra : ndarray of shape (..., n_channels)

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.mixing import mix
    >>> mix(np.array([[0.25, 0.75]]), np.array([[4.0, 0.0], [0.0, 4.0]]))
    array([[1., 3.]])
    """
    a = as_float_array(abundances, "abundances", min_ndim=1)
    w = as_float_array(endmembers, "endmembers", ndim=2)
    if a.shape[-1] != w.shape[0]:
        raise ValueError(
            f"abundances have {a.shape[-1]} components in their last axis but endmembers has "
            f"{w.shape[0]} rows; they must match"
        )
    # einsum, not BLAS: the result is bit-for-bit the same whatever the thread count, so
    # datasets regenerate identically.
    return np.einsum("...k,kc->...c", a, w)


def unfold(cube):
    """Reshape a spectrum image ``(ny, nx, n_channels)`` to a matrix ``(ny * nx, n_channels)``.

    Pixels are taken in row-major order: row 0 left to right, then row 1, and so on, so pixel
    ``(row, col)`` becomes row ``row * nx + col`` of the matrix. :func:`fold` undoes it.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.mixing import unfold
    >>> unfold(np.zeros((4, 5, 16))).shape
    (20, 16)
    """
    cube = as_float_array(cube, "cube", ndim=3)
    ny, nx, c = cube.shape
    return cube.reshape(ny * nx, c)


def fold(X, shape):
    """Reshape a matrix ``(ny * nx, n_features)`` back to an image ``(ny, nx, n_features)``.

    Parameters
    ----------
    X : array of shape (n_pixels, n_features) or (n_pixels,)
        One row per pixel in row-major order, as produced by :func:`unfold`. A 1-D array
        (one value per pixel) folds to a ``(ny, nx)`` map.
    shape : (ny, nx)
        The pixel grid.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.mixing import fold, unfold
    >>> cube = np.arange(24.0).reshape(2, 3, 4)
    >>> bool(np.array_equal(fold(unfold(cube), (2, 3)), cube))
    True
    """
    X = as_float_array(X, "X", ndim=(1, 2))
    ny, nx = check_shape2(shape)
    if X.shape[0] != ny * nx:
        raise ValueError(
            f"X has {X.shape[0]} rows but shape {(ny, nx)} needs ny * nx = {ny * nx} pixels"
        )
    return X.reshape((ny, nx) + X.shape[1:])


def gaussian_noise_std(clean, snr_db):
    """Noise standard deviation that gives ``clean`` a signal-to-noise ratio of ``snr_db``.

    The SNR is the ratio of mean signal power to noise power, in decibels:
    ``SNR = 10 log10(mean(clean**2) / sigma**2)``.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.mixing import gaussian_noise_std
    >>> gaussian_noise_std(np.full(10, 2.0), snr_db=20.0)  # power 4, noise power 0.04
    0.2
    """
    clean = as_float_array(clean, "clean")
    snr_db = check_scalar(snr_db, "snr_db")
    power = float(np.mean(clean**2))
    if power == 0:
        raise ValueError("clean is all zeros, so no noise level gives it a finite SNR")
    return float(np.sqrt(power / 10 ** (snr_db / 10)))


def add_gaussian_noise(clean, snr_db, *, random_state=None):
    """Add white Gaussian noise of constant variance at a given SNR (dB).

    Gaussian noise of the same variance everywhere is the model of read-out and thermal noise,
    and the model that ordinary least squares and plain PCA assume.

    Returns
    -------
    noisy : ndarray, same shape as ``clean``
    variance : float
        The noise variance ``sigma**2``, the same for every element.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.mixing import add_gaussian_noise
    >>> noisy, variance = add_gaussian_noise(np.ones((100, 50)), snr_db=20, random_state=0)
    >>> noisy.shape, round(variance, 6)
    ((100, 50), 0.01)
    """
    clean = as_float_array(clean, "clean")
    sigma = gaussian_noise_std(clean, snr_db)
    rng = check_random_state(random_state)
    return clean + sigma * rng.standard_normal(clean.shape), sigma**2


def add_poisson_noise(expected, *, snr_db=None, random_state=None):
    """Draw counts from a Poisson distribution with the given expected values.

    Counting detectors (EELS, EDS, SIMS, photon counting) follow Poisson statistics: the
    variance of each element equals its expected value, so bright channels are noisier in
    absolute terms but cleaner in relative terms (relative error ``1/sqrt(counts)``).

    Parameters
    ----------
    expected : array_like
        Expected counts, non-negative.
    snr_db : float, optional
        Scale ``expected`` first (choose the dose) so that the counts have this
        signal-to-noise ratio in dB, as :func:`add_gaussian_noise` does for Gaussian noise.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    counts : ndarray of float, same shape as ``expected``
    variance : ndarray
        The per-element noise variance, equal to the expected counts (after scaling).

    See Also
    --------
    add_gaussian_noise : constant-variance noise at a given SNR.

    Notes
    -----
    The noise power of Poisson counts is their mean, so ``SNR = mean(λ²) / mean(λ)``: it
    grows linearly with the scale of ``λ``, and the scale that gives a requested SNR is
    ``10^(SNR/10) mean(λ) / mean(λ²)``. Ten times the dose is 10 dB more.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.mixing import add_poisson_noise
    >>> counts, variance = add_poisson_noise(np.full(100000, 50.0), random_state=0)
    >>> round(float(counts.mean())), round(float(counts.var()))
    (50, 50)
    >>> counts, expected = add_poisson_noise(np.full(10, 0.5), snr_db=20.0, random_state=0)
    >>> float(expected[0])            # 20 dB: 100 counts expected in every element
    100.0
    """
    expected = as_float_array(expected, "expected")
    if np.any(expected < 0):
        raise ValueError("expected counts must be non-negative for Poisson noise")
    if snr_db is not None:
        snr_db = check_scalar(snr_db, "snr_db")
        power = np.mean(expected**2)
        if power == 0:
            raise ValueError("expected is all zeros, so no dose gives it a finite SNR")
        expected = expected * (10 ** (snr_db / 10) * expected.mean() / power)
    rng = check_random_state(random_state)
    return rng.poisson(expected).astype(np.float64), expected.copy()


def resolution_matrix(energy, fwhm):
    """The instrument resolution as a matrix acting on spectra.

    Row ``i`` holds the weights with which true channels contribute to measured channel ``i``:
    a Gaussian of full width at half maximum ``fwhm`` centred on ``energy[i]``, normalised so
    each row sums to one (a flat spectrum stays flat, also at the ends of the axis). A spectrum
    ``s`` is broadened as ``R @ s``; a matrix of spectra ``X`` (one per row) as ``X @ R.T``.

    Parameters
    ----------
    energy : array of shape (n_channels,)
        Channel energies in eV, strictly increasing (need not be evenly spaced).
    fwhm : float
        Resolution in eV, ``>= 0``. Zero (or a width far below the channel spacing) gives the
        identity.

    Returns
    -------
    R : ndarray of shape (n_channels, n_channels)

    Notes
    -----
    On an evenly spaced axis, away from the ends, ``R @ s`` equals ``numpy.convolve`` of ``s``
    with the normalised Gaussian kernel: convolution *is* this matrix product. Writing it as a
    matrix makes the lecture's point visible: every measured channel is a linear mixture of
    neighbouring true channels, and blurred data ``A @ (W @ R.T)`` are still a linear mixture of
    the same loading maps ``A``, with broadened endmembers ``W @ R.T``.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.mixing import resolution_matrix
    >>> R = resolution_matrix(np.arange(5.0), fwhm=1.0)
    >>> R.shape, bool(np.allclose(R.sum(axis=1), 1.0))
    ((5, 5), True)
    >>> bool(np.array_equal(resolution_matrix(np.arange(5.0), 0.0), np.eye(5)))
    True
    """
    energy = as_float_array(energy, "energy", ndim=1)
    if energy.size < 2:
        raise ValueError(f"energy needs at least 2 channels, got {energy.size}")
    if np.any(np.diff(energy) <= 0):
        raise ValueError("energy must be strictly increasing")
    fwhm = check_scalar(fwhm, "fwhm", low=0.0)
    n = energy.size
    sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    if sigma < np.diff(energy).min() / 40:
        # Neighbouring weights exp(-0.5 (spacing / sigma)**2) < exp(-800) are exactly 0.0.
        return np.eye(n)
    # Channel widths weight the quadrature, so uneven axes broaden correctly too.
    widths = np.gradient(energy)
    kernel = np.exp(-0.5 * ((energy[:, None] - energy[None, :]) / sigma) ** 2) * widths[None, :]
    return kernel / kernel.sum(axis=1, keepdims=True)
