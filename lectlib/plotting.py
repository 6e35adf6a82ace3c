"""Figure helpers shared by the chapters: the course's style, spectra on an energy axis,
maps with color bars, singular values, the simplex, and reciprocal space.

They only style plots; each returns the Matplotlib objects it drew on, so a chapter can
add to them. Images are drawn with ``origin="upper"``: pixel ``(row, col)`` sits at row
``row`` from the top, as in the arrays.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ._validation import as_float_array, check_pair, check_random_state, check_scalar

__all__ = [
    "use_style",
    "colorbar",
    "categorical_cmap",
    "plot_spectra",
    "plot_maps",
    "plot_singular_values",
    "plot_simplex",
    "plot_reciprocal",
    "mark_spots",
]

#: Categorical colors that stay distinct for the common forms of color blindness (Okabe
#: & Ito, "Color Universal Design", 2008): blue, orange, bluish green, vermillion, sky
#: blue, reddish purple, yellow, black.
CATEGORICAL = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#56B4E9",
    "#CC79A7",
    "#F0E442",
    "#000000",
)

#: The course's Matplotlib settings, applied by :func:`use_style`. Figures are drawn at
#: 100 dpi and at most 8 inches wide, so that on a 1400 px page, where the text column
#: shows an image at most 784 px wide, an 11 pt font stays about 15 px and the smallest
#: (``"x-small"``) text above 10 px.
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "figure.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": plt.cycler(color=list(CATEGORICAL)),
    "image.interpolation": "antialiased",
}


def _axes(ax, figsize):
    """``ax``, or new axes on a new figure when it is None; anything else is refused."""
    from matplotlib.axes import Axes

    if ax is None:
        return plt.subplots(figsize=figsize, layout="constrained")[1]
    if not isinstance(ax, Axes):
        raise TypeError(
            f"ax must be a matplotlib Axes or None, got {type(ax).__name__}"
        )
    return ax


def colorbar(mappable, ax, *, label=None, size=0.05, pad=0.03):
    """A colorbar exactly as tall as the axes it belongs to.

    Parameters
    ----------
    mappable : matplotlib.cm.ScalarMappable
        What the colorbar describes, e.g. the image returned by ``ax.imshow``.
    ax : matplotlib Axes
        The axes it stands beside (to the right).
    label : str, optional
        The colorbar's label.
    size, pad : float, default=0.05, 0.03
        Width of the colorbar and its gap from the axes,
        as fractions of the axes' width.

    Returns
    -------
    cbar : matplotlib.colorbar.Colorbar

    See Also
    --------
    plot_maps : maps with these colorbars, one per map.

    Notes
    -----
    ``fig.colorbar(im, ax=ax)`` takes its height from the space the layout gave the
    axes, so beside an image of fixed aspect it comes out taller than the image. Here
    the colorbar is an inset of the axes, ``ax.inset_axes([1 + pad, 0, size, 1])``: its
    height is the axes' own, and constrained layout still makes room for it.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from lectlib.plotting import colorbar
    >>> fig, ax = plt.subplots(layout="constrained")
    >>> cbar = colorbar(ax.imshow(np.eye(4)), ax, label="counts")
    >>> fig.canvas.draw()
    >>> bool(abs(cbar.ax.get_position().height - ax.get_position().height) < 1e-9)
    True
    """
    ax = _axes(ax, None)
    size = check_scalar(size, "size", low=0.0, low_inclusive=False, high=1.0)
    pad = check_scalar(pad, "pad", low=0.0, high=1.0)
    return _colorbar_beside(mappable, ax, label, size, pad)


def _colorbar_beside(mappable, ax, label=None, size=0.05, pad=0.03):
    cax = ax.inset_axes([1 + pad, 0.0, size, 1.0])
    cbar = ax.figure.colorbar(mappable, cax=cax)
    if label:
        cbar.set_label(label)
    return cbar


def categorical_cmap(n):
    """A colormap of ``n`` color-blind-safe categorical colors for label and phase maps.

    Parameters
    ----------
    n : int
        Number of categories, 1 to 8.

    Returns
    -------
    cmap : matplotlib.colors.ListedColormap

    See Also
    --------
    use_style : the same colors as the line color cycle.

    Notes
    -----
    The first ``n`` of Okabe & Ito's eight colors (:data:`CATEGORICAL`); show label
    ``k`` with ``imshow(labels, cmap=categorical_cmap(n), vmin=-0.5, vmax=n - 0.5)``.

    Examples
    --------
    >>> from lectlib.plotting import categorical_cmap
    >>> categorical_cmap(3).N
    3
    """
    from matplotlib.colors import ListedColormap

    n = check_scalar(n, "n", low=1, high=len(CATEGORICAL), integer=True)
    return ListedColormap(list(CATEGORICAL[:n]), name=f"categorical{n}")


def use_style():
    """Apply the course's figure style; in a notebook, also show figures inline.

    Every chapter calls it once, after its imports, so that all figures look the same.
    In a Jupyter kernel it selects the inline backend too: figures then appear in the
    notebook and on the built site whatever ``MPLBACKEND`` says (the test and build
    environments set it to ``Agg``, which would otherwise show nothing).

    See Also
    --------
    matplotlib.pyplot.style.use : for a style of one's own on top.
    plot_spectra : draws in whatever style is set; use_style only sets it.

    Notes
    -----
    ``plt.rcParams.update(STYLE)``: figures at 100 dpi, without top and right spines.
    The inline backend is selected (``%matplotlib inline``) only when IPython runs
    inside a kernel, i.e. in a notebook; in plain Python or an IPython terminal the
    backend is left alone.

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
    except ImportError:  # plain Python: no inline backend to select
        shell = None
    else:
        shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        shell.run_line_magic("matplotlib", "inline")
    plt.rcParams.update(STYLE)


def plot_spectra(
    energy,
    spectra,
    *,
    labels=None,
    ax=None,
    title=None,
    xlabel="Energy (eV)",
    ylabel="Intensity",
    **plot_kw,
):
    """Plot one or several spectra against energy.

    Parameters
    ----------
    energy : array of shape (n_channels,)
    spectra : array of shape (n_channels,) or (n_spectra, n_channels)
    labels : list of str, optional
        One per spectrum; adds a legend.
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    title : str, optional
        Axes title.
    xlabel, ylabel : str, default="Energy (eV)" and "Intensity"
        Axis labels.
    **plot_kw
        Passed to ``Axes.plot`` (e.g. ``lw``, ``ls``, ``color``).

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    plot_maps : the images of a spectrum image, where this draws its spectra.
    plot_singular_values : values against their index on a log scale,
        not against energy.
    lectlib.widgets.cube_browser : the spectrum of any pixel, chosen with sliders.

    Notes
    -----
    One ``Axes.plot`` line per spectrum, in Matplotlib's color cycle; the x axis spans
    the energy range exactly (first to last channel), and a legend is added only with
    ``labels``. A new figure is 6 × 3.2 inches in constrained layout.

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
        raise ValueError(
            f"spectra have {spectra.shape[1]} channels but energy has {energy.size}"
        )
    if labels is not None and (
        isinstance(labels, str) or len(labels) != spectra.shape[0]
    ):
        raise ValueError(
            f"labels must be a sequence of {spectra.shape[0]} labels, one per "
            f"spectrum, got {labels!r}"
        )
    if not energy.max() > energy.min():
        raise ValueError("energy must span a range (its values are all the same)")
    ax = _axes(ax, (6, 3.2))
    for i, spectrum in enumerate(spectra):
        ax.plot(
            energy, spectrum, label=None if labels is None else labels[i], **plot_kw
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(energy.min(), energy.max())
    if title:
        ax.set_title(title)
    if labels is not None:
        ax.legend(fontsize="small", frameon=False)
    return ax


def plot_maps(
    maps,
    *,
    titles=None,
    cmap="viridis",
    vmin=None,
    vmax=None,
    share_scale=False,
    symmetric=False,
    colorbar=True,
    axes=None,
    ncols=None,
    panel_size=2.4,
    suptitle=None,
):
    """Show a stack of maps side by side, each with its own color bar.

    Parameters
    ----------
    maps : array of shape (ny, nx) or (ny, nx, n_maps)
        E.g. abundances or loading maps; the last axis indexes the maps.
    titles : list of str, optional
        One per map.
    cmap : str, default="viridis"
        Colormap.
    vmin, vmax : float, optional
        Color limits for every map.
    share_scale : bool, default=False
        One color range for all maps (their common min and max),
        so they compare directly.
    symmetric : bool, default=False
        A scale centered on zero, from -m to m with m the largest magnitude (of each
        map, or of all with ``share_scale``): for signed maps such as loadings, whose
        zero then takes the middle color of a diverging ``cmap`` (e.g. ``"RdBu_r"``).
    colorbar : bool, default=True
        A color bar beside every map.
    axes : sequence of Axes, optional
        Where to draw; a new figure is made when omitted.
    ncols : int, optional
        Panels per row of a new figure (default: all in one row, up to 4).
    panel_size : float, default=2.4
        Width of one panel of a new figure, in inches.
    suptitle : str, optional
        Title of the whole figure.

    Returns
    -------
    fig : matplotlib Figure

    See Also
    --------
    plot_spectra : the spectra, where this draws the images.
    lectlib.widgets.cube_browser : one energy image at a time, chosen with a slider.
    plot_reciprocal : a sliding-FFT descriptor as a reciprocal-space image.

    Notes
    -----
    ``imshow`` with ``origin="upper"`` and ``interpolation="nearest"``, so every pixel
    is a square at its ``(row, col)`` place; ticks are removed. Without ``share_scale``
    or limits each map is scaled to its own min and max. A new figure has
    ``min(n_maps, 4)`` columns unless ``ncols`` says otherwise; unused panels of the
    last row are hidden.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.plotting import plot_maps
    >>> maps = np.random.default_rng(0).random((8, 8, 3))
    >>> fig = plot_maps(maps, titles=["a", "b", "c"])
    >>> len(fig.axes), [len(ax.child_axes) for ax in fig.axes]  # a colorbar per map
    (3, [1, 1, 1])
    >>> fig = plot_maps(maps - 0.5, cmap="RdBu_r", symmetric=True)
    >>> lo, hi = fig.axes[0].images[0].get_clim()
    >>> bool(-lo == hi == np.abs(maps[:, :, 0] - 0.5).max())
    True
    """
    maps = as_float_array(maps, "maps", ndim=(2, 3))
    if maps.ndim == 2:
        maps = maps[:, :, None]
    n = maps.shape[2]
    if titles is not None and (isinstance(titles, str) or len(titles) != n):
        raise ValueError(
            f"titles must be a sequence of {n} titles, one per map, got {titles!r}"
        )
    vmin = None if vmin is None else check_scalar(vmin, "vmin")
    vmax = None if vmax is None else check_scalar(vmax, "vmax")
    if axes is None:
        ncols = (
            min(n, 4)
            if ncols is None
            else check_scalar(ncols, "ncols", low=1, high=n, integer=True)
        )
        panel_size = check_scalar(
            panel_size, "panel_size", low=0.0, low_inclusive=False, high=100.0
        )
        nrows = int(np.ceil(n / ncols))
        fig, grid = plt.subplots(
            nrows,
            ncols,
            figsize=(panel_size * ncols, panel_size * 0.95 * nrows),
            layout="constrained",
            squeeze=False,
        )
        for ax in grid.ravel()[n:]:
            ax.set_visible(False)
        axes = grid.ravel()[:n]
    else:
        axes = list(np.ravel(np.asarray(axes, dtype=object)))
        if len(axes) < n:
            raise ValueError(f"got {len(axes)} axes for {n} maps")
        for ax in axes[:n]:
            _axes(ax, None)
        fig = axes[0].figure
    if symmetric and (vmin is not None or vmax is not None):
        raise ValueError("symmetric takes its limits from the maps: omit vmin, vmax")
    if share_scale:
        vmin = maps.min() if vmin is None else vmin
        vmax = maps.max() if vmax is None else vmax
    for i, ax in enumerate(axes[:n]):
        lo, hi = vmin, vmax
        if symmetric:
            hi = np.abs(maps if share_scale else maps[:, :, i]).max()
            lo = -hi
        im = ax.imshow(
            maps[:, :, i],
            cmap=cmap,
            vmin=lo,
            vmax=hi,
            origin="upper",
            interpolation="nearest",
        )
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize="medium")
        if colorbar:
            _colorbar_beside(im, ax)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_singular_values(values, *, ax=None, label=None, n_marked=None, **plot_kw):
    """Singular values (or eigenvalues) against their index, log scale: a scree plot.

    Parameters
    ----------
    values : array of shape (n,)
        Plotted in the order given (descending, as :func:`lectlib.decomposition.pca`
        returns them).
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    label : str, optional
        Legend entry; adds a legend.
    n_marked : int, optional
        Draw a vertical line after the first ``n_marked`` values (e.g. the true number
        of components).
    **plot_kw
        Passed to ``Axes.semilogy`` (e.g. ``color``).

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    lectlib.decomposition.n_above_noise : counts the values above the noise edge,
        not by eye.
    lectlib.decomposition.pca : the ``singular_values`` and ``eigenvalues`` to plot.
    plot_spectra : curves against energy on a linear scale.

    Notes
    -----
    Value i is drawn at x = i (from 1) with ``Axes.semilogy``; zeros and negative values
    are raised to the smallest positive float (about 2.2e-308), so an exact rank shows
    as a drop, not a gap. The mark is a dotted line at ``n_marked + 0.5``. The y axis is
    labeled "singular value" whatever is plotted; set it with ``ax.set_ylabel`` for
    eigenvalues.

    Examples
    --------
    >>> from lectlib.plotting import plot_singular_values
    >>> ax = plot_singular_values([10.0, 3.0, 1e-3], n_marked=2)
    >>> ax.get_yscale()
    'log'
    """
    values = as_float_array(values, "values", ndim=1)
    if n_marked is not None:
        n_marked = check_scalar(
            n_marked, "n_marked", low=0, high=values.size, integer=True
        )
    ax = _axes(ax, (4, 3))
    index = np.arange(1, values.size + 1)
    ax.semilogy(
        index,
        np.maximum(values, np.finfo(float).tiny),
        "o-",
        ms=3,
        label=label,
        **plot_kw,
    )
    if n_marked is not None:
        ax.axvline(n_marked + 0.5, color="0.5", ls=":", lw=1)
    ax.set_xlabel("index")
    ax.set_ylabel("singular value")
    if label:
        ax.legend(fontsize="small", frameon=False)
    return ax


def plot_simplex(X, vertices=None, *, ax=None, max_points=4000, random_state=0):
    """The data cloud and simplex vertices in the plane of its first two principal axes.

    Parameters
    ----------
    X : array of shape (n_samples, n_channels)
        Spectra, one per row (at most ``max_points`` of them,
        drawn at random, are shown).
    vertices : dict of str to array of shape (k, n_channels), optional
        Sets of endmembers to mark, e.g. ``{"truth": W, "N-FINDR": model.endmembers_}``;
        the first set is joined in order as a closed polygon (for three endmembers, the
        edges of the simplex in this projection).
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    max_points : int, default=4000
        Most pixels drawn.
    random_state : int, default=0
        Which points are shown when there are more than ``max_points``.

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    lectlib.unmixing.simplex_projection : the coordinates, without the figure.
    lectlib.unmixing.NFINDR : finds the vertices this marks.
    plot_singular_values : how many dimensions the cloud has,
        where this shows two of them.

    Notes
    -----
    The axes and center come from :func:`lectlib.unmixing.simplex_projection` of all of
    ``X`` (before any subsampling), and every set of vertices is projected on the same
    axes, so they sit where they belong in the cloud. Pixels are small gray dots; the
    sets of vertices are drawn as hollow circles, then x, +, squares, ..., each in its
    own color.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.plotting import plot_simplex
    >>> rng = np.random.default_rng(0)
    >>> W = rng.uniform(0, 1, (3, 10))
    >>> ax = plot_simplex(rng.dirichlet([1, 1, 1], 300) @ W, {"truth": W})
    >>> ax.get_xlabel()
    'PC 1'
    """
    from .unmixing import simplex_projection

    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] < 2 or X.shape[1] < 2:
        raise ValueError(
            f"the simplex plane needs at least 2 spectra of at least 2 channels, "
            f"got X of shape {X.shape}"
        )
    if vertices is not None and not isinstance(vertices, dict):
        raise TypeError(
            "vertices must be a dict of name -> endmembers (k, n_channels), got "
            f"{type(vertices).__name__}"
        )
    max_points = check_scalar(max_points, "max_points", low=1, integer=True)
    rng = check_random_state(random_state)
    ax = _axes(ax, (4, 3.6))
    xy, center, axes = simplex_projection(X, 2)
    shown = xy
    if xy.shape[0] > max_points:
        pick = rng.choice(xy.shape[0], max_points, replace=False)
        shown = xy[pick]
    ax.scatter(
        shown[:, 0],
        shown[:, 1],
        s=2,
        color="0.6",
        alpha=0.5,
        linewidths=0,
        label="pixels",
    )
    markers = ["o", "x", "+", "s", "^", "v", "D"]
    for i, (name, E) in enumerate((vertices or {}).items()):
        E = as_float_array(E, f"vertices[{name!r}]", ndim=2)
        v, _, _ = simplex_projection(E, center=center, components=axes)
        if i == 0 and v.shape[0] >= 3:
            ring = np.vstack([v, v[:1]])
            ax.plot(ring[:, 0], ring[:, 1], color=f"C{i}", lw=1, alpha=0.6)
        ax.scatter(
            v[:, 0],
            v[:, 1],
            s=60 if i == 0 else 45,
            marker=markers[i % len(markers)],
            color=f"C{i}",
            facecolors="none" if i == 0 else None,
            label=name,
            zorder=3,
        )
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.legend(fontsize="small", frameon=False, markerscale=1)
    return ax


def plot_reciprocal(
    model,
    features,
    *,
    ax=None,
    title=None,
    cmap="magma",
    symmetric=False,
    spots=None,
    spot_color="w",
):
    """A sliding-FFT descriptor (or component) as a centered reciprocal-space image.

    Parameters
    ----------
    model : lectlib.sliding.SlidingFFT
        The fitted transform that made the features (it knows their frequencies).
    features : array_like of shape (n_features,)
        One descriptor, endmember or eigenvector.
    ax : matplotlib Axes, optional
        Drawn on a new figure when omitted.
    title : str, optional
    cmap : str, default="magma"
        Colormap.
    symmetric : bool, default=False
        A diverging scale centered on zero (for eigenvectors and ICA components, which
        have both signs); otherwise the scale starts at zero (magnitudes).
    spots : array_like of shape (n_spots, 2), optional
        ``(k_row, k_col)`` positions to circle, e.g. predicted Bragg spots; each is
        circled with its opposite ``-k`` (the magnitude of a real image's transform is
        centrosymmetric).
    spot_color : color, default="w"
        Color of the circles.

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    lectlib.sliding.SlidingFFT.to_reciprocal : the image this draws, as an array.
    mark_spots : the circles alone, on any reciprocal-space axes.
    lectlib.lattice.bragg_spots : where a lattice's spots are.
    plot_maps : images in real space, by pixel.

    Notes
    -----
    ``model.to_reciprocal`` mirrors the half plane the model keeps through k = 0 into
    the full, centrosymmetric picture, k_col to the right and k_row downward. Each pixel
    is one FFT bin, ``1 / wy`` by ``1 / wx`` cycles per pixel for a window ``(wy, wx)``,
    drawn centered on its frequency (the picture reaches half a bin beyond the outermost
    frequency), so the circles of :func:`mark_spots` sit on the bins of the frequencies
    they mark. Ticks are removed.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.plotting import plot_reciprocal
    >>> from lectlib.sliding import SlidingFFT
    >>> x = np.arange(64.0)
    >>> image = np.cos(2 * np.pi * x / 8)[None, :] * np.ones((64, 1))
    >>> fft = SlidingFFT(32, 16, log=False, crop=8).fit(image)
    >>> ax = plot_reciprocal(fft, fft.transform(image)[0], spots=[[0.0, 0.125]])
    >>> len(ax.images), len(ax.collections[0].get_offsets())  # a spot and its opposite
    (1, 2)
    >>> ax.images[0].get_extent()  # 17 bins of 1/32 on each axis, centered on k = 0
    [-0.265625, 0.265625, 0.265625, -0.265625]
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model)
    features = as_float_array(features, "features", ndim=1)
    picture = model.to_reciprocal(features)
    ax = _axes(ax, (3, 3))
    # The picture is symmetric about k = 0 with one bin of 1/w per pixel: its edges lie
    # half a bin beyond the outermost frequencies.
    wy, wx = check_pair(model.window, "window", integer=True, low=1, broadcast=True)
    half_y, half_x = picture.shape[0] / (2 * wy), picture.shape[1] / (2 * wx)
    limits = dict(vmin=0)
    if symmetric:
        v = float(np.abs(picture).max())
        limits = dict(vmin=-v, vmax=v)
    ax.imshow(picture, cmap=cmap, extent=(-half_x, half_x, half_y, -half_y), **limits)
    ax.set(xticks=[], yticks=[])
    if spots is not None:
        mark_spots(ax, spots, color=spot_color)
    if title:
        ax.set_title(title, fontsize="medium")
    return ax


def mark_spots(ax, spots, *, color="w", size=110, lw=0.8):
    """Circle reciprocal-space positions and their opposites on (k_col, k_row) axes.

    Parameters
    ----------
    ax : matplotlib Axes
        Showing reciprocal space with k_col along x and k_row along y (as
        :func:`plot_reciprocal` draws it).
    spots : array_like of shape (n_spots, 2)
        ``(k_row, k_col)`` in cycles per pixel; ``-k`` is circled too.
    color : color, default="w"
        Color of the circles.
    size : float, default=110
        Marker area in points².
    lw : float, default=0.8
        Line width of the circles.

    Returns
    -------
    collection : matplotlib PathCollection
        One hollow circle per distinct position.

    See Also
    --------
    plot_reciprocal : a descriptor with its spots circled.
    lectlib.lattice.bragg_spots : the positions of a lattice's spots, to pass here.

    Notes
    -----
    The magnitude of a real image's Fourier transform is centrosymmetric, so a spot at k
    has a twin at −k. The positions and their opposites are rounded to 12 decimals and
    duplicates dropped, so k = 0, or a list that already holds both ±k, gives one circle
    per place. The circles are one ``Axes.scatter`` with ``(k_col, k_row)`` as (x, y).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from lectlib.plotting import mark_spots
    >>> _, ax = plt.subplots()
    >>> len(mark_spots(ax, [[0.1, 0.0], [0.0, 0.1]]).get_offsets())
    4
    """
    ax = _axes(ax, None) if ax is not None else None
    if ax is None:
        raise TypeError("ax must be the matplotlib Axes to draw on, got None")
    spots = as_float_array(spots, "spots", ndim=2)
    if spots.shape[1] != 2:
        raise ValueError(f"spots must have shape (n_spots, 2), got {spots.shape}")
    size = check_scalar(size, "size", low=0.0, low_inclusive=False)
    lw = check_scalar(lw, "lw", low=0.0)
    both = np.unique(np.round(np.vstack([spots, -spots]), 12) + 0.0, axis=0)
    return ax.scatter(
        both[:, 1], both[:, 0], s=size, facecolors="none", edgecolors=color, lw=lw
    )
