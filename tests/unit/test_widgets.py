"""Tests of lectlib.widgets: sliders over precomputed frames,
with and without ipywidgets Stack."""

from __future__ import annotations

import itertools
from collections import Counter

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
from ipywidgets.widgets.widget_link import Link  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import lectlib.widgets as lw  # noqa: E402
from lectlib.widgets import FrameSlider, cube_browser, figure_to_png, interact  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DPI = 20  # tiny frames keep the tests fast


pytestmark = pytest.mark.usefixtures("close_figures")


def _draw_factory(calls=None):
    """A draw function whose figure spells its arguments as gray levels,
    so frames differ."""

    def draw(a, b="x"):
        if calls is not None:
            calls.append((a, b))
        codes = [ord(ch) for ch in repr((a, b)).ljust(16)[:16]]
        fig = plt.figure(figsize=(1, 1))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.imshow(
            [codes],
            cmap="gray",
            vmin=0,
            vmax=127,
            interpolation="nearest",
            aspect="auto",
        )
        ax.set_axis_off()
        return fig

    return draw


def _display(w):
    return w.children[-1]


def test_stack_is_available():
    assert lw.HAS_STACK is True
    assert hasattr(widgets, "Stack")


# ------------------------------------------------------------------------------- frames


@pytest.mark.parametrize(
    "a_values, b_values",
    [([1], ["x"]), ([1, 2, 3], ["x", "y"]), ([0.5, 1.5], ["p", "q", "r"])],
)
def test_one_png_frame_per_combination(a_values, b_values):
    w = interact(_draw_factory(), a=a_values, b=b_values, dpi=DPI)
    assert isinstance(w, FrameSlider) and isinstance(w, widgets.VBox)
    expected_keys = set(itertools.product(range(len(a_values)), range(len(b_values))))
    assert len(w.frames) == len(a_values) * len(b_values)
    assert set(w.frames) == expected_keys
    for png in w.frames.values():
        assert isinstance(png, bytes) and png.startswith(PNG_MAGIC)
    assert len(set(w.frames.values())) == len(
        w.frames
    )  # every combination drew differently
    assert w.values == {"a": a_values, "b": b_values}


def test_frames_are_the_drawn_figures():
    # frame (i, j) is the PNG of draw(a=values[i], b=values[j]),
    # drawn independently here
    draw = _draw_factory()
    w = interact(draw, a=[1, 2], b=["x", "y"], dpi=DPI)
    for (i, j), png in w.frames.items():
        fig = draw(a=[1, 2][i], b=["x", "y"][j])
        # rendered at twice the on-page resolution (HiDPI), as a palette PNG
        assert png == figure_to_png(fig, dpi=2 * DPI, colors=256)
        assert w.widths[i, j] == round(fig.get_size_inches()[0] * DPI)
        plt.close(fig)


def test_draw_called_once_per_combination():
    calls = []
    a_values, b_values = [1, 2, 3], ["x", "y"]
    interact(_draw_factory(calls), a=a_values, b=b_values, dpi=DPI)
    assert Counter(calls) == Counter(itertools.product(a_values, b_values))


def test_no_figures_left_open():
    plt.figure()  # a figure of the user's, which must survive
    before = plt.get_fignums()

    def draw(a):
        extra = plt.figure()  # a helper figure the draw function forgets to close
        extra.add_subplot().plot([a])
        fig, ax = plt.subplots(figsize=(1, 1))
        ax.plot([0, a])
        return fig

    interact(draw, a=[1, 2, 3], dpi=DPI)
    assert plt.get_fignums() == before


def test_draw_may_return_axes_or_only_create_a_figure():
    def draw_axes(a):
        _, ax = plt.subplots(figsize=(1, 1))
        ax.plot([0, a])
        return ax

    def draw_pyplot(a):
        plt.figure(figsize=(1, 1))
        plt.plot([0, a])

    before = plt.get_fignums()
    for draw in (draw_axes, draw_pyplot):
        w = interact(draw, a=[1, 2], dpi=DPI)
        assert len(w.frames) == 2
        assert all(png.startswith(PNG_MAGIC) for png in w.frames.values())
        assert w.frames[(0,)] != w.frames[(1,)]
    assert plt.get_fignums() == before


def test_draw_returning_nothing_raises():
    before = plt.get_fignums()
    with pytest.raises(
        TypeError, match=r"draw must return a matplotlib Figure.*it returned NoneType"
    ):
        interact(lambda a: None, a=[1, 2])
    with pytest.raises(TypeError, match=r"it returned int"):
        interact(lambda a: 42, a=[1, 2])
    assert plt.get_fignums() == before


# --------------------------------------------------------------- sliders, stacks, links


def test_single_slider_stack_and_initial_value():
    w = interact(_draw_factory(), a=[10, 20, 30], initial={"a": 20}, dpi=DPI)
    slider = w.sliders["a"]
    assert isinstance(slider, widgets.SelectionSlider)
    assert slider.index == 1
    stack = _display(w)
    assert isinstance(stack, widgets.Stack)
    assert stack.selected_index == 1
    assert len(stack.children) == 3
    for i, child in enumerate(stack.children):
        assert isinstance(child, widgets.Image)
        assert child.value == w.frames[(i,)]
    assert (
        stack.children[stack.selected_index].value
        == w.frames[(1,)]
        == w.current_frame()
    )


def test_nested_stacks_for_two_sliders():
    a_values, b_values = [1, 2, 3], ["x", "y"]
    w = interact(
        _draw_factory(), a=a_values, b=b_values, initial={"a": 3, "b": "y"}, dpi=DPI
    )
    assert (w.sliders["a"].index, w.sliders["b"].index) == (2, 1)
    outer = _display(w)
    assert isinstance(outer, widgets.Stack)
    assert outer.selected_index == 2
    assert len(outer.children) == len(a_values)
    for i, inner in enumerate(outer.children):
        assert isinstance(inner, widgets.Stack)
        assert inner.selected_index == 1
        assert len(inner.children) == len(b_values)
        for j, image in enumerate(inner.children):
            assert isinstance(image, widgets.Image)
            assert image.value == w.frames[(i, j)]
    visible = outer.children[outer.selected_index].children[1]
    assert visible.value == w.frames[(2, 1)]


def test_every_slider_is_jslinked_to_its_stacks():
    w = interact(_draw_factory(), a=[1, 2, 3], b=["x", "y"], dpi=DPI)
    outer = _display(w)
    assert len(w.links) == 1 + len(
        outer.children
    )  # one outer stack, one inner stack per a
    targets = {}
    for link in w.links:
        assert isinstance(link, Link)
        slider, source_trait = link.source
        stack, target_trait = link.target
        assert (source_trait, target_trait) == ("index", "selected_index")
        assert isinstance(stack, widgets.Stack)
        targets.setdefault(slider.model_id, []).append(stack.model_id)
    assert targets[w.sliders["a"].model_id] == [outer.model_id]
    assert sorted(targets[w.sliders["b"].model_id]) == sorted(
        s.model_id for s in outer.children
    )


def test_slider_labels_formats_and_descriptions():
    w = interact(
        _draw_factory(),
        a=[1.0, 2.5],
        b=["x", "y"],
        dpi=DPI,
        formats={"a": "{:.1f} dB", "b": str.upper},
        descriptions={"a": "SNR <b>", "b": "kind"},
    )
    assert [label for label, _ in w.sliders["a"].options] == ["1.0 dB", "2.5 dB"]
    assert [label for label, _ in w.sliders["b"].options] == ["X", "Y"]
    labels = [row.children[0].value for row in w.children[:-1]]
    assert labels == ["SNR &lt;b&gt;", "kind"]  # HTML-escaped
    default = interact(_draw_factory(), a=[1, 2], dpi=DPI)
    assert default.children[0].children[0].value == "a"
    under = interact(
        lambda noise_level: _draw_factory()(noise_level), noise_level=[1, 2], dpi=DPI
    )
    assert under.children[0].children[0].value == "noise level"


def test_current_frame_follows_slider_indices():
    w = interact(_draw_factory(), a=[1, 2, 3], b=["x", "y"], dpi=DPI)
    assert w.current_frame() == w.frames[(0, 0)]
    for i, j in itertools.product(range(3), range(2)):
        w.sliders["a"].index = i
        w.sliders["b"].index = j
        assert w.current_frame() == w.frames[(i, j)]


def test_repr_mimebundle_includes_current_frame():
    w = interact(_draw_factory(), a=[1, 2, 3], dpi=DPI)
    w.sliders["a"].index = 2
    bundle = w._repr_mimebundle_()
    assert isinstance(bundle, dict)
    assert bundle["image/png"] == w.current_frame() == w.frames[(2,)]
    assert "application/vnd.jupyter.widget-view+json" in bundle


# --------------------------------------------------------------- fallback without Stack


def test_kernel_callback_fallback_without_stack(monkeypatch):
    monkeypatch.setattr(lw, "HAS_STACK", False)
    w = interact(_draw_factory(), a=[1, 2, 3], b=["x", "y"], initial={"a": 2}, dpi=DPI)
    image = _display(w)
    assert isinstance(image, widgets.Image)
    assert not isinstance(image, widgets.Stack)
    assert w.links == []
    assert image.value == w.frames[(1, 0)]
    w.sliders["a"].index = 2
    assert image.value == w.frames[(2, 0)]
    w.sliders["b"].index = 1
    assert image.value == w.frames[(2, 1)]
    w.sliders["a"].index = 0
    assert image.value == w.frames[(0, 1)]
    assert w._repr_mimebundle_()["image/png"] == image.value


# ---------------------------------------------------------------------------- bad input


def test_interact_errors():
    draw = _draw_factory()
    with pytest.raises(TypeError, match=r"draw must be callable, got str"):
        interact("draw", a=[1])
    with pytest.raises(ValueError, match=r"give at least one slider"):
        interact(draw)
    with pytest.raises(ValueError, match=r"slider 'a' has no values"):
        interact(draw, a=[])
    with pytest.raises(ValueError, match=r"slider 'a' has repeated values or labels"):
        interact(draw, a=[1, 2, 1])
    with pytest.raises(ValueError, match=r"slider 'a' has repeated values or labels"):
        interact(draw, a=[1.0, 1.2], formats={"a": "{:.0f}"})  # both read "1"
    with pytest.raises(
        ValueError, match=r"initial value 5 of 'a' is not among \[1, 2\]"
    ):
        interact(draw, a=[1, 2], initial={"a": 5})
    with pytest.raises(ValueError, match=r"'c' is not one of the sliders"):
        interact(draw, a=[1, 2], initial={"c": 1})
    with pytest.raises(ValueError, match=r"'c' is not one of the sliders"):
        interact(draw, a=[1, 2], descriptions={"c": "C"})
    with pytest.raises(ValueError, match=r"441 frames are too many to precompute"):
        interact(draw, a=list(range(21)), b=list(range(21)))
    with pytest.raises(ValueError, match=r"dpi must be >= 10"):
        interact(draw, a=[1], dpi=5)


def test_errors_leave_no_figures():
    before = plt.get_fignums()
    with pytest.raises(ValueError):
        interact(_draw_factory(), a=[1, 2], initial={"a": 9})
    assert plt.get_fignums() == before


# ------------------------------------------------------------------------- cube_browser


def test_cube_browser_frame_counts():
    rng = np.random.default_rng(0)
    cube = rng.random((10, 12, 30))
    energy = np.linspace(100.0, 129.0, 30)
    before = plt.get_fignums()
    b = cube_browser(
        cube, energy, reference=cube * 0.9, n_energies=3, n_positions=2, dpi=10
    )
    assert isinstance(b, widgets.VBox)
    assert list(b.children) == [b.pixel, b.energy]
    assert len(b.pixel.frames) == 2 * 2
    assert len(b.energy.frames) == 3
    assert set(b.pixel.sliders) == {"row", "col"}
    rows, cols = b.pixel.values["row"], b.pixel.values["col"]
    assert all(0 <= r < 10 for r in rows) and all(0 <= c < 12 for c in cols)
    assert len(set(rows)) == len(rows) and len(set(cols)) == len(cols)
    # the energy slider reads out energies of channels inside the cube
    channels = b.energy.values["channel"]
    assert all(0 <= ch < 30 for ch in channels)
    labels = [label for label, _ in b.energy.sliders["channel"].options]
    assert labels == [f"{energy[ch]:.1f} eV" for ch in channels]
    assert plt.get_fignums() == before


def test_cube_browser_starts_in_the_middle():
    cube = np.random.default_rng(1).random((9, 9, 12))
    b = cube_browser(cube, np.arange(12.0), n_energies=1, n_positions=2, dpi=10)
    rows = b.pixel.values["row"]
    assert b.pixel.sliders["row"].index == len(rows) // 2
    assert b.pixel.sliders["col"].index == len(b.pixel.values["col"]) // 2


def test_cube_browser_errors():
    cube = np.ones((6, 6, 10))
    with pytest.raises(ValueError, match=r"cube has 10 channels but energy has 9"):
        cube_browser(cube, np.arange(9.0))
    with pytest.raises(
        ValueError, match=r"reference has shape \(6, 6, 9\), cube \(6, 6, 10\)"
    ):
        cube_browser(cube, np.arange(10.0), reference=np.ones((6, 6, 9)))
    with pytest.raises(
        ValueError, match=r"n_positions=7 exceeds the image size \(6, 6\)"
    ):
        cube_browser(cube, np.arange(10.0), n_energies=3, n_positions=7)
    # With the default window=1 a slice spans 3 channels,
    # so only 10 - 2 = 8 can be centers.
    with pytest.raises(ValueError, match=r"n_energies must be <= 8"):
        cube_browser(cube, np.arange(10.0), n_energies=9)
    with pytest.raises(ValueError, match=r"cube must be 3-D"):
        cube_browser(np.ones((6, 10)), np.arange(10.0))
    with pytest.raises(ValueError, match=r"window must be >= 0"):
        cube_browser(cube, np.arange(10.0), n_energies=3, window=-1)


def test_cube_browser_window_wider_than_the_spectrum_is_a_value_error():
    # 2 * window + 1 = 13 channels do not fit in 10: say so,
    # instead of an IndexError or NaN
    cube = np.random.default_rng(0).random((6, 6, 10))
    with pytest.raises(ValueError, match=r"window"):
        cube_browser(
            cube, np.arange(10.0), n_energies=2, n_positions=2, window=6, dpi=10
        )


@pytest.mark.parametrize("side, n_positions", [(4, 3)])
def test_cube_browser_gives_the_requested_number_of_positions(side, n_positions):
    # n_positions up to the image size is accepted, and the docstring promises
    # n_positions**2 pixel frames, so every requested position must be a distinct pixel.
    cube = np.random.default_rng(2).random((side, side, 8))
    b = cube_browser(
        cube, np.arange(8.0), n_energies=1, n_positions=n_positions, dpi=10
    )
    assert len(b.pixel.values["row"]) == n_positions
    assert len(b.pixel.values["col"]) == n_positions
    assert len(b.pixel.frames) == n_positions**2
