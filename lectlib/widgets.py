"""Sliders over precomputed figures: the one widget helper of the course.

Every slider in the course is made by :func:`interact`. It draws the figure once for
every slider value when the cell runs, and lets the slider choose among those frames:

* with ipywidgets 8 (JupyterLab, Notebook 7, Binder, the built site) the frames sit in a
  ``Stack`` whose visible child is linked to the slider *in the browser* (``jslink``),
  so moving the slider needs no kernel. The built HTML site embeds the widgets' state,
  and the same slider keeps working there, where no Python runs;
* with ipywidgets 7.7 (Google Colab), which has no ``Stack``,
  a kernel callback swaps the frame.

Precomputing trades a few seconds when the cell runs for a slider that responds
instantly and behaves identically everywhere. Keep the grids small: the number of frames
is the product of the number of values of every slider.
"""

from __future__ import annotations

import html
import io
import itertools
import numbers

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ._validation import as_float_array, check_scalar

__all__ = [
    "interact",
    "FrameSlider",
    "cube_browser",
    "figure_to_png",
    "glue",
    "HAS_STACK",
]

#: Whether this ipywidgets has ``Stack`` (8.0+); without it, sliders need a kernel.
HAS_STACK = hasattr(widgets, "Stack")


def glue(name, value):
    """Record a computed number for the page's prose, and return it unchanged.

    On the built site the text cites it as ``{glue:text}`name:.2f``` (MyST-NB's
    ``glue``), so every number in the prose is the one the notebook computed. Where
    MyST-NB is not installed (Google Colab, a plain Jupyter), nothing is recorded and
    the cell still runs.

    Parameters
    ----------
    name : str
        The key the prose refers to.
    value : object
        The value; numbers are formatted by the prose's format spec.

    Returns
    -------
    object
        ``value``, so that ``x = glue("x", compute())`` reads naturally.

    See Also
    --------
    interact : a figure that changes with a slider, where this is one number.

    Notes
    -----
    The value is stored with ``display=False``: it shows only where the prose cites it.

    Examples
    --------
    >>> from lectlib.widgets import glue
    >>> glue("answer", 42)
    42
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - Colab, plain Jupyter
        return value
    if get_ipython() is not None:  # outside a kernel there is no page to glue into
        # a numpy scalar would be shown as "np.float64(...)": glue the Python number
        shown = value.item() if isinstance(value, np.generic) else value
        myst_glue(name, shown, display=False)
    return value


def figure_to_png(fig, dpi=100, *, colors=None):
    """Render a Matplotlib figure to PNG bytes (and leave the figure open).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to render.
    dpi : float, default=100
        Resolution: a figure of ``w × h`` inches becomes ``w·dpi × h·dpi`` pixels.
    colors : int, optional
        Store the image with a palette of at most this many colors (2 to 256): a plot
        has few colors, and a palette PNG of it is about three times smaller, with no
        visible difference except slight banding in smooth color gradients. By default
        every color is kept.

    Returns
    -------
    png : bytes
        The PNG file, starting with the signature ``b"\\x89PNG\\r\\n\\x1a\\n"``.

    See Also
    --------
    interact : renders one figure per slider value this way and shows them with sliders.
    FrameSlider : the widget that holds such frames, keyed by slider positions.

    Notes
    -----
    ``fig.savefig`` into an in-memory buffer. The ``Software`` metadata (which names the
    Matplotlib version) is left out, so the file holds the image alone, and the same
    figure gives the same bytes. The figure stays open: closing it is the caller's
    choice.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from lectlib.widgets import figure_to_png
    >>> fig, ax = plt.subplots(figsize=(2, 1))
    >>> _ = ax.plot([0, 1], [0, 1])
    >>> png = figure_to_png(fig, dpi=72)
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", png == figure_to_png(fig, dpi=72)
    (True, True)
    >>> len(figure_to_png(fig, dpi=72, colors=16)) < len(png)  # a 16-color palette
    True
    >>> width, height = png[16:20], png[20:24]  # from the PNG header
    >>> int.from_bytes(width, "big"), int.from_bytes(height, "big")
    (144, 72)
    >>> plt.close(fig)
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    dpi = check_scalar(dpi, "dpi", low=10, high=600)
    if colors is not None:
        colors = check_scalar(colors, "colors", low=2, high=256, integer=True)
    buf = io.BytesIO()
    if colors is None:
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        return buf.getvalue()
    from PIL import Image

    # Raw RGBA pixels, not a PNG to decode again: the encoding is most of the time of a
    # frame after drawing it.
    fig.savefig(buf, format="rgba", dpi=dpi)
    image = _rgba_image(buf.getvalue(), fig.get_size_inches() * dpi)
    if image is None:  # a cropped size (savefig.bbox = "tight"): read the PNG instead
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        image = Image.open(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    image.convert("RGB").quantize(colors, method=Image.Quantize.MEDIANCUT).save(
        out, format="PNG"
    )
    return out.getvalue()


def _rgba_image(raw, size):
    """A PIL image of raw RGBA bytes of a figure of ``size`` (w, h) pixels, or None.

    Agg truncates the figure's size in pixels, which may be one less than its rounded
    value; None when neither width fits the bytes (e.g. a cropped figure).
    """
    from PIL import Image

    n = len(raw) // 4
    for w in dict.fromkeys((int(size[0]), int(round(size[0])))):
        if w > 0 and n % w == 0 and abs(n // w - size[1]) < 1:
            return Image.frombuffer("RGBA", (w, n // w), raw, "raw", "RGBA", 0, 1)
    return None


#: Frames are rendered at this multiple of their on-page resolution, for HiDPI screens.
HIDPI = 2
#: Colors kept in a frame (a palette PNG, about a third of a full-color one's size).
FRAME_COLORS = 256


def _render(draw, kwargs, dpi):
    """The frame's PNG, rendered at ``HIDPI × dpi``, and its on-page width in pixels."""
    before = set(plt.get_fignums())
    result = draw(**kwargs)
    try:
        if isinstance(result, Figure):
            fig = result
        elif hasattr(result, "figure") and isinstance(result.figure, Figure):
            fig = result.figure
        elif set(plt.get_fignums()) - before:
            fig = plt.gcf()
        else:
            raise TypeError(
                "draw must return a matplotlib Figure (or Axes), or create one with "
                "pyplot; "
                f"it returned {type(result).__name__}"
            )
        width = int(round(fig.get_size_inches()[0] * dpi))
        return figure_to_png(fig, HIDPI * dpi, colors=FRAME_COLORS), width
    finally:
        # Frames live as PNG; closing keeps the inline backend from showing them all.
        for num in set(plt.get_fignums()) - before:
            plt.close(num)
        if isinstance(result, Figure):
            plt.close(result)


def _label(value, fmt):
    if callable(fmt):
        return str(fmt(value))
    if fmt is not None:
        return fmt.format(value)
    if isinstance(value, numbers.Integral):
        return str(value)
    if isinstance(value, numbers.Real):
        return f"{value:g}"
    return str(value)


def _mapping(value, name):
    """None or a dict (slider name -> setting), as a dict."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(
            f"{name} must be a dict of slider name -> setting, got "
            f"{type(value).__name__}"
        )
    return dict(value)


class FrameSlider(widgets.VBox):
    """Sliders above a figure, choosing among frames drawn in advance.

    Made by :func:`interact`; see there. An ipywidgets ``VBox``: one row per slider
    (label and ``SelectionSlider``), then the frame.

    Parameters
    ----------
    draw : callable
        ``draw(**values)`` makes one figure and returns it (a Figure, or an Axes of it).
    parameters : dict
        Slider name -> sequence of the values it steps through, in order.
    descriptions, initial, formats : dict, optional
        As in :func:`interact`.
    dpi : float, default=100
        Resolution of the frames on the page, between 10 and 300: a figure ``w`` inches
        wide is shown ``w × dpi`` pixels wide (or narrower, on a narrow screen),
        rendered at twice that so that it stays sharp on HiDPI screens, and stored as a
        palette PNG.

    Attributes
    ----------
    sliders : dict
        Name -> ``SelectionSlider``; a slider's ``index`` is the position of its value.
    values : dict
        Name -> list of the values the slider takes.
    frames : dict
        Tuple of slider indices (in parameter order) -> the frame's PNG bytes.
    links : list
        The browser-side links between sliders and frame stacks
        (empty without ``Stack``).

    See Also
    --------
    interact : the same, with the sliders as keyword arguments; the way to make one.
    cube_browser : two ready-made FrameSliders over a spectrum image.
    figure_to_png : how each frame is rendered.

    Notes
    -----
    ``draw`` is called once for every combination of slider values (at most 400 frames),
    and each figure is rendered to PNG and closed. With ``Stack`` (ipywidgets 8) the
    frames sit in nested Stacks, one level per slider, whose ``selected_index`` is
    jslinked to that slider's ``index``: the browser switches frames with no kernel, on
    the static site too. Without it (ipywidgets 7), one ``Image`` shows the frame and a
    kernel callback swaps it. :meth:`current_frame` gives the PNG the sliders select.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from lectlib.widgets import FrameSlider
    >>> def draw(width):
    ...     fig, ax = plt.subplots(figsize=(2, 1))
    ...     ax.axvspan(0, width)
    ...     return fig
    >>> w = FrameSlider(draw, {"width": [0.2, 0.5, 1.0]}, initial={"width": 0.5})
    >>> len(w.frames), w.sliders["width"].index, w.current_frame() == w.frames[(1,)]
    (3, 1, True)
    >>> w.sliders["width"].index = 2
    >>> w.current_frame() == w.frames[(2,)], w.current_frame()[:4]
    (True, b'\\x89PNG')
    """

    def __init__(
        self,
        draw,
        parameters,
        *,
        descriptions=None,
        initial=None,
        formats=None,
        dpi=100,
    ):
        if not callable(draw):
            raise TypeError(f"draw must be callable, got {type(draw).__name__}")
        if not isinstance(parameters, dict) or not parameters:
            raise ValueError(
                "give at least one slider, e.g. interact(draw, noise=[0.1, 0.2])"
            )
        for name, vals in parameters.items():
            if isinstance(vals, (str, bytes)) or not hasattr(vals, "__iter__"):
                raise TypeError(
                    f"slider {name!r} needs a sequence of values, got {vals!r}"
                )
        descriptions = _mapping(descriptions, "descriptions")
        initial = _mapping(initial, "initial")
        formats = _mapping(formats, "formats")
        for name, text in descriptions.items():
            if not isinstance(text, str):
                raise TypeError(
                    f"descriptions[{name!r}] must be a string, got {text!r}"
                )
        for name, fmt in formats.items():
            if not (isinstance(fmt, str) or callable(fmt)):
                raise TypeError(
                    f"formats[{name!r}] must be a format string or a function, "
                    f"got {fmt!r}"
                )
        for extra in (set(descriptions) | set(initial) | set(formats)) - set(
            parameters
        ):
            raise ValueError(f"{extra!r} is not one of the sliders {list(parameters)}")
        dpi = check_scalar(dpi, "dpi", low=10, high=300)

        names = list(parameters)
        values = {}
        start = []
        for name in names:
            vals = list(parameters[name])
            if len(vals) == 0:
                raise ValueError(f"slider {name!r} has no values")
            labels = [_label(v, formats.get(name)) for v in vals]
            if len(set(labels)) != len(labels):
                raise ValueError(
                    f"slider {name!r} has repeated values or labels: {labels}"
                )
            values[name] = vals
            if name in initial:
                matches = [i for i, v in enumerate(vals) if v == initial[name]]
                if not matches:
                    raise ValueError(
                        f"initial value {initial[name]!r} of {name!r} is not among "
                        f"{vals}"
                    )
                start.append(matches[0])
            else:
                start.append(0)
        n_frames = int(np.prod([len(values[n]) for n in names]))
        if n_frames > 400:
            raise ValueError(
                f"{n_frames} frames are too many to precompute; use fewer slider values"
            )

        self.values = values
        self.frames = {}
        self.widths = {}
        for index in itertools.product(*(range(len(values[n])) for n in names)):
            kwargs = {n: values[n][i] for n, i in zip(names, index)}
            self.frames[index], self.widths[index] = _render(draw, kwargs, dpi)

        self.sliders = {}
        rows = []
        for name, i0 in zip(names, start):
            # The label is a separate HTML widget: a slider's own description is typeset
            # with the MathJax 2 API by the embed manager, which fails on a MathJax 3
            # page.
            label = widgets.HTML(
                value=html.escape(descriptions.get(name, name.replace("_", " "))),
                layout=widgets.Layout(
                    width="auto", min_width="7em", margin="0 0.6em 0 0"
                ),
            )
            self.sliders[name] = widgets.SelectionSlider(
                options=[
                    (_label(v, formats.get(name)), i)
                    for i, v in enumerate(values[name])
                ],
                value=i0,
                description="",
                continuous_update=True,
                layout=widgets.Layout(width="100%", max_width="440px"),
            )
            rows.append(widgets.HBox([label, self.sliders[name]]))
        self.links = []
        if HAS_STACK:
            display = self._stack(names, (), start)
        else:
            display = self._image(tuple(start))
            for slider in self.sliders.values():
                slider.observe(
                    lambda change, image=display: setattr(
                        image, "value", self.current_frame()
                    ),
                    names="index",
                )
        super().__init__(children=rows + [display])

    def _stack(self, names, prefix, start):
        level = len(prefix)
        if level == len(names):
            return self._image(prefix)
        children = [
            self._stack(names, prefix + (i,), start)
            for i in range(len(self.values[names[level]]))
        ]
        stack = widgets.Stack(children=children, selected_index=start[level])
        self.links.append(
            widgets.jslink(
                (self.sliders[names[level]], "index"), (stack, "selected_index")
            )
        )
        return stack

    def _image(self, index):
        # Shown at its on-page width, and narrower when the screen is (phones).
        return widgets.Image(
            value=self.frames[index],
            format="png",
            width=str(self.widths[index]),
            layout=widgets.Layout(max_width="100%", height="auto"),
        )

    def current_frame(self):
        """PNG bytes of the frame the sliders select now."""
        return self.frames[tuple(s.index for s in self.sliders.values())]

    def _repr_mimebundle_(self, **kwargs):
        # Renderers without a widget manager (GitHub's preview, nbconvert without state)
        # show the current frame instead of "FrameSlider(...)". (ipywidgets 7 displays
        # through _ipython_display_ instead and never calls this.)
        parent = getattr(super(), "_repr_mimebundle_", None)
        bundle = parent(**kwargs) if parent is not None else {"text/plain": repr(self)}
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data["image/png"] = self.current_frame()
        return bundle


def interact(
    draw, *, descriptions=None, initial=None, formats=None, dpi=100, **parameters
):
    """A figure with sliders that works with a kernel and on the static site alike.

    Like ``ipywidgets.interact``, but every frame is drawn when the cell runs, so moving
    a slider only shows a frame: instantly, and also on the built HTML pages, where no
    kernel runs.

    Parameters
    ----------
    draw : callable
        ``draw(**values)`` makes one figure and returns it (a Figure, or an Axes of it);
        it is rendered to PNG and closed.
    descriptions : dict, optional
        Slider labels by parameter name (default: the name, underscores as spaces).
    initial : dict, optional
        Starting value by parameter name (default: each slider's first value).
    formats : dict, optional
        Read-out of each slider: a format string such as ``{"snr_db": "{:.0f} dB"}`` or
        a function from value to label.
    dpi : int, default=100
        Resolution of the frames on the page (see :class:`FrameSlider`).
    **parameters : sequence
        One slider per keyword: the values it steps through.

    Returns
    -------
    FrameSlider
        An ipywidgets ``VBox``; show it by making it the last expression of a cell.

    See Also
    --------
    FrameSlider : the widget returned;
        takes the sliders as one dict instead of keywords.
    cube_browser : sliders over a spectrum image's pixels and energies, ready-made.
    figure_to_png : renders one figure, without sliders.
    ipywidgets.interact : redraws on every move, so it needs a running kernel.

    Notes
    -----
    ``draw`` runs once for every combination of slider values when the cell runs — the
    product of the slider lengths, at most 400 — and every figure it makes is rendered
    to PNG and closed, so the notebook shows only the widget. Moving a slider then only
    selects a frame (see :class:`FrameSlider` for how). Default read-outs: integers as
    they are, other numbers with ``{:g}``, anything else with ``str``; they must be
    distinct within a slider.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from lectlib.widgets import interact
    >>> def draw(width):
    ...     fig, ax = plt.subplots(figsize=(2, 1))
    ...     ax.axvspan(0, width)
    ...     return fig
    >>> w = interact(draw, width=[0.2, 0.5, 1.0])
    >>> len(w.frames), w.sliders["width"].index
    (3, 0)
    """
    return FrameSlider(
        draw,
        parameters,
        descriptions=descriptions,
        initial=initial,
        formats=formats,
        dpi=dpi,
    )


def cube_browser(
    cube,
    energy,
    *,
    reference=None,
    n_energies=12,
    n_positions=5,
    window=1,
    cmap="viridis",
    dpi=100,
):
    """Browse a spectrum image by pixel and by energy, with sliders.

    Two figures: the spectrum at a pixel chosen by ``row`` and ``col`` sliders (on a
    coarse grid of ``n_positions`` x ``n_positions`` pixels), and the image at an energy
    chosen by an energy slider (``n_energies`` evenly spaced channels, averaged over
    ``2 * window + 1`` channels).

    Parameters
    ----------
    cube : array_like, shape (ny, nx, n_channels)
        The spectrum image.
    energy : array_like, shape (n_channels,)
        Energy of each channel, in eV.
    reference : array_like, shape (ny, nx, n_channels), optional
        A second cube drawn dashed in the pixel view, e.g. the noise-free data or a fit.
    n_energies, n_positions : int, default=12 and 5
        Slider steps (frames: ``n_positions**2 + n_energies``).
    window : int, default=1
        Half-width, in channels, of the energy slice.
    cmap : str, default="viridis"
        Colormap of the energy images (the pixel view's map of total counts is gray).
    dpi : int, default=100
        Resolution of the frames on the page (see :class:`FrameSlider`).

    Returns
    -------
    ipywidgets.VBox
        ``.pixel`` and ``.energy`` are the two :class:`FrameSlider`.

    See Also
    --------
    interact : sliders over any figure; this function is two calls of it.
    lectlib.plotting.plot_spectra : chosen spectra in one static figure,
        without sliders.
    lectlib.plotting.plot_maps : chosen images side by side, without sliders.

    Notes
    -----
    The positions are the centers of ``n_positions`` equal strips along each image axis,
    and the channels the centers of ``n_energies`` equal strips of the channels at least
    ``window`` from either end, so all are distinct. Every pixel frame shares one
    intensity range (that of the data and the reference, padded by 5 % at each end), so
    spectra compare from frame to frame. Both views start in the middle of their
    sliders.

    Examples
    --------
    >>> import numpy as np
    >>> from lectlib.widgets import cube_browser
    >>> cube = np.random.default_rng(0).random((10, 12, 30))
    >>> b = cube_browser(cube, np.linspace(0, 29, 30), n_energies=3, n_positions=2)
    >>> len(b.pixel.frames), len(b.energy.frames)
    (4, 3)
    """
    from .plotting import colorbar

    cube = as_float_array(cube, "cube", ndim=3)
    energy = as_float_array(energy, "energy", ndim=1)
    ny, nx, c = cube.shape
    if energy.size != c:
        raise ValueError(f"cube has {c} channels but energy has {energy.size}")
    if reference is not None:
        reference = as_float_array(reference, "reference", ndim=3)
        if reference.shape != cube.shape:
            raise ValueError(
                f"reference has shape {reference.shape}, cube {cube.shape}"
            )
    n_positions = check_scalar(n_positions, "n_positions", low=1, integer=True)
    if n_positions > min(ny, nx):
        raise ValueError(f"n_positions={n_positions} exceeds the image size {(ny, nx)}")
    window = check_scalar(window, "window", low=0, integer=True)
    if 2 * window + 1 > c:
        raise ValueError(
            f"a slice of 2 * window + 1 = {2 * window + 1} channels does not fit in {c}"
        )
    n_energies = check_scalar(
        n_energies, "n_energies", low=1, high=c - 2 * window, integer=True
    )

    # The centers of n equal strips: at least one pixel (channel) apart,
    # so all distinct.
    rows = np.floor((np.arange(n_positions) + 0.5) * ny / n_positions).astype(int)
    cols = np.floor((np.arange(n_positions) + 0.5) * nx / n_positions).astype(int)
    usable = c - 2 * window
    channels = window + np.floor(
        (np.arange(n_energies) + 0.5) * usable / n_energies
    ).astype(int)
    total = cube.sum(axis=2)
    lo, hi = cube.min(), cube.max()
    if reference is not None:
        lo, hi = min(lo, reference.min()), max(hi, reference.max())
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    mean_spectrum = cube.mean(axis=(0, 1))

    def draw_pixel(row, col):
        fig, (ax_map, ax_spec) = plt.subplots(
            1, 2, figsize=(7.8, 3), width_ratios=(1, 2.2), layout="constrained"
        )
        ax_map.imshow(total, cmap="gray", origin="upper")
        ax_map.plot(col, row, "+", color="tab:red", ms=14, mew=2)
        ax_map.set_title(f"pixel (row {row}, col {col})", fontsize="medium")
        ax_map.set_xticks([])
        ax_map.set_yticks([])
        ax_spec.plot(energy, cube[row, col], color="tab:blue", lw=1, label="data")
        if reference is not None:
            ax_spec.plot(
                energy, reference[row, col], "--", color="k", lw=1.2, label="reference"
            )
            ax_spec.legend(frameon=False, loc="upper right")
        ax_spec.set_ylim(lo - pad, hi + pad)
        ax_spec.set_xlim(energy[0], energy[-1])
        ax_spec.set_xlabel("Energy (eV)")
        ax_spec.set_ylabel("Intensity")
        return fig

    def draw_energy(channel):
        fig, (ax_map, ax_spec) = plt.subplots(
            1, 2, figsize=(7.8, 3), width_ratios=(1, 2.2), layout="constrained"
        )
        image = cube[:, :, channel - window : channel + window + 1].mean(axis=2)
        im = ax_map.imshow(image, cmap=cmap, origin="upper")
        colorbar(im, ax_map)
        ax_map.set_title(f"image at {energy[channel]:.1f} eV", fontsize="medium")
        ax_map.set_xticks([])
        ax_map.set_yticks([])
        ax_spec.plot(energy, mean_spectrum, color="k", lw=1)
        ax_spec.axvspan(
            energy[channel - window],
            energy[channel + window],
            color="tab:orange",
            alpha=0.6,
        )
        ax_spec.set_xlim(energy[0], energy[-1])
        ax_spec.set_xlabel("Energy (eV)")
        ax_spec.set_ylabel("Mean intensity")
        return fig

    pixel = interact(
        draw_pixel,
        row=[int(r) for r in rows],
        col=[int(c_) for c_ in cols],
        dpi=dpi,
        initial={"row": int(rows[len(rows) // 2]), "col": int(cols[len(cols) // 2])},
    )
    energy_view = interact(
        draw_energy,
        channel=[int(ch) for ch in channels],
        dpi=dpi,
        descriptions={"channel": "energy"},
        initial={"channel": int(channels[len(channels) // 2])},
        formats={"channel": lambda ch: f"{energy[ch]:.1f} eV"},
    )
    box = widgets.VBox([pixel, energy_view])
    box.pixel = pixel
    box.energy = energy_view
    return box
