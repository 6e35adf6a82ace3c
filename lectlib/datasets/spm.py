"""Scanning-probe spectroscopic images: a band-excitation PFM hysteresis-loop map.

In switching-spectroscopy piezoresponse force microscopy (SS-PFM) the tip stops at
every pixel of a grid and applies a triangular sweep of DC bias pulses; after each
pulse the electromechanical response is read with the DC bias off. With band
excitation (BE) the read-out drives the cantilever with a band of frequencies around
its contact resonance and fits the resonance, which gives the response amplitude ``A``
and phase ``φ`` at each bias step; the piezoresponse ``A cos φ`` against bias is a
hysteresis loop whose branches switch sign at the positive and negative coercive
biases. A map of loops is a spectrum image with the bias in place of the energy, and
the same tools (PCA, NMF, N-FINDR, k-means) apply, with one difference that this module
makes visible: a change of coercive bias shifts a loop along the bias axis, which is
not a linear mixture of loops.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from sklearn.utils import Bunch

from .._validation import (
    as_float_array,
    check_random_state,
    check_scalar,
    check_shape2,
    check_size,
)

__all__ = ["PFM_REGIONS", "PFM_PARAMETERS", "pfm_loop", "make_pfm_loops"]

#: Region kinds of :func:`make_pfm_loops`: a ferroelectric region whose polarization
#: switches within the sweep, regions whose polarization stays pinned up or down (by a
#: defect or an interface), and a non-polar region (or an in-plane domain, without a
#: vertical response) that shows only the linear background.
PFM_REGIONS = ("switching", "pinned up", "pinned down", "non-polar")

#: The loop parameters of :func:`make_pfm_loops`, in the order of its ``parameters``.
PFM_PARAMETERS = ("coercive_bias", "imprint", "saturation", "width", "slope")


def _triangular_sweep(n_voltages, v_max):
    """The bias steps 0 → +v_max → −v_max → 0 (one cycle, the start not repeated) and
    the sweep direction at each step (+1 rising, −1 falling)."""
    t = np.arange(n_voltages) / n_voltages
    voltage = v_max * np.where(
        t < 0.25, 4 * t, np.where(t < 0.75, 2 - 4 * t, 4 * t - 4)
    )
    direction = np.where((t < 0.25) | (t >= 0.75), 1, -1)
    return voltage, direction


def pfm_loop(
    voltage,
    direction,
    *,
    coercive_bias=3.0,
    imprint=0.0,
    saturation=1.0,
    width=1.0,
    slope=0.0,
):
    """The piezoresponse of a switching ferroelectric along a bias sweep.

    Parameters
    ----------
    voltage : array_like of shape (n_voltages,)
        The DC bias at each step (V).
    direction : array_like of shape (n_voltages,)
        +1 where the bias rises, −1 where it falls: the branch of the loop.
    coercive_bias : float or array_like, default=3.0
        Half the distance between the switching biases (V), ≥ 0.
    imprint : float or array_like, default=0.0
        Their mean (V): a built-in field shifts the whole loop along the bias.
    saturation : float or array_like, default=1.0
        Response of the fully switched state (either sign), > 0.
    width : float or array_like, default=1.0
        Bias range over which a branch switches (V), > 0.
    slope : float or array_like, default=0.0
        Linear, non-hysteretic response per volt (electrostatic and field-induced).

    Returns
    -------
    response : ndarray of shape (..., n_voltages)
        The parameters broadcast against each other give the leading shape.

    See Also
    --------
    make_pfm_loops : maps of these loops, mixed and with noise.

    Notes
    -----
    The rising branch switches from −``saturation`` to +``saturation`` at
    ``V₊ = imprint + coercive_bias``, the falling one back at
    ``V₋ = imprint − coercive_bias``:

    ``R(V) = saturation · tanh((V − V±) / width) + slope · V``.

    Each branch is a smooth step, as in the phenomenological loop functions fitted to
    SS-PFM loops (Jesse, Lee & Kalinin 2006); the tanh form and these five parameters
    are this model's own choice, not the published function.

    References
    ----------
    S. Jesse, H. N. Lee and S. V. Kalinin, "Quantitative mapping of switching behavior
    in piezoresponse force microscopy", Rev. Sci. Instrum. 77, 073702 (2006).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.datasets import pfm_loop
    >>> v = np.array([0.0, 0.0])
    >>> loop = pfm_loop(v, [1, -1], coercive_bias=3.0, width=0.5)
    >>> np.round(loop, 3).tolist()  # at zero bias: still down, still up
    [-1.0, 1.0]
    """
    voltage = as_float_array(voltage, "voltage", ndim=1)
    direction = as_float_array(direction, "direction", ndim=1)
    if direction.shape != voltage.shape:
        raise ValueError(
            f"direction has {direction.size} values for {voltage.size} voltages"
        )
    if not np.all(np.abs(direction) == 1):
        raise ValueError("direction must hold +1 (rising) or -1 (falling) only")
    params = {}
    for name, value, low, inclusive in (
        ("coercive_bias", coercive_bias, 0.0, True),
        ("imprint", imprint, None, True),
        ("saturation", saturation, 0.0, False),
        ("width", width, 0.0, False),
        ("slope", slope, None, True),
    ):
        arr = as_float_array(value, name)
        if low is not None and np.any(arr < low if inclusive else arr <= low):
            op = ">=" if inclusive else ">"
            raise ValueError(f"{name} must be {op} {low:g}, got {float(arr.min())!r}")
        params[name] = arr[..., None]
    try:
        lead = np.broadcast_shapes(*(p.shape[:-1] for p in params.values()))
    except ValueError as exc:
        raise ValueError(f"the loop parameters do not broadcast: {exc}") from None
    check_size(int(np.prod(lead)) * voltage.size, "the loops")
    switch = params["imprint"] + direction * params["coercive_bias"]
    response = params["saturation"] * np.tanh((voltage - switch) / params["width"])
    return response + params["slope"] * voltage


def _smooth_field(rng, shape, sigma):
    """White noise smoothed over ``sigma`` px, scaled to a largest magnitude of 1."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    field -= field.mean()
    scale = np.abs(field).max()
    return field / scale if scale > 0 else field


def make_pfm_loops(
    shape=(40, 40),
    *,
    n_voltages=64,
    v_max=10.0,
    regions=("switching", "pinned down"),
    coercive_bias=4.0,
    imprint=0.5,
    saturation=1.0,
    width=1.0,
    slope=0.01,
    coercive_variation=1.0,
    imprint_variation=0.5,
    length_scale=8.0,
    boundary_width=1.0,
    noise_level=0.05,
    random_state=None,
):
    """A band-excitation PFM switching-spectroscopy map: a hysteresis loop per pixel,
    from regions that switch and regions that do not, with the truth.

    At each pixel of a ``shape`` grid the DC bias runs one triangular cycle
    0 → +``v_max`` → −``v_max`` → 0 in ``n_voltages`` steps, and the piezoresponse
    (the BE amplitude times the cosine of the phase, read with the bias off) is
    recorded at each step. The surface holds ``regions`` of different kinds (see
    :data:`PFM_REGIONS`); the tip senses a neighbourhood ``boundary_width`` px wide, so
    pixels near a boundary see a *linear mixture* of the two regions' loops (a
    partially switching volume). Inside the switching region the coercive bias and the
    imprint vary smoothly across the map, which *shifts* the loop: that part is not a
    mixture.

    Parameters
    ----------
    shape : (int, int), default=(40, 40)
        ``(ny, nx)`` pixels.
    n_voltages : int, default=64
        Bias steps in the cycle: a multiple of 4, at least 8, so that the sweep
        reaches ±``v_max``.
    v_max : float, default=10.0
        Largest bias (V).
    regions : sequence of str, default=("switching", "pinned down")
        Kinds of the regions, each from :data:`PFM_REGIONS`, without repeats.
    coercive_bias : float, default=4.0
        Mean coercive bias of the switching region (V).
    imprint : float, default=0.5
        Mean imprint (V): the loop's shift along the bias.
    saturation : float, default=1.0
        Response of a fully poled region (> 0); the pinned regions respond with
        ±``saturation``.
    width : float, default=1.0
        Bias range over which a branch switches (V).
    slope : float, default=0.01
        Linear background per volt, the same in every region.
    coercive_variation, imprint_variation : float, default=1.0, 0.5
        Largest deviation (V) of the coercive bias and of the imprint from their means
        across the map (smooth random fields); 0 and 0 make the map an exact linear
        mixture of ``endmembers``. ``coercive_variation`` is at most ``coercive_bias``.
    length_scale : float, default=8.0
        Size of the regions and of the parameter variations (px), at most ten times
        the map's larger side.
    boundary_width : float, default=1.0
        Standard deviation (px) of the tip's sensing footprint, which mixes the loops
        of neighbouring regions; 0 gives sharp boundaries.
    noise_level : float, default=0.05
        Standard deviation of the Gaussian measurement noise, relative to
        ``saturation`` (≥ 0).
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    data : sklearn.utils.Bunch
        - ``loops`` (ny, nx, n_voltages): the measured piezoresponse;
        - ``clean`` (ny, nx, n_voltages): the same without noise;
        - ``voltage`` (n_voltages,): the bias steps (V); ``direction`` (n_voltages,):
          +1 rising, −1 falling;
        - ``regions`` (ny, nx): the region under each pixel (index into
          ``region_names``), before the tip's mixing; ``region_names``;
        - ``abundances`` (ny, nx, k): each region's share of the pixel's signal,
          non-negative, summing to one;
        - ``endmembers`` (k, n_voltages): each region's loop at the mean parameters;
        - ``parameters`` (ny, nx, 5): the switching loop's parameters at each pixel,
          columns :data:`PFM_PARAMETERS` (the field exists everywhere; it matters where
          the switching region has abundance);
        - ``parameter_names``, ``noise_sigma`` (absolute), ``params``, ``DESCR``.

    See Also
    --------
    pfm_loop : the loop of one parameter set.
    make_mixture : spectra that are an exact linear mixture everywhere.
    make_eels_interface : a spectrum image with Poisson counts, not Gaussian noise.

    Notes
    -----
    Each pixel's clean loop is ``Σ_j abundances[j] × loop_j``, where ``loop_j`` is
    :func:`pfm_loop` with that pixel's parameters for a switching region,
    ``±saturation + slope · V`` for a pinned one and ``slope · V`` for a non-polar one.
    The regions cut a white-noise field smoothed over ``length_scale / 2`` at its
    quantiles into parts of equal area; the abundances are the regions' indicator maps
    smoothed by a Gaussian of ``boundary_width`` px (the tip's footprint). The
    coercive bias and the imprint are their means plus ``coercive_variation`` and
    ``imprint_variation`` times two independent smooth fields of largest magnitude 1.

    Where the model is linear: with no parameter variation the clean map is exactly
    ``abundances @ endmembers`` (rank ``k``, an affine simplex of ``k`` vertices; but
    the pinned and non-polar loops are offsets of one line, so at most two of those
    three kinds are affinely independent: non-polar is the mean of up and down), so
    N-FINDR, NMF (after an offset: loops are signed) and least squares recover the
    regions and their shares. Where it is not: a change ``δ`` of a switching bias
    moves the loop's steps along the bias axis; to first order it adds
    ``−δ · ∂R/∂V±``, a narrow peak at each step, which is no combination of the
    endmembers. PCA then needs one or two more components per varying parameter
    (an imprint moves both steps the same way, a coercive bias moves them apart,
    and larger shifts need higher orders), and the endmembers found by N-FINDR are
    loops of some extreme pixel, not of the mean. Labels are another matter: regions
    whose loops differ much more than the variation within them are still found by
    N-FINDR's largest abundance or by k-means.

    The noise is Gaussian and white, the same at every bias step and pixel: each
    response is the fitted resonance amplitude and phase of a band-excitation
    measurement that integrates the cantilever's motion over many oscillation cycles,
    a sum of many independent thermal and detector fluctuations (central limit), not a
    count. That is also why the Marchenko–Pastur edge of chapter 1 applies here.

    Stand-ins: the tanh branches, the region kinds and all numbers are chosen to
    teach, not fitted to a material; the loops do not include the electrostatic and
    relaxation effects of real off-field SS-PFM data beyond a linear slope.

    References
    ----------
    S. Jesse, H. N. Lee and S. V. Kalinin, "Quantitative mapping of switching behavior
    in piezoresponse force microscopy", Rev. Sci. Instrum. 77, 073702 (2006).
    S. Jesse, S. V. Kalinin, R. Proksch, A. P. Baddorf and B. J. Rodriguez, "The band
    excitation method in scanning probe microscopy for rapid mapping of energy
    dissipation on the nanoscale", Nanotechnology 18, 435503 (2007).
    S. V. Kalinin, A. N. Morozovska, L. Q. Chen and B. J. Rodriguez, "Local
    polarization dynamics in ferroelectric materials", Rep. Prog. Phys. 73, 056502
    (2010).

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.datasets import make_pfm_loops
    >>> data = make_pfm_loops(random_state=0)
    >>> data.loops.shape, data.region_names, data.endmembers.shape
    ((40, 40, 64), ('switching', 'pinned down'), (2, 64))
    >>> bool(np.allclose(data.abundances.sum(axis=-1), 1.0))
    True
    >>> exact = make_pfm_loops(
    ...     coercive_variation=0.0, imprint_variation=0.0, noise_level=0.0,
    ...     random_state=0)
    >>> bool(np.allclose(exact.clean, exact.abundances @ exact.endmembers))
    True
    """
    ny, nx = check_shape2(shape)
    n_voltages = check_scalar(n_voltages, "n_voltages", low=8, integer=True)
    if n_voltages % 4:
        raise ValueError(f"n_voltages must be a multiple of 4, got {n_voltages}")
    v_max = check_scalar(v_max, "v_max", low=0.0, low_inclusive=False)
    if isinstance(regions, str):
        regions = None  # one name is not a sequence of names
    regions = tuple(regions) if regions is not None else ()
    if not regions or any(
        not isinstance(r, str) or r not in PFM_REGIONS for r in regions
    ):
        raise ValueError(
            f"regions must be a non-empty sequence of {PFM_REGIONS}, got {regions!r}"
        )
    if len(set(regions)) != len(regions):
        raise ValueError(f"regions must not repeat a kind, got {regions!r}")
    coercive_bias = check_scalar(coercive_bias, "coercive_bias", low=0.0)
    imprint = check_scalar(imprint, "imprint")
    saturation = check_scalar(saturation, "saturation", low=0.0, low_inclusive=False)
    width = check_scalar(width, "width", low=0.0, low_inclusive=False)
    slope = check_scalar(slope, "slope")
    coercive_variation = check_scalar(
        coercive_variation, "coercive_variation", low=0.0, high=coercive_bias
    )
    imprint_variation = check_scalar(imprint_variation, "imprint_variation", low=0.0)
    length_scale = check_scalar(
        length_scale,
        "length_scale",
        low=0.0,
        low_inclusive=False,
        high=10 * max(ny, nx),
    )
    boundary_width = check_scalar(
        boundary_width, "boundary_width", low=0.0, high=max(ny, nx)
    )
    noise_level = check_scalar(noise_level, "noise_level", low=0.0)
    check_size(ny * nx * n_voltages * max(len(regions), 2), "the loops")
    rng = check_random_state(random_state)

    voltage, direction = _triangular_sweep(n_voltages, v_max)
    field = ndimage.gaussian_filter(
        rng.standard_normal((ny, nx)), length_scale / 2, mode="reflect"
    )
    k = len(regions)
    quantiles = np.quantile(field, np.linspace(0, 1, k + 1)[1:-1])
    region_map = np.searchsorted(quantiles, field)
    indicators = (region_map[..., None] == np.arange(k)).astype(float)
    if boundary_width > 0:
        abundances = ndimage.gaussian_filter(
            indicators, (boundary_width, boundary_width, 0), mode="reflect"
        )
        abundances /= abundances.sum(axis=-1, keepdims=True)  # (rounding only)
    else:
        abundances = indicators

    coercive_map = coercive_bias + coercive_variation * _smooth_field(
        rng, (ny, nx), length_scale / 2
    )
    coercive_map = np.clip(coercive_map, 0.0, None)  # (rounding only)
    imprint_map = imprint + imprint_variation * _smooth_field(
        rng, (ny, nx), length_scale / 2
    )
    parameters = np.stack(
        [
            coercive_map,
            imprint_map,
            np.full((ny, nx), saturation),
            np.full((ny, nx), width),
            np.full((ny, nx), slope),
        ],
        axis=-1,
    )

    background = slope * voltage
    fixed = {
        "pinned up": saturation + background,
        "pinned down": -saturation + background,
        "non-polar": background,
    }
    endmembers = np.empty((k, n_voltages))
    clean = np.zeros((ny, nx, n_voltages))
    for j, kind in enumerate(regions):
        if kind == "switching":
            endmembers[j] = pfm_loop(
                voltage,
                direction,
                coercive_bias=coercive_bias,
                imprint=imprint,
                saturation=saturation,
                width=width,
                slope=slope,
            )
            local = pfm_loop(
                voltage,
                direction,
                coercive_bias=coercive_map,
                imprint=imprint_map,
                saturation=saturation,
                width=width,
                slope=slope,
            )
        else:
            endmembers[j] = fixed[kind]
            local = endmembers[j]
        clean += abundances[..., j : j + 1] * local
    noise_sigma = noise_level * saturation
    loops = clean + noise_sigma * rng.standard_normal(clean.shape)

    params = dict(
        shape=(ny, nx),
        n_voltages=n_voltages,
        v_max=v_max,
        regions=regions,
        coercive_bias=coercive_bias,
        imprint=imprint,
        saturation=saturation,
        width=width,
        slope=slope,
        coercive_variation=coercive_variation,
        imprint_variation=imprint_variation,
        length_scale=length_scale,
        boundary_width=boundary_width,
        noise_level=noise_level,
    )
    descr = (
        f"Band-excitation PFM switching-spectroscopy map {ny} x {nx}, {n_voltages} "
        f"bias steps over ±{v_max:g} V; regions {', '.join(regions)}; coercive bias "
        f"{coercive_bias:g} ± {coercive_variation:g} V, imprint {imprint:g} ± "
        f"{imprint_variation:g} V; tip footprint {boundary_width:g} px; Gaussian "
        f"noise {noise_sigma:g}."
    )
    return Bunch(
        loops=loops,
        clean=clean,
        voltage=voltage,
        direction=direction,
        regions=region_map,
        region_names=regions,
        abundances=abundances,
        endmembers=endmembers,
        parameters=parameters,
        parameter_names=PFM_PARAMETERS,
        noise_sigma=noise_sigma,
        params=params,
        DESCR=descr,
    )
