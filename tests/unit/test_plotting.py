"""Tests of lectlib.plotting: the objects returned, what is drawn on them,
and input errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lectlib.plotting import (
    STYLE,
    mark_spots,
    plot_maps,
    plot_reciprocal,  # noqa: E402
    plot_singular_values,
    plot_spectra,
    use_style,
)
from lectlib.sliding import SlidingFFT  # noqa: E402


pytestmark = pytest.mark.usefixtures("close_figures")


def _visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


# ------------------------------------------------------------------------- plot_spectra


def test_plot_spectra_draws_each_spectrum():
    rng = np.random.default_rng(0)
    energy = np.linspace(10.0, 50.0, 30)
    spectra = rng.random((3, 30))
    ax = plot_spectra(energy, spectra, labels=["a", "b", "c"], title="Endmembers")
    assert isinstance(ax, Axes)
    assert len(ax.lines) == 3
    for line, spectrum in zip(ax.lines, spectra):
        np.testing.assert_array_equal(line.get_xdata(), energy)
        np.testing.assert_array_equal(line.get_ydata(), spectrum)
    assert ax.get_title() == "Endmembers"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    assert ax.get_xlim() == (10.0, 50.0)
    assert ax.get_xlabel() == "Energy (eV)" and ax.get_ylabel() == "Intensity"
    assert plt.get_fignums() == [ax.figure.number]


def test_plot_spectra_single_spectrum_on_given_axes():
    fig, ax = plt.subplots()
    n_before = len(plt.get_fignums())
    energy = np.arange(5.0)
    out = plot_spectra(
        energy, energy**2, ax=ax, lw=3, color="red", xlabel="E", ylabel="I"
    )
    assert out is ax
    assert len(plt.get_fignums()) == n_before  # no new figure
    assert len(ax.lines) == 1
    assert ax.lines[0].get_linewidth() == 3
    assert matplotlib.colors.same_color(ax.lines[0].get_color(), "red")
    assert ax.get_legend() is None  # no labels, no legend
    assert ax.get_title() == ""
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("E", "I")
    # a second call adds to the same axes
    plot_spectra(energy, np.vstack([energy, -energy]), ax=ax)
    assert len(ax.lines) == 3


def test_plot_spectra_errors():
    energy = np.arange(4.0)
    with pytest.raises(
        ValueError, match=r"labels must be a sequence of 2 labels, one per spectrum"
    ):
        plot_spectra(energy, np.ones((2, 4)), labels=["only one"])
    with pytest.raises(ValueError, match=r"spectra have 5 channels but energy has 4"):
        plot_spectra(energy, np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"spectra must be 1-D or 2-D"):
        plot_spectra(energy, np.ones((2, 2, 4)))
    with pytest.raises(ValueError, match=r"energy must be 1-D"):
        plot_spectra(np.ones((2, 2)), np.ones(4))
    with pytest.raises(ValueError, match=r"spectra contains 1 NaN"):
        plot_spectra(energy, np.array([1.0, np.nan, 1.0, 1.0]))
    with pytest.raises(TypeError, match=r"spectra must hold real numbers"):
        plot_spectra(energy, np.array(["a", "b", "c", "d"]))


# ---------------------------------------------------------------------------- plot_maps


@pytest.mark.parametrize("n", [1, 3, 4, 6])
def test_plot_maps_one_image_and_colorbar_per_map(n):
    rng = np.random.default_rng(n)
    maps = rng.random((8, 9, n)) * np.arange(1, n + 1)  # different ranges per map
    titles = [f"map {i}" for i in range(n)]
    fig = plot_maps(maps, titles=titles, suptitle="Loadings")
    assert isinstance(fig, Figure)
    image_axes = _image_axes(fig)
    assert len(image_axes) == n
    # n maps visible, each with its colorbar inset beside it, exactly as tall as the
    # map; unused grid cells are hidden
    assert len(_visible_axes(fig)) == n
    fig.canvas.draw()
    for i, ax in enumerate(image_axes):
        (cax,) = ax.child_axes
        assert cax.get_position().height == pytest.approx(ax.get_position().height)
        assert len(ax.images) == 1
        np.testing.assert_array_equal(ax.images[0].get_array(), maps[:, :, i])
        assert ax.get_title() == titles[i]
        # without a shared scale each map spans its own range
        assert ax.images[0].get_clim() == pytest.approx(
            (maps[:, :, i].min(), maps[:, :, i].max())
        )
    assert fig._suptitle.get_text() == "Loadings"


def test_plot_maps_share_scale_gives_one_color_range():
    rng = np.random.default_rng(1)
    maps = np.stack(
        [rng.random((6, 6)), 5 + 3 * rng.random((6, 6)), -2 * rng.random((6, 6))], -1
    )
    fig = plot_maps(maps, share_scale=True)
    clims = [ax.images[0].get_clim() for ax in _image_axes(fig)]
    assert len(clims) == 3
    for clim in clims:
        assert clim == pytest.approx((maps.min(), maps.max()))


def test_plot_maps_symmetric_centers_each_scale_or_the_shared_one_on_zero():
    rng = np.random.default_rng(3)
    maps = np.stack([rng.normal(size=(6, 6)), 4 + rng.random((6, 6))], -1)
    fig = plot_maps(maps, symmetric=True)
    for i, ax in enumerate(_image_axes(fig)):
        m = np.abs(maps[:, :, i]).max()
        assert ax.images[0].get_clim() == pytest.approx((-m, m))
    fig = plot_maps(maps, symmetric=True, share_scale=True)
    m = np.abs(maps).max()
    for ax in _image_axes(fig):
        assert ax.images[0].get_clim() == pytest.approx((-m, m))
    with pytest.raises(ValueError, match="symmetric"):
        plot_maps(maps, symmetric=True, vmax=1.0)


def test_plot_maps_explicit_limits_and_no_colorbar():
    maps = np.random.default_rng(2).random((5, 5, 2))
    fig = plot_maps(maps, vmin=-1.0, vmax=2.0, colorbar=False)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert ax.images[0].get_clim() == (-1.0, 2.0)
        assert ax.images[0].origin == "upper"
    # share_scale keeps explicit limits
    fig2 = plot_maps(maps, vmin=0.25, share_scale=True)
    for ax in _image_axes(fig2):
        assert ax.images[0].get_clim() == pytest.approx((0.25, maps.max()))


def test_plot_maps_single_2d_map_and_given_axes():
    m = np.arange(12.0).reshape(3, 4)
    fig = plot_maps(m)
    assert len(_image_axes(fig)) == 1
    np.testing.assert_array_equal(_image_axes(fig)[0].images[0].get_array(), m)

    target, axes = plt.subplots(1, 3)
    maps = np.random.default_rng(3).random((4, 4, 2))
    out = plot_maps(maps, axes=axes, colorbar=False)
    assert out is target
    assert [len(ax.images) for ax in axes] == [1, 1, 0]


def test_plot_maps_ncols_layout():
    fig = plot_maps(np.random.default_rng(4).random((4, 4, 5)), ncols=2, colorbar=False)
    assert len(fig.axes) == 6  # a 3 x 2 grid
    assert len(_visible_axes(fig)) == 5


def test_plot_maps_errors():
    maps = np.ones((4, 4, 3))
    with pytest.raises(
        ValueError, match=r"titles must be a sequence of 3 titles, one per map"
    ):
        plot_maps(maps, titles=["a", "b"])
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match=r"got 2 axes for 3 maps"):
        plot_maps(maps, axes=axes)
    with pytest.raises(ValueError, match=r"maps must be 2-D or 3-D"):
        plot_maps(np.ones((2, 2, 2, 2)))
    with pytest.raises(ValueError, match=r"maps contains 1 NaN"):
        bad = maps.copy()
        bad[0, 0, 0] = np.nan
        plot_maps(bad)


# ----------------------------------------------------------------- plot_singular_values


def test_plot_singular_values():
    values = np.array([10.0, 3.0, 0.5, 0.0])
    ax = plot_singular_values(values, n_marked=2, label="data")
    assert isinstance(ax, Axes)
    assert ax.get_yscale() == "log"
    data_lines = [line for line in ax.lines if len(line.get_xdata()) == values.size]
    assert len(data_lines) == 1
    np.testing.assert_array_equal(data_lines[0].get_xdata(), [1, 2, 3, 4])
    y = data_lines[0].get_ydata()
    np.testing.assert_array_equal(y[:3], values[:3])
    assert y[3] > 0 and np.isfinite(np.log(y[3]))  # zero is drawn at a positive floor
    # the marker line sits between value 2 and value 3
    marks = [line for line in ax.lines if line is not data_lines[0]]
    assert len(marks) == 1
    np.testing.assert_array_equal(marks[0].get_xdata(), [2.5, 2.5])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["data"]


def test_plot_singular_values_on_given_axes_without_mark():
    fig, ax = plt.subplots()
    out = plot_singular_values([5.0, 1.0], ax=ax)
    assert out is ax
    assert len(ax.lines) == 1
    assert ax.get_legend() is None


def test_plot_singular_values_errors():
    with pytest.raises(ValueError, match=r"values must be 1-D"):
        plot_singular_values(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"values is empty"):
        plot_singular_values([])
    with pytest.raises(ValueError, match=r"values contains 1 NaN"):
        plot_singular_values([1.0, np.nan])


def test_use_style_sets_the_course_style_outside_a_notebook():
    with plt.rc_context():
        use_style()
        for key, value in STYLE.items():
            assert plt.rcParams[key] == value
        assert matplotlib.get_backend().lower() == "agg"  # no kernel: backend untouched


def test_plot_reciprocal_draws_the_centered_picture_and_circles_spots():
    image = np.cos(2 * np.pi * np.arange(64.0) / 8)[None, :] * np.ones((64, 1))
    fft = SlidingFFT(32, 16, log=False, crop=8).fit(image)
    features = fft.transform(image)[0]
    ax = plot_reciprocal(fft, features, title="fringes", spots=[[0.0, 0.125]])
    np.testing.assert_array_equal(ax.images[0].get_array(), fft.to_reciprocal(features))
    # every pixel is centered on its frequency: the brightest, the fringes' k_x = 1/8,
    # sits on the circled spot
    left, right, bottom, top = ax.images[0].get_extent()
    picture = ax.images[0].get_array()
    row, col = np.unravel_index(np.argmax(picture), picture.shape)
    k_col = left + (col + 0.5) * (right - left) / picture.shape[1]
    k_row = top + (row + 0.5) * (bottom - top) / picture.shape[0]
    assert abs(k_col) == pytest.approx(0.125) and k_row == pytest.approx(0.0, abs=1e-12)
    assert ax.images[0].get_clim()[0] == 0 and ax.get_title() == "fringes"
    offsets = ax.collections[0].get_offsets()
    np.testing.assert_allclose(
        sorted(map(tuple, offsets)), [(-0.125, 0.0), (0.125, 0.0)]
    )
    symmetric = plot_reciprocal(
        fft, features - features.mean(), symmetric=True, cmap="RdBu_r"
    )
    low, high = symmetric.images[0].get_clim()
    assert low == -high < 0


def test_plot_reciprocal_and_mark_spots_errors():
    with pytest.raises(Exception, match=r"not fitted"):
        plot_reciprocal(SlidingFFT(8, 4), np.ones(5))
    fft = SlidingFFT(8, 4).fit(np.ones((16, 16)))
    with pytest.raises(ValueError, match=r"features have 3 values"):
        plot_reciprocal(fft, np.ones(3))
    _, ax = plt.subplots()
    assert (
        len(mark_spots(ax, [[0.1, 0.2], [-0.1, -0.2]]).get_offsets()) == 2
    )  # pairs once
    with pytest.raises(ValueError, match=r"spots must have shape \(n_spots, 2\)"):
        mark_spots(ax, np.ones((2, 3)))
