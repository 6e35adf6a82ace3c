"""Figure helpers shared by the chapters: the course's style, spectra on an energy axis, maps
with color bars, singular values, the simplex, and reciprocal space.

They only style plots; each returns the Matplotlib objects it drew on, so a chapter can add to
them. Images are drawn with ``origin="upper"``: pixel ``(row, col)`` sits at row ``row`` from
the top, as in the arrays.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ._validation import as_float_array

__all__ = ["use_style", "plot_spectra", "plot_maps", "plot_singular_values", "plot_simplex",
           "plot_reciprocal", "mark_spots"]

#: The course's Matplotlib settings, applied by :func:`use_style`.
STYLE = {"figure.dpi": 80, "axes.spines.top": False, "axes.spines.right": False}


def use_style():
    """Apply the course's figure style; in a notebook, also show figures inline.

    Every chapter calls it once, after its imports, so that all figures look the same. In a
    Jupyter kernel it selects the inline backend too: figures then appear in the notebook and
    on the built site whatever ``MPLBACKEND`` says (the test and build environments set it to
    ``Agg``, which would otherwise show nothing).

    See Also
    --------
    matplotlib.pyplot.style.use : for a style of one's own on top.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from lectlib.plotting import use_style
    >>> use_style()
    >>> plt.rcParams["axes.spines.top"]
    False
    """
    try:
        from IPython import get_ipython
    except ImportError:               # plain Python: no inline backend to select
        shell = None
    else:
        shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        shell.run_line_magic("matplotlib", "inline")
    plt.rcParams.update(STYLE)


def plot_spectra(energy, spectra, *, labels=None, ax=None, title=None, xlabel="Energy (eV)",
                 ylabel="Intensity", **plot_kw):
    """Plot one or several spectra against energy.

    Parameters
    ----------
    energy : array of shape (n_channels,)
    spectra : array of shape (n_channels,) or (n_spectra, n_channels)
    labels : list of str, optional
        One per spectrum; adds a legend.
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    **plot_kw
        Passed to ``Axes.plot`` (e.g. ``lw``, ``ls``, ``color``).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.plotting import plot_spectra
    >>> ax = plot_spectra(np.arange(4.0), np.eye(4)[:2], labels=["a", "b"])
    >>> len(ax.lines)
    2
    """
    energy = as_float_array(energy, "energy", ndim=1)
    spectra = as_float_array(spectra, "spectra", ndim=(1, 2))
    spectra = np.atleast_2d(spectra)
    if spectra.shape[1] != energy.size:
        raise ValueError(f"spectra have {spectra.shape[1]} channels but energy has {energy.size}")
    if labels is not None and len(labels) != spectra.shape[0]:
        raise ValueError(f"got {len(labels)} labels for {spectra.shape[0]} spectra")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
    for i, spectrum in enumerate(spectra):
        ax.plot(energy, spectrum, label=None if labels is None else labels[i], **plot_kw)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(energy[0], energy[-1])
    if title:
        ax.set_title(title)
    if labels is not None:
        ax.legend(fontsize="small", frameon=False)
    return ax


def plot_maps(maps, *, titles=None, cmap="viridis", vmin=None, vmax=None, share_scale=False,
              colorbar=True, axes=None, ncols=None, panel_size=2.4, suptitle=None):
    """Show a stack of maps side by side, each with its own colour bar.

    Parameters
    ----------
    maps : array of shape (ny, nx) or (ny, nx, n_maps)
        E.g. abundances or loading maps; the last axis indexes the maps.
    titles : list of str, optional
    cmap : str, default="viridis"
    vmin, vmax : float, optional
        Colour limits for every map.
    share_scale : bool, default=False
        One colour range for all maps (their common min and max), so they compare directly.
    colorbar : bool, default=True
    axes : sequence of Axes, optional
        Where to draw; a new figure is made when omitted.
    ncols : int, optional
        Panels per row of a new figure (default: all in one row, up to 4).
    panel_size : float, default=2.4
        Width of one panel of a new figure, in inches.
    suptitle : str, optional

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.plotting import plot_maps
    >>> fig = plot_maps(np.random.default_rng(0).random((8, 8, 3)), titles=["a", "b", "c"])
    >>> len(fig.axes)  # three maps and three colour bars
    6
    """
    maps = as_float_array(maps, "maps", ndim=(2, 3))
    if maps.ndim == 2:
        maps = maps[:, :, None]
    n = maps.shape[2]
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {len(titles)} titles for {n} maps")
    if axes is None:
        ncols = min(n, 4) if ncols is None else ncols
        nrows = int(np.ceil(n / ncols))
        fig, grid = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, panel_size * 0.95 * nrows),
                                 layout="constrained", squeeze=False)
        for ax in grid.ravel()[n:]:
            ax.set_visible(False)
        axes = grid.ravel()[:n]
    else:
        axes = list(np.ravel(axes))
        if len(axes) < n:
            raise ValueError(f"got {len(axes)} axes for {n} maps")
        fig = axes[0].figure
    if share_scale:
        vmin = maps.min() if vmin is None else vmin
        vmax = maps.max() if vmax is None else vmax
    for i, ax in enumerate(axes[:n]):
        im = ax.imshow(maps[:, :, i], cmap=cmap, vmin=vmin, vmax=vmax, origin="upper",
                       interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize="medium")
        if colorbar:
            fig.colorbar(im, ax=ax, shrink=0.8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_singular_values(values, *, ax=None, label=None, n_marked=None, **plot_kw):
    """Singular values (or eigenvalues) in descending order, on a log scale.

    Parameters
    ----------
    values : array of shape (n,)
    ax : matplotlib Axes, optional
    label : str, optional
    n_marked : int, optional
        Draw a vertical line after the first ``n_marked`` values (e.g. the true number of
        components).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from lectlib.plotting import plot_singular_values
    >>> ax = plot_singular_values([10.0, 3.0, 1e-3], n_marked=2)
    >>> ax.get_yscale()
    'log'
    """
    values = as_float_array(values, "values", ndim=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    index = np.arange(1, values.size + 1)
    ax.semilogy(index, np.maximum(values, np.finfo(float).tiny), "o-", ms=3, label=label, **plot_kw)
    if n_marked is not None:
        ax.axvline(n_marked + 0.5, color="0.5", ls=":", lw=1)
    ax.set_xlabel("index")
    ax.set_ylabel("singular value")
    if label is not None:
        ax.legend(fontsize="small", frameon=False)
    return ax


def plot_simplex(X, vertices=None, *, ax=None, max_points=4000, random_state=0):
    """The data cloud and simplex vertices in the plane of the data's first two principal axes.

    Parameters
    ----------
    X : array of shape (n_samples, n_channels)
        Spectra, one per row (at most ``max_points`` of them, drawn at random, are shown).
    vertices : dict of str to array of shape (k, n_channels), optional
        Sets of endmembers to mark, e.g. ``{"truth": W, "N-FINDR": model.endmembers_}``; the
        first set is joined as a polygon (the simplex edges in this projection).
    ax : matplotlib Axes, optional
    max_points : int, default=4000
    random_state : int, default=0
        Which points are shown when there are more than ``max_points``.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from lectlib.plotting import plot_simplex
    >>> rng = np.random.default_rng(0)
    >>> W = rng.uniform(0, 1, (3, 10))
    >>> ax = plot_simplex(rng.dirichlet([1, 1, 1], 300) @ W, {"truth": W})
    >>> ax.get_xlabel()
    'PC 1'
    """
    from .unmixing import simplex_projection

    X = as_float_array(X, "X", ndim=2)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3.6), layout="constrained")
    xy, center, axes = simplex_projection(X, 2)
    shown = xy
    if xy.shape[0] > max_points:
        pick = np.random.default_rng(random_state).choice(xy.shape[0], max_points, replace=False)
        shown = xy[pick]
    ax.scatter(shown[:, 0], shown[:, 1], s=2, color="0.6", alpha=0.5, linewidths=0, label="pixels")
    markers = ["o", "x", "+", "s", "^", "v", "D"]
    for i, (name, E) in enumerate((vertices or {}).items()):
        E = as_float_array(E, f"vertices[{name!r}]", ndim=2)
        v, _, _ = simplex_projection(E, center=center, components=axes)
        if i == 0 and v.shape[0] >= 3:
            ring = np.vstack([v, v[:1]])
            ax.plot(ring[:, 0], ring[:, 1], color=f"C{i}", lw=1, alpha=0.6)
        ax.scatter(v[:, 0], v[:, 1], s=60 if i == 0 else 45, marker=markers[i % len(markers)],
                   color=f"C{i}", facecolors="none" if i == 0 else None, label=name, zorder=3)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(fontsize="small", frameon=False, markerscale=1)
    return ax


def plot_reciprocal(model, features, *, ax=None, title=None, cmap="magma", symmetric=False,
                    spots=None, spot_color="w"):
    """A sliding-FFT descriptor (or component) as a centered reciprocal-space image.

    Parameters
    ----------
    model : lectlib.sliding.SlidingFFT
        The fitted transform that made the features (it knows their frequencies).
    features : array_like of shape (n_features,)
        One descriptor, endmember or eigenvector.
    ax : matplotlib Axes, optional
    title : str, optional
    cmap : str, default="magma"
    symmetric : bool, default=False
        A diverging scale centered on zero (for eigenvectors and ICA components, which have
        both signs); otherwise the scale starts at zero (magnitudes).
    spots : array_like of shape (n_spots, 2), optional
        ``(k_row, k_col)`` positions to circle, e.g. predicted Bragg spots; each is circled
        with its opposite ``-k`` (the magnitude of a real image's transform is
        centrosymmetric).
    spot_color : color, default="w"

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    lectlib.sliding.SlidingFFT.to_reciprocal : the image this draws.
    mark_spots : the circles alone, on any reciprocal-space axes.
    lectlib.lattice.bragg_spots : where a lattice's spots are.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.plotting import plot_reciprocal
    >>> from lectlib.sliding import SlidingFFT
    >>> x = np.arange(64.0)
    >>> image = np.cos(2 * np.pi * x / 8)[None, :] * np.ones((64, 1))
    >>> fft = SlidingFFT(32, 16, log=False, crop=8).fit(image)
    >>> ax = plot_reciprocal(fft, fft.transform(image)[0], spots=[[0.0, 0.125]])
    >>> len(ax.images), len(ax.collections[0].get_offsets())     # the spot and its opposite
    (1, 2)
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    features = as_float_array(features, "features", ndim=1)
    picture = model.to_reciprocal(features)
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3), layout="constrained")
    k = float(model.frequencies_.max())
    limits = dict(vmin=0)
    if symmetric:
        v = float(np.abs(picture).max())
        limits = dict(vmin=-v, vmax=v)
    ax.imshow(picture, cmap=cmap, extent=(-k, k, k, -k), **limits)
    ax.set(xticks=[], yticks=[])
    if spots is not None:
        mark_spots(ax, spots, color=spot_color)
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def mark_spots(ax, spots, *, color="w", size=110, lw=0.8):
    """Circle reciprocal-space positions and their opposites on axes in (k_col, k_row) units.

    Parameters
    ----------
    ax : matplotlib Axes
        Showing reciprocal space with k_col along x and k_row along y (as
        :func:`plot_reciprocal` draws it).
    spots : array_like of shape (n_spots, 2)
        ``(k_row, k_col)`` in cycles per pixel; ``-k`` is circled too.
    color : color, default="w"
    size : float, default=110
        Marker area in points².
    lw : float, default=0.8

    Returns
    -------
    collection : matplotlib PathCollection

    See Also
    --------
    plot_reciprocal : a descriptor with its spots circled.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from lectlib.plotting import mark_spots
    >>> _, ax = plt.subplots()
    >>> len(mark_spots(ax, [[0.1, 0.0], [0.0, 0.1]]).get_offsets())
    4
    """
    spots = as_float_array(spots, "spots", ndim=2)
    if spots.shape[1] != 2:
        raise ValueError(f"spots must have shape (n_spots, 2), got {spots.shape}")
    both = np.unique(np.round(np.vstack([spots, -spots]), 12) + 0.0, axis=0)
    return ax.scatter(both[:, 1], both[:, 0], s=size, facecolors="none", edgecolors=color, lw=lw)
